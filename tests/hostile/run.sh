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
ulimit -S -c 0 # a core dump would make `timeout` print a line of its own (fatal_core raises it again)
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

chk_xfree() { jcheck "$1" 'h["allocation_count"] >= 80000 and h["free_count"] >= 80000'; }
hostile xfree 0 "4 threads free each other's blocks (80 000), all counted" chk_xfree "$HB/h_threads" xfree

# A thread whose first allocation is inside pthread_getattr_np(pthread_self())
# (it allocates holding the thread's lock): the agent once asked for the
# bounds right then and waited for that lock forever.
chk_getattr() { jcheck "$1" 'h["allocation_count"] >= 8 * 100 and h["free_count"] >= 8 * 100'; }
XFLAGS="--cpu 0"
hostile getattr 0 "threads that allocate first inside pthread_getattr_np: no hang, every event there" chk_getattr \
	"$HB/h_threads" getattr

chk_many() {
	local tids
	tids=$(dump --events "$W/$1.ldp" | awk '/attach tid/ {print $3}' | sort -u | wc -l)
	[ "$tids" -ge 64 ] || { echo "only $tids threads in the trace"; return 1; }
	jcheck "$1" 'h["allocation_count"] >= 64 * 2000'
}
hostile threads64 0 "64 threads allocating at once, each in the trace" chk_many "$HB/h_threads" many

# A 16 KiB ring holds ~1500 events: the thread waits for the writer many
# times and exits with its last events buffered. Every block is freed: if
# those last events were lost the trace would show thousands leaked.
chk_ringfull() { jcheck "$1" 'h["allocation_count"] >= 35000 and h["leaked_count"] < 50 and h["unknown_free_count"] == 0'; }
ENVS=(LDPROF_RING_KB=16)
hostile ringfull 0 "a thread exits with its 16 KiB ring full: nothing lost" chk_ringfull "$HB/h_threads" ringfull

# Each thread allocates a block and frees it: a lost event shows as a leak (or
# the trace does not read). Each is a temporary too, give or take a few: the
# model keys "the thread's last allocation" by tid, and a new thread reusing
# an exited one's tid within the same millisecond can fall in between.
chk_churn() { jcheck "$1" 'h["allocation_count"] >= 2000 and h["leaked_count"] < 50 and h["free_count"] >= 2000'; }
hostile churn 0 "2000 short-lived threads (rings reused), every event kept" chk_churn "$HB/h_threads" churn

# Blocks allocated by key destructors that run after the agent's own are
# freed by main: had their allocations been lost, those 16 frees would be
# unknown. (Up to one unknown free per thread is libunwind's dynamic TLS
# block, which the agent's unwinder allocated untraced and glibc frees in
# pthread_join: docs/TESTING.md, "Known limits".)
chk_teardown() { jcheck "$1" 'h["unknown_free_count"] <= 8 and h["allocation_count"] >= 8 * 22'; }
hostile teardown 0 "key destructors allocate after the agent's thread-exit handler: recorded" chk_teardown \
	"$HB/h_threads" teardown

# ---- processes --------------------------------------------------------------

chk_fork() { jcheck "$1" 'len(kids) == 1 and kids[0]["heap"]["allocation_count"] >= 1000 and kids[0]["segments"][0]["end"] == "exit"'; }
hostile fork 0 "fork without exec: the child traces into its own file" chk_fork "$HB/h_proc" fork

chk_forkmt() { jcheck "$1" 'len(kids) == 20 and all(k["heap"]["allocation_count"] >= 1200 for k in kids)'; }
hostile forkmt 0 "20 forks while 4 threads allocate: children allocate, start threads, trace" chk_forkmt \
	"$HB/h_proc" forkmt

hostile spawn 0 "vfork+exec, vfork child allocating before exec, posix_spawn, failed exec" - "$HB/h_proc" spawn

hostile fds 0 "no agent fd leaks into exec'd children (ls /proc/self/fd)" - "$HB/h_proc" fds

