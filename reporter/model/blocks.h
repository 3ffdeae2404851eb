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
/* The live block at ptr, or NULL. */
struct live_block *blocks_find(struct live_blocks *b, uint64_t ptr);
/* The slot of ptr: *found says whether a block was live there; a new slot
 * has only ptr set. Valid until the next blocks_slot or blocks_remove. */
struct live_block *blocks_slot(struct live_blocks *b, uint64_t ptr, int *found);
/* A hint: ptr is looked up soon; fetch its home slot's cache line. */
void blocks_prefetch(const struct live_blocks *b, uint64_t ptr);
/* Remove the block blocks_find or blocks_slot returned. */
void blocks_remove(struct live_blocks *b, struct live_block *blk);

#endif
