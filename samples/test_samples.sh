#!/bin/bash
# samples/test_samples.sh BUILD_DIR - the samples' invariants (samples/README.md):
# every mode runs and agrees with the others, the speed-ups the scenarios are
# about hold (properties of the programs, with margins, not overhead
# measurements), the load mode's heap peak under ldprof dwarfs stream's, every
# format round-trips and hostile inputs are rejected. Each check prints one
# line; any failure exits 1.
set -u
B=$(cd "${1:-build}" && pwd)
LDPROF=$B/ldprof
S=$B/samples
PY=/usr/bin/python3
W=$(mktemp -d /tmp/ldprof-samples.XXXXXX)
trap 'rm -rf "$W"' EXIT
failures=0
export LDPROF_VERBOSE=0

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
# show FILE: indent a file's lines under a failure, for the log
show() { sed 's/^/     /' "$1" | head -20; }
traced() { "$LDPROF" record -q -o "$W/$1.ldp" -- "${@:2}"; }
# heap FIELD TRACE: one field of `ldprof report --json`'s heap
heap() { "$LDPROF" report --json "$2" | $PY -c 'import json,sys; print(json.load(sys.stdin)["heap"][sys.argv[1]])' "$1"; }

# --- slow_api -----------------------------------------------------------------
# 8 calls: sequential takes 8 waits, threads and async one, so the 3x required
# leaves them most of a wait to spare on a busy machine (waits of 250 ms: a
# loaded machine delays starting a thread by 100 ms and more).
t=slow_api
if "$S/slow_api" --mode all --calls 8 --keys 4 --delay-ms 250 --handshake-ms 0 > "$W/$t.out" 2> "$W/$t.err"; then
	# mode calls seconds ok CHECKSUM note...
	modes=$(awk '$4 == "ok" {print $1}' "$W/$t.out" | tr '\n' ' ')
	sums=$(awk '$4 == "ok" {print $5}' "$W/$t.out" | sort -u | wc -l)
	if [ "$modes" = "sequential threads async pooled cached " ] && [ "$sums" = 1 ]; then
		pass "$t: all five modes exit 0, every call answered and verified, the same checksum in each"
	else fail "$t: modes ok: '$modes', distinct checksums: $sums"; show "$W/$t.out"; fi
	secs() { awk -v m="$1" '$1 == m {print $3}' "$W/$t.out"; }
	if awk -v s="$(secs sequential)" -v t="$(secs threads)" -v a="$(secs async)" \
		'BEGIN { exit !(t > 0 && a > 0 && s >= 3 * t && s >= 3 * a) }'; then
		pass "$t: threads ($(secs threads) s) and async ($(secs async) s) at least 3x faster than sequential ($(secs sequential) s)"
	else fail "$t: threads $(secs threads) s, async $(secs async) s, sequential $(secs sequential) s: not 3x"; fi
	if grep -q '^cached .* 4 hits, 4 misses' "$W/$t.out"; then
		pass "$t: cached: the repeated keys are answered from the cache (4 hits, 4 misses)"
	else fail "$t: cached"; show "$W/$t.out"; fi
else fail "$t: exit status $?"; show "$W/$t.out"; show "$W/$t.err"; fi

# Keep-alive saves 3 handshakes of 100 ms; at least half of that must show.
t=slow_api_pooled
if "$S/slow_api" --mode pooled --calls 4 --delay-ms 20 --handshake-ms 100 > "$W/$t.out" 2> "$W/$t.err"; then
	# "... connect-per-call took X s: reuse saved Y s"
	saved=$(awk '$1 == "pooled" {print $(NF - 1)}' "$W/$t.out")
	if awk -v y="${saved:-0}" 'BEGIN { exit !(y >= 0.150) }'; then
		pass "$t: keep-alive saves ${saved} s against connect-per-call (3 handshakes of 100 ms)"
	else fail "$t: saved '${saved}' s, expected about 0.300"; show "$W/$t.out"; fi
else fail "$t: exit status $?"; show "$W/$t.out"; show "$W/$t.err"; fi

t=slow_api_timeout
ok=1
for m in sequential async; do
	"$S/slow_api" --mode $m --calls 2 --delay-ms 400 --timeout-ms 50 > "$W/$t.$m.out" 2> "$W/$t.$m.err"
	rc=$?
	if [ $rc != 1 ] || ! grep -q 'no answer within 50 ms' "$W/$t.$m.err" || ! grep -q "^$m .*FAILED 2 of 2" "$W/$t.$m.out"; then
		echo "     $m: exit $rc"; show "$W/$t.$m.err"; ok=0
	fi
done
[ $ok = 1 ] && pass "$t: a call that times out is reported, and the run exits 1 (sequential, async)" || fail "$t"

