/*
 * test_merge.c - the reader's merge beyond its memory limit (read/merge.c).
 *
 * A simulated agent: many threads share a table of blocks, free each
 * other's blocks, and get freed addresses back at once (a LIFO pool, as
 * glibc's bins do), so the same address passes between rings within a
 * round all the time. Its trace is read with the merge's memory limit
 * (rd_merge_mem_limit, a test seam) at its default and at tiny values that
 * make it spill on nearly every record: the events must come out in the
 * same order, and the heap model's counts must equal the simulation's own.
 * With the temporary file refused (rd_spill_max 0) the merge must say how
 * many events it delivered out of order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "model/tmodel.h"
#include "read/internal.h"
#include "trace_builder.h"

#define THREADS 24
#define SLOTS 256

struct truth {
	uint64_t allocations, frees, live, mmaps;
};

struct sim {
	uint64_t rng, seq;
	struct ldp_enc_state enc[THREADS];
	uint8_t *ring[THREADS];
	size_t ring_len[THREADS];
	int attached[THREADS];
	uint64_t slot[SLOTS], slot_size[SLOTS];
	uint64_t *pool; /* freed addresses, reused last-in first-out */
	size_t npool, pool_cap;
	uint64_t fresh;
};

static uint64_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static uint8_t *room(struct sim *s, int t)
{
	s->ring[t] = realloc(s->ring[t], s->ring_len[t] + 4096);
	if (!s->attached[t]) {
		s->ring_len[t] += ldp_enc_attach(s->ring[t] + s->ring_len[t], &s->enc[t], 1000 + (uint32_t)t);
		s->attached[t] = 1;
	}
	return s->ring[t] + s->ring_len[t];
}

/* Threads in use, and ties: most events then take the seq of the event
 * before them (another ring's, mostly) instead of the next one. */
static int sim_threads = THREADS, sim_ties;
/* Loops: runs of an allocation freed at once, of one size and stack (the
 * agent writes them as ALLOC3 SAME, FREE3 LAST: two bytes a pair). */
static int sim_pairs;

static uint64_t next_seq(struct sim *s)
{
	return sim_ties && rnd(s) % 4 ? s->seq : ++s->seq;
}

static void step(struct sim *s, struct truth *tr)
{
	int t = (int)(rnd(s) % (uint64_t)sim_threads);
	unsigned i = (unsigned)(rnd(s) % SLOTS);
	uint8_t *p = room(s, t);
	size_t n;
	if (sim_pairs && rnd(s) % 8 == 0) {
		unsigned pairs = 1 + (unsigned)(rnd(s) % 40), kind = (unsigned)(rnd(s) % 4);
		uint64_t size = 16 + rnd(s) % 64;
		uint32_t stack = 1 + (uint32_t)(rnd(s) % 3);
		n = 0;
		for (unsigned k = 0; k < pairs; k++) {
			n += ldp_enc_salloc(p + n, &s->enc[t], LDP_EV_ALLOC_MALLOC + kind, next_seq(s), size, stack);
			n += ldp_enc_sfree(p + n, &s->enc[t], next_seq(s), size, stack);
		}
		tr->allocations += pairs;
		tr->frees += pairs;
	} else if (rnd(s) % 97 == 0) {
		/* The mapped channel, and an op this reader does not know (skipped). */
		uint64_t a = 0x7f0000000000ull + (rnd(s) % 64) * 0x100000;
		n = ldp_enc_mmap(p, &s->enc[t], next_seq(s), a, 8192, 3, 0x22, 0, 1);
		n += ldp_enc_munmap(p + n, &s->enc[t], next_seq(s), a, 8192);
		p[n++] = 0x7e;
		p[n++] = 2;
		p[n++] = 0xaa;
		p[n++] = 0xbb;
		tr->mmaps++;
	} else if (s->slot[i]) {
		n = ldp_enc_free(p, &s->enc[t], next_seq(s), s->slot[i]);
		VEC_PUSH(s->pool, s->npool, s->pool_cap, s->slot[i]);
		s->slot[i] = 0;
		tr->frees++;
		tr->live--;
	} else {
		uint64_t a = s->npool ? s->pool[--s->npool] : (s->fresh += 64);
		uint64_t size = 16 + rnd(s) % 300;
		n = ldp_enc_alloc(p, &s->enc[t], LDP_EV_ALLOC_MALLOC, next_seq(s), a, size, 1 + (uint32_t)(rnd(s) % 3));
		tr->allocations++;
		tr->live++;
		if (rnd(s) % 50 == 0) /* leaked: never freed */
			;
		else
			s->slot[i] = a, s->slot_size[i] = size;
	}
	s->ring_len[t] += n;
}

