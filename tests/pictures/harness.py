"""harness.py - pages for headless Chromium and checks of what it dumped.

  harness.py flame SVG                      an HTML page that embeds the SVG and clicks, searches, hovers
  harness.py check-flame DOM REPORT.json    the results that page recorded (also legend, inverted view, width)
  harness.py flame-zoom SVG                 a page that zooms into the root frame hiding the most small frames
  harness.py check-flame-zoom DOM           every frame wide enough after the zoom is shown, some labelled
  harness.py check-html DOM REPORT.json HTML   the --html report after its scripts ran
  harness.py html-interact HTML             the --html page with a script that sorts, expands, drags a range, picks snapshots
  harness.py check-html-interact DOM REPORT.json [one]   what it recorded, against the report (one: the range checks)
  harness.py html-filter HTML               the --html page with a script that filters its tables by thread and time range
  harness.py check-html-filter DOM TRUTH REPORT.json   the filtered tables against phase_threads' own counts
  harness.py timeline SVG                   a page that records where legends, plots and curves are drawn
  harness.py check-timeline DOM             no legend swatch meets a plot or a curve
  harness.py dhat DHAT.json                 a page that runs valgrind's dh_view.js on the file
  harness.py check-dhat DOM DHAT.json REPORT.json
"""
import html
import json
import re
import sys

mode = sys.argv[1]


def script_safe(text):
    return text.replace("</", "<\\/")


def bytes_js(b):
    """The page's bytes() formatting."""
    units, i, v = ["B", "KiB", "MiB", "GiB", "TiB"], 0, float(b)
    while v >= 1024 and i < 4:
        v /= 1024
        i += 1
    if not i:
        return f"{b} B"
    return f"{v:.{2 if v < 10 else 1 if v < 100 else 0}f} {units[i]}"


