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

static inline size_t home(const struct live_blocks *b, uint64_t ptr)
{
	return hash_u64(ptr) & (b->cap - 1);
}

static void grow(struct live_blocks *b)
{
	struct live_blocks n = {.cap = b->cap * 2, .len = b->len, .zero = b->zero, .zero_live = b->zero_live};
	n.slots = table_alloc(n.cap * sizeof *n.slots);
	for (size_t i = 0; i < b->cap; i++) {
		if (!b->slots[i].ptr)
			continue;
		size_t j = home(&n, b->slots[i].ptr);
		while (n.slots[j].ptr)
			j = (j + 1) & (n.cap - 1);
		n.slots[j] = b->slots[i];
	}
	table_free(b->slots, b->cap * sizeof *b->slots);
	*b = n;
}

void blocks_prefetch(const struct live_blocks *b, uint64_t ptr)
{
	__builtin_prefetch(&b->slots[home(b, ptr)], 1);
}

struct live_block *blocks_find(struct live_blocks *b, uint64_t ptr)
{
	if (!ptr)
		return b->zero_live ? &b->zero : NULL;
	size_t mask = b->cap - 1;
	for (size_t i = home(b, ptr);; i = (i + 1) & mask) {
		if (b->slots[i].ptr == ptr)
			return &b->slots[i];
		if (!b->slots[i].ptr)
			return NULL;
	}
}

struct live_block *blocks_slot(struct live_blocks *b, uint64_t ptr, int *found)
{
	if (!ptr) {
		*found = b->zero_live;
		b->zero_live = 1;
		return &b->zero;
	}
	if ((b->len + 1) * 10 > b->cap * 7)
		grow(b);
	size_t mask = b->cap - 1;
	size_t i = home(b, ptr);
	while (b->slots[i].ptr && b->slots[i].ptr != ptr)
		i = (i + 1) & mask;
	*found = b->slots[i].ptr != 0;
	if (!*found) {
		b->slots[i].ptr = ptr;
		b->len++;
	}
	return &b->slots[i];
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
		if (probe_may_fill(home(b, b->slots[j].ptr), hole, j)) {
			b->slots[hole] = b->slots[j];
			hole = j;
		}
	}
	b->slots[hole].ptr = 0;
	b->len--;
}
