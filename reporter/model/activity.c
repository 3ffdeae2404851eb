/*
 * activity.c - see activity.h.
 */
#include "activity.h"

#include <stdlib.h>
#include <string.h>

void activity_init(struct activity *a)
{
	memset(a, 0, sizeof *a);
	a->bucket_us = 1000;
	u64map_init(&a->index, 1024);
	u64map_init(&a->tid_index, 16);
}

void activity_free(struct activity *a)
{
	free(a->cells);
	free(a->tids);
	u64map_free(&a->index);
	u64map_free(&a->tid_index);
	memset(a, 0, sizeof *a);
}

/* Never 0 (the map's empty key): the stack is stored plus one. */
static uint64_t cell_key(uint32_t stack, uint32_t thread, uint32_t bucket)
{
	return ((uint64_t)stack + 1) << 24 | (uint64_t)thread << 8 | bucket;
}

static uint32_t thread_of(struct activity *a, uint32_t tid)
{
	uint64_t *i = u64map_get(&a->tid_index, (uint64_t)tid + 1);
	if (i)
		return (uint32_t)*i;
	if (a->ntids == ACT_MAX_THREADS)
		return ACT_MAX_THREADS - 1;
	VEC_PUSH(a->tids, a->ntids, a->tids_cap, tid);
	u64map_put(&a->tid_index, (uint64_t)tid + 1, a->ntids - 1);
	return (uint32_t)(a->ntids - 1);
}

static uint64_t *cell(struct activity *a, uint32_t stack, uint32_t thread, uint32_t bucket)
{
	int found;
	uint64_t *slot = u64map_slot(&a->index, cell_key(stack, thread, bucket), &found);
	if (found)
		return a->cells[*slot].v;
	struct act_cell c = {.stack = stack, .thread = thread, .bucket = bucket};
	VEC_PUSH(a->cells, a->n, a->cap, c);
	*slot = a->n - 1;
	return a->cells[a->n - 1].v;
}

/* Time ran past the last bucket: merge neighbours, twice as wide. */
static void widen(struct activity *a)
{
	struct act_cell *old = a->cells;
	size_t n = a->n;
	a->cells = NULL;
	a->n = a->cap = 0;
	u64map_free(&a->index);
	u64map_init(&a->index, n);
	a->bucket_us *= 2;
	for (size_t i = 0; i < n; i++) {
		uint64_t *v = cell(a, old[i].stack, old[i].thread, old[i].bucket / 2);
		for (int k = 0; k < ACT_NVALUES; k++)
			v[k] += old[i].v[k];
	}
	free(old);
}

uint64_t *activity_at(struct activity *a, uint64_t us, uint32_t stack, uint32_t tid)
{
	while (us / a->bucket_us >= ACT_BUCKETS)
		widen(a);
	return cell(a, stack, thread_of(a, tid), (uint32_t)(us / a->bucket_us));
}
