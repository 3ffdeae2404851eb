#!/bin/bash
# scripts/fleet-bench.sh BUILD_DIR [TRACES] - how long fleet questions take
# over a fleet of TRACES (default 1000) traces, in a clickhouse-server started
# for the purpose (tests/fleet/clickhouse.sh: 127.0.0.1, free ports, a
# temporary directory, stopped by its pid). A measurement, not a test:
# nothing here fails on a slow run. docs/FLEET.md quotes its output.
#
# The fleet: sqlite3 (a real program: ~440 distinct stacks and ~1000 value
# rows per trace) traced TRACES times on 7 workloads of different sizes,
# each run its own process and so its own trace, pushed from 50 "hosts" as 2
# services and 3 versions. Then each question runs 5 times; the median and
# the fastest are printed.
set -eu
B=$(cd "${1:-build}" && pwd)
N=${2:-1000}
HERE=$(cd "$(dirname "$0")" && pwd)
LDPROF=$B/ldprof
W=$(mktemp -d /tmp/ldprof-fleet-bench.XXXXXX)
# shellcheck source=tests/fleet/clickhouse.sh
. "$HERE/../tests/fleet/clickhouse.sh"
trap 'ch_stop; rm -rf "$W"' EXIT
export LDPROF_VERBOSE=0
[ -n "$CH_SERVER" ] || { echo "fleet-bench: clickhouse-server is not installed (scripts/setup-deps.sh)" >&2; exit 1; }
command -v sqlite3 > /dev/null || { echo "fleet-bench: sqlite3 is not installed (scripts/setup-deps.sh)" >&2; exit 1; }

elapsed() { awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $1 }"; }

workload() {
	local rows=$((2000 + ($1 % 7) * 3000))
	echo "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);"
	echo "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows)"
	echo "  INSERT INTO t SELECT i, hex(randomblob(16)), i * 0.5 FROM s;"
	echo "CREATE INDEX tb ON t(b);"
	echo "SELECT count(*), sum(c) FROM t WHERE b LIKE 'A%';"
	echo "SELECT substr(b, 1, 2), count(*) FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 3;"
	echo "UPDATE t SET c = c * 2 WHERE a % $((2 + $1 % 5)) = 0;"
	echo "DELETE FROM t WHERE a % 5 = 0;"
}

t0=$(date +%s.%N)
for i in $(seq "$N"); do
	workload "$i" > "$W/w$i.sql"
	echo "$i"
done | xargs -P 2 -I{} sh -c "'$LDPROF' record -q -o '$W/t{}.ldp' -- sqlite3 :memory: < '$W/w{}.sql' > /dev/null"
bytes=$(du -cb "$W"/t*.ldp | tail -1 | cut -f1)
echo "recorded $N traces ($((bytes / 1024)) KiB) in $(elapsed "$t0") s, two at a time"

ch_start "$W/ch"
URL=clickhouse://127.0.0.1:$CH_HTTP/bench
push_host() {
	local h=$1 i files=()
	for i in $(seq "$N"); do [ $((i % 50)) = "$h" ] && files+=("$W/t$i.ldp"); done
	[ ${#files[@]} = 0 ] && return 0
	"$LDPROF" push -q --to "$URL" --host "web-$h" --service "svc-$((h % 2))" --label "version=1.$((h % 3))" \
		"${files[@]}"
}
t0=$(date +%s.%N)
for h in $(seq 0 2 49); do
	push_host "$h" &
	other=$!
	push_host $((h + 1))
	wait "$other" # not a bare wait: the server is a child too
done
echo "pushed them in $(elapsed "$t0") s (50 ldprof push runs, one per host, two at a time)"
ch_sql "SELECT 'store: ' || toString(uniqExact(trace_id)) || ' traces, ' || toString(count()) || ' images' FROM bench.ldprof_images"
ch_sql "SELECT 'store: ' || toString(count()) || ' value rows' FROM bench.ldprof_values"
ch_sql "SELECT 'store: ' || toString(count()) || ' stack rows, ' || toString(uniqExact(stack_id)) || ' distinct stacks' FROM bench.ldprof_stacks"
ch_sql "SELECT 'on disk: ' || toString(sum(bytes_on_disk)) || ' bytes in ' || toString(count()) || ' parts' FROM system.parts WHERE database = 'bench' AND active"

timed() {
	local what=$1
	shift
	/usr/bin/python3 - "$what" "$@" <<'EOF'
import statistics, subprocess, sys, time
what, cmd = sys.argv[1], sys.argv[2:]
runs = []
for _ in range(5):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    runs.append(time.perf_counter() - t)
print(f"{what:<58} median {statistics.median(runs):.3f} s, fastest {min(runs):.3f} s")
EOF
}
timed "fleet report (all $N traces, by function)" "$LDPROF" fleet report --from "$URL"
timed "fleet report --by traceback" "$LDPROF" fleet report --from "$URL" --by traceback
timed "fleet report --host 'web-1*' --label version=1.1" "$LDPROF" fleet report --from "$URL" --host 'web-1*' --label version=1.1
timed "fleet report --json" "$LDPROF" fleet report --from "$URL" --json
timed "fleet flame --what inuse" "$LDPROF" fleet flame --from "$URL" --what inuse -o "$W/f.svg"
timed "fleet diff --base version=1.0 --to version=1.2" "$LDPROF" fleet diff --from "$URL" --base version=1.0 --to version=1.2
# shellcheck disable=SC2046
timed "ldprof report over 50 of the trace files (for scale)" "$LDPROF" report $(seq -f "$W/t%g.ldp" 50)
