/*
 * wall.c - wall-clock sampling: where every thread is, running or waiting.
 *
 * No signal at all, ever (a signal wakes a thread blocked in poll,
 * nanosleep, epoll_wait... with EINTR, SA_RESTART or not). The writer
 * thread looks at every thread at the wall rate, in two steps:
 *
 *   ldp_wall_collect  each thread's state from /proc; one in a blocking call
 *                     is unwound from the stack pointer and instruction
 *                     address /proc/self/task/TID/syscall reports, on a copy
 *                     of its stack (process_vm_readv: never a fault);
 *   ldp_wall_credit   after the writer drained the CPU samples: each look
 *                     gets its stack ("running looks" below) and goes to
 *                     the writer as a WALL sample (struct ldp_wall_out).
 *
 * Between looks the writer hands over every CPU sample it drains
 * (ldp_wall_cpu_sample), and at the end asks for the looks still waiting
 * (ldp_wall_flush). Everything here runs on the writer thread: no lock.
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
#include "rawmem.h"

#define LDP_WALL_DEPTH 128

/* A look at one thread. */
struct look_now {
	int tid;
	int state;       /* enum ldp_sample_state */
	uint64_t run_ns; /* the thread's time on a CPU so far (schedstat; 0: unknown) */
	uint64_t slices; /* how many times it was put on a CPU so far (schedstat) */
	long syscall;    /* blocked in this system call; -1 when not in one */
	int sampled;     /* it has a CPU sample block (sample.c) */
	unsigned depth;
	int truncated;
	uintptr_t ips[LDP_WALL_DEPTH];
};

/* What the wall sampler saw of a thread last time (open addressing by tid). */
#define SEEN_CAP 4096
struct seen {
	int32_t tid;
	uint32_t blocked_stack; /* its stack when last seen waiting; 0 if it was not */
	int state;
	long syscall;
	uint64_t slices;        /* times it had been put on a CPU then */
	uint32_t waiting;       /* its running looks waiting for its next CPU sample */
	uint32_t cpu_stack;     /* the stack of its latest CPU sample; 0: none yet */
	uint64_t cpu_ns;        /* ...and its CPU time at that sample */
};

/* Running looks: a thread seen running (not in a system call) is credited
 * with the stack of the CPU sample nearest to the look in the thread's own
 * CPU time - its code only moves while it runs, so that is the sample whose
 * code it most likely was in. The nearest may be the next one, so a look
 * waits here for the thread's next sample (at most LOOK_WAIT_US, then it
 * takes the earlier one). Crediting the latest sample at once gave every
 * look early in a burst the stack of a burst long gone, or none: under CPU
 * contention a thread is sampled less often than it starts bursts, and a
 * compute phase of wall_eintr lost 2/3 of its looks to "no stack". */
#define LOOKS_CAP 1024
#define LOOK_WAIT_US 1000000
struct look {
	int32_t tid;          /* 0: given its stack already */
	uint32_t prev_stack;  /* the thread's latest CPU sample when looked at; 0: none */
	uint64_t prev_cpu_ns; /* ...and the thread's CPU time at it */
	uint64_t run_ns;      /* the thread's CPU time at the look */
	uint64_t time_us, weight_ns;
};

/* The writer's memory, taken at its start (the collection's at the first
 * look) and left out of fork children. */
static const struct ldp_wall_out *out;
static struct seen *seen_tab;     /* SEEN_CAP of them */
static struct look *looks;        /* a FIFO of LOOKS_CAP, in time order */
static uint32_t looks_head, looks_tail;
static struct look_now *now_buf;  /* the latest collection: now_n of now_cap */
static size_t now_cap = 1024, now_n;
static uint8_t *stack_copy;       /* a blocked thread's stack, copied */
static size_t stack_copy_cap = 256u << 10; /* less under RLIMIT_AS */
static size_t dontfork_bytes;

static void *wall_alloc(size_t n)
{
	void *p = ldp_raw_alloc(n);
	dontfork_bytes += ldp_raw_dontfork(p);
	return p;
}

/* ---- collecting: where every thread is ---- */

