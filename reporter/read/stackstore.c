/*
 * stackstore.c - a segment's stacks as their records wrote them: each its
 * own innermost frames plus (base, keep), the outer frames taken from an
 * earlier stack. A whole stack is rebuilt by following bases, each step
 * copying a run of frames, so rebuilding costs its depth plus the bases on
 * the way (the writer picks the base holding the longest shared run, so
 * chains are short).
 *
 *   stack 7: own [a b]  base 3, keep 2   ->  a b | frames 1..2 of stack 3
 *   stack 3: own [c]    base 1, keep 2   ->  c | x y  (stack 1: x y)
 *   stack 7 = a b x y
 */
#include <stdlib.h>
#include <string.h>

#include "read/stackstore.h"
#include "util/util.h"

void rd_stacks_init(struct rd_stack_store *s)
{
	memset(s, 0, sizeof *s);
	rd_stacks_reset(s);
}

void rd_stacks_fini(struct rd_stack_store *s)
{
	free(s->e);
	free(s->frames);
	memset(s, 0, sizeof *s);
}

void rd_stacks_reset(struct rd_stack_store *s)
{
	vec_reserve((void **)&s->e, &s->cap, 1, sizeof *s->e);
	s->e[0] = (struct rd_stack_entry){0};
	s->n = 1;
	s->nframes = 0;
}

void rd_stacks_fill(const struct rd_stack_store *s, uint32_t id, unsigned from, unsigned count, uint64_t *out)
{
	while (count) {
		const struct rd_stack_entry *e = &s->e[id];
		if (from < e->nnew) {
			unsigned k = e->nnew - from < count ? e->nnew - from : count;
			memcpy(out, s->frames + e->off + from, k * sizeof *out);
			out += k;
			count -= k;
			from = e->nnew;
		}
		if (!count || !e->keep)
			return; /* (with keep 0 the count asked was past its depth: the reader never asks that) */
		/* Frame i >= nnew of this stack is frame (depth(base) - keep) + (i - nnew) of its base. */
		from = rd_stacks_depth(s, e->base) - e->keep + (from - e->nnew);
		id = e->base;
	}
}

void rd_stacks_add(struct rd_stack_store *s, const uint64_t *ips, unsigned nnew, uint32_t base, unsigned keep)
{
	vec_reserve((void **)&s->e, &s->cap, s->n + 1, sizeof *s->e);
	vec_reserve((void **)&s->frames, &s->frames_cap, s->nframes + nnew, sizeof *s->frames);
	memcpy(s->frames + s->nframes, ips, nnew * sizeof *ips);
	s->e[s->n++] = (struct rd_stack_entry){.off = s->nframes, .base = keep ? base : 0, .nnew = (uint16_t)nnew,
					       .keep = (uint16_t)keep};
	s->nframes += nnew;
}
