# tests/integration/rotate.sh - bounded traces (--max-size, --keep), sourced
# by run.sh (uses its $W, $B, $BIN, $LDPROF, $PY, pass, fail, report).
#
# A long multithreaded run with cross-thread frees (truth_oversub), rotated
# at 1 MiB: every part but the last is between max-size and max-size plus
# one round, and one round is at most what the rings hold (threads x ring
# size, here 4 x 64 KiB) plus the part's preamble (modules, stacks, ring
# states; 64 KiB is far above it for this program). Read as one run, the
# counts equal the program's own truth exactly. rotate_window does the same
# for the 1.7 events' frees by index and allocations by reuse.
R=$W/rotate
mkdir -p "$R/full" "$R/head" "$R/tail" "$R/keep" "$R/win" "$R/win0"
MAX=$((1 << 20))
BOUND=$((MAX + 4 * 65536 + 65536))

t=rotate
if LDPROF_RING_KB=64 "$LDPROF" record -q -o "$R/full/app.ldp" --max-size 1MiB -- \
		"$BIN/truth_oversub" "$R/app.truth" 4 4 &&
	"$LDPROF" record -q -o "$R/base.ldp" -- "$BIN/truth_oversub" "$R/base.truth" 0 4 baseline &&
	report "$R/base.ldp" "$R/base.json" && report "$R/full/app.ldp" "$R/full.json" &&
	$CHECK "$R/app.truth" "$R/full.json" --baseline "$R/base.json" | sed 's/^/     /'; then
	n=$(ls "$R/full" | wc -l)
	ok=1
	last=$((n - 1))
	for k in $(seq 0 $last); do
		f="$R/full/app.$k.ldp"
		[ $k = 0 ] && f="$R/full/app.ldp"
		[ -f "$f" ] || { echo "     part $k missing: $(ls "$R/full")"; ok=0; continue; }
		size=$(stat -c %s "$f")
		if [ $k -lt $last ] && { [ $size -lt $MAX ] || [ $size -gt $BOUND ]; }; then
			echo "     part $k: $size bytes, not in [$MAX, $BOUND]"; ok=0
		fi
	done
	if [ $ok = 1 ] && [ $n -ge 4 ] && $PY - "$R/full.json" $last <<'PYEOF'; then
import json, sys
p = json.load(open(sys.argv[1]))["parts"]
assert p["first_part"] == 0 and p["last_part"] == int(sys.argv[2]) and p["deleted_part_count"] == 0 and p["to_ns"] > 3.5e9, p
PYEOF
		pass "$t: $n parts of at most max-size + one round ($BOUND bytes), read as one run: exact"
	else fail "$t: $n parts"; fi
else fail "$t"; fi

