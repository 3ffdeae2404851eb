/*
 * wall.c - wall-clock sampling: where every thread is, running or waiting.
 *
 * No signal at all, ever (a signal wakes a thread blocked in poll,
 * nanosleep, epoll_wait... with EINTR, SA_RESTART or not). The writer
 * thread looks at every thread (ldp_wall_collect): one in a blocking call is
 * unwound from the stack pointer and instruction address
 * /proc/self/task/TID/syscall reports, on a copy of its stack
 * (process_vm_readv: never a fault); one that is running is credited with
 * the stack of its CPU sample nearest in its own CPU time (writer.c,
 * "running looks"; docs/ARCHITECTURE.md).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent.h"
#include "prim.h"
#include "procfs.h"

/* Unwind a blocked thread on a copy of its stack. */
static unsigned remote_unwind(struct ldp_ring *r, uintptr_t pc, uintptr_t sp, uintptr_t *ips, unsigned max,
			      int *truncated, uint8_t *copy, size_t cap)
{
	uintptr_t hi = r && r->stack_hi > sp && r->stack_hi - sp < cap ? r->stack_hi : sp + cap;
	struct iovec local = {copy, hi - sp}, remote = {(void *)sp, hi - sp};
	ssize_t got = syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL);
	*truncated = 0;
	if (got <= 0) {
		ips[0] = pc;
		return 1;
	}
	ips[0] = pc;
	struct ldp_uw_walk w = {.hi = sp + (uintptr_t)got, .delta = (intptr_t)copy - (intptr_t)sp, .ips = ips + 1,
				.max = max - 1};
	struct ldp_uw_regs regs = {pc, sp, 0};
	unsigned n = ldp_uw_walk(&w, regs, 1);
	*truncated = (w.status & LDP_UW_TRUNCATED) != 0;
	return n + 1;
}

struct ldp_wall_sample *ldp_wall_collect(struct ldp_wall_sample *out, size_t cap, size_t *n, uint8_t *copy,
					 size_t copy_cap)
{
	*n = 0;
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return out;
	char buf[4096];
	int me = ldp_gettid();
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			struct linux_dirent64 {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			off += d->reclen;
			int tid = atoi(d->name);
			if (tid <= 0 || tid == me || *n >= cap)
				continue;
			char st = ldp_proc_task_state(tid);
			struct ldp_wall_sample *x = &out[*n];
			memset(x, 0, sizeof *x);
			x->tid = tid;
			ldp_proc_task_sched(tid, &x->run_ns, &x->slices);
			x->ring = NULL;
			for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next)
				if (r->tid == tid && atomic_load(&r->state) == LDP_RING_OWNED)
					x->ring = r;
			long nr;
			uintptr_t sp, pc;
			if ((st == 'S' || st == 'D') && ldp_proc_task_syscall(tid, &nr, &sp, &pc) == 0) {
				x->state = st == 'D' ? LDP_STATE_DISK : LDP_STATE_BLOCKED;
				x->syscall = nr;
				x->depth = remote_unwind(x->ring, pc, sp, x->ips, ldp_cfg.max_depth < LDP_WALL_DEPTH ?
										 ldp_cfg.max_depth : LDP_WALL_DEPTH,
							 &x->truncated, copy, copy_cap);
			} else if (st == 'R' || st == 'S' || st == 'D') {
				x->state = LDP_STATE_RUNNING;
				x->syscall = -1;
			} else {
				continue; /* stopped, zombie, dead: not part of the picture */
			}
			(*n)++;
		}
	}
	close(fd);
	return out;
}
