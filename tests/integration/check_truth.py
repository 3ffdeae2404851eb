#!/usr/bin/python3
"""Compare a program's own truth file with `ldprof report --json`.

usage: check_truth.py TRUTH REPORT.json [--baseline BASE.json] [--segment N] [--peak-within BYTES] [KEY=EXTRA ...]

Every key in TRUTH must equal the report's heap.KEY plus what libc itself
allocated. That is measured, not guessed: BASE.json is the report of the same
program run with its own allocations switched off (thread creation and all
else unchanged), and its figures are added. KEY=EXTRA adds a fixed amount.
--segment N compares one process image of the trace instead of the total.
--peak-within BYTES lets peak_bytes differ by up to BYTES and peak_count by
one block: for programs whose threads hand each other work through their own
locks, which the agent does not see. Events of different threads on
different 1 MiB address regions are ordered to within the writer's 1 ms tick
(docs/ARCHITECTURE.md, "Ordering"), so a free and another thread's
allocation in the same tick may swap, and the peak move by that block.
"""
import json
import sys

# The programs' truth files name counts as they always did; the report's JSON
# names them with their unit (docs/JSON.md). Other keys are the same.
REPORT_NAME = {"allocations": "allocation_count", "frees": "free_count", "unknown_frees": "unknown_free_count",
               "temporary": "temporary_count"}


def main():
    args = sys.argv[1:]
    truth_path, report_path = args[0], args[1]
    extra = {}
    segment = None
    peak_within = 0
    rest = args[2:]
    while rest:
        a = rest.pop(0)
        if a == "--baseline":
            base = json.load(open(rest.pop(0)))["heap"]
            for k, v in base.items():
                if isinstance(v, int):  # not "estimated" (null in full mode)
                    extra[k] = extra.get(k, 0) + v
        elif a == "--segment":
            segment = int(rest.pop(0))
        elif a == "--peak-within":
            peak_within = int(rest.pop(0))
        else:
            k, v = a.split("=")
            k = REPORT_NAME.get(k, k)
            extra[k] = extra.get(k, 0) + int(v)
    truth = {}
    for line in open(truth_path):
        k, v = line.split()
        truth[REPORT_NAME.get(k, k)] = int(v)
    report = json.load(open(report_path))
    heap = report["heap"] if segment is None else report["segments"][segment]["heap"]
    bad = []
    for k, v in truth.items():
        if k not in heap:
            continue
        want = v + extra.get(k, 0)
        slack = {"peak_bytes": peak_within, "peak_count": 1 if peak_within else 0}.get(k, 0)
        if abs(heap[k] - want) > slack:
            bad.append(f"{k}: report {heap[k]}, truth {v} + libc (baseline) {extra.get(k, 0)} = {want}")
    if bad:
        print("MISMATCH " + truth_path)
        for b in bad:
            print("  " + b)
        sys.exit(1)
    libc = {k: v for k, v in extra.items() if v and k in truth}
    off = {k: heap[k] - truth[k] - extra.get(k, 0) for k in ("peak_bytes", "peak_count") if k in truth and k in heap}
    off = {k: v for k, v in off.items() if v}
    print("  exact: " + ", ".join(f"{k}={truth[k]}" for k in truth if k in heap)
          + (f"  (peak off by {off}, within --peak-within {peak_within})" if off else "")
          + (f"  (+ libc: {libc})" if libc else ""))


main()
