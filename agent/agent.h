/*
 * agent.h - agent-internal declarations, one section per module, from the
 * bottom up where it can: state first (everyone may call it); data flows
 * interpose -> thread -> unwind -> stacks/modules -> evbuf -> writer.
 * Never installed; the reporter never includes it. The low-level modules
 * (state, config, rawmem, seq, encode, the unwinder, stacks, modules...)
 * never call up: scripts/check-layering declares their order and checks it.
 *
 * Lock ranks (take in this order, never the other way; fork's prepare
 * handler takes 1, 2 and 4):
 *   0. restart_lock  (entry.c) a fork child starting its trace on its first
 *                    event; held while it waits for its new writer, which
 *                    never takes it
 *   1. module_lock   (modules.c) the module table
 *   2. intern_lock   (stacks.c)  inserting a new stack (signal handlers only try it)
 *   3. snapshot_lock (snapshot.c) the queue of snapshot markers
 *   4. sh_lock_word  (sampleheap.c) sampled mode's block metadata (a leaf spinlock)
 *   5. got_lock      (got.c) writing GOT slots (a leaf)
 * Leaves taken with no other agent lock held, held for a table lookup or a
 * copy: path_lock (mapped.c, the file-path table; re-initialised in a fork
 * child) and store_lock (early.c, a spinlock over what was kept before the
 * constructor). The writer's state has no lock: only the writer thread
 * touches it (writer.c); program threads ask it for rounds and wait.
 * No agent lock is ever held while calling dl_iterate_phdr, dlopen or the
 * unwinder, and none is held while the program's code can run.
 */
#ifndef LDP_AGENT_H
#define LDP_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "compiler.h"
#include "config.h"
#include "ldprof/entrypoints.h"
#include "ldprof/format.h"
#include "ldprof/model.h"
#include "ldprof/varint.h"

/* ---- state.c: the shared state, at the bottom (calls only log.c) -------- */

enum ldp_state {
	LDP_STATE_UNINIT = 0,
	LDP_STATE_STARTING = 1, /* constructor running */
	LDP_STATE_READY = 2,    /* tracing */
	LDP_STATE_OFF = 3,      /* disabled after an error, or ended at exit */
};

extern struct ldp_config ldp_cfg;
extern _Atomic int ldp_state;
/* Hot flags: what heap events are recorded (READY and mode is not off).
 * Paused (control.c) clears LDP_HEAP_ALLOCS only: the malloc path then costs
 * what mode off costs, while frees of recorded blocks are still recorded,
 * so the replay stays exact (nothing recorded looks live when it is not). */
extern _Atomic int ldp_heap_on;
#define LDP_HEAP_FREES 1  /* frees (and the mapped channel) */
#define LDP_HEAP_ALLOCS 2 /* allocations */
#define LDP_HEAP_ALL 3
extern int ldp_pid; /* pid of this image; differs from getpid() in vfork children */
/* Whether this process is a copy of the agent's made by a fork no handler
 * saw (forks.c) that does not share its memory: nobody here will ever drain
 * its rings, nor let go of a lock a thread of the parent held at the fork.
 * stalled_ms: how long the caller has waited (decides when kcmp may not be
 * asked). */
int ldp_copy_apart(unsigned stalled_ms);
/* pthread_mutex_lock for an agent mutex an event may need (the stack table's,
 * the modules', the mapped paths'), unless this is such a copy and the mutex
 * stays held: -1 then, not locked (the ring's slow path turns the agent off
 * there, forks.c). */
int ldp_lock_unless_apart(pthread_mutex_t *m);

/* Start tracing (the constructor, or ldprof_attach() with attached).
 * @return 0, or -1 (said why; or it had started already). */
int ldp_start(int attached);
/* Turn the agent off after a failure: one line on stderr, the program runs on. */
void ldp_disable(const char *why);
/* Set in a fork child; its first event then calls ldp_child_restart(), which
 * opens the child's own trace and starts its writer. */
extern _Atomic int ldp_restart_pending;

/* ---- entry.c: life cycle (start, fork, exec, endings) --------------------- */

int ldp_child_restart(void);
/* The atfork handlers, for forks that run none (forks.c). prepare @return 1
 * if it ran (pass that to the other two). */
int ldp_fork_prepare(void);
void ldp_fork_parent(int prepared);
void ldp_fork_child(int prepared);

/* ---- forks.c: _Fork and raw fork system calls ------------------------------ */

/* Does syscall(nr, a1, a2, a3...) make a copy of this process on this stack? */
int ldp_fork_like(long nr, long a1, long a2, long a3);
/* Make it, with the atfork handlers around it. */
long ldp_fork_syscall(long (*real)(long, long, long, long, long, long, long), long nr, long a1, long a2, long a3,
		      long a4, long a5, long a6);
/* The ring's slow path in a process that is not the agent's: a fork child no
 * handler ran in is turned off (one line). @return 1 if the agent is off here. */
int ldp_fork_orphan_check(unsigned stalled_ms);

/* ---- interpose.c: the real allocator ----------------------------------- */

/* The malloc family's next definitions (libc's, or an allocator the program
 * links), one pointer per entry of the table (include/ldprof/entrypoints.h). */
#define LDP_REAL_FIELD(family, name, kind, ret, params) ret(*name) params;
struct ldp_real_fns {
	LDP_EP_LIBC_HEAP(LDP_REAL_FIELD)
};
extern struct ldp_real_fns ldp_real;
/* Sampled mode: set once at start, before the first traced event. */
extern int ldp_heap_sampled;
void ldp_resolve_real(void);
/* For the allocation entry points beyond the C malloc family (allocapi.c):
 * an allocation the real function made (recorded if traced, kept aside if a
 * signal handler made it during a recording); a free, before the real call;
 * a resize around the real call (begin takes the old block's sequence number
 * and holds the recording guard; end records the old block's free if it is
 * gone, then the new block). */
void ldp_note_alloc(void *p, size_t n, unsigned op);
void ldp_note_free(void *p);
/* A free's seq, and when the live-block map held the block, its size and
 * stack (then it is written as a site free); seq 0: not traced. */
struct ldp_freed {
	uint64_t seq, size;
	uint32_t stack;
	int site;
};
struct ldp_freed ldp_resize_begin(void *p);
void ldp_resize_end(void *p, struct ldp_freed f, int old_gone, void *q, size_t n, unsigned op);
/* Sampled mode: an allocation of n bytes aligned to align, a sample or made
 * by real(n, align); a release that is a sample's: 1 done (sample heap), 2
 * its free recorded (the caller frees it for real), 0 not a sample. */
void *ldp_sample_alloc(size_t n, size_t align, unsigned op, void *(*real)(size_t, size_t));
int ldp_sample_release(void *p);
/* env.c: the agent's variables out of the program's environ, back into its
 * children's: the environment for a child, in small (small_cap pointers) or
 * the agent's memory, given back by ldp_env_child_done. */
void ldp_env_hide(void);
size_t ldp_env_child_cap(char *const envp[]);
char **ldp_env_for_child(char *const envp[], char **small, size_t small_cap);
void ldp_env_child_done(char **env, char **small, char *const envp[]);
/* allocapi.c: which allocator serves the program, said in the header. */
void ldp_allocapi_init(const char *foreign_malloc);
extern char ldp_allocator_desc[512]; /* state.c; written once by ldp_allocapi_init, "" when unknown */
/* The object that provides the program's malloc when it is not us (its own
 * allocator, static jemalloc...): then no heap event can be seen. NULL if us. */
const char *ldp_foreign_malloc(void);

/* ---- thread.c: per-thread state ----------------------------------------- */

struct ldp_ring;
struct ldp_samples;

struct ldp_thread {
	union {
		struct {
			int busy; /* hot: reentrancy depth; >0 means "pass through untracked" */
			int rec;  /* hot: recording depth, raised with busy by the recording paths only:
				   * busy == rec > 0 means a malloc now comes from a signal handler (nested.c) */
		};
		uint64_t busy_rec; /* both at once: one add raises or lowers both */
	};
	_Atomic uint32_t nested_n; /* hot: slots of the ring claimed by signal handlers, not drained yet
				    * (may pass LDP_NESTED_SLOTS: those are lost) */
	uint32_t nested_done;   /* slots already drained into the ring (the drain was interrupted) */
	struct ldp_ring *ring;  /* hot: this thread's event ring, NULL until the first event */
	struct ldp_uw_memo *uw; /* hot: the unwinder's memory of this thread's walks (set with ring) */
	uint64_t clock;         /* hot: Lamport clock for event sequence numbers */
	int tid;                /* kernel thread id */
	int probe_hit;          /* ldp_foreign_malloc: our malloc was reached */
	int *errno_p;           /* &errno of this thread, once known (saves a libc call per event) */
	uintptr_t stack_lo, stack_hi; /* this thread's stack, for the fast unwinder; 0 = unknown */
	int stack_pending;      /* bounds not asked for yet (ldp_unwind_thread_init): ask at a later event */
	uint64_t sample_left;   /* hot in sampled mode: bytes to allocate before the next sample */
	uint64_t sample_rng;    /* sampled mode: this thread's random state, 0 = not seeded yet */
	struct ldp_samples *samples; /* this thread's CPU sample block (sample.c); NULL without a timer */
};

