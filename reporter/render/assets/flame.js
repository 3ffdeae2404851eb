(function () {
/* The graph is laid out again here from the tree the SVG carries (desc.tree,
 * flame_svg.c): at the width of the window or of the enclosing element, on
 * zoom (frames too small at full width appear), and bottom-up (inverted:
 * each function where the weight is spent at the top, its callers below). */
var sc = document.currentScript, svg = sc && sc.closest ? sc.closest('svg') : null;
if (!svg) svg = document.documentElement;
var NS = 'http://www.w3.org/2000/svg', MIN = 0.25;
function num(a) { return +svg.getAttribute(a); }
var P = num('data-pad'), ROW = num('data-row'), TOP = num('data-top'), BOTTOM = num('data-bottom'), LROW = num('data-legend-row');
var D = JSON.parse(svg.querySelector('desc.tree').textContent), F = D.frames;
var q = function (c) { return svg.querySelector('text.' + c); };
var details = q('details'), reset = q('reset'), search = q('search'), matched = q('matched'), invert = q('invert');
var title = q('title'), sub = q('sub'), boxFo = svg.querySelector('foreignObject.searchbox');
var box = boxFo ? boxFo.querySelector('input') : null, layer = svg.querySelector('g.frames');
var legend = Array.prototype.slice.call(svg.querySelectorAll('g.legend g.module'));

/* ---- the two trees: nodes {f: frame index, v, b (before), kids, parent, depth} ---- */
function node(f, parent) { return {f: f, v: 0, b: 0, kids: [], parent: parent, depth: parent ? parent.depth + 1 : 0}; }
var normal = node(-1, null), all = [normal];
D.nodes.forEach(function (a) { var p = a[0] < 0 ? normal : all[a[0] + 1], n = node(a[1], p);
  n.v = a[2]; n.b = a[3] || 0; p.kids.push(n); all.push(n); });
normal.kids.forEach(function (k) { normal.v += k.v; normal.b += k.b; });
/* what sizes a frame: its value, or in a differential graph sized by "before" that;
 * the total of that side is exact (roots too small to carry are in it) */
var size = D.size_by === 'before' ? function (n) { return n.b; } : function (n) { return n.v; };
if (D.size_by === 'before') normal.b = D.total; else normal.v = D.total;
function byName(a, b) { var x = F[a.f], y = F[b.f];
  return x.function < y.function ? -1 : x.function > y.function ? 1 : (x.file || '') < (y.file || '') ? -1 : 1; }
/* Inverted: a node's own weight (less its children's) goes to the path from it up to the root. */
var inverted = node(-1, null);
all.forEach(function (n) { if (n === normal) return;
  var self = n.v, selfb = n.b;
  n.kids.forEach(function (k) { self -= k.v; selfb -= k.b; });
  if (self <= 0 && selfb <= 0) return;
  self = Math.max(self, 0); selfb = Math.max(selfb, 0);
  var cur = inverted; cur.v += self; cur.b += selfb;
  for (var m = n; m !== normal; m = m.parent) {
    var c = cur.map && cur.map[m.f];
    if (!c) { c = node(m.f, cur); cur.map = cur.map || {}; cur.map[m.f] = c; cur.kids.push(c); }
    c.v += self; c.b += selfb; cur = c; } });
function prep(t) { var maxd = 0;
  (function walk(n) { n.kids.sort(byName); maxd = Math.max(maxd, Math.abs(n.v - n.b)); n.kids.forEach(walk); })(t);
  t.maxDelta = maxd; }
prep(normal); prep(inverted);

/* ---- what a frame says and its colour (as flame_svg.c draws them) ---- */
function fmtBytes(v) { var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = 0, d = v;
  while (d >= 1024 && i < 5) { d /= 1024; i++; }
  return i ? d.toFixed(d < 10 ? 2 : d < 100 ? 1 : 0) + ' ' + u[i] : v + ' B'; }
function value(v) { if (D.unit === 'bytes') return fmtBytes(v);
  if (D.unit === 'nanoseconds') return (v / 1e9).toFixed(3) + ' s';
  return v.toLocaleString('en-US') + ' ' + (v === 1 && D.unit === 'allocations' ? 'allocation' : D.unit); }
function delta(v) { return (v < 0 ? '-' : '+') + value(Math.abs(v)); }
function describe(n, t) { var f = F[n.f], s = f.function + (f.inlined ? ' (inlined)' : '');
  if (f.file) s += '  ' + f.file.replace(/^.*\//, '');
  if (f.module) s += '  [' + f.module + ']';
  if (D.diff) { s += '\nbefore ' + value(n.b) + ', after ' + value(n.v) + ', change ' + delta(n.v - n.b);
    if (n.b) s += ' (' + ((n.v - n.b) >= 0 ? '+' : '') + (100 * (n.v - n.b) / n.b).toFixed(1) + '%)'; }
  else s += '\n' + value(n.v) + ', ' + (t.v ? 100 * n.v / t.v : 0).toFixed(2) + '%';
  return s; }
function color(n, t) { if (!D.diff) return F[n.f].color;
  var d = n.v - n.b; if (!d || !t.maxDelta) return 'rgb(235,235,235)';
  var c = Math.floor(225 - 175 * Math.abs(d) / t.maxDelta);
  return d > 0 ? 'rgb(250,' + c + ',' + c + ')' : 'rgb(' + c + ',' + c + ',250)'; }

/* ---- drawing: one g.f element per node, made the first time it is shown ---- */
var view = normal, zoomed = null, W = num('data-w'), shown = [], term = '';
while (layer.firstChild) layer.removeChild(layer.firstChild);
function make(n, t) { var g = document.createElementNS(NS, 'g'), ti = document.createElementNS(NS, 'title'),
    r = document.createElementNS(NS, 'rect'), tx = document.createElementNS(NS, 'text');
  g.setAttribute('class', 'f'); g.setAttribute('data-d', n.depth); g.setAttribute('data-n', F[n.f].function);
  ti.textContent = describe(n, t); r.setAttribute('height', ROW - 1); g._fill = color(n, t); g._node = n;
  r.setAttribute('fill', g._fill); g.appendChild(ti); g.appendChild(r); g.appendChild(tx); layer.appendChild(g);
  return (n.g = g); }
function place(n, x, w, y, parent) { var g = n.g || make(n, view), r = g.childNodes[1], t = g.childNodes[2],
    name = F[n.f].function, fit = Math.floor((w - 6) / 7);
  g.style.display = ''; if (parent) g.classList.add('parent'); else g.classList.remove('parent');
  r.setAttribute('x', x.toFixed(2)); r.setAttribute('y', y.toFixed(1)); r.setAttribute('width', w.toFixed(2));
  t.setAttribute('x', (x + 3).toFixed(2)); t.setAttribute('y', (y + 11.5).toFixed(1));
  t.textContent = fit < 3 ? '' : name.length <= fit ? name : name.slice(0, fit - 2) + '..';
  shown.push(n); }
function layout() {
  var width = svg === document.documentElement ? window.innerWidth : svg.parentNode.clientWidth;
  if (!(width > 4 * P)) return; /* hidden (a tab not shown): laid out when shown */
  shown.forEach(function (n) { n.g.style.display = 'none'; }); shown = [];
  W = width - 2 * P;
  /* the legend flows over as many rows as the width needs */
  var lx = P, rows = legend.length ? 1 : 0, lw = legend.map(function (g) {
    return 40 + 7 * g.getAttribute('data-module').length; });
  legend.forEach(function (g, i) { if (lx + lw[i] > width - P && lx > P) { lx = P; rows++; } g._x = lx; g._row = rows - 1; lx += lw[i]; });
  /* what is wide enough to draw, then as many rows as that needs */
  var z = zoomed || view, items = [], deepest = 0;
  for (var a = z; a !== view; a = a.parent) items.push([a, P, W, a !== z]);
  (function walk(n, x) { var s = W / size(z);
    n.kids.forEach(function (k) { var w = size(k) * s; if (w >= MIN) { items.push([k, x, w, false]); walk(k, x); } x += w; });
  })(z, P);
  items.forEach(function (i) { deepest = Math.max(deepest, i[0].depth); });
  var H = TOP + BOTTOM + (deepest + 1) * ROW + rows * LROW, base = H - BOTTOM - rows * LROW;
  function y(d) { return view === inverted ? TOP + (d - 1) * ROW : base - d * ROW; }
  legend.forEach(function (g) { var yy = base + 6 + g._row * LROW;
    g.querySelector('rect').setAttribute('x', g._x); g.querySelector('rect').setAttribute('y', yy);
    g.querySelector('text').setAttribute('x', g._x + 16); g.querySelector('text').setAttribute('y', yy + 10.5); });
  items.forEach(function (i) { place(i[0], i[1], i[2], y(i[0].depth), i[3]); });
  svg.setAttribute('width', width); svg.setAttribute('height', H); svg.setAttribute('viewBox', '0 0 ' + width + ' ' + H);
  svg.setAttribute('data-w', W); svg.setAttribute('data-view', view === inverted ? 'inverted' : 'normal');
  svg.querySelector('rect').setAttribute('width', width); svg.querySelector('rect').setAttribute('height', H);
  title.setAttribute('x', width / 2); sub.setAttribute('x', width / 2);
  if (boxFo) boxFo.setAttribute('x', width - P - 230);
  search.setAttribute('x', width - P); matched.setAttribute('x', width - P);
  matched.setAttribute('y', H - 10); details.setAttribute('y', H - 10);
  reset.style.display = zoomed ? '' : 'none';
  highlight(); }

/* Case-insensitive; what is not a regular expression (a lone '(') is looked for as typed. */
function regex() { if (!term) return null;
  try { return new RegExp(term, 'i'); } catch (x) { return new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i'); } }
function highlight() { var re = regex(), sum = 0;
  shown.forEach(function (n) { n.g.childNodes[1].setAttribute('fill', re && re.test(F[n.f].function) ? 'rgb(230,0,230)' : n.g._fill); });
  /* the share of the weight under a matching frame (nested matches counted once) */
  if (re) (function walk(n) { n.kids.forEach(function (k) { if (re.test(F[k.f].function)) sum += size(k); else walk(k); }); })(view);
  matched.textContent = re ? 'Matched: ' + (size(view) ? 100 * sum / size(view) : 0).toFixed(1) + '%' : '';
  search.style.display = re ? '' : 'none'; }
function find(t) { term = t; highlight(); }
function zoom(n) { zoomed = n; layout(); }
function unzoom() { zoomed = null; layout(); }
function flip() { view = view === normal ? inverted : normal; zoomed = null;
  invert.textContent = view === inverted ? 'Normal' : 'Inverted'; layout(); }

invert.style.display = '';
if (box) box.addEventListener('input', function () { find(box.value); });
svg.addEventListener('mouseover', function (ev) { var g = ev.target.closest('g.f, g.module');
  if (g) details.textContent = g.querySelector('title').textContent.replace(/\n/g, '  |  '); });
svg.addEventListener('mouseout', function () { details.textContent = ' '; });
svg.addEventListener('click', function (ev) { var t = ev.target;
  if (t === reset) return unzoom();
  if (t === invert) return flip();
  if (t === search) { if (box) box.value = ''; return find(''); }
  var g = t.closest('g.f'); if (g) zoom(g._node); });
if (svg === document.documentElement) window.addEventListener('keydown', function (ev) {
  if (ev.key === 'Escape') unzoom();
  if ((ev.ctrlKey || ev.metaKey) && ev.key === 'f' && box) { ev.preventDefault(); box.focus(); } });
window.addEventListener('resize', layout);
layout();
svg.setAttribute('data-ready', '1');
})();
