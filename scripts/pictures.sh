#!/bin/sh
# scripts/pictures.sh [BUILD_DIR] - regenerate the README's pictures in
# docs/img/ from demo_prog (make pictures): the SVGs. The screenshots
# (PNG) come from scripts/screenshots.sh (make screenshots).
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
ls -l "$D"
