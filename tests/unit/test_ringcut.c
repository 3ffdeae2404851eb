/*
 * test_ringcut.c - rotation's view of a ring (agent/ringcut.c) and the RING
 * record: following a ring's bytes gives exactly the state the encoders left
 * (delta bases and the whole 1.7 model), across the ring's wrap and for
 * every op form; the RING record through the agent's encoder and the
 * reader's decoder; a part read alone decodes its events as the whole run
 * does, frees by index and reuses of blocks from the part before included;
 * a RING that differs from the events before it is a malformed trace; and
 * part names as the reader sees them.
 *
 * The events come from a simulated thread using the agent's own encoders:
 * a live set larger than the recent table (so frees are by index or, for
 * blocks that left it, by address), a third of the blocks written as 2.2
 * site events (no address: the agent's live-block map held them), addresses reused last-freed-first per
 * size class as glibc's tcache does (so allocations reuse), the mapped
 * channel now and then, and new owners of the ring (ATTACH).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "rawmem.h"
#include "read/internal.h"
#include "trace_builder.h"

#define RING 256u
#define LIVE_MAX 1500
#define POOL 64

struct sim {
	uint64_t rng, seq, fresh, nev;
	struct ldp_enc_state enc;
	uint64_t live[LIVE_MAX], live_size[LIVE_MAX], live_at[LIVE_MAX]; /* address, size, event number of its allocation */
	uint32_t live_stack[LIVE_MAX];
	uint8_t live_site[LIVE_MAX]; /* written as a 2.2 site allocation (the agent's map held it) */
	size_t nlive;
	uint64_t pool[LDP_SIZE_CLASSES][POOL]; /* freed addresses per class, last freed on top */
	unsigned npool[LDP_SIZE_CLASSES];
	uint64_t freed_at[LDP_SIZE_CLASSES]; /* event number of the free that set enc.m.freed[class] */
	/* op forms written */
	unsigned by_index, by_addr, reuse, alloc_addr, mapped, site_alloc, site_free, site_last, site_same;
	/* since `mark` (a cut): frees by index of blocks allocated before it, reuses of blocks freed before it */
	uint64_t mark;
	unsigned index_across, reuse_across;
};

static uint64_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static struct sim *sim_new(uint64_t seed)
{
	struct sim *s = calloc(1, sizeof *s);
	s->rng = seed;
	s->seq = 1000;
	s->fresh = 0x7f0000001000ull;
	return s;
}

/* A new owner: every block of the old one is forgotten. */
static size_t sim_attach(struct sim *s, uint8_t *dst, uint32_t tid)
{
	s->nlive = 0;
	memset(s->npool, 0, sizeof s->npool);
	return ldp_enc_attach(dst, &s->enc, tid);
}

