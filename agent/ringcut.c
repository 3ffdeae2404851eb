/*
 * ringcut.c - where a ring's event stream stands at a cut between trace parts.
 *
 * Events are decoded against per-ring state: the delta bases prev_seq and
 * prev_ptr, and the 1.7 model (ldprof/model.h: the recent-allocation table,
 * nalloc, prev_stack, the last block freed per size class), all reset by
 * ATTACH (docs/FORMAT.md "Events", "Events, 1.7"). A rotated trace's next
 * part must be readable on its own, so it starts with a RING record per
 * ring giving that state. Only the producer keeps the state, and reading it
 * from the writer would race; so the writer, when rotation is on, follows
 * each ring's bytes as it drains them ([tail, head_snap): whole events, head
 * is published per event) and keeps the state itself, updating the model
 * with the same functions as the encoder and the reader. This decodes only
 * what the state needs and must follow every event encoder (agent.h,
 * encode.c, mapped.c).
 */
#include <string.h>

#include "agent.h"
#include "ldprof/model.h"
#include "ldprof/varint.h"
#include "rawmem.h"

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

/* A 1.7 op's seq field as ldp_enc_seq wrote it: *delta from prev. @return 0, -1 if out of range. */
static int get_seq(struct cursor *c, uint64_t prev, uint64_t *delta)
{
	*delta = get(c);
	return *delta ? 0 : ldp_seq_quanta_delta(prev, get(c), delta);
}

static uint64_t unzig(uint64_t v)
{
	return (v >> 1) ^ (0 - (v & 1));
}

/* An ALLOC3 or FREE3 (ldp_enc_salloc, ldp_enc_sfree): the seq and the
 * model's stacks move, the address does not. @return 0, -1 as follow_v2. */
static int follow_v3(struct ldp_ringcut *cut, struct ldp_model_dec *d, uint8_t op, struct cursor *c)
{
	uint64_t sd = 1;
	if (op >= LDP_EV_FREE3) {
		if (!(op & LDP_EV_FREE3_SEQ1) && get_seq(c, cut->seq, &sd))
			return -1;
		if (op & LDP_EV_FREE3_LAST) {
			d->m.free_stack = d->m.site_stack;
		} else {
			d->m.free_stack += (uint32_t)unzig(get(c));
			get(c); /* size */
		}
	} else {
		if (!(op & LDP_EV_ALLOC3_SEQ1) && get_seq(c, cut->seq, &sd))
			return -1;
		if (op & LDP_EV_ALLOC3_SAME) {
			d->m.stack = d->m.site_stack;
		} else {
			d->m.site_size = get(c);
			d->m.stack += (uint32_t)unzig(get(c));
			d->m.site_stack = d->m.stack;
		}
	}
	cut->seq += sd;
	return 0;
}

/* An ALLOC2 or FREE2 (the encoder's ldp_enc_alloc, ldp_enc_free). @return 0,
 * or -1 when the model does not hold what the event names (the state is
 * then unknown: cannot happen while the writer sees every byte). */
static int follow_v2(struct ldp_ringcut *cut, struct ldp_model_dec *d, uint8_t op, struct cursor *c)
{
	uint64_t sd = 1, ptr;
	if (op >= LDP_EV_FREE2) {
		if (!(op & LDP_EV_FREE2_SEQ1) && get_seq(c, cut->seq, &sd))
			return -1;
		uint64_t v = get(c);
		if (op & LDP_EV_FREE2_INDEX) {
			struct ldp_model_slot *e = ldp_model_dec_find(d, d->m.nalloc - (uint32_t)v);
			if (!e)
				return -1;
			ptr = e->ptr;
			ldp_model_free_slot(&d->m, e);
		} else {
			ptr = cut->ptr + unzig(v);
		}
	} else {
		if (!(op & LDP_EV_ALLOC2_SEQ1) && get_seq(c, cut->seq, &sd))
			return -1;
		unsigned cls = ldp_size_class(get(c));
		if (op & LDP_EV_ALLOC2_REUSE) {
			ptr = d->m.freed[cls];
			if (!ptr)
				return -1;
			ldp_model_reuse(&d->m, cls);
		} else {
			ptr = cut->ptr + unzig(get(c));
		}
		uint32_t stack = d->m.stack + (uint32_t)unzig(get(c));
		ldp_model_dec_alloc(d, ptr, cls, stack);
	}
	cut->seq += sd;
	cut->ptr = ptr;
	return 0;
}

