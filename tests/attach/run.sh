#!/bin/bash
# tests/attach/run.sh BUILD_DIR - attach/detach and run-time control.
#
# A program that counts its own allocations phase by phase (attach_prog.c)
# is attached to with gdb, controlled with `ldprof ctl`, and detached; its
# figures for the recorded phases must be the report's, and it must run on
# and exit normally. Phases move when this script creates DIR/goN, after
# the command that must come before it has returned: no timing is assumed.
# Where ptrace is not allowed at all, the attach tests are skipped with the
# reason.
set -u
B=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
LDPROF=$B/ldprof
PROG=$B/tests/attach/attach_prog
PY=/usr/bin/python3
W=$(mktemp -d /tmp/ldprof-at.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
skip() { echo "skip $1"; }

# wait_file F: the program wrote F (bounded: 60 s, then the test fails)
wait_file() {
	local i
	for ((i = 0; i < 6000; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.01
	done
	echo "     timed out waiting for $1"
	return 1
}

# Wait until the background job PID has become PROG (its exec done) and, when
# LIBC is set, the loader has mapped libc.so.6: attached any earlier, ldprof
# looks at the shell that forked it, or at a process not yet linked.
wait_exec() {
	local pid=$1 prog=$2 libc=$3 i
	for ((i = 0; i < 6000; i++)); do
		if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$prog" ] &&
			{ [ -z "$libc" ] || grep -q 'libc\.so\.6' "/proc/$pid/maps" 2>/dev/null; }; then
			return 0
		fi
		sleep 0.01
	done
	echo "     timed out waiting for $pid to run $prog"
	return 1
}
val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
# json FILE EXPR: a value from the report's JSON
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# eq NAME GOT WANT
eq() {
	if [ "$2" != "$3" ]; then echo "     $1: report $2, program $3"; return 1; fi
}

if ! command -v gdb > /dev/null; then
	fail "gdb is not installed (scripts/setup-deps.sh installs it): attach cannot be tested"
	exit 1
fi

# --- attach (full mode): exact counts after attach, frees before attach, detach ---
attach_full() {
	local d=$W/full
	mkdir -p "$d"
	"$PROG" "$d" attach > "$d/out" 2>&1 &
	local pid=$!
	pids+=("$pid")
	wait_file "$d/ready" || return 1
	if ! "$LDPROF" attach -q --mode full -o "$d/t.ldp" "$pid" 2> "$d/attach.err"; then
		if grep -q "not allowed\|ptrace" "$d/attach.err"; then
			SKIP_REASON=$(head -1 "$d/attach.err")
			return 2
		fi
		cat "$d/attach.err"
		return 1
	fi
	[ "$("$LDPROF" ctl "$pid" status | cut -d' ' -f1,2)" = "recording attached" ] || { echo "     status"; return 1; }
	touch "$d/go1"
	wait_file "$d/phase1" || return 1
	"$LDPROF" detach "$pid" 2> /dev/null || { echo "     detach failed"; return 1; }
	touch "$d/go2"
	wait "$pid"
	local rc=$?
	[ $rc -eq 0 ] || { echo "     the program exited with $rc"; cat "$d/out"; return 1; }
	grep -q "attach_prog: done" "$d/out" || { echo "     no output"; return 1; }
	wait_file "$d/phase2" || return 1
	"$LDPROF" report --json "$d/t.ldp" > "$d/r.json" || return 1
	local p=$d/phase1 ok=0
	eq allocation_count "$(json "$d/r.json" "d['heap']['allocation_count']")" "$(val allocations "$p")" || ok=1
	eq free_count "$(json "$d/r.json" "d['heap']['free_count']")" "$(val frees "$p")" || ok=1
	eq allocated_bytes "$(json "$d/r.json" "d['heap']['allocated_bytes']")" "$(val allocated_bytes "$p")" || ok=1
	eq peak_bytes "$(json "$d/r.json" "d['heap']['peak_bytes']")" "$(val peak_bytes "$p")" || ok=1
	eq before_attach_free_count "$(json "$d/r.json" "d['heap']['before_attach_free_count']")" "$(val freed_other "$p")" || ok=1
	eq unknown_free_count "$(json "$d/r.json" "d['heap']['unknown_free_count']")" 0 || ok=1
	eq leaked_count "$(json "$d/r.json" "d['heap']['leaked_count']")" 0 || ok=1
	eq attached "$(json "$d/r.json" "d['segments'][0]['attached']")" True || ok=1
	eq end "$(json "$d/r.json" "d['segments'][0]['end']")" "detached, still running" || ok=1
	NOTE="$(val allocations "$p") allocations after attach, $(val freed_other "$p") frees of older blocks"
	return $ok
}
SKIP_REASON=""
attach_full
case $? in
0) pass "attach --mode full: $NOTE, exact; detached, the program ran on and exited 0" ;;
2) skip "attach: ptrace is not allowed here ($SKIP_REASON)" ;;
*) fail "attach --mode full" ;;
esac

