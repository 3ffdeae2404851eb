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

# --- cross-thread free with immediate address reuse --------------------------
t=xthread
export GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0
if traced $t "$BIN/truth_xthread" "$W/$t.truth" && report "$W/$t.ldp" "$W/$t.json" &&
	traced ${t}_base "$BIN/truth_xthread" "$W/$t.base.truth" baseline &&
	report "$W/${t}_base.ldp" "$W/$t.base.json" &&
	$CHECK "$W/$t.truth" "$W/$t.json" --baseline "$W/$t.base.json"; then
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
assert any(k.startswith("std::") and "allocate" in k for k in keys), keys
assert "__cxa_allocate_exception" in keys, keys
PYEOF
	pass "$t: exceptions and bad_alloc work under the agent; names demangled (make_widgets(int), std:: allocators)"
else fail "$t"; fi

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

# --- programs nobody here wrote: unchanged output, counts as heaptrack's ------
real_program() {
	local t=$1 out=$2
	shift 2
	if ! "$@" > "$W/$t.bare" 2>&1 < "$W/$t.in"; then fail "$t: bare run failed"; return; fi
	if ! traced $t "$@" > "$W/$t.out" 2>&1 < "$W/$t.in" || ! cmp -s "$W/$t.bare" "$W/$t.out"; then
		fail "$t: output or exit status changed under ldprof"; return
	fi
	report "$W/$t.ldp" "$W/$t.json" || { fail "$t: report"; return; }
	local ours
	ours=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["allocation_count"])' "$W/$t.json")
	if ! command -v heaptrack >/dev/null; then
		pass "$t: output unchanged, $ours allocations (heaptrack not installed: count comparison skipped)"
		return
	fi
	heaptrack -o "$W/$t.ht" "$@" < "$W/$t.in" > /dev/null 2>&1
	local theirs
	theirs=$(heaptrack_print "$W/$t.ht".* 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}')
	if $PY -c 'import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if b and abs(a-b) <= b/100 else 1)' \
		"$ours" "${theirs:-0}"; then
		pass "$t: output unchanged; $ours allocations vs heaptrack's ${theirs} (within 1%)"
	else fail "$t: $ours allocations vs heaptrack's ${theirs:-none}"; fi
}
printf 'd = {}\nfor i in range(100000):\n    d[str(i)] = [i, str(i * 2)]\nprint(len(d), sum(len(v[1]) for v in d.values()))\n' > "$W/py.script"
: > "$W/python_dict.in"
PYTHONMALLOC=malloc real_program python_dict out /usr/bin/python3 "$W/py.script"
if command -v sqlite3 >/dev/null; then
	cat > "$W/sqlite.in" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000)
INSERT INTO t(name, score) SELECT 'name' || x, x * 0.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(score) FROM t WHERE name LIKE 'name1%';
SQL
	real_program sqlite out sqlite3 :memory:
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
	# A rebuilt binary at the recorded path: a different build-id.
	cp "$BIN/truth_single" "$W/app/prog"
	"$LDPROF" report --json "$W/$t.ldp" > "$W/$t.changed.json" 2> "$W/$t.changed.err"
	if $PY - "$W/$t" <<'PYEOF'; then
import json, sys
w = sys.argv[1]
def keys(name):
    return {g["key"] for g in json.load(open(f"{w}.{name}.json"))["groups"]}
missing, sysroot, debugdir, changed = keys("missing"), keys("sysroot"), keys("debugdir"), keys("changed")
assert any(k.startswith("prog+0x") for k in missing), missing
assert "not found" in open(f"{w}.missing.err").read()
assert {"leak_maker", "temp_churn"} <= sysroot, sysroot
assert open(f"{w}.sysroot.err").read() == "", open(f"{w}.sysroot.err").read()
assert {"leak_maker", "temp_churn"} <= debugdir, debugdir
assert any(k.startswith("prog+0x") for k in changed) and "leak_maker" not in changed, changed
err = open(f"{w}.changed.err").read()
assert "build-id differs" in err and err.count("\n") == 1, err
PYEOF
		pass "$t: missing binary -> prog+0x..; --sysroot and --debug-dir (build-id) find symbols; a rebuilt binary is detected by build-id, warned once"
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
# Paused allocations are not in the trace; their frees are counted apart.
r = json.loads(subprocess.run([ldprof, "report", "--json", f"{w}/phases.ldp"], check=True,
                              capture_output=True, text=True).stdout)
