/*
 * sampleheap.c - where sampled blocks live in sampled mode.
 *
 * In sampled mode most allocations are passed through untouched, and free()
 * must tell, for every pointer, whether it was one of the few sampled ones
 * (its free is recorded) or not (nothing to do). A lookup table costs a
 * cache miss per free; instead, sampled blocks are served from one region of
 * address space the agent reserves at start, so the test is a subtraction and
 * a compare (ldp_sh_owns in agent.h).
 *
 * Layout of the region (base aligned to LDP_SH_SMALL_MAX):
 *   8 small classes, one sub-region of sub_size bytes each: class k holds
 *     blocks of 4 KiB << k, naturally aligned; a block is found from its
 *     address by division, so no header and no per-block size is stored;
 *   the large area (the rest): blocks over 512 KiB, or more strictly aligned,
 *     as page extents in a sorted table, first fit, merged on free.
 * The region is one read-write MAP_NORESERVE mapping: pages cost nothing
 * until touched, and a fresh page reads as zero (calloc needs no memset).
 * A freed small block keeps its pages while the blocks so kept hold at most
 * RETAIN_MAX bytes more than the small blocks in use; past that, and in the
 * large area, a freed block is given back with MADV_DONTNEED (so it reads as
 * zero again). Giving back every free cost more than the program: the
 * madvise flushes the TLB of every CPU the process runs on (an IPI, dear in
 * a VM, and the writer thread makes the process run on two), and the next
 * block there faults its pages in again: `git log -p` ran 1.28x bare in
 * sampled mode, 700 such frees. The cap follows the blocks in use because a
 * fixed one was soon full in a program with a large live set, whose frees
 * and allocations in turn then gave back and faulted in a block each time
 * (1 M random sizes with 100,000 live: 20,000 madvise calls, 2.3x bare). So
 * the pages kept are at most as many as those in use, plus RETAIN_MAX: a
 * bound like a malloc's own fragmentation. A kept block handed out again is
 * zeroed only for calloc: zeroing a 64 KiB block of which the program
 * touches one byte faulted in all its pages.
 * Huge pages are turned off for it, or one 16-byte sample could pin 2 MiB.
 *
 * A block that does not fit (region full, too big) goes to the real malloc
 * and its address into a small overflow table that free() scans only while
 * it is not empty; when that is full too, the sample is counted as lost.
 *
 * One spinlock guards the metadata; it is held for O(1) work in the classes
 * and a table scan in the large area, never across a system call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "prim.h"
#include "rawmem.h"

#define PAGE 4096u
#define SMALL_CLASSES 8u
#define LARGE_EXTENTS_MAX 16384u
#define RETAIN_MAX (4u << 20) /* bytes of freed small blocks kept resident */

uintptr_t ldp_sh_base;
uintptr_t ldp_sh_size;
_Atomic unsigned ldp_sh_overflow_live;
_Atomic uint64_t ldp_sh_lost;

struct small_class {
	uint32_t nblocks; /* capacity */
	uint32_t bump;    /* blocks [bump, nblocks) were never handed out */
	uint32_t nfree;
	uint32_t *free_stack;  /* freed block indices, LIFO */
	uint64_t *used;        /* one bit per block: handed out and not freed */
	uint64_t *dirty;       /* one bit per block: freed with its pages kept (not zero) */
};

/* The large area as a sorted list of extents that tile it exactly. */
struct extent {
	uint64_t page;  /* first page, relative to the large area */
	uint64_t pages; /* length */
	uint64_t used;  /* 1 when handed out */
};

static uintptr_t sub_size;     /* bytes per small class */
static uintptr_t large_base;   /* start of the large area */
static struct small_class classes[SMALL_CLASSES];
static struct extent *extents;
static size_t nextents;
static uintptr_t retained;   /* bytes of the freed blocks marked dirty */
static uintptr_t small_in_use; /* bytes of the small blocks handed out */

