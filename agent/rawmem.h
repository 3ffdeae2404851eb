/*
 * rawmem.h - memory the agent owns, never from the interposed malloc.
 *
 * Two sources:
 *  - the bootstrap arena: a static buffer serving the few allocations made
 *    while dlsym() resolves the real malloc family. Never freed; free() and
 *    realloc() recognise its pointers by address before anything else.
 *  - raw blocks: mmap-backed, for agent metadata and zstd's workspaces.
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

void *ldp_raw_alloc(size_t size);  /* zeroed; NULL on failure */
void ldp_raw_free(void *p);        /* NULL is fine */

#endif
