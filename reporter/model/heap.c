/*
 * heap.c - heap replay (see heap.h).
 *
 * Peak per site without a second pass: a site's live bytes at the global
 * peak are its live bytes at the last moment a new peak was reached. Each
 * new peak bumps peak_gen; before a site's live figure changes, if it has
 * not changed since the latest peak, its current value is saved as its
 * value at the peak. O(1) per event, like heaptrack's, without its
 * O(sites) copy at every new peak.
 *
 * Sampled traces: each recorded block stands for 1/p blocks and size/p bytes,
 * p = 1 - exp(-size / sample_bytes) being the chance it was sampled
 * (docs/SAMPLING.md). Counts stay integers: 1/p is rounded down or up at
 * random, with a coin derived from the block (address, sequence), so the
 * expectation is exact and the same block weighs the same at its free.
 */
#include "heap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/activity.h"
#include "read/trace.h"

LDP_SEAM uint64_t heap_max_orphans = 1u << 20;

struct weight {
	uint64_t count, bytes;
	double var; /* this block's contribution to the variance of the byte estimate */
};

/* An allocation in the activity cube, when one is kept (activity.h). */
static void note_activity(struct heap_model *h, const struct rd_event *e, uint32_t stack, int value, uint64_t n,
			  uint64_t bytes)
{
	uint64_t *v = activity_at(h->act, e->seq >> h->seq_shift, stack, e->tid);
	v[value] += n;
	if (value == ACT_ALLOCS)
		v[ACT_BYTES] += bytes;
}

static __attribute__((noinline)) struct weight sampled_weight(const struct heap_model *h, uint64_t size, uint64_t ptr,
							     uint64_t seq)
{
	double p = -expm1(-(double)size / (double)h->t.sample_bytes);
	double inv = 1.0 / p;
	double whole = floor(inv);
	uint64_t x = ptr * 0x9E3779B97F4A7C15ull ^ seq;
	x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
	x ^= x >> 29;
	double coin = (double)(x >> 11) * 0x1.0p-53;
	double bytes = (double)size * inv;
	return (struct weight){(uint64_t)whole + (coin < inv - whole), (uint64_t)llround(bytes), bytes * bytes * (1 - p)};
}

/* Inline: a full trace's block weighs itself, once per event. */
static inline struct weight weight_of(const struct heap_model *h, uint64_t size, uint64_t ptr, uint64_t seq)
{
	if (!h->t.sample_bytes || !size)
		return (struct weight){1, size, 0};
	return sampled_weight(h, size, ptr, seq);
}

void heap_init(struct heap_model *h, unsigned seq_shift)
{
	memset(h, 0, sizeof *h);
	blocks_init(&h->live);
	u64map_init(&h->credits, 16);
	u64map_init(&h->orphans, 16);
	h->seq_shift = seq_shift;
	series_init(&h->series);
}

void series_init(struct heap_series *s)
{
	s->bucket_us = 64;
	s->pts = xcalloc(HEAP_SERIES_MAX, sizeof *s->pts);
	s->n = 1;
	s->cur = s->pts;
	s->end_us = s->bucket_us;
}

void heap_free(struct heap_model *h)
{
	blocks_free(&h->live);
	u64map_free(&h->credits);
	u64map_free(&h->orphans);
	table_free(h->sites, h->sites_cap * sizeof *h->sites);
	series_free(&h->series);
	memset(h, 0, sizeof *h);
}

static __attribute__((noinline)) void sites_grow(struct heap_model *h, uint32_t stack)
{
	table_reserve((void **)&h->sites, &h->sites_cap, (size_t)stack + 1, sizeof *h->sites); /* zeroed */
	h->nsites = (size_t)stack + 1;
}

/* Called for every event: inline, with the rare growth out of line. */
static inline __attribute__((always_inline)) struct heap_site *site(struct heap_model *h, uint32_t stack)
{
	if (stack >= h->nsites)
		sites_grow(h, stack);
	struct heap_site *s = &h->sites[stack];
	if (s->peak_gen != h->peak_gen) {
		s->peak_bytes = s->live_bytes;
		s->peak_count = s->live_count;
		s->peak_gen = h->peak_gen;
	}
	return s;
}

