/*
 * activity.h - what one process image did, by stack, thread and time:
 * allocations, bytes, temporaries, CPU and wall-clock samples. It lets the
 * HTML report recompute its tables for a thread and a time range chosen in
 * the page (render/html.c).
 *
 * Collected only when asked (tm_load_flags with TM_ACTIVITY): it costs a
 * map probe per event. Bounded: at most ACT_BUCKETS time buckets; when time
 * runs past the last one, neighbours merge and the bucket doubles (as the
 * heap's series does), so memory grows with stacks times threads, never
 * with the number of events. The sums over every cell equal the heap
 * model's and the profile's per-stack figures exactly.
 */
#ifndef LDPR_ACTIVITY_H
#define LDPR_ACTIVITY_H

#include <stdint.h>

#include "util/util.h"

#define ACT_BUCKETS 128
#define ACT_MAX_THREADS 65535 /* more distinct threads share the last index */

enum act_value {
	ACT_ALLOCS, ACT_BYTES, ACT_TEMPORARY, /* estimates in a sampled trace, as the heap model's */
	ACT_CPU_NS, ACT_CPU_SAMPLES, ACT_WALL_NS, ACT_WALL_SAMPLES,
	ACT_NVALUES
};

struct act_cell {
	uint32_t stack;  /* stack id of the segment */
	uint32_t thread; /* index into activity.tids */
	uint32_t bucket; /* covers [bucket * bucket_us, (bucket + 1) * bucket_us) of the segment */
	uint64_t v[ACT_NVALUES];
};

struct activity {
	uint64_t bucket_us;
	struct act_cell *cells;
	size_t n, cap;
	struct u64map index;     /* (stack, thread, bucket) -> cell index */
	uint32_t *tids;          /* thread index -> tid, in order of first appearance */
	size_t ntids, tids_cap;
	struct u64map tid_index; /* tid + 1 -> thread index */
};

void activity_init(struct activity *a);
void activity_free(struct activity *a);
/* The values of (stack, thread tid, the bucket of time us), zero when new. */
uint64_t *activity_at(struct activity *a, uint64_t us, uint32_t stack, uint32_t tid);

#endif