if mode == "flame":
    svg = open(sys.argv[2]).read()
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    print("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>")
    print(svg)
    print("""<script>
(function () {
  var out = [];
  try {
    var svg = document.querySelector('svg.ldprof-flame');
    out.push('ready=' + svg.getAttribute('data-ready'));
    var all = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
    function frame(n) { return all.filter(function (g) { return g.getAttribute('data-n') === n; })[0]; }
    function click(e) { e.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
    var W = +svg.getAttribute('data-w'), ml = frame('make_line'), aw = frame('add_word');
    click(ml);
    out.push('zoomed=' + (Math.abs(+ml.querySelector('rect').getAttribute('width') - W) < 0.5));
    out.push('sibling_hidden=' + (aw.style.display === 'none'));
    out.push('parent_dimmed=' + frame('main').classList.contains('parent'));
    click(svg.querySelector('text.reset'));
    out.push('unzoomed=' + (aw.style.display === '' && Math.abs(+ml.querySelector('rect').getAttribute('width') - W) > 1));
    // typed into the search box (upper case: the search ignores case); prompt() is never called
    window.prompt = function () { out.push('prompted=1'); return ''; };
    var box = svg.querySelector('foreignObject.searchbox input');
    box.value = '^ADD_';
    box.dispatchEvent(new Event('input', {bubbles: true}));
    out.push('matched=' + svg.querySelector('text.matched').textContent);
    out.push('highlight=' + aw.querySelector('rect').getAttribute('fill'));
    out.push('box_visible=' + (box.getBoundingClientRect().width > 100));
    box.value = '(';  // not a regular expression: looked for as typed, no error
    box.dispatchEvent(new Event('input', {bubbles: true}));
    out.push('paren=' + svg.querySelector('text.matched').textContent);
    click(svg.querySelector('text.search'));
    out.push('cleared=' + (svg.querySelector('text.matched').textContent === '' && box.value === '' &&
                           aw.querySelector('rect').getAttribute('fill') !== 'rgb(230,0,230)'));
    box.value = '^ADD_';
    box.dispatchEvent(new Event('input', {bubbles: true}));
    ml.querySelector('rect').dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    out.push('details=' + svg.querySelector('text.details').textContent);
    click(svg.querySelector('text.search'));
    function shown() { return Array.prototype.slice.call(svg.querySelectorAll('g.f')).filter(function (g) {
      return g.style.display !== 'none'; }); }
    function geom(g) { var r = g.querySelector('rect'); return {x: +r.getAttribute('x'), y: +r.getAttribute('y'),
      w: +r.getAttribute('width'), n: g.getAttribute('data-n'), d: +g.getAttribute('data-d'),
      label: g.querySelector('text').textContent}; }
    function roots() { return shown().map(geom).filter(function (b) { return b.d === 1; }); }
    // the module legend: below every frame, inside the picture, items apart
    var W0 = +svg.getAttribute('data-w'), H0 = +svg.getAttribute('height');
    var low = Math.max.apply(null, shown().map(function (g) { return geom(g).y + 15; }));
    var leg = Array.prototype.slice.call(svg.querySelectorAll('g.legend g.module')).map(function (g) {
      var r = g.querySelector('rect'); return {m: g.getAttribute('data-module'), x: +r.getAttribute('x'),
      y: +r.getAttribute('y'), fill: r.getAttribute('fill'), tw: g.querySelector('text').getComputedTextLength()}; });
    out.push('legend=' + JSON.stringify(leg));
    out.push('legend_below=' + leg.every(function (l) { return l.y >= low && l.y + 12 <= H0; }));
    // the inverted view: each function where the weight is spent as a root, its callers beneath
    click(svg.querySelector('text.invert'));
    out.push('view=' + svg.getAttribute('data-view'));
    out.push('inv_roots=' + JSON.stringify(roots()));
    out.push('inv_rows=' + JSON.stringify(shown().map(geom).filter(function (b) { return b.d <= 2; })));
    out.push('inv_w=' + svg.getAttribute('data-w'));
    click(svg.querySelector('text.invert'));
    out.push('view_back=' + svg.getAttribute('data-view'));
    // the width follows the page: narrower, then the window again
    document.body.style.width = '520px';
    window.dispatchEvent(new Event('resize'));
    out.push('narrow=' + JSON.stringify({body: document.body.clientWidth, svg: +svg.getAttribute('width'),
      w: +svg.getAttribute('data-w'), roots: roots().reduce(function (a, b) { return a + b.w; }, 0),
      legend_right: Math.max.apply(null, Array.prototype.slice.call(svg.querySelectorAll('g.legend g.module')).map(function (g) {
        return +g.querySelector('rect').getAttribute('x') + 16 + g.querySelector('text').getComputedTextLength(); }))}));
    document.body.style.width = '';
    window.dispatchEvent(new Event('resize'));
    out.push('wide=' + JSON.stringify({body: document.body.clientWidth, svg: +svg.getAttribute('width'), w0: W0}));
  } catch (e) { out.push('error=' + e); }
  document.body.setAttribute('data-result', out.join('^^'));
})();
</script></body></html>""")

