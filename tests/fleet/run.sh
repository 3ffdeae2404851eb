#!/bin/bash
# tests/fleet/run.sh BUILD_DIR - `ldprof push` and `ldprof fleet` against a
# real clickhouse-server, started here as an ordinary process (127.0.0.1, free
# ports, a temporary data directory) and stopped by its pid (clickhouse.sh).
# Every figure the fleet reports is compared with `ldprof report` / `ldprof
# diff` over the same trace files. docs/TESTING.md lists the checks. Each
# prints one line: ok / FAIL / skip.
set -u
B=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LDPROF=$B/ldprof
DEMO=$B/tests/integration/demo_prog
BIN=$B/tests/integration
HB=$B/tests/hostile
PY=/usr/bin/python3
CHECK="$PY $HERE/check_fleet.py"
W=$(mktemp -d /tmp/ldprof-fleet.XXXXXX)
# shellcheck source=tests/fleet/clickhouse.sh
. "$HERE/clickhouse.sh"
cleanup() {
	ch_cluster_stop
	ch_stop
	rm -rf "$W"
}
trap cleanup EXIT
passed=0 failed=0 skipped=0
export LDPROF_VERBOSE=0
unset CLICKHOUSE_PASSWORD

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "skip $1"; skipped=$((skipped + 1)); }
summary() {
	echo "fleet: $passed passed, $failed failed, $skipped skipped"
	[ $failed = 0 ]
	exit
}
# check NAME WHAT CMD...: pass when CMD succeeds; its output is indented on failure.
check() {
	local name=$1 what=$2
	shift 2
	if "$@" > "$W/check.out" 2>&1; then pass "$name: $what ($(tail -n 1 "$W/check.out"))"
	else fail "$name: $(head -c 3000 "$W/check.out" | sed '2,$s/^/     /')"; fi
}
# one_line FILE PATTERN: FILE is exactly one line and contains PATTERN (grep -E)
one_line() { [ "$(wc -l < "$1")" = 1 ] && grep -Eq "$2" "$1"; }
sql() { ch_sql "$1" 2>&1; }

if [ -z "$CH_SERVER" ] || [ -z "$CH_CLIENT" ]; then
	skip "fleet: clickhouse-server or clickhouse-client is not installed (scripts/setup-deps.sh installs them)"
	summary
fi

# --- the traces: demo_prog in two "versions" (the later one indexes four
# times as many lines), twice each; the mapped channel; snapshots at two sizes;
# an exec chain (five process images in one file)
record() {
	local name=$1
	shift
	"$LDPROF" record -q -o "$W/$name.ldp" "$@" > /dev/null
}
mkdir -p "$W/mapped.dir"
if ! record big --wall 199 -- "$DEMO" 200000 || ! record big2 -- "$DEMO" 200000 ||
	! record small -- "$DEMO" 50000 || ! record small2 -- "$DEMO" 50000 ||
	! record mapped -- "$BIN/truth_mapped" "$W/mapped.truth" "$W/mapped.dir" ||
	! record phases_a -- "$BIN/truth_phases" "$W/pa.truth" 1000 10 ||
	! record phases_b -- "$BIN/truth_phases" "$W/pb.truth" 3000 10 ||
	! record chain -- sh -c "exec $HB/h_proc chain 3"; then
	fail "setup: could not record the traces"
	summary
fi
ALL="big big2 small small2 mapped phases_a phases_b chain"
for t in $ALL; do
	"$LDPROF" report --json "$W/$t.ldp" > "$W/$t.json" || fail "setup: ldprof report $t"
done

if ! ch_start "$W/ch" 2> "$W/ch.err"; then
	fail "server: $(head -c 2000 "$W/ch.err")"
	summary
fi
pass "server: clickhouse-server $(ch_sql "SELECT version()") up on 127.0.0.1:$CH_HTTP (pid $CH_PID, data in a temporary directory)"
STORE=clickhouse://127.0.0.1:$CH_HTTP
URL=$STORE/fleet

# --- push ----------------------------------------------------------------------
push() { "$LDPROF" push --to "$URL" "$@" >> "$W/push.out" 2>> "$W/push.err"; }
if push --service demo --host web-01 --label version=1.4 "$W/big.ldp" &&
	push --service demo --host web-02 --label version=1.4 "$W/big2.ldp" &&
	push --service demo --host web-03 --label version=1.3 "$W/small.ldp" &&
	push --service demo --host web-04 --label version=1.3 "$W/small2.ldp" &&
	push --service mapped --host db-01 --batch-rows 7 "$W/mapped.ldp" "$W/chain.ldp" &&
	push --service phases --host batch-01 --label run=a "$W/phases_a.ldp" &&
	push --service phases --host batch-01 --label run=b "$W/phases_b.ldp" &&
	[ "$(grep -c 'pushed as trace' "$W/push.out")" = 8 ] && [ ! -s "$W/push.err" ] &&
	[ "$(sql 'SELECT uniqExact(trace_id) FROM fleet.ldprof_images')" = 8 ]; then
	pass "push: 8 traces (one of 5 process images, one in batches of 7 rows) into tables created on first use"
