/*
 * json_export.c - `ldprof export --format json`: the whole model for scripts
 * (docs/EXPORT.md; schema docs/schema/export.json). Names follow the one
 * convention of every JSON output (render/json.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "render/export.h"
#include "render/json.h"
#include "render/report.h"

static void set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

/* A stack's heap figures (the names of a group's "heap", and more). */
static json_t *site_figures(const struct heap_site *s, int leaks)
{
	json_t *o = json_object();
	set(o, "allocation_count", json_u64(s->allocations));
	set(o, "allocated_bytes", json_u64(s->allocated_bytes));
	set(o, "free_count", json_u64(s->frees));
	set(o, "temporary_count", json_u64(s->temporary));
	set(o, "live_bytes", json_u64(s->live_bytes));
	set(o, "live_count", json_u64(s->live_count));
	set(o, "leaked_bytes", json_u64(leaks ? s->live_bytes : 0));
	set(o, "leaked_count", json_u64(leaks ? s->live_count : 0));
	set(o, "peak_bytes", json_u64(s->peak_bytes));
	set(o, "peak_count", json_u64(s->peak_count));
	set(o, "max_live_bytes", json_u64(s->max_live_bytes));
	set(o, "max_live_count", json_u64(s->max_live_count));
	set(o, "min_size_bytes", json_u64(s->allocations ? s->min_size : 0));
	set(o, "max_size_bytes", json_u64(s->max_size));
	set(o, "lifetime_ns", json_u64(s->lifetime_us * 1000));
	return o;
}

static json_t *json_module(const struct rd_module *mod)
{
	char bid[2 * LDP_MAX_BUILD_ID_LEN + 1];
	for (unsigned k = 0; k < mod->build_id_len; k++)
		snprintf(bid + 2 * k, 3, "%02x", mod->build_id[k]);
	bid[2 * mod->build_id_len] = '\0';
	json_t *o = json_object();
	set(o, "id", json_integer(mod->id));
	set(o, "path", json_text(mod->path));
	set(o, "base_address", json_u64(mod->base));
	set(o, "start_address", json_u64(mod->lo));
	set(o, "end_address", json_u64(mod->hi));
	set(o, "build_id", json_string(bid));
	return o;
}

/* Segment si, with the stacks of ws from *next on that are its. */
static json_t *json_segment(const struct tmodel *m, size_t si, const struct wstack_set *ws, size_t *next)
{
	const struct tm_segment *seg = &m->segs[si];
	const struct heap_model *h = &seg->heap;
	const struct heap_totals *ht = &h->t;
	int leaks = tm_segment_leaks(seg);
	json_t *o = json_object();
	set(o, "index", json_u64(si));
	set(o, "pid", json_u64(seg->info.pid));
	set(o, "ppid", json_u64(seg->info.ppid));
	set(o, "exe", json_text(seg->info.exe));
	set(o, "cmdline", json_text(seg->info.cmdline));
	set(o, "hostname", json_text(seg->info.hostname));
	set(o, "start_realtime_ns", json_u64(seg->info.start_realtime_ns));
	set(o, "start_offset_ns", json_u64(seg->info.start_monotonic_ns - m->segs[0].info.start_monotonic_ns));
	set(o, "end", json_text(seg->end_name));
	set(o, "duration_ns",
	    json_u64(1000 * (seg->end.time_us > ht->last_time_us ? seg->end.time_us : ht->last_time_us)));
	set(o, "heap", heap_totals_json(ht, ht->peak_time_us * 1000));
	json_t *mods = json_array();
	for (size_t i = 0; i < seg->nmods; i++)
		json_array_append_new(mods, json_module(&seg->mods[i]));
	set(o, "modules", mods);
	/* Frames once per segment; stacks refer to them by index. */
	struct u64map fidx;
	u64map_init(&fidx, 1024);
	json_t *stacks = json_array(), *frames = json_array();
	for (; *next < ws->n && ws->v[*next].seg == si; (*next)++) {
		const struct wstack *x = &ws->v[*next];
		json_t *st = json_object(), *fa = json_array();
		set(st, "id", json_integer(x->stack));
		set(st, "truncated", json_boolean(x->st->flags & LDP_STACK_TRUNCATED));
		set(st, "site", json_integer(x->site));
		for (unsigned j = 0; j < x->nframes; j++) { /* innermost first */
			const struct sym_frame *f = x->frames[x->nframes - 1 - j];
			uint64_t *slot = u64map_get(&fidx, (uint64_t)(uintptr_t)f);
			if (!slot) {
				slot = u64map_put(&fidx, (uint64_t)(uintptr_t)f, json_array_size(frames));
				json_array_append_new(frames, json_frame(f, 1));
			}
			json_array_append_new(fa, json_u64(*slot));
		}
		set(st, "frames", fa);
		set(st, "heap", site_figures(x->heap, leaks));
		json_array_append_new(stacks, st);
	}
	u64map_free(&fidx);
	set(o, "stacks", stacks);
	set(o, "frames", frames);
	const struct heap_series *ts = &h->series;
	/* points: [time_ns, min_bytes, max_bytes, last_bytes] per bucket */
	json_t *tl = json_object(), *pts = json_array();
	set(tl, "bucket_ns", json_u64(ts->bucket_us * 1000));
	for (size_t i = 0; i < ts->n; i++)
		json_array_append_new(pts, json_pack("[oooo]", json_u64(i * ts->bucket_us * 1000), json_u64(ts->pts[i].min),
						     json_u64(ts->pts[i].max), json_u64(ts->pts[i].last)));
	set(tl, "points", pts);
	set(o, "timeline", tl);
	json_t *snaps = json_array();
	for (size_t i = 0; i < m->nsnaps; i++)
		if (m->snaps[i].seg == si)
			json_array_append_new(snaps, snapshot_json(&m->snaps[i], 0));
	set(o, "snapshots", snaps);
	return o;
}

int render_json_export(struct strbuf *b, const struct export_in *in, const char **why)
{
	(void)why;
	const struct tmodel *m = in->m;
	json_t *o = json_object(), *segs = json_array();
	set(o, "format", json_string("ldprof-export"));
	set(o, "version", json_integer(LDPR_JSON_VERSION));
	set(o, "trace", json_text(m->path));
	set(o, "truncated", json_boolean(m->stats.truncated));
	size_t next = 0;
	for (size_t s = 0; s < m->nsegs; s++)
		json_array_append_new(segs, json_segment(m, s, &in->sets[0], &next));
	set(o, "segments", segs);
	/* The grouped report, exactly as `ldprof report --json` prints it. */
	set(o, "report", report_json(in->report));
	sb_json(b, o);
	sb_putc(b, '\n');
	return 0;
}
