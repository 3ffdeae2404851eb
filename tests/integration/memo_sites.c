/*
 * memo_sites.c - allocations from SITES call sites in turn, 14 frames deep:
 * each capture's stack differs from the one before, the same as the one
 * SITES captures ago. The unwinder's memo (unwind.c, eight walks kept)
 * should answer nearly all of them without walking; LDPROF_UNWIND=check
 * compares each answer with libunwind.
 *
 * usage: memo_sites SITES ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

#define SITE(n)                                                                                                        \
	__attribute__((noinline)) static void site##n(void)                                                            \
	{                                                                                                              \
		char *p = malloc(16 + 8 * n);                                                                          \
		p[0] = (char)n;                                                                                        \
		sink += (unsigned long)p[0];                                                                           \
		free(p);                                                                                               \
	}
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
SITE(5)
SITE(6)
SITE(7)
static void (*const sites[])(void) = {site0, site1, site2, site3, site4, site5, site6, site7};

__attribute__((noinline)) static int rec(int d, unsigned which)
{
	if (d > 0) {
		int r = rec(d - 1, which);
		sink += (unsigned long)r;
		return r + 1;
	}
	sites[which]();
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	unsigned n = (unsigned)atoi(argv[1]);
	long rounds = atol(argv[2]);
	if (n < 1 || n > 8)
		return 2;
	for (long i = 0; i < rounds; i++)
		rec(12, (unsigned)(i % n));
	printf("%ld\n", rounds);
	return 0;
}
