/*
 * truth_window.c - threads that each keep a window of their own recent
 * blocks: free a random one of them, allocate one of a random size (which
 * glibc's tcache answers with the block its size's bin freed last).
 *
 * The pattern the 1.7 events encode most compactly (docs/FORMAT.md "Events,
 * 1.7"): the free names its block by allocation index (a window of 200 is
 * well inside the 1024-slot recent table) and the allocation says "the
 * block my size class freed last", without an address. Random choices, so
 * the trace does not compress to nothing. In a rotated trace
 * most parts then begin with frees of blocks allocated in the part before
 * and allocations reusing blocks it freed: what the RING record's model
 * must carry for a part to read alone.
 *
 * The truth (allocations, frees, requested bytes, what is live at exit) is
 * counted per thread and summed at the end.
 *   usage: truth_window TRUTH_FILE SECONDS [THREADS] [baseline]
 * The run lasts SECONDS, measured by the program itself.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testclock.h"

#define WINDOW 200
#define MAX_THREADS 16

struct count {
	uint64_t allocs, frees, bytes, freed_bytes;
};

static struct count counts[MAX_THREADS];
static _Atomic int stop;

static uint64_t *new_block(struct count *c, size_t n)
{
	uint64_t *p = malloc(n);
	if (!p)
		die("malloc failed\n");
	p[0] = n; /* the block carries its size, for the free's count */
	c->allocs++;
	c->bytes += n;
	return p;
}

static void *worker(void *arg)
{
	struct count *c = &counts[(intptr_t)arg];
	uint64_t rng = 0x9E3779B97F4A7C15ull * ((uintptr_t)arg + 1);
	uint64_t *win[WINDOW];
	if (atomic_load(&stop))
		return NULL; /* baseline: the same threads, no allocations of ours */
	for (int i = 0; i < WINDOW; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		win[i] = new_block(c, 16 + rng % 1000); /* 63 size classes */
	}
	unsigned k = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int j = 0; j < 64; j++, k++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			unsigned i = (unsigned)(rng >> 32) % WINDOW;
			uint64_t n = win[i][0];
			free(win[i]);
			c->frees++;
			c->freed_bytes += n;
			win[i] = new_block(c, 16 + rng % 1000);
			if (k % 100000 == 0)
				(void)new_block(c, 24); /* leaked on purpose */
		}
	}
	return NULL; /* the window stays live: leaked at exit */
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: truth_window TRUTH_FILE SECONDS [THREADS] [baseline]\n");
	double seconds = atof(argv[2]);
	int threads = argc > 3 ? atoi(argv[3]) : 2;
	int baseline = argc > 4 && !strcmp(argv[4], "baseline");
	if (threads < 1 || threads > MAX_THREADS)
		die("THREADS must be 1..16\n");
	pthread_t t[MAX_THREADS];
	uint64_t t0 = now_ns();
	if (baseline)
		atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i))
			die("pthread_create failed\n");
	while (!baseline && now_ns() - t0 < (uint64_t)(seconds * 1e9)) {
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	struct count sum = {0};
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum.allocs += counts[i].allocs;
		sum.frees += counts[i].frees;
		sum.bytes += counts[i].bytes;
		sum.freed_bytes += counts[i].freed_bytes;
	}
	char buf[512];
	int n = snprintf(buf, sizeof buf,
			 "allocations %llu\nfrees %llu\nallocated_bytes %llu\nleaked_count %llu\nleaked_bytes %llu\n"
			 "unknown_frees 0\nelapsed_ms %llu\nthreads %d\n",
			 (unsigned long long)sum.allocs, (unsigned long long)sum.frees, (unsigned long long)sum.bytes,
			 (unsigned long long)(sum.allocs - sum.frees), (unsigned long long)(sum.bytes - sum.freed_bytes),
			 (unsigned long long)((now_ns() - t0) / 1000000), threads);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		die("cannot write the truth file\n");
	close(fd);
	return 0;
}
