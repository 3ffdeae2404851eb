/*
 * unwind_fast.c - the fast unwinder: a global cache of per-address rules
 * (unwind_dwarf.c) and a frame walk that trusts nothing it reads.
 *
 * Rule cache: 16384 sets of 4 entries, one cache line per set, mapped once
 * at start and never grown (1 MiB of address space, touched as used; fewer
 * sets under RLIMIT_AS, sized to the agent's budget: rawmem.h).
 * Entries are two words, key then rule; the rule word carries 16 bits of a
 * hash of the key. Writers store rule then key, readers load key then rule
 * and accept the pair only if the check matches, so a read torn by a
 * concurrent writer (or a signal handler interrupting one) is a miss, never
 * a wrong rule. No locks, no allocation, any thread, any context.
 *
 * Misses: the objects loaded at program start (the executable and everything
 * it was linked against, ld.so, the vdso, LD_PRELOAD) never go away, so their
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

#define SET_BITS_MAX 14u
#define SET_BITS_MIN 8u
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
static unsigned set_bits = SET_BITS_MAX; /* fixed once the cache is mapped */
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
	return &cache[(ip ^ (ip >> set_bits) ^ (ip >> 2 * set_bits)) & ((1u << set_bits) - 1)];
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
	for (uint64_t i = 0; i < (1ull << set_bits); i++)
		for (unsigned w = 0; w < WAYS; w++)
			if (atomic_load_explicit(&cache[i].e[w].key, memory_order_relaxed))
				atomic_store_explicit(&cache[i].e[w].key, 0, memory_order_relaxed);
}

/* ---- objects ---- */

/*
 * Which objects never go away. glibc unloads only objects that dlopen loaded;
 * but by the time our constructor runs, other libraries' constructors have
 * run and may have dlopened (and may later dlclose) something. So an object
 * counts as permanent only if it is the executable, the vdso, the agent, an
 * LD_PRELOAD entry or libunwind (which we opened and never close), or what
 * one of those needs (DT_NEEDED, transitively). Everything else is read only
 * under the loader lock. Names and needs are copied inside the
 * dl_iterate_phdr callback, while the objects are certainly mapped.
 */
#define NAMES_BYTES (64u << 10)

struct seen {
	struct ldp_uw_object o;
	uint32_t name;          /* offset in names: basename of the path */
	uint32_t needs, nneeds; /* offsets in names of its DT_NEEDED entries, consecutive */
	int keep;
};

struct collect {
	struct seen *out;
	unsigned n, cap;
	char *names;
	uint32_t used;
	uint32_t *needs; /* offsets of DT_NEEDED names, in object order */
	uint32_t nneeds, needs_cap;
	unsigned long long adds, subs;
};

static uint32_t keep_name(struct collect *c, const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	if (len >= 256 || c->used + len + 1 > NAMES_BYTES)
		return UINT32_MAX;
	uint32_t at = c->used;
	memcpy(c->names + at, s, len);
	c->names[at + len] = '\0';
	c->used += (uint32_t)len + 1;
	return at;
}

/* Is [p, p + n) inside a readable PT_LOAD segment of this object? */
static int readable(const struct dl_phdr_info *info, uintptr_t p, size_t n)
{
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && p >= lo && p - lo <= ph->p_filesz &&
		    n <= ph->p_filesz - (p - lo))
			return 1;
	}
	return 0;
}