else fail "push: $(cat "$W/push.out" "$W/push.err" | head -c 2000)"; fi

# --- fleet report = ldprof report ------------------------------------------------
fleet() { "$LDPROF" fleet "$1" --from "$URL" "${@:2}"; }
files() { local t; for t in "$@"; do echo "$W/$t.ldp"; done; }
jsons() { local t; for t in "$@"; do echo "$W/$t.json"; done; }
# shellcheck disable=SC2046
fleet report --json > "$W/fleet.json" &&
	check report_totals "fleet report totals (heap, cpu, wall, mapped, sizes) equal the sums of ldprof report over the 8 traces" \
		$CHECK totals "$W/fleet.json" $(jsons $ALL)
for by in function line file module traceback; do
	# shellcheck disable=SC2046
	if fleet report --json --by "$by" > "$W/fleet-$by.json" && "$LDPROF" report --json --by "$by" $(files $ALL) > "$W/all-$by.json"; then
		check "report_by_$by" "every group of ldprof report over all traces, same figures in the fleet report" \
			$CHECK groups "$W/fleet-$by.json" "$W/all-$by.json"
	else fail "report_by_$by: fleet report or ldprof report failed"; fi
done
# The text: the same tables (from "heap" on) for one trace, keys without display choices (--by line).
fleet report --by line --host web-01 > "$W/text-fleet.txt" && "$LDPROF" report --by line "$W/big.ldp" > "$W/text-report.txt"
# The store keeps no time for the mapped and RSS peaks: the fleet's lines leave it out.
if diff <(sed -n '/^heap$/,$p' "$W/text-fleet.txt") \
	<(sed -n '/^heap$/,$p' "$W/text-report.txt" | sed -E 's/^(  (mapped|RSS) peak +[^ ]+ [^ ]+)   at [0-9.]+ s:/\1:/') > "$W/text.diff" &&
	grep -qE '^  RSS peak +[^ ]+ [^ ]+: resident' "$W/text-fleet.txt" &&
	[ "$(grep -c . "$W/text-fleet.txt")" -gt 40 ]; then
	pass "report_text: fleet report prints ldprof report's tables, line for line (heap, memory, peak, leaks, temporaries, allocators, sizes, cpu, wall)"
else fail "report_text: $(head -c 2000 "$W/text.diff")"; fi

# --- filters ---------------------------------------------------------------------
filtered() {
	local name=$1 what=$2 want=$3
	shift 3
	# shellcheck disable=SC2046
	fleet report --json "$@" > "$W/f-$name.json" &&
		check "filter_$name" "$what" $CHECK totals "$W/f-$name.json" $(jsons $want)
}
filtered host "--host 'web-0[12]': the two traces from web-01 and web-02" "big big2" --host 'web-0[12]'
filtered service "--service phases --host 'batch-*'" "phases_a phases_b" --service phases --host 'batch-*'
filtered label "--label version=1.3" "small small2" --label version=1.3
filtered since "--since 1h --until @$(($(date +%s) + 60)): all of them" "$ALL" --since 1h --until "@$(($(date +%s) + 60))"
fleet report --since "$(date -d tomorrow +%Y-%m-%d)" > "$W/none.out" 2> "$W/none.err"
rc=$?
if [ $rc = 1 ] && one_line "$W/none.err" 'no trace matches these filters: since' && [ ! -s "$W/none.out" ]; then
	pass "filter_none: --since tomorrow: one line 'no trace matches', exit 1"
else fail "filter_none: exit $rc, stderr: $(cat "$W/none.err")"; fi

# --- pushed twice counts once ----------------------------------------------------
again_ok=1
"$LDPROF" push --to "$URL" --service demo --host web-03 --label version=1.3 "$W/small.ldp" > "$W/again.out" 2>&1 &&
	grep -q 'already in .* with this content' "$W/again.out" || again_ok=0
"$LDPROF" push --to "$URL" --force --service demo --host web-03 --label version=1.3 "$W/small.ldp" > /dev/null 2>&1 || again_ok=0
"$LDPROF" push --to "$URL" --service demo --host web-03 --label version=1.3 --label canary=yes "$W/small.ldp" > /dev/null 2>&1 || again_ok=0
cp "$W/small.ldp" "$W/copy-of-small.ldp"
"$LDPROF" push --to "$URL" --force --service demo --host web-03 --label version=1.3 --label canary=yes "$W/copy-of-small.ldp" > /dev/null 2>&1 || again_ok=0
pushes=$(sql "SELECT uniqExact(push_id) FROM fleet.ldprof_images WHERE trace_id = (SELECT trace_id FROM fleet.ldprof_images WHERE trace_path LIKE '%/small.ldp' LIMIT 1)")
# shellcheck disable=SC2046
if [ $again_ok = 1 ] && [ "$pushes" = 4 ] && fleet report --json > "$W/again.json" &&
	$CHECK totals "$W/again.json" $(jsons $ALL) > "$W/again.check" 2>&1 &&
	fleet report --json --label canary=yes > "$W/canary.json" && $CHECK totals "$W/canary.json" "$W/small.json" > /dev/null 2>&1; then
	pass "push_twice: the same trace again is skipped; with --force, new labels, or from a copy of the file it replaces itself: 4 pushes stored, counted once (totals unchanged), under its latest labels"
