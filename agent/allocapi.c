/*
 * allocapi.c - allocation entry points beyond the C malloc family: C++
 * operator new and delete, and the APIs of jemalloc (mallocx...), tcmalloc
 * (tc_*) and mimalloc (mi_*). The table include/ldprof/entrypoints.h lists
 * them; each wrapper here calls the next definition (dlsym(RTLD_NEXT), looked
 * up on first use: a library that provides it may be dlopened later; absent,
 * nobody can call ours) and records the event through interpose.c.
 *
 * operator new: libstdc++'s calls malloc (and aligned_alloc, free), which the
 * agent records already; recording new as well would count every block
 * twice. tcmalloc's and jemalloc's do not. Which one the program has is
 * found once by a probe, as ldp_foreign_malloc does for malloc: call the next
 * operator new and delete with busy == LDP_BUSY_PROBE and see whether our
 * malloc family was reached. If it was, the C++ wrappers pass straight
 * through (the inner malloc is the event, as it always was); if not, they
 * record. They never hold busy across the real call: operator new may throw
 * (bad_alloc, or the program's new_handler), and an exception leaving the
 * wrapper must not leave the guard raised.
 *
 * The allocator APIs are always the allocator's own: recorded, with busy
 * raised across the real call (they do not throw, tc_new* aside) so that an
 * allocator calling malloc inside does not count twice.
 *
 * Sampled mode: these entry points are not sampled (a sample must be served
 * from the sample heap, and these have alignment and flag arguments of their
 * own): their blocks are missing from a sampled trace, said once at start for
 * each family present. A sampled block (made by malloc) that the program
 * releases through one of them is still recognised and released.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

#define AS_ENUM(family, name, kind, ret, params) FN_##name,
#define AS_NAME(family, name, kind, ret, params) #name,
#define AS_TYPE(family, name, kind, ret, params) typedef ret(*name##_fn) params;
enum { LDP_EP_CXX(AS_ENUM) LDP_EP_ALLOC_APIS(AS_ENUM) FN_COUNT };
static const char *const fn_names[] = {LDP_EP_CXX(AS_NAME) LDP_EP_ALLOC_APIS(AS_NAME)};
LDP_EP_CXX(AS_TYPE)
LDP_EP_ALLOC_APIS(AS_TYPE)
/* The wrappers' prototypes: the table's signatures, checked against the definitions. */
#define AS_PROTO(family, name, kind, ret, params) LDP_EXPORT ret name params;
LDP_EP_CXX(AS_PROTO)
LDP_EP_ALLOC_APIS(AS_PROTO)
static void *_Atomic fns[FN_COUNT];

static LDP_NOINLINE void *resolve(int which)
{
	ldp_self.busy++; /* dlsym may allocate */
	void *f = dlsym(RTLD_NEXT, fn_names[which]);
	ldp_self.busy--;
	if (f)
		atomic_store_explicit(&fns[which], f, memory_order_relaxed);
	return f;
}

static LDP_ALWAYS_INLINE void *next_fn(int which)
{
	void *f = atomic_load_explicit(&fns[which], memory_order_relaxed);
	return LDP_LIKELY(f != NULL) ? f : resolve(which);
}

#define REAL(name) ((name##_fn)next_fn(FN_##name))

/* ---- C++: does operator new go through our malloc? ---- */

/* The forms probed, each on its own: an allocator may route some through
 * the malloc family and not others (jemalloc's aligned new calls
 * aligned_alloc, its plain new does not). Array and nothrow forms follow
 * their plain one. */
enum { C_NEW, C_NEW_ALIGNED, C_DEL, C_DEL_SIZED, C_DEL_ALIGNED, C_DEL_SIZED_ALIGNED, C_FORMS };
enum { CXX_UNKNOWN, CXX_PROBING, CXX_DECIDED };
static _Atomic int cxx_state;
static unsigned char cxx_own[C_FORMS]; /* 1: the form does not reach our malloc family: recorded here */

/* Call the next definition with busy == LDP_BUSY_PROBE. @return 1 if it
 * reached our malloc family (busy_alloc/busy_free set probe_hit). */
