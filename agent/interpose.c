/*
 * interpose.c - the exported malloc family.
 *
 * Each entry point calls the real allocator (found with dlsym(RTLD_NEXT)),
 * then, when heap tracing is on and this thread is not already inside the
 * agent, records the event. The check is two loads and one branch; the
 * recording is a separate noinline function so the pass-through stays small.
 *
 * Ordering rule (seq.c): a free takes its sequence number before the real
 * free, an allocation after the real call returned. realloc does both, with
 * the guard held across the real call so a signal handler cannot slip an
 * event of its own between the two numbers.
 *
 * glibc implements reallocarray by calling realloc through the PLT, so ours
 * does the overflow check and calls our realloc: one record, never two. The
 * memalign family calls glibc internals directly and is recorded as itself.
 * errno is exactly what the real function left.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "rawmem.h"

struct ldp_real_fns ldp_real;

/* glibc's own entry points: a fallback when dlsym cannot find the next malloc. */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static _Atomic int resolve_state; /* 0 not yet, 1 in progress, 2 done */
static LDP_TLS int resolving;

static void *next(const char *name, void *fallback)
{
	void *f = dlsym(RTLD_NEXT, name);
	return f ? f : fallback;
}

static int posix_memalign_fallback(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

static void *aligned_alloc_fallback(size_t align, size_t n)
{
	return __libc_memalign(align, n);
}

/* Allocations made by dlsym itself land in the bootstrap arena meanwhile. */
void ldp_resolve_real(void)
{
	if (atomic_load_explicit(&resolve_state, memory_order_acquire) == 2)
		return;
	int expected = 0;
	if (!atomic_compare_exchange_strong(&resolve_state, &expected, 1)) {
		if (resolving)
			return; /* dlsym called malloc: the caller uses the bootstrap arena */
		while (atomic_load_explicit(&resolve_state, memory_order_acquire) != 2)
			sched_yield();
		return;
	}
	resolving = 1;
	struct ldp_real_fns r;
	r.malloc = next("malloc", __libc_malloc);
	r.free = next("free", __libc_free);
	r.calloc = next("calloc", __libc_calloc);
	r.realloc = next("realloc", __libc_realloc);
	r.posix_memalign = next("posix_memalign", posix_memalign_fallback);
	r.aligned_alloc = next("aligned_alloc", aligned_alloc_fallback);
	r.memalign = next("memalign", __libc_memalign);
	r.valloc = next("valloc", __libc_valloc);
	r.pvalloc = next("pvalloc", __libc_pvalloc);
	r.malloc_usable_size = next("malloc_usable_size", NULL);
	ldp_real = r;
	resolving = 0;
	atomic_store_explicit(&resolve_state, 2, memory_order_release);
}

static inline int tracing(void)
{
	return LDP_LIKELY(atomic_load_explicit(&ldp_heap_on, memory_order_relaxed)) && !ldp_self.busy;
}

static inline struct ldp_ring *ring_of(struct ldp_thread *t)
{
	return LDP_LIKELY(t->ring != NULL) ? t->ring : ldp_thread_attach();
}

static LDP_NOINLINE void record_alloc(void *p, size_t size, unsigned op)
{
	if (atomic_load_explicit(&ldp_alloc_paused, memory_order_relaxed))
		return; /* ldprof_pause(): this allocation stays out of the trace */
	int saved = errno;
	struct ldp_thread *t = &ldp_self;
	t->busy++;
	struct ldp_ring *r = ring_of(t);
	if (r) {
		uint32_t stack = ldp_unwind_stack_id(r);
		uint64_t seq = ldp_seq_next(t, (uintptr_t)p);
		uint8_t *at = ldp_ring_reserve(r);
		ldp_ring_commit(r, at, ldp_enc_alloc(at, &r->enc, op, seq, (uintptr_t)p, size, stack));
	}
	t->busy--;
	errno = saved;
}

/* Called with busy already raised. */
static void record_free_seq(struct ldp_thread *t, void *p, uint64_t seq)
{
	struct ldp_ring *r = ring_of(t);
	if (r) {
		uint8_t *at = ldp_ring_reserve(r);
		ldp_ring_commit(r, at, ldp_enc_free(at, &r->enc, seq, (uintptr_t)p));
	}
}

static LDP_NOINLINE void record_free(void *p)
{
	int saved = errno;
	struct ldp_thread *t = &ldp_self;
	t->busy++;
	record_free_seq(t, p, ldp_seq_next(t, (uintptr_t)p));
	t->busy--;
	errno = saved;
}

#define ENSURE_REAL(fn)                                                                                        \
	do {                                                                                                   \
		if (LDP_UNLIKELY(!ldp_real.fn))                                                                \
			ldp_resolve_real();                                                                    \
	} while (0)

LDP_EXPORT void *malloc(size_t n)
{
	ENSURE_REAL(malloc);
	if (LDP_UNLIKELY(!ldp_real.malloc))
		return ldp_bootstrap_alloc(n, 16);
	void *p = ldp_real.malloc(n);
	if (p && tracing())
		record_alloc(p, n, LDP_EV_ALLOC_MALLOC);
	else if (LDP_UNLIKELY(ldp_self.busy == LDP_BUSY_PROBE))
		ldp_self.probe_hit = 1;
	return p;
}

LDP_EXPORT void free(void *p)
{
	if (!p || LDP_UNLIKELY(ldp_bootstrap_owns(p)))
		return;
	ENSURE_REAL(free);
	if (LDP_UNLIKELY(!ldp_real.free))
		return; /* cannot happen after resolution; never free what we cannot route */
	if (tracing())
		record_free(p);
	ldp_real.free(p);
}

LDP_EXPORT void *calloc(size_t a, size_t b)
{
	ENSURE_REAL(calloc);
	if (LDP_UNLIKELY(!ldp_real.calloc)) {
		size_t n;
		if (__builtin_mul_overflow(a, b, &n))
			return NULL;
		return ldp_bootstrap_alloc(n, 16);
	}
	void *p = ldp_real.calloc(a, b);
	if (p && tracing())
		record_alloc(p, a * b, LDP_EV_ALLOC_CALLOC);
	return p;
}

LDP_EXPORT void *realloc(void *p, size_t n)
{
	if (LDP_UNLIKELY(p && ldp_bootstrap_owns(p))) {
		/* Move a bootstrap block to the real heap; the arena is never freed. */
		void *q = malloc(n ? n : 1);
		if (q) {
			size_t old = ldp_bootstrap_size(p);
			memcpy(q, p, old < n ? old : n);
		}
		return q;
	}
	ENSURE_REAL(realloc);
	if (LDP_UNLIKELY(!ldp_real.realloc))
		return p ? NULL : ldp_bootstrap_alloc(n, 16);
	if (!tracing())
		return ldp_real.realloc(p, n);
	if (!p) {
		void *q = ldp_real.realloc(NULL, n);
		if (q)
			record_alloc(q, n, LDP_EV_ALLOC_REALLOC);
		return q;
	}
	int saved;
	struct ldp_thread *t = &ldp_self;
	t->busy++;
	uint64_t seq_free = ldp_seq_next(t, (uintptr_t)p);
	void *q = ldp_real.realloc(p, n);
	saved = errno;
	/* Success, or size 0 (glibc frees and returns NULL): the old block is gone.
	 * Any other NULL is a failure and the old block is untouched. */
	if (q || n == 0)
		record_free_seq(t, p, seq_free);
	t->busy--;
	errno = saved;
	if (q)
		record_alloc(q, n, LDP_EV_ALLOC_REALLOC);
	return q;
}

LDP_EXPORT void *reallocarray(void *p, size_t a, size_t b)
{
	size_t n;
	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

LDP_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	ENSURE_REAL(posix_memalign);
	if (LDP_UNLIKELY(!ldp_real.posix_memalign)) {
		void *p = ldp_bootstrap_alloc(n, align);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	int err = ldp_real.posix_memalign(out, align, n);
	if (err == 0 && tracing())
		record_alloc(*out, n, LDP_EV_ALLOC_ALIGNED);
	return err;
}

#define ALIGNED_ENTRY(name, params, call, size_expr)                                                           \
	LDP_EXPORT void *name params                                                                           \
	{                                                                                                      \
		ENSURE_REAL(name);                                                                             \
		if (LDP_UNLIKELY(!ldp_real.name))                                                              \
			return NULL;                                                                           \
		void *p = ldp_real.name call;                                                                  \
		if (p && tracing())                                                                            \
			record_alloc(p, size_expr, LDP_EV_ALLOC_ALIGNED);                                      \
		return p;                                                                                      \
	}

ALIGNED_ENTRY(aligned_alloc, (size_t align, size_t n), (align, n), n)
ALIGNED_ENTRY(memalign, (size_t align, size_t n), (align, n), n)
ALIGNED_ENTRY(valloc, (size_t n), (n), n)
ALIGNED_ENTRY(pvalloc, (size_t n), (n), n)

LDP_EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (ldp_bootstrap_owns(p))
		return ldp_bootstrap_size(p);
	ENSURE_REAL(malloc_usable_size);
	return ldp_real.malloc_usable_size ? ldp_real.malloc_usable_size(p) : 0;
}

/* Does the program bind malloc to an allocator of its own (static jemalloc,
 * its own malloc in the executable)? Then nothing reaches us. Comparing
 * addresses is not enough (a non-PIE executable that takes malloc's address
 * exports a PLT slot that still leads here), so call the malloc the program
 * would call and see whether it arrives. @return the path of the object that
 * provides malloc, or NULL when it is us. Called with busy == 1. */
const char *ldp_foreign_malloc(void)
{
	void *(*def_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
	void (*def_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
	if (!def_malloc || !def_free)
		return NULL;
	int saved = ldp_self.busy;
	ldp_self.busy = LDP_BUSY_PROBE;
	ldp_self.probe_hit = 0;
	def_free(def_malloc(1));
	ldp_self.busy = saved;
	if (ldp_self.probe_hit)
		return NULL;
	Dl_info info;
	if (dladdr((void *)def_malloc, &info) && info.dli_fname && *info.dli_fname)
		return info.dli_fname;
	return "the executable";
}