elif mode == "flame-zoom":
    # Zoom into the root frame with the most frames too small to draw at full
    # width (exec.svg: env's locale loading under a root of a few pixels).
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", open(sys.argv[2]).read())
    print("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>")
    print(svg)
    print("""<script>
(function () {
  var out = [];
  try {
    var svg = document.querySelector('svg.ldprof-flame'), D = JSON.parse(svg.querySelector('desc.tree').textContent);
    var W = +svg.getAttribute('data-w'), kids = {}, best = null;
    D.nodes.forEach(function (n, i) { (kids[n[0]] = kids[n[0]] || []).push(i); });
    function shown() { return Array.prototype.slice.call(svg.querySelectorAll('g.f')).filter(function (g) {
      return g.style.display !== 'none'; }); }
    // per root: its subtree's frames wide enough once it fills the width, and those narrower than 0.25 px before
    D.nodes.forEach(function (n, i) { if (n[0] !== -1) return;
      var want = 0, hidden = 0;
      (function walk(j) { var v = D.nodes[j][2];
        if (v / n[2] * W >= 0.25) { want++; if (v / D.total * W < 0.25) hidden++; (kids[j] || []).forEach(walk); } })(i);
      if (!best || hidden > best.hidden) best = {i: i, want: want, hidden: hidden, name: D.frames[n[1]].function}; });
    out.push('root=' + best.name);
    out.push('hidden=' + best.hidden);
    var before = shown(), label = before.map(function (x) { return x.querySelector('text').textContent; }), g = before.filter(function (g) { return g.getAttribute('data-d') === '1' &&
      g.getAttribute('data-n') === best.name; })[0];
    out.push('before=' + before.length);
    g.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    var after = shown();
    out.push('after=' + after.length);
    out.push('want=' + best.want);
    // labelled now, hidden or too narrow for a label before
    out.push('new_labels=' + after.filter(function (x) { var i = before.indexOf(x);
      return x.querySelector('text').textContent !== '' && (i < 0 || label[i] === ''); }).length);
    out.push('root_w=' + (+g.querySelector('rect').getAttribute('width') / W));
  } catch (e) { out.push('error=' + e); }
  document.body.setAttribute('data-result', out.join('^^'));
})();
</script></body></html>""")

elif mode == "check-flame-zoom":
    m = re.search(r'data-result="([^"]*)"', open(sys.argv[2]).read())
    assert m, "the harness script did not run"
    r = dict(kv.split("=", 1) for kv in html.unescape(m.group(1)).split("^^"))
    assert "error" not in r, r
    assert int(r["hidden"]) > 0, ("no frame too small to draw under any root", r)
    assert abs(float(r["root_w"]) - 1) < 1e-3, r
    assert int(r["after"]) == int(r["want"]), ("frames shown after the zoom", r)
    assert int(r["new_labels"]) > 0, ("no frame too narrow for its name before is labelled", r)
    print(f"zoom into {r['root']}: {r['after']} frames shown ({r['hidden']} left out at full width), "
          f"{r['new_labels']} newly labelled")

elif mode == "html-interact":
    # The --html page with a script run after the page's own: sorts and
    # expands a table, reads the CPU and wall tables, drags a range on the
    # timeline and picks two snapshots in the lists.
    page = open(sys.argv[2]).read()
    script = """<script>
(function () {
  var out = {};
  try {
    function cells(t, i) { return Array.prototype.slice.call(t.querySelectorAll('tbody tr')).map(function (tr) {
      return tr.childNodes[i].textContent; }); }
    function click(e) { e.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
    var h3 = Array.prototype.slice.call(document.querySelectorAll('#tables-body h3')).filter(function (h) {
      return h.textContent.indexOf('Top allocators by bytes') === 0; })[0];
    var t = h3.nextSibling, more = t.nextSibling;
    out.bytes = {rows: cells(t, 0).length, more: more.textContent, sort: t.getAttribute('data-sort')};
    click(more);
    out.bytes.all = cells(t, 0).length;
    click(t.querySelectorAll('th')[1]);
    out.bytes.calls_desc = cells(t, 1); out.bytes.sort_desc = t.getAttribute('data-sort');
    click(t.querySelectorAll('th')[1]);
    out.bytes.calls_asc = cells(t, 1); out.bytes.sort_asc = t.getAttribute('data-sort');
    ['cpu', 'wall'].forEach(function (k) { var tt = document.querySelector('#' + k + ' table');
      if (tt && tt.nextSibling.style.display !== 'none') click(tt.nextSibling);  // all rows
      out[k] = tt ? {keys: cells(tt, 4), self: cells(tt, 0), total: cells(tt, 2),
                     flame: !!document.querySelector('#' + k + ' div.flame svg[data-ready="1"]')} : null; });
    function diff() { var d = document.getElementById('snapshot-diff'); var o = {};
      if (d) Array.prototype.slice.call(d.querySelectorAll('tbody tr')).forEach(function (tr) {
        o[tr.childNodes[4].textContent] = [tr.childNodes[2].textContent, tr.childNodes[3].textContent]; });
      return o; }
    var D = JSON.parse(document.getElementById('ldprof-data').textContent), S = D.snapshots.snapshots;
    out.snapshots = S.map(function (s) { return s.selector; });
    // drag from the start of the first timeline to 2 px past the peak
    var svg = document.querySelector('svg.ldprof-timeline'), plot = svg.querySelector('rect.plot');
    var r = plot.getBoundingClientRect(), k = r.width / +plot.getAttribute('width'), end = +svg.getAttribute('data-end');
    var peak = S.filter(function (s) { return s.selector === 'peak' && s.trace_index === 0; })[0];
    var px = r.left + (peak.time_ns / 1e9 / end * +plot.getAttribute('width') + 2) * k, y = r.top + r.height / 2;
    plot.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, clientX: r.left + 1, clientY: y}));
    plot.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: px, clientY: y}));
    window.dispatchEvent(new MouseEvent('mouseup', {bubbles: true, clientX: px, clientY: y}));
    out.range = document.body.getAttribute('data-range');
    out.band = svg.querySelector('rect.range').style.display !== 'none';
    out.range_pick = [S[+document.getElementById('snap-from').value].selector, S[+document.getElementById('snap-to').value].selector];
    out.range_diff = diff();
    // the lists: from the peak to the exit
    var from = document.getElementById('snap-from'), to = document.getElementById('snap-to');
    from.value = S.indexOf(peak); to.value = S.indexOf(S.filter(function (s) { return s.selector === 'exit' && s.trace_index === 0; })[0]);
    from.dispatchEvent(new Event('change'));
    out.list_diff = diff();
  } catch (e) { out.error = String(e) + ' ' + e.stack; }
  document.body.setAttribute('data-result', JSON.stringify(out));
})();
</script>"""
    i = page.rindex("</body>")
    print(page[:i] + script + page[i:])

