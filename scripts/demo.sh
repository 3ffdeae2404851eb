#!/bin/sh
# scripts/demo.sh - one scenario end to end (make demo): a million CSV rows
# counted by loading them all, then by streaming them; both traced; the
# report of the first, what grew between the two at their peaks, and the CI
# budget the second keeps and the first breaks.
set -eu
B=${1:-build}
D=$B/demo
mkdir -p "$D"
rm -f "$D"/*.ldp
say() { printf '\n$ %s\n' "$*"; }

say "rows --rows 1000000 --write $D/rows.csv"
"$B/samples/rows" --rows 1000000 --write "$D/rows.csv"
for mode in load stream; do
	say "ldprof record -o $D/$mode.ldp -- rows --file $D/rows.csv --mode $mode"
	"$B/ldprof" record -o "$D/$mode.ldp" -- "$B/samples/rows" --file "$D/rows.csv" --mode $mode
done
say "ldprof report --top 3 $D/load.ldp"
"$B/ldprof" report --top 3 "$D/load.ldp"
say "ldprof diff $D/stream.ldp $D/load.ldp --at peak"
"$B/ldprof" diff "$D/stream.ldp" "$D/load.ldp" --at peak
for mode in stream load; do
	say "ldprof check --max-peak 1MiB $D/$mode.ldp"
	"$B/ldprof" check --max-peak 1MiB "$D/$mode.ldp" || echo "(exit $?: the budget is broken)"
done
rm -f "$D/rows.csv"
printf '\nMore: samples/README.md (three scenarios), docs/ (how it works).\n'