/* One event into dst (LDP_EV_MAX bytes). */
static size_t sim_step(struct sim *s, uint8_t *dst)
{
	s->nev++;
	unsigned form = (unsigned)(rnd(s) % 16);
	if (form == 0) /* the floor's next quanta: EVENTS3's quanta form */
		s->seq = ((s->seq >> LDP_SEQ_QUANTUM_SHIFT) + 1 + rnd(s) % 3) << LDP_SEQ_QUANTUM_SHIFT;
	else if (form != 1) /* 1: the same seq again (two threads' replayed early events) */
		s->seq += rnd(s) % 4 ? 1 : 1 + rnd(s) % 5000; /* mostly +1: the SEQ1 forms */
	if (rnd(s) % 61 == 0) {
		uint64_t a = 0x7e0000000000ull + (rnd(s) % 64) * 0x100000;
		s->mapped++;
		switch (rnd(s) % 3) {
		case 0: return ldp_enc_mmap(dst, &s->enc, s->seq, a, 8192, 3, 0x22, 0, 5);
		case 1: return ldp_enc_mremap(dst, &s->enc, s->seq, a, 8192, a + (1u << 22), 16384, 5);
		default: return ldp_enc_munmap(dst, &s->enc, s->seq, a, 4096);
		}
	}
	int do_free = s->nlive == LIVE_MAX || (s->nlive > 0 && rnd(s) % 100 < (s->nlive > 1000 ? 55 : 45));
	if (do_free) {
		/* Mostly a recent block (still in the table), sometimes any. */
		size_t i = rnd(s) % 3 ? s->nlive - 1 - rnd(s) % (s->nlive < 50 ? s->nlive : 50) : rnd(s) % s->nlive;
		uint64_t a = s->live[i], at = s->live_at[i], size = s->live_size[i];
		uint32_t stack = s->live_stack[i];
		int site = s->live_site[i];
		unsigned cls = ldp_size_class(size);
		s->live[i] = s->live[s->nlive - 1];
		s->live_size[i] = s->live_size[s->nlive - 1];
		s->live_at[i] = s->live_at[s->nlive - 1];
		s->live_stack[i] = s->live_stack[s->nlive - 1];
		s->live_site[i] = s->live_site[s->nlive - 1];
		s->nlive--;
		if (site) {
			size_t n = ldp_enc_sfree(dst, &s->enc, s->seq, size, stack);
			s->site_free++;
			s->site_last += (dst[0] & LDP_EV_FREE3_LAST) != 0;
			return n;
		}
		size_t n = ldp_enc_free(dst, &s->enc, s->seq, a);
		if (dst[0] & LDP_EV_FREE2_INDEX) {
			s->by_index++;
			s->index_across += at < s->mark && s->nev >= s->mark;
			s->freed_at[cls] = s->nev;
		} else {
			s->by_addr++;
		}
		if (s->npool[cls] < POOL)
			s->pool[cls][s->npool[cls]++] = a;
		return n;
	}
	uint64_t size = 16 + 16 * (rnd(s) % 40) + rnd(s) % 16;
	unsigned cls = ldp_size_class(size);
	uint64_t a = s->npool[cls] && rnd(s) % 4 ? s->pool[cls][--s->npool[cls]] : (s->fresh += 48 + 16 * (rnd(s) % 4));
	uint32_t stack = 1 + (uint32_t)(rnd(s) % 3);
	unsigned op = LDP_EV_ALLOC_MALLOC + (unsigned)(rnd(s) % 4);
	int site = rnd(s) % 3 == 0;
	if (site && rnd(s) % 4 == 0) { /* the last site allocation again: a loop's (2.3's SAME) */
		size = s->enc.m.site_size ? s->enc.m.site_size : size;
		stack = s->enc.m.site_size ? s->enc.m.site_stack : stack;
	}
	size_t n = site ? ldp_enc_salloc(dst, &s->enc, op, s->seq, size, stack)
			: ldp_enc_alloc(dst, &s->enc, op, s->seq, a, size, stack);
	if (site) {
		s->site_alloc++;
		s->site_same += (dst[0] & LDP_EV_ALLOC3_SAME) != 0;
	} else if (dst[0] & LDP_EV_ALLOC2_REUSE) {
		s->reuse++;
		s->reuse_across += s->freed_at[cls] < s->mark && s->nev >= s->mark;
	} else {
		s->alloc_addr++;
	}
	s->live[s->nlive] = a;
	s->live_size[s->nlive] = size;
	s->live_stack[s->nlive] = stack;
	s->live_site[s->nlive] = (uint8_t)site;
	s->live_at[s->nlive++] = s->nev;
	return n;
}

/* Write an encoded event at ring position pos (wrapping), as the producer does. */
static uint64_t put(uint8_t *ring, uint64_t pos, const uint8_t *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ring[(pos + i) & (RING - 1)] = ev[i];
	return pos + n;
}

static void assert_cut_is(const struct ldp_ringcut *cut, const struct ldp_enc_state *enc, uint32_t tid)
{
	assert_true(cut->attached);
	assert_true(cut->seq == enc->seq && cut->ptr == enc->ptr && cut->tid == tid);
	assert_true(ldp_model_equal(&cut->model->m, &enc->m));
}

