/*
 * unwind.c - stack capture: the fast unwinder first, libunwind for the rest.
 *
 * The fast unwinder (unwind_fast.c, unwind_dwarf.c) walks frames with cached
 * per-address rules derived from .eh_frame. It needs this thread's stack
 * bounds (taken once per thread at ring attach) and declines stacks it cannot
 * do exactly (CFI beyond its small rule, a stack outside the thread's own:
 * sigaltstack, coroutines); those go to libunwind.
 *
 * libunwind is loaded with dlopen(RTLD_LOCAL) and called through pointers:
 * linking it (or preloading it) would put its _Unwind_* symbols in the
 * program's scope and reroute every C++ exception through libunwind.
 * libunwind.a is not PIC, so it cannot be linked into the agent either.
 * If libunwind is missing, glibc's backtrace() (libgcc's unwinder) is used.
 *
 * Frames inside the agent itself are dropped: a stack starts at the return
 * address in the function that called malloc.
 *
 * LDPROF_UNWIND=check runs both on every stack and counts differences; the
 * integration tests use it as a cross-check on real programs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <execinfo.h>
#include <pthread.h>
#include <string.h>
#include <ucontext.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "procfs.h"
#include "rawmem.h"

#define SKIP_MAX 8 /* agent frames above the program's: capture, record, malloc, ... */

static int (*backtrace_fn)(void **, int);
static int fast_ok;

/* Rare events only: these counters are never touched on the common path. */
static _Atomic unsigned long n_fallback, n_stopped, n_outside, n_checked, n_differ;

/* A thread's memory of its walks: the last MEMO_TRACES, the newest one
 * tr[tr_prev] (struct ldp_uw_trace says how a walk is reused), and
 * statistics. One per ring slot (ring id), found again by whichever thread
 * owns that ring next; only the owner touches it. A capture is checked
 * against the newest walk first, then the others made from the same call
 * site (ip and sp): a program allocating from a few sites in turn (four in
 * the bench's `sites`) finds each one's walk still valid instead of walking
 * and interning again, which was half of its traced time; python3 needs
 * about eight (94% of its captures are then hits, 1% with two). A new walk
 * replaces the least recently used. A trace is about 34 KiB of address
 * space (raw memory), of which a shallow walk touches four or five pages. */
#define MEMO_TRACES 8u
struct ldp_uw_memo {
	struct ldp_uw_trace *last; /* &tr[tr_prev]: the malloc path's first read */
	struct ldp_uw_trace tr[MEMO_TRACES];
	uint64_t used[MEMO_TRACES]; /* when each was last a hit or made (clock) */
	uint64_t clock;
	unsigned tr_prev;
	uint64_t n_memo, n_walk, n_join, n_frames;
};

#define MEMO_CHUNK 1024u  /* memos per chunk of the table */
#define MEMO_CHUNKS 1024u /* ring ids below a million */
static struct ldp_uw_memo *_Atomic *_Atomic memo_table[MEMO_CHUNKS];

struct ldp_uw_memo *ldp_unwind_memo_claim(uint32_t ring_id)
{
	if (ring_id >= MEMO_CHUNK * MEMO_CHUNKS)
		return NULL;
	_Atomic(struct ldp_uw_memo *_Atomic *) *slot = &memo_table[ring_id / MEMO_CHUNK];
	struct ldp_uw_memo *_Atomic *chunk = atomic_load_explicit(slot, memory_order_acquire);
	if (!chunk) {
		struct ldp_uw_memo *_Atomic *fresh = ldp_raw_alloc(MEMO_CHUNK * sizeof *fresh);
		if (!fresh)
			return NULL;
		if (atomic_compare_exchange_strong(slot, &chunk, fresh))
			chunk = fresh;
		else
			ldp_raw_free(fresh); /* another thread's chunk came first: chunk is it */
	}
	/* Only the ring's owner gets here for this id: no race on the entry. */
	struct ldp_uw_memo *m = atomic_load_explicit(&chunk[ring_id % MEMO_CHUNK], memory_order_acquire);
	if (!m) {
		m = ldp_raw_alloc(sizeof *m);
		if (!m)
			return NULL;
		atomic_store_explicit(&chunk[ring_id % MEMO_CHUNK], m, memory_order_release);
	}
	for (unsigned i = 0; i < MEMO_TRACES; i++) /* a new owner: nothing of the last one's walks is reused */
		m->tr[i].nstates = 0;
	m->last = &m->tr[m->tr_prev];
	return m;
}

/* The process's size in bytes (statm), to charge what dlopen maps to the budget. */
static uint64_t vm_size(void)
{
	uint64_t pages, resident;
	ldp_proc_statm(&pages, &resident);
	return pages * 4096;
}

