/*
 * test_format.c - the trace format: varints, every event and record through
 * the agent's encoders and the reporter's decoders, and the reader on good,
 * truncated and hostile traces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "model/tmodel.h"
#include "read/internal.h"
#include "render/report.h"
#include "trace_builder.h"

/* ---- varints ---- */

static void test_varint_round_trip(void **state)
{
	(void)state;
	const uint64_t values[] = {0, 1, 127, 128, 255, 16383, 16384, (1ull << 32) - 1, 1ull << 32,
				   (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
	for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
		uint8_t b[LDP_VARINT_MAX];
		size_t n = ldp_varint_put(b, values[i]);
		assert_true(n >= 1 && n <= LDP_VARINT_MAX);
		uint64_t v = 0;
		assert_int_equal(ldp_varint_get(b, b + n, &v), n);
		assert_true(v == values[i]);
		/* Any cut short of the end is "truncated", never a wrong value. */
		for (size_t cut = 0; cut < n; cut++)
			assert_int_equal(ldp_varint_get(b, b + cut, &v), 0);
	}
	const int64_t signs[] = {0, 1, -1, 63, -64, INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < sizeof signs / sizeof *signs; i++)
		assert_true(ldp_unzigzag(ldp_zigzag(signs[i])) == signs[i]);
}

static void test_varint_hostile(void **state)
{
	(void)state;
	uint8_t never_ends[16];
	memset(never_ends, 0xff, sizeof never_ends);
	uint64_t v;
	assert_int_equal(ldp_varint_get(never_ends, never_ends + sizeof never_ends, &v), 0);
	/* Ten bytes whose last carries more than the 64th bit. */
	uint8_t overflow[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	assert_int_equal(ldp_varint_get(overflow, overflow + 10, &v), 0);
	uint8_t max[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	assert_int_equal(ldp_varint_get(max, max + 10, &v), 10);
	assert_true(v == UINT64_MAX);
}

/* ---- events ---- */

static void test_events_round_trip(void **state)
{
	(void)state;
	uint8_t buf[4096];
	size_t n = 0;
	static struct ldp_enc_state enc; /* 17 KiB: not on the test's stack */
	n += ldp_enc_attach(buf + n, &enc, 4242);
	n += ldp_enc_alloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 100, 0x7f0000001000, 24, 1);
	n += ldp_enc_alloc(buf + n, &enc, LDP_EV_ALLOC_CALLOC, 101, 0x55550000, 0, 2); /* pointer goes down */
	size_t at_free = n;
	n += ldp_enc_free(buf + n, &enc, 150, 0x7f0000001000);
	/* 1.7: a block still in the recent table is freed by allocation index
	 * (2 allocations back), and an allocation of its class that returns it
	 * again has no address field. */
	assert_int_equal(buf[at_free], LDP_EV_FREE2 | LDP_EV_FREE2_INDEX);
	assert_int_equal(buf[at_free + 2], 2);
	size_t at_reuse = n;
	n += ldp_enc_alloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 151, 0x7f0000001000, 20, 2);
	assert_int_equal(buf[at_reuse], LDP_EV_ALLOC2 | LDP_EV_ALLOC2_SEQ1 | LDP_EV_ALLOC2_REUSE);
	size_t at_addr = n;
	n += ldp_enc_free(buf + n, &enc, 152, 0x55550008); /* not in the table: by address */
	assert_int_equal(buf[at_addr], LDP_EV_FREE2 | LDP_EV_FREE2_SEQ1);
	n += ldp_enc_alloc(buf + n, &enc, LDP_EV_ALLOC_ALIGNED, UINT64_MAX >> 1, UINT64_MAX - 63,
			   UINT64_MAX, UINT32_MAX);
	n += ldp_enc_attach(buf + n, &enc, 7); /* a reused ring: state restarts */
	n += ldp_enc_free(buf + n, &enc, 3, 0x10);

	struct rd_ring_dec dec = {0};
	struct rd_event ev;
	const uint8_t *p = buf, *end = buf + n;
	int what;
	const char *why;
	struct {
		int what;
		uint8_t op;
		uint64_t seq, ptr, size;
		uint32_t stack, tid;
	} want[] = {
		{RD_DEC_ATTACH, 0, 0, 0, 0, 0, 4242},
		{RD_DEC_EVENT, LDP_EV_ALLOC_MALLOC, 100, 0x7f0000001000, 24, 1, 4242},
		{RD_DEC_EVENT, LDP_EV_ALLOC_CALLOC, 101, 0x55550000, 0, 2, 4242},
		{RD_DEC_EVENT, LDP_EV_FREE, 150, 0x7f0000001000, 0, 0, 4242},
		{RD_DEC_EVENT, LDP_EV_ALLOC_MALLOC, 151, 0x7f0000001000, 20, 2, 4242},
		{RD_DEC_EVENT, LDP_EV_FREE, 152, 0x55550008, 0, 0, 4242},
		{RD_DEC_EVENT, LDP_EV_ALLOC_ALIGNED, UINT64_MAX >> 1, UINT64_MAX - 63, UINT64_MAX, UINT32_MAX, 4242},
		{RD_DEC_ATTACH, 0, 0, 0, 0, 0, 7},
		{RD_DEC_EVENT, LDP_EV_FREE, 3, 0x10, 0, 0, 7},
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		/* Every proper prefix of the next event asks for more bytes (and
		 * changes no state: the 1.7 model is not copied by value), the
		 * event's own bytes decode it. */
		long full = 0, cut = 0;
		for (; !full && cut <= end - p; cut++)
			full = rd_decode_event(p, p + cut, &dec, &ev, &what, &why);
		assert_int_equal(full, cut - 1);
		p += full;
		assert_int_equal(what, want[i].what);
		if (what == RD_DEC_ATTACH) {
			assert_int_equal(dec.tid, want[i].tid);
			continue;
		}
		assert_int_equal(ev.op, want[i].op);
		assert_true(ev.seq == want[i].seq);
		assert_true(ev.ptr == want[i].ptr);
		assert_true(ev.size == want[i].size);
		assert_true(ev.stack == want[i].stack);
		assert_int_equal(ev.tid, want[i].tid);
	}
	assert_ptr_equal(p, end);
	rd_ring_dec_fini(&dec);
}

/* EVENTS3 (2.1): a seq on a floor quantum is written as the quanta since
 * the last seq's, after a 0 (two bytes that repeat, where the delta was
 * three of noise); the same seq again as 0, 0; going back, a plain delta. */
static void test_events_seq_quanta(void **state)
{
	(void)state;
	const uint64_t Q = 1ull << LDP_SEQ_QUANTUM_SHIFT;
	uint64_t seqs[] = {5, 3 * Q, 3 * Q + 1, 3 * Q + 1, 4 * Q, 2 * Q, 7 * Q + 5, 9 * Q};
	uint8_t buf[512];
	static struct ldp_enc_state enc;
	size_t n = ldp_enc_attach(buf, &enc, 4242), at[8];
	for (unsigned i = 0; i < 8; i++) {
		at[i] = n;
		n += i % 2 ? ldp_enc_free(buf + n, &enc, seqs[i], 0x5000 + 0x100 * i)
			   : ldp_enc_alloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, seqs[i], 0x5000 + 0x100 * i, 8, 1);
	}
	assert_true(buf[at[1] + 1] == 0 && buf[at[1] + 2] == 3); /* 0 quanta -> 3: three quanta on */
	assert_true(buf[at[3] + 1] == 0 && buf[at[3] + 2] == 0); /* the same seq */
	assert_true(buf[at[4] + 1] == 0 && buf[at[4] + 2] == 1); /* the next quantum */
	assert_true(buf[at[5] + 1] != 0);                        /* back to 2 Q: a delta */
	assert_true(buf[at[7] + 1] == 0 && buf[at[7] + 2] == 2);
	struct rd_ring_dec dec = {.quanta = 1};
	struct rd_event ev;
	int what;
	const char *why;
	const uint8_t *p = buf;
	long k = rd_decode_event(p, buf + n, &dec, &ev, &what, &why);
	assert_true(k > 0 && what == RD_DEC_ATTACH);
	p += k;
	for (unsigned i = 0; i < 8; i++) {
		k = rd_decode_event(p, buf + n, &dec, &ev, &what, &why);
		assert_true(k > 0 && what == RD_DEC_EVENT);
		assert_true(ev.seq == seqs[i]);
		p += k;
	}
	assert_ptr_equal(p, buf + n);
	rd_ring_dec_fini(&dec);
	/* Quanta that would carry the seq past 64 bits: malformed. */
	uint8_t past[16] = {LDP_EV_ALLOC2 | 0, 0};
	size_t m = 2 + ldp_varint_put(past + 2, UINT64_MAX >> 20);
	past[m++] = 8, past[m++] = 2, past[m++] = 2;
	struct rd_ring_dec top = {.quanta = 1, .attached = 1, .seq = UINT64_MAX - Q};
	assert_int_equal(rd_decode_event(past, past + m, &top, &ev, &what, &why), -1);
	rd_ring_dec_fini(&top);
}

/* ---- site events (2.2) ---- */

/* ALLOC3 and FREE3 against the model (with and without SEQ1, stack deltas
 * up and down, a seq as floor quanta), the plain SALLOC and SFREE, among
 * address events on the same ring: prev_ptr passes site events unchanged.
 * Each event also as the merge queues it (rd_event_legacy, then
 * rd_event_compact with its stack zeroed) decodes to the same. */
