#!/bin/bash
# tests/hostile/run.sh BUILD_DIR - hostile programs (tests/hostile/h_*.c),
# each run bare and under `ldprof record`. For every case:
#   - the bare run exits as the scenario says (the program checks itself);
#   - the traced run exits the same, prints the same stdout, and its stderr
#     is the bare stderr plus only the agent lines the case expects;
#   - neither hangs (each run under timeout);
#   - every trace it left (forked children's too) reads: `ldprof report
#     --json` exits 0;
#   - case-specific checks on the trace (counts, segments, stacks, modules).
# Each case prints one line; any failure exits 1.
#
# HOSTILE_RECORD_FLAGS adds `ldprof record` flags to every traced run (e.g.
# "--cpu 99 --wall 99" once sampling exists). HOSTILE_TIMEOUT (seconds,
# default 120) bounds each run. HOSTILE_ONLY=regex runs the matching cases.
set -u
B=$(cd "${1:-build}" && pwd)
LDPROF=$B/ldprof
HB=$B/tests/hostile
PY=/usr/bin/python3
RECORD_FLAGS=${HOSTILE_RECORD_FLAGS:-}
T=${HOSTILE_TIMEOUT:-120}
ONLY=${HOSTILE_ONLY:-.}
W=$(mktemp -d /tmp/ldprof-hostile.XXXXXX)
trap 'rm -rf "$W"' EXIT
ulimit -c 0 # a core dump would make `timeout` print a line of its own
failures=0
export LDPROF_VERBOSE=0

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# Per-case settings, reset by reset_case: extra environment for both runs,
# extra `ldprof record` flags, and the agent lines the traced stderr may add
# (an ERE; AGENT_LINES of them exactly).
reset_case() { ENVS=(); XFLAGS=""; AGENT_ERR=""; AGENT_LINES=0; WHY=""; }
reset_case

# capture NAME KIND CMD...: run with a timeout, keep stdout, stderr and status.
capture() {
	local n=$1 k=$2
	shift 2
	{ timeout -k 5 "$T" "$@" > "$W/$n.$k.out" 2> "$W/$n.$k.err"; echo $? > "$W/$n.$k.rc"; } 2>/dev/null
}

