/*
 * early.c - heap events from before the agent's constructor.
 *
 * Other libraries' constructors run before ours: a preloaded library is
 * initialised after every library it does not depend on, so libstdc++'s
 * 72 704-byte emergency exception pool (in every C++ program) and whatever
 * plugins allocate in their constructors reach our malloc before there is a
 * config, a module table, a ring or a writer. Those events are kept here,
 * each with its sequence number (the same per-address Lamport clock as every
 * later event, so their order with later events holds) and its stack.
 *
 * Capture, on the program's thread (busy raised by the caller): the fast
 * unwinder only (ldp_unwind_early: its rule cache is mapped on the first
 * event, every miss looked up under the loader lock; libunwind is not loaded
 * yet); the thread's stack bounds without allocating for the main thread
 * (__libc_stack_end), with pthread_getattr_np for any other (its allocations
 * pass through untraced, busy is raised). Storage: chunks of CHUNK bytes,
 * the first one static, more mapped as needed (C++ programs with big static
 * initialisers) up to MAX_CHUNKS, charged to the budget (rawmem.h); in each,
 * events grow up from its start and stacks down from its end, each distinct
 * stack kept once (a small hash table of references). No malloc; one
 * spinlock, held for a copy (a signal handler on the same thread sees busy
 * raised and passes through, so it can never spin on it). What does not fit
 * is counted and said (one line) when tracing starts; the mapped chunks go
 * back after the replay.
 *
 * Replay, in the constructor once tracing has started (ldp_early_replay):
 * capture closes (and the captures under way finish), stacks are interned (the module scan covers their objects
 * by then), and each thread's events go into a ring of their own, claimed
 * for its tid and left as a dead thread's ring is (the writer drains and
 * frees it; the thread's next event claims a ring of its own as usual).
 * Dropped instead (ldp_early_replay(0)) when tracing does not start, with
 * mode off, and in sampled mode (those blocks were never sampled), and in a
 * process other than the one that recorded them (a constructor that forked).
 */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

#define CHUNK (128u << 10)
#define MAX_CHUNKS 128u  /* 16 MiB at most */
#define EARLY_DEPTH 64u    /* stacks deeper than this are kept truncated */
#define EARLY_SLOTS 1024u  /* distinct stacks findable by hash (more are kept, not shared) */
#define EARLY_TIDS 64u     /* threads with rings of their own at replay */

struct early_stack {
	uint64_t hash;
	uint32_t id; /* interned id, at replay */
	uint16_t depth, flags;
	uintptr_t ips[];
};

struct early_ev {
	uint32_t stack; /* reference of its early_stack (ref_at); 0: none */
	int32_t tid;
	uint32_t op;    /* LDP_EV_ALLOC_* or LDP_EV_FREE */
	uint32_t pad;
	uint64_t seq, ptr, size;
};

_Atomic int ldp_early_open = 1;
static _Alignas(16) uint8_t first_chunk[CHUNK];
static uint8_t *chunks[MAX_CHUNKS] = {first_chunk};
static struct {
	uint32_t ev_end;   /* events: [0, ev_end) */
	uint32_t st_start; /* stacks: [st_start, CHUNK) */
} fill[MAX_CHUNKS] = {{0, CHUNK}};
static unsigned nchunks = 1;        /* the last one is being filled */
static uint32_t slots[EARLY_SLOTS]; /* references of stacks, by hash */
static _Atomic int store_lock;
static uint64_t lost_allocs, lost_frees;
static int first_pid;
static _Atomic int setup_state; /* 0 not yet, 1 under way, 2 done */
static _Atomic int capturing;   /* captures under way (the replay waits for them) */

extern void *__libc_stack_end; /* ld.so: the main thread's stack top at start */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

static void lock(void)
{
	while (atomic_exchange_explicit(&store_lock, 1, memory_order_acquire))
		;
}

static void unlock(void)
{
	atomic_store_explicit(&store_lock, 0, memory_order_release);
}

/* The agent's own address range (modules.c sets the same later), so the
 * walk drops our frames: from our ELF header, no loader call. */
static void self_range(void)
{
	const uint8_t *base = (const uint8_t *)&__ehdr_start;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + __ehdr_start.e_phoff);
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (unsigned i = 0; i < __ehdr_start.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uintptr_t a = (uintptr_t)base + ph[i].p_vaddr, b = a + ph[i].p_memsz;
		lo = a < lo ? a : lo;
		hi = b > hi ? b : hi;
	}
	if (lo < hi && !ldp_self_hi) {
		ldp_self_lo = lo;
		ldp_self_hi = hi;
	}
}