#define PROBE(call) (ldp_self.probe_hit = 0, (call), ldp_self.probe_hit)

/* Resolved before probing (cxx_decide): the probe itself calls no loader
 * function, so a thread waiting for it can hold the loader lock. */
static void resolve_probed(void)
{
	ldp_resolve_real(); /* the malloc family the probe may reach */
	(void)REAL(_ZnwmSt11align_val_t);
	(void)REAL(_ZdlPvm);
	(void)REAL(_ZdlPvSt11align_val_t);
	(void)REAL(_ZdlPvmSt11align_val_t);
}

static void probe_forms(void)
{
#define RESOLVED(name) ((name##_fn)atomic_load(&fns[FN_##name]))
	_Znwm_fn nw = RESOLVED(_Znwm);
	_ZnwmSt11align_val_t_fn anw = RESOLVED(_ZnwmSt11align_val_t);
	_ZdlPv_fn dl = RESOLVED(_ZdlPv);
	_ZdlPvm_fn sdl = RESOLVED(_ZdlPvm);
	_ZdlPvSt11align_val_t_fn adl = RESOLVED(_ZdlPvSt11align_val_t);
	_ZdlPvmSt11align_val_t_fn asdl = RESOLVED(_ZdlPvmSt11align_val_t);
	struct ldp_thread *t = &ldp_self;
	int saved = t->busy;
	t->busy = LDP_BUSY_PROBE; /* nothing is recorded meanwhile */
	void *p = NULL, *q = NULL;
	cxx_own[C_NEW] = !PROBE(p = nw(1));
	cxx_own[C_DEL] = !PROBE(dl(p));
	p = nw(1);
	cxx_own[C_DEL_SIZED] = sdl ? !PROBE(sdl(p, 1)) : cxx_own[C_DEL];
	if (anw) {
		cxx_own[C_NEW_ALIGNED] = !PROBE(q = anw(64, 64));
		cxx_own[C_DEL_ALIGNED] = adl ? !PROBE(adl(q, 64)) : cxx_own[C_DEL];
		q = anw(64, 64);
		cxx_own[C_DEL_SIZED_ALIGNED] = asdl ? !PROBE(asdl(q, 64, 64)) : cxx_own[C_DEL_ALIGNED];
	}
	t->busy = saved;
}

/* Probe once, when operator new exists (libstdc++ may be dlopened later:
 * until then, nothing to decide). */
static LDP_NOINLINE int cxx_decide(void)
{
	if (ldp_self.busy == LDP_BUSY_PROBE)
		return 0; /* called from inside a probe */
	int expected = CXX_UNKNOWN;
	if (!REAL(_Znwm) || !REAL(_ZdlPv))
		return 0;
	resolve_probed();
	if (atomic_compare_exchange_strong(&cxx_state, &expected, CXX_PROBING)) {
		probe_forms();
		atomic_store(&cxx_state, CXX_DECIDED);
		return 1;
	}
	/* Another thread is probing (a few calls of the allocator): wait, so
	 * that this call is recorded or not by the same answer as the rest. */
	while (atomic_load(&cxx_state) != CXX_DECIDED)
		sched_yield();
	return 1;
}

/* Does this C++ form record here (the allocator's own operator new)? */
static LDP_ALWAYS_INLINE int cxx_records(int form)
{
	if (LDP_UNLIKELY(atomic_load_explicit(&cxx_state, memory_order_acquire) != CXX_DECIDED) && !cxx_decide())
		return 0;
	return cxx_own[form] && !ldp_heap_sampled;
}

/* No next operator new although ours was called (cannot happen: whoever
 * bound to ours found a definition after it). */