/* One writer round: every ring's bytes (rings in a random order, some cut
 * in two records mid-event), then ROUND with the floor of this round. */
static void round_out(struct sim *s, struct tb *t, uint64_t round)
{
	uint8_t *buf = malloc(1 << 20);
	int order[THREADS];
	for (int i = 0; i < THREADS; i++)
		order[i] = i;
	for (int i = THREADS - 1; i > 0; i--) {
		int j = (int)(rnd(s) % (uint64_t)(i + 1)), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (int k = 0; k < THREADS; k++) {
		int r = order[k];
		if (!s->ring_len[r])
			continue;
		size_t cut = rnd(s) % 3 == 0 ? rnd(s) % s->ring_len[r] : 0;
		size_t at = 0;
		for (int piece = 0; piece < 2; piece++) {
			size_t to = piece == 0 && cut ? cut : s->ring_len[r];
			if (to == at)
				continue;
			size_t n = ldp_varint_put(buf, (uint64_t)r);
			memcpy(buf + n, s->ring[r] + at, to - at);
			tb_record(t, LDP_REC_EVENTS3, buf, n + to - at);
			at = to;
		}
		s->ring_len[r] = 0;
	}
	if (round == 7)
		tb_record(t, LDP_REC_SNAPSHOT, buf, ldp_enc_snapshot(buf, s->seq - 100, LDP_SNAP_API, "mid"));
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, round, round * 1000, s->seq + 1));
	if (round % 5 == 0)
		tb_frame(t);
	free(buf);
}

static void sim_trace(struct tb *t, uint64_t seed, unsigned rounds, unsigned steps, struct truth *tr)
{
	struct sim *s = calloc(1, sizeof *s);
	s->rng = seed;
	s->fresh = 0x100000;
	memset(tr, 0, sizeof *tr);
	uint8_t buf[256];
	tb_header(t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 4242);
	uintptr_t ips[3] = {0x400100, 0x400200, 0x400300};
	for (uint32_t id = 1; id <= 3; id++)
		tb_record(t, LDP_REC_STACK, buf, ldp_enc_stack(buf, id, 0, ips + id - 1, 1));
	for (unsigned r = 1; r <= rounds; r++) {
		for (unsigned i = 0; i < steps; i++)
			step(s, tr);
		round_out(s, t, r);
	}
	tb_record(t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, rounds * 1000 + 1));
	tb_frame(t);
	for (int i = 0; i < THREADS; i++)
		free(s->ring[i]);
	free(s->pool);
	free(s);
}

static void sim_trace_ties(struct tb *t, uint64_t seed, int threads, struct truth *tr)
{
	sim_threads = threads;
	sim_ties = 1;
	sim_trace(t, seed, 20, 3000, tr);
	sim_threads = THREADS;
	sim_ties = 0;
}

/* What the merge delivered, in order. */
struct delivered {
	uint64_t *v; /* seq, ptr, kind per event; a snapshot as seq | 1 << 63 */
	size_t n, cap;
};
static void on_ev(void *ctx, const struct rd_event *e)
{
	struct delivered *d = ctx;
	VEC_PUSH(d->v, d->n, d->cap, e->seq);
	VEC_PUSH(d->v, d->n, d->cap, e->ptr);
	VEC_PUSH(d->v, d->n, d->cap, (uint64_t)e->kind << 32 | e->tid);
}
static void on_snap(void *ctx, const struct rd_snapshot *x)
{
	struct delivered *d = ctx;
	VEC_PUSH(d->v, d->n, d->cap, x->seq | 1ull << 63);
}

