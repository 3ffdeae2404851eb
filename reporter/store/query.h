/*
 * query.h - questions to the fleet store, answered by ClickHouse: every
 * figure is summed there (GROUP BY), and what comes back is one row per
 * group or per stack, never the stored rows. The answers fill the structures
 * the renderers already draw: a grouping (model/group.h) for the report's
 * tables, weighted stacks (model/wstack.h) for flame graphs, a diff
 * (model/diff.h) for what grew.
 *
 * Which traces: the latest complete push of each trace (push.h), among the
 * traces that pass the filter. Strings that come back are interned in a
 * symbolizer's pool, so equal names are equal pointers, as the renderers
 * expect; the frames built for the answers live in a struct fleet_names.
 */
#ifndef LDPR_STORE_QUERY_H
#define LDPR_STORE_QUERY_H

#include "model/diff.h"
#include "model/fleet.h"
#include "model/fleetrows.h"
#include "model/wstack.h"
#include "store/clickhouse.h"

/* Frames and strings of the answers. */
struct fleet_names {
	struct symbolizer *pool;
	struct sym_frame **chunks;
	size_t nchunks, chunks_cap, used; /* used: frames taken from the last chunk */
};
void fleet_names_init(struct fleet_names *nm);
void fleet_names_free(struct fleet_names *nm);

/* The images' totals (model/fleet.h). @return 0, or -1 with a one-line reason in err. */
int fleet_query_totals(struct ch *c, const struct fleet_filter *f, struct fleet_totals *t, char *err, size_t n);

/* The report's groups: figures is a mask of (1 << FF_*) to sum; the CPU and
 * wall "total" columns (a group anywhere on the stack) come with FF_CPU /
 * FF_WALL, and ldprof's own samples land in g->agent_*. */
int fleet_query_groups(struct ch *c, const struct fleet_filter *f, enum group_by by, unsigned figures,
		       struct fleet_names *nm, struct grouping *g, char *err, size_t n);

/* One figure per distinct stack, as weighted stacks (root first); weights
 * and counts divided by per (rounded; a mean over `per` traces), 1: as summed. */
int fleet_query_stacks(struct ch *c, const struct fleet_filter *f, enum ws_what what, uint64_t per,
		       struct fleet_names *nm, struct wstack_set *ws, char *err, size_t n);

/* Two sides, the filter plus label base / label to ("KEY=VALUE"), compared
 * by group on one figure (FF_ALLOC, FF_INUSE, FF_LEAKED, or FF_SNAPSHOT with
 * that snapshot label). mean: each side's sums divided by its number of
 * traces (rounded), so sides of different sizes compare. ntraces: per side. */
struct fleet_diff_q {
	const char *side_label[2];
	enum fleet_figure figure;
	const char *snapshot;
	enum group_by by;
	int cumulative, mean;
};
int fleet_query_diff(struct ch *c, const struct fleet_filter *f, const struct fleet_diff_q *q, struct fleet_names *nm,
		     struct diff *d, uint64_t ntraces[2], char *err, size_t n);

/* The SQL condition selecting the value and image rows of the traces that
 * pass f (and extra_label, "KEY=VALUE", if not NULL): exposed for the tests
 * and for docs/FLEET.md's examples. */
void fleet_selection_sql(struct strbuf *b, const struct fleet_filter *f, const char *extra_label);

#endif