/* Unwind a blocked thread on a copy of its stack (hi: its top, 0 unknown). */
static unsigned remote_unwind(uintptr_t hi, uintptr_t pc, uintptr_t sp, uintptr_t *ips, unsigned max, int *truncated,
			      uint8_t *copy, size_t cap)
{
	hi = hi > sp && hi - sp < cap ? hi : sp + cap;
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

/* The top of tid's stack, from the ring it owns (0: unknown). */
static uintptr_t stack_top(int tid)
{
	uintptr_t hi = 0;
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next)
		if (r->tid == tid && atomic_load(&r->state) == LDP_RING_OWNED)
			hi = r->stack_hi;
	return hi;
}

static int has_cpu_samples(int tid)
{
	for (struct ldp_samples *s = ldp_samples_first(); s; s = s->next)
		if (s->tid == tid && atomic_load_explicit(&s->state, memory_order_acquire) == LDP_SAMPLES_OWNED)
			return 1;
	return 0;
}

int ldp_wall_collect(void)
{
	now_n = 0;
	if (!now_buf) {
		now_cap = ldp_budget_share(32, 64 * sizeof *now_buf, 1024 * sizeof *now_buf) / sizeof *now_buf;
		now_buf = wall_alloc(now_cap * sizeof *now_buf);
	}
	if (!stack_copy) {
		stack_copy_cap = ldp_budget_share(64, 32u << 10, 256u << 10);
		stack_copy = wall_alloc(stack_copy_cap);
	}
	if (!now_buf || !stack_copy)
		return -1;
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
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
			if (tid <= 0 || tid == me || now_n >= now_cap)
				continue;
			char st = ldp_proc_task_state(tid);
			struct look_now *x = &now_buf[now_n];
			memset(x, 0, sizeof *x);
			x->tid = tid;
			ldp_proc_task_sched(tid, &x->run_ns, &x->slices);
			x->sampled = has_cpu_samples(tid);
			long nr;
			uintptr_t sp, pc;
			if ((st == 'S' || st == 'D') && ldp_proc_task_syscall(tid, &nr, &sp, &pc) == 0) {
				x->state = st == 'D' ? LDP_STATE_DISK : LDP_STATE_BLOCKED;
				x->syscall = nr;
				x->depth = remote_unwind(stack_top(tid), pc, sp, x->ips,
							 ldp_cfg.max_depth < LDP_WALL_DEPTH ? ldp_cfg.max_depth
											    : LDP_WALL_DEPTH,
							 &x->truncated, stack_copy, stack_copy_cap);
			} else if (st == 'R' || st == 'S' || st == 'D') {
				x->state = LDP_STATE_RUNNING;
				x->syscall = -1;
			} else {
				continue; /* stopped, zombie, dead: not part of the picture */
			}
			now_n++;
		}
	}
	close(fd);
	return 0;
}

/* ---- crediting: each look's stack ---- */

static struct seen *seen_of(int tid)
{
	uint32_t i = (uint32_t)tid * 2654435761u % SEEN_CAP;
	for (unsigned probes = 0; probes < SEEN_CAP; probes++, i = (i + 1) % SEEN_CAP)
		if (seen_tab[i].tid == tid || !seen_tab[i].tid) {
			seen_tab[i].tid = tid;
			return &seen_tab[i];
		}
	return NULL; /* full: this thread gets no memory of its past */
}

static void look_done(struct look *l, uint32_t stack)
{
	out->sample(l->tid, l->time_us, l->weight_ns, stack, LDP_STATE_RUNNING, -1);
	struct seen *sn = seen_of(l->tid);
	if (sn && sn->waiting)
		sn->waiting--;
	l->tid = 0;
	while (looks_head != looks_tail && !looks[looks_head % LOOKS_CAP].tid)
		looks_head++;
}

/* Looks older than max_age_us (0: all) take the stack they had. */
static void looks_expire(uint64_t now, uint64_t max_age_us)
{
	while (looks_head != looks_tail) {
		struct look *l = &looks[looks_head % LOOKS_CAP];
		if (max_age_us && now - l->time_us < max_age_us)
			break;
		look_done(l, l->prev_stack);
	}
}

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

void ldp_wall_cpu_sample(int tid, uint32_t stack, uint64_t cpu_ns)
{
	struct seen *sn = seen_tab ? seen_of(tid) : NULL;
	if (!sn)
		return;
	/* Each of its waiting looks takes this sample or the one it had,
	 * whichever is nearer in the thread's CPU time. */
	for (uint32_t i = looks_head; i != looks_tail && sn->waiting; i++) {
		struct look *l = &looks[i % LOOKS_CAP];
		if (l->tid != tid)
			continue;
		int nearer = !l->prev_stack || distance(cpu_ns, l->run_ns) <= distance(l->prev_cpu_ns, l->run_ns);
		look_done(l, nearer ? stack : l->prev_stack);
	}
	sn->cpu_stack = stack;
	sn->cpu_ns = cpu_ns;
}

