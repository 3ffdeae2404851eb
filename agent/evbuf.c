/*
 * evbuf.c - per-thread event rings: one producer (the owning thread), one
 * consumer (the writer).
 *
 * head and tail count bytes ever written and consumed; the byte at position
 * x lives at buf[x & mask]. The producer encodes a whole event, then
 * publishes it with a release store of head, so the writer only ever sees
 * whole events. An event that would cross the end of buf is encoded in
 * scratch and copied in two pieces.
 *
 * Rings live on one list that only grows. A thread that exits marks its ring
 * DEAD; the writer drains it and marks it FREE; the next new thread reuses it.
 * So memory is bounded by the largest number of threads alive at once.
 *
 * Ring buffers are MADV_WIPEONFORK: a fork child has them, zeroed (its
 * rings start empty anyway: the parent's buffered events are the parent's).
 * A fork copies none of their page tables, and while a child lives the
 * parent's threads take no copy-on-write fault each time their events reach
 * a new page of the ring (every few hundred events). The ring structs are
 * copied as usual, so even a child made without atfork handlers (a raw
 * fork) finds its rings where they were.
 *
 * This module also owns the writer's wake-up: a producer whose ring passes
 * half full or fills, and a thread handing its ring back, bump one word
 * (ldp_rings_kick); the writer sleeps on it between ticks (ldp_rings_wait).
 * So the rings never call the writer: the writer comes to them.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "prim.h"
#include "rawmem.h"

static _Atomic(struct ldp_ring *) ring_list;
static _Atomic uint32_t ring_ids;
static _Atomic uint32_t kick_word; /* futex: bumped for every request of a round */

void ldp_rings_kick(void)
{
	atomic_fetch_add_explicit(&kick_word, 1, memory_order_release);
	ldp_futex_wake((volatile uint32_t *)&kick_word);
}

uint32_t ldp_rings_kicks(void)
{
	return atomic_load(&kick_word);
}

void ldp_rings_wait(uint32_t seen, uint64_t timeout_ns)
{
	ldp_futex_wait((volatile uint32_t *)&kick_word, seen, timeout_ns);
}

struct ldp_ring *ldp_rings_first(void)
{
	return atomic_load_explicit(&ring_list, memory_order_acquire);
}

/* A ring changes owner. head and tail only ever grow, across owners too: the
 * writer reads every ring's head at the start of a round and drains up to it
 * later in the round, so a ring freed and claimed again in between must not
 * go back to 0 (the writer would drain the new owner's first bytes plus stale
 * bytes of the old one, and move tail past head). A FREE ring is drained
 * (tail == head), so the new owner simply starts where the old one ended. */
static void ring_reset(struct ldp_ring *r, int tid)
{
	r->whead = atomic_load_explicit(&r->head, memory_order_relaxed); /* the producer's copy follows */
	atomic_store_explicit(&r->kicked, 0, memory_order_relaxed);
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
	r->enc.seq = r->enc.ptr = 0;
	r->tid = tid;
	r->idle_rounds = 0;
	for (unsigned i = 0; i < LDP_NESTED_SLOTS; i++)
		atomic_store_explicit(&r->nested[i].op, 0, memory_order_relaxed);
}

struct ldp_ring *ldp_ring_claim(int tid)
{
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next) {
		int expected = LDP_RING_FREE;
		if (atomic_load_explicit(&r->state, memory_order_relaxed) == LDP_RING_FREE &&
		    atomic_compare_exchange_strong(&r->state, &expected, LDP_RING_OWNED)) {
			ring_reset(r, tid);
			return r;
		}
	}
	struct ldp_ring *r = ldp_raw_alloc(sizeof *r);
	uint8_t *buf = r ? ldp_raw_map(ldp_cfg.ring_bytes) : NULL;
	if (!buf) {
		ldp_raw_free(r);
		return NULL;
	}
	madvise(buf, ldp_cfg.ring_bytes, MADV_WIPEONFORK); /* older kernels: copied, as before */
	r->buf = buf;
	r->size = ldp_cfg.ring_bytes;
	r->mask = r->size - 1;
	r->id = atomic_fetch_add(&ring_ids, 1);
	ring_reset(r, tid);
	atomic_store_explicit(&r->state, LDP_RING_OWNED, memory_order_relaxed);
	struct ldp_ring *old = atomic_load(&ring_list);
	do
		r->next = old;
	while (!atomic_compare_exchange_weak_explicit(&ring_list, &old, r, memory_order_release,
						      memory_order_relaxed));
	return r;
}

