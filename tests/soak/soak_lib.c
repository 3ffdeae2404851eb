/*
 * soak_lib.c - libsoak_lib.so, dlopen'ed and dlclose'd over and over by
 * soak_prog. Each call allocates exactly one block of the size asked (its
 * site frame is soakm_lib_alloc, so `--include 'soakm_*'` counts it with
 * the program's own); the program frees it after the library is gone.
 */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *soakm_lib_alloc(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0x5a, n);
	return p;
}