#define OVERFLOW_SLOTS 256u
static _Atomic uintptr_t overflow[OVERFLOW_SLOTS];

static _Atomic int sh_lock_word;

static void sh_lock(void)
{
	int spins = 0;
	while (atomic_exchange_explicit(&sh_lock_word, 1, memory_order_acquire)) {
		if (++spins > 64) {
			sched_yield();
			spins = 0;
		}
	}
}

static void sh_unlock(void)
{
	atomic_store_explicit(&sh_lock_word, 0, memory_order_release);
}

void ldp_sh_prefork(void)
{
	sh_lock();
}

void ldp_sh_postfork(void)
{
	sh_unlock();
}

/* How much address space to reserve: room for everything the machine could
 * keep live (twice RAM + swap, so fragmentation never decides), within a
 * the agent's budget under RLIMIT_AS, and small under strict overcommit where
 * even an untouched writable mapping is charged. */
static uint64_t reserve_size(void)
{
	uint64_t want = 4ull << 30;
	long pages = sysconf(_SC_PHYS_PAGES);
	if (pages > 0)
		want = 2 * (uint64_t)pages * PAGE;
	char buf[4096];
	if (ldp_read_small_file("/proc/meminfo", buf, sizeof buf) > 0) {
		const char *s = strstr(buf, "SwapTotal:");
		if (s)
			want += 2 * strtoull(s + 10, NULL, 10) * 1024;
	}
	if (want < (4ull << 30))
		want = 4ull << 30;
	if (want > (1ull << 40))
		want = 1ull << 40;
	if (ldp_read_small_file("/proc/sys/vm/overcommit_memory", buf, sizeof buf) > 0 && buf[0] == '2')
		want = 256u << 20;
	/* Under RLIMIT_AS, half the agent's budget (rawmem.h). */
	uint64_t b = ldp_budget();
	if (b != LDP_BUDGET_NONE && want > b / 2)
		want = b / 2;
	return want & ~(uint64_t)(LDP_SH_SMALL_MAX - 1);
}

static void *raw_array(size_t bytes)
{
	return ldp_raw_map((bytes + PAGE - 1) & ~(size_t)(PAGE - 1));
}

int ldp_sh_init(void)
{
	uint64_t want = reserve_size();
	void *map = NULL;
	uint64_t got = 0;
	/* Smallest useful: 8 classes of 512 KiB and a large area as big again. */
	for (; want >= 16 * LDP_SH_SMALL_MAX; want /= 2) {
		map = ldp_raw_map(want + LDP_SH_SMALL_MAX);
		if (map) {
			got = want;
			break;
		}
	}
	if (!map)
		return -1;
	uintptr_t start = (uintptr_t)map;
	uintptr_t base = (start + LDP_SH_SMALL_MAX - 1) & ~(uintptr_t)(LDP_SH_SMALL_MAX - 1);
	/* Give back the unaligned head and the tail beyond the region. */
	if (base > start)
		ldp_raw_unmap(map, base - start);
	if (start + got + LDP_SH_SMALL_MAX > base + got)
		ldp_raw_unmap((void *)(base + got), start + got + LDP_SH_SMALL_MAX - (base + got));
	syscall(SYS_madvise, base, got, MADV_NOHUGEPAGE);

	sub_size = (got / 16) & ~(uintptr_t)(LDP_SH_SMALL_MAX - 1);
	for (unsigned k = 0; k < SMALL_CLASSES; k++) {
		struct small_class *c = &classes[k];
		c->nblocks = (uint32_t)(sub_size / ((uintptr_t)PAGE << k) < UINT32_MAX ? sub_size / ((uintptr_t)PAGE << k)
										       : UINT32_MAX);
		c->free_stack = raw_array((size_t)c->nblocks * sizeof *c->free_stack);
		c->used = raw_array(((size_t)c->nblocks + 63) / 64 * sizeof *c->used);
		c->dirty = raw_array(((size_t)c->nblocks + 63) / 64 * sizeof *c->dirty);
		if (!c->free_stack || !c->used || !c->dirty)
			return -1; /* the region stays unused: every sample overflows */
	}
	large_base = base + SMALL_CLASSES * sub_size;
	extents = raw_array(LARGE_EXTENTS_MAX * sizeof *extents);
	if (!extents)
		return -1;
	extents[0] = (struct extent){0, (base + got - large_base) / PAGE, 0};
	nextents = 1;
	ldp_sh_base = base;
	ldp_sh_size = got;
	return 0;
}

