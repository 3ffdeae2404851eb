/*
 * test_heap_model.c - heap replay: exact totals, peaks per site, temporaries,
 * and exactness when events arrive out of order (a thread that stalled
 * mid-event for a whole round delivers its event late).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "model/activity.h"
#include "model/blocks.h"
#include "model/heap.h"
#include "read/trace.h"
#include "util/util.h"

static void ev(struct heap_model *h, int kind, uint64_t seq, uint64_t ptr, uint64_t size, uint32_t stack, uint32_t tid)
{
	struct rd_event e = {.seq = seq, .ptr = ptr, .size = size, .stack = stack, .tid = tid, .kind = (uint8_t)kind};
	heap_event(h, &e);
}
#define A(seq, ptr, size, stack, tid) ev(&h, RD_EV_ALLOC, seq, ptr, size, stack, tid)
#define F(seq, ptr, tid) ev(&h, RD_EV_FREE, seq, ptr, 0, 0, tid)
/* Site events (format 2.2): ptr 0, the block named by size and stack. */
#define SA(seq, size, stack, tid) ev(&h, RD_EV_ALLOC, seq, 0, size, stack, tid)
#define SF(seq, size, stack, tid) ev(&h, RD_EV_FREE, seq, 0, size, stack, tid)

static void test_in_order(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	A(1, 0x10, 100, 1, 1);
	A(2, 0x20, 50, 2, 1);
	F(3, 0x10, 1);
	A(4, 0x30, 200, 2, 1);
	F(5, 0x30, 1); /* the event just before it is its allocation: temporary */
	heap_finish(&h, 1);
	assert_int_equal(h.t.allocations, 3);
	assert_int_equal(h.t.frees, 2);
	assert_int_equal(h.t.allocated_bytes, 350);
	assert_int_equal(h.t.peak_bytes, 250);
	assert_int_equal(h.t.peak_count, 2);
	assert_int_equal(h.t.leaked_bytes, 50);
	assert_int_equal(h.t.leaked_count, 1);
	assert_int_equal(h.t.temporary, 1);
	/* At the peak (seq 4): site 1 had nothing live, site 2 had 250 bytes. */
	assert_int_equal(h.sites[1].peak_bytes, 0);
	assert_int_equal(h.sites[2].peak_bytes, 250);
	assert_int_equal(h.sites[2].peak_count, 2);
	assert_int_equal(h.sites[1].allocations, 1);
	assert_int_equal(h.sites[2].allocated_bytes, 250);
	heap_free(&h);
}

/* heaptrack's rule (analyze/accumulatedtracedata.cpp): a free is temporary
 * when the event just before it, in the whole process, is an allocation of
 * the same size from the same stack. */
static void test_temporary_rule(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	A(1, 0x10, 64, 1, 1);
	F(2, 0x10, 1); /* 1: right after its allocation */
	A(3, 0x10, 64, 1, 1);
	A(4, 0x20, 64, 1, 1);
	F(5, 0x10, 1); /* 2: not its own allocation just before, but one of the same size and stack */
	F(6, 0x20, 1); /* a free came in between: not temporary */
	A(7, 0x30, 64, 1, 1);
	A(8, 0x40, 32, 1, 1);
	F(9, 0x30, 1); /* the allocation before it has another size: not temporary */
	A(10, 0x50, 32, 2, 1);
	F(11, 0x40, 1); /* same size, another stack: not temporary */
	A(12, 0x60, 16, 3, 1);
	F(13, 0x60, 2); /* another thread's allocation just before it: the whole process counts: temporary (3) */
	A(14, 0x70, 16, 3, 1);
	A(15, 0x80, 16, 3, 2);
	F(16, 0x70, 1); /* another thread's allocation in between, same size and stack: temporary (4) */
	A(17, 0x90, 8, 4, 1);
	F(18, 0x9999, 1); /* a free of a block never seen is no event of the trace (heaptrack drops it too)... */
	F(19, 0x90, 1); /* ...so this one still follows its allocation: temporary (5) */
	A(20, 0xa0, 8, 4, 1);
	F(21, 0x80, 2);
	F(22, 0xa0, 1); /* a free before it: not temporary */
	heap_finish(&h, 1);
	assert_int_equal(h.t.temporary, 5);
	assert_int_equal(h.sites[1].temporary, 2);
	assert_int_equal(h.sites[2].temporary, 0);
	assert_int_equal(h.sites[3].temporary, 2);
	assert_int_equal(h.sites[4].temporary, 1);
	assert_int_equal(h.t.unknown_frees, 1);
	heap_free(&h);
}

