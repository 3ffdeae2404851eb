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
 * tracing began. A site event (format 2.2: ptr 0, the block named by its
 * size and stack) touches no block table; a site free that arrives before
 * its allocation is counted at once and its live decrement owed to the
 * allocation (heap_site.owed_*), so live figures never go below zero.
 */
#ifndef LDPR_HEAP_H
#define LDPR_HEAP_H

#include <stdint.h>

#include "model/blocks.h"
#include "util/util.h"

struct activity;

struct heap_totals {
	uint64_t allocations;     /* successful allocating calls */
	uint64_t frees;           /* calls that released a traced block */
	uint64_t allocated_bytes; /* sum of requested sizes */
	uint64_t live_bytes, live_count;
	uint64_t peak_bytes, peak_count;
	uint64_t peak_time_us;    /* since segment start */
	uint64_t leaked_bytes, leaked_count; /* live when the image ended (not by exec: then nothing leaks) */
	uint64_t live_now_bytes, live_now_count; /* live at the end of the trace of a process still running:
						  * not leaked (nothing has ended) */
	uint64_t temporary;       /* frees that directly follow their allocation (heaptrack's rule, see
				   * on_free in heap.c and docs/DEFINITIONS.md) */
	uint64_t unknown_frees;   /* frees of blocks allocated before tracing (or in a fork parent) */
	/* Frees of blocks the agent could not see allocated, for a known reason
	 * (since 1.7): not unknown frees, and never live, leaked or in a peak. */
	uint64_t before_attach_frees; /* the agent was attached to a running process: allocated before */
	uint64_t paused_frees;        /* after a pause began: allocated while paused (docs/ATTACH.md) */
	uint64_t pauses, paused_us;   /* pause intervals, and their total length (to the end if still paused) */
	uint64_t last_time_us;
	/* Sampled traces (sample_bytes != 0): the figures above are estimates
	 * (docs/SAMPLING.md); these say how good. */
	uint64_t sample_bytes;    /* mean bytes between samples; 0 = every event was recorded */
	uint64_t samples;         /* allocations recorded */
	double allocated_var;     /* estimated variance of allocated_bytes */
	double live_var;          /* ... of live_bytes, now */
	double peak_var;          /* ... of live_bytes at the peak (the estimate there; the peak
				   * itself, a maximum of estimates, leans high: docs/SAMPLING.md) */
	uint64_t lost_samples;    /* sampled but not recorded (the agent had no room) */
	/* Made by a signal handler that interrupted the agent's own recording
	 * on that thread, and not recorded (LOST kinds 4, 5): a lost free makes
	 * its block look leaked, a lost allocation makes its free look like a
	 * free of an unknown block. */
	uint64_t lost_nested_allocs, lost_nested_frees;
};

/* Per allocation stack (index = stack id of the segment). */
struct heap_site {
	uint64_t allocations, allocated_bytes, frees, temporary;
	uint64_t live_bytes, live_count;
	uint64_t peak_bytes, peak_count; /* live from this site at the time of the global peak */
	uint64_t peak_gen;               /* internal: lazy peak snapshot */
	uint64_t max_size, min_size;
	uint64_t max_live_bytes, max_live_count; /* the most this site ever had live at once */
	double allocated_var;            /* sampled traces: estimated variance of allocated_bytes */
	uint64_t lifetime_us;            /* sum of its blocks' lifetimes (live ones: to the end), kept as
					  * sum(free times) - sum(allocation times), modulo 2^64, and
					  * completed by heap_finish (+ live_count * end) */
	/* Site events (format 2.2): blocks named by size and stack, not address. */
	uint64_t site_live_bytes, site_live_count; /* the part of live_* that site allocations added:
						    * what a site free may take back */
	uint64_t owed_bytes, owed_count; /* site frees that found too little of it (delivered before their
					  * allocation): counted, their live decrement owed to it */
	uint64_t owed_us;                /* those frees' times, summed (heap_finish: an allocation never came) */
	uint64_t owed_seq;               /* the latest of them: only an allocation before it can be theirs (a
					  * part read alone owes frees of the parts before: its own allocations
					  * after them are live) */
};

