#!/bin/bash
# tests/pictures/run.sh BUILD_DIR - pictures and exports, each produced from a
# real trace and handed to the program that reads it: headless Chromium (the
# SVGs, their scripts, the HTML report, DHAT's viewer), go tool pprof,
# ms_print, speedscope's JSON schema. Figures are compared with
# `ldprof report --json` of the same trace. A consumer that is not installed
# is reported as skipped (scripts/setup-deps.sh installs them all; CI never
# skips). Each check prints one line: ok / FAIL / skip.
set -u
B=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
LDPROF=$B/ldprof
DEMO=$B/tests/integration/demo_prog
PY=/usr/bin/python3
W=$(mktemp -d /tmp/ldprof-pictures.XXXXXX)
cleanup() {
	[ -n "${RO_MOUNT:-}" ] && umount "$RO_MOUNT" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
passed=0 failed=0 skipped=0
export LDPROF_VERBOSE=0

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "skip $1"; skipped=$((skipped + 1)); }
# check NAME WHAT CMD...: pass when CMD succeeds; its output is indented on failure.
check() {
	local name=$1 what=$2
	shift 2
	if "$@" > "$W/check.out" 2>&1; then pass "$name: $what"
	else fail "$name: $(head -c 2000 "$W/check.out" | sed '2,$s/^/     /')"; fi
}

# Headless Chromium as the issue's notes say: no sandbox (root), nothing that
# reaches for the network, a fresh profile directory every time.
CHROME=$(command -v chromium || command -v chromium-browser || true)
chrome() {
	timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--disable-background-networking --disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$(mktemp -d "$W/chrome.XXXXXX")" "$@" 2>> "$W/chrome.log"
}

# --- the traces: demo_prog at two sizes (the second for the differential
# graph), the first with CPU (default 99 Hz) and wall-clock samples; a third
# without samples
if ! "$LDPROF" record -q --wall 199 -o "$W/demo.ldp" -- "$DEMO" > /dev/null ||
	! "$LDPROF" record -q -o "$W/small.ldp" -- "$DEMO" 50000 > /dev/null ||
	! "$LDPROF" record -q --cpu 0 -o "$W/nosamples.ldp" -- "$DEMO" 1000 > /dev/null ||
	! "$LDPROF" report --json "$W/demo.ldp" > "$W/demo.json"; then
	echo "FAIL setup: could not record or report demo_prog"
	echo "pictures: 0 passed, 1 failed"
	exit 1
fi

# --- flame graphs -------------------------------------------------------------
for what in alloc inuse leaked temporary cpu wall; do
	"$LDPROF" flame --what $what -o "$W/flame-$what.svg" "$W/demo.ldp" || fail "flame_$what: ldprof flame failed"
done
check flame_svg "alloc, inuse, leaked, temporary, cpu, wall: well-formed SVG; frame widths add up to each figure of the report" \
	$PY "$HERE/check_flame.py" "$W" "$W/demo.json"
"$LDPROF" flame --what cpu -o "$W/cpu.svg" "$W/nosamples.ldp" 2> "$W/cpu.err"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l < "$W/cpu.err")" = 1 ] && grep -q 'this trace has no CPU samples (record with --cpu)' "$W/cpu.err" &&
	[ ! -e "$W/cpu.svg" ]; then
	pass "flame_nosamples: --what cpu on a trace recorded with --cpu 0: one line, exit 1, no file"
else fail "flame_nosamples: exit $rc, stderr: $(cat "$W/cpu.err")"; fi
"$LDPROF" flame --against "$W/small.ldp" -o "$W/diff.svg" "$W/demo.ldp" &&
	check flame_diff "differential graph (200000 lines against 50000): grown frames red, with before/after/change" \
		$PY "$HERE/check_flame.py" --diff "$W/diff.svg"