elif mode == "html-filter":
    # The --html page of phase_threads with a script run after the page's
    # own: the tables for each thread, for a range before the pause and one
    # after it (dragged on the timeline), and after "whole run".
    page = open(sys.argv[2]).read()
    script = """<script>
(function () {
  var out = {};
  try {
    function click(e) { e.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
    function rows(where, title, keyAt) {
      var h3 = Array.prototype.slice.call(document.querySelectorAll(where + ' h3')).filter(function (h) {
        return h.textContent.indexOf(title) === 0; })[0];
      if (!h3) return {};
      var t = h3.nextSibling, more = t.nextSibling, o = {};
      if (more.style.display !== 'none' && more.textContent.indexOf('show all') === 0) click(more);
      Array.prototype.slice.call(t.querySelectorAll('tbody tr')).forEach(function (tr) {
        o[tr.childNodes[keyAt].textContent] = [tr.childNodes[0].textContent, tr.childNodes[keyAt === 2 ? 1 : 2].textContent]; });
      return o; }
    function state() { return {filter: document.body.getAttribute('data-filter'),
      bytes: rows('#tables-body', 'Top allocators by bytes', 2), cpu: rows('#cpu', 'By ', 4)}; }
    out.all = state();
    var pick = document.getElementById('thread-filter');
    out.threads = {};
    Array.prototype.slice.call(pick.options).forEach(function (o) { if (+o.value < 0) return;
      pick.value = o.value; pick.dispatchEvent(new Event('change')); out.threads[o.textContent] = state(); });
    pick.value = -1; pick.dispatchEvent(new Event('change'));
    var D = JSON.parse(document.getElementById('ldprof-data').textContent), S = D.snapshots.snapshots;
    var A = JSON.parse(document.getElementById('ldprof-activity').textContent);
    function at(sel) { return S.filter(function (s) { return s.selector === sel; })[0].time_ns / 1e9; }
    out.gap = [at('one-done'), at('two-begins')];
    out.bucket_s = A.segments[0][2] * Math.pow(2, A.bucket_shift) / 1e9;
    var svg = document.querySelector('svg.ldprof-timeline'), plot = svg.querySelector('rect.plot');
    var r = plot.getBoundingClientRect(), end = +svg.getAttribute('data-end'), y = r.top + r.height / 2;
    function x(t) { return r.left + t / end * r.width; }
    function drag(x1, x2) {
      plot.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, clientX: x1, clientY: y}));
      plot.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: x2, clientY: y}));
      window.dispatchEvent(new MouseEvent('mouseup', {bubbles: true, clientX: x2, clientY: y})); }
    var mid = (out.gap[0] + out.gap[1]) / 2;
    drag(r.left, x(mid)); out.first = state(); out.first.note = document.getElementById('range-note').textContent;
    drag(x(mid), r.right + 5); out.second = state();
    click(document.getElementById('range-clear')); out.cleared = state();
  } catch (e) { out.error = String(e) + ' ' + e.stack; }
  document.body.setAttribute('data-result', JSON.stringify(out));
})();
</script>"""
    i = page.rindex("</body>")
    print(page[:i] + script + page[i:])

