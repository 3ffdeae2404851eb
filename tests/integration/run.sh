#!/bin/bash
# tests/integration/run.sh BUILD_DIR - integration tests: programs whose own
# truth is known, run bare and under `ldprof record`, checked against
# `ldprof report --json`. Each test prints one line; any failure exits 1.
set -u
B=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
LDPROF=$B/ldprof
BIN=$B/tests/integration
PY=/usr/bin/python3
CHECK="$PY $HERE/check_truth.py"
W=$(mktemp -d /tmp/ldprof-it.XXXXXX)
trap 'rm -rf "$W"' EXIT
failures=0
export LDPROF_VERBOSE=0

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# run_truth NAME CMD...: bare run and traced run must print the same and exit 0.
traced() { "$LDPROF" record -q -o "$W/$1.ldp" -- "${@:2}"; }
# traced_f NAME RECORD-FLAGS... -- CMD...
traced_f() {
	local n=$1 flags=()
	shift
	while [ "$1" != "--" ]; do flags+=("$1"); shift; done
	shift
	"$LDPROF" record -q -o "$W/$n.ldp" "${flags[@]}" -- "$@"
}
report() { "$LDPROF" report --json "$1" > "$2"; }

# --- single thread, every entry point ---------------------------------------
t=single
if "$BIN/truth_single" "$W/$t.bare" && traced $t "$BIN/truth_single" "$W/$t.truth" &&
	cmp -s "$W/$t.bare" "$W/$t.truth" && report "$W/$t.ldp" "$W/$t.json" &&
	$CHECK "$W/$t.truth" "$W/$t.json"; then pass "$t: every malloc entry point, realloc chains, aligned family"
else fail "$t"; fi

# --- format 2.2: the same truth with every address written -------------------
# Full mode writes a block its live-block map holds without its address (site
# events); LDPROF_SITE_EVENTS=0 writes every address, as 2.1 did. Both exact;
# the first trace is made of site events, the second has none.
t=single_addresses
if LDPROF_SITE_EVENTS=0 traced $t "$BIN/truth_single" "$W/$t.truth" && report "$W/$t.ldp" "$W/$t.json" &&
	$CHECK "$W/$t.truth" "$W/$t.json"; then
	site=$("$LDPROF" dump --events "$W/single.ldp" | grep -c ' site ')
	addr=$("$LDPROF" dump --events "$W/single.ldp" | grep -cE '^ *(alloc|free) .* ptr ')
	none=$("$LDPROF" dump --events "$W/$t.ldp" | grep -c ' site ')
	if [ "$site" -gt 1000 ] && [ "$addr" -lt "$site" ] && [ "$none" = 0 ]; then
		pass "$t: exact with every address written too; the default trace: $site site events, $addr with an address"
	else fail "$t: default trace $site site events and $addr with an address; LDPROF_SITE_EVENTS=0: $none site events"; fi
else fail "$t"; fi

# --- cross-thread free with immediate address reuse --------------------------
# Counts, bytes and leaks exact; the peak within one block (2023 B, the
# largest), since the threads pass a baton the agent cannot see: a free and
# another thread's allocation in another 1 MiB region in the same 1 ms tick
# may swap (check_truth.py --peak-within; it did about one run in six).
t=xthread
export GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0
if traced $t "$BIN/truth_xthread" "$W/$t.truth" && report "$W/$t.ldp" "$W/$t.json" &&
	traced ${t}_base "$BIN/truth_xthread" "$W/$t.base.truth" baseline &&
	report "$W/${t}_base.ldp" "$W/$t.base.json" &&
	$CHECK "$W/$t.truth" "$W/$t.json" --baseline "$W/$t.base.json" --peak-within 2023; then
	reuses=$(awk '/cross_thread_reuses/ {print $2}' "$W/$t.truth")
	if [ "${reuses:-0}" -ge 1000 ]; then pass "$t: $reuses frees by one thread reused at once by another"
	else fail "$t: only ${reuses:-0} cross-thread reuses happened; the test did not exercise the hazard"; fi
else fail "$t"; fi
unset GLIBC_TUNABLES

# --- oversubscription: 64 allocating threads on 2 cores for ~10 s ----------------
# Threads are preempted everywhere and the writer's rounds grow to millions
# of events: the merge must hold them all (spilling beyond its memory limit)
# and the counts stay exact. The program measures its own 10 s.
t=oversub
if traced $t taskset -c 0,1 "$BIN/truth_oversub" "$W/$t.truth" 10 64 && report "$W/$t.ldp" "$W/$t.json" &&
	traced ${t}_base taskset -c 0,1 "$BIN/truth_oversub" "$W/$t.base.truth" 0 64 baseline &&
	report "$W/${t}_base.ldp" "$W/$t.base.json" &&
	$CHECK "$W/$t.truth" "$W/$t.json" --baseline "$W/$t.base.json" | sed 's/^/     /'; then
	waited=$("$LDPROF" dump "$W/$t.ldp" | awk '/^merge:/ {print $4}')
	ms=$(awk '/elapsed_ms/ {print $2}' "$W/$t.truth")
	if [ "${waited:-0}" -ge 1000000 ]; then
		pass "$t: 64 threads on 2 cores for $ms ms, up to $waited events waiting in the merge: exact"
	else fail "$t: only ${waited:-0} events ever waited in the merge; the test did not exercise big rounds"; fi
else fail "$t"; fi
rm -f "$W/$t.ldp" "$W/${t}_base.ldp"

# --- fork from a multithreaded parent, children ending by exit and _exit ------
t=fork
if traced $t "$BIN/truth_fork" "$W/$t.truth" && report "$W/$t.ldp" "$W/$t.json" &&
	traced ${t}_base "$BIN/truth_fork" "$W/$t.base.truth" baseline &&
	report "$W/${t}_base.ldp" "$W/$t.base.json" &&
	$CHECK "$W/$t.truth" "$W/$t.json" --baseline "$W/$t.base.json"; then
	ok=1
	for c in 1 2; do
		pid=$(awk '/^pid/ {print $2}' "$W/$t.truth.child$c")
		f="$W/$t.$pid.ldp"
		if [ ! -f "$f" ]; then echo "     child $c: no trace $f"; ok=0; continue; fi
		report "$f" "$W/$t.c$c.json" && $CHECK "$W/$t.truth.child$c" "$W/$t.c$c.json" || ok=0
	done
	[ $ok = 1 ] && pass "$t: parent and two children (exit, _exit), each exact in its own trace" || fail "$t children"
else fail "$t"; fi

# --- exec: the new image appends a segment to the same file --------------------
t=exec
if traced $t env A=1 "$BIN/truth_single" "$W/$t.truth" && report "$W/$t.ldp" "$W/$t.json" &&
	$CHECK "$W/$t.truth" "$W/$t.json" --segment 1 &&
	$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r["segments"];
assert len(s)==2 and s[0]["end"]=="exec" and s[1]["exe"].endswith("truth_single"), s' "$W/$t.json"; then
	pass "$t: env -> exec -> program, both images in one file, the program's exact"
else fail "$t"; fi
if [ -x /usr/bin/python3 ]; then
	t=exec_python
	if traced $t env A=1 /usr/bin/python3 -c 'd={i:str(i) for i in range(100000)}; print(len(d))' > "$W/$t.out" &&
		report "$W/$t.ldp" "$W/$t.json" &&
		$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r["segments"];
assert len(s)==2 and "python3" in s[1]["exe"] and s[1]["heap"]["allocation_count"] > 1000, s' "$W/$t.json" &&
		[ "$(cat "$W/$t.out")" = 100000 ]; then
		pass "$t: ldprof record -- env A=1 python3 ... reports python3's allocations"
	else fail "$t"; fi
fi

# --- the fast unwinder against libunwind, on every stack of real programs -------
# LDPROF_UNWIND=check runs both on each allocation and counts differences.
unwind_check() { # NAME MIN_STACKS CMD...
	LDPROF_UNWIND=check "$LDPROF" record -q -o "$W/$1.ldp" -- "${@:3}" > /dev/null 2> "$W/$1.err"
	local line
	line=$(grep 'unwind:' "$W/$1.err" | tail -1)
	local compared differ
	compared=$(echo "$line" | sed -n 's/.* \([0-9]*\) stacks compared.*/\1/p')
	differ=$(echo "$line" | sed -n 's/.* \([0-9]*\) differ.*/\1/p')
	if [ -n "$compared" ] && [ "$compared" -ge "$2" ] && [ "$differ" = 0 ]; then
		pass "unwind_$1: $compared stacks, fast unwinder = libunwind (${line#*unwind: })"
	else
		fail "unwind_$1: ${line:-no report}"; sed 's/^/     /' "$W/$1.err" | head -10
	fi
}
unwind_check fp 20000 "$BIN/unwind_prog" 2000
# Eight call sites in turn: each capture is answered by one of the eight walks
# the memo keeps (checked against libunwind like any other), not a new walk.
t=unwind_memo_hits
unwind_check memo 20000 "$BIN/memo_sites" 8 40000
line=$(grep 'unwind:' "$W/memo.err" | tail -1)
hits=$(echo "$line" | sed -n 's/.*unwind: \([0-9]*\) memo hits, \([0-9]*\) walks.*/\1/p')
walks=$(echo "$line" | sed -n 's/.*unwind: \([0-9]*\) memo hits, \([0-9]*\) walks.*/\2/p')
if [ -n "$hits" ] && [ "$walks" -le 100 ] && [ "$hits" -ge 39900 ]; then
	pass "$t: 8 call sites in turn, 40,000 captures: $hits memo hits, $walks walks"
