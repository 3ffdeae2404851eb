/*
 * html.c - the report as one HTML page (see html.h).
 *
 * Page layout, top to bottom:
 *   summary   <- script, from the embedded report JSON
 *   timeline  <- inline SVG per trace
 *   flames    <- inline SVG per "what" with data, tabs by script
 *   tables    <- script: peak, bytes, count, temporary (sortable, 20 rows, all on demand)
 *   leaks     <- script: the largest leaks with their whole stacks
 *   snapshots <- script: live bytes per group between two snapshots (chosen
 *                in lists or by a range dragged on a timeline), from
 *                every snapshot's groups embedded as data
 *   cpu, wall <- when sampled: a table by script (self and total) and a flame graph
 * A filter bar above the tables chooses a thread and shows the time range
 * dragged on a timeline; the tables (heap, CPU, wall) are then recomputed
 * by script from the activity data (html_activity.c).
 * The script marks <body data-rendered="1"> when everything is built, and
 * any script error is recorded in <html data-errors> (the test reads both).
 */
#include "html.h"

#include <stdlib.h>
#include <string.h>

#include "model/diff.h"
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

/* One snapshot with the live bytes and blocks of each group in it (keys
 * interned into `keys`, shared by every snapshot). */
static json_t *snapshot_groups_json(const struct report *r, struct symbolizer *sym, size_t trace,
				    const struct tm_snapshot *s, int builtin, json_t *keys, struct u64map *key_index)
{
	struct diff d;
	diff_init(&d);
	diff_add(&d, 1, sym, &r->traces[trace], s, &r->gopts, 0);
	json_t *o = snapshot_json(s, builtin), *groups = json_array();
	json_object_set_new(o, "trace_index", json_u64(trace));
	for (size_t i = 0; i < d.n; i++) {
		const struct diff_row *row = &d.rows[i];
		if (!row->size[1] && !row->count[1])
			continue;
		uint64_t *k = u64map_get(key_index, (uint64_t)(uintptr_t)row->key);
		if (!k) {
			json_array_append_new(keys, json_text(row->key));
			k = u64map_put(key_index, (uint64_t)(uintptr_t)row->key, json_array_size(keys) - 1);
		}
		json_array_append_new(groups, json_pack("[Ioo]", (json_int_t)*k, json_u64(row->size[1]), json_u64(row->count[1])));
	}
	json_object_set_new(o, "groups", groups);
	diff_free(&d);
	return o;
}

enum { MAX_PAGE_SNAPSHOTS = 256 };

/* Every trace's snapshots in time order: start, those the program or
 * --snapshot-interval recorded, the peak, the exit; each with its groups'
 * live bytes, so the page can compare any two (and a range of the timeline). */
static json_t *snapshots_json(const struct report *r, struct symbolizer *sym)
{
	json_t *all = json_array(), *keys = json_array();
	struct u64map key_index;
	u64map_init(&key_index, 256);
	for (size_t i = 0; i < r->ntraces; i++) {
		const struct tmodel *m = &r->traces[i].m;
		struct tm_snapshot b[3];
		static const char *const builtin[3] = {"start", "peak", "exit"};
		int have[3];
		for (int k = 0; k < 3; k++)
			have[k] = tm_snapshot_select(m, builtin[k], &b[k]) == 0;
		json_t *list = json_array();
		if (have[0])
			json_array_append_new(list, snapshot_groups_json(r, sym, i, &b[0], 1, keys, &key_index));
		/* at most MAX_PAGE_SNAPSHOTS of the recorded ones, evenly spaced:
		 * the page's size grows with snapshots times groups */
		size_t stride = (m->nsnaps + MAX_PAGE_SNAPSHOTS - 1) / MAX_PAGE_SNAPSHOTS;
		for (size_t k = 0; k < m->nsnaps; k += stride ? stride : 1)
			json_array_append_new(list, snapshot_groups_json(r, sym, i, &m->snaps[k], 0, keys, &key_index));
		for (int k = 1; k < 3; k++)
			if (have[k])
				json_array_append_new(list, snapshot_groups_json(r, sym, i, &b[k], 1, keys, &key_index));
		/* the peak and exit among the recorded ones, by time */
		size_t n = json_array_size(list);
		for (size_t a = 1; a < n; a++)
			for (size_t z = a; z > 0; z--) {
				json_t *x = json_array_get(list, z - 1), *y = json_array_get(list, z);
				if (json_integer_value(json_object_get(x, "time_ns")) <= json_integer_value(json_object_get(y, "time_ns")))
					break;
				json_incref(x);
				json_array_set(list, z - 1, y);
				json_array_set_new(list, z, x);
			}
		json_array_extend(all, list);
		json_decref(list);
		for (int k = 0; k < 3; k++)
			if (have[k])
				tm_snapshot_clear(&b[k]);
	}
	u64map_free(&key_index);
	return json_pack("{soso}", "keys", keys, "snapshots", all);
}