chk_failexec() { jcheck "$1" 'len(r["segments"]) == 1 and r["segments"][0]["end"] == "exit" and h["allocation_count"] >= 5000'; }
hostile failexec 0 "100 failed execs in the traced process (writer held across each): errno ENOENT, tracing goes on" \
	chk_failexec "$HB/h_proc" failexec
# The same in sampled mode, where the failed execs came faster than the
# writer noticed each release: every hold request then waited out its 1 s
# (100 s in all). Bounded at 30 s here; it takes well under one.
XFLAGS="--mode sampled --sample-bytes 1" T_ALL=$T T=30
hostile failexec_sampled 0 "sampled: 100 failed execs in a row, each hold released before the next: no request waits out its timeout" \
	chk_failexec "$HB/h_proc" failexec
T=$T_ALL

chk_chain() {
	jcheck "$1" '[s["end"] for s in r["segments"]] == ["exec"] * 4 + ["exit"] and all(s["heap"]["allocation_count"] >= 300 for s in r["segments"][1:])'
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

# dlopen("./lib.so") leaves the loader's name for it relative: the agent
# makes it absolute (the reporter runs elsewhere). Its function was shown as
# libhostile_dl.so+0x... before.
chk_dlopen_rel() {
	grep -q "^@.* MODULE .* $HB/\./libhostile_dl.so" <(dump "$W/$1.ldp") || { echo "no MODULE record with the absolute path"; return 1; }
	# a name with no slash is no path: the vdso stays "linux-vdso.so.1" (made
	# "$PWD/linux-vdso.so.1", it drew a "not found" warning from every report)
	grep -q '^@.* MODULE [0-9]* base 0x[0-9a-f]* linux-vdso.so.1 ' <(dump "$W/$1.ldp") || { echo "the vdso's MODULE name was changed"; return 1; }
	jcheck "$1" 'sum(g["heap"]["allocation_count"] for g in r["groups"] if g["key"] == "hd_alloc") == 300'
}
hostile dlopen_relative 0 "a library dlopened by a relative path (./lib.so): its frames symbolized; the vdso's name kept" \
	chk_dlopen_rel sh -c 'cd "$1" && exec ./h_dlopen ./libhostile_dl.so "$2"' sh "$HB" @S

# A library loaded again at its old address after another was loaded over
# part of it (h_reload: preferred addresses, no PIE). The reporter took the
# latest MODULE record of all for every stack, so liba's frames became
# libhostile_ov_b.so+0x... (270 of 270) before format 1.8.
chk_reload() {
	jcheck "$1" '{g["key"]: g["heap"]["allocation_count"] for g in r["groups"] if "ov_" in g["key"]} == {"ov_a_alloc": 270, "ov_b_alloc": 50}'
}
hostile reload 0 "a library reloaded where another was loaded over it: each stack resolved in the object it was recorded in" \
	chk_reload "$HB/h_reload" "$HB/libhostile_ov_a.so" "$HB/libhostile_ov_b.so"

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

end_is() { jcheck "$1" "r['segments'][-1]['end'] == '$2' and h['allocation_count'] >= 1000"; }
chk_abort() { end_is "$1" abort; }
hostile abort 134 "abort(): dies by SIGABRT, trace ends with END(abort)" chk_abort "$HB/h_exit" abort
chk__exit() { end_is "$1" _exit; }
hostile _exit 7 "_exit(7) while a thread allocates: END(_exit)" chk__exit "$HB/h_exit" _exit
chk_thexit() { end_is "$1" exit; }
hostile exit_thread 4 "exit(4) from a non-main thread while others allocate" chk_thexit "$HB/h_exit" thread
# end_signal NAME SIG [ALLOCATIONS LEAKED]: the trace ends with END(signal SIG)
# (`ldprof dump`), the report says "terminated by SIG<name>" (and the trace
# holds exactly that many allocations and leaked blocks).
end_signal() {
	local last name
	last=$(dump "$W/$1.ldp" | grep " END " | tail -1)
	[[ $last =~ \ END\ reason\ 6\ at\ [0-9]+\ us,\ signal\ $2$ ]] ||
		{ echo "the trace does not end with END(signal $2): ${last:-no END}"; return 1; }
	name=SIG$(kill -l "$2")
	jcheck "$1" "r['segments'][-1]['end'] == 'terminated by $name'" || return 1
	[ -z "${3:-}" ] || jcheck "$1" "h['allocation_count'] == $3 and h['leaked_count'] == $4"
}
chk_segv() { end_signal "$1" 11; }
hostile segv 139 "SIGSEGV: dies by it (record exits 139), report: terminated by SIGSEGV" chk_segv "$HB/h_exit" segv
hostile segvhandler 0 "own SIGSEGV handler recovers with siglongjmp, 3 times" - "$HB/h_exit" segvhandler
chk_kill() { jcheck "$1" "r['segments'][-1]['end'] == 'cut short (killed?)'"; }
hostile kill 137 "raise(SIGKILL): trace readable, no END: cut short (killed?)" chk_kill "$HB/h_exit" kill
chk_sigterm() { end_signal "$1" 15; }
hostile sigterm 143 "SIGTERM at its default action: dies by it (record exits 143), report: terminated by SIGTERM" \
	chk_sigterm "$HB/h_exit" term
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
	jcheck "$1" "h['allocation_count'] == $a and h['free_count'] == $f and h['leaked_count'] == 1 and h['unknown_free_count'] == 0"
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
# Sampled, the writer thread starts late: after the program has taken all
# the space. What it needs was taken at start (no line, a whole trace).
chk_rlimit_as_sampled() { chk_rlimit_as "$1" && jcheck "$1" "r['segments'][-1]['end'] == 'exit'"; }
XFLAGS="--mode sampled"
hostile rlimit_as_sampled 0 "sampled, RLIMIT_AS 600 MiB: the late writer's stack and buffers were taken at start, it starts and writes" \
	chk_rlimit_as_sampled prlimit --as=$((600 << 20)) "$HB/h_api" oom @S

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
    return (g[f]["heap"]["allocation_count"], g[f]["heap"]["free_count"]) if f in g else (0, 0)
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
	fcheck "$1" 'ends == ["exec", "exit"] and counts(g) == (23400, 22900) and r["segments"][1]["heap"]["allocation_count"] == 400 and r["segments"][1]["heap"]["free_count"] == 400'
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
# Its last round cannot be written: one line says the trace ends early.
said = p.stderr.decode(errors="replace").splitlines()
if p.returncode != 0 or p.stdout != bare or len(said) != 1 or \
        not said[0].startswith("ldprof: the trace's last round was not written within 2000 ms"):
    print("traced: exit %d, stdout %r, stderr %r; bare stdout %r" % (p.returncode, p.stdout, p.stderr[:200], bare))
    sys.exit(1)
EOF2
	); then
		pass "$n: the writer blocked in write(2) for good: the program forks 5 times and exits as bare, one line saying the trace ends early"
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
	jcheck "$1" "[s['end'] for s in r['segments']] == ['exec', 'exit'] and r['segments'][1]['heap']['allocation_count'] == r['segments'][1]['heap']['free_count'] == $(($(cat "$W/$1.head") - (8 << 20))) // ((1 << 20) + 4096)"
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

