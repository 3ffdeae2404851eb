/*
 * h_life.c MODE [ARG] - what long-running servers do to the agent's files and
 * process: close every fd and go on, fork into a table of reused numbers,
 * run under a tight RLIMIT_AS.
 * Every block is the program's own (no stdio), so the trace's counts must
 * equal the numbers below exactly.
 *
 *   closeexit VARIANT SIDE   allocate, close fds 3.., allocate, exit(0)
 *   closeexec VARIANT SIDE   allocate, close fds 3.., allocate, exec itself
 *                            as `after` (which allocates and exits 0)
 *       VARIANT: range  closefrom(3)
 *                loop   close(fd) for every fd from 3 to the limit
 *                reuse  closefrom(3), then SIDE opened on every fd from 3
 *                       to 1023 (the number the agent had is the program's)
 *                While the fds are closed, a second thread allocates.
 *   ashead SIDE              writes the address space RLIMIT_AS leaves it
 *                            (the limit less its size in main) to SIDE
 *   asfill BYTES             takes BYTES in 1 MiB blocks (each one a mapping
 *                            of 1 MiB + 4 KiB), writes to each, frees them:
 *                            exits 0, or 1 when malloc fails
 *   forkstuck                8192 allocations from as many distinct stacks
 *                            (trace bytes that do not compress away); then,
 *                            once the agent's writer thread (if any) is
 *                            blocked in write(2) - run.sh points the trace
 *                            at a pty nobody reads - 5 forks, each child
 *                            _exits at once; exits 0
 *   forkreuse SIDE           closefrom(3), SIDE on every fd from 3 to 1023,
 *                            fork: the child allocates (opening its own
 *                            trace) and checks every one of them is still
 *                            open and still SIDE; exits 0 (3 if not)
 *
 * Counts: closeexit: 3000 + N_THREAD allocations, 2500 + N_THREAD frees,
 * 500 leaked; closeexec: the same in the first image, 400 / 400 in `after`.
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define REUSE_TOP 1024

static void *kept[3000];
static unsigned nkept;

/* n allocations, every fifth freed at once (the rest kept). */
static void allocate(unsigned n, unsigned owner)
{
	for (unsigned i = 0; i < n; i++) {
		void *p = pattern_alloc(24 + i % 200, owner, i);
		kept[nkept++] = p;
	}
}

static void release(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(kept[--nkept]);
}

static void close_fds(const char *variant, const char *side)
{
	if (!strcmp(variant, "loop")) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 3; fd < max; fd++)
			close((int)fd);
		return;
	}
	closefrom(3);
	if (!strcmp(variant, "reuse")) {
		int f = open(side, O_RDWR | O_CREAT | O_TRUNC, 0644);
		CHECK(f == 3, "%s opened at fd %d, not 3", side, f);
		for (int fd = 4; fd < REUSE_TOP; fd++)
			CHECK(dup2(f, fd) == fd, "dup2(%d): %s", fd, strerror(errno));
	}
}

/* Every fd from 3 to REUSE_TOP-1 still open and still the side file. */
static int reuse_intact(const char *side)
{
	struct stat want, got;
	if (stat(side, &want) != 0)
		return 0;
	for (int fd = 3; fd < REUSE_TOP; fd++)
		if (fstat(fd, &got) != 0 || got.st_ino != want.st_ino || got.st_dev != want.st_dev)
			return 0;
	return 1;
}

/* A thread that allocates and frees N_THREAD blocks while the fds are
 * closed under the agent (and its writer keeps writing rounds). */
#define N_THREAD 20000
static pthread_t helper_thread;
static void *helper(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < N_THREAD; i++) {
		void *p = pattern_alloc(48, 9, i);
		free(p);
		if (i % 2000 == 0)
			usleep(2000);
	}
	return NULL;
}

static void start_helper(void)
{
	CHECK(pthread_create(&helper_thread, NULL, helper, NULL) == 0, "pthread_create");
}

static void stop_helper(void)
{
	CHECK(pthread_join(helper_thread, NULL) == 0, "pthread_join");
}

static void run_close(const char *how, const char *variant, const char *side, const char *self)
{
	CHECK(!strcmp(variant, "range") || !strcmp(variant, "loop") || !strcmp(variant, "reuse"), "variant %s", variant);
	allocate(1000, 1);
	release(500);
	start_helper();
	usleep(20000); /* a few of the writer's rounds meanwhile */
	close_fds(variant, side);
	allocate(2000, 2);
	release(2000);
	if (!strcmp(variant, "reuse"))
		CHECK(reuse_intact(side), "an fd of the program was closed or replaced");
	stop_helper();
	if (!strcmp(how, "closeexit")) {
		say("closed fds (%s), 3000 allocations, exiting\n", variant);
		exit(0);
	}
	say("closed fds (%s), 3000 allocations, exec\n", variant);
	execl(self, self, "after", (char *)NULL);
	CHECK(0, "exec %s: %s", self, strerror(errno));
}