static void read_order(const struct tb *t, struct delivered *d, struct rd_stats *st)
{
	memset(d, 0, sizeof *d);
	struct rd_visitor v = {.ctx = d, .event = on_ev, .snapshot = on_snap};
	struct rd_error err;
	assert_int_equal(rd_read_mem(t->buf, t->len, "sim.ldp", &v, st, &err), 0);
}

static void check_counts(const struct tb *t, const struct truth *tr)
{
	struct tmodel m;
	struct rd_error err;
	assert_int_equal(tm_load_mem(&m, t->buf, t->len, "sim.ldp", &err), 0);
	assert_int_equal(m.nsegs, 1);
	const struct heap_totals *h = &m.segs[0].heap.t;
	assert_int_equal(h->allocations, tr->allocations);
	assert_int_equal(h->frees, tr->frees);
	assert_int_equal(h->unknown_frees, 0);
	assert_int_equal(h->leaked_count, tr->live);
	assert_int_equal(m.segs[0].mapped.maps, tr->mmaps);
	assert_int_equal(m.nsnaps, 1);
	tm_free(&m);
}

/* Events come out in the same order whatever the memory limit, and the
 * counts are exact; with the limit tiny, nearly every record spills. */
static void test_spill_same_order(void **state)
{
	(void)state;
	struct tb t = {0};
	struct truth tr;
	sim_trace(&t, 0x1234567, 40, 3000, &tr);
	struct delivered want, got;
	struct rd_stats st;
	read_order(&t, &want, &st);
	/* In seq order across the 24 rings, the snapshot in its place. */
	uint64_t last = 0;
	size_t events = 0;
	for (size_t i = 0; i < want.n;) {
		if (want.v[i] >> 63) {
			assert_true((want.v[i] & ~(1ull << 63)) > last);
			i++;
			continue;
		}
		assert_true(want.v[i] > last);
		last = want.v[i];
		events++;
		i += 3;
	}
	assert_int_equal(events, tr.allocations + tr.frees + 2 * tr.mmaps);
	assert_int_equal(st.spills, 0);
	assert_int_equal(st.unordered_events, 0);
	assert_int_equal(st.late_events, 0);
	assert_true(st.max_queued > 3000); /* two rounds wait: the test is about them */
	check_counts(&t, &tr);

	const uint64_t limits[] = {0, 1, 100, 4096, 16384};
	for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
		rd_merge_mem_limit = limits[i];
		read_order(&t, &got, &st);
		assert_true(st.spills > 0);
		assert_int_equal(st.unordered_events, 0);
		assert_true(st.max_spill_bytes > 0);
		/* Runs read back give their space back: the file holds about
		 * two rounds, not the trace (40 rounds). */
		assert_true(st.max_spill_bytes * 8 < st.spilled_bytes);
		assert_int_equal(got.n, want.n);
		assert_memory_equal(got.v, want.v, want.n * sizeof *want.v);
		free(got.v);
		check_counts(&t, &tr);
	}
	free(want.v);
	tb_free(&t);
}

/* Runs and turns (merge.c: a ring's run up to the runner-up's next event,
 * two rings taking turns) deliver exactly what a sift for every event
 * does, ties included: here most events share their seq with another
 * ring's (as Lamport clocks of different shards do), and the order of
 * equal seqs is what the plain heap's sifts give. */
