/*
 * unwind.c - stack capture.
 *
 * libunwind is loaded with dlopen(RTLD_LOCAL) and called through pointers:
 * linking it (or preloading it) would put its _Unwind_* symbols in the
 * program's scope and reroute every C++ exception through libunwind.
 * libunwind.a is not PIC, so it cannot be linked into the agent either.
 * If libunwind is missing, glibc's backtrace() (libgcc's unwinder) is used.
 *
 * Frames inside the agent itself are dropped: a stack starts at the return
 * address in the function that called malloc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>

#include "agent.h"
#include "log.h"

#define SKIP_MAX 8 /* agent frames above the program's: capture, record, malloc, ... */

static int (*backtrace_fn)(void **, int);

int ldp_unwind_init(void)
{
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (h) {
		backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
		/* Per-thread caching avoids a global lock in libunwind's cache. */
		int (*set_policy)(void *, int) = (int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy");
		void **as = dlsym(h, "_ULx86_64_local_addr_space");
		if (set_policy && as)
			set_policy(*as, 2 /* UNW_CACHE_PER_THREAD */);
	}
	if (!backtrace_fn) {
		ldp_warn("libunwind.so.8 not found; using glibc backtrace() (slower)");
		backtrace_fn = backtrace;
	}
	return 0;
}

unsigned ldp_unwind_capture(uintptr_t *ips, unsigned max, int *truncated)
{
	/* ips has room for LDP_MAX_STACK_DEPTH + 8 entries (struct ldp_ring). */
	int n = backtrace_fn((void **)ips, (int)(max + SKIP_MAX + 1));
	unsigned skip = 0;
	while (skip < (unsigned)n && ips[skip] >= ldp_self_lo && ips[skip] < ldp_self_hi)
		skip++;
	unsigned depth = (unsigned)n - skip;
	*truncated = depth > max;
	if (depth > max)
		depth = max;
	for (unsigned i = 0; i < depth; i++)
		ips[i] = ips[i + skip];
	return depth;
}