peak=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["peak_bytes"])' "$W/demo.json")
"$LDPROF" diff "$W/small.ldp" "$W/demo.ldp" --at peak --flame -o "$W/diff-peak.svg" &&
	check diff_flame "ldprof diff OLD NEW --at peak --flame: live bytes at the two peaks, sized by the new one, grown frames red" \
		$PY "$HERE/check_flame.py" --diff "$W/diff-peak.svg" "$peak"

# --- timeline ------------------------------------------------------------------
"$LDPROF" timeline -o "$W/timeline.svg" "$W/demo.ldp" &&
	check timeline "well-formed SVG; its highest column and its peak mark are the report's peak; CPU and wall sample rates drawn in a panel with its axes (0/s to its top, time)" \
		$PY "$HERE/check_timeline.py" "$W/timeline.svg" "$W/demo.json"

# --- in a browser: scripts run, zoom, search, the HTML report --------------------
# all_ready DOM...: every dumped page has its script's data-ready mark
all_ready() {
	for f; do grep -q 'data-ready="1"' "$f" || { echo "no data-ready in $f"; return 1; }; done
}
"$LDPROF" report --html -o "$W/report.html" "$W/demo.ldp" || fail "html: ldprof report --html failed"
if [ -z "$CHROME" ]; then
	skip "browser: chromium is not installed (scripts/setup-deps.sh installs it): SVG scripts and HTML not loaded"
