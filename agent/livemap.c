/*
 * livemap.c - the live-block map: every block of a full-mode trace, by
 * address, with its size and stack.
 *
 * With it a free names its block by (size, stack), which is all a report
 * needs of it, instead of by address, which no encoding compresses: the
 * 2.2 site events (docs/FORMAT.md "Events, 2.2"). Only the agent can know
 * which (size, stack) a freed address had, so it keeps every live block.
 *
 * The map lives in the seq shards (agent.h): each 1 MiB address region's
 * cache line holds the shard's seq word, a lock and the shard's open-
 * addressed table. A put or take happens under the lock that the seq is
 * taken under anyway, so an event still costs one atomic. A put follows
 * the real allocation, a take precedes the real free: the allocator orders
 * the two for one address, as it orders their seqs (seq.c).
 *
 * Rule: a block is in the map exactly when its allocation was written
 * without its address. Whatever cannot go in (no memory for the table, a
 * signal handler's allocation, an address or size past 48 bits) is written
 * with its address, and so is its free, which then finds nothing here.
 *
 * Growth doubles a shard's table under its lock. An outgrown table goes to
 * a small pool by size, and the next shard to grow to that size takes it,
 * cleared: a page fault costs more than its memset (issue 16's measurements).
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "rawmem.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int ldp_live_on;

#define FIRST_SLOTS 256u
#define POOL_SIZES 32
#define POOL_DEPTH 8
static struct ldp_live_slot *pool[POOL_SIZES][POOL_DEPTH];
static unsigned pooled[POOL_SIZES];
static _Atomic uint32_t pool_lock; /* only taken under a shard lock: never by a signal handler */

static void pool_enter(void)
{
	while (atomic_exchange_explicit(&pool_lock, 1, memory_order_acquire))
		__builtin_ia32_pause();
}

static void pool_leave(void)
{
	atomic_store_explicit(&pool_lock, 0, memory_order_release);
}

int ldp_live_grow(struct ldp_seq_shard *s)
{
	uint32_t cap = s->slots ? (s->mask + 1) * 2 : FIRST_SLOTS;
	if (!cap)
		return -1; /* 2^32 slots: stays as it is */
	unsigned lg = (unsigned)__builtin_ctz(cap);
	struct ldp_live_slot *n = NULL;
	pool_enter();
	if (lg < POOL_SIZES && pooled[lg])
		n = pool[lg][--pooled[lg]];
	pool_leave();
	if (n) {
		memset(n, 0, (size_t)cap * sizeof *n);
	} else {
		n = ldp_raw_alloc((size_t)cap * sizeof *n);
		if (!n)
			return -1;
		/* The rehash below touches every page of it: fault them in with one
		 * call, not a trap each (~18 us a fault in this VM; python3 0.95x). */
		uintptr_t lo = ((uintptr_t)n + 4095) & ~(uintptr_t)4095, hi = (uintptr_t)(n + cap) & ~(uintptr_t)4095;
		if (hi > lo)
			madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE); /* Linux 5.14; before, it fails: no harm */
	}
	for (uint32_t i = 0; s->slots && i <= s->mask; i++) {
		uint64_t w0 = s->slots[i].w0;
		if (!w0)
			continue;
		uint32_t j = ldp_live_home(LDP_LIVE_PTR(w0), cap - 1);
		while (n[j].w0)
			j = (j + 1) & (cap - 1);
		n[j] = s->slots[i];
	}
	if (s->slots) {
		unsigned olg = lg - 1;
		int kept = 0;
		pool_enter();
		if (olg < POOL_SIZES && pooled[olg] < POOL_DEPTH) {
			pool[olg][pooled[olg]++] = s->slots;
			kept = 1;
		}
		pool_leave();
		if (!kept)
			ldp_raw_free(s->slots);
	}
	s->slots = n;
	s->mask = cap - 1;
	return 0;
}

void ldp_live_put_back(struct ldp_thread *t, uintptr_t p, uint64_t size, uint32_t stack)
{
	struct ldp_seq_shard *s = ldp_seq_shard_of(p);
	if (!ldp_shard_lock(t, s))
		return; /* a signal handler inside this thread's own critical section: the block stays out */
	uint64_t old_size;
	uint32_t old_stack;
	ldp_live_put_locked(s, p, size, stack, &old_size, &old_stack);
	ldp_shard_unlock(s);
}

int ldp_live_take(struct ldp_thread *t, uintptr_t p, uint64_t *size, uint32_t *stack)
{
	struct ldp_seq_shard *s = ldp_seq_shard_of(p);
	if (!ldp_shard_lock(t, s))
		return -1;
	int in = ldp_live_take_locked(s, p, size, stack);
	ldp_shard_unlock(s);
	return in;
}

/* ---- fork ---- */

static uint64_t taken[LDP_SEQ_SHARDS / 64]; /* the shards prefork locked (not this thread's own) */

void ldp_live_prefork(struct ldp_thread *t)
{
	memset(taken, 0, sizeof taken);
	for (unsigned i = 0; i < LDP_SEQ_SHARDS; i++)
		if (ldp_shard_lock(t, &ldp_seq_shards[i]))
			taken[i / 64] |= 1ull << (i % 64);
}

void ldp_live_postfork_parent(void)
{
	for (unsigned i = 0; i < LDP_SEQ_SHARDS; i++)
		if (taken[i / 64] & (1ull << (i % 64)))
			ldp_shard_unlock(&ldp_seq_shards[i]);
}

void ldp_live_after_fork_child(void)
{
	/* The child is its only thread: no lock is held any more. Its trace
	 * knows none of the parent's blocks, so their frees are written by
	 * address, as frees of blocks allocated before tracing began. */
	for (unsigned i = 0; i < LDP_SEQ_SHARDS; i++) {
		struct ldp_seq_shard *s = &ldp_seq_shards[i];
		atomic_store_explicit(&s->lock, 0, memory_order_relaxed);
		if (s->slots) {
			ldp_raw_free(s->slots);
			s->slots = NULL;
			s->mask = s->len = 0;
		}
	}
	for (unsigned i = 0; i < POOL_SIZES; i++)
		while (pooled[i])
			ldp_raw_free(pool[i][--pooled[i]]);
	atomic_store_explicit(&pool_lock, 0, memory_order_relaxed);
}
