"""harness.py - pages for headless Chromium and checks of what it dumped.

  harness.py flame SVG                      an HTML page that embeds the SVG and clicks, searches, hovers
  harness.py check-flame DOM REPORT.json    the results that page recorded
  harness.py check-html DOM REPORT.json HTML   the --html report after its scripts ran
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
  } catch (e) { out.push('error=' + e); }
  document.body.setAttribute('data-result', out.join('^^'));
})();
</script></body></html>""")

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
    print(f"zoom, reset, search ({got}% = add_word's {share:.1f}%), details: {r['details']}")

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