static void setup(void)
{
	int expected = 0;
	if (atomic_compare_exchange_strong(&setup_state, &expected, 1)) {
		self_range();
		first_pid = getpid();
		ldp_budget_init(); /* under RLIMIT_AS the cache is sized to it (rawmem.h) */
		ldp_uw_cache_init();
		atomic_store(&setup_state, 2);
	}
	while (atomic_load(&setup_state) != 2)
		;
}

/* This thread's stack bounds, for the walk. */
static void thread_stack(struct ldp_thread *t)
{
	if (!t->tid)
		t->tid = ldp_gettid();
	if (t->stack_hi)
		return;
	if (t->tid == getpid()) {
		/* The main thread: up to the page holding the start-up stack's
		 * top (argv, environ and auxv lie above __libc_stack_end, mapped). */
		t->stack_lo = 0;
		t->stack_hi = ((uintptr_t)__libc_stack_end + 4095) & ~(uintptr_t)4095;
	} else {
		ldp_unwind_thread_init(); /* allocates: untraced, busy is raised */
	}
}

static uint64_t hash_ips(const uintptr_t *ips, unsigned depth, unsigned flags)
{
	uint64_t h = LDP_STACK_HASH_SEED;
	for (unsigned i = depth; i-- > 0;)
		h = ldp_stack_hash_step(h, ips[i]);
	return ldp_stack_hash_fin(h, depth, flags);
}

/* A reference: chunk * CHUNK + offset + 1 (0 is none). */
static void *ref_at(uint32_t ref)
{
	ref--;
	return chunks[ref / CHUNK] + ref % CHUNK;
}

/* need bytes free in the chunk being filled, opening a new one if it has
 * not (lock held). @return 0, or -1 when there is no more room. */
static int room(size_t need)
{
	unsigned c = nchunks - 1;
	if (fill[c].st_start - fill[c].ev_end >= need)
		return 0;
	if (nchunks == MAX_CHUNKS || !(chunks[nchunks] = ldp_raw_map(CHUNK)))
		return -1;
	fill[nchunks].ev_end = 0;
	fill[nchunks].st_start = CHUNK;
	nchunks++;
	return 0;
}

/* An event and, unless it is kept already, its stack (lock held).
 * @return 0, or -1 when the event does not fit. */
static int keep_locked(const struct early_ev *ev, const uintptr_t *ips, unsigned depth, unsigned flags)
{
	uint32_t stack = 0, *slot = NULL;
	uint64_t h = 0;
	size_t need = sizeof *ev;
	if (ips) {
		h = hash_ips(ips, depth, flags);
		uint32_t i = (uint32_t)h & (EARLY_SLOTS - 1);
		for (unsigned probes = 0; probes < 8 && !stack; probes++, i = (i + 1) & (EARLY_SLOTS - 1)) {
			if (!slots[i]) {
				slot = &slots[i];
				break;
			}
			const struct early_stack *s = ref_at(slots[i]);
			if (s->hash == h && s->depth == depth && s->flags == flags &&
			    !memcmp(s->ips, ips, depth * sizeof *ips))
				stack = slots[i];
		}
		if (!stack)
			need += sizeof(struct early_stack) + depth * sizeof *ips;
	}
	if (room(need) != 0) {
		if (stack || !ips || room(sizeof *ev) != 0)
			return -1;
		ips = NULL; /* room for the event alone: kept without its stack */
	}
	unsigned c = nchunks - 1;
	if (ips && !stack) {
		fill[c].st_start -= (uint32_t)(need - sizeof *ev);
		struct early_stack *s = (void *)(chunks[c] + fill[c].st_start);
		s->hash = h;
		s->id = 0;
		s->depth = (uint16_t)depth;
		s->flags = (uint16_t)flags;
		memcpy(s->ips, ips, depth * sizeof *ips);
		stack = c * CHUNK + fill[c].st_start + 1;
		if (slot)
			*slot = stack;
	}
	struct early_ev *e = (void *)(chunks[c] + fill[c].ev_end);
	*e = *ev;
	e->stack = stack;
	fill[c].ev_end += sizeof *e;
	return 0;
}

static void keep(unsigned op, int tid, uint64_t seq, uintptr_t ptr, uint64_t size, const uintptr_t *ips,
		 unsigned depth, unsigned flags)
{
	struct early_ev ev = {.tid = tid, .op = op, .seq = seq, .ptr = ptr, .size = size};
	lock();
	/* closed meanwhile: tracing has started, or never will */
	if (atomic_load_explicit(&ldp_early_open, memory_order_relaxed) &&
	    keep_locked(&ev, ips, depth, flags) != 0) {
		if (op == LDP_EV_FREE)
			lost_frees++;
		else
			lost_allocs++;
	}
	unlock();
}