static void *no_new(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* GUARD: busy raised across the real call, for the forms that cannot throw. */
#define CXX_NEW(name, params, args, n, form, op, guard)                                                        \
	LDP_EXPORT void *name params                                                                           \
	{                                                                                                      \
		name##_fn real = REAL(name);                                                                   \
		if (LDP_UNLIKELY(!real))                                                                       \
			return no_new(n);                                                                      \
		if (!cxx_records(form))                                                                        \
			return real args;                                                                      \
		if (guard)                                                                                     \
			ldp_self.busy++;                                                                       \
		void *p = real args;                                                                           \
		if (guard)                                                                                     \
			ldp_self.busy--;                                                                       \
		ldp_note_alloc(p, n, op);                                                                      \
		return p;                                                                                      \
	}

/* A sampled block (malloc made it) given to delete, as jemalloc and
 * tcmalloc allow: released here. @return 1 when done. */
static LDP_NOINLINE int sampled_block(void *p)
{
	return ldp_sample_release(p) == 1;
}

/* delete never throws: busy is raised across it, so an allocator whose
 * sized delete calls its free through the PLT (tcmalloc's) counts once. */
#define CXX_DELETE(name, params, args, form)                                                                   \
	LDP_EXPORT void name params                                                                            \
	{                                                                                                      \
		name##_fn real = REAL(name);                                                                   \
		if (LDP_UNLIKELY(!real)) {                                                                     \
			free(p);                                                                               \
			return;                                                                                \
		}                                                                                              \
		if (LDP_UNLIKELY(ldp_heap_sampled) && p && cxx_own[form] && sampled_block(p))                \
			return;                                                                                \
		if (!p || !cxx_records(form)) {                                                                \
			real args;                                                                             \
			return;                                                                                \
		}                                                                                              \
		ldp_note_free(p);                                                                              \
		ldp_self.busy++;                                                                               \
		real args;                                                                                     \
		ldp_self.busy--;                                                                               \
	}

typedef const void *nothrow_ref; /* const std::nothrow_t & */

CXX_NEW(_Znwm, (size_t n), (n), n, C_NEW, LDP_EV_ALLOC_MALLOC, 0)
CXX_NEW(_Znam, (size_t n), (n), n, C_NEW, LDP_EV_ALLOC_MALLOC, 0)
CXX_NEW(_ZnwmRKSt9nothrow_t, (size_t n, nothrow_ref nt), (n, nt), n, C_NEW, LDP_EV_ALLOC_MALLOC, 1)
CXX_NEW(_ZnamRKSt9nothrow_t, (size_t n, nothrow_ref nt), (n, nt), n, C_NEW, LDP_EV_ALLOC_MALLOC, 1)
CXX_NEW(_ZnwmSt11align_val_t, (size_t n, size_t al), (n, al), n, C_NEW_ALIGNED, LDP_EV_ALLOC_ALIGNED, 0)
CXX_NEW(_ZnamSt11align_val_t, (size_t n, size_t al), (n, al), n, C_NEW_ALIGNED, LDP_EV_ALLOC_ALIGNED, 0)
CXX_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, (size_t n, size_t al, nothrow_ref nt), (n, al, nt), n, C_NEW_ALIGNED,
	LDP_EV_ALLOC_ALIGNED, 1)
CXX_NEW(_ZnamSt11align_val_tRKSt9nothrow_t, (size_t n, size_t al, nothrow_ref nt), (n, al, nt), n, C_NEW_ALIGNED,
	LDP_EV_ALLOC_ALIGNED, 1)

CXX_DELETE(_ZdlPv, (void *p), (p), C_DEL)
CXX_DELETE(_ZdaPv, (void *p), (p), C_DEL)
CXX_DELETE(_ZdlPvm, (void *p, size_t sz), (p, sz), C_DEL_SIZED)
CXX_DELETE(_ZdaPvm, (void *p, size_t sz), (p, sz), C_DEL_SIZED)
CXX_DELETE(_ZdlPvRKSt9nothrow_t, (void *p, nothrow_ref nt), (p, nt), C_DEL)
CXX_DELETE(_ZdaPvRKSt9nothrow_t, (void *p, nothrow_ref nt), (p, nt), C_DEL)
CXX_DELETE(_ZdlPvSt11align_val_t, (void *p, size_t al), (p, al), C_DEL_ALIGNED)
CXX_DELETE(_ZdaPvSt11align_val_t, (void *p, size_t al), (p, al), C_DEL_ALIGNED)
CXX_DELETE(_ZdlPvmSt11align_val_t, (void *p, size_t sz, size_t al), (p, sz, al), C_DEL_SIZED_ALIGNED)
CXX_DELETE(_ZdaPvmSt11align_val_t, (void *p, size_t sz, size_t al), (p, sz, al), C_DEL_SIZED_ALIGNED)
CXX_DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t al, nothrow_ref nt), (p, al, nt), C_DEL_ALIGNED)
CXX_DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t al, nothrow_ref nt), (p, al, nt), C_DEL_ALIGNED)