# --- attach (default: sampled): estimates, program unharmed after detach -----
attach_sampled() {
	local d=$W/sampled
	mkdir -p "$d"
	"$PROG" "$d" attach > "$d/out" 2>&1 &
	local pid=$!
	pids+=("$pid")
	wait_file "$d/ready" || return 1
	"$LDPROF" attach -q -o "$d/t.ldp" "$pid" 2> "$d/attach.err" || { cat "$d/attach.err"; return 1; }
	touch "$d/go1"
	wait_file "$d/phase1" || return 1
	"$LDPROF" detach "$pid" 2> /dev/null || return 1
	touch "$d/go2"
	wait "$pid" || { echo "     the program failed after detach"; cat "$d/out"; return 1; }
	"$LDPROF" report --json "$d/t.ldp" > "$d/r.json" || return 1
	local est want
	est=$(json "$d/r.json" "d['heap']['allocated_bytes']")
	want=$(val allocated_bytes "$d/phase1")
	# ~70 samples of 16 KiB blocks at 512 KiB: within 50% is far outside chance.
	$PY -c "import sys; e,w=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if 0.5*w <= e <= 1.5*w else 1)" \
		"$est" "$want" || { echo "     estimate $est bytes, program $want"; return 1; }
	NOTE="estimated $est of $want bytes"
}
if [ -z "$SKIP_REASON" ]; then
	if attach_sampled; then pass "attach (sampled, the default): $NOTE; the program ran on after detach"
	else fail "attach (sampled)"; fi
fi

# --- errors: each one line, the target unharmed -----------------------------
errors() {
	local out ok=0
	out=$("$LDPROF" attach 999999999 2>&1) && ok=1
	echo "$out" | grep -q "not a process id\|no process" || { echo "     no such pid: $out"; ok=1; }
	out=$("$LDPROF" attach 4194000 2>&1) && ok=1
	echo "$out" | grep -q "no process" || { echo "     no such pid: $out"; ok=1; }
	# static binary
	if [ -x "$B/tests/attach/static_prog" ]; then
		"$B/tests/attach/static_prog" &
		local sp=$!
		pids+=("$sp")
		wait_exec "$sp" "$(readlink -f "$B/tests/attach/static_prog")" "" || ok=1
		out=$("$LDPROF" attach "$sp" 2>&1) && ok=1
		echo "$out" | grep -q "statically linked" || { echo "     static: $out"; ok=1; }
		kill "$sp" 2>/dev/null
	fi
	# already under the agent
	local d=$W/err
	mkdir -p "$d"
	"$LDPROF" record -q --control -o "$d/t.ldp" -- "$PROG" "$d" attach > /dev/null 2>&1 &
	pids+=("$!")
	wait_file "$d/ready" || return 1
	local pid
	pid=$(pgrep -n -f "attach_prog $d attach")
	out=$("$LDPROF" attach "$pid" 2>&1) && ok=1
	echo "$out" | grep -q "already has the agent" || { echo "     already: $out"; ok=1; }
	touch "$d/go1" "$d/go2"
	wait_file "$d/phase2" || ok=1
	out=$("$LDPROF" ctl "$pid" frobnicate 2>&1) && ok=1
	# a process that calls neither malloc nor free: left as it was after --wait
	if [ -z "$SKIP_REASON" ]; then
		mkdir -p "$W/idle"
		sleep 600 &
		local ip=$!
		pids+=("$ip")
		wait_exec "$ip" "$(readlink -f "$(command -v sleep)")" libc || ok=1
		out=$("$LDPROF" attach --wait 1 "$ip" 2>&1) && ok=1
		echo "$out" | grep -q "neither malloc nor free" || { echo "     idle: $out"; ok=1; }
		kill -0 "$ip" 2>/dev/null || { echo "     idle: the process did not survive the failed attach"; ok=1; }
		grep -q libldprof "/proc/$ip/maps" && { echo "     idle: the agent was loaded anyway"; ok=1; }
		kill "$ip"
	fi
	return $ok
}
if errors; then pass "attach errors: no such process, static binary, agent already there, no malloc within --wait (process unharmed): one line each"
else fail "attach errors"; fi