# ---- children without atfork handlers (issue 13) -------------------------------
# Heap, CPU and wall tracing together; a 16 KiB ring, so a child waiting for
# a writer that does not exist in it hangs at once.

chk_rawfork() {
	jcheck "$1" 'len(kids) == 1 and kids[0]["heap"]["allocation_count"] == 100000 and kids[0]["heap"]["free_count"] == 100000 and kids[0]["segments"][-1]["end"] == "exit"'
}
for m in _Fork sysfork clone clone3; do
	ENVS=(LDPROF_RING_KB=16)
	XFLAGS="--cpu 99 --wall 99"
	hostile raw_$m 0 "a child of $m (no atfork handler) fills its ring: traced by a writer of its own, exact" \
		chk_rawfork "$HB/h_rawfork" $m
done
chk_rawasm() { jcheck "$1" 'len(kids) == 0'; }
ENVS=(LDPROF_RING_KB=16)
XFLAGS="--cpu 99 --wall 99"
AGENT_ERR='^ldprof: process [0-9]+ was forked by a raw system call the agent did not see; it runs untraced$'
AGENT_LINES=1
hostile raw_asm 0 "a child of an inline-assembly fork fills its ring: untraced, one line, no hang" chk_rawasm \
	"$HB/h_rawfork" asm