/* Queue a running look of a thread with CPU samples. @return 0, -1 when it
 * cannot wait (no memory of the thread). */
static int look_wait(struct seen *sn, const struct look_now *w, uint64_t t, uint64_t interval_ns)
{
	if (!sn || !looks)
		return -1;
	if (looks_tail - looks_head == LOOKS_CAP)
		look_done(&looks[looks_head % LOOKS_CAP], looks[looks_head % LOOKS_CAP].prev_stack);
	looks[looks_tail++ % LOOKS_CAP] = (struct look){
		.tid = w->tid,
		.prev_stack = sn->cpu_stack,
		.prev_cpu_ns = sn->cpu_stack ? sn->cpu_ns : 0,
		.run_ns = w->run_ns,
		.time_us = t,
		.weight_ns = interval_ns,
	};
	sn->waiting++;
	return 0;
}

void ldp_wall_credit(uint64_t t, uint64_t interval_ns)
{
	if (!seen_tab)
		return;
	looks_expire(t, LOOK_WAIT_US);
	for (size_t i = 0; i < now_n; i++) {
		struct look_now *w = &now_buf[i];
		struct seen *prev = seen_of(w->tid);
		uint32_t stack = 0;
		int deferred = 0;
		if (w->state != LDP_STATE_RUNNING) {
			stack = ldp_stack_intern_quiet(w->ips, w->depth,
						       LDP_STACK_LEAF_PC | (w->truncated ? LDP_STACK_TRUNCATED : 0));
		} else if (prev && prev->blocked_stack && w->slices && w->slices == prev->slices) {
			/* Runnable but not put on a CPU since we saw it waiting:
			 * woken, it waits for one on its way out of that same call.
			 * That time belongs to the wait, not to its code. (Its CPU
			 * time cannot tell: schedstat moves it on only at ticks
			 * and switches, so a thread running for 4 ms looked idle.) */
			stack = prev->blocked_stack;
			w->state = prev->state;
			w->syscall = prev->syscall;
		} else if (w->sampled && ldp_cpu_signal && !ldp_cpu_status && w->run_ns) {
			/* Running: the stack of its nearest CPU sample (looks above). */
			deferred = look_wait(prev, w, t, interval_ns) == 0;
		}
		if (prev) {
			prev->blocked_stack = w->state != LDP_STATE_RUNNING ? stack : 0;
			prev->state = w->state;
			prev->syscall = w->syscall;
			prev->slices = w->slices;
		}
		out->thread(w->tid);
		if (!deferred)
			out->sample(w->tid, t, interval_ns, stack, w->state, w->syscall);
	}
}

void ldp_wall_flush(void)
{
	if (looks)
		looks_expire(0, 0);
}

/* ---- the writer's start, end and fork children ---- */

int ldp_wall_start(const struct ldp_wall_out *o)
{
	out = o;
	if (!ldp_cfg.wall_hz)
		return 0;
	if (!seen_tab)
		seen_tab = wall_alloc(SEEN_CAP * sizeof *seen_tab);
	if (!looks) {
		looks = wall_alloc(LOOKS_CAP * sizeof *looks);
		looks_head = looks_tail = 0;
	}
	return seen_tab ? 0 : -1;
}

/* Give a buffer back: the pointer is cleared first, so a fork child taken
 * in between finds either a mapped buffer or none. */
static void give_back(void *pp)
{
	void **slot = pp;
	void *p = *slot;
	__atomic_store_n(slot, NULL, __ATOMIC_SEQ_CST);
	ldp_raw_free(p);
}

void ldp_wall_stop(void)
{
	give_back(&now_buf);
	give_back(&stack_copy);
	give_back(&seen_tab);
	give_back(&looks);
	now_n = 0;
	dontfork_bytes = 0;
}

void ldp_wall_forget(void)
{
	now_buf = NULL;
	stack_copy = NULL;
	seen_tab = NULL;
	looks = NULL;
	now_n = 0;
	ldp_budget_uncharge(dontfork_bytes);
	dontfork_bytes = 0;
}
