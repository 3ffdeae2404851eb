/*
 * json_export.c - `ldprof export --format json`: the whole model for scripts
 * (schema: docs/EXPORT.md). Fields are only ever added.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/export.h"
#include "render/report.h"

static void str_or_null(struct strbuf *b, const char *s)
{
	if (s)
		sb_json_str(b, s);
	else
		sb_printf(b, "null");
}

static void json_frame(struct strbuf *b, const struct sym_frame *f)
{
	sb_printf(b, "{\"function\":");
	str_or_null(b, f->function);
	sb_printf(b, ",\"file\":");
	str_or_null(b, f->file);
	sb_printf(b, ",\"line\":%u,\"module\":", f->line);
	str_or_null(b, f->module);
	sb_printf(b, ",\"module_offset\":%" PRIu64 ",\"inlined\":%s}", f->module_offset, f->inlined ? "true" : "false");
}

static void json_site(struct strbuf *b, const struct heap_site *s, int leaks)
{
	sb_printf(b,
		  "\"allocations\":%" PRIu64 ",\"allocated_bytes\":%" PRIu64 ",\"frees\":%" PRIu64
		  ",\"temporary\":%" PRIu64 ",\"live_bytes\":%" PRIu64 ",\"live_count\":%" PRIu64
		  ",\"leaked_bytes\":%" PRIu64 ",\"leaked_count\":%" PRIu64 ",\"peak_bytes\":%" PRIu64
		  ",\"peak_count\":%" PRIu64 ",\"max_live_bytes\":%" PRIu64 ",\"max_live_count\":%" PRIu64
		  ",\"min_size\":%" PRIu64 ",\"max_size\":%" PRIu64 ",\"lifetime_us\":%" PRIu64,
		  s->allocations, s->allocated_bytes, s->frees, s->temporary, s->live_bytes, s->live_count,
		  leaks ? s->live_bytes : 0, leaks ? s->live_count : 0, s->peak_bytes, s->peak_count, s->max_live_bytes,
		  s->max_live_count, s->allocations ? s->min_size : 0, s->max_size, s->lifetime_us);
}

static void json_segment(struct strbuf *b, const struct tmodel *m, size_t si, const struct wstack_set *ws, size_t *next)
{
	const struct tm_segment *seg = &m->segs[si];
	const struct heap_model *h = &seg->heap;
	const struct heap_totals *ht = &h->t;
	int leaks = seg->end.reason != LDP_END_EXEC;
	sb_printf(b, "{\"index\":%zu,\"pid\":%" PRIu64 ",\"ppid\":%" PRIu64 ",\"exe\":", si, seg->info.pid,
		  seg->info.ppid);
	sb_json_str(b, seg->info.exe);
	sb_printf(b, ",\"cmdline\":");
	sb_json_str(b, seg->info.cmdline);
	sb_printf(b, ",\"hostname\":");
	sb_json_str(b, seg->info.hostname);
	sb_printf(b, ",\"start_realtime_ns\":%" PRIu64 ",\"start_offset_ns\":%" PRIu64 ",\"end\":",
		  seg->info.start_realtime_ns, seg->info.start_monotonic_ns - m->segs[0].info.start_monotonic_ns);
	sb_json_str(b, tm_end_reason_name(seg->end.reason));
	sb_printf(b, ",\"duration_us\":%" PRIu64, seg->end.time_us > ht->last_time_us ? seg->end.time_us : ht->last_time_us);
	sb_printf(b,
		  ",\"heap\":{\"allocations\":%" PRIu64 ",\"frees\":%" PRIu64 ",\"allocated_bytes\":%" PRIu64
		  ",\"peak_bytes\":%" PRIu64 ",\"peak_count\":%" PRIu64 ",\"peak_time_us\":%" PRIu64
		  ",\"leaked_bytes\":%" PRIu64 ",\"leaked_count\":%" PRIu64 ",\"temporary\":%" PRIu64
		  ",\"unknown_frees\":%" PRIu64 "}",
		  ht->allocations, ht->frees, ht->allocated_bytes, ht->peak_bytes, ht->peak_count, ht->peak_time_us,
		  ht->leaked_bytes, ht->leaked_count, ht->temporary, ht->unknown_frees);
	sb_printf(b, ",\"modules\":[");
	for (size_t i = 0; i < seg->nmods; i++) {
		const struct rd_module *mod = &seg->mods[i];
		sb_printf(b, "%s{\"id\":%u,\"path\":", i ? "," : "", mod->id);
		sb_json_str(b, mod->path);
		sb_printf(b, ",\"base\":%" PRIu64 ",\"start\":%" PRIu64 ",\"end\":%" PRIu64 ",\"build_id\":\"", mod->base,
			  mod->lo, mod->hi);
		for (unsigned k = 0; k < mod->build_id_len; k++)
			sb_printf(b, "%02x", mod->build_id[k]);
		sb_printf(b, "\"}");
	}
	/* Frames once per segment; stacks refer to them by index. */
	struct u64map fidx;
	u64map_init(&fidx, 1024);
	const struct sym_frame **ftab = NULL;
	size_t nf = 0, fcap = 0;
	sb_printf(b, "],\"stacks\":[");
	int first = 1;
	for (; *next < ws->n && ws->v[*next].seg == si; (*next)++) {
		const struct wstack *x = &ws->v[*next];
		sb_printf(b, "%s{\"id\":%u,\"truncated\":%s,\"site\":%u,\"frames\":[", first ? "" : ",", x->stack,
			  x->st->flags & LDP_STACK_TRUNCATED ? "true" : "false", x->site);
		first = 0;
		for (unsigned j = 0; j < x->nframes; j++) { /* innermost first */
			const struct sym_frame *f = x->frames[x->nframes - 1 - j];
			uint64_t *slot = u64map_get(&fidx, (uint64_t)(uintptr_t)f);
			if (!slot) {
				slot = u64map_put(&fidx, (uint64_t)(uintptr_t)f, nf);
				VEC_PUSH(ftab, nf, fcap, f);
			}
			sb_printf(b, "%s%" PRIu64, j ? "," : "", *slot);
		}
		sb_printf(b, "],");
		json_site(b, x->heap, leaks);
		sb_printf(b, "}");
	}
	sb_printf(b, "],\"frames\":[");
	for (size_t i = 0; i < nf; i++) {
		if (i)
			sb_putc(b, ',');
		json_frame(b, ftab[i]);
	}
	free(ftab);
	u64map_free(&fidx);
	const struct heap_series *ts = &h->series;
	sb_printf(b, "],\"timeline\":{\"bucket_us\":%" PRIu64 ",\"points\":[", ts->bucket_us);
	for (size_t i = 0; i < ts->n; i++)
		sb_printf(b, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", i ? "," : "",
			  (uint64_t)i * ts->bucket_us, ts->pts[i].min, ts->pts[i].max, ts->pts[i].last);
	sb_printf(b, "]},\"snapshots\":[]}");
}

int render_json_export(struct strbuf *b, const struct export_in *in, const char **why)
{
	(void)why;
	const struct tmodel *m = in->m;
	size_t next = 0;
	sb_printf(b, "{\"format\":\"ldprof-export\",\"version\":1,\"trace\":");
	sb_json_str(b, m->path);
	sb_printf(b, ",\"truncated\":%s,\"segments\":[", m->stats.truncated ? "true" : "false");
	for (size_t s = 0; s < m->nsegs; s++) {
		if (s)
			sb_putc(b, ',');
		json_segment(b, m, s, &in->sets[0], &next);
	}
	/* The grouped report, exactly as `ldprof report --json` prints it. */
	struct strbuf rep = {0};
	render_report_json(&rep, in->report);
	while (rep.len && rep.s[rep.len - 1] == '\n')
		rep.len--;
	sb_printf(b, "],\"report\":%.*s}\n", (int)rep.len, rep.s ? rep.s : "{}");
	sb_free(&rep);
	return 0;
}