/* ---- the allocator APIs ---- */

static LDP_ALWAYS_INLINE int api_records(void)
{
	return !ldp_heap_sampled;
}

/* An allocation; GUARD 1: busy raised across the real call (it does not throw). */
#define API_ALLOC(name, params, args, n, op, guard)                                                            \
	LDP_EXPORT void *name params                                                                           \
	{                                                                                                      \
		name##_fn real = REAL(name);                                                                   \
		if (LDP_UNLIKELY(!real))                                                                       \
			return NULL;                                                                           \
		if (!api_records())                                                                            \
			return real args;                                                                      \
		if (guard)                                                                                     \
			ldp_self.busy++;                                                                       \
		void *p = real args;                                                                           \
		if (guard) {                                                                                   \
			int saved_ = errno;                                                                    \
			ldp_self.busy--;                                                                       \
			errno = saved_;                                                                        \
		}                                                                                              \
		ldp_note_alloc(p, n, op);                                                                      \
		return p;                                                                                      \
	}

#define API_FREE(name, params, args)                                                                           \
	LDP_EXPORT void name params                                                                            \
	{                                                                                                      \
		name##_fn real = REAL(name);                                                                   \
		if (LDP_UNLIKELY(!real) || !p)                                                                 \
			return;                                                                                \
		if (LDP_UNLIKELY(ldp_heap_sampled)) {                                                          \
			if (!sampled_block(p))                                                                 \
				real args;                                                                     \
			return;                                                                                \
		}                                                                                              \
		ldp_note_free(p);                                                                              \
		ldp_self.busy++;                                                                               \
		real args;                                                                                     \
		ldp_self.busy--;                                                                               \
	}

/* A size query: a sampled block's answer is the sample heap's. */
#define API_QUERY(name, params, args)                                                                          \
	LDP_EXPORT size_t name params                                                                          \
	{                                                                                                      \
		name##_fn real = REAL(name);                                                                   \
		if (LDP_UNLIKELY(ldp_sh_owns(p)))                                                              \
			return ldp_sh_usable(p);                                                               \
		return real ? real args : 0;                                                                   \
	}

/* A resize: the old block's free and the new block, around the real call. */
#define API_REALLOC(name, params, args, n, move_out)                                                           \
	LDP_EXPORT void *name params                                                                           \
	{                                                                                                      \
		name##_fn real = REAL(name);                                                                   \
		if (LDP_UNLIKELY(!real))                                                                       \
			return NULL;                                                                           \
		if (LDP_UNLIKELY(ldp_sh_owns(p)))                                                              \
			return move_out;                                                                       \
		if (!api_records())                                                                            \
			return real args;                                                                      \
		struct ldp_freed f_ = ldp_resize_begin(p);                                                     \
		ldp_self.busy++;                                                                               \
		void *q = real args;                                                                           \
		int saved_ = errno;                                                                            \
		ldp_self.busy--;                                                                               \
		ldp_resize_end(p, f_, q != NULL, q, n, LDP_EV_ALLOC_REALLOC);                                  \
		errno = saved_;                                                                                \
		return q;                                                                                      \
	}

/* A sampled block resized through an allocator API: moved into a block of
 * the allocator's (made by make, n bytes), the sample released. */
static void *move_sample(void *p, size_t n, void *q)
{
	if (q) {
		size_t old = ldp_sh_usable(p);
		memcpy(q, p, old < n ? old : n);
		ldp_sample_release(p);
	}
	return q;
}

/* jemalloc. The alignment is in flags (MALLOCX_ALIGN); recorded as a plain
 * allocation of its size. */
