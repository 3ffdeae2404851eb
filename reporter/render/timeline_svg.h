/*
 * timeline_svg.h - live heap over time as one SVG: the curve (each pixel
 * column shows the lowest and highest live bytes within it, so the peak is
 * never averaged away), the peak marked, optional event markers (snapshots,
 * exec), the mapped channel and the resident set size as lines on the same
 * axis when the trace has them, and optional rate series (CPU and wall
 * samples per second) in a band below on the same time axis. Hovering shows
 * time and value.
 */
#ifndef LDPR_TIMELINE_SVG_H
#define LDPR_TIMELINE_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "model/group.h"
#include "util/util.h"

struct tl_point {
	double t0, t1;     /* seconds since the trace started: the span this point covers */
	uint64_t min, max; /* live bytes within it */
};

struct tl_marker {
	double t;          /* seconds */
	const char *label; /* e.g. a snapshot's name */
};

struct tl_rate {
	const char *name;  /* "CPU samples/s" */
	const double *t;   /* seconds */
	const double *v;   /* per second */
	size_t n;
};

/* A further curve on the same axis as the live heap (mapped bytes, RSS). */
struct tl_curve {
	const char *name, *color;
	double *t;    /* seconds */
	uint64_t *v;  /* bytes (the highest within each bucket) */
	size_t n, cap;
};

struct timeline {
	const char *title, *subtitle;
	struct tl_curve curves[2]; /* [0] mapped, [1] RSS; n == 0 when absent */
	struct tl_point *pts;
	size_t n;
	double end;              /* seconds: the right edge */
	double peak_t;
	uint64_t peak_bytes;
	struct tl_marker *markers; /* owned when built by timeline_build */
	size_t nmarkers;
	const struct tl_rate *rates;
	size_t nrates;
	/* owned when built by timeline_build: the rate series of the samples */
	struct tl_rate own_rates[2];
	double *own_t[2], *own_v[2];
	char (*own_labels)[LDP_MAX_LABEL_LEN + 16]; /* snapshot labels, "label#N" */
};

struct timeline_opts {
	unsigned width, height; /* pixels; 0: 1200 x 360 */
	int inline_svg;         /* no XML prolog (for HTML) */
};

/* The live-heap series of every process image of t on one time axis, its
 * snapshots and execs as markers, and CPU and wall samples per second when
 * the trace has them. Free with timeline_free. */
void timeline_build(struct timeline *tl, const struct loaded *t);
void timeline_free(struct timeline *tl);
void timeline_svg(struct strbuf *b, const struct timeline *tl, const struct timeline_opts *o);

#endif