static unsigned bit_length(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

/* Which count a free of a block never seen allocated goes to, by when it
 * happened (its seq): before attach, while or after paused, or unknown. */
static uint64_t *unseen_free_count(struct heap_model *h, uint64_t seq)
{
	if (h->attached)
		return &h->t.before_attach_frees;
	if (h->first_pause_seq && seq > h->first_pause_seq)
		return &h->t.paused_frees;
	return &h->t.unknown_frees;
}

void heap_pause(struct heap_model *h, const struct rd_pause *p)
{
	if (p->paused && !h->paused_since) {
		h->paused_since = p->seq;
		h->t.pauses++;
		if (!h->first_pause_seq)
			h->first_pause_seq = p->seq;
	} else if (!p->paused && h->paused_since) {
		h->t.paused_us += (p->seq >> h->seq_shift) - (h->paused_since >> h->seq_shift);
		h->paused_since = 0;
	}
}

/* An allocation's counts: calls, bytes, its time in the site's lifetime
 * sum, sizes, activity. Inline: the hot path of every allocation. */
static inline __attribute__((always_inline)) void count_alloc(struct heap_model *h, const struct rd_event *e,
							      struct heap_site *s, struct weight w)
{
	struct heap_totals *t = &h->t;
	s->lifetime_us -= (e->seq >> h->seq_shift) * w.count;
	if (h->act)
		note_activity(h, e, e->stack, ACT_ALLOCS, w.count, w.bytes);
	s->allocations += w.count;
	s->allocated_bytes += w.bytes;
	s->allocated_var += w.var;
	if (e->size > s->max_size)
		s->max_size = e->size;
	if (s->allocations == 1 || e->size < s->min_size)
		s->min_size = e->size;
	t->allocations += w.count;
	t->allocated_bytes += w.bytes;
	t->samples++;
	t->allocated_var += w.var;
	h->size_hist[bit_length(e->size)] += w.count;
}

/* ... and what it adds to live: the site's and the total, their maxima, the peak. */
static inline __attribute__((always_inline)) void add_live(struct heap_model *h, const struct rd_event *e,
							   struct heap_site *s, struct weight w)
{
	struct heap_totals *t = &h->t;
	s->live_bytes += w.bytes;
	s->live_count += w.count;
	if (s->live_bytes > s->max_live_bytes) {
		s->max_live_bytes = s->live_bytes;
		s->max_live_count = s->live_count;
	}
	t->live_bytes += w.bytes;
	t->live_count += w.count;
	t->live_var += w.var;
	if (t->live_bytes > t->peak_bytes) {
		t->peak_bytes = t->live_bytes;
		t->peak_count = t->live_count;
		t->peak_var = t->live_var > 0 ? t->live_var : 0;
		t->peak_time_us = e->seq >> h->seq_shift;
		h->peak_gen++;
	}
}

static void on_alloc(struct heap_model *h, const struct rd_event *e)
{
	struct heap_totals *t = &h->t;
	/* A free seen before its allocation (late allocation): allocated and freed. */
	uint64_t *orphan = h->orphans.len ? u64map_get(&h->orphans, e->ptr) : NULL;
	if (orphan && *orphan > e->seq) {
		u64map_del(&h->orphans, e->ptr, NULL);
		struct weight w = weight_of(h, e->size, e->ptr, e->seq);
		(*unseen_free_count(h, *orphan))--;
		t->allocations += w.count;
		t->frees += w.count;
		t->allocated_bytes += w.bytes;
		t->samples++;
		t->allocated_var += w.var;
		struct heap_site *s = site(h, e->stack);
		s->allocations += w.count;
		s->frees += w.count;
		s->allocated_bytes += w.bytes;
		s->allocated_var += w.var;
		s->lifetime_us += ((*orphan >> h->seq_shift) - (e->seq >> h->seq_shift)) * w.count;
		if (h->act)
			note_activity(h, e, e->stack, ACT_ALLOCS, w.count, w.bytes);
		h->prev_valid = 0; /* its free came after it: the previous event is a free */
		return;
	}
	int live;
	struct live_block *slot = blocks_slot(&h->live, e->ptr, &live); /* the new block's from here on */
	if (live) {
		/* The address is live: its free is still on its way. Apply it now. */
		const struct live_block *old = slot;
		struct weight ow = weight_of(h, old->size, e->ptr, old->seq);
		struct heap_site *os = site(h, old->stack);
		os->live_bytes -= ow.bytes;
		os->live_count -= ow.count;
		os->frees += ow.count;
		os->lifetime_us += (e->seq >> h->seq_shift) * ow.count;
		t->live_bytes -= ow.bytes;
		t->live_count -= ow.count;
		t->live_var -= ow.var;
		t->frees += ow.count;
		uint64_t *c = u64map_get(&h->credits, e->ptr);
		if (c)
			(*c)++;
		else
			u64map_put(&h->credits, e->ptr, 1);
	}
	*slot = (struct live_block){.ptr = e->ptr, .seq = e->seq, .size = e->size, .stack = e->stack};
	h->prev_size = e->size;
	h->prev_stack = e->stack;
	h->prev_valid = 1;
	struct weight w = weight_of(h, e->size, e->ptr, e->seq);
	struct heap_site *s = site(h, e->stack);
	count_alloc(h, e, s, w);
	add_live(h, e, s, w);
}

/* A site allocation (format 2.2): a block of this size from this stack,
 * not in the block table. A site free before it owed it its live part. */
static void on_site_alloc(struct heap_model *h, const struct rd_event *e)
{
	struct weight w = weight_of(h, e->size, 0, e->seq);
	struct heap_site *s = site(h, e->stack);
	count_alloc(h, e, s, w);
	if (__builtin_expect(s->owed_count != 0, 0) && e->seq < s->owed_seq) {
		/* Allocated and freed already: like a late address allocation.
		 * (Not one after every owed free: a block's allocation has the
		 * smaller seq, so that one is new, and live.) */
		uint64_t c = w.count < s->owed_count ? w.count : s->owed_count;
		/* The frees' mean time (exact for one, and when all are paid). */
		s->owed_us -= c == s->owed_count ? s->owed_us : s->owed_us / s->owed_count * c;
		s->owed_count -= c;
		s->owed_bytes -= w.bytes < s->owed_bytes ? w.bytes : s->owed_bytes;
		if (!s->owed_count)
			s->owed_seq = 0;
		h->prev_valid = 0; /* its free came after it: the previous event is a free */
		return;
	}
	h->prev_size = e->size;
	h->prev_stack = e->stack;
	h->prev_valid = 1;
	s->site_live_bytes += w.bytes;
	s->site_live_count += w.count;
	add_live(h, e, s, w);
}

/* ... and what it takes from live (the peak needs no look: live only falls). */
static inline __attribute__((always_inline)) void sub_live(struct heap_model *h, struct heap_site *s, struct weight w)
{
	s->live_bytes -= w.bytes;
	s->live_count -= w.count;
	h->t.live_bytes -= w.bytes;
	h->t.live_count -= w.count;
	h->t.live_var -= w.var;
}

/* A free's counts, of a block or a site event: the temporary rule, calls,
 * its time in the site's lifetime sum. Inline: the hot path of every free. */
static inline __attribute__((always_inline)) void count_free(struct heap_model *h, const struct rd_event *e,
							     struct heap_site *s, uint64_t size, uint32_t stack,
							     struct weight w)
{
	struct heap_totals *t = &h->t;
	/* Temporary, as heaptrack counts it (analyze/accumulatedtracedata.cpp):
	 * the event just before this free, in the whole process, is an
	 * allocation of the same size from the same stack. heaptrack compares
	 * the (size, stack) pair of its last allocation with the freed block's,
	 * not the block itself, and only allocations and frees of blocks it
	 * knows are events (frees of unknown blocks never reach its analyzer).
	 * Temporaries need every allocation: a sampled trace does not count them. */
	if (!t->sample_bytes && h->prev_valid && h->prev_size == size && h->prev_stack == stack) {
		t->temporary += w.count;
		s->temporary += w.count;
		if (h->act)
			note_activity(h, e, stack, ACT_TEMPORARY, w.count, 0);
	}
	h->prev_valid = 0;
	s->lifetime_us += (e->seq >> h->seq_shift) * w.count;
	s->frees += w.count;
	t->frees += w.count;
}

static void on_free(struct heap_model *h, const struct rd_event *e)
{
	struct live_block *b = blocks_find(&h->live, e->ptr);
	if (!b || b->seq > e->seq) {
		/* Not live, or live as a newer block: a late free whose effect was
		 * already applied, or a free of a block we never saw allocated. */
		uint64_t *c = u64map_get(&h->credits, e->ptr);
		if (c) {
			if (--*c == 0)
				u64map_del(&h->credits, e->ptr, NULL);
			return;
		}
		if (!b) {
			if (h->orphans.len >= heap_max_orphans) {
				u64map_free(&h->orphans);
				u64map_init(&h->orphans, 16);
			}
			u64map_put(&h->orphans, e->ptr, e->seq);
		}
		(*unseen_free_count(h, e->seq))++;
		return;
	}
	struct weight w = weight_of(h, b->size, e->ptr, b->seq);
	struct heap_site *s = site(h, b->stack);
	count_free(h, e, s, b->size, b->stack, w);
	sub_live(h, s, w);
	blocks_remove(&h->live, b);
}

/* A site free (format 2.2): a block of this size from this stack. Which
 * one does not matter: only the site's and the total figures change. */
static void on_site_free(struct heap_model *h, const struct rd_event *e)
{
	struct heap_totals *t = &h->t;
	/* Full traces only; a sampled one (never written so) weighs it as it can. */
	struct weight w = weight_of(h, e->size, 0, e->seq);
	struct heap_site *s = site(h, e->stack);
	count_free(h, e, s, e->size, e->stack, w);
	if (__builtin_expect(s->site_live_count < w.count || s->site_live_bytes < w.bytes || t->live_count < w.count ||
				     t->live_bytes < w.bytes,
			     0)) {
		/* Its allocation is still to come (another thread's, merged
		 * later): it takes no live block, this free owes it. */
		s->owed_count += w.count;
		s->owed_bytes += w.bytes;
		s->owed_us += (e->seq >> h->seq_shift) * w.count;
		if (e->seq > s->owed_seq)
			s->owed_seq = e->seq;
		return;
	}
	s->site_live_bytes -= w.bytes;
	s->site_live_count -= w.count;
	sub_live(h, s, w);
}

/* The event at `us` lies past the last bucket: close it with the value that
 * lasted to its end (live, before this event), open buckets up to `us`, and
 * halve the resolution as often as needed to stay within the cap. */
static __attribute__((noinline)) void series_advance(struct heap_series *s, uint64_t us, uint64_t live)
{
	s->pts[s->n - 1].last = live;
	while (us / s->bucket_us >= HEAP_SERIES_MAX) {
		size_t half = (s->n + 1) / 2;
		for (size_t i = 0; i < half; i++) {
			struct heap_point a = s->pts[2 * i];
			if (2 * i + 1 < s->n) {
				const struct heap_point *b = &s->pts[2 * i + 1];
				a.min = b->min < a.min ? b->min : a.min;
				a.max = b->max > a.max ? b->max : a.max;
				a.last = b->last;
			}
			s->pts[i] = a;
		}
		s->n = half;
		s->bucket_us *= 2;
	}
	size_t want = (size_t)(us / s->bucket_us) + 1;
	for (; s->n < want; s->n++) /* quiet buckets hold the value that lasted through them */
		s->pts[s->n] = (struct heap_point){live, live, live};
	s->cur = &s->pts[s->n - 1];
	s->end_us = (uint64_t)s->n * s->bucket_us;
}

/* For series of other values (the mapped channel, RSS): value at time us. */
void series_note(struct heap_series *s, uint64_t us, uint64_t before, uint64_t after)
{
	if (us >= s->end_us)
		series_advance(s, us, before);
	if (after > s->cur->max)
		s->cur->max = after;
	if (after < s->cur->min)
		s->cur->min = after;
	s->cur->last = after;
}

void series_free(struct heap_series *s)
{
	free(s->pts);
	s->pts = s->cur = NULL;
	s->n = 0;
}

/*
 * Per event the series costs a compare (still in the current bucket?) and
 * one min or max update: an allocation can only raise live bytes, a free
 * only lower them. A bucket's last value is written when it is closed. A
 * late event (earlier than the current bucket) counts in the current one.
 */
void heap_event(struct heap_model *h, const struct rd_event *e)
{
	uint64_t us = e->seq >> h->seq_shift;
	if (us > h->t.last_time_us)
		h->t.last_time_us = us;
	if (us >= h->series.end_us)
		series_advance(&h->series, us, h->t.live_bytes);
	if (e->kind == RD_EV_ALLOC) {
		if (e->ptr)
			on_alloc(h, e);
		else
			on_site_alloc(h, e);
		if (h->t.live_bytes > h->series.cur->max)
			h->series.cur->max = h->t.live_bytes;
	} else {
		if (e->ptr)
			on_free(h, e);
		else
			on_site_free(h, e);
		if (h->t.live_bytes < h->series.cur->min)
			h->series.cur->min = h->t.live_bytes;
	}
}

void heap_prefetch(const struct heap_model *h, uint64_t ptr, uint32_t stack, int alloc)
{
	/* The block's slot; an allocation's site too (a free's is known only
	 * once its block is read). Both are misses when the live set or the
	 * stacks outgrow the caches: python3's blocks, mixed's 163,545 sites.
	 * A site event (ptr 0) has no block, and names its site either way. */
	if (ptr)
		__builtin_prefetch(blocks_home_slot(&h->live, ptr), 1);
	if ((alloc || !ptr) && stack < h->nsites)
		__builtin_prefetch(&h->sites[stack], 1);
}

void heap_finish(struct heap_model *h, enum heap_end how)
{
	/* Bring every site's at-peak figure up to date. */
	for (size_t i = 0; i < h->nsites; i++)
		site(h, (uint32_t)i);
	/* Blocks still live: their lifetime runs to the end (see heap_site.lifetime_us). */
	for (size_t i = 0; i < h->nsites; i++) {
		struct heap_site *s = &h->sites[i];
		s->lifetime_us += s->live_count * h->t.last_time_us;
		if (s->owed_count) {
			/* Site frees whose allocation never came (it was in a part
			 * not read, or lost to damage): frees of unseen blocks. */
			s->frees -= s->owed_count;
			s->lifetime_us -= s->owed_us;
			h->t.frees -= s->owed_count;
			*unseen_free_count(h, 0) += s->owed_count;
			s->owed_count = s->owed_bytes = s->owed_us = s->owed_seq = 0;
		}
	}
	h->series.cur->last = h->t.live_bytes;
	if (h->paused_since && h->t.last_time_us > (h->paused_since >> h->seq_shift))
		h->t.paused_us += h->t.last_time_us - (h->paused_since >> h->seq_shift);
	if (how == HEAP_END_ENDED) {
		h->t.leaked_bytes = h->t.live_bytes;
		h->t.leaked_count = h->t.live_count;
	} else if (how == HEAP_END_RUNNING) {
		h->t.live_now_bytes = h->t.live_bytes;
		h->t.live_now_count = h->t.live_count;
	}
}
