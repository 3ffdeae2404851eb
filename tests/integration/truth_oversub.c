/*
 * truth_oversub.c - many more allocating threads than cores, for a while.
 *
 * THREADS threads (default 64) share a table of slots. Each thread, in a
 * loop, takes a random slot's block (atomic exchange): a block that another
 * thread allocated is freed here (cross-thread free), an empty slot gets a
 * new block of a random size. On a 2-core machine the threads are
 * preempted everywhere, also between an event's sequence number and its
 * commit into the ring, and the agent's writer rounds grow to millions of
 * events: the reader's merge and the heap model must still count exactly.
 *
 * The truth is counted with atomics (no lock: a lock would serialise the
 * threads and hide the hazard): allocations, frees, requested bytes, and
 * what is still live at exit (the slots, plus the blocks leaked on purpose).
 * The peak is not part of the truth (concurrent threads have no single
 * order to take it in).
 *   usage: truth_oversub TRUTH_FILE SECONDS [THREADS] [baseline]
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

#define SLOTS 4096
#define MAX_THREADS 256

static _Atomic(uint64_t *) slot[SLOTS];
static _Atomic uint64_t n_allocs, n_frees, n_bytes, n_freed_bytes, n_rounds;
static _Atomic int stop;
static int baseline;

static uint64_t *new_block(uint64_t *rng)
{
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	size_t n = 16 + *rng % 500;
	uint64_t *p = malloc(n);
	if (!p)
		die("malloc failed\n");
	p[0] = n; /* the block carries its size, for the free's count */
	atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
	return p;
}

static void *worker(void *arg)
{
	uint64_t rng = 0x9E3779B97F4A7C15ull * ((uintptr_t)arg + 1);
	unsigned leak_every = 5000, k = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			unsigned s = (unsigned)(rng >> 40) % SLOTS;
			uint64_t *old = atomic_exchange_explicit(&slot[s], NULL, memory_order_acq_rel);
			if (old) {
				uint64_t n = old[0];
				free(old);
				atomic_fetch_add_explicit(&n_frees, 1, memory_order_relaxed);
				atomic_fetch_add_explicit(&n_freed_bytes, n, memory_order_relaxed);
			} else {
				uint64_t *p = new_block(&rng);
				uint64_t *none = NULL;
				if (!atomic_compare_exchange_strong(&slot[s], &none, p)) {
					uint64_t n = p[0];
					free(p); /* someone filled it meanwhile: a temporary */
					atomic_fetch_add_explicit(&n_frees, 1, memory_order_relaxed);
					atomic_fetch_add_explicit(&n_freed_bytes, n, memory_order_relaxed);
				}
			}
			if (++k % leak_every == 0)
				(void)new_block(&rng); /* leaked on purpose */
		}
		atomic_fetch_add_explicit(&n_rounds, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: truth_oversub TRUTH_FILE SECONDS [THREADS] [baseline]\n");
	double seconds = atof(argv[2]);
	int threads = argc > 3 ? atoi(argv[3]) : 64;
	baseline = argc > 4 && !strcmp(argv[4], "baseline");
	if (threads < 1 || threads > MAX_THREADS)
		die("THREADS must be 1..256\n");
	pthread_t t[MAX_THREADS];
	uint64_t t0 = now_ns();
	if (baseline)
		atomic_store(&stop, 1); /* same threads, no allocations of ours */
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i))
			die("pthread_create failed\n");
	while (!baseline && now_ns() - t0 < (uint64_t)(seconds * 1e9)) {
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	/* Live at exit: the slots' blocks and the ones leaked on purpose. */
	uint64_t allocs = n_allocs, frees = n_frees;
	char buf[512];
	int n = snprintf(buf, sizeof buf,
			 "allocations %llu\nfrees %llu\nallocated_bytes %llu\nleaked_count %llu\nleaked_bytes %llu\n"
			 "unknown_frees 0\n"
			 "elapsed_ms %llu\nthreads %d\n",
			 (unsigned long long)allocs, (unsigned long long)frees, (unsigned long long)n_bytes,
			 (unsigned long long)(allocs - frees),
			 (unsigned long long)(n_bytes - n_freed_bytes), (unsigned long long)((now_ns() - t0) / 1000000), threads);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		die("cannot write the truth file\n");
	close(fd);
	return 0;
}
