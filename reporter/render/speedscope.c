/*
 * speedscope.c - speedscope's file format (https://www.speedscope.app/file-format-schema.json,
 * vendored in tests/pictures/ for the test): shared frames, and one
 * "sampled" profile per weighted-stack set, each sample a stack of frame
 * indices, root first, with its weight.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/export.h"

/* speedscope's units: bytes, nanoseconds, none (counts). */
static const char *unit_of(const struct wstack_set *ws)
{
	if (!strcmp(ws->unit, "bytes") || !strcmp(ws->unit, "nanoseconds"))
		return ws->unit;
	return "none";
}

static uint64_t frame_key(const struct sym_frame *f)
{
	uint64_t k = hash_u64((uint64_t)(uintptr_t)f->function);
	k = hash_u64(k ^ (uint64_t)(uintptr_t)f->file);
	return hash_u64(k ^ (uint64_t)(uintptr_t)f->module);
}

struct frames {
	struct u64map index; /* frame_key -> index */
	const struct sym_frame **v;
	size_t n, cap;
};

struct frame_ref {
	const struct frames *fs;
	const struct sym_frame *f;
};

/* Frames are the same when their function, file and module are (interned pointers). */
static int same(const void *ctx, uint64_t val)
{
	const struct frame_ref *r = ctx;
	const struct sym_frame *a = r->fs->v[val], *b = r->f;
	return a->function == b->function && a->file == b->file && a->module == b->module;
}

static size_t frame_index(struct frames *fs, const struct sym_frame *f)
{
	uint64_t key = frame_key(f);
	struct frame_ref r = {fs, f};
	uint64_t *slot = u64map_find(&fs->index, key, same, &r);
	if (slot)
		return *slot;
	size_t i = fs->n;
	VEC_PUSH(fs->v, fs->n, fs->cap, f);
	u64map_add(&fs->index, key, i);
	return i;
}

void render_speedscope(struct strbuf *b, const struct wstack_set *sets, size_t nsets, size_t active,
		       const char *name)
{
	/* Frames are shared by every profile: one per function, file and module. */
	struct frames fs = {0};
	u64map_init(&fs.index, 1024);
	for (size_t k = 0; k < nsets; k++)
		for (size_t i = 0; i < sets[k].n; i++)
			for (unsigned j = 0; j < sets[k].v[i].nframes; j++)
				frame_index(&fs, sets[k].v[i].frames[j]);
	sb_printf(b, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"ldprof 0.1\",\"name\":");
	sb_json_str(b, name);
	sb_printf(b, ",\"activeProfileIndex\":%zu,\"shared\":{\"frames\":[", active < nsets ? active : 0);
	for (size_t i = 0; i < fs.n; i++) {
		const struct sym_frame *f = fs.v[i];
		sb_printf(b, "%s{\"name\":", i ? "," : "");
		sb_json_str(b, f->function ? f->function : "?");
		if (f->file || f->module) {
			sb_printf(b, ",\"file\":");
			sb_json_str(b, f->file ? f->file : f->module);
		}
		sb_printf(b, "}");
	}
	size_t no_stack = fs.n;
	sb_printf(b, "%s{\"name\":\"[no stack]\"}]},\"profiles\":[", fs.n ? "," : "");
	for (size_t k = 0; k < nsets; k++) {
		const struct wstack_set *ws = &sets[k];
		sb_printf(b, "%s{\"type\":\"sampled\",\"name\":", k ? "," : "");
		sb_json_str(b, ws->title);
		sb_printf(b, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%" PRIu64 ",\"samples\":[", unit_of(ws),
			  ws->total);
		for (size_t i = 0; i < ws->n; i++) {
			const struct wstack *s = &ws->v[i];
			sb_printf(b, "%s[", i ? "," : "");
			for (unsigned j = 0; j < s->nframes; j++)
				sb_printf(b, "%s%zu", j ? "," : "", frame_index(&fs, s->frames[j]));
			if (!s->nframes)
				sb_printf(b, "%zu", no_stack);
			sb_printf(b, "]");
		}
		sb_printf(b, "],\"weights\":[");
		for (size_t i = 0; i < ws->n; i++)
			sb_printf(b, "%s%" PRIu64, i ? "," : "", ws->v[i].weight);
		sb_printf(b, "]}");
	}
	sb_printf(b, "]}\n");
	free(fs.v);
	u64map_free(&fs.index);
}
