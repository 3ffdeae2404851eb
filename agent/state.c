/*
 * state.c - the state every part of the agent reads, at the bottom of the
 * agent: the settings, where the agent is in its life cycle (ldp_state,
 * ldp_heap_on), this image's pid, this thread's state (ldp_self), and
 * ldp_disable, which any module calls to turn the agent off.
 *
 * It calls nothing but the log, so a module anywhere may use it without
 * calling up: the life cycle's transitions are made by entry.c (start, fork,
 * the endings), by thread.c (a fork child's first event) and by ldp_disable.
 *
 * State machine (ldp_state):
 *   UNINIT --constructor--> STARTING --all set up--> READY --error or exit--> OFF
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "agent.h"
#include "log.h"
#include "prim.h"

struct ldp_config ldp_cfg;
_Atomic int ldp_state;
_Atomic int ldp_heap_on = LDP_HEAP_ALL; /* from the first malloc: before READY, events go to early.c */
_Atomic int ldp_restart_pending;
int ldp_pid;
LDP_TLS struct ldp_thread ldp_self;
char ldp_allocator_desc[512];

int ldp_copy_apart(unsigned stalled_ms)
{
	pid_t me = getpid();
	if (me == ldp_pid)
		return 0;
	/* kcmp answers 0 when both use the same memory (vfork, CLONE_VM): the
	 * parent's threads are there. It needs ptrace access to both, which a
	 * program that made itself undumpable refuses (EPERM): then a second
	 * of waiting without progress decides. */
	int saved = errno; /* the program's */
	long same = syscall(SYS_kcmp, (long)me, (long)ldp_pid, (long)KCMP_VM, 0L, 0L);
	int refused = same < 0 && errno != ESRCH;
	errno = saved;
	return same != 0 && !(refused && stalled_ms < 1000);
}

int ldp_lock_unless_apart(pthread_mutex_t *m)
{
	if (pthread_mutex_trylock(m) == 0)
		return 0;
	if (getpid() == ldp_pid) { /* the agent's own process: the holder will let go */
		pthread_mutex_lock(m);
		return 0;
	}
	/* A copy: the waits may set errno, the program's. */
	int saved = errno, rc;
	static volatile uint32_t never;
	for (unsigned waited_ms = 0;; waited_ms += 20) {
		if (ldp_copy_apart(waited_ms)) {
			rc = -1;
			break;
		}
		if (pthread_mutex_trylock(m) == 0) {
			rc = 0;
			break;
		}
		ldp_futex_wait(&never, 0, 20 * 1000000ull);
	}
	errno = saved;
	return rc;
}

void ldp_disable(const char *why)
{
	int expected = LDP_STATE_READY;
	atomic_store(&ldp_heap_on, 0);
	if (atomic_compare_exchange_strong(&ldp_state, &expected, LDP_STATE_OFF))
		ldp_warn("%s; tracing is off, the program continues", why);
}
