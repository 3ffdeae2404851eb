/*
 * heap.c - heap replay (see heap.h).
 *
 * Peak per site without a second pass: a site's live bytes at the global
 * peak are its live bytes at the last moment a new peak was reached. Each
 * new peak bumps peak_gen; before a site's live figure changes, if it has
 * not changed since the latest peak, its current value is saved as its
 * value at the peak. O(1) per event, like heaptrack's, without its
 * O(sites) copy at every new peak.
 */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#include "read/trace.h"

struct heap_block {
	uint64_t size, seq;
	uint32_t stack;
	uint32_t next_free; /* free list link, index + 1 */
};

void heap_init(struct heap_model *h, unsigned seq_shift)
{
	memset(h, 0, sizeof *h);
	u64map_init(&h->live, 1024);
	u64map_init(&h->credits, 16);
	u64map_init(&h->orphans, 16);
	u64map_init(&h->last_alloc, 16);
	h->seq_shift = seq_shift;
}

void heap_free(struct heap_model *h)
{
	u64map_free(&h->live);
	u64map_free(&h->credits);
	u64map_free(&h->orphans);
	u64map_free(&h->last_alloc);
	free(h->blocks);
	free(h->sites);
	memset(h, 0, sizeof *h);
}

static struct heap_site *site(struct heap_model *h, uint32_t stack)
{
	if (stack >= h->nsites) {
		vec_reserve((void **)&h->sites, &h->sites_cap, (size_t)stack + 1, sizeof *h->sites);
		memset(h->sites + h->nsites, 0, ((size_t)stack + 1 - h->nsites) * sizeof *h->sites);
		h->nsites = (size_t)stack + 1;
	}
	struct heap_site *s = &h->sites[stack];
	if (s->peak_gen != h->peak_gen) {
		s->peak_bytes = s->live_bytes;
		s->peak_count = s->live_count;
		s->peak_gen = h->peak_gen;
	}
	return s;
}

static uint64_t new_block(struct heap_model *h)
{
	if (h->free_block) {
		uint64_t i = h->free_block - 1;
		h->free_block = h->blocks[i].next_free;
		return i;
	}
	vec_reserve((void **)&h->blocks, &h->blocks_cap, h->nblocks + 1, sizeof *h->blocks);
	return h->nblocks++;
}

static void drop_block(struct heap_model *h, uint64_t i)
{
	h->blocks[i].next_free = (uint32_t)h->free_block;
	h->free_block = i + 1;
}

/* The seq of the thread's latest allocation (0: none yet). Consecutive
 * events mostly come from one thread: remember the last slot. */
static uint64_t *last_alloc_of(struct heap_model *h, uint32_t tid)
{
	if (h->last_tid_slot && h->last_tid == tid)
		return h->last_tid_slot;
	uint64_t *slot = u64map_get(&h->last_alloc, (uint64_t)tid + 1);
	if (!slot)
		slot = u64map_put(&h->last_alloc, (uint64_t)tid + 1, 0);
	/* A later insert may move the map's storage: the cache is only valid
	 * until the next new thread, which resets it here. */
	h->last_tid = tid;
	h->last_tid_slot = slot;
	return slot;
}

static unsigned bit_length(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

static void on_alloc(struct heap_model *h, const struct rd_event *e)
{
	struct heap_totals *t = &h->t;
	/* A free seen before its allocation (late allocation): allocated and freed. */
	uint64_t *orphan = h->orphans.len ? u64map_get(&h->orphans, e->ptr) : NULL;
	if (orphan && *orphan > e->seq) {
		u64map_del(&h->orphans, e->ptr, NULL);
		t->unknown_frees--;
		t->allocations++;
		t->frees++;
		t->allocated_bytes += e->size;
		struct heap_site *s = site(h, e->stack);
		s->allocations++;
		s->frees++;
		s->allocated_bytes += e->size;
		return;
	}
	uint64_t *slot = u64map_get(&h->live, e->ptr);
	if (slot) {
		/* The address is live: its free is still on its way. Apply it now. */
		struct heap_block *old = &h->blocks[*slot];
		struct heap_site *os = site(h, old->stack);
		os->live_bytes -= old->size;
		os->live_count--;
		os->frees++;
		t->live_bytes -= old->size;
		t->live_count--;
		t->frees++;
		drop_block(h, *slot);
		u64map_del(&h->live, e->ptr, NULL);
		uint64_t *c = u64map_get(&h->credits, e->ptr);
		if (c)
			(*c)++;
		else
			u64map_put(&h->credits, e->ptr, 1);
	}
	uint64_t b = new_block(h);
	h->blocks[b] = (struct heap_block){.size = e->size, .seq = e->seq, .stack = e->stack};
	u64map_put(&h->live, e->ptr, b);
	*last_alloc_of(h, e->tid) = e->seq;

	struct heap_site *s = site(h, e->stack);
	s->allocations++;
	s->allocated_bytes += e->size;
	s->live_bytes += e->size;
	s->live_count++;
	if (e->size > s->max_size)
		s->max_size = e->size;
	if (s->allocations == 1 || e->size < s->min_size)
		s->min_size = e->size;
	t->allocations++;
	t->allocated_bytes += e->size;
	t->live_bytes += e->size;
	t->live_count++;
	h->size_hist[bit_length(e->size)]++;
	if (t->live_bytes > t->peak_bytes) {
		t->peak_bytes = t->live_bytes;
		t->peak_count = t->live_count;
		t->peak_time_us = e->seq >> h->seq_shift;
		h->peak_gen++;
	}
}

static void on_free(struct heap_model *h, const struct rd_event *e)
{
	struct heap_totals *t = &h->t;
	uint64_t *slot = u64map_get(&h->live, e->ptr);
	if (!slot || h->blocks[*slot].seq > e->seq) {
		/* Not live, or live as a newer block: a late free whose effect was
		 * already applied, or a free of a block we never saw allocated. */
		uint64_t *c = u64map_get(&h->credits, e->ptr);
		if (c) {
			if (--*c == 0)
				u64map_del(&h->credits, e->ptr, NULL);
			return;
		}
		if (!slot) {
			if (h->orphans.len >= HEAP_MAX_ORPHANS) {
				u64map_free(&h->orphans);
				u64map_init(&h->orphans, 16);
			}
			u64map_put(&h->orphans, e->ptr, e->seq);
		}
		t->unknown_frees++;
		return;
	}
	struct heap_block *b = &h->blocks[*slot];
	struct heap_site *s = site(h, b->stack);
	if (*last_alloc_of(h, e->tid) == b->seq) {
		t->temporary++;
		s->temporary++;
	}
	s->live_bytes -= b->size;
	s->live_count--;
	s->frees++;
	t->live_bytes -= b->size;
	t->live_count--;
	t->frees++;
	drop_block(h, *slot);
	u64map_del(&h->live, e->ptr, NULL);
}

void heap_event(struct heap_model *h, const struct rd_event *e)
{
	uint64_t us = e->seq >> h->seq_shift;
	if (us > h->t.last_time_us)
		h->t.last_time_us = us;
	if (e->kind == RD_EV_ALLOC)
		on_alloc(h, e);
	else
		on_free(h, e);
}

void heap_finish(struct heap_model *h, int counts_as_leaks)
{
	/* Bring every site's at-peak figure up to date. */
	for (size_t i = 0; i < h->nsites; i++)
		site(h, (uint32_t)i);
	if (counts_as_leaks) {
		h->t.leaked_bytes = h->t.live_bytes;
		h->t.leaked_count = h->t.live_count;
	}
}
