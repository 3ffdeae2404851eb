/*
 * stackstore.c - a segment's stacks, each kept whole as the zigzag
 * differences of its frames from the outermost in: mixed's 163,545 stacks
 * in about 9 MB where 8-byte frames would take 40 MB.
 *
 *   base  3:  [d(x) d(y) d(z)]          x outermost
 *   STACK2 keep 2 of 3, own frames differences [d(a) d(b)]
 *   new   7:  [d(x) d(y)] d(a) d(b)      the base's first two, copied; then the record's
 *
 * A STACK2's own frames are written as differences from the frame outside
 * them, so the record's values go in as they are. Kept whole rather than as
 * each record's own frames plus its base: rebuilding a stack by following
 * bases took a cache miss or two per base, and a recursion's bases chain as
 * deep as the recursion (mixed: 16 on average, 40 at most), which made its
 * report 1.3x slower.
 */
#include <stdlib.h>
#include <string.h>

#include "ldprof/varint.h"
#include "read/stackstore.h"
#include "util/util.h"

void rd_stacks_init(struct rd_stack_store *s)
{
	memset(s, 0, sizeof *s);
	rd_stacks_reset(s);
}

void rd_stacks_fini(struct rd_stack_store *s)
{
	table_free(s->e, s->cap * sizeof *s->e);
	table_free(s->bytes, s->bytes_cap);
	memset(s, 0, sizeof *s);
}

void rd_stacks_reset(struct rd_stack_store *s)
{
	table_reserve((void **)&s->e, &s->cap, 1, sizeof *s->e);
	s->e[0] = (struct rd_stack_entry){0};
	s->n = 1;
	s->nbytes = 0;
}

/* Room for one more stack of at most `bytes` bytes. Table memory (huge
 * pages past 2 MiB): grown in 4 KiB pages, mixed's 9 MB faulted 2,300
 * times, a tenth of its report. */
static void reserve(struct rd_stack_store *s, size_t bytes)
{
	table_reserve((void **)&s->e, &s->cap, s->n + 1, sizeof *s->e);
	/* + 1: never a NULL table, even for stacks of depth 0 (damaged traces),
	 * whose empty bytes still take an offset into it */
	table_reserve((void **)&s->bytes, &s->bytes_cap, s->nbytes + bytes + 1, 1);
}

void rd_stacks_add_whole(struct rd_stack_store *s, const uint64_t *ips, unsigned depth)
{
	reserve(s, (size_t)depth * LDP_VARINT_MAX);
	uint8_t *start = s->bytes + s->nbytes, *p = start;
	uint64_t prev = 0;
	for (unsigned i = depth; i-- > 0;) {
		p += ldp_varint_put(p, ldp_zigzag((int64_t)(ips[i] - prev)));
		prev = ips[i];
	}
	s->e[s->n++] = (struct rd_stack_entry){.off = s->nbytes, .len = (uint32_t)(p - start), .depth = depth};
	s->nbytes += (size_t)(p - start);
}

void rd_stacks_add(struct rd_stack_store *s, uint32_t base, unsigned keep, const uint64_t *diffs, unsigned nnew,
		   uint64_t *out)
{
	reserve(s, s->e[base].len + (size_t)nnew * LDP_VARINT_MAX);
	unsigned depth = keep + nnew;
	const uint8_t *b = s->bytes + s->e[base].off;
	uint64_t prev = 0;
	for (unsigned i = 0; i < keep; i++) {
		uint64_t v;
		b = ldp_varint_get_checked(b, &v); /* written here: whole */
		prev += (uint64_t)ldp_unzigzag(v);
		out[depth - 1 - i] = prev;
	}
	uint8_t *start = s->bytes + s->nbytes;
	size_t kept = (size_t)(b - (s->bytes + s->e[base].off));
	memcpy(start, s->bytes + s->e[base].off, kept);
	uint8_t *p = start + kept;
	for (unsigned i = 0; i < nnew; i++) {
		prev += (uint64_t)ldp_unzigzag(diffs[i]);
		out[nnew - 1 - i] = prev;
		p += ldp_varint_put(p, diffs[i]);
	}
	s->e[s->n++] = (struct rd_stack_entry){.off = s->nbytes, .len = (uint32_t)(p - start), .depth = depth};
	s->nbytes += (size_t)(p - start);
}
