/*
 * massif.c - valgrind massif's output format (see export.h), read by
 * ms_print and massif-visualizer.
 *
 * Snapshots come from the live-heap timeline (heap.h: bounded buckets with
 * their maximum), at most about 60 of them. The bucket holding the peak is
 * replaced by a "peak" snapshot at the exact peak time with the tree of what
 * was live then; the last snapshot carries the tree of what was live at the
 * end. A tree is massif's: allocation sites at the top, their callers below,
 * children by size, those under 1% of the snapshot folded into one line.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/export.h"

enum { MAX_SNAPSHOTS = 60 };
#define THRESHOLD_PCT 1.0

struct mnode {
	const struct sym_frame *f; /* NULL for the root */
	uint64_t bytes;
	uint32_t parent, first_child, next;
};

struct mtree {
	struct mnode *n;
	size_t len, cap;
	struct u64map index; /* hash(parent, frame pointer) -> node + 1 */
};

struct child_key {
	const struct mtree *t;
	uint32_t parent;
	const struct sym_frame *f;
};

static int same_child(const void *ctx, uint64_t val)
{
	const struct child_key *k = ctx;
	return k->t->n[val - 1].f == k->f && k->t->n[val - 1].parent == k->parent;
}

static uint32_t child(struct mtree *t, uint32_t parent, const struct sym_frame *f)
{
	uint64_t hash = hash_u64(((uint64_t)parent << 40) ^ (uint64_t)(uintptr_t)f);
	struct child_key key = {t, parent, f};
	uint64_t *slot = u64map_find(&t->index, hash, same_child, &key);
	if (slot)
		return (uint32_t)(*slot - 1);
	vec_reserve((void **)&t->n, &t->cap, t->len + 1, sizeof *t->n);
	uint32_t i = (uint32_t)t->len++;
	t->n[i] = (struct mnode){.f = f, .parent = parent, .next = t->n[parent].first_child};
	t->n[parent].first_child = i;
	u64map_add(&t->index, hash, (uint64_t)i + 1);
	return i;
}

/* The tree of live bytes per site: at the peak (peak_bytes) or now (live_bytes). */
static void build(struct mtree *t, const struct wstack_set *ws, int at_peak)
{
	memset(t, 0, sizeof *t);
	u64map_init(&t->index, 256);
	vec_reserve((void **)&t->n, &t->cap, 1, sizeof *t->n);
	t->n[0] = (struct mnode){0};
	t->len = 1;
	for (size_t i = 0; i < ws->n; i++) {
		const struct wstack *x = &ws->v[i];
		uint64_t w = at_peak ? x->heap->peak_bytes : x->heap->live_bytes;
		if (!w)
			continue;
		uint32_t cur = 0;
		t->n[0].bytes += w;
		for (unsigned j = x->nframes; j-- > 0;) { /* the site frame first, then its callers */
			cur = child(t, cur, x->frames[j]);
			t->n[cur].bytes += w;
		}
	}
}

