/*
 * modules.c - the table of loaded objects (executable, libraries, vdso):
 * load bias, path, GNU build-id and PT_LOAD segments, so the reporter can
 * symbolize offline, on another machine, after the object is gone.
 *
 * The table only grows: an object that is dlclosed stays, so stacks that
 * point into it still symbolize. It is filled at start and again whenever a
 * new stack holds an address outside every known object (a dlopen happened),
 * or anywhere once an object was unloaded since the last scan: the loader
 * may put the next one where the gone one was (the soak test's library,
 * loaded 110 times, came back at 6 addresses, but over the old ranges, so
 * only 6 loads were recorded and the rest of its stacks did not symbolize).
 * dl_iterate_phdr takes the loader lock, so it is only ever called with no
 * agent lock held (lock ranks in agent.h); the callback copies into agent
 * memory and never allocates through malloc.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

#define MAX_MODULES 8192u

static struct ldp_module **mods;
static _Atomic unsigned nmods;
static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long last_adds, last_subs;
static unsigned initial_mods; /* objects there at start (the program and what it needs: never unloaded) */
uintptr_t ldp_self_lo, ldp_self_hi;

/* A scan's findings, before they are merged into the table. */
struct scan {
	struct ldp_module *found;
	unsigned n, cap;
	unsigned long long adds, subs;
};

static void read_build_id(struct ldp_module *m, const ElfW(Phdr) *ph, uintptr_t base)
{
	const unsigned char *p = (const unsigned char *)(base + ph->p_vaddr);
	const unsigned char *end = p + ph->p_memsz;
	while (p + sizeof(ElfW(Nhdr)) <= end) {
		const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
		size_t name = (nh->n_namesz + 3) & ~3u, desc = (nh->n_descsz + 3) & ~3u;
		const unsigned char *d = p + sizeof *nh + name;
		if (d + nh->n_descsz > end)
			return;
		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(p + sizeof *nh, "GNU", 4) &&
		    nh->n_descsz <= LDP_MAX_BUILD_ID_LEN) {
			memcpy(m->build_id, d, nh->n_descsz);
			m->build_id_len = nh->n_descsz;
			return;
		}
		p = d + desc;
	}
}

/* The main program: dl_iterate_phdr gives it no name. Its path is read into
 * agent memory, not onto the stack of whatever thread met a new module. */
static LDP_NOINLINE char *copy_exe_path(void)
{
	char *p = ldp_raw_alloc(LDP_MAX_PATH_LEN);
	if (!p)
		return NULL;
	ssize_t n = readlink("/proc/self/exe", p, LDP_MAX_PATH_LEN - 1);
	p[n > 0 ? n : 0] = '\0';
	return p;
}

/* dlopen("sub/lib.so") leaves the name relative: made absolute against the
 * working directory now, normally just after the dlopen (the reporter runs
 * elsewhere, and a later chdir would lose it). A name without a slash is no
 * path ("linux-vdso.so.1"): kept as it is. getcwd with a buffer calls no
 * malloc. */
static char *copy_path(const char *name)
{
	if (!name || !*name)
		return copy_exe_path();
	size_t len = strnlen(name, LDP_MAX_PATH_LEN - 1), at = 0;
	char *p = ldp_raw_alloc(name[0] == '/' ? len + 1 : LDP_MAX_PATH_LEN);
	if (!p)
		return NULL;
	if (name[0] != '/' && memchr(name, '/', len) && getcwd(p, LDP_MAX_PATH_LEN - 1)) {
		at = strlen(p);
		if (at + 1 + len >= LDP_MAX_PATH_LEN)
			at = 0; /* too long: keep the name as it was */
		else if (p[at - 1] != '/')
			p[at++] = '/';
	}
	memcpy(p + at, name, len);
	p[at + len] = '\0';
	return p;
}

static int scan_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *s = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_tls_modid)) {
		s->adds = info->dlpi_adds;
		s->subs = info->dlpi_subs;
	}
	if (s->n >= s->cap)
		return 1;
	struct ldp_module *m = &s->found[s->n];
	memset(m, 0, sizeof *m);
	m->base = info->dlpi_addr;
	m->lo = UINTPTR_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE && !m->build_id_len)
			read_build_id(m, ph, info->dlpi_addr);
		if (ph->p_type != PT_LOAD || m->nseg >= sizeof m->seg / sizeof *m->seg)
			continue;
		struct ldp_segment *sg = &m->seg[m->nseg++];
		sg->vaddr = ph->p_vaddr;
		sg->memsz = ph->p_memsz;
		sg->flags = (ph->p_flags & PF_X ? LDP_SEG_X : 0) | (ph->p_flags & PF_W ? LDP_SEG_W : 0) |
			    (ph->p_flags & PF_R ? LDP_SEG_R : 0);
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (lo < m->lo)
			m->lo = lo;
		if (hi > m->hi)
			m->hi = hi;
	}
	if (!m->nseg)
		return 0;
	m->path = copy_path(info->dlpi_name);
	s->n++;
	return 0;
}

static int overlaps(const struct ldp_module *a, const struct ldp_module *b)
{
	for (unsigned i = 0; i < a->nseg; i++)
		for (unsigned k = 0; k < b->nseg; k++) {
			uintptr_t lo1 = a->base + a->seg[i].vaddr, hi1 = lo1 + a->seg[i].memsz;
			uintptr_t lo2 = b->base + b->seg[k].vaddr, hi2 = lo2 + b->seg[k].memsz;
			if (lo1 < hi2 && lo2 < hi1)
				return 1;
		}
	return 0;
}

