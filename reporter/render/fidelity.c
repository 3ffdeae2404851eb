/*
 * fidelity.c - see fidelity.h. The wording lives here once.
 */
#include "fidelity.h"

#include <stdio.h>
#include <string.h>

#include "render/units.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The i-th note (0, 1, ...) into buf. @return 0 when there is no i-th. */
static int note(const struct fidelity *f, int i, char *buf, size_t size)
{
	char a[32], b[32], c[32];
	int k = 0;
	if (f->truncated_stacks && k++ == i) {
		snprintf(buf, size,
			 "%s stacks (%s allocations, %s samples) lost their outer frames: deeper than the %u frames kept "
			 "(ldprof record --max-depth), or the unwinder could go no further; each starts at [truncated]",
			 fmt_count(a, f->truncated_stacks), fmt_count(b, f->truncated_allocations),
			 fmt_count(c, f->truncated_samples), f->max_depth);
		return 1;
	}
	if (f->pymalloc_image && k++ == i) {
		snprintf(buf, size,
			 "%s ran with pymalloc (%s arenas, %s, in the mapped channel): Python objects of 512 bytes or "
			 "less live in those arenas, so the heap figures show only larger ones; run it with "
			 "PYTHONMALLOC=malloc (ldprof record --python-malloc) to see every object",
			 base_name(f->pymalloc_image), fmt_count(a, f->pymalloc_arenas),
			 fmt_bytes(b, f->pymalloc_arena_bytes));
		return 1;
	}
	if (f->asan_runtime && k++ == i) {
		snprintf(buf, size,
			 "the program ran with AddressSanitizer (%s), whose allocator served it: the figures are the "
			 "bytes it asked for, not ASan's redzones, quarantine or shadow memory (those are in the RSS); "
			 "blocks ASan makes itself (its strdup, strndup) are not seen, and the runtime's own few "
			 "allocations through libc are counted",
			 base_name(f->asan_runtime));
		return 1;
	}
	return 0;
}

void render_fidelity_text(struct strbuf *b, const struct fidelity *f)
{
	char buf[1024];
	for (int i = 0; note(f, i, buf, sizeof buf); i++)
		sb_printf(b, "  note: %s\n", buf);
}

json_t *render_fidelity_json(const struct fidelity *f)
{
	json_t *o = json_object(), *notes = json_array();
	char buf[1024];
	json_object_set_new(o, "truncated_stack_count", json_u64(f->truncated_stacks));
	json_object_set_new(o, "truncated_allocation_count", json_u64(f->truncated_allocations));
	json_object_set_new(o, "truncated_sample_count", json_u64(f->truncated_samples));
	json_object_set_new(o, "max_frame_count", f->truncated_stacks ? json_integer(f->max_depth) : json_null());
	json_t *py = json_null();
	if (f->pymalloc_image)
		py = json_pack("{s:o, s:o, s:o}", "image", json_text(f->pymalloc_image), "arena_count",
			       json_u64(f->pymalloc_arenas), "arena_bytes", json_u64(f->pymalloc_arena_bytes));
	json_object_set_new(o, "pymalloc", py);
	json_object_set_new(o, "asan_runtime", json_text(f->asan_runtime));
	for (int i = 0; note(f, i, buf, sizeof buf); i++)
		json_array_append_new(notes, json_text(buf));
	json_object_set_new(o, "notes", notes);
	return o;
}
