/*
 * html.c - the report as one HTML page (see html.h).
 *
 * Page layout, top to bottom:
 *   summary   <- script, from the embedded report JSON
 *   timeline  <- inline SVG per trace
 *   flames    <- inline SVG per "what" with data, tabs by script
 *   tables    <- script: peak, bytes, count, temporary (top 20 of each)
 *   leaks     <- script: the largest leaks with their whole stacks
 * The script marks <body data-rendered="1"> when everything is built, and
 * any script error is recorded in <html data-errors> (the test reads both).
 */
#include "html.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/draw.h"
#include "render/flame_svg.h"
#include "render/timeline_svg.h"

static const char page_css[] =
	"body { font: 14px/1.45 -apple-system, 'Segoe UI', 'DejaVu Sans', Verdana, sans-serif; margin: 0;\n"
	"  background: #f4f4ef; color: #222; }\n"
	"header { background: #23313f; color: #fff; padding: 14px 28px; }\n"
	"header h1 { margin: 0; font-size: 22px; } header .sub { margin: 2px 0 0; color: #b8c4cf; }\n"
	"nav { padding: 8px 28px; background: #e4e6e0; } nav a { margin-right: 18px; color: #1d4f91; }\n"
	"section { background: #fff; margin: 18px 28px; padding: 8px 20px 16px; border-radius: 6px;\n"
	"  box-shadow: 0 1px 3px rgba(0,0,0,.12); }\n"
	"h2 { font-size: 18px; margin: 10px 0; }\n"
	"svg { max-width: 100%; height: auto; }\n"
	"table { border-collapse: collapse; margin: 6px 0 14px; }\n"
	"td, th { padding: 3px 10px; text-align: left; vertical-align: top; border-bottom: 1px solid #eee; }\n"
	"td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
	"td.fn { font-family: 'DejaVu Sans Mono', monospace; }\n"
	"td.where { color: #666; }\n"
	".tabs button { font: inherit; padding: 4px 12px; margin: 0 4px 8px 0; border: 1px solid #bbb;\n"
	"  background: #f3f3f3; border-radius: 4px; cursor: pointer; }\n"
	".tabs button.on { background: #23313f; color: #fff; border-color: #23313f; }\n"
	".stack { font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; color: #444; margin: 2px 0 10px 14px; }\n"
	".muted { color: #777; }\n"
	".summary td:first-child { color: #555; }\n";

