"""check_flame.py W REPORT.json | --diff DIFF.svg [TOTAL] | --same SVG DOM... - flame graph SVGs: well formed,
frames sized so that the root frames fill the width, totals equal to the report; --same:
the graph as the browser's script laid it out again (Chromium's DOM) has the frames, colours,
details and proportions the SVG was written with."""
import json
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def frames(svg):
    root = ET.parse(svg).getroot()
    out = []
    for g in root.iter(NS + "g"):
        if g.get("class") != "f":
            continue
        r = g.find(NS + "rect")
        out.append({"name": g.get("data-n"), "depth": int(g.get("data-d")), "w": float(r.get("width")),
                    "fill": r.get("fill"), "title": g.find(NS + "title").text})
    return root, out


def main():
    if sys.argv[1] == "--same":
        root, fs = frames(sys.argv[2])
        for dom in sys.argv[3:]:
            droot, ds = frames(dom)
            k = float(droot.get("data-w")) / float(root.get("data-w"))
            key = lambda f: (f["name"], f["depth"], f["title"])
            a, b = sorted(fs, key=key), sorted(ds, key=key)
            assert [key(f) for f in a] == [key(f) for f in b], ("frames differ", dom)
            for x, y in zip(a, b):
                assert x["fill"] == y["fill"] and abs(x["w"] * k - y["w"]) < 0.02, (dom, x, y, k)
            print(f"{dom.rsplit('/', 1)[-1]}: {len(ds)} frames, colours and details as written, widths x{k:.3f}")
        return
    if sys.argv[1] == "--diff":
        root, fs = frames(sys.argv[2])
        grown = [f for f in fs if f["name"] == "add_word"]
        assert grown, "no add_word frame in the differential graph"
        f = grown[0]
        assert f["fill"].startswith("rgb(250,"), "add_word grew but is not red: %s" % f["fill"]
        assert "change +" in f["title"] and "before" in f["title"], f["title"]
        assert not [x for x in fs if x["fill"].endswith(",250)")], "a frame shrank in a bigger run?"
        if len(sys.argv) > 3:
            assert int(root.get("data-total")) == int(sys.argv[3]), (root.get("data-total"), sys.argv[3])
        print("add_word:", f["title"].replace("\n", " | "))
        return
    w, report = sys.argv[1], json.load(open(sys.argv[2]))
    heap = report["heap"]
    want = {"alloc": heap["allocated_bytes"], "inuse": heap["peak_bytes"], "leaked": heap["leaked_bytes"],
            "temporary": heap["temporary_count"],
            # ldprof's own work is left out of the profiles
            "cpu": report["cpu"]["total_ns"] - report["cpu"]["agent_total_ns"],
            "wall": report["wall"]["total_ns"] - report["wall"]["agent_total_ns"]}
    for what, total in want.items():
        root, fs = frames(f"{w}/flame-{what}.svg")
        assert int(root.get("data-total")) == total, (what, root.get("data-total"), total)
        if not total:
            assert not fs, f"{what}: frames drawn for an empty figure"
            continue
        width = float(root.get("data-w"))
        top = sum(f["w"] for f in fs if f["depth"] == 1)
        assert abs(top - width) < 1, (what, top, width)
        names = {f["name"] for f in fs}
        assert "main" in names, (what, names)
        if what in ("alloc", "inuse", "leaked", "cpu", "wall"):
            assert "add_word" in names, (what, names)
        print(f"{what}: total {total}, {len(fs)} frames, root frames {top:.1f} of {width:.0f} px")


main()
