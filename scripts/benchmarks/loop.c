/*
 * loop.c - malloc(32) + free pairs at a fixed stack depth, in T threads.
 *
 * usage: loop DEPTH THREADS PAIRS_PER_THREAD
 *
 * Every pair has the same stack: the per-event cost of a tracer on the
 * simplest possible program. Built -O2 without frame pointers, like most
 * distribution binaries.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* per thread: a shared one would make the threads fight over its cache line */
static __thread volatile unsigned long sink;
static int depth;
static long pairs;

__attribute__((noinline)) static int rec(int d)
{
	if (d > 0) {
		int r = rec(d - 1);
		sink += (unsigned long)r;
		return r + 1;
	}
	void *p = malloc(32);
	sink += (unsigned long)p;
	free(p);
	return 1;
}

static void *run(void *arg)
{
	(void)arg;
	for (long i = 0; i < pairs; i++)
		rec(depth);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: loop DEPTH THREADS PAIRS_PER_THREAD\n");
		return 2;
	}
	/* rec(d) sits d frames above run(): count run and the thread start as 2 */
	depth = atoi(argv[1]) > 2 ? atoi(argv[1]) - 2 : 0;
	int threads = atoi(argv[2]);
	pairs = atol(argv[3]);
	if (threads <= 1) {
		run(NULL);
		return 0;
	}
	pthread_t t[64];
	for (int i = 0; i < threads && i < 64; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < threads && i < 64; i++)
		pthread_join(t[i], NULL);
	return 0;
}
