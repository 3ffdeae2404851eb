/*
 * ldprof/model.h - a ring's model of the 1.7 event ops (docs/FORMAT.md
 * "Events, 1.7"): what the encoder, the writer's ring follower (ringcut.c)
 * and the reader's decoder each keep, updated by these same functions so
 * the three cannot drift apart. Header-only: the encoder inlines them into
 * the malloc path.
 *
 *   encoder (agent.h)         finds a block by address:  its slot, ptr equal
 *   ringcut.c, decode.c       find it by allocation index: struct ldp_model_dec
 *
 * A RING record carries a model where a rotated part begins (ldp_model_*
 * below are also what seeding and comparing one use).
 */
#ifndef LDPROF_MODEL_H
#define LDPROF_MODEL_H

#include <stdint.h>
#include <string.h>

#include "ldprof/format.h"

struct ldp_model_slot {
	uint64_t ptr; /* 0: empty */
	uint32_t idx; /* the allocation's index on this ring since ATTACH */
	uint32_t cls; /* ldp_size_class of its size */
};

struct ldp_model {
	uint32_t nalloc, stack;                           /* allocations since ATTACH; the last one's stack */
	uint32_t free_stack;                              /* 2.2: the last site free's stack (FREE3) */
	uint32_t site_stack;                              /* 2.2: the last site allocation's stack and size */
	uint64_t site_size;                               /*      (ALLOC3), which a FREE3 may name as a whole */
	uint64_t freed[LDP_SIZE_CLASSES];                 /* per class: the last block freed by index, 0: none */
	struct ldp_model_slot recent[LDP_RECENT_SLOTS];   /* allocations a free may name by index */
};

/* An allocation (its address not taken from freed[]): into its slot. */
static inline void ldp_model_alloc(struct ldp_model *m, uint64_t ptr, unsigned cls, uint32_t stack)
{
	struct ldp_model_slot *e = &m->recent[ldp_recent_slot(ptr)];
	e->ptr = ptr;
	e->idx = m->nalloc++;
	e->cls = cls;
	m->stack = stack;
}

/* An allocation that returned freed[cls] (ALLOC2 reuse): taken from it, then
 * ldp_model_alloc as any allocation. */
static inline void ldp_model_reuse(struct ldp_model *m, unsigned cls)
{
	m->freed[cls] = 0;
}

/* A free by index of the block in slot e: out of the table, its class's last freed block. */
static inline void ldp_model_free_slot(struct ldp_model *m, struct ldp_model_slot *e)
{
	m->freed[e->cls] = e->ptr;
	e->ptr = 0;
}

/* Two models that decode every later event the same way: the same counts
 * and freed blocks, the same blocks in the same slots (an empty slot's
 * stale idx and class mean nothing). @return 1 if so. */
static inline int ldp_model_equal(const struct ldp_model *a, const struct ldp_model *b)
{
	if (a->nalloc != b->nalloc || a->stack != b->stack || a->free_stack != b->free_stack ||
	    a->site_stack != b->site_stack || a->site_size != b->site_size || memcmp(a->freed, b->freed, sizeof a->freed))
		return 0;
	for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++) {
		const struct ldp_model_slot *x = &a->recent[i], *y = &b->recent[i];
		if (x->ptr != y->ptr || (x->ptr && (x->idx != y->idx || x->cls != y->cls)))
			return 0;
	}
	return 1;
}

/* ---- the decoding side: blocks named by allocation index ---- */

#define LDP_MODEL_WHERE 4096 /* where[]: an index's slot, by index mod this */

struct ldp_model_dec {
	struct ldp_model m;
	uint16_t where[LDP_MODEL_WHERE]; /* a hint, checked: a newer index may have taken the entry */
};

static inline void ldp_model_dec_alloc(struct ldp_model_dec *d, uint64_t ptr, unsigned cls, uint32_t stack)
{
	d->where[d->m.nalloc & (LDP_MODEL_WHERE - 1)] = (uint16_t)ldp_recent_slot(ptr);
	ldp_model_alloc(&d->m, ptr, cls, stack);
}

/* The slot holding allocation index idx, or NULL. */
static inline struct ldp_model_slot *ldp_model_dec_find(struct ldp_model_dec *d, uint32_t idx)
{
	struct ldp_model_slot *e = &d->m.recent[d->where[idx & (LDP_MODEL_WHERE - 1)]];
	if (e->ptr && e->idx == idx)
		return e;
	for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++)
		if (d->m.recent[i].ptr && d->m.recent[i].idx == idx)
			return &d->m.recent[i];
	return NULL;
}

/* where[] for a model set as a whole (a RING record's). */
static inline void ldp_model_dec_index(struct ldp_model_dec *d)
{
	for (unsigned i = 0; i < LDP_RECENT_SLOTS; i++)
		if (d->m.recent[i].ptr)
			d->where[d->m.recent[i].idx & (LDP_MODEL_WHERE - 1)] = (uint16_t)i;
}

#endif
