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
#include "render/json.h"

#ifndef LDPROF_VERSION
#define LDPROF_VERSION "0.0-dev"
#endif

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
	json_t *o = json_object(), *frames = json_array(), *profiles = json_array();
	json_object_set_new(o, "$schema", json_string("https://www.speedscope.app/file-format-schema.json"));
	json_object_set_new(o, "exporter", json_string("ldprof " LDPROF_VERSION));
	json_object_set_new(o, "name", json_text(name));
	json_object_set_new(o, "activeProfileIndex", json_u64(active < nsets ? active : 0));
	for (size_t i = 0; i < fs.n; i++) {
		const struct sym_frame *f = fs.v[i];
		json_t *x = json_object();
		json_object_set_new(x, "name", json_text(f->function ? f->function : "?"));
		if (f->file || f->module)
			json_object_set_new(x, "file", json_text(f->file ? f->file : f->module));
		json_array_append_new(frames, x);
	}
	size_t no_stack = fs.n;
	json_array_append_new(frames, json_pack("{ss}", "name", "[no stack]"));
	json_object_set_new(o, "shared", json_pack("{so}", "frames", frames));
	for (size_t k = 0; k < nsets; k++) {
		const struct wstack_set *ws = &sets[k];
		json_t *p = json_object(), *samples = json_array(), *weights = json_array();
		json_object_set_new(p, "type", json_string("sampled"));
		json_object_set_new(p, "name", json_text(ws->title));
		json_object_set_new(p, "unit", json_string(unit_of(ws)));
		json_object_set_new(p, "startValue", json_integer(0));
		json_object_set_new(p, "endValue", json_u64(ws->total));
		for (size_t i = 0; i < ws->n; i++) {
			const struct wstack *s = &ws->v[i];
			json_t *st = json_array();
			for (unsigned j = 0; j < s->nframes; j++)
				json_array_append_new(st, json_u64(frame_index(&fs, s->frames[j])));
			if (!s->nframes)
				json_array_append_new(st, json_u64(no_stack));
			json_array_append_new(samples, st);
			json_array_append_new(weights, json_u64(s->weight));
		}
		json_object_set_new(p, "samples", samples);
		json_object_set_new(p, "weights", weights);
		json_array_append_new(profiles, p);
	}
	json_object_set_new(o, "profiles", profiles);
	sb_json(b, o);
	sb_putc(b, '\n');
	free(fs.v);
	u64map_free(&fs.index);
}
