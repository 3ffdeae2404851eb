#!/bin/sh
# scripts/screenshots.sh [BUILD_DIR] - the README's screenshots (docs/img/*.png)
# as headless Chromium draws ldprof's pictures from demo_prog (make
# screenshots): the flame graph's inverted view and the HTML report's top,
# snapshot differences (a range dragged on the timeline), CPU section and
# thread filter.
# The SVGs themselves come from scripts/pictures.sh (make pictures). Each
# page gets a small script that does what a user would (click "Inverted",
# drag across the timeline, keep one section) before the picture is taken.
set -eu
B=${1:-build}
D=docs/img
mkdir -p "$D"
T=$(mktemp -d /tmp/ldprof-shots.XXXXXX)
trap 'rm -rf "$T"' EXIT
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "screenshots: chromium is not installed (scripts/setup-deps.sh installs it)" >&2; exit 1; }
shot() { # shot OUT.png WIDTH,HEIGHT PAGE
	timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/chrome" --hide-scrollbars \
		--window-size="$2" --screenshot="$1" "file://$3" > /dev/null 2>&1
	[ -s "$1" ] || { echo "screenshots: no picture for $3" >&2; exit 1; }
}
# page OUT.html SOURCE SCRIPT: SOURCE (an SVG or the HTML report) with SCRIPT run after its own
page() {
	{
		case $2 in
		*.svg) printf '<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}</style></head><body>'
			sed '1{/^<?xml/d}' "$2"; printf '</body></html>' ;;
		*) sed 's#</body></html>##' "$2" ;;
		esac
		printf '<script>%s</script></body></html>\n' "$3"
	} > "$1"
}
"$B/ldprof" record -q --snapshot-interval 0.1 --wall 199 -o "$T/demo.ldp" -- "$B/tests/integration/demo_prog" > /dev/null
"$B/ldprof" flame --what alloc -o "$T/flame.svg" "$T/demo.ldp"
"$B/ldprof" report --html -o "$T/report.html" "$T/demo.ldp"

page "$T/inverted.html" "$T/flame.svg" \
	"document.querySelector('text.invert').dispatchEvent(new MouseEvent('click', {bubbles: true}));"
shot "$D/flame-inverted.png" 1200,195 "$T/inverted.html"
shot "$D/report-html.png" 1280,1500 "$T/report.html"
# the snapshot differences of a range dragged from 0.2 s to the peak: only
# the timeline and that section shown
page "$T/range.html" "$T/report.html" "
var svg = document.querySelector('svg.ldprof-timeline'), plot = svg.querySelector('rect.plot'), r = plot.getBoundingClientRect();
var end = +svg.getAttribute('data-end'), D = JSON.parse(document.getElementById('ldprof-data').textContent);
var peak = D.snapshots.snapshots.filter(function (s) { return s.selector === 'peak'; })[0].time_ns / 1e9;
function x(t) { return r.left + t / end * r.width; }
function ev(type, t, on) { on.dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: x(t), clientY: r.top + r.height / 2})); }
ev('mousedown', 0.2, plot); ev('mousemove', peak + 0.005, plot); ev('mouseup', peak + 0.005, window);
document.querySelectorAll('section').forEach(function (s) { if (s.id !== 'timeline' && s.id !== 'snapshots') s.style.display = 'none'; });
document.querySelector('nav').style.display = 'none';"
shot "$D/report-range.png" 1280,900 "$T/range.html"
page "$T/cpu.html" "$T/report.html" "
document.querySelectorAll('section').forEach(function (s) { if (s.id !== 'cpu') s.style.display = 'none'; });
document.querySelector('nav').style.display = 'none'; window.dispatchEvent(new Event('resize'));"
shot "$D/report-cpu.png" 1280,900 "$T/cpu.html"
# the filter bar on phase_threads: thread alpha chosen, the tables recomputed
"$B/ldprof" record -q -o "$T/pt.ldp" -- "$B/tests/integration/phase_threads" "$T/pt.truth" 20000 > /dev/null
"$B/ldprof" report --html -o "$T/pt.html" "$T/pt.ldp"
page "$T/filter.html" "$T/pt.html" "
var p = document.getElementById('thread-filter');
p.value = Array.prototype.filter.call(p.options, function (o) { return o.textContent.indexOf('alpha') === 0; })[0].value;
p.dispatchEvent(new Event('change'));
document.querySelectorAll('section').forEach(function (s) { if (s.id !== 'tables' && s.id !== 'cpu') s.style.display = 'none'; });
document.querySelectorAll('section h2 + p.muted, #cpu div.flame').forEach(function (e) { e.style.display = 'none'; });
document.querySelector('nav').style.display = 'none';"
shot "$D/report-filter.png" 1280,700 "$T/filter.html"
ls -l "$D"/*.png
