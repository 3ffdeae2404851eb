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

#include <stdlib.h>
#include <string.h>

#include "render/assets.h"
#include "render/draw.h"
#include "render/flame_svg.h"
#include "render/timeline_svg.h"

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

/* The largest leaks (at most 20) with their whole stacks. */
static json_t *leaks_json(const struct report *r, struct symbolizer *sym)
{
	struct grouping g;
	grouping_init(&g);
	struct group_opts o = r->gopts;
	o.by = BY_TRACEBACK;
	for (size_t i = 0; i < r->ntraces; i++)
		grouping_add(&g, sym, &r->traces[i], &o);
	const struct group **v = grouping_sorted(&g, SORT_LEAKED);
	json_t *a = json_array();
	for (size_t i = 0; i < g.n && json_array_size(a) < 20; i++) {
		if (!v[i]->leaked_bytes)
			break;
		json_t *l = json_object(), *frames = json_array();
		json_object_set_new(l, "leaked_bytes", json_u64(v[i]->leaked_bytes));
		json_object_set_new(l, "leaked_count", json_u64(v[i]->leaked_count));
		for (unsigned k = 0; k < v[i]->nframes; k++)
			json_array_append_new(frames, json_frame(v[i]->frames[k], 0));
		json_object_set_new(l, "frames", frames);
		json_array_append_new(a, l);
	}
	free(v);
	grouping_free(&g);
	return a;
}

void render_report_html(struct strbuf *b, const struct report *r, struct symbolizer *sym)
{
	const char *first = r->ntraces ? r->traces[0].m.path : "";
	sb_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ldprof: ");
	sb_xml(b, first);
	sb_printf(b, "</title>\n<script>\n%s</script>\n<style>\n%s</style>\n</head>\n<body data-rendered=\"0\">\n",
		  asset_errors_js, asset_report_css);
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

	struct strbuf j = {0};
	sb_json(&j, json_pack("{soso}", "report", report_json(r), "leaks", leaks_json(r, sym)));
	sb_printf(b, "<script type=\"application/json\" id=\"ldprof-data\">");
	put_json(b, &j);
	sb_printf(b, "</script>\n<script>\n%s</script>\n</body></html>\n", asset_report_js);
	sb_free(&j);
}
