/*
 * asan_prog.c - built with -fsanitize=address and traced: ldprof goes in
 * front of ASan's allocator (ldprof record sets ASAN_OPTIONS), so it sees the
 * program's allocations, and ASan keeps doing its job: its leak report at
 * exit is the bare run's (one direct leak of 4242 bytes, in lose), and so is
 * the exit status it gives.
 *   churn    500 blocks, each freed at once
 *   keep     100 zeroed blocks, 50 freed; 50 stay reachable (not leaks to LSan)
 *   lose     one block of 4242 bytes whose pointer is dropped
 *   worker   300 blocks in a second thread
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

NOINLINE void churn(int n)
{
	for (int i = 0; i < n; i++) {
		char *p = malloc(64 + (size_t)(i % 32));
		memset(p, i, 64);
		sink = p;
		free(p);
	}
}

static void *kept[100];
NOINLINE void keep(void)
{
	for (int i = 0; i < 100; i++)
		kept[i] = calloc(1, 200);
	for (int i = 0; i < 50; i++)
		free(kept[i]);
}

NOINLINE void lose(void)
{
	char *p = malloc(4242);
	memset(p, 1, 4242);
	sink = NULL; /* the only pointer goes */
	p = NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	void *v[300];
	for (int i = 0; i < 300; i++)
		v[i] = malloc(48);
	for (int i = 0; i < 300; i++)
		free(v[i]);
	return NULL;
}

int main(void)
{
	churn(500);
	keep();
	lose();
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, NULL))
		return 3;
	printf("done\n");
	return 0;
}
