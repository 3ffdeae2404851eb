#!/bin/bash
# tests/soak/run.sh BUILD_DIR - the soak test (docs/TESTING.md, issue 13).
#
# soak_prog, a server-like program (threads coming and going, the whole
# malloc family, fork / _Fork / clone / fork+exec children, closefrom(3),
# dlopen/dlclose, an allocating SIGUSR1 handler, signalfd and sigwaitinfo on
# signals it owns), runs SOAK_SECONDS (default 20) of its own measured time,
# bare and under `ldprof record --cpu 99 --wall 99`, and is ended by SIGTERM
# from here. Checked:
#   - no hang: each step (until the program is ready, until it is gone after
#     SIGTERM) is bounded (SOAK_BOUND seconds, default 10 x SOAK_SECONDS +
#     300: a bound on a hang, not a timing); on a hang, gdb prints every
#     thread's stack of every process in the tree, and the test fails;
#   - the program's output and exit (killed by SIGTERM) the same as bare,
#     nothing on stderr;
#   - every process left a trace, each complete: END as expected for each of
#     its images (exit, _exit, exec then exit, "terminated by SIGTERM");
#   - each process's allocations, frees, bytes and live blocks (those with a
#     soakm_* site frame: the program's own) equal its truth exactly; no
#     unknown frees; nothing missed (damage, dropped, unordered, nested).
set -u
B=$(cd "${1:-build}" && pwd)
LDPROF=$B/ldprof
SB=$B/tests/soak
PY=/usr/bin/python3
SECS=${SOAK_SECONDS:-20}
BOUND=${SOAK_BOUND:-$((SECS * 10 + 300))}
W=$(mktemp -d /tmp/ldprof-soak.XXXXXX)
PROG_PID=
cleanup() {
	[ -n "$PROG_PID" ] && kill -KILL "$PROG_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
export LDPROF_VERBOSE=0
# Small rings: children of _Fork and clone (no atfork handler) fill theirs.
export LDPROF_RING_KB=16
ulimit -S -c 0
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# The process tree under PID, PID first.
tree() {
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p"); do tree "$c"; done
}

# Every thread's stack in every process under PID.
backtraces() {
	local p
	for p in $(tree "$1"); do
		echo "---- process $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | head -c 200)"
		timeout 60 gdb -p "$p" -batch -nx -ex 'set pagination off' -ex 'thread apply all bt' 2>&1 |
			grep -E '^(Thread|#)' | head -300
	done
}

# run KIND CMD...: start the server, wait for it to be ready, SIGTERM it,
# wait for it to end. Sets RC (its exit status as the shell sees it).
run() {
	local k=$1
	shift
	mkdir -p "$W/$k"
	"$@" > "$W/$k.out" 2> "$W/$k.err" &
	local top=$! i
	PROG_PID=$top
	for ((i = 0; i < BOUND * 10; i++)); do
		[ -s "$W/$k/ready" ] && break
		kill -0 $top 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$W/$k/ready" ]; then
		if kill -0 $top 2>/dev/null; then
			echo "     $k: not ready after ${BOUND}s: hung? every thread of every process:"
			backtraces $top | sed 's/^/     /'
			kill -KILL $(tree $top) 2>/dev/null
		fi
		wait $top
		RC=$?
		echo "     $k: exited $RC before it was ready; stderr: $(head -c 500 "$W/$k.err")"
		return 1
	fi
	local pid
	pid=$(cat "$W/$k/ready")
	kill -TERM "$pid"
	for ((i = 0; i < BOUND * 10; i++)); do
		kill -0 $top 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $top 2>/dev/null; then
		echo "     $k: still there ${BOUND}s after SIGTERM: hung? every thread of every process:"
		backtraces $top | sed 's/^/     /'
		kill -KILL $(tree $top) 2>/dev/null
		wait $top
		return 1
	fi
	wait $top
	RC=$?
	PROG_PID=
	return 0
}

t=soak
lib=$SB/libsoak_lib.so
if ! run bare "$SB/soak_prog" "$W/bare" "$SECS" "$lib"; then
	fail "$t: the bare run (the test itself is broken)"
	exit 1
fi
bare_rc=$RC
if [ "$bare_rc" != 143 ]; then
	fail "$t: the bare run exited $bare_rc, not 143 (SIGTERM): $(head -c 300 "$W/bare.err")"
	exit 1
fi
if ! run traced "$LDPROF" record -q --cpu 99 --wall 99 -o "$W/soak.ldp" -- "$SB/soak_prog" "$W/traced" "$SECS" "$lib"; then
	fail "$t: the traced run hung or died early"
	exit 1
fi
if [ "$RC" != "$bare_rc" ] || ! cmp -s "$W/bare.out" "$W/traced.out" || [ -s "$W/traced.err" ] || [ -s "$W/bare.err" ]; then
	fail "$t: traced exit $RC (bare $bare_rc), stdout $(cmp -s "$W/bare.out" "$W/traced.out" && echo same || echo differs), stderr: $(head -c 500 "$W/traced.err")"
fi
if $PY "$(dirname "$0")/check_soak.py" "$LDPROF" "$W/traced" "$W/soak.ldp"; then
	pass "$t: $SECS s of threads, forks, execs, closefrom, signals and dlopen, ended by SIGTERM: every process exact, no hang"
else fail "$t: traces against truth"; fi
[ $failures = 0 ]