elif mode == "check-html-filter":
    m = re.search(r'data-result="([^"]*)"', open(sys.argv[2]).read())
    assert m, "the harness script did not run"
    r = json.loads(html.unescape(m.group(1)))
    assert "error" not in r, r["error"]
    truth = {}
    for line in open(sys.argv[3]):
        fn, thread, n, b = line.split()
        truth[fn] = (thread, f"{int(n):,}", bytes_js(int(b)))
    report = json.load(open(sys.argv[4]))
    whole = {g["key"]: [bytes_js(g["heap"]["allocated_bytes"]), f"{g['heap']['allocation_count']:,}"]
             for g in report["groups"] if g["heap"]["allocated_bytes"] > 0}
    assert r["all"]["bytes"] == whole, ("whole run: the report's bytes table", r["all"]["bytes"], whole)
    assert r["cleared"] == r["all"], ("'whole run' again: the tables as first drawn", r["cleared"], r["all"])
    def same(got, fn, where):
        assert fn in got and got[fn] == [truth[fn][2], truth[fn][1]], (where, fn, got.get(fn), truth[fn])
    # each thread: its own function with the program's counts, the others' absent
    names = {t.split(" ")[0]: st for t, st in r["threads"].items()}
    for fn, (thread, _, _) in truth.items():
        st = names.get(thread)
        assert st, ("no thread named", thread, list(r["threads"]))
        same(st["bytes"], fn, thread)
        for other, (othread, _, _) in truth.items():
            assert othread == thread or other not in st["bytes"], (thread, "shows", other)
    for t in ("alpha", "beta"):
        cpu = names[t]["cpu"]
        assert t + "_spin" in cpu, (t, "no CPU in its spin", cpu)
        assert ("beta" if t == "alpha" else "alpha") + "_spin" not in cpu, (t, cpu)
    # two ranges split at the middle of the pause: each phase alone, and
    # together every group of the whole run
    gap = r["gap"][1] - r["gap"][0]
    assert r["bucket_s"] < gap / 2, ("time buckets too wide to split at the pause", r["bucket_s"], gap)
    same(r["first"]["bytes"], "early_alloc", "before the pause")
    assert "alpha_alloc" not in r["first"]["bytes"] and "beta_alloc" not in r["first"]["bytes"], r["first"]
    for fn in ("alpha_alloc", "beta_alloc"):
        same(r["second"]["bytes"], fn, "after the pause")
    assert "early_alloc" not in r["second"]["bytes"], r["second"]
    calls = lambda t, k: int(t[k][1].replace(",", "")) if k in t else 0
    for k in whole:
        assert calls(r["first"]["bytes"], k) + calls(r["second"]["bytes"], k) == calls(r["all"]["bytes"], k), k
    assert "trace 0" in r["first"]["filter"] and r["first"]["note"].startswith("0.000 s"), r["first"]
    print(f"{len(names)} threads each with its own functions (the program's counts), CPU in its own spin; "
          f"ranges before and after the {gap:.3f} s pause (buckets of {r['bucket_s'] * 1000:.1f} ms): "
          "each phase alone, adding up to the whole run")