static void test_late_free(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	/* True order: A(p) seq1 by t1, F(p) seq2 by t2, A(p) seq3 by t3.
	 * Delivered: the free comes last. */
	A(1, 0x100, 10, 1, 1);
	A(3, 0x100, 20, 2, 3);
	F(2, 0x100, 2);
	heap_finish(&h, 1);
	assert_int_equal(h.t.allocations, 2);
	assert_int_equal(h.t.frees, 1);
	assert_int_equal(h.t.unknown_frees, 0);
	assert_int_equal(h.t.leaked_bytes, 20);
	assert_int_equal(h.sites[2].live_bytes, 20);
	assert_int_equal(h.sites[1].live_bytes, 0);
	heap_free(&h);
}

static void test_late_alloc(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	/* True order A(p) seq1, F(p) seq2; delivered the other way round. */
	F(2, 0x200, 2);
	A(1, 0x200, 30, 1, 1);
	/* And an unrelated free of a block never seen. */
	F(7, 0x999, 2);
	heap_finish(&h, 1);
	assert_int_equal(h.t.allocations, 1);
	assert_int_equal(h.t.frees, 1);
	assert_int_equal(h.t.unknown_frees, 1);
	assert_int_equal(h.t.leaked_bytes, 0);
	assert_int_equal(h.t.leaked_count, 0);
	heap_free(&h);
}

static void test_exec_does_not_leak(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	A(1, 0x10, 100, 1, 1);
	heap_finish(&h, 0);
	assert_int_equal(h.t.leaked_bytes, 0);
	assert_int_equal(h.t.live_bytes, 100);
	heap_free(&h);
}

static void test_churn_many(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	uint64_t seq = 1, live = 0;
	for (uint64_t i = 0; i < 100000; i++) {
		A(seq++, 0x1000 + (i % 997) * 16 + (i / 997) * 0x100000, 16, 1, 1);
		live++;
		if (i % 3 == 0) {
			F(seq++, 0x1000 + (i % 997) * 16 + (i / 997) * 0x100000, 1);
			live--;
		}
	}
	heap_finish(&h, 1);
	assert_int_equal(h.t.leaked_count, live);
	assert_int_equal(h.t.allocations, 100000);
	heap_free(&h);
}

/* The live-block table against a plain array: 300,000 blocks live at once
 * (the table passes 2 MiB, so it is mapped with huge pages asked for), then
 * churn that removes from the middle of probe runs, address 0 included. */
static void test_live_blocks(void **state)
{
	(void)state;
	enum { N = 300000 };
	static uint64_t ref[N]; /* ref[i]: the address of block i, 0 when not live */
	struct live_blocks b;
	blocks_init(&b);
	uint64_t x = 88172645463325252ull;
	size_t live = 0;
	for (unsigned round = 0; round < 4 * N; round++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t i = (size_t)(x % N);
		int found;
		if (!ref[i]) {
			/* Addresses close together (as a heap's are) and, for block 0, address 0. */
			ref[i] = i ? 0x7f0000000000ull + (uint64_t)i * 48 + (round & 1) * 0x10000000ull : 0;
			struct live_block *s = blocks_slot(&b, ref[i], &found);
			assert_false(found);
			*s = (struct live_block){.ptr = ref[i], .seq = round, .size = i, .stack = (uint32_t)i};
			if (!i)
				ref[i] = 1; /* live, at address 0 */
			live++;
		} else if (round > N) {
			uint64_t ptr = ref[i] == 1 && !i ? 0 : ref[i];
			struct live_block *s = blocks_find(&b, ptr);
			assert_non_null(s);
			assert_int_equal(s->size, i);
			blocks_remove(&b, s);
			assert_null(blocks_find(&b, ptr));
			ref[i] = 0;
			live--;
		}
		assert_int_equal(b.len + (size_t)b.zero_live, live);
	}
	for (size_t i = 0; i < N; i++) {
		uint64_t ptr = ref[i] == 1 && !i ? 0 : ref[i];
		struct live_block *s = ref[i] ? blocks_find(&b, ptr) : NULL;
		if (ref[i]) {
			assert_non_null(s);
			assert_int_equal(s->stack, i);
		}
	}
	blocks_free(&b);
}

