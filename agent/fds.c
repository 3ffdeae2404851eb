/*
 * fds.c - keep the agent's file descriptors out of the program's way.
 *
 * Daemons close every fd and then open files of their own, which take the
 * lowest free numbers. An fd the agent keeps at a low number is closed
 * under it, then reused by the program. The trace fd is moved high as soon
 * as it is opened (tracefile.c), and the writer checks before each write
 * that the fd is still its file.
 *
 * libunwind 1.6 holds fds of its own: it validates addresses (when it falls
 * back to frame pointers over code without unwind tables) by writing them
 * into a pipe, opened with pipe2(); when a read from that pipe fails it
 * closes both ends and opens a new pair. After a daemon's close-all those
 * numbers are the daemon's files: libunwind closed them, and wrote stack
 * bytes into them (DESIGN.md hazard 22). Its pipe2 call binds to the one
 * below (we come first in the global scope), which moves the pair high as
 * well; a failed read then closes only the high numbers. Every other
 * caller gets plain pipe2.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "prim.h"

/* Only libunwind's calls, made while a thread is inside the agent. */
static int from_unwinder(const void *caller)
{
	Dl_info info;
	return dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, "libunwind");
}

LDP_EXPORT int pipe2(int fds[2], int flags)
{
	int r = (int)syscall(SYS_pipe2, fds, flags);
	if (r == 0 && LDP_UNLIKELY(ldp_self.busy) && from_unwinder(__builtin_return_address(0))) {
		fds[0] = ldp_fd_move_high(fds[0]);
		fds[1] = ldp_fd_move_high(fds[1]);
	}
	return r;
}
