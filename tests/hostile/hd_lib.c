/*
 * hd_lib.c - libhostile_dl.so, loaded and unloaded by h_dlopen.c. Its
 * functions allocate, so recorded stacks hold addresses in a module that is
 * gone by the time the trace is read.
 */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *hd_alloc(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0x5a, n);
	return p;
}

__attribute__((noinline)) void hd_free(void *p)
{
	free(p);
}
