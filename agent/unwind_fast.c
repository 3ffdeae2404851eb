/*
 * unwind_fast.c - the fast unwinder: a global cache of per-address rules
 * (unwind_dwarf.c) and a frame walk that trusts nothing it reads.
 *
 * Rule cache: 16384 sets of 4 entries, one cache line per set, mapped once
 * at start and never grown (1 MiB of address space, touched as used).
 * Entries are two words, key then rule; the rule word carries 16 bits of a
 * hash of the key. Writers store rule then key, readers load key then rule
 * and accept the pair only if the check matches, so a read torn by a
 * concurrent writer (or a signal handler interrupting one) is a miss, never
 * a wrong rule. No locks, no allocation, any thread, any context.
 *
 * Misses: the objects loaded before the agent started (the executable and
 * everything it was linked against, ld.so, the vdso) never go away, so their
 * tables are read directly, in any context. Objects loaded later can be
 * unmapped by dlclose at any moment, so their tables are read only inside a
 * dl_iterate_phdr callback, which holds the loader's lock (the way libgcc's
 * unwinder does it); that takes a lock, so only the malloc path does it
 * (LDP_UW_MAY_LOCK), never a signal handler. When the loader's count of
 * unloaded objects moves, the cache is emptied: a new object at a recycled
 * address must not inherit old rules.
 *
 * The walk: every stack word it reads lies in [sp0, hi), the stack between
 * the starting frame and the thread's stack top, which is mapped by
 * construction; the CFA must grow strictly and stay 8-aligned. A failed check
 * ends the stack there (LDP_UW_STOPPED); a rule we do not interpret ends it
 * with LDP_UW_UNSUPPORTED so the caller can ask libunwind instead.
 */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>

#include "agent.h"
#include "prim.h"
#include "rawmem.h"

#define SET_BITS 14u
#define WAYS 4u
#define MAX_OBJECTS 1024u

struct entry {
	_Atomic uint64_t key; /* ip << 1 | exact; 0 = empty */
	_Atomic uint64_t rule;
};

struct set {
	LDP_CACHE_ALIGN struct entry e[WAYS];
};

static struct set *cache;
static struct ldp_uw_object *perm; /* objects loaded at start, sorted by text_lo */
static unsigned nperm;
static _Atomic unsigned long long seen_subs; /* loader's dlclose count when we last looked */
static _Atomic unsigned long long seen_adds;
static LDP_TLS unsigned victim;

static inline uint64_t hash_key(uint64_t key)
{
	return key * 0x9E3779B97F4A7C15ull;
}

/* The set: a cheap fold (no multiply: it is on the walk's critical path). */
static inline struct set *set_of(uint64_t key)
{
	uint64_t ip = key >> 1;
	return &cache[(ip ^ (ip >> SET_BITS) ^ (ip >> 2 * SET_BITS)) & ((1u << SET_BITS) - 1)];
}

static inline uint64_t check_of(uint64_t key)
{
	return (hash_key(key) >> 48) << 48;
}

static inline uint64_t cache_get(uint64_t key)
{
	struct set *s = set_of(key);
	for (unsigned w = 0; w < WAYS; w++) {
		if (atomic_load_explicit(&s->e[w].key, memory_order_acquire) != key)
			continue;
		uint64_t v = atomic_load_explicit(&s->e[w].rule, memory_order_relaxed);
		if ((v & ~((1ull << 48) - 1)) == check_of(key))
			return v & ((1ull << 48) - 1);
	}
	return 0;
}

static void cache_put(uint64_t key, uint64_t rule)
{
	struct set *s = set_of(key);
	unsigned w;
	for (w = 0; w < WAYS; w++) {
		uint64_t k = atomic_load_explicit(&s->e[w].key, memory_order_relaxed);
		if (k == 0 || k == key)
			break;
	}
	if (w == WAYS)
		w = victim++ % WAYS;
	atomic_store_explicit(&s->e[w].rule, rule | check_of(key), memory_order_relaxed);
	atomic_store_explicit(&s->e[w].key, key, memory_order_release);
}