static unsigned class_of(size_t n, size_t align)
{
	size_t need = n > align ? n : align;
	unsigned k = 0;
	while (((size_t)PAGE << k) < need)
		k++;
	return k;
}

/* *dirty: the block kept its pages when it was freed, so it is not zero. */
static void *small_alloc(unsigned k, int *dirty)
{
	struct small_class *c = &classes[k];
	uint32_t i;
	if (c->nfree)
		i = c->free_stack[--c->nfree];
	else if (c->bump < c->nblocks)
		i = c->bump++;
	else
		return NULL;
	c->used[i / 64] |= 1ull << (i % 64);
	small_in_use += (uintptr_t)PAGE << k;
	*dirty = !!(c->dirty[i / 64] & (1ull << (i % 64)));
	if (*dirty) {
		c->dirty[i / 64] &= ~(1ull << (i % 64));
		retained -= (uintptr_t)PAGE << k;
	}
	return (void *)(ldp_sh_base + k * sub_size + (uintptr_t)i * ((uintptr_t)PAGE << k));
}

/* First fit with alignment; the extent is split into up to three. */
static void *large_alloc(size_t n, size_t align)
{
	uint64_t pages = (n + PAGE - 1) / PAGE;
	uint64_t align_pages = align > PAGE ? align / PAGE : 1;
	for (size_t i = 0; i < nextents; i++) {
		struct extent *e = &extents[i];
		if (e->used || e->pages < pages)
			continue;
		uint64_t abs_page = large_base / PAGE + e->page; /* alignment is of the address itself */
		uint64_t pad = (align_pages - abs_page % align_pages) % align_pages;
		if (e->pages < pad + pages)
			continue;
		size_t pieces = 1 + (pad > 0) + (e->pages > pad + pages);
		if (nextents + pieces - 1 > LARGE_EXTENTS_MAX)
			return NULL;
		struct extent whole = *e;
		memmove(e + pieces, e + 1, (nextents - i - 1) * sizeof *e);
		nextents += pieces - 1;
		struct extent *w = e;
		if (pad)
			*w++ = (struct extent){whole.page, pad, 0};
		*w++ = (struct extent){whole.page + pad, pages, 1};
		if (whole.pages > pad + pages)
			*w = (struct extent){whole.page + pad + pages, whole.pages - pad - pages, 0};
		return (void *)(large_base + (whole.page + pad) * PAGE);
	}
	return NULL;
}