static void test_follow_every_op_across_the_wrap(void **state)
{
	(void)state;
	struct sim *s = sim_new(0x9E3779B97F4A7C15ull);
	uint8_t ring[RING], ev[LDP_EV_MAX];
	struct ldp_ringcut cut = {0};
	uint64_t head = 200, tail = 200; /* the stream starts near the end of the buffer */
	uint32_t tid = 4242;
	head = put(ring, head, ev, sim_attach(s, ev, tid));
	unsigned drains = 0;
	for (unsigned i = 0; i < 30000; i++) {
		if (i % 10000 == 9999) /* a new owner of the ring */
			head = put(ring, head, ev, sim_attach(s, ev, ++tid));
		size_t n = sim_step(s, ev);
		assert_true(n <= LDP_EV_MAX);
		head = put(ring, head, ev, n);
		if (rnd(s) % 29 == 0 || head - tail > RING - LDP_EV_MAX) {
			/* the writer drains now and then, at event boundaries */
			ldp_ringcut_follow(&cut, ring, RING - 1, tail, head);
			tail = head;
			assert_cut_is(&cut, &s->enc, tid);
			drains++;
		}
	}
	ldp_ringcut_follow(&cut, ring, RING - 1, tail, head);
	assert_cut_is(&cut, &s->enc, tid);
	/* Every form was written: the model was exercised, not only the delta bases. */
	assert_true(s->by_index > 1000 && s->by_addr > 100 && s->reuse > 1000 && s->alloc_addr > 1000 && s->mapped > 100);
	assert_true(s->site_alloc > 1000 && s->site_free > 1000 && s->site_last > 50 && s->site_last < s->site_free);
	assert_true(s->site_same > 100 && s->site_same < s->site_alloc);
	assert_true(drains > 1000);
	/* A new owner: ATTACH resets everything. */
	tail = head;
	head = put(ring, head, ev, sim_attach(s, ev, 77));
	ldp_ringcut_follow(&cut, ring, RING - 1, tail, head);
	assert_cut_is(&cut, &s->enc, 77);
	assert_int_equal(cut.model->m.nalloc, 0);
	ldp_raw_free(cut.model);
	free(s);
}

/* Follow a whole linear stream into a fresh cut. */
static void follow_linear(struct ldp_ringcut *cut, const uint8_t *p, size_t n)
{
	/* as a ring of the stream's size rounded up to a power of two */
	size_t size = 1;
	while (size < n)
		size <<= 1;
	uint8_t *ring = calloc(1, size);
	memcpy(ring, p, n);
	ldp_ringcut_follow(cut, ring, (uint32_t)(size - 1), 0, n);
	free(ring);
}

static void test_ring_record_round_trip(void **state)
{
	(void)state;
	struct sim *s = sim_new(12345);
	size_t cap = 1 << 20, len = 0;
	uint8_t *stream = malloc(cap);
	len += sim_attach(s, stream, 4242);
	for (unsigned i = 0; i < 20000; i++)
		len += sim_step(s, stream + len);
	struct ldp_ringcut cut = {0};
	follow_linear(&cut, stream, len);
	assert_cut_is(&cut, &s->enc, 4242);
	static uint8_t b[LDP_ENC_RING_MAX];
	size_t n = ldp_enc_ring(b, 12, &cut);
	assert_true(n <= LDP_ENC_RING_MAX);
	uint64_t ring;
	struct rd_ring_dec st;
	const char *why = NULL;
	assert_int_equal(rd_decode_ring_state(b, n, &ring, &st, &why), 0);
	assert_true(ring == 12 && st.attached && st.tid == 4242 && st.seq == s->enc.seq && st.ptr == s->enc.ptr);
	assert_true(ldp_model_equal(&st.model->m, &s->enc.m));
	/* every block in the table is found by its index, as a free would name it */
	unsigned held = 0;
	for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++) {
		const struct ldp_model_slot *e = &s->enc.m.recent[i];
		if (!e->ptr)
			continue;
		held++;
		struct ldp_model_slot *f = ldp_model_dec_find(st.model, e->idx);
		assert_non_null(f);
		assert_true(f->ptr == e->ptr);
	}
	assert_true(held > 300);
	rd_ring_dec_fini(&st);
	/* the short form the dump uses */
	uint64_t seq, ptr;
	uint32_t tid;
	assert_int_equal(rd_decode_ring(b, n, &ring, &tid, &seq, &ptr, &why), 0);
	assert_true(tid == 4242 && seq == s->enc.seq && ptr == s->enc.ptr);
	/* every prefix is short of a field, but the one that ends with 2.1's
	 * fields: a 2.1 record, whose 2.2 fields read as 0 */
	uint8_t tmp[LDP_VARINT_MAX];
	size_t n21 = n - ldp_varint_put(tmp, s->enc.m.free_stack) - ldp_varint_put(tmp, s->enc.m.site_stack) -
		     ldp_varint_put(tmp, s->enc.m.site_size);
	assert_true(s->enc.m.site_size != 0);
	for (size_t k = 0; k < n; k++) {
		int rc = rd_decode_ring_state(b, k, &ring, &st, &why);
		assert_int_equal(rc, k == n21 ? 0 : -1);
		if (k == n21) {
			assert_true(st.model->m.site_size == 0 && st.model->m.free_stack == 0);
			rd_ring_dec_fini(&st);
		}
		assert_null(st.model);
	}
	/* fields a later version appends are skipped */
	b[n] = 0x05;
	assert_int_equal(rd_decode_ring_state(b, n + 1, &ring, &st, &why), 0);
	rd_ring_dec_fini(&st);

	/* The largest model the encoder can have fits LDP_ENC_RING_MAX: every
	 * class holding a block, every slot full, ages and address deltas at
	 * their longest. */
	struct ldp_ringcut big = {.seq = UINT64_MAX, .ptr = 0x10, .tid = UINT32_MAX, .attached = 1};
	big.model = calloc(1, sizeof *big.model);
	big.model->m.nalloc = UINT32_MAX;
	big.model->m.stack = UINT32_MAX;
	for (unsigned i = 0; i < LDP_SIZE_CLASSES; i++)
		big.model->m.freed[i] = i % 2 ? 0x10 : 0x8000000000000010ull;
	for (uint64_t k = 0; k < 2 * LDP_RECENT_SLOTS; k++) {
		uint64_t a = (k % 2 ? 0x8000000000000000ull : 0) | k << 4;
		struct ldp_model_slot *e = &big.model->m.recent[ldp_recent_slot(a)];
		*e = (struct ldp_model_slot){a ? a : 0x10, 0, LDP_SIZE_CLASSES - 1};
	}
	unsigned full = 0;
	for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++)
		full += big.model->m.recent[i].ptr != 0;
	assert_int_equal(full, LDP_RECENT_SLOTS);
	n = ldp_enc_ring(b, (1u << 20) - 1, &big);
	assert_true(n <= LDP_ENC_RING_MAX);
	assert_true(n > LDP_ENC_RING_MAX * 3 / 4); /* and the bound is not far off */
	assert_int_equal(rd_decode_ring_state(b, n, &ring, &st, &why), 0);
	assert_true(ldp_model_equal(&st.model->m, &big.model->m));
	rd_ring_dec_fini(&st);
	free(big.model);
	ldp_raw_free(cut.model);
	free(stream);
	free(s);
}

