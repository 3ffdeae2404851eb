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
 *
 * A call that finds busy raised passes through; if it comes from a signal
 * handler that interrupted a recording on this thread (busy == rec,
 * agent.h), its event is kept aside and recorded once the interrupted
 * recording is done (nested.c).
 *
 * Sampled mode (ldp_heap_sampled): each thread counts down bytes to its next
 * sample, drawn from an exponential distribution (docs/SAMPLING.md). An
 * allocation that does not reach zero is the real call and a subtraction.
 * One that does is served from the sample heap (sampleheap.c) and recorded,
 * so free() recognises a sampled block by its address alone.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
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
#define RESOLVE_NEXT(family, name, kind, ret, params) r.name = (ret(*) params)dlsym(RTLD_NEXT, #name);
	LDP_EP_LIBC_HEAP(RESOLVE_NEXT)
	/* glibc's own entry points when dlsym cannot find them */
	r.malloc = r.malloc ? r.malloc : __libc_malloc;
	r.free = r.free ? r.free : __libc_free;
	r.calloc = r.calloc ? r.calloc : __libc_calloc;
	r.realloc = r.realloc ? r.realloc : __libc_realloc;
	r.posix_memalign = r.posix_memalign ? r.posix_memalign : posix_memalign_fallback;
	r.aligned_alloc = r.aligned_alloc ? r.aligned_alloc : aligned_alloc_fallback;
	r.memalign = r.memalign ? r.memalign : __libc_memalign;
	r.valloc = r.valloc ? r.valloc : __libc_valloc;
	r.pvalloc = r.pvalloc ? r.pvalloc : __libc_pvalloc;
	ldp_real = r;
	resolving = 0;
	atomic_store_explicit(&resolve_state, 2, memory_order_release);
}

static inline int tracing(void)
{
	return LDP_LIKELY(atomic_load_explicit(&ldp_heap_on, memory_order_relaxed)) && !ldp_self.busy;
}

/* Allocations are recorded (not paused): the same two loads and branch. */
static inline int tracing_allocs(void)
{
	return LDP_LIKELY(atomic_load_explicit(&ldp_heap_on, memory_order_relaxed) & LDP_HEAP_ALLOCS) &&
	       !ldp_self.busy;
}

static inline struct ldp_ring *ring_of(struct ldp_thread *t)
{
	return LDP_LIKELY(t->ring != NULL) ? t->ring : ldp_thread_attach();
}

/* &errno, once per thread: errno is saved and restored around every record. */
static LDP_ALWAYS_INLINE int *errno_of(struct ldp_thread *t)
{
	int *e = t->errno_p;
	if (LDP_UNLIKELY(!e))
		e = t->errno_p = &errno;
	return e;
}

/* Full mode: the block into the live-block map, and written as a site
 * allocation if it went in, else with its address (livemap.c's rule). */
static LDP_ALWAYS_INLINE void record_site_alloc(struct ldp_thread *t, struct ldp_ring *r, void *p, size_t size,
						unsigned op, uint32_t stack)
{
	unsigned got;
	uint64_t old_size = 0;
	uint32_t old_stack = 0;
	uint64_t seq = ldp_seq_next_put(t, (uintptr_t)p, size, stack, &got, &old_size, &old_stack);
	uint8_t *at;
	if (LDP_UNLIKELY(got == LDP_LIVE_EVICTED)) {
		/* The map still held a block here: the allocator freed it without
		 * us (glibc's own realloc inside getline...). It ends now. */
		at = ldp_ring_reserve(r);
		ldp_ring_commit(r, at, ldp_enc_sfree(at, &r->enc, seq, old_size, old_stack));
	}
	at = ldp_ring_reserve(r);
	ldp_ring_commit(r, at,
			got != LDP_LIVE_OUT ? ldp_enc_salloc(at, &r->enc, op, seq, size, stack)
					    : ldp_enc_alloc(at, &r->enc, op, seq, (uintptr_t)p, size, stack));
}