XFLAGS="--cpu 99 --wall 99"
hostile syscall_passthrough 0 "syscall() with other numbers: results, errno, six arguments as bare" - \
	"$HB/h_rawfork" passthrough

# ---- the program owns SIGPROF (issue 13) ---------------------------------------
# The agent samples CPU time with SIGPROF: whichever entry point the program
# uses to set, block or take it, it never gets a SIGPROF it did not cause.

chk_sampled() { jcheck "$1" 'r["cpu"]["sample_count"] >= 10'; }
XFLAGS="--cpu 99 --wall 99"
hostile sigprof_dfl 0 "SIGPROF to SIG_DFL/SIG_IGN by every libc entry point and rt_sigaction: reads back, not killed, sampled" \
	chk_sampled "$HB/h_sigown" dfl
XFLAGS="--cpu 99 --wall 99"
hostile sigprof_block 0 "SIGPROF blocked six ways, sigtimedwait/sigwait/sigwaitinfo/signalfd get only the program's own" \
	chk_sampled "$HB/h_sigown" block
# 0.4 s of CPU unblocked at 99 Hz: about 30 samples (the kernel's own count
# of the time left, re-armed at each unblock, gave 10-13; re-armed from
# scratch, none).
chk_toggle() { jcheck "$1" 'r["cpu"]["sample_count"] >= 18'; }
XFLAGS="--cpu 99 --wall 99"
hostile sigprof_toggle 0 "SIGPROF blocked 0.5 ms of every 2.5 ms (shorter than the interval): still sampled" \
	chk_toggle "$HB/h_sigown" toggle
for m in sigset bsd sysv ssignal raw; do
	XFLAGS="--cpu 99 --wall 99"
	if [[ " $RECORD_FLAGS " != *" --cpu-signal"* ]]; then
		AGENT_ERR='^ldprof: pid [0-9]+ \(h_sigown\) installs its own SIGPROF handler: CPU sampling stops here'
		AGENT_LINES=1
	fi
	hostile sigprof_own_$m 0 "own SIGPROF handler by $m: none of the agent's ticks reach it, its own timer's do" - \
		"$HB/h_sigown" own_$m
done

# ---- fatal signals end the trace (issue 13) -------------------------------------
# 5000 allocations (500 kept) made within a flush interval, then death by a
# signal: the trace holds all of them and ends with END(signal); the status
# is the signal's. Heap, CPU and wall tracing together.

