/*
 * dhat.c - valgrind DHAT's JSON (dhatFileVersion 2, heap mode; see export.h),
 * read by dh_view.html. Field names are DHAT's: per program point (pp)
 * tb/tbk total bytes and blocks, tl total lifetime, mb/mbk the most live at
 * once, gb/gbk live at the global peak (t-gmax), eb/ebk live at the end,
 * fs its frames (indices into ftbl, allocation point first). Time unit: µs.
 * Only the process image with the peak is exported (DHAT shows one process).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "render/export.h"

int render_dhat(struct strbuf *b, const struct export_in *in, const char **why)
{
	(void)why;
	const struct wstack_set *ws = &in->sets[0];
	const struct tm_segment *seg = in->m->nsegs ? &in->m->segs[ws->peak_seg] : NULL;
	const struct heap_model *h = seg ? &seg->heap : NULL;
	uint64_t te = h ? (h->t.last_time_us > seg->end.time_us ? h->t.last_time_us : seg->end.time_us) : 0;
	sb_printf(b, "{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true,\"bkacc\":false,"
		     "\"tu\":\"\\u00b5s\",\"Mtu\":\"s\",\"tuth\":1000,\"cmd\":");
	sb_json_str(b, seg ? (*seg->info.cmdline ? seg->info.cmdline : seg->info.exe) : "?");
	sb_printf(b, ",\"pid\":%" PRIu64 ",\"te\":%" PRIu64 ",\"tg\":%" PRIu64 ",\"pps\":[", seg ? seg->info.pid : 0,
		  te, h ? h->t.peak_time_us : 0);
	/* ftbl[0] is "[root]"; then one entry per resolved frame (per address and inline level). */
	struct u64map index;
	u64map_init(&index, 1024);
	const struct sym_frame **ftbl = NULL;
	size_t nf = 0, cap = 0;
	int leaks = seg && seg->end.reason != LDP_END_EXEC;
	int first = 1;
	for (size_t i = 0; i < ws->n; i++) {
		const struct heap_site *x = ws->v[i].heap;
		sb_printf(b,
			  "%s{\"tb\":%" PRIu64 ",\"tbk\":%" PRIu64 ",\"tl\":%" PRIu64 ",\"mb\":%" PRIu64 ",\"mbk\":%" PRIu64
			  ",\"gb\":%" PRIu64 ",\"gbk\":%" PRIu64 ",\"eb\":%" PRIu64 ",\"ebk\":%" PRIu64 ",\"fs\":[",
			  first ? "" : ",", x->allocated_bytes, x->allocations, x->lifetime_us, x->max_live_bytes,
			  x->max_live_count, x->peak_bytes, x->peak_count, leaks ? x->live_bytes : 0,
			  leaks ? x->live_count : 0);
		first = 0;
		const struct wstack *s = &ws->v[i];
		if (!s->nframes) { /* DHAT needs a frame: allocations without a stack get one */
			static const struct sym_frame no_stack = {.function = "[no stack]", .module = "?"};
			uint64_t *slot = u64map_get(&index, (uint64_t)(uintptr_t)&no_stack);
			if (!slot) {
				VEC_PUSH(ftbl, nf, cap, &no_stack);
				slot = u64map_put(&index, (uint64_t)(uintptr_t)&no_stack, nf);
			}
			sb_printf(b, "%" PRIu64, *slot);
		}
		for (unsigned j = 0; j < s->nframes; j++) { /* the allocation point first */
			const struct sym_frame *f = s->frames[s->nframes - 1 - j];
			uint64_t *slot = u64map_get(&index, (uint64_t)(uintptr_t)f);
			if (!slot) {
				VEC_PUSH(ftbl, nf, cap, f);
				slot = u64map_put(&index, (uint64_t)(uintptr_t)f, nf); /* index into ftbl, after [root] */
			}
			sb_printf(b, "%s%" PRIu64, j ? "," : "", *slot);
		}
		sb_printf(b, "]}");
	}
	sb_printf(b, "],\"ftbl\":[\"[root]\"");
	char line[4096];
	for (size_t i = 0; i < nf; i++) {
		const struct sym_frame *f = ftbl[i];
		if (f->file)
			snprintf(line, sizeof line, "0x%" PRIx64 ": %s%s (%s:%u)", f->module_offset,
				 f->function ? f->function : "???", f->inlined ? " (inlined)" : "", f->file, f->line);
		else
			snprintf(line, sizeof line, "0x%" PRIx64 ": %s (in %s)", f->module_offset,
				 f->function ? f->function : "???", f->module ? f->module : "?");
		sb_putc(b, ',');
		sb_json_str(b, line);
	}
	sb_printf(b, "]}\n");
	free(ftbl);
	u64map_free(&index);
	return 0;
}
