#!/bin/bash
# tests/cli/run.sh BUILD_DIR - the ldprof command as a user meets it: the
# figures its text prints, inputs that are not traces, output files made
# safely, the conventions of a command line tool. Each check prints one
# line: ok / FAIL; any failure exits 1. Figures are compared with
# `ldprof report --json` of the same trace, never with constants.
set -u
B=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
LDPROF=$B/ldprof
BIN=$B/tests/integration
PY=/usr/bin/python3
W=$(mktemp -d /tmp/ldprof-cli.XXXXXX)
trap 'rm -rf "$W"' EXIT
passed=0 failed=0
export LDPROF_VERBOSE=0

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
# check NAME WHAT CMD...: pass when CMD succeeds; its output is shown on failure.
check() {
	local name=$1 what=$2
	shift 2
	if "$@" > "$W/check.out" 2>&1; then pass "$name: $what"
	else fail "$name: $(head -c 3000 "$W/check.out" | sed '2,$s/^/     /')"; fi
}

# The traces: demo_prog (200 000 lines: a peak, leaks) and a small one,
# truth_mapped (mmap, munmap, mremap; RSS readings), truth_funcs (temporaries).
if ! "$LDPROF" record -q -o "$W/demo.ldp" -- "$BIN/demo_prog" > /dev/null ||
	! "$LDPROF" record -q -o "$W/small.ldp" -- "$BIN/demo_prog" 1000 > /dev/null ||
	! "$LDPROF" record -q -o "$W/mapped.ldp" -- "$BIN/truth_mapped" "$W/mapped.truth" "$W" ||
	! "$LDPROF" record -q -o "$W/funcs.ldp" -- "$BIN/truth_funcs" "$W/funcs.truth" ||
	! "$LDPROF" report --json "$W/funcs.ldp" > "$W/funcs.json" ||
	! "$LDPROF" report --json "$W/demo.ldp" > "$W/demo.json" ||
	! "$LDPROF" report --json "$W/mapped.ldp" > "$W/mapped.json"; then
	echo "FAIL setup: could not record or report the test programs"
	exit 1
fi

# --- the text report's figures ---------------------------------------------------
"$LDPROF" report "$W/demo.ldp" "$W/small.ldp" > "$W/multi.txt" &&
	"$LDPROF" report --json "$W/demo.ldp" "$W/small.ldp" > "$W/multi.json" &&
	check report_multi "two traces: each process line says its own allocations, peak and leaked bytes" \
		$PY "$HERE/check_cli.py" multi "$W/multi.txt" "$W/multi.json"
"$LDPROF" report --top 50 "$W/funcs.ldp" > "$W/funcs.txt" &&
	check report_plurals "'1 block', '2 blocks'; the temporary table reads 'N of M calls'; no '1 blocks' anywhere" \
		$PY "$HERE/check_cli.py" plurals "$W/funcs.txt" "$W/funcs.json"
"$LDPROF" report "$W/mapped.ldp" > "$W/mapped.txt" &&
	check report_memory "heap, mapped and RSS peaks each say what they are and when; the heap and mappings at the RSS peak" \
		$PY "$HERE/check_cli.py" memory "$W/mapped.txt" "$W/mapped.json"

echo
echo "cli: $passed passed, $failed failed"
[ $failed = 0 ]
