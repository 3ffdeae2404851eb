/*
 * stackstore.h - the stacks of a 2.x segment, kept so that a STACK2 record
 * can take its outer frames from an earlier stack (docs/FORMAT.md "STACK2").
 * Each stack is kept whole as the zigzag differences of its frames from
 * the outermost in, the order STACK2 writes its own frames in: a new stack
 * is its base's first bytes, copied, then its record's differences.
 */
#ifndef RD_STACKSTORE_H
#define RD_STACKSTORE_H

#include <stddef.h>
#include <stdint.h>

struct rd_stack_entry {
	uint64_t off;        /* its bytes: bytes[off, off + len) */
	uint32_t len, depth;
};

struct rd_stack_store {
	struct rd_stack_entry *e; /* by stack id; e[0] is "no stack" */
	size_t n, cap;
	uint8_t *bytes;
	size_t nbytes, bytes_cap;
};

void rd_stacks_init(struct rd_stack_store *s);
void rd_stacks_fini(struct rd_stack_store *s);
/* Empty it (a new segment: ids start again from 1). */
void rd_stacks_reset(struct rd_stack_store *s);
static inline unsigned rd_stacks_depth(const struct rd_stack_store *s, uint32_t id)
{
	return s->e[id].depth;
}
/* Define the next id (s->n) as ips[0..depth) (innermost first). */
void rd_stacks_add_whole(struct rd_stack_store *s, const uint64_t *ips, unsigned depth);
/* Define the next id as the outermost `keep` frames of stack base (< s->n,
 * at least that deep), then nnew frames inside them whose zigzag
 * differences, from the outermost in, are diffs[0..nnew) (a STACK2
 * record's). The whole stack goes to out, innermost first. */
void rd_stacks_add(struct rd_stack_store *s, uint32_t base, unsigned keep, const uint64_t *diffs, unsigned nnew,
		   uint64_t *out);

#endif
