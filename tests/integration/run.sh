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
assert len(s)==2 and "python3" in s[1]["exe"] and s[1]["heap"]["allocations"] > 1000, s' "$W/$t.json" &&
		[ "$(cat "$W/$t.out")" = 100000 ]; then
		pass "$t: ldprof record -- env A=1 python3 ... reports python3's allocations"
	else fail "$t"; fi
fi

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
assert heap["allocations"] >= allocs, (heap["allocations"], allocs)
print(f"     {heap['allocations']} allocations in the trace >= {allocs} done 100 ms before the kill")
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
	ours=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["allocations"])' "$W/$t.json")
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

echo
if [ $failures -gt 0 ]; then echo "integration: $failures FAILED"; exit 1; fi
echo "integration: all passed"