else
	chrome --window-size=900,700 --dump-dom "file://$W/flame-alloc.svg" > "$W/flame.dom"
	chrome --dump-dom "file://$W/timeline.svg" > "$W/timeline.dom"
	chrome --dump-dom "file://$W/diff.svg" > "$W/diff.dom"
	$PY "$HERE/harness.py" flame "$W/flame-alloc.svg" > "$W/flame-harness.html"
	chrome --dump-dom "file://$W/flame-harness.html" > "$W/flame-harness.dom"
	chrome --dump-dom "file://$W/report.html" > "$W/report.dom"
	check browser_svg "flame, differential flame and timeline SVGs opened alone in Chromium: their scripts run (data-ready)" \
		all_ready "$W/flame.dom" "$W/diff.dom" "$W/timeline.dom"
	$PY "$HERE/harness.py" timeline "$W/timeline.svg" > "$W/timeline-harness.html"
	chrome --dump-dom "file://$W/timeline-harness.html" > "$W/timeline-harness.dom"
	check browser_timeline "the timeline's legend swatches (heap, mapped/RSS, sample rates) as Chromium draws them meet no plot, no curve and no other swatch; every curve inside its plot" \
		$PY "$HERE/harness.py" check-timeline "$W/timeline-harness.dom"
	check browser_flame_same "the flame graph as its script lays it out again: the frames, colours and details the SVG was written with, widths in proportion" \
		$PY "$HERE/check_flame.py" --same "$W/flame-alloc.svg" "$W/flame.dom"
	check browser_diff_same "the differential graph laid out again by its script: frames, red and blue, before/after/change as written" \
		$PY "$HERE/check_flame.py" --same "$W/diff.svg" "$W/diff.dom"
	check browser_flame_width "flame graph opened alone in a 900 px window: laid out at the window's width" \
		grep -q '<svg[^>]* class="ldprof-flame" width="900"' "$W/flame.dom"
	check browser_flame "click zooms a frame to full width and hides its siblings, reset restores, search matches add_word's share, hover shows details; module legend below the frames; inverted view's roots are the report's allocating functions, callers beneath; width follows the page" \
		$PY "$HERE/harness.py" check-flame "$W/flame-harness.dom" "$W/demo.json"
	check html "report --html in Chromium: no script error; summary, tables and leaks built by script from the data; timeline and a flame graph per figure (cpu and wall too) live" \
		$PY "$HERE/harness.py" check-html "$W/report.dom" "$W/demo.json" "$W/report.html"
	$PY "$HERE/harness.py" html-interact "$W/report.html" > "$W/report-interact.html"
	chrome --dump-dom "file://$W/report-interact.html" > "$W/report-interact.dom"
	check html_interact "report --html: CPU and wall sections (a table of self and total per function equal to the report's, a live flame graph each); tables sort by a heading both ways; a range dragged on the timeline from 0 to past the peak compares the start and peak snapshots (live bytes per function = the report's peak_bytes); the lists compare peak and exit (leaked_bytes)" \
		$PY "$HERE/harness.py" check-html-interact "$W/report-interact.dom" "$W/demo.json" one
	# The thread filter and time range on a program with two named threads
	# after a pause (the whole page recomputed by its script)
	PT=$B/tests/integration/phase_threads
	if "$LDPROF" record -q -o "$W/pt.ldp" -- "$PT" "$W/pt.truth" 20000 > /dev/null &&
		"$LDPROF" report --json "$W/pt.ldp" > "$W/pt.json" &&
		"$LDPROF" report --html -o "$W/pt.html" "$W/pt.ldp" 2> "$W/pt.err" && [ ! -s "$W/pt.err" ]; then
		$PY "$HERE/harness.py" html-filter "$W/pt.html" > "$W/pt-filter.html"
		chrome --dump-dom "file://$W/pt-filter.html" > "$W/pt-filter.dom"
		check html_filter "report --html: a thread chosen in the filter bar recomputes the tables (each of phase_threads' threads shows its own function with the program's counts, CPU in its own loop); ranges dragged before and after its pause show each phase alone and add up to the whole run" \
			$PY "$HERE/harness.py" check-html-filter "$W/pt-filter.dom" "$W/pt.truth" "$W/pt.json"
	else fail "html_filter: could not record phase_threads or make its page (no line on stderr expected): $(cat "$W/pt.err" 2>/dev/null)"; fi
	# Several traces, one of them two images (env exec's demo_prog): one root
	# frame per image, a timeline per trace with the exec marked.
	if "$LDPROF" record -q -o "$W/exec.ldp" -- env A=1 "$DEMO" 20000 > /dev/null &&
		"$LDPROF" flame -o "$W/exec.svg" "$W/exec.ldp" &&
		"$LDPROF" report --html --by traceback -o "$W/multi.html" "$W/demo.ldp" "$W/exec.ldp"; then
		chrome --dump-dom "file://$W/multi.html" > "$W/multi.dom"
		"$LDPROF" report --json --by traceback "$W/demo.ldp" "$W/exec.ldp" > "$W/multi.json"
		$PY "$HERE/harness.py" html-interact "$W/multi.html" > "$W/multi-interact.html"
		chrome --dump-dom "file://$W/multi-interact.html" > "$W/multi-interact.dom"
		check html_sort "two traces --by traceback: more than 20 stacks allocated: 20 rows, then a button shows them all; sorted by calls both ways" \
			$PY "$HERE/harness.py" check-html-interact "$W/multi-interact.dom" "$W/multi.json"
		$PY "$HERE/harness.py" flame-zoom "$W/exec.svg" > "$W/zoom.html"
		chrome --dump-dom "file://$W/zoom.html" > "$W/zoom.dom"
		check browser_flame_zoom "zoom lays the graph out again: frames too small at full width (env's, under its root) appear, labelled where wide enough" \
			$PY "$HERE/harness.py" check-flame-zoom "$W/zoom.dom"
		check html_multi "two traces, one with an exec, --by traceback: a root frame per image, two live timelines with the exec marked, no script error" \
			$PY - "$W" <<'PYEOF2'
import re, sys
w = sys.argv[1]
svg = open(f"{w}/exec.svg").read()
roots = sorted(set(re.findall(r'data-n="(\[pid \d+ [^"]+\])"', svg)))
assert len(roots) == 2 and roots[0].endswith(" demo_prog]") and roots[1].endswith(" env]"), roots
dom = open(f"{w}/multi.dom").read()
assert 'data-rendered="1"' in dom and not re.search(r'data-errors="', dom)
assert dom.count('class="ldprof-timeline"') == 2 and dom.count('class="snapshot"') == 1, "timelines"
live = dom.count('data-ready="1"')
assert live == 2 + len(re.findall(r'<div class="flame"', dom)), live
print("roots", roots, "live SVGs", live)
PYEOF2
	else fail "html_multi: record, flame or report failed"; fi