/* Build everything the page shows from the embedded JSON. */
static const char page_js[] =
	"(function () {\n"
	"var D = JSON.parse(document.getElementById('ldprof-data').textContent), R = D.report;\n"
	"function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls;\n"
	"  if (text !== undefined) e.textContent = text; return e; }\n"
	"function bytes(b) { var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;\n"
	"  while (b >= 1024 && i < 4) { b /= 1024; i++; }\n"
	"  return i ? b.toFixed(b < 10 ? 2 : b < 100 ? 1 : 0) + ' ' + u[i] : b + ' B'; }\n"
	"function count(n) { return n.toLocaleString('en-US'); }\n"
	"function base(p) { return p ? p.replace(/^.*\\//, '') : ''; }\n"
	"function where(g) { return g.file ? base(g.file) + ':' + g.line : g.module ? '[' + g.module + ']' : ''; }\n"
	"/* summary */\n"
	"var h = R.heap, s = document.getElementById('summary-body'), t = el('table', 'summary');\n"
	"[['allocations', count(h.allocations) + ' (' + bytes(h.allocated_bytes) + ' requested)'],\n"
	" ['frees', count(h.frees)],\n"
	" ['peak', bytes(h.peak_bytes) + ' in ' + count(h.peak_count) + ' blocks, at ' +\n"
	"   (h.peak_time_ns / 1e9).toFixed(3) + ' s'],\n"
	" ['leaked', bytes(h.leaked_bytes) + ' in ' + count(h.leaked_count) + ' blocks'],\n"
	" ['temporary', count(h.temporary) + ' (' + (h.allocations ? (100 * h.temporary / h.allocations).toFixed(1) : '0.0') +\n"
	"   '% of allocations)'],\n"
	" ['unknown frees', count(h.unknown_frees)]].concat(['cpu', 'wall'].filter(function (k) {\n"
	"   return R[k] && R[k].samples; }).map(function (k) {\n"
	"   return [k === 'cpu' ? 'CPU samples' : 'wall-clock samples', count(R[k].samples) + ' (' +\n"
	"     (R[k].total_ns / 1e9).toFixed(3) + ' s, one per ' + (R[k].interval_ns / 1e6).toFixed(2) + ' ms)']; })).forEach(function (r) {\n"
	"  var tr = el('tr'); tr.appendChild(el('td', '', r[0])); tr.appendChild(el('td', 'n', r[1])); t.appendChild(tr); });\n"
	"s.appendChild(t);\n"
	"var pt = el('table'), hr = el('tr');\n"
	"['pid', 'program', 'ended by', 'allocations', 'peak', 'leaked'].forEach(function (x) { hr.appendChild(el('th', '', x)); });\n"
	"pt.appendChild(hr);\n"
	"R.segments.forEach(function (g) { var tr = el('tr');\n"
	"  [[g.pid, 'n'], [g.cmdline || g.exe, 'fn'], [g.end, ''], [count(g.heap.allocations), 'n'],\n"
	"   [bytes(g.heap.peak_bytes), 'n'], [bytes(g.heap.leaked_bytes), 'n']].forEach(function (c) {\n"
	"    tr.appendChild(el('td', c[1], String(c[0]))); });\n"
	"  pt.appendChild(tr); });\n"
	"s.appendChild(el('h3', '', 'processes')); s.appendChild(pt);\n"
	"if (R.truncated) s.appendChild(el('p', 'muted', 'The trace ends inside a frame (the process was killed?); everything before it is used.'));\n"
	"var M = R.missed;\n"
	"if (M.damaged_regions) s.appendChild(el('p', 'muted', 'Damaged: ' + M.first_damage.what + '; ' + count(M.skipped_bytes) +\n"
	"  ' bytes skipped' + (M.dropped_events ? ', ' + count(M.dropped_events) + ' events of threads whose state was lost there' : '') + '; everything else is used.'));\n"
	"if (M.unordered_events) s.appendChild(el('p', 'muted', count(M.unordered_events) + ' events were merged out of order: frees, leaks and unknown frees may be off by about that many.'));\n"
	"if (M.nested_allocations || M.nested_frees) s.appendChild(el('p', 'muted', count(M.nested_allocations) + ' allocations and ' +\n"
	"  count(M.nested_frees) + ' frees made in signal handlers that interrupted ldprof were not recorded.'));\n"
	"/* flame graph tabs */\n"
	"var tabs = document.getElementById('flame-tabs'), flames = document.querySelectorAll('div.flame');\n"
	"function show(i) { flames.forEach(function (f, j) { f.style.display = i === j ? '' : 'none'; });\n"
	"  tabs.querySelectorAll('button').forEach(function (b, j) { b.className = i === j ? 'on' : ''; }); }\n"
	"flames.forEach(function (f, i) { var b = el('button', '', f.getAttribute('data-title'));\n"
	"  b.onclick = function () { show(i); }; tabs.appendChild(b); });\n"
	"if (flames.length) show(0);\n"
	"/* top tables */\n"
	"var tb = document.getElementById('tables-body');\n"
	"function table(title, metric, isBytes, second, secondName) {\n"
	"  var rows = R.groups.filter(function (g) { return g[metric] > 0; })\n"
	"    .sort(function (a, b) { return b[metric] - a[metric] || (a.key < b.key ? -1 : 1); });\n"
	"  if (!rows.length) return;\n"
	"  tb.appendChild(el('h3', '', title + ', by ' + R.by));\n"
	"  var t = el('table', 'top'), hr = el('tr');\n"
	"  [[metric.replace(/_/g, ' '), 'n'], [secondName, 'n'], [R.by, ''], ['where', '']].forEach(function (c) {\n"
	"    hr.appendChild(el('th', c[1], c[0])); });\n"
	"  t.appendChild(hr);\n"
	"  rows.slice(0, 20).forEach(function (g) { var tr = el('tr');\n"
	"    tr.appendChild(el('td', 'n', isBytes ? bytes(g[metric]) : count(g[metric])));\n"
	"    tr.appendChild(el('td', 'n', second === 'allocated_bytes' ? bytes(g[second]) : count(g[second])));\n"
	"    tr.appendChild(el('td', 'fn', g.key)); tr.appendChild(el('td', 'where', R.by === 'function' ? where(g) : ''));\n"
	"    t.appendChild(tr); });\n"
	"  if (rows.length > 20) { var tr = el('tr'); var td = el('td', 'muted', '... and ' + (rows.length - 20) + ' more');\n"
	"    td.colSpan = 4; tr.appendChild(td); t.appendChild(tr); }\n"
	"  tb.appendChild(t); }\n"
	"table('Peak consumers (live at the peak)', 'peak_bytes', 1, 'peak_count', 'blocks');\n"
	"table('Top allocators by bytes', 'allocated_bytes', 1, 'allocations', 'calls');\n"
	"table('Top allocators by count', 'allocations', 0, 'allocated_bytes', 'bytes');\n"
	"table('Temporary allocations (freed before the next allocation)', 'temporary', 0, 'allocations', 'of');\n"
	"/* leaks with their stacks */\n"
	"var lb = document.getElementById('leaks-body');\n"
	"if (!D.leaks.length) lb.appendChild(el('p', 'muted', 'No leaks: everything allocated was freed before exit.'));\n"
	"D.leaks.forEach(function (l) {\n"
	"  var p = el('div', 'leak'); p.appendChild(el('b', '', bytes(l.leaked_bytes)));\n"
	"  p.appendChild(document.createTextNode(' in ' + count(l.leaked_count) + ' blocks, allocated at'));\n"
	"  var st = el('div', 'stack');\n"
	"  l.frames.forEach(function (f) { st.appendChild(el('div', 'frame', f.function + (f.inlined ? ' (inlined)' : '') +\n"
	"    (f.file ? '  ' + base(f.file) + ':' + f.line : '  [' + f.module + ']'))); });\n"
	"  p.appendChild(st); lb.appendChild(p); });\n"
	"document.body.setAttribute('data-rendered', '1');\n"
	"})();\n";

