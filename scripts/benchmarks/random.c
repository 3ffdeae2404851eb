/*
 * random.c - random sizes with a large live set.
 *
 * usage: random LIVE STEPS
 *
 * Fills LIVE slots, then STEPS times frees a random slot and refills it with
 * a block of random size (log-uniform, 8 B to 64 KiB), then frees them all:
 * frees far from their allocation, addresses all over the heap, sizes that
 * rarely repeat.
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long seed = 88172645463325252UL;

static unsigned long rnd(void)
{
	seed ^= seed << 13; /* xorshift64: the same sequence in every run */
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static size_t rnd_size(void)
{
	unsigned long r = rnd();
	unsigned shift = 3 + (unsigned)(r % 14); /* 8 B .. 64 KiB */
	return (1UL << shift) + (r >> 8) % (1UL << shift);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: random LIVE STEPS\n");
		return 2;
	}
	long live = atol(argv[1]), steps = atol(argv[2]);
	char **slot = calloc((size_t)live, sizeof *slot);
	if (!slot)
		return 1;
	for (long i = 0; i < live; i++) {
		slot[i] = malloc(rnd_size());
		slot[i][0] = 1;
	}
	for (long i = 0; i < steps; i++) {
		long k = (long)(rnd() % (unsigned long)live);
		free(slot[k]);
		slot[k] = malloc(rnd_size());
		slot[k][0] = 1;
	}
	for (long i = 0; i < live; i++)
		free(slot[i]);
	free(slot);
	return 0;
}
