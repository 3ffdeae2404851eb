/*
 * truth_phases.c - known phases between snapshots, for `ldprof diff`.
 *
 *   keep_blocks(N)               N blocks of 100 bytes kept
 *   snapshot A
 *   keep_more(M), churn()        M blocks of 200 kept; temporaries churn
 *   snapshot B
 *   free half of keep_blocks', churn()
 *   snapshot C, then B again     (B#2: same heap as C)
 *   worker thread: worker_alloc(77 blocks of 64), joined
 *   snapshot D                   (the thread's blocks are before it)
 *   paused: paused_alloc(50) not recorded; freed later (frees of blocks
 *                                allocated while paused, not unknown frees)
 *
 * The program writes the diffs `ldprof diff --by function` must show:
 *   diff FROM TO FUNCTION SIZE_DIFF COUNT_DIFF
 *   usage: truth_phases TRUTH N M
 */
#define LDPROF_WEAK
#include <ldprof.h>

#include "truth.h"

#define NOINLINE __attribute__((noinline))

void *kept[100000], *more[100000], *worker[77], *paused[50];

NOINLINE void keep_blocks(int n)
{
	for (int i = 0; i < n; i++)
		kept[i] = malloc(100);
}

NOINLINE void keep_more(int m)
{
	for (int i = 0; i < m; i++)
		more[i] = malloc(200);
}

NOINLINE void churn(void)
{
	for (int i = 0; i < 1000; i++) {
		void *volatile p = malloc(50);
		free(p);
	}
}

NOINLINE void worker_alloc(void)
{
	for (int i = 0; i < 77; i++)
		worker[i] = malloc(64);
}

static void *worker_main(void *arg)
{
	(void)arg;
	worker_alloc();
	return NULL;
}

NOINLINE void paused_alloc(void)
{
	for (int i = 0; i < 50; i++)
		paused[i] = malloc(1000);
}

int main(int argc, char **argv)
{
	CHECK(argc == 4);
	int n = atoi(argv[2]), m = atoi(argv[3]);
	CHECK(n > 0 && n <= 100000 && m >= 0 && m <= 100000);
	int active = ldprof_is_active ? ldprof_is_active() : 0;
	keep_blocks(n);
	CHECK(LDPROF_SNAPSHOT("A") == (active ? 0 : -1));
	keep_more(m);
	churn();
	LDPROF_SNAPSHOT("B");
	for (int i = 0; i < n; i += 2)
		free(kept[i]);
	churn();
	LDPROF_SNAPSHOT("C");
	LDPROF_SNAPSHOT("B");
	pthread_t t;
	CHECK(pthread_create(&t, NULL, worker_main, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	LDPROF_SNAPSHOT("D");
	LDPROF_PAUSE();
	paused_alloc();
	LDPROF_RESUME();
	for (int i = 0; i < 50; i++)
		free(paused[i]);

	int halved = (n + 1) / 2;
	char out[1024];
	int len = snprintf(out, sizeof out,
			   "diff start A keep_blocks %d %d\n"
			   "diff A B keep_more %d %d\n"
			   "diff A B keep_blocks 0 0\n"
			   "diff B C keep_blocks %d %d\n"
			   "diff C B#2 keep_blocks 0 0\n"
			   "diff C D worker_alloc %d %d\n"
			   "unknown_frees 50\n",
			   n * 100, n, m * 200, m, -halved * 100, -halved, 77 * 64, 77);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, out, (size_t)len) == len);
	close(fd);
	printf("active %d\n", active);
	return 0;
}