elif mode == "check-html-interact":
    m = re.search(r'data-result="([^"]*)"', open(sys.argv[2]).read())
    assert m, "the harness script did not run"
    r, report = json.loads(html.unescape(m.group(1))), json.load(open(sys.argv[3]))
    assert "error" not in r, r["error"]
    groups = report["groups"]
    # sortable, 20 rows then all of them
    b, n = r["bytes"], len([g for g in groups if g["heap"]["allocated_bytes"] > 0])
    assert b["sort"] == "0 desc" and b["rows"] == min(n, 20), b
    if len(sys.argv) == 4:
        assert n > 20, ("the two traces were to give more than 20 stacks", n)
    if n > 20:
        assert b["more"] == f"show all {n} rows" and b["all"] == n, (b, n)
    def num(x):
        return int(x.replace(",", ""))
    calls = [num(x) for x in b["calls_desc"]]
    assert b["sort_desc"] == "1 desc" and calls == sorted(calls, reverse=True), b
    assert sorted(calls) == sorted(g["heap"]["allocation_count"] for g in groups if g["heap"]["allocated_bytes"] > 0), calls
    assert b["sort_asc"] == "1 asc" and [num(x) for x in b["calls_asc"]] == sorted(calls), b
    summary = f"bytes table: {b['rows']} rows of {n}, sorted by calls both ways"
    # CPU and wall: a table (self, total per group) and a live flame graph each
    for k in ("cpu", "wall"):
        if not report[k]["sample_count"]:
            assert r[k] is None, k
            continue
        t = r[k]
        assert t and t["flame"], (k, t)
        want = {g["key"]: g[k] for g in groups if g[k]["total_sample_count"] > 0}
        assert sorted(t["keys"]) == sorted(want), (k, t["keys"], list(want))
        for key, self_s, total_s in zip(t["keys"], t["self"], t["total"]):
            assert self_s == f"{want[key]['self_ns'] / 1e9:.3f} s" and total_s == f"{want[key]['total_ns'] / 1e9:.3f} s", (k, key)
        summary += f"; {k}: {len(t['keys'])} rows"
    if len(sys.argv) > 4:  # one trace: the range and the lists against the report
        def bytes_of(groups_key):
            return {g["key"]: bytes_js(g["heap"][groups_key]) for g in groups if g["heap"][groups_key] > 0}
        assert r["band"] and r["range"] and r["range_pick"] == ["start", "peak"], r
        got = {k: v[1] for k, v in r["range_diff"].items()}
        assert got == bytes_of("peak_bytes"), ("range 0 .. past the peak: live at the peak", got, bytes_of("peak_bytes"))
        got = {k: v[1] for k, v in r["list_diff"].items()}
        before = {k: v[0] for k, v in r["list_diff"].items() if v[0] != "0 B"}
        assert got.items() >= bytes_of("leaked_bytes").items() and before == bytes_of("peak_bytes"), r["list_diff"]
        summary += f"; range {r['range']} s picks start..peak (live at the peak per group), lists peak..exit (leaked)"
    print(summary)

elif mode == "timeline":
    # Where the browser draws the legends, plots and curves (text boxes need a renderer).
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", open(sys.argv[2]).read())
    print("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>")
    print(svg)
    print("""<script>
(function () {
  var out = {};
  try {
    var svg = document.querySelector('svg.ldprof-timeline');
    function bb(e) { var b = e.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; }
    function all(sel) { return Array.prototype.slice.call(svg.querySelectorAll(sel)).map(bb); }
    out.items = all('g.legend g.item');
    out.plots = all('rect.plot').concat(all('rect.rate-plot'));
    out.curves = all('polygon.heap-max').concat(all('polyline.curve'), all('polyline.rate'));
  } catch (e) { out.error = String(e); }
  document.body.setAttribute('data-result', JSON.stringify(out));
})();
</script></body></html>""")