# Arguments may name per-run scratch places: @D a directory, @S a file.
subst() {
	local n=$1 k=$2 a
	shift 2
	ARGS=()
	for a in "$@"; do
		a=${a//@D/$W/$n.$k.d}
		ARGS+=("${a//@S/$W/$n.$k.side}")
	done
}

# case_run NAME EXPECTED_STATUS CMD...: both runs and the common checks.
# On failure sets WHY and returns 1.
case_run() {
	local n=$1 want=$2
	shift 2
	mkdir -p "$W/$n.bare.d" "$W/$n.traced.d"
	subst "$n" bare "$@"
	capture "$n" bare env ${ENVS[@]+"${ENVS[@]}"} "${ARGS[@]}"
	subst "$n" traced "$@"
	# shellcheck disable=SC2086 # flags are words
	capture "$n" traced env ${ENVS[@]+"${ENVS[@]}"} "$LDPROF" record -q $RECORD_FLAGS $XFLAGS -o "$W/$n.ldp" -- "${ARGS[@]}"
	local br tr
	br=$(cat "$W/$n.bare.rc")
	tr=$(cat "$W/$n.traced.rc")
	if [ "$br" != "$want" ]; then
		WHY="the bare program exited $br, not $want (the test itself is broken): $(head -c 300 "$W/$n.bare.err")"
		return 1
	fi
	if [ "$tr" = 124 ] || [ "$tr" = 137 -a "$br" != 137 ]; then
		WHY="the traced run hung (killed after ${T}s)"
		return 1
	fi
	if [ "$tr" != "$br" ]; then
		WHY="traced exit status $tr, bare $br; traced stderr: $(head -c 300 "$W/$n.traced.err")"
		return 1
	fi
	if ! cmp -s "$W/$n.bare.out" "$W/$n.traced.out"; then
		WHY="stdout differs: $(diff "$W/$n.bare.out" "$W/$n.traced.out" | head -4 | tr '\n' ' ')"
		return 1
	fi
	# stderr: the bare stderr, plus exactly AGENT_LINES lines matching AGENT_ERR.
	local extra
	if [ -n "$AGENT_ERR" ]; then
		extra=$(grep -cE "$AGENT_ERR" "$W/$n.traced.err")
		grep -vE "$AGENT_ERR" "$W/$n.traced.err" > "$W/$n.traced.err.rest"
	else
		extra=0
		cp "$W/$n.traced.err" "$W/$n.traced.err.rest"
	fi
	if [ "$extra" != "$AGENT_LINES" ] || ! cmp -s "$W/$n.bare.err" "$W/$n.traced.err.rest"; then
		WHY="stderr differs ($extra agent lines, expected $AGENT_LINES): $(diff "$W/$n.bare.err" "$W/$n.traced.err" | head -4 | tr '\n' ' ')"
		return 1
	fi
	if [ ! -s "$W/$n.ldp" ]; then
		WHY="no trace at $W/$n.ldp"
		return 1
	fi
	local f
	for f in "$W/$n".ldp "$W/$n".*.ldp; do
		[ -e "$f" ] || continue
		if ! "$LDPROF" report --json "$f" > "$f.json" 2> "$f.err"; then
			WHY="ldprof report $(basename "$f") failed: $(head -c 300 "$f.err")"
			return 1
		fi
	done
	return 0
}

# jcheck NAME PYTHON-EXPR: the expression over r (the main trace's report)
# and kids (the reports of forked children) must hold.
jcheck() {
	local n=$1
	shift
	$PY - "$W/$n.ldp.json" "$W" "$n" "$1" <<'EOF' 2>&1
import glob, json, os, sys
r = json.load(open(sys.argv[1]))
kids = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(sys.argv[2], sys.argv[3] + ".*.ldp.json")))]
h = r["heap"]
ok = eval(sys.argv[4])
if not ok:
    print("failed: %s   heap=%s kids=%d" % (sys.argv[4], h, len(kids)))
    sys.exit(1)
EOF
}

dump() { "$LDPROF" dump "$@" 2>&1; }

# hostile NAME STATUS "what it proves" CHECK CMD...: one case, one line.
# CHECK is a shell function run after the common checks ("-" for none).
hostile() {
	local n=$1 want=$2 what=$3 check=$4
	shift 4
	if ! [[ $n =~ $ONLY ]]; then
		reset_case
		return
	fi
	local out
	if ! case_run "$n" "$want" "$@"; then
		fail "$n: $WHY"
	elif [ "$check" != - ] && ! out=$($check "$n"); then
		fail "$n: $out"
	else
		pass "$n: $what"
	fi
	reset_case
}

# ---- threads ----------------------------------------------------------------

chk_xfree() { jcheck "$1" 'h["allocations"] >= 80000 and h["frees"] >= 80000'; }
hostile xfree 0 "4 threads free each other's blocks (80 000), all counted" chk_xfree "$HB/h_threads" xfree

chk_many() {
	local tids
	tids=$(dump --events "$W/$1.ldp" | awk '/attach tid/ {print $3}' | sort -u | wc -l)
	[ "$tids" -ge 64 ] || { echo "only $tids threads in the trace"; return 1; }
	jcheck "$1" 'h["allocations"] >= 64 * 2000'
}
hostile threads64 0 "64 threads allocating at once, each in the trace" chk_many "$HB/h_threads" many

# A 16 KiB ring holds ~1500 events: the thread waits for the writer many
# times and exits with its last events buffered. Every block is freed: if
# those last events were lost the trace would show thousands leaked.
chk_ringfull() { jcheck "$1" 'h["allocations"] >= 35000 and h["leaked_count"] < 50 and h["unknown_frees"] == 0'; }
ENVS=(LDPROF_RING_KB=16)
hostile ringfull 0 "a thread exits with its 16 KiB ring full: nothing lost" chk_ringfull "$HB/h_threads" ringfull

