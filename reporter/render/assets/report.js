(function () {
var D = JSON.parse(document.getElementById('ldprof-data').textContent), R = D.report;
function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; return e; }
function bytes(b) { var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
  while (b >= 1024 && i < 4) { b /= 1024; i++; }
  return i ? b.toFixed(b < 10 ? 2 : b < 100 ? 1 : 0) + ' ' + u[i] : b + ' B'; }
function count(n) { return n.toLocaleString('en-US'); }
function base(p) { return p ? p.replace(/^.*\//, '') : ''; }
function where(g) { return g.file ? base(g.file) + ':' + g.line : g.module ? '[' + g.module + ']' : ''; }
/* summary */
var h = R.heap, s = document.getElementById('summary-body'), t = el('table', 'summary');
[['allocations', count(h.allocation_count) + ' (' + bytes(h.allocated_bytes) + ' requested)'],
 ['frees', count(h.free_count)],
 ['peak', bytes(h.peak_bytes) + ' in ' + count(h.peak_count) + ' blocks, at ' +
   (h.peak_time_ns / 1e9).toFixed(3) + ' s'],
 ['leaked', bytes(h.leaked_bytes) + ' in ' + count(h.leaked_count) + ' blocks'],
 ['temporary', count(h.temporary_count) + ' (' + (h.allocation_count ? (100 * h.temporary_count / h.allocation_count).toFixed(1) : '0.0') +
   '% of allocations)'],
 ['unknown frees', count(h.unknown_free_count)]].concat(['cpu', 'wall'].filter(function (k) {
   return R[k] && R[k].sample_count; }).map(function (k) {
   return [k === 'cpu' ? 'CPU samples' : 'wall-clock samples', count(R[k].sample_count) + ' (' +
     (R[k].total_ns / 1e9).toFixed(3) + ' s, one per ' + (R[k].interval_ns / 1e6).toFixed(2) + ' ms)']; })).forEach(function (r) {
  var tr = el('tr'); tr.appendChild(el('td', '', r[0])); tr.appendChild(el('td', 'n', r[1])); t.appendChild(tr); });
s.appendChild(t);
var pt = el('table'), hr = el('tr');
['pid', 'program', 'ended by', 'allocations', 'peak', 'leaked'].forEach(function (x) { hr.appendChild(el('th', '', x)); });
pt.appendChild(hr);
R.segments.forEach(function (g) { var tr = el('tr');
  [[g.pid, 'n'], [g.cmdline || g.exe, 'fn'], [g.end, ''], [count(g.heap.allocation_count), 'n'],
   [bytes(g.heap.peak_bytes), 'n'], [bytes(g.heap.leaked_bytes), 'n']].forEach(function (c) {
    tr.appendChild(el('td', c[1], String(c[0]))); });
  pt.appendChild(tr); });
s.appendChild(el('h3', '', 'processes')); s.appendChild(pt);
if (R.truncated) s.appendChild(el('p', 'muted', 'The trace ends inside a frame (the process was killed?); everything before it is used.'));
var M = R.missed;
if (M.damaged_region_count) s.appendChild(el('p', 'muted', 'Damaged: ' + M.first_damage.what + '; ' + count(M.skipped_bytes) +
  ' bytes skipped' + (M.dropped_event_count ? ', ' + count(M.dropped_event_count) + ' events of threads whose state was lost there' : '') + '; everything else is used.'));
if (M.unordered_event_count) s.appendChild(el('p', 'muted', count(M.unordered_event_count) + ' events were merged out of order: frees, leaks and unknown frees may be off by about that many.'));
if (M.nested_allocation_count || M.nested_free_count) s.appendChild(el('p', 'muted', count(M.nested_allocation_count) + ' allocations and ' +
  count(M.nested_free_count) + ' frees made in signal handlers that interrupted ldprof were not recorded.'));
/* what the figures cannot show (render/fidelity.c words it) */
(R.fidelity ? R.fidelity.notes : []).forEach(function (n) { s.appendChild(el('p', 'muted', 'Note: ' + n + '.')); });
/* flame graph tabs */
var tabs = document.getElementById('flame-tabs'), flames = document.querySelectorAll('#flames div.flame');
function show(i) { flames.forEach(function (f, j) { f.style.display = i === j ? '' : 'none'; });
  tabs.querySelectorAll('button').forEach(function (b, j) { b.className = i === j ? 'on' : ''; });
  window.dispatchEvent(new Event('resize')); /* the graph shown takes the width it now has */ }
flames.forEach(function (f, i) { var b = el('button', '', f.getAttribute('data-title'));
  b.onclick = function () { show(i); }; tabs.appendChild(b); });
if (flames.length) show(0);
/* Tables: click a heading to sort by it (again: the other way); 20 rows,
 * then a button for the rest. cols: [heading, value(row), format, class]. */
function grid(parent, title, cols, rows, sortCol) {
  if (!rows.length) return null;
  if (title) parent.appendChild(el('h3', '', title));
  var t = el('table', 'top sortable'), head = el('tr'), body = el('tbody'), more = el('button', 'more'), all = false;
  var key = sortCol, down = true;
  cols.forEach(function (c, i) { var th = el('th', c[3] || '', c[0]);
    th.onclick = function () { down = key === i ? !down : true; key = i; fill(); }; head.appendChild(th); });
  t.appendChild(head); t.appendChild(body);
  function fill() {
    var v = cols[key][1];
    rows.sort(function (a, b) { var x = v(a), y = v(b), c = x < y ? -1 : x > y ? 1 : 0;
      return (down ? -c : c) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0); });
    t.setAttribute('data-sort', key + (down ? ' desc' : ' asc'));
    cols.forEach(function (c, i) { head.childNodes[i].className = (c[3] || '') + (i === key ? (down ? ' desc' : ' asc') : ''); });
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.slice(0, all ? rows.length : 20).forEach(function (r) { var tr = el('tr');
      cols.forEach(function (c) { tr.appendChild(el('td', c[3] || '', c[2](c[1](r), r))); }); body.appendChild(tr); });
    more.style.display = rows.length > 20 ? '' : 'none';
    more.textContent = all ? 'show the first 20' : 'show all ' + rows.length + ' rows'; }
  more.onclick = function () { all = !all; fill(); };
  parent.appendChild(t); parent.appendChild(more); fill();
  return t; }
function id(x) { return x; }
/* The tables, for the whole run or for the filter's thread and time range:
 * then every group's figures are summed from the activity cells (thread,
 * time bucket) of the groups. A cell is in a range when its bucket's middle is. */
var A = JSON.parse(document.getElementById('ldprof-activity').textContent),
    F = {thread: -1, trace: -1, t0: 0, t1: 0}, known = {};
R.groups.forEach(function (g) { known[g.key] = g; });
function filtering() { return F.thread >= 0 || F.trace >= 0; }
function selected() {
  if (!filtering()) return R.groups;
  var m = {}, rows = [], z = Math.pow(2, A.bucket_shift);
  A.cells.forEach(function (c) {
    var sg = A.segments[c[2]], mid = (sg[1] + (c[3] + 0.5) * sg[2] * z) / 1e9;
    if ((F.thread >= 0 && c[1] !== F.thread) || (F.trace >= 0 && (sg[0] !== F.trace || mid < F.lo || mid > F.hi))) return;
    var key = A.keys[c[0]], g = m[key];
    if (!g) { var o = known[key] || {}; rows.push(g = m[key] = {key: key, function: o.function, file: o.file, line: o.line, module: o.module,
      heap: {allocation_count: 0, allocated_bytes: 0, temporary_count: 0, peak_bytes: 0},
      cpu: {self_ns: 0, total_ns: 0, total_sample_count: 0}, wall: {self_ns: 0, total_ns: 0, total_sample_count: 0}}); }
    g.heap.allocation_count += c[4]; g.heap.allocated_bytes += c[5]; g.heap.temporary_count += c[6];
    g.cpu.self_ns += c[7]; g.cpu.total_ns += c[8]; g.cpu.total_sample_count += c[9];
    g.wall.self_ns += c[10]; g.wall.total_ns += c[11]; g.wall.total_sample_count += c[12]; });
  return rows; }
var tb = document.getElementById('tables-body'), keyCol = [R.by, function (g) { return g.key; }, id, 'fn'],
    whereCol = ['where', function (g) { return R.by === 'function' ? where(g) : ''; }, id, 'where'];
function heapCol(name, metric, fmt) { return [name, function (g) { return g.heap[metric]; }, fmt, 'n']; }
function secs(ns) { return (ns / 1e9).toFixed(3) + ' s'; }
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
function tables() {
  var G = selected();
  function heapTable(title, metric, cols) {
    if (!grid(tb, title + ', by ' + R.by, cols.concat([keyCol, whereCol]),
      G.filter(function (g) { return g.heap[metric] > 0; }), 0) && filtering())
      tb.appendChild(el('p', 'muted', title + ': none in this selection.')); }
  clear(tb);
  if (filtering()) tb.appendChild(el('p', 'muted', 'Peak consumers: for the whole run only (what was live at the peak ' +
    'is not split by thread or time); Snapshot differences compares the live heap over a range.'));
  else heapTable('Peak consumers (live at the peak)', 'peak_bytes', [heapCol('peak bytes', 'peak_bytes', bytes), heapCol('blocks', 'peak_count', count)]);
  heapTable('Top allocators by bytes', 'allocated_bytes', [heapCol('allocated bytes', 'allocated_bytes', bytes), heapCol('calls', 'allocation_count', count)]);
  heapTable('Top allocators by count', 'allocation_count', [heapCol('allocation count', 'allocation_count', count), heapCol('bytes', 'allocated_bytes', bytes)]);
  heapTable('Temporary allocations (freed right after an allocation of their size and stack)', 'temporary_count', [heapCol('temporary count', 'temporary_count', count), heapCol('of', 'allocation_count', count)]);
  /* CPU and wall-clock: self (the group is the innermost frame) and total (anywhere on the stack) */
  document.querySelectorAll('div.profile-body').forEach(function (d) { var k = d.getAttribute('data-what'), P = R[k];
    function col(name, f, fmt) { return [name, function (g) { return g[k][f]; }, fmt, 'n']; }
    var rows = G.filter(function (g) { return g[k] && g[k].total_sample_count > 0; }),
        share = filtering() ? rows.reduce(function (a, g) { return a + g[k].self_ns; }, 0) : P.total_ns - P.agent_total_ns;
    clear(d);
    d.appendChild(el('p', 'muted', filtering() ? secs(share) + ' in this selection.' :
      count(P.sample_count) + ' samples, ' + secs(P.total_ns) + (P.agent_sample_count ?
      ' (' + secs(P.agent_total_ns) + ' of it ldprof\'s own work, left out)' : '') + '.'));
    grid(d, 'By ' + R.by + ' (self: the innermost frame; total: anywhere on the stack)',
      [col('self', 'self_ns', secs), ['self %', function (g) { return g[k].self_ns; }, function (v) {
        return share ? (100 * v / share).toFixed(1) + '%' : ''; }, 'n'],
       col('total', 'total_ns', secs), col('samples', 'total_sample_count', count), keyCol, whereCol], rows, 0); });
  document.body.setAttribute('data-filter', (F.thread >= 0 ? 'thread ' + F.thread : 'all threads') +
    (F.trace >= 0 ? ', ' + F.t0.toFixed(6) + ' .. ' + F.t1.toFixed(6) + ' s of trace ' + F.trace : '')); }
/* The filter bar: a thread, and the range last dragged on a timeline. */
var bar = document.getElementById('filter'), pickThread = el('select'), rangeNote = el('span', 'muted', ''), clearRange = el('button', '', 'whole run');
pickThread.id = 'thread-filter'; rangeNote.id = 'range-note'; clearRange.id = 'range-clear';
pickThread.appendChild(el('option', '', 'all threads')).value = -1;
A.threads.forEach(function (x, i) { var o = el('option', '', (x[3] || 'thread') + ' (tid ' + x[2] +
  (x[2] !== x[1] ? ', pid ' + x[1] : '') + (R.traces.length > 1 ? ', ' + base(R.traces[x[0]]) : '') + ')');
  o.value = i; pickThread.appendChild(o); });
bar.appendChild(document.createTextNode('Tables for ')); bar.appendChild(pickThread);
bar.appendChild(document.createTextNode(' over ')); bar.appendChild(rangeNote); bar.appendChild(clearRange);
function showRange() {
  var w = A.segments.filter(function (sg) { return sg[0] === F.trace; }).map(function (sg) {
    return sg[2] * Math.pow(2, A.bucket_shift) / 1e6; });
  rangeNote.textContent = F.trace < 0 ? 'the whole run (drag across a timeline to choose a range) ' :
    F.t0.toFixed(3) + ' s .. ' + F.t1.toFixed(3) + ' s of ' + base(R.traces[F.trace]) +
    (w.length ? ' (in steps of ' + Math.max.apply(null, w).toPrecision(3) + ' ms)' : '') + ' ';
  clearRange.style.display = F.trace < 0 ? 'none' : ''; }
if (A.unavailable) { bar.textContent = 'The tables cannot be filtered by thread or time here: ' + A.unavailable + '.'; }
pickThread.onchange = function () { F.thread = +pickThread.value; tables(); };
clearRange.onclick = function () { F.trace = -1; showRange(); tables(); };
showRange(); tables();
/* leaks with their stacks */
var lb = document.getElementById('leaks-body');
if (!D.leaks.length) lb.appendChild(el('p', 'muted', 'No leaks: everything allocated was freed before exit.'));
D.leaks.forEach(function (l) {
  var p = el('div', 'leak'); p.appendChild(el('b', '', bytes(l.leaked_bytes)));
  p.appendChild(document.createTextNode(' in ' + count(l.leaked_count) + ' blocks, allocated at'));
  var st = el('div', 'stack');
  l.frames.forEach(function (f) { st.appendChild(el('div', 'frame', f.function + (f.inlined ? ' (inlined)' : '') +
    (f.file ? '  ' + base(f.file) + ':' + f.line : '  [' + f.module + ']'))); });
  p.appendChild(st); lb.appendChild(p); });
/* Snapshot differences: any two snapshots of a trace (the lists), or the
 * snapshots at the ends of a range dragged across that trace's timeline. */
var S = D.snapshots, sb = document.getElementById('snapshots-body');
function snapName(s) { return (R.traces.length > 1 ? base(R.traces[s.trace_index]) + ': ' : '') + s.selector + ' at ' +
  (s.time_ns / 1e9).toFixed(3) + ' s (' + bytes(s.live_bytes) + ' live)'; }
var pick = el('div', 'pick'), from = el('select'), to = el('select'), note = el('p', 'muted range'), out = el('div');
from.id = 'snap-from'; to.id = 'snap-to';
S.snapshots.forEach(function (s, i) { [from, to].forEach(function (x) { var o = el('option', '', snapName(s)); o.value = i; x.appendChild(o); }); });
pick.appendChild(document.createTextNode('from ')); pick.appendChild(from);
pick.appendChild(document.createTextNode(' to ')); pick.appendChild(to);
sb.appendChild(pick); sb.appendChild(note); sb.appendChild(out);
function live(s) { var m = {}; s.groups.forEach(function (g) { m[g[0]] = g; }); return m; }
function compare() { var a = S.snapshots[+from.value], b = S.snapshots[+to.value], A = live(a), B = live(b), rows = [];
  Object.keys(A).concat(Object.keys(B).filter(function (k) { return !A[k]; })).forEach(function (k) {
    var x = A[k] || [k, 0, 0], y = B[k] || [k, 0, 0];
    rows.push({key: S.keys[k], before: x[1], after: y[1], change: y[1] - x[1], blocks: y[2] - x[2]}); });
  while (out.firstChild) out.removeChild(out.firstChild);
  out.appendChild(el('p', '', 'live ' + bytes(a.live_bytes) + ' then ' + bytes(b.live_bytes) + ': ' +
    (b.live_bytes >= a.live_bytes ? '+' + bytes(b.live_bytes - a.live_bytes) : '-' + bytes(a.live_bytes - b.live_bytes))));
  function signed(v) { return v < 0 ? '-' + bytes(-v) : '+' + bytes(v); }
  var t = grid(out, '', [['change', function (r) { return Math.abs(r.change); }, function (v, r) { return signed(r.change); }, 'n'],
    ['blocks', function (r) { return r.blocks; }, function (v) { return (v > 0 ? '+' : '') + count(v); }, 'n'],
    ['before', function (r) { return r.before; }, bytes, 'n'], ['after', function (r) { return r.after; }, bytes, 'n'],
    [R.by, function (r) { return r.key; }, id, 'fn']], rows.filter(function (r) { return r.before || r.after; }), 0);
  if (t) t.id = 'snapshot-diff';
  else out.appendChild(el('p', 'muted', 'Nothing was live in either.')); }
from.onchange = to.onchange = function () { note.textContent = ''; compare(); };
if (S.snapshots.length) { to.value = S.snapshots.length - 1;
  for (var i = S.snapshots.length - 1; i > 0; i--) if (S.snapshots[i].trace_index === S.snapshots[0].trace_index) { to.value = i; break; }
  compare(); }
else sb.appendChild(el('p', 'muted', 'No snapshots.'));
/* a range dragged on a timeline: the last snapshot at or before each end */
document.querySelectorAll('svg.ldprof-timeline').forEach(function (svg, ti) {
  var plot = svg.querySelector('rect.plot'), end = +svg.getAttribute('data-end'), x0 = +plot.getAttribute('x'),
      pw = +plot.getAttribute('width'), band = document.createElementNS('http://www.w3.org/2000/svg', 'rect'), a = null;
  band.setAttribute('class', 'range'); band.setAttribute('y', plot.getAttribute('y'));
  band.setAttribute('height', plot.getAttribute('height')); band.style.display = 'none';
  plot.parentNode.insertBefore(band, plot);
  function at(ev) { var p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
    p = p.matrixTransform(svg.getScreenCTM().inverse()); return Math.max(x0, Math.min(x0 + pw, p.x)); }
  function draw(x1, x2) { band.setAttribute('x', Math.min(x1, x2)); band.setAttribute('width', Math.abs(x2 - x1)); band.style.display = ''; }
  plot.addEventListener('mousedown', function (ev) { a = at(ev); draw(a, a); ev.preventDefault(); });
  plot.addEventListener('mousemove', function (ev) { if (a !== null) draw(a, at(ev)); });
  window.addEventListener('mouseup', function (ev) { if (a === null) return;
    var b = at(ev), t0 = (Math.min(a, b) - x0) / pw * end, t1 = (Math.max(a, b) - x0) / pw * end; a = null;
    select(ti, t0, t1, t1 >= end); }); });
/* atEnd: the range reaches the end of the timeline, and so takes the last
 * bucket too (its middle may lie past the end of the run) */
function select(ti, t0, t1, atEnd) { var f = -1, l = -1; /* in time order: the last one not after each end */
  S.snapshots.forEach(function (s, i) { if (s.trace_index !== ti) return;
    if (f < 0 || s.time_ns <= t0 * 1e9) f = i;
    if (l < 0 || s.time_ns <= t1 * 1e9) l = i; });
  if (f < 0) return;
  from.value = f; to.value = l;
  note.textContent = 'range ' + t0.toFixed(3) + ' s .. ' + t1.toFixed(3) + ' s of ' + base(R.traces[ti]) +
    ': the snapshots at or before its ends';
  document.body.setAttribute('data-range', t0.toFixed(6) + ' ' + t1.toFixed(6));
  compare();
  if (!A.unavailable) { F.trace = ti; F.t0 = t0; F.t1 = t1; F.lo = t0 > 0 ? t0 : -Infinity; F.hi = atEnd ? Infinity : t1;
    showRange(); tables(); } }
document.body.setAttribute('data-rendered', '1');
})();
