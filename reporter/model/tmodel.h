/*
 * tmodel.h - a whole trace in memory as the reports need it: per process
 * image (segment) its header, modules, stacks and heap model.
 * Memory grows with modules, unique stacks and live blocks, never with the
 * number of events.
 */
#ifndef LDPR_TMODEL_H
#define LDPR_TMODEL_H

#include "model/heap.h"
#include "read/trace.h"

struct tm_stack {
	uint64_t *ips;
	unsigned depth, flags;
};

struct tm_segment {
	struct rd_segment info;
	struct rd_module *mods;
	size_t nmods, mods_cap;
	struct tm_stack *stacks; /* index = stack id; [0] is the empty stack */
	size_t nstacks, stacks_cap;
	struct heap_model heap;
	struct rd_end end;
};

struct tmodel {
	char *path;
	struct tm_segment *segs;
	size_t nsegs, segs_cap;
	struct rd_stats stats;
};

/* @return 0, or -1 with err set (the model is then empty). */
int tm_load(struct tmodel *m, const char *path, struct rd_error *err);
/* The same from memory (fuzzing, tests); name appears in messages. */
int tm_load_mem(struct tmodel *m, const uint8_t *data, size_t len, const char *name, struct rd_error *err);
void tm_free(struct tmodel *m);
const char *tm_end_reason_name(int reason);

#endif
