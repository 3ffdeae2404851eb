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
 * Shards are keyed by 1 MiB address regions, so threads working in their own
 * malloc arenas touch their own cache lines and the hot path stays free of
 * shared writes. The time floor, ticked by the writer thread, keeps clocks of
 * different threads near real time, so sorting by seq approximates time
 * order and (seq >> LDP_SEQ_SHIFT) is the event's time in microseconds.
 */
#include <string.h>

#include "agent.h"

struct ldp_seq_shard ldp_seq_shards[LDP_SEQ_SHARDS];
_Atomic uint64_t ldp_seq_floor;

/* ldp_seq_next() is inline in agent.h. */

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
		uint64_t v = atomic_load_explicit(&ldp_seq_shards[i].v, memory_order_relaxed);
		while (v < s && !atomic_compare_exchange_weak_explicit(&ldp_seq_shards[i].v, &v, s, memory_order_relaxed,
								       memory_order_relaxed))
			;
	}
	t->clock = s;
	return s;
}
