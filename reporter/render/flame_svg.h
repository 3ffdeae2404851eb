/*
 * flame_svg.h - interactive flame graphs as one self-contained SVG file:
 * hover for details, click to zoom, search (a regular expression; Ctrl-F
 * in a standalone file), colours that depend only on names with a legend by
 * module. The file carries the tree as JSON (desc.tree) so its script can
 * lay it out again: at the page's width, on zoom, and inverted (bottom-up).
 *
 * Input is a weighted-stack set (model/wstack.h), so every source of
 * weights (heap today, CPU and wall samples later) draws the same way. The
 * differential graph takes two sets: frames are sized by the "after" set
 * (or "before") and coloured by their change, red for growth, blue for
 * shrinkage, the saturation proportional to the change.
 */
#ifndef LDPR_FLAME_SVG_H
#define LDPR_FLAME_SVG_H

#include "model/wstack.h"
#include "util/util.h"

enum flame_colors { FLAME_BY_MODULE, FLAME_BY_FUNCTION };

struct flame_opts {
	const char *title;    /* first line; NULL: from the set */
	const char *subtitle; /* second line, e.g. the trace; may be NULL */
	unsigned width;       /* pixels; 0: 1200 */
	enum flame_colors colors;
	int inline_svg;       /* no XML prolog: for embedding in HTML */
	int diff_size_before; /* differential graph: size frames by "before" */
};

/* Append the SVG to b. An empty set gives a graph that says so. */
void flame_svg(struct strbuf *b, const struct wstack_set *ws, const struct flame_opts *o);
/* Differential flame graph of after against before (same unit expected). */
void flame_svg_diff(struct strbuf *b, const struct wstack_set *before, const struct wstack_set *after,
		    const struct flame_opts *o);

#endif
