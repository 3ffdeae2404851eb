/*
 * stacks.c - intern stacks: the same array of return addresses always gets
 * the same id, so events carry a small number instead of a stack.
 *
 * Picture:
 *   table:  open-addressed slots, each (hash32 << 32 | id), 0 = empty
 *   index:  id -> offset of the stack in words
 *   words:  [depth | flags << 16][ip 0][ip 1]...   append-only
 *
 * Lookups take no lock: a slot is published with a release store after the
 * stack's words and index entry are written, so a reader that sees the slot
 * sees the stack. Inserts take intern_lock. When the table passes half full,
 * a table twice the size is built and published; the old one is kept (a
 * lookup may still be reading it) and a miss there just falls back to the
 * locked path, which looks again in the current table.
 *
 * The writer reads ids [written, count) and emits STACK records before the
 * events of the same round, so every id in a trace is defined before use.
 */
#include <pthread.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

#define MAX_STACKS (1u << 24)
#define WORDS_RESERVE (1ull << 31) /* 2 GiB of address space, touched as used */

struct table {
	_Atomic uint64_t *slots;
	uint32_t mask;
};

static _Atomic(struct table *) cur;
static uint64_t *index_of;    /* id -> word offset */
static uint64_t *hash_of;     /* id -> hash: growing the table never rehashes stacks */
static uintptr_t *words;
static uint64_t words_used;
static _Atomic uint32_t count = 1; /* id 0 means "no stack" */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static int full_warned, init_failed;
static uint32_t max_stacks;   /* MAX_STACKS, less under RLIMIT_AS */
static uint64_t words_reserve; /* WORDS_RESERVE, less under RLIMIT_AS */

/* From the outermost frame in, so unwind.c can reuse the hash of a suffix. */
static uint64_t hash_stack(const uintptr_t *ips, unsigned depth, unsigned flags)
{
	uint64_t h = LDP_STACK_HASH_SEED;
	for (unsigned i = depth; i-- > 0;)
		h = ldp_stack_hash_step(h, ips[i]);
	return ldp_stack_hash_fin(h, depth, flags);
}

static int same_stack(uint32_t id, const uintptr_t *ips, unsigned depth, unsigned flags)
{
	const uintptr_t *w = words + index_of[id];
	return w[0] == (depth | (uintptr_t)flags << 16) && !memcmp(w + 1, ips, depth * sizeof *ips);
}

static uint32_t lookup(struct table *t, uint64_t h, const uintptr_t *ips, unsigned depth, unsigned flags)
{
	uint32_t tag = (uint32_t)(h >> 32);
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		uint64_t s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
		if (!s)
			return 0;
		if ((uint32_t)(s >> 32) == tag && same_stack((uint32_t)s, ips, depth, flags))
			return (uint32_t)s;
	}
}

static void place(struct table *t, uint64_t h, uint32_t id)
{
	uint32_t i = (uint32_t)h & t->mask;
	while (atomic_load_explicit(&t->slots[i], memory_order_relaxed))
		i = (i + 1) & t->mask;
	atomic_store_explicit(&t->slots[i], (h >> 32) << 32 | id, memory_order_release);
}

static struct table *table_new(uint32_t nslots)
{
	struct table *t = ldp_raw_alloc(sizeof *t);
	if (!t)
		return NULL;
	t->slots = ldp_raw_alloc(nslots * sizeof *t->slots);
	if (!t->slots) {
		ldp_raw_free(t);
		return NULL;
	}
	t->mask = nslots - 1;
	return t;
}

/* Reserved address space costs nothing (MAP_NORESERVE, touched as used) -
 * unless the program runs under RLIMIT_AS: there every reserved byte is one
 * the program can no longer have. Under a limit the tables take an eighth of
 * the agent's budget (rawmem.h); the index and hashes 1/16 of that again. */
static void size_tables(void)
{
	words_reserve = ldp_budget_share(8, 256u << 10, WORDS_RESERVE);
	max_stacks = (uint32_t)(words_reserve / 128 < MAX_STACKS ? words_reserve / 128 : MAX_STACKS);
}

/* Called with intern_lock held. On failure nothing stays mapped and it is
 * not tried again: events are then recorded without stacks. */
static int ensure_init(void)
{
	if (atomic_load_explicit(&cur, memory_order_acquire))
		return 0;
	if (init_failed)
		return -1;
	size_tables();
	index_of = ldp_raw_map(max_stacks * sizeof *index_of);
	hash_of = ldp_raw_map(max_stacks * sizeof *hash_of);
	words = ldp_raw_map(words_reserve);
	struct table *t = table_new(1u << 12);
	if (!index_of || !hash_of || !words || !t) {
		ldp_raw_unmap(index_of, max_stacks * sizeof *index_of);
		ldp_raw_unmap(hash_of, max_stacks * sizeof *hash_of);
		ldp_raw_unmap(words, words_reserve);
		if (t) {
			ldp_raw_free((void *)t->slots);
			ldp_raw_free(t);
		}
		index_of = NULL;
		hash_of = NULL;
		words = NULL;
		init_failed = 1;
		ldp_warn("cannot reserve memory for the stack table; allocations are recorded without stacks");
		return -1;
	}
	atomic_store_explicit(&cur, t, memory_order_release);
	return 0;
}

