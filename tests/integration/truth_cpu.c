/*
 * truth_cpu.c - a known CPU split: the main thread spends its CPU time
 * 60/30/10 % in three functions (measured with the thread CPU clock, around
 * each call), while a second thread stays busy in another function.
 *   usage: truth_cpu TRUTH_FILE SECONDS
 * Runs until the main thread has had SECONDS of CPU time and the second
 * thread half that (or a minute has passed), so a loaded machine gives as
 * many samples as a quiet one, only later. Writes "share FUNCTION PERCENT"
 * per function (of the main thread's three) and "cpu_ns FUNCTION NS" for all
 * four.
 */
#include <stdatomic.h>
#include <time.h>

#include "truth.h"

#define NOINLINE __attribute__((noinline))

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

/* Pure CPU, no calls: every sample in here is self time of the function. */
#define SPIN(units)                                                                                           \
	do {                                                                                                   \
		uint64_t x = sink;                                                                             \
		for (long i = 0; i < (units) * 20000L; i++)                                                    \
			x = x * 6364136223846793005ull + 1442695040888963407ull;                               \
		sink = x;                                                                                      \
	} while (0)

NOINLINE void f60(void) { SPIN(6); }
NOINLINE void f30(void) { SPIN(3); }
NOINLINE void f10(void) { SPIN(1); }

static atomic_int done;
static uint64_t other_ns;

NOINLINE void busy_other(void)
{
	while (!atomic_load(&done))
		SPIN(1);
}

static void *other(void *arg)
{
	(void)arg;
	uint64_t t0 = thread_cpu_ns();
	busy_other();
	other_ns = thread_cpu_ns() - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	CHECK(argc == 3);
	double seconds = atof(argv[2]);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, other, NULL) == 0);
	clockid_t other_clock;
	CHECK(pthread_getcpuclockid(t, &other_clock) == 0);
	uint64_t spent[3] = {0, 0, 0}, want_ns = (uint64_t)(seconds * 1e9);
	struct timespec start, now, oc;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		uint64_t a = thread_cpu_ns();
		f60();
		uint64_t b = thread_cpu_ns();
		f30();
		uint64_t c = thread_cpu_ns();
		f10();
		uint64_t d = thread_cpu_ns();
		spent[0] += b - a;
		spent[1] += c - b;
		spent[2] += d - c;
		clock_gettime(CLOCK_MONOTONIC, &now);
		clock_gettime(other_clock, &oc);
	} while ((spent[0] + spent[1] + spent[2] < want_ns ||
		  (uint64_t)oc.tv_sec * 1000000000u + (uint64_t)oc.tv_nsec < want_ns / 2) &&
		 now.tv_sec - start.tv_sec < 60);
	atomic_store(&done, 1);
	CHECK(pthread_join(t, NULL) == 0);
	uint64_t all = spent[0] + spent[1] + spent[2];
	char out[512];
	int n = snprintf(out, sizeof out,
			 "share f60 %.2f\nshare f30 %.2f\nshare f10 %.2f\n"
			 "cpu_ns f60 %llu\ncpu_ns f30 %llu\ncpu_ns f10 %llu\ncpu_ns busy_other %llu\n",
			 100.0 * (double)spent[0] / (double)all, 100.0 * (double)spent[1] / (double)all,
			 100.0 * (double)spent[2] / (double)all, (unsigned long long)spent[0], (unsigned long long)spent[1],
			 (unsigned long long)spent[2], (unsigned long long)other_ns);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, out, (size_t)n) == n);
	close(fd);
	return 0;
}
