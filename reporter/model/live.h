/*
 * live.h - the live view of a trace still being written (ldprof top): the
 * heap now, how it grew, the top sites by live bytes and the CPU split of
 * the last seconds. Fed by the reader's callbacks (live_visitor) as the
 * trace grows; live_view() turns it into rows for the renderer.
 * Memory grows with live blocks and unique stacks, and with the samples of
 * one window.
 */
#ifndef LDPR_LIVE_H
#define LDPR_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "model/heap.h"
#include "read/trace.h"

struct symbolizer;

#define LIVE_GROWTH_POINTS 256

struct live_model {
	struct rd_segment seg;     /* the image being followed (strings owned) */
	int in_segment;
	struct heap_model heap;    /* of the current image */
	struct rd_module *mods;
	size_t nmods, mods_cap;
	struct live_stack { uint64_t *ips; unsigned depth, flags; } *stacks;
	size_t nstacks, stacks_cap;
	uint64_t now_us;           /* latest time seen (µs since segment start) */
	/* live bytes at each round (one point per 250 ms at most), for growth */
	struct { uint64_t t_us, live; } growth[LIVE_GROWTH_POINTS];
	size_t growth_n, growth_head;
	/* CPU samples of the last window */
	struct live_sample { uint64_t t_us, weight_ns; uint32_t stack; } *samples;
	size_t nsamples, samples_cap;
	uint64_t window_us;
	uint64_t cpu_hz;
	int ended;                 /* the image ended other than by exec */
	char end_name[48];
	struct symbolizer *sym;
	struct sym_space *space;
	size_t space_mods;         /* modules the space was made with */
};

void live_init(struct live_model *m, uint64_t window_us);
void live_fini(struct live_model *m);
/* Callbacks for the reader, ctx = m. */
struct rd_visitor live_visitor(struct live_model *m);

struct live_row {
	const char *function, *file;
	unsigned line;
	uint64_t bytes, count; /* sites: live bytes and blocks; cpu: ns of CPU in the window */
};

struct live_view {
	uint64_t now_us, live_bytes, live_count, peak_bytes, peak_time_us;
	uint64_t allocations, frees;
	int64_t growth_bytes;  /* live bytes now minus growth_span_us ago */
	uint64_t growth_span_us;
	uint64_t cpu_ns, cpu_window_us; /* CPU time sampled in the window, and the window */
	struct live_row *sites, *cpu;   /* sorted, largest first */
	size_t nsites, ncpu;
};

/* Rows for the screen: at most max_rows sites and CPU functions. */
void live_view(struct live_model *m, struct live_view *v, size_t max_rows);
void live_view_free(struct live_view *v);

#endif