static void test_runs_same_order(void **state)
{
	(void)state;
	for (int threads = 2; threads <= THREADS; threads += THREADS - 2) {
		struct tb t = {0};
		struct truth tr;
		sim_trace_ties(&t, 0xfeed + (uint64_t)threads, threads, &tr);
		struct delivered plain, fast;
		struct rd_stats st;
		rd_merge_runs = 0;
		read_order(&t, &plain, &st);
		rd_merge_runs = 1;
		read_order(&t, &fast, &st);
		assert_int_equal(fast.n, plain.n);
		assert_true(plain.n > 3 * 20000);
		assert_memory_equal(fast.v, plain.v, plain.n * sizeof *plain.v);
		free(plain.v);
		free(fast.v);
		tb_free(&t);
	}
}

/* A spill file that cannot grow: the merge delivers what waits out of
 * place (what the merge did before it could spill), and says how many
 * events it did so with. The counts then go wrong: this simulation is one
 * where the order matters. */
/* A loop's pairs checked and queued as one op (merge.c, Q_PAIRS) come out
 * as they do op by op: the same events in the same order, among 24 rings'
 * address events, with ties, through the temporary file, with runs and
 * turns or without; the counts exact (without ties: the sim's ties give
 * one address two events of one seq, which an agent's never does). */
static void test_pairs_same_order(void **state)
{
	(void)state;
	const uint64_t mem_limit = rd_merge_mem_limit;
	sim_pairs = 1;
	for (int ties = 0; ties <= 1; ties++) {
		struct tb t = {0};
		struct truth tr;
		sim_ties = ties;
		sim_trace(&t, 0x5eed + (uint64_t)ties, 30, 3000, &tr);
		sim_ties = 0;
		struct delivered plain, fast;
		struct rd_stats st_plain, st_fast;
		rd_merge_pairs = 0;
		read_order(&t, &plain, &st_plain);
		rd_merge_pairs = 1;
		read_order(&t, &fast, &st_fast);
		assert_int_equal(fast.n, plain.n);
		assert_memory_equal(fast.v, plain.v, plain.n * sizeof *plain.v);
		assert_int_equal(st_fast.events, st_plain.events);
		assert_int_equal(st_fast.max_queued, st_plain.max_queued);
		assert_int_equal(st_fast.late_events, st_plain.late_events);
		/* Without ties the runs did wait as one op each: fewer bytes
		 * waited (with them, few seqs follow each other). */
		if (!ties) {
			assert_true(st_fast.max_queued_bytes * 2 < st_plain.max_queued_bytes);
			check_counts(&t, &tr);
		}
		free(fast.v);
		const uint64_t limits[] = {0, 100};
		for (size_t i = 0; i < 2; i++) {
			rd_merge_mem_limit = limits[i];
			rd_merge_runs = (int)i;
			read_order(&t, &fast, &st_fast);
			assert_true(st_fast.spills > 0);
			assert_int_equal(fast.n, plain.n);
			assert_memory_equal(fast.v, plain.v, plain.n * sizeof *plain.v);
			free(fast.v);
			if (!ties)
				check_counts(&t, &tr);
		}
		rd_merge_mem_limit = mem_limit;
		rd_merge_runs = 1;
		free(plain.v);
		tb_free(&t);
	}
	sim_pairs = 0;
}

static void test_spill_refused(void **state)
{
	(void)state;
	struct tb t = {0};
	struct truth tr;
	sim_trace(&t, 0x7654321, 20, 3000, &tr);
	rd_merge_mem_limit = 4096;
	rd_spill_max = 0;
	struct delivered got;
	struct rd_stats st;
	read_order(&t, &got, &st);
	assert_true(st.unordered_events > 0);
	assert_non_null(strstr(st.unordered_why, "would pass"));
	free(got.v);
	struct tmodel m;
	struct rd_error err;
	assert_int_equal(tm_load_mem(&m, t.buf, t.len, "sim.ldp", &err), 0);
	const struct heap_totals *h = &m.segs[0].heap.t;
	assert_true(h->frees != tr.frees || h->unknown_frees || h->leaked_count != tr.live);
	tm_free(&m);
	tb_free(&t);
}

/* A round far bigger than the limit, and no ROUND at all (a decompression
 * bomb): memory stays at the limit (plus one record), everything is
 * delivered in order. */