else fail "push_twice: again_ok=$again_ok, pushes=$pushes, $(cat "$W/again.check" 2> /dev/null | head -c 1500)"; fi

# --- docs/FLEET.md's cleanup removes the replaced pushes, and nothing counted ----------
# (its guard, "last pushed more than a day ago", turned around to cover now)
$PY - "$ROOT/docs/FLEET.md" > "$W/cleanup.sql" <<'PYEOF'
import re, sys
doc = open(sys.argv[1]).read()
part = doc[doc.index("### Cleaning up"):]
print(re.findall(r"```sql\n(.*?)```", part, re.S)[0].replace("now()) - 86400", "now()) + 86400"))
PYEOF
before=$(sql "SELECT uniqExact(push_id) FROM fleet.ldprof_values")
"$CH_CLIENT" --host 127.0.0.1 --port "$CH_TCP" --database fleet --query "$(cat "$W/cleanup.sql")" > "$W/cleanup.out" 2>&1
# a mutation runs in the background: wait for it (bounded)
for i in $(seq 300); do
	[ "$(sql "SELECT count() FROM system.mutations WHERE database = 'fleet' AND NOT is_done")" = 0 ] && break
	sleep 0.1
done
after=$(sql "SELECT uniqExact(push_id) FROM fleet.ldprof_values")
# shellcheck disable=SC2046
if [ "$before" = 11 ] && [ "$after" = 8 ] && fleet report --json > "$W/clean.json" &&
	$CHECK totals "$W/clean.json" $(jsons $ALL) > /dev/null 2>&1 &&
	fleet report --json --by traceback > "$W/clean-tb.json" && $CHECK groups "$W/clean-tb.json" "$W/all-traceback.json" > /dev/null 2>&1; then
	pass "cleanup: docs/FLEET.md's mutation deletes the value rows of the 3 replaced pushes ($before pushes' rows -> $after); every figure unchanged"
else fail "cleanup: pushes with value rows $before -> $after: $(head -c 800 "$W/cleanup.out")"; fi