static void collect_needs(struct collect *c, struct seen *o, const struct dl_phdr_info *info)
{
	const ElfW(Dyn) *dyn = NULL;
	for (unsigned i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	o->needs = c->nneeds;
	o->nneeds = 0;
	if (!dyn)
		return;
	uintptr_t strtab = 0;
	for (const ElfW(Dyn) *d = dyn; readable(info, (uintptr_t)d, sizeof *d) && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_STRTAB)
			strtab = d->d_un.d_ptr;
	if (strtab && strtab < info->dlpi_addr)
		strtab += info->dlpi_addr; /* a read-only dynamic section the loader did not relocate */
	if (!strtab)
		return;
	for (const ElfW(Dyn) *d = dyn; readable(info, (uintptr_t)d, sizeof *d) && d->d_tag != DT_NULL; d++) {
		if (d->d_tag != DT_NEEDED || c->nneeds >= c->needs_cap)
			continue;
		uintptr_t name = strtab + d->d_un.d_val;
		if (!readable(info, name, 1))
			continue;
		/* the string table is file contents of a loaded segment: bound the name by it */
		uint32_t at = keep_name(c, (const char *)name, 256);
		if (at != UINT32_MAX) {
			c->needs[c->nneeds++] = at;
			o->nneeds++;
		}
	}
}

static int collect_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct collect *c = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		c->adds = info->dlpi_adds;
		c->subs = info->dlpi_subs;
	}
	if (c->n >= c->cap)
		return 0;
	struct seen *o = &c->out[c->n];
	memset(o, 0, sizeof *o);
	if (ldp_uw_object_init(&o->o, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum) != 0)
		return 0;
	const char *path = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(path, '/');
	o->name = keep_name(c, base ? base + 1 : path, 4096);
	/* The executable (no name, first), the vdso and the agent itself are roots. */
	uintptr_t self = (uintptr_t)&ldp_uw_fast_init;
	o->keep = c->n == 0 || !*path || !strcmp(path, "linux-vdso.so.1") ||
		  (self >= o->o.text_lo && self < o->o.text_hi);
	collect_needs(c, o, info);
	c->n++;
	return 0;
}

static int name_is(const struct collect *c, uint32_t at, const char *s, size_t len)
{
	return at != UINT32_MAX && strlen(c->names + at) == len && !memcmp(c->names + at, s, len);
}

/* Mark roots named in a list (LD_PRELOAD: paths separated by spaces or colons). */
static void keep_listed(struct collect *c, const char *list)
{
	while (list && *list) {
		size_t len = strcspn(list, " :");
		const char *item = list;
		for (size_t i = 0; i < len; i++)
			if (list[i] == '/')
				item = list + i + 1;
		size_t ilen = (size_t)(list + len - item);
		for (unsigned i = 0; i < c->n; i++)
			if (ilen && name_is(c, c->out[i].name, item, ilen))
				c->out[i].keep = 1;
		list += len;
		list += strspn(list, " :");
	}
}

/* DT_NEEDED of kept objects are kept, until nothing changes. */
static void keep_needed(struct collect *c)
{
	for (int changed = 1; changed;) {
		changed = 0;
		for (unsigned i = 0; i < c->n; i++) {
			if (!c->out[i].keep)
				continue;
			for (uint32_t k = 0; k < c->out[i].nneeds; k++) {
				const char *need = c->names + c->needs[c->out[i].needs + k];
				for (unsigned j = 0; j < c->n; j++)
					if (!c->out[j].keep && name_is(c, c->out[j].name, need, strlen(need))) {
						c->out[j].keep = 1;
						changed = 1;
					}
			}
		}
	}
}

int ldp_uw_cache_init(void)
{
	static _Atomic int mapping;
	if (__atomic_load_n(&cache, __ATOMIC_ACQUIRE))
		return 0;
	int expected = 0;
	if (!atomic_compare_exchange_strong(&mapping, &expected, 1)) {
		while (!__atomic_load_n(&cache, __ATOMIC_ACQUIRE) && atomic_load(&mapping) == 1)
			;
		return cache ? 0 : -1;
	}
	/* a sixteenth of the budget, 16 KiB at least */
	size_t bytes = ldp_budget_share(16, sizeof(struct set) << SET_BITS_MIN, sizeof(struct set) << SET_BITS_MAX);
	unsigned bits = SET_BITS_MIN;
	while ((sizeof(struct set) << (bits + 1)) <= bytes)
		bits++;
	set_bits = bits;
	struct set *c = ldp_raw_map(sizeof(struct set) << bits);
	__atomic_store_n(&cache, c, __ATOMIC_RELEASE);
	atomic_store(&mapping, c ? 2 : 0);
	return c ? 0 : -1;
}

