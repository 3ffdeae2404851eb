/*
 * thread.c - per-thread state: the reentrancy guard, the event ring and the
 * sequence clock, all in one initial-exec TLS struct, ldp_self (defined in
 * state.c; touching it never allocates, so it is safe from inside malloc and
 * from signal handlers). This module attaches a thread to a ring and hands
 * it back at exit.
 *
 * Its zero value means "no ring yet": the first event of a thread takes the
 * slow path in ldp_thread_attach(). A pthread key destructor hands the ring
 * back when the thread exits. Destructors that run later (other keys,
 * thread_local objects) may allocate again: that re-attaches a ring and
 * re-arms the key, and glibc calls the destructor again (up to
 * PTHREAD_DESTRUCTOR_ITERATIONS times). Whatever is left after that is found
 * by the writer, which checks idle rings of vanished threads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "agent.h"
#include "prim.h"
#include "rawmem.h"

static pthread_key_t exit_key;
static int have_key;

static void on_thread_exit(void *arg)
{
	struct ldp_ring *r = arg;
	ldp_rec_enter(&ldp_self); /* and out: what signal handlers left in the slots goes in the ring */
	ldp_rec_leave(&ldp_self);
	ldp_self.busy++;
	if (r && ldp_self.ring == r) {
		ldp_sample_thread_stop();
		ldp_self.ring = NULL;
		ldp_self.uw = NULL;
		atomic_store_explicit(&r->state, LDP_RING_DEAD, memory_order_release);
		ldp_rings_kick();
	}
	ldp_self.busy--;
}

int ldp_thread_init(void)
{
	if (pthread_key_create(&exit_key, on_thread_exit) != 0)
		return -1;
	have_key = 1;
	return 0;
}

static struct ldp_ring *attach(void);

/* Called from inside a recording: everything here may allocate (the stack
 * bounds, pthread keys, a fork child's file and writer), so busy is raised
 * alone (nested.c tells the agent's allocations from a signal handler's). */
struct ldp_ring *ldp_thread_attach(void)
{
	ldp_self.busy++;
	struct ldp_ring *r = attach();
	ldp_self.busy--;
	return r;
}

static struct ldp_ring *attach(void)
{
	/* First event in a fork child: open the child's own trace first. */
	if (LDP_UNLIKELY(atomic_load_explicit(&ldp_restart_pending, memory_order_acquire)) &&
	    ldp_child_restart() != 0)
		return NULL;
	if (atomic_load_explicit(&ldp_state, memory_order_acquire) != LDP_STATE_READY)
		return NULL;
	/* A vfork or raw clone child shares our memory: never claim rings for it. */
	if (getpid() != ldp_pid)
		return NULL;
	if (!ldp_self.tid)
		ldp_self.tid = ldp_gettid();
	if (!ldp_self.stack_hi)
		ldp_unwind_thread_init();
	struct ldp_ring *r = ldp_ring_claim(ldp_self.tid);
	struct ldp_uw_memo *uw = r ? ldp_unwind_memo_claim(r->id) : NULL;
	if (!uw) {
		if (r) /* handed back: the writer frees it */
			atomic_store_explicit(&r->state, LDP_RING_DEAD, memory_order_release);
		ldp_disable(ldp_budget() == LDP_BUDGET_NONE
				    ? "cannot map memory for an event ring"
				    : "cannot map memory for an event ring (the agent's share of RLIMIT_AS is used up)");
		return NULL;
	}
	ldp_self.uw = uw;
	r->stack_lo = ldp_self.stack_lo;
	r->stack_hi = ldp_self.stack_hi;
	ldp_self.ring = r;
	if (have_key)
		pthread_setspecific(exit_key, r);
	uint8_t *at = ldp_ring_reserve(r);
	ldp_ring_commit(r, at, ldp_enc_attach(at, &r->enc, (uint32_t)ldp_self.tid));
	/* A thread that was not started through our pthread_create (the main
	 * thread of a fork child, a raw clone) gets its CPU timer here. */
	ldp_sample_thread_start();
	return r;
}

void ldp_thread_after_fork_child(void)
{
	atomic_store(&ldp_self.nested_n, 0); /* the parent's ring, the parent's slots */
	ldp_self.nested_done = 0;
	ldp_self.ring = NULL;
	ldp_self.uw = NULL;
	ldp_self.clock = 0;
	ldp_self.tid = ldp_gettid();
	if (have_key)
		pthread_setspecific(exit_key, NULL);
}