/* Doubling in place (blocks.c grow) with probe runs that wrap around the
 * table's end: 60 blocks whose home is among the last 3 slots both before
 * and after doubling (their run wraps in the old table and in the new), 30 homed at
 * the old table's last slots that stay in the lower half (their run runs on
 * into the new half), 10 homed at the old table's first slots that move to
 * the new half (leaving holes in the first run), and 690 others. Every block is found after the
 * doubling, and removing them all leaves every slot empty. */
static void test_live_blocks_grow_wrap(void **state)
{
	(void)state;
	enum { N = 790 };
	static uint64_t ptrs[N];
	size_t n = 0, high = 0, low = 0, first = 0;
	for (uint64_t p = 0x10000; high < 60 || low < 30 || first < 10; p += 16) {
		uint64_t h = hash_u64(p) & 2047;
		if (h >= 2045 && high < 60)
			ptrs[n++] = p, high++;
		else if (h >= 1021 && h <= 1023 && low < 30)
			ptrs[n++] = p, low++;
		else if (h >= 1024 && h <= 1027 && first < 10)
			ptrs[n++] = p, first++;
	}
	for (uint64_t p = 0x7f0000000000ull; n < N; p += 48)
		ptrs[n++] = p;
	struct live_blocks b;
	blocks_init(&b);
	size_t cap0 = b.cap;
	for (size_t i = 0; i < N; i++) {
		int found;
		struct live_block *s = blocks_slot(&b, ptrs[i], &found);
		assert_false(found);
		*s = (struct live_block){.ptr = ptrs[i], .seq = i, .size = i, .stack = (uint32_t)i};
	}
	assert_int_equal(cap0, 1024);
	assert_int_equal(b.cap, 2048); /* doubled once, with the wrapping runs in it */
	for (size_t i = 0; i < N; i++) {
		struct live_block *s = blocks_find(&b, ptrs[i]);
		assert_non_null(s);
		assert_int_equal(s->size, i);
	}
	for (size_t i = 0; i < N; i++) {
		struct live_block *s = blocks_find(&b, ptrs[i]);
		assert_non_null(s);
		blocks_remove(&b, s);
	}
	assert_int_equal(b.len, 0);
	for (size_t i = 0; i < b.cap; i++)
		assert_int_equal(b.slots[i].ptr, 0);
	blocks_free(&b);
}

/* Sampled traces: each block stands for 1/p blocks and size/p bytes,
 * p = 1 - exp(-size / sample_bytes); the count's rounding is random but
 * fixed per block, so a block's free takes back exactly what it added. */