fatal_case() { # NAME SIGNAL MODE [ALLOCATIONS LEAKED]
	local n=$1 sig=$2 mode=$3 a=${4:-5000} l=${5:-500}
	eval "chk_$n() { end_signal \"\$1\" $sig $a $l; }"
	XFLAGS="--cpu 99 --wall 99"
	hostile "$n" $((128 + sig)) "$mode: dies of signal $sig, END(signal $sig), every allocation before it" "chk_$n" \
		"$HB/h_fatal" "$mode"
}
fatal_case fatal_term 15 term
fatal_case fatal_int 2 int
fatal_case fatal_hup 1 hup
fatal_case fatal_quit 3 quit
fatal_case fatal_pipe 13 pipe
fatal_case fatal_segv 11 segv
fatal_case fatal_bus 7 bus
fatal_case fatal_fpe 8 fpe
fatal_case fatal_ill 4 ill
fatal_case fatal_trap 5 trap
fatal_case fatal_abrt 6 abrt
fatal_case fatal_reraise 11 reraise
fatal_case fatal_resethand 11 resethand
fatal_case fatal_badrealloc 6 badrealloc 5001 501
fatal_case fatal_agentfault 11 agentfault
fatal_case fatal_exechold 15 exechold
# assert() allocates its message: two blocks more than the program's own.
chk_fatal_assert() { end_signal "$1" 6 && jcheck "$1" "h['allocation_count'] >= 5000 and h['leaked_count'] >= 500"; }
XFLAGS="--cpu 99 --wall 99"
hostile fatal_assert 134 "assert() fails (abort inside libc): END(signal 6), every allocation before it" \
	chk_fatal_assert "$HB/h_fatal" assert
chk_fatal_threads() { end_signal "$1" 15; }
XFLAGS="--cpu 99 --wall 99"
hostile fatal_threads 143 "SIGTERM while 4 threads allocate without pause: END(signal 15), no hang" \
	chk_fatal_threads "$HB/h_fatal" threads
# The child's trace ends with END(signal 11), and the kernel dumped its core
# (or not) exactly as bare: the runner compares the parent's output.
chk_fatal_core() {
	local k
	for k in "$W/$1".*.ldp; do
		[ -e "$k" ] || { echo "no trace of the child"; return 1; }
		[[ $(dump "$k" | grep " END " | tail -1) =~ \ END\ reason\ 6\ at\ [0-9]+\ us,\ signal\ 11$ ]] ||
			{ echo "the child's trace does not end with END(signal 11)"; return 1; }
	done
	# With a core_pattern naming a file (not a pipe), the core is in the child's directory.
	if grep -q "core dumped: yes" "$W/$1.traced.out" && [[ $(cat /proc/sys/kernel/core_pattern) == core* ]] &&
		! ls "$W/$1.traced.d"/core* > /dev/null 2>&1; then
		echo "the kernel says it dumped core, but there is no core file"
		return 1
	fi
	return 0
}
XFLAGS="--cpu 99 --wall 99"
hostile fatal_core 0 "a child faults with its core limit raised: dumps core (or not) as bare, END(signal 11)" \
	chk_fatal_core "$HB/h_fatal" core @D
chk_exit_end() { jcheck "$1" "r['segments'][-1]['end'] == 'exit'"; }
chk_vforkdie() { jcheck "$1" "r['segments'][-1]['end'] == 'exit' and h['allocation_count'] == 10000 and h['leaked_count'] == 500"; }
XFLAGS="--cpu 99 --wall 99"
hostile fatal_vforkdie 0 "a vfork child dies of SIGTERM: the parent's agent goes on (all its allocations, END(exit))" \
	chk_vforkdie "$HB/h_fatal" vforkdie
XFLAGS="--cpu 99 --wall 99"
hostile fatal_own 0 "own SIGTERM/SIGINT/SIGSEGV handlers run, SIGHUP ignored: the program's, not the agent's" \
	chk_exit_end "$HB/h_fatal" own
XFLAGS="--cpu 99 --wall 99"
hostile fatal_query 0 "sigaction and rt_sigaction read SIG_DFL for every signal the agent handles" - "$HB/h_fatal" query

# ---- signal handlers that allocate inside the agent (issue 13) ------------------
# A SIGALRM handler allocates every 100 us while the main thread is in
# malloc/realloc/free (traced: inside the agent's recording). The program's
# own count is in the side file; every event must be in the trace, or (more
# than the agent keeps aside per recording) counted in LOST records.

