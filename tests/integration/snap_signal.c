/*
 * snap_signal.c - a program that runs for a while, handling SIGUSR1 itself
 * and counting what it receives, for snapshot-by-signal and interval tests.
 *   usage: snap_signal READY_FILE MILLISECONDS [own-usr2]
 * Writes its pid to READY_FILE, allocates a little every 10 ms, runs for at
 * least MILLISECONDS and until READY_FILE.stop exists (so a test on a loaded
 * machine sends its signals before the end, however late it gets to), then
 * prints how many SIGUSR1 (and, with own-usr2, SIGUSR2) it received and, on
 * a second line, how long it ran in ms (the truth interval snapshots are
 * checked against). Blocking calls are checked for EINTR: a snapshot signal
 * must not cause one.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "truth.h"

static volatile sig_atomic_t usr1, usr2;

static void on_usr1(int s)
{
	(void)s;
	usr1++;
}

static void on_usr2(int s)
{
	(void)s;
	usr2++;
}

int main(int argc, char **argv)
{
	CHECK(argc == 3 || argc == 4);
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	if (argc == 4) {
		sa.sa_handler = on_usr2;
		CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, pid, (size_t)n) == n);
	close(fd);
	int ms = atoi(argv[2]);
	char stop[4096];
	snprintf(stop, sizeof stop, "%s.stop", argv[1]);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	static void *blocks[1000];
	for (int i = 0; i < ms / 10 || access(stop, F_OK) != 0; i++) {
		free(blocks[i % 1000]);
		blocks[i % 1000] = malloc(1000);
		struct timespec ts = {0, 10 * 1000000};
		while (nanosleep(&ts, &ts) != 0)
			CHECK(errno == EINTR); /* our own handlers interrupt it; restart */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < 1000; i++)
		free(blocks[i]);
	printf("usr1 %d usr2 %d\nran %lld\n", (int)usr1, (int)usr2,
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	return 0;
}
