/*
 * sites.c - malloc + free pairs from 4 call sites with varied sizes.
 *
 * usage: sites DEPTH PAIRS
 *
 * Each pair comes from one of 4 call sites (in turn) at stack depth DEPTH,
 * with a size from a fixed pseudo-random sequence (16..1039 bytes): the
 * tracer's memo and encoder see 4 stacks and about 1,000 sizes instead of
 * the one (stack, size) of loop.c.
 */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;
static unsigned long seed = 88172645463325252UL;

static size_t next_size(void)
{
	seed ^= seed << 13; /* xorshift64: the same sequence in every run */
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return 16 + seed % 1024;
}

#define SITE(n)                                                                                                        \
	__attribute__((noinline)) static void site##n(void)                                                            \
	{                                                                                                              \
		char *p = malloc(next_size());                                                                         \
		p[0] = (char)n;                                                                                        \
		sink += (unsigned long)p[0];                                                                           \
		free(p);                                                                                               \
	}
SITE(0)
SITE(1)
SITE(2)
SITE(3)

__attribute__((noinline)) static int rec(int d, long i)
{
	if (d > 0) {
		int r = rec(d - 1, i);
		sink += (unsigned long)r;
		return r + 1;
	}
	switch (i & 3) {
	case 0: site0(); break;
	case 1: site1(); break;
	case 2: site2(); break;
	default: site3(); break;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: sites DEPTH PAIRS\n");
		return 2;
	}
	/* rec(d) sits d frames above main, the site one below: count main, libc start and the site as 3 */
	int depth = atoi(argv[1]) > 3 ? atoi(argv[1]) - 3 : 0;
	long pairs = atol(argv[2]);
	for (long i = 0; i < pairs; i++)
		rec(depth, i);
	return 0;
}