/*
 * Live bytes over time, in bounded memory: at most HEAP_SERIES_MAX buckets
 * of bucket_us each, from time 0 of the segment. When time runs past the
 * last bucket, neighbours are merged pairwise and the bucket doubles, so a
 * run of any length keeps 1024..2048 points. Each bucket keeps the minimum
 * and maximum of live bytes within it (and the value at its end), so the
 * peak is never averaged away.
 */
#define HEAP_SERIES_MAX 2048
struct heap_point {
	uint64_t min, max, last; /* live bytes within the bucket; last: at its end */
};
struct heap_series {
	uint64_t bucket_us;      /* width of a bucket */
	uint64_t end_us;         /* end of the current (last) bucket */
	struct heap_point *pts;  /* pts[i] covers [i * bucket_us, (i + 1) * bucket_us) */
	size_t n;
	struct heap_point *cur;  /* pts[n - 1]: its last is set when it closes (or at heap_finish) */
};

/* The same bounded series for any value over time (mapped bytes, RSS).
 * before: the value until now (it lasted through quiet buckets). */
void series_init(struct heap_series *s);
void series_note(struct heap_series *s, uint64_t us, uint64_t before, uint64_t after);
void series_free(struct heap_series *s);

struct heap_model {
	struct heap_totals t;
	struct heap_site *sites;
	size_t nsites, sites_cap;
	/* internal */
	struct live_blocks live;
	struct u64map credits; /* ptr -> frees already applied for blocks replaced while live */
	struct u64map orphans; /* ptr -> seq of a free whose allocation was not seen (at most heap_max_orphans) */
	/* The previous heap event in merged order, for temporaries: an
	 * allocation of this size from this stack (prev_valid), or anything else. */
	uint64_t prev_size;
	uint32_t prev_stack;
	int prev_valid;
	uint64_t peak_gen;
	unsigned seq_shift;
	int attached;             /* the segment began with an attach */
	uint64_t first_pause_seq; /* 0: never paused */
	uint64_t paused_since;    /* seq of the pause in force, 0 if recording */
	uint64_t size_hist[65]; /* allocations by bit length of the size: [0] size 0, [k] < 2^k */
	struct heap_series series; /* live bytes over time */
	struct activity *act;      /* by stack, thread and time, when kept (model/activity.h); else NULL */
};

/* Frees of unknown blocks held for a late allocation. A trace that has more
 * pending at once (a hostile one: 84 million unknown frees fit in 20 KB)
 * has them dropped: each stays counted as an unknown free, and only an
 * allocation arriving after a million newer unknown frees is misread (the
 * merge never delivers an allocation after its free: only a trace whose
 * merge had to give up ordering, stats.unordered_events, can have one).
 * A test seam (util.h): 1 M in ldprof. */
extern LDP_SEAM uint64_t heap_max_orphans;

struct rd_event;

void heap_init(struct heap_model *h, unsigned seq_shift);
void heap_free(struct heap_model *h);
void heap_event(struct heap_model *h, const struct rd_event *e);
/* A hint (struct rd_visitor.prefetch): an event at ptr comes soon. */
void heap_prefetch(const struct heap_model *h, uint64_t ptr, uint32_t stack, int alloc);
struct rd_pause;
void heap_pause(struct heap_model *h, const struct rd_pause *p);
/* How the segment ended, for heap_finish: replaced by exec (nothing leaks),
 * ended otherwise (exit, a signal, killed...: what is live leaked), or not
 * at all (the process still runs: what is live is live now). */
enum heap_end { HEAP_END_EXEC = 0, HEAP_END_ENDED = 1, HEAP_END_RUNNING = 2 };
void heap_finish(struct heap_model *h, enum heap_end how);

#endif