API_ALLOC(mallocx, (size_t n, int flags), (n, flags), n, LDP_EV_ALLOC_MALLOC, 1)
API_REALLOC(rallocx, (void *p, size_t n, int flags), (p, n, flags), n, move_sample(p, n, mallocx(n, flags)))
API_QUERY(sallocx, (const void *p, int flags), (p, flags))
API_FREE(dallocx, (void *p, int flags), (p, flags))
API_FREE(sdallocx, (void *p, size_t sz, int flags), (p, sz, flags))

/* xallocx resizes in place and returns the block's new usable size: a
 * change is the old size's free and the new size's allocation, same address. */
LDP_EXPORT size_t xallocx(void *p, size_t n, size_t extra, int flags)
{
	xallocx_fn real = REAL(xallocx);
	sallocx_fn size_of = REAL(sallocx);
	if (LDP_UNLIKELY(!real))
		return 0;
	if (LDP_UNLIKELY(ldp_sh_owns(p)))
		return ldp_sh_usable(p); /* a sample cannot grow in place */
	if (!api_records() || !size_of)
		return real(p, n, extra, flags);
	size_t before = size_of(p, flags);
	struct ldp_freed f = ldp_resize_begin(p);
	ldp_self.busy++;
	size_t after = real(p, n, extra, flags);
	ldp_self.busy--;
	/* unchanged: no event (the begin's number is spent, harmless; the block back into the map) */
	ldp_resize_end(p, f, after != before, after != before ? p : NULL, after, LDP_EV_ALLOC_REALLOC);
	return after;
}

/* tcmalloc. tc_new and friends may throw: no guard across them. */
API_ALLOC(tc_malloc, (size_t n), (n), n, LDP_EV_ALLOC_MALLOC, 1)
API_ALLOC(tc_malloc_skip_new_handler, (size_t n), (n), n, LDP_EV_ALLOC_MALLOC, 1)
API_ALLOC(tc_calloc, (size_t a, size_t b), (a, b), a * b, LDP_EV_ALLOC_CALLOC, 1)
API_ALLOC(tc_memalign, (size_t al, size_t n), (al, n), n, LDP_EV_ALLOC_ALIGNED, 1)
API_ALLOC(tc_valloc, (size_t n), (n), n, LDP_EV_ALLOC_ALIGNED, 1)
API_ALLOC(tc_pvalloc, (size_t n), (n), n, LDP_EV_ALLOC_ALIGNED, 1)
API_ALLOC(tc_new, (size_t n), (n), n, LDP_EV_ALLOC_MALLOC, 0)
API_ALLOC(tc_newarray, (size_t n), (n), n, LDP_EV_ALLOC_MALLOC, 0)
API_ALLOC(tc_new_nothrow, (size_t n, nothrow_ref nt), (n, nt), n, LDP_EV_ALLOC_MALLOC, 0)
API_ALLOC(tc_newarray_nothrow, (size_t n, nothrow_ref nt), (n, nt), n, LDP_EV_ALLOC_MALLOC, 0)
API_REALLOC(tc_realloc, (void *p, size_t n), (p, n), n, move_sample(p, n, tc_malloc(n)))
API_FREE(tc_free, (void *p), (p))
API_FREE(tc_cfree, (void *p), (p))
API_FREE(tc_free_sized, (void *p, size_t sz), (p, sz))
API_FREE(tc_delete, (void *p), (p))
API_FREE(tc_deletearray, (void *p), (p))
API_FREE(tc_delete_sized, (void *p, size_t sz), (p, sz))
API_FREE(tc_deletearray_sized, (void *p, size_t sz), (p, sz))
API_FREE(tc_delete_nothrow, (void *p, nothrow_ref nt), (p, nt))
API_FREE(tc_deletearray_nothrow, (void *p, nothrow_ref nt), (p, nt))
API_QUERY(tc_malloc_size, (void *p), (p))

LDP_EXPORT int tc_posix_memalign(void **out, size_t al, size_t n)
{
	tc_posix_memalign_fn real = REAL(tc_posix_memalign);
	if (LDP_UNLIKELY(!real))
		return ENOMEM;
	if (!api_records())
		return real(out, al, n);
	ldp_self.busy++;
	int err = real(out, al, n);
	ldp_self.busy--;
	if (err == 0)
		ldp_note_alloc(*out, n, LDP_EV_ALLOC_ALIGNED);
	return err;
}

