"""check_cli.py MODE ... - checks of ldprof's text output against its JSON.

Each mode reads what run.sh made and raises (exit 1, the reason on stderr)
when a figure in the text is not the one the JSON holds.
"""
import json
import re
import sys


def fmt_bytes(v):
    """render/units.c's fmt_bytes."""
    units, u, d = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 0, float(v)
    while d >= 1024 and u < 5:
        d /= 1024
        u += 1
    if u == 0:
        return f"{v} B"
    return f"{d:.{2 if d < 10 else 1 if d < 100 else 0}f} {units[u]}"


def fmt_count(v):
    return f"{v:,}"


def load(path):
    return json.load(open(path))


def multi(txt, js):
    text, rep = open(txt).read(), load(js)
    lines = [l for l in text.splitlines() if l.startswith("  pid ")]
    assert len(lines) == len(rep["segments"]) == 2, lines
    for line, seg in zip(lines, rep["segments"]):
        h = seg["heap"]
        n = h["allocation_count"]
        want = (f"{fmt_count(n)} allocation{'' if n == 1 else 's'}, peak {fmt_bytes(h['peak_bytes'])}, "
                f"leaked {fmt_bytes(h['leaked_bytes'])}")
        assert line.endswith(want), (line, "should end", want)
    print("\n".join(lines))


def plurals(txt, js):
    text = open(txt).read()
    bad = re.findall(r"(?<![\d,.])1 (?:blocks|calls|maps|allocations|samples|groups)\b", text)
    assert not bad, ("plural after 1", bad)
    bad = re.findall(r"(?<![\d,])(?:[02-9]|\d[\d,]*\d) (?:block|call|map|group)\b(?!s)", text)
    assert not bad, ("singular after a count other than 1", bad)
    assert re.search(r"  in 1 block +\S", text), "no row reads 'in 1 block'"
    temp = text.split("temporary allocations", 1)[1].split("\n\n", 1)[0]
    rows = temp.splitlines()[1:]
    assert rows, "no temporary table"
    for row in rows:
        assert re.match(r"^ +[\d,]+  of [\d,]+ calls? +\S", row), ("temporary row", row)
    print(rows[0].strip())


def memory(txt, js):
    text, rep = open(txt).read(), load(js)
    h, m, r = rep["heap"], rep["mapped"], rep["rss"]
    def ms(key, obj):  # a time in the JSON, as the text prints it
        for k, scale in (("_ns", 1e9), ("_us", 1e6)):
            if key + k in obj:
                return f"{obj[key + k] / scale:.3f} s"
        raise KeyError(key)
    want = [f"heap peak {fmt_bytes(h['peak_bytes']):>14}   at {ms('peak_time', h)}: live bytes from the malloc family",
            f"mapped peak {fmt_bytes(m['peak_bytes']):>14}   at {ms('peak_time', m)}: live bytes from mmap",
            f"RSS peak {fmt_bytes(r['peak_bytes']):>14}   at {ms('peak_time', r)}: resident memory",
            f"at that moment the heap held {fmt_bytes(r['heap_at_peak_bytes'])} and mappings "
            f"{fmt_bytes(r['mapped_at_peak_bytes'])}"]
    for w in want:
        assert re.search(re.escape(w).replace(r"\ ", " +"), text), ("missing", w, text)
    print(re.search(r"memory\n(.*?)\n\n", text, re.S).group(1))


def sampled_peak(txt, js):
    text, h = open(txt).read(), load(js)["heap"]
    sd = h["estimated"]["peak_stddev_bytes"]
    assert sd > 0, h["estimated"]
    m = 1.96 * sd
    want = f"(the live bytes at that moment within {fmt_bytes(int(m))} ({100 * m / h['peak_bytes']:.1f}%) at 95%"
    assert want in text, (want, text[:1500])
    assert "it leans high" in text
    print(want)


def dump(path, truth, js):
    lines = open(path).read().splitlines()
    t = dict(l.split()[:2] for l in open(truth) if len(l.split()) == 2)
    rep = load(js)
    kinds = {}
    for l in lines:
        m = re.match(r"^    (\w+) +seq \d+  (?:ptr 0x[0-9a-f]+|site )", l)  # site: format 2.2, no address
        if m:
            kinds[m.group(1)] = kinds.get(m.group(1), 0) + 1
            if m.group(1) in ("mmap", "munmap", "mremap"):
                assert re.search(r"  size [1-9]\d*", l), ("a mapped event without its size", l)
    want = {"mmap": int(t["maps"]), "munmap": int(t["unmaps"]), "mremap": int(t["remaps"])}
    for k, n in want.items():
        assert kinds.get(k, 0) == n, (k, kinds.get(k, 0), "want", n)
    h = rep["heap"]
    frees = h["free_count"] + h["unknown_free_count"]
    assert kinds.get("free", 0) == frees, ("free lines", kinds.get("free", 0), "heap frees", frees)
    print(kinds)


def sections(text):
    """{function: its section's text} of a --callers/--callees/--lines glob report."""
    out = {}
    for m in re.finditer(r"^  (\S+) \(([\d,]+) samples?, .*?\)\n(.*?)(?=^  \S|\Z)", text, re.S | re.M):
        out[m.group(1)] = (int(m.group(2).replace(",", "")), m.group(3))
    return out


def focus(callers, callees, lines, tree):
    c = open(callers).read()
    assert re.search(r"callers of work_\*: 2 functions match", c), c
    s = sections(c)
    assert set(s) == {"work_a", "work_b"}, (list(s), c)
    for f, want, other in (("work_a", "caller_a", "caller_b"), ("work_b", "caller_b", "caller_a")):
        n, body = s[f]
        rows = re.findall(r"^ +([\d,]+) +[\d.]+%  (\S+)", body, re.M)
        assert rows and all(r[1] == want for r in rows), (f, rows)
        assert sum(int(r[0].replace(",", "")) for r in rows) == n, (f, n, rows)
    e = sections(open(callees).read())
    assert set(e) == {"caller_a", "caller_b"}, list(e)
    assert "work_a" in e["caller_a"][1] and "work_b" not in e["caller_a"][1], e["caller_a"]
    assert "work_b" in e["caller_b"][1] and "work_a" not in e["caller_b"][1], e["caller_b"]
    t = open(lines).read()
    s = sections(t)
    assert set(s) == {"work_a", "work_b"}, (list(s), t)
    for f, src in (("work_a", "glob_prog.c"), ("work_b", "glob_other.c")):
        n, body = s[f]
        assert f"src/{src}  (source: {tree}/src/{src})" in body, (f, body)
        rows = re.findall(r"^ +(\d+) +([\d,]+) +[\d.]+%  (.*)$", body, re.M)
        assert any(r[0] == "14" and "line 14: the loop" in r[2] for r in rows), (f, rows)
        assert sum(int(r[1].replace(",", "")) for r in rows) == n, (f, n, rows)
    print(f"work_a {s['work_a'][0]} samples, work_b {s['work_b'][0]}, each its callers and its own line 14")


def source_dir(gone, found, tail, elsewhere):
    g = open(gone).read()
    assert "src/glob_prog.c  (source not found here: --source-dir DIR says where)" in g, g
    for path, want in ((found, f"{elsewhere}/src/glob_prog.c"), (tail, f"{elsewhere}/src/glob_prog.c")):
        t = open(path).read()
        assert f"(source: {want})" in t and "line 14: the loop" in t, t
    print("not found: said; found under --source-dir, with and without the recorded directory")


globals()[sys.argv[1]](*sys.argv[2:])
