/*
 * eintr_prog.c - about 30 % computing, 40 % in poll() with a timeout, 30 % in
 * nanosleep(), repeated; any EINTR is a failure (exit 3), because nothing in
 * this program sends it a signal. Measures its own wall time per part.
 *   usage: eintr_prog TRUTH_FILE SECONDS
 * Writes "share FUNCTION PERCENT" for compute_part, poll_part, sleep_part.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "truth.h"
#include "testclock.h"

#define NOINLINE __attribute__((noinline))

static volatile uint64_t sink;

NOINLINE void compute_part(uint64_t ns)
{
	uint64_t end = now_ns() + ns, x = sink;
	while (now_ns() < end)
		for (int i = 0; i < 1000; i++)
			x = x * 6364136223846793005ull + 1;
	sink = x;
}

NOINLINE void poll_part(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	int r = poll(&p, 1, ms);
	if (r < 0 && errno == EINTR) {
		static const char m[] = "eintr_prog: poll returned EINTR\n";
		CHECK(write(2, m, sizeof m - 1) > 0);
		_exit(3);
	}
	CHECK(r == 0);
}

NOINLINE void sleep_part(long ns)
{
	struct timespec ts = {0, ns};
	if (nanosleep(&ts, NULL) != 0) {
		static const char m[] = "eintr_prog: nanosleep returned EINTR\n";
		CHECK(write(2, m, sizeof m - 1) > 0);
		_exit(3);
	}
}

int main(int argc, char **argv)
{
	CHECK(argc == 3);
	double seconds = atof(argv[2]);
	int fds[2];
	CHECK(pipe(fds) == 0);
	uint64_t spent[3] = {0, 0, 0}, start = now_ns();
	while (now_ns() - start < (uint64_t)(seconds * 1e9)) {
		uint64_t a = now_ns();
		compute_part(30000000);
		uint64_t b = now_ns();
		poll_part(fds[0], 40);
		uint64_t c = now_ns();
		sleep_part(30000000);
		uint64_t d = now_ns();
		spent[0] += b - a;
		spent[1] += c - b;
		spent[2] += d - c;
	}
	uint64_t all = spent[0] + spent[1] + spent[2];
	char out[256];
	int n = snprintf(out, sizeof out, "share compute_part %.2f\nshare poll_part %.2f\nshare sleep_part %.2f\n",
			 100.0 * (double)spent[0] / (double)all, 100.0 * (double)spent[1] / (double)all,
			 100.0 * (double)spent[2] / (double)all);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, out, (size_t)n) == n);
	close(fd);
	printf("done\n");
	return 0;
}
