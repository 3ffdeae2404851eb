#!/usr/bin/python3
"""ht_temporary.py - heaptrack's "temporary" against ldprof's, two ways.

  ht_temporary.py slips HEAPTRACK_DATA
      Replays heaptrack's own data file (zstd) the way its analyzer does
      (src/analyze/accumulatedtracedata.cpp) and prints "printed N slips S":
      N is what heaptrack_print says; S the frees it counts only because it
      uses allocation index 0 as "no allocation just before" while index 0 is
      also the first real (size, stack) pair (a free of such a block right
      after another free). ldprof's figure is N - S.

  ht_temporary.py convert LDPROF_DUMP OUT
      Writes the heap events of `ldprof dump --events` (merged by seq) as a
      heaptrack data file, so heaptrack_print applies heaptrack's own rule to
      exactly ldprof's events. Index 0 is given to no block, so heaptrack's
      slip cannot happen there.
"""
import subprocess
import sys


def slips(path):
    lines = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout.decode("latin1")
    last = 0      # heaptrack's lastAllocationPtr: 0 after a free
    after_free = True
    printed = slip = 0
    for ln in lines.split("\n"):
        if not ln or ln[0] not in "+-":
            continue
        idx = int(ln.split()[1], 16)
        if ln[0] == "+":
            last, after_free = idx, False
        else:
            if last == idx:
                printed += 1
                slip += after_free
            last, after_free = 0, True
    print("printed %d slips %d" % (printed, slip))


def convert(dump, out):
    events = []
    for ln in open(dump):
        f = ln.split()
        if f and f[0] in ("alloc", "free"):
            site = "site" in f  # format 2.2: a block named by size and stack, ptr 0
            if site:
                f.remove("site")
            d = dict(zip(f[1::2], f[2::2]))
            ptr = 0 if site else int(d["ptr"], 16)
            events.append((int(d["seq"]), f[0], ptr, int(d.get("size", "0")), int(d.get("stack", "0"))))
    events.sort()
    w = ["v 10400 3", "X ldprof", "s 6 ldprof"]
    traces, infos, live = {}, {(None, None): 0}, {}
    sites = {}  # (size, stack) -> site blocks live
    w.append("a 0 0")  # index 0: no block
    for _, op, ptr, size, stack in events:
        if op == "alloc":
            if stack not in traces:
                traces[stack] = len(traces) + 1
                w.append("i %x 1" % (0x1000 + stack))
                w.append("t %x 0" % traces[stack])
            key = (size, stack)
            if key not in infos:
                infos[key] = len(infos)
                w.append("a %x %x" % (size, traces[stack]))
            if ptr:
                live[ptr] = infos[key]
            else:
                sites[key] = sites.get(key, 0) + 1
            w.append("+ %x" % infos[key])
        elif ptr in live:
            w.append("- %x" % live.pop(ptr))
        elif not ptr and sites.get((size, stack)):
            sites[(size, stack)] -= 1
            w.append("- %x" % infos[(size, stack)])
    data = ("\n".join(w) + "\n").encode()
    subprocess.run(["zstd", "-q", "-f", "-o", out], input=data, check=True)


if __name__ == "__main__":
    if sys.argv[1] == "slips":
        slips(sys.argv[2])
    else:
        convert(sys.argv[2], sys.argv[3])