/* The extent that starts at page, or NULL. */
static struct extent *large_find(uint64_t page)
{
	size_t lo = 0, hi = nextents;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (extents[mid].page < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nextents && extents[lo].page == page ? &extents[lo] : NULL;
}

void *ldp_sh_alloc(size_t n, size_t align, int zero)
{
	if (!ldp_sh_size || n > ldp_sh_size / 2 || align > ldp_sh_size / 4)
		return NULL;
	if (n == 0)
		n = 1;
	unsigned k = class_of(n, align);
	int dirty = 0;
	sh_lock();
	void *p = k < SMALL_CLASSES ? small_alloc(k, &dirty) : large_alloc(n, align);
	sh_unlock();
	if (dirty && zero)
		memset(p, 0, n); /* ours now: zeroed outside the lock */
	return p;
}

/* Where p's block starts and how long it is; 0 if p is not a live block start. */
static size_t block_of(uintptr_t p)
{
	uintptr_t off = p - ldp_sh_base;
	if (p < large_base) {
		unsigned k = (unsigned)(off / sub_size);
		uintptr_t size = (uintptr_t)PAGE << k;
		uintptr_t in = off - k * sub_size;
		if (in % size)
			return 0;
		uint32_t i = (uint32_t)(in / size);
		return classes[k].used[i / 64] & (1ull << (i % 64)) ? size : 0;
	}
	if ((p - large_base) % PAGE)
		return 0;
	struct extent *e = large_find((p - large_base) / PAGE);
	return e && e->used ? e->pages * PAGE : 0;
}

size_t ldp_sh_usable(const void *p)
{
	sh_lock();
	size_t n = block_of((uintptr_t)p);
	sh_unlock();
	return n;
}

int ldp_sh_free(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	sh_lock();
	size_t size = block_of(p);
	/* small_in_use still counts this block: it is what will be in use after. */
	if (size && p < large_base && retained + size <= RETAIN_MAX + (small_in_use - size)) {
		/* Kept resident: freed at once, no system call. */
		uintptr_t off = p - ldp_sh_base;
		unsigned k = (unsigned)(off / sub_size);
		struct small_class *c = &classes[k];
		uint32_t i = (uint32_t)((off - k * sub_size) / size);
		c->used[i / 64] &= ~(1ull << (i % 64));
		c->dirty[i / 64] |= 1ull << (i % 64);
		c->free_stack[c->nfree++] = i;
		small_in_use -= size;
		retained += size;
		sh_unlock();
		return 0;
	}
	sh_unlock();
	if (!size)
		return -1; /* not a block we handed out (an invalid or double free) */
	/* The block is still marked used, so nobody else can have it while its
	 * pages go back to the system; after this they read as zero. */
	syscall(SYS_madvise, p, size, MADV_DONTNEED);
	sh_lock();
	if (block_of(p) != size) { /* a racing second free of the same block */
		sh_unlock();
		return -1;
	}
	if (p < large_base) {
		uintptr_t off = p - ldp_sh_base;
		unsigned k = (unsigned)(off / sub_size);
		struct small_class *c = &classes[k];
		uint32_t i = (uint32_t)((off - k * sub_size) / size);
		c->used[i / 64] &= ~(1ull << (i % 64));
		c->free_stack[c->nfree++] = i;
		small_in_use -= size;
	} else {
		struct extent *e = large_find((p - large_base) / PAGE);
		size_t i = (size_t)(e - extents);
		e->used = 0;
		size_t first = i, last = i; /* merge with free neighbours */
		if (first > 0 && !extents[first - 1].used)
			first--;
		if (last + 1 < nextents && !extents[last + 1].used)
			last++;
		if (last > first) {
			uint64_t pages = 0;
			for (size_t j = first; j <= last; j++)
				pages += extents[j].pages;
			extents[first].pages = pages;
			memmove(&extents[first + 1], &extents[last + 1], (nextents - last - 1) * sizeof *extents);
			nextents -= last - first;
		}
	}
	sh_unlock();
	return 0;
}

/* ---- overflow: sampled blocks that live in the real heap ---------------- */

int ldp_sh_overflow_add(void *p)
{
	for (unsigned i = 0; i < OVERFLOW_SLOTS; i++) {
		uintptr_t expected = 0;
		if (atomic_compare_exchange_strong(&overflow[i], &expected, (uintptr_t)p)) {
			atomic_fetch_add(&ldp_sh_overflow_live, 1);
			return 0;
		}
	}
	return -1;
}

int ldp_sh_overflow_take(const void *p)
{
	for (unsigned i = 0; i < OVERFLOW_SLOTS; i++) {
		uintptr_t expected = (uintptr_t)p;
		if (atomic_load_explicit(&overflow[i], memory_order_relaxed) == expected &&
		    atomic_compare_exchange_strong(&overflow[i], &expected, 0)) {
			atomic_fetch_sub(&ldp_sh_overflow_live, 1);
			return 1;
		}
	}
	return 0;
}
