/*
 * hd_deep.c - libhostile_deep.so, loaded with RTLD_DEEPBIND by
 * h_deepbind.c: its malloc family binds to libc's, past the agent. It
 * allocates through every entry point, frees blocks the program made, and
 * hands blocks to the program to free.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define PER_ROUND 8 /* allocations per round: h_deepbind.c counts on it */

/* rounds rounds of every entry point; the realloc'd block of the first
 * ngive rounds goes to give[] for the program to free, all else is freed
 * here. @return allocations made. */
__attribute__((noinline)) unsigned long hd_deep_work(unsigned rounds, void **give, unsigned ngive)
{
	unsigned long n = 0;
	for (unsigned i = 0; i < rounds; i++) {
		char *a = malloc(100 + i % 50);
		char *b = calloc(3, 40);
		a = realloc(a, 300);
		void *c = NULL;
		if (posix_memalign(&c, 64, 200) != 0)
			c = NULL;
		void *d = aligned_alloc(128, 256);
		void *e = memalign(32, 72);
		void *f = valloc(100);
		void *g = reallocarray(NULL, 10, 10);
		if (!a || !b || !c || !d || !e || !f || !g)
			abort();
		memset(a, 1, 300);
		n += PER_ROUND;
		free(b);
		free(c);
		free(d);
		free(e);
		free(f);
		free(g);
		if (i < ngive)
			give[i] = a;
		else
			free(a);
	}
	return n;
}

/* A block the program made, freed here. */
__attribute__((noinline)) void hd_deep_free(void *p)
{
	free(p);
}
