/*
 * diff.h - a snapshot diff as text (like tracemalloc's StatisticDiff lines)
 * and as JSON (docs/JSON.md).
 */
#ifndef LDPR_RENDER_DIFF_H
#define LDPR_RENDER_DIFF_H

#include "model/diff.h"
#include "render/json.h"
#include "util/util.h"

struct diff_side {
	const char *trace;
	const struct tm_snapshot *snap;
	const char *name; /* if set, the side's text instead of the snapshot's (ldprof fleet diff) */
};

struct diff_view {
	const struct diff *d;
	struct diff_side side[2];
	enum group_by by;
	int cumulative;
	unsigned top; /* 0: all */
};

void render_diff_text(struct strbuf *b, const struct diff_view *v);
void render_diff_json(struct strbuf *b, const struct diff_view *v);
/* The diff as JSON, for outputs that add to it (ldprof fleet diff). */
json_t *diff_json(const struct diff_view *v);

#endif
