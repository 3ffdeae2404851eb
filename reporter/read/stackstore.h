/*
 * stackstore.h - the stacks of a 2.x segment, kept so that a STACK2 record
 * can take its outer frames from an earlier stack (docs/FORMAT.md "STACK2").
 * Each stack keeps only the frames its own record wrote, and where the rest
 * come from: about 8 bytes per new frame, not per frame.
 */
#ifndef RD_STACKSTORE_H
#define RD_STACKSTORE_H

#include <stddef.h>
#include <stdint.h>

struct rd_stack_entry {
	uint64_t off;   /* its own frames: frames[off .. off + nnew), innermost first */
	uint32_t base;  /* the stack its outer `keep` frames come from (when keep) */
	uint16_t nnew, keep;
};

struct rd_stack_store {
	struct rd_stack_entry *e; /* by stack id; e[0] is "no stack" */
	size_t n, cap;
	uint64_t *frames;
	size_t nframes, frames_cap;
};

void rd_stacks_init(struct rd_stack_store *s);
void rd_stacks_fini(struct rd_stack_store *s);
/* Empty it (a new segment: ids start again from 1). */
void rd_stacks_reset(struct rd_stack_store *s);
static inline unsigned rd_stacks_depth(const struct rd_stack_store *s, uint32_t id)
{
	return (unsigned)s->e[id].nnew + s->e[id].keep;
}
/* Frames [from, from + count) of stack id (< s->n) into out. */
void rd_stacks_fill(const struct rd_stack_store *s, uint32_t id, unsigned from, unsigned count, uint64_t *out);
/* Define the next id (s->n): own frames ips[0..nnew), then the last `keep`
 * frames of stack base (< s->n, at least that deep). */
void rd_stacks_add(struct rd_stack_store *s, const uint64_t *ips, unsigned nnew, uint32_t base, unsigned keep);

#endif