/* Records a reader must refuse: blocks out of slot order (or two in one
 * slot), a class or an age out of range, freed classes out of order. */
static void test_ring_record_malformed(void **state)
{
	(void)state;
	uint8_t b[128];
	uint64_t ring;
	struct rd_ring_dec st;
	const char *why = NULL;
	struct {
		uint64_t v[16];
		unsigned n;
		int ok;
	} cases[] = {
		/* ring tid seq ptr nalloc stack | nfreed (dcls ptr)* | nrecent (age ptr cls)* */
		{{1, 7, 100, 0x1000, 10, 2, 0, 1, 3, 0, 5}, 11, 0},           /* ok: one block, age 3 */
		{{1, 7, 100, 0x1000, 10, 2, 0, 1, 0, 0, 5}, 11, -1},          /* age 0 */
		{{1, 7, 100, 0x1000, 10, 2, 0, 1, 3, 0, 131}, 11, -1},        /* class out of range */
		{{1, 7, 100, 0x1000, 10, 2, 0, 2, 3, 0, 5, 4, 0, 5}, 14, -1}, /* the same block (slot) twice */
		{{1, 7, 100, 0x1000, 10, 2, 2, 5, 0, 0, 2, 0}, 12, -1},       /* freed classes not increasing */
		{{1, 7, 100, 0x1000, 10, 2, 2, 5, 0, 1, 2, 0}, 12, 0},        /* ok: classes 5 and 6 */
		{{1, 7, 100, 0x1000, 10, 2, 1, 131, 0, 0}, 10, -1},           /* freed class out of range */
		{{1, 7, 100, 0, 10, 2, 0, 1, 3, 0, 5}, 11, -1},               /* a block at address 0 */
		{{1, 7, 100, 0x1000, 1ull << 32, 2, 0, 0}, 8, -1},            /* nalloc past 32 bits */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n = 0;
		for (unsigned k = 0; k < cases[i].n; k++)
			n += ldp_varint_put(b + n, cases[i].v[k]);
		int rc = rd_decode_ring_state(b, n, &ring, &st, &why);
		if (rc != cases[i].ok)
			fail_msg("case %zu: %d (%s)", i, rc, rc ? why : "accepted");
		rd_ring_dec_fini(&st);
	}
}

/* ---- parts through the reader ---- */

struct evlog {
	struct rd_event *ev;
	size_t n, cap;
};

static void log_event(void *ctx, const struct rd_event *e)
{
	struct evlog *l = ctx;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->ev = realloc(l->ev, l->cap * sizeof *l->ev);
	}
	l->ev[l->n++] = *e;
}