# --- start paused, ctl resume/snapshot/pause, the toggle signal --------------
ctl_test() {
	local d=$W/ctl
	mkdir -p "$d"
	"$LDPROF" record -q --control --start-paused --toggle-signal USR1 -o "$d/t.ldp" -- "$PROG" "$d" ctl \
		> "$d/out" 2>&1 &
	local rec=$!
	pids+=("$rec")
	wait_file "$d/ready" || return 1
	local pid
	pid=$(pgrep -n -f "attach_prog $d ctl")
	[ "$("$LDPROF" ctl "$pid" status | cut -d' ' -f1,2)" = "paused preloaded" ] || { echo "     not paused at start"; return 1; }
	"$LDPROF" ctl "$pid" resume || return 1
	touch "$d/go1"
	wait_file "$d/phase1" || return 1
	"$LDPROF" ctl "$pid" snapshot s1 || return 1
	"$LDPROF" ctl "$pid" pause || return 1
	touch "$d/go2"
	wait_file "$d/phase2" || return 1
	kill -USR1 "$pid"
	local i
	for ((i = 0; i < 3000; i++)); do # the writer applies the signal on its next tick
		[ "$("$LDPROF" ctl "$pid" status | cut -d' ' -f1)" = "recording" ] && break
		sleep 0.01
	done
	touch "$d/go3"
	wait "$rec" || { echo "     the program failed"; cat "$d/out"; return 1; }
	"$LDPROF" report --json "$d/t.ldp" > "$d/r.json" || return 1
	local ok=0 a1 a3 f1 f3 o1 o2 o3
	a1=$(val allocations "$d/phase1"); a3=$(val allocations "$d/phase3")
	f1=$(val frees "$d/phase1"); f3=$(val frees "$d/phase3")
	o1=$(val freed_other "$d/phase1"); o2=$(val freed_other "$d/phase2"); o3=$(val freed_other "$d/phase3")
	eq allocation_count "$(json "$d/r.json" "d['heap']['allocation_count']")" $((a1 + a3)) || ok=1
	eq free_count "$(json "$d/r.json" "d['heap']['free_count']")" $((f1 + f3)) || ok=1
	eq paused_free_count "$(json "$d/r.json" "d['heap']['paused_free_count']")" $((o1 + o2 + o3)) || ok=1
	eq unknown_free_count "$(json "$d/r.json" "d['heap']['unknown_free_count']")" 0 || ok=1
	eq leaked_count "$(json "$d/r.json" "d['heap']['leaked_count']")" 0 || ok=1
	eq pause_count "$(json "$d/r.json" "d['heap']['pause_count']")" 2 || ok=1
	"$LDPROF" snapshots --json "$d/t.ldp" > "$d/s.json" 2>/dev/null || true
	local live
	live=$(json "$d/s.json" "[s for s in d['snapshots'] if s['label']=='s1'][0]['live_count']" 2>/dev/null)
	eq s1_live_count "$live" "$(val live_count "$d/phase1")" || ok=1
	eq s1_kind "$(json "$d/s.json" "[s for s in d['snapshots'] if s['label']=='s1'][0]['kind']" 2>/dev/null)" control || ok=1
	NOTE="$((a1 + a3)) allocations recorded of $((a1 + a3 + $(val allocations "$d/ready") + $(val allocations "$d/phase2"))), $((o1 + o2 + o3)) frees of blocks allocated while paused"
	return $ok
}
if ctl_test; then pass "start paused, ctl resume/snapshot/pause, toggle signal: $NOTE; snapshot s1 where it was taken"
else fail "ctl: pause/resume/snapshot"; fi

# --- the reports of attached and paused runs against docs/schema/report.json ----
outs=()
for f in "$W/full/r.json" "$W/sampled/r.json" "$W/ctl/r.json"; do [ -s "$f" ] && outs+=("report=$f"); done
[ -s "$W/ctl/s.json" ] && outs+=("snapshots=$W/ctl/s.json")
if [ ${#outs[@]} = 0 ]; then skip "json_schema: no report made above"
elif $PY "$HERE/../cli/check_schema.py" "$HERE/../../docs/schema" "$HERE/../../docs/JSON.md" "$HERE/../../docs/EXPORT.md" \
	-- "${outs[@]}" > "$W/schema.out" 2>&1 &&
	{ [ ! -s "$W/full/r.json" ] || json "$W/full/r.json" "d['segments'][0]['attached'] and d['segments'][0]['start_realtime_ns'] > 0" | grep -qx True; }; then
	pass "json_schema: ${#outs[@]} outputs (reports attached in full and sampled mode, paused and resumed; snapshots with a ctl snapshot) valid against docs/schema/"
else fail "json_schema: $(head -c 2000 "$W/schema.out")"; fi

[ $failures -eq 0 ] || { echo "$failures attach test(s) failed"; exit 1; }
