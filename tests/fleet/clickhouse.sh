# tests/fleet/clickhouse.sh - a real clickhouse-server for a test or a
# benchmark, sourced by tests/fleet/run.sh and scripts/fleet-bench.sh.
#
#   ch_start DIR     start a server as an ordinary process: listening on
#                    127.0.0.1 only, on free ports, data, logs and config in
#                    DIR; waits (bounded) until /ping answers. Sets CH_PID,
#                    CH_HTTP (the HTTP port ldprof uses), CH_TCP. @return 1
#                    with the server's last log lines on stderr if it does not
#                    come up.
#   ch_stop          stop it by its pid (SIGTERM, then SIGKILL after 30 s)
#   ch_sql SQL       run one statement with clickhouse-client
#   ch_cluster_start DIR N   N more servers (DIR/1..N) that know each other as
#                    the cluster "ldprof" (N shards, one replica each; no
#                    ZooKeeper); sets the arrays CHC_PIDS, CHC_HTTP, CHC_TCP
#   ch_cluster_stop  stop them by their pids
#
# Users: "default" (no password) and "ldprof" (password s3cret), both from
# 127.0.0.1 only.

CH_SERVER=$(command -v clickhouse-server || true)
CH_CLIENT=$(command -v clickhouse-client || true)
CH_PID=

CHC_PIDS=()

ch_free_ports() {
	# N ports the kernel just handed out; all are closed again before the
	# servers bind them, so a retry covers the rare theft in between.
	/usr/bin/python3 - "$1" <<'EOF'
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
EOF
}

# ch_write_config DIR HTTP TCP [EXTRA_XML]
ch_write_config() {
	local d=$1 http=$2 tcp=$3 extra=${4:-}
	mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas" "$d/log"
	cat > "$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$d/log/server.log</log>
    <errorlog>$d/log/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  $extra
</yandex>
EOF
	cat > "$d/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <ldprof>
      <password>s3cret</password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </ldprof>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
EOF
}

# ch_launch DIR HTTP TCP [EXTRA_XML]: start one server, wait for /ping
# (bounded: up in well under a second here, a loaded machine gets 60 s).
# Sets CH_LAST_PID (empty when it died). @return 0 when it answers.
ch_launch() {
	local d=$1 http=$2 i
	ch_write_config "$@"
	"$CH_SERVER" --config-file="$d/config.xml" > "$d/log/stdout" 2>&1 &
	CH_LAST_PID=$!
	for i in $(seq 600); do
		if ! kill -0 "$CH_LAST_PID" 2> /dev/null; then
			wait "$CH_LAST_PID" 2> /dev/null || true
			CH_LAST_PID=
			return 1
		fi
		if /usr/bin/python3 -c 'import sys, urllib.request
sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:%s/ping" % sys.argv[1], timeout=2).read() == b"Ok.\n" else 1)' \
			"$http" 2> /dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

ch_last_words() {
	echo "clickhouse-server did not come up; its last words:" >&2
	tail -n 20 "$1/log/stdout" "$1/log/server.err.log" >&2 2> /dev/null
}

ch_start() {
	local d=$1 try
	for try in 1 2 3; do
		read -r CH_HTTP CH_TCP < <(ch_free_ports 2)
		ch_launch "$d" "$CH_HTTP" "$CH_TCP" && { CH_PID=$CH_LAST_PID; return 0; }
		ch_stop_pid "${CH_LAST_PID:-}"
	done
	ch_last_words "$d"
	return 1
}

# ch_stop_pid PID...: SIGTERM to all at once, then SIGKILL to whoever is
# left after 30 s. Each step may find a server gone already: never an error,
# also under set -e.
ch_stop_pid() {
	local p i alive
	for p in "$@"; do [ -n "$p" ] && { kill -TERM "$p" 2> /dev/null || true; }; done
	for i in $(seq 300); do
		alive=0
		for p in "$@"; do [ -n "$p" ] && kill -0 "$p" 2> /dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill -KILL "$p" 2> /dev/null || true
		wait "$p" 2> /dev/null || true
	done
	return 0
}

ch_stop() {
	ch_stop_pid "$CH_PID"
	CH_PID=
}

ch_cluster_start() {
	local d=$1 n=$2 try i ports remote
	for try in 1 2 3; do
		read -r -a ports < <(ch_free_ports $((2 * n)))
		CHC_HTTP=() CHC_TCP=()
		remote="<remote_servers><ldprof>"
		for i in $(seq 0 $((n - 1))); do
			CHC_HTTP+=("${ports[2 * i]}")
			CHC_TCP+=("${ports[2 * i + 1]}")
			remote="$remote<shard><replica><host>127.0.0.1</host><port>${ports[2 * i + 1]}</port></replica></shard>"
		done
		remote="$remote</ldprof></remote_servers>"
		local ok=1
		for i in $(seq 0 $((n - 1))); do
			if ch_launch "$d/$i" "${CHC_HTTP[i]}" "${CHC_TCP[i]}" "$remote"; then
				CHC_PIDS+=("$CH_LAST_PID")
			else
				ch_stop_pid "${CH_LAST_PID:-}"
				ok=0
				break
			fi
		done
		[ $ok = 1 ] && return 0
		ch_cluster_stop
	done
	ch_last_words "$d/$i"
	return 1
}

ch_cluster_stop() {
	ch_stop_pid "${CHC_PIDS[@]}"
	CHC_PIDS=()
	return 0
}

ch_sql() {
	"$CH_CLIENT" --host 127.0.0.1 --port "$CH_TCP" --query "$1"
}