# The same run split in two: the first parts read as a run (ends where the
# next part would go on), the later ones read as a run that began earlier.
# Together they hold every event once: allocations add up to the truth, and
# the later parts' frees of blocks from the earlier ones are counted as
# "allocated before the first part read", not lost.
t=rotate_split
if [ -f "$R/full/app.3.ldp" ]; then
	cp "$R/full/app.ldp" "$R/full/app.1.ldp" "$R/full/app.2.ldp" "$R/head/"
	for f in "$R"/full/app.*.ldp; do
		k=${f##*/app.}; k=${k%.ldp}
		[ "$k" -ge 3 ] && cp "$f" "$R/tail/"
	done
	report "$R/head/app.ldp" "$R/head.json" && report "$R/tail/app.ldp" "$R/tail.json" &&
		"$LDPROF" report "$R/tail/app.ldp" > "$R/tail.txt" &&
		"$LDPROF" report --json "$R/full/app.3.ldp" > "$R/part3.json" && "$LDPROF" report "$R/full/app.3.ldp" > "$R/part3.txt"
	if [ $? = 0 ] && $PY - "$R/full.json" "$R/head.json" "$R/tail.json" "$R/part3.json" <<'PYEOF'; then
import json, sys
full, head, tail, p3 = (json.load(open(a)) for a in sys.argv[1:5])
F, H, T, P = full["heap"], head["heap"], tail["heap"], p3["heap"]
assert H["allocation_count"] + T["allocation_count"] == F["allocation_count"], (H, T, F)
assert H["allocated_bytes"] + T["allocated_bytes"] == F["allocated_bytes"]
assert H["free_count"] + T["free_count"] + T["unknown_free_count"] == F["free_count"], \
    (H["free_count"], T["free_count"], T["unknown_free_count"], F["free_count"])
assert T["unknown_free_count"] > 0 and F["unknown_free_count"] == 0
assert tail["parts"]["first_part"] == 3 and tail["parts"]["deleted_part_count"] == 3 and tail["parts"]["from_ns"] > 0, tail["parts"]
assert head["parts"]["last_part"] == 2
# a part alone: valid, its image goes on in the next part (nothing leaked)
assert p3["parts"]["first_part"] == p3["parts"]["last_part"] == 3 and P["allocation_count"] > 0 and P["leaked_bytes"] == 0, p3["parts"]
assert p3["segments"][0]["end"] != "cut short", p3["segments"][0]
PYEOF
		grep -q "parts 0..2 were deleted" "$R/tail.txt" && grep -q "allocated before the first part read" "$R/part3.txt" &&
		pass "$t: parts 0-2 + parts 3-$(( $(ls "$R/full" | wc -l) - 1 )) = the whole run; part 3 alone reads"
	else fail "$t"; sed 's/^/     /' "$R/tail.txt" | head -5; fi
else fail "$t: the run made fewer than 4 parts"; fi

# Frees by allocation index and allocations that reuse the block their size
# class freed last, across every cut (truth_window: each thread frees one of
# its 200 latest blocks and glibc hands that block back to its next
# allocation of the size): a part after the first decodes only with the
# model its RING records carry. Read as one run, the reader checks every
# RING against the state the events before it give, and the counts equal
# the program's truth; every part read alone reads, its frees of blocks
# from the parts before are "allocated before the first part read", and
# the parts read alone add up to the run.
t=rotate_window
if LDPROF_RING_KB=64 "$LDPROF" record -q -o "$R/win/app.ldp" --max-size 1MiB -- \
		"$BIN/truth_window" "$R/win.truth" 2 2 &&
	"$LDPROF" record -q -o "$R/winbase.ldp" -- "$BIN/truth_window" "$R/winbase.truth" 0 2 baseline &&
	report "$R/winbase.ldp" "$R/winbase.json" && report "$R/win/app.ldp" "$R/win.json" &&
	$CHECK "$R/win.truth" "$R/win.json" --baseline "$R/winbase.json" | sed 's/^/     /'; then
	n=$(ls "$R/win" | wc -l)
	ok=1
	cp "$R/win/app.ldp" "$R/win0/" # part 0 alone: its later parts are read with it when they are there
	for k in $(seq 0 $((n - 1))); do
		f="$R/win/app.$k.ldp"
		[ $k = 0 ] && f="$R/win0/app.ldp"
		if ! "$LDPROF" report --json "$f" > "$R/win.$k.json" 2> "$R/win.$k.err"; then
			echo "     part $k alone: $(head -1 "$R/win.$k.err")"
			ok=0
		fi
	done
	if [ $ok = 1 ] && [ $n -ge 4 ] && $PY - "$R/win.json" "$R"/win.*.json <<'PYEOF'; then
import json, sys
full = json.load(open(sys.argv[1]))
F = full["heap"]
parts = sorted((json.load(open(a)) for a in sys.argv[2:]), key=lambda r: r["parts"]["first_part"])
last = len(parts) - 1
assert F["unknown_free_count"] == 0 and full["parts"]["last_part"] == last, (F, full["parts"])
for k, r in enumerate(parts):
    p, h = r["parts"], r["heap"]
    assert p["first_part"] == p["last_part"] == k, p
    if k > 0:  # blocks of the parts before, freed here by index
        assert h["unknown_free_count"] > 0, (k, h)
    if 0 < k < last:  # the image goes on in the next part: nothing leaked
        assert h["leaked_bytes"] == 0 and r["segments"][0]["end"] != "cut short", (k, h, r["segments"][0])
assert parts[last]["segments"][0]["end"] == "exit", parts[last]["segments"][0]
for key in ("allocation_count", "allocated_bytes"):
    assert sum(r["heap"][key] for r in parts) == F[key], (key, [r["heap"][key] for r in parts], F[key])
assert sum(r["heap"]["free_count"] + r["heap"]["unknown_free_count"] for r in parts) == F["free_count"]
PYEOF
		pass "$t: $n parts, each read alone and all as one run; frees by index and reuses across every cut: exact"
	else fail "$t: $n parts"; fi
else fail "$t"; fi

# --keep 3: only the newest three parts stay; `ldprof report app.ldp` finds
# them though app.ldp itself is gone, and says the older ones were deleted.
t=rotate_keep
if LDPROF_RING_KB=64 "$LDPROF" record -q -o "$R/keep/app.ldp" --max-size 1MiB --keep 3 -- \
		"$BIN/truth_oversub" "$R/keep.truth" 3 4 &&
	report "$R/keep/app.ldp" "$R/keep.json" && "$LDPROF" report "$R/keep/app.ldp" > "$R/keep.txt"; then
	n=$(ls "$R/keep" | wc -l)
	if [ "$n" = 3 ] && [ ! -f "$R/keep/app.ldp" ] && grep -q "were deleted, --keep" "$R/keep.txt" &&
		$PY - "$R/keep.json" "$R/keep.truth" <<'PYEOF'; then
import json, sys
r = json.load(open(sys.argv[1])); p = r["parts"]; h = r["heap"]
truth = dict(l.split() for l in open(sys.argv[2]))
assert p["deleted_part_count"] == p["first_part"] >= 1 and p["last_part"] == p["first_part"] + 2, p
assert 0 < h["allocation_count"] < int(truth["allocations"]) and h["unknown_free_count"] > 0, h
assert r["segments"][0]["end"] == "exit", r["segments"][0]
PYEOF
		pass "$t: 3 newest parts kept, read as the run's last $(grep -o 'covers.*' "$R/keep.txt")"
	else fail "$t: $n files: $(ls "$R/keep")"; fi
else fail "$t"; fi
