"""check_timeline.py TIMELINE.svg REPORT.json - the timeline's highest column and its
peak mark are the report's peak (the downsampling never loses it); the rate panel
has its axes: ticks from 0/s at its bottom to the top at its top, every rate
within, time labels as the heap plot's."""
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
panel = [e for e in root.iter(NS + "rect") if e.get("class") == "rate-plot"]
assert len(panel) == 1, "no rate panel"
ptop, pbottom = float(panel[0].get("y")), float(panel[0].get("y")) + float(panel[0].get("height"))
ticks = [(float(t.get("data-v")), float(t.get("y")) - 4, t.text) for t in root.iter(NS + "text") if t.get("class") == "rate-tick"]
assert len(ticks) >= 3 and ticks[0][0] == 0 and abs(ticks[0][1] - pbottom) < 0.2 and abs(ticks[-1][1] - ptop) < 0.2, ticks
assert all(t[2] == f"{t[0]:g}/s" for t in ticks), ticks
assert all(a[0] < b[0] and a[1] > b[1] for a, b in zip(ticks, ticks[1:])), ("ticks rise", ticks)
for e in rates:
    for pt in e.get("points").split():
        y = float(pt.split(",")[1])
        assert ptop - 0.1 <= y <= pbottom + 0.1, ("a rate outside its panel", y, ptop, pbottom)
times = [t.text for t in root.iter(NS + "text") if t.get("class") == "rate-time"]
heap_times = [t.text for t in root.iter(NS + "text") if t.text and t.text.endswith(" s") and t.get("text-anchor") == "middle"
              and t.get("class") is None]
assert times and times == heap_times, (times, heap_times)
print(f"{len(cols)} columns, highest {top} = peak; mark '{label}'; ends at {heap['leaked_bytes']} leaked; "
      f"rate axis {ticks[0][2]}..{ticks[-1][2]}, {len(times)} time labels")