static void test_sampled_weights(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	h.t.sample_bytes = 1000;
	const uint64_t n = 100000;
	for (uint64_t i = 0; i < n; i++)
		A(2 * i + 1, 0x100000 + 64 * i, 1000, 1, 1); /* p = 0.632: 1.582 blocks, 1582 bytes each */
	A(2 * n + 1, 0x10, 1000000, 2, 1);                  /* p = 1 - e^-1000: itself */
	A(2 * n + 3, 0x20, 0, 3, 1);                        /* never sampled, counted as itself */
	double inv = 1.0 / (1.0 - exp(-1.0));
	assert_int_equal(h.t.samples, n + 2);
	assert_true(fabs((double)h.sites[1].allocations - inv * n) < 0.01 * inv * n);
	assert_int_equal(h.sites[1].allocated_bytes, n * 1582);
	assert_int_equal(h.sites[2].allocations, 1);
	assert_int_equal(h.sites[2].allocated_bytes, 1000000);
	assert_int_equal(h.sites[3].allocations, 1);
	assert_int_equal(h.t.live_bytes, n * 1582 + 1000000);
	/* Var(size/p) per block = size^2 (1 - p) / p^2: 1582^2 * 0.368 */
	assert_true(fabs(h.sites[1].allocated_var - n * 1581.98 * 1581.98 * exp(-1.0)) < 0.001 * h.sites[1].allocated_var);
	assert_true(h.sites[2].allocated_var < 1e-6);
	for (uint64_t i = 0; i < n; i++)
		F(2 * n + 10 + i, 0x100000 + 64 * i, 1);
	F(3 * n + 20, 0x10, 1);
	F(3 * n + 21, 0x20, 1);
	assert_int_equal(h.t.live_bytes, 0);
	assert_int_equal(h.t.live_count, 0);
	assert_int_equal(h.t.frees, h.t.allocations);
	assert_int_equal(h.t.peak_bytes, n * 1582 + 1000000);
	heap_free(&h);
}

/* Many more frees of unknown blocks than the model keeps waiting for a
 * late allocation (a hostile trace; heap_max_orphans lowered to 1000 so the
 * test is cheap): at most that many wait, every one is counted, and a late
 * allocation of a recent one is still matched. */
static void test_orphans_bounded(void **state)
{
	(void)state;
	struct heap_model h;
	uint64_t saved = heap_max_orphans;
	heap_max_orphans = 1000;
	heap_init(&h, 12);
	const uint64_t n = 3 * heap_max_orphans + 17;
	for (uint64_t i = 0; i < n; i++) {
		F(100 + 2 * i, 0x100000 + 16 * i, 1);
		assert_true(h.orphans.len <= heap_max_orphans);
	}
	assert_int_equal(h.t.unknown_frees, n);
	/* The allocation of the last freed block arrives late: alloc + free. */
	A(100 + 2 * (n - 1) - 1, 0x100000 + 16 * (n - 1), 64, 1, 2);
	assert_int_equal(h.t.unknown_frees, n - 1);
	assert_int_equal(h.t.allocations, 1);
	assert_int_equal(h.t.frees, 1);
	assert_int_equal(h.t.live_count, 0);
	heap_free(&h);
	heap_max_orphans = saved;
}

/* The activity cube (the HTML page's filters) adds up to the per-site
 * figures, per thread, also after time outgrows its buckets and they merge. */
