#!/usr/bin/python3
"""Check every process of a soak run against its own truth (tests/soak/run.sh).

usage: check_soak.py LDPROF TRUTH_DIR MAIN_TRACE

TRUTH_DIR holds truth.PID per process (soak_prog.c) and `ready` (the server's
pid). The server's trace is MAIN_TRACE; a child's is MAIN_TRACE with .PID
before the extension. Each is reported with --include 'soakm_*' (the
program's own allocation sites) and must match its truth exactly.
"""
import glob
import json
import os
import subprocess
import sys

# the program's truth names, and the report's (filtered, docs/JSON.md)
HEAP_KEYS = {"allocations": "allocation_count", "frees": "free_count", "allocated_bytes": "allocated_bytes",
             "leaked_bytes": "leaked_bytes", "leaked_count": "leaked_count"}


def main():
    ldprof, tdir, main_trace = sys.argv[1:4]
    server = int(open(os.path.join(tdir, "ready")).read())
    stem, ext = os.path.splitext(main_trace)
    truths = {int(p.rsplit(".", 1)[1]): p for p in glob.glob(os.path.join(tdir, "truth.*"))}
    traces = {server: main_trace}
    for p in glob.glob(glob.escape(stem) + ".*" + ext):
        traces[int(p[len(stem) + 1:-len(ext)])] = p
    bad = []
    if set(traces) != set(truths):
        bad.append(f"processes with a trace but no truth: {sorted(set(traces) - set(truths))}; "
                   f"with a truth but no trace: {sorted(set(truths) - set(traces))}")
    ends_seen, lost, stackless = {}, {"cpu": 0, "wall": 0}, [0]
    totals = dict.fromkeys(HEAP_KEYS, 0)
    for pid in sorted(set(traces) & set(truths)):
        truth = {}
        for line in open(truths[pid]):
            k, v = line.split(None, 1)
            truth[k] = v.strip()
        r = subprocess.run([ldprof, "report", "--json", "--include", "soakm_*", traces[pid]],
                           capture_output=True, text=True)
        if r.returncode != 0 or r.stderr:
            bad.append(f"{pid}: report exit {r.returncode}: {r.stderr.strip()[:300]}")
            continue
        rep = json.loads(r.stdout)
        f = dict(rep["filtered"] or {})
        if any(f.get(ours) != int(truth[k]) for k, ours in HEAP_KEYS.items()):
            # An allocation by a signal handler that interrupted the agent's
            # recording keeps its stack only if the stack table's lock was
            # free (agent/nested.c): without one, no soakm_* frame lets the
            # filter see it. Every other event carries a stack, so the
            # program's own events are the filtered ones plus the stackless.
            whole = json.loads(subprocess.run([ldprof, "report", "--json", traces[pid]], capture_output=True,
                                              text=True).stdout)
            for g in whole["groups"]:
                if g["key"] == "(no stack)":
                    for ours in HEAP_KEYS.values():
                        f[ours] = f.get(ours, 0) + g["heap"][ours]
                    stackless[0] += g["heap"]["allocation_count"]
        for k, ours in HEAP_KEYS.items():
            if f.get(ours) != int(truth[k]):
                bad.append(f"{pid} ({truth['ends']}): {k} {f.get(ours)}, truth {truth[k]}")
            totals[k] += int(truth[k])
        ends = ",".join(s["end"] for s in rep["segments"])
        if ends != truth["ends"]:
            bad.append(f"{pid}: images ended {ends!r}, expected {truth['ends']!r}")
        ends_seen[truth["ends"]] = ends_seen.get(truth["ends"], 0) + 1
        if rep["heap"]["unknown_free_count"]:
            bad.append(f"{pid} ({truth['ends']}): {rep['heap']['unknown_free_count']} unknown frees")
        missed = {k: v for k, v in rep["missed"].items() if v}
        if missed or rep["truncated"]:
            bad.append(f"{pid}: missed {missed}, truncated {rep['truncated']}")
        for k in lost:
            lost[k] += rep[k]["lost_sample_count"]
    for b in bad[:40]:
        print("     " + b)
    print(f"     {len(truths)} processes ({', '.join(f'{n} {e}' for e, n in sorted(ends_seen.items()))}); "
          + ", ".join(f"{k} {v}" for k, v in totals.items())
          + f"; samples lost: cpu {lost['cpu']}, wall {lost['wall']}"
          + f"; allocations by handlers recorded without a stack: {stackless[0]}")
    sys.exit(1 if bad else 0)


main()