void ldp_ringcut_follow(struct ldp_ringcut *cut, const uint8_t *buf, uint32_t mask, uint64_t from, uint64_t to)
{
	if (!cut->model) {
		/* The first bytes followed (rotation is on): the model's memory,
		 * kept for the ring's life. Without it the state is unknown (no
		 * RING for this ring) until an ATTACH met with memory. */
		cut->model = ldp_raw_alloc(sizeof *cut->model);
		if (!cut->model) {
			cut->attached = 0;
			return;
		}
	}
	struct ldp_model_dec *d = cut->model;
	struct cursor c = {buf, mask, from, to};
	while (c.pos < c.end) {
		uint8_t op = buf[c.pos++ & mask];
		if (op == LDP_EV_ATTACH) {
			cut->tid = (uint32_t)get(&c);
			cut->seq = cut->ptr = 0;
			memset(d, 0, sizeof *d);
			cut->attached = 1;
		} else if (op >= LDP_EV_ALLOC3 && op <= LDP_EV_V2_MAX) {
			if (follow_v3(cut, d, op, &c))
				cut->attached = 0;
		} else if (op >= LDP_EV_V2_MIN && op <= LDP_EV_V2_MAX) {
			if (follow_v2(cut, d, op, &c))
				cut->attached = 0; /* and the bytes go on being parsed, to the next ATTACH */
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

size_t ldp_enc_ring(uint8_t *dst, uint32_t ring, const struct ldp_ringcut *cut)
{
	const struct ldp_model *m = &cut->model->m;
	uint8_t *p = dst;
	p += ldp_varint_put(p, ring);
	p += ldp_varint_put(p, cut->tid);
	p += ldp_varint_put(p, cut->seq);
	p += ldp_varint_put(p, cut->ptr);
	p += ldp_varint_put(p, m->nalloc);
	p += ldp_varint_put(p, m->stack);
	/* freed[]: the classes that hold a block, in order; addresses as deltas */
	unsigned nfreed = 0, prev_cls = 0;
	uint64_t prev = cut->ptr;
	for (unsigned i = 0; i < LDP_SIZE_CLASSES; i++)
		nfreed += m->freed[i] != 0;
	p += ldp_varint_put(p, nfreed);
	for (unsigned i = 0; i < LDP_SIZE_CLASSES; i++) {
		if (!m->freed[i])
			continue;
		p += ldp_varint_put(p, i - prev_cls);
		p += ldp_varint_put(p, ldp_zigzag((int64_t)(m->freed[i] - prev)));
		prev_cls = i;
		prev = m->freed[i];
	}
	/* the recent table's occupied slots, in slot order (a slot is its
	 * block's ldp_recent_slot: not written) */
	unsigned nrecent = 0;
	for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++)
		nrecent += m->recent[i].ptr != 0;
	p += ldp_varint_put(p, nrecent);
	for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++) {
		const struct ldp_model_slot *e = &m->recent[i];
		if (!e->ptr)
			continue;
		p += ldp_varint_put(p, (uint32_t)(m->nalloc - e->idx));
		p += ldp_varint_put(p, ldp_zigzag((int64_t)(e->ptr - prev)));
		p += ldp_varint_put(p, e->cls);
		prev = e->ptr;
	}
	p += ldp_varint_put(p, m->free_stack); /* 2.2 */
	p += ldp_varint_put(p, m->site_stack);
	p += ldp_varint_put(p, m->site_size);
	return (size_t)(p - dst);
}
