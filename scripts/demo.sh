#!/bin/sh
# scripts/demo.sh - trace a small program and print its report (make demo).
set -eu
B=${1:-build}
echo "\$ ldprof record -o $B/demo.ldp -- $B/tests/integration/demo_prog"
"$B/ldprof" record -o "$B/demo.ldp" -- "$B/tests/integration/demo_prog"
echo
echo "\$ ldprof report $B/demo.ldp"
"$B/ldprof" report "$B/demo.ldp"
