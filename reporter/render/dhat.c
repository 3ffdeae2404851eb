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
#include "render/json.h"

/* A frame as DHAT shows it: "0xOFFSET: function (file:line)". */
static json_t *frame_text(const struct sym_frame *f)
{
	char line[4096];
	if (f->file)
		snprintf(line, sizeof line, "0x%" PRIx64 ": %s%s (%s:%u)", f->module_offset, f->function ? f->function : "???",
			 f->inlined ? " (inlined)" : "", f->file, f->line);
	else
		snprintf(line, sizeof line, "0x%" PRIx64 ": %s (in %s)", f->module_offset, f->function ? f->function : "???",
			 f->module ? f->module : "?");
	return json_text(line);
}

/* The index of f in ftbl (after "[root]"), added on first sight. */
static json_t *frame_index(struct u64map *index, json_t *ftbl, const struct sym_frame *f)
{
	uint64_t *slot = u64map_get(index, (uint64_t)(uintptr_t)f);
	if (!slot) {
		json_array_append_new(ftbl, frame_text(f));
		slot = u64map_put(index, (uint64_t)(uintptr_t)f, json_array_size(ftbl) - 1);
	}
	return json_u64(*slot);
}

int render_dhat(struct strbuf *b, const struct export_in *in, const char **why)
{
	(void)why;
	const struct wstack_set *ws = &in->sets[0];
	const struct tm_segment *seg = in->m->nsegs ? &in->m->segs[ws->peak_seg] : NULL;
	const struct heap_model *h = seg ? &seg->heap : NULL;
	uint64_t te = h ? (h->t.last_time_us > seg->end.time_us ? h->t.last_time_us : seg->end.time_us) : 0;
	json_t *o = json_pack("{si ss ss sb sb ss ss si}", "dhatFileVersion", 2, "mode", "heap", "verb", "Allocated",
			      "bklt", 1, "bkacc", 0, "tu", "\u00b5s", "Mtu", "s", "tuth", 1000);
	json_object_set_new(o, "cmd", json_text(seg ? (*seg->info.cmdline ? seg->info.cmdline : seg->info.exe) : "?"));
	json_object_set_new(o, "pid", json_u64(seg ? seg->info.pid : 0));
	json_object_set_new(o, "te", json_u64(te));
	json_object_set_new(o, "tg", json_u64(h ? h->t.peak_time_us : 0));
	/* ftbl[0] is "[root]"; then one entry per resolved frame (per address and inline level). */
	struct u64map index;
	u64map_init(&index, 1024);
	json_t *pps = json_array(), *ftbl = json_array();
	json_array_append_new(ftbl, json_string("[root]"));
	for (size_t i = 0; i < ws->n; i++) {
		const struct wstack *s = &ws->v[i];
		const struct heap_site *x = s->heap;
		json_t *fs = json_array();
		uint64_t eb, ebk; /* live at the end, when that is a leak (tm_segment_leaks) */
		ws_heap_figure(ws, s, WS_LEAKED, &eb, &ebk);
		json_t *pp = json_pack("{so so so so so so so so so}", "tb", json_u64(x->allocated_bytes), "tbk",
				       json_u64(x->allocations), "tl", json_u64(x->lifetime_us), "mb",
				       json_u64(x->max_live_bytes), "mbk", json_u64(x->max_live_count), "gb",
				       json_u64(x->peak_bytes), "gbk", json_u64(x->peak_count), "eb",
				       json_u64(eb), "ebk", json_u64(ebk));
		if (!s->nframes) { /* DHAT needs a frame: allocations without a stack get one */
			static const struct sym_frame no_stack = {.function = "[no stack]", .module = "?"};
			json_array_append_new(fs, frame_index(&index, ftbl, &no_stack));
		}
		for (unsigned j = 0; j < s->nframes; j++) /* the allocation point first */
			json_array_append_new(fs, frame_index(&index, ftbl, s->frames[s->nframes - 1 - j]));
		json_object_set_new(pp, "fs", fs);
		json_array_append_new(pps, pp);
	}
	json_object_set_new(o, "pps", pps);
	json_object_set_new(o, "ftbl", ftbl);
	sb_json(b, o);
	sb_putc(b, '\n');
	u64map_free(&index);
	return 0;
}
