/*
 * diff.h - compare two snapshots (of one trace, or of two runs), the way
 * tracemalloc's Snapshot.compare_to() does: live size and count per group
 * in each, and the differences, matched by symbolized key so two runs of the
 * same binary at different addresses compare cleanly.
 */
#ifndef LDPR_DIFF_H
#define LDPR_DIFF_H

#include "model/group.h"

struct diff_row {
	const char *key;
	uint64_t size[2], count[2]; /* [0] before, [1] after */
	uint64_t mapped[2];         /* the mapped channel's live bytes */
	/* a site frame of the group, for display */
	const char *function, *file, *module;
	unsigned line;
};

struct diff {
	struct diff_row *rows;
	size_t n, cap;
	struct u64map index; /* key pointer -> row */
	uint64_t size[2], count[2]; /* totals of what passed the filters */
	uint64_t mapped[2];
};

void diff_init(struct diff *d);
void diff_free(struct diff *d);
/*
 * Add snapshot `s` of trace `t` as side 0 (before) or 1 (after).
 * cumulative: a stack counts toward every distinct key along it (every
 * function that is on the stack), as tracemalloc's cumulative=True;
 * otherwise toward its site frame's key only.
 */
void diff_add(struct diff *d, int side, struct symbolizer *sym, const struct loaded *t, const struct tm_snapshot *s,
	      const struct group_opts *o, int cumulative);
/* The row of an interned key, added (empty, shown at site frame f, if
 * given) when new. */
struct diff_row *diff_row_get(struct diff *d, const char *key, const struct sym_frame *f);
/* Rows sorted by |size difference|, then |count difference|, then key. Caller frees. */
const struct diff_row **diff_sorted(const struct diff *d);

#endif
