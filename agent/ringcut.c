/*
 * ringcut.c - where a ring's event stream stands at a cut between trace parts.
 *
 * Events are delta-encoded per ring (prev_seq, prev_ptr, reset by ATTACH:
 * docs/FORMAT.md "Events"). A rotated trace's next part must be readable on
 * its own, so it starts with a RING record per ring giving that state. Only
 * the producer keeps the state, and reading it from the writer would race;
 * so the writer, when rotation is on, follows each ring's bytes as it drains
 * them ([tail, head_snap): whole events, head is published per event) and
 * keeps the state itself. This decodes only what the state needs and must
 * follow every event encoder (agent.h, encode.c, mapped.c).
 */
#include "agent.h"
#include "ldprof/varint.h"

struct cursor {
	const uint8_t *buf;
	uint32_t mask;
	uint64_t pos, end;
};

static uint64_t get(struct cursor *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; c->pos < c->end && shift < 64; shift += 7) {
		uint8_t b = c->buf[c->pos++ & c->mask];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static uint64_t unzig(uint64_t v)
{
	return (v >> 1) ^ (0 - (v & 1));
}

void ldp_ringcut_follow(struct ldp_ringcut *cut, const uint8_t *buf, uint32_t mask, uint64_t from, uint64_t to)
{
	struct cursor c = {buf, mask, from, to};
	while (c.pos < c.end) {
		uint8_t op = buf[c.pos++ & mask];
		if (op == LDP_EV_ATTACH) {
			cut->tid = (uint32_t)get(&c);
			cut->seq = cut->ptr = 0;
			cut->attached = 1;
		} else if (op >= LDP_EV_ALLOC_MALLOC && op <= LDP_EV_ALLOC_ALIGNED) {
			cut->seq += get(&c);
			cut->ptr += unzig(get(&c));
			get(&c); /* size */
			get(&c); /* stack */
		} else if (op == LDP_EV_FREE) {
			cut->seq += get(&c);
			cut->ptr += unzig(get(&c));
		} else if (op >= LDP_EV_SIZED_MIN && op <= LDP_EV_SIZED_MAX) {
			uint64_t len = get(&c), next = c.pos + len;
			if (op == LDP_EV_MMAP || op == LDP_EV_MUNMAP || op == LDP_EV_MREMAP) {
				cut->seq += get(&c);
				cut->ptr += unzig(get(&c)); /* MREMAP: the old start */
				if (op == LDP_EV_MREMAP) {
					get(&c); /* old_len */
					cut->ptr += unzig(get(&c)); /* the new start */
				}
			}
			c.pos = next;
		} else {
			cut->attached = 0; /* cannot happen: the agent writes no other op */
			return;
		}
	}
}

size_t ldp_enc_ring(uint8_t *dst, uint32_t ring, uint32_t tid, uint64_t seq, uint64_t ptr)
{
	size_t n = ldp_varint_put(dst, ring);
	n += ldp_varint_put(dst + n, tid);
	n += ldp_varint_put(dst + n, seq);
	return n + ldp_varint_put(dst + n, ptr);
}
