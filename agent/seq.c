/*
 * seq.c - sequence numbers that order events on the same address.
 *
 * Per-thread rings mean the writer sees thread A's free(p) and thread C's
 * later malloc() returning p in arbitrary order. Each event therefore carries
 * a sequence number from a Lamport clock kept per address shard:
 *
 *   seq = max(thread clock + 1, shard value + 1, time floor);  shard = max(shard, seq)
 *
 * A free takes its number before calling the real free, an allocation after
 * the real malloc returned. The allocator itself orders the two calls (p can
 * only be handed out again after free released it), and the shard is an
 * atomic max, so the later event always reads a shard value at least as large
 * as the earlier one's number: for any two events on one address, seq order
 * is the real order. Proof and discussion: docs/ARCHITECTURE.md, "Ordering".
 *
 * The shard's word is changed under the shard's lock, which also guards
 * the shard's part of the live-block map (livemap.c): the lock is the one
 * atomic of an event. The lock word holds its holder's id, so a signal
 * handler that allocates inside its own thread's critical section (the
 * nested path, nested.c) sees that it cannot wait for it: it takes a seq
 * without storing it and leaves the map alone. Per address that seq still
 * orders: the handler's events are on other addresses than the one whose
 * critical section it interrupted, and a later event on its own address
 * reads the thread's clock or the floor moved past it; and the rare case
 * that does not order is a late event, which the reader already handles.
 *
 * Shards are keyed by 1 MiB address regions, so threads working in their own
 * malloc arenas touch their own cache lines and the hot path stays free of
 * shared writes. The time floor, ticked by the writer thread, keeps clocks of
 * different threads near real time, so sorting by seq approximates time
 * order and (seq >> LDP_SEQ_SHIFT) is the event's time in microseconds.
 */
#include <sched.h>
#include <string.h>

#include "agent.h"
#include "prim.h"

struct ldp_seq_shard ldp_seq_shards[LDP_SEQ_SHARDS];
_Atomic uint64_t ldp_seq_floor;

/* ldp_seq_next() is inline in agent.h. */

uint32_t ldp_lock_id_slow(struct ldp_thread *t)
{
	t->tid = ldp_gettid();
	return (uint32_t)t->tid;
}

int ldp_shard_lock_slow(struct ldp_thread *t, struct ldp_seq_shard *s)
{
	uint32_t me = ldp_lock_id(t);
	for (unsigned spins = 0;; spins++) {
		uint32_t v = atomic_load_explicit(&s->lock, memory_order_relaxed);
		if (v == me)
			return 0;
		if (!v && atomic_compare_exchange_weak_explicit(&s->lock, &v, me, memory_order_acquire,
								memory_order_relaxed))
			return 1;
		/* The holder runs a few dozen instructions; if it is not running
		 * (preempted on a loaded machine), let it. */
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

void ldp_seq_reset(void)
{
	/* In a fork child: only the shards the parent used are written, so the
	 * rest of the 16 pages are not copied. */
	for (unsigned i = 0; i < LDP_SEQ_SHARDS; i++)
		if (atomic_load_explicit(&ldp_seq_shards[i].v, memory_order_relaxed))
			atomic_store_explicit(&ldp_seq_shards[i].v, 0, memory_order_relaxed);
	atomic_store_explicit(&ldp_seq_floor, 0, memory_order_relaxed);
}

/* A number larger than every number handed out so far, in any thread, that
 * every later event will exceed: the max of all shards (and the floor), then
 * raised into every shard. What happened before the call sorts before it,
 * what happens after sorts after. Costs a few microseconds: for snapshots. */
uint64_t ldp_seq_barrier(struct ldp_thread *t)
{
	uint64_t s = atomic_load_explicit(&ldp_seq_floor, memory_order_relaxed);
	if (t->clock > s)
		s = t->clock;
	for (unsigned i = 0; i < LDP_SEQ_SHARDS; i++) {
		uint64_t v = atomic_load_explicit(&ldp_seq_shards[i].v, memory_order_relaxed);
		if (v > s)
			s = v;
	}
	s++;
	for (unsigned i = 0; i < LDP_SEQ_SHARDS; i++) {
		struct ldp_seq_shard *sh = &ldp_seq_shards[i];
		int locked = ldp_shard_lock(t, sh);
		if (atomic_load_explicit(&sh->v, memory_order_relaxed) < s)
			atomic_store_explicit(&sh->v, s, memory_order_relaxed);
		if (locked)
			ldp_shard_unlock(sh);
	}
	t->clock = s;
	return s;
}
