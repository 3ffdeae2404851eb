/*
 * truth_kill.c - killed with SIGKILL mid-run.
 *   usage: truth_kill TRUTH_FILE idle   allocate, write the truth, then wait to be killed
 *          truth_kill CHECKPOINTS busy  allocate until killed, appending "time_ns allocations
 *                                       frees" to CHECKPOINTS every 10 ms
 * In both cases TRUTH_FILE.ready appears, holding the pid, once the program is ready to be killed.
 */
#include <time.h>

#include "truth.h"
#include "testclock.h"

static void ready(const char *path)
{
	char p[4096];
	snprintf(p, sizeof p, "%s.ready", path);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	CHECK(write(fd, pid, (size_t)n) == n);
	close(fd);
}

int main(int argc, char **argv)
{
	CHECK(argc == 3);
	static void *keep[5000];
	if (!strcmp(argv[2], "idle")) {
		for (int i = 0; i < 5000; i++) {
			keep[i] = malloc((size_t)i + 1);
			truth_alloc((size_t)i + 1);
		}
		for (int i = 0; i < 5000; i += 3) {
			free(keep[i]);
			truth_free((size_t)i + 1);
		}
		truth_write(argv[1], NULL);
		ready(argv[1]);
		for (;;)
			pause();
	}
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	uint64_t last = 0;
	for (uint64_t i = 0;; i++) {
		int k = (int)(i % 5000);
		if (keep[k]) {
			free(keep[k]);
			T.frees++;
		}
		keep[k] = malloc(64 + (size_t)k);
		T.allocations++;
		if (i == 100000)
			ready(argv[1]);
		if ((i & 255) == 0 && now_ns() - last > 10000000) {
			last = now_ns();
			char line[128];
			int n = snprintf(line, sizeof line, "%llu %llu %llu\n", (unsigned long long)last,
					 (unsigned long long)T.allocations, (unsigned long long)T.frees);
			CHECK(write(fd, line, (size_t)n) == n);
		}
	}
}
