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
        n = h["allocation_count"] if "allocation_count" in h else h["allocations"]
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


globals()[sys.argv[1]](*sys.argv[2:])
