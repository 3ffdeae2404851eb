/*
 * blocks.c - the heap model's live blocks (blocks.h).
 */
#include "model/blocks.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define MIN_CAP 1024
void blocks_init(struct live_blocks *b)
{
	memset(b, 0, sizeof *b);
	b->cap = MIN_CAP;
	b->slots = table_alloc(b->cap * sizeof *b->slots);
}

void blocks_free(struct live_blocks *b)
{
	table_free(b->slots, b->cap * sizeof *b->slots);
	memset(b, 0, sizeof *b);
}

/* Double the table in place. The old slots stay where they are (a mapped
 * table's pages move into the new mapping, table_reserve), so only the new
 * half is fresh memory: copying into a table twice the size had the kernel
 * clear all of it, a sixth of python3's report (in page clearing; 0.96x
 * its wall time). Then each block is taken out and put back under the new
 * mask, in slot order from just after an empty slot (no probe run crosses
 * it). Its new home is its old one or that plus the old size, and every
 * slot from there to the one it left is one already done, so its probe
 * stops where the block was at the latest: no run passes a block still to
 * move, whose taking out would cut the run. */
void blocks_grow(struct live_blocks *b)
{
	size_t old = b->cap, cap = old;
	table_reserve((void **)&b->slots, &cap, 2 * old, sizeof *b->slots);
	b->cap = cap;
	size_t start = 0;
	while (b->slots[start].ptr) /* there is one: the load is at most 0.7 */
		start++;
	for (size_t k = 1; k <= old; k++) {
		size_t i = (start + k) & (old - 1);
		if (!b->slots[i].ptr)
			continue;
		struct live_block blk = b->slots[i];
		b->slots[i].ptr = 0;
		size_t j = blocks_home(b, blk.ptr);
		while (b->slots[j].ptr)
			j = (j + 1) & (cap - 1);
		b->slots[j] = blk;
	}
}

void blocks_remove(struct live_blocks *b, struct live_block *blk)
{
	if (blk == &b->zero) {
		b->zero_live = 0;
		return;
	}
	size_t mask = b->cap - 1;
	size_t hole = (size_t)(blk - b->slots);
	/* Backward shift: move later members of the probe run into the hole. */
	for (size_t j = (hole + 1) & mask; b->slots[j].ptr; j = (j + 1) & mask) {
		if (probe_may_fill(blocks_home(b, b->slots[j].ptr), hole, j)) {
			b->slots[hole] = b->slots[j];
			hole = j;
		}
	}
	b->slots[hole].ptr = 0;
	b->len--;
}