static void test_events_site(void **state)
{
	(void)state;
	const uint64_t Q = 1ull << LDP_SEQ_QUANTUM_SHIFT;
	uint8_t buf[512];
	struct tb_ring r;
	size_t n = tb_attach(buf, &r, 9);
	n += tb_alloc2(buf + n, &r, 0, 10, 0x5000, 32, 3);
	n += tb_alloc3(buf + n, &r, 1, 11, 48, 5); /* SEQ1, stack +2 */
	n += tb_free3(buf + n, &r, 12, 48, 5);     /* SEQ1, free_stack 0 -> 5 */
	size_t at_quanta = n;
	buf[n++] = LDP_EV_ALLOC3;                   /* no SEQ1: 0, then 2 quanta on */
	buf[n++] = 0;
	buf[n++] = 2;
	buf[n++] = 7;                               /* size */
	n += ldp_varint_put(buf + n, ldp_zigzag(-4)); /* stack 5 -> 1 */
	r.seq = 2 * Q, r.stack = 1;
	n += tb_free3(buf + n, &r, 2 * Q + 5, 7, 1); /* a delta; free_stack down */
	n += tb_free2(buf + n, &r, 2 * Q + 6, 0x5000);
	n += tb_site_plain(buf + n, &r, LDP_EV_SALLOC_MALLOC + 3, 2 * Q + 7, 4096, 6);
	n += tb_site_plain(buf + n, &r, LDP_EV_SFREE, 2 * Q + 7, 4096, 6);
	buf[n++] = LDP_EV_FREE; /* 1.0, by address: prev_ptr is still FREE2's */
	buf[n++] = 1;
	buf[n++] = (uint8_t)ldp_zigzag(0x10);
	r.seq++;
	n += tb_alloc3(buf + n, &r, 3, 2 * Q + 9, 0, 1);
	n += tb_free3(buf + n, &r, 2 * Q + 9, UINT64_MAX, UINT32_MAX); /* the same seq: 0, 0 */
	assert_int_equal(buf[at_quanta], LDP_EV_ALLOC3);

	struct {
		int what;
		uint8_t kind, op;
		uint64_t seq, ptr, size;
		uint32_t stack;
	} want[] = {
		{RD_DEC_ATTACH, 0, 0, 0, 0, 0, 0},
		{RD_DEC_EVENT, RD_EV_ALLOC, LDP_EV_ALLOC_MALLOC, 10, 0x5000, 32, 3},
		{RD_DEC_EVENT, RD_EV_ALLOC, LDP_EV_ALLOC_CALLOC, 11, 0, 48, 5},
		{RD_DEC_EVENT, RD_EV_FREE, LDP_EV_FREE, 12, 0, 48, 5},
		{RD_DEC_EVENT, RD_EV_ALLOC, LDP_EV_ALLOC_MALLOC, 2 * Q, 0, 7, 1},
		{RD_DEC_EVENT, RD_EV_FREE, LDP_EV_FREE, 2 * Q + 5, 0, 7, 1},
		{RD_DEC_EVENT, RD_EV_FREE, LDP_EV_FREE, 2 * Q + 6, 0x5000, 0, 0},
		{RD_DEC_EVENT, RD_EV_ALLOC, LDP_EV_ALLOC_ALIGNED, 2 * Q + 7, 0, 4096, 6},
		{RD_DEC_EVENT, RD_EV_FREE, LDP_EV_FREE, 2 * Q + 7, 0, 4096, 6},
		{RD_DEC_EVENT, RD_EV_FREE, LDP_EV_FREE, 2 * Q + 8, 0x5010, 0, 0},
		{RD_DEC_EVENT, RD_EV_ALLOC, LDP_EV_ALLOC_ALIGNED, 2 * Q + 9, 0, 0, 1},
		{RD_DEC_EVENT, RD_EV_FREE, LDP_EV_FREE, 2 * Q + 9, 0, UINT64_MAX, UINT32_MAX},
	};
	struct rd_ring_dec dec = {.quanta = 1}, plain = {0};
	struct rd_event ev, again;
	int what;
	const char *why;
	const uint8_t *p = buf, *end = buf + n;
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		/* Every proper prefix asks for more and changes nothing. */
		uint64_t seq0 = dec.seq, ptr0 = dec.ptr;
		uint32_t stack0 = dec.model ? dec.model->m.stack : 0, fstack0 = dec.model ? dec.model->m.free_stack : 0;
		long full = 0, cut = 0;
		for (; !full && cut <= end - p; cut++) {
			full = rd_decode_event(p, p + cut, &dec, &ev, &what, &why);
			if (!full)
				assert_true(dec.seq == seq0 && dec.ptr == ptr0 &&
					    (!dec.model || (dec.model->m.stack == stack0 && dec.model->m.free_stack == fstack0)));
		}
		assert_int_equal(full, cut - 1);
		assert_int_equal(what, want[i].what);
		if (what == RD_DEC_ATTACH) {
			assert_int_equal(rd_decode_event(p, p + full, &plain, &again, &what, &why), full);
			p += full;
			continue;
		}
		p += full;
		assert_int_equal(ev.kind, want[i].kind);
		assert_int_equal(ev.op, want[i].op);
		assert_true(ev.seq == want[i].seq);
		assert_true(ev.ptr == want[i].ptr);
		assert_true(ev.size == want[i].size);
		assert_true(ev.stack == want[i].stack);
		assert_int_equal(ev.tid, 9);
		/* As the merge queues it, from the delivery state. */
		uint8_t q[RD_EVENT_COMPACT_MAX], z[RD_EVENT_COMPACT_MAX];
		size_t k = rd_event_legacy(&ev, plain.seq, plain.ptr, 0, q);
		assert_true(ev.ptr || rd_site_op(q[0]));
		struct rd_ring_dec before = plain;
		assert_int_equal(rd_decode_event(q, q + k, &plain, &again, &what, &why), (long)k);
		assert_int_equal(what, RD_DEC_EVENT);
		assert_true(again.seq == ev.seq && again.ptr == ev.ptr && again.size == ev.size &&
			    again.stack == ev.stack && again.kind == ev.kind && again.op == ev.op && again.tid == 9);
		assert_true(plain.seq == dec.seq && plain.ptr == dec.ptr);
		if (!ev.ptr) {
			/* Its stack zeroed (a STACK record lost to damage). */
			size_t kz = rd_event_compact(q, k, 1, z);
			assert_int_equal(rd_decode_event(z, z + kz, &before, &again, &what, &why), (long)kz);
			assert_true(again.seq == ev.seq && again.ptr == 0 && again.size == ev.size && again.stack == 0 &&
				    again.op == ev.op);
			assert_true(before.ptr == plain.ptr);
			/* Not zeroed: the same bytes. */
			assert_int_equal(rd_event_compact(q, k, 0, z), k);
			assert_memory_equal(z, q, k);
		}
	}
	assert_ptr_equal(p, end);
	/* Site ops leave nalloc and the recent table alone. */
	assert_int_equal(dec.model->m.nalloc, 1);
	assert_int_equal(dec.model->m.stack, 1);
	assert_int_equal(dec.model->m.free_stack, UINT32_MAX);
	rd_ring_dec_fini(&dec);
}

/* FREE3 with LAST: the size and stack of the ring's last ALLOC3, however
 * many address events came between; the agent's encoder writes it for a
 * pair freed at once, and the reader gives the same event as the long form. */
static void test_events_site_last(void **state)
{
	(void)state;
	struct ldp_enc_state enc = {0};
	uint8_t buf[256];
	size_t n = ldp_enc_attach(buf, &enc, 9);
	n += ldp_enc_salloc(buf + n, &enc, LDP_EV_ALLOC_CALLOC, 10, 24, 7);
	n += ldp_enc_alloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 11, 0x5000, 64, 3); /* an address event between */
	size_t at_last = n;
	n += ldp_enc_sfree(buf + n, &enc, 12, 24, 7);
	size_t at_long = n;
	n += ldp_enc_sfree(buf + n, &enc, 13, 25, 7); /* another size: the long form */
	assert_int_equal(buf[at_last], LDP_EV_FREE3 | LDP_EV_FREE3_SEQ1 | LDP_EV_FREE3_LAST);
	assert_int_equal(at_long - at_last, 1);
	assert_int_equal(buf[at_long], LDP_EV_FREE3 | LDP_EV_FREE3_SEQ1);
	struct rd_ring_dec dec = {.quanta = 1};
	struct rd_event ev;
	int what;
	const char *why = NULL;
	const uint8_t *p = buf, *end = buf + n;
	uint64_t want[][3] = {{10, 24, 7}, {11, 64, 3}, {12, 24, 7}, {13, 25, 7}};
	long k = rd_decode_event(p, end, &dec, &ev, &what, &why); /* ATTACH */
	assert_true(k > 0 && what == RD_DEC_ATTACH);
	p += k;
	for (unsigned i = 0; i < 4; i++) {
		k = rd_decode_event(p, end, &dec, &ev, &what, &why);
		assert_true(k > 0 && what == RD_DEC_EVENT);
		assert_true(ev.seq == want[i][0] && ev.size == want[i][1] && ev.stack == want[i][2]);
		assert_true((ev.ptr == 0) == (i != 1));
		p += k;
	}
	assert_true(p == end);
	assert_true(ldp_model_equal(&dec.model->m, &enc.m));
	rd_ring_dec_fini(&dec);
}

/* ALLOC3 with SAME (2.3): the size and stack of the ring's last ALLOC3 in
 * one byte, however many address and site events came between; a fresh
 * model's (size 0, stack 0) too. The encoder writes it for a loop's
 * allocation; the ring follower and the reader end with the encoder's model. */