static void test_activity_sums(void **state)
{
	(void)state;
	struct heap_model h;
	struct activity act;
	activity_init(&act);
	heap_init(&h, 0); /* seq = microseconds */
	h.act = &act;
	uint64_t seq = 1, per_tid[3] = {0};
	for (int i = 0; i < 3000; i++) {
		uint32_t tid = 100 + (uint32_t)(i % 3), stack = 1 + (uint32_t)(i % 5);
		A(seq, 0x1000 + (uint64_t)i * 16, 8 + (uint64_t)i % 7, stack, tid);
		per_tid[i % 3] += 8 + (uint64_t)i % 7;
		seq += 997; /* 3 s in all: buckets of 1 ms widen to 32 ms */
		if (i % 2) {
			F(seq, 0x1000 + (uint64_t)i * 16, tid); /* directly after its allocation: temporary */
			seq += 13;
		}
	}
	heap_finish(&h, HEAP_END_ENDED);
	assert_true(act.bucket_us >= 16000 && seq / act.bucket_us < ACT_BUCKETS);
	uint64_t allocs = 0, bytes = 0, temporary = 0, by_tid[3] = {0}, site_allocs[6] = {0};
	for (size_t i = 0; i < act.n; i++) {
		const struct act_cell *c = &act.cells[i];
		assert_true(c->bucket < ACT_BUCKETS && c->thread < act.ntids && c->stack < 6);
		allocs += c->v[ACT_ALLOCS];
		bytes += c->v[ACT_BYTES];
		temporary += c->v[ACT_TEMPORARY];
		by_tid[act.tids[c->thread] - 100] += c->v[ACT_BYTES];
		site_allocs[c->stack] += c->v[ACT_ALLOCS];
	}
	assert_int_equal(allocs, h.t.allocations);
	assert_int_equal(bytes, h.t.allocated_bytes);
	assert_int_equal(temporary, h.t.temporary);
	assert_int_equal(temporary, 1500);
	for (int t = 0; t < 3; t++)
		assert_int_equal(by_tid[t], per_tid[t]);
	for (uint32_t st = 1; st < 6; st++)
		assert_int_equal(site_allocs[st], h.sites[st].allocations);
	heap_free(&h);
	activity_free(&act);
}

/* Site events count as blocks do, at their site; mixed with address
 * events at the same site; a site free is temporary when its allocation
 * (the same size and stack) is the event just before it. */
static void test_site_events(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 0); /* seq = microseconds */
	SA(1, 100, 1, 1);
	SF(2, 100, 1, 1); /* temporary */
	assert_int_equal(h.t.live_bytes, 0);
	assert_int_equal(h.t.live_count, 0);
	A(3, 0x10, 100, 1, 1);
	SA(4, 100, 1, 1);
	assert_int_equal(h.t.peak_bytes, 200);
	SF(5, 100, 1, 1); /* temporary */
	F(6, 0x10, 1);
	SA(7, 50, 2, 2);
	A(8, 0x20, 8, 3, 2);
	SF(9, 50, 2, 2); /* not temporary: an allocation in between */
	SA(10, 60, 2, 2);
	SF(11, 50, 1, 2); /* another site's size and stack: not temporary; site 1 has nothing of it live */
	heap_finish(&h, HEAP_END_ENDED);
	assert_int_equal(h.t.allocations, 6);
	assert_int_equal(h.t.allocated_bytes, 418);
	assert_int_equal(h.t.frees, 4); /* SF(11) found no allocation at all: an unseen block's */
	assert_int_equal(h.t.unknown_frees, 1);
	assert_int_equal(h.t.temporary, 2);
	assert_int_equal(h.t.peak_bytes, 200);
	assert_int_equal(h.t.peak_count, 2);
	assert_int_equal(h.t.leaked_bytes, 68);
	assert_int_equal(h.t.leaked_count, 2);
	assert_int_equal(h.sites[1].allocations, 3);
	assert_int_equal(h.sites[1].frees, 3);
	assert_int_equal(h.sites[1].temporary, 2);
	assert_int_equal(h.sites[1].live_count, 0);
	assert_int_equal(h.sites[1].max_live_bytes, 200);
	assert_int_equal(h.sites[1].min_size, 100);
	/* (2-1) + (5-4) + (6-3); the unseen free's time taken back out */
	assert_int_equal(h.sites[1].lifetime_us, 5);
	assert_int_equal(h.sites[2].allocations, 2);
	assert_int_equal(h.sites[2].frees, 1);
	assert_int_equal(h.sites[2].live_bytes, 60);
	assert_int_equal(h.sites[2].min_size, 50);
	assert_int_equal(h.sites[2].max_size, 60);
	assert_int_equal(h.sites[2].lifetime_us, (9 - 7) + (11 - 10)); /* live to the end (11) */
	assert_int_equal(h.size_hist[7], 3); /* 100 < 2^7 */
	heap_free(&h);
}

/* A site free merged before its allocation (two threads): counted at once,
 * its live decrement owed to the allocation. Live never goes below zero,
 * not by taking an address block's share of the site either, and the peak
 * is never raised by the allocation that pays. */
