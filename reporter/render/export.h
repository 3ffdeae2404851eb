/*
 * export.h - a trace in the formats other tools read (`ldprof export`).
 * Each renderer formats what the models computed into a buffer; the caller
 * writes it with out.c (whole file or nothing). docs/EXPORT.md describes
 * every format and which tool reads it.
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

#include "model/wstack.h"
#include "util/util.h"

/* One line per distinct stack, root first, frames joined by ';', then a
 * space and the weight. Lines are sorted; the weights add up to ws->total. */
void render_collapsed(struct strbuf *b, const struct wstack_set *ws);

/* speedscope's JSON with one "sampled" profile per set; `active` is the one
 * shown first. name: the file's title. */
void render_speedscope(struct strbuf *b, const struct wstack_set *sets, size_t nsets, size_t active,
		       const char *name);

/* Everything the models hold for t: segments, modules, stacks with their
 * frames and figures, the live-heap timeline, the grouped report, snapshots. */
void render_json_export(struct strbuf *b, struct symbolizer *sym, const struct loaded *t);

/* massif.out: heap snapshots over time from the timeline, detailed trees at
 * the peak and at the end. Only the segment with the peak is exported. */
void render_massif(struct strbuf *b, struct symbolizer *sym, const struct loaded *t);

/* DHAT (dhatFileVersion 2, mode heap): one program point per stack, with
 * totals, max live, live at the global peak and at the end, lifetimes. */
void render_dhat(struct strbuf *b, struct symbolizer *sym, const struct loaded *t);

/* pprof's profile.proto, gzipped. kind -1: heap sample types alloc_objects,
 * alloc_space, inuse_objects, inuse_space (live at the peak), leaked_objects,
 * leaked_space; PROF_CPU: samples/count and cpu/nanoseconds; PROF_WALL:
 * samples/count and wall/nanoseconds. Locations with inline lines, mappings
 * with build-ids. @return 0, or -1 with *why set (compression failed). */
int render_pprof(struct strbuf *b, struct symbolizer *sym, const struct loaded *t, int kind, const char **why);

#endif