/*
 * glibc's pthread_getattr_np allocates (the cpu set it reallocs, a copy of
 * it) while it holds the thread's descriptor lock. A malloc of ours called
 * from in there that asked pthread_getattr_np for this thread's bounds
 * would wait for that lock forever: a thread whose first allocation is
 * inside pthread_getattr_np(pthread_self()) hung, which is how ASan's
 * thread start begins every thread (and Rust's, without --cpu). So the
 * bounds are asked for only when pthread_getattr_np is not on the stack
 * (glibc's backtrace looks, once per thread and while it is); until then the
 * thread's stacks are libunwind's. Before libunwind is loaded (other
 * libraries' constructors) a thread other than the main one is never asked.
 */
static uintptr_t getattr_lo, getattr_hi; /* pthread_getattr_np's code */
static void thread_bounds(int careful);

static void getattr_find(void)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	void *fn = dlsym(RTLD_DEFAULT, "pthread_getattr_np");
	if (fn && dladdr1(fn, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size) {
		getattr_lo = (uintptr_t)fn;
		getattr_hi = (uintptr_t)fn + sym->st_size;
	}
}

/* @return 1 if pthread_getattr_np may hold this thread's lock now (or, before
 * libunwind is loaded, we cannot tell). */
static int inside_getattr(void)
{
	if (!backtrace_fn)
		return 1;
	if (!getattr_hi)
		return 0; /* not found by name: nothing to avoid */
	/* glibc's backtrace (libgcc's unwinder), not libunwind's: libunwind's
	 * per-thread cache would be allocated here, under busy, and freed by
	 * its key destructor at thread exit, traced: a free of a block never
	 * seen, once per thread. */
	void *ips[32];
	int n = backtrace(ips, 32);
	for (int i = 0; i < n; i++)
		if ((uintptr_t)ips[i] > getattr_lo && (uintptr_t)ips[i] <= getattr_hi)
			return 1; /* a return address: it may be just past the call, at the end */
	return 0;
}

int ldp_unwind_init(void)
{
	int asan = dlsym(RTLD_DEFAULT, "__asan_init") != NULL;
	/* Sampled mode walks a stack for a sampled allocation only, and the
	 * fast unwinder leaves almost none to libunwind (none of 224,000
	 * captures on python3 in full mode, none of 14,000 on git): glibc's
	 * backtrace, warmed up below, is fallback enough there, and the
	 * process is spared loading libunwind and liblzma. Not when libunwind
	 * is asked for (LDPROF_UNWIND), nor under ASan, where backtrace is not
	 * warmed up. */
	int want = ldp_cfg.mode != LDP_MODE_SAMPLED || ldp_cfg.unwind != LDP_UNWIND_FAST || asan;
	int budgeted = ldp_budget() != LDP_BUDGET_NONE;
	uint64_t before = budgeted ? vm_size() : 0;
	void *h = want ? dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL) : NULL;
	if (budgeted) {
		/* libunwind and what it needs are mapped now: part of what the agent takes */
		uint64_t after = vm_size();
		if (after > before)
			ldp_budget_take(after - before); /* over the budget: later maps are refused */
	}
	if (h) {
		backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
		/* Per-thread caching avoids a global lock in libunwind's cache. */
		int (*set_policy)(void *, int) = (int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy");
		void **as = dlsym(h, "_ULx86_64_local_addr_space");
		if (set_policy && as)
			set_policy(*as, 2 /* UNW_CACHE_PER_THREAD */);
	}
	if (!backtrace_fn) {
		if (want)
			ldp_warn("libunwind.so.8 not found; using glibc backtrace() (slower)");
		backtrace_fn = backtrace;
	}
	getattr_find();
	/* glibc's backtrace loads libgcc_s on its first call (a dlopen, the
	 * loader's locks held): done here, once, rather than on some thread's
	 * first event, where a _Fork or raw clone child made meanwhile would
	 * inherit those locks held and hang starting its writer. */
	/* Not under ASan: LeakSanitizer reports what that dlopen allocates from
	 * here as a leak of the program's (exit status 1). There the first
	 * backtrace stays lazy, and the _Fork hazard above remains. */
	if (!asan) {
		void *warm[2];
		(void)backtrace(warm, 2);
	}
	/* After libunwind is loaded: it is one of the objects that never go away (unwind_fast.c). */
	if (ldp_cfg.unwind != LDP_UNWIND_LIBUNWIND)
		fast_ok = ldp_uw_fast_init() == 0;
	thread_bounds(0); /* the constructor: not inside pthread_getattr_np */
	return 0;
}