/* JSON inside <script>: "</" would end the element early. */
static void put_json(struct strbuf *b, const struct strbuf *j)
{
	for (size_t i = 0; i < j->len; i++) {
		if (j->s[i] == '<' && i + 1 < j->len && j->s[i + 1] == '/')
			sb_printf(b, "<\\");
		else
			sb_putc(b, j->s[i]);
	}
}

static void leaks_json(struct strbuf *b, const struct report *r, struct symbolizer *sym)
{
	struct grouping g;
	grouping_init(&g);
	struct group_opts o = r->gopts;
	o.by = BY_TRACEBACK;
	for (size_t i = 0; i < r->ntraces; i++)
		grouping_add(&g, sym, &r->traces[i], &o);
	const struct group **v = grouping_sorted(&g, SORT_LEAKED);
	sb_printf(b, "[");
	for (size_t i = 0, shown = 0; i < g.n && shown < 20; i++) {
		if (!v[i]->leaked_bytes)
			break;
		sb_printf(b, "%s{\"leaked_bytes\":%" PRIu64 ",\"leaked_count\":%" PRIu64 ",\"frames\":[", shown ? "," : "",
			  v[i]->leaked_bytes, v[i]->leaked_count);
		for (unsigned k = 0; k < v[i]->nframes; k++) {
			const struct sym_frame *f = v[i]->frames[k];
			sb_printf(b, "%s{\"function\":", k ? "," : "");
			sb_json_str(b, f->function ? f->function : "?");
			sb_printf(b, ",\"file\":");
			if (f->file)
				sb_json_str(b, f->file);
			else
				sb_printf(b, "null");
			sb_printf(b, ",\"line\":%u,\"module\":", f->line);
			sb_json_str(b, f->module ? f->module : "?");
			sb_printf(b, ",\"inlined\":%s}", f->inlined ? "true" : "false");
		}
		sb_printf(b, "]}");
		shown++;
	}
	sb_printf(b, "]");
	free(v);
	grouping_free(&g);
}