static void test_no_round_bounded(void **state)
{
	(void)state;
	struct tb t = {0};
	tb_header(&t, LDP_FORMAT_MAJOR, 0, 1);
	const uint64_t total = 300000;
	size_t cap = 1u << 16;
	uint8_t *buf = malloc(cap + 64);
	static struct ldp_enc_state enc;
	uint64_t done = 0;
	size_t biggest = 0;
	while (done < total) {
		size_t k = ldp_varint_put(buf, 0);
		uint64_t first = done;
		if (!done)
			k += ldp_enc_attach(buf + k, &enc, 7);
		for (; done < total && k + LDP_EV_MAX < cap; done++)
			k += ldp_enc_free(buf + k, &enc, done + 1, 0x1000 + 16 * done);
		tb_record(&t, LDP_REC_EVENTS3, buf, k);
		/* The merge queues a record's 1.7 frees (2 bytes each here) as
		 * 1.0 ops: op, seq delta, address delta, 3 bytes (+2 for the
		 * ATTACH and the first address). */
		size_t queued = 3 * (size_t)(done - first) + 4;
		if (queued > biggest)
			biggest = queued;
	}
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 1));
	tb_frame(&t);
	free(buf);
	rd_merge_mem_limit = 100000;
	struct delivered got;
	struct rd_stats st;
	read_order(&t, &got, &st);
	assert_int_equal(got.n, 3 * total);
	for (uint64_t i = 0; i < total; i++)
		assert_true(got.v[3 * i] == i + 1);
	assert_true(st.max_queued_bytes <= rd_merge_mem_limit + biggest);
	assert_true(st.spills >= 5);
	assert_int_equal(st.unordered_events, 0);
	free(got.v);
	tb_free(&t);
}

/* ---- site events (2.2) ---- */

static uint64_t default_mem_limit, default_spill_max; /* ldprof's own (main) */

struct site_ev {
	uint64_t seq, ptr, size;
	uint32_t stack, tid;
	uint8_t kind, op;
};
static const struct site_ev site_want[] = {
	{1, 0x1000, 16, 1, 100, RD_EV_ALLOC, LDP_EV_ALLOC_MALLOC},
	{2, 0, 100, 3, 101, RD_EV_ALLOC, LDP_EV_ALLOC_MALLOC},
	{3, 0, 24, 2, 100, RD_EV_ALLOC, LDP_EV_ALLOC_CALLOC},
	{4, 0, 24, 2, 100, RD_EV_FREE, LDP_EV_FREE},
	{5, 0x9000, 8, 1, 101, RD_EV_ALLOC, LDP_EV_ALLOC_MALLOC},
	{6, 0x1000, 0, 0, 100, RD_EV_FREE, LDP_EV_FREE},
	{7, 0, 100, 3, 101, RD_EV_FREE, LDP_EV_FREE},
	{8, 0x1040, 32, 1, 100, RD_EV_ALLOC, LDP_EV_ALLOC_MALLOC},
	{9, 0, 48, 2, 100, RD_EV_ALLOC, LDP_EV_ALLOC_MALLOC},
	{10, 0, 48, 2, 101, RD_EV_FREE, LDP_EV_FREE},
	{11, 0x9000, 0, 0, 101, RD_EV_FREE, LDP_EV_FREE},
	{21, 0, 100, 3, 102, RD_EV_ALLOC, LDP_EV_ALLOC_ALIGNED},
	{22, 0, 100, 3, 102, RD_EV_FREE, LDP_EV_FREE},
};

/* An EVENTS4 record of ring `ring`'s bytes, cut in two at `cut` (0: whole). */
static void events4(struct tb *t, uint32_t ring, const uint8_t *p, size_t n, size_t cut)
{
	uint8_t buf[512];
	for (size_t at = 0; at < n;) {
		size_t to = cut && at < cut ? cut : n;
		size_t k = ldp_varint_put(buf, ring);
		memcpy(buf + k, p + at, to - at);
		tb_record(t, LDP_REC_EVENTS4, buf, k + to - at);
		at = to;
	}
}

