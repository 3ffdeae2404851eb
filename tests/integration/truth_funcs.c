/*
 * truth_funcs.c - known truth per function, and a known call chain.
 *
 * Each function below allocates a known amount; the program writes, per
 * function, what `ldprof report --by function --json` must show for it:
 *   fn NAME allocations N allocated_bytes B leaked_count C leaked_bytes D temporary T peak_bytes P frees F
 * and the expected call chain with line numbers:
 *   chain FUNCTION LINE ...     (innermost first; LINE is where the next call or malloc is)
 *   usage: truth_funcs TRUTH_FILE
 */
#include <pthread.h>

#include "truth.h"

#define NOINLINE __attribute__((noinline))

static char out[8192];
static size_t outlen;

static void say(const char *fmt, unsigned long long a, unsigned long long b, unsigned long long c,
		unsigned long long d, unsigned long long e, unsigned long long f, unsigned long long g, const char *name)
{
	outlen += (size_t)snprintf(out + outlen, sizeof out - outlen, fmt, name, a, b, c, d, e, f, g);
}

#define FN_FMT "fn %s allocations %llu allocated_bytes %llu leaked_count %llu leaked_bytes %llu temporary %llu peak_bytes %llu frees %llu\n"

/* --- leaks: 300 blocks of 40 bytes, never freed --- */
static void *leaked[300];
NOINLINE void leak_maker(void)
{
	for (int i = 0; i < 300; i++)
		leaked[i] = malloc(40);
}

/* --- temporaries: each freed before the thread allocates again --- */
NOINLINE void temp_churn(void)
{
	for (int i = 0; i < 1000; i++) {
		char *p = malloc(64);
		p[0] = (char)i;
		free(p);
	}
}

/* --- the peak: 100 blocks of 10000 bytes live together, then freed --- */
static void *held[100];
NOINLINE void peak_builder(void)
{
	for (int i = 0; i < 100; i++)
		held[i] = malloc(10000);
}
NOINLINE void peak_release(void)
{
	for (int i = 0; i < 100; i++)
		free(held[i]);
}

/* --- a chain through a libc callback --- */
static int chain_lines[5];
static void *chain_block;
static int called;
NOINLINE void level_three(void)
{
	chain_lines[0] = __LINE__ + 1;
	chain_block = malloc(123);
}
NOINLINE int cmp_alloc(const void *a, const void *b)
{
	if (!called++) {
		chain_lines[1] = __LINE__ + 1;
		level_three();
	}
	return *(const int *)a - *(const int *)b;
}
NOINLINE void level_two(void)
{
	int v[8] = {5, 3, 8, 1, 9, 2, 7, 4};
	chain_lines[2] = __LINE__ + 1;
	qsort(v, 8, sizeof *v, cmp_alloc);
}
NOINLINE void level_one(void)
{
	chain_lines[3] = __LINE__ + 1;
	level_two();
}

/* --- an inlined allocator helper --- */
static inline __attribute__((always_inline)) void *inline_alloc(size_t n)
{
	return malloc(n);
}
static void *inl[7];
NOINLINE void inline_caller(void)
{
	for (int i = 0; i < 7; i++)
		inl[i] = inline_alloc(24);
}

/* --- blocks allocated in one thread, freed in another --- */
#define XT 500
static void *xt[XT];
NOINLINE void xthread_alloc(void)
{
	for (int i = 0; i < XT; i++)
		xt[i] = malloc(16 + (size_t)(i % 10));
}
static void *freer(void *arg)
{
	(void)arg;
	for (int i = 0; i < XT; i++)
		free(xt[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	leak_maker();
	temp_churn();
	xthread_alloc();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, freer, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	peak_builder(); /* the peak: 1 000 000 + 12 000 leaked + thread DTV */
	peak_release();
	chain_lines[4] = __LINE__ + 1;
	level_one();
	inline_caller();

	say(FN_FMT, 300, 300 * 40, 300, 300 * 40, 0, 300 * 40, 0, "leak_maker");
	say(FN_FMT, 1000, 1000 * 64, 0, 0, 1000, 0, 1000, "temp_churn");
	/* The last block peak_builder allocates is freed (by peak_release) before
	 * the thread allocates again: one temporary, by definition. */
	say(FN_FMT, 100, 100 * 10000, 0, 0, 1, 100 * 10000, 100, "peak_builder");
	unsigned long long xb = 0;
	for (int i = 0; i < XT; i++)
		xb += 16 + (size_t)(i % 10);
	say(FN_FMT, XT, xb, 0, 0, 0, 0, XT, "xthread_alloc");
	say(FN_FMT, 1, 123, 1, 123, 0, 0, 0, "level_three");
	say(FN_FMT, 7, 7 * 24, 7, 7 * 24, 0, 0, 0, "inline_alloc");
	outlen += (size_t)snprintf(out + outlen, sizeof out - outlen,
				   "chain level_three %d cmp_alloc %d level_two %d level_one %d main %d\n"
				   "inline inline_alloc inline_caller\n",
				   chain_lines[0], chain_lines[1], chain_lines[2], chain_lines[3], chain_lines[4]);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, out, outlen) == (ssize_t)outlen);
	close(fd);
	return 0;
}
