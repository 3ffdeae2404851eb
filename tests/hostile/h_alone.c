/*
 * h_alone.c MODE [SIDE] - a program that runs alone (one thread), for the
 * sampled-mode writer that starts late (agent/writer.c). The runner traces
 * it with --mode sampled and LDPROF_WRITER_DELAY_MS set.
 *
 *   count   1000 allocations (100 kept), then prints how many threads the
 *           process has: 1, bare and traced (no writer thread yet)
 *   late    allocates (a block made and freed, again and again) until a
 *           second thread appears in /proc/self/task or 5 s pass; writes to
 *           SIDE the ms since the process began (its start time in
 *           /proc/self/stat: before the agent's constructor, whose delay
 *           can only end later) at which it appeared (-1: never), and
 *           prints nothing that differs bare and traced
 *   cpu     computes, without allocating, for 1.5 s of its own CPU time
 *           (its thread CPU clock, so a loaded machine only makes it take
 *           longer), prints a checksum; then 1000 allocations (100 kept)
 *   rss     makes and touches a 64 MiB block, allocates small blocks for
 *           250 ms of its own clock, frees the big one, allocates for 150
 *           ms more; writes to SIDE its peak RSS (VmHWM) in KiB: the trace,
 *           whose writer never started, must still have seen that peak
 *   thread  1000 allocations (100 kept), then starts a thread that makes
 *           1000 more and waits; writes to SIDE the threads the process
 *           has then: 2 bare, 3 traced (the writer starts with the
 *           program's first thread)
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <dirent.h>
#include <pthread.h>
#include <time.h>

#define ALLOCS 1000
#define KEPT (ALLOCS / 10)

static void *kept[2 * KEPT];

static int threads_now(void)
{
	DIR *d = opendir("/proc/self/task"); /* opendir allocates: only where counts do not matter */
	CHECK(d, "opendir /proc/self/task: %s", strerror(errno));
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void allocate(unsigned owner, void **keep)
{
	for (unsigned i = 0; i < ALLOCS; i++) {
		void *p = pattern_alloc(64 + i % 64, owner, i);
		if (i % 10 == 0)
			keep[i / 10] = p;
		else
			free(p);
	}
}

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0->tv_sec) * 1000 + (uint64_t)((t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* ms since the process began: CLOCK_BOOTTIME against its start time
 * (field 22 of /proc/self/stat, in clock ticks since boot, rounded down:
 * this can only be more than the truth). */
static long ms_since_process_start(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	CHECK(f, "fopen /proc/self/stat: %s", strerror(errno));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the name may hold spaces */
	CHECK(p, "no ) in /proc/self/stat");
	unsigned long long start = 0;
	for (int field = 2; field < 22; field++)
		p = strchr(p + 1, ' ');
	CHECK(p && sscanf(p + 1, "%llu", &start) == 1, "no start time in /proc/self/stat");
	struct timespec t;
	clock_gettime(CLOCK_BOOTTIME, &t);
	long hz = sysconf(_SC_CLK_TCK);
	return (long)((uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000 - start * 1000 / (unsigned long long)hz);
}

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long vm_hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	CHECK(f, "fopen /proc/self/status: %s", strerror(errno));
	char line[256];
	long kib = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	CHECK(kib > 0, "no VmHWM in /proc/self/status");
	return kib;
}

/* Small blocks made and freed for ms of this process's clock. */
static void churn_for(uint64_t ms)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; ms_since(&t0) < ms; i++)
		free(pattern_alloc(32, 4, i));
}

static pthread_barrier_t met;

static void *second(void *arg)
{
	(void)arg;
	allocate(2, kept + KEPT);
	pthread_barrier_wait(&met); /* allocated, */
	pthread_barrier_wait(&met); /* counted */
	return NULL;
}

static void side(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	CHECK(f, "fopen %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", v);
	fclose(f);
}

int main(int argc, char **argv)
{
	CHECK(argc >= 2, "usage: h_alone count|late SIDE|cpu|thread SIDE");
	const char *mode = argv[1];
	if (!strcmp(mode, "count")) {
		allocate(1, kept);
		say("threads %d\n", threads_now());
		return 0;
	}
	if (!strcmp(mode, "late")) {
		CHECK(argc == 3, "late needs SIDE");
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long seen = -1;
		for (unsigned i = 0; ms_since(&t0) < 5000; i++) {
			free(pattern_alloc(4096, 3, i)); /* 4 KiB a block: a sample now and then */
			if (i % 256 == 0 && threads_now() > 1) {
				seen = ms_since_process_start();
				break;
			}
		}
		side(argv[2], seen);
		say("done\n");
		return 0;
	}
	if (!strcmp(mode, "cpu")) {
		double start = cpu_s();
		uint64_t x = 1;
		while (cpu_s() - start < 1.5)
			for (int i = 0; i < 100000; i++)
				x = x * 6364136223846793005ull + 1442695040888963407ull;
		say("checksum %d\n", (int)(x >> 63) | 1);
		allocate(1, kept);
		return 0;
	}
	if (!strcmp(mode, "rss")) {
		CHECK(argc == 3, "rss needs SIDE");
		size_t big = 64u << 20;
		char *p = malloc(big);
		CHECK(p, "malloc 64 MiB");
		memset(p, 1, big);
		churn_for(250);
		free(p); /* glibc's mmap'd block: unmapped, the RSS falls */
		churn_for(150);
		side(argv[2], vm_hwm_kib());
		say("done\n");
		return 0;
	}
	if (!strcmp(mode, "thread")) {
		CHECK(argc == 3, "thread needs SIDE");
		allocate(1, kept);
		pthread_barrier_init(&met, NULL, 2);
		pthread_t t;
		CHECK(pthread_create(&t, NULL, second, NULL) == 0, "pthread_create");
		pthread_barrier_wait(&met);
		side(argv[2], threads_now());
		pthread_barrier_wait(&met);
		CHECK(pthread_join(t, NULL) == 0, "pthread_join");
		say("done\n");
		return 0;
	}
	CHECK(0, "unknown mode %s", mode);
}