/* Two rings mixing site and address events (ring 0's record cut mid-event),
 * a RING record that must match ring 1's state, free_stack included, and
 * one that seeds ring 2's; site_want is what the merge delivers. */
static void site_trace(struct tb *t, uint32_t ring1_free_stack)
{
	uint8_t buf[256], e[256];
	size_t n;
	tb_header(t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 4242);
	uintptr_t ips[3] = {0x400100, 0x400200, 0x400300};
	for (uint32_t id = 1; id <= 3; id++)
		tb_record(t, LDP_REC_STACK, buf, ldp_enc_stack(buf, id, 0, ips + id - 1, 1));
	struct tb_ring r0, r1;
	n = tb_attach(e, &r0, 100);
	n += tb_alloc2(e + n, &r0, 0, 1, 0x1000, 16, 1);
	n += tb_alloc3(e + n, &r0, 1, 3, 24, 2);
	n += tb_free3(e + n, &r0, 4, 24, 2);
	n += tb_free2(e + n, &r0, 6, 0x1000); /* prev_ptr: still ALLOC2's */
	n += tb_alloc2(e + n, &r0, 0, 8, 0x1040, 32, 1);
	n += tb_alloc3(e + n, &r0, 0, 9, 48, 2);
	events4(t, 0, e, n, 9);
	n = tb_attach(e, &r1, 101);
	n += tb_site_plain(e + n, &r1, LDP_EV_SALLOC_MALLOC, 2, 100, 3);
	n += tb_alloc2(e + n, &r1, 0, 5, 0x9000, 8, 1);
	n += tb_site_plain(e + n, &r1, LDP_EV_SFREE, 7, 100, 3);
	n += tb_free3(e + n, &r1, 10, 48, 2);
	n += tb_free2(e + n, &r1, 11, 0x9000);
	events4(t, 1, e, n, 0);
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, 1, 1000, 12));
	tb_frame(t);
	/* ring tid seq ptr nalloc stack | nfreed | nrecent (age ptr cls) | free_stack site_stack site_size */
	uint64_t ring1[] = {1, 101, 11, 0x9000, 1, 1, 0, 1, 1, 0, ldp_size_class(8), ring1_free_stack, 0, 0};
	uint64_t ring2[] = {2, 102, 20, 0, 0, 3, 0, 0, 3, 0, 0};
	n = 0;
	for (size_t i = 0; i < sizeof ring1 / sizeof *ring1; i++)
		n += ldp_varint_put(buf + n, ring1[i]);
	tb_record(t, LDP_REC_RING, buf, n);
	n = 0;
	for (size_t i = 0; i < sizeof ring2 / sizeof *ring2; i++)
		n += ldp_varint_put(buf + n, ring2[i]);
	tb_record(t, LDP_REC_RING, buf, n);
	struct tb_ring r2 = {.seq = 20, .stack = 3, .free_stack = 3}; /* as the RING says */
	n = tb_alloc3(e, &r2, 3, 21, 100, 3);
	n += tb_free3(e + n, &r2, 22, 100, 3);
	assert_int_equal(e[0], LDP_EV_ALLOC3 | 3 | LDP_EV_ALLOC3_SEQ1);
	assert_int_equal(e[3], LDP_EV_FREE3 | LDP_EV_FREE3_SEQ1);
	events4(t, 2, e, n, 0);
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, 2, 2000, 23));
	tb_record(t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 3000));
	tb_frame(t);
}

struct site_log {
	struct site_ev ev[64];
	size_t n, raw;
};
static void site_on_ev(void *ctx, const struct rd_event *e)
{
	struct site_log *l = ctx;
	assert_true(l->n < 64);
	l->ev[l->n++] = (struct site_ev){e->seq, e->ptr, e->size, e->stack, e->tid, e->kind, e->op};
}
static void site_on_raw(void *ctx, uint32_t ring, uint32_t tid, const struct rd_event *e)
{
	(void)ring, (void)tid;
	((struct site_log *)ctx)->raw += e != NULL;
}

