(function () {
var sc = document.currentScript, svg = sc && sc.closest ? sc.closest('svg') : null;
if (!svg) svg = document.documentElement;
var plot = svg.querySelector('rect.plot'), cur = svg.querySelector('line.cursor'),
    info = svg.querySelector('text.info'), cols = JSON.parse(svg.querySelector('desc.cols').textContent);
var X0 = +plot.getAttribute('x'), PW = +plot.getAttribute('width'), END = +svg.getAttribute('data-end');
function fmt(b) { var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
  while (b >= 1024 && i < 4) { b /= 1024; i++; } return (i ? b.toFixed(2) : b) + ' ' + u[i]; }
plot.addEventListener('mousemove', function (ev) {
  var p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
  p = p.matrixTransform(svg.getScreenCTM().inverse());
  var c = Math.max(0, Math.min(cols.length - 1, Math.floor(p.x - X0)));
  cur.setAttribute('x1', p.x); cur.setAttribute('x2', p.x); cur.style.display = '';
  var t = (p.x - X0) / PW * END, v = cols[c];
  info.textContent = 't = ' + t.toFixed(3) + ' s   live ' + (v ? (v[0] === v[1] ? fmt(v[1]) :
    fmt(v[0]) + ' .. ' + fmt(v[1])) : '-'); });
plot.addEventListener('mouseleave', function () { cur.style.display = 'none'; info.textContent = ''; });
svg.setAttribute('data-ready', '1');
})();
