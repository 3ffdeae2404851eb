"""check_timeline.py TIMELINE.svg REPORT.json - the timeline's highest column and its
peak mark are the report's peak (the downsampling never loses it)."""
import json
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
heap = json.load(open(sys.argv[2]))["heap"]
peak = heap["peak_bytes"]
assert int(root.get("data-peak")) == peak, (root.get("data-peak"), peak)
cols = None
for d in root.iter(NS + "desc"):
    if d.get("class") == "cols":
        cols = json.loads(d.text)
assert cols, "no column data"
top = max(c[1] for c in cols if c)
assert top == peak, ("highest column", top, "peak", peak)
marks = [g for g in root.iter(NS + "g") if g.get("class") == "peak-mark"]
assert marks, "no peak mark"
label = "".join(marks[0].itertext())
t = heap["peak_time_ns"] / 1e9
assert f"at {t:.3f} s" in label, (label, t)
last = [c for c in cols if c][-1]
assert last[0] <= heap["leaked_bytes"] <= last[1], ("end of the curve", last, heap["leaked_bytes"])
rates = [e for e in root.iter(NS + "polyline") if e.get("class") == "rate"]
assert len(rates) == 2, "CPU and wall sample rates: %d series" % len(rates)
print(f"{len(cols)} columns, highest {top} = peak; mark '{label}'; ends at {heap['leaked_bytes']} leaked")
