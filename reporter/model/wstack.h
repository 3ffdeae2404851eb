/*
 * wstack.h - weighted stacks: the one input every picture and most exports
 * start from (flame graphs, collapsed stacks, speedscope).
 *
 * A "what" names a source of weights: the heap model gives allocated bytes
 * (alloc), bytes live at the peak (inuse), bytes live at exit (leaked) and
 * temporary allocations (temporary); CPU and wall-clock samples plug in as
 * further sources once traces carry them. Each source turns a loaded trace
 * into a list of stacks of symbolized frames, root first, each with one
 * weight. Renderers only see this list, so a new source needs no renderer
 * change.
 *
 *   set ── stacks[i] ── frames[0] (outermost caller) ... frames[n-1] (site frame)
 *                   └── weight (in set->unit), count (blocks or calls)
 */
#ifndef LDPR_WSTACK_H
#define LDPR_WSTACK_H

#include <stddef.h>
#include <stdint.h>

#include "model/group.h"

enum ws_what { WS_ALLOC, WS_INUSE, WS_LEAKED, WS_TEMPORARY, WS_CPU, WS_WALL, WS_NWHAT };

struct wstack {
	const struct sym_frame **frames; /* root first; owned by the stack */
	unsigned nframes;
	uint64_t weight; /* in the set's unit */
	uint64_t count;  /* blocks or allocations behind the weight */
	uint32_t seg;    /* provenance: segment index and stack id in the trace */
	uint32_t stack;
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
