/*
 * profile.h - CPU and wall-clock samples of one process image, aggregated by
 * stack and by thread. Weights are the measured time each sample stands for
 * (a CPU sample: the thread's CPU time since its previous one), so intervals
 * come from the data, not from the rate that was asked for.
 */
#ifndef LDPR_PROFILE_H
#define LDPR_PROFILE_H

#include <stdint.h>

#include "read/trace.h"
#include "util/util.h"

enum { PROF_CPU = 0, PROF_WALL = 1, PROF_KINDS = 2 };

struct prof_stack {
	uint64_t samples, weight_ns;
	uint64_t blocked; /* wall: samples taken while the thread waited */
};

struct prof_thread {
	uint32_t tid;
	char name[65];
	uint64_t samples[PROF_KINDS];
	uint64_t blocked; /* wall samples in a wait */
};

struct prof_kind {
	uint64_t samples, weight_ns, lost;
	struct prof_stack *stacks; /* index: stack id */
	size_t nstacks, stacks_cap;
};

struct profile {
	struct rd_sampling setup;
	int has_setup;
	struct prof_kind k[PROF_KINDS];
	struct prof_thread *threads;
	size_t nthreads, threads_cap;
};

void profile_init(struct profile *p);
void profile_free(struct profile *p);
void profile_sample(struct profile *p, const struct rd_sample *s);
void profile_lost(struct profile *p, unsigned kind, uint64_t count);
void profile_thread_name(struct profile *p, uint32_t tid, const char *name);
/* Mean time a sample of this kind stands for; 0 without samples. */
uint64_t profile_interval_ns(const struct profile *p, int kind);

#endif