/* Is m recorded already, as the latest record over its range? An object
 * loaded again where it was before, after another was recorded over part
 * of that range, is recorded again: the reporter gives each stack the
 * latest module recorded before it (sym_resolve). */
static int known(const struct ldp_module *m)
{
	unsigned n = atomic_load_explicit(&nmods, memory_order_relaxed);
	for (unsigned i = n; i-- > 0;) {
		if (mods[i]->base == m->base && mods[i]->lo == m->lo && mods[i]->hi == m->hi &&
		    !strcmp(mods[i]->path ? mods[i]->path : "", m->path ? m->path : ""))
			return 1;
		if (overlaps(mods[i], m))
			return 0;
	}
	return 0;
}

/* Scan the loaded objects and append the new ones. No agent lock may be held. */
static void rescan(void)
{
	struct scan s = {.cap = (unsigned)(ldp_budget_share(16, 64 * sizeof *s.found, 1024 * sizeof *s.found) /
					    sizeof *s.found)};
	s.found = ldp_raw_alloc(s.cap * sizeof *s.found);
	if (!s.found)
		return;
	dl_iterate_phdr(scan_cb, &s);

	if (ldp_lock_unless_apart(&module_lock) != 0) {
		for (unsigned i = 0; i < s.n; i++)
			ldp_raw_free(s.found[i].path);
		ldp_raw_free(s.found);
		return;
	}
	last_adds = s.adds;
	last_subs = s.subs;
	for (unsigned i = 0; i < s.n; i++) {
		struct ldp_module *m = &s.found[i];
		unsigned n = atomic_load_explicit(&nmods, memory_order_relaxed);
		if (known(m) || n >= MAX_MODULES) {
			ldp_raw_free(m->path);
			continue;
		}
		struct ldp_module *keep = ldp_raw_alloc(sizeof *keep);
		if (!keep)
			break;
		*keep = *m;
		mods[n] = keep;
		atomic_store_explicit(&nmods, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&module_lock);
	ldp_raw_free(s.found);
}

void ldp_modules_fini(void)
{
	unsigned n = atomic_load(&nmods);
	for (unsigned i = 0; mods && i < n; i++) {
		ldp_raw_free(mods[i]->path);
		ldp_raw_free(mods[i]);
	}
	atomic_store(&nmods, 0);
	ldp_raw_free(mods);
	mods = NULL;
}

int ldp_modules_init(void)
{
	mods = ldp_raw_alloc(MAX_MODULES * sizeof *mods);
	if (!mods)
		return -1;
	rescan();
	initial_mods = atomic_load(&nmods);
	uintptr_t self = (uintptr_t)&ldp_modules_init;
	for (unsigned i = 0; i < atomic_load(&nmods); i++)
		if (mods[i]->lo <= self && self < mods[i]->hi) {
			ldp_self_lo = mods[i]->lo;
			ldp_self_hi = mods[i]->hi;
		}
	return 0;
}

static _Atomic unsigned last_hit; /* stacks mostly stay in a few objects: try the last one first */

/* @return 1 + the index of a known object holding ip, 0 if none does. */
static unsigned covered(uintptr_t ip)
{
	unsigned n = atomic_load_explicit(&nmods, memory_order_acquire);
	unsigned h = atomic_load_explicit(&last_hit, memory_order_relaxed);
	if (h < n && mods[h]->lo <= ip && ip < mods[h]->hi)
		return h + 1;
	for (unsigned i = 0; i < n; i++)
		if (mods[i]->lo <= ip && ip < mods[i]->hi) {
			atomic_store_explicit(&last_hit, i, memory_order_relaxed);
			return i + 1;
		}
	return 0;
}

static int counts_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_tls_modid)) {
		c[0] = info->dlpi_adds;
		c[1] = info->dlpi_subs;
	}
	return 1; /* the counters are the same in every entry: stop at the first */
}

/* The loader's counts of objects loaded and unloaded so far. */
static void loader_counts(unsigned long long *adds, unsigned long long *subs)
{
	unsigned long long c[2] = {0, 0};
	dl_iterate_phdr(counts_cb, c);
	*adds = c[0];
	*subs = c[1];
}

void ldp_modules_cover(const uintptr_t *ips, unsigned n)
{
	if (!mods)
		return;
	unsigned long long adds, subs;
	int loaded_later = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned at = covered(ips[i]);
		if (at) {
			loaded_later |= at > initial_mods;
			continue;
		}
		/* Unknown address: JIT code, or an object loaded since the last scan.
		 * Rescan only if the loader's object count moved. */
		loader_counts(&adds, &subs);
		if (adds != last_adds)
			rescan();
		return;
	}
	/* Every address is inside a known object, but one of them may be gone
	 * and another loaded over it. A new stack is rare: ask the loader. */
	if (loaded_later) {
		loader_counts(&adds, &subs);
		if (subs != last_subs && adds != last_adds)
			rescan();
	}
}

unsigned ldp_modules_count(void)
{
	return atomic_load_explicit(&nmods, memory_order_acquire);
}

const struct ldp_module *ldp_module_get(unsigned id)
{
	return mods[id];
}

void ldp_modules_lock(void)
{
	pthread_mutex_lock(&module_lock);
}

void ldp_modules_unlock(void)
{
	pthread_mutex_unlock(&module_lock);
}

void ldp_modules_after_fork_child(void)
{
	pthread_mutex_init(&module_lock, NULL);
}
