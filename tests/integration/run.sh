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

echo
if [ $failures -gt 0 ]; then echo "integration: $failures FAILED"; exit 1; fi
echo "integration: all passed"