#define LDP_BUSY_PROBE 0x4000 /* busy value while probing which malloc the program binds to */

extern LDP_TLS struct ldp_thread ldp_self; /* defined in state.c */

int ldp_thread_init(void); /* process start: create the exit-flush key */
/* Slow path of the first event in a thread: claim a ring. NULL if off. */
struct ldp_ring *ldp_thread_attach(void);
void ldp_thread_after_fork_child(void);

/* ---- early.c: heap events from before the constructor -------------------- */

/* 1 until the constructor replays or drops what was kept. */
extern _Atomic int ldp_early_open;
/* An event with no ring to go to (before the constructor); busy raised. */
void ldp_early_alloc(struct ldp_thread *t, void *p, size_t size, unsigned op);
void ldp_early_free(struct ldp_thread *t, void *p, uint64_t seq);
/* Close capture; with keep, put what was kept into rings (tracing has
 * started), else drop it. */
void ldp_early_replay(int keep);

/* ---- sampleheap.c: where sampled blocks live (sampled mode) -------------- */

#define LDP_SH_SMALL_MAX (512u << 10) /* largest small class; the region's alignment */

/* The region sampled blocks are served from; 0, 0 when there is none (full
 * mode), so the test below is false without a second check. Set once at
 * start and never changed: blocks in it are ours to free for ever. */
extern uintptr_t ldp_sh_base, ldp_sh_size;
extern _Atomic unsigned ldp_sh_overflow_live; /* sampled blocks in the real heap */
extern _Atomic uint64_t ldp_sh_lost;          /* samples neither place could hold */

static LDP_ALWAYS_INLINE int ldp_sh_owns(const void *p)
{
	return (uintptr_t)p - ldp_sh_base < ldp_sh_size;
}

/*
 * Sampled mode's pass-through, for every malloc-family wrapper: an entry
 * point tries these first and, when they say so, tail-calls the real
 * function and does nothing else (no errno, no guard, no timer: they are
 * the slow path's). Measured with callgrind against a minimal interposer
 * (scripts/benchmarks/floor): see docs/PERFORMANCE.md.
 */
/* An allocation of n bytes that is not a sample: its bytes counted down. */
static LDP_ALWAYS_INLINE int ldp_sample_skip(size_t n)
{
	if (LDP_LIKELY(ldp_heap_sampled) && LDP_LIKELY(n < ldp_self.sample_left)) {
		ldp_self.sample_left -= n;
		return 1;
	}
	return 0;
}

/* A free in sampled mode of a block that is neither a sample nor a possible
 * overflowed one: the real free takes it as it is (the caller also rules
 * out the bootstrap arena, rawmem.h). */
static LDP_ALWAYS_INLINE int ldp_sample_free_skip(const void *p)
{
	return LDP_LIKELY(ldp_heap_sampled) && !ldp_sh_owns(p) &&
	       !atomic_load_explicit(&ldp_sh_overflow_live, memory_order_relaxed);
}
/* The natural logarithm of x in (0, 1], for sampled mode's exponential
 * gaps (relative error below 1e-15; test_sampleheap checks it against
 * libm). The agent's only use of libm: without it, libldprof.so needs no
 * libm.so, which a program that does not (git) then does not load: about
 * 0.2 ms of every traced start. x = m * 2^e with m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172: nine terms. */
static inline double ldp_ln(double x)
{
	uint64_t bits;
	__builtin_memcpy(&bits, &x, sizeof bits);
	int e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1023) << 52);
	double m;
	__builtin_memcpy(&m, &bits, sizeof m);
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	double s = (m - 1) / (m + 1), s2 = s * s;
	double p = 1.0 / 19;
	for (int k = 17; k >= 1; k -= 2)
		p = p * s2 + 1.0 / k;
	return e * 0.6931471805599453 + 2 * s * p;
}
int ldp_sh_init(void);
/* A block of at least n bytes aligned to align (a power of two), or NULL;
 * its first n bytes are zero when zero is set (calloc). */
void *ldp_sh_alloc(size_t n, size_t align, int zero);
/* 0, or -1 when p is not the start of a live block (an invalid or double free). */
int ldp_sh_free(void *p);
size_t ldp_sh_usable(const void *p);
int ldp_sh_overflow_add(void *p);       /* 0, or -1 when the table is full */
int ldp_sh_overflow_take(const void *p); /* 1 if p was there (and is no longer) */
void ldp_sh_prefork(void);
void ldp_sh_postfork(void);

/* ---- mapped.c: mmap, munmap, mremap ----------------------------------------- */

unsigned ldp_paths_count(void);       /* ids 1..count-1 exist */
const char *ldp_path_get(unsigned id);
void ldp_mapped_after_fork_child(void);

/* ---- seq.c: event ordering ----------------------------------------------- */

/* Time floor for sequence numbers: (us since segment start) << LDP_SEQ_SHIFT. */
extern _Atomic uint64_t ldp_seq_floor;
void ldp_seq_reset(void);

#define LDP_SEQ_SHARDS 1024u
/* A block in the live-block map (livemap.c): w0 the address (48 bits) and
 * the size's low 16 bits, w1 the size's next 32 bits and the stack id.
 * w0 == 0: empty. A block past those widths stays out of the map. */
struct ldp_live_slot {
	uint64_t w0, w1;
};
#define LDP_LIVE_PTR(w0) ((w0) & 0xffffffffffffull)
/* One cache line per address shard: its seq word, the lock that orders it,
 * and the shard's part of the live-block map. Every seq is taken under the
 * lock, and the map changes with it: one atomic an event, as the seq's CAS
 * alone was (docs/ARCHITECTURE.md, "The live-block map"). */
struct ldp_seq_shard {
	LDP_CACHE_ALIGN _Atomic uint32_t lock; /* 0, or the holder's lock id (ldp_lock_id) */
	uint32_t mask, len, unused;            /* the map's slots - 1 (0: no table), blocks held */
	_Atomic uint64_t v;                    /* the largest seq handed out for the shard */
	struct ldp_live_slot *slots;
};
extern struct ldp_seq_shard ldp_seq_shards[LDP_SEQ_SHARDS];
/* The map is kept (full mode, LDPROF_SITE_EVENTS not 0): set before tracing starts. */
extern int ldp_live_on;

static LDP_ALWAYS_INLINE struct ldp_seq_shard *ldp_seq_shard_of(uintptr_t addr)
{
	uint64_t region = addr >> 20; /* 1 MiB regions: a thread's arena keeps to its own lines */
	return &ldp_seq_shards[((region * 0x9E3779B97F4A7C15ull) >> 54) & (LDP_SEQ_SHARDS - 1)];
}

/* A nonzero id for this thread in the shard locks. */
uint32_t ldp_lock_id_slow(struct ldp_thread *t);
static LDP_ALWAYS_INLINE uint32_t ldp_lock_id(struct ldp_thread *t)
{
	return LDP_LIKELY(t->tid > 0) ? (uint32_t)t->tid : ldp_lock_id_slow(t);
}

/* Contended, or held by this very thread (a signal handler interrupted its
 * critical section): seq.c. @return 1 locked, 0 held by this thread. */