# Each thread allocates a block and frees it: a lost event shows as a leak (or
# the trace does not read). Each is a temporary too, give or take a few: the
# model keys "the thread's last allocation" by tid, and a new thread reusing
# an exited one's tid within the same millisecond can fall in between.
chk_churn() { jcheck "$1" 'h["allocations"] >= 2000 and h["leaked_count"] < 50 and h["temporary"] >= 1900'; }
hostile churn 0 "2000 short-lived threads (rings reused), every event kept" chk_churn "$HB/h_threads" churn

# Blocks allocated by key destructors that run after the agent's own are
# freed by main: had their allocations been lost, those 16 frees would be
# unknown. (Up to one unknown free per thread is libunwind's dynamic TLS
# block, which the agent's unwinder allocated untraced and glibc frees in
# pthread_join: docs/TESTING.md, "Known limits".)
chk_teardown() { jcheck "$1" 'h["unknown_frees"] <= 8 and h["allocations"] >= 8 * 22'; }
hostile teardown 0 "key destructors allocate after the agent's thread-exit handler: recorded" chk_teardown \
	"$HB/h_threads" teardown

# ---- processes --------------------------------------------------------------

chk_fork() { jcheck "$1" 'len(kids) == 1 and kids[0]["heap"]["allocations"] >= 1000 and kids[0]["segments"][0]["end"] == "exit"'; }
hostile fork 0 "fork without exec: the child traces into its own file" chk_fork "$HB/h_proc" fork

chk_forkmt() { jcheck "$1" 'len(kids) == 20 and all(k["heap"]["allocations"] >= 1200 for k in kids)'; }
hostile forkmt 0 "20 forks while 4 threads allocate: children allocate, start threads, trace" chk_forkmt \
	"$HB/h_proc" forkmt

hostile spawn 0 "vfork+exec, vfork child allocating before exec, posix_spawn, failed exec" - "$HB/h_proc" spawn

hostile fds 0 "no agent fd leaks into exec'd children (ls /proc/self/fd)" - "$HB/h_proc" fds

chk_failexec() { jcheck "$1" 'len(r["segments"]) == 1 and r["segments"][0]["end"] == "exit" and h["allocations"] >= 5000'; }
hostile failexec 0 "100 failed execs in the traced process (writer held across each): errno ENOENT, tracing goes on" \
	chk_failexec "$HB/h_proc" failexec

chk_chain() {
	jcheck "$1" '[s["end"] for s in r["segments"]] == ["exec"] * 4 + ["exit"] and all(s["heap"]["allocations"] >= 300 for s in r["segments"][1:])'
}
hostile chain 0 "sh -c 'exec prog' and prog exec'ing itself 3 times: 5 images in one file" chk_chain \
	sh -c "exec $HB/h_proc chain 3"

chk_daemon() { jcheck "$1" 'len(kids) >= 1'; }
hostile daemon_late 0 "daemon closes every fd (trace open): its files intact, no agent bytes in them" chk_daemon \
	"$HB/h_daemon" late @D
hostile daemon_early 0 "daemon closes every fd, then starts tracing: fds 0..10 its own, files intact" chk_daemon \
	"$HB/h_daemon" early @D
hostile daemon_range 0 "daemon closes fds with closefrom: files intact" chk_daemon "$HB/h_daemon" range @D

# ---- dlopen -------------------------------------------------------------------

