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
	! "$LDPROF" record -q --mode sampled --sample-bytes 8KiB --seed 7 -o "$W/sampled.ldp" -- "$BIN/demo_prog" > /dev/null ||
	! "$LDPROF" report --json "$W/funcs.ldp" > "$W/funcs.json" ||
	! "$LDPROF" report --json "$W/demo.ldp" > "$W/demo.json" ||
	! "$LDPROF" report --json "$W/mapped.ldp" > "$W/mapped.json"; then
	echo "FAIL setup: could not record or report the test programs"
	exit 1
fi

# --- every JSON output against its schema (docs/schema/) ------------------------------
J=$W/json
mkdir -p "$J"
"$LDPROF" record -q --wall 99 --snapshot-interval 0.1 -o "$J/snaps.ldp" -- "$BIN/demo_prog" 100000 > /dev/null
outs=()
js_bad=""
js() { # SCHEMA NAME CMD...: run CMD, keep its output as NAME.json for SCHEMA
	local schema=$1 name=$2 rc
	shift 2
	"$@" > "$J/$name.json" 2> "$J/$name.err"
	rc=$?
	# check exits 1 for a broken budget, and still prints its JSON
	if [ $rc = 0 ] || { [ $schema = check ] && [ $rc = 1 ]; }; then outs+=("$schema=$J/$name.json")
	else js_bad="$js_bad $name (exit $rc: $(head -c 200 "$J/$name.err"))"; fi
}
js report demo "$LDPROF" report --json "$W/demo.ldp"
js report multi "$LDPROF" report --json --threads --by traceback "$W/demo.ldp" "$W/small.ldp" "$J/snaps.ldp"
js report mapped "$LDPROF" report --json --by line "$W/mapped.ldp"
js report sampled "$LDPROF" report --json --threads "$W/sampled.ldp"
js report filtered "$LDPROF" report --json --include 'add_*' --top 3 --sort leaked "$W/demo.ldp"
for g in "$HERE"/../golden/good/*.ldp; do
	js report "golden-$(basename "$g" .ldp)" "$LDPROF" report --json --sysroot "$W/none" "$g"
done
# the round's members filled in: a rotated trace (parts), pauses (ldprof_pause:
# heap.pause_count, paused_free_count, paused_ns), fidelity (truncated stacks,
# ASan's runtime, pymalloc's arenas); attached segments: tests/attach
mkdir -p "$J/rot"
# every address written (LDPROF_SITE_EVENTS=0): the sizes these runs rely on
# (site events make demo_prog's trace 16x smaller; rotation with them: tests/integration/rotate.sh)
LDPROF_SITE_EVENTS=0 "$LDPROF" record -q --max-size 64KiB -o "$J/rot/rot.ldp" -- "$BIN/demo_prog" 200000 > /dev/null # about 4x max-size
js report rotated "$LDPROF" report --json "$J/rot/rot.ldp"
"$LDPROF" record -q -o "$J/paused.ldp" -- "$BIN/truth_phases" "$J/paused.truth" 100 10 > /dev/null
js report paused "$LDPROF" report --json "$J/paused.ldp"
"$LDPROF" record -q -o "$J/deep.ldp" -- "$BIN/deep_prog" > /dev/null
js report truncated "$LDPROF" report --json --by traceback "$J/deep.ldp"
"$LDPROF" record -q -o "$J/asan.ldp" -- "$BIN/asan_prog" > /dev/null 2>&1
js report asan "$LDPROF" report --json "$J/asan.ldp"
env -u PYTHONMALLOC "$LDPROF" record -q -o "$J/pymalloc.ldp" -- /usr/bin/python3 -c 'd = {i: str(i) for i in range(20000)}' 2> /dev/null
js report pymalloc "$LDPROF" report --json "$J/pymalloc.ldp"
js snapshots snapshots "$LDPROF" snapshots --json "$J/snaps.ldp"
js diff diff1 "$LDPROF" diff --json "$J/snaps.ldp" --from start --to exit
js diff diff2 "$LDPROF" diff --json --by traceback "$W/small.ldp" "$W/demo.ldp" --at peak
js diff diff-mapped "$LDPROF" diff --json "$W/mapped.ldp" --from start --to exit
js check check "$LDPROF" check --json --max-peak 1GiB --max-leaked 0 --max-allocations 10 --baseline "$W/small.ldp" \
	--max-growth 5 "$W/demo.ldp"
js check check-sampled "$LDPROF" check --json --max-peak 1GiB "$W/sampled.ldp"
js export export "$LDPROF" export --format json "$J/snaps.ldp"
js export export-mapped "$LDPROF" export --format json "$W/mapped.ldp"
js export export-sampled "$LDPROF" export --format json "$W/sampled.ldp"
if [ -n "$js_bad" ]; then fail "json_schema: outputs not made:$js_bad"
elif $PY -c 'import jsonschema' 2> /dev/null; then
	check json_schema "report (one trace, three with --threads --by traceback, mapped, sampled, filtered, the golden traces, rotated, paused, truncated, ASan, pymalloc), snapshots, diff (one trace, two, mapped), check (every budget kind, sampled), export json: valid against docs/schema/*.json; every number named with its unit; every field documented" \
		$PY "$HERE/check_schema.py" "$HERE/../../docs/schema" "$HERE/../../docs/JSON.md" "$HERE/../../docs/EXPORT.md" -- "${outs[@]}"
else fail "json_schema: python3-jsonschema is not installed (scripts/setup-deps.sh installs it)"; fi
# ...and those outputs hold what they were made for (the schemas allow null)
check json_members "a rotated trace's parts (0..N), a paused run's pause figures, truncated stacks, ASan's runtime and pymalloc's arenas in the JSON that was validated" \
	$PY - "$J" <<'PYEOF'
import json, sys
j = lambda n: json.load(open(f"{sys.argv[1]}/{n}.json"))
p = j("rotated")["parts"]
assert p and p["first_part"] == 0 and p["last_part"] >= 1 and p["deleted_part_count"] == 0 and p["to_ns"] > 0, p
assert j("demo")["parts"] is None
h = j("paused")["heap"]
assert h["pause_count"] == 1 and h["paused_free_count"] == 50 and h["unknown_free_count"] == 0, h
f = j("truncated")["fidelity"]
assert f["truncated_stack_count"] >= 1 and f["max_frame_count"] == 64 and f["notes"], f
f = j("asan")["fidelity"]
assert "libasan" in f["asan_runtime"] and "libasan" in j("asan")["segments"][0]["allocator"], f
f = j("pymalloc")["fidelity"]
assert f["pymalloc"] and f["pymalloc"]["arena_count"] >= 1 and f["asan_runtime"] is None, f
assert all(s["attached"] is False and s["start_realtime_ns"] > 0 for s in j("demo")["segments"])
PYEOF

# --- conventions: --version, help, one-line mistakes ----------------------------------
COMMANDS="record report snapshots diff check flame timeline export dump push fleet"
version=$(sed -n 's/^VERSION := //p' "$HERE/../../Makefile")
ok=1
for v in --version -V version; do
	out=$("$LDPROF" $v 2>&1); rc=$?
	[ $rc = 0 ] && [[ $out =~ ^ldprof\ $version\ \(trace\ format\ [0-9]+\.[0-9]+\)$ ]] || { echo "     ldprof $v: exit $rc: $out"; ok=0; }
done
for c in $COMMANDS; do
	"$LDPROF" help $c > "$W/help1" 2>&1; rc1=$?
	"$LDPROF" $c --help > "$W/help2" 2>&1; rc2=$?
	if [ $rc1 != 0 ] || [ $rc2 != 0 ] || ! cmp -s "$W/help1" "$W/help2" || ! grep -q "^usage: ldprof $c " "$W/help1"; then
		echo "     ldprof help $c ($rc1) and ldprof $c --help ($rc2) differ or fail"; ok=0
	fi
	# A mistyped option: one line naming it and where the help is, exit 2, nothing on stdout.
	"$LDPROF" $c --no-such-option "$W/small.ldp" > "$W/mistake.out" 2> "$W/mistake.err"; rc=$?
	if [ $rc != 2 ] || [ -s "$W/mistake.out" ] ||
		[ "$(cat "$W/mistake.err")" != "ldprof $c: unknown option '--no-such-option' (see 'ldprof $c --help')" ]; then
		echo "     ldprof $c --no-such-option: exit $rc: $(head -3 "$W/mistake.err")"; ok=0
	fi
done
"$LDPROF" help > "$W/help" && grep -q "ldprof help COMMAND" "$W/help" || { echo "     ldprof help"; ok=0; }
# a value missing, an operand missing, a file missing: one line each, prefixed by the command
check_line() { # WANT_RC WANT_LINE CMD...
	local rc want=$1 line=$2
	shift 2
	"$@" > "$W/l.out" 2> "$W/l.err"; rc=$?
	[ $rc = "$want" ] && [ "$(cat "$W/l.err")" = "$line" ] || { echo "     $*: exit $rc: $(head -3 "$W/l.err")"; ok=0; }
}
check_line 2 "ldprof flame: option '--what' needs a value (see 'ldprof flame --help')" "$LDPROF" flame "$W/small.ldp" --what
check_line 2 "ldprof report: which trace? (see 'ldprof report --help')" "$LDPROF" report
check_line 2 "ldprof: unknown command 'reprot' (see 'ldprof --help')" "$LDPROF" reprot "$W/small.ldp"
check_line 1 "ldprof report: $W/nosuch.ldp: No such file or directory" "$LDPROF" report "$W/nosuch.ldp"
[ $ok = 1 ] && pass "conventions: --version, -V, version print 'ldprof $version (trace format M.N)'; 'ldprof help CMD' is 'ldprof CMD --help' for every command; a mistyped option, a missing value or operand is one line 'ldprof CMD: ... (see 'ldprof CMD --help')', exit 2; errors name the command" ||
	fail "conventions"

# --- pictures without -o: a file named after the trace, never the terminal -----------
mkdir -p "$W/pics"
cp "$W/small.ldp" "$W/pics/app.ldp"
ok=1
for cmd in "flame:app.alloc.svg" "flame --what inuse:app.inuse.svg" "timeline:app.timeline.svg" "report --html:app.html" \
	"diff $W/demo.ldp --at peak --flame:app.diff.svg"; do
	args=${cmd%%:*} want=${cmd##*:}
	# shellcheck disable=SC2086
	(cd "$W/pics" && set -- $args && "$LDPROF" "$1" "${@:2}" app.ldp > out 2> err)
	rc=$?
	if [ $rc != 0 ] || [ -s "$W/pics/out" ] || [ "$(cat "$W/pics/err")" != "ldprof ${args%% *}: wrote $want" ] ||
		! grep -q "<svg\|<html" "$W/pics/$want"; then
		echo "     $args app.ldp: exit $rc: $(cat "$W/pics/err")"; ok=0
	fi
done
# -o - onto a terminal is refused; into a pipe it is the picture.
if command -v script > /dev/null; then
	script -qec "$LDPROF flame -o - $W/small.ldp" /dev/null > "$W/pics/tty" 2>&1
	rc=$?
	grep -q "ldprof flame: not writing an SVG onto a terminal: give -o FILE, or redirect standard output" "$W/pics/tty" &&
		[ $rc = 2 ] && ! grep -q "<svg" "$W/pics/tty" || { echo "     flame -o - on a terminal: exit $rc: $(head -c 300 "$W/pics/tty")"; ok=0; }
fi
"$LDPROF" flame -o - "$W/small.ldp" | grep -q "</svg>" || { echo "     flame -o - | grep"; ok=0; }
[ $ok = 1 ] && pass "pictures_default: flame, timeline, report --html, diff --flame without -o write app.alloc.svg, app.timeline.svg, app.html, app.diff.svg and say so; -o - on a terminal refused, into a pipe written" ||
	fail "pictures_default"

# --- make install / uninstall ------------------------------------------------------------
# Into a fresh PREFIX: the command finds its agent there, the man pages have
# every option of each command's --help, bash completion (through
# bash-completion's own loader) knows the commands, options and values,
# the header compiles; uninstall leaves nothing.
REPO=$(cd "$HERE/../.." && pwd)
I=$W/inst
if make -C "$REPO" --no-print-directory O="$B" PREFIX="$I" install > "$W/install.log" 2>&1; then
	check install "make install PREFIX: ldprof records with the installed agent, a man page per command with all its options, completion of commands, options and --what/--by/--format values, ldprof.h compiles; make uninstall removes it all" \
		env LDPROF="$LDPROF" I="$I" W="$W" REPO="$REPO" B="$B" bash "$HERE/check_install.sh"
else fail "install: make install failed: $(tail -5 "$W/install.log")"; fi

# --- make demo installs only the build part of scripts/setup-deps.sh ---------------------
if make -C "$HERE/../.." -n demo 2> /dev/null | grep -q "scripts/setup-deps.sh build" &&
	make -C "$HERE/../.." -n test 2> /dev/null | grep -q "scripts/setup-deps.sh all"; then
	check deps_split "make demo runs setup-deps.sh build, make test all; the build part provides every header, library and tool the build uses (gcc -M, dpkg -S, apt-cache depends) and no test tool" \
		$PY "$HERE/check_deps.py" "$HERE/../.." "$B"
else fail "deps_split: make demo does not install the build part alone, or make test not everything"; fi

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
"$LDPROF" report "$W/sampled.ldp" > "$W/sampled.txt" && "$LDPROF" report --json "$W/sampled.ldp" > "$W/sampled.json" &&
	check sampled_peak "a sampled trace's peak line states its 95% margin (1.96 x heap.estimated.peak_stddev_bytes) and that the maximum of estimates leans high" \
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

# --- ldprof record -o: never replaces what it should not -------------------------
mkdir -p "$W/rec"
R=$W/rec
echo "my notes" > "$R/notes.txt"
ln -s "$R/notes.txt" "$R/link.ldp"
ok=1
for args in "-o $R/notes.txt" "--force -o $R/notes.txt" "--force -o $R/link.ldp" "-o $R/link.ldp"; do
	# shellcheck disable=SC2086
	"$LDPROF" record $args -- sh -c "touch $R/ran" > /dev/null 2> "$R/err"
	rc=$?
	if [ $rc != 2 ] || [ "$(wc -l < "$R/err")" != 1 ] || [ -e "$R/ran" ] || [ "$(cat "$R/notes.txt")" != "my notes" ] ||
		[ ! -L "$R/link.ldp" ]; then
		echo "     record $args: exit $rc, ran: $([ -e "$R/ran" ] && echo yes || echo no): $(cat "$R/err")"; ok=0
	fi
	rm -f "$R/ran"
done
# A trace another run is still writing: not replaced, even with --force.
"$LDPROF" record -q -o "$R/live.ldp" -- sleep 60 &
live=$!
for _ in $(seq 100); do [ -s "$R/live.ldp" ] && break; sleep 0.1; done
"$LDPROF" record --force -o "$R/live.ldp" -- sh -c "touch $R/ran" > /dev/null 2> "$R/err"
rc=$?
if [ $rc != 2 ] || ! grep -q "is the trace of pid [0-9]*, still running: not replacing it" "$R/err" || [ -e "$R/ran" ]; then
	echo "     record --force over a trace still being written: exit $rc: $(cat "$R/err")"; ok=0
fi
kill -TERM $live 2> /dev/null
wait $live 2> /dev/null
# A finished trace: refused without --force, replaced with it.
cp "$W/small.ldp" "$R/done.ldp"
"$LDPROF" record -o "$R/done.ldp" -- /bin/true 2> "$R/err"
rc=$?
if [ $rc != 2 ] || ! grep -q "exists: not replacing it (--force replaces an ldprof trace)" "$R/err" || ! cmp -s "$W/small.ldp" "$R/done.ldp"; then
	echo "     record over a finished trace without --force: exit $rc: $(cat "$R/err")"; ok=0
fi
if ! "$LDPROF" record -q --force -o "$R/done.ldp" -- /bin/true || cmp -s "$W/small.ldp" "$R/done.ldp" ||
	! "$LDPROF" report "$R/done.ldp" | grep -q "/bin/true"; then
	echo "     record --force over a finished trace did not replace it"; ok=0
fi
[ $ok = 1 ] && pass "record_existing: -o over a text file, a symlink, a trace still being written: exit 2, one line, program not run, nothing touched (also with --force); a finished trace only with --force" ||
	fail "record_existing"

# --- a rotated trace is PATH and its parts: replaced whole or not at all ----------
# `ldprof report PATH` reads PATH.1.ldp, PATH.2.ldp... (or the newest ones
# when --keep deleted PATH), so an earlier run's parts must not outlive a
# run that replaces PATH; without --force they are refused like PATH. A
# fork child's PATH.<pid>.ldp looks the same by name and is never touched.
R=$W/parts
mkdir -p "$R"
ok=1
LDPROF_SITE_EVENTS=0 "$LDPROF" record --max-size 64KiB -o "$R/rot.ldp" -- "$BIN/demo_prog" 300000 > /dev/null 2> "$R/err1" # about 6x max-size (every address: as above)
nparts=$(ls "$R" | grep -c '^rot\.[0-9]*\.ldp$')
if [ "$nparts" -lt 2 ] || ! grep -q "trace written to $R/rot.ldp and $nparts more parts" "$R/err1" ||
	grep -q "child processes" "$R/err1"; then
	echo "     first run: $nparts parts: $(cat "$R/err1")"; ok=0
fi
cp "$W/small.ldp" "$R/rot.4242.ldp" # a child's trace, by its name
stat -c '%n %i %s %Y' "$R"/rot* > "$R/before.ls"
"$LDPROF" record --max-size 64KiB -o "$R/rot.ldp" -- sh -c "touch $R/ran" > /dev/null 2> "$R/err2"
rc=$?
if [ $rc != 2 ] || [ "$(wc -l < "$R/err2")" != 1 ] || [ -e "$R/ran" ]; then
	echo "     without --force over PATH and its parts: exit $rc: $(cat "$R/err2")"; ok=0
fi
mv "$R/rot.ldp" "$R/rot0.keep" # as --keep leaves it: parts without PATH
"$LDPROF" record -o "$R/rot.ldp" -- sh -c "touch $R/ran" > /dev/null 2> "$R/err3"
rc=$?
mv "$R/rot0.keep" "$R/rot.ldp"
stat -c '%n %i %s %Y' "$R"/rot* > "$R/after.ls"
if [ $rc != 2 ] || ! grep -q "rot.1.ldp is there, part of an earlier rotated trace .*(--force replaces an ldprof trace and its parts)" "$R/err3" ||
	[ -e "$R/ran" ] || ! cmp -s "$R/before.ls" "$R/after.ls"; then
	echo "     without --force over parts alone: exit $rc: $(cat "$R/err3")"; ok=0
fi
# --force, a run that rotates less: none of the old parts left, the child's file untouched
"$LDPROF" record --force --max-size 64KiB -o "$R/rot.ldp" -- "$BIN/demo_prog" 20000 > /dev/null 2> "$R/err4"
rc=$?
left=$(ls "$R" | grep -c '^rot\.[0-9]*\.ldp$')
if [ $rc != 0 ] || ! grep -q "also removed $nparts parts of the earlier trace" "$R/err4" || ! cmp -s "$W/small.ldp" "$R/rot.4242.ldp" ||
	! "$LDPROF" report --json "$R/rot.ldp" > "$R/rot.json" ||
	! $PY - "$R/rot.json" "$left" <<'PYEOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
parts, files = r["parts"], int(sys.argv[2]) - 1  # rot.4242.ldp is no part
assert (parts["last_part"] if parts else 0) == files, (parts, files)
assert r["heap"]["allocation_count"] < 100000, r["heap"]  # the 20 000-line run's, not the first run's
PYEOF
	echo "     --force: exit $rc, $left files rot.N.ldp: $(cat "$R/err4")"; ok=0
fi
# parts a running process is still writing: refused even with --force (--keep 1: PATH itself gone)
PYTHONMALLOC=malloc "$LDPROF" record -q --max-size 64KiB --keep 1 -o "$R/live.ldp" -- /usr/bin/python3 -c \
	'import time; x = [str(i) for i in range(300000)]; open("'"$R"'/live.ready", "w").close(); time.sleep(60)' &
live=$!
for _ in $(seq 300); do [ -e "$R/live.ready" ] && ls "$R" | grep -q '^live\.[0-9]*\.ldp$' && [ ! -e "$R/live.ldp" ] && break; sleep 0.1; done
"$LDPROF" record --force -o "$R/live.ldp" -- sh -c "touch $R/ran" > /dev/null 2> "$R/err5"
rc=$?
if [ $rc != 2 ] || ! grep -q "is a part of the trace of pid [0-9]*, still running: not replacing it" "$R/err5" || [ -e "$R/ran" ]; then
	echo "     --force over the parts of a running trace: exit $rc: $(cat "$R/err5")"; ok=0
fi
kill -TERM $live 2> /dev/null
wait $live 2> /dev/null
[ $ok = 1 ] && pass "record_parts: a rotated trace ($nparts parts) is said as such (not as children); without --force neither PATH and its parts nor parts alone (--keep) are replaced (exit 2, one line, nothing touched); --force removes every old part, a fork child's file stays; a part still being written is refused" ||
	fail "record_parts"

# Children's files of an earlier run are not this run's; the last line says what to run next.
cp "$W/small.ldp" "$R/kids.99999.ldp"
(cd "$R" && "$LDPROF" record -o kids.ldp -- sh -c '/bin/true & wait') > /dev/null 2> "$R/err"
kids=$(ls "$R"/kids.*.ldp | grep -vc 99999)
if [ "$kids" = 1 ] && grep -qx "ldprof: trace written to kids.ldp" "$R/err" &&
	grep -qx "ldprof: and 1 more from child processes ($R/kids.<pid>.ldp)" "$R/err" &&
	[ "$(tail -1 "$R/err")" = "ldprof: next: ldprof report kids.ldp   (or: ldprof flame kids.ldp; ldprof report --html kids.ldp)" ] &&
	cmp -s "$W/small.ldp" "$R/kids.99999.ldp" && [ -z "$("$LDPROF" record -q -o "$R/quiet.ldp" -- /bin/true 2>&1)" ]; then
	pass "record_children: a stale kids.99999.ldp from before is not counted (1 child of this run), left alone; the last line suggests ldprof report; -q says nothing"
else fail "record_children: $kids new child files; stderr: $(cat "$R/err")"; fi

# Sampled mode leaves libunwind unloaded (glibc's backtrace is its fallback);
# full mode and LDPROF_UNWIND=check load it. The shell looks at its own maps.
lu_sampled=$("$LDPROF" record -q --mode sampled -o "$R/lu_s.ldp" -- sh -c 'grep -c libunwind /proc/$$/maps' 2> /dev/null)
lu_full=$("$LDPROF" record -q -o "$R/lu_f.ldp" -- sh -c 'grep -c libunwind /proc/$$/maps' 2> /dev/null)
lu_check=$(LDPROF_UNWIND=check "$LDPROF" record -q --mode sampled -o "$R/lu_c.ldp" -- sh -c 'grep -c libunwind /proc/$$/maps' 2> /dev/null)
if [ "$lu_sampled" = 0 ] && [ "${lu_full:-0}" -gt 0 ] && [ "${lu_check:-0}" -gt 0 ] &&
	"$LDPROF" report "$R/lu_s.ldp" > /dev/null 2>&1; then
	pass "sampled_no_libunwind: sampled mode maps no libunwind ($lu_sampled lines), full mode does ($lu_full), sampled with LDPROF_UNWIND=check does ($lu_check); the sampled trace reads"
else fail "sampled_no_libunwind: sampled $lu_sampled, full $lu_full, check $lu_check lines of libunwind in the maps"; fi

# -q: record becomes the program. Its pid is record's, its signal its own;
# without -q the program is record's child (another pid) and record exits
# 128+signal. The trace is written either way.
"$LDPROF" record -q -o "$R/inplace.ldp" -- sh -c 'echo $$ > "$0"; kill -TERM $$' "$R/inplace.pid" 2> /dev/null &
qpid=$!
wait $qpid
qrc=$?
"$LDPROF" record -o "$R/forked.ldp" -- sh -c 'echo $$ > "$0"; kill -TERM $$' "$R/forked.pid" 2> /dev/null &
fpid=$!
wait $fpid
frc=$?
if [ "$(cat "$R/inplace.pid")" = "$qpid" ] && [ $qrc = 143 ] && [ "$(cat "$R/forked.pid")" != "$fpid" ] && [ $frc = 143 ] &&
	"$LDPROF" report "$R/inplace.ldp" > /dev/null 2>&1 && "$LDPROF" report "$R/forked.ldp" > /dev/null 2>&1; then
	pass "record_in_place: with -q the program runs as record's own pid (killed by SIGTERM: status 143), without -q as a child; both traces read"
else fail "record_in_place: -q pid $(cat "$R/inplace.pid" 2>/dev/null) vs $qpid rc $qrc; forked pid $(cat "$R/forked.pid" 2>/dev/null) vs $fpid rc $frc"; fi

# --- the reporter's -o: created safely, private when it holds a command line -------
O=$W/out
mkdir -p "$O/shared" "$O/mine"
chmod 1777 "$O/shared"
echo "victim" > "$O/victim"
ok=1
# A symlink planted by another user in a sticky shared directory (as /tmp):
# never written through, never replaced.
if [ "$(id -u)" = 0 ]; then
	ln -s "$O/victim" "$O/shared/x.svg"
	chown -h nobody "$O/shared/x.svg"
	for cmd in "flame" "timeline" "report --html" "export --format json"; do
		# shellcheck disable=SC2086
		"$LDPROF" $cmd -o "$O/shared/x.svg" "$W/small.ldp" 2> "$O/err"
		rc=$?
		if [ $rc != 1 ] || [ "$(wc -l < "$O/err")" != 1 ] || [ "$(cat "$O/victim")" != victim ] || [ ! -L "$O/shared/x.svg" ] ||
			! grep -q "another user's symbolic link in a shared directory" "$O/err" || [ -n "$(ls -A "$O/shared" | grep -v '^x.svg$')" ]; then
			echo "     $cmd -o planted symlink: exit $rc: $(cat "$O/err")"; ok=0
		fi
	done
	# A block device at the path is refused (a symlink to one was written over).
	if mknod "$O/blk" b 7 250 2> /dev/null; then
		"$LDPROF" flame -o "$O/blk" "$W/small.ldp" 2> "$O/err"
		rc=$?
		if [ $rc != 1 ] || ! grep -q "is a block device: not writing a report onto it" "$O/err" || [ ! -b "$O/blk" ]; then
			echo "     flame -o a block device: exit $rc: $(cat "$O/err")"; ok=0
		fi
	fi
	how="another user's symlink in a sticky directory refused, a block device refused; "
else how="(not root: the planted-link and block-device cases need root, skipped); "; fi
# Our own symlink in our own directory: replaced by the file, its target untouched.
ln -s "$O/victim" "$O/mine/link.svg"
if ! "$LDPROF" flame -o "$O/mine/link.svg" "$W/small.ldp" || [ -L "$O/mine/link.svg" ] || [ "$(cat "$O/victim")" != victim ] ||
	! grep -q "<svg" "$O/mine/link.svg"; then
	echo "     flame -o own symlink: not replaced by the file, or its target changed"; ok=0
fi
# Modes: 0600 where the output names the command line, else 0666 less the umask.
(
	umask 022
	S=$W/small.ldp
	for w in "report -o $O/r.txt $S" "report --json -o $O/r.json $S" "report --html -o $O/r.html $S" \
		"timeline -o $O/t.svg $S" "export --format json -o $O/e.json $S" "export --format massif -o $O/e.massif $S" \
		"export --format dhat -o $O/e.dhat $S" "flame -o $O/f.svg $S" "export --format pprof -o $O/e.pb.gz $S" \
		"export --format collapsed -o $O/e.folded $S" "diff -o $O/d.txt $S $W/demo.ldp"; do
		# shellcheck disable=SC2086
		"$LDPROF" $w > /dev/null 2>&1 || echo "     ldprof $w failed"
	done
) > "$O/modes.err"
[ -s "$O/modes.err" ] && { cat "$O/modes.err"; ok=0; }
for f in r.txt r.json r.html t.svg e.json e.massif e.dhat; do
	[ "$(stat -c %a "$O/$f" 2> /dev/null)" = 600 ] || { echo "     $f: mode $(stat -c %a "$O/$f" 2> /dev/null), want 600"; ok=0; }
done
for f in f.svg e.pb.gz e.folded d.txt; do
	[ "$(stat -c %a "$O/$f" 2> /dev/null)" = 644 ] || { echo "     $f: mode $(stat -c %a "$O/$f" 2> /dev/null), want 644"; ok=0; }
done
[ $ok = 1 ] && pass "out_safe: ${how}own symlink replaced, not followed; report, timeline, export json/massif/dhat 0600 (they hold the command line), flame, pprof, collapsed, diff 0644 under umask 022" ||
	fail "out_safe"

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

# --- the debug-file cache: a separate debug file with compressed DWARF (as
# Debian's -dbg packages ship them) is kept decompressed, by build-id ----------------
DC=$W/dcache
mkdir -p "$W/dbg"
cp "$BIN/demo_prog" "$W/dbg/demo_prog"
if objcopy --only-keep-debug --compress-debug-sections=zlib "$W/dbg/demo_prog" "$W/dbg/demo_prog.debug" &&
	strip -g "$W/dbg/demo_prog" && objcopy --add-gnu-debuglink="$W/dbg/demo_prog.debug" "$W/dbg/demo_prog" &&
	"$LDPROF" record -q -o "$W/dbg.ldp" -- "$W/dbg/demo_prog" 20000 > /dev/null; then
	id=$(readelf -n "$W/dbg/demo_prog" | awk '/Build ID/ {print $3}')
	LDPROF_DEBUG_CACHE=off "$LDPROF" report --json --by line "$W/dbg.ldp" > "$W/dbg.off.json"
	[ -e "$DC" ] && touch "$W/dbg.offmade"
	LDPROF_DEBUG_CACHE=$DC "$LDPROF" report --json --by line "$W/dbg.ldp" > "$W/dbg.first.json"
	mv "$W/dbg/demo_prog.debug" "$W/dbg/moved.debug" # only the cache has the DWARF now
	LDPROF_DEBUG_CACHE=$DC "$LDPROF" report --json --by line "$W/dbg.ldp" > "$W/dbg.cached.json"
	LDPROF_DEBUG_CACHE=off "$LDPROF" report --json --by line "$W/dbg.ldp" > "$W/dbg.gone.json" 2> /dev/null
	# a file of another build at the cache's path is not used
	mv "$DC/$id.debug" "$W/dbg/kept.debug"
	cp "$W/dbg/moved.debug" "$W/dbg/demo_prog.debug"
	cp "$BIN/truth_funcs" "$DC/$id.debug"
	LDPROF_DEBUG_CACHE=$DC "$LDPROF" report --json --by line "$W/dbg.ldp" > "$W/dbg.planted.json"
	check debug_cache "a separate debug file with zlib-compressed DWARF: the first report writes its decompressed copy to LDPROF_DEBUG_CACHE as BUILD-ID.debug (0600, no compressed section) with the same figures and lines; with the original gone, the cache alone gives the same lines; 'off' makes no directory; a file of another build at that path is ignored" \
		$PY - "$W" "$id" <<'PYEOF'
import json, os, stat, subprocess, sys
w, bid = sys.argv[1:3]
assert not os.path.exists(f"{w}/dbg.offmade"), "LDPROF_DEBUG_CACHE=off made the cache directory"
off, first, cached, gone, planted = (json.load(open(f"{w}/dbg.{k}.json")) for k in ("off", "first", "cached", "gone", "planted"))
lines = sorted(g["key"] for g in off["groups"] if "demo_prog.c:" in g["key"])
assert lines, ("no line of demo_prog.c resolved from the separate debug file", [g["key"] for g in off["groups"]][:5])
assert first == off and cached == off and planted == off, "the cache changed the report"
assert not any("demo_prog.c:" in g["key"] for g in gone["groups"]), "lines resolved without any debug file?"
kept = f"{w}/dbg/kept.debug"
assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600, oct(os.stat(kept).st_mode)
shdrs = subprocess.run(["readelf", "-SW", kept], capture_output=True, text=True).stdout
orig = subprocess.run(["readelf", "-SW", f"{w}/dbg/moved.debug"], capture_output=True, text=True).stdout
def compressed(t):
    return [l.split()[1] for l in t.splitlines() if "] .debug_" in l and "C" in l.split()[-4]]
assert compressed(orig) and not compressed(shdrs), (compressed(orig), compressed(shdrs))
print(f"{len(lines)} lines of demo_prog.c, the same from the original, its cached copy and the copy alone")
PYEOF
else fail "debug_cache: could not split demo_prog's debug info (objcopy) or record it"; fi

echo
echo "cli: $passed passed, $failed failed"
[ $failed = 0 ]
