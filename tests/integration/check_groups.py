#!/usr/bin/python3
"""Check per-function truth and a call chain against ldprof's grouped reports.

usage: check_groups.py TRUTH BY_FUNCTION.json BY_TRACEBACK.json SOURCE_BASENAME

TRUTH lines:
  fn NAME key value key value ...   the group NAME (--by function) must have these values
  chain F1 L1 F2 L2 ...             some traceback group starts with these frames
                                    (innermost first, other frames may sit between
                                    them, e.g. libc's qsort), at these lines of SOURCE
  inline NAME CALLER                NAME's group frames: NAME inlined into CALLER
"""
import json
import sys

# A truth key and where a group of the report's JSON has it (docs/JSON.md).
GROUP_FIELD = {"allocations": ("heap", "allocation_count"), "allocated_bytes": ("heap", "allocated_bytes"),
               "frees": ("heap", "free_count"), "leaked_count": ("heap", "leaked_count"),
               "leaked_bytes": ("heap", "leaked_bytes"), "temporary": ("heap", "temporary_count"),
               "peak_bytes": ("heap", "peak_bytes"), "peak_count": ("heap", "peak_count"),
               "mapped_bytes": ("mapped", "mapped_bytes")}

truth_path, by_fn_path, by_tb_path, source = sys.argv[1:5]
by_fn = {g["key"]: g for g in json.load(open(by_fn_path))["groups"]}
tb_groups = json.load(open(by_tb_path))["groups"]
bad = []
checked = 0
for line in open(truth_path):
    w = line.split()
    if not w:
        continue
    if w[0] == "fn":
        name, kv = w[1], dict(zip(w[2::2], map(int, w[3::2])))
        g = by_fn.get(name)
        if g is None:
            bad.append(f"no group for function {name}; groups: {sorted(by_fn)}")
            continue
        for k, v in kv.items():
            channel, field = GROUP_FIELD[k]
            if g[channel][field] != v:
                bad.append(f"{name}.{k}: report {channel}.{field} {g[channel][field]}, truth {v}")
        checked += 1
    elif w[0] == "chain":
        want = list(zip(w[1::2], map(int, w[2::2])))
        ok = False
        for g in tb_groups:
            frames = g.get("frames", [])
            i = 0
            for f in frames:
                if i < len(want) and f["function"] == want[i][0]:
                    if f["line"] != want[i][1] or not (f["file"] or "").endswith(source):
                        break
                    i += 1
            if i == len(want) and frames and frames[0]["function"] == want[0][0]:
                ok = True
                break
        if not ok:
            bad.append(f"no traceback group with frames {want}")
        checked += 1
    elif w[0] == "inline":
        name, caller = w[1], w[2]
        g = next((g for g in tb_groups if g.get("frames") and g["frames"][0]["function"] == name), None)
        if not g or not g["frames"][0]["inlined"] or g["frames"][1]["function"] != caller:
            bad.append(f"{name} is not shown inlined into {caller}: {g and g['frames'][:2]}")
        checked += 1
if bad:
    print("MISMATCH")
    for b in bad:
        print("  " + b)
    sys.exit(1)
print(f"  {checked} checks exact")