static LDP_NOINLINE void record_alloc(void *p, size_t size, unsigned op)
{
	if (!(atomic_load_explicit(&ldp_heap_on, memory_order_relaxed) & LDP_HEAP_ALLOCS))
		return; /* paused (control.c): this allocation stays out of the trace */
	struct ldp_thread *t = &ldp_self;
	int *e = errno_of(t);
	int saved = *e;
	ldp_rec_enter(t);
	struct ldp_ring *r = ring_of(t);
	if (r) {
		uint32_t stack = ldp_unwind_stack_id(t->uw);
		if (ldp_live_on) {
			record_site_alloc(t, r, p, size, op, stack);
		} else {
			uint64_t seq = ldp_seq_next(t, (uintptr_t)p);
			uint8_t *at = ldp_ring_reserve(r);
			ldp_ring_commit(r, at, ldp_enc_alloc(at, &r->enc, op, seq, (uintptr_t)p, size, stack));
		}
	} else if (LDP_UNLIKELY(atomic_load_explicit(&ldp_early_open, memory_order_relaxed))) {
		ldp_early_alloc(t, p, size, op); /* before the constructor: kept until tracing starts */
	}
	ldp_rec_leave(t);
	*e = saved;
}

/* The malloc family found busy raised: the foreign-malloc probe, or a
 * signal handler's allocation during a recording (nested.c). */
static LDP_NOINLINE void busy_alloc(void *p, size_t size, unsigned op)
{
	struct ldp_thread *t = &ldp_self;
	if (t->busy == LDP_BUSY_PROBE)
		t->probe_hit = 1;
	else if (p && ldp_nestable(t))
		ldp_nested_event(op, p, size);
}

static LDP_NOINLINE void busy_free(void *p)
{
	if (ldp_nestable(&ldp_self))
		ldp_nested_event(LDP_EV_FREE, p, 0);
}

/* A free's seq now, and its block out of the map (full mode). */
static LDP_ALWAYS_INLINE struct ldp_freed take_freed(struct ldp_thread *t, void *p)
{
	struct ldp_freed f = {0, 0, 0, 0};
	if (ldp_live_on) {
		int in; /* -1 only in a signal handler inside this thread's own lock: not here */
		f.seq = ldp_seq_next_take(t, (uintptr_t)p, &in, &f.size, &f.stack);
		f.site = in > 0;
	} else {
		f.seq = ldp_seq_next(t, (uintptr_t)p);
	}
	return f;
}

/* Called with busy already raised. */
static LDP_ALWAYS_INLINE void record_freed(struct ldp_thread *t, void *p, struct ldp_freed f)
{
	struct ldp_ring *r = ring_of(t);
	if (r) {
		uint8_t *at = ldp_ring_reserve(r);
		ldp_ring_commit(r, at,
				f.site ? ldp_enc_sfree(at, &r->enc, f.seq, f.size, f.stack)
				       : ldp_enc_free(at, &r->enc, f.seq, (uintptr_t)p));
	} else if (LDP_UNLIKELY(atomic_load_explicit(&ldp_early_open, memory_order_relaxed))) {
		ldp_early_free(t, p, f.seq);
	}
}

/* A free whose seq was taken already, by address; busy raised. */
static LDP_ALWAYS_INLINE void record_free_seq(struct ldp_thread *t, void *p, uint64_t seq)
{
	record_freed(t, p, (struct ldp_freed){seq, 0, 0, 0});
}

/* A free with its sequence number, busy raised and errno kept around it.
 * seq 0 takes the next number now. */
static LDP_ALWAYS_INLINE void record_free_guarded(void *p, uint64_t seq)
{
	struct ldp_thread *t = &ldp_self;
	int *e = errno_of(t);
	int saved = *e;
	ldp_rec_enter(t);
	if (seq)
		record_free_seq(t, p, seq);
	else
		record_freed(t, p, take_freed(t, p));
	ldp_rec_leave(t);
	*e = saved;
}

static LDP_NOINLINE void record_free(void *p)
{
	record_free_guarded(p, 0);
}

/* ---- sampled mode ------------------------------------------------------ */

int ldp_heap_sampled;  /* set once at start, before tracing begins */
static _Atomic uint64_t threads_seeded;

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Bytes to the next sample: exponential with mean sample_bytes, so whether
 * an allocation of n bytes is sampled does not depend on the ones before it
 * (probability 1 - exp(-n / mean)); the reporter divides by that. */
