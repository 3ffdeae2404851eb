/*
 * push.h - put one trace's rows (model/fleetrows.h) into the fleet store.
 *
 * A push has a random id that every row carries. Stacks and values go first,
 * in batches; the image rows go last, in one INSERT, and are the commit:
 * fleet queries count a trace only through the image rows of its latest
 * push, so a push cut short (network, full disk, killed) is never counted,
 * and pushing the same trace again replaces it instead of adding to it
 * (docs/FLEET.md, "Pushing"). A failed push is tried again from the start
 * under a new id; rows of a failed or replaced push are dead weight that
 * no query reads.
 */
#ifndef LDPR_STORE_PUSH_H
#define LDPR_STORE_PUSH_H

#include "model/fleetrows.h"
#include "store/clickhouse.h"

struct push_meta {
	const char *service; /* NULL: the executable's file name */
	const char *host;    /* NULL: the host the trace was recorded on */
	const char *const *label_keys;
	const char *const *label_values;
	size_t nlabels;
};

struct push_opts {
	size_t batch_rows; /* rows per INSERT; 0: 100000 */
	unsigned attempts; /* tries per trace; 0: 3 */
	unsigned backoff_ms; /* before the second try, doubled each time; 0: 500 */
	int force;         /* push even when the store has this very content already */
	/* rows sent so far, of total (called after each batch) */
	void (*progress)(void *ctx, size_t done, size_t total);
	void *progress_ctx;
};

enum push_outcome { PUSH_FAILED = -1, PUSH_DONE = 0, PUSH_UNCHANGED = 1 };

struct push_result {
	enum push_outcome outcome;
	uint64_t push_id;
	size_t rows;       /* rows one push sends */
	unsigned attempts; /* tries made */
	char err[800];     /* PUSH_FAILED: what failed, with ClickHouse's own words */
};

/* Before the first push: create the database and tables if missing, check
 * the schema version (store/schema.h), with the retries of o.
 * @return 0, or -1 with a one-line reason in err. */
int fleet_push_prepare(struct ch *c, const struct push_opts *o, char *err, size_t errlen);
void fleet_push(struct ch *c, const struct fleet_trace *ft, const struct push_meta *meta,
		const struct push_opts *o, struct push_result *res);

#endif
