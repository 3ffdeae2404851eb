/*
 * truth_sampled.c - known allocation volumes per function, for checking
 * sampled mode's estimates against their stated error (docs/SAMPLING.md).
 *
 * Writes, per function, the truth and the standard deviation sampled mode's
 * estimates should have at a mean of MEAN bytes between samples:
 *   fn NAME allocations N allocated_bytes B leaked_bytes L sd_count SC sd_bytes SB sd_leaked SL
 * Each function allocates blocks of one size (realloc_grow: ten sizes, whose
 * variances add), so the deviations follow from the block counts and sizes: with p = 1 - exp(-size / MEAN),
 *   Var(estimated bytes)  = N size^2 (1 - p) / p
 *   Var(estimated count)  = N (1 - p) / p   (+ N / 4 for rounding 1/p)
 *
 *   usage: truth_sampled TRUTH_FILE MEAN
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

static FILE *truth;
static double mean;

static void say(const char *name, unsigned long long n, unsigned long long size, unsigned long long leaked_n)
{
	double p = -expm1(-(double)size / mean);
	double q = (1 - p) / p;
	fprintf(truth,
		"fn %s allocations %llu allocated_bytes %llu leaked_bytes %llu sd_count %.1f sd_bytes %.1f sd_leaked %.1f\n",
		name, n, n * size, leaked_n * size, sqrt(n * q + n / 4.0), sqrt(n * q) * (double)size,
		sqrt(leaked_n * q) * (double)size);
}

static volatile unsigned long long sink;

/* 4 million 32-byte temporaries: 128 MiB in blocks far below the mean */
NOINLINE void tiny_churn(void)
{
	for (int i = 0; i < 4000000; i++) {
		char *p = malloc(32);
		p[0] = (char)i;
		sink += (unsigned long long)p[0];
		free(p);
	}
	say("tiny_churn", 4000000, 32, 0);
}

/* 32768 blocks of 8 KiB: 256 MiB */
NOINLINE void page_churn(void)
{
	for (int i = 0; i < 32768; i++) {
		char *p = malloc(8192);
		p[0] = (char)i;
		sink += (unsigned long long)p[0];
		free(p);
	}
	say("page_churn", 32768, 8192, 0);
}

/* 64 blocks of 4 MiB, all live at once: certain to be sampled */
static void *big[64];
NOINLINE void big_hold(void)
{
	for (int i = 0; i < 64; i++) {
		big[i] = malloc(4u << 20);
		((char *)big[i])[0] = 1;
	}
	say("big_hold", 64, 4u << 20, 0);
}

/* 2000 blocks of 100 KiB, never freed: leaks near the mean */
NOINLINE void mid_leak(void)
{
	for (int i = 0; i < 2000; i++) {
		char *p = malloc(102400);
		p[0] = 1;
	}
	say("mid_leak", 2000, 102400, 2000);
}

/* 200000 zeroed blocks of 1000 bytes from calloc, freed in a second pass */
static char *held[200000];
NOINLINE void calloc_batch(void)
{
	for (int i = 0; i < 200000; i++)
		held[i] = calloc(10, 100);
	for (int i = 0; i < 200000; i++) {
		sink += (unsigned long long)held[i][999];
		free(held[i]);
	}
	say("calloc_batch", 200000, 1000, 0);
}

/* 100 chains growing by realloc from 4 KiB to 2 MiB (doubling), then freed:
 * 10 sizes per chain, sizes on both sides of the mean */
NOINLINE void realloc_grow(void)
{
	for (int c = 0; c < 100; c++) {
		char *p = NULL;
		for (size_t n = 4096; n <= (2u << 20); n *= 2) {
			p = realloc(p, n);
			p[n - 1] = (char)n;
			sink += (unsigned long long)p[n / 2];
		}
		free(p);
	}
	/* mixed sizes: sum the variances of each size */
	double var_b = 0, var_c = 0;
	unsigned long long bytes = 0;
	for (size_t n = 4096; n <= (2u << 20); n *= 2) {
		double p = -expm1(-(double)n / mean), q = (1 - p) / p;
		var_b += 100 * q * (double)n * (double)n;
		var_c += 100 * q + 100 / 4.0;
		bytes += 100 * n;
	}
	fprintf(truth, "fn realloc_grow allocations 1000 allocated_bytes %llu leaked_bytes 0 sd_count %.1f sd_bytes %.1f sd_leaked 0\n",
		bytes, sqrt(var_c), sqrt(var_b));
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: truth_sampled TRUTH_FILE MEAN\n");
		return 2;
	}
	truth = fopen(argv[1], "w");
	mean = atof(argv[2]);
	if (!truth || mean <= 0)
		return 2;
	tiny_churn();
	page_churn();
	big_hold();
	mid_leak();
	calloc_batch();
	realloc_grow();
	for (int i = 0; i < 64; i++)
		free(big[i]);
	fclose(truth);
	return sink == 12345 ? 1 : 0;
}