chk_dlopen() {
	local d="$W/$1.dump"
	dump "$W/$1.ldp" > "$d"
	grep -q "^@.* MODULE .*libhostile_dl.so" "$d" || { echo "no MODULE record for libhostile_dl.so"; return 1; }
	# Some stack holds a return address inside the library's code of some load.
	$PY - "$d" "$W/$1.traced.side" <<'EOF'
import re, sys
ranges = [tuple(int(x, 16) for x in l.split()) for l in open(sys.argv[2]) if l.strip()]
ips = [int(x, 16) for l in open(sys.argv[1]) if " STACK " in l for x in re.findall(r"0x[0-9a-f]+", l)]
hit = [lo for lo, hi in ranges if any(lo <= ip < hi for ip in ips)]
if len(hit) < 2:
    print("stacks reach into %d of %d loads of the library" % (len(hit), len(ranges)))
    sys.exit(1)
EOF
}
hostile dlopen 0 "dlopen/dlclose (also RTLD_DEEPBIND): MODULE kept, stacks point into the closed library" \
	chk_dlopen "$HB/h_dlopen" "$HB/libhostile_dl.so" @S

# ---- signals ------------------------------------------------------------------

# ldprof record samples CPU time with SIGPROF unless told otherwise: a program
# with its own SIGPROF handler makes it step aside, with exactly one line.
if [[ " $RECORD_FLAGS " =~ \ --cpu[\ =]0\  ]] || [[ " $RECORD_FLAGS " == *" --cpu-signal"* ]]; then
	AGENT_LINES=0
else
	AGENT_ERR='^ldprof: pid [0-9]+ \(h_signals\) installs its own SIGPROF handler: CPU sampling stops here'
	AGENT_LINES=1
fi
hostile timers 0 "own SIGPROF/SIGALRM via setitimer, handlers allocate, blocked phases, read restarts" - \
	"$HB/h_signals" timers
hostile altstack 0 "handlers allocate on a MINSIGSTKSZ+8K sigaltstack with a guard below" - "$HB/h_signals" altstack
hostile sigreset 0 "every signal at SIG_DFL, threads allocate and sleep: nothing arrives" - "$HB/h_signals" reset
hostile sigwait 0 "all signals blocked in all threads: sigwait and signalfd get them, no agent thread does" - \
	"$HB/h_signals" sigwait
hostile eintr 0 "poll/select/epoll_wait/read/nanosleep/sigtimedwait never see EINTR" - "$HB/h_signals" eintr

# ---- endings ------------------------------------------------------------------

end_is() { jcheck "$1" "r['segments'][-1]['end'] == '$2' and h['allocations'] >= 1000"; }
chk_abort() { end_is "$1" abort; }
hostile abort 134 "abort(): dies by SIGABRT, trace ends with END(abort)" chk_abort "$HB/h_exit" abort
chk__exit() { end_is "$1" _exit; }
hostile _exit 7 "_exit(7) while a thread allocates: END(_exit)" chk__exit "$HB/h_exit" _exit
chk_thexit() { end_is "$1" exit; }
hostile exit_thread 4 "exit(4) from a non-main thread while others allocate" chk_thexit "$HB/h_exit" thread
chk_segv() { jcheck "$1" "r['segments'][-1]['end'] == 'cut short (killed?)'"; }
hostile segv 139 "SIGSEGV: dies by it (record exits 139), trace readable" chk_segv "$HB/h_exit" segv
hostile segvhandler 0 "own SIGSEGV handler recovers with siglongjmp, 3 times" - "$HB/h_exit" segvhandler
hostile kill 137 "raise(SIGKILL): trace readable" chk_segv "$HB/h_exit" kill
hostile sigterm 143 "SIGTERM at its default action: dies by it (record exits 143), trace readable" chk_segv \
	"$HB/h_exit" term
chk_quick() { end_is "$1" _exit; }
hostile quick_exit 6 "quick_exit(6), at_quick_exit handler allocates" chk_quick "$HB/h_exit" quick
chk_atexit() { end_is "$1" exit; }
hostile atexit 0 "atexit handlers and an ELF destructor allocate and print after main" chk_atexit "$HB/h_exit" atexit

# ---- stacks -------------------------------------------------------------------

