/*
 * rawmem.h - memory the agent owns, never from the interposed malloc, and
 * the budget it is charged to.
 *
 * Two sources:
 *  - the bootstrap arena: a static buffer serving the few allocations made
 *    while dlsym() resolves the real malloc family. Never freed; free() and
 *    realloc() recognise its pointers by address before anything else.
 *  - raw blocks and maps: mmap-backed, for agent metadata, rings, tables
 *    and zstd's workspaces.
 *
 * The budget: without RLIMIT_AS a reservation costs the program nothing
 * (MAP_NORESERVE, touched as used) and there is none. Under RLIMIT_AS every
 * reserved byte is one the program can no longer have, so the agent keeps
 * to 1/LDP_BUDGET_DIV of the headroom left when it starts (the limit less
 * the process's size then). Every raw block and map is charged to it and
 * refused past it (NULL, as if out of memory: the caller does without);
 * modules size their structures with ldp_budget_share. Below
 * LDP_BUDGET_MIN the agent does not start at all (entry.c).
 */
#ifndef LDP_RAWMEM_H
#define LDP_RAWMEM_H

#include <stddef.h>
#include <stdint.h>

#define LDP_BOOTSTRAP_SIZE (256u << 10) /* dlsym/dlerror need a few hundred bytes */
extern unsigned char ldp_bootstrap[LDP_BOOTSTRAP_SIZE];

void *ldp_bootstrap_alloc(size_t size, size_t align);
/* Inline: free() asks this first, on every call. */
static inline int ldp_bootstrap_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)ldp_bootstrap < LDP_BOOTSTRAP_SIZE;
}
/* Requested size of a bootstrap block (for realloc and malloc_usable_size). */
size_t ldp_bootstrap_size(const void *p);

void *ldp_raw_alloc(size_t size);  /* zeroed; NULL on failure or past the budget */
void ldp_raw_free(void *p);        /* NULL is fine */
/* Leave a raw block out of fork children (MADV_DONTFORK): a child never
 * sees it, and the parent never copies it on write while a child lives.
 * @return the bytes it takes (the child's budget gives them back). */
size_t ldp_raw_dontfork(void *p);
/* A reservation of whole pages (MAP_NORESERVE, zeroed), charged like raw blocks. */
void *ldp_raw_map(size_t size);
void ldp_raw_unmap(void *p, size_t size);

#define LDP_BUDGET_NONE UINT64_MAX
#define LDP_BUDGET_DIV 16u
#define LDP_BUDGET_MIN (3ull << 20)
/* Read RLIMIT_AS and the process's size, once (any thread; no malloc). */
void ldp_budget_init(void);
uint64_t ldp_budget(void);          /* LDP_BUDGET_NONE without a limit */
uint64_t ldp_budget_headroom(void); /* limit - size at start; LDP_BUDGET_NONE without a limit */
uint64_t ldp_budget_used(void);     /* charged now */
/* A size for one structure: hi without a limit; else budget / div, rounded
 * down to a power of two, within [lo, hi]. */
size_t ldp_budget_share(unsigned div, size_t lo, size_t hi);
/* Memory taken outside rawmem (a thread's stack, a library dlopen maps):
 * 0, or -1 when it does not fit (nothing charged). */
int ldp_budget_charge(uint64_t n);
void ldp_budget_take(uint64_t n); /* already taken: charged even past the budget */
void ldp_budget_uncharge(uint64_t n);

#endif
