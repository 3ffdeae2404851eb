/*
 * truth_single.c - one thread, every entry point of the malloc family, with
 * known counts, bytes, peak and leaks.
 *   usage: truth_single TRUTH_FILE
 */
#include <errno.h>
#include <malloc.h>

#include "truth.h"

#define N 2000

static void *slots[N];
static size_t sizes[N];

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void put(int i, void *p, size_t n)
{
	CHECK(p != NULL);
	slots[i] = p;
	sizes[i] = n;
	truth_alloc(n);
}

static void drop(int i)
{
	free(slots[i]);
	truth_free(sizes[i]);
	slots[i] = NULL;
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	/* Churn: random sizes, each entry point in turn, random frees. */
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < N; i++) {
			if (slots[i] && next_rand() % 3 == 0) {
				drop(i);
				continue;
			}
			if (slots[i])
				continue;
			size_t n = next_rand() % 5000;
			void *p = NULL;
			switch (next_rand() % 8) {
			case 0: p = malloc(n); break;
			case 1: p = calloc(1 + n % 7, n / 7 + 1); n = (1 + n % 7) * (n / 7 + 1); break;
			case 2: p = realloc(NULL, n); break;
			case 3: p = reallocarray(NULL, 3, n); n *= 3; break;
			case 4: CHECK(posix_memalign(&p, 64, n) == 0); break;
			case 5: p = aligned_alloc(128, n); break;
			case 6: p = memalign(32, n); break;
			case 7: p = valloc(n); break;
			}
			put(i, p, n);
		}
	}
	/* realloc chains: grow in place or move, shrink, reallocarray. */
	for (int i = 0; i < 100; i++) {
		size_t n = 16;
		void *p = malloc(n);
		put(0, p, n); /* slot 0 reused as scratch: free its old block first */
		for (int k = 0; k < 20; k++) {
			size_t m = k % 5 == 4 ? n / 2 : n * 2;
			void *q = realloc(p, m);
			CHECK(q != NULL);
			truth_free(n);
			truth_alloc(m);
			p = q;
			n = m;
		}
		void *q = reallocarray(p, 2, n);
		CHECK(q != NULL);
		truth_free(n);
		truth_alloc(2 * n);
		free(q);
		truth_free(2 * n);
		slots[0] = NULL;
	}
	/* realloc(p, 0) frees; a failed realloc leaves the block alone. */
	void *p = malloc(100);
	truth_alloc(100);
	errno = 0;
	CHECK(realloc(p, 0) == NULL);
	truth_free(100);
	p = malloc(200);
	truth_alloc(200);
	CHECK(realloc(p, (size_t)1 << 62) == NULL && errno == ENOMEM);
	free(p);
	truth_free(200);
	/* Failures are not allocations; free(NULL) is not a free. */
	volatile size_t too_big = (size_t)1 << 62;
	CHECK(malloc(too_big) == NULL && errno == ENOMEM);
	volatile size_t huge = (size_t)1 << 40; /* volatile: keep the compiler from rejecting the overflow */
	CHECK(calloc(huge, huge) == NULL);
	CHECK(reallocarray(NULL, huge, huge) == NULL && errno == ENOMEM);
	void *q = NULL;
	CHECK(posix_memalign(&q, 3, 16) == EINVAL);
	free(NULL);
	/* pvalloc rounds up to a page but the request is what counts. */
	p = pvalloc(10);
	truth_alloc(10);
	CHECK(malloc_usable_size(p) >= 10);
	free(p);
	truth_free(10);
	/* A peak well above the churn, then mostly released. */
	void *big[10];
	for (int i = 0; i < 10; i++) {
		big[i] = malloc(1 << 20);
		truth_alloc(1 << 20);
	}
	for (int i = 0; i < 9; i++) {
		free(big[i]);
		truth_free(1 << 20);
	}
	/* Leak big[9] and whatever the churn left in slots. */
	truth_write(argv[1], NULL);
	return 0;
}
