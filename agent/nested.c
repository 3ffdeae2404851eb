/*
 * nested.c - allocations made by a signal handler that interrupted the
 * agent while it was recording an event on the same thread.
 *
 * While the agent records (record_alloc and friends), ldp_self.busy is
 * raised, so a malloc that arrives meanwhile passes straight through: that
 * is how the agent's own allocations (libunwind's, dlsym's, pthread's) stay
 * out of the trace. A signal handler of the program that interrupts the
 * recording and allocates arrives the same way. The two are told apart by
 * a second counter, ldp_self.rec, raised together with busy by the
 * recording paths only; everything inside them that may call malloc raises
 * busy alone. So busy == rec > 0 means "inside a recording, not inside
 * anything of the agent's that allocates": a malloc now can only come from
 * a signal handler.
 *
 * Such an event cannot go into the ring (the interrupted recording may have
 * reserved its next bytes) nor use the ring's unwinder state (it may be
 * mid-walk). It goes into one of the ring's LDP_NESTED_SLOTS slots instead:
 *   - its sequence number is taken now (a free's before the real free, as
 *     always, so another thread reusing the address orders after it); a
 *     free takes its block out of the live-block map too, and is written as
 *     a site free (if the handler interrupted its thread inside the map's
 *     lock for that shard, the drain asks the map instead: the handler
 *     cannot wait for its own thread); an allocation stays out of the map
 *     (written with its address);
 *   - its stack is walked with the fast unwinder alone (cached rules, no
 *     lock, no libunwind: what a signal handler may do) into the ring's
 *     nested_ips, and interned only if the stack table's lock is free;
 *     deeper nesting (a handler interrupting this) records no stack;
 *   - the slot is claimed with one atomic add (signals nest on a thread, so
 *     a handler interrupting another claims the next slot) and published by
 *     storing its op last.
 * The interrupted recording, before it returns, encodes the slots into the
 * ring in order (ldp_nested_drain); so does every recording before its own
 * event, for a handler that came after that last look (agent.h,
 * ldp_rec_enter). Slots that are full, and events still in a slot when the
 * trace ends, are counted, never silently dropped: LOST records of kinds
 * LDP_LOST_NESTED_ALLOC / _FREE.
 *
 * A handler that interrupts the agent somewhere else (inside libunwind, in a
 * pthread_create wrapper...) cannot be told from the agent's own
 * allocations and passes through untracked (docs/ARCHITECTURE.md).
 */
#include <errno.h>

#include "agent.h"

_Atomic uint64_t ldp_nested_lost_alloc, ldp_nested_lost_free;

static void lost(unsigned op)
{
	int is_free = op == LDP_EV_FREE || op == LDP_EV_SFREE || op == LDP_NESTED_FREE_LATER;
	atomic_fetch_add_explicit(is_free ? &ldp_nested_lost_free : &ldp_nested_lost_alloc, 1,
				  memory_order_relaxed);
}

static uint32_t nested_stack(struct ldp_ring *r)
{
	int truncated;
	unsigned depth = ldp_unwind_capture_nolock(r->nested_ips, LDP_NESTED_DEPTH, &truncated);
	if (!depth)
		return 0;
	return ldp_stack_intern_try(r->nested_ips, depth, truncated ? LDP_STACK_TRUNCATED : 0);
}

void ldp_nested_event(unsigned op, const void *p, size_t size)
{
	struct ldp_thread *t = &ldp_self;
	int saved = errno;
	int depth = t->rec; /* 1: this handler interrupted a recording; more: a handler interrupted us */
	t->busy_rec += LDP_BUSY_REC_ONE;
	struct ldp_ring *r = t->ring;
	uint32_t i = r ? atomic_fetch_add_explicit(&t->nested_n, 1, memory_order_relaxed) : LDP_NESTED_SLOTS;
	if (i >= LDP_NESTED_SLOTS) {
		lost(op);
	} else {
		struct ldp_nested_ev *s = &r->nested[i];
		s->ptr = (uintptr_t)p;
		s->size = size;
		if (op == LDP_EV_FREE && ldp_live_on) {
			/* A block the live-block map holds is freed as a site free.
			 * If this thread was inside the map's lock for its shard,
			 * the drain, after that lock, asks the map. */
			int in;
			s->seq = ldp_seq_next_take(t, (uintptr_t)p, &in, &s->size, &s->stack);
			op = in > 0 ? LDP_EV_SFREE : in < 0 ? LDP_NESTED_FREE_LATER : op;
		} else {
			s->seq = ldp_seq_next(t, (uintptr_t)p);
			s->stack = op != LDP_EV_FREE && depth == 1 ? nested_stack(r) : 0;
		}
		atomic_store_explicit(&s->op, op, memory_order_release);
	}
	t->busy_rec -= LDP_BUSY_REC_ONE;
	errno = saved;
}

/* The trace ends: events still waiting in some thread's slots (its last
 * recording was interrupted right at its end, and it never recorded again)
 * will never reach the ring. Counted, not silently gone. */
void ldp_nested_count_leftovers(void)
{
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next)
		for (uint32_t i = 0; i < LDP_NESTED_SLOTS; i++) { /* a drained slot's op is 0 */
			unsigned op = atomic_load_explicit(&r->nested[i].op, memory_order_acquire);
			if (op)
				lost(op);
		}
}

void ldp_nested_drain(struct ldp_thread *t, struct ldp_ring *r)
{
	if (!r)
		return; /* no ring, no slots: nothing was claimed */
	for (;;) {
		uint32_t n = atomic_load_explicit(&t->nested_n, memory_order_acquire);
		uint32_t m = n < LDP_NESTED_SLOTS ? n : LDP_NESTED_SLOTS;
		for (uint32_t i = t->nested_done; i < m; i++) {
			struct ldp_nested_ev *s = &r->nested[i];
			unsigned op = atomic_load_explicit(&s->op, memory_order_acquire);
			if (!op)
				continue; /* claimed by a handler that never came back (siglongjmp) */
			if (op == LDP_NESTED_FREE_LATER) /* the shard's lock is free now (not this thread's) */
				op = ldp_live_take(t, s->ptr, &s->size, &s->stack) > 0 ? LDP_EV_SFREE : LDP_EV_FREE;
			uint8_t *at = ldp_ring_reserve(r);
			size_t len = op == LDP_EV_FREE	  ? ldp_enc_free(at, &r->enc, s->seq, s->ptr)
				     : op == LDP_EV_SFREE ? ldp_enc_sfree(at, &r->enc, s->seq, s->size, s->stack)
							  : ldp_enc_alloc(at, &r->enc, op, s->seq, s->ptr, s->size, s->stack);
			ldp_ring_commit(r, at, len);
			atomic_store_explicit(&s->op, 0, memory_order_relaxed);
		}
		t->nested_done = m;
		/* A handler that came in meanwhile claimed slot n: go round again. */
		if (atomic_compare_exchange_strong(&t->nested_n, &n, 0)) {
			t->nested_done = 0;
			return;
		}
	}
}

void ldp_nested_after_fork_child(void)
{
	atomic_store(&ldp_nested_lost_alloc, 0);
	atomic_store(&ldp_nested_lost_free, 0);
}