/* The merge delivers site events with ptr 0, their size and stack, in seq
 * order among address events; the same with everything spilled, without
 * runs, and on the path a dump takes (raw_event: no fast path). */
static void test_site_events(void **state)
{
	(void)state;
	struct tb t = {0};
	site_trace(&t, 2);
	const size_t nwant = sizeof site_want / sizeof *site_want;
	for (int how = 0; how < 4; how++) {
		rd_merge_mem_limit = how == 1 ? 0 : default_mem_limit;
		rd_merge_runs = how != 2;
		struct site_log l = {0};
		struct rd_visitor v = {.ctx = &l, .event = site_on_ev, .raw_event = how == 3 ? site_on_raw : NULL};
		struct rd_stats st;
		struct rd_error err;
		if (rd_read_mem(t.buf, t.len, "site.ldp", &v, &st, &err))
			fail_msg("%s", err.msg);
		assert_int_equal(l.n, nwant);
		for (size_t i = 0; i < nwant; i++)
			if (memcmp(&l.ev[i], &site_want[i], sizeof site_want[i]))
				fail_msg("how %d, event %zu: seq %llu ptr %llx size %llu stack %u tid %u kind %u op %x", how,
					 i, (unsigned long long)l.ev[i].seq, (unsigned long long)l.ev[i].ptr,
					 (unsigned long long)l.ev[i].size, l.ev[i].stack, l.ev[i].tid, l.ev[i].kind,
					 l.ev[i].op);
		assert_int_equal(l.raw, how == 3 ? nwant : 0);
		assert_int_equal(st.late_events, 0);
		assert_true(how != 1 || st.spills > 0);
	}
	/* The heap model's figures from them. */
	struct tmodel m;
	struct rd_error err;
	assert_int_equal(tm_load_mem(&m, t.buf, t.len, "site.ldp", &err), 0);
	const struct heap_totals *h = &m.segs[0].heap.t;
	assert_int_equal(h->allocations, 7);
	assert_int_equal(h->frees, 6);
	assert_int_equal(h->unknown_frees, 0);
	assert_int_equal(h->temporary, 3);
	assert_int_equal(h->leaked_count, 1);
	assert_int_equal(h->leaked_bytes, 32);
	assert_int_equal(h->peak_bytes, 16 + 100 + 24);
	tm_free(&m);
	tb_free(&t);
}

/* A RING record whose free_stack is not what its ring's FREE3s gave. */
static void test_site_ring_differs(void **state)
{
	(void)state;
	struct tb t = {0};
	site_trace(&t, 3);
	struct site_log l = {0};
	struct rd_visitor v = {.ctx = &l, .event = site_on_ev};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(rd_read_mem(t.buf, t.len, "site.ldp", &v, &st, &err), -1);
	assert_non_null(strstr(err.msg, "RING record differs"));
	tb_free(&t);
}

/* Every test starts from ldprof's own limits. */
static int restore_limits(void **state)
{
	(void)state;
	rd_merge_mem_limit = default_mem_limit;
	rd_spill_max = default_spill_max;
	rd_merge_runs = 1;
	rd_merge_pairs = 1;
	return 0;
}

int main(void)
{
	default_mem_limit = rd_merge_mem_limit;
	default_spill_max = rd_spill_max;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_spill_same_order, restore_limits),
		cmocka_unit_test_teardown(test_spill_refused, restore_limits),
		cmocka_unit_test_teardown(test_no_round_bounded, restore_limits),
		cmocka_unit_test_teardown(test_runs_same_order, restore_limits),
		cmocka_unit_test_teardown(test_pairs_same_order, restore_limits),
		cmocka_unit_test_teardown(test_site_events, restore_limits),
		cmocka_unit_test_teardown(test_site_ring_differs, restore_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
