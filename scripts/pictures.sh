#!/bin/sh
# scripts/pictures.sh [BUILD_DIR] - regenerate the README's pictures in
# docs/img/ from demo_prog (make pictures). Needs chromium for the HTML
# report's screenshot.
set -eu
B=${1:-build}
D=docs/img
mkdir -p "$D"
T=$(mktemp -d /tmp/ldprof-pics.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$B/ldprof" record -q --snapshot-interval 0.2 --wall 99 -o "$T/demo.ldp" -- "$B/tests/integration/demo_prog" > /dev/null
"$B/ldprof" record -q -o "$T/small.ldp" -- "$B/tests/integration/demo_prog" 50000 > /dev/null
cp "$T/demo.ldp" "$T/small.ldp" "$B/" 2> /dev/null || true
"$B/ldprof" flame --what alloc -o "$D/flame-alloc.svg" "$B/demo.ldp"
"$B/ldprof" flame --against "$B/small.ldp" --title "allocated bytes: 200000 lines against 50000" \
	-o "$D/flame-diff.svg" "$B/demo.ldp"
"$B/ldprof" timeline -o "$D/timeline.svg" "$B/demo.ldp"
"$B/ldprof" report --html -o "$T/report.html" "$B/demo.ldp"
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/chrome" --hide-scrollbars \
	--window-size=1280,1500 --screenshot="$D/report-html.png" "file://$T/report.html" > /dev/null 2>&1
ls -l "$D"