static void test_events_site_same(void **state)
{
	(void)state;
	struct ldp_enc_state enc = {0};
	uint8_t buf[256];
	size_t n = ldp_enc_attach(buf, &enc, 9);
	size_t at_zero = n;
	n += ldp_enc_salloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 10, 0, 0); /* the fresh model's site */
	n += ldp_enc_salloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 11, 24, 7);
	n += ldp_enc_alloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 12, 0x5000, 64, 3); /* an address event: stack 3 */
	n += ldp_enc_sfree(buf + n, &enc, 13, 40, 2);                              /* a site free of another size */
	size_t at_same = n;
	n += ldp_enc_salloc(buf + n, &enc, LDP_EV_ALLOC_CALLOC, 20, 24, 7); /* not SEQ1 */
	size_t at_pair = n;
	n += ldp_enc_salloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 21, 24, 7);
	n += ldp_enc_sfree(buf + n, &enc, 22, 24, 7);
	size_t at_long = n;
	n += ldp_enc_salloc(buf + n, &enc, LDP_EV_ALLOC_MALLOC, 23, 24, 8); /* another stack: the long form */
	assert_int_equal(buf[at_zero], LDP_EV_ALLOC3 | LDP_EV_ALLOC3_SAME);
	assert_int_equal(buf[at_same], LDP_EV_ALLOC3 | 1 | LDP_EV_ALLOC3_SAME);
	assert_int_equal(at_pair - at_same, 2); /* op and seq delta */
	assert_int_equal(buf[at_pair], LDP_EV_ALLOC3 | LDP_EV_ALLOC3_SEQ1 | LDP_EV_ALLOC3_SAME);
	assert_int_equal(at_long - at_pair, 2); /* a pair in two bytes */
	assert_int_equal(buf[at_long], LDP_EV_ALLOC3 | LDP_EV_ALLOC3_SEQ1);
	uint64_t want[][4] = {{10, 0, 0, 0}, {11, 24, 7, 0}, {12, 64, 3, 0x5000}, {13, 40, 2, 0},
			      {20, 24, 7, 0}, {21, 24, 7, 0},   {22, 24, 7, 0},       {23, 24, 8, 0}};
	struct rd_ring_dec dec = {.quanta = 1};
	struct rd_event ev;
	int what;
	const char *why = NULL;
	const uint8_t *p = buf, *end = buf + n;
	long k = rd_decode_event(p, end, &dec, &ev, &what, &why); /* ATTACH */
	assert_true(k > 0 && what == RD_DEC_ATTACH);
	p += k;
	for (unsigned i = 0; i < sizeof want / sizeof *want; i++) {
		/* A SAME without SEQ1 cut after its op asks for more, model untouched. */
		if (p == buf + at_same) {
			struct ldp_model before = dec.model->m;
			assert_int_equal(rd_decode_event(p, p + 1, &dec, &ev, &what, &why), 0);
			assert_true(ldp_model_equal(&before, &dec.model->m) && dec.seq == 13);
		}
		k = rd_decode_event(p, end, &dec, &ev, &what, &why);
		assert_true(k > 0 && what == RD_DEC_EVENT);
		assert_true(ev.seq == want[i][0] && ev.size == want[i][1] && ev.stack == want[i][2] &&
			    ev.ptr == want[i][3]);
		assert_int_equal(ev.op, i == 4 ? LDP_EV_ALLOC_CALLOC : i == 3 || i == 6 ? LDP_EV_FREE : LDP_EV_ALLOC_MALLOC);
		p += k;
	}
	assert_true(p == end);
	assert_true(ldp_model_equal(&dec.model->m, &enc.m));
	rd_ring_dec_fini(&dec);
}

/* Site ops that are malformed, unknown, or name what cannot be. */
static void test_events_site_hostile(void **state)
{
	(void)state;
	struct rd_event ev;
	int what;
	const char *why = NULL;
	/* The gaps between the model ops' forms, and past the last. */
	const uint8_t unknown[] = {0x94, 0x9f, 0xb4, 0xbf, 0xc0};
	for (size_t i = 0; i < sizeof unknown; i++) {
		struct rd_ring_dec st = {.attached = 1, .quanta = 1};
		uint8_t b[] = {unknown[i], 1, 1, 1, 1};
		why = NULL;
		assert_int_equal(rd_decode_event(b, b + sizeof b, &st, &ev, &what, &why), -1);
		assert_string_equal(why, "unknown event type");
		rd_ring_dec_fini(&st);
	}
	/* Before ATTACH. */
	struct rd_ring_dec none = {0};
	uint8_t sfree[] = {LDP_EV_SFREE, 1, 8, 1};
	assert_int_equal(rd_decode_event(sfree, sfree + 4, &none, &ev, &what, &why), -1);
	uint8_t free3[] = {LDP_EV_FREE3 | LDP_EV_FREE3_SEQ1, 2, 8};
	assert_int_equal(rd_decode_event(free3, free3 + 3, &none, &ev, &what, &why), -1);
	rd_ring_dec_fini(&none);
	/* Stacks out of range: below 0 by a delta, past 32 bits by a delta or
	 * as a plain field. The model is unchanged by a refused op. */
	struct rd_ring_dec st = {.attached = 1, .quanta = 1, .seq = 5};
	uint8_t below[] = {LDP_EV_ALLOC3 | LDP_EV_ALLOC3_SEQ1, 8, (uint8_t)ldp_zigzag(-1)};
	assert_int_equal(rd_decode_event(below, below + 3, &st, &ev, &what, &why), -1);
	assert_string_equal(why, "stack id out of range");
	uint8_t past[16] = {LDP_EV_FREE3 | LDP_EV_FREE3_SEQ1};
	size_t n = 1 + ldp_varint_put(past + 1, ldp_zigzag((int64_t)UINT32_MAX + 1));
	past[n++] = 8;
	assert_int_equal(rd_decode_event(past, past + n, &st, &ev, &what, &why), -1);
	/* A delta as far as a varint goes: refused, not overflowed. */
	n = 1 + ldp_varint_put(past + 1, UINT64_MAX - 1);
	past[n++] = 8;
	assert_int_equal(rd_decode_event(past, past + n, &st, &ev, &what, &why), -1);
	assert_true(st.seq == 5 && st.model->m.stack == 0 && st.model->m.free_stack == 0);
	uint8_t plain[16] = {LDP_EV_SALLOC_MALLOC, 1, 8};
	n = 3 + ldp_varint_put(plain + 3, (uint64_t)UINT32_MAX + 1);
	assert_int_equal(rd_decode_event(plain, plain + n, &st, &ev, &what, &why), -1);
	assert_true(st.seq == 5);
	/* UINT32_MAX itself is a stack id; a site event is never "at address 0". */
	n = 3 + ldp_varint_put(plain + 3, UINT32_MAX);
	assert_int_equal(rd_decode_event(plain, plain + n, &st, &ev, &what, &why), (long)n);
	assert_true(ev.stack == UINT32_MAX && ev.ptr == 0 && st.ptr == 0 && st.seq == 6);
	/* Quanta past 64 bits. */
	st.seq = UINT64_MAX - (1ull << LDP_SEQ_QUANTUM_SHIFT);
	uint8_t far[16] = {LDP_EV_ALLOC3, 0};
	n = 2 + ldp_varint_put(far + 2, UINT64_MAX >> 20);
	far[n++] = 8, far[n++] = 2;
	assert_int_equal(rd_decode_event(far, far + n, &st, &ev, &what, &why), -1);
	rd_ring_dec_fini(&st);
}

/* RING (2.2): the model's free_stack, site_stack and site_size after the
 * recent slots; absent in older traces (then 0); fields after them skipped. */