void ldp_uw_fast_fini(void)
{
	if (cache)
		ldp_raw_unmap(cache, sizeof(struct set) << set_bits);
	cache = NULL;
	ldp_raw_free(perm);
	perm = NULL;
	nperm = 0;
}

int ldp_uw_fast_init(void)
{
	if (perm)
		return 0;
	if (ldp_uw_cache_init() != 0)
		return -1;
	struct collect c = {.cap = MAX_OBJECTS, .needs_cap = 8 * MAX_OBJECTS};
	c.out = ldp_raw_alloc(MAX_OBJECTS * sizeof *c.out);
	c.names = ldp_raw_alloc(NAMES_BYTES);
	c.needs = ldp_raw_alloc(c.needs_cap * sizeof *c.needs);
	perm = ldp_raw_alloc(MAX_OBJECTS * sizeof *perm);
	if (!c.out || !c.names || !c.needs || !perm) {
		ldp_raw_free(c.out);
		ldp_raw_free(c.names);
		ldp_raw_free(c.needs);
		ldp_raw_free(perm);
		perm = NULL;
		return -1;
	}
	dl_iterate_phdr(collect_cb, &c);
	keep_listed(&c, ldp_getenv("LD_PRELOAD"));
	keep_listed(&c, "libunwind.so.8"); /* opened by unwind.c, never closed */
	keep_needed(&c);
	nperm = 0;
	for (unsigned i = 0; i < c.n; i++)
		if (c.out[i].keep)
			perm[nperm++] = c.out[i].o;
	/* insertion sort: a few dozen objects */
	for (unsigned i = 1; i < nperm; i++)
		for (unsigned j = i; j > 0 && perm[j].text_lo < perm[j - 1].text_lo; j--) {
			struct ldp_uw_object t = perm[j];
			perm[j] = perm[j - 1];
			perm[j - 1] = t;
		}
	ldp_raw_free(c.out);
	ldp_raw_free(c.names);
	ldp_raw_free(c.needs);
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

int ldp_uw_permanent(uintptr_t pc)
{
	return find_perm(pc) != NULL;
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

const uintptr_t ldp_uw_zero = 0;

/*
 * Finish this walk's own states [0, ns), which still count rd and n from the
 * start, in one pass from the last state back: mark BP_NEED (need_after is
 * the next state's: a state's RBP mattered if its step used it, or passed it
 * on unchanged to a state whose RBP mattered); neutralise the saved-RBP words
 * nothing depends on (without frame pointers RBP is just another register,
 * and its saved values change from call to call); count rd and n to the end
 * (`words` recorded in all, `depth` frames in the result).
 */
static void finish_own(struct ldp_uw_trace *t, unsigned ns, unsigned need_after, unsigned words, unsigned depth)
{
	unsigned need = need_after;
	for (unsigned j = ns; j-- > 0;) {
		struct ldp_uw_state *s = &t->s[j];
		unsigned f = s->flags;
		if ((f & LDP_UWS_BP_WORD) && !need) {
			t->at[s->rd + 1] = (uintptr_t)&ldp_uw_zero;
			t->val[s->rd + 1] = 0;
		}
		need = (f & LDP_UWS_BP_USE) || (!(f & LDP_UWS_BP_SET) && need);
		s->flags = (uint16_t)(need ? f | LDP_UWS_BP_NEED : f & ~LDP_UWS_BP_NEED);
		s->rd = words - s->rd;
		s->n = (int16_t)((int)depth - s->n);
	}
}

/* The walk from state k of prev is the walk from here (state ns, n frames
 * stored, nrd words read): take the rest from prev. @return frames stored in all. */
static unsigned join(struct ldp_uw_walk *w, const struct ldp_uw_trace *prev, unsigned k, unsigned n,
		     struct ldp_uw_trace *cur, unsigned ns, unsigned nrd)
{
	const struct ldp_uw_state *o = &prev->s[k];
	unsigned p = prev->depth - (unsigned)o->n, rest = (unsigned)o->n, room = w->max - n;
	unsigned copy = rest < room ? rest : room, depth = n + copy;
	memcpy(w->ips + n, prev->ips + p, copy * sizeof *w->ips);
	w->joined = 1;
	w->join_n = n;
	w->join_p = p;
	w->join_whole = copy == rest;
	w->status = (prev->status & LDP_UW_TRUNCATED) || rest > room ? LDP_UW_TRUNCATED : 0;
	if (cur) {
		/* The record must hold every word the result depends on: prev's from state k on. */
		unsigned more_s = prev->nstates - k, more_w = o->rd;
		if (ns + more_s <= LDP_UW_STATES && nrd + more_w <= LDP_UW_WORDS) {
			finish_own(cur, ns, o->flags & LDP_UWS_BP_NEED, nrd + more_w, depth);
			memcpy(cur->s + ns, prev->s + k, more_s * sizeof *cur->s);
			if (copy != rest) /* cut at max: prev's counts to its end no longer hold */
				for (unsigned i = ns; i < ns + more_s; i++)
					cur->s[i].n = (int16_t)(cur->s[i].n - (int)(rest - copy));
			memcpy(cur->at + nrd, prev->at + prev->nrd - more_w, more_w * sizeof *cur->at);
			memcpy(cur->val + nrd, prev->val + prev->nrd - more_w, more_w * sizeof *cur->val);
			cur->nstates = ns + more_s;
			cur->nrd = nrd + more_w;
		} else {
			cur->nstates = 0;
		}
	}
	return depth;
}

/* The same as cache_get, with the table base in a register (the agent is
 * built -fno-strict-aliasing: every store in the walk would reload a global). */
static inline uint64_t cache_get_in(struct set *c, unsigned bits, uint64_t key)
{
	uint64_t ip = key >> 1;
	struct set *s = &c[(ip ^ (ip >> bits) ^ (ip >> 2 * bits)) & ((1u << bits) - 1)];
	for (unsigned w = 0; w < WAYS; w++) {
		if (atomic_load_explicit(&s->e[w].key, memory_order_acquire) != key)
			continue;
		uint64_t v = atomic_load_explicit(&s->e[w].rule, memory_order_relaxed);
		if ((v & ~((1ull << 48) - 1)) == check_of(key))
			return v & ((1ull << 48) - 1);
	}
	return 0;
}

unsigned ldp_uw_walk(struct ldp_uw_walk *w, struct ldp_uw_regs r, int exact)
{
	uintptr_t ip = r.ip, sp = r.sp, bp = r.bp;
	/* Everything the loop reads, in locals: see cache_get_in. */
	const uintptr_t hi = w->hi, skip_lo = w->skip_lo, skip_hi = w->skip_hi;
	const unsigned max = w->max, flags = w->flags;
	uintptr_t *restrict ips = w->ips;
	struct ldp_uw_trace *cur = w->cur;
	const struct ldp_uw_trace *prev = w->prev && w->prev->nstates ? w->prev : NULL;
	struct ldp_uw_state *restrict cs = cur ? cur->s : NULL;
	uintptr_t *restrict cat = cur ? cur->at : NULL, *restrict cval = cur ? cur->val : NULL;
	const struct ldp_uw_state *ps = prev ? prev->s : NULL;
	const uintptr_t *pat = prev ? prev->at : NULL, *pval = prev ? prev->val : NULL;
	const unsigned pns = prev ? prev->nstates : 0, pnrd = prev ? prev->nrd : 0;
	const unsigned pdepth = prev ? prev->depth : 0, ptrunc = prev ? prev->status & LDP_UW_TRUNCATED : 0;
	struct set *const c = cache;
	const unsigned bits = set_bits;
	unsigned n = 0, st = 0, nrd = 0, ns = 0, k = 0, fail_at = 0;
	int rec = cur != NULL; /* still recording: the record fits */
	w->joined = 0;
	w->steps = 0;
	if (!c || sp >= hi || (sp & 7)) {
		w->status = LDP_UW_STOPPED;
		if (cur)
			cur->nstates = 0;
		return 0;
	}
	for (;;) {
		struct ldp_uw_state *s = NULL;
		if (rec) {
			if (ns < LDP_UW_STATES && nrd + 2 <= LDP_UW_WORDS) {
				s = &cs[ns];
				s->sp = sp;
				s->ip = ip;
				s->bp = bp;
				s->rd = nrd;
				s->n = (int16_t)n;
				s->flags = 0;
			} else {
				rec = 0;
			}
		}
		if (ps) {
			/* prev's state at this sp: both walks' sp only grow. The start only matches the start. */
			if (ns) {
				k += !k;
				while (k < pns && ps[k].sp < sp)
					k++;
			}
			if (k < pns) {
				const struct ldp_uw_state *o = &ps[k];
				unsigned from = pnrd - o->rd;
				if (o->sp == sp && o->ip == ip && (!(o->flags & LDP_UWS_BP_NEED) || o->bp == bp) &&
				    from >= fail_at && o->n >= 0 && (!ptrunc || n + (unsigned)o->n >= pdepth)) {
					/* [sp, hi) is live stack and every later word of prev was read above sp */
					unsigned i = from;
					while (i < pnrd && *(const uintptr_t *)pat[i] == pval[i])
						i++;
					if (i == pnrd) {
						n = join(w, prev, k, n, rec ? cur : NULL, ns, nrd);
						if (cur && !rec)
							cur->nstates = 0;
						w->steps = ns;
						return n;
					}
					fail_at = i + 1;
				}
			}
		}
		ns++;
		uint64_t key = (uint64_t)ip << 1 | (unsigned)exact;
		uint64_t rule = cache_get_in(c, bits, key);
		if (LDP_UNLIKELY(!rule || ((rule & LDP_UWR_NOCODE) && (flags & LDP_UW_MAY_LOCK) && nocode_stale(rule)))) {
			rule = resolve(ip, exact, flags);
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
		unsigned sflags = 0;
		uintptr_t base = sp;
		if (rule & LDP_UWR_CFA_RBP) {
			base = bp;
			sflags = LDP_UWS_BP_USE;
		}
		uintptr_t cfa = base + (uintptr_t)ldp_uwr_cfa_off(rule);
		if (LDP_UNLIKELY(cfa < sp + 8 || cfa > hi || (cfa & 7))) {
			st |= LDP_UW_STOPPED;
			break;
		}
		uintptr_t ra = *(const uintptr_t *)(cfa - 8 + w->delta);
		if (s) {
			cat[nrd] = cfa - 8;
			cval[nrd] = ra;
			nrd++;
		}
		if (rule & (LDP_UWR_RBP_SAVED | LDP_UWR_RBP_UNDEF)) {
			sflags |= LDP_UWS_BP_SET;
			bp = 0;
			if (rule & LDP_UWR_RBP_SAVED) {
				uintptr_t at = cfa + (uintptr_t)ldp_uwr_rbp_off(rule);
				if (LDP_UNLIKELY(at < sp || at > hi - 8)) {
					st |= LDP_UW_STOPPED;
					break;
				}
				bp = *(const uintptr_t *)(at + w->delta);
				sflags |= LDP_UWS_BP_WORD;
				if (s) {
					cat[nrd] = at;
					cval[nrd] = bp;
					nrd++;
				}
			}
		}
		if (s)
			s->flags = (uint16_t)sflags;
		sp = cfa;
		ip = ra;
		exact = 0;
		if (!ra)
			break; /* the outermost frame of some hand-made stacks */
		if (n == 0 && ra >= skip_lo && ra < skip_hi)
			continue;
		if (n == max) {
			st |= LDP_UW_TRUNCATED;
			break;
		}
		ips[n++] = ra;
	}
	w->status = st;
	w->steps = ns;
	if (cur) {
		/* Only a complete walk is worth joining later. */
		if (rec && !(st & ~LDP_UW_TRUNCATED) && ns) {
			finish_own(cur, ns, 0, nrd, n);
			cur->nstates = ns;
			cur->nrd = nrd;
		} else {
			cur->nstates = 0;
		}
	}
	return n;
}