/* A flame graph of one "what" over all traces, in a div the page's script
 * finds by data-what; nothing when no trace has that data. */
static void flame_div(struct strbuf *b, const struct report *r, struct symbolizer *sym, enum ws_what w)
{
	/* The per-trace sets stay alive until the graph is drawn: their process
	 * frames ([pid N prog]) are theirs. */
	struct wstack_set *one = xcalloc(r->ntraces ? r->ntraces : 1, sizeof *one);
	struct wstack_set all;
	ws_init(&all, w);
	int have = 0;
	for (size_t i = 0; i < r->ntraces; i++) {
		const char *why;
		if (ws_build(&one[i], w, sym, &r->traces[i], &why) == 0) {
			have = 1;
			for (size_t k = 0; k < one[i].n; k++)
				ws_add(&all, one[i].v[k].frames, one[i].v[k].nframes, one[i].v[k].weight, one[i].v[k].count);
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
	free(one);
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
		     "<a href=\"#flames\">Flame graphs</a><a href=\"#tables\">Top sites</a><a href=\"#leaks\">Leaks</a>"
		     "<a href=\"#snapshots\">Snapshots</a>");
	if (r->samples[0])
		sb_printf(b, "<a href=\"#cpu\">CPU</a>");
	if (r->samples[1])
		sb_printf(b, "<a href=\"#wall\">Wall clock</a>");
	sb_printf(b, "</nav>\n<div id=\"filter\" class=\"filter\"></div>\n");
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
	for (int w = WS_ALLOC; w < WS_NWHAT; w++)
		if (w != WS_CPU && w != WS_WALL)
			flame_div(b, r, sym, (enum ws_what)w);
	sb_printf(b, "</section>\n");
	sb_printf(b, "<section id=\"tables\"><h2>Top allocation sites</h2><div id=\"tables-body\"></div></section>\n");
	sb_printf(b, "<section id=\"leaks\"><h2>Leaks (live at exit), with their stacks</h2><div id=\"leaks-body\"></div>"
		     "</section>\n");
	sb_printf(b, "<section id=\"snapshots\"><h2>Snapshot differences</h2>\n<p class=\"muted\">Live bytes per group "
		     "between two snapshots, or drag across a timeline to take the snapshots at the ends of that range.</p>"
		     "<div id=\"snapshots-body\"></div></section>\n");
	/* CPU and wall-clock time, when sampled: a table and a flame graph each */
	static const struct {
		enum ws_what w;
		const char *id, *title;
	} prof[] = {{WS_CPU, "cpu", "CPU time"}, {WS_WALL, "wall", "Wall-clock time"}};
	for (int k = 0; k < 2; k++) {
		if (!r->samples[k])
			continue;
		sb_printf(b, "<section id=\"%s\" class=\"profile\"><h2>%s</h2><div class=\"profile-body\" data-what=\"%s\"></div>\n",
			  prof[k].id, prof[k].title, prof[k].id);
		flame_div(b, r, sym, prof[k].w);
		sb_printf(b, "</section>\n");
	}

	struct strbuf j = {0};
	sb_json(&j, json_pack("{sososo}", "report", report_json(r), "leaks", leaks_json(r, sym), "snapshots",
			      snapshots_json(r, sym)));
	sb_printf(b, "<script type=\"application/json\" id=\"ldprof-data\">");
	put_json(b, &j);
	sb_free(&j);
	html_activity_json(&j, r, sym);
	sb_printf(b, "</script>\n<script type=\"application/json\" id=\"ldprof-activity\">");
	put_json(b, &j);
	sb_printf(b, "</script>\n<script>\n%s</script>\n</body></html>\n", asset_report_js);
	sb_free(&j);
}