static void test_ring_free_stack(void **state)
{
	(void)state;
	struct {
		uint64_t tail[4];
		unsigned ntail;
		int ok;
		uint32_t free_stack;
	} cases[] = {
		{{0}, 0, 0, 0},                                  /* 2.1: none */
		{{77, 5, 300}, 3, 0, 77},
		{{UINT32_MAX, UINT32_MAX, UINT64_MAX}, 3, 0, UINT32_MAX},
		{{77, 5, 300, 9}, 4, 0, 77},                     /* a later version's field */
		{{77}, 1, -1, 0},                                /* cut short */
		{{77, 5}, 2, -1, 0},
		{{(uint64_t)UINT32_MAX + 1, 0, 0}, 3, -1, 0},    /* out of range */
		{{0, (uint64_t)UINT32_MAX + 1, 0}, 3, -1, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		/* ring tid seq ptr nalloc stack | nfreed | nrecent (age ptr cls) | free_stack site_stack site_size */
		const uint64_t head[] = {1, 7, 100, 0x1000, 10, 2, 0, 1, 3, 0, 5};
		uint8_t b[128];
		size_t n = 0;
		for (unsigned k = 0; k < sizeof head / sizeof *head; k++)
			n += ldp_varint_put(b + n, head[k]);
		for (unsigned k = 0; k < cases[i].ntail; k++)
			n += ldp_varint_put(b + n, cases[i].tail[k]);
		uint64_t ring;
		struct rd_ring_dec st;
		const char *why = NULL;
		int rc = rd_decode_ring_state(b, n, &ring, &st, &why);
		if (rc != cases[i].ok)
			fail_msg("case %zu: %d (%s)", i, rc, rc ? why : "accepted");
		if (!rc) {
			assert_int_equal(st.model->m.free_stack, cases[i].free_stack);
			if (cases[i].ntail >= 3)
				assert_true(st.model->m.site_stack == cases[i].tail[1] &&
					    st.model->m.site_size == cases[i].tail[2]);
			assert_int_equal(st.model->m.stack, 2);
		} else {
			assert_null(st.model);
		}
		rd_ring_dec_fini(&st);
		/* A free_stack cut short is malformed, not absent. */
		if (cases[i].ntail && cases[i].tail[0] >= 128) {
			assert_int_equal(rd_decode_ring_state(b, n - 1, &ring, &st, &why), -1);
			assert_null(st.model);
		}
	}
}

static void test_events_hostile(void **state)
{
	(void)state;
	struct rd_ring_dec dec = {0};
	struct rd_event ev;
	int what;
	const char *why = NULL;
	uint8_t before_attach[] = {LDP_EV_FREE, 1, 2};
	assert_int_equal(rd_decode_event(before_attach, before_attach + 3, &dec, &ev, &what, &why), -1);
	assert_non_null(why);
	dec.attached = 1;
	/* 0x30..0x7f are length-prefixed since 1.3: an unknown one is skipped by
	 * its length; an unknown op outside that range is an error. */
	uint8_t sized[] = {0x7e, 1, 2, 3};
	assert_int_equal(rd_decode_event(sized, sized + 4, &dec, &ev, &what, &why), 3);
	uint8_t unknown[] = {0xb4, 1, 2, 3};
	assert_int_equal(rd_decode_event(unknown, unknown + 4, &dec, &ev, &what, &why), -1);
	/* 0x30..0x7f are length-prefixed (format 1.3): an unknown one is skipped whole. */
	uint8_t skipped[] = {0x7e, 2, 9, 9, LDP_EV_FREE};
	assert_int_equal(rd_decode_event(skipped, skipped + sizeof skipped, &dec, &ev, &what, &why), 4);
	uint8_t endless[24] = {LDP_EV_FREE};
	memset(endless + 1, 0x80, sizeof endless - 1);
	assert_int_equal(rd_decode_event(endless, endless + sizeof endless, &dec, &ev, &what, &why), -1);
	/* 1.7 ops that name what the model does not hold. */
	struct rd_ring_dec v2 = {.attached = 1};
	uint8_t no_index[] = {LDP_EV_FREE2 | LDP_EV_FREE2_SEQ1 | LDP_EV_FREE2_INDEX, 1};
	assert_int_equal(rd_decode_event(no_index, no_index + 2, &v2, &ev, &what, &why), -1);
	uint8_t no_reuse[] = {LDP_EV_ALLOC2 | LDP_EV_ALLOC2_SEQ1 | LDP_EV_ALLOC2_REUSE, 24, 0};
	assert_int_equal(rd_decode_event(no_reuse, no_reuse + 3, &v2, &ev, &what, &why), -1);
	uint8_t past_v2[] = {LDP_EV_V2_MAX + 1, 1, 1};
	assert_int_equal(rd_decode_event(past_v2, past_v2 + 3, &v2, &ev, &what, &why), -1);
	rd_ring_dec_fini(&v2);
	struct rd_ring_dec at_zero = {.attached = 1};
	uint8_t null_free[] = {LDP_EV_FREE, 1, 0};
	assert_int_equal(rd_decode_event(null_free, null_free + 3, &at_zero, &ev, &what, &why), -1);
	uint8_t big_stack[16] = {LDP_EV_ALLOC_MALLOC, 1, 0, 1};
	size_t n = 4 + ldp_varint_put(big_stack + 4, (uint64_t)UINT32_MAX + 1);
	assert_int_equal(rd_decode_event(big_stack, big_stack + n, &dec, &ev, &what, &why), -1);
}

/* ---- records ---- */

static void test_module_round_trip(void **state)
{
	(void)state;
	struct ldp_module m = {.base = 0x7f1234560000, .nseg = 2, .build_id_len = 20};
	m.path = "/usr/lib/libexample.so.1";
	for (unsigned i = 0; i < 20; i++)
		m.build_id[i] = (uint8_t)(i * 13);
	m.seg[0] = (struct ldp_segment){0, 0x1000, LDP_SEG_R};
	m.seg[1] = (struct ldp_segment){0x1000, 0x5432, LDP_SEG_R | LDP_SEG_X};
	static uint8_t buf[LDP_ENC_RECORD_MAX];
	size_t n = ldp_enc_module(buf, 3, &m);
	struct rd_module d;
	const char *why;
	assert_int_equal(rd_decode_module(buf, n, &d, &why), 0);
	assert_int_equal(d.id, 3);
	assert_true(d.base == m.base);
	assert_string_equal(d.path, m.path);
	assert_int_equal(d.build_id_len, 20);
	assert_memory_equal(d.build_id, m.build_id, 20);
	assert_int_equal(d.nseg, 2);
	assert_true(d.lo == m.base && d.hi == m.base + 0x6432);
	assert_int_equal(d.seg[1].flags, LDP_SEG_R | LDP_SEG_X);
	rd_module_clear(&d);
	/* Cut anywhere: an error, never a read past the end. */
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, buf, cut);
		assert_int_equal(rd_decode_module(copy, cut, &d, &why), -1);
		free(copy);
	}
	/* A path length beyond the limit is refused before anything is copied. */
	uint8_t bad[32];
	size_t k = 0;
	k += ldp_varint_put(bad + k, 0);
	k += ldp_varint_put(bad + k, 0);
	k += ldp_varint_put(bad + k, (uint64_t)1 << 40);
	assert_int_equal(rd_decode_module(bad, k, &d, &why), -1);
}

static void test_stack_round_trip(void **state)
{
	(void)state;
	uintptr_t ips[LDP_MAX_STACK_DEPTH];
	for (unsigned i = 0; i < LDP_MAX_STACK_DEPTH; i++)
		ips[i] = 0x400000 + (i * 7919u) % 100000 + (i & 1 ? 0x7f0000000000ull : 0);
	static uint8_t buf[LDP_ENC_RECORD_MAX];
	static uint64_t out[LDP_MAX_STACK_DEPTH];
	const char *why;
	unsigned depths[] = {0, 1, 64, LDP_MAX_STACK_DEPTH};
	for (size_t i = 0; i < 4; i++) {
		size_t n = ldp_enc_stack(buf, 9, LDP_STACK_TRUNCATED, ips, depths[i]);
		struct rd_stack s;
		assert_int_equal(rd_decode_stack(buf, n, &s, out, &why), 0);
		assert_int_equal(s.id, 9);
		assert_int_equal(s.flags, LDP_STACK_TRUNCATED);
		assert_int_equal(s.depth, depths[i]);
		for (unsigned j = 0; j < depths[i]; j++)
			assert_true(s.ips[j] == ips[j]);
	}
	uint8_t deep[16];
	size_t k = 0;
	k += ldp_varint_put(deep + k, 1);
	k += ldp_varint_put(deep + k, 0);
	k += ldp_varint_put(deep + k, LDP_MAX_STACK_DEPTH + 1);
	struct rd_stack s;
	assert_int_equal(rd_decode_stack(deep, k, &s, out, &why), -1);
	uint8_t id0[3] = {0, 0, 0};
	assert_int_equal(rd_decode_stack(id0, 3, &s, out, &why), -1);
}

static void test_end_round_trip(void **state)
{
	(void)state;
	uint8_t buf[64];
	const char *why;
	struct rd_end e;
	size_t n = ldp_enc_end(buf, LDP_END_EXIT, 12345);
	assert_int_equal(rd_decode_end(buf, n, &e, &why), 0);
	assert_int_equal(e.reason, LDP_END_EXIT);
	assert_int_equal(e.time_us, 12345);
	assert_int_equal(e.signal, 0);
	n = ldp_enc_end_signal(buf, 777, 15);
	assert_int_equal(rd_decode_end(buf, n, &e, &why), 0);
	assert_int_equal(e.reason, LDP_END_SIGNAL);
	assert_int_equal(e.time_us, 777);
	assert_int_equal(e.signal, 15);
	/* A 1.6 END by signal without its number (cut), and a number past any signal. */
	assert_int_equal(rd_decode_end(buf, n - 1, &e, &why), 0);
	assert_int_equal(e.reason, LDP_END_SIGNAL);
	assert_int_equal(e.signal, 0);
	n = ldp_enc_end(buf, LDP_END_SIGNAL, 1);
	n += ldp_varint_put(buf + n, 1u << 20);
	assert_int_equal(rd_decode_end(buf, n, &e, &why), 0);
	assert_int_equal(e.signal, 0);
}

/* ---- the reader ---- */

struct seen {
	int segments, modules, stacks, ends;
	uint64_t seqs[64]; /* events' seqs; a snapshot shows as its seq + 1000000 */
	uint32_t ev_stack[64], ev_tid[64];
	int nev;
	int end_reason;
	int reasons[8];    /* every segment's end reason, in order */
	int empty_stacks;  /* stacks defined with no frames (lost to damage) */
	int any_exe;       /* the header may have been damaged: do not check its exe */
	char label[LDP_MAX_LABEL_LEN + 1];
};

static void v_segment(void *ctx, const struct rd_segment *s)
{
	struct seen *x = ctx;
	x->segments++;
	if (!x->any_exe)
		assert_string_equal(s->exe, "/usr/bin/test");
}
static void v_module(void *ctx, const struct rd_module *m)
{
	(void)m;
	((struct seen *)ctx)->modules++;
}
static void v_stack(void *ctx, const struct rd_stack *s)
{
	struct seen *x = ctx;
	x->stacks++;
	x->empty_stacks += s->depth == 0;
}
static void v_event(void *ctx, const struct rd_event *e)
{
	struct seen *x = ctx;
	if (x->nev < 64) {
		x->ev_stack[x->nev] = e->stack;
		x->ev_tid[x->nev] = e->tid;
		x->seqs[x->nev++] = e->seq;
	}
}
static void v_snapshot(void *ctx, const struct rd_snapshot *s)
{
	struct seen *x = ctx;
	if (x->nev < 64)
		x->seqs[x->nev++] = s->seq + 1000000;
	snprintf(x->label, sizeof x->label, "%s", s->label);
}
static void v_end(void *ctx, const struct rd_end *e)
{
	struct seen *x = ctx;
	if (x->ends < 8)
		x->reasons[x->ends] = e->reason;
	x->ends++;
	x->end_reason = e->reason;
}

static const struct rd_visitor visitor = {
	.segment_begin = v_segment,
	.module = v_module,
	.stack = v_stack,
	.event = v_event,
	.snapshot = v_snapshot,
	.segment_end = v_end,
};