/* careful: a thread's first event may come from inside pthread_getattr_np. */
static void thread_bounds(int careful)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	ldp_self.stack_lo = ldp_self.stack_hi = 0;
	ldp_self.stack_pending = 0;
	if (careful && inside_getattr()) {
		ldp_self.stack_pending = backtrace_fn != NULL;
		return;
	}
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr && size) {
		ldp_self.stack_lo = (uintptr_t)addr;
		ldp_self.stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

void ldp_unwind_thread_init(void)
{
	thread_bounds(1);
}

static unsigned capture_libunwind(uintptr_t *ips, unsigned max, int *truncated)
{
	/* ips has room for LDP_MAX_STACK_DEPTH + 8 entries (struct ldp_ring).
	 * libunwind allocates (its dynamic TLS, on first use in a thread), as
	 * may glibc's backtrace: busy alone, so nested.c never takes those for
	 * a signal handler's. */
	ldp_self.busy++;
	int n = backtrace_fn((void **)ips, (int)(max + SKIP_MAX + 1));
	ldp_self.busy--;
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

#define CHECK_MAX 256 /* deeper limits are not checked: keeps check()'s array off small stacks */

static void check(const uintptr_t *ips, unsigned depth, int truncated, unsigned max)
{
	uintptr_t ref[CHECK_MAX + SKIP_MAX + 1];
	int ref_trunc;
	if (max > CHECK_MAX)
		return;
	unsigned ref_depth = capture_libunwind(ref, max, &ref_trunc);
	atomic_fetch_add_explicit(&n_checked, 1, memory_order_relaxed);
	if (ref_depth == depth && ref_trunc == truncated && !memcmp(ref, ips, depth * sizeof *ips))
		return;
	if (atomic_fetch_add_explicit(&n_differ, 1, memory_order_relaxed) >= 3)
		return;
	char buf[1024];
	size_t len = ldp_format(buf, sizeof buf, "unwind check: fast %u%s:", depth, truncated ? "+" : "");
	for (unsigned i = 0; i < depth && i < 24 && len < sizeof buf - 20; i++)
		len += ldp_format(buf + len, sizeof buf - len, " %lx", (unsigned long)ips[i]);
	ldp_warn("%s", buf);
	len = ldp_format(buf, sizeof buf, "unwind check: libunwind %u%s:", ref_depth, ref_trunc ? "+" : "");
	for (unsigned i = 0; i < ref_depth && i < 24 && len < sizeof buf - 20; i++)
		len += ldp_format(buf + len, sizeof buf - len, " %lx", (unsigned long)ref[i]);
	ldp_warn("%s", buf);
}

/* The fast walk from the caller's registers. @return depth, or -1: use libunwind. */
static LDP_ALWAYS_INLINE int fast_capture(struct ldp_uw_regs r, uintptr_t *ips, unsigned max, int *truncated,
					  struct ldp_uw_walk *w)
{
	if (LDP_UNLIKELY(r.sp < ldp_self.stack_lo || r.sp >= ldp_self.stack_hi)) {
		atomic_fetch_add_explicit(&n_outside, 1, memory_order_relaxed);
		return -1;
	}
	w->hi = ldp_self.stack_hi;
	w->skip_lo = ldp_self_lo;
	w->skip_hi = ldp_self_hi;
	w->ips = ips;
	w->max = max;
	w->flags = LDP_UW_MAY_LOCK;
	unsigned n = ldp_uw_walk(w, r, 1);
	if (LDP_UNLIKELY(w->status & ~LDP_UW_TRUNCATED)) {
		if (!(w->status & LDP_UW_STOPPED)) {
			atomic_fetch_add_explicit(&n_fallback, 1, memory_order_relaxed);
			return -1;
		}
		/* Garbage or code in no object: libunwind would stop there too. */
		atomic_fetch_add_explicit(&n_stopped, 1, memory_order_relaxed);
	}
	*truncated = (w->status & LDP_UW_TRUNCATED) != 0;
	if (LDP_UNLIKELY(ldp_cfg.unwind == LDP_UNWIND_CHECK))
		check(ips, n, *truncated, max);
	return (int)n;
}

unsigned ldp_unwind_capture(uintptr_t *ips, unsigned max, int *truncated)
{
	if (LDP_LIKELY(fast_ok)) {
		struct ldp_uw_regs r;
		LDP_UW_HERE(r);
		struct ldp_uw_walk w = {.prev = NULL};
		int n = fast_capture(r, ips, max, truncated, &w);
		if (n >= 0)
			return (unsigned)n;
	}
	return capture_libunwind(ips, max, truncated);
}

/* Walk (joining the previous walk where it can), hash, intern; the new walk
 * becomes the one the next capture tries to reuse. */
static LDP_NOINLINE uint32_t capture_and_intern(struct ldp_uw_memo *m, struct ldp_uw_regs r)
{
	unsigned max = ldp_cfg.max_depth;
	int truncated;
	/* Join the newest walk; replace the least recently used other one. */
	unsigned victim = m->tr_prev == 0 ? 1 : 0;
	for (unsigned i = 0; i < MEMO_TRACES; i++)
		if (i != m->tr_prev && m->used[i] < m->used[victim])
			victim = i;
	struct ldp_uw_trace *prev = &m->tr[m->tr_prev], *cur = &m->tr[victim];
	m->tr_prev = victim;
	m->used[victim] = ++m->clock;
	m->last = cur;
	if (LDP_UNLIKELY(ldp_self.stack_pending)) {
		/* pthread_getattr_np allocates: busy alone, so that is the agent's
		 * own allocation, not a signal handler's (nested.c). */
		ldp_self.busy++;
		ldp_unwind_thread_init();
		ldp_self.busy--;
		struct ldp_ring *ring = ldp_self.ring; /* wall.c copies this thread's stack within these bounds */
		if (ring) {
			ring->stack_lo = ldp_self.stack_lo;
			ring->stack_hi = ldp_self.stack_hi;
		}
	}
	if (LDP_LIKELY(fast_ok)) {
		struct ldp_uw_walk w = {.prev = prev, .cur = cur};
		int n = fast_capture(r, cur->ips, max, &truncated, &w);
		m->n_walk++;
		m->n_join += w.joined;
		m->n_frames += w.steps;
		if (n >= 0) {
			unsigned d = (unsigned)n, from = d, flags = truncated ? LDP_STACK_TRUNCATED : 0;
			uint64_t *hs = cur->hsuf;
			hs[d] = LDP_STACK_HASH_SEED;
			if (w.joined && w.join_whole) {
				memcpy(hs + w.join_n, prev->hsuf + w.join_p, (d - w.join_n) * sizeof *hs);
				from = w.join_n;
			}
			for (unsigned i = from; i-- > 0;)
				hs[i] = ldp_stack_hash_step(hs[i + 1], cur->ips[i]);
			uint32_t id = ldp_stack_intern_hashed(cur->ips, d, flags, ldp_stack_hash_fin(hs[0], d, flags));
			cur->stack = id;
			cur->depth = d;
			cur->status = w.status & LDP_UW_TRUNCATED;
			return id;
		}
	}
	cur->nstates = 0;
	uintptr_t *ips = ldp_self.ring->ips; /* the thread's capture scratch: deep stacks stay off its stack */
	unsigned n = capture_libunwind(ips, max, &truncated);
	return ldp_stack_intern(ips, n, truncated ? LDP_STACK_TRUNCATED : 0);
}

/* Would a walk from r give t again? Its first state is r's, and every
 * stack word it read still holds what it read. [sp, stack top) is this
 * thread's live stack: every address there is readable. */
static LDP_ALWAYS_INLINE int memo_valid(const struct ldp_uw_trace *t, struct ldp_uw_regs r)
{
	const struct ldp_uw_state *s0 = &t->s[0];
	if (!t->nstates || r.sp != s0->sp || r.ip != s0->ip || ((s0->flags & LDP_UWS_BP_NEED) && r.bp != s0->bp))
		return 0;
	const uintptr_t *at = t->at, *val = t->val;
	uintptr_t diff = 0;
	unsigned i = 0, n = t->nrd;
	for (; i + 2 <= n; i += 2)
		diff |= (*(const uintptr_t *)at[i] ^ val[i]) | (*(const uintptr_t *)at[i + 1] ^ val[i + 1]);
	if (i < n)
		diff |= *(const uintptr_t *)at[i] ^ val[i];
	return !diff;
}

static LDP_ALWAYS_INLINE uint32_t memo_hit(struct ldp_uw_memo *m, const struct ldp_uw_trace *t)
{
	m->n_memo++;
	if (LDP_UNLIKELY(ldp_cfg.unwind == LDP_UNWIND_CHECK))
		check(t->ips, t->depth, (int)t->status, ldp_cfg.max_depth);
	return t->stack;
}

/* The newest walk did not fit: one of the others, or a walk. r is the
 * caller's frame, still there (this is no tail call). */
static LDP_NOINLINE uint32_t memo_others(struct ldp_uw_memo *m, struct ldp_uw_regs r)
{
	for (unsigned i = 0; i < MEMO_TRACES; i++) {
		const struct ldp_uw_trace *t = &m->tr[i];
		if (i != m->tr_prev && memo_valid(t, r)) {
			m->tr_prev = i;
			m->last = &m->tr[i];
			m->used[i] = ++m->clock;
			return memo_hit(m, t);
		}
	}
	uint32_t id = capture_and_intern(m, r);
	__asm__ volatile("" : "+r"(id));
	return id;
}

uint32_t ldp_unwind_stack_id(struct ldp_uw_memo *m)
{
	struct ldp_uw_regs r;
	LDP_UW_HERE(r);
	const struct ldp_uw_trace *t = m->last;
	if (memo_valid(t, r))
		return memo_hit(m, t);
	/* Never a tail call: the walk starts in this frame, which must still be there. */
	uint32_t id = memo_others(m, r);
	__asm__ volatile("" : "+r"(id));
	return id;
}

unsigned ldp_unwind_capture_nolock(uintptr_t *ips, unsigned max, int *truncated)
{
	struct ldp_uw_regs r;
	LDP_UW_HERE(r);
	*truncated = 0;
	/* On a signal stack (sigaltstack) there is no stack top to walk within. */
	if (!fast_ok || r.sp < ldp_self.stack_lo || r.sp >= ldp_self.stack_hi)
		return 0;
	struct ldp_uw_walk w = {.hi = ldp_self.stack_hi, .skip_lo = ldp_self_lo, .skip_hi = ldp_self_hi, .ips = ips,
				.max = max, .prev = NULL};
	unsigned n = ldp_uw_walk(&w, r, 1);
	/* The signal frame needs more than a cached rule: the handler's frames,
	 * marked truncated, are what the walk gives. */
	*truncated = w.status != 0;
	__asm__ volatile("" : "+r"(n)); /* not a tail call: the walk's frame must stay */
	return n;
}

unsigned ldp_unwind_early(uintptr_t *ips, unsigned max, int *truncated)
{
	struct ldp_uw_regs r;
	LDP_UW_HERE(r);
	unsigned n = 0;
	*truncated = 1;
	if (ldp_uw_cache_init() == 0 && r.sp >= ldp_self.stack_lo && r.sp < ldp_self.stack_hi) {
		struct ldp_uw_walk w = {.hi = ldp_self.stack_hi, .skip_lo = ldp_self_lo, .skip_hi = ldp_self_hi,
					.ips = ips, .max = max, .flags = LDP_UW_MAY_LOCK};
		n = ldp_uw_walk(&w, r, 1);
		*truncated = (w.status & ~LDP_UW_STOPPED) != 0;
	}
	/* Never a tail call: the walk started in this frame. */
	__asm__ volatile("" : "+r"(n));
	return n;
}

unsigned ldp_unwind_from_ucontext(const void *ucv, uintptr_t *ips, unsigned max, int *truncated)
{
	const ucontext_t *uc = ucv;
	struct ldp_uw_regs r = {
		.ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
		.sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
		.bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP],
	};
	*truncated = 0;
	if (!max)
		return 0;
	ips[0] = r.ip;
	if (!fast_ok || r.sp < ldp_self.stack_lo || r.sp >= ldp_self.stack_hi) {
		*truncated = 1;
		return 1;
	}
	struct ldp_uw_walk w = {.hi = ldp_self.stack_hi, .ips = ips + 1, .max = max - 1, .prev = NULL};
	unsigned n = ldp_uw_walk(&w, r, 1);
	*truncated = w.status != 0;
	return n + 1;
}

void ldp_unwind_report(void)
{
	uint64_t memo = 0, walk = 0, join = 0, frames = 0;
	for (unsigned c = 0; c < MEMO_CHUNKS; c++) {
		struct ldp_uw_memo *_Atomic *chunk = atomic_load(&memo_table[c]);
		for (unsigned i = 0; chunk && i < MEMO_CHUNK; i++) {
			const struct ldp_uw_memo *m = atomic_load(&chunk[i]);
			if (m) {
				memo += m->n_memo;
				walk += m->n_walk;
				join += m->n_join;
				frames += m->n_frames;
			}
		}
	}
	ldp_warn("unwind: %lu memo hits, %lu walks (%lu joined the previous one, %lu frames walked), %lu libunwind "
		 "fallbacks, %lu outside the thread stack, %lu stopped early; check: %lu stacks compared, %lu differ",
		 (unsigned long)memo, (unsigned long)walk, (unsigned long)join, (unsigned long)frames,
		 atomic_load(&n_fallback),
		 atomic_load(&n_outside), atomic_load(&n_stopped), atomic_load(&n_checked), atomic_load(&n_differ));
}
