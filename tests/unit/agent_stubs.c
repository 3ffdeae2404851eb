/*
 * agent_stubs.c - the agent globals that its pure parts refer to, for unit
 * tests that link those parts without the rest of the agent.
 */
#include "agent.h"
#include "prim.h"

struct ldp_config ldp_cfg;
_Atomic int ldp_state;
int ldp_pid;

const char *ldp_env_hidden(const char *name)
{
	(void)name;
	return NULL;
}

const char *ldp_allocator_desc(void)
{
	return "malloc: glibc (libc.so.6)";
}