static void header_field(uint8_t *p, size_t *n, unsigned tag, uint64_t v)
{
	uint8_t b[LDP_VARINT_MAX];
	size_t k = ldp_varint_put(b, v);
	*n += ldp_varint_put(p + *n, tag);
	*n += ldp_varint_put(p + *n, k);
	memcpy(p + *n, b, k);
	*n += k;
}

/* A part's segment header: the same image (pid, proc_start, start time) in every part. */
static void part_header(struct tb *t, unsigned part)
{
	uint8_t p[256];
	size_t n = LDP_FILE_MAGIC_LEN;
	memcpy(p, LDP_FILE_MAGIC, LDP_FILE_MAGIC_LEN);
	p[n++] = LDP_FORMAT_MAJOR;
	p[n++] = 0;
	p[n++] = LDP_FORMAT_MINOR;
	p[n++] = 0;
	header_field(p, &n, LDP_HDR_PID, 4242);
	header_field(p, &n, LDP_HDR_PROC_START, 777);
	header_field(p, &n, LDP_HDR_START_MONOTONIC, 123456789);
	header_field(p, &n, LDP_HDR_PART, part);
	if (part)
		header_field(p, &n, LDP_HDR_CONTINUES, 1);
	header_field(p, &n, LDP_HDR_PART_START, part * 1000);
	tb_le32(t, LDP_SEGMENT_MAGIC);
	tb_le32(t, (uint32_t)n);
	tb_raw(t, p, n);
}

static void stacks(struct tb *t)
{
	uint8_t b[256];
	for (uint32_t id = 1; id <= 5; id++) { /* the sim uses 1..3 (heap), 5 (mapped) */
		uintptr_t ips[2] = {0x400000 + id, 0x400100};
		tb_record(t, LDP_REC_STACK, b, ldp_enc_stack(b, id, 0, ips, 2));
	}
}

static void events_record(struct tb *t, uint32_t ring, const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n + LDP_VARINT_MAX);
	size_t k = ldp_varint_put(b, ring);
	memcpy(b + k, p, n);
	tb_record(t, LDP_REC_EVENTS3, b, k + n);
	free(b);
}

static int read_into(const uint8_t *p, size_t n, struct evlog *l, struct rd_error *err)
{
	struct rd_visitor v = {.event = log_event, .ctx = l};
	struct rd_stats st;
	memset(&st, 0, sizeof st);
	free(l->ev);
	memset(l, 0, sizeof *l);
	return rd_read_mem(p, n, "parts.ldp", &v, &st, err);
}

/*
 * One thread's events cut in two parts as the writer cuts them: part 1
 * starts with the RING record ringcut.c makes from part 0's bytes. Part 1
 * read alone gives the very events it gives read after part 0, though
 * many of its frees name blocks of part 0 by index and many allocations
 * reuse blocks part 0 freed; read together, the RING is checked against
 * the state part 0's events give, and one that differs is refused.
 */