# --- flame graphs ----------------------------------------------------------------
for what in alloc inuse leaked temporary cpu wall; do
	total=$($PY -c '
import json, sys
r, w = json.load(open(sys.argv[1])), sys.argv[2]
print({"alloc": r["heap"]["allocated_bytes"], "inuse": r["fleet"]["peak_sum_bytes"], "leaked": r["heap"]["leaked_bytes"],
       "temporary": r["heap"]["temporary_count"], "cpu": r["cpu"]["total_ns"] - r["cpu"]["agent_total_ns"],
       "wall": r["wall"]["total_ns"] - r["wall"]["agent_total_ns"]}[w])' "$W/fleet.json" $what)
	if fleet flame --what $what -o "$W/flame-$what.svg"; then
		check "flame_$what" "fleet flame --what $what: weights add up to the fleet total" \
			$CHECK flame "$W/flame-$what.svg" "$total"
	else fail "flame_$what: fleet flame failed"; fi
done

# --- diff --------------------------------------------------------------------------
fleet diff --base version=1.3 --to version=1.4 --json --top 0 > "$W/grew.json" &&
	check diff_grew "fleet diff --base version=1.3 --to version=1.4 (two traces a side, mean per trace): add_word grew most" \
		$CHECK grew "$W/grew.json" add_word
fleet diff --base version=1.3 --to version=1.4 > "$W/grew.txt"
if head -1 "$W/grew.txt" | grep -q 'live at the peak' && sed -n 4p "$W/grew.txt" | grep -q '^add_word (demo_prog.c:[0-9]*): size=.* (+'; then
	pass "diff_text: the list of ldprof diff, add_word first: $(sed -n 4p "$W/grew.txt")"
else fail "diff_text: $(head -c 1500 "$W/grew.txt")"; fi
for at in "--at B" "--at C#1" "--what inuse" "--what leaked" "--what alloc" "--at D --by line --cumulative"; do
	case $at in
	"--what inuse") ref="--at peak" ;; "--what leaked") ref="--at exit" ;; "--what alloc") ref="" ;;
	*) ref=${at/C#1/C} ;;
	esac
	name=$(echo "$at" | tr -c 'a-zA-Z0-9\n' _)
	# shellcheck disable=SC2086
	if [ "$at" = "--what alloc" ]; then
		# no snapshot holds allocated bytes: ldprof report's groups are the reference
		fleet diff --base run=a --to run=b --sum --json --top 0 $at > "$W/d$name.json" &&
			$PY -c '
import json, sys
d, a, b = (json.load(open(p)) for p in sys.argv[1:4])
ga = {g["key"]: g["heap"] for g in a["groups"]}; gb = {g["key"]: g["heap"] for g in b["groups"]}
for g in d["groups"]:
    x, y = ga.get(g["key"], {}).get("allocated_bytes", 0), gb.get(g["key"], {}).get("allocated_bytes", 0)
    assert (g["heap"]["live_bytes"], g["heap"]["change_bytes"]) == (y, y - x), (g, x, y)
assert d["total"]["heap"]["change_bytes"] == b["heap"]["allocated_bytes"] - a["heap"]["allocated_bytes"]
print(len(d["groups"]), "groups equal to ldprof report")' "$W/d$name.json" "$W/phases_a.json" "$W/phases_b.json" > "$W/check.out" 2>&1 &&
			pass "diff_alloc: fleet diff --what alloc --sum: groups and total equal to ldprof report's ($(cat "$W/check.out"))" ||
			fail "diff_alloc: $(head -c 1500 "$W/check.out")"
		continue
	fi
	# shellcheck disable=SC2086
	fleet diff --base run=a --to run=b --json --top 0 $at > "$W/d$name.json" &&
		"$LDPROF" diff "$W/phases_a.ldp" "$W/phases_b.ldp" --json --top 0 $ref > "$W/r$name.json" &&
		check "diff_$name" "fleet diff $at equals ldprof diff OLD NEW ${ref:-}" $CHECK diff "$W/d$name.json" "$W/r$name.json"
done
if fleet diff --base version=1.3 --to version=1.4 --flame -o "$W/diff.svg" &&
	$PY "$ROOT/tests/pictures/check_flame.py" --diff "$W/diff.svg" > "$W/check.out" 2>&1; then
	pass "diff_flame: fleet diff --flame: add_word red, with before/after/change ($(cat "$W/check.out"))"
else fail "diff_flame: $(head -c 1500 "$W/check.out" 2> /dev/null)"; fi

# --- bad input is refused before anything is inserted ----------------------------
bad() {
	local name=$1 what=$2
	shift 2
	"$LDPROF" push --to "$STORE/bad_$name" "$@" > "$W/bad.out" 2> "$W/bad.err"
	local rc=$? dbs
	dbs=$(sql "SELECT count() FROM system.databases WHERE name = 'bad_$name'")
	if [ $rc = 1 ] && one_line "$W/bad.err" "$(basename "${@: -1}").*nothing was pushed|$(basename "${@: -1}"): " &&
		[ "$dbs" = 0 ] && [ ! -s "$W/bad.out" ]; then
		pass "bad_$name: $what: one line, exit 1, nothing created or inserted ($(cut -c1-110 "$W/bad.err"))"
	else fail "bad_$name: exit $rc, databases $dbs, stderr: $(cat "$W/bad.err")"; fi
}
bad undefined_stack "a good trace then one naming a stack it never defined" "$W/small.ldp" \
	"$ROOT/tests/golden/bad/undefined_stack_id.ldp"
bad garbage "a file that is no trace" "$ROOT/tests/golden/bad/garbage.ldp"
bad newer "a newer format version" "$ROOT/tests/golden/bad/newer_version.ldp"

# --- a damaged trace is pushed, saying so; what it missed is in the fleet's figures ---
# big.ldp with 64 bytes overwritten in the middle (a frame that fails its
# checksum) and the golden trace with garbage between two frames: push warns as
# ldprof report does, and the fleet's "missed" and notes are report's.
$PY - "$W/big.ldp" "$W/damaged.ldp" <<'PYEOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[len(d) // 2:len(d) // 2 + 64] = b"\x55" * 64
open(sys.argv[2], "wb").write(d)
PYEOF
GOLD_DMG=$ROOT/tests/golden/bad/garbage_between_frames.ldp
"$LDPROF" push --to "$STORE/damaged" "$GOLD_DMG" "$W/damaged.ldp" > "$W/dmg.out" 2> "$W/dmg.err"
rc=$?
"$LDPROF" report --json "$GOLD_DMG" > "$W/dmg-gold.json" 2> "$W/dmg-report.err" &&
	"$LDPROF" report --json "$W/damaged.ldp" > "$W/dmg-copy.json" 2>> "$W/dmg-report.err" &&
	"$LDPROF" report "$GOLD_DMG" "$W/damaged.ldp" > "$W/dmg-report.txt" 2> /dev/null
"$LDPROF" fleet report --from "$STORE/damaged" --json > "$W/dmg-fleet.json" &&
	"$LDPROF" fleet report --from "$STORE/damaged" > "$W/dmg-fleet.txt"
# the warnings: report's, word for word but for the command's name; the notes
# too, but for truncated stacks (fidelity, which the store does not keep:
# docs/JSON.md; a CPU sample now and then has one)
warned=$(grep -c 'is damaged: ' "$W/dmg.err")
if [ $rc = 0 ] && [ "$warned" = 2 ] &&
	diff <(grep 'is damaged: ' "$W/dmg.err" | sed 's/^ldprof push:/ldprof:/') \
		<(grep 'is damaged: ' "$W/dmg-report.err" | sed 's/^ldprof report:/ldprof:/') > "$W/check.out" 2>&1 &&
	diff <(grep 'note: ' "$W/dmg-fleet.txt") <(grep 'note: ' "$W/dmg-report.txt" | grep -v 'lost their outer frames') \
		>> "$W/check.out" 2>&1 &&
	$CHECK totals "$W/dmg-fleet.json" "$W/dmg-gold.json" "$W/dmg-copy.json" >> "$W/check.out" 2>&1 &&
	$PY -c '
import json, sys
m = json.load(open(sys.argv[1]))["missed"]
assert m["damaged_region_count"] == 2 and m["first_damage"]["trace"].endswith("garbage_between_frames.ldp"), m
print(m["damaged_region_count"], "damaged regions,", m["skipped_bytes"], "bytes skipped")' "$W/dmg-fleet.json" >> "$W/check.out" 2>&1; then
	pass "damaged: 2 damaged traces pushed (exit 0) with report's warnings; fleet report's missed and notes are report's ($(tail -1 "$W/check.out"))"
else fail "damaged: exit $rc, $warned warnings: $(cat "$W/dmg.err" "$W/check.out" | head -c 2000)"; fi

# --- fleet JSON against its schemas (docs/schema/fleet-report.json, fleet-diff.json) ---
fleet report --json --host 'web-*' --label version=1.4 --since 1h > "$W/fleet-filtered.json" &&
	fleet diff --base run=a --to run=b --json --sum --at B > "$W/fleet-diff-at.json" &&
	check json_schema "fleet report (all, by traceback, filtered, damaged) and fleet diff (mean, --sum --at) valid against docs/schema/" \
		$PY "$HERE/../cli/check_schema.py" "$HERE/../../docs/schema" "$HERE/../../docs/JSON.md" "$HERE/../../docs/EXPORT.md" -- \
		fleet-report="$W/fleet.json" fleet-report="$W/fleet-traceback.json" fleet-report="$W/fleet-filtered.json" \
		fleet-report="$W/dmg-fleet.json" fleet-diff="$W/grew.json" fleet-diff="$W/fleet-diff-at.json"

# --- a process still running: live now, not leaked; pushed again once killed --------
# truth_kill allocates, frees a third and sleeps; the trace is pushed while it
# runs (once it holds every allocation: the flush is waited for, not assumed),
# then it is killed and the trace pushed again: the same trace, replaced.
L=$STORE/live
rm -f "$W/live.truth.ready"
"$LDPROF" record -q -o "$W/live.ldp" -- "$BIN/truth_kill" "$W/live.truth" idle &
lpid=$!
for _ in $(seq 200); do [ -s "$W/live.truth.ready" ] && break; sleep 0.05; done
want=$(awk '/^allocations/ {print $2}' "$W/live.truth" 2> /dev/null)
for _ in $(seq 200); do
	[ -n "$want" ] || break
	"$LDPROF" report --json "$W/live.ldp" > "$W/live-run.json" 2> /dev/null &&
		[ "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["allocation_count"])' "$W/live-run.json")" = "$want" ] && break
	sleep 0.05
done
"$LDPROF" push --to "$L" "$W/live.ldp" > "$W/live1.out" 2>&1
rc1=$?
"$LDPROF" fleet report --from "$L" --json > "$W/live-fleet1.json" 2>> "$W/live1.out"
end1=$(sql "SELECT end_reason FROM live.ldprof_images")
kill -KILL "$(cat "$W/live.truth.ready" 2> /dev/null || echo $lpid)"
wait $lpid 2> /dev/null
"$LDPROF" report --json "$W/live.ldp" > "$W/live-dead.json" 2> /dev/null
"$LDPROF" push --to "$L" "$W/live.ldp" > "$W/live2.out" 2>&1
rc2=$?
"$LDPROF" fleet report --from "$L" --json > "$W/live-fleet2.json" 2>> "$W/live2.out"
end2=$(sql "SELECT argMax(end_reason, pushed_ns) FROM live.ldprof_images")
pushes=$(sql "SELECT uniqExact(trace_id), uniqExact(push_id) FROM live.ldprof_images")
if [ $rc1 = 0 ] && [ $rc2 = 0 ] && grep -q 'pushed as trace' "$W/live2.out" && [ "$end1" = "still running" ] &&
	[ "$end2" = "cut short (killed?)" ] && [ "$pushes" = "$(printf '1\t2')" ] &&
	$CHECK totals "$W/live-fleet1.json" "$W/live-run.json" > "$W/check.out" 2>&1 &&
	$CHECK totals "$W/live-fleet2.json" "$W/live-dead.json" >> "$W/check.out" 2>&1 &&
	$PY - "$W/live.truth" "$W/live-fleet1.json" "$W/live-fleet2.json" >> "$W/check.out" 2>&1 <<'PYEOF'; then
import json, sys
truth = dict(l.split() for l in open(sys.argv[1]))
running, dead = (json.load(open(p))["heap"] for p in sys.argv[2:4])
n, b = int(truth["leaked_count"]), int(truth["leaked_bytes"])
assert (running["leaked_count"], running["live_now_count"], running["live_now_bytes"]) == (0, n, b), running
assert (dead["leaked_count"], dead["leaked_bytes"], dead["live_now_count"]) == (n, b, 0), dead
print(f"running: {n} blocks live now, none leaked; killed: {n} leaked")
PYEOF
	pass "live: pushed while running (still running: live now, not leaked), pushed again once killed (cut short: leaked), one trace ($(tail -1 "$W/check.out"))"
else fail "live: rc $rc1 $rc2, ends '$end1' '$end2', traces/pushes $pushes: $(cat "$W/live1.out" "$W/live2.out" "$W/check.out" | head -c 2000)"; fi

# --- credentials -----------------------------------------------------------------
ok=1
CLICKHOUSE_PASSWORD=s3cret "$LDPROF" push --to "$STORE/creds" --user ldprof "$W/small.ldp" > "$W/creds.out" 2>&1 || ok=0
"$LDPROF" fleet report --from "clickhouse://ldprof:s3cret@127.0.0.1:$CH_HTTP/creds" --json > "$W/creds.json" 2>> "$W/creds.out" || ok=0
CLICKHOUSE_PASSWORD=wrongpw "$LDPROF" push --to "$STORE/creds" --user ldprof "$W/small.ldp" > "$W/creds1.out" 2> "$W/creds1.err"
rc1=$?
"$LDPROF" fleet report --from "clickhouse://ldprof:hunter2@127.0.0.1:$CH_HTTP/creds" > "$W/creds2.out" 2> "$W/creds2.err"
rc2=$?
if [ $ok = 1 ] && $CHECK totals "$W/creds.json" "$W/small.json" > /dev/null 2>&1 &&
	[ $rc1 = 1 ] && one_line "$W/creds1.err" 'ClickHouse: Code: 193, .*[Ww]rong password' &&
	[ $rc2 = 1 ] && one_line "$W/creds2.err" 'ClickHouse: Code: 193' &&
	! grep -qr 's3cret\|wrongpw\|hunter2' "$W"/creds*.out "$W"/creds*.err; then
	pass "credentials: --user + CLICKHOUSE_PASSWORD, user:password in the URL; a wrong one: ClickHouse's own words, exit 1; no password ever printed"
else fail "credentials: ok=$ok rc1=$rc1 rc2=$rc2: $(cat "$W"/creds*.out "$W"/creds*.err | head -c 1500)"; fi

# --- a push that fails at its commit is never counted -----------------------------
A=$STORE/atomic
ok=1
"$LDPROF" push -q --to "$A" "$W/phases_a.ldp" || ok=0
# The image rows (the commit) cannot be inserted: a table of the right name
# whose pid column is an array (ClickHouse: "Cannot parse input").
sql "RENAME TABLE atomic.ldprof_images TO atomic.images_saved" > /dev/null || ok=0
"$LDPROF" fleet schema | $PY -c '
import re, sys
ddl = sys.stdin.read()
t = re.search(r"CREATE TABLE IF NOT EXISTS ldprof_images \(.*?\) ENGINE[^;]*", ddl, re.S).group(0)
print(t.replace("CREATE TABLE IF NOT EXISTS ldprof_images", "CREATE TABLE atomic.ldprof_images").replace("pid UInt64", "pid Array(UInt64)"))' > "$W/broken.sql"
sql "$(cat "$W/broken.sql")" > /dev/null || ok=0
"$LDPROF" push --to "$A" "$W/phases_b.ldp" > "$W/atomic.out" 2> "$W/atomic.err"
rc=$?
sql "DROP TABLE atomic.ldprof_images" > /dev/null || ok=0
sql "RENAME TABLE atomic.images_saved TO atomic.ldprof_images" > /dev/null || ok=0
half=$(sql "SELECT uniqExact(trace_id), uniqExact(push_id) FROM atomic.ldprof_values")
if [ $ok = 1 ] && [ $rc = 1 ] && one_line "$W/atomic.err" 'phases_b.ldp: pushing to .*inserting rows .* into ldprof_images: ClickHouse: Code: .*Cannot parse input.*\(tried 3 times\)' &&
	[ "$half" = "$(printf '2\t4')" ] &&
	"$LDPROF" fleet report --from "$A" --json > "$W/atomic1.json" && $CHECK totals "$W/atomic1.json" "$W/phases_a.json" > /dev/null 2>&1 &&
	"$LDPROF" fleet report --from "$A" --json --by line > "$W/atomic1l.json" && "$LDPROF" report --json --by line "$W/phases_a.ldp" > "$W/pa-line.json" &&
	$CHECK groups "$W/atomic1l.json" "$W/pa-line.json" > /dev/null 2>&1 &&
	"$LDPROF" push -q --to "$A" "$W/phases_b.ldp" &&
	"$LDPROF" fleet report --from "$A" --json > "$W/atomic2.json" && $CHECK totals "$W/atomic2.json" "$W/phases_a.json" "$W/phases_b.json" > /dev/null 2>&1; then
	pass "atomic: the commit insert fails (3 tries, ClickHouse's words, exit 1); the trace's stacks and values sit in the store from 3 pushes, never counted; pushed again: counted once"
else fail "atomic: ok=$ok rc=$rc values(traces, pushes)=$half stderr: $(cat "$W/atomic.err")"; fi

# --- a store of a newer schema is left alone ----------------------------------------
"$LDPROF" push -q --to "$STORE/future" "$W/small.ldp" && sql "INSERT INTO future.ldprof_meta VALUES ('schema_version', '2')" > /dev/null
"$LDPROF" push --to "$STORE/future" --force "$W/small.ldp" > /dev/null 2> "$W/future1.err"
rc1=$?
"$LDPROF" fleet report --from "$STORE/future" > /dev/null 2> "$W/future2.err"
rc2=$?
if [ $rc1 = 1 ] && [ $rc2 = 1 ] && one_line "$W/future1.err" "schema is version 2; this ldprof knows version 1" &&
	one_line "$W/future2.err" "schema is version 2" && [ "$(sql 'SELECT uniqExact(push_id) FROM future.ldprof_images')" = 1 ]; then
	pass "schema_version: a store at version 2: push and fleet refuse it in one line, nothing written"
else fail "schema_version: rc $rc1 $rc2: $(cat "$W/future1.err" "$W/future2.err")"; fi
"$LDPROF" fleet report --from "$STORE/nothing_here" > /dev/null 2> "$W/nostore.err"
rc=$?
if [ $rc = 1 ] && one_line "$W/nostore.err" "no ldprof store there yet"; then
	pass "no_store: fleet report on a database ldprof never pushed to: one line, exit 1"
else fail "no_store: rc $rc: $(cat "$W/nostore.err")"; fi

# --- docs/FLEET.md shows the schema this ldprof creates ----------------------------
"$LDPROF" fleet schema > "$W/schema.sql"
if $PY - "$W/schema.sql" "$ROOT/docs/FLEET.md" > "$W/check.out" 2>&1 <<'EOF'
import sys
ddl, doc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
stmts = [s.strip() for s in ddl.split(";") if "CREATE TABLE" in s]
for s in stmts:
    body = s[s.index("CREATE"):]
    assert body in doc, "not in docs/FLEET.md:\n" + body
print(len(stmts), "statements")
EOF
then pass "schema_docs: docs/FLEET.md shows ldprof fleet schema's DDL verbatim ($(cat "$W/check.out"))"
else fail "schema_docs: $(head -c 1500 "$W/check.out")"; fi

# --- docs/FLEET.md's SQL runs on this ClickHouse -------------------------------------
# The view and the ten questions, each run against the store of the tests;
# question 2 (growth between versions) must name add_word first.
$PY - "$ROOT/docs/FLEET.md" "$W/sql" <<'PYEOF'
import re, sys
doc = open(sys.argv[1]).read()
part = doc[doc.index("## Ten questions in SQL"):]
part = part[:part.index("\n## ", 10)]
for i, q in enumerate(re.findall(r"```sql\n(.*?)```", part, re.S)):
    open(f"{sys.argv[2]}.{i}", "w").write(q)
PYEOF
ok=1 n=0 why=
for q in "$W"/sql.*; do
	n=$((n + 1))
	if ! "$CH_CLIENT" --host 127.0.0.1 --port "$CH_TCP" --database fleet --query "$(cat "$q")" > "$q.out" 2>&1; then
		ok=0
		why="$why $(basename "$q"): $(head -c 300 "$q.out")"
	fi
done
if [ $ok = 1 ] && [ $n = 11 ] && head -1 "$W/sql.2.out" | grep -q '^add_word'; then
	pass "docs_sql: docs/FLEET.md's view and ten questions run on this server; growth between versions names add_word first ($(head -1 "$W/sql.2.out" | tr '\t' ' '))"
else fail "docs_sql: $n statements, $why"; fi

# --- a 3-shard cluster, made with docs/FLEET.md's DDL: the same answers ---------------
# Three more servers that know each other as the cluster "ldprof"; the docs'
# DDL run on each, without ON CLUSTER and with plain engines for the
# replicated ones (no ZooKeeper here); the traces pushed through one server,
# the questions asked of the others.
cluster() {
	ch_cluster_start "$W/cluster" 3 || { echo "the cluster did not come up"; return 1; }
	$PY - "$ROOT/docs/FLEET.md" > "$W/cluster.sql" <<'PYEOF' || return 1
import re, sys
doc = open(sys.argv[1]).read()
part = doc[doc.index("## Sharding and replication"):]
ddl = [q for q in re.findall(r"```sql\n(.*?)```", part, re.S) if "ENGINE = Distributed" in q][0]
ddl = ddl.replace(" ON CLUSTER ldprof", "")
ddl = re.sub(r"Replicated(\w*MergeTree)\('[^']*', '[^']*'\)", r"\1", ddl)
print(ddl)
PYEOF
	local i
	for i in 0 1 2; do
		"$CH_CLIENT" --host 127.0.0.1 --port "${CHC_TCP[i]}" --query "CREATE DATABASE ldprof_template" &&
			"$LDPROF" fleet schema | "$CH_CLIENT" --host 127.0.0.1 --port "${CHC_TCP[i]}" -n --database ldprof_template &&
			"$CH_CLIENT" --host 127.0.0.1 --port "${CHC_TCP[i]}" -n < "$W/cluster.sql" || return 1
	done
	local c0=clickhouse://127.0.0.1:${CHC_HTTP[0]}/ldprof c1=clickhouse://127.0.0.1:${CHC_HTTP[1]}/ldprof
	local c2=clickhouse://127.0.0.1:${CHC_HTTP[2]}/ldprof
	"$LDPROF" push -q --to "$c0" --label version=1.4 "$W/big.ldp" "$W/big2.ldp" &&
		"$LDPROF" push -q --to "$c0" --label version=1.3 "$W/small.ldp" "$W/small2.ldp" &&
		"$LDPROF" push -q --to "$c0" "$W/mapped.ldp" "$W/chain.ldp" "$W/phases_a.ldp" "$W/phases_b.ldp" || return 1
	local shards=""
	for i in 0 1 2; do
		shards="$shards $("$CH_CLIENT" --host 127.0.0.1 --port "${CHC_TCP[i]}" --query \
			"SELECT uniqExact(trace_id) FROM ldprof.ldprof_values_local")"
	done
	echo "traces per shard:$shards"
	# shellcheck disable=SC2086
	[ $(($(echo $shards | tr ' ' '+'))) = 8 ] || { echo "not 8 traces in the shards"; return 1; }
	# (where each trace lands is up to its id: all 8 on one shard has odds of 1 in 2187)
	"$LDPROF" fleet report --from "$c1" --json > "$W/c-fleet.json" &&
		$CHECK totals "$W/c-fleet.json" $(jsons $ALL) &&
		"$LDPROF" fleet report --from "$c2" --json --by traceback > "$W/c-tb.json" &&
		$CHECK groups "$W/c-tb.json" "$W/all-traceback.json" &&
		"$LDPROF" fleet report --from "$c1" --json --by line > "$W/c-line.json" &&
		$CHECK groups "$W/c-line.json" "$W/all-line.json" &&
		"$LDPROF" fleet flame --from "$c2" --what inuse -o "$W/c-flame.svg" &&
		$CHECK flame "$W/c-flame.svg" "$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["fleet"]["peak_sum_bytes"])' "$W/fleet.json")" &&
		"$LDPROF" fleet diff --from "$c2" --base version=1.3 --to version=1.4 --json --top 0 > "$W/c-diff.json" &&
		$CHECK diff "$W/c-diff.json" "$W/grew.json"
}
if cluster > "$W/cluster.out" 2>&1; then
	pass "cluster: docs/FLEET.md's DDL on 3 servers (Distributed over per-shard tables, sharded by trace_id; $(grep -o 'traces per shard:.*' "$W/cluster.out")): fleet report, flame, diff through any server give the single server's answers"
else fail "cluster: $(head -c 2500 "$W/cluster.out")"; fi
ch_cluster_stop

# --- progress on a terminal ----------------------------------------------------------
if command -v script > /dev/null; then
	script -qec "$LDPROF push --to $STORE/progress --batch-rows 10 $W/phases_a.ldp" /dev/null > "$W/progress.out" 2>&1
	if grep -aq 'ldprof push: .*phases_a.ldp: [0-9,]* of [0-9,]* rows' "$W/progress.out" && grep -aq 'pushed as trace' "$W/progress.out"; then
		pass "progress: on a terminal, a progress line per batch ($(tr '\r' '\n' < "$W/progress.out" | grep -a ' rows' | tail -1 | tr -d '\r'))"
	else fail "progress: $(tr '\r' '\n' < "$W/progress.out" | head -c 800)"; fi
fi

# --- the server stops: a clear line, exit 1 -------------------------------------------
ch_stop
"$LDPROF" push --to "$URL" "$W/small.ldp" > "$W/down.out" 2> "$W/down.err"
rc1=$?
fleet report > /dev/null 2> "$W/down2.err"
rc2=$?
if [ $rc1 = 1 ] && one_line "$W/down.err" "cannot reach ClickHouse at 127.0.0.1:$CH_HTTP: .*(refused|connect).*\(tried 3 times\)" &&
	[ $rc2 = 1 ] && one_line "$W/down2.err" "cannot reach ClickHouse at 127.0.0.1:$CH_HTTP"; then
	pass "server_down: push to a stopped server: $(cut -c1-140 "$W/down.err"), exit 1; fleet report the same"
else fail "server_down: rc $rc1 $rc2: $(cat "$W/down.err" "$W/down2.err")"; fi

summary
