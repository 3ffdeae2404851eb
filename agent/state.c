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
#include "agent.h"
#include "log.h"

struct ldp_config ldp_cfg;
_Atomic int ldp_state;
_Atomic int ldp_heap_on = LDP_HEAP_ALL; /* from the first malloc: before READY, events go to early.c */
_Atomic int ldp_restart_pending;
int ldp_pid;
LDP_TLS struct ldp_thread ldp_self;
char ldp_allocator_desc[512];

void ldp_disable(const char *why)
{
	int expected = LDP_STATE_READY;
	atomic_store(&ldp_heap_on, 0);
	if (atomic_compare_exchange_strong(&ldp_state, &expected, LDP_STATE_OFF))
		ldp_warn("%s; tracing is off, the program continues", why);
}
