/*
 * top_prog.c - a program for `ldprof top`: it allocates in a loop for a
 * while (some blocks freed, some kept, two functions), then stops at a pause
 * point and says, in STATE_FILE, exactly how many bytes it holds live
 * (truth.h), and waits there until GO_FILE exists; then frees everything
 * and exits. The test waits for the live view to show that exact figure.
 *   usage: top_prog STATE_FILE GO_FILE
 */
#include <sys/stat.h>
#include <time.h>

#include "truth.h"

#define KEPT 3000

static void *kept[KEPT];
static size_t kept_size[KEPT];

__attribute__((noinline)) static void *keep_block(size_t n)
{
	void *p = malloc(n);
	CHECK(p);
	memset(p, 1, n);
	truth_alloc(n);
	return p;
}

__attribute__((noinline)) static void churn(unsigned i)
{
	size_t n = 64 + (i * 37) % 4000;
	void *p = malloc(n);
	CHECK(p);
	truth_alloc(n);
	memset(p, 2, n);
	free(p);
	truth_free(n);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	for (unsigned i = 0; i < KEPT; i++) {
		kept_size[i] = 100 + (i * 7919) % 9000;
		kept[i] = keep_block(kept_size[i]);
		for (unsigned k = 0; k < 20; k++)
			churn(i * 20 + k);
		if (i % 100 == 0) {
			struct timespec ms = {0, 2 * 1000000};
			nanosleep(&ms, NULL);
		}
	}
	/* The pause point: what is live now, exactly. */
	char extra[64];
	snprintf(extra, sizeof extra, "live_bytes %llu\n", (unsigned long long)T.live_bytes);
	truth_write(argv[1], extra);
	struct stat st;
	for (unsigned waited = 0; stat(argv[2], &st) != 0 && waited < 120000; waited += 20) {
		struct timespec ms = {0, 20 * 1000000};
		nanosleep(&ms, NULL);
	}
	for (unsigned i = 0; i < KEPT; i++) {
		free(kept[i]);
		truth_free(kept_size[i]);
	}
	return 0;
}