int ldp_shard_lock_slow(struct ldp_thread *t, struct ldp_seq_shard *s);
static LDP_ALWAYS_INLINE int ldp_shard_lock(struct ldp_thread *t, struct ldp_seq_shard *s)
{
	uint32_t expect = 0;
	if (LDP_LIKELY(atomic_compare_exchange_strong_explicit(&s->lock, &expect, ldp_lock_id(t), memory_order_acquire,
							       memory_order_relaxed)))
		return 1;
	return ldp_shard_lock_slow(t, s);
}
static LDP_ALWAYS_INLINE void ldp_shard_unlock(struct ldp_seq_shard *s)
{
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* seq = max(thread clock + 1, shard + 1, floor); shard = seq. Under the
 * shard's lock, or (locked 0) in a signal handler that interrupted this
 * thread's own critical section on it: then the shard is left alone, as
 * the interrupted code will store over it (seq.c). */
static LDP_ALWAYS_INLINE uint64_t ldp_seq_take(struct ldp_thread *t, struct ldp_seq_shard *s, int locked)
{
	uint64_t floor = atomic_load_explicit(&ldp_seq_floor, memory_order_relaxed);
	uint64_t seq = t->clock + 1;
	if (seq < floor)
		seq = floor;
	uint64_t v = atomic_load_explicit(&s->v, memory_order_relaxed);
	if (v >= seq)
		seq = v + 1;
	if (LDP_LIKELY(locked))
		atomic_store_explicit(&s->v, seq, memory_order_relaxed);
	t->clock = seq;
	return seq;
}

/* The next seq for an event on addr. Inline: it runs for every event that
 * does not change the map (seq.c explains why it orders). */
static LDP_ALWAYS_INLINE uint64_t ldp_seq_next(struct ldp_thread *t, uintptr_t addr)
{
	struct ldp_seq_shard *s = ldp_seq_shard_of(addr);
	int locked = ldp_shard_lock(t, s);
	uint64_t seq = ldp_seq_take(t, s, locked);
	if (LDP_LIKELY(locked))
		ldp_shard_unlock(s);
	return seq;
}

/* ---- livemap.c: the live-block map, under the shard locks ---- */

static LDP_ALWAYS_INLINE uint32_t ldp_live_home(uintptr_t p, uint32_t mask)
{
	return (uint32_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}
/* Room for one more block (the load stays under 0.7), or no table: grow.
 * @return 0, or -1 without memory (the table is unchanged). */
int ldp_live_grow(struct ldp_seq_shard *s);

/* The slot holding p, or the empty one where it would go (linear probing;
 * the load stays under 0.7, so there is one). */
static LDP_ALWAYS_INLINE uint32_t ldp_live_probe(const struct ldp_seq_shard *s, uintptr_t p)
{
	uint32_t m = s->mask, j = ldp_live_home(p, m);
	while (s->slots[j].w0 && LDP_LIVE_PTR(s->slots[j].w0) != p)
		j = (j + 1) & m;
	return j;
}

static LDP_ALWAYS_INLINE void ldp_live_unpack(const struct ldp_live_slot *e, uint64_t *size, uint32_t *stack)
{
	*size = (e->w0 >> 48) | (e->w1 & 0xffffffffull) << 16;
	*stack = (uint32_t)(e->w1 >> 32);
}

/* What a put found. */
enum ldp_live_put {
	LDP_LIVE_OUT = 0,     /* not in the map: the allocation is written with its address */
	LDP_LIVE_IN = 1,      /* in the map: written as a site allocation */
	LDP_LIVE_EVICTED = 2, /* in, and a block the map held at the same address went out: its free was not
			       * seen (an allocator's internal free); written as a site free first */
};

/* The allocation's seq, and the block into the map (locked). */
static LDP_ALWAYS_INLINE unsigned ldp_live_put_locked(struct ldp_seq_shard *s, uintptr_t p, uint64_t size,
							 uint32_t stack, uint64_t *old_size, uint32_t *old_stack)
{
	if (LDP_UNLIKELY(!s->slots || (uint64_t)(s->len + 1) * 10 > ((uint64_t)s->mask + 1) * 7) && ldp_live_grow(s))
		return LDP_LIVE_OUT;
	if (LDP_UNLIKELY((p >> 48) || (size >> 48)))
		return LDP_LIVE_OUT;
	uint32_t j = ldp_live_probe(s, p);
	unsigned got = LDP_LIVE_IN;
	if (LDP_UNLIKELY(s->slots[j].w0 != 0)) {
		ldp_live_unpack(&s->slots[j], old_size, old_stack);
		got = LDP_LIVE_EVICTED;
	} else {
		s->len++;
	}
	s->slots[j].w0 = p | (uint64_t)size << 48;
	s->slots[j].w1 = (size >> 16) | (uint64_t)stack << 32;
	return got;
}

static LDP_ALWAYS_INLINE uint64_t ldp_seq_next_put(struct ldp_thread *t, uintptr_t p, uint64_t size, uint32_t stack,
						   unsigned *got, uint64_t *old_size, uint32_t *old_stack)
{
	struct ldp_seq_shard *s = ldp_seq_shard_of(p);
	int locked = ldp_shard_lock(t, s);
	uint64_t seq = ldp_seq_take(t, s, locked);
	*got = LDP_LIVE_OUT;
	if (LDP_LIKELY(locked)) {
		*got = ldp_live_put_locked(s, p, size, stack, old_size, old_stack);
		ldp_shard_unlock(s);
	}
	return seq;
}

/* The block out of the map (locked). @return 1 if it was there, with its size and stack. */
static LDP_ALWAYS_INLINE int ldp_live_take_locked(struct ldp_seq_shard *s, uintptr_t p, uint64_t *size,
						  uint32_t *stack)
{
	if (LDP_UNLIKELY(!s->slots))
		return 0;
	uint32_t m = s->mask, j = ldp_live_probe(s, p);
	if (!s->slots[j].w0)
		return 0;
	ldp_live_unpack(&s->slots[j], size, stack);
	/* Linear probing without tombstones: move later blocks of the run back
	 * into the hole when their home allows it. */
	uint32_t hole = j;
	for (uint32_t k = (j + 1) & m; s->slots[k].w0; k = (k + 1) & m) {
		uint32_t h = ldp_live_home(LDP_LIVE_PTR(s->slots[k].w0), m);
		if (((k - h) & m) >= ((k - hole) & m)) {
			s->slots[hole] = s->slots[k];
			hole = k;
		}
	}
	s->slots[hole].w0 = 0;
	s->len--;
	return 1;
}

/* A free's seq, and its block out of the map: *in 1 if the map held it, 0
 * if not, -1 if it could not look (a signal handler inside its own
 * thread's critical section on the shard: nested.c looks later). */
static LDP_ALWAYS_INLINE uint64_t ldp_seq_next_take(struct ldp_thread *t, uintptr_t p, int *in, uint64_t *size,
						    uint32_t *stack)
{
	struct ldp_seq_shard *s = ldp_seq_shard_of(p);
	int locked = ldp_shard_lock(t, s);
	uint64_t seq = ldp_seq_take(t, s, locked);
	*in = -1;
	if (LDP_LIKELY(locked)) {
		*in = ldp_live_take_locked(s, p, size, stack);
		ldp_shard_unlock(s);
	}
	return seq;
}

/* The block out of the map, no seq taken. @return as ldp_seq_next_take's *in. */
int ldp_live_take(struct ldp_thread *t, uintptr_t p, uint64_t *size, uint32_t *stack);

/* A block whose free was taken back (a realloc that failed): into the map again. */
void ldp_live_put_back(struct ldp_thread *t, uintptr_t p, uint64_t size, uint32_t stack);
/* Fork: every shard lock taken (prepare) and given back (parent); the
 * child starts with no locks and an empty map (its trace knows none of the
 * parent's blocks). */
void ldp_live_prefork(struct ldp_thread *t);
void ldp_live_postfork_parent(void);
void ldp_live_after_fork_child(void);

uint64_t ldp_seq_barrier(struct ldp_thread *t);
void ldp_seq_reset(void);

/* ---- snapshot.c: snapshot markers ------------------------------------------ */

int ldp_snapshot_init(void);         /* install the snapshot signal handler if configured */
int ldp_snapshot_request(unsigned kind, const char *label); /* 0, or -1 when the queue is full */
/* Writer side: take due signal/interval snapshots (called every tick). */
void ldp_snapshot_tick(uint64_t now_ns);
/* Writer side: hand out queued snapshots, oldest first. @return 0 when empty. */
int ldp_snapshot_pop(uint64_t *seq, unsigned *kind, char *label, size_t cap);
void ldp_snapshot_after_fork_child(void);

/* ---- control.c: pause/resume, the toggle signal, `ldprof ctl`, detach ------- */

/* At start, READY about to be set: the heap flags to start with (paused
 * or not), the toggle signal's handler, the control thread. */
int ldp_control_heap_flags(void);
void ldp_control_start(void);
/* The external switch (ctl, toggle signal); ldprof_pause()/ldprof_resume()
 * (nested) are the other holder: recording of allocations stops while any
 * holds it. @return 0, or -1 when the agent is not recording. */
int ldp_pause_external(int pause, unsigned cause);
/* Writer side, every tick: apply toggle signals that arrived. */
void ldp_control_tick(void);
/* Writer side: a queued mark is a PAUSE record (kinds above LDP_SNAP_MARK). */
#define LDP_SNAP_MARK 0x100
/* Stop recording for good, put the program's GOT slots back (attach.c),
 * write the last round with END(detached). @return 0 or -1 (not recording). */
int ldp_detach(void);
/* The process ends: the control socket's file goes. */
void ldp_control_fini(void);

/* ---- attach.c: started inside a running process ------------------------------ */

/* Were we dlopen'ed into a running process rather than preloaded (loaded
 * after the object whose malloc the program uses)? */
int ldp_attach_loaded_late(void);
/* Point the malloc family of every loaded object at ours (and of objects
 * dlopen loads later). @return 0, or -1 (said why). */
int ldp_attach_redirect(void);
/* Put every slot back (sampled mode: free and realloc stay ours, blocks of
 * the sample heap may still be live). */
void ldp_attach_restore(void);
/* dlopen while attached: the new objects' slots too. */
extern _Atomic int ldp_attach_dlopen_hook;
void ldp_attach_after_dlopen(void *handle, const void *before);

/* ---- unwind.c: stack capture -------------------------------------------- */

int ldp_unwind_init(void);
/* This thread's stack bounds, for the fast unwinder: call outside any signal
 * handler, with busy raised (pthread_getattr_np may allocate). */
void ldp_unwind_thread_init(void);
/* Fill ips with return addresses, innermost first, agent frames skipped.
 * @return depth; *truncated set when the stack was deeper than max. */
unsigned ldp_unwind_capture(uintptr_t *ips, unsigned max, int *truncated);
struct ldp_uw_memo;
/* The malloc path: capture the caller's stack and intern it, skipping both
 * when the stack is provably the one captured last time, and walking only
 * the frames that differ from it otherwise (struct ldp_uw_trace, kept in
 * this thread's memo m: ldp_self.uw). @return stack id, 0 if none. */
uint32_t ldp_unwind_stack_id(struct ldp_uw_memo *m);
/* The memo of the thread that owns ring ring_id, emptied for a new owner
 * (thread.c, at attach). One per ring slot, for the life of the process.
 * @return NULL when there is no memory for it. */
struct ldp_uw_memo *ldp_unwind_memo_claim(uint32_t ring_id);
/* The caller's stack with the fast unwinder alone (no lock, no libunwind):
 * for a signal handler's allocation (nested.c). Stops early, truncated,
 * where it would need more. @return depth, 0 if none. */
unsigned ldp_unwind_capture_nolock(uintptr_t *ips, unsigned max, int *truncated);
/* From a signal handler's ucontext_t: ips[0] is the interrupted instruction,
 * then return addresses. Async-signal-safe: cached rules and objects loaded
 * at start only, no lock, no libunwind; stops early (and says truncated)
 * rather than guess. */
unsigned ldp_unwind_from_ucontext(const void *uc, uintptr_t *ips, unsigned max, int *truncated);
/* Before the agent's constructor (early.c): the fast walk from here, every
 * miss looked up under the loader lock, nothing else (libunwind is not
 * loaded yet); this thread's stack bounds in ldp_self. A stack it cannot
 * finish ends where it stopped, with *truncated set. */
unsigned ldp_unwind_early(uintptr_t *ips, unsigned max, int *truncated);
/* LDPROF_VERBOSE / LDPROF_UNWIND=check: one line of unwinder statistics. */
void ldp_unwind_report(void);

/* ---- unwind_dwarf.c: x86-64 CFI -> one rule per address (pure) ----------- */

/*
 * How to step from a frame at some address to its caller, in 48 bits:
 *   CFA = (RBP if LDP_UWR_CFA_RBP else RSP) + cfa_off        (bits 0..31, signed)
 *   RA  = *(CFA - 8)
 *   RBP = *(CFA + 8 * rbp_off8) if LDP_UWR_RBP_SAVED         (bits 32..39, signed)
 *         0 if LDP_UWR_RBP_UNDEF, else unchanged
 * Flags are bits 40..47; bits 48..63 are left to the rule cache (a check).
 * cfa_off sits in the low half so the walk reads it with one sign extension.
 */
#define LDP_UWR_VALID (1ull << 40)       /* never 0: a real answer */
#define LDP_UWR_CFA_RBP (1ull << 41)
#define LDP_UWR_RBP_SAVED (1ull << 42)
#define LDP_UWR_RBP_UNDEF (1ull << 43)
#define LDP_UWR_OUTERMOST (1ull << 44)   /* return address undefined: no caller */
#define LDP_UWR_UNSUPPORTED (1ull << 45) /* CFI beyond the small rule: ask libunwind */
#define LDP_UWR_NOCODE (1ull << 46)      /* not in any object's code (JIT, garbage) */
#define LDP_UWR_CFA_MIN INT32_MIN
#define LDP_UWR_CFA_MAX INT32_MAX
#define LDP_UWR_RBP_MIN (-128 * 8)
#define LDP_UWR_RBP_MAX (127 * 8)

static inline uint64_t ldp_uwr_make(uint64_t flags, int64_t cfa_off, int64_t rbp_off)
{
	return flags | (uint32_t)(int32_t)cfa_off | (uint64_t)(uint8_t)(int8_t)(rbp_off / 8) << 32;
}
static inline int64_t ldp_uwr_cfa_off(uint64_t r)
{
	return (int32_t)(uint32_t)r;
}
static inline int64_t ldp_uwr_rbp_off(uint64_t r)
{
	return (int64_t)(int8_t)(uint8_t)(r >> 32) * 8;
}

/* One loaded object's unwind tables. */
struct ldp_uw_object {
	uintptr_t text_lo, text_hi; /* executable PT_LOAD segments */
	uintptr_t ro_lo, ro_hi;     /* the PT_LOAD file contents holding .eh_frame_hdr: every read stays inside */
	uintptr_t hdr;              /* .eh_frame_hdr (PT_GNU_EH_FRAME), 0 if none */
};
struct dl_phdr_info;
/* From dl_iterate_phdr's view of an object. @return 0, -1 if it has no code. */
int ldp_uw_object_init(struct ldp_uw_object *o, uintptr_t base, const void *phdr, unsigned phnum);
/* The rule at code address pc (a return address minus 1, or an interrupted
 * instruction); rip is the register value, for the PLT's CFA expression. */
uint64_t ldp_uw_rule(const struct ldp_uw_object *o, uintptr_t pc, uintptr_t rip);

/* ---- unwind_fast.c: rule cache and the frame walk ------------------------ */

struct ldp_uw_regs {
	uintptr_t ip, sp, bp;
};
/* The calling function's own registers, at this point (ip exact). The walk
 * must run while this frame is live: pass them down to callees, never to a
 * tail call (which reuses the frame). */
#define LDP_UW_HERE(r)                                                                                         \
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"                               \
			 : "=&r"((r).ip), "=&r"((r).sp), "=&r"((r).bp))

/* ldp_uw_walk flags in and status out */
#define LDP_UW_MAY_LOCK 0x1u    /* in: a miss may call dl_iterate_phdr (never in a signal handler) */
#define LDP_UW_TRUNCATED 0x1u   /* out: more frames than max */
#define LDP_UW_UNSUPPORTED 0x2u /* out: a frame needs CFI we do not interpret */
#define LDP_UW_STOPPED 0x4u     /* out: a check failed (garbage return address, stack bounds) */
#define LDP_UW_MISS 0x8u        /* out: no rule known and none could be looked up here */

/*
 * A walk's full record, so the next walk can reuse its outer part: each
 * state (registers before each step), every stack word read (address and
 * value) and the result. The walk from a state is a function of that state's
 * registers, the words read from there on, and the rules; so when a new walk
 * reaches a state with the same RSP and RIP (RBP too, if the rest used it)
 * and all the words read from there on are unchanged, the rest of the old
 * stack is the rest of the new one. At the starting state that is the whole
 * stack ("memo hit"); further out, the outer frames ("join").
 */
/* A walk deeper than this many states is used but not recorded: a thread
 * keeps eight records (unwind.c), each sized for stacks up to 256 deep
 * (the default keeps 64), not for the 1024 allowed. */
#define LDP_UW_STATES (256 + 16)
#define LDP_UW_WORDS (2 * LDP_UW_STATES)
#define LDP_UWS_BP_USE 1u  /* the step from this state computed the CFA from RBP */
#define LDP_UWS_BP_SET 2u  /* the step from this state reloaded RBP (or made it undefined) */
#define LDP_UWS_BP_NEED 4u /* the walk from this state on depended on its RBP */
#define LDP_UWS_BP_WORD 8u /* the step from this state read a saved RBP: word rd + 1 (while counting from the start) */
/* A saved-RBP word nothing depends on is recorded as (&ldp_uw_zero, 0): it always matches. */
extern const uintptr_t ldp_uw_zero;

struct ldp_uw_state {
	uintptr_t sp, ip, bp;
	/* Counted to the end, so a join copies the outer states unchanged: */
	uint32_t rd;    /* stack words read from this state on (the last rd of the trace's words) */
	int16_t n;      /* return addresses of the result from this state on; < 0: none made it */
	uint16_t flags; /* LDP_UWS_* */
};

struct ldp_uw_trace {
	unsigned nstates; /* 0: nothing to reuse */
	unsigned nrd;
	unsigned depth, status; /* the result: ips[0..depth), LDP_UW_TRUNCATED */
	uint32_t stack;         /* its interned id (unwind.c) */
	struct ldp_uw_state s[LDP_UW_STATES];
	uintptr_t at[LDP_UW_WORDS], val[LDP_UW_WORDS];
	uintptr_t ips[LDP_MAX_STACK_DEPTH + 1];
	uint64_t hsuf[LDP_MAX_STACK_DEPTH + 1]; /* hsuf[i]: hash of ips[i..depth) (unwind.c) */
};

/* One walk: inputs, results. */
struct ldp_uw_walk {
	uintptr_t hi;               /* in: stack top; every stack word read lies in [sp, hi) */
	intptr_t delta;             /* in: stack word at address a is read at a + delta (0: in place;
				     * another thread's stack copied elsewhere: copy - sp) */
	uintptr_t skip_lo, skip_hi; /* in: leading return addresses in here are dropped */
	uintptr_t *ips;             /* in: room for max return addresses */
	unsigned max, flags;        /* in: LDP_UW_MAY_LOCK */
	const struct ldp_uw_trace *prev; /* in, optional: a previous walk of this thread to join */
	struct ldp_uw_trace *cur;        /* in, optional: record this walk (ips must be cur->ips) */
	unsigned status;            /* out: LDP_UW_TRUNCATED ... */
	unsigned steps;             /* out: frames actually walked */
	unsigned joined;            /* out: the walk joined prev: ips[join_n..] are prev->ips[join_p..] */
	unsigned join_n, join_p, join_whole; /* join_whole: all of prev's rest was copied */
};

/* Set up the rule cache and the table of objects that never go away. */
int ldp_uw_fast_init(void);
/* Only the rule cache (any thread, idempotent): until ldp_uw_fast_init has
 * run, every miss is looked up under the loader lock (early.c). */
int ldp_uw_cache_init(void);
/* Give the cache and the table back: only when no walk can be under way
 * (the agent never started). */
void ldp_uw_fast_fini(void);
/* Is pc in an object whose tables are read without the loader lock? (tests) */
int ldp_uw_permanent(uintptr_t pc);
/*
 * Walk from r (r.ip exact if `exact`, else a return address). Never faults,
 * never allocates; locks only via dl_iterate_phdr with LDP_UW_MAY_LOCK.
 * @return frames stored in w->ips (at most w->max).
 */
unsigned ldp_uw_walk(struct ldp_uw_walk *w, struct ldp_uw_regs r, int exact);

/* ---- modules.c: loaded objects ------------------------------------------- */

struct ldp_segment {
	uintptr_t vaddr; /* relative to base */
	uintptr_t memsz;
	unsigned flags;  /* LDP_SEG_* */
};

struct ldp_module {
	uintptr_t base;   /* load bias (dlpi_addr) */
	uintptr_t lo, hi; /* mapped address range of PT_LOAD segments, absolute */
	char *path;
	uint8_t build_id[LDP_MAX_BUILD_ID_LEN];
	unsigned build_id_len;
	unsigned nseg;
	struct ldp_segment seg[16];
};

int ldp_modules_init(void);
void ldp_modules_fini(void); /* the agent never started: give the table back */
/* Make sure every ip lies in a recorded module, rescanning if one does not.
 * Must be called with no agent lock held. */
void ldp_modules_cover(const uintptr_t *ips, unsigned n);
/* The agent's own text range, for skipping its frames in stacks. */
extern uintptr_t ldp_self_lo, ldp_self_hi;
/* Writer side: modules not yet written, in order. */
unsigned ldp_modules_count(void);
const struct ldp_module *ldp_module_get(unsigned id);
void ldp_modules_lock(void);
void ldp_modules_unlock(void);
void ldp_modules_after_fork_child(void);

/* ---- stacks.c: stack interning ------------------------------------------- */

/* @return stack id >= 1, or 0 when the table is full (event recorded without stack). */
uint32_t ldp_stack_intern(const uintptr_t *ips, unsigned depth, unsigned flags);
/* The same without the module rescan: for the writer, which must never call
 * dl_iterate_phdr (a thread holding the loader lock may be waiting for it). */
uint32_t ldp_stack_intern_quiet(const uintptr_t *ips, unsigned depth, unsigned flags);
/* The same from a signal handler: no rescan, and a new stack only if the
 * table's lock is free right now. @return id, 0 if none. */
uint32_t ldp_stack_intern_try(const uintptr_t *ips, unsigned depth, unsigned flags);
/* The same with the hash already computed: ldp_stack_hash_fin() over
 * ldp_stack_hash_step() from the outermost frame in (so a suffix's hash can be reused). */
uint32_t ldp_stack_intern_hashed(const uintptr_t *ips, unsigned depth, unsigned flags, uint64_t h);
#define LDP_STACK_HASH_SEED 0x243F6A8885A308D3ull
static inline uint64_t ldp_stack_hash_step(uint64_t h, uintptr_t ip)
{
	h = (h ^ ip) * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}
static inline uint64_t ldp_stack_hash_fin(uint64_t h, unsigned depth, unsigned flags)
{
	h = (h ^ ((uint64_t)depth << 8 | flags)) * 0xff51afd7ed558ccdull;
	return (h ^ (h >> 32)) | 1; /* never zero: zero marks an empty slot */
}
uint32_t ldp_stacks_count(void); /* ids 1..count-1 exist */
/* Writer side: read stack id (1 <= id < count). */
const uintptr_t *ldp_stack_get(uint32_t id, unsigned *depth, unsigned *flags);
void ldp_stacks_lock(void);
void ldp_stacks_unlock(void);
void ldp_stacks_after_fork_child(void);

/* ---- encode.c: event encoders (pure; unit-tested against the reader) ----- */

/* A ring's encoder state (docs/FORMAT.md "Events, 1.7"): the delta bases and
 * the model the reader rebuilds from the same events (ldprof/model.h: one
 * definition for the encoder, the writer's ringcut.c and the reader). */
struct ldp_enc_state {
	uint64_t seq, ptr;
	struct ldp_model m;
};
size_t ldp_enc_attach(uint8_t *dst, struct ldp_enc_state *st, uint32_t tid);

/* A 1.7 op's seq field (EVENTS3): after a 0, a seq on a floor quantum as
 * the quanta since the last seq's (0: the same seq, which a thread's own
 * clock never gives but replayed early events of two threads may); else
 * the delta from the last, which is then never 0. */
static LDP_ALWAYS_INLINE size_t ldp_enc_seq(uint8_t *dst, uint64_t prev, uint64_t seq)
{
	const uint64_t quantum = 1ull << LDP_SEQ_QUANTUM_SHIFT;
	if (seq == prev || (seq > prev && !(seq & (quantum - 1)))) {
		dst[0] = 0;
		return 1 + ldp_varint_put(dst + 1, (seq >> LDP_SEQ_QUANTUM_SHIFT) - (prev >> LDP_SEQ_QUANTUM_SHIFT));
	}
	return ldp_varint_put(dst, seq - prev);
}

/* The two hot encoders, inline into the malloc path. Each costs a few loads
 * and stores over the 1.6 encoding and saves the address of most frees and
 * of allocations that reuse the block just freed (glibc's tcache does). */
static LDP_ALWAYS_INLINE size_t ldp_enc_alloc(uint8_t *dst, struct ldp_enc_state *st, unsigned op, uint64_t seq,
					      uint64_t ptr, uint64_t size, uint32_t stack)
{
	unsigned cls = ldp_size_class(size);
	uint8_t code = (uint8_t)(LDP_EV_ALLOC2 | (op - LDP_EV_ALLOC_MALLOC));
	size_t n = 1;
	if (seq - st->seq == 1)
		code |= LDP_EV_ALLOC2_SEQ1;
	else
		n += ldp_enc_seq(dst + n, st->seq, seq);
	n += ldp_varint_put(dst + n, size);
	if (st->m.freed[cls] == ptr) {
		code |= LDP_EV_ALLOC2_REUSE;
		ldp_model_reuse(&st->m, cls);
	} else {
		n += ldp_varint_put(dst + n, ldp_zigzag((int64_t)(ptr - st->ptr)));
	}
	n += ldp_varint_put(dst + n, ldp_zigzag((int64_t)stack - (int64_t)st->m.stack));
	dst[0] = code;
	ldp_model_alloc(&st->m, ptr, cls, stack);
	st->seq = seq;
	st->ptr = ptr;
	return n;
}

static LDP_ALWAYS_INLINE size_t ldp_enc_free(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t ptr)
{
	uint8_t code = LDP_EV_FREE2;
	size_t n = 1;
	if (seq - st->seq == 1)
		code |= LDP_EV_FREE2_SEQ1;
	else
		n += ldp_enc_seq(dst + n, st->seq, seq);
	struct ldp_model_slot *e = &st->m.recent[ldp_recent_slot(ptr)];
	if (e->ptr == ptr) {
		uint32_t age = st->m.nalloc - e->idx;
		code |= LDP_EV_FREE2_INDEX;
		ldp_model_free_slot(&st->m, e); /* before the bytes: stores through dst may alias e */
		n += ldp_varint_put(dst + n, age);
	} else {
		n += ldp_varint_put(dst + n, ldp_zigzag((int64_t)(ptr - st->ptr)));
	}
	dst[0] = code;
	st->seq = seq;
	st->ptr = ptr;
	return n;
}
/* 2.2 site events: a block the live-block map holds, by (size, stack),
 * never its address; prev_ptr and the recent table stay as they are. */
static LDP_ALWAYS_INLINE size_t ldp_enc_salloc(uint8_t *dst, struct ldp_enc_state *st, unsigned op, uint64_t seq,
					       uint64_t size, uint32_t stack)
{
	uint8_t code = (uint8_t)(LDP_EV_ALLOC3 | (op - LDP_EV_ALLOC_MALLOC));
	size_t n = 1;
	if (seq - st->seq == 1)
		code |= LDP_EV_ALLOC3_SEQ1;
	else
		n += ldp_enc_seq(dst + n, st->seq, seq);
	if (size == st->m.site_size && stack == st->m.site_stack) {
		code |= LDP_EV_ALLOC3_SAME; /* the last site allocation's again: a loop's */
	} else {
		n += ldp_varint_put(dst + n, size);
		n += ldp_varint_put(dst + n, ldp_zigzag((int64_t)stack - (int64_t)st->m.stack));
	}
	dst[0] = code;
	st->m.stack = st->m.site_stack = stack;
	st->m.site_size = size;
	st->seq = seq;
	return n;
}

static LDP_ALWAYS_INLINE size_t ldp_enc_sfree(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t size,
					      uint32_t stack)
{
	uint8_t code = LDP_EV_FREE3;
	size_t n = 1;
	if (seq - st->seq == 1)
		code |= LDP_EV_FREE3_SEQ1;
	else
		n += ldp_enc_seq(dst + n, st->seq, seq);
	if (size == st->m.site_size && stack == st->m.site_stack) {
		code |= LDP_EV_FREE3_LAST; /* what the last site allocation was: a pair's free */
	} else {
		/* The stack from the last site free's: frees follow their own
		 * order of sites, not the allocations'. */
		n += ldp_varint_put(dst + n, ldp_zigzag((int64_t)stack - (int64_t)st->m.free_stack));
		n += ldp_varint_put(dst + n, size);
	}
	dst[0] = code;
	st->m.free_stack = stack;
	st->seq = seq;
	return n;
}

/* The mapped channel: length-prefixed ops (format 1.3). */
size_t ldp_enc_mmap(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t addr, uint64_t len, unsigned prot,
		    unsigned flags, uint32_t path, uint32_t stack);
size_t ldp_enc_munmap(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t addr, uint64_t len);
size_t ldp_enc_mremap(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t old, uint64_t old_len,
		      uint64_t addr, uint64_t len, uint32_t stack);

/* Record payloads (not the type/length framing). */
/* RING (ringcut.c): eleven varints (2.2's free_stack, site_stack, site_size last); per freed class, a class delta (< 2^14)
 * and an address; per recent slot, an age (32 bits), an address and a class. */
#define LDP_ENC_RING_MAX                                                                                       \
	(11 * LDP_VARINT_MAX + LDP_SIZE_CLASSES * (2 + LDP_VARINT_MAX) + LDP_RECENT_SLOTS * (5 + LDP_VARINT_MAX + 2))
#define LDP_ENC_RECORD_MAX_STACK (LDP_MAX_PATH_LEN + (LDP_MAX_STACK_DEPTH + 64) * LDP_VARINT_MAX)
#define LDP_ENC_RECORD_MAX                                                                                     \
	(LDP_ENC_RING_MAX > LDP_ENC_RECORD_MAX_STACK ? LDP_ENC_RING_MAX : LDP_ENC_RECORD_MAX_STACK)
struct ldp_module;
size_t ldp_enc_module(uint8_t *dst, unsigned id, const struct ldp_module *m);
size_t ldp_enc_stack(uint8_t *dst, uint32_t id, unsigned flags, const uintptr_t *ips, unsigned depth);
/* STACK2 (2.0): the outer `keep` frames are those of stack id - base_delta
 * (ignored when keep is 0); id_delta from the frame's previous STACK2. */
size_t ldp_enc_stack2(uint8_t *dst, uint32_t id_delta, unsigned flags, const uintptr_t *ips, unsigned depth,
		      unsigned keep, uint32_t base_delta);

/* The writer's index of the stacks it wrote, by their outer frames (stackbases.c). */
#define LDP_BASES_MAX_KEYS (1u << 21)
struct ldp_base_slot {
	uint64_t key;   /* a hash of outer frames and their count; 0: empty */
	uint32_t stack; /* the first stack written with them */
	uint32_t unused;
};
struct ldp_stack_bases {
	struct ldp_base_slot *slots;
	uint32_t mask, len;
	uint64_t *keys; /* the last matched stack's keys, by count of outer frames */
	size_t slots_bytes, keys_bytes; /* mapped, left out of fork children */
	const uintptr_t *prev_ips; /* the stack added last (the stack table's memory: append-only) */
	unsigned prev_depth;
	uint32_t prev_id;
};
/* How many outer frames of ips[0..depth) a stack written before shares
 * (*base: that stack). *checked 0: found by hashes, check it with
 * ldp_bases_shares before use. */
unsigned ldp_bases_match(struct ldp_stack_bases *b, const uintptr_t *ips, unsigned depth, uint32_t *base,
			 int *checked);
/* Does the base really end in the stack's last `keep` frames? */
int ldp_bases_shares(const uintptr_t *base_ips, unsigned base_depth, const uintptr_t *ips, unsigned depth,
		     unsigned keep);
/* Index stack `stack` (ips, depth), the one just matched, written with
 * `keep` outer frames from its base; ips must stay valid until the next add. */
void ldp_bases_add(struct ldp_stack_bases *b, const uintptr_t *ips, unsigned keep, unsigned depth, uint32_t stack);
void ldp_bases_reset(struct ldp_stack_bases *b);
void ldp_bases_free(struct ldp_stack_bases *b);
/* In a fork child, where its memory is not mapped: @return the bytes it took. */
size_t ldp_bases_forget(struct ldp_stack_bases *b);
size_t ldp_enc_round(uint8_t *dst, uint64_t round, uint64_t time_us, uint64_t floor);
size_t ldp_enc_end(uint8_t *dst, unsigned reason, uint64_t time_us);
size_t ldp_enc_end_signal(uint8_t *dst, uint64_t time_us, unsigned sig); /* END(LDP_END_SIGNAL) */
size_t ldp_enc_snapshot(uint8_t *dst, uint64_t seq, unsigned kind, const char *label);
size_t ldp_enc_pause(uint8_t *dst, uint64_t seq, unsigned paused, unsigned cause);
size_t ldp_enc_sample(uint8_t *dst, unsigned kind, uint32_t tid, uint64_t time_us, uint64_t weight_ns, uint32_t stack,
		      unsigned state, long syscall);
size_t ldp_enc_thread(uint8_t *dst, uint32_t tid, const char *name);
size_t ldp_enc_sampling(uint8_t *dst, unsigned cpu_hz, unsigned wall_hz, unsigned clock, unsigned signal,
			unsigned status);
size_t ldp_enc_lost(uint8_t *dst, unsigned kind, uint64_t count);
size_t ldp_enc_path(uint8_t *dst, uint32_t id, const char *path);
size_t ldp_enc_rss(uint8_t *dst, uint64_t time_us, uint64_t rss_bytes);

/* ---- evbuf.c: per-thread rings ------------------------------------------- */

enum ldp_ring_state { LDP_RING_FREE = 0, LDP_RING_OWNED = 1, LDP_RING_DEAD = 2 };

#define LDP_EV_MAX 64 /* largest encoded event */

/* ---- nested.c: events of signal handlers that interrupted a recording ------ */

#define LDP_NESTED_SLOTS 32 /* per thread, between two drains */
#define LDP_NESTED_DEPTH 128

/* One event a signal handler made while the agent was recording on its thread. */
#define LDP_NESTED_FREE_LATER 0x100u
struct ldp_nested_ev {
	_Atomic uint32_t op; /* LDP_EV_* (LDP_EV_SFREE: a site free, by size and stack;
			      * LDP_NESTED_FREE_LATER: a free whose block the map is asked for at the drain);
			      * 0 while being filled */
	uint32_t stack;
	uint64_t seq, ptr, size;
};

extern _Atomic uint64_t ldp_nested_lost_alloc, ldp_nested_lost_free; /* slots full: LOST kinds 4, 5 */
struct ldp_thread;
struct ldp_ring;
/* From the malloc family when busy == rec > 0: keep the event in a slot. */
void ldp_nested_event(unsigned op, const void *p, size_t size);
/* The recording that was interrupted: encode the slots into the ring. */
void ldp_nested_drain(struct ldp_thread *t, struct ldp_ring *r);
/* The last round: count what is still in any thread's slots as lost. */
void ldp_nested_count_leftovers(void);
/* A fork child: the parent's trace counts what its handlers lost. */
void ldp_nested_after_fork_child(void);

/* ---- sample.c: CPU sampling ------------------------------------------------ */

#define LDP_SAMPLE_SLOTS 32 /* per thread: about 16 ticks of the writer's 50 ms at 250 Hz, twice */
#define LDP_SAMPLE_SLOTS_MAX 4096 /* the main thread's while the writer starts late (sample.c) */

/* One CPU sample, written by the signal handler; ips has max_depth entries. */
struct ldp_sample {
	uint32_t depth, truncated;
	uint64_t time_us;   /* the seq floor when it fired, in microseconds */
	uint64_t weight_ns; /* the thread's CPU time since its previous sample */
	uint64_t cpu_ns;    /* the thread's CPU time when it fired (wall looks are placed against it) */
	uintptr_t ips[];    /* ips[0] is the interrupted instruction */
};

/* A sample block's owner: CLAIMING while a thread takes it (the writer
 * leaves it alone until its owner is written), OWNED by a thread with a
 * timer, DEAD once that thread has exited (its samples wait for the
 * writer), FREE when drained. */
enum ldp_samples_state { LDP_SAMPLES_FREE = 0, LDP_SAMPLES_CLAIMING, LDP_SAMPLES_OWNED, LDP_SAMPLES_DEAD };

/* A thread's CPU timer and the slots its signal handler fills: one producer
 * (the handler, on the owning thread), one consumer (the writer). Blocks
 * live on one list that only grows (ldp_samples_first), apart from the
 * event rings: a thread's samples outlive it until the writer has drained
 * them, then the block goes to the next thread that starts a timer. head,
 * tail and lost only grow, across owners too. */
struct ldp_samples {
	/* the owning thread's (its handler, its timer calls) */
	_Atomic uint32_t head;
	_Atomic uint64_t lost;  /* ticks that found every slot full */
	uint64_t last_cpu_ns;   /* handler: CPU time at the previous sample */
	timer_t timer;
	int stopped;            /* timer deleted (thread exit, step aside, fork child) or never made */
	int paused;             /* the thread blocks the signal: timer disarmed until it unblocks */
	uint64_t armed_from_ns; /* thread CPU time when the timer last started counting down... */
	uint64_t armed_left_ns; /* ...and what it had left then (the kernel's own answer lags by up to a tick) */
	/* the writer's */
	_Atomic uint32_t tail;
	uint32_t idle_drains; /* drains that found nothing new, for vanished threads */
	/* owner and list */
	_Atomic int state; /* enum ldp_samples_state */
	int tid;           /* the owner (written while CLAIMING) */
	struct ldp_samples *next;
	uint32_t nslots;   /* a power of two: LDP_SAMPLE_SLOTS, or more (sample.c) */
	uint8_t *slots;    /* nslots of ldp_sample_size() bytes */
};

extern int ldp_cpu_signal; /* 0 when CPU sampling is off */
extern int ldp_cpu_clock;  /* enum ldp_sample_clock */
extern int ldp_cpu_status; /* 0 ok, 1 stepped aside */
extern _Atomic uint64_t ldp_samples_lost_global; /* ticks that found no block of their thread */
int ldp_sample_init(void);
/* The calling thread's timer (and its block). At its exit: timer deleted,
 * block handed to the writer (DEAD). */
void ldp_sample_thread_start(void);
void ldp_sample_thread_stop(void);
/* The program takes our signal for itself: timers deleted, one line (signals.c). */
void ldp_sample_step_aside(int sig);
/* The calling thread is about to block (1) or has unblocked (0) the signal. */
void ldp_sample_thread_block(int block);
/* Timer state from the thread's real mask; a pending tick of ours taken off. */
void ldp_sample_thread_sync(void);
/* Every block there is (the writer drains them all). */
struct ldp_samples *ldp_samples_first(void);
static inline size_t ldp_sample_size(void)
{
	return sizeof(struct ldp_sample) + ldp_cfg.max_depth * sizeof(uintptr_t);
}
/* Sample number i (head and tail count them) of a block. */
static inline struct ldp_sample *ldp_sample_at(struct ldp_samples *s, uint32_t i)
{
	return (struct ldp_sample *)(s->slots + (size_t)(i & (s->nslots - 1)) * ldp_sample_size());
}
/* A fork child: no timer survived, the parent's samples are the parent's. */
void ldp_samples_after_fork_child(void);

/* ---- wall.c: wall-clock sampling (the writer looks at every thread) ------- */

/* Where wall.c's findings go: the writer writes them as records. */
struct ldp_wall_out {
	/* A WALL sample of tid at time_us standing for weight_ns (enum
	 * ldp_sample_state, the system call it waits in or -1); stack may be
	 * one just interned, or 0 (none). */
	void (*sample)(int tid, uint64_t time_us, uint64_t weight_ns, uint32_t stack, int state, long syscall);
	void (*thread)(int tid); /* a thread was looked at */
};

/* The writer starts (its memory: left out of fork children; out is where
 * looks go), ends (memory given back), or is a fork child's (the parent's
 * memory is not there: forgotten). @return 0, -1 without memory. */
int ldp_wall_start(const struct ldp_wall_out *out);
void ldp_wall_stop(void);
void ldp_wall_forget(void);
/* A look at every thread, in two steps with the CPU samples drained between
 * them (a running thread's look is placed among its CPU samples): where
 * each thread is now (@return 0, -1 without memory), then each look
 * written or kept waiting for the thread's next CPU sample. */
int ldp_wall_collect(void);
void ldp_wall_credit(uint64_t time_us, uint64_t interval_ns);
/* A CPU sample the writer drained: looks waiting for it take it or the one before. */
void ldp_wall_cpu_sample(int tid, uint32_t stack, uint64_t cpu_ns);
/* The last round: no sample will come, every waiting look takes what it has. */
void ldp_wall_flush(void);

/* ---- evbuf.c: the ring itself ---------------------------------------------- */
/* ringcut.c: a ring's decoding state as the writer has drained it (rotation):
 * what a RING record carries. */
struct ldp_ringcut {
	uint64_t seq, ptr;
	uint32_t tid;
	int attached;                /* an ATTACH was seen (with model memory): the state is known */
	struct ldp_model_dec *model; /* the 1.7 model; mapped at the first follow, kept for the ring's life */
};
/* Follow ring bytes [from, to) (whole events) into cut. */
void ldp_ringcut_follow(struct ldp_ringcut *cut, const uint8_t *buf, uint32_t mask, uint64_t from, uint64_t to);
/* The RING record of ring `ring` whose state is cut (attached), at most LDP_ENC_RING_MAX bytes. */
size_t ldp_enc_ring(uint8_t *dst, uint32_t ring, const struct ldp_ringcut *cut);

struct ldp_ring {
	/* producer side: written only by the owning thread */
	LDP_CACHE_ALIGN _Atomic uint64_t head; /* bytes committed, ever (published) */
	uint64_t whead;                         /* the producer's own copy of head */
	uint64_t tail_seen;                     /* last tail the producer read */
	struct ldp_enc_state enc;               /* encoder delta state */
	uint8_t scratch[LDP_EV_MAX];            /* an event that wraps the ring end */
	/* consumer side: written by the writer */
	LDP_CACHE_ALIGN _Atomic uint64_t tail; /* bytes consumed, ever */
	_Atomic uint32_t drained;               /* futex word, bumped after each drain */
	_Atomic uint32_t kicked;                /* producer asked the writer for a round */
	/* identity and list */
	_Atomic int state; /* enum ldp_ring_state */
	int tid;
	uint32_t id;
	uint64_t head_snap;   /* writer: head read at the start of the current round */
	uint64_t idle_rounds; /* writer: rounds without new data, for dead-thread detection */
	struct ldp_ringcut cut; /* writer, rotation on: the delta state at tail */
	struct ldp_ring *next;
	uint32_t size, mask;
	uint8_t *buf;
	/* capture scratch for this thread: keeps deep stacks off small thread stacks */
	uintptr_t ips[LDP_MAX_STACK_DEPTH + 8];
	uintptr_t stack_lo, stack_hi; /* the owning thread's stack, for wall-clock unwinding */
	/* nested.c: events of signal handlers that interrupted the owner's recording
	 * (which slots are taken: the owner's ldp_self.nested_n) */
	struct ldp_nested_ev nested[LDP_NESTED_SLOTS];
	uintptr_t nested_ips[LDP_NESTED_DEPTH];
};

/* Around a recording: raise busy and rec together; drain what signal
 * handlers left in the slots (nested.c) on the way out, and on the way in
 * too: a handler that came between a recording's last look at the slots
 * and its return left events there, older than anything recorded from now
 * on, so they go first. */
static LDP_ALWAYS_INLINE void ldp_rec_drain(struct ldp_thread *t)
{
	if (LDP_UNLIKELY(atomic_load_explicit(&t->nested_n, memory_order_relaxed)))
		ldp_nested_drain(t, t->ring);
}

#define LDP_BUSY_REC_ONE (1ull | 1ull << 32) /* busy + 1 and rec + 1 */

static LDP_ALWAYS_INLINE void ldp_rec_enter(struct ldp_thread *t)
{
	t->busy_rec += LDP_BUSY_REC_ONE;
	ldp_rec_drain(t);
}

static LDP_ALWAYS_INLINE void ldp_rec_leave(struct ldp_thread *t)
{
	ldp_rec_drain(t);
	t->busy_rec -= LDP_BUSY_REC_ONE;
}

/* A malloc-family call with busy raised: is it a signal handler's, made while
 * this thread was recording? */
static LDP_ALWAYS_INLINE int ldp_nestable(const struct ldp_thread *t)
{
	return t->busy == t->rec && t->rec > 0 && atomic_load_explicit(&ldp_heap_on, memory_order_relaxed);
}

struct ldp_ring *ldp_ring_claim(int tid);
uint8_t *ldp_ring_reserve_slow(struct ldp_ring *r);
void ldp_ring_commit_slow(struct ldp_ring *r, uint8_t *at, size_t n);

/* Reserve LDP_EV_MAX bytes; may block (never with an agent lock held) until the writer drains. */
static LDP_ALWAYS_INLINE uint8_t *ldp_ring_reserve(struct ldp_ring *r)
{
	uint64_t head = r->whead;
	uint32_t off = (uint32_t)head & r->mask;
	if (LDP_LIKELY(r->size - (head - r->tail_seen) >= LDP_EV_MAX && r->size - off >= LDP_EV_MAX))
		return r->buf + off;
	return ldp_ring_reserve_slow(r);
}

/* Commit n bytes written at the pointer reserve returned: one release store. */
static LDP_ALWAYS_INLINE void ldp_ring_commit(struct ldp_ring *r, uint8_t *at, size_t n)
{
	uint64_t head = r->whead + n;
	/* an event in scratch (it wraps the end), or the ring half full: ask for an early round */
	if (LDP_UNLIKELY(at == r->scratch || head - r->tail_seen > r->size / 2)) {
		ldp_ring_commit_slow(r, at, n);
		return;
	}
	r->whead = head;
	atomic_store_explicit(&r->head, head, memory_order_release);
}
struct ldp_ring *ldp_rings_first(void);
void ldp_rings_after_fork_child(void);
/* The writer's wake-up, owned here so the rings never call the writer:
 * ask for a round (async-signal-safe); the writer reads the count and sleeps
 * until it changes or timeout_ns passes. */
void ldp_rings_kick(void);
uint32_t ldp_rings_kicks(void);
void ldp_rings_wait(uint32_t seen, uint64_t timeout_ns);

/* ---- writer.c: the writer thread ----------------------------------------- */

/* Start the writer thread; it opens the trace (a fork child's with its pid
 * inserted) in an fd table of its own and writes the segment header.
 * @return 0, or <0 when tracing cannot start (one line said why). */
int ldp_writer_start(uint64_t start_mono_ns, int forked_child);
/* From a program thread that will not return (exit, _exit, abort): the
 * writer writes everything recorded so far (with end_reason, also an END
 * record and nothing after it) while the caller waits, at most about
 * timeout_ms. Async-signal-safe. */
int ldp_writer_flush(int end_reason, unsigned timeout_ms); /* -1: not written within timeout_ms */
/* The same, then the writer writes nothing until ldp_writer_release (exec:
 * the frame is ended and none may start before the image goes). 0: held. */
int ldp_writer_flush_and_hold(void);
void ldp_writer_release(void);
void ldp_writer_postfork_child(void);
uint64_t ldp_writer_start_ns(void);
/* A fatal signal (fatal.c): the same request, ending with END(LDP_END_SIGNAL,
 * sig). @return 0 when written. */
int ldp_writer_end_by_signal(int sig, unsigned timeout_ms);
int ldp_writer_is_self(void); /* is the calling thread the writer? */
/* Sampled mode, a program with one thread: no writer thread yet (writer.c,
 * "a writer that starts late"). The trace is opened when it starts, or
 * written whole by the thread that ends the program. */
int ldp_writer_defer(uint64_t start_mono_ns);
/* Start it now (a thread of the program's, no agent lock held, not a
 * signal handler; only in the agent's own process). 1 started, 0 nothing
 * to start, -1 it could not: tracing is off. */
int ldp_writer_undefer(void);
extern _Atomic int ldp_writer_deferred; /* LDP_WRITER_WAITING while no writer thread is wanted yet */
#define LDP_WRITER_WAITING 1
void ldp_writer_poll_slow(void);
/* At the sampled slow paths: tick the time floor, and start the writer
 * thread if it is due. Same context as ldp_writer_undefer. */
static inline void ldp_writer_poll(void)
{
	if (LDP_UNLIKELY(atomic_load_explicit(&ldp_writer_deferred, memory_order_relaxed) == LDP_WRITER_WAITING))
		ldp_writer_poll_slow();
}
/* Only the floor (async-signal-safe: the CPU sampling handler, and mmap,
 * which a handler may call: no thread is started there). */
void ldp_writer_tick_deferred(void);
static inline void ldp_writer_floor(void)
{
	if (LDP_UNLIKELY(atomic_load_explicit(&ldp_writer_deferred, memory_order_relaxed) == LDP_WRITER_WAITING))
		ldp_writer_tick_deferred();
}

/* ---- signals.c, forks.c, syscall.c: entry points programs call from signal
 * handlers (async-signal-safe in libc): their real functions are resolved at
 * start, so that no dlsym (loader lock, malloc) ever runs in a handler. */
void ldp_resolve_raw_calls(void);
void ldp_signals_resolve(void);
void ldp_forks_resolve(void);

/* ---- fatal.c: fatal signals end the trace --------------------------------- */

/* Put the agent's handler on every fatal signal the program left at SIG_DFL. */
void ldp_fatal_init(void);

/* ---- tracefile.c: naming, opening, header -------------------------------- */

/* Open the trace for this image (create, or append after an exec of the same
 * process) and write the segment header. @return fd or -errno. */
int ldp_tracefile_open(uint64_t start_mono_ns, int forked_child);
/* Take now what the next open needs (a writer that starts late). 0, or -1. */
int ldp_tracefile_reserve(void);
extern char ldp_trace_path[]; /* the path it opened (absolute when the template was) */
/* Rotation: create part index (> 0) of the trace opened last, header
 * included (it continues that image; part_start_us: when it begins); with
 * LDPROF_KEEP=N delete part index-N. @return the fd, or <0 (said why). */
int ldp_tracefile_open_part(unsigned index, uint64_t start_mono_ns, uint64_t part_start_us);
/* The name of part index of a trace whose part 0 is base. @return 0 or -1. */
int ldp_tracefile_part_path(char *out, size_t cap, const char *base, unsigned index);
/* Expand the path template; exposed for tests. @return 0 or -1 if too long. */
/* insert: NULL, or a suffix put before the file extension (".1234"). */
int ldp_tracefile_expand(char *out, size_t cap, const char *tmpl, int pid, const char *host, const char *prog,
			 uint64_t start_s, const char *insert);

#endif