static int read_mem(struct tb *t, struct seen *x, struct rd_stats *st, struct rd_error *err)
{
	struct rd_visitor v = visitor;
	int any_exe = x->any_exe;
	memset(x, 0, sizeof *x);
	x->any_exe = any_exe;
	v.ctx = x;
	return rd_read_mem(t->buf, t->len, "test.ldp", &v, st, err);
}

/* EVENTS payload for one ring: ring id, then events. */
static size_t events(uint8_t *buf, uint32_t ring, uint32_t tid, const uint64_t *seqs, int n, int with_attach,
		     struct ldp_enc_state *enc)
{
	size_t k = ldp_varint_put(buf, ring);
	if (with_attach)
		k += ldp_enc_attach(buf + k, enc, tid);
	for (int i = 0; i < n; i++)
		k += ldp_enc_alloc(buf + k, enc, LDP_EV_ALLOC_MALLOC, seqs[i], 0x1000 + 64 * seqs[i], 8, 1);
	return k;
}

static void good_trace(struct tb *t)
{
	uint8_t buf[1024];
	tb_header(t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
	struct ldp_module m = {.base = 0x400000, .nseg = 1, .path = "/usr/bin/test"};
	m.seg[0] = (struct ldp_segment){0, 0x1000, LDP_SEG_R | LDP_SEG_X};
	tb_record(t, LDP_REC_MODULE, buf, ldp_enc_module(buf, 0, &m));
	uintptr_t ips[2] = {0x400100, 0x400200};
	tb_record(t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, ips, 2));
	tb_record(t, 0x7d, "future", 6); /* unknown record type: skipped by length */
	/* Two rings whose events interleave in sequence order. */
	struct ldp_enc_state e0 = {0, 0}, e1 = {0, 0};
	uint64_t a[] = {5, 9, 20}, b[] = {7, 8, 30};
	tb_record(t, LDP_REC_EVENTS3, buf, events(buf, 0, 100, a, 2, 1, &e0));
	tb_record(t, LDP_REC_EVENTS3, buf, events(buf, 1, 101, b, 2, 1, &e1));
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, 1, 10, 1));
	tb_frame(t);
	tb_record(t, LDP_REC_EVENTS3, buf, events(buf, 1, 101, b + 2, 1, 0, &e1));
	tb_record(t, LDP_REC_EVENTS3, buf, events(buf, 0, 100, a + 2, 1, 0, &e0));
	/* A snapshot between seq 9 and 20, written after events that follow it. */
	tb_record(t, LDP_REC_SNAPSHOT, buf, ldp_enc_snapshot(buf, 10, LDP_SNAP_API, "after-load"));
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, 2, 20, 25));
	tb_record(t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 30));
	tb_frame(t);
}

/* ---- STACK2 (2.0): stacks sharing outer frames with earlier ones ---- */

#define S2_N 3000
struct s2_truth {
	unsigned depth[S2_N + 1], flags[S2_N + 1];
	uintptr_t *ips[S2_N + 1];
	unsigned seen, bad;
};

static void s2_stack(void *ctx, const struct rd_stack *s)
{
	struct s2_truth *x = ctx;
	if (s->id != x->seen + 1 || s->id > S2_N || s->depth != x->depth[s->id] || s->flags != x->flags[s->id]) {
		x->bad++;
		return;
	}
	for (unsigned i = 0; i < s->depth; i++)
		x->bad += s->ips[i] != x->ips[s->id][i];
	x->seen = s->id;
}

/* Random stacks over a few call sites (so outer frames repeat, as in a
 * recursive program), written the way the writer writes them (its index of
 * outer frames, id deltas restarting in each frame), read back whole. */
static void test_stack2_round_trip(void **state)
{
	(void)state;
	static struct s2_truth x;
	memset(&x, 0, sizeof x);
	uint64_t rnd = 88172645463325252ull;
#define NEXT_RND() (rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17, rnd)
	for (unsigned id = 1; id <= S2_N; id++) {
		unsigned depth = id == 7 || id == 2500 ? LDP_MAX_STACK_DEPTH : (unsigned)(NEXT_RND() % 70);
		x.depth[id] = depth;
		x.flags[id] = (unsigned)(NEXT_RND() % 4); /* truncated, leaf PC, both, none */
		x.ips[id] = calloc(depth + 1, sizeof *x.ips[id]);
		for (unsigned i = 0; i < depth; i++) /* main's 6 frames, recursion through 4 call sites, any leaf */
			x.ips[id][i] = i + 6 >= depth ? 0x401000 + 16 * (depth - i)
				       : i ? 0x402000 + 8 * (NEXT_RND() % 4) : (uintptr_t)NEXT_RND() & 0x7fffffffffffull;
	}
	/* One stack twice with other flags: all of it kept, nothing new. */
	x.depth[3000] = x.depth[2999];
	x.ips[3000] = realloc(x.ips[3000], (x.depth[3000] + 1) * sizeof(uintptr_t));
	memcpy(x.ips[3000], x.ips[2999], x.depth[3000] * sizeof(uintptr_t));
	x.flags[3000] = x.flags[2999] ^ LDP_STACK_TRUNCATED;

	struct tb t = {0};
	tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 77);
	struct ldp_stack_bases bases = {0};
	static uint8_t buf[LDP_ENC_RECORD_MAX];
	uint32_t last = 0;
	size_t whole = 0, shared = 0, kept = 0;
	for (uint32_t id = 1; id <= S2_N; id++) {
		uint32_t base;
		int checked;
		unsigned keep = ldp_bases_match(&bases, x.ips[id], x.depth[id], &base, &checked);
		assert_true(keep <= x.depth[id]);
		assert_true(keep == 0 || (base >= 1 && base < id));
		/* No collision among these: the hashes found what is there. */
		assert_true(keep == 0 || ldp_bases_shares(x.ips[base], x.depth[base], x.ips[id], x.depth[id], keep));
		size_t n = ldp_enc_stack2(buf, id - last, x.flags[id], x.ips[id], x.depth[id], keep, id - base);
		tb_record(&t, LDP_REC_STACK2, buf, n);
		last = id;
		ldp_bases_add(&bases, x.ips[id], keep, x.depth[id], id);
		shared += n;
		whole += ldp_enc_stack(buf, id, x.flags[id], x.ips[id], x.depth[id]);
		kept += keep;
		if (id % 700 == 0) {
			tb_frame(&t); /* a reader resynchronises on frames: ids start whole again */
			last = 0;
		}
	}
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 1));
	tb_frame(&t);
	ldp_bases_free(&bases);
	/* Fixed seed: 29,469 frames kept, 109,225 bytes against 152,506 written whole. */
	assert_true(kept > S2_N * 8);         /* outer frames were found again */
	assert_true(shared * 4 < whole * 3);  /* and not written again */

	struct rd_visitor v = {.ctx = &x, .stack = s2_stack};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(rd_read_mem(t.buf, t.len, "stack2.ldp", &v, &st, &err), 0);
	assert_int_equal(x.bad, 0);
	assert_int_equal(x.seen, S2_N);
	tb_free(&t);
	for (unsigned id = 1; id <= S2_N; id++)
		free(x.ips[id]);
#undef NEXT_RND
}

/* A STACK2 naming what the trace does not hold is malformed. */
static void test_stack2_hostile(void **state)
{
	(void)state;
	struct {
		unsigned major;
		uint32_t id_delta, base_delta;
		unsigned keep;
		const char *why;
	} cases[] = {
		{LDP_FORMAT_MAJOR, 1, 0, 0, NULL},                      /* stack 2 on its own: fine */
		{LDP_FORMAT_MAJOR, 1, 1, 2, NULL},                      /* 2 outer frames of stack 1: fine */
		{LDP_FORMAT_MAJOR, 1, 1, 3, "more frames than its base"}, /* stack 1 has 2 */
		{LDP_FORMAT_MAJOR, 1, 2, 1, "base out of range"},       /* stack 0 */
		{LDP_FORMAT_MAJOR, 1, 5, 1, "base out of range"},       /* before the first */
		{LDP_FORMAT_MAJOR, 2, 0, 0, "out of sequence"},         /* stack 3 before 2 */
		{1, 1, 0, 0, "format 1 segment"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tb t = {0};
		uint8_t buf[256];
		uintptr_t ips[3] = {0x401010, 0x401020, 0x401030};
		tb_header(&t, cases[i].major, 0, 5);
		tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, ips + 1, 2));
		tb_record(&t, LDP_REC_STACK2, buf,
			  ldp_enc_stack2(buf, 1 + cases[i].id_delta, 0, ips, cases[i].keep + 1, cases[i].keep,
					 cases[i].base_delta));
		tb_frame(&t);
		struct seen x = {0};
		struct rd_stats st;
		struct rd_error err;
		int rc = read_mem(&t, &x, &st, &err);
		if (!cases[i].why) {
			assert_int_equal(rc, 0);
			assert_int_equal(x.stacks, 2);
		} else {
			assert_int_not_equal(rc, 0);
			if (!strstr(err.msg, cases[i].why))
				fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, cases[i].why);
		}
		tb_free(&t);
	}
}

static void test_reader_good(void **state)
{
	(void)state;
	struct tb t = {0};
	good_trace(&t);
	struct seen x = {0};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(read_mem(&t, &x, &st, &err), 0);
	assert_int_equal(x.segments, 1);
	assert_int_equal(x.modules, 1);
	assert_int_equal(x.stacks, 1);
	assert_int_equal(x.ends, 1);
	assert_int_equal(x.end_reason, LDP_END_EXIT);
	uint64_t want[] = {5, 7, 8, 9, 1000010, 20, 30};
	assert_int_equal(x.nev, 7);
	for (int i = 0; i < 7; i++)
		assert_true(x.seqs[i] == want[i]);
	assert_string_equal(x.label, "after-load");
	assert_false(st.truncated);
	tb_free(&t);
}