static void cache_clear(void)
{
	for (uint64_t i = 0; i < (1ull << SET_BITS); i++)
		for (unsigned w = 0; w < WAYS; w++)
			if (atomic_load_explicit(&cache[i].e[w].key, memory_order_relaxed))
				atomic_store_explicit(&cache[i].e[w].key, 0, memory_order_relaxed);
}

/* ---- objects ---- */

struct collect {
	struct ldp_uw_object *out;
	unsigned n, cap;
	unsigned long long adds, subs;
};

static int collect_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct collect *c = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		c->adds = info->dlpi_adds;
		c->subs = info->dlpi_subs;
	}
	if (c->n < c->cap && ldp_uw_object_init(&c->out[c->n], info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum) == 0)
		c->n++;
	return 0;
}

int ldp_uw_fast_init(void)
{
	if (cache)
		return 0;
	cache = ldp_map(sizeof(struct set) << SET_BITS);
	struct collect c = {.cap = MAX_OBJECTS};
	c.out = ldp_raw_alloc(MAX_OBJECTS * sizeof *c.out);
	if (!cache || !c.out)
		return -1;
	dl_iterate_phdr(collect_cb, &c);
	/* insertion sort: a few dozen objects */
	for (unsigned i = 1; i < c.n; i++)
		for (unsigned j = i; j > 0 && c.out[j].text_lo < c.out[j - 1].text_lo; j--) {
			struct ldp_uw_object t = c.out[j];
			c.out[j] = c.out[j - 1];
			c.out[j - 1] = t;
		}
	perm = c.out;
	nperm = c.n;
	atomic_store(&seen_adds, c.adds);
	atomic_store(&seen_subs, c.subs);
	return 0;
}

static const struct ldp_uw_object *find_perm(uintptr_t pc)
{
	unsigned a = 0, b = nperm;
	while (a < b) {
		unsigned m = (a + b) / 2;
		if (pc < perm[m].text_lo)
			b = m;
		else if (pc >= perm[m].text_hi)
			a = m + 1;
		else
			return &perm[m];
	}
	return NULL;
}

struct find {
	uintptr_t pc, rip;
	uint64_t rule;
	unsigned long long adds, subs;
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		f->adds = info->dlpi_adds;
		f->subs = info->dlpi_subs;
	}
	const ElfW(Phdr) *ph = info->dlpi_phdr;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		uintptr_t lo = info->dlpi_addr + ph[i].p_vaddr;
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && f->pc >= lo && f->pc - lo < ph[i].p_memsz) {
			struct ldp_uw_object o;
			if (ldp_uw_object_init(&o, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum) == 0)
				f->rule = ldp_uw_rule(&o, f->pc, f->rip);
			return 1; /* the lock is still held: the tables were mapped while we read them */
		}
	}
	return 0;
}

/* The rule for a cache miss, or 0 when it cannot be found in this context. */
static uint64_t resolve(uintptr_t ip, int exact, unsigned flags)
{
	uintptr_t pc = exact ? ip : ip - 1;
	const struct ldp_uw_object *o = find_perm(pc);
	if (o)
		return ldp_uw_rule(o, pc, ip);
	if (!(flags & LDP_UW_MAY_LOCK))
		return 0;
	struct find f = {.pc = pc, .rip = ip};
	dl_iterate_phdr(find_cb, &f);
	if (f.subs != atomic_load_explicit(&seen_subs, memory_order_relaxed)) {
		atomic_store_explicit(&seen_subs, f.subs, memory_order_relaxed);
		cache_clear();
	}
	atomic_store_explicit(&seen_adds, f.adds, memory_order_relaxed);
	if (f.rule)
		return f.rule;
	/* No object holds it (JIT code, garbage). Remember that until the next dlopen. */
	return ldp_uwr_make(LDP_UWR_VALID | LDP_UWR_NOCODE, (int64_t)(f.adds & 0x7fffff), 0);
}

