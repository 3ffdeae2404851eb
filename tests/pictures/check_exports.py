"""check_exports.py FORMAT W REPORT.json [...] - exports read back (by their real
consumer where the shell script ran one) and compared with `ldprof report --json`."""
import gzip
import json
import re
import sys

fmt, w, report = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
heap = report["heap"]
FIGURES = {"alloc": heap["allocated_bytes"], "inuse": heap["peak_bytes"], "leaked": heap["leaked_bytes"],
           "temporary": heap["temporary_count"],
           # ldprof's own work is left out of the profiles
           "cpu": report["cpu"]["total_ns"] - report["cpu"]["agent_total_ns"],
           "wall": report["wall"]["total_ns"] - report["wall"]["agent_total_ns"]}


def pprof():
    raw = open(f"{w}/pprof.raw").read()
    lines = raw.splitlines()
    i = lines.index("Samples:")
    types = [t.split("/")[0] for t in lines[i + 1].replace("[dflt]", "").split()]
    assert types == ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space", "leaked_objects",
                     "leaked_space"], types
    sums = [0] * 6
    nsamples = 0
    for l in lines[i + 2:]:
        if l.startswith("Locations"):
            break
        m = re.match(r"^\s+((?:-?\d+\s+){5}-?\d+):", l)
        if m:
            nsamples += 1
            for k, v in enumerate(m.group(1).split()):
                sums[k] += int(v)
    want = [heap["allocation_count"], heap["allocated_bytes"], heap["peak_count"], heap["peak_bytes"],
            heap["leaked_count"], heap["leaked_bytes"]]
    assert sums == want, ("pprof sums", dict(zip(types, sums)), "report", dict(zip(types, want)))
    locs = raw[raw.index("Locations"):raw.index("Mappings")]
    assert re.search(r"M=\d+ add_word .*demo_prog\.c:\d+", locs), "add_word with file:line not in locations"
    # an inlined frame: a location with a second line (its caller) below it
    assert re.search(r"\n\s+\d+: 0x[0-9a-f]+ M=\d+ \S+ \S+:\d+ s=\d+\n\s+main \S+:\d+", locs), "no inline lines"
    maps = raw[raw.index("Mappings"):]
    ids = re.findall(r"MODULE 0 .*build-id ([0-9a-f]+)", open(f"{w}/demo.dump").read())
    assert ids and ids[0] in maps, ("build-id of the program not in the mappings", ids, maps)
    assert "demo_prog" in maps and "libc.so.6" in maps, maps
    top = open(f"{w}/pprof.top").read()
    assert "make_line" in top and "Type: alloc_space" in top, top
    leak = open(f"{w}/pprof.leak").read()
    assert "add_word" in leak and "make_line" not in leak, leak
    cpu = open(f"{w}/pprof.cpu.raw").read().splitlines()
    i = cpu.index("Samples:")
    assert cpu[i + 1].split() == ["samples/count", "cpu/nanoseconds[dflt]"], cpu[i + 1]
    n = ns = 0
    for l in cpu[i + 2:]:
        if l.startswith("Locations"):
            break
        m = re.match(r"^\s+(\d+)\s+(\d+):", l)
        if m:
            n += int(m.group(1))
            ns += int(m.group(2))
    # ldprof's own work is left out of every profile (and counted in the report)
    c = report["cpu"]
    assert (n, ns) == (c["sample_count"] - c["agent_sample_count"], c["total_ns"] - c["agent_total_ns"]), ((n, ns), c)
    top = open(f"{w}/pprof.cpu.top").read()
    assert "Type: cpu" in top and "add_word" in top and "File: demo_prog" in top, top
    with gzip.open(f"{w}/demo.pb.gz") as f:
        size = len(f.read())
    print(f"{nsamples} heap samples, sums equal the report; gzip of a {size}-byte profile.proto; "
          f"cpu: {n} samples, {ns} ns")


def collapsed():
    line_re = re.compile(r"^(.*\S) (\d+)$")  # flamegraph.pl: the last field is the count
    for what, total in FIGURES.items():
        got, n = 0, 0
        for l in open(f"{w}/demo.{what}.folded"):
            m = line_re.match(l.rstrip("\n"))
            assert m, (what, l)
            assert all(m.group(1).split(";")), ("empty frame", l)
            got += int(m.group(2))
            n += 1
        assert got == total, (what, got, total)
        print(f"{what}: {n} lines adding up to {total}")


def speedscope():
    import jsonschema
    schema = json.load(open(sys.argv[4]))
    d = json.load(open(f"{w}/demo.speedscope.json"))
    jsonschema.validate(d, schema)
    names = [p["name"] for p in d["profiles"]]
    assert len(names) == 6, names
    for p, total in zip(d["profiles"], FIGURES.values()):
        assert sum(p["weights"]) == total == p["endValue"], (p["name"], sum(p["weights"]), total)
        assert len(p["samples"]) == len(p["weights"])
        for s in p["samples"]:
            assert all(0 <= i < len(d["shared"]["frames"]) for i in s)
    assert any(f["name"] == "add_word" for f in d["shared"]["frames"])
    print("valid;", ", ".join(f"{p['name']}: {p['endValue']}" for p in d["profiles"]))


def json_export():
    d = json.load(open(f"{w}/demo.export.json"))
    assert d["format"] == "ldprof-export" and d["version"] == 2
    seg = d["segments"][0]
    for k in ("allocation_count", "free_count", "allocated_bytes", "peak_bytes", "leaked_bytes", "temporary_count"):
        assert seg["heap"][k] == heap[k], (k, seg["heap"][k], heap[k])
    st = seg["stacks"]
    assert sum(s["heap"]["allocated_bytes"] for s in st) == heap["allocated_bytes"]
    assert sum(s["heap"]["peak_bytes"] for s in st) == heap["peak_bytes"]
    assert sum(s["heap"]["leaked_bytes"] for s in st) == heap["leaked_bytes"]
    ft = seg["frames"]
    sites = {ft[s["frames"][s["site"]]]["function"] for s in st if s["frames"]}
    assert all(0 <= i < len(ft) for s in st for i in s["frames"])
    assert {"add_word", "make_line"} <= sites, sites
    assert any(m["build_id"] and m["path"].endswith("demo_prog") for m in seg["modules"])
    pts = seg["timeline"]["points"]
    assert max(p[2] for p in pts) == heap["peak_bytes"], "timeline lost the peak"
    assert len(pts) <= 2048
    assert [g["key"] for g in d["report"]["groups"]] == [g["key"] for g in report["groups"]]
    print(f"{len(st)} stacks, {len(pts)} timeline points, report groups identical")


def massif():
    out = open(f"{w}/ms_print.out").read()
    m = re.search(r"Detailed snapshots: \[([^\]]*)\]", out)
    assert m and "(peak)" in m.group(1), out[:2000]
    peak_n = int(re.search(r"(\d+) \(peak\)", m.group(1)).group(1))
    row = re.search(r"^\s+%d\s+[\d,]+\s+([\d,]+)" % peak_n, out, re.M)
    assert row and int(row.group(1).replace(",", "")) == heap["peak_bytes"], (row and row.group(0), heap["peak_bytes"])
    assert re.search(r"->\d+\.\d+% \([\d,]+B\) 0x[0-9a-f]+: add_word \(.*demo_prog\.c:\d+\)", out), "no add_word tree"
    print(f"peak snapshot {peak_n}: {heap['peak_bytes']} bytes, add_word in its tree")


{"pprof": pprof, "collapsed": collapsed, "speedscope": speedscope, "json": json_export, "massif": massif}[fmt]()
