/*
 * wstack.h - weighted stacks: the one input every picture and most exports
 * start from (flame graphs, collapsed stacks, speedscope).
 *
 * A "what" names a source of weights: the heap model gives allocated bytes
 * (alloc), bytes live at the peak (inuse), bytes live at exit (leaked) and
 * temporary allocations (temporary); the profile model gives CPU and
 * wall-clock time (cpu, wall). Each source turns a loaded trace into a list
 * of stacks of symbolized frames, root first, each with one weight and the
 * model's figures behind it. Renderers only see this list (pictures and
 * exports alike), so a new source needs no renderer change, and no renderer
 * symbolizes anything itself.
 *
 *   set ── stacks[i] ── frames[0] (outermost caller) ... frames[n-1] (site frame)
 *                   ├── weight (in set->unit), count (blocks or calls)
 *                   └── where it came from (segment, stack id, addresses) and
 *                       its heap figures (struct heap_site: DHAT's, massif's...)
 *
 * Pictures take the default stacks (struct ws_opts all 0); exports ask for
 * what they need: every frame down to the allocator, the address each frame
 * was resolved from, one process image only...
 */
#ifndef LDPR_WSTACK_H
#define LDPR_WSTACK_H

#include <stddef.h>
#include <stdint.h>

#include "model/group.h"

enum ws_what { WS_ALLOC, WS_INUSE, WS_LEAKED, WS_TEMPORARY, WS_CPU, WS_WALL, WS_NWHAT };

/* How a set is built; all 0 is what the pictures draw. */
struct ws_opts {
	int whole;     /* every frame, the allocator's too (default: from the site frame out) */
	int addrs;     /* each frame carries the index of the address it was resolved from */
	int peak_only; /* only the process image with the trace's peak (one process: massif, DHAT) */
	int no_roots;  /* no "[pid N prog]" root frame per image in a trace with several */
	int counted;   /* also stacks of weight 0 with a count (malloc(0) sites, samples of 0 ns) */
};

#define WS_NO_ADDR UINT32_MAX

struct wstack {
	const struct sym_frame **frames; /* root first; owned by the stack */
	unsigned nframes;
	unsigned site;   /* whole stacks: the allocator's frames, innermost; frames[nframes - 1 - site] is the site frame */
	uint32_t *addr;  /* addrs: per frame, the index of its address in st->ips (owned); WS_NO_ADDR
			  * for a frame with none (a truncated stack's [truncated] root, a process root) */
	uint64_t weight; /* in the set's unit */
	uint64_t count;  /* blocks or allocations behind the weight */
	uint32_t seg;    /* provenance: segment index and stack id in the trace */
	uint32_t stack;
	const struct tm_stack *st;      /* the recorded stack (addresses, flags) */
	const struct heap_site *heap;   /* its heap figures (heap whats; NULL for cpu, wall) */
};

struct wstack_set {
	enum ws_what what;
	const char *name;  /* "alloc" */
	const char *unit;  /* "bytes", "allocations", "samples", "nanoseconds" */
	const char *title; /* "allocated bytes", for headings */
	struct wstack *v;
	size_t n, cap;
	uint64_t total;    /* sum of the weights */
	struct sym_frame *synth; /* process frames for traces with several images */
	size_t nsynth;
	const struct tmodel *m;  /* the trace it was built from (ws_build) */
	size_t peak_seg;         /* its segment with the peak */
};

const char *ws_what_name(enum ws_what w);
/* "alloc", "inuse", "leaked", "temporary", "cpu", "wall". @return 0 or -1. */
int ws_what_parse(const char *s, enum ws_what *w);

/*
 * Build the stacks of `what` from t (symbolizing with sym). Stacks of weight
 * 0 are left out. A trace with several process images (exec) gets one root
 * frame per image.
 * @return 0, or -1 with *why set to a one-line reason when the trace holds
 * no data of that kind (e.g. no CPU samples); the set is then empty.
 */
int ws_build(struct wstack_set *ws, enum ws_what what, struct symbolizer *sym, const struct loaded *t,
	     const char **why);
/* The same, built as o says (NULL: as ws_build). */
int ws_build_opts(struct wstack_set *ws, enum ws_what what, struct symbolizer *sym, const struct loaded *t,
		  const struct ws_opts *o, const char **why);
/* The weight and count that another heap what gives stack s of a heap set
 * (pprof's and DHAT's other columns: inuse and leaked beside alloc). */
void ws_heap_figure(const struct wstack_set *ws, const struct wstack *s, enum ws_what what, uint64_t *weight,
		    uint64_t *count);
/* The live bytes of a snapshot (model/tmodel.h) per stack, as "inuse" is
 * for the peak; stacks failing the filters of o (may be NULL) are left out.
 * For differential flame graphs: `ldprof diff --flame`. */
void ws_from_snapshot(struct wstack_set *ws, const struct loaded *t, const struct tm_snapshot *snap,
		      const struct group_opts *o);
/* Append a stack (frames root first, copied). For tests and future sources. */
void ws_add(struct wstack_set *ws, const struct sym_frame *const *frames, unsigned n, uint64_t weight,
	    uint64_t count);
void ws_init(struct wstack_set *ws, enum ws_what what);
void ws_free(struct wstack_set *ws);

/* The segment whose heap peak is the trace's peak (what "inuse" shows). */
size_t ws_peak_segment(const struct tmodel *m);

#endif