/* Cut the file at every byte: never an error for a clean cut after the first
 * segment header, never a crash, and everything in whole frames before the
 * cut is delivered. Cut before the header is whole, it is not a trace: one
 * line saying so (an empty file, /dev/null and a 10-byte prefix once gave
 * an all-zero report). */
static void test_reader_truncated_everywhere(void **state)
{
	(void)state;
	struct tb t = {0};
	good_trace(&t);
	size_t full = t.len;
	/* Where the header and the two frames end: cuts there are clean. */
	struct tb h = {0};
	tb_header(&h, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
	size_t clean_at = h.len;
	tb_free(&h);
	int clean_cuts = 0;
	for (size_t cut = 0; cut < full; cut++) {
		t.len = cut;
		struct seen x = {0};
		struct rd_stats st;
		struct rd_error err;
		if (cut < clean_at) {
			assert_int_equal(read_mem(&t, &x, &st, &err), -1);
			if (!strstr(err.msg, cut ? "ends inside its first segment header" : "empty file"))
				fail_msg("cut %zu: %s", cut, err.msg);
			assert_null(strchr(err.msg, '\n'));
			assert_int_equal(x.segments, 0);
			continue;
		}
		assert_int_equal(read_mem(&t, &x, &st, &err), 0);
		if (!st.truncated) {
			/* Only at the end of the header or of the first frame. */
			assert_true(cut == clean_at || x.nev == 4);
			clean_cuts++;
		}
		assert_true(x.nev <= 7);
		assert_int_equal(x.ends, x.segments); /* a cut segment still ends (reason 0) */
		if (x.ends && cut < full - 4) /* (a cut inside the checksum has all records) */
			assert_int_equal(x.end_reason, 0);
	}
	assert_int_equal(clean_cuts, 2);
	tb_free(&t);
}

/* Format 1.1: rounds share a zstd frame, flushed after each (ZSTD_e_flush),
 * the frame ended later. Read whole, and cut at every byte: every round that
 * was flushed before the cut is delivered, never an error. */
static void test_reader_rounds_in_one_frame(void **state)
{
	(void)state;
	struct tb t = {0};
	uint8_t buf[1024];
	tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
	size_t header_end = t.len;
	uintptr_t ips[1] = {0x400100};
	struct ldp_enc_state e0 = {0, 0};
	uint64_t a[] = {5, 9, 20, 21};
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	uint8_t z[4096];
	size_t flushed[3], nf = 0;
	for (int round = 0; round < 3; round++) {
		if (round == 0)
			tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, ips, 1));
		if (round < 2)
			tb_record(&t, LDP_REC_EVENTS3, buf, events(buf, 0, 100, a + 2 * round, 2, round == 0, &e0));
		if (round < 2)
			tb_record(&t, LDP_REC_ROUND, buf, ldp_enc_round(buf, (uint64_t)round + 1, 10, 1));
		else
			tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 30));
		ZSTD_inBuffer in = {t.rec, t.rlen, 0};
		size_t left;
		do {
			ZSTD_outBuffer out = {z, sizeof z, 0};
			left = ZSTD_compressStream2(cc, &out, &in, round < 2 ? ZSTD_e_flush : ZSTD_e_end);
			assert_false(ZSTD_isError(left));
			tb_raw(&t, z, out.pos);
		} while (left);
		t.rlen = 0;
		flushed[nf++] = t.len;
	}
	ZSTD_freeCCtx(cc);

	struct seen x = {0};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(read_mem(&t, &x, &st, &err), 0);
	assert_int_equal(x.nev, 4);
	assert_int_equal(x.end_reason, LDP_END_EXIT);
	assert_false(st.truncated);
	size_t full = t.len;
	for (size_t cut = header_end + 1; cut < full; cut++) {
		t.len = cut;
		assert_int_equal(read_mem(&t, &x, &st, &err), 0);
		assert_true(st.truncated); /* the frame is open at every cut */
		int want = cut >= flushed[1] ? 4 : cut >= flushed[0] ? 2 : 0;
		assert_true(x.nev >= want);
		assert_true(x.nev <= 4);
	}
	tb_free(&t);
}

static void expect_error(struct tb *t, const char *needle)
{
	struct seen x = {0};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(read_mem(t, &x, &st, &err), -1);
	if (!strstr(err.msg, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

static void test_reader_hostile(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct tb t = {0};

	tb_header(&t, LDP_FORMAT_MAJOR + 1, 0, 1);
	expect_error(&t, "newer");
	tb_free(&t);

	tb_raw(&t, "hello, this is not a trace at all", 33);
	expect_error(&t, "not an ldprof trace");
	tb_free(&t);

	/* Valid zstd, but no segment header: not a trace. */
	tb_frame_bytes(&t, "plain text compressed", 21);
	tb_frame(&t);
	expect_error(&t, "not an ldprof trace");
	tb_free(&t);

	/* Valid zstd after a header, but its content is not records. */
	tb_header(&t, LDP_FORMAT_MAJOR, 0, 1);
	tb_frame_bytes(&t, "hello world, not records", 24);
	tb_frame(&t);
	expect_error(&t, "byte");
	tb_free(&t);

	/* A record length varint that never ends. */
	tb_header(&t, LDP_FORMAT_MAJOR, 0, 1);
	uint8_t endless[16] = {LDP_REC_EVENTS3};
	memset(endless + 1, 0xff, 15);
	tb_frame_bytes(&t, endless, 16);
	tb_frame(&t);
	expect_error(&t, "malformed record length");
	tb_free(&t);

	/* A record length past the end of its frame. */
	tb_header(&t, LDP_FORMAT_MAJOR, 0, 1);
	uint8_t past[8] = {LDP_REC_STACK, 100, 1, 0, 0};
	tb_frame_bytes(&t, past, 5);
	tb_frame(&t);
	expect_error(&t, "crosses the end of its frame");
	tb_free(&t);

	/* A stack id pointing nowhere. */
	tb_header(&t, LDP_FORMAT_MAJOR, 0, 1);
	struct ldp_enc_state enc = {0, 0};
	size_t k = ldp_varint_put(buf, 0);
	k += ldp_enc_attach(buf + k, &enc, 1);
	k += ldp_enc_alloc(buf + k, &enc, LDP_EV_ALLOC_MALLOC, 1, 0x1000, 8, 99);
	tb_record(&t, LDP_REC_EVENTS3, buf, k);
	tb_frame(&t);
	expect_error(&t, "never defined");
	tb_free(&t);

	/* Stack ids out of sequence. */
	tb_header(&t, LDP_FORMAT_MAJOR, 0, 1);
	uintptr_t ip = 0x1234;
	tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 5, 0, &ip, 1));
	tb_frame(&t);
	expect_error(&t, "out of sequence");
	tb_free(&t);

	/* A segment header claiming more than the limit. */
	tb_le32(&t, LDP_SEGMENT_MAGIC);
	tb_le32(&t, 0xfffffff0u);
	expect_error(&t, "segment header claims");
	tb_free(&t);

	/* A zstd frame that claims a huge content size: refused, nothing allocated for it. */
	tb_header(&t, LDP_FORMAT_MAJOR, 0, 1);
	uint8_t frame[] = {0x28, 0xb5, 0x2f, 0xfd, /* zstd magic */
			   0xe0,                   /* FCS 8 bytes, single segment */
			   0, 0, 0, 0, 0, 0, 0, 0x10, /* 2^60 bytes */
			   0x21, 0, 0,             /* last raw block, 4 bytes */
			   'a', 'b', 'c', 'd'};
	tb_raw(&t, frame, sizeof frame);
	struct seen x = {0};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(read_mem(&t, &x, &st, &err), 0); /* damage: skipped and reported */
	assert_int_equal(st.damaged, 1);
	assert_non_null(strstr(st.damage_why, "corrupt zstd frame"));
	tb_free(&t);
}

/* ---- resynchronising after damage ---- */

/* One image's records: a stack, ring `ring` (thread tid) allocating
 * seqs[0..n), a ROUND. */
static void image_round(struct tb *t, uint32_t ring, uint32_t tid, int attach, struct ldp_enc_state *enc,
			const uint64_t *seqs, int n, uint64_t round)
{
	uint8_t buf[8192];
	tb_record(t, LDP_REC_EVENTS3, buf, events(buf, ring, tid, seqs, n, attach, enc));
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, round, round * 10, seqs[n - 1] + 1));
}

/* The case: an exec whose last frame was flushed but never ended
 * (the program had closed the agent's descriptor), the new image's segment
 * header right after it. Every record the unended frame holds is used (also
 * those in the last blocks, which zstd decodes in the call that fails), the
 * first image ended by exec, the second is read whole, and the damage is
 * reported once. Also with the last flushed block cut mid-way: its round is
 * lost, everything else read. */
