/*
 * phase_threads.c - two phases apart in time, the second in two named
 * threads, for the HTML report's thread filter and time range
 * (tests/pictures: html_filter).
 *
 *   phase one, main thread:   early_alloc: N blocks of 40 bytes
 *   snapshot "one-done", 400 ms asleep, snapshot "two-begins"
 *   phase two, thread alpha:  alpha_alloc: N blocks of 56 bytes, alpha_spin: CPU
 *              thread beta:   beta_alloc: 2N blocks of 72 bytes, beta_spin: CPU
 * Every block is freed right away (the count and bytes are what matter).
 * Writes its truth, one line per allocating function:
 *   FUNCTION THREAD COUNT BYTES   (the main thread is named phase_threads)
 * usage: phase_threads TRUTH N
 */
#define _GNU_SOURCE
#define LDPROF_WEAK
#include <ldprof.h>

#include <pthread.h>
#include <time.h>

#include "truth.h"

#define NOINLINE __attribute__((noinline))

static int n;

NOINLINE void early_alloc(void)
{
	for (int i = 0; i < n; i++) {
		void *volatile p = malloc(40);
		free(p);
	}
}

NOINLINE void alpha_alloc(void)
{
	for (int i = 0; i < n; i++) {
		void *volatile p = malloc(56);
		free(p);
	}
}

NOINLINE void beta_alloc(void)
{
	for (int i = 0; i < 2 * n; i++) {
		void *volatile p = malloc(72);
		free(p);
	}
}

/* About 150 ms of this thread's CPU time, so CPU samples land here. */
static void spin(void)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	volatile unsigned long x = 0;
	do {
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 150000000L);
}

NOINLINE void alpha_spin(void)
{
	spin();
}

NOINLINE void beta_spin(void)
{
	spin();
}

static void *alpha(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "alpha");
	alpha_alloc();
	alpha_spin();
	return NULL;
}

static void *beta(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "beta");
	beta_alloc();
	beta_spin();
	return NULL;
}

int main(int argc, char **argv)
{
	CHECK(argc == 3);
	n = atoi(argv[2]);
	CHECK(n > 0 && n <= 10000000);
	early_alloc();
	LDPROF_SNAPSHOT("one-done");
	nanosleep(&(struct timespec){0, 400000000}, NULL);
	LDPROF_SNAPSHOT("two-begins");
	pthread_t a, b;
	CHECK(pthread_create(&a, NULL, alpha, NULL) == 0);
	CHECK(pthread_create(&b, NULL, beta, NULL) == 0);
	CHECK(pthread_join(a, NULL) == 0);
	CHECK(pthread_join(b, NULL) == 0);
	FILE *f = fopen(argv[1], "w");
	CHECK(f);
	fprintf(f, "early_alloc phase_threads %d %d\n", n, n * 40);
	fprintf(f, "alpha_alloc alpha %d %d\n", n, n * 56);
	fprintf(f, "beta_alloc beta %d %d\n", 2 * n, 2 * n * 72);
	CHECK(fclose(f) == 0);
	return 0;
}
