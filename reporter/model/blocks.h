/*
 * blocks.h - the heap model's live blocks, by address.
 *
 * An open-addressed table whose slots hold the block itself (address,
 * allocation seq, size, stack: 32 bytes, two to a cache line), so matching
 * an event to its block costs one cache miss, not a probe and then a load
 * from a separate array. Linear probing with backward-shift deletion: no
 * tombstones, so heavy churn never degrades it.
 */
#ifndef LDPR_BLOCKS_H
#define LDPR_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct live_block {
	uint64_t ptr;
	uint64_t seq;  /* of its allocation */
	uint64_t size; /* requested */
	uint32_t stack;
	uint32_t unused;
};

struct live_blocks {
	struct live_block *slots; /* ptr 0 = empty */
	size_t cap, len;
	struct live_block zero;   /* the block at address 0 (only a malformed trace has one) */
	int zero_live;
};

void blocks_init(struct live_blocks *b);
void blocks_free(struct live_blocks *b);
/* Twice the slots, every block rehashed (blocks_slot calls it). */
void blocks_grow(struct live_blocks *b);

static inline size_t blocks_home(const struct live_blocks *b, uint64_t ptr)
{
	return hash_u64(ptr) & (b->cap - 1);
}

/* Where the lookup of ptr starts: for a prefetch. (The caller prefetches:
 * gcc drops a call to an inline function that does nothing but prefetch,
 * as a function without side effects.) */
static inline const struct live_block *blocks_home_slot(const struct live_blocks *b, uint64_t ptr)
{
	return &b->slots[blocks_home(b, ptr)];
}

/* The live block at ptr, or NULL. (Inline, as blocks_slot: one of them
 * runs for every event.) */
static inline struct live_block *blocks_find(struct live_blocks *b, uint64_t ptr)
{
	if (!ptr)
		return b->zero_live ? &b->zero : NULL;
	size_t mask = b->cap - 1;
	for (size_t i = blocks_home(b, ptr);; i = (i + 1) & mask) {
		if (b->slots[i].ptr == ptr)
			return &b->slots[i];
		if (!b->slots[i].ptr)
			return NULL;
	}
}

/* The slot of ptr: *found says whether a block was live there; a new slot
 * has only ptr set. Valid until the next blocks_slot or blocks_remove. */
static inline struct live_block *blocks_slot(struct live_blocks *b, uint64_t ptr, int *found)
{
	if (!ptr) {
		*found = b->zero_live;
		b->zero_live = 1;
		return &b->zero;
	}
	if ((b->len + 1) * 10 > b->cap * 7)
		blocks_grow(b);
	size_t mask = b->cap - 1;
	size_t i = blocks_home(b, ptr);
	while (b->slots[i].ptr && b->slots[i].ptr != ptr)
		i = (i + 1) & mask;
	*found = b->slots[i].ptr != 0;
	if (!*found) {
		b->slots[i].ptr = ptr;
		b->len++;
	}
	return &b->slots[i];
}
/* Remove the block blocks_find or blocks_slot returned. */
void blocks_remove(struct live_blocks *b, struct live_block *blk);

#endif
