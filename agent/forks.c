/*
 * forks.c - children no pthread_atfork handler hears about.
 *
 * fork() runs the agent's atfork handlers (entry.c): locks taken in rank
 * order, and the child starts a trace and a writer of its own. _Fork() and
 * a fork made with a raw system call (syscall(SYS_fork), syscall(SYS_clone,
 * SIGCHLD, 0...), clone3 without CLONE_VM) run none, so their child would
 * keep the parent's rings and wait for a writer thread that does not exist
 * in it, for ever, once a ring fills. So:
 *
 *   - _Fork and the fork-like numbers of syscall() (syscall.c) are wrapped
 *     to run the same three handlers around the real call: the child gets
 *     exactly what a fork child gets.
 *   - a child that still slips through (a fork by inline assembly) is found
 *     where it would wait: the ring's slow path sees that its pid is not the
 *     agent's. If it does not share the agent's memory (kcmp), nobody will
 *     ever drain its rings: the agent turns itself off in that child, with
 *     one line, and the child runs on untraced. A vfork child (same memory)
 *     waits as before: the parent's writer drains for it.
 *
 * A fork-like call that shares memory (CLONE_VM, vfork) or gives the child a
 * stack of its own is passed through untouched: its child is not a copy of
 * the agent's state, and returning through a C frame on another stack is
 * impossible anyway.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sched.h>

#include "agent.h"
#include "log.h"
#include "prim.h"

/* The real call with the handlers around it. */
static long fork_with_handlers(long (*real)(long, long, long, long, long, long, long), long nr, long a1, long a2,
			       long a3, long a4, long a5, long a6)
{
	int saved = errno;
	int prepared = ldp_fork_prepare();
	errno = saved;
	long pid = real(nr, a1, a2, a3, a4, a5, a6);
	saved = errno;
	if (pid == 0)
		ldp_fork_child(prepared);
	else
		ldp_fork_parent(prepared);
	errno = saved;
	return pid;
}

/* ---- _Fork ---- */

static pid_t (*real__Fork)(void);

static long call__Fork(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	(void)nr, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6;
	return real__Fork();
}

void ldp_forks_resolve(void)
{
	if (!real__Fork) {
		ldp_self.busy++;
		real__Fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "_Fork");
		ldp_self.busy--;
	}
}

LDP_EXPORT pid_t _Fork(void)
{
	if (LDP_UNLIKELY(!real__Fork)) {
		ldp_forks_resolve();
		if (!real__Fork)
			return (pid_t)syscall(SYS_fork); /* a glibc without _Fork: the raw call, wrapped below */
	}
	return (pid_t)fork_with_handlers(call__Fork, 0, 0, 0, 0, 0, 0, 0);
}

/* ---- raw fork system calls (syscall.c hands them here) ---- */

int ldp_fork_like(long nr, long a1, long a2, long a3)
{
	(void)a3;
	switch (nr) {
	case SYS_fork:
		return 1;
	case SYS_clone:
		/* clone(flags, newsp, ...): a copy of this process, on this stack */
		return !(a1 & (CLONE_VM | CLONE_THREAD | CLONE_VFORK)) && a2 == 0;
	case SYS_clone3: {
		const struct clone_args *ca = (const struct clone_args *)a1;
		if (!ca || (size_t)a2 < sizeof(uint64_t) * 8)
			return 0; /* the kernel will refuse it; let it */
		return !(ca->flags & (CLONE_VM | CLONE_THREAD | CLONE_VFORK)) && ca->stack == 0;
	}
	default:
		return 0; /* vfork and everything else */
	}
}

long ldp_fork_syscall(long (*real)(long, long, long, long, long, long, long), long nr, long a1, long a2, long a3,
		      long a4, long a5, long a6)
{
	return fork_with_handlers(real, nr, a1, a2, a3, a4, a5, a6);
}

/* ---- children that slipped through ---- */

/* Called by a thread waiting for the writer when getpid() is not the agent's
 * pid; stalled_ms: how long its ring has gone undrained. A copy of the agent
 * (not sharing its memory) has no writer and never will: off, with one line.
 * @return 1 if the agent is now off in this process. */
int ldp_fork_orphan_check(unsigned stalled_ms)
{
	/* (A vfork child shares the memory: the parent's writer drains for it.) */
	if (!ldp_copy_apart(stalled_ms))
		return 0;
	pid_t me = getpid();
	atomic_store(&ldp_heap_on, 0);
	int expected = LDP_STATE_READY;
	if (atomic_compare_exchange_strong(&ldp_state, &expected, LDP_STATE_OFF)) {
		ldp_writer_postfork_child(); /* no writer here: nothing may wait for one */
		ldp_warn("process %d was forked by a raw system call the agent did not see; it runs untraced", (int)me);
	}
	return 1;
}
