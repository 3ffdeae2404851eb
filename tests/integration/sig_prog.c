/*
 * sig_prog.c - programs that are hard on a sampling profiler's signal.
 *   sig_prog own-sigprof   its own SIGPROF handler and ITIMER_PROF; must keep getting ticks
 *   sig_prog reset-all     resets every signal to SIG_DFL, then computes: must not die
 *   sig_prog blocked       a thread with every signal blocked computes beside main
 *   sig_prog threads64     64 threads compute at once
 *   sig_prog successive F  32 threads, one after another, each named burn-N,
 *                          compute 60 ms of CPU time and exit; F gets
 *                          "TID burn-N" for each
 * Each prints one line and exits 0 when it behaved.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "truth.h"

#define NOINLINE __attribute__((noinline))

static volatile sig_atomic_t ticks;
static volatile uint64_t sink;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

NOINLINE void burn(uint64_t cpu_ns)
{
	uint64_t end = thread_cpu_ns() + cpu_ns, x = sink;
	while (thread_cpu_ns() < end)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005ull + 1;
	sink = x;
}

static void on_prof(int s)
{
	(void)s;
	ticks++;
}

static void *burner(void *arg)
{
	if (arg) {
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	burn(arg ? 300000000u : 50000000u);
	return NULL;
}

static pid_t burner_tids[32];

static void *named_burner(void *arg)
{
	char name[16];
	snprintf(name, sizeof name, "burn-%d", (int)(intptr_t)arg);
	burner_tids[(intptr_t)arg] = gettid();
	CHECK(pthread_setname_np(pthread_self(), name) == 0);
	burn(60000000u);
	return NULL;
}

int main(int argc, char **argv)
{
	CHECK(argc == 2 || (argc == 3 && !strcmp(argv[1], "successive")));
	if (!strcmp(argv[1], "own-sigprof")) {
		struct sigaction sa = {.sa_handler = on_prof, .sa_flags = SA_RESTART};
		sigemptyset(&sa.sa_mask);
		CHECK(sigaction(SIGPROF, &sa, NULL) == 0);
		struct itimerval it = {{0, 2000}, {0, 2000}};
		CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);
		burn(500000000u);
		struct itimerval off = {{0, 0}, {0, 0}};
		setitimer(ITIMER_PROF, &off, NULL);
		printf("own SIGPROF ticks %s\n", ticks >= 20 ? "arrived" : "MISSING");
		return ticks >= 20 ? 0 : 1;
	}
	if (!strcmp(argv[1], "reset-all")) {
		for (int s = 1; s < 65; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		burn(500000000u);
		printf("alive after resetting every signal\n");
		return 0;
	}
	if (!strcmp(argv[1], "blocked")) {
		pthread_t t;
		CHECK(pthread_create(&t, NULL, burner, (void *)1) == 0);
		burn(300000000u);
		CHECK(pthread_join(t, NULL) == 0);
		printf("alive with a thread blocking every signal\n");
		return 0;
	}
	if (!strcmp(argv[1], "threads64")) {
		pthread_t t[64];
		for (int i = 0; i < 64; i++)
			CHECK(pthread_create(&t[i], NULL, burner, NULL) == 0);
		for (int i = 0; i < 64; i++)
			CHECK(pthread_join(t[i], NULL) == 0);
		printf("64 threads done\n");
		return 0;
	}
	if (!strcmp(argv[1], "successive")) {
		for (int i = 0; i < 32; i++) {
			pthread_t t;
			CHECK(pthread_create(&t, NULL, named_burner, (void *)(intptr_t)i) == 0);
			CHECK(pthread_join(t, NULL) == 0);
		}
		FILE *f = fopen(argv[2], "w");
		CHECK(f != NULL);
		for (int i = 0; i < 32; i++)
			fprintf(f, "%d burn-%d\n", (int)burner_tids[i], i);
		CHECK(fclose(f) == 0);
		printf("32 threads done, one after another\n");
		return 0;
	}
	return 2;
}
