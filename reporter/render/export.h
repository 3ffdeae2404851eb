/*
 * export.h - a trace in the formats other tools read (`ldprof export`).
 * Each renderer formats what the models computed (weighted stacks and the
 * figures behind them, model/wstack.h; the model's own figures) into a
 * buffer; the caller writes it with out.c (whole file or nothing).
 * docs/EXPORT.md describes every format and which tool reads it.
 *
 * The registry (export.c, export_formats[]) lists every format with the
 * stacks it is made from; `ldprof export` builds those and calls it. Adding
 * a format is a renderer, one row there, and its section in docs/EXPORT.md.
 *
 *   collapsed.c    frame;frame;frame weight     flamegraph.pl, inferno, speedscope
 *   speedscope.c   speedscope's file format     speedscope (one profile per heap "what")
 *   json_export.c  the whole model              scripts (schema: docs/EXPORT.md)
 *   pprof.c        gzipped profile.proto        go tool pprof, Pyroscope, ...
 *   massif.c       massif.out                   ms_print, massif-visualizer
 *   dhat.c         DHAT's JSON                  valgrind's dh_view.html
 */
#ifndef LDPR_EXPORT_H
#define LDPR_EXPORT_H

#include "model/report.h"
#include "model/wstack.h"
#include "util/util.h"

/* What an export is made from. */
struct export_in {
	const struct tmodel *m;         /* the trace: segments, modules, time series */
	const struct wstack_set *sets;  /* the stacks the format asked for (struct export_format) */
	size_t nsets;
	const struct report *report;    /* EX_REPORT: the grouped report, as `ldprof report --json` has it */
};

/* Which stacks a format is made from. */
enum export_stacks {
	EX_ONE,     /* one set: --what, alloc by default */
	EX_EACH,    /* --what, or a set for each what the trace has */
	EX_PROFILE, /* --what cpu or wall: that profile; else the heap (alloc, with every heap figure) */
	EX_HEAP,    /* the heap (alloc, with every heap figure); --what is only checked */
};
/* never to a terminal; needs the report; holds the traced command line (the
 * file is made 0600, like the trace) */
enum { EX_BINARY = 1, EX_REPORT = 2, EX_PRIVATE = 4 };

struct export_format {
	const char *name;
	const char *help;           /* its lines in `ldprof export --help` */
	enum export_stacks stacks;
	struct ws_opts opts;        /* how its stacks are built */
	unsigned flags;
	/* @return 0, or -1 with *why set to one line */
	int (*render)(struct strbuf *b, const struct export_in *in, const char **why);
};

/* Every format, in the order `ldprof export --help` lists them; ends with a NULL name. */
extern const struct export_format export_formats[];
const struct export_format *export_find(const char *name);

/* One line per distinct stack, root first, frames joined by ';', then a
 * space and the weight. Lines are sorted; the weights add up to ws->total. */
void render_collapsed(struct strbuf *b, const struct wstack_set *ws);

/* speedscope's JSON with one "sampled" profile per set; `active` is the one
 * shown first. name: the file's title. */
void render_speedscope(struct strbuf *b, const struct wstack_set *sets, size_t nsets, size_t active,
		       const char *name);

/* Everything the models hold for the trace: segments, modules, stacks with
 * their frames and figures, the live-heap timeline, the grouped report.
 * sets[0]: the heap's stacks, whole, every one with allocations. */
int render_json_export(struct strbuf *b, const struct export_in *in, const char **why);

/* massif.out: heap snapshots over time from the timeline, detailed trees at
 * the peak and at the end. sets[0]: the heap's stacks of the segment with
 * the peak (only that one is exported). */
int render_massif(struct strbuf *b, const struct export_in *in, const char **why);

/* DHAT (dhatFileVersion 2, mode heap): one program point per stack, with
 * totals, max live, live at the global peak and at the end, lifetimes.
 * sets[0]: the heap's stacks of the segment with the peak, whole. */
int render_dhat(struct strbuf *b, const struct export_in *in, const char **why);

/* pprof's profile.proto, gzipped. sets[0] cpu or wall: samples/count and
 * cpu (wall)/nanoseconds; a heap set: the sample types alloc_objects,
 * alloc_space, inuse_objects, inuse_space (live at the peak),
 * leaked_objects, leaked_space. Locations with inline lines (sets[0] has
 * addresses), mappings with build-ids. @return 0, or -1 with *why set
 * (compression failed). */
int render_pprof(struct strbuf *b, const struct export_in *in, const char **why);

#endif
