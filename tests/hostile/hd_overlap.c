/*
 * hd_overlap.c - libhostile_ov_a.so and libhostile_ov_b.so (OV_NAME names
 * the function), linked at preferred addresses one page apart, so the second
 * loads over part of the first's range (h_reload.c).
 */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *OV_NAME(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0x5a, n);
	return p;
}
