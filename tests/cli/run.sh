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

# A sampled trace's peak states its error, and which way it leans.
"$LDPROF" record -q --mode sampled --sample-bytes 8KiB --seed 7 -o "$W/sampled.ldp" -- "$BIN/demo_prog" > /dev/null &&
	"$LDPROF" report "$W/sampled.ldp" > "$W/sampled.txt" && "$LDPROF" report --json "$W/sampled.ldp" > "$W/sampled.json" &&
	check sampled_peak "a sampled trace's peak line states its 95% margin (1.96 x heap.estimated.peak_bytes_stddev) and that the maximum of estimates leans high" \
		$PY "$HERE/check_cli.py" sampled_peak "$W/sampled.txt" "$W/sampled.json"

# ldprof dump --events: the mapped channel's events under their own names
# (they were printed as "free"), as many as the program made.
"$LDPROF" dump --events "$W/mapped.ldp" > "$W/mapped.dump" &&
	check dump_mapped "dump --events names mmap, munmap and mremap events (once printed as free), exactly as many as truth_mapped made" \
		$PY "$HERE/check_cli.py" dump "$W/mapped.dump" "$W/mapped.truth" "$W/mapped.json"

# --- inputs that are not traces ---------------------------------------------------
# An empty file, /dev/null, the first 10 bytes of a trace: every command that
# reads traces fails with one line (exit 1; check: 2, a trace it cannot
# judge) and writes no file; they once gave an all-zero report that passed
# every budget.
: > "$W/empty.ldp"
head -c 10 "$W/small.ldp" > "$W/prefix.ldp"
ok=1
for input in "$W/empty.ldp" /dev/null "$W/prefix.ldp"; do
	for cmd in "report" "report --json" "report --html -o $W/bad.out" "flame -o $W/bad.out" "timeline -o $W/bad.out" \
		"export --format json -o $W/bad.out" "snapshots" "dump" "diff $W/small.ldp" "check --max-peak 1GiB"; do
		want=1
		[ "$cmd" = "check --max-peak 1GiB" ] && want=2
		# shellcheck disable=SC2086
		"$LDPROF" $cmd "$input" > "$W/bad.stdout" 2> "$W/bad.err"
		rc=$?
		if [ $rc != $want ] || [ "$(wc -l < "$W/bad.err")" != 1 ] || [ -e "$W/bad.out" ] ||
			! grep -qE "^ldprof [a-z]+: $input: (empty file, not a trace|ends inside its first segment header)" "$W/bad.err"; then
			echo "     ldprof $cmd $input: exit $rc (want $want): $(head -c 300 "$W/bad.err")"; ok=0
		fi
		rm -f "$W/bad.out"
	done
done
[ $ok = 1 ] && pass "not_a_trace: an empty file, /dev/null, a 10-byte prefix: report, --json, --html, flame, timeline, export, snapshots, dump, diff exit 1, check 2, one line, no file" ||
	fail "not_a_trace"

# --- callers, callees, lines of a glob; where --lines finds sources ----------------
# glob_prog is built here, in a tree of its own with relative source names
# (as a build system does), so that its sources can be moved away after.
mkdir -p "$W/tree/src" "$W/elsewhere"
cp "$HERE/glob_prog.c" "$HERE/glob_other.c" "$W/tree/src/"
if (cd "$W/tree" && ${CC:-cc} -std=gnu11 -O1 -g -fno-omit-frame-pointer -o glob_prog src/glob_prog.c src/glob_other.c) &&
	"$LDPROF" record -q --cpu 250 -o "$W/glob.ldp" -- "$W/tree/glob_prog"; then
	"$LDPROF" report --what cpu --callers 'work_*' "$W/glob.ldp" > "$W/callers.txt"
	"$LDPROF" report --what cpu --callees 'caller_*' "$W/glob.ldp" > "$W/callees.txt"
	(cd / && "$LDPROF" report --what cpu --lines 'work_*' "$W/glob.ldp") > "$W/lines.txt"
	check focus_glob "--callers 'work_*': a section per function (work_a called by caller_a only, work_b by caller_b); --callees 'caller_*' likewise; --lines: line 14 of glob_prog.c and of glob_other.c apart, sources found through DWARF's comp_dir from /" \
		$PY "$HERE/check_cli.py" focus "$W/callers.txt" "$W/callees.txt" "$W/lines.txt" "$W/tree"
	mv "$W/tree/src" "$W/elsewhere/src"
	(cd / && "$LDPROF" report --what cpu --lines work_a "$W/glob.ldp") > "$W/lines-gone.txt"
	(cd / && "$LDPROF" report --what cpu --lines work_a --source-dir /nonexistent --source-dir "$W/elsewhere" \
		"$W/glob.ldp") > "$W/lines-dir.txt"
	(cd / && "$LDPROF" report --what cpu --lines work_a --source-dir "$W/elsewhere/src" "$W/glob.ldp") > "$W/lines-tail.txt"
	check source_dir "sources moved away: --lines says so and how to point at them; --source-dir DIR finds DIR/src/glob_prog.c, and DIR/glob_prog.c with the recorded directory taken off" \
		$PY "$HERE/check_cli.py" source_dir "$W/lines-gone.txt" "$W/lines-dir.txt" "$W/lines-tail.txt" "$W/elsewhere"
else fail "focus_glob: could not build or record glob_prog"; fi

echo
echo "cli: $passed passed, $failed failed"
[ $failed = 0 ]