static void test_resync_unended_frame(void **state)
{
	(void)state;
	/* 0: no END, 1: END(exec) flushed, 2: the last flushed block cut mid-way
	 * (its round lost, the round before it kept) */
	for (int with_end = 0; with_end < 3; with_end++) {
		struct tb t = {0};
		uint8_t buf[1024];
		uintptr_t ip = 0x400100;
		struct ldp_enc_state e0 = {0, 0}, e1 = {0, 0};
		uint64_t a[] = {5, 6, 7}, b[] = {8, 9}, c[] = {3, 4};
		tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
		ZSTD_CCtx *cc = tb_stream_new();
		tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, &ip, 1));
		image_round(&t, 0, 100, 1, &e0, a, 3, 1);
		tb_stream(&t, cc, 0);
		image_round(&t, 0, 100, 0, &e0, b, 2, 2);
		if (with_end == 1)
			tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXEC, 30));
		tb_stream(&t, cc, 0); /* flushed, never ended */
		if (with_end == 2)
			t.len -= 3;
		size_t header2 = t.len;
		tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
		tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, &ip, 1));
		image_round(&t, 0, 100, 1, &e1, c, 2, 1);
		tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 40));
		tb_frame(&t);
		ZSTD_freeCCtx(cc);

		struct seen x = {0};
		struct rd_stats st;
		struct rd_error err;
		assert_int_equal(read_mem(&t, &x, &st, &err), 0);
		assert_int_equal(x.segments, 2);
		assert_int_equal(x.ends, 2);
		assert_int_equal(x.reasons[0], LDP_END_EXEC);
		assert_int_equal(x.reasons[1], LDP_END_EXIT);
		uint64_t want[] = {5, 6, 7, 8, 9, 3, 4}, cut[] = {5, 6, 7, 3, 4};
		int nwant = with_end == 2 ? 5 : 7;
		assert_int_equal(x.nev, nwant);
		for (int i = 0; i < nwant; i++)
			assert_true(x.seqs[i] == (with_end == 2 ? cut : want)[i]);
		assert_int_equal(st.damaged, 1);
		assert_non_null(strstr(st.damage_why, "corrupt zstd frame"));
		assert_true(st.skipped_bytes <= header2 - 145); /* at most the unended frame's bytes */
		assert_true(st.damaged_at <= header2);
		assert_false(st.truncated);
		tb_free(&t);
	}
}

/* Garbage between two frames of one image: reading resumes at the next
 * frame. Ring 0's delta state is lost with whatever the garbage replaced,
 * so its events are dropped (counted) until its next ATTACH; ring 1 starts
 * after the damage and is kept; stacks whose STACK records were lost are
 * defined empty and events or samples naming a stack never defined get
 * none. */
static void test_resync_garbage_between_frames(void **state)
{
	(void)state;
	struct tb t = {0};
	uint8_t buf[1024];
	uintptr_t ip = 0x400100;
	struct ldp_enc_state e0 = {0, 0}, e1 = {0, 0};
	uint64_t a[] = {5, 6}, b[] = {10, 11, 12}, c[] = {13, 14}, d[] = {20};
	tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
	tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(&buf[0], 1, 0, &ip, 1));
	image_round(&t, 0, 100, 1, &e0, a, 2, 1);
	tb_frame(&t);
	size_t garbage_at = t.len;
	uint64_t rng = 99;
	for (int i = 0; i < 1000; i++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		uint8_t g = (uint8_t)rng;
		if (g == 0x28 || g == 0x5d)
			g = 0; /* no accidental magic */
		tb_raw(&t, &g, 1);
	}
	/* Stacks 2 and 3 were in the lost part; 4 comes now. */
	tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 4, 0, &ip, 1));
	image_round(&t, 0, 100, 0, &e0, b, 3, 2);                   /* ring 0: state lost, dropped */
	size_t k = ldp_varint_put(buf, 1);
	k += ldp_enc_attach(buf + k, &e1, 101);
	k += ldp_enc_alloc(buf + k, &e1, LDP_EV_ALLOC_MALLOC, c[0], 0x9000, 8, 9); /* never defined */
	k += ldp_enc_alloc(buf + k, &e1, LDP_EV_ALLOC_MALLOC, c[1], 0x9100, 8, 3); /* lost: defined empty */
	tb_record(&t, LDP_REC_EVENTS3, buf, k);
	tb_record(&t, LDP_REC_SAMPLE, buf, ldp_enc_sample(buf, LDP_SAMPLE_CPU, 101, 5, 1000, 9, 0, -1));
	image_round(&t, 0, 102, 1, &e0, d, 1, 3);                   /* ring 0 attached again: kept */
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 40));
	tb_frame(&t);

	struct seen x = {0};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(read_mem(&t, &x, &st, &err), 0);
	assert_int_equal(x.segments, 1);
	assert_int_equal(x.reasons[0], LDP_END_EXIT);
	assert_int_equal(st.damaged, 1);
	assert_int_equal(st.damaged_at, garbage_at);
	assert_int_equal(st.skipped_bytes, 1000);
	assert_non_null(strstr(st.damage_why, "neither a zstd frame nor a segment header"));
	assert_int_equal(st.dropped_events, 3);
	assert_int_equal(x.stacks, 4);
	assert_int_equal(x.empty_stacks, 2);
	uint64_t want[] = {5, 6, 13, 14, 20};
	uint32_t want_stack[] = {1, 1, 0, 3, 1};
	assert_int_equal(x.nev, 5);
	for (int i = 0; i < 5; i++) {
		assert_true(x.seqs[i] == want[i]);
		assert_int_equal(x.ev_stack[i], want_stack[i]);
	}
	assert_int_equal(x.ev_tid[4], 102);
	tb_free(&t);
}

/* A corrupt block in the middle frame of three: the third is used. */
static void test_resync_corrupt_middle_frame(void **state)
{
	(void)state;
	struct tb t = {0};
	uint8_t buf[4096];
	uintptr_t ip = 0x400100;
	struct ldp_enc_state e0 = {0, 0}, e1 = {0, 0}, e2 = {0, 0};
	uint64_t a[] = {5, 6}, c[] = {30, 31};
	uint64_t b[200];
	for (int i = 0; i < 200; i++)
		b[i] = 10 + (uint64_t)i;
	tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
	tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, &ip, 1));
	image_round(&t, 0, 100, 1, &e0, a, 2, 1);
	tb_frame(&t);
	size_t mid = t.len;
	image_round(&t, 1, 101, 1, &e1, b, 200, 2);
	tb_frame(&t);
	size_t third = t.len;
	image_round(&t, 2, 102, 1, &e2, c, 2, 3);
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 40));
	tb_frame(&t);
	for (size_t i = mid + (third - mid) / 2; i < mid + (third - mid) / 2 + 8; i++)
		t.buf[i] ^= 0xa5;

	struct seen x = {0};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(read_mem(&t, &x, &st, &err), 0);
	assert_int_equal(st.damaged, 1);
	assert_true(st.damaged_at >= mid && st.damaged_at < third);
	assert_true(st.skipped_bytes <= third - mid);
	assert_int_equal(x.reasons[0], LDP_END_EXIT);
	assert_true(x.nev >= 4);
	/* The first frame's and the third frame's events are all there. */
	int found = 0;
	for (int i = 0; i < x.nev && i < 64; i++)
		found += x.seqs[i] == 5 || x.seqs[i] == 6 || x.seqs[i] == 30 || x.seqs[i] == 31;
	assert_int_equal(found, 4);
	tb_free(&t);
}

/* Damage: a frame of stacks lost. The next frame's first STACK2 gives its id
 * whole, so ids are known again; the lost stacks are defined empty, and so
 * is a stack whose base was one of them. */
static unsigned s2_depths[16];
static void s2_depth(void *ctx, const struct rd_stack *s)
{
	(void)ctx;
	if (s->id < 16)
		s2_depths[s->id] = s->depth + 100; /* +100: seen */
}

static void test_stack2_after_damage(void **state)
{
	(void)state;
	struct tb t = {0};
	uint8_t buf[256];
	uintptr_t ips[4] = {0x401040, 0x401030, 0x401020, 0x401010};
	tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 9);
	tb_record(&t, LDP_REC_STACK2, buf, ldp_enc_stack2(buf, 1, 0, ips + 2, 2, 0, 0));  /* 1: 2 frames */
	tb_record(&t, LDP_REC_STACK2, buf, ldp_enc_stack2(buf, 1, 0, ips + 1, 3, 2, 1));  /* 2: 3, 2 of 1 */
	tb_frame(&t);
	size_t mid = t.len;
	tb_record(&t, LDP_REC_STACK2, buf, ldp_enc_stack2(buf, 3, 0, ips, 4, 3, 1));      /* 3: 4, 3 of 2 */
	tb_record(&t, LDP_REC_STACK2, buf, ldp_enc_stack2(buf, 1, 0, ips, 4, 4, 1));      /* 4: 4, 4 of 3 */
	tb_frame(&t);
	size_t third = t.len;
	tb_record(&t, LDP_REC_STACK2, buf, ldp_enc_stack2(buf, 5, 0, ips, 4, 4, 1));      /* 5: 4 of 4 (lost) */
	tb_record(&t, LDP_REC_STACK2, buf, ldp_enc_stack2(buf, 1, 0, ips + 1, 3, 2, 5));  /* 6: 2 of 1 */
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 40));
	tb_frame(&t);
	for (size_t i = mid + (third - mid) / 2; i < third - 4; i++)
		t.buf[i] ^= 0xa5;

	memset(s2_depths, 0, sizeof s2_depths);
	struct rd_visitor v = {.stack = s2_depth};
	struct rd_stats st;
	struct rd_error err;
	assert_int_equal(rd_read_mem(t.buf, t.len, "damaged.ldp", &v, &st, &err), 0);
	assert_int_equal(st.damaged, 1);
	unsigned want[7] = {0, 102, 103, 100, 100, 100, 103};
	for (unsigned id = 1; id <= 6; id++)
		if (s2_depths[id] != want[id])
			fail_msg("stack %u: %u, want %u", id, s2_depths[id], want[id]);
	tb_free(&t);
}

/* Damage anywhere: every byte of a two-image trace flipped in turn. The
 * reader never crashes, and either reads the file (damage reported, or
 * none noticed) or fails with one line. A segment header whose magic is
 * damaged leaves its image's records read as a headless image. */
