/*
 * cpu.c - fixed CPU work through deep recursion, almost no allocation: what
 * a tracer costs a program that does not allocate (and what CPU sampling
 * costs, once it exists).
 *
 * usage: cpu ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long work(int d, unsigned long x)
{
	if (d == 0) {
		for (int i = 0; i < 64; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
		return x;
	}
	unsigned long a = work(d - 1, x ^ (unsigned long)d);
	sink += a;
	return a + (unsigned long)d;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10000;
	unsigned long acc = 0;
	for (long i = 0; i < rounds; i++)
		acc += work(200, (unsigned long)i);
	char *p = malloc(64); /* one allocation, so every tracer has a trace to write */
	sink += (unsigned long)p;
	free(p);
	printf("%lu\n", acc & 0xff);
	return 0;
}