elif mode == "check-timeline":
    m = re.search(r'data-result="([^"]*)"', open(sys.argv[2]).read())
    assert m, "the harness script did not run"
    r = json.loads(html.unescape(m.group(1)))
    assert "error" not in r, r
    assert len(r["items"]) >= 5 and len(r["plots"]) == 2 and len(r["curves"]) >= 3, r

    def meet(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    for it in r["items"]:
        for box in r["plots"] + r["curves"]:
            assert not meet(it, box), ("a legend item covers a plot or curve", it, box)
    for i, a in enumerate(r["items"]):
        for b in r["items"][i + 1:]:
            assert not meet(a, b), ("legend items overlap", a, b)
    for c in r["curves"]:
        assert any(p[0] - 0.5 <= c[0] and c[2] <= p[2] + 0.5 and p[1] - 0.5 <= c[1] and c[3] <= p[3] + 0.5
                   for p in r["plots"]), ("a curve outside its plot", c)
    print(f"{len(r['items'])} legend swatches clear of the 2 plots and {len(r['curves'])} curves, each curve inside its plot")

elif mode == "check-flame":
    dom, report = open(sys.argv[2]).read(), json.load(open(sys.argv[3]))
    m = re.search(r'data-result="([^"]*)"', dom)
    assert m, "the harness script did not run"
    r = dict(kv.split("=", 1) for kv in html.unescape(m.group(1)).split("^^"))
    assert "error" not in r, r
    assert r["ready"] == "1" and r["zoomed"] == "true" and r["sibling_hidden"] == "true", r
    assert r["parent_dimmed"] == "true" and r["unzoomed"] == "true", r
    aw = next(g for g in report["groups"] if g["key"] == "add_word")["heap"]["allocated_bytes"]
    share = 100.0 * aw / report["heap"]["allocated_bytes"]
    got = float(r["matched"].split()[1].rstrip("%"))
    assert abs(got - share) < 0.2, ("search matched", got, "add_word's share", share)
    assert r["highlight"] == "rgb(230,0,230)", r
    assert "prompted" not in r and r["box_visible"] == "true" and r["cleared"] == "true", r
    assert r["paren"].startswith("Matched: "), r
    assert r["details"].startswith("make_line") and "MiB" in r["details"], r
    # legend: one swatch per module, the largest first, below the frames
    leg = json.loads(r["legend"])
    mods = [x["m"] for x in leg]
    assert "demo_prog" in mods and "libc.so.6" in mods and len(set(mods)) == len(mods), mods
    assert r["legend_below"] == "true", leg
    for a, b in zip(leg, leg[1:]):
        assert b["y"] > a["y"] or b["x"] >= a["x"] + 16 + a["tw"], ("legend items overlap", a, b)
    # inverted: the roots are where the bytes were allocated, as the report's groups say
    assert r["view"] == "inverted" and r["view_back"] == "normal", r
    W = float(r["inv_w"])
    inv = {b["n"]: b for b in json.loads(r["inv_roots"])}
    total = report["heap"]["allocated_bytes"]
    for fn in ("make_line", "add_word"):
        g = next(g for g in report["groups"] if g["key"] == fn)["heap"]["allocated_bytes"]
        assert fn in inv and abs(inv[fn]["w"] / W - g / total) < 1e-3, (fn, inv.get(fn), g / total)
    assert abs(sum(b["w"] for b in inv.values()) - W) < 1, (sum(b["w"] for b in inv.values()), W)
    rows = json.loads(r["inv_rows"])
    y1 = {b["y"] for b in rows if b["d"] == 1}
    y2 = {b["y"] for b in rows if b["d"] == 2}
    assert len(y1) == 1 and len(y2) == 1 and min(y1) < min(y2), ("inverted graph hangs down", y1, y2)
    callers = [b["n"] for b in rows if b["d"] == 2 and b["x"] >= inv["add_word"]["x"] - 0.01 and
               b["x"] < inv["add_word"]["x"] + inv["add_word"]["w"] - 0.5]  # (the next one starts at its end, rounded)
    assert callers == ["main"], ("add_word's caller", callers)
    # responsive: the graph takes the page's width, narrower and back
    n, w = json.loads(r["narrow"]), json.loads(r["wide"])
    assert n["body"] == 520 and n["svg"] == 520 and n["w"] == 500 and abs(n["roots"] - 500) < 1, n
    assert n["legend_right"] <= 512, n
    assert w["svg"] == w["body"] and w["svg"] - 20 == w["w0"], w
    print(f"zoom, reset, search ({got}% = add_word's {share:.1f}%), details: {r['details']}; legend {mods}; "
          f"inverted roots {sorted(inv)}; width {n['svg']} px in a 520 px page, {w['svg']} px in the window")

elif mode == "check-html":
    dom, report, page = open(sys.argv[2]).read(), json.load(open(sys.argv[3])), open(sys.argv[4]).read()
    assert 'data-rendered="1"' in dom, "the page script did not finish"
    m = re.search(r'data-errors="[^"]*"', dom)
    assert not m, m and m.group(0)
    ready = dom.count('data-ready="1"')
    whats = re.findall(r'<div class="flame" data-what="(\w+)"', dom)
    flames = len(whats)
    want = ["alloc", "inuse", "leaked"] + [k for k in ("cpu", "wall") if report.get(k, {}).get("sample_count")]
    assert whats == want and ready == 1 + flames, ("flame graphs", whats, want, "live SVGs", ready)
    assert '<td class="fn">add_word</td>' in dom and '<td class="fn">make_line</td>' in dom
    heap = report["heap"]
    assert bytes_js(heap["peak_bytes"]) + " in " + f"{heap['peak_count']:,}" + " blocks" in dom
    leaks = re.findall(r'<div class="leak">', dom)
    assert len(leaks) >= 2 and '<div class="frame">main ' in dom, "leaks with stacks not built"
    # self-contained: no resource from the network, no external file
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|file:)""", page), "external resource"
    assert not re.search(r"url\(\s*['\"]?https?:|@import", page), "external resource in CSS"
    assert not re.search(r"<(?:link|img|iframe)\b", page), "external element"
    print(f"rendered, no script errors, {flames} flame graphs + timeline live, tables and {len(leaks)} leak stacks; "
          f"{len(page)} bytes, no external resource")

elif mode == "dhat":
    data = open(sys.argv[2]).read()
    json.loads(data)
    print("""<!DOCTYPE html><html><head><meta charset="UTF-8"><link rel="stylesheet" href="dh_view.css">
