/*
 * fleetrows.h - what one trace contributes to a fleet store (docs/FLEET.md):
 * a row per process image (who, where, when, how it ended, its totals), a
 * row per distinct symbolized stack, and value rows: per image, stack and
 * figure, the same per-stack figures `ldprof report`, `flame` and `diff`
 * compute from the models (model/group.c, model/wstack.c, model/tmodel.c).
 *
 * A stack is what the reports group by: the frames from the site frame out
 * (allocations: past the allocator; samples: from the sampled instruction),
 * inline frames expanded, symbolized where the trace is pushed. Its id is a
 * hash of those frames' text, so the same code path has the same id in
 * every trace, from every host.
 *
 *   fleet_trace ── images[i]   (segment i of the trace)
 *               ── stacks[j]   frames innermost (site) first, id
 *               ── values[k]   image, stack j, figure, snapshot, value, count
 */
#ifndef LDPR_FLEETROWS_H
#define LDPR_FLEETROWS_H

#include <stddef.h>
#include <stdint.h>

#include "model/group.h"

/* Figures, by the name the store gives them. value / count are:
 *   alloc      requested bytes / allocations
 *   frees      frees / frees
 *   inuse      bytes / blocks live at the peak of the trace's highest image
 *   leaked     bytes / blocks live at exit (tm_segment_leaks: images replaced by exec
 *              and processes still running leak nothing)
 *   temporary  temporary allocations / the same
 *   cpu, wall  nanoseconds / samples (the program's own work)
 *   cpu_agent, wall_agent   the same for ldprof's own work (reports leave it out)
 *   snapshot   bytes / blocks live at a snapshot the program took (with its label)
 *   mapped     bytes mapped (mmap, mremap) / calls
 *   mapped_peak, mapped_live   bytes mapped at the mapped channel's peak / at the end (count 0) */
enum fleet_figure {
	FF_ALLOC = 1,
	FF_FREES,
	FF_INUSE,
	FF_LEAKED,
	FF_TEMPORARY,
	FF_CPU,
	FF_WALL,
	FF_CPU_AGENT,
	FF_WALL_AGENT,
	FF_SNAPSHOT,
	FF_MAPPED,
	FF_MAPPED_PEAK,
	FF_MAPPED_LIVE,
	FF_NFIGURES
};
const char *fleet_figure_name(enum fleet_figure f);

struct fleet_stack {
	uint64_t id; /* 63-bit hash of the frames' text */
	const struct sym_frame **frames; /* innermost first */
	unsigned nframes;
};

struct fleet_value {
	uint32_t image, stack; /* stack: index into fleet_trace.stacks */
	uint32_t snapshot;     /* FF_SNAPSHOT: index into fleet_trace.snapshots */
	uint8_t figure;        /* enum fleet_figure */
	uint64_t value, count;
};

struct fleet_image {
	const struct tm_segment *seg;
	char build_id[2 * LDP_MAX_BUILD_ID_LEN + 1]; /* of the executable, hex; "" when unknown */
	uint64_t end_ns;          /* realtime */
	uint64_t peak_time_ns;    /* since the image started */
	uint64_t size_hist[65];
};

struct fleet_trace {
	uint64_t id;          /* 63-bit hash of the first image's host, pid, start */
	uint64_t content;     /* hash of every row: the same trace pushed again is recognised */
	const char *path;
	const struct rd_stats *stats; /* how the trace read: damage, events dropped or merged out of order */
	uint64_t start_ns;    /* realtime start of the first image */
	struct fleet_image *images;
	size_t nimages;
	struct fleet_stack *stacks;
	size_t nstacks, stacks_cap;
	struct fleet_value *values;
	size_t nvalues, values_cap;
	char **snapshots;     /* "label", or "label#N" for its N-th use */
	size_t nsnapshots;
	/* internal */
	struct u64map stack_index, value_index;
};

/* The rows of t (symbolized through t's symbol spaces). t and its
 * symbolizer must outlive ft: frames and images point into them. */
void fleet_trace_build(struct fleet_trace *ft, const struct loaded *t);
void fleet_trace_free(struct fleet_trace *ft);

/* The id a stack of these frames gets (innermost first). */
uint64_t fleet_stack_id(const struct sym_frame *const *frames, unsigned n);

#endif