# trunc NAME DEPTH: some STACK is flagged truncated at exactly DEPTH frames.
trunc() {
	dump "$W/$1.ldp" | grep -q "STACK [0-9]* depth $2 (truncated)" ||
		{ echo "no STACK record of depth $2 flagged truncated"; return 1; }
}
chk_deep() { trunc "$1" 64; }
hostile deep 0 "5000-frame recursion: stacks capped at 64 and flagged truncated" chk_deep "$HB/h_stack" deep 5000
chk_deep50k() { trunc "$1" 1024; }
XFLAGS="--max-depth 1024"
hostile deep50k 0 "50 000-frame recursion, --max-depth 1024: capped and flagged" chk_deep50k "$HB/h_stack" deep 50000
hostile longjmp 0 "longjmp out of 10 000 allocating frames, 5 times" - "$HB/h_stack" longjmp
hostile cxx 0 "C++ exceptions through allocating frames, bad_alloc, thread_local dtors; libgcc_s unwinds" - \
	"$HB/h_cxx"
for sub in alloc fork dlopen exit exec setstacksize; do
	st=0
	[ $sub = exit ] && st=5
	hostile tiny_$sub $st "16 KiB thread stacks with a guard below: $sub" - "$HB/h_stack" tiny $sub "$HB/libhostile_dl.so"
done

# ---- the allocation API -------------------------------------------------------

chk_api() {
	local a f
	read -r _ a _ f < "$W/$1.traced.side"
	jcheck "$1" "h['allocations'] == $a and h['frees'] == $f and h['leaked_count'] == 1 and h['unknown_frees'] == 0"
}
hostile api 0 "usable_size, realloc 0/NULL, odd alignments, huge failures: same results, exact counts" chk_api \
	"$HB/h_api" @S

# Under RLIMIT_AS the agent's own reservations come out of the program's
# address space: the traced program must still get most of what it gets bare
# (the stack table once reserved 2 GiB, and leaked 128 MiB per retry).
chk_rlimit_as() {
	local b t
	b=$(cat "$W/$1.bare.side")
	t=$(cat "$W/$1.traced.side")
	[ $((t * 100)) -ge $((b * 85)) ] || { echo "traced program got $t MiB before ENOMEM, bare $b MiB"; return 1; }
}
hostile rlimit_as 0 "RLIMIT_AS 600 MiB: NULL/ENOMEM as glibc says, the agent takes < 15% of the space" chk_rlimit_as \
	prlimit --as=$((600 << 20)) "$HB/h_api" oom @S

# ---- a server's life: fds closed under the agent, forks into reused numbers ----
# Run with heap, CPU and wall tracing together. Exact counts come from the
# program's own allocations (pattern_alloc in hostile.h), taken per function.

# fcheck NAME PYTHON-EXPR: like jcheck, with g = the report's groups by function.
fcheck() {
	local n=$1 f
	shift
	for f in "$W/$n".ldp "$W/$n".*.ldp; do
		[ -e "$f" ] || continue
		"$LDPROF" report --json --by function "$f" > "$f.fn.json" 2> "$f.fn.err" ||
			{ echo "ldprof report --by function $(basename "$f"): $(head -c 200 "$f.fn.err")"; return 1; }
	done
	$PY - "$W" "$n" "$1" <<'EOF2' 2>&1
import glob, json, os, sys
w, n = sys.argv[1], sys.argv[2]
def load(f):
    r = json.load(open(f))
    r["g"] = {x["function"]: x for x in r["groups"]}
    return r
r = load(os.path.join(w, n + ".ldp.fn.json"))
kids = [load(f) for f in sorted(glob.glob(os.path.join(w, n + ".*.ldp.fn.json")))]
g, ends = r["g"], [s["end"] for s in r["segments"]]
def counts(g, f="pattern_alloc"):
    return (g[f]["allocations"], g[f]["frees"]) if f in g else (0, 0)
if not eval(sys.argv[3]):
    print("failed: %s   ends=%s pattern_alloc=%s kids=%s" % (sys.argv[3], ends, counts(g),
          [(k["segments"][-1]["end"], counts(k["g"])) for k in kids]))
    sys.exit(1)
EOF2
}