void ldp_early_alloc(struct ldp_thread *t, void *p, size_t size, unsigned op)
{
	atomic_fetch_add(&capturing, 1);
	if (atomic_load(&ldp_early_open)) {
		setup();
		thread_stack(t);
		uintptr_t ips[EARLY_DEPTH];
		int truncated;
		unsigned depth = ldp_unwind_early(ips, EARLY_DEPTH, &truncated);
		uint64_t seq = ldp_seq_next(t, (uintptr_t)p); /* after the real call returned: seq.c */
		keep(op, t->tid, seq, (uintptr_t)p, size, ips, depth, truncated ? LDP_STACK_TRUNCATED : 0);
	}
	atomic_fetch_sub(&capturing, 1);
}

void ldp_early_free(struct ldp_thread *t, void *p, uint64_t seq)
{
	if (!t->tid)
		t->tid = ldp_gettid();
	keep(LDP_EV_FREE, t->tid, seq, (uintptr_t)p, 0, NULL, 0, 0);
}

/* The ring holding tid's replayed events, claimed (and its ATTACH written) on first use. */
static struct ldp_ring *ring_for(int tid, int *tids, struct ldp_ring **rings, unsigned *n)
{
	for (unsigned i = 0; i < *n; i++)
		if (tids[i] == tid)
			return rings[i];
	if (*n == EARLY_TIDS)
		return rings[*n - 1]; /* absurdly many threads before start: the last one's ring */
	struct ldp_ring *r = ldp_ring_claim(tid);
	if (!r)
		return NULL;
	uint8_t *at = ldp_ring_reserve(r);
	ldp_ring_commit(r, at, ldp_enc_attach(at, &r->enc, (uint32_t)tid));
	tids[*n] = tid;
	rings[(*n)++] = r;
	return r;
}

static uint32_t stack_id(uint32_t ref)
{
	if (!ref)
		return 0;
	struct early_stack *s = ref_at(ref);
	if (!s->id) {
		unsigned depth = s->depth, flags = s->flags;
		if (depth > ldp_cfg.max_depth) {
			depth = ldp_cfg.max_depth;
			flags |= LDP_STACK_TRUNCATED;
		}
		s->id = ldp_stack_intern(s->ips, depth, flags);
	}
	return s->id;
}

static void replay(void)
{
	int tids[EARLY_TIDS];
	struct ldp_ring *rings[EARLY_TIDS];
	unsigned nrings = 0;
	for (unsigned c = 0; c < nchunks; c++) {
		for (uint32_t off = 0; off < fill[c].ev_end; off += sizeof(struct early_ev)) {
			const struct early_ev *e = (const void *)(chunks[c] + off);
			struct ldp_ring *r = ring_for(e->tid, tids, rings, &nrings);
			if (!r)
				goto done; /* no memory for a ring: ldp_disable said so */
			uint32_t stack = e->op == LDP_EV_FREE ? 0 : stack_id(e->stack);
			uint8_t *at = ldp_ring_reserve(r);
			size_t n = e->op == LDP_EV_FREE ? ldp_enc_free(at, &r->enc, e->seq, e->ptr)
							: ldp_enc_alloc(at, &r->enc, e->op, e->seq, e->ptr, e->size, stack);
			ldp_ring_commit(r, at, n);
		}
	}
done:
	for (unsigned i = 0; i < nrings; i++)
		atomic_store_explicit(&rings[i]->state, LDP_RING_DEAD, memory_order_release);
	if (nrings)
		ldp_rings_kick();
	if (lost_allocs || lost_frees)
		ldp_warn("%lu allocations and %lu frees made before the agent started were not kept (its %u KiB "
			 "store was full): they are missing from the trace",
			 (unsigned long)lost_allocs, (unsigned long)lost_frees, (MAX_CHUNKS * CHUNK) >> 10);
}

void ldp_early_replay(int keep_events)
{
	lock();
	atomic_store(&ldp_early_open, 0);
	unlock(); /* from here on nothing is added */
	while (atomic_load(&capturing))
		sched_yield(); /* a walk under way may still read the rule cache */
	if (keep_events && first_pid == getpid())
		replay();
	for (unsigned c = 1; c < nchunks; c++)
		ldp_raw_unmap(chunks[c], CHUNK);
	nchunks = 1;
}