fi

# --- pprof -----------------------------------------------------------------------
"$LDPROF" export --format pprof -o "$W/demo.pb.gz" "$W/demo.ldp" || fail "pprof: export failed"
if ! command -v go > /dev/null; then
	skip "pprof: go (golang-go) is not installed: profile not read by go tool pprof"
else
	export HOME=$W PPROF_TMPDIR=$W GOFLAGS=-mod=mod GOTOOLCHAIN=local
	go tool pprof -raw "$W/demo.pb.gz" > "$W/pprof.raw" 2> "$W/pprof.err"
	go tool pprof -top -sample_index=alloc_space "$W/demo.pb.gz" > "$W/pprof.top" 2>> "$W/pprof.err"
	go tool pprof -top -sample_index=leaked_space "$W/demo.pb.gz" > "$W/pprof.leak" 2>> "$W/pprof.err"
	"$LDPROF" export --format pprof --what cpu -o "$W/cpu.pb.gz" "$W/demo.ldp" &&
		go tool pprof -raw "$W/cpu.pb.gz" > "$W/pprof.cpu.raw" 2>> "$W/pprof.err" &&
		go tool pprof -top "$W/cpu.pb.gz" > "$W/pprof.cpu.top" 2>> "$W/pprof.err"
	"$LDPROF" dump "$W/demo.ldp" > "$W/demo.dump"
	check pprof "go tool pprof $(go version | awk '{print $3}') -raw/-top: six heap sample types and the CPU profile (samples, cpu/nanoseconds) add up to the report; functions, inline lines, mappings with build-ids" \
		$PY "$HERE/check_exports.py" pprof "$W" "$W/demo.json"
fi

# --- collapsed, speedscope, json ---------------------------------------------------
for what in alloc inuse leaked temporary cpu wall; do
	"$LDPROF" export --format collapsed --what $what -o "$W/demo.$what.folded" "$W/demo.ldp" || fail "collapsed: export $what"
done
check collapsed "flamegraph.pl's line format, counts add up to allocated, at-peak, leaked, temporary, CPU and wall totals (flamegraph.pl is not packaged for Debian 12)" \
	$PY "$HERE/check_exports.py" collapsed "$W" "$W/demo.json"
"$LDPROF" export --format speedscope -o "$W/demo.speedscope.json" "$W/demo.ldp" || fail "speedscope: export"
if $PY -c 'import jsonschema' 2> /dev/null; then
	check speedscope "valid against speedscope 1.25's file-format-schema.json (vendored); 6 profiles (heap, cpu, wall) whose weights add up" \
		$PY "$HERE/check_exports.py" speedscope "$W" "$W/demo.json" "$HERE/speedscope-schema.json"
else skip "speedscope: python3-jsonschema is not installed: schema not checked"; fi
"$LDPROF" export --format json -o "$W/demo.export.json" "$W/demo.ldp" || fail "json: export"
check json "export --format json: segments, modules, stacks with frames, timeline and the grouped report agree with report --json" \
	$PY "$HERE/check_exports.py" json "$W" "$W/demo.json"

# --- valgrind's viewers ----------------------------------------------------------
"$LDPROF" export --format massif -o "$W/massif.out" "$W/demo.ldp" || fail "massif: export"
if command -v ms_print > /dev/null; then
	ms_print "$W/massif.out" > "$W/ms_print.out" 2>&1
	check massif "ms_print $(ms_print --version 2>&1 | awk '{print $NF}') reads it: graph, the peak snapshot's tree with add_word at the report's peak" \
		$PY "$HERE/check_exports.py" massif "$W" "$W/demo.json"