# The last round and END are the writer's to write, through its own fd
# table: after closefrom(3) the program's table has no trace fd. The
# helper thread allocates 20 000 blocks while the fds are closed.
chk_closeexit() { fcheck "$1" 'ends == ["exit"] and counts(g) == (23000, 22500)'; }
chk_closeexec() {
	fcheck "$1" 'ends == ["exec", "exit"] and counts(g) == (23400, 22900) and r["segments"][1]["heap"]["allocations"] == 400 and r["segments"][1]["heap"]["frees"] == 400'
}
# reuse: SIDE sits on every fd from 3 to 1023, the agent's old number too;
# nothing may be written into it.
chk_side_empty() {
	[ ! -s "$W/$1.traced.side" ] || { echo "$(stat -c %s "$W/$1.traced.side") bytes written into the program's file"; return 1; }
}
chk_closeexit_reuse() { chk_side_empty "$1" && chk_closeexit "$1"; }
chk_closeexec_reuse() { chk_side_empty "$1" && chk_closeexec "$1"; }
for v in range loop reuse; do
	c=chk_closeexit
	[ $v = reuse ] && c=chk_closeexit_reuse
	XFLAGS="--cpu 99 --wall 99"
	hostile closeexit_$v 0 "fds closed ($v) while a thread allocates, then exit: END and every event there" $c \
		"$HB/h_life" closeexit $v @S
	c=chk_closeexec
	[ $v = reuse ] && c=chk_closeexec_reuse
	XFLAGS="--cpu 99 --wall 99"
	hostile closeexec_$v 0 "fds closed ($v), then exec: the frame ended, both images exact" $c \
		"$HB/h_life" closeexec $v @S
done

# The program's file on every fd from 3 to 1023 when it forks: the child's
# agent closes none of them (it once closed the number the trace had).
chk_forkreuse() {
	fcheck "$1" 'ends == ["exit"] and counts(g) == (100, 100) and len(kids) == 1 and kids[0]["segments"][-1]["end"] == "_exit" and counts(kids[0]["g"]) == (200, 200)'
}
XFLAGS="--cpu 99 --wall 99"
hostile forkreuse 0 "fork with the program's file on every fd 3..1023: the child's fds all intact, both traces exact" \
	chk_forkreuse "$HB/h_life" forkreuse @S

# fork must not wait for the writer: the trace goes to a pty nobody reads,
# filled beforehand up to 4 KiB of room (the segment header fits, the first
# rounds do not), so the writer blocks in write(2) for good. The program
# waits until its writer is in write(2), then forks 5 times: fork's prepare
# handler once took the writer's lock, held for whole rounds, and hung here
# (and made every fork wait for a round in progress: docs/PERFORMANCE.md).
# Exit waits at most 2 s for the stuck writer.
n=forkstuck
if [[ $n =~ $ONLY ]]; then
	"$HB/h_life" forkstuck > "$W/$n.bare.out" 2>&1
	if out=$(timeout -k 5 60 $PY - "$LDPROF" "$HB/h_life" "$W/$n.bare.out" <<'EOF2' 2>&1
import fcntl, os, pty, subprocess, sys, tty
ldprof, prog, bare = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
try:
    master, slave = pty.openpty()
except OSError as e:
    print("no pty here (%s)" % e)
    sys.exit(2)
tty.setraw(slave)
fl = fcntl.fcntl(slave, fcntl.F_GETFL)
fcntl.fcntl(slave, fcntl.F_SETFL, fl | os.O_NONBLOCK)
try:
    while True:
        os.write(slave, b"x" * 4096)
except BlockingIOError:
    pass
room = 0
while room < 4096:
    room += len(os.read(master, 4096 - room))
try:
    p = subprocess.run([ldprof, "record", "-q", "--cpu", "99", "--wall", "99", "-o", os.ttyname(slave), "--", prog,
                        "forkstuck"], capture_output=True, timeout=30)
except subprocess.TimeoutExpired:
    print("the traced program hung (its writer blocked in write(2))")
    sys.exit(1)
if p.returncode != 0 or p.stdout != bare or p.stderr:
    print("traced: exit %d, stdout %r, stderr %r; bare stdout %r" % (p.returncode, p.stdout, p.stderr[:200], bare))
    sys.exit(1)
EOF2
	); then
		pass "$n: the writer blocked in write(2) for good: the program forks 5 times and exits as bare"
	elif [ $? = 2 ]; then
		pass "$n: skipped: $out"
	else
		fail "$n: $out"
	fi