t=slow_api_traced
if traced $t "$S/slow_api" --mode all --calls 8 --keys 4 --delay-ms 50 --handshake-ms 0 > "$W/$t.out" 2> "$W/$t.err" &&
	[ "$(grep -c '  ok ' "$W/$t.out")" = 5 ] &&
	[ "$(awk '$4 == "ok" {print $5}' "$W/$t.out" | sort -u)" = "$(awk '$4 == "ok" {print $5}' "$W/slow_api.out" | sort -u)" ] &&
	allocs=$(heap allocation_count "$W/$t.ldp"); then
	pass "$t: under ldprof record (the service forked, a thread pool, epoll): same answers, exit 0, trace reads ($allocs allocations)"
else fail "$t"; show "$W/$t.out"; show "$W/$t.err"; fi

# --- rows ---------------------------------------------------------------------
t=rows
csv=$W/rows.csv
if "$S/rows" --rows 100000 --seed 3 --write "$csv" > /dev/null &&
	"$S/rows" --file "$csv" --mode all --chunk-kb 1 > "$W/$t.out"; then
	lines=$(awk 'NF >= 4 && $1 ~ /^(load|stream|chunked|mmap)$/ {print $2, $3}' "$W/$t.out")
	distinct=$(echo "$lines" | sort -u | wc -l)
	want=$($PY -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline="")))[1:]
print(len(r), sum(1 for x in r if len(x) > 1 and x[1] == "books"))' "$csv")
	if [ "$(echo "$lines" | wc -l)" = 4 ] && [ "$distinct" = 1 ] && [ "$(echo "$lines" | head -1)" = "$want" ]; then
		pass "$t: load, stream, chunked (1 KiB blocks), mmap: the same rows and matches ($want), as Python's csv counts"
	else fail "$t: modes say '$(echo "$lines" | tr '\n' '|')', Python's csv '$want'"; show "$W/$t.out"; fi
else fail "$t: exit status"; show "$W/$t.out"; fi

t=rows_edges
# CRLF, a line longer than the block, quoted and doubled quotes, an empty
# line, a one-field row, no newline at the end: 12 rows, 7 match.
$PY - "$W/edges.csv" <<'PYEOF'
import sys
rows = ['id,category,amount,note', '1,books,1.00,a', '', '2,"books",2,"a, b"', '3,"bo""oks",3,c', '4,books',
        '5,"books",x', '6,books,' + 'x' * 5000, '7', '8,books', '9,"unterminated,books', '10,book', '11,booksx,1', '12,books']
open(sys.argv[1], 'w', newline='').write('\r\n'.join(rows))
PYEOF
if "$S/rows" --file "$W/edges.csv" --chunk-kb 1 > "$W/$t.out" &&
	[ "$(awk '$1 ~ /^(load|stream|chunked|mmap)$/ {print $2, $3}' "$W/$t.out" | sort -u)" = "12 7" ]; then
	pass "$t: CRLF, a 5 KB line over a 1 KiB block, quotes, no final newline: every mode counts 12 rows, 7 matches"
else fail "$t"; show "$W/$t.out"; fi

t=rows_tmpfile
mkdir -p "$W/tmp"
if TMPDIR=$W/tmp "$S/rows" --rows 20000 --mode stream > "$W/$t.out" && [ -z "$(ls -A "$W/tmp")" ]; then
	pass "$t: without --file it writes a temporary CSV, counts, and deletes it"
else fail "$t"; show "$W/$t.out"; ls -la "$W/tmp" | sed 's/^/     /'; fi

t=rows_peak
if traced rows_load "$S/rows" --file "$csv" --mode load > "$W/$t.load.out" &&
	traced rows_stream "$S/rows" --file "$csv" --mode stream > "$W/$t.stream.out" &&
	load=$(heap peak_bytes "$W/rows_load.ldp") && stream=$(heap peak_bytes "$W/rows_stream.ldp") &&
	[ "$(awk '$1 == "load" {print $2, $3}' "$W/$t.load.out")" = "$want" ] &&
	[ "$(awk '$1 == "stream" {print $2, $3}' "$W/$t.stream.out")" = "$want" ]; then
	if [ "$stream" -gt 0 ] && [ "$load" -ge $((10 * stream)) ]; then
		pass "$t: under ldprof, load's heap peak ($load B) is $((load / stream))x stream's ($stream B), same counts"
	else fail "$t: load peak $load B, stream peak $stream B: not 10x"; fi
	# The symbolized report explains it: the row array and the field copies.
	if "$LDPROF" report --json "$W/rows_load.ldp" | $PY -c 'import json, sys
