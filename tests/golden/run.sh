#!/bin/bash
# tests/golden/run.sh BUILD_DIR - golden traces (format 1.0).
#   bad/NAME.ldp    `ldprof report` exits with the status on line 1 of
#                   NAME.expect and says exactly one line on stderr,
#                   containing line 2 (tests/golden/make_bad.py made them)
#   good/NAME.ldp   real traces: `ldprof report --json` exits 0, and its
#                   segments (pid, exe, cmdline, end, heap totals) and heap
#                   totals, and its truncated-stack counts (fidelity), are exactly
#                   good/NAME.json; `ldprof dump` reads them
#                   too. GOLDEN_UPDATE=1 rewrites the .json files after an
#                   intended change.
#   threads/NAME    every trace above reads the same with the reading
#                   thread (LDPROF_READ_THREADS=2) as without (=1)
# Reports run with --sysroot at an empty directory: the binaries the traces
# name are never found, so nothing depends on this machine's files, and the
# symbolizer's "not found" warnings are not counted as messages.
# One line per trace; any failure exits 1.
set -u
B=$(cd "${1:-build}" && pwd)
LDPROF=$B/ldprof
cd "$(dirname "$0")/../.." || exit 1 # paths in the JSON are relative to the repository
W=$(mktemp -d /tmp/ldprof-golden.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/empty"
report() { "$LDPROF" report --sysroot "$W/empty" "$@"; }
# stderr without the symbolizer's per-module warnings
messages() { grep -vE '^ldprof: warning: .* (not found|is not the binary that ran)' "$1"; }
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

for f in tests/golden/bad/*.ldp; do
	n=$(basename "$f" .ldp)
	want=$(sed -n 1p "tests/golden/bad/$n.expect")
	needle=$(sed -n 2p "tests/golden/bad/$n.expect")
	report "$f" > "$W/out" 2> "$W/err"
	rc=$?
	lines=$(messages "$W/err" | wc -l)
	if [ "$rc" = "$want" ] && [ "$lines" = 1 ] && messages "$W/err" | grep -qF -- "$needle"; then
		pass "bad/$n: exit $rc, \"$needle\""
	else fail "bad/$n: exit $rc (want $want), $lines stderr lines: $(head -c 200 "$W/err")"; fi
done

for f in tests/golden/good/*.ldp; do
	n=$(basename "$f" .ldp)
	json="tests/golden/good/$n.json"
	report --json "$f" > "$W/full" 2> "$W/err"
	rc=$?
	/usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
keep = ("pid", "exe", "cmdline", "end", "heap")
out = {"segments": [{k: s[k] for k in keep} for s in r["segments"]], "heap": r["heap"],
       "fidelity": {k: r["fidelity"][k] for k in ("truncated_stack_count", "truncated_allocation_count", "truncated_sample_count",
                                                   "max_frame_count")}}
print(json.dumps(out, indent=1, sort_keys=True))' "$W/full" > "$W/out" 2>> "$W/err"
	if [ "${GOLDEN_UPDATE:-0}" = 1 ] && [ $rc = 0 ]; then cp "$W/out" "$json"; fi
	if [ $rc = 0 ] && [ -z "$(messages "$W/err")" ] && cmp -s "$W/out" "$json" && "$LDPROF" dump "$f" > /dev/null 2>&1; then
		pass "good/$n: reads, report as recorded in $n.json"
	else fail "good/$n: exit $rc, $(head -c 200 "$W/err") $(diff "$json" "$W/out" 2>&1 | head -3)"; fi
done

# Reading ahead on a second thread (read/ahead.c) changes nothing: every
# golden trace, good, damaged and bad, read on one thread and with the
# reading thread forced on, gives the same bytes on stdout and stderr and
# the same exit status, for the text report and --json (the good ones: by
# traceback, snapshots and a diff too).
for f in tests/golden/good/*.ldp tests/golden/bad/*.ldp; do
	n=${f#tests/golden/}
	n=${n%.ldp}
	same=1
	S="--sysroot $W/empty"
	cmds=("report $S" "report $S --json")
	case $n in good/*) cmds+=("report $S --by traceback --top 1000" "snapshots" "snapshots --json"
		"diff $S --from start --to exit --json") ;; esac
	for cmd in "${cmds[@]}"; do
		for t in 1 2; do
			# shellcheck disable=SC2086 # cmd holds words
			LDPROF_READ_THREADS=$t "$LDPROF" $cmd "$f" > "$W/t$t.out" 2> "$W/t$t.err"
			echo "exit $?" >> "$W/t$t.out"
		done
		# a good trace reads (else the check would compare two refusals)
		case $n in good/*) grep -qx 'exit 0' "$W/t1.out" || { fail "threads/$n: ldprof $cmd: $(head -c 200 "$W/t1.err")"; same=0; } ;; esac
		if ! cmp -s "$W/t1.out" "$W/t2.out" || ! cmp -s "$W/t1.err" "$W/t2.err"; then
			fail "threads/$n: ldprof $cmd differs with the reading thread: $(diff "$W/t1.out" "$W/t2.out" | head -c 200) $(diff "$W/t1.err" "$W/t2.err" | head -c 200)"
			same=0
		fi
	done
	[ $same = 1 ] && pass "threads/$n: ${#cmds[@]} commands, the same with LDPROF_READ_THREADS=1 and =2"
done

echo
if [ $failures -gt 0 ]; then
	echo "golden: $failures FAILED"
	exit 1
fi
echo "golden: all passed"