static inline int nocode_stale(uint64_t rule)
{
	return (uint64_t)ldp_uwr_cfa_off(rule) != (atomic_load_explicit(&seen_adds, memory_order_relaxed) & 0x7fffff);
}

unsigned ldp_uw_walk(struct ldp_uw_walk *w, struct ldp_uw_regs r, int exact)
{
	uintptr_t ip = r.ip, sp = r.sp, bp = r.bp;
	const uintptr_t hi = w->hi;
	uintptr_t *rd_at = w->rd_at, *rd_val = w->rd_val;
	unsigned n = 0, st = 0, nrd = 0, bp_live = 1, bp_used = 0;
	const unsigned rd_cap = rd_at ? w->rd_cap : 0;
	if (!cache || sp >= hi || (sp & 7)) {
		w->status = LDP_UW_STOPPED;
		w->nread = w->bp_used = 0;
		return 0;
	}
	for (;;) {
		uint64_t key = (uint64_t)ip << 1 | (unsigned)exact;
		uint64_t rule = cache_get(key);
		if (LDP_UNLIKELY(!rule || ((rule & LDP_UWR_NOCODE) && (w->flags & LDP_UW_MAY_LOCK) && nocode_stale(rule)))) {
			rule = resolve(ip, exact, w->flags);
			if (!rule) {
				st |= LDP_UW_MISS;
				break;
			}
			cache_put(key, rule);
		}
		if (LDP_UNLIKELY(rule & (LDP_UWR_OUTERMOST | LDP_UWR_UNSUPPORTED | LDP_UWR_NOCODE))) {
			if (rule & LDP_UWR_UNSUPPORTED)
				st |= LDP_UW_UNSUPPORTED;
			else if (rule & LDP_UWR_NOCODE)
				st |= LDP_UW_STOPPED;
			break;
		}
		uintptr_t base = sp;
		if (rule & LDP_UWR_CFA_RBP) {
			base = bp;
			bp_used |= bp_live;
		}
		uintptr_t cfa = base + (uintptr_t)ldp_uwr_cfa_off(rule);
		if (LDP_UNLIKELY(cfa < sp + 8 || cfa > hi || (cfa & 7))) {
			st |= LDP_UW_STOPPED;
			break;
		}
		uintptr_t ra = *(const uintptr_t *)(cfa - 8 + w->delta);
		if (rd_cap) {
			if (nrd < rd_cap) {
				rd_at[nrd] = cfa - 8;
				rd_val[nrd] = ra;
			}
			nrd++;
		}
		if (rule & (LDP_UWR_RBP_SAVED | LDP_UWR_RBP_UNDEF)) {
			bp_live = 0;
			bp = 0;
			if (rule & LDP_UWR_RBP_SAVED) {
				uintptr_t at = cfa + (uintptr_t)ldp_uwr_rbp_off(rule);
				if (LDP_UNLIKELY(at < sp || at > hi - 8)) {
					st |= LDP_UW_STOPPED;
					break;
				}
				bp = *(const uintptr_t *)(at + w->delta);
				if (rd_cap) {
					if (nrd < rd_cap) {
						rd_at[nrd] = at;
						rd_val[nrd] = bp;
					}
					nrd++;
				}
			}
		}
		sp = cfa;
		ip = ra;
		exact = 0;
		if (!ra)
			break; /* the outermost frame of some hand-made stacks */
		if (n == 0 && ra >= w->skip_lo && ra < w->skip_hi)
			continue;
		if (n == w->max) {
			st |= LDP_UW_TRUNCATED;
			break;
		}
		w->ips[n++] = ra;
	}
	w->status = st;
	w->nread = nrd <= rd_cap ? nrd : rd_cap + 1;
	w->bp_used = bp_used;
	return n;
}