else fail "$t: ${line:-no report}"; fi
unwind_check nofp 20000 "$BIN/unwind_prog-nofp" 2000
PYTHONMALLOC=malloc unwind_check python 200000 /usr/bin/python3 -c '
import json, re, decimal, collections
d = {i: str(i) * (i % 7) for i in range(50000)}
s = json.dumps(d)
c = collections.Counter(re.findall(r"[0-9]+", s))
print(len(json.loads(s)), sum(decimal.Decimal(k) for k in list(c)[:1000]))'

# --- SIGKILL -------------------------------------------------------------------
t=kill_idle
rm -f "$W/$t.truth.ready"
"$LDPROF" record -q -o "$W/$t.ldp" -- "$BIN/truth_kill" "$W/$t.truth" idle &
pid=$!
for _ in $(seq 100); do [ -s "$W/$t.truth.ready" ] && break; sleep 0.05; done
sleep 0.2
kill -KILL "$(cat "$W/$t.truth.ready")"; wait $pid 2>/dev/null
if report "$W/$t.ldp" "$W/$t.json" && $CHECK "$W/$t.truth" "$W/$t.json" peak_bytes=0 \
	leaked_bytes=0 2>&1 | sed 's/^/     /' | grep -q exact; then
	pass "$t: killed 200 ms after its last allocation, nothing lost"
else fail "$t"; fi

# --- a process still running: reported as live; once killed, as cut short --------
# The program allocates, frees a third, then sleeps. Reported while it runs,
# its blocks are "live now", not leaked, and check --max-leaked 0 holds; after
# SIGKILL the same trace says cut short and they leak. The wait for the agent's
# flush is measured (the report polled until it holds the program's truth).
t=live
rm -f "$W/$t.truth.ready"
"$LDPROF" record -q -o "$W/$t.ldp" -- "$BIN/truth_kill" "$W/$t.truth" idle &
pid=$!
for _ in $(seq 200); do [ -s "$W/$t.truth.ready" ] && break; sleep 0.05; done
want=$(awk '/^allocations/ {print $2}' "$W/$t.truth" 2>/dev/null)
for _ in $(seq 200); do
	[ -n "$want" ] || break
	report "$W/$t.ldp" "$W/$t.json" 2>/dev/null &&
		[ "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["allocation_count"])' "$W/$t.json")" = "${want:-x}" ] && break
	sleep 0.05