static void test_resync_flip_every_byte(void **state)
{
	(void)state;
	struct tb t = {0};
	good_trace(&t);
	size_t first = t.len;
	uint8_t buf[256];
	tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1234);
	struct ldp_enc_state e0 = {0, 0};
	uint64_t a[] = {3, 4};
	uintptr_t ip = 0x400100;
	tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, &ip, 1));
	image_round(&t, 0, 100, 1, &e0, a, 2, 1);
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 40));
	tb_frame(&t);
	int resumed = 0;
	for (size_t i = 0; i < t.len; i++) {
		t.buf[i] ^= 0xff;
		struct seen x = {.any_exe = 1};
		struct rd_stats st;
		struct rd_error err;
		int rc = read_mem(&t, &x, &st, &err);
		if (rc) {
			assert_true(err.msg[0] != '\0');
			assert_null(strchr(err.msg, '\n'));
		} else if (st.damaged && i < first && x.segments == 2) {
			resumed++;
		}
		if (i >= first && i < first + 4) {
			/* The second image's header lost: its records are still read,
			 * as an image of their own. */
			assert_int_equal(rc, 0);
			assert_int_equal(x.segments, 2);
			assert_int_equal(x.nev, 7 + 2);
		}
		t.buf[i] ^= 0xff;
	}
	/* Most damage in the first image's frames (about 130 bytes) leaves the
	 * second image read whole. */
	assert_true(resumed > 50);
	tb_free(&t);
}

/* ---- how an image ended ---- */

/* END reason 6 (format 1.6) carries the signal; a 1.6 END without it, or
 * with fields after it, still reads. */
static void test_end_signal_decode(void **state)
{
	(void)state;
	uint8_t p[32];
	size_t n = 0;
	n += ldp_varint_put(p + n, LDP_END_SIGNAL);
	n += ldp_varint_put(p + n, 1234);
	n += ldp_varint_put(p + n, 15);
	struct rd_end e;
	const char *why = NULL;
	assert_int_equal(rd_decode_end(p, n, &e, &why), 0);
	assert_int_equal(e.reason, LDP_END_SIGNAL);
	assert_int_equal(e.signal, 15);
	assert_true(e.time_us == 1234);
	p[n] = 7; /* a field of a later version */
	assert_int_equal(rd_decode_end(p, n + 1, &e, &why), 0);
	assert_int_equal(e.signal, 15);
	assert_int_equal(rd_decode_end(p, n - 1, &e, &why), 0); /* no signal number */
	assert_int_equal(e.signal, 0);
	n = ldp_varint_put(p, LDP_END_EXIT);
	n += ldp_varint_put(p + n, 5);
	n += ldp_varint_put(p + n, 9); /* not a signal: a later field */
	assert_int_equal(rd_decode_end(p, n, &e, &why), 0);
	assert_int_equal(e.reason, LDP_END_EXIT);
	assert_int_equal(e.signal, 0);
}

static void test_end_names(void **state)
{
	(void)state;
	char buf[48];
	struct {
		struct rd_end e;
		const char *name;
	} c[] = {
		{{LDP_END_EXIT, 0, 0, 0}, "exit"},
		{{LDP_END_EXEC, 0, 0, 0}, "exec"},
		{{LDP_END_UNDERSCORE_EXIT, 0, 0, 0}, "_exit"},
		{{LDP_END_ABORT, 0, 0, 0}, "abort"},
		{{LDP_END_ERROR, 0, 0, 0}, "agent error"},
		{{LDP_END_SIGNAL, 0, 15, 0}, "terminated by SIGTERM"},
		{{LDP_END_SIGNAL, 0, 11, 0}, "terminated by SIGSEGV"},
		{{LDP_END_SIGNAL, 0, 0, 0}, "terminated by a signal"},
		{{0, 0, 0, 0}, "cut short (killed?)"},
		{{0, 0, 0, 1}, "still running"},
		{{42, 0, 0, 0}, "ended (reason 42)"},
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++)
		assert_string_equal(tm_end_name(&c[i].e, buf, sizeof buf), c[i].name);
}

static uint64_t my_start_ticks(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	for (int field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

/* A trace with no END: still running when its header names this host, this
 * process and its start time (blocks live now, none leaked); cut short when
 * the start time is another's (a pid reused), the host another, or the
 * process ended by a signal (its live blocks leaked). */
static void live_trace(struct tb *t, const char *host, uint64_t start, int end_reason)
{
	uint8_t buf[256];
	tb_header_host(t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, (uint64_t)getpid(), host, start);
	uintptr_t ip = 0x400100;
	tb_record(t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, &ip, 1));
	struct ldp_enc_state e = {0, 0};
	uint64_t a[] = {5, 6, 7};
	tb_record(t, LDP_REC_EVENTS3, buf, events(buf, 0, 100, a, 3, 1, &e));
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, 1, 10, 8));
	if (end_reason) {
		size_t n = ldp_varint_put(buf, (uint64_t)end_reason);
		n += ldp_varint_put(buf + n, 20);
		n += ldp_varint_put(buf + n, 15);
		tb_record(t, LDP_REC_END, buf, n);
	}
	tb_frame(t);
}

static void test_live_process(void **state)
{
	(void)state;
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	uint64_t start = my_start_ticks();
	struct {
		const char *host;
		uint64_t start;
		int end_reason;
		const char *name;
		int running;
	} c[] = {
		{u.nodename, start, 0, "still running", 1},
		{u.nodename, start + 1, 0, "cut short (killed?)", 0},
		{"another-host.example", start, 0, "cut short (killed?)", 0},
		{u.nodename, start, LDP_END_SIGNAL, "terminated by SIGTERM", 0},
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		struct tb t = {0};
		live_trace(&t, c[i].host, c[i].start, c[i].end_reason);
		struct tmodel m;
		struct rd_error err;
		assert_int_equal(tm_load_mem(&m, t.buf, t.len, "live.ldp", &err), 0);
		assert_int_equal(m.nsegs, 1);
		const struct tm_segment *seg = &m.segs[0];
		assert_string_equal(seg->end_name, c[i].name);
		assert_int_equal(seg->end.running, c[i].running);
		assert_int_equal(tm_segment_leaks(seg), !c[i].running);
		assert_int_equal(seg->heap.t.leaked_count, c[i].running ? 0 : 3);
		assert_int_equal(seg->heap.t.live_now_count, c[i].running ? 3 : 0);
		assert_int_equal(seg->heap.t.live_now_bytes, c[i].running ? 24 : 0);
		tm_free(&m);
		tb_free(&t);
	}
}

/* LOST kinds 4 and 5 (allocations and frees made in signal handlers that
 * interrupted the agent), damage and the rest are summed into the report's
 * "missed", which the text says in notes and JSON in "missed". */
static void test_missed_reported(void **state)
{
	(void)state;
	struct tb t = {0};
	uint8_t buf[256];
	good_trace(&t);
	/* the good trace, then garbage, then a second image with losses */
	tb_raw(&t, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10);
	tb_header(&t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, 1235);
	tb_record(&t, LDP_REC_LOST, buf, ldp_enc_lost(buf, LDP_LOST_NESTED_ALLOC, 7));
	tb_record(&t, LDP_REC_LOST, buf, ldp_enc_lost(buf, LDP_LOST_NESTED_FREE, 3));
	tb_record(&t, LDP_REC_LOST, buf, ldp_enc_lost(buf, LDP_LOST_NESTED_ALLOC, 5));
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 40));
	tb_frame(&t);
	struct report r = {0};
	struct loaded l = {0};
	struct rd_error err;
	assert_int_equal(tm_load_mem(&l.m, t.buf, t.len, "lost.ldp", &err), 0);
	assert_int_equal(l.m.segs[1].heap.t.lost_nested_allocs, 12);
	assert_int_equal(l.m.segs[1].heap.t.lost_nested_frees, 3);
	r.traces = &l;
	r.ntraces = 1;
	report_sum(&r);
	struct strbuf b = {0};
	render_missed_text(&b, &r);
	assert_non_null(strstr(b.s, "lost.ldp is damaged: byte "));
	assert_non_null(strstr(b.s, "10 bytes skipped"));
	assert_non_null(strstr(b.s, "12 allocations and 3 frees made in signal handlers"));
	assert_non_null(strstr(b.s, "up to 3 blocks show as leaked"));
	assert_non_null(strstr(b.s, "up to 12 frees as frees of unknown blocks"));
	b.len = 0;
	sb_json(&b, render_missed_json(&r));
	assert_non_null(strstr(b.s, "\"damaged_region_count\":1,\"skipped_bytes\":10,"));
	assert_non_null(strstr(b.s, "\"nested_allocation_count\":12,\"nested_free_count\":3}"));
	sb_free(&b);
	tm_free(&l.m);
	tb_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_round_trip),
		cmocka_unit_test(test_varint_hostile),
		cmocka_unit_test(test_events_round_trip),
		cmocka_unit_test(test_events_seq_quanta),
		cmocka_unit_test(test_events_site),
		cmocka_unit_test(test_events_site_hostile),
		cmocka_unit_test(test_ring_free_stack),
		cmocka_unit_test(test_events_site_last),
		cmocka_unit_test(test_events_site_same),
		cmocka_unit_test(test_events_hostile),
		cmocka_unit_test(test_module_round_trip),
		cmocka_unit_test(test_stack_round_trip),
		cmocka_unit_test(test_stack2_round_trip),
		cmocka_unit_test(test_stack2_hostile),
		cmocka_unit_test(test_end_round_trip),
		cmocka_unit_test(test_reader_good),
		cmocka_unit_test(test_reader_truncated_everywhere),
		cmocka_unit_test(test_reader_rounds_in_one_frame),
		cmocka_unit_test(test_reader_hostile),
		cmocka_unit_test(test_resync_unended_frame),
		cmocka_unit_test(test_resync_garbage_between_frames),
		cmocka_unit_test(test_resync_corrupt_middle_frame),
		cmocka_unit_test(test_stack2_after_damage),
		cmocka_unit_test(test_resync_flip_every_byte),
		cmocka_unit_test(test_end_signal_decode),
		cmocka_unit_test(test_end_names),
		cmocka_unit_test(test_live_process),
		cmocka_unit_test(test_missed_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