<script src="dh_view.js"></script></head><body onload="onLoad(); ldprofLoad();">
<script>
var ldprofData = %s;
function ldprofLoad() {
  try { gData = ldprofData; buildTree(); displayTree(); document.body.setAttribute("data-ldprof", "ok"); }
  catch (e) { document.body.setAttribute("data-ldprof", "error: " + e); }
}
</script></body></html>""" % script_safe(data))

elif mode == "check-dhat":
    dom, d, report = open(sys.argv[2]).read(), json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
    m = re.search(r'data-ldprof="([^"]*)"', dom)
    assert m and m.group(1) == "ok", m and m.group(1)
    text = html.unescape(re.sub(r"<[^>]*>", "", dom))
    heap = report["heap"]
    assert f"{heap['allocated_bytes']:,} bytes (100%" in text, "total bytes not shown"
    assert f"At t-gmax: {heap['peak_bytes']:,} bytes (100%)" in text, "t-gmax figure"
    assert f"At t-end:  {heap['leaked_bytes']:,} bytes (100%)" in text, "t-end figure"
    assert "add_word" in text and "make_line" in text
    assert sum(p["tb"] for p in d["pps"]) == heap["allocated_bytes"]
    print(f"dh_view.js: {len(d['pps'])} program points; total, t-gmax ({heap['peak_bytes']:,}) and t-end shown")
else:
    sys.exit("unknown mode " + mode)
