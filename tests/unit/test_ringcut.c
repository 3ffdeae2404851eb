/*
 * test_ringcut.c - rotation's view of a ring (agent/ringcut.c): following a
 * ring's bytes gives exactly the delta state the encoders left, across the
 * ring's wrap and for every op; and the RING record and part names as the
 * reader sees them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "read/internal.h"

#define RING 256u

/* Write an encoded event at ring position pos (wrapping), as the producer does. */
static uint64_t put(uint8_t *ring, uint64_t pos, const uint8_t *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ring[(pos + i) & (RING - 1)] = ev[i];
	return pos + n;
}

static void test_follow_every_op_across_the_wrap(void **state)
{
	(void)state;
	uint8_t ring[RING], ev[LDP_EV_MAX];
	struct ldp_enc_state enc = {0};
	struct ldp_ringcut cut = {0};
	uint64_t head = 200, tail = 200; /* the stream starts near the end of the buffer */
	head = put(ring, head, ev, ldp_enc_attach(ev, &enc, 4242));
	uint64_t seq = 1000, addr = 0x7f0000001000;
	for (unsigned i = 0; i < 500; i++) {
		seq += 1 + i % 7;
		addr += (i % 3 ? 48 : -4096 * (uint64_t)(i % 5));
		size_t n;
		switch (i % 6) {
		case 0: n = ldp_enc_alloc(ev, &enc, LDP_EV_ALLOC_MALLOC, seq, addr, 100 + i, i); break;
		case 1: n = ldp_enc_free(ev, &enc, seq, addr); break;
		case 2: n = ldp_enc_alloc(ev, &enc, LDP_EV_ALLOC_ALIGNED, seq, addr, 1u << 20, 7); break;
		case 3: n = ldp_enc_mmap(ev, &enc, seq, addr, 8192, 3, 0x22, 0, 5); break;
		case 4: n = ldp_enc_mremap(ev, &enc, seq, addr, 8192, addr + (1u << 22), 16384, 5); break;
		default: n = ldp_enc_munmap(ev, &enc, seq, addr, 4096); break;
		}
		head = put(ring, head, ev, n);
		if (i % 37 == 0) { /* the writer drains now and then, at event boundaries */
			ldp_ringcut_follow(&cut, ring, RING - 1, tail, head);
			tail = head;
			assert_true(cut.attached);
			assert_true(cut.seq == enc.seq && cut.ptr == enc.ptr && cut.tid == 4242);
		}
		if (head - tail > RING - LDP_EV_MAX) { /* full: drain */
			ldp_ringcut_follow(&cut, ring, RING - 1, tail, head);
			tail = head;
		}
	}
	ldp_ringcut_follow(&cut, ring, RING - 1, tail, head);
	assert_true(cut.seq == enc.seq && cut.ptr == enc.ptr);
	/* A new owner: ATTACH resets. */
	head = put(ring, head, ev, ldp_enc_attach(ev, &enc, 77));
	ldp_ringcut_follow(&cut, ring, RING - 1, head - 2, head);
	assert_true(cut.tid == 77 && cut.seq == 0 && cut.ptr == 0);
}

static void test_ring_record_round_trip(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t n = ldp_enc_ring(b, 12, 4242, UINT64_MAX - 5, 0x7fffdeadbeef);
	uint64_t ring, seq, ptr;
	uint32_t tid;
	const char *why = NULL;
	assert_int_equal(rd_decode_ring(b, n, &ring, &tid, &seq, &ptr, &why), 0);
	assert_true(ring == 12 && tid == 4242 && seq == UINT64_MAX - 5 && ptr == 0x7fffdeadbeef);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(rd_decode_ring(b, cut, &ring, &tid, &seq, &ptr, &why), -1);
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
		cmocka_unit_test(test_part_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