# nested_counts NAME exact|counted: the trace's allocations and frees (plus
# unknown frees, plus LOST nested ones) are the program's; "exact": none lost.
nested_counts() {
	local a f
	read -r _ a _ f < "$W/$1.traced.side"
	dump "$W/$1.ldp" > "$W/$1.dump"
	$PY - "$W/$1.ldp.json" "$a" "$f" "$2" "$W/$1.dump" <<'PYEOF'
import json, re, sys
h = json.load(open(sys.argv[1]))["heap"]
la = lf = 0
for line in open(sys.argv[5]):
    m = re.search(r" LOST (\d+) (allocations|frees) in signal handlers", line)
    if m:
        if m.group(2) == "allocations":
            la += int(m.group(1))
        else:
            lf += int(m.group(1))
a, f = int(sys.argv[2]), int(sys.argv[3])
ok = h["allocation_count"] + la == a and h["free_count"] + h["unknown_free_count"] + lf == f
if sys.argv[4] == "exact":
    ok = ok and la == 0 and lf == 0 and h["unknown_free_count"] == 0 and h["leaked_count"] == 0
if not ok:
    print("program: %d allocations, %d frees; trace: %d + %d lost, %d + %d unknown + %d lost, %d leaked" %
          (a, f, h["allocation_count"], la, h["free_count"], h["unknown_free_count"], lf, h["leaked_count"]))
    sys.exit(1)
PYEOF
}
chk_nested_exact() { nested_counts "$1" exact; }
for m in stack alt; do
	XFLAGS="--cpu 99 --wall 99"
	hostile nested_$m 0 "a handler ($m) allocates inside malloc/realloc/free: every event recorded, exact" \
		chk_nested_exact "$HB/h_nested" $m @S
done
chk_nested_burst() { nested_counts "$1" counted; }
XFLAGS="--cpu 99 --wall 99"
hostile nested_burst 0 "a handler makes 40 events per run inside the agent: recorded, or counted as lost, never missing" \
	chk_nested_burst "$HB/h_nested" burst @S

# ---- sampled mode, a program that runs alone: its writer starts late (issue 16) ----
# No writer thread until the program starts one, LDPROF_WRITER_DELAY_MS pass,
# or it ends (agent/writer.c "a writer that starts late"); the ending thread
# then writes the whole segment itself. --sample-bytes 1 samples every
# allocation (16 bytes or more: probability 1), so the counts are exact.
ALONE="--mode sampled --sample-bytes 1 --cpu 99"
chk_alone_count() { jcheck "$1" "r['segments'][-1]['end'] == 'exit' and h['allocation_count'] >= 1000 and h['leaked_count'] == 100"; }
XFLAGS=$ALONE ENVS=(LDPROF_WRITER_DELAY_MS=60000)
hostile alone_count 0 "sampled, one thread: no writer thread while it runs (1 thread, bare and traced); at exit every allocation" \
	chk_alone_count "$HB/h_alone" count
chk_alone_thread() {
	local b t
	b=$(cat "$W/$1.bare.side") t=$(cat "$W/$1.traced.side")
	[ "$b" = 2 ] && [ "$t" = 3 ] || { echo "threads with the program's second: bare $b, traced $t (want 2 and 3)"; return 1; }
	jcheck "$1" "r['segments'][-1]['end'] == 'exit' and h['allocation_count'] >= 2000 and h['leaked_count'] >= 200"
}
XFLAGS=$ALONE ENVS=(LDPROF_WRITER_DELAY_MS=60000)
hostile alone_thread 0 "sampled: the writer thread starts with the program's first thread (3 threads then, bare 2); every allocation" \
	chk_alone_thread "$HB/h_alone" thread @S
# The program measures when a second thread appears, from its process's
# start (before the agent's constructor, where the delay begins): at least
# 300 ms whatever the machine's load.
chk_alone_late() {
	local b t
	b=$(cat "$W/$1.bare.side") t=$(cat "$W/$1.traced.side")
	[ "$b" = -1 ] && [ "$t" -ge 300 ] ||
		{ echo "a second thread appeared $t ms after the process began, traced (want at least 300), $b bare (want -1: never)"; return 1; }
	jcheck "$1" "r['segments'][-1]['end'] == 'exit' and h['allocation_count'] > 0"
}
XFLAGS="--mode sampled --cpu 99" ENVS=(LDPROF_WRITER_DELAY_MS=300)
hostile alone_late 0 "sampled, one thread allocating: the writer thread starts once 300 ms have passed, not before" \
	chk_alone_late "$HB/h_alone" late @S