void render_report_html(struct strbuf *b, const struct report *r, struct symbolizer *sym)
{
	const char *first = r->ntraces ? r->traces[0].m.path : "";
	sb_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ldprof: ");
	sb_xml(b, first);
	sb_printf(b, "</title>\n<script>\n"
		     "window.addEventListener('error', function (e) { var d = document.documentElement;\n"
		     "  d.setAttribute('data-errors', (d.getAttribute('data-errors') || '') + (e.message || 'error') + '; '); });\n"
		     "</script>\n<style>\n%s</style>\n</head>\n<body data-rendered=\"0\">\n", page_css);
	sb_printf(b, "<header><h1>ldprof report</h1><p class=\"sub\">");
	for (size_t i = 0; i < r->ntraces; i++) {
		sb_printf(b, "%s", i ? ", " : "");
		sb_xml(b, r->traces[i].m.path);
	}
	sb_printf(b, "</p></header>\n<nav><a href=\"#summary\">Summary</a><a href=\"#timeline\">Timeline</a>"
		     "<a href=\"#flames\">Flame graphs</a><a href=\"#tables\">Top sites</a><a href=\"#leaks\">Leaks</a></nav>\n");
	sb_printf(b, "<section id=\"summary\"><h2>Summary</h2><div id=\"summary-body\"></div></section>\n");

	sb_printf(b, "<section id=\"timeline\"><h2>Live heap over time</h2>\n");
	for (size_t i = 0; i < r->ntraces; i++) {
		struct timeline tl;
		timeline_build(&tl, &r->traces[i]);
		const char *base = strrchr(r->traces[i].m.path, '/');
		tl.title = "live heap over time";
		tl.subtitle = base ? base + 1 : r->traces[i].m.path;
		struct timeline_opts to = {.inline_svg = 1};
		timeline_svg(b, &tl, &to);
		timeline_free(&tl);
	}
	sb_printf(b, "</section>\n");

	sb_printf(b, "<section id=\"flames\"><h2>Flame graphs</h2>\n"
		     "<p class=\"muted\">Hover for details, click a frame to zoom, Search to highlight.</p>\n"
		     "<div class=\"tabs\" id=\"flame-tabs\"></div>\n");
	/* One set per "what" over all traces. The per-trace sets stay alive until
	 * the graph is drawn: their process frames ([pid N prog]) are theirs. */
	struct wstack_set *one = xcalloc(r->ntraces ? r->ntraces : 1, sizeof *one);
	for (int w = WS_ALLOC; w < WS_NWHAT; w++) {
		struct wstack_set all;
		ws_init(&all, (enum ws_what)w);
		int have = 0;
		for (size_t i = 0; i < r->ntraces; i++) {
			const char *why;
			if (ws_build(&one[i], (enum ws_what)w, sym, &r->traces[i], &why) == 0) {
				have = 1;
				for (size_t k = 0; k < one[i].n; k++)
					ws_add(&all, one[i].v[k].frames, one[i].v[k].nframes, one[i].v[k].weight,
					       one[i].v[k].count);
			}
		}
		if (have && all.total) {
			sb_printf(b, "<div class=\"flame\" data-what=\"%s\" data-title=\"", all.name);
			sb_xml(b, all.title);
			sb_printf(b, "\">\n");
			struct flame_opts fo = {.inline_svg = 1, .subtitle = r->ntraces == 1 ? NULL : "all traces"};
			flame_svg(b, &all, &fo);
			sb_printf(b, "</div>\n");
		}
		ws_free(&all);
		for (size_t i = 0; i < r->ntraces; i++)
			ws_free(&one[i]);
	}
	free(one);
	sb_printf(b, "</section>\n");
	sb_printf(b, "<section id=\"tables\"><h2>Top allocation sites</h2><div id=\"tables-body\"></div></section>\n");
	sb_printf(b, "<section id=\"leaks\"><h2>Leaks (live at exit), with their stacks</h2><div id=\"leaks-body\"></div>"
		     "</section>\n");

	struct strbuf j = {0}, rep = {0};
	render_report_json(&rep, r);
	sb_printf(&j, "{\"report\":%.*s,\"leaks\":", (int)rep.len, rep.s ? rep.s : "{}");
	leaks_json(&j, r, sym);
	sb_printf(&j, "}");
	sb_printf(b, "<script type=\"application/json\" id=\"ldprof-data\">");
	put_json(b, &j);
	sb_printf(b, "</script>\n<script>\n%s</script>\n</body></html>\n", page_js);
	sb_free(&j);
	sb_free(&rep);
}