/* Called with intern_lock held. */
static void grow(uint32_t n)
{
	struct table *old = atomic_load_explicit(&cur, memory_order_relaxed);
	if (n * 2 < old->mask + 1)
		return;
	struct table *t = table_new((old->mask + 1) * 2);
	if (!t)
		return; /* stay at the higher load factor */
	for (uint32_t id = 1; id < n; id++)
		place(t, hash_of[id], id);
	atomic_store_explicit(&cur, t, memory_order_release);
}

enum { INTERN_QUIET = 0, INTERN_RESCAN = 1, INTERN_TRY = 2 };

static uint32_t intern(const uintptr_t *ips, unsigned depth, unsigned flags, uint64_t h, int how)
{
	struct table *t = atomic_load_explicit(&cur, memory_order_acquire);
	uint32_t id = t ? lookup(t, h, ips, depth, flags) : 0;
	if (LDP_LIKELY(id))
		return id;

	/* A new stack: make sure the reporter will know its modules (no lock held). */
	if (how == INTERN_RESCAN)
		ldp_modules_cover(ips, depth);

	if (how == INTERN_TRY) {
		/* A signal handler: the lock may be held by the code it interrupted. */
		if (!t || pthread_mutex_trylock(&intern_lock) != 0)
			return 0;
	} else if (ldp_lock_unless_apart(&intern_lock) != 0) {
		return 0; /* a copy of the agent, the lock held by a thread not here */
	}
	if (ensure_init() != 0) {
		pthread_mutex_unlock(&intern_lock);
		return 0;
	}
	t = atomic_load_explicit(&cur, memory_order_relaxed);
	id = lookup(t, h, ips, depth, flags);
	if (!id) {
		uint32_t n = atomic_load_explicit(&count, memory_order_relaxed);
		/* Full: no id left, no words left, or a table that could not grow
		 * (the budget: rawmem.h) kept at most 3/4 full, so probes end. */
		if (n >= max_stacks || (words_used + depth + 1) * sizeof *words > words_reserve ||
		    (uint64_t)n * 4 >= (uint64_t)(t->mask + 1) * 3) {
			if (!full_warned++)
				ldp_warn("stack table full; further new stacks are recorded without a stack");
			pthread_mutex_unlock(&intern_lock);
			return 0;
		}
		uintptr_t *w = words + words_used;
		w[0] = depth | (uintptr_t)flags << 16;
		memcpy(w + 1, ips, depth * sizeof *ips);
		index_of[n] = words_used;
		hash_of[n] = h;
		words_used += depth + 1;
		id = n;
		atomic_store_explicit(&count, n + 1, memory_order_release);
		place(t, h, id);
		grow(n + 1);
	}
	pthread_mutex_unlock(&intern_lock);
	return id;
}

uint32_t ldp_stack_intern_hashed(const uintptr_t *ips, unsigned depth, unsigned flags, uint64_t h)
{
	return intern(ips, depth, flags, h, INTERN_RESCAN);
}

uint32_t ldp_stack_intern(const uintptr_t *ips, unsigned depth, unsigned flags)
{
	return intern(ips, depth, flags, hash_stack(ips, depth, flags), INTERN_RESCAN);
}

uint32_t ldp_stack_intern_quiet(const uintptr_t *ips, unsigned depth, unsigned flags)
{
	return intern(ips, depth, flags, hash_stack(ips, depth, flags), INTERN_QUIET);
}

uint32_t ldp_stack_intern_try(const uintptr_t *ips, unsigned depth, unsigned flags)
{
	return intern(ips, depth, flags, hash_stack(ips, depth, flags), INTERN_TRY);
}

uint32_t ldp_stacks_count(void)
{
	return atomic_load_explicit(&count, memory_order_acquire);
}

const uintptr_t *ldp_stack_get(uint32_t id, unsigned *depth, unsigned *flags)
{
	const uintptr_t *w = words + index_of[id];
	*depth = (unsigned)(w[0] & 0xffff);
	*flags = (unsigned)(w[0] >> 16);
	return w + 1;
}

void ldp_stacks_lock(void)
{
	pthread_mutex_lock(&intern_lock);
}

void ldp_stacks_unlock(void)
{
	pthread_mutex_unlock(&intern_lock);
}

void ldp_stacks_after_fork_child(void)
{
	pthread_mutex_init(&intern_lock, NULL);
}
