/*
 * rawmem.c - bootstrap arena, mmap-backed raw blocks, and the address-space
 * budget they are charged to (see rawmem.h).
 */
#define _GNU_SOURCE
#include "rawmem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "prim.h"
#include "procfs.h"

#define BOOTSTRAP_SIZE LDP_BOOTSTRAP_SIZE /* 256 KiB leaves room for surprises */
#define HDR 16u
#define PAGE 4096u

_Alignas(64) unsigned char ldp_bootstrap[LDP_BOOTSTRAP_SIZE];
#define bootstrap ldp_bootstrap
static _Atomic size_t bootstrap_used;

void *ldp_bootstrap_alloc(size_t size, size_t align)
{
	if (align < HDR)
		align = HDR;
	if (size > BOOTSTRAP_SIZE || (align & (align - 1)))
		return NULL;
	size_t old = atomic_load(&bootstrap_used), start, end;
	do {
		start = (old + HDR + align - 1) & ~(align - 1);
		end = start + ((size + HDR - 1) & ~(size_t)(HDR - 1));
		if (end > BOOTSTRAP_SIZE)
			return NULL;
	} while (!atomic_compare_exchange_weak(&bootstrap_used, &old, end));
	*(size_t *)(bootstrap + start - HDR) = size;
	return bootstrap + start; /* static storage is zero: calloc semantics hold */
}

size_t ldp_bootstrap_size(const void *p)
{
	return *(const size_t *)((const unsigned char *)p - HDR);
}

/* ---- the budget ---- */

static _Atomic int budget_state; /* 0 not read, 1 being read, 2 read */
static uint64_t budget = LDP_BUDGET_NONE, headroom = LDP_BUDGET_NONE;
static _Atomic uint64_t used;

void ldp_budget_init(void)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&budget_state, &expected, 1)) {
		while (atomic_load(&budget_state) != 2)
			;
		return;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		uint64_t size, resident; /* the process's size in pages */
		ldp_proc_statm(&size, &resident);
		size *= PAGE;
		headroom = rl.rlim_cur > size ? rl.rlim_cur - size : 0;
		budget = headroom / LDP_BUDGET_DIV;
	}
	atomic_store(&budget_state, 2);
}

uint64_t ldp_budget(void)
{
	ldp_budget_init();
	return budget;
}

uint64_t ldp_budget_headroom(void)
{
	ldp_budget_init();
	return headroom;
}

uint64_t ldp_budget_used(void)
{
	return atomic_load(&used);
}

size_t ldp_budget_share(unsigned div, size_t lo, size_t hi)
{
	uint64_t b = ldp_budget();
	if (b == LDP_BUDGET_NONE)
		return hi;
	uint64_t s = b / div, p = lo;
	while (p * 2 <= s && p * 2 <= hi)
		p *= 2;
	return (size_t)(p < hi ? p : hi);
}

int ldp_budget_charge(uint64_t n)
{
	uint64_t b = ldp_budget(), u = atomic_load(&used);
	do {
		if (b != LDP_BUDGET_NONE && (u + n > b || u + n < u))
			return -1;
	} while (!atomic_compare_exchange_weak(&used, &u, u + n));
	return 0;
}

void ldp_budget_take(uint64_t n)
{
	atomic_fetch_add(&used, n);
}

void ldp_budget_uncharge(uint64_t n)
{
	atomic_fetch_sub(&used, n);
}

/* ---- raw blocks and maps ---- */

void *ldp_raw_map(size_t size)
{
	size_t total = (size + PAGE - 1) & ~(size_t)(PAGE - 1);
	if (total < size || ldp_budget_charge(total) != 0)
		return NULL;
	void *p = ldp_map(total);
	if (!p)
		ldp_budget_uncharge(total);
	return p;
}

void ldp_raw_unmap(void *p, size_t size)
{
	if (!p)
		return;
	size_t total = (size + PAGE - 1) & ~(size_t)(PAGE - 1);
	ldp_unmap(p, total);
	ldp_budget_uncharge(total);
}

void *ldp_raw_alloc(size_t size)
{
	size_t total = (size + HDR + PAGE - 1) & ~(size_t)(PAGE - 1);
	if (total < size)
		return NULL;
	unsigned char *p = ldp_raw_map(total);
	if (!p)
		return NULL;
	*(size_t *)p = total;
	return p + HDR;
}

size_t ldp_raw_dontfork(void *p)
{
	if (!p)
		return 0;
	unsigned char *base = (unsigned char *)p - HDR;
	size_t total = *(size_t *)base;
	madvise(base, total, MADV_DONTFORK);
	return total;
}

void ldp_raw_free(void *p)
{
	if (!p)
		return;
	unsigned char *base = (unsigned char *)p - HDR;
	ldp_raw_unmap(base, *(size_t *)base);
}
