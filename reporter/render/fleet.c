/*
 * fleet.c - see fleet.h.
 *
 * The JSON is the report's (or the diff's) own object with the members that
 * describe trace files taken out and a "fleet" member put in: one schema for
 * a trace and a fleet (docs/JSON.md).
 */
#define _GNU_SOURCE
#include "fleet.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "render/units.h"

static const char *local_time(char *buf, size_t n, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, n, "@%lld", (long long)t);
	return buf;
}

void render_fleet_filter(struct strbuf *b, const struct fleet_filter *f)
{
	char t[64];
	if (f->service)
		sb_printf(b, " service=%s", f->service);
	if (f->host_glob)
		sb_printf(b, " host=%s", f->host_glob);
	for (size_t i = 0; i < f->nlabels; i++)
		sb_printf(b, " %s", f->labels[i]);
	if (f->has_since)
		sb_printf(b, " since %s", local_time(t, sizeof t, f->since));
	if (f->has_until)
		sb_printf(b, " until %s", local_time(t, sizeof t, f->until));
}

static json_t *filter_json(const struct fleet_filter *f)
{
	json_t *labels = json_array();
	for (size_t i = 0; i < f->nlabels; i++)
		json_array_append_new(labels, json_text(f->labels[i]));
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "service", json_text(f->service), "host", json_text(f->host_glob),
			 "labels", labels, "since_realtime_ns", f->has_since ? json_integer(f->since * 1000000000) : json_null(),
			 "until_realtime_ns", f->has_until ? json_integer(f->until * 1000000000) : json_null());
}

void render_fleet_report_text(struct strbuf *b, const struct report *r, const struct fleet_view *v)
{
	const struct fleet_totals *t = v->tot;
	char t0[64], t1[64], x[32], y[32];
	sb_printf(b, "fleet %s: %s trace%s (%s process image%s) from %llu host%s, %llu service%s\n", v->store,
		  fmt_count(x, t->traces), t->traces == 1 ? "" : "s", fmt_count(y, t->images), t->images == 1 ? "" : "s",
		  (unsigned long long)t->hosts, t->hosts == 1 ? "" : "s", (unsigned long long)t->services,
		  t->services == 1 ? "" : "s");
	sb_printf(b, "  started %s .. %s\n", local_time(t0, sizeof t0, t->first_start),
		  local_time(t1, sizeof t1, t->last_start));
	struct strbuf fb = {0};
	render_fleet_filter(&fb, v->filter);
	if (fb.s)
		sb_printf(b, "  filters:%s\n", fb.s);
	sb_free(&fb);
	sb_printf(b, "  highest peak %s on %s; the traces' peaks add up to %s\n", fmt_bytes(x, t->heap.peak_bytes),
		  t->peak_where, fmt_bytes(y, t->peak_sum));
	render_report_text(b, r);
}

void render_fleet_report_json(struct strbuf *b, const struct report *r, const struct fleet_view *v)
{
	const struct fleet_totals *t = v->tot;
	json_t *doc = report_json(r);
	/* the members about trace files say nothing about a fleet (the store
	 * keeps figures, not the files' parts, stacks or runtimes) */
	json_object_del(doc, "trace");
	json_object_del(doc, "traces");
	json_object_del(doc, "truncated");
	json_object_del(doc, "parts");
	json_object_del(doc, "fidelity");
	json_object_del(doc, "segments");
	json_object_set_new(doc, "format", json_string("ldprof-fleet-report"));
	json_object_set_new(
		doc, "fleet",
		json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "store", json_text(v->store), "filter",
			  filter_json(v->filter), "trace_count", json_u64(t->traces), "image_count", json_u64(t->images),
			  "host_count", json_u64(t->hosts), "service_count", json_u64(t->services), "first_start_realtime_ns",
			  json_integer(t->first_start * 1000000000), "last_start_realtime_ns",
			  json_integer(t->last_start * 1000000000), "peak_sum_bytes",
			  json_u64(t->peak_sum), "peak_where", json_text(t->peak_where)));
	sb_json(b, doc);
	sb_putc(b, '\n');
}

static const char *figure_title(const struct fleet_diff_sides *s)
{
	if (s->snapshot)
		return s->snapshot;
	return !strcmp(s->figure, "alloc") ? "allocated bytes" : !strcmp(s->figure, "leaked") ? "leaked" : "live at the peak";
}

void render_fleet_diff_text(struct strbuf *b, const struct diff_view *dv, const struct fleet_view *v,
			    const struct fleet_diff_sides *s)
{
	struct strbuf fb = {0};
	render_fleet_filter(&fb, v->filter);
	sb_printf(b, "fleet %s: %s%s%s\n", v->store, figure_title(s), fb.s ? ", filters:" : "", fb.s ? fb.s : "");
	sb_free(&fb);
	render_diff_text(b, dv);
}

void render_fleet_diff_json(struct strbuf *b, const struct diff_view *dv, const struct fleet_view *v,
			    const struct fleet_diff_sides *s)
{
	json_t *doc = diff_json(dv);
	json_object_set_new(doc, "format", json_string("ldprof-fleet-diff"));
	for (int i = 0; i < 2; i++)
		json_object_set_new(doc, i ? "to" : "from",
				    json_pack("{s:o, s:o}", "label", json_text(s->label[i]), "trace_count",
					      json_u64(s->traces[i])));
	json_object_set_new(doc, "fleet",
			    json_pack("{s:o, s:o, s:o, s:o, s:b}", "store", json_text(v->store), "filter",
				      filter_json(v->filter), "figure", json_text(s->figure), "snapshot",
				      json_text(s->snapshot), "mean_per_trace", s->mean));
	sb_json(b, doc);
	sb_putc(b, '\n');
}
