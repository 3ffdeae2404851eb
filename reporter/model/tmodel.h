/*
 * tmodel.h - a whole trace in memory as the reports need it: per process
 * image (segment) its header, modules, stacks and heap model.
 * Memory grows with modules, unique stacks and live blocks, never with the
 * number of events.
 */
#ifndef LDPR_TMODEL_H
#define LDPR_TMODEL_H

#include "model/activity.h"
#include "model/heap.h"
#include "model/mapped.h"
#include "model/profile.h"
#include "ldprof/varint.h"
#include "read/trace.h"

/* A stack's addresses are kept as the zigzag differences of each from the
 * one before, innermost first (the first from 0): a few bytes a frame where
 * 8-byte addresses took mixed's 163,545 stacks to 40 MB, and read in the
 * order its users walk them (tm_ips_next), most of them a few frames in. */
struct tm_stack {
	const uint8_t *code;
	unsigned depth, flags;
	size_t nmods; /* MODULE records of its segment before it: its addresses are theirs (sym_resolve) */
};

/* Walking a stack's addresses, innermost first: tm_ips(st), then depth
 * calls of tm_ips_next. */
struct tm_ips {
	const uint8_t *p;
	uint64_t ip;
};
static inline struct tm_ips tm_ips(const struct tm_stack *st)
{
	return (struct tm_ips){st->code, 0};
}
static inline uint64_t tm_ips_next(struct tm_ips *it)
{
	uint64_t v;
	it->p = ldp_varint_get_checked(it->p, &v); /* written here, whole */
	it->ip += (uint64_t)ldp_unzigzag(v);
	return it->ip;
}

/* Live bytes and blocks of one stack at a snapshot. */
struct tm_snap_site {
	uint32_t stack;
	uint64_t bytes, count;
	uint64_t mapped; /* bytes of the mapped channel live from this stack */
};

struct tm_snapshot {
	char label[LDP_MAX_LABEL_LEN + 1];
	unsigned kind;         /* enum ldp_snapshot_kind; 0 for start/peak/exit */
	unsigned occurrence;   /* 1 for the first snapshot with this label, 2 for the next... */
	size_t index;          /* position among all snapshots of the trace, from 1 */
	size_t seg;            /* the process image it belongs to */
	uint64_t time_ns;      /* since the trace's first segment started */
	uint64_t live_bytes, live_count, mapped_bytes;
	struct tm_snap_site *sites; /* live stacks only */
	size_t nsites;
	int owned_sites;       /* sites were allocated for this snapshot */
};

struct tm_segment {
	struct rd_segment info;
	struct rd_module *mods;
	size_t nmods, mods_cap;
	struct tm_stack *stacks; /* index = stack id; [0] is the empty stack */
	size_t nstacks, stacks_cap;
	struct arena stack_ips;  /* where the stacks' addresses live (tm_stack.code) */
	struct heap_model heap;
	struct profile prof;
	struct mapped_model mapped;
	struct rd_end end;
	char end_name[48]; /* how the image ended, for reports (tm_end_name) */
	struct activity *act; /* by stack, thread and time: only when loaded with TM_ACTIVITY */
};

/* Do the blocks live at this image's end count as leaked? Not when exec
 * replaced it, nor while the process still runs (they are live now). */
static inline int tm_segment_leaks(const struct tm_segment *seg)
{
	return seg->end.reason != LDP_END_EXEC && !seg->end.running && !seg->end.continued;
}

struct tmodel {
	char *path;
	struct tm_segment *segs;
	size_t nsegs, segs_cap;
	struct tm_snapshot *snaps; /* markers recorded in the trace, in order */
	size_t nsnaps, snaps_cap;
	struct rd_stats stats;
	unsigned flags; /* TM_* it was loaded with */
};

/* What to keep beyond the per-stack figures (tm_load_flags). */
enum {
	TM_ACTIVITY = 1, /* each segment's activity by stack, thread and time (model/activity.h) */
};

/* @return 0, or -1 with err set (the model is then empty). */
int tm_load(struct tmodel *m, const char *path, struct rd_error *err);
int tm_load_flags(struct tmodel *m, const char *path, unsigned flags, struct rd_error *err);
/* The same from memory (fuzzing, tests); name appears in messages. */
int tm_load_mem(struct tmodel *m, const uint8_t *data, size_t len, const char *name, struct rd_error *err);
void tm_free(struct tmodel *m);
/* "exit", "exec", "_exit", "abort", "agent error", "terminated by SIGTERM",
 * "still running", or "cut short (killed?)" (no END). buf: 48 bytes. */
const char *tm_end_name(const struct rd_end *end, char *buf, size_t size);

/*
 * Find a snapshot: a label ("after-load"; the first one with that label),
 * "label#N" (the N-th), "@N" (the N-th snapshot of any label), or one of the
 * snapshots every trace has: "start" (the empty heap when tracing began),
 * "peak" (the heap at its highest), "exit" (live when the process ended).
 * @return 0 with *out filled (free with tm_snapshot_clear), -1 if none matches.
 */
int tm_snapshot_select(const struct tmodel *m, const char *selector, struct tm_snapshot *out);
void tm_snapshot_clear(struct tm_snapshot *s);
const char *tm_snapshot_kind_name(unsigned kind);

#endif
