/*
 * fidelity.h - what the figures of a trace cannot show, worked out from the
 * trace itself (never from the machine that reads it), so that every report
 * can say so: stacks cut short.
 * Renderers word it (render/fidelity.h); docs/DEFINITIONS.md explains it.
 */
#ifndef LDPR_FIDELITY_H
#define LDPR_FIDELITY_H

#include <stddef.h>
#include <stdint.h>

struct loaded;

struct fidelity {
	/* Stacks flagged truncated (deeper than the agent's max depth, or the
	 * unwinder could go no further) that carry figures: their outer frames
	 * are missing, and every view starts them at [truncated]. */
	uint64_t truncated_stacks, truncated_allocations, truncated_samples;
	unsigned max_depth; /* frames kept per stack (the smallest of the images concerned) */
};

void fidelity_of(struct fidelity *f, const struct loaded *traces, size_t ntraces);

#endif