static uint64_t next_gap(struct ldp_thread *t)
{
	if (LDP_UNLIKELY(!t->sample_rng)) {
		/* With LDPROF_SAMPLE_SEED, the n-th thread to allocate gets the same
		 * stream on every run (tests); without, the clock decides. */
		uint64_t ordinal = atomic_fetch_add(&threads_seeded, 1) + 1;
		uint64_t seed = ldp_cfg.sample_seed ? ldp_cfg.sample_seed : ldp_mono_ns() ^ ((uint64_t)t->tid << 32);
		t->sample_rng = seed * 0x2545F4914F6CDD1Dull + ordinal;
		if (!t->sample_rng)
			t->sample_rng = 1;
	}
	double u = (double)((splitmix64(&t->sample_rng) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
	double gap = -ldp_ln(u) * (double)ldp_cfg.sample_bytes;
	return gap < 1.8e19 ? (uint64_t)gap + 1 : UINT64_MAX;
}

static LDP_NOINLINE int sample_due_slow(struct ldp_thread *t, size_t n)
{
	if (t->busy)
		return 0; /* not counted: the countdown resumes with the next traced call */
	ldp_writer_poll();
	if (atomic_load_explicit(&ldp_heap_on, memory_order_relaxed) == LDP_HEAP_FREES) {
		t->sample_left = next_gap(t); /* paused: a new gap, so the fast path stays taken */
		return 0;
	}
	if (!atomic_load_explicit(&ldp_heap_on, memory_order_relaxed)) {
		t->sample_left = UINT64_MAX; /* tracing ended: stay on the fast path */
		return 0;
	}
	if (!t->sample_rng) { /* first allocation of this thread: draw its first gap */
		t->sample_left = next_gap(t);
		if (n < t->sample_left) {
			t->sample_left -= n;
			return 0;
		}
	}
	t->sample_left = next_gap(t);
	return 1;
}

/* Sampled mode: does this allocation of n bytes become a sample? */
static LDP_ALWAYS_INLINE int sample_due(size_t n)
{
	struct ldp_thread *t = &ldp_self;
	if (LDP_LIKELY(n < t->sample_left)) {
		t->sample_left -= n;
		return 0;
	}
	return sample_due_slow(t, n);
}

/* A sampled block the sample heap had no room for, made by the real
 * allocator: record it if the overflow table can take its address (so its
 * free is recognised), else count a lost sample. @return p. */
static void *sample_overflow(void *p, size_t n, unsigned op)
{
	if (p) {
		if (ldp_sh_overflow_add(p) == 0)
			record_alloc(p, n, op);
		else
			atomic_fetch_add_explicit(&ldp_sh_lost, 1, memory_order_relaxed);
	}
	return p;
}

static LDP_NOINLINE void *sampled_malloc(size_t n, unsigned op)
{
	void *p = ldp_sh_alloc(n, 16, 0);
	if (p) {
		record_alloc(p, n, op);
		return p;
	}
	return sample_overflow(ldp_real.malloc(n), n, op);
}

/* Release a sampled block: record its free (sequence number first), give it
 * back. @return 0, or -1 when p is not a live block of the sample heap. */
static int sampled_release(void *p)
{
	struct ldp_thread *t = &ldp_self;
	int *e = errno_of(t);
	int saved = *e;
	int traced = tracing();
	uint64_t seq = 0;
	if (!traced && LDP_UNLIKELY(t->busy) && ldp_nestable(t) && ldp_sh_usable(p)) {
		/* A signal handler frees a sampled block during a recording. */
		ldp_nested_event(LDP_EV_FREE, p, 0);
		int err = ldp_sh_free(p);
		*e = saved;
		return err;
	}
	if (!t->busy)
		ldp_writer_poll();
	ldp_rec_enter(t);
	if (traced)
		seq = ldp_seq_next(t, (uintptr_t)p);
	int err = ldp_sh_free(p);
	if (traced && err == 0)
		record_free_seq(t, p, seq);
	ldp_rec_leave(t);
	*e = saved;
	return err;
}

static LDP_NOINLINE void sampled_free(void *p)
{
	if (sampled_release(p) != 0 && tracing()) {
		static _Atomic int warned;
		if (!atomic_exchange(&warned, 1))
			ldp_warn("free(%p): not a live block (double or invalid free); ignored", p);
	}
}

/* A free that is not from the sample heap: was it an overflowed sample? */
static LDP_NOINLINE int overflow_free(void *p)
{
	if (!ldp_sh_overflow_take(p))
		return 0;
	if (tracing())
		record_free(p);
	ldp_real.free(p);
	return 1;
}

/* The free of an overflowed sample, around a real call that releases it:
 * its sequence number is taken before the call (another thread may get the
 * address the moment it is released), recorded only if the call succeeded. */
static uint64_t overflow_free_seq(void *p)
{
	return tracing() ? ldp_seq_next(&ldp_self, (uintptr_t)p) : 0;
}

static void overflow_free_record(void *p, uint64_t seq)
{
	if (seq)
		record_free_guarded(p, seq);
}

/*
 * realloc in sampled mode. The new block is a fresh allocation of n bytes as
 * far as sampling goes (as in tcmalloc); the old one is released as it was
 * made: a sampled old block's free is recorded, an unsampled one's is not.
 * As in full mode, the old block's free is recorded before the new block's
 * allocation, so the two are never live together in the replay.
 */
static LDP_NOINLINE void *sampled_realloc(void *p, size_t n)
{
	int old_sampled = ldp_sh_owns(p);
	int old_overflow = !old_sampled && ldp_sh_overflow_live && ldp_sh_overflow_take(p);
	int due = sample_due(n);
	if (n == 0 && old_sampled) { /* glibc's realloc(p, 0): frees p, returns NULL */
		sampled_release(p);
		return NULL;
	}
	void *q = due ? ldp_sh_alloc(n, 16, 0) : NULL;
	if (!q && !old_sampled) {
		/* The old block is in the real heap and the new one stays there:
		 * the real realloc does the whole job. */
		uint64_t seq = old_overflow ? overflow_free_seq(p) : 0;
		q = ldp_real.realloc(p, n);
		if (!q && n) {
			if (old_overflow)
				ldp_sh_overflow_add(p); /* failed: the old block lives on, still sampled */
			return NULL;
		}
		overflow_free_record(p, seq);
		return due ? sample_overflow(q, n, LDP_EV_ALLOC_REALLOC) : q;
	}
	int q_overflow = 0;
	if (!q) { /* the old block is in the sample heap: move it out */
		q = ldp_real.malloc(n);
		if (!q)
			return NULL;
		q_overflow = due;
	}
	if (!old_sampled && !ldp_real.malloc_usable_size) {
		/* No way to know the old block's size: let the real realloc move
		 * it into a block of n bytes first, then copy that. */
		uint64_t seq = old_overflow ? overflow_free_seq(p) : 0;
		void *tmp = ldp_real.realloc(p, n);
		if (!tmp) {
			ldp_sh_free(q);
			if (old_overflow)
				ldp_sh_overflow_add(p);
			return NULL;
		}
		memcpy(q, tmp, n);
		ldp_real.free(tmp);
		overflow_free_record(p, seq);
	} else {
		size_t old = old_sampled ? ldp_sh_usable(p) : ldp_real.malloc_usable_size(p);
		memcpy(q, p, old < n ? old : n);
		if (old_sampled) {
			sampled_release(p);
		} else {
			overflow_free_record(p, old_overflow ? overflow_free_seq(p) : 0);
			ldp_real.free(p);
		}
	}
	if (q_overflow)
		sample_overflow(q, n, LDP_EV_ALLOC_REALLOC);
	else if (due)
		record_alloc(q, n, LDP_EV_ALLOC_REALLOC);
	return q;
}

#define ENSURE_REAL(fn)                                                                                        \
	do {                                                                                                   \
		if (LDP_UNLIKELY(!ldp_real.fn))                                                                \
			ldp_resolve_real();                                                                    \
	} while (0)

/*
 * Each of malloc, free, calloc and realloc is a pass-through in front of its
 * slow path: in sampled mode, a call that is not a sample and involves no
 * block of the sample heap goes straight to the real function, as a tail
 * call with no stack frame of ours (agent.h, ldp_sample_skip). Everything
 * else, full mode included, is the _slow function.
 */
static LDP_NOINLINE void *malloc_slow(size_t n)
{
	ENSURE_REAL(malloc);
	if (LDP_UNLIKELY(!ldp_real.malloc))
		return ldp_bootstrap_alloc(n, 16);
	if (LDP_UNLIKELY(ldp_heap_sampled))
		return sample_due(n) ? sampled_malloc(n, LDP_EV_ALLOC_MALLOC) : ldp_real.malloc(n);
	void *p = ldp_real.malloc(n);
	if (p && tracing_allocs())
		record_alloc(p, n, LDP_EV_ALLOC_MALLOC);
	else if (LDP_UNLIKELY(ldp_self.busy))
		busy_alloc(p, n, LDP_EV_ALLOC_MALLOC);
	return p;
}

LDP_EXPORT void *malloc(size_t n)
{
	void *(*real)(size_t) = ldp_real.malloc;
	if (LDP_LIKELY(real != NULL) && ldp_sample_skip(n))
		return real(n);
	return malloc_slow(n);
}

static LDP_NOINLINE void free_slow(void *p)
{
	if (!p || LDP_UNLIKELY(ldp_bootstrap_owns(p)))
		return;
	if (LDP_UNLIKELY(ldp_sh_owns(p))) {
		sampled_free(p);
		return;
	}
	ENSURE_REAL(free);
	if (LDP_UNLIKELY(ldp_heap_sampled)) { /* only sampled mode makes overflowed blocks */
		if (LDP_UNLIKELY(ldp_sh_overflow_live) && overflow_free(p))
			return;
		ldp_real.free(p);
		return;
	}
	if (LDP_UNLIKELY(!ldp_real.free))
		return; /* cannot happen after resolution; never free what we cannot route */
	if (tracing())
		record_free(p);
	else if (LDP_UNLIKELY(ldp_self.busy))
		busy_free(p);
	ldp_real.free(p);
}

LDP_EXPORT void free(void *p)
{
	void (*real)(void *) = ldp_real.free;
	if (LDP_LIKELY(real != NULL) && ldp_sample_free_skip(p) && !ldp_bootstrap_owns(p)) {
		real(p); /* free(NULL) included: glibc's does nothing */
		return;
	}
	free_slow(p);
}

static LDP_NOINLINE void *calloc_slow(size_t a, size_t b)
{
	ENSURE_REAL(calloc);
	if (LDP_UNLIKELY(!ldp_real.calloc)) {
		size_t n;
		if (__builtin_mul_overflow(a, b, &n))
			return NULL;
		return ldp_bootstrap_alloc(n, 16);
	}
	if (LDP_UNLIKELY(ldp_heap_sampled)) {
		size_t n;
		if (__builtin_mul_overflow(a, b, &n) || !sample_due(n))
			return ldp_real.calloc(a, b);
		void *p = ldp_sh_alloc(n, 16, 1);
		if (p) {
			record_alloc(p, n, LDP_EV_ALLOC_CALLOC);
			return p;
		}
		return sample_overflow(ldp_real.calloc(a, b), n, LDP_EV_ALLOC_CALLOC);
	}
	void *p = ldp_real.calloc(a, b);
	if (p && tracing_allocs())
		record_alloc(p, a * b, LDP_EV_ALLOC_CALLOC);
	else if (LDP_UNLIKELY(ldp_self.busy))
		busy_alloc(p, a * b, LDP_EV_ALLOC_CALLOC);
	return p;
}

LDP_EXPORT void *calloc(size_t a, size_t b)
{
	void *(*real)(size_t, size_t) = ldp_real.calloc;
	size_t n;
	if (LDP_LIKELY(real != NULL) && !__builtin_mul_overflow(a, b, &n) && ldp_sample_skip(n))
		return real(a, b);
	return calloc_slow(a, b);
}

/* realloc from a signal handler during a recording: the old block's free
 * (numbered before the real call) and the new block, both kept aside.
 * A failed realloc leaves the old block: its free is then not kept. */
static LDP_NOINLINE void *nested_realloc(void *p, size_t n)
{
	if (!p) {
		void *q = ldp_real.realloc(NULL, n);
		if (q)
			ldp_nested_event(LDP_EV_ALLOC_REALLOC, q, n);
		return q;
	}
	struct ldp_thread *t = &ldp_self;
	struct ldp_ring *r = t->ring;
	uint32_t slot = atomic_load_explicit(&t->nested_n, memory_order_relaxed);
	ldp_nested_event(LDP_EV_FREE, p, 0);
	void *q = ldp_real.realloc(p, n);
	int saved = errno;
	if (!q && n && r && slot < LDP_NESTED_SLOTS && slot < atomic_load(&t->nested_n)) {
		/* failed: the old block lives on, its free is void (and its block back in the map) */
		struct ldp_nested_ev *ev = &r->nested[slot];
		if (atomic_exchange(&ev->op, 0) == LDP_EV_SFREE)
			ldp_live_put_back(t, (uintptr_t)p, ev->size, ev->stack);
	}
	if (q)
		ldp_nested_event(LDP_EV_ALLOC_REALLOC, q, n);
	errno = saved;
	return q;
}

static LDP_NOINLINE void *realloc_slow(void *p, size_t n)
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
	if (LDP_UNLIKELY(ldp_heap_sampled || ldp_sh_owns(p)))
		return p ? sampled_realloc(p, n)
			 : sample_due(n) ? sampled_malloc(n, LDP_EV_ALLOC_REALLOC) : ldp_real.realloc(NULL, n);
	if (!tracing())
		return LDP_UNLIKELY(ldp_self.busy) && ldp_nestable(&ldp_self) ? nested_realloc(p, n) : ldp_real.realloc(p, n);
	if (!p) {
		void *q = ldp_real.realloc(NULL, n);
		if (q)
			record_alloc(q, n, LDP_EV_ALLOC_REALLOC);
		return q;
	}
	int saved;
	struct ldp_thread *t = &ldp_self;
	ldp_rec_enter(t);
	struct ldp_freed f = take_freed(t, p);
	void *q = ldp_real.realloc(p, n);
	saved = errno;
	/* Success, or size 0 (glibc frees and returns NULL): the old block is gone.
	 * Any other NULL is a failure and the old block is untouched. */
	if (q || n == 0)
		record_freed(t, p, f);
	else if (f.site)
		ldp_live_put_back(t, (uintptr_t)p, f.size, f.stack);
	ldp_rec_leave(t);
	errno = saved;
	if (q)
		record_alloc(q, n, LDP_EV_ALLOC_REALLOC);
	return q;
}

LDP_EXPORT void *realloc(void *p, size_t n)
{
	void *(*real)(void *, size_t) = ldp_real.realloc;
	/* neither block a sample: the real realloc does the whole job */
	if (LDP_LIKELY(real != NULL) && ldp_sample_free_skip(p) && !ldp_bootstrap_owns(p) && ldp_sample_skip(n))
		return real(p, n);
	return realloc_slow(p, n);
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
	if (LDP_UNLIKELY(ldp_heap_sampled)) {
		/* an invalid alignment is the real function's to refuse */
		if (!align || (align & (align - 1)) || align % sizeof(void *) || !sample_due(n))
			return ldp_real.posix_memalign(out, align, n);
		void *p = ldp_sh_alloc(n, align, 0);
		if (p) {
			record_alloc(p, n, LDP_EV_ALLOC_ALIGNED);
			*out = p;
			return 0;
		}
		int err = ldp_real.posix_memalign(out, align, n);
		if (err == 0)
			sample_overflow(*out, n, LDP_EV_ALLOC_ALIGNED);
		return err;
	}
	int err = ldp_real.posix_memalign(out, align, n);
	if (err == 0 && tracing_allocs())
		record_alloc(*out, n, LDP_EV_ALLOC_ALIGNED);
	else if (err == 0 && LDP_UNLIKELY(ldp_self.busy))
		busy_alloc(*out, n, LDP_EV_ALLOC_ALIGNED);
	return err;
}

/* Sampled mode: a sampled aligned allocation, when the alignment is one the
 * sample heap gives the same meaning (a power of two; anything else is left
 * to the real function's own rules). */
static LDP_NOINLINE void *sampled_aligned(size_t align, size_t n, void *(*real)(size_t, size_t))
{
	void *p = ldp_sh_alloc(n, align < 16 ? 16 : align, 0);
	if (p) {
		record_alloc(p, n, LDP_EV_ALLOC_ALIGNED);
		return p;
	}
	return sample_overflow(real(align, n), n, LDP_EV_ALLOC_ALIGNED);
}

#define ALIGNED_ENTRY(name, params, call, size_expr, align_expr)                                               \
	LDP_EXPORT void *name params                                                                           \
	{                                                                                                      \
		ENSURE_REAL(name);                                                                             \
		if (LDP_UNLIKELY(!ldp_real.name))                                                              \
			return NULL;                                                                           \
		if (LDP_UNLIKELY(ldp_heap_sampled)) {                                                          \
			size_t al = (align_expr);                                                              \
			if (al && !(al & (al - 1)) && sample_due(size_expr))                                   \
				return sampled_aligned(al, size_expr, real_##name);                            \
			return ldp_real.name call;                                                             \
		}                                                                                              \
		void *p = ldp_real.name call;                                                                  \
		if (p && tracing_allocs())                                                                            \
			record_alloc(p, size_expr, LDP_EV_ALLOC_ALIGNED);                                      \
		else if (LDP_UNLIKELY(ldp_self.busy))                                                          \
			busy_alloc(p, size_expr, LDP_EV_ALLOC_ALIGNED);                                        \
		return p;                                                                                      \
	}

/* The real functions with one signature, for sampled_aligned's fallback. */
static void *real_aligned_alloc(size_t align, size_t n)
{
	return ldp_real.aligned_alloc(align, n);
}
static void *real_memalign(size_t align, size_t n)
{
	return ldp_real.memalign(align, n);
}
static void *real_valloc(size_t align, size_t n)
{
	(void)align;
	return ldp_real.valloc(n);
}
static void *real_pvalloc(size_t align, size_t n)
{
	(void)align;
	return ldp_real.pvalloc(n);
}

#define PAGE_SIZE_ ((size_t)4096)
ALIGNED_ENTRY(aligned_alloc, (size_t align, size_t n), (align, n), n, align)
ALIGNED_ENTRY(memalign, (size_t align, size_t n), (align, n), n, align)
ALIGNED_ENTRY(valloc, (size_t n), (n), n, PAGE_SIZE_)
ALIGNED_ENTRY(pvalloc, (size_t n), (n), n, PAGE_SIZE_) /* recorded as asked; the block is whole pages */

LDP_EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (ldp_bootstrap_owns(p))
		return ldp_bootstrap_size(p);
	if (LDP_UNLIKELY(ldp_sh_owns(p)))
		return ldp_sh_usable(p);
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

/* ---- for the other allocation entry points (allocapi.c) ---------------- */

void ldp_note_alloc(void *p, size_t n, unsigned op)
{
	if (p && tracing())
		record_alloc(p, n, op);
	else if (LDP_UNLIKELY(ldp_self.busy))
		busy_alloc(p, n, op);
}

void ldp_note_free(void *p)
{
	if (!p)
		return;
	if (tracing())
		record_free(p);
	else if (LDP_UNLIKELY(ldp_self.busy))
		busy_free(p);
}

struct ldp_freed ldp_resize_begin(void *p)
{
	if (!p || !tracing())
		return (struct ldp_freed){0, 0, 0, 0};
	ldp_rec_enter(&ldp_self);
	return take_freed(&ldp_self, p);
}

void ldp_resize_end(void *p, struct ldp_freed f, int old_gone, void *q, size_t n, unsigned op)
{
	int saved = errno;
	if (f.seq) {
		if (old_gone)
			record_freed(&ldp_self, p, f);
		else if (f.site)
			ldp_live_put_back(&ldp_self, (uintptr_t)p, f.size, f.stack);
		ldp_rec_leave(&ldp_self);
	}
	errno = saved;
	ldp_note_alloc(q, n, op);
}

void *ldp_sample_alloc(size_t n, size_t align, unsigned op, void *(*real)(size_t, size_t))
{
	if (!sample_due(n))
		return real(n, align);
	void *p = ldp_sh_alloc(n, align < 16 ? 16 : align, 0);
	if (p) {
		record_alloc(p, n, op);
		return p;
	}
	return sample_overflow(real(n, align), n, op);
}

int ldp_sample_release(void *p)
{
	if (ldp_sh_owns(p)) {
		sampled_free(p);
		return 1;
	}
	if (LDP_UNLIKELY(ldp_sh_overflow_live) && ldp_sh_overflow_take(p)) {
		if (tracing())
			record_free(p);
		return 2;
	}
	return 0;
}