fi

# A tight RLIMIT_AS: the program takes all but 8 MiB of the address space
# the limit leaves it bare (measured first, bare); traced it must do the
# same, with heap, CPU and wall tracing on. The agent keeps to 1/16 of that
# headroom (at 64 MiB: about 3.7 MiB, libraries aside) and sizes its rings,
# rule cache, stack table, zstd window and buffers to it. Under 48 MiB of
# headroom it does not start: one line, and it takes nothing but its
# libraries' mappings (the program gets all but 4 MiB). prlimit itself is
# the trace's first image; the program's is the last.
rlimit_headroom() { # NAME MIB: the bare program's headroom under a limit of MIB
	prlimit --as=$(($2 << 20)) "$HB/h_life" ashead "$W/$1.head" && cat "$W/$1.head"
}
chk_rlimit_fill() {
	jcheck "$1" "[s['end'] for s in r['segments']] == ['exec', 'exit'] and r['segments'][1]['heap']['allocations'] == r['segments'][1]['heap']['frees'] == $(($(cat "$W/$1.head") - (8 << 20))) // ((1 << 20) + 4096)"
}
chk_rlimit_off() { jcheck "$1" "len(r['segments']) == 1"; }
if hd=$(rlimit_headroom rlimit_fill 64); then
	XFLAGS="--cpu 99 --wall 99"
	hostile rlimit_fill 0 "RLIMIT_AS 64 MiB, the program takes all but 8 MiB of its headroom: as bare, traced exactly" \
		chk_rlimit_fill prlimit --as=$((64 << 20)) "$HB/h_life" asfill $((hd - (8 << 20)))
else
	fail "rlimit_fill: the bare program could not measure its headroom"
fi
if hd=$(rlimit_headroom rlimit_off 40); then
	XFLAGS="--cpu 99 --wall 99"
	AGENT_ERR='^ldprof: RLIMIT_AS leaves [0-9]+ MiB of address space, too little to trace in'
	AGENT_LINES=1
	hostile rlimit_off 0 "RLIMIT_AS 40 MiB: the agent does not start (one line), the program takes all but 4 MiB" \
		chk_rlimit_off prlimit --as=$((40 << 20)) "$HB/h_life" asfill $((hd - (4 << 20)))
else
	fail "rlimit_off: the bare program could not measure its headroom"
fi

# ---- programs that take things away -------------------------------------------

AGENT_ERR='^ldprof: malloc is provided by .*h_ownmalloc_static'
AGENT_LINES=1
hostile ownmalloc_static 0 "own malloc in the executable (static arena): the agent says so, once" - \
	"$HB/h_ownmalloc_static"
AGENT_ERR='^ldprof: malloc is provided by .*h_ownmalloc_mmap'
AGENT_LINES=1
hostile ownmalloc_mmap 0 "own malloc in the executable over mmap: the agent says so, once" - "$HB/h_ownmalloc_mmap"

hostile closestd 0 "stdin/stdout/stderr closed first, files reuse fds 0-2: intact" - "$HB/h_closefd" std @D
hostile closeall 0 "every fd closed (trace too), files take 0-2: no agent message lands in them" - \
	"$HB/h_closefd" all @D

echo
if [ $failures -gt 0 ]; then
	echo "hostile: $failures FAILED"
	exit 1
fi
echo "hostile: all passed"