r = json.load(sys.stdin)
g = {x["function"]: x["heap"]["peak_bytes"] for x in r["groups"]}
ours = g.get("load_all_rows", 0) + g.get("field_dup", 0)
assert g.get("load_all_rows", 0) > 0 and g.get("field_dup", 0) > 0 and ours >= 0.99 * r["heap"]["peak_bytes"], g'; then
		pass "$t: the report puts >= 99% of load's peak in load_all_rows (the array) and field_dup (the strings)"
	else fail "$t: load's peak is not attributed to load_all_rows and field_dup"; fi
else fail "$t: traced runs"; show "$W/$t.load.out"; fi

# --- serialize ----------------------------------------------------------------
t=serialize
if "$S/serialize" --records 2000 --number 1 --repeat 3 > "$W/$t.out" &&
	[ "$(awk '$1 ~ /^(json|msgpack|raw)$/ && $7 == "exact" {print $1}' "$W/$t.out" | tr '\n' ' ')" = "json msgpack raw " ]; then
	pass "$t: json, msgpack and raw each round-trip 2000 records bit for bit (-0.0, subnormals, UTF-8, escapes)"
else fail "$t"; show "$W/$t.out"; fi

t=serialize_untrusted
mkdir -p "$W/ser"
if "$S/serialize" --records 3 --save "$W/ser" > /dev/null && $PY - "$W/ser" <<'PYEOF'; then
import struct, sys
d = sys.argv[1]
def put(name, data): open(f"{d}/{name}", "wb").write(data)
raw = open(f"{d}/records.raw", "rb").read()
put("truncated.json", open(f"{d}/records.json", "rb").read()[:60])
put("truncated.msgpack", open(f"{d}/records.msgpack", "rb").read()[:-3])
put("truncated.raw", raw[:-3])
put("deep.json", b"[" * 100000 + b"]" * 100000)
put("bigint.json", b'[{"id": 123456789012345678901234567890, "name": "x", "scores": []}]')
put("schema.json", b'[{"id": 1, "name": "x", "scores": ["high"]}]')
put("dupkey.json", b'[{"id": 1, "id": 2, "name": "x", "scores": []}]')
put("badutf8.json", b'[{"id": 1, "name": "\xff\xfe", "scores": []}]')
put("bomb.msgpack", b"\xdf\x10\x00\x00\x00")           # a map claiming 2^28 entries, in 5 bytes
put("bigstr.msgpack", b"\x91\xdb\xff\xff\xff\xff" + b"x" * 8)
put("deep.msgpack", b"\x91" * 40 + b"\x00")
put("reserved.msgpack", b"\x91\xc1")
b = bytearray(raw); struct.pack_into("<I", b, 32 + 16, 0xffffffff); put("name_len.raw", b)   # record 0's name_len
b = bytearray(raw); struct.pack_into("<I", b, 32 + 20, 0x10000000); put("nscores.raw", b)    # record 0's nscores
b = bytearray(raw); struct.pack_into("<Q", b, 16, 1 << 40); put("count.raw", b)             # header count
b = bytearray(raw); struct.pack_into("<I", b, 12, 40); put("abi.raw", b)                    # another struct layout
b = bytearray(raw); struct.pack_into("<I", b, 8, 0x04030201); put("endian.raw", b)          # another byte order
PYEOF
	ok=1
	for f in "$W"/ser/*; do
		name=$(basename "$f")
		if ! "$S/serialize" --untrusted "$f" > "$W/u.out" 2>&1; then echo "     $name: exit status $?"; show "$W/u.out"; ok=0; continue; fi
		for fmt in json msgpack raw; do
			verdict=$(awk -v f=$fmt '$1 == f && ($2 == "accepted:" || $2 == "rejected:") {print $2}' "$W/u.out")
			expect=rejected:
			[ "$name" = "records.$fmt" ] && expect=accepted:
			if [ "$verdict" != "$expect" ]; then echo "     $name: $fmt says '$verdict', expected $expect"; show "$W/u.out"; ok=0; fi
		done
	done
	grep -q "would read 4.0 GiB past the end" <("$S/serialize" --untrusted "$W/ser/name_len.raw") || { echo "     name_len.raw: no explanation"; ok=0; }
	grep -q "claims 268435456 entries" <("$S/serialize" --untrusted "$W/ser/bomb.msgpack") || { echo "     bomb.msgpack: not caught by the walk"; ok=0; }
	n=$(ls "$W/ser" | wc -l)
	[ $ok = 1 ] && pass "$t: $((n - 3)) hostile or malformed inputs rejected by every decoder with a clear error; each valid file accepted by its own" ||
		fail "$t"
else fail "$t: could not make the inputs"; fi

t=serialize_traced
ok=1
for fmt in json msgpack raw; do
	if traced ser_$fmt "$S/serialize" --format $fmt --records 2000 --number 1 --repeat 1 > "$W/$t.$fmt.out" &&
		grep -q "^$fmt .* exact " "$W/$t.$fmt.out"; then
		eval "a_$fmt=\$(heap allocation_count \"\$W/ser_\$fmt.ldp\")"
	else echo "     $fmt: traced run failed"; show "$W/$t.$fmt.out"; ok=0; fi
done
if [ $ok = 1 ] && [ "$a_json" -gt "$a_msgpack" ] && [ "$a_msgpack" -gt "$a_raw" ]; then
	pass "$t: under ldprof, exact; allocations json $a_json > msgpack $a_msgpack > raw $a_raw"
else fail "$t: allocations json ${a_json:-?} msgpack ${a_msgpack:-?} raw ${a_raw:-?}"; fi

# --- budgets: ldprof check guards the samples' memory, as a user's CI would ---
t=budgets
budget() { "$LDPROF" check "$@" > "$W/$t.out" 2>&1; echo $?; }
if [ -f "$W/rows_stream.ldp" ] && [ -f "$W/rows_load.ldp" ] && [ -f "$W/ser_json.ldp" ]; then
	ok=1
	# streaming keeps its promise: under 1 MiB at the peak, nothing leaked
	[ "$(budget --max-peak 1MiB --max-leaked 64KiB "$W/rows_stream.ldp")" = 0 ] || { ok=0; show "$W/$t.out"; }
	# the naive load breaks the same budget, and says by how much
	[ "$(budget --max-peak 1MiB --max-leaked 64KiB "$W/rows_load.ldp")" = 1 ] &&
		grep -q '^BROKEN max-peak: .* > 1.00 MiB' "$W/$t.out" || { ok=0; show "$W/$t.out"; }
	# a second stream run against the first as a baseline: no growth at the peak
	traced rows_stream2 "$S/rows" --file "$csv" --mode stream > /dev/null &&
		[ "$(budget --baseline "$W/rows_stream.ldp" --max-growth 10 --at peak "$W/rows_stream2.ldp")" = 0 ] ||
		{ ok=0; show "$W/$t.out"; }
	# load against stream as the baseline: growth far over 10%
	[ "$(budget --baseline "$W/rows_stream.ldp" --max-growth 10 --at peak "$W/rows_load.ldp")" = 1 ] ||
		{ ok=0; show "$W/$t.out"; }
	# the serializers free what they allocate
	for fmt in json msgpack raw; do
		[ "$(budget --max-leaked 64KiB "$W/ser_$fmt.ldp")" = 0 ] || { ok=0; show "$W/$t.out"; }
	done
	[ $ok = 1 ] && pass "$t: ldprof check: stream within 1 MiB peak and 64 KiB leaked, load broken (exit 1), stream vs stream no growth, load vs stream growth caught, serializers leak nothing" ||
		fail "$t"
else fail "$t: the traces of rows_peak and serialize_traced are missing"; fi

# --- sampled mode on a real scenario: load's peak estimated within 15% ----------
# The peak here is about 8 MB: at 8 KiB between samples its estimate's
# standard deviation is about sqrt(8 KiB / 8 MB) = 3.2%, so 15% is 4.7 of them.
# (A realloc whose old and new blocks were both counted live would be +25%.)
t=rows_sampled
traced_sampled() { "$LDPROF" record -q -o "$W/$1.ldp" --mode sampled --sample-bytes 8KiB -- "${@:2}"; }
# The peak's stated standard deviation (heap.estimated.peak_stddev_bytes,
# about 0.7% here) is the real one: the exact peak within 4 of it (load's
# heap climbs to its peak once, so the maximum of estimates hardly leans).
if traced_sampled rows_load_sampled "$S/rows" --file "$csv" --mode load > /dev/null &&
	est=$(heap peak_bytes "$W/rows_load_sampled.ldp") && full=$(heap peak_bytes "$W/rows_load.ldp") &&
	sd=$("$LDPROF" report --json "$W/rows_load_sampled.ldp" | $PY -c 'import json,sys; print(json.load(sys.stdin)["heap"]["estimated"]["peak_stddev_bytes"])') &&
	[ "$sd" -gt 0 ] && [ $((est - full)) -le $((4 * sd)) ] && [ $((full - est)) -le $((4 * sd)) ]; then
	pass "$t: --mode sampled --sample-bytes 8KiB estimates load's peak at $est B against $full B exact, within 4 of its stated standard deviation ($sd B)"
else fail "$t: sampled peak ${est:-?} against full ${full:-?}, stated standard deviation ${sd:-?}"; fi

echo
if [ $failures -gt 0 ]; then echo "samples: $failures FAILED"; exit 1; fi
echo "samples: all passed"