static int cmp_size_desc(const void *a, const void *b, void *ctx)
{
	const struct mtree *t = ctx;
	uint64_t x = t->n[*(const uint32_t *)a].bytes, y = t->n[*(const uint32_t *)b].bytes;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void frame_text(struct strbuf *b, const struct sym_frame *f)
{
	sb_printf(b, "0x%" PRIx64 ": %s", f->module_offset, f->function ? f->function : "???");
	if (f->file)
		sb_printf(b, " (%s:%u)", f->file, f->line);
	else
		sb_printf(b, " (in %s)", f->module ? f->module : "?");
}

static void emit(struct strbuf *b, const struct mtree *t, uint32_t i, unsigned depth, uint64_t total)
{
	uint32_t *kids = NULL;
	size_t nk = 0, cap = 0, big = 0;
	uint64_t small_bytes = 0;
	for (uint32_t c = t->n[i].first_child; c; c = t->n[c].next)
		VEC_PUSH(kids, nk, cap, c);
	if (nk)
		qsort_r(kids, nk, sizeof *kids, cmp_size_desc, (void *)t);
	for (size_t k = 0; k < nk; k++) {
		if ((double)t->n[kids[k]].bytes * 100.0 >= THRESHOLD_PCT * (double)total)
			big++;
		else
			small_bytes += t->n[kids[k]].bytes;
	}
	int folded = big < nk;
	for (unsigned d = 0; d < depth; d++)
		sb_putc(b, ' ');
	sb_printf(b, "n%zu: %" PRIu64 " ", big + (size_t)folded, t->n[i].bytes);
	if (i == 0)
		sb_printf(b, "(heap allocation functions) malloc/new/new[], --alloc-fns, etc.");
	else
		frame_text(b, t->n[i].f);
	sb_putc(b, '\n');
	for (size_t k = 0; k < big; k++)
		emit(b, t, kids[k], depth + 1, total);
	if (folded) {
		for (unsigned d = 0; d <= depth; d++)
			sb_putc(b, ' ');
		sb_printf(b, "n0: %" PRIu64 " in %zu place%s, below massif's threshold (%.2f%%)\n", small_bytes,
			  nk - big, nk - big == 1 ? "" : "s", THRESHOLD_PCT);
	}
	free(kids);
}

static unsigned snapshot(struct strbuf *b, unsigned num, uint64_t time_ms, uint64_t bytes, const char *tree)
{
	sb_printf(b,
		  "#-----------\nsnapshot=%u\n#-----------\ntime=%" PRIu64 "\nmem_heap_B=%" PRIu64
		  "\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=%s\n",
		  num, time_ms, bytes, tree);
	return num + 1;
}

int render_massif(struct strbuf *b, const struct export_in *in, const char **why)
{
	(void)why;
	const struct tmodel *m = in->m;
	sb_printf(b, "desc: ldprof export --format massif %s\n", m->path);
	if (!m->nsegs) {
		sb_printf(b, "cmd: ?\ntime_unit: ms\n");
		snapshot(b, 0, 0, 0, "empty");
		return 0;
	}
	const struct tm_segment *seg = &m->segs[in->sets[0].peak_seg];
	const struct heap_model *h = &seg->heap;
	const struct heap_series *ts = &h->series;
	sb_printf(b, "cmd: %s\ntime_unit: ms\n", *seg->info.cmdline ? seg->info.cmdline : seg->info.exe);

	struct mtree peak_tree, end_tree;
	build(&peak_tree, &in->sets[0], 1);
	build(&end_tree, &in->sets[0], 0);

	uint64_t peak_b = peak_tree.n[0].bytes > h->t.peak_bytes ? peak_tree.n[0].bytes : h->t.peak_bytes;
	unsigned num = snapshot(b, 0, 0, 0, "empty");
	size_t group = (ts->n + MAX_SNAPSHOTS - 1) / MAX_SNAPSHOTS;
	uint64_t peak_us = h->t.peak_time_us;
	int peak_done = !h->t.peak_bytes;
	for (size_t i = 0; i < ts->n; i += group) {
		size_t end = i + group < ts->n ? i + group : ts->n;
		uint64_t start_us = (uint64_t)i * ts->bucket_us, end_us = (uint64_t)end * ts->bucket_us;
		if (end == ts->n)
			break; /* the last one is the final snapshot below */
		if (!peak_done && peak_us < end_us && peak_us >= start_us) {
			num = snapshot(b, num, peak_us / 1000, peak_b, "peak");
			emit(b, &peak_tree, 0, 0, peak_b);
			peak_done = 1;
			continue;
		}
		uint64_t max = 0;
		for (size_t k = i; k < end; k++)
			if (ts->pts[k].max > max)
				max = ts->pts[k].max;
		num = snapshot(b, num, end_us / 1000, max, "empty");
	}
	uint64_t end_us = h->t.last_time_us > seg->end.time_us ? h->t.last_time_us : seg->end.time_us;
	if (!peak_done) {
		num = snapshot(b, num, peak_us / 1000, peak_b, "peak");
		emit(b, &peak_tree, 0, 0, peak_b);
	}
	/* A snapshot's total is never below its tree's (ms_print checks). */
	uint64_t end_b = end_tree.n[0].bytes > h->t.live_bytes ? end_tree.n[0].bytes : h->t.live_bytes;
	snapshot(b, num, end_us / 1000, end_b, "detailed");
	emit(b, &end_tree, 0, 0, end_b);
	free(peak_tree.n);
	free(end_tree.n);
	u64map_free(&peak_tree.index);
	u64map_free(&end_tree.index);
	return 0;
}
