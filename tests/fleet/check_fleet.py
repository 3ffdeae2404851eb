"""check_fleet.py CHECK ARGS... - compare what `ldprof fleet` says with what
`ldprof report` / `ldprof diff` say about the same trace files. Exit 0 and a
one-line summary when they agree; an assertion naming the first difference
otherwise.

  totals FLEET.json REPORT.json...   fleet report totals == the sums of the per-trace reports
                                     (what was missed too; the first damage is one of theirs)
  groups FLEET.json REPORT.json      every group of `ldprof report --json T...` (all traces at
                                     once) has the same figures in the fleet report, and no more
  flame SVG TOTAL                    the flame graph's root weight is TOTAL, and its root frames
                                     fill the width (their weights add up to the root's)
  diff FLEET.json DIFF.json          `fleet diff --json` lists the groups and totals of `ldprof diff --json`
  grew FLEET.json NAME               the first group of a fleet diff is NAME, and it grew
"""
import json
import sys
import xml.etree.ElementTree as ET

HEAP = ["allocation_count", "free_count", "allocated_bytes", "leaked_bytes", "leaked_count", "live_now_bytes",
        "live_now_count", "temporary_count", "unknown_free_count"]
MISSED = ["damaged_region_count", "skipped_bytes", "dropped_event_count", "unordered_event_count",
          "nested_allocation_count", "nested_free_count"]
PROF = ["sample_count", "total_ns", "agent_sample_count", "agent_total_ns", "lost_sample_count"]
MAPPED = ["map_count", "remap_count", "unmap_count", "mapped_bytes"]
# a group's figures: (channel, field), docs/JSON.md
GROUP = [("heap", k) for k in ("allocation_count", "allocated_bytes", "free_count", "leaked_count", "leaked_bytes",
                               "peak_bytes", "peak_count", "temporary_count")] + \
        [(c, k) for c in ("cpu", "wall") for k in ("self_sample_count", "total_sample_count", "self_ns", "total_ns")] + \
        [("mapped", k) for k in ("map_count", "mapped_bytes", "peak_bytes", "live_at_exit_bytes")]


def load(p):
    with open(p) as f:
        return json.load(f)


def totals(fleet_path, *reports):
    fleet, reps = load(fleet_path), [load(p) for p in reports]
    assert fleet["fleet"]["trace_count"] == len(reps), ("traces", fleet["fleet"]["trace_count"], len(reps))
    for k in HEAP:
        want = sum(r["heap"][k] for r in reps)
        assert fleet["heap"][k] == want, ("heap", k, fleet["heap"][k], want)
    for kind in ("cpu", "wall"):
        for k in PROF:
            want = sum(r[kind][k] for r in reps)
            assert fleet[kind][k] == want, (kind, k, fleet[kind][k], want)
    for k in MAPPED:
        want = sum(r["mapped"][k] for r in reps)
        assert fleet["mapped"][k] == want, ("mapped", k, fleet["mapped"][k], want)
    for k in MISSED:
        want = sum(r["missed"][k] for r in reps)
        assert fleet["missed"][k] == want, ("missed", k, fleet["missed"][k], want)
    firsts = [r["missed"]["first_damage"] for r in reps if r["missed"]["first_damage"]]
    got = fleet["missed"]["first_damage"]
    assert (got in firsts) if firsts else got is None, ("first damage", got, firsts)
    assert fleet["heap"]["peak_bytes"] == max(r["heap"]["peak_bytes"] for r in reps)
    want = sum(r["heap"]["peak_bytes"] for r in reps)
    assert fleet["fleet"]["peak_sum_bytes"] == want, ("peak_sum_bytes", fleet["fleet"]["peak_sum_bytes"], want)
    hist = {}
    for r in reps:
        for b in r["size_histogram"]:
            hist[b["max_size_bytes"]] = hist.get(b["max_size_bytes"], 0) + b["allocation_count"]
    got = {b["max_size_bytes"]: b["allocation_count"] for b in fleet["size_histogram"]}
    assert got == hist, ("size histogram", got, hist)
    h = fleet["heap"]
    print(f"{len(reps)} traces: {h['allocation_count']} allocations, {h['allocated_bytes']} bytes, "
          f"{h['leaked_bytes']} leaked, {fleet['cpu']['sample_count']} cpu + {fleet['wall']['sample_count']} wall samples, "
          f"{fleet['mapped']['map_count']} maps: all equal to the sums")


def groups(fleet_path, report_path):
    fleet, rep = load(fleet_path), load(report_path)
    assert fleet["by"] == rep["by"], (fleet["by"], rep["by"])
    fg = {g["key"]: g for g in fleet["groups"]}
    rg = {g["key"]: g for g in rep["groups"]}
    # a group only ldprof's own samples reach is not drawn by either
    assert set(fg) == set(rg), ("keys only in fleet", sorted(set(fg) - set(rg))[:5],
                                "keys only in report", sorted(set(rg) - set(fg))[:5])
    for key, g in rg.items():
        for c, k in GROUP:
            assert fg[key][c][k] == g[c][k], (rep["by"], key, c, k, fg[key][c][k], g[c][k])
        if "frames" in g:
            names = [(f["function"], f["file"], f["line"]) for f in g["frames"]]
            got = [(f["function"], f["file"], f["line"]) for f in fg[key].get("frames", [])]
            assert got == names, (key, got, names)
    print(f"by {rep['by']}: {len(rg)} groups, every figure equal")


def flame(svg, total):
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.parse(svg).getroot()
    got = int(root.get("data-total"))
    assert got == int(total), ("data-total", got, int(total))
    width = float(root.get("data-w"))
    frames = [g for g in root.iter(ns + "g") if g.get("class") == "f"]
    top = sum(float(g.find(ns + "rect").get("width")) for g in frames if g.get("data-d") == "1")
    if got:
        assert abs(top - width) < 1, ("root frames", top, "of", width)
    else:
        assert not frames, "frames drawn for an empty figure"
    print(f"total {got}, {len(frames)} frames, root frames {top:.1f} of {width:.0f} px")


def diff(fleet_path, diff_path):
    fleet, want = load(fleet_path), load(diff_path)
    fields = ("live_bytes", "change_bytes", "live_count", "change_count")
    strip = lambda g: (g["key"],) + tuple(g["heap"][k] for k in fields)
    got_groups = [strip(g) for g in fleet["groups"]]
    want_groups = [strip(g) for g in want["groups"] if any(g["heap"][k] for k in fields)]
    assert sorted(got_groups) == sorted(want_groups), ("groups", got_groups[:5], want_groups[:5])
    for k in fields:
        assert fleet["total"]["heap"][k] == want["total"]["heap"][k], ("total", k, fleet["total"]["heap"][k],
                                                                       want["total"]["heap"][k])
    t = fleet["total"]["heap"]
    print(f"{len(got_groups)} groups, total {t['live_bytes']} bytes ({t['change_bytes']:+d}): "
          "equal to ldprof diff")


def grew(fleet_path, name):
    fleet = load(fleet_path)
    first = fleet["groups"][0]
    assert first["key"] == name, ("first group", first["key"], "expected", name)
    assert first["heap"]["change_bytes"] > 0, first
    print(f"{name} grew by {first['heap']['change_bytes']} bytes ({first['heap']['change_count']:+d} blocks), "
          "the largest change")


if __name__ == "__main__":
    {"totals": totals, "groups": groups, "flame": flame, "diff": diff, "grew": grew}[sys.argv[1]](*sys.argv[2:])
