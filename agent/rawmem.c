/*
 * rawmem.c - bootstrap arena and mmap-backed raw blocks (see rawmem.h).
 */
#include "rawmem.h"

#include <stdatomic.h>
#include <stdint.h>

#include "prim.h"

#define BOOTSTRAP_SIZE LDP_BOOTSTRAP_SIZE /* 256 KiB leaves room for surprises */
#define HDR 16u

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

void *ldp_raw_alloc(size_t size)
{
	size_t total = (size + HDR + 4095) & ~(size_t)4095;
	if (total < size)
		return NULL;
	unsigned char *p = ldp_map(total);
	if (!p)
		return NULL;
	*(size_t *)p = total;
	return p + HDR;
}

void ldp_raw_free(void *p)
{
	if (!p)
		return;
	unsigned char *base = (unsigned char *)p - HDR;
	ldp_unmap(base, *(size_t *)base);
}
