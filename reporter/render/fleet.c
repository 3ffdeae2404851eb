/*
 * fleet.c - see fleet.h.
 *
 * The JSON is the report's (or the diff's) own object, parsed back with
 * jansson, the members that describe trace files taken out and a "fleet"
 * member put in: one schema for a trace and a fleet (docs/JSON.md).
 */
#define _GNU_SOURCE
#include "fleet.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "model/wstack.h"

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
	json_t *o = json_object(), *labels = json_array();
	json_object_set_new(o, "service", f->service ? json_string(f->service) : json_null());
	json_object_set_new(o, "host", f->host_glob ? json_string(f->host_glob) : json_null());
	for (size_t i = 0; i < f->nlabels; i++)
		json_array_append_new(labels, json_string(f->labels[i]));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "since", f->has_since ? json_integer(f->since) : json_null());
	json_object_set_new(o, "until", f->has_until ? json_integer(f->until) : json_null());
	return o;
}

/* The renderer's JSON text in b, as an object. */
static json_t *reparse(const struct strbuf *b)
{
	json_error_t e;
	json_t *doc = json_loadb(b->s, b->len, 0, &e);
	if (!doc)
		die(EXIT_BAD_TRACE, "internal error: the renderer's JSON does not parse: %s", e.text);
	return doc;
}

/* b becomes doc, compact, on one line (doc's reference is taken). */
static void redump(struct strbuf *b, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!s)
		die(EXIT_BAD_TRACE, "out of memory");
	b->len = 0;
	sb_printf(b, "%s\n", s);
	free(s);
}

static json_t *jcount(uint64_t v)
{
	return json_integer((json_int_t)v);
}

void fleet_report_fill(struct report *r, const struct fleet_totals *t, int only)
{
	r->total = t->heap;
	r->peak_time_ns = t->heap.peak_time_us * 1000;
	memcpy(r->size_hist, t->size_hist, sizeof r->size_hist);
	r->maps = t->maps;
	r->remaps = t->remaps;
	r->unmaps = t->unmaps;
	r->mapped_bytes = t->mapped_bytes;
	r->mapped_peak = t->mapped_peak;
	r->mapped_live_at_exit = t->mapped_live_at_exit;
	r->rss_peak = t->rss_peak;
	r->rss_heap = t->rss_heap;
	r->rss_mapped = t->rss_mapped;
	for (int k = 0; k < 2; k++) {
		if (only >= 0 && only != (k ? WS_WALL : WS_CPU))
			continue;
		r->samples[k] = t->samples[k];
		r->weight_ns[k] = t->weight_ns[k];
		r->lost[k] = t->lost[k];
		r->hz[k] = t->hz[k];
	}
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
	size_t start = b->len;
	render_report_json(b, r);
	struct strbuf mine = {.s = b->s + start, .len = b->len - start};
	json_t *doc = reparse(&mine), *fl = json_object();
	/* the members about trace files say nothing about a fleet */
	json_object_del(doc, "trace");
	json_object_del(doc, "traces");
	json_object_del(doc, "truncated");
	json_object_del(doc, "segments");
	json_object_set_new(fl, "store", json_string(v->store));
	json_object_set_new(fl, "filter", filter_json(v->filter));
	json_object_set_new(fl, "traces", jcount(t->traces));
	json_object_set_new(fl, "images", jcount(t->images));
	json_object_set_new(fl, "hosts", jcount(t->hosts));
	json_object_set_new(fl, "services", jcount(t->services));
	json_object_set_new(fl, "first_start", json_integer(t->first_start));
	json_object_set_new(fl, "last_start", json_integer(t->last_start));
	json_object_set_new(fl, "peak_sum_bytes", jcount(t->peak_sum));
	json_object_set_new(fl, "peak_where", json_string(t->peak_where));
	json_object_set_new(doc, "fleet", fl);
	b->len = start;
	struct strbuf out = {0};
	redump(&out, doc);
	sb_printf(b, "%s", out.s);
	sb_free(&out);
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
	size_t start = b->len;
	render_diff_json(b, dv);
	struct strbuf mine = {.s = b->s + start, .len = b->len - start};
	json_t *doc = reparse(&mine);
	for (int i = 0; i < 2; i++) {
		json_t *side = json_object();
		json_object_set_new(side, "label", json_string(s->label[i]));
		json_object_set_new(side, "traces", jcount(s->traces[i]));
		json_object_set_new(doc, i ? "to" : "from", side);
	}
	json_t *fl = json_object();
	json_object_set_new(fl, "store", json_string(v->store));
	json_object_set_new(fl, "filter", filter_json(v->filter));
	json_object_set_new(fl, "figure", json_string(s->figure));
	json_object_set_new(fl, "snapshot", s->snapshot ? json_string(s->snapshot) : json_null());
	json_object_set_new(fl, "mean_per_trace", json_boolean(s->mean));
	json_object_set_new(doc, "fleet", fl);
	b->len = start;
	struct strbuf out = {0};
	redump(&out, doc);
	sb_printf(b, "%s", out.s);
	sb_free(&out);
}