static void test_site_late_alloc(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 0);
	A(1, 0x10, 1000, 1, 1); /* the site's live: an address block's */
	SF(5, 100, 1, 2);
	assert_int_equal(h.t.live_bytes, 1000);
	assert_int_equal(h.sites[1].live_count, 1);
	assert_int_equal(h.sites[1].frees, 1);
	SA(4, 100, 1, 1);
	assert_int_equal(h.t.live_bytes, 1000);
	assert_int_equal(h.t.peak_bytes, 1000);
	F(6, 0x10, 1);
	assert_int_equal(h.t.live_bytes, 0);
	assert_int_equal(h.sites[1].live_bytes, 0);
	assert_int_equal(h.sites[1].live_count, 0);
	/* At a site with nothing live at all, twice over. */
	SF(12, 40, 2, 2);
	SF(13, 40, 2, 2);
	assert_int_equal(h.t.live_count, 0);
	SA(10, 40, 2, 1);
	SA(11, 40, 2, 1);
	assert_int_equal(h.t.live_count, 0);
	assert_int_equal(h.t.live_bytes, 0);
	/* Then the site goes on as usual. */
	SA(14, 40, 2, 1);
	assert_int_equal(h.t.live_bytes, 40);
	SF(15, 40, 2, 1);
	heap_finish(&h, HEAP_END_ENDED);
	assert_int_equal(h.t.allocations, 5);
	assert_int_equal(h.t.frees, 5);
	assert_int_equal(h.t.unknown_frees, 0);
	assert_int_equal(h.t.temporary, 1); /* SF(15) */
	assert_int_equal(h.t.peak_bytes, 1000);
	assert_int_equal(h.t.peak_count, 1);
	assert_int_equal(h.t.leaked_count, 0);
	assert_int_equal(h.sites[1].lifetime_us, (6 - 1) + (5 - 4));
	assert_int_equal(h.sites[2].lifetime_us, (12 - 10) + (13 - 11) + (15 - 14));
	assert_int_equal(h.sites[2].owed_count, 0);
	assert_int_equal(h.sites[2].owed_bytes, 0);
	assert_int_equal(h.sites[2].max_live_bytes, 40);
	heap_free(&h);
}

/* A rotated part read alone: a site free of a block from the part before
 * (its allocation never comes) and then new blocks of that site, which are
 * live: they came after the free (a larger seq), so they are not its
 * allocation. At the end the free is one of an unseen block. */
static void test_site_free_from_before(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 0);
	SF(5, 64, 3, 2);
	SA(6, 64, 3, 1);
	SA(7, 64, 3, 1);
	assert_int_equal(h.t.live_bytes, 128);
	assert_int_equal(h.t.peak_bytes, 128);
	SF(8, 64, 3, 2);
	assert_int_equal(h.t.live_bytes, 64);
	heap_finish(&h, HEAP_END_RUNNING);
	assert_int_equal(h.t.allocations, 2);
	assert_int_equal(h.t.frees, 1);
	assert_int_equal(h.t.unknown_frees, 1);
	assert_int_equal(h.t.live_now_count, 1);
	assert_int_equal(h.sites[3].lifetime_us, (8 - 6) + (8 - 7)); /* the live one to the end (8) */
	heap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_temporary_rule),
		cmocka_unit_test(test_late_free),
		cmocka_unit_test(test_late_alloc),
		cmocka_unit_test(test_exec_does_not_leak),
		cmocka_unit_test(test_churn_many),
		cmocka_unit_test(test_live_blocks),
		cmocka_unit_test(test_live_blocks_grow_wrap),
		cmocka_unit_test(test_sampled_weights),
		cmocka_unit_test(test_orphans_bounded),
		cmocka_unit_test(test_activity_sums),
		cmocka_unit_test(test_site_events),
		cmocka_unit_test(test_site_late_alloc),
		cmocka_unit_test(test_site_free_from_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
