/*
 * fork.c THREADS FORKS [exit|alloc] - the cost of fork+waitpid while THREADS
 * threads allocate without pause (malloc/free of 32..543 bytes). The child
 * _exits at once (exit), or first allocates one block (alloc: under ldprof
 * that opens the child's own trace and starts its writer).
 *
 * Prints the median and the mean time of one fork+waitpid in microseconds,
 * measured around each call; the threads run until the last fork is done, so
 * the process's own run time is THREADS' start plus FORKS forks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static void *volatile sink[64];

static void *churn(void *arg)
{
	unsigned i = (unsigned)(size_t)arg * 7919;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		void *p = malloc(32 + i % 512);
		sink[i % 64] = p;
		free(p);
		i++;
	}
	return NULL;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fork THREADS FORKS [exit|alloc]\n");
		return 2;
	}
	int nt = atoi(argv[1]), nf = atoi(argv[2]);
	int child_alloc = argc > 3 && !strcmp(argv[3], "alloc");
	if (nt < 0 || nt > 64 || nf < 1)
		return 2;
	pthread_t t[64];
	for (int i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, churn, (void *)(size_t)i);
	double *us = malloc((size_t)nf * sizeof *us), sum = 0;
	for (int i = 0; i < nf; i++) {
		double t0 = now_us();
		pid_t c = fork();
		if (c == 0) {
			if (child_alloc)
				sink[0] = malloc(100);
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		us[i] = now_us() - t0;
		sum += us[i];
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	qsort(us, (size_t)nf, sizeof *us, cmp);
	printf("fork+waitpid: median %.0f us, mean %.0f us, max %.0f us over %d forks, %d threads allocating\n",
	       us[nf / 2], sum / nf, us[nf - 1], nf, nt);
	free(us);
	return 0;
}
