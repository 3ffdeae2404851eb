/*
 * heap.h - heap replay: live blocks, totals, peak, leaks, temporaries, and
 * the same figures per allocation stack.
 *
 * Fed heap events in sequence order (read/reader.c). Matching is by address
 * and sequence number, so it stays exact even for the rare event that
 * arrives late: an allocation at an address that is still live means the
 * free of the old block is still to come (it is applied now and its late
 * arrival is absorbed), and a free of an unknown address is held for a late
 * allocation before it is counted as a free of a block allocated before
 * tracing began.
 */
#ifndef LDPR_HEAP_H
#define LDPR_HEAP_H

#include <stdint.h>

#include "util/util.h"

struct heap_totals {
	uint64_t allocations;     /* successful allocating calls */
	uint64_t frees;           /* calls that released a traced block */
	uint64_t allocated_bytes; /* sum of requested sizes */
	uint64_t live_bytes, live_count;
	uint64_t peak_bytes, peak_count;
	uint64_t peak_time_us;    /* since segment start */
	uint64_t leaked_bytes, leaked_count; /* live when the segment ended, if it ended by exit */
	uint64_t temporary;       /* freed before the same thread allocated again */
	uint64_t unknown_frees;   /* frees of blocks allocated before tracing (or in a fork parent) */
	uint64_t last_time_us;
};

/* Per allocation stack (index = stack id of the segment). */
struct heap_site {
	uint64_t allocations, allocated_bytes, frees, temporary;
	uint64_t live_bytes, live_count;
	uint64_t peak_bytes, peak_count; /* live from this site at the time of the global peak */
	uint64_t peak_gen;               /* internal: lazy peak snapshot */
	uint64_t max_size, min_size;
};

struct heap_model {
	struct heap_totals t;
	struct heap_site *sites;
	size_t nsites, sites_cap;
	/* internal */
	struct u64map live;    /* ptr -> block index */
	struct heap_block *blocks;
	size_t nblocks, blocks_cap, free_block;
	struct u64map credits; /* ptr -> frees already applied for blocks replaced while live */
	struct u64map orphans; /* ptr -> seq of a free whose allocation was not seen (at most HEAP_MAX_ORPHANS) */
	struct u64map last_alloc; /* tid + 1 -> seq of the thread's latest allocation */
	uint32_t last_tid;
	uint64_t *last_tid_slot;  /* last_alloc's slot for last_tid */
	uint64_t peak_gen;
	unsigned seq_shift;
	uint64_t size_hist[65]; /* allocations by bit length of the size: [0] size 0, [k] < 2^k */
};

/* Frees of unknown blocks held for a late allocation. A trace that has more
 * pending at once (a hostile one: 84 million unknown frees fit in 20 KB)
 * has them dropped: each stays counted as an unknown free, and only an
 * allocation arriving after a million newer unknown frees is misread. */
#define HEAP_MAX_ORPHANS (1u << 20)

struct rd_event;

void heap_init(struct heap_model *h, unsigned seq_shift);
void heap_free(struct heap_model *h);
void heap_event(struct heap_model *h, const struct rd_event *e);
/* The segment ended: by exit (leaks are what is live) or by exec (nothing leaks). */
void heap_finish(struct heap_model *h, int counts_as_leaks);

#endif