static void run_after(void)
{
	allocate(400, 3);
	release(400);
	say("after exec: 400 allocations\n");
	exit(0);
}

static void run_forkreuse(const char *side)
{
	allocate(100, 4);
	release(100);
	close_fds("reuse", side);
	pid_t c = fork();
	CHECK(c >= 0, "fork");
	if (c == 0) {
		allocate(200, 5); /* the child's first event opens its own trace */
		release(200);
		_exit(reuse_intact(side) ? 0 : 3);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c, "waitpid");
	CHECK(WIFEXITED(st), "child status %d", st);
	CHECK(WEXITSTATUS(st) == 0, "the fork child found one of its fds closed or replaced");
	CHECK(reuse_intact(side), "an fd of the parent was closed or replaced");
	say("fork child kept all %d of its fds\n", REUSE_TOP - 3);
}

/* A distinct stack per path through 13 levels of two functions. */
static __attribute__((noinline)) void branch_a(unsigned path, int level);
static __attribute__((noinline)) void branch_b(unsigned path, int level);
static void branch(unsigned path, int level)
{
	if (level == 13) {
		void *volatile p = malloc(16 + path % 64);
		free(p);
		return;
	}
	if (path >> level & 1)
		branch_b(path, level + 1);
	else
		branch_a(path, level + 1);
}
static __attribute__((noinline)) void branch_a(unsigned path, int level)
{
	branch(path, level);
	__asm__ volatile("" ::: "memory"); /* not a tail call: the frame stays */
}
static __attribute__((noinline)) void branch_b(unsigned path, int level)
{
	branch(path, level);
	__asm__ volatile("" ::: "memory");
}

/* The agent's writer thread, blocked in write(2)? (Never true bare.) Waits
 * up to 20 s for it: the trace of the stacks above fills the pty. */
static void wait_writer_blocked(void)
{
	char path[64], buf[64];
	int writer = 0;
	DIR *d = opendir("/proc/self/task");
	CHECK(d, "/proc/self/task");
	for (struct dirent *e; (e = readdir(d)) && !writer;) {
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0 && !strncmp(buf, "ldprof-writer", 13))
			writer = atoi(e->d_name);
	}
	closedir(d);
	for (int i = 0; writer && i < 2000; i++) {
		snprintf(path, sizeof path, "/proc/self/task/%d/syscall", writer);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 1 && buf[0] == '1' && buf[1] == ' ')
			return; /* in write(2), SYS_write = 1 */
		usleep(10000);
	}
}

static void run_forkstuck(void)
{
	for (unsigned path = 0; path < 8192; path++)
		branch(path, 0);
	wait_writer_blocked();
	for (int i = 0; i < 5; i++) {
		pid_t c = fork();
		CHECK(c >= 0, "fork");
		if (c == 0)
			_exit(0);
		int st;
		CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d", i);
	}
	say("8192 stacks, then 5 forks\n");
}

static unsigned long long vm_bytes(void)
{
	char buf[128] = "";
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, sizeof buf - 1) > 0, "/proc/self/statm");
	close(fd);
	return strtoull(buf, NULL, 10) * 4096ull;
}

static void run_ashead(const char *side)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY, "no RLIMIT_AS in effect");
	unsigned long long vm = vm_bytes();
	CHECK(vm < rl.rlim_cur, "already over the limit");
	char line[32];
	int k = snprintf(line, sizeof line, "%llu\n", (unsigned long long)rl.rlim_cur - vm);
	int fd = open(side, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, line, (size_t)k) == k, "%s", side);
	close(fd);
}

static void run_asfill(unsigned long long bytes)
{
	enum { BLOCK = 1 << 20, MAX = 1 << 14 };
	static void *v[MAX];
	size_t n = bytes / (BLOCK + 4096);
	CHECK(n < MAX, "too many blocks");
	for (size_t i = 0; i < n; i++) {
		v[i] = malloc(BLOCK);
		if (!v[i]) {
			say("malloc(1 MiB) failed after %zu of %zu blocks (%s)\n", i, n, strerror(errno));
			exit(1);
		}
		memset(v[i], 1, 4096);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	say("took %zu blocks of 1 MiB under RLIMIT_AS, wrote to each, freed them\n", n);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "after"))
		run_after();
	else if (argc == 4 && (!strcmp(argv[1], "closeexit") || !strcmp(argv[1], "closeexec")))
		run_close(argv[1], argv[2], argv[3], argv[0]);
	else if (argc == 3 && !strcmp(argv[1], "forkreuse"))
		run_forkreuse(argv[2]);
	else if (argc == 2 && !strcmp(argv[1], "forkstuck"))
		run_forkstuck();
	else if (argc == 3 && !strcmp(argv[1], "ashead"))
		run_ashead(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "asfill"))
		run_asfill(strtoull(argv[2], NULL, 10));
	else
		CHECK(0, "usage: h_life closeexit|closeexec range|loop|reuse SIDE | forkreuse SIDE | forkstuck | ashead SIDE | "
			 "asfill BYTES");
	return 0;
}