done
"$LDPROF" report "$W/$t.ldp" > "$W/$t.txt" 2> "$W/$t.err"
"$LDPROF" check --max-leaked 0 "$W/$t.ldp" > "$W/$t.check" 2>&1
check_rc=$?
alive_ok=0
if $PY - "$W/$t.truth" "$W/$t.json" <<'PYEOF' && [ $check_rc = 0 ] && grep -q "live now" "$W/$t.txt" &&
import json, sys
truth = dict(l.split() for l in open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
seg, h = r["segments"][-1], r["heap"]
assert seg["end"] == "still running", seg["end"]
assert h["leaked_bytes"] == 0 and h["leaked_count"] == 0, h
assert h["live_now_count"] == int(truth["leaked_count"]), (h, truth)
assert h["live_now_bytes"] == int(truth["leaked_bytes"]), (h, truth)
print(f"     running: {h['live_now_count']} blocks live now, none leaked")
PYEOF
	grep -q "still running" "$W/$t.check" && [ ! -s "$W/$t.err" ]; then alive_ok=1; fi
kill -KILL "$(cat "$W/$t.truth.ready" 2>/dev/null || echo $pid)"; wait $pid 2>/dev/null
"$LDPROF" check --max-leaked 0 "$W/$t.ldp" > "$W/$t.check2" 2>&1
check2_rc=$?
if [ $alive_ok = 1 ] && report "$W/$t.ldp" "$W/$t.json2" && [ $check2_rc = 1 ] &&
	$PY - "$W/$t.truth" "$W/$t.json2" <<'PYEOF'; then
import json, sys
truth = dict(l.split() for l in open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
seg, h = r["segments"][-1], r["heap"]
assert seg["end"] == "cut short (killed?)", seg["end"]
assert h["leaked_count"] == int(truth["leaked_count"]) and h["live_now_count"] == 0, (h, truth)
PYEOF
	pass "$t: reported while running (live now, not leaked; check --max-leaked 0 holds), then killed (cut short, leaked)"
else fail "$t: running: alive_ok=$alive_ok check=$check_rc ($(head -c 300 "$W/$t.check")); killed: check=$check2_rc"; fi

t=kill_busy
rm -f "$W/$t.cp.ready"
"$LDPROF" record -q -o "$W/$t.ldp" -- "$BIN/truth_kill" "$W/$t.cp" busy &
pid=$!
for _ in $(seq 100); do [ -s "$W/$t.cp.ready" ] && break; sleep 0.05; done
sleep 0.5
kill_ns=$($PY -c 'import time; print(time.monotonic_ns())')
kill -KILL "$(cat "$W/$t.cp.ready")"; wait $pid 2>/dev/null
if report "$W/$t.ldp" "$W/$t.json" 2>/dev/null &&
	$PY - "$W/$t.cp" "$W/$t.json" "$kill_ns" <<'PYEOF'; then
import json, sys
cps = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
heap = json.load(open(sys.argv[2]))["heap"]
kill = int(sys.argv[3])
older = [c for c in cps if c[0] <= kill - 100_000_000]
assert older, "no checkpoint 100 ms before the kill"
t, allocs, frees = older[-1]
assert heap["allocation_count"] >= allocs, (heap["allocation_count"], allocs)
print(f"     {heap['allocation_count']} allocations in the trace >= {allocs} done 100 ms before the kill")
PYEOF
	pass "$t: killed while allocating; everything older than 100 ms is in the trace"
else fail "$t"; fi

# --- symbolized reports: per-function truth, a call chain, inline frames --------
t=funcs
if traced $t "$BIN/truth_funcs" "$W/$t.truth" &&
	"$LDPROF" report --json "$W/$t.ldp" > "$W/$t.fn.json" &&
	"$LDPROF" report --json --by traceback "$W/$t.ldp" > "$W/$t.tb.json" &&
	$PY "$HERE/check_groups.py" "$W/$t.truth" "$W/$t.fn.json" "$W/$t.tb.json" truth_funcs.c; then
	pass "$t: leaks, temporaries, peak share and cross-thread frees exact per function; qsort callback chain and inline frame symbolized with file:line"
else fail "$t"; fi

t=cxx
if "$BIN/cxx_prog" > "$W/$t.bare" && traced $t "$BIN/cxx_prog" > "$W/$t.out" && cmp -s "$W/$t.bare" "$W/$t.out" &&
	grep -q 'caught 110' "$W/$t.out" && report "$W/$t.ldp" "$W/$t.json" &&
	$PY - "$W/$t.json" <<'PYEOF'; then
import json, sys
keys = [g["key"] for g in json.load(open(sys.argv[1]))["groups"]]
assert not [k for k in keys if k.startswith("_Z")], "mangled names left: %s" % keys
assert "make_widgets(int)" in keys, keys
assert "shop::Basket::fill(int)" in keys, keys
assert not [k for k in keys if k.startswith("std::")], "the standard library is no site: %s" % keys
assert "__cxa_allocate_exception" in keys, keys
PYEOF
	pass "$t: exceptions and bad_alloc work under the agent; names demangled (make_widgets(int), shop::Basket::fill(int))"
else fail "$t"; fi

# --- allocation sites in C++ as it ships: the program's functions, not std:: --
# cxx_sites (-O2) counts its allocations per function itself. By function,
# each count must be that function's, whatever std:: container made it
# (vector, map, unordered_map, make_shared, string, deque, list, thread),
# no site may be the standard library's, and with --site-skip none the
# plumbing is back. Text views shorten template arguments (std::unique_ptr<...>),
# --full-names and exports keep them. _start, which has no debug info, must
# have no line (libdw's lookup gave it main's last one when main's line
# sequence ends with a row at its end, as GCC 12 makes it here).
t=cxx_sites
if "$BIN/cxx_sites" "$W/$t.bare.truth" > "$W/$t.bare" && traced $t "$BIN/cxx_sites" "$W/$t.truth" > "$W/$t.out" &&
	cmp -s "$W/$t.bare" "$W/$t.out" && cmp -s "$W/$t.bare.truth" "$W/$t.truth" &&
	report "$W/$t.ldp" "$W/$t.json" && "$LDPROF" report --json --site-skip none "$W/$t.ldp" > "$W/$t.none.json" &&
	"$LDPROF" report --by traceback "$W/$t.ldp" > "$W/$t.tb.txt" &&
	"$LDPROF" report --by traceback --full-names "$W/$t.ldp" > "$W/$t.tbfull.txt" &&
	"$LDPROF" export --format collapsed -o "$W/$t.collapsed" "$W/$t.ldp" &&
	grep -qF 'std::thread::_M_start_thread(std::unique_ptr<...>, void (*)())' "$W/$t.tb.txt" &&
	! grep -qF 'std::unique_ptr<std::thread::_State' "$W/$t.tb.txt" &&
	grep -qF 'std::unique_ptr<std::thread::_State, std::default_delete<std::thread::_State> >' "$W/$t.tbfull.txt" &&
	grep -qF 'std::unique_ptr<std::thread::_State, std::default_delete<std::thread::_State> >' "$W/$t.collapsed" &&
	"$LDPROF" report --json --by traceback --top 1000 "$W/$t.ldp" > "$W/$t.tb.json" &&
	$PY - "$W/$t.truth" "$W/$t.json" "$W/$t.none.json" "$W/$t.tb.json" "$BIN/cxx_sites" <<'PYEOF'; then
import json, subprocess, sys
truth = {l.split()[1]: int(l.split()[3]) for l in open(sys.argv[1]) if l.startswith("fn ")}
groups = json.load(open(sys.argv[2]))["groups"]
def count(name):
    return sum(g["heap"]["allocation_count"] for g in groups if g["key"] == name or g["key"].startswith((name + "(", name + "[")))
bad = {n: (count(n), want) for n, want in truth.items() if count(n) != want}
assert not bad, "allocations by function (ldprof, program): %s" % bad
plumbing = [g["key"] for g in groups if g["key"].startswith(("std::", "__gnu_cxx::", "operator new"))]
assert not plumbing, "sites in the standard library: %s" % plumbing
none = [g["key"] for g in json.load(open(sys.argv[3]))["groups"]]
assert any(k.startswith("std::") for k in none), "--site-skip none: no std:: site left: %s" % none
lines = {(f["function"], f["file"]) for g in json.load(open(sys.argv[4]))["groups"] for f in g["frames"]}
assert ("_start", None) in lines and not [f for f in lines if f[0] == "_start" and f[1]], lines
# Is the trap there: a line row at the very end of a sequence, just before _start?
start = [int(l.split()[0], 16) for l in subprocess.run(["nm", sys.argv[5]], capture_output=True,
         text=True).stdout.splitlines() if l.endswith(" _start")][0]
rows = [l.split() for l in subprocess.run(["readelf", "--debug-dump=decodedline", sys.argv[5]], capture_output=True,
        text=True).stdout.splitlines()]
rows = [(r[1], int(r[2], 16)) for r in rows if len(r) >= 3 and r[2].startswith("0x")]
trap = any(b[0] == "-" and a[0] != "-" and a[1] == b[1] and 0 <= start - b[1] < 16 for a, b in zip(rows, rows[1:]))
print("     %d functions exact; _start has no line (%s)" % (len(truth), "the trap is set in this build" if trap
      else "this compiler did not set the trap: the line check proves less"))
PYEOF
	pass "$t: C++ -O2 (vector, map, unordered_map, make_shared, string, deque, list, thread): each allocation at the program's own function, none in std::; template arguments short in text, full with --full-names and in exports; _start without a line"
else fail "$t"; fi

# --- stacks deeper than --max-depth: [truncated] at their root, everywhere -----
# deep_prog allocates 40 blocks 200 frames down and 25 from main: the deep
# stack keeps its 64 innermost frames and is flagged truncated. Every view,
# export and JSON must start it at [truncated] (never at an inner frame as
# if that were where the program began), the shallow one must not, and the
# report must count it.
t=truncated
if traced $t "$BIN/deep_prog" > "$W/$t.out" && "$LDPROF" report --json "$W/$t.ldp" > "$W/$t.json" &&
	"$LDPROF" report "$W/$t.ldp" > "$W/$t.txt" &&
	"$LDPROF" report --json --by traceback "$W/$t.ldp" > "$W/$t.tb.json" &&
	"$LDPROF" flame -o "$W/$t.svg" "$W/$t.ldp" &&
	for f in collapsed speedscope json massif dhat pprof; do
		"$LDPROF" export --format $f -o "$W/$t.x.$f" "$W/$t.ldp" || exit 1
	done &&
	{ ! command -v go > /dev/null || go tool pprof -traces "$W/$t.x.pprof" > "$W/$t.traces" 2> /dev/null; } &&
	$PY - "$W/$t" <<'PYEOF'; then
import json, os, re, sys
w = sys.argv[1]
T = "[truncated]"
fi = json.load(open(w + ".json"))["fidelity"]
assert fi["truncated_stack_count"] >= 1 and fi["truncated_allocation_count"] >= 40 and fi["max_frame_count"] == 64, fi
assert any(T in n for n in fi["notes"]) and "starts at " + T in open(w + ".txt").read(), fi["notes"]
tb = json.load(open(w + ".tb.json"))["groups"]
deep = [g for g in tb if g["frames"] and g["frames"][0]["function"].startswith("descend")]
shal = [g for g in tb if g["frames"] and g["frames"][0]["function"].startswith("shallow")]
assert len(deep) == 1 and deep[0]["heap"]["allocation_count"] == 40 and deep[0]["frames"][-1]["function"] == T, deep
assert len(shal) == 1 and shal[0]["heap"]["allocation_count"] == 25 and T not in [f["function"] for f in shal[0]["frames"]], shal
# pictures and exports: the deep stack's root is [truncated], the shallow one's is not
svg = open(w + ".svg").read()
assert T in svg, "flame graph"
lines = open(w + ".x.collapsed").read().splitlines()
assert [l for l in lines if l.startswith(T + ";") and "descend" in l and l.endswith(" 3840")], lines
assert not [l for l in lines if "shallow" in l and T in l], lines
ss = json.load(open(w + ".x.speedscope"))
names = [f["name"] for f in ss["shared"]["frames"]]
samples = ss["profiles"][0]["samples"]
assert [s for s in samples if names[s[0]] == T and names[s[-1]].startswith("descend")], "speedscope"
assert not [s for s in samples if names[s[-1]].startswith("shallow") and T in [names[i] for i in s]], "speedscope"
ex = json.load(open(w + ".x.json"))["segments"][0]
frames = ex["frames"]
st = [x for x in ex["stacks"] if x["heap"]["allocation_count"] == 40]
assert len(st) == 1 and st[0]["truncated"] and frames[st[0]["frames"][-1]]["function"] == T, "json export"
assert "0x0: " + T in open(w + ".x.massif").read(), "massif"
assert T in open(w + ".x.dhat").read(), "dhat"
if os.path.exists(w + ".traces"):  # go tool pprof -traces: each trace innermost first
    traces = open(w + ".traces").read().split("-----------+-------------------------------------------------------")
    assert [x for x in traces if "descend" in x and x.strip().splitlines()[-1].strip() == T], "pprof"
print("     checked: report (text, JSON, tracebacks), flame, collapsed, speedscope, json, massif, dhat%s"
      % (", pprof" if os.path.exists(w + ".traces") else " (pprof: go not installed)"))
PYEOF
	pass "$t: a stack deeper than --max-depth starts at [truncated] in every view, export and JSON; the report counts it"
else fail "$t"; fi

# --- AddressSanitizer builds: traced in front of ASan's allocator -------------
# ldprof record sets ASAN_OPTIONS so that the program starts with the agent
# first; ASan must keep working (its leak report and exit status as bare)
# and the trace must hold the program's allocations, function by function.
t=asan
if "$BIN/asan_prog" > "$W/$t.bare" 2> "$W/$t.bare.err"; then st_bare=0; else st_bare=$?; fi
if "$LDPROF" record -o "$W/$t.ldp" -- "$BIN/asan_prog" > "$W/$t.out" 2> "$W/$t.err"; then st=0; else st=$?; fi
if [ "$st" = "$st_bare" ] && cmp -s "$W/$t.bare" "$W/$t.out" &&
	grep -q 'built with AddressSanitizer' "$W/$t.err" &&
	[ "$(grep SUMMARY "$W/$t.bare.err")" = "$(grep SUMMARY "$W/$t.err")" ] &&
	grep -q 'SUMMARY: AddressSanitizer: 4242 byte(s) leaked in 1 allocation(s)' "$W/$t.err" &&
	report "$W/$t.ldp" "$W/$t.json" && $PY - "$W/$t.json" <<'PYEOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
fn = {g["function"]: g for g in r["groups"]}
want = {"churn": (500, 500, 0), "keep": (100, 50, 50), "lose": (1, 0, 1), "worker": (300, 300, 0)}
got = {k: (fn[k]["heap"]["allocation_count"], fn[k]["heap"]["free_count"], fn[k]["heap"]["leaked_count"]) if k in fn else None
       for k in want}
assert got == want, got
assert fn["lose"]["heap"]["leaked_bytes"] == 4242, fn["lose"]
assert "libasan.so" in r["fidelity"]["asan_runtime"], r["fidelity"]
assert any("AddressSanitizer" in n for n in r["fidelity"]["notes"]), r["fidelity"]["notes"]
print("     %d allocations in all, %d of them the program's own: the rest are ASan's runtime's (dlsym at start...)"
      % (r["heap"]["allocation_count"], sum(w[0] for w in want.values())))
PYEOF
	pass "$t: an ASan build runs traced (ASan's leak report and exit status $st as bare); its allocations exact by function"
else fail "$t (status $st, bare $st_bare): $(grep -v '^ *#' "$W/$t.err" | head -3)"; fi

# --- Python: pymalloc hides small objects; record says how to see them ----------
# Default: a hint on stderr, and the report names pymalloc's arenas. With
# --python-malloc (or PYTHONMALLOC=malloc given with env) no hint, no arenas,
# every object a malloc.
if [ -x /usr/bin/python3 ]; then
	t=python_hint
	code='import os; d = {i: str(i) * 3 for i in range(20000)}; print(os.environ.get("PYTHONMALLOC", "-"), len(d))'
	if env -u PYTHONMALLOC "$LDPROF" record -o "$W/$t.ldp" -- /usr/bin/python3 -c "$code" > "$W/$t.out" 2> "$W/$t.err" &&
		"$LDPROF" record --python-malloc -o "$W/${t}_m.ldp" -- /usr/bin/python3 -c "$code" > "$W/$t.m.out" 2> "$W/$t.m.err" &&
		env -u PYTHONMALLOC "$LDPROF" record -o "$W/${t}_e.ldp" -- env PYTHONMALLOC=malloc /usr/bin/python3 -c "$code" \
			> /dev/null 2> "$W/$t.e.err" &&
		[ "$(cat "$W/$t.out")" = "- 20000" ] && [ "$(cat "$W/$t.m.out")" = "malloc 20000" ] &&
		grep -q 'hint: .*pymalloc.*--python-malloc' "$W/$t.err" &&
		! grep -q 'hint:' "$W/$t.m.err" "$W/$t.e.err" &&
		report "$W/$t.ldp" "$W/$t.json" && report "$W/${t}_m.ldp" "$W/$t.m.json" &&
		"$LDPROF" report "$W/$t.ldp" > "$W/$t.txt" && grep -q 'ran with pymalloc' "$W/$t.txt" &&
		$PY - "$W/$t.json" "$W/$t.m.json" <<'PYEOF'; then
import json, sys
d, m = (json.load(open(f)) for f in sys.argv[1:3])
p = d["fidelity"]["pymalloc"]
assert p and p["arena_count"] >= 1 and p["arena_bytes"] % p["arena_count"] == 0 and "python" in p["image"], p
assert any("PYTHONMALLOC=malloc" in n for n in d["fidelity"]["notes"]), d["fidelity"]["notes"]
assert m["fidelity"]["pymalloc"] is None, m["fidelity"]
assert m["heap"]["allocation_count"] > 10 * d["heap"]["allocation_count"], (m["heap"]["allocation_count"], d["heap"]["allocation_count"])
print("     pymalloc: %d arenas, %d heap allocations; PYTHONMALLOC=malloc: %d heap allocations"
      % (p["arena_count"], d["heap"]["allocation_count"], m["heap"]["allocation_count"]))
PYEOF
		pass "$t: record of python3 hints at --python-malloc; the report names pymalloc's arenas; --python-malloc sees every object"
	else fail "$t"; fi
fi

# --- allocations before the agent's constructor, against massif ---------------
# libstdc++'s emergency pool and a linked library's constructor allocate before
# the agent starts: the trace must hold them, so that its totals equal
# valgrind's record of every call (--trace-malloc) and its peak equals
# massif's peak snapshot, to the byte. heap-admin 0 and sizes that are
# multiples of 16 (cxx_early.cpp): massif's peak is the heap's alone.
t=cxx_massif
if ! command -v valgrind >/dev/null; then
	pass "$t: valgrind not installed: massif comparison skipped"
elif "$BIN/cxx_early" > "$W/$t.bare" && traced_f $t --cpu 99 --wall 99 -- "$BIN/cxx_early" > "$W/$t.out" &&
	cmp -s "$W/$t.bare" "$W/$t.out" && report "$W/$t.ldp" "$W/$t.json" &&
	"$LDPROF" report --json --by function "$W/$t.ldp" > "$W/$t.fn.json" &&
	valgrind --tool=massif --pages-as-heap=no --peak-inaccuracy=0.0 --heap-admin=0 --trace-malloc=yes \
		--log-file="$W/$t.vg" --massif-out-file="$W/$t.massif" "$BIN/cxx_early" > /dev/null &&
	$PY - "$W/$t.json" "$W/$t.fn.json" "$W/$t.vg" "$W/$t.massif" <<'PYEOF'; then
import json, re, sys
h = json.load(open(sys.argv[1]))["heap"]
groups = json.load(open(sys.argv[2]))["groups"]
# valgrind's own record of every successful allocation call
calls = nbytes = 0
for line in open(sys.argv[3]):
    m = re.match(r"^--\d+-- ([A-Za-z_0-9]+)\((.*)\) = (0x[0-9A-Fa-f]+)$", line.strip())
    if not m or int(m.group(3), 16) == 0:
        continue
    fn, a = m.group(1), [int(x, 0) for x in m.group(2).split(",")]
    sizes = {"malloc": lambda: a[0], "calloc": lambda: a[0] * a[1], "realloc": lambda: a[1],
             "memalign": lambda: a[1], "aligned_alloc": lambda: a[1], "valloc": lambda: a[0]}
    if fn.startswith("_Zn"):
        size = a[0]
    elif fn in sizes:
        size = sizes[fn]()
    else:
        continue
    calls += 1
    nbytes += size
# massif's peak snapshot
peak = None
snap = {}
for line in open(sys.argv[4]):
    k, _, v = line.strip().partition("=")
    if k == "mem_heap_B":
        snap["heap"] = int(v)
    elif k == "heap_tree" and v == "peak":
        peak = snap["heap"]
assert calls > 200 and peak, (calls, peak)
assert (h["allocation_count"], h["allocated_bytes"]) == (calls, nbytes), \
    f"ldprof {h['allocation_count']} allocations, {h['allocated_bytes']} bytes; valgrind {calls}, {nbytes}"
assert h["peak_bytes"] == peak, f"peak: ldprof {h['peak_bytes']}, massif {peak}"
pool = [g for g in groups if (g["module"] or "").startswith("libstdc++") and g["heap"]["allocated_bytes"] == 72704]
assert pool, "no 72 704-byte allocation in libstdc++ (its emergency pool)"
p = {g["function"]: g for g in groups}.get("plugin_init")
assert p and (p["heap"]["allocation_count"], p["heap"]["allocated_bytes"], p["heap"]["free_count"]) == (4, 4096 + 10016 + 48 + 256, 2), p
print("     %d allocations, %d bytes, peak %d: as valgrind and massif" % (calls, nbytes, peak))
PYEOF
	pass "$t: a C++ program's allocations before the agent started (libstdc++'s emergency pool, a library constructor) are in the trace: totals and peak equal massif's"
else fail "$t"; fi

# --- C++ programs whose operator new is not glibc's: tcmalloc, jemalloc -------
# The same program built three ways makes 40,002 blocks through every form of
# operator new (and frees them through every delete) in alloc_site: each
# build's trace has exactly those in alloc_site, the allocator's own internal
# allocations elsewhere, and names the allocator. The glibc build's totals
# stay those valgrind checks in cxx_massif (libstdc++'s new calls malloc, one
# event per block). Then jemalloc's own API, called directly.
t=cxx_allocators
allocators_check() { # NAME SITE ALLOCATOR-WORD: the site's group is the program's truth
	$PY - "$W/$1.truth" "$W/$1.json" "$2" "$3" <<'PYEOF'
import json, sys
truth = dict(l.split() for l in open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
site = [g for g in d["groups"] if g["function"] and g["function"].startswith(sys.argv[3] + "(")
        or g["function"] == sys.argv[3]]
assert len(site) == 1, [g["function"] for g in d["groups"]]
g = site[0]
want = int(truth["allocations"])
assert g["heap"]["allocation_count"] == want, f"{sys.argv[3]}: {g['heap']['allocation_count']} allocations traced, the program made {want}"
if sys.argv[4] != "glibc":  # glibc's aligned new asks malloc for the size rounded up to the alignment
    assert g["heap"]["allocated_bytes"] == int(truth["bytes"]), (g["heap"]["allocated_bytes"], truth["bytes"])
others = d["heap"]["allocation_count"] - g["heap"]["allocation_count"]
assert d["heap"]["unknown_free_count"] == 0, d["heap"]
alloc = d["segments"][0]["allocator"] or ""
assert sys.argv[4] in alloc, f"allocator not named: {alloc!r}"
print("     %s: %d allocations in %s as the program counted, %d elsewhere (runtime, allocator); allocator: %s"
      % (sys.argv[4], want, sys.argv[3], others, alloc))
PYEOF
}
ok=1
for v in glibc tcmalloc jemalloc; do
	b="$BIN/cxx_alloc"; [ $v = glibc ] || b="$BIN/cxx_alloc-$v"
	"$b" > "$W/$t.$v.bare" && traced $t.$v "$b" > "$W/$t.$v.truth" && cmp -s "$W/$t.$v.bare" "$W/$t.$v.truth" &&
		"$LDPROF" report --json --by function "$W/$t.$v.ldp" > "$W/$t.$v.json" &&
		allocators_check $t.$v alloc_site $v || { echo "     $v build: wrong"; ok=0; }
done
"$BIN/jemalloc_api" > "$W/$t.api.bare" && traced $t.api "$BIN/jemalloc_api" > "$W/$t.api.truth" &&
	cmp -s "$W/$t.api.bare" "$W/$t.api.truth" &&
	"$LDPROF" report --json --by function "$W/$t.api.ldp" > "$W/$t.api.json" &&
	allocators_check $t.api api_site jemalloc || { echo "     jemalloc's mallocx/rallocx/xallocx/dallocx/sdallocx: wrong"; ok=0; }
if [ $ok = 1 ]; then pass "$t: operator new/delete (every form) under glibc, tcmalloc and jemalloc, and jemalloc's own API: the program's counts, the allocator named"
else fail "$t"; fi

# --- the agent's variables out of the program's sight, children still traced --
# The program sees no LD_PRELOAD entry of ours and no LDPROF_* (getenv and
# environ); the children it starts by execv, execvp, posix_spawn and system
# see none either, and each has a trace of its own; python3's os.environ has
# none, and its subprocess child is traced.
t=env_hidden
mkdir -p "$W/$t"
if traced $t/p "$BIN/env_prog" parent "$W/$t" > "$W/$t.out" && grep -qx "agent variables seen: 0" "$W/$t.out"; then
	ok=1
	for how in execv execvp posix_spawn system; do
		read -r pid n < "$W/$t/$how.pid" || { echo "     $how: the child did not run"; ok=0; continue; }
		[ "$n" = 0 ] || { echo "     $how: the child sees $n agent variables"; ok=0; }
		[ -s "$W/$t/p.$pid.ldp" ] || { echo "     $how: no trace of the child (pid $pid)"; ok=0; }
	done
	# a child the program starts with LD_PRELOAD set empty stays untraced
	read -r pid n < "$W/$t/untraced.pid" && [ ! -e "$W/$t/p.$pid.ldp" ] ||
		{ echo "     a child given LD_PRELOAD= by the program was traced (or did not run)"; ok=0; }
	PYTHONMALLOC=malloc traced $t/py /usr/bin/python3 -c '
import os, subprocess
print(sorted(k for k in os.environ if k.startswith("LDPROF") or k == "LD_PRELOAD"))
subprocess.run(["/usr/bin/python3", "-c", "import os; print(os.getpid())"])' > "$W/$t.py"
	pypid=$(sed -n 2p "$W/$t.py")
	[ "$(head -1 "$W/$t.py")" = "[]" ] || { echo "     python3 sees: $(head -1 "$W/$t.py")"; ok=0; }
	[ -n "$pypid" ] && [ -s "$W/$t/py.$pypid.ldp" ] || { echo "     python3's subprocess child has no trace"; ok=0; }
	if [ $ok = 1 ]; then pass "$t: no LD_PRELOAD/LDPROF_* in the program's or python3's environment; children by execv, execvp, posix_spawn, system, subprocess traced; one given LD_PRELOAD= not"
	else fail "$t"; fi
else fail "$t: $(cat "$W/$t.out")"; fi

# --- programs nobody here wrote: unchanged output, counts as heaptrack's ------
# Allocations within 1 % of heaptrack's, and `temporary` equal to heaptrack's
# (docs/DEFINITIONS.md: a free whose previous event in the whole process is
# an allocation of the same size from the same stack):
#   runs    the two tools' own runs of the program: heaptrack's figure less its
#           slips (ht_temporary.py: it takes allocation index 0, its first
#           (size, stack) pair, for "no allocation just before" too; the one
#           seen here is its own libstdc++'s pool, freed at exit after a free);
#   events  heaptrack_print over ldprof's own events (ht_temporary.py convert),
#           for a program whose runs differ: python3's allocations depend on
#           addresses, so two runs of one script differ by a few temporaries
#           under either tool (even with ASLR off and PYTHONHASHSEED=0: the
#           two tools leave different heap layouts).
real_program() {
	local t=$1 temp=$2
	shift 2
	if ! "$@" > "$W/$t.bare" 2>&1 < "$W/$t.in"; then fail "$t: bare run failed"; return; fi
	if ! traced $t "$@" > "$W/$t.out" 2>&1 < "$W/$t.in" || ! cmp -s "$W/$t.bare" "$W/$t.out"; then
		fail "$t: output or exit status changed under ldprof"; return
	fi
	report "$W/$t.ldp" "$W/$t.json" || { fail "$t: report"; return; }
	local ours ours_temp
	read -r ours ours_temp < <($PY -c 'import json,sys; h=json.load(open(sys.argv[1]))["heap"]
print(h["allocation_count"], h["temporary_count"])' "$W/$t.json")
	if ! command -v heaptrack >/dev/null; then
		pass "$t: output unchanged, $ours allocations (heaptrack not installed: comparisons skipped)"
		return
	fi
	heaptrack -o "$W/$t.ht" "$@" < "$W/$t.in" > /dev/null 2>&1
	local theirs theirs_temp printed slips
	theirs=$(heaptrack_print "$W/$t.ht".* 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}')
	theirs_temp=$(heaptrack_print "$W/$t.ht".* 2>/dev/null | awk '/^temporary memory allocations:/ {print $4}')
	read -r _ printed _ slips < <($PY "$HERE/ht_temporary.py" slips "$W/$t.ht".*)
	if ! $PY -c 'import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if b and abs(a-b) <= b/100 else 1)' \
		"$ours" "${theirs:-0}"; then
		fail "$t: $ours allocations vs heaptrack's ${theirs:-none}"; return
	fi
	if [ "$printed" != "$theirs_temp" ]; then
		fail "$t: ht_temporary.py reads heaptrack's file as $printed temporaries, heaptrack_print says ${theirs_temp:-none}"
		return
	fi
	local how
	if [ "$temp" = runs ]; then
		how="heaptrack's run: $theirs_temp less $slips slip(s)"
		[ "$ours_temp" = $((theirs_temp - slips)) ] || { fail "$t: temporary $ours_temp vs $how"; return; }
	else
		"$LDPROF" dump --events "$W/$t.ldp" > "$W/$t.dump" && $PY "$HERE/ht_temporary.py" convert "$W/$t.dump" "$W/$t.conv.zst"
		local same
		same=$(heaptrack_print "$W/$t.conv.zst" 2>/dev/null | awk '/^temporary memory allocations:/ {print $4}')
		rm -f "$W/$t.dump"
		how="heaptrack_print over the same events: ${same:-none}; its own run: $theirs_temp less $slips slip(s)"
		[ "$ours_temp" = "$same" ] || { fail "$t: temporary $ours_temp vs $how"; return; }
	fi
	pass "$t: output unchanged; $ours allocations vs heaptrack's $theirs (within 1%); temporary $ours_temp ($how)"
}
printf 'd = {}\nfor i in range(100000):\n    d[str(i)] = [i, str(i * 2)]\nprint(len(d), sum(len(v[1]) for v in d.values()))\n' > "$W/py.script"
: > "$W/python_dict.in"
PYTHONMALLOC=malloc real_program python_dict events /usr/bin/python3 "$W/py.script"
if command -v sqlite3 >/dev/null; then
	cat > "$W/sqlite.in" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000)
INSERT INTO t(name, score) SELECT 'name' || x, x * 0.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(score) FROM t WHERE name LIKE 'name1%';
UPDATE t SET name = name || '-' || (id % 13) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 7 = 0;
SELECT substr(name, 1, 6), count(*), avg(score) FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 5;
SELECT length(group_concat(name)) FROM (SELECT name FROM t ORDER BY score DESC LIMIT 2000);
SELECT printf('%s-%d', name, id) FROM t WHERE id < 50 ORDER BY name;
SQL
	real_program sqlite runs sqlite3 :memory:
else fail "sqlite: sqlite3 is not installed (scripts/setup-deps.sh installs it)"; fi

# --- traces from another machine: missing or changed binaries, --sysroot, --debug-dir
t=offline
mkdir -p "$W/app" "$W/root"
cp "$BIN/truth_funcs" "$W/app/prog"
if traced $t "$W/app/prog" "$W/$t.truth"; then
	# The binary moves to a "sysroot" (as if copied from the server): found there.
	mkdir -p "$W/root$W/app" && mv "$W/app/prog" "$W/root$W/app/prog"
	"$LDPROF" report --json "$W/$t.ldp" > "$W/$t.missing.json" 2> "$W/$t.missing.err"
	"$LDPROF" report --json --sysroot "$W/root" "$W/$t.ldp" > "$W/$t.sysroot.json" 2> "$W/$t.sysroot.err"
	# Stripped binary at the recorded path, debug info by build-id under --debug-dir.
	id=$("$LDPROF" dump "$W/$t.ldp" | awk '/MODULE 0 / {for (i=1;i<=NF;i++) if ($i=="build-id") print $(i+1)}')
	mkdir -p "$W/dbg/.build-id/${id:0:2}"
	objcopy --only-keep-debug "$W/root$W/app/prog" "$W/dbg/.build-id/${id:0:2}/${id:2}.debug"
	objcopy --strip-all "$W/root$W/app/prog" "$W/app/prog"
	"$LDPROF" report --json --debug-dir "$W/dbg" "$W/$t.ldp" > "$W/$t.debugdir.json" 2> "$W/$t.debugdir.err"
	# Stripped with a .gnu_debuglink, its debug file in .debug beside it: libdw's
	# default search finds it, no option (the reporter looks there before asking
	# libdw, to spare it loading libdebuginfod when nothing is to be found).
	mkdir -p "$W/app/.debug"
	objcopy --only-keep-debug "$W/root$W/app/prog" "$W/app/.debug/prog.debug"
	objcopy --strip-all --add-gnu-debuglink="$W/app/.debug/prog.debug" "$W/root$W/app/prog" "$W/app/prog"
	"$LDPROF" report --json "$W/$t.ldp" > "$W/$t.debuglink.json" 2> "$W/$t.debuglink.err"
	rm -r "$W/app/.debug"
	# A rebuilt binary at the recorded path: a different build-id.
	cp "$BIN/truth_single" "$W/app/prog"
	"$LDPROF" report --json "$W/$t.ldp" > "$W/$t.changed.json" 2> "$W/$t.changed.err"
	if $PY - "$W/$t" <<'PYEOF'; then
import json, sys
w = sys.argv[1]
def keys(name):
    return {g["key"] for g in json.load(open(f"{w}.{name}.json"))["groups"]}
missing, sysroot, debugdir, changed = keys("missing"), keys("sysroot"), keys("debugdir"), keys("changed")
debuglink = keys("debuglink")
assert {"leak_maker", "temp_churn"} <= debuglink, debuglink
assert open(f"{w}.debuglink.err").read() == "", open(f"{w}.debuglink.err").read()
assert any(k.startswith("prog+0x") for k in missing), missing
assert "not found" in open(f"{w}.missing.err").read()
assert {"leak_maker", "temp_churn"} <= sysroot, sysroot
assert open(f"{w}.sysroot.err").read() == "", open(f"{w}.sysroot.err").read()
assert {"leak_maker", "temp_churn"} <= debugdir, debugdir
assert any(k.startswith("prog+0x") for k in changed) and "leak_maker" not in changed, changed
err = open(f"{w}.changed.err").read()
assert "build-id differs" in err and err.count("\n") == 1, err
PYEOF
		pass "$t: missing binary -> prog+0x..; --sysroot, --debug-dir (build-id) and a debuglink in .debug find symbols; a rebuilt binary is detected by build-id, warned once"
	else fail "$t"; fi
else fail "$t: record"; fi

# --- snapshots and diffs ---------------------------------------------------------
t=phases
if "$BIN/truth_phases" "$W/$t.bare" 1000 10 > "$W/$t.bare.out" && grep -q 'active 0' "$W/$t.bare.out" &&
	traced $t "$BIN/truth_phases" "$W/$t.truth" 1000 10 > "$W/$t.out" && grep -q 'active 1' "$W/$t.out" &&
	traced ${t}2 "$BIN/truth_phases" "$W/$t.truth2" 3000 10 > /dev/null &&
	$PY - "$LDPROF" "$W" <<'PYEOF'; then
import json, subprocess, sys
ldprof, w = sys.argv[1], sys.argv[2]
def diff(*args):
    return json.loads(subprocess.run([ldprof, "diff", "--json", "--top", "0", *args], check=True,
                                     capture_output=True, text=True).stdout)
n = 0
for line in open(f"{w}/phases.truth"):
    f = line.split()
    if f[0] != "diff":
        continue
    _, a, b, fn, size, count = f
    d = diff(f"{w}/phases.ldp", "--from", a, "--to", b)
    g = {x["key"]: x for x in d["groups"]}
    got = (g[fn]["heap"]["change_bytes"], g[fn]["heap"]["change_count"]) if fn in g else (0, 0)
    assert got == (int(size), int(count)), (a, b, fn, got, size, count, d)
    n += 1
# Two runs, different ASLR bases, matched by function: keep_blocks grew by
# (1500 - 500) blocks of 100 bytes at C.
d = diff(f"{w}/phases.ldp", f"{w}/phases2.ldp", "--at", "C")
g = {x["key"]: x for x in d["groups"]}
assert (g["keep_blocks"]["heap"]["change_bytes"], g["keep_blocks"]["heap"]["change_count"]) == (100000, 1000), d
assert "keep_more" not in g, d  # same in both runs: no change, not listed
# Cumulative: main holds everything live at C that came from its callees.
c = diff(f"{w}/phases.ldp", "--from", "start", "--to", "C", "--cumulative")
g = {x["key"]: x for x in c["groups"]}
assert g["main"]["heap"]["change_bytes"] == 500 * 100 + 10 * 200, g["main"]
# Paused allocations are not in the trace; their frees are counted apart,
# as frees of blocks allocated while paused (docs/ATTACH.md), not unknown.
r = json.loads(subprocess.run([ldprof, "report", "--json", f"{w}/phases.ldp"], check=True,
                              capture_output=True, text=True).stdout)
assert r["heap"]["paused_free_count"] == 50 and r["heap"]["unknown_free_count"] == 0, r["heap"]
assert r["heap"]["pause_count"] == 1, r["heap"]
assert "paused_alloc" not in {x["key"] for x in r["groups"]}
print(f"     {n} diffs within a run, one across runs, one cumulative: exact")
PYEOF
	pass "$t: snapshot diffs by function exact (one run, two runs, cumulative); pause/resume; API inert without the agent"
else fail "$t"; fi

# Signals on a loaded machine: the program runs until told to stop (its
# READY.stop file), each signal is sent only after the one before it left the
# process's pending set (two pending SIGUSR2 would be one), and interval
# snapshots are checked against the time the program says it ran.
wait_ready() { # FILE: the program wrote its pid (60 s at most)
	for _ in $(seq 3000); do [ -s "$1" ] && return 0; sleep 0.02; done
	return 1
}
signal_taken() { # PID SIGNUM: until no longer pending for the process (30 s at most)
	local mask
	mask=$(printf '%x' $((1 << ($2 - 1))))
	for _ in $(seq 1500); do
		$PY -c 'import sys
st = dict(l.split(":", 1) for l in open(f"/proc/{sys.argv[1]}/status") if ":" in l)
sys.exit(1 if (int(st["ShdPnd"], 16) | int(st["SigPnd"], 16)) & int(sys.argv[2], 16) else 0)' "$1" "$mask" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

t=snap_signal
rm -f "$W/$t.ready" "$W/$t.ready.stop"
"$LDPROF" record -q -o "$W/$t.ldp" --snapshot-signal USR2 --snapshot-interval 0.2 -- \
	"$BIN/snap_signal" "$W/$t.ready" 1500 > "$W/$t.out" &
pid=$!
if wait_ready "$W/$t.ready"; then
	p=$(cat "$W/$t.ready")
	kill -USR1 "$p"; signal_taken "$p" 10; kill -USR2 "$p"; signal_taken "$p" 12
	kill -USR2 "$p"; signal_taken "$p" 12
fi
touch "$W/$t.ready.stop"
wait $pid
if [ "$(head -1 "$W/$t.out")" = "usr1 1 usr2 0" ] &&
	"$LDPROF" snapshots --json "$W/$t.ldp" > "$W/$t.json" && $PY - "$W/$t.json" "$W/$t.out" <<'PYEOF'; then
import json, sys
s = json.load(open(sys.argv[1]))["snapshots"]
ran_ms = int(open(sys.argv[2]).read().split("ran ")[1])
kinds = [x["kind"] for x in s]
assert kinds.count("signal") == 2, kinds
# Every 0.2 s of the run, never early and never a burst to catch up after a
# stall (docs/CONFIG.md): at most one per 200 ms the program ran, and (the
# writer ticks every millisecond) at least 2 in its 1.5 s or more.
times = [x["time_ns"] for x in s if x["kind"] == "interval"]
assert 2 <= len(times) <= ran_ms // 200 + 1, (len(times), ran_ms)
assert times == sorted(times) and times[0] >= 180_000_000, times
print(f"     {len(times)} interval snapshots in {ran_ms} ms")
PYEOF
	pass "$t: --snapshot-signal USR2 took 2 snapshots, --snapshot-interval 0.2 took $(grep -o '"kind":"interval"' "$W/$t.json" | wc -l); the program's own SIGUSR1 handler untouched, no EINTR"
else fail "$t: $(cat "$W/$t.out")"; fi

t=own_usr2
rm -f "$W/$t.ready" "$W/$t.ready.stop"
"$LDPROF" record -q -o "$W/$t.ldp" -- "$BIN/snap_signal" "$W/$t.ready" 600 own-usr2 > "$W/$t.out" &
pid=$!
if wait_ready "$W/$t.ready"; then
	p=$(cat "$W/$t.ready")
	kill -USR2 "$p"; signal_taken "$p" 12; kill -USR2 "$p"; signal_taken "$p" 12
fi
touch "$W/$t.ready.stop"
wait $pid
if [ "$(head -1 "$W/$t.out")" = "usr1 0 usr2 2" ] && "$LDPROF" snapshots "$W/$t.ldp" | grep -vq signal; then
	pass "$t: a program using SIGUSR2 itself gets every SIGUSR2 when no snapshot signal is set"
else fail "$t: $(cat "$W/$t.out")"; fi

# --- ldprof check: the CI gate ----------------------------------------------------
t=check
peak=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["peak_bytes"])' "$W/single.json")
"$LDPROF" check "$W/single.ldp" --max-peak "$peak" --max-allocations 1000000 > "$W/$t.ok"; ok_rc=$?
"$LDPROF" check "$W/single.ldp" --max-peak 1KiB --max-leaked 0 > "$W/$t.broken"; broken_rc=$?
"$LDPROF" check "$W/phases2.ldp" --baseline "$W/phases.ldp" --max-growth 10 --at C > "$W/$t.growth"; growth_rc=$?
"$LDPROF" check "$W/phases.ldp" --baseline "$W/phases.ldp" --max-growth 0 --json > "$W/$t.same"; same_rc=$?
printf 'not a trace at all' > "$W/$t.bad.ldp"
"$LDPROF" check "$W/$t.bad.ldp" --max-peak 1GiB > /dev/null 2> "$W/$t.bad.err"; bad_rc=$?
"$LDPROF" check "$W/single.ldp" > /dev/null 2>&1; usage_rc=$?
if [ $ok_rc = 0 ] && [ $broken_rc = 1 ] && [ $growth_rc = 1 ] && [ $same_rc = 0 ] && [ $bad_rc = 2 ] &&
	[ $usage_rc = 2 ] && grep -q '^BROKEN max-peak: .* > 1.00 KiB' "$W/$t.broken" &&
	grep -q '^BROKEN max-leaked' "$W/$t.broken" && grep -q '^BROKEN max-growth: live at C' "$W/$t.growth" &&
	grep -q '"ok":true' "$W/$t.same" && [ "$(wc -l < "$W/$t.bad.err")" = 1 ]; then
	pass "$t: exit 0 for kept budgets, 1 for broken ones (each named with value and limit), 2 for a bad trace or no budget"
else fail "$t: rc ok=$ok_rc broken=$broken_rc growth=$growth_rc same=$same_rc bad=$bad_rc usage=$usage_rc"; fi

# --- the mapped channel and RSS ---------------------------------------------------
t=mapped
mkdir -p "$W/$t.dir"
if traced $t "$BIN/truth_mapped" "$W/$t.truth" "$W/$t.dir" && report "$W/$t.ldp" "$W/$t.json" &&
	"$LDPROF" diff --json "$W/$t.ldp" --from start --to exit > "$W/$t.diff.json" &&
	$PY - "$W/$t.truth" "$W/$t.json" "$W/$t.diff.json" <<'PYEOF'; then
import json, sys
truth = {}
fns = {}
files = {}
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] == "fn":
        fns[w[1]] = int(w[3])
    elif w[0] == "file":
        files.setdefault(w[1], {})[w[2]] = int(w[3])
    else:
        truth[w[0]] = int(w[1])
r = json.load(open(sys.argv[2]))
m = r["mapped"]
# the program's truth names, the report's
for k, ours in (("maps", "map_count"), ("remaps", "remap_count"), ("unmaps", "unmap_count"), ("mapped_bytes", "mapped_bytes"),
                ("peak_bytes", "peak_bytes"), ("live_at_exit_bytes", "live_at_exit_bytes")):
    assert m[ours] == truth[k], (k, m[ours], truth[k])
groups = {g["key"]: g for g in r["groups"]}
for f, v in fns.items():
    assert groups[f]["mapped"]["mapped_bytes"] == v, (f, groups[f]["mapped"]["mapped_bytes"], v)
assert r["heap"]["peak_bytes"] >= 16 << 20  # glibc mapped the 16 MiB block itself: heap, not mapped
# the mapped file, by its name, with its own bytes (anonymous mappings in no file's row)
named = {f["path"].rsplit("/", 1)[-1]: f for f in m["files"]}
assert set(named) == set(files), (sorted(named), files)
for name, want in files.items():
    for k, v in want.items():
        assert named[name][k] == v, (name, k, named[name][k], v)
d = json.load(open(sys.argv[3]))
assert d["total"]["mapped"]["change_bytes"] == truth["live_at_exit_bytes"], d["total"]
print(f"     maps {m['map_count']}, remaps {m['remap_count']}, unmaps {m['unmap_count']}, peak {m['peak_bytes']}, "
      f"at exit {m['live_at_exit_bytes']}: exact")
PYEOF
	pass "$t: anonymous and file mappings, a hole unmapped in the middle, mremap grow/shrink/move: exact; malloc's own mmap stays heap; the file named with its bytes; diffs cover it"
else fail "$t"; fi

# Every mapped file is named, by (device, inode), however many there are
# (the agent used to keep 4095 names): 4,500 files mapped twice each give
# 4,500 PATH records, one per file, each the file's path; the report names
# every one with its 2 mmap calls of one page each (text: the first --top).
t=mapped_names
mkdir -p "$W/$t.dir"
if traced $t "$BIN/many_files" "$W/$t.dir" 4500 && "$LDPROF" dump "$W/$t.ldp" > "$W/$t.dump" &&
	report "$W/$t.ldp" "$W/$t.json" && "$LDPROF" report --top 3 "$W/$t.ldp" > "$W/$t.txt" &&
	$PY - "$W/$t.dump" "$W/$t.dir" "$W/$t.json" "$W/$t.txt" <<'PYEOF'; then
import json, re, sys
names = [m.group(2) for m in re.finditer(r"PATH (\d+) (\S+)", open(sys.argv[1]).read())]
want = ["%s/file-%05d" % (sys.argv[2], i) for i in range(4500)]
assert sorted(names) == want, (len(names), names[:3])
files = json.load(open(sys.argv[3]))["mapped"]["files"]
assert [f["path"] for f in files] == want, (len(files), files[:2])  # equal bytes: by name
for f in files:
    assert (f["map_count"], f["mapped_bytes"], f["live_at_exit_bytes"]) == (2, 8192, 0), f
assert sum(f["peak_bytes"] for f in files) == 4096, [f for f in files if f["peak_bytes"]]  # one page live at a time
text = open(sys.argv[4]).read()
section = text[text.index("mapped files"):]
for p in want[:3]:
    assert re.search(r"8\.00 KiB .* 2 mmap calls +" + re.escape(p) + "\n", section), (p, section)
assert "... and 4497 more files" in section, section
print(f"     {len(names)} PATH records for 4500 files mapped twice; the report names all {len(files)}")
PYEOF
	pass "$t: 4,500 files mapped twice: one PATH record each, every name kept and shown by report with its bytes"
else fail "$t"; fi

t=python_rss
if PYTHONMALLOC=pymalloc traced $t /usr/bin/python3 -c 'd = {i: str(i) * 3 for i in range(1000000)}; print(len(d))' > /dev/null &&
	report "$W/$t.ldp" "$W/$t.json" && $PY - "$W/$t.json" <<'PYEOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
rss = r["rss"]
share = 100.0 * (rss["heap_at_peak_bytes"] + rss["mapped_at_peak_bytes"]) / rss["peak_bytes"]
print(f"     RSS peak {rss['peak_bytes'] >> 20} MiB: heap {rss['heap_at_peak_bytes'] >> 20} MiB + "
      f"mapped {rss['mapped_at_peak_bytes'] >> 20} MiB = {share:.0f}% of it")
assert r["mapped"]["peak_bytes"] > 50 << 20, r["mapped"]
assert share >= 80, share
PYEOF
	pass "$t: python3 building a large dict (pymalloc arenas are mmap'd): heap + mapped explain >= 80% of the RSS peak"
else fail "$t"; fi

# --- CPU and wall-clock sampling ------------------------------------------------
# shares TRUTH REPORT.json FIELD POINTS: each "share F PCT" of TRUTH is within
# POINTS of F's share of FIELD - or within 3 standard errors of a share
# measured from that many samples, when that is wider: a loaded machine gives
# the program fewer samples, and 3 points from 350 samples is barely one
# standard error (it failed about one run in four by chance alone).
shares() {
	$PY - "$@" <<'PYEOF'
import json, math, sys
truth, report, field, points = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
want = {l.split()[1]: float(l.split()[2]) for l in open(truth) if l.startswith("share ")}
groups = {g["key"]: g for g in json.load(open(report))["groups"]}
kind, field = field.split(".")  # cpu.self_sample_count
got = {f: groups.get(f, {}).get(kind, {}).get(field, 0) for f in want}
total = sum(got.values())
assert total > 0, "no samples in the measured functions"
res = {f: 100.0 * got[f] / total for f in want}
tol = {f: max(points, 300.0 * math.sqrt(want[f] / 100 * (1 - want[f] / 100) / total)) for f in want}
bad = [f for f in want if abs(res[f] - want[f]) > tol[f]]
print("     " + ", ".join(f"{f} {res[f]:.1f}% (truth {want[f]:.1f}% +-{tol[f]:.1f}, {got[f]} samples)" for f in want))
sys.exit(1 if bad else 0)
PYEOF
}

t=cpu_split
if traced_f $t --cpu 250 -- "$BIN/truth_cpu" "$W/$t.truth" 4 && report "$W/$t.ldp" "$W/$t.json" &&
	shares "$W/$t.truth" "$W/$t.json" cpu.self_sample_count 3 &&
	$PY - "$W/$t.truth" "$W/$t.json" <<'PYEOF'; then
import json, sys
# The second thread: its samples' weights add up to the CPU time it measured
# itself, within a tenth (samples the agent had no room for count apart).
# Counts alone would not: the kernel fires CPU timers at its tick, so a
# thread's period stretches, and each sample's weight is its real interval.
cpu_ns = {l.split()[1]: int(l.split()[2]) for l in open(sys.argv[1]) if l.startswith("cpu_ns ")}
r = json.load(open(sys.argv[2]))
got = {x["key"]: x for x in r["groups"]}["busy_other"]["cpu"]
want = cpu_ns["busy_other"]
lost_ns = r["cpu"]["lost_sample_count"] * 4_000_000
print(f"     busy_other: {got['self_sample_count']} samples, {got['self_ns'] / 1e6:.0f} ms, for {want / 1e6:.0f} ms "
      f"of CPU it measured")
assert want >= 500_000_000 and 0.9 * want - lost_ns <= got["self_ns"] <= 1.1 * want, (got, want, lost_ns)
PYEOF
	pass "$t: a 60/30/10 CPU split (thread CPU clock) found within 3 points (or 3 standard errors) while a second thread stays busy, sampled as its own CPU time says"
else fail "$t"; fi

t=wall_eintr
if traced_f $t --cpu 99 --wall 200 -- "$BIN/eintr_prog" "$W/$t.truth" 4 > "$W/$t.out" && [ "$(cat "$W/$t.out")" = done ] &&
	report "$W/$t.ldp" "$W/$t.json" && shares "$W/$t.truth" "$W/$t.json" wall.total_sample_count 5; then
	pass "$t: compute / poll() / nanosleep() split found on the wall clock within 5 points; no EINTR"
else fail "$t"; fi

t=sig_own
"$BIN/sig_prog" own-sigprof > "$W/$t.bare"
if traced $t "$BIN/sig_prog" own-sigprof > "$W/$t.out" 2> "$W/$t.err" && cmp -s "$W/$t.bare" "$W/$t.out" &&
	[ "$(grep -c '^ldprof:' "$W/$t.err")" = 1 ] &&
	grep -qE "^ldprof: pid [0-9]+ \(sig_prog\) installs its own SIGPROF handler: CPU sampling stops" "$W/$t.err" &&
	traced_f ${t}2 --cpu-signal RTMIN+5 -- "$BIN/sig_prog" own-sigprof > "$W/$t.out2" 2> "$W/$t.err2" &&
	cmp -s "$W/$t.bare" "$W/$t.out2" && [ ! -s "$W/$t.err2" ] && report "$W/${t}2.ldp" "$W/$t.json" &&
	$PY -c 'import json,sys; assert json.load(open(sys.argv[1]))["cpu"]["sample_count"] > 10' "$W/$t.json"; then
	pass "$t: a program with its own SIGPROF handler and ITIMER_PROF keeps its ticks (sampling steps aside, one line naming the process and SIGPROF); with --cpu-signal RTMIN+5 both work"
else fail "$t"; fi

for m in reset-all blocked threads64; do
	t=sig_$m
	if "$BIN/sig_prog" $m > "$W/$t.bare" && traced $t "$BIN/sig_prog" $m > "$W/$t.out" 2> "$W/$t.err" &&
		cmp -s "$W/$t.bare" "$W/$t.out" && [ ! -s "$W/$t.err" ] && report "$W/$t.ldp" "$W/$t.json" &&
		"$LDPROF" report --threads "$W/$t.ldp" > "$W/$t.threads" &&
		$PY - "$W/$t.json" "$W/$t.threads" $m <<'PYEOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
assert r["cpu"]["sample_count"] > 10, r["cpu"]
if sys.argv[3] == "threads64":
    rows = [l.split() for l in open(sys.argv[2]) if l.split() and l.split()[0].isdigit()]
    sampled = [x for x in rows if int(x[2].replace(",", "")) > 0]
    assert len(sampled) >= 48, f"only {len(sampled)} of 65 threads have CPU samples"
PYEOF
		pass "$t: $(cat "$W/$t.out"), sampled, nothing on stderr"
	else fail "$t"; fi
done

# Threads one after another, each computing 60 ms and exiting: each thread's
# CPU sample block outlives it until the writer has drained it, then serves
# the next thread's timer. Every thread's samples are in the trace under its
# own tid, and no thread is named after another that had its block before.
t=sig_successive
if "$BIN/sig_prog" successive "$W/$t.bare.tids" > "$W/$t.bare" &&
	traced $t "$BIN/sig_prog" successive "$W/$t.tids" > "$W/$t.out" 2> "$W/$t.err" &&
	cmp -s "$W/$t.bare" "$W/$t.out" && [ ! -s "$W/$t.err" ] &&
	"$LDPROF" report --threads --json "$W/$t.ldp" > "$W/$t.json" &&
	$PY - "$W/$t.tids" "$W/$t.json" <<'PYEOF'; then
import json, sys
want = dict(l.split() for l in open(sys.argv[1]))
got = {str(x["tid"]): x for x in json.load(open(sys.argv[2]))["threads"]}
assert len(want) == 32, want
for tid, name in want.items():
    assert tid in got and got[tid]["cpu"]["sample_count"] > 0, f"{name} (tid {tid}) has no CPU samples: {got.get(tid)}"
    shown = got[tid]["name"] or ""
    assert shown == name or not shown.startswith("burn-"), f"tid {tid} ({name}) is named {shown}"
named = sum(got[tid]["name"] == name for tid, name in want.items())
print(f"     {sum(got[t]['cpu']['sample_count'] for t in want)} CPU samples over the 32 threads, {named} named")
PYEOF
	pass "$t: 32 threads one after another, each one's CPU samples under its own tid"
else fail "$t"; fi

# --- sampled mode -------------------------------------------------------------
# Estimates per function within 4 standard deviations of the truth (the
# deviations the program computes from its own block sizes; docs/SAMPLING.md).
# Fixed seeds, so the result is the same on every run.
t=sampled_estimates
ok=1
for seed in 1 2 3; do
	if traced_f $t.$seed --mode sampled --seed $seed -- "$BIN/truth_sampled" "$W/$t.$seed.truth" 524288 &&
		"$LDPROF" report --by function --json "$W/$t.$seed.ldp" > "$W/$t.$seed.json" &&
		$PY - "$W/$t.$seed.truth" "$W/$t.$seed.json" <<'PYEOF'; then :; else ok=0; fi
import json, sys
r = json.load(open(sys.argv[2]))
est = r["heap"]["estimated"]
assert est and est["sample_interval_bytes"] == 524288 and est["lost_sample_count"] == 0, est
groups = {g["function"]: g for g in r["groups"]}
bad = []
for line in open(sys.argv[1]):
    f = line.split()
    name, kv = f[1], dict(zip(f[2::2], map(float, f[3::2])))
    g = groups.get(name)
    if not g:
        bad.append(f"{name}: not in the report")
        continue
    # the program's truth names (allocations), the report's (heap.allocation_count)
    for key, ours, sd in (("allocations", "allocation_count", "sd_count"), ("allocated_bytes", "allocated_bytes", "sd_bytes"),
                          ("leaked_bytes", "leaked_bytes", "sd_leaked")):
        limit = 4 * kv[sd] + 0.01 * kv[key]  # + 1%: blocks far above the mean are certain, not exact
        if abs(g["heap"][ours] - kv[key]) > limit:
            bad.append(f"{name}.{key}: {g['heap'][ours]} vs truth {kv[key]:.0f} (limit ±{limit:.0f})")
assert not bad, "; ".join(bad)
PYEOF
done
[ $ok = 1 ] && pass "$t: bytes, counts and leaks per function within 4 sd of the truth (3 seeds)" || fail "$t"

# The sample heap under everything a program does with memory: contents,
# calloc zeroing, the aligned family, threads freeing each other's blocks,
# fork, huge blocks. Same output as bare at every rate, nothing on stderr,
# and (sampling every byte) every free matched.
t=sampled_stress
"$BIN/sampled_stress" > "$W/$t.bare"
ok=1
for rate in 1 4096 512KiB; do
	if traced_f $t.$rate --mode sampled --sample-bytes $rate --seed 5 -- "$BIN/sampled_stress" \
		> "$W/$t.$rate.out" 2> "$W/$t.$rate.err" && cmp -s "$W/$t.bare" "$W/$t.$rate.out" &&
		[ ! -s "$W/$t.$rate.err" ] && report "$W/$t.$rate.ldp" "$W/$t.$rate.json"; then :
	else echo "     rate $rate: $(head -3 "$W/$t.$rate.err")"; ok=0; fi
done
if [ $ok = 1 ] && $PY - "$W/$t.1.json" <<'PYEOF'; then
import json, sys
h = json.load(open(sys.argv[1]))["heap"]
assert h["estimated"]["sample_count"] > 20000, h
big = sum(range(1, 25)) << 22  # part_big: 24 blocks of 4..96 MiB live together, the program's peak
assert big <= h["peak_bytes"] <= big * 1.02, f"peak {h['peak_bytes']} against {big}"
assert h["leaked_bytes"] < 65536, f"frees went unmatched: {h['leaked_bytes']} bytes leaked"
PYEOF
	pass "$t: $(tail -1 "$W/$t.bare") at 1 B, 4 KiB and 512 KiB between samples; every free matched, peak exact"
else fail "$t"; fi

# --- zstd's tables sized to what a process writes -------------------------------
# A frame that is flushed before it ends tells zstd nothing of its size, and
# zstd zeroes 2.6 MiB of tables for it at level 6 (658 page faults). So the
# writer hints the first frame at 16 KiB (writer.c): `sleep`, which writes a
# few KiB over six flushes, keeps a 16 KiB window (2 MiB before). A program
# whose first round writes more gets full-size frames from the start (an
# early frame end there cost git's trace 2 %). The truth is in the file: each
# zstd frame header gives its window.
t=frame_hint
if traced ${t}_small sleep 0.3 && traced ${t}_big "$BIN/memo_sites" 8 400000 > /dev/null &&
	$PY - "$W/${t}_small.ldp" "$W/${t}_big.ldp" > "$W/$t.out" <<'PYEOF'
import struct, sys
def windows(path):
    b, i, out = open(path, "rb").read(), 0, []
    while i + 8 <= len(b):
        magic = struct.unpack_from("<I", b, i)[0]
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # skippable: the segment header
            i += 8 + struct.unpack_from("<I", b, i + 4)[0]
            continue
        assert magic == 0xFD2FB528, "not a zstd frame at %d of %s" % (i, path)
        fhd = b[i + 4]
        fcs_code, single, checksum, did = fhd >> 6, fhd >> 5 & 1, fhd >> 2 & 1, fhd & 3
        j, window = i + 5, None
        if not single:
            wd = b[j]
            base = 1 << (10 + (wd >> 3))
            window, j = base + base // 8 * (wd & 7), j + 1
        j += (0, 1, 2, 4)[did]
        fcs_len = (1 if single else 0, 2, 4, 8)[fcs_code]
        if single:  # the whole frame in one call: its size is its window
            window = int.from_bytes(b[j:j + fcs_len], "little") + (256 if fcs_len == 2 else 0)
        j += fcs_len
        while True:
            h = int.from_bytes(b[j:j + 3], "little")
            j += 3 + (1 if (h >> 1 & 3) == 1 else h >> 3)
            if h & 1:
                break
        i = j + 4 * checksum
        out.append(window)
    return out
small, big = windows(sys.argv[1]), windows(sys.argv[2])
assert small and max(small) <= 32 << 10, ("a process that writes little: a window over 32 KiB", small)
assert max(big) >= 1 << 20, ("a process that writes more: no full-size window", big)
print("sleep: %d frame(s), windows up to %d KiB; memo_sites: %d frames, windows up to %d KiB" %
      (len(small), max(small) >> 10, len(big), max(big) >> 10))
PYEOF
then pass "$t: $(cat "$W/$t.out")"
else fail "$t: $(cat "$W/$t.out" 2>/dev/null)"; fi

# --- ROUND records only where a reader needs them --------------------------------
# A one-thread loop fills its ring every few ms; such a round by volume writes
# no ROUND within 5 ms of the last (writer.c, ROUND_GAP_US, on the records' own
# times): a reader needs floors to merge threads, and their bytes were a
# quarter of such a trace.
# Rounds that flush (every LDPROF_FLUSH_MS, here 100 ms), end a frame or end
# the run still write one. Truth from the dump: ROUND times and counts.
t=round_gap
if LDPROF_FLUSH_MS=100 traced $t "$BIN/memo_sites" 1 2000000 > /dev/null &&
	"$LDPROF" dump "$W/$t.ldp" > "$W/$t.dump" && $PY - "$W/$t.dump" > "$W/$t.out" <<'PYEOF'
import sys
times, events, frames = [], 0, set()
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) > 4 and f[1] == "ROUND":
        times.append(int(f[4]))
    if len(f) > 1 and f[1] == "EVENTS":
        events += 1
    if line.startswith("@"):
        frames.add(line.split("+")[0])
gaps = [b - a for a, b in zip(times, times[1:])]
short = sum(1 for g in gaps if g < 5000)
allowed = times[-1] // 100000 + len(frames) + 1  # flushes, frame ends, the last round
assert short <= allowed, ("ROUNDs closer than 5 ms", short, allowed, gaps)
# Rounds by volume came every (run time / EVENTS records): when that is well
# under 5 ms, some of them must have gone without a ROUND.
if times[-1] / events < 2500:
    assert len(times) < events, ("every round wrote a ROUND", len(times), events)
print("%d EVENTS records, %d ROUND (%d less than 5 ms after the one before, %d allowed) in %.0f ms" %
      (events, len(times), short, allowed, times[-1] / 1000))
PYEOF
then pass "$t: $(cat "$W/$t.out")"
else fail "$t: $(cat "$W/$t.out" 2>/dev/null)"; fi

# --- bounded traces: --max-size, --keep ------------------------------------------
. "$HERE/rotate.sh"

# --- the live view: ldprof top in a terminal ----------------------------------------
. "$HERE/top.sh"

echo
if [ $failures -gt 0 ]; then echo "integration: $failures FAILED"; exit 1; fi
echo "integration: all passed"