static void test_part_alone_reads_as_in_the_run(void **state)
{
	(void)state;
	struct sim *s = sim_new(777);
	size_t cap = 1 << 20, n0 = 0, n1 = 0;
	uint8_t *e0 = malloc(cap), *e1 = malloc(cap);
	n0 += sim_attach(s, e0, 4242);
	for (unsigned i = 0; i < 6000; i++)
		n0 += sim_step(s, e0 + n0);
	struct ldp_ringcut cut = {0};
	follow_linear(&cut, e0, n0);
	s->mark = s->nev + 1; /* part 1's events from here */
	for (unsigned i = 0; i < 6000; i++)
		n1 += sim_step(s, e1 + n1);
	assert_true(s->index_across > 100 && s->reuse_across >= 10);

	static uint8_t ringrec[LDP_ENC_RING_MAX];
	uint8_t b[64];
	struct tb p0 = {0}, p1 = {0};
	part_header(&p0, 0);
	stacks(&p0);
	events_record(&p0, 3, e0, n0);
	tb_record(&p0, LDP_REC_ROUND, b, ldp_enc_round(b, 1, 1000, 0));
	tb_frame(&p0);
	struct tb p1_body = {0};
	stacks(&p1_body); /* re-declared, as the writer does */
	size_t body_at = p1_body.rlen;
	tb_record(&p1_body, LDP_REC_RING, ringrec, ldp_enc_ring(ringrec, 3, &cut));
	size_t ring_at = body_at, ring_end = p1_body.rlen;
	events_record(&p1_body, 3, e1, n1);
	tb_record(&p1_body, LDP_REC_ROUND, b, ldp_enc_round(b, 2, 2000, 0));
	tb_record(&p1_body, LDP_REC_END, b, ldp_enc_end(b, LDP_END_EXIT, 2000));
	part_header(&p1, 1);
	tb_frame_bytes(&p1, p1_body.rec, p1_body.rlen);
	tb_frame(&p1);

	struct tb run = {0};
	tb_raw(&run, p0.buf, p0.len);
	tb_raw(&run, p1.buf, p1.len);
	struct evlog all = {0}, alone = {0};
	struct rd_error err;
	if (read_into(run.buf, run.len, &all, &err))
		fail_msg("%s", err.msg);
	if (read_into(p1.buf, p1.len, &alone, &err))
		fail_msg("%s", err.msg);
	assert_true(all.n > alone.n && alone.n > 5000);
	const struct rd_event *tail = all.ev + (all.n - alone.n);
	for (size_t i = 0; i < alone.n; i++) {
		const struct rd_event *a = &tail[i], *b2 = &alone.ev[i];
		if (a->seq != b2->seq || a->ptr != b2->ptr || a->size != b2->size || a->stack != b2->stack ||
		    a->kind != b2->kind || a->op != b2->op || a->tid != b2->tid || a->old_ptr != b2->old_ptr)
			fail_msg("event %zu of part 1: seq %llu ptr %llx alone, seq %llu ptr %llx in the run", i,
				 (unsigned long long)b2->seq, (unsigned long long)b2->ptr, (unsigned long long)a->seq,
				 (unsigned long long)a->ptr);
	}

	/* A RING that says other than part 0's events: refused when read as a
	 * run (a writer bug or a damaged file, not a state to decode with). */
	struct ldp_model_dec *saved = malloc(sizeof *saved);
	memcpy(saved, cut.model, sizeof *saved);
	for (int how = 0; how < 4; how++) {
		memcpy(cut.model, saved, sizeof *saved);
		struct ldp_ringcut bad = cut;
		if (how == 0)
			bad.seq++;
		else if (how == 1)
			bad.model->m.nalloc++;
		else if (how == 2)
			bad.model->m.stack ^= 1;
		else
			for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++)
				if (bad.model->m.recent[i].ptr) {
					bad.model->m.recent[i].ptr = 0; /* a block forgotten */
					break;
				}
		struct tb q = {0};
		tb_frame_bytes(&q, p1_body.rec, ring_at);
		tb_record(&q, LDP_REC_RING, ringrec, ldp_enc_ring(ringrec, 3, &bad));
		tb_frame_bytes(&q, p1_body.rec + ring_end, p1_body.rlen - ring_end);
		struct tb r = {0};
		tb_raw(&r, p0.buf, p0.len);
		part_header(&r, 1);
		tb_frame_bytes(&r, q.rec, q.rlen);
		tb_frame(&r);
		assert_int_equal(read_into(r.buf, r.len, &all, &err), -1);
		assert_non_null(strstr(err.msg, "RING record differs"));
		tb_free(&q);
		tb_free(&r);
	}
	free(saved);
	free(all.ev);
	free(alone.ev);
	tb_free(&p0);
	tb_free(&p1);
	tb_free(&p1_body);
	tb_free(&run);
	ldp_raw_free(cut.model);
	free(e0);
	free(e1);
	free(s);
}

static void test_part_names(void **state)
{
	(void)state;
	char out[256], agent[256];
	struct {
		const char *base;
		unsigned k;
		const char *want;
	} cases[] = {
		{"/t/app.ldp", 0, "/t/app.ldp"},        {"/t/app.ldp", 3, "/t/app.3.ldp"},
		{"/t/app.4242.ldp", 1, "/t/app.4242.1.ldp"}, {"/t/app", 2, "/t/app.2"},
		{"/t.d/app", 2, "/t.d/app.2"},         {"/t/.hidden", 1, "/t/.hidden.1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_int_equal(rd_part_path(out, sizeof out, cases[i].base, cases[i].k), 0);
		assert_string_equal(out, cases[i].want);
		/* the agent names parts the way the reader looks for them */
		assert_int_equal(ldp_tracefile_part_path(agent, sizeof agent, cases[i].base, cases[i].k), 0);
		assert_string_equal(agent, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow_every_op_across_the_wrap),
		cmocka_unit_test(test_ring_record_round_trip),
		cmocka_unit_test(test_ring_record_malformed),
		cmocka_unit_test(test_part_alone_reads_as_in_the_run),
		cmocka_unit_test(test_part_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