/* Slow path: the ring is full. Ask for a round and wait for the drain. */
static LDP_NOINLINE void ring_wait_space(struct ldp_ring *r, uint64_t head)
{
	unsigned stalled_ms = 0;
	uint32_t last_drained = atomic_load_explicit(&r->drained, memory_order_relaxed);
	for (;;) {
		uint32_t drained = atomic_load_explicit(&r->drained, memory_order_acquire);
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->size - (head - r->tail_seen) >= LDP_EV_MAX)
			return;
		stalled_ms = drained == last_drained ? stalled_ms + 20 : 0;
		last_drained = drained;
		/* A child of a fork no handler saw (forks.c) has no writer: it must not wait. */
		if (LDP_UNLIKELY(getpid() != ldp_pid))
			ldp_fork_orphan_check(stalled_ms);
		if (atomic_load_explicit(&ldp_state, memory_order_relaxed) != LDP_STATE_READY) {
			/* Nobody will drain: drop what is buffered rather than hang. */
			r->tail_seen = head;
			atomic_store_explicit(&r->tail, head, memory_order_release);
			return;
		}
		atomic_store_explicit(&r->kicked, 1, memory_order_relaxed);
		ldp_rings_kick();
		/* A writer that starts late (writer.c) has not: it must, now. */
		if (ldp_writer_undefer() != 0)
			continue;
		ldp_futex_wait((volatile uint32_t *)&r->drained, drained, 20 * 1000000ull);
	}
}

/* The inline fast paths (agent.h) found too little room or the end of buf. */
uint8_t *ldp_ring_reserve_slow(struct ldp_ring *r)
{
	uint64_t head = r->whead;
	if (r->size - (head - r->tail_seen) < LDP_EV_MAX) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->size - (head - r->tail_seen) < LDP_EV_MAX)
			ring_wait_space(r, head);
	}
	uint32_t off = (uint32_t)head & r->mask;
	return r->size - off >= LDP_EV_MAX ? r->buf + off : r->scratch;
}

void ldp_ring_commit_slow(struct ldp_ring *r, uint8_t *at, size_t n)
{
	uint64_t head = r->whead;
	if (at == r->scratch) {
		uint32_t off = (uint32_t)head & r->mask;
		size_t first = r->size - off < n ? r->size - off : n;
		memcpy(r->buf + off, at, first);
		memcpy(r->buf, at + first, n - first);
	}
	head += n;
	r->whead = head;
	atomic_store_explicit(&r->head, head, memory_order_release);
	/* Half full: ask for an early round so the producer rarely has to wait. */
	if (head - r->tail_seen > r->size / 2 && !atomic_load_explicit(&r->kicked, memory_order_relaxed)) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head - r->tail_seen > r->size / 2) {
			atomic_store_explicit(&r->kicked, 1, memory_order_relaxed);
			ldp_rings_kick();
		}
	}
}

void ldp_rings_after_fork_child(void)
{
	/* The child has one thread; the parent's buffered events are the parent's
	 * to write: skip them (tail = head), positions keep growing. */
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next) {
		atomic_store_explicit(&r->tail, atomic_load_explicit(&r->head, memory_order_relaxed),
				      memory_order_relaxed);
		ring_reset(r, 0);
		atomic_store_explicit(&r->state, LDP_RING_FREE, memory_order_relaxed);
	}
}
