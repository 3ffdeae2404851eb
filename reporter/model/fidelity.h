/*
 * fidelity.h - what the figures of a trace cannot show, worked out from the
 * trace itself (never from the machine that reads it), so that every report
 * can say so: stacks cut short, a Python interpreter whose own allocator
 * (pymalloc) served its objects, a program that ran with AddressSanitizer.
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
	/* CPython's small-object allocator served the program: its arenas (anonymous
	 * mmaps of exactly the arena size, made from the interpreter's code) were
	 * seen. Objects of 512 bytes or less live in them, not in the heap. */
	const char *pymalloc_image; /* the interpreter's path, or NULL */
	uint64_t pymalloc_arenas, pymalloc_arena_bytes;
	/* AddressSanitizer's runtime was loaded: its allocator served malloc */
	const char *asan_runtime; /* its path, or NULL */
};

void fidelity_of(struct fidelity *f, const struct loaded *traces, size_t ntraces);

#endif
