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
var tabs = document.getElementById('flame-tabs'), flames = document.querySelectorAll('div.flame');
function show(i) { flames.forEach(function (f, j) { f.style.display = i === j ? '' : 'none'; });
  tabs.querySelectorAll('button').forEach(function (b, j) { b.className = i === j ? 'on' : ''; }); }
flames.forEach(function (f, i) { var b = el('button', '', f.getAttribute('data-title'));
  b.onclick = function () { show(i); }; tabs.appendChild(b); });
if (flames.length) show(0);
/* top tables */
var tb = document.getElementById('tables-body');
function table(title, metric, isBytes, second, secondName) {
  var rows = R.groups.filter(function (g) { return g.heap[metric] > 0; })
    .sort(function (a, b) { return b.heap[metric] - a.heap[metric] || (a.key < b.key ? -1 : 1); });
  if (!rows.length) return;
  tb.appendChild(el('h3', '', title + ', by ' + R.by));
  var t = el('table', 'top'), hr = el('tr');
  [[metric.replace(/_/g, ' '), 'n'], [secondName, 'n'], [R.by, ''], ['where', '']].forEach(function (c) {
    hr.appendChild(el('th', c[1], c[0])); });
  t.appendChild(hr);
  rows.slice(0, 20).forEach(function (g) { var tr = el('tr');
    tr.appendChild(el('td', 'n', isBytes ? bytes(g.heap[metric]) : count(g.heap[metric])));
    tr.appendChild(el('td', 'n', second === 'allocated_bytes' ? bytes(g.heap[second]) : count(g.heap[second])));
    tr.appendChild(el('td', 'fn', g.key)); tr.appendChild(el('td', 'where', R.by === 'function' ? where(g) : ''));
    t.appendChild(tr); });
  if (rows.length > 20) { var tr = el('tr'); var td = el('td', 'muted', '... and ' + (rows.length - 20) + ' more');
    td.colSpan = 4; tr.appendChild(td); t.appendChild(tr); }
  tb.appendChild(t); }
table('Peak consumers (live at the peak)', 'peak_bytes', 1, 'peak_count', 'blocks');
table('Top allocators by bytes', 'allocated_bytes', 1, 'allocation_count', 'calls');
table('Top allocators by count', 'allocation_count', 0, 'allocated_bytes', 'bytes');
table('Temporary allocations (freed right after an allocation of their size and stack)', 'temporary_count', 0, 'allocation_count', 'of');
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
document.body.setAttribute('data-rendered', '1');
})();