else skip "massif: ms_print (valgrind) is not installed"; fi
"$LDPROF" export --format dhat -o "$W/dhat.json" "$W/demo.ldp" || fail "dhat: export"
DH=/usr/libexec/valgrind/dh_view.js
if [ -f "$DH" ] && [ -n "$CHROME" ]; then
	cp /usr/libexec/valgrind/dh_view.js /usr/libexec/valgrind/dh_view.css "$W/"
	$PY "$HERE/harness.py" dhat "$W/dhat.json" > "$W/dhat.html"
	chrome --dump-dom "file://$W/dhat.html" > "$W/dhat.dom"
	check dhat "valgrind's dh_view.js builds and displays the tree (headless Chromium); totals, t-gmax and t-end agree with the report" \
		$PY "$HERE/harness.py" check-dhat "$W/dhat.dom" "$W/dhat.json" "$W/demo.json"
else skip "dhat: valgrind's dh_view.js or chromium is not installed"; fi

# --- writers: a full disk, a file size limit, an unwritable directory ---------------
writers=("flame" "timeline" "report --html" "export --format pprof" "export --format collapsed"
	"export --format speedscope" "export --format json" "export --format massif" "export --format dhat")
ok=1
for w in "${writers[@]}"; do
	# shellcheck disable=SC2086
	"$LDPROF" $w -o /dev/full "$W/demo.ldp" > /dev/null 2> "$W/full.err"
	rc=$?
	if [ $rc != 1 ] || [ "$(wc -l < "$W/full.err")" != 1 ] || ! grep -q 'No space left' "$W/full.err"; then
		echo "     $w -o /dev/full: exit $rc: $(cat "$W/full.err")"; ok=0
	fi
	mkdir -p "$W/fsize"
	# shellcheck disable=SC2086
	# (stderr through a pipe: a regular file would be size-limited too)
	(ulimit -f 0; exec "$LDPROF" $w -o "$W/fsize/out" "$W/demo.ldp") 2>&1 > /dev/null | cat > "$W/fsize.err"
	rc=${PIPESTATUS[0]}
	if [ $rc != 1 ] || [ -n "$(ls -A "$W/fsize")" ] || ! grep -q 'File too large' "$W/fsize.err"; then
		echo "     $w over RLIMIT_FSIZE: exit $rc, left: $(ls -A "$W/fsize"), $(cat "$W/fsize.err")"; ok=0
	fi
done
[ $ok = 1 ] && pass "writers: all 9 outputs to /dev/full and with a file size limit of 0: one line, exit 1, no file and no temporary left" ||
	fail "writers"

# A read-only directory: a read-only tmpfs when we may mount (root), else the
# mode bits as an unprivileged user.
mkdir -p "$W/ro"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o ro,size=1m tmpfs "$W/ro" 2> /dev/null; then
	RO_MOUNT=$W/ro
	how="a read-only tmpfs"
	run_ro() { "$@"; }
elif [ "$(id -u)" != 0 ]; then
	chmod 555 "$W/ro"
	how="a directory without write permission"
	run_ro() { "$@"; }
else
	how=""
fi
if [ -n "$how" ]; then
	ok=1
	for w in "${writers[@]}"; do
		# shellcheck disable=SC2086
		run_ro "$LDPROF" $w -o "$W/ro/out" "$W/demo.ldp" > /dev/null 2> "$W/ro.err"
		rc=$?
		if [ $rc != 1 ] || [ "$(wc -l < "$W/ro.err")" != 1 ] || [ -e "$W/ro/out" ]; then
			echo "     $w -o $how: exit $rc: $(cat "$W/ro.err")"; ok=0
		fi
	done
	[ $ok = 1 ] && pass "readonly: all 9 outputs into $how: one line ($(head -1 "$W/ro.err" | sed 's/.*: //')), exit 1" ||
		fail "readonly"
else skip "readonly: root without mount permission: no read-only directory to test with"; fi

echo
echo "pictures: $passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
