/*
 * h_daemon.c MODE DIR - a daemon: double fork, setsid, close every fd, then
 * allocate and write its own files. Compiled without unwind tables, so an
 * unwinder that falls back to frame pointers validates addresses (libunwind
 * 1.6 does that through a pipe it reopens when a read fails: hazard 22).
 *
 *   late   the daemon's trace is open when it closes every fd (its fd is
 *          reused by the daemon's files); its files take fds 0..7
 *   early  the daemon closes every fd before its first allocation (its
 *          trace is opened afterwards); stdio goes to /dev/null as daemons
 *          do, its files take fds 3..10
 *   range  like late, but fds are closed with closefrom(3)/close_range
 *
 * The daemon writes 8 files while allocating, then reads them back and
 * writes its verdict to DIR/verdict; the foreground process waits for the
 * verdict and prints it. Trace bytes or agent messages in any of the files,
 * or a file closed under the daemon, make the verdict "damaged".
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>


#define NFILES 8
#define LINES 300

static void line_of(char *buf, size_t cap, int f, int i)
{
	snprintf(buf, cap, "file %d line %d: the daemon's own data\n", f, i);
}

static int verify(const char *dir, char *why, size_t cap)
{
	for (int f = 0; f < NFILES; f++) {
		char path[4096], want[128], got[128];
		snprintf(path, sizeof path, "%s/file%d", dir, f);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, cap, "file%d: %s", f, strerror(errno));
			return 0;
		}
		for (int i = 0; i < LINES; i++) {
			line_of(want, sizeof want, f, i);
			size_t n = strlen(want);
			if (read(fd, got, n) != (ssize_t)n || memcmp(got, want, n)) {
				snprintf(why, cap, "file%d: line %d differs", f, i);
				close(fd);
				return 0;
			}
		}
		ssize_t extra = read(fd, got, 1);
		close(fd);
		if (extra != 0) {
			snprintf(why, cap, "file%d: bytes after the last line", f);
			return 0;
		}
	}
	return 1;
}

/* The daemon has no stdio left: anything that goes wrong is its verdict. */
static void give_verdict(const char *dir, const char *why)
{
	char v[4096];
	snprintf(v, sizeof v, "%s/verdict", dir);
	int vf = open(v, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	dprintf(vf, "damaged: %s\n", why);
	close(vf);
}

static void close_everything(const char *mode)
{
	if (!strcmp(mode, "range")) {
		closefrom(3);
		close(0);
		close(1);
		close(2);
	} else {
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 0; fd < max; fd++)
			close((int)fd);
	}
}

static void daemon_main(const char *mode, const char *dir)
{
	if (strcmp(mode, "early")) {
		/* late/range: trace open before the fds are closed */
		void *volatile p = malloc(64);
		free(p);
	}
	close_everything(mode);
	int fds[NFILES];
	if (!strcmp(mode, "early")) {
		/* the classic daemon: stdio on /dev/null, expected at 0, 1, 2 */
		int n = open("/dev/null", O_RDWR), a = dup(0), b = dup(0);
		if (n != 0 || a != 1 || b != 2) {
			char why[128];
			snprintf(why, sizeof why, "/dev/null opened at fds %d, %d, %d instead of 0, 1, 2", n, a, b);
			give_verdict(dir, why);
			_exit(20);
		}
	}
	for (int f = 0; f < NFILES; f++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/file%d", dir, f);
		fds[f] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fds[f] != f + (!strcmp(mode, "early") ? 3 : 0)) {
			/* someone holds a low fd: the daemon's numbering is off */
			char why[128];
			snprintf(why, sizeof why, "file%d opened at fd %d, not %d", f, fds[f], f + (!strcmp(mode, "early") ? 3 : 0));
			give_verdict(dir, why);
			_exit(21);
		}
	}
	for (int i = 0; i < LINES; i++) {
		for (int f = 0; f < NFILES; f++) {
			char buf[128];
			void *p = pattern_alloc(100 + (size_t)i, (unsigned)f, (unsigned)i);
			line_of(buf, sizeof buf, f, i);
			ssize_t w = write(fds[f], buf, strlen(buf));
			int ok = pattern_ok(p, 100 + (size_t)i, (unsigned)f, (unsigned)i);
			free(p);
			if (w != (ssize_t)strlen(buf) || !ok) {
				/* fd closed or replaced under us: record it and stop */
				char v[256];
				snprintf(v, sizeof v, "%s/verdict", dir);
				int vf = open(v, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
				dprintf(vf, "damaged: write to file%d failed at line %d (%s)\n", f, i,
					w < 0 ? strerror(errno) : "short");
				close(vf);
				_exit(22);
			}
		}
		if (i % 30 == 0)
			usleep(10000); /* let the agent's writer run a few rounds meanwhile */
	}
	for (int f = 0; f < NFILES; f++)
		close(fds[f]);
	char why[256] = "", v[4096], tmp[4096];
	int ok = verify(dir, why, sizeof why);
	snprintf(tmp, sizeof tmp, "%s/verdict.tmp", dir);
	snprintf(v, sizeof v, "%s/verdict", dir);
	int vf = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ok)
		dprintf(vf, "daemon: %d files of %d lines intact\n", NFILES, LINES);
	else
		dprintf(vf, "damaged: %s\n", why);
	close(vf);
	rename(tmp, v);
	_exit(0);
}

int main(int argc, char **argv)
{
	CHECK(argc == 3, "usage: h_daemon late|early|range DIR");
	const char *mode = argv[1], *dir = argv[2];
	void *volatile p = malloc(10);
	free(p);
	pid_t c = fork();
	CHECK(c >= 0, "fork");
	if (c == 0) {
		setsid();
		pid_t g = fork();
		if (g != 0)
			_exit(g > 0 ? 0 : 1);
		daemon_main(mode, dir);
	}
	int st;
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "first child status %d", st);
	/* Wait for the grandchild's verdict (no timing assertion: the runner's
	 * timeout bounds the whole test). */
	char v[4096], buf[512];
	snprintf(v, sizeof v, "%s/verdict", dir);
	int fd;
	while ((fd = open(v, O_RDONLY | O_CLOEXEC)) < 0)
		usleep(20000);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	say("%s", buf);
	return strncmp(buf, "daemon:", 7) ? 1 : 0;
}