assert r["heap"]["unknown_free_count"] == 50, r["heap"]
assert "paused_alloc" not in {x["key"] for x in r["groups"]}
print(f"     {n} diffs within a run, one across runs, one cumulative: exact")
PYEOF
	pass "$t: snapshot diffs by function exact (one run, two runs, cumulative); pause/resume; API inert without the agent"
else fail "$t"; fi

t=snap_signal
rm -f "$W/$t.ready"
"$LDPROF" record -q -o "$W/$t.ldp" --snapshot-signal USR2 --snapshot-interval 0.2 -- \
	"$BIN/snap_signal" "$W/$t.ready" 1500 > "$W/$t.out" &
pid=$!
for _ in $(seq 100); do [ -s "$W/$t.ready" ] && break; sleep 0.02; done
sleep 0.3; kill -USR1 "$(cat "$W/$t.ready")"; kill -USR2 "$(cat "$W/$t.ready")"
sleep 0.3; kill -USR2 "$(cat "$W/$t.ready")"
wait $pid
if [ "$(cat "$W/$t.out")" = "usr1 1 usr2 0" ] &&
	"$LDPROF" snapshots --json "$W/$t.ldp" > "$W/$t.json" && $PY - "$W/$t.json" <<'PYEOF'; then
import json, sys
s = json.load(open(sys.argv[1]))["snapshots"]
kinds = [x["kind"] for x in s]
assert kinds.count("signal") == 2, kinds
assert kinds.count("interval") >= 4, kinds
times = [x["time_ns"] for x in s if x["kind"] == "interval"]
assert times == sorted(times) and all(b - a >= 150_000_000 for a, b in zip(times, times[1:])), times
PYEOF
	pass "$t: --snapshot-signal USR2 took 2 snapshots, --snapshot-interval 0.2 took $(grep -o '"kind":"interval"' "$W/$t.json" | wc -l); the program's own SIGUSR1 handler untouched, no EINTR"
else fail "$t: $(cat "$W/$t.out")"; fi

t=own_usr2
rm -f "$W/$t.ready"
"$LDPROF" record -q -o "$W/$t.ldp" -- "$BIN/snap_signal" "$W/$t.ready" 600 own-usr2 > "$W/$t.out" &
pid=$!
for _ in $(seq 100); do [ -s "$W/$t.ready" ] && break; sleep 0.02; done
sleep 0.2; kill -USR2 "$(cat "$W/$t.ready")"; sleep 0.1; kill -USR2 "$(cat "$W/$t.ready")"
wait $pid
if [ "$(cat "$W/$t.out")" = "usr1 0 usr2 2" ] && "$LDPROF" snapshots "$W/$t.ldp" | grep -vq signal; then
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
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] == "fn":
        fns[w[1]] = int(w[3])
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
d = json.load(open(sys.argv[3]))
assert d["total"]["mapped"]["change_bytes"] == truth["live_at_exit_bytes"], d["total"]
print(f"     maps {m['map_count']}, remaps {m['remap_count']}, unmaps {m['unmap_count']}, peak {m['peak_bytes']}, "
      f"at exit {m['live_at_exit_bytes']}: exact")
PYEOF
	pass "$t: anonymous and file mappings, a hole unmapped in the middle, mremap grow/shrink/move: exact; malloc's own mmap stays heap; diffs cover it"
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
	$PY -c 'import json,sys; g={x["key"]:x for x in json.load(open(sys.argv[1]))["groups"]}; assert g["busy_other"]["cpu"]["self_sample_count"] > 50' "$W/$t.json"; then
	pass "$t: a 60/30/10 CPU split (thread CPU clock) found within 3 points (or 3 standard errors) while a second thread stays busy"
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

echo
if [ $failures -gt 0 ]; then echo "integration: $failures FAILED"; exit 1; fi
echo "integration: all passed"