/* mimalloc. */
API_ALLOC(mi_malloc, (size_t n), (n), n, LDP_EV_ALLOC_MALLOC, 1)
API_ALLOC(mi_zalloc, (size_t n), (n), n, LDP_EV_ALLOC_CALLOC, 1)
API_ALLOC(mi_calloc, (size_t a, size_t b), (a, b), a * b, LDP_EV_ALLOC_CALLOC, 1)
API_ALLOC(mi_malloc_aligned, (size_t n, size_t al), (n, al), n, LDP_EV_ALLOC_ALIGNED, 1)
API_ALLOC(mi_zalloc_aligned, (size_t n, size_t al), (n, al), n, LDP_EV_ALLOC_ALIGNED, 1)
API_REALLOC(mi_realloc, (void *p, size_t n), (p, n), n, move_sample(p, n, mi_malloc(n)))
API_FREE(mi_free, (void *p), (p))
API_QUERY(mi_usable_size, (const void *p), (p))

/* ---- which allocator serves the program ---- */

/* "name (path)" of the object defining f, the name from the path. */
static size_t describe(char *out, size_t cap, const char *what, void *f)
{
	Dl_info info;
	const char *path = f && dladdr(f, &info) && info.dli_fname && *info.dli_fname ? info.dli_fname : NULL;
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path;
	const char *name = !path				 ? "the executable"
			   : strstr(base, "jemalloc")		 ? "jemalloc"
			   : strstr(base, "tcmalloc")		 ? "tcmalloc"
			   : strstr(base, "mimalloc")		 ? "mimalloc"
			   : !strncmp(base, "libc.so", 7)	 ? "glibc"
			   : !strncmp(base, "libstdc++.so", 12) ? "libstdc++"
								 : base;
	return path ? ldp_format(out, cap, "%s: %s (%s)", what, name, path) : ldp_format(out, cap, "%s: %s", what, name);
}

void ldp_allocapi_init(const char *foreign)
{
	ldp_resolve_real();
	size_t k = foreign ? ldp_format(ldp_allocator_desc, sizeof ldp_allocator_desc, "malloc: %s, not interposable: its heap events cannot be seen",
					foreign)
			   : describe(ldp_allocator_desc, sizeof ldp_allocator_desc, "malloc", (void *)ldp_real.malloc);
	if (cxx_decide()) {
		k += ldp_format(ldp_allocator_desc + k, sizeof ldp_allocator_desc - k, "; ");
		k += describe(ldp_allocator_desc + k, sizeof ldp_allocator_desc - k, "operator new", next_fn(FN__Znwm));
		ldp_format(ldp_allocator_desc + k, sizeof ldp_allocator_desc - k, cxx_own[C_NEW] ? ", recorded as itself" : ", through malloc");
	}
	if (ldp_cfg.mode != LDP_MODE_SAMPLED)
		return;
	int own = atomic_load(&cxx_state) == CXX_DECIDED && (cxx_own[C_NEW] || cxx_own[C_NEW_ALIGNED]);
	if (own) { /* the header says it too, so every report of the trace does */
		size_t len = strlen(ldp_allocator_desc);
		ldp_format(ldp_allocator_desc + len, sizeof ldp_allocator_desc - len, "; sampled mode: operator new not sampled (missing)");
	}
	if (own)
		ldp_warn("sampled mode: this program's operator new is its allocator's own (it does not call malloc) "
			 "and is not sampled; its blocks are missing from the trace (full mode records them)");
	static const struct {
		int fn;
		const char *family;
	} apis[] = {{FN_mallocx, "jemalloc's mallocx/rallocx"}, {FN_tc_malloc, "tcmalloc's tc_*"},
		    {FN_mi_malloc, "mimalloc's mi_*"}};
	for (size_t i = 0; i < sizeof apis / sizeof *apis; i++)
		if (next_fn(apis[i].fn))
			ldp_warn("sampled mode: %s API is not sampled; blocks made through it are missing from the "
				 "trace (full mode records them)",
				 apis[i].family);
}
