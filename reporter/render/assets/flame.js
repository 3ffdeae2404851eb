(function () {
var sc = document.currentScript, svg = sc && sc.closest ? sc.closest('svg') : null;
if (!svg) svg = document.documentElement;
var W = +svg.getAttribute('data-w'), P = +svg.getAttribute('data-pad');
var frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
var q = function (c) { return svg.querySelector('text.' + c); };
var details = q('details'), reset = q('reset'), search = q('search'), matched = q('matched');
var box = svg.querySelector('foreignObject.searchbox input');
frames.forEach(function (g) { var r = g.querySelector('rect');
  g._x = +r.getAttribute('x'); g._w = +r.getAttribute('width'); g._d = +g.getAttribute('data-d');
  g._n = g.getAttribute('data-n'); g._fill = r.getAttribute('fill'); });
function place(g, x, w) { var r = g.querySelector('rect'), t = g.querySelector('text');
  r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', w.toFixed(2));
  var fit = Math.floor((w - 6) / 7); t.setAttribute('x', (x + 3).toFixed(2));
  t.textContent = fit < 3 ? '' : g._n.length <= fit ? g._n : g._n.slice(0, fit - 2) + '..'; }
function unzoom() { frames.forEach(function (g) { g.style.display = ''; g.classList.remove('parent');
  place(g, g._x, g._w); }); reset.style.display = 'none'; }
function zoom(z) { var x0 = z._x, w0 = z._w, e = 1e-3;
  frames.forEach(function (g) {
    if (g._d >= z._d && g._x >= x0 - e && g._x + g._w <= x0 + w0 + e) {
      g.style.display = ''; g.classList.remove('parent'); place(g, P + (g._x - x0) * W / w0, g._w * W / w0);
    } else if (g._d < z._d && g._x <= x0 + e && g._x + g._w >= x0 + w0 - e) {
      g.style.display = ''; g.classList.add('parent'); place(g, P, W);
    } else g.style.display = 'none'; });
  reset.style.display = ''; }
/* Case-insensitive; what is not a regular expression (a lone '(') is looked for as typed. */
function find(term) { var re = null;
  if (term) { try { re = new RegExp(term, 'i'); } catch (x) { re = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i'); } }
  var hits = [];
  frames.forEach(function (g) { var r = g.querySelector('rect');
    if (re && re.test(g._n)) { r.setAttribute('fill', 'rgb(230,0,230)'); hits.push(g); }
    else r.setAttribute('fill', g._fill); });
  hits.sort(function (a, b) { return a._x - b._x; });
  var sum = 0, end = -1; hits.forEach(function (g) { var s = Math.max(g._x, end), t = g._x + g._w;
    if (t > s) sum += t - s; end = Math.max(end, t); });
  matched.textContent = re ? 'Matched: ' + (100 * sum / W).toFixed(1) + '%' : '';
  search.style.display = re ? '' : 'none'; }
search.style.display = 'none';
if (box) box.addEventListener('input', function () { find(box.value); });
svg.addEventListener('mouseover', function (ev) { var g = ev.target.closest('g.f');
  if (g) details.textContent = g.querySelector('title').textContent.replace(/\n/g, '  |  '); });
svg.addEventListener('mouseout', function () { details.textContent = ' '; });
svg.addEventListener('click', function (ev) { var t = ev.target;
  if (t === reset) return unzoom();
  if (t === search) { if (box) box.value = ''; return find(''); }
  var g = t.closest('g.f'); if (g) zoom(g); });
if (svg === document.documentElement) window.addEventListener('keydown', function (ev) {
  if (ev.key === 'Escape') unzoom();
  if ((ev.ctrlKey || ev.metaKey) && ev.key === 'f' && box) { ev.preventDefault(); box.focus(); } });
svg.setAttribute('data-ready', '1');
})();