# 1.5 s of CPU without a writer to drain the samples: the block holds them.
chk_alone_cpu() { jcheck "$1" "r['cpu']['lost_sample_count'] == 0 and r['cpu']['sample_count'] >= 100 and h['leaked_count'] == 100"; }
XFLAGS=$ALONE ENVS=(LDPROF_WRITER_DELAY_MS=60000)
hostile alone_cpu 0 "sampled, one thread: 1.5 s of CPU with no writer thread, every CPU sample kept (none lost)" \
	chk_alone_cpu "$HB/h_alone" cpu
# RSS read every flush interval by the program's thread while no writer
# thread exists (it was read once, at the end: after the peak had gone).
chk_alone_rss() {
	local hwm
	hwm=$(cat "$W/$1.traced.side")
	jcheck "$1" "r['rss']['peak_bytes'] >= 0.9 * $hwm * 1024"
}
# (The default 512 KiB between samples: every allocation sampled would fill
# the ring, and a ring passing half full starts the thread.)
XFLAGS="--mode sampled --cpu 99" ENVS=(LDPROF_WRITER_DELAY_MS=60000)
hostile alone_rss 0 "sampled, one thread: RSS read every 50 ms without a writer thread; the peak (VmHWM, 64 MiB held 250 ms, then freed) is in the trace" \
	chk_alone_rss "$HB/h_alone" rss @S
alone_fatal() { # NAME SIGNAL MODE [ALLOCATIONS LEAKED]
	local n=$1 sig=$2 mode=$3 a=${4:-5000} l=${5:-500}
	eval "chk_$n() { end_signal \"\$1\" $sig $a $l; }"
	XFLAGS=$ALONE
	hostile "$n" $((128 + sig)) "sampled, one thread, $mode: the dying thread writes the trace, END(signal $sig), every allocation" \
		"chk_$n" "$HB/h_fatal" "$mode"
}
alone_fatal alone_term 15 term
alone_fatal alone_segv 11 segv
alone_fatal alone_abrt 6 abrt
alone_fatal alone_agentfault 11 agentfault
alone_fatal alone_exechold 15 exechold
chk_alone_abort() { end_is "$1" abort; }
XFLAGS=$ALONE
hostile alone_abort 134 "sampled, one thread: abort() writes the trace itself, END(abort)" chk_alone_abort "$HB/h_exit" abort

# ---- RTLD_DEEPBIND (issue 13) ---------------------------------------------------
chk_deepbind() {
	"$LDPROF" report --by function --json "$W/$1.ldp" > "$W/$1.fn.json" || return 1
	$PY - "$W/$1.fn.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
g = {x["key"]: x for x in r["groups"]}.get("hd_deep_work")
want = 3 * 500 * 8
if not g or g["heap"]["allocation_count"] != want or g["heap"]["free_count"] != want or r["heap"]["unknown_free_count"] != 0:
    print("hd_deep_work: %s allocations, %s frees (want %d each); %d unknown frees" %
          (g and g["heap"]["allocation_count"], g and g["heap"]["free_count"], want, r["heap"]["unknown_free_count"]))
    sys.exit(1)
PYEOF
}
XFLAGS="--cpu 99 --wall 99"
hostile deepbind 0 "a library dlopened with RTLD_DEEPBIND (NOW, LAZY) and without, by name through the caller's RUNPATH: every allocation exact" \
	chk_deepbind "$HB/h_deepbind"

echo
if [ $failures -gt 0 ]; then
	echo "hostile: $failures FAILED"
	exit 1
fi
echo "hostile: all passed"
