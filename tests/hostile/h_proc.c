/*
 * h_proc.c MODE - processes: fork, vfork, posix_spawn, exec chains.
 *
 *   fork      fork without exec; the child allocates, prints, exits 3
 *   forkmt    4 threads allocate without pause while main forks 20 times;
 *             every child allocates, starts 2 allocating threads, exits
 *   spawn     vfork+exec, posix_spawn, and a vfork child that allocates
 *             (in the parent's memory) before it execs
 *   fds       a child exec'd with LD_PRELOAD set empty (so untraced) lists
 *             its open fds: an agent fd leaking into it shows up
 *   chain N   allocate, then exec itself with N-1 (run as sh -c 'exec ...')
 *   vanish DIR NEW  the trace's directory disappears mid-run: renamed to NEW,
 *             or (NEW is "-") emptied and removed; then a child is forked
 *             and allocates (its trace cannot be created) and the parent
 *             goes on allocating
 *   chdir DIR allocate, chdir to DIR, then fork a child that allocates
 *   failexec  100 execs that fail (ENOENT) in the traced process itself
 *             while another thread allocates: errno as glibc says, and
 *             the agent (which holds its writer across an exec) carries on
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>


extern char **environ;

static void churn(unsigned n, unsigned owner)
{
	void *keep[16] = {0};
	for (unsigned i = 0; i < n; i++) {
		unsigned k = i % 16;
		if (keep[k]) {
			CHECK(pattern_ok(keep[k], 40 + k, owner, k), "corrupt block");
			free(keep[k]);
		}
		keep[k] = pattern_alloc(40 + k, owner, k);
	}
	for (unsigned k = 0; k < 16; k++)
		free(keep[k]);
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		CHECK(errno == EINTR, "waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- fork ---- */

static void run_fork(void)
{
	churn(1000, 1);
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0, "fork: %s", strerror(errno));
	if (c == 0) {
		churn(1000, 2);
		say("child allocated\n");
		exit(3);
	}
	int st = wait_status(c);
	CHECK(st == 3, "child status %d", st);
	churn(1000, 3);
	say("fork: child exited 3\n");
}

/* ---- forkmt ---- */

static volatile int stop;

static void *busy_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	while (!stop)
		churn(100, me);
	return NULL;
}

static void *child_thread(void *arg)
{
	churn(500, (unsigned)(uintptr_t)arg);
	return NULL;
}

static void run_forkmt(void)
{
	pthread_t t[4];
	for (unsigned i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, busy_thread, (void *)(uintptr_t)(10 + i)) == 0, "pthread_create");
	for (int i = 0; i < 20; i++) {
		pid_t c = fork();
		CHECK(c >= 0, "fork: %s", strerror(errno));
		if (c == 0) {
			/* Only this thread exists here; the parent's threads held locks at fork time. */
			churn(200, 20);
			pthread_t a, b;
			CHECK(pthread_create(&a, NULL, child_thread, (void *)21) == 0, "child pthread_create");
			CHECK(pthread_create(&b, NULL, child_thread, (void *)22) == 0, "child pthread_create");
			pthread_join(a, NULL);
			pthread_join(b, NULL);
			_exit(i % 2 ? 0 : 5);
		}
		int st = wait_status(c);
		CHECK(st == (i % 2 ? 0 : 5), "child %d status %d", i, st);
	}
	stop = 1;
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	say("forkmt: 20 children of a busy multithreaded parent exited as told\n");
}

/* ---- spawn ---- */

static void run_spawn(void)
{
	churn(500, 1);
	/* vfork + exec */
	char *echo_argv[] = {"echo", "vforked echo", NULL};
	pid_t c = vfork();
	if (c == 0) {
		execv("/bin/echo", echo_argv);
		_exit(127);
	}
	CHECK(c > 0 && wait_status(c) == 0, "vfork+exec echo");

	/* A vfork child that allocates in the parent's memory before exec. */
	char *sh_argv[] = {"sh", "-c", "echo vfork child allocated first", NULL};
	c = vfork();
	if (c == 0) {
		void *volatile p = malloc(100);
		free(p);
		execv("/bin/sh", sh_argv);
		_exit(127);
	}
	CHECK(c > 0 && wait_status(c) == 0, "vfork+malloc+exec sh");

	/* posix_spawn (glibc uses clone(CLONE_VM|CLONE_VFORK)) */
	char *sp_argv[] = {"sh", "-c", "echo spawned; exit 4", NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/sh", NULL, NULL, sp_argv, environ);
	CHECK(err == 0, "posix_spawn: %s", strerror(err));
	CHECK(wait_status(pid) == 4, "spawned sh status");

	/* A failed exec in a vfork child: the parent's agent must stay intact. */
	char *bad_argv[] = {"nonexistent", NULL};
	c = vfork();
	if (c == 0) {
		execv("/nonexistent/program", bad_argv);
		_exit(126);
	}
	CHECK(c > 0 && wait_status(c) == 126, "failed exec");
	churn(500, 2);
	say("spawn: vfork, posix_spawn and a failed exec all behaved\n");
}

/* ---- fds ---- */

static void run_fds(void)
{
	churn(500, 1);
	char *argv[] = {"ls", "/proc/self/fd", NULL};
	/* LD_PRELOAD set empty: a child the program deliberately keeps untraced
	 * (an absent one would be put back, docs/ARCHITECTURE.md "The environment"),
	 * so ls itself opens nothing of ours */
	char *envp[] = {"PATH=/usr/bin:/bin", "LD_PRELOAD=", NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/ls", NULL, NULL, argv, envp);
	CHECK(err == 0, "posix_spawn: %s", strerror(err));
	CHECK(wait_status(pid) == 0, "ls status");
	say("fds: listed by an exec'd child\n");
}

/* ---- chain ---- */

static void run_chain(int n)
{
	churn(300, (unsigned)n);
	say("chain %d\n", n);
	if (n == 0)
		return;
	char arg[16];
	snprintf(arg, sizeof arg, "%d", n - 1);
	char *argv[] = {"h_proc", "chain", arg, NULL};
	execv("/proc/self/exe", argv);
	CHECK(0, "execv: %s", strerror(errno));
}

/* ---- vanish ---- */

static void run_vanish(const char *dir, const char *moved)
{
	churn(2000, 1);
	if (strcmp(moved, "-")) {
		CHECK(rename(dir, moved) == 0, "rename: %s", strerror(errno));
	} else {
		DIR *d = opendir(dir);
		CHECK(d, "opendir: %s", strerror(errno));
		for (struct dirent *e; (e = readdir(d));) {
			char path[8192];
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				CHECK(unlink(path) == 0, "unlink: %s", strerror(errno));
		}
		closedir(d);
		CHECK(rmdir(dir) == 0, "rmdir: %s", strerror(errno));
	}
	pid_t c = fork();
	CHECK(c >= 0, "fork");
	if (c == 0) {
		churn(1000, 2);
		_exit(0);
	}
	CHECK(wait_status(c) == 0, "child");
	churn(2000, 3);
	say("vanish: the trace directory went away (%s), the program carried on\n", strcmp(moved, "-") ? "renamed" : "removed");
}

/* ---- failexec ---- */

static void run_failexec(void)
{
	pthread_t t;
	stop = 0;
	CHECK(pthread_create(&t, NULL, busy_thread, (void *)7) == 0, "pthread_create");
	for (int k = 0; k < 50; k++) {
		char *argv[] = {"x", NULL};
		errno = 0;
		CHECK(execv("/nonexistent/program", argv) == -1 && errno == ENOENT, "execv: errno %d", errno);
		errno = 0;
		CHECK(execlp("no-such-command-for-ldprof", "x", (char *)NULL) == -1 && errno == ENOENT, "execlp: errno %d",
		      errno);
		churn(100, 8);
	}
	stop = 1;
	pthread_join(t, NULL);
	say("failexec: 100 failed execs, each ENOENT, the program carried on\n");
}

/* ---- chdir ---- */

static void run_chdir(const char *dir)
{
	churn(100, 1);
	CHECK(chdir(dir) == 0, "chdir: %s", strerror(errno));
	pid_t c = fork();
	CHECK(c >= 0, "fork");
	if (c == 0) {
		churn(100, 2);
		_exit(0);
	}
	CHECK(wait_status(c) == 0, "child");
	say("chdir: moved, then a child allocated\n");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "fork"))
		run_fork();
	else if (!strcmp(mode, "forkmt"))
		run_forkmt();
	else if (!strcmp(mode, "spawn"))
		run_spawn();
	else if (!strcmp(mode, "fds"))
		run_fds();
	else if (!strcmp(mode, "chain") && argc > 2)
		run_chain(atoi(argv[2]));
	else if (!strcmp(mode, "failexec"))
		run_failexec();
	else if (!strcmp(mode, "chdir") && argc > 2)
		run_chdir(argv[2]);
	else if (!strcmp(mode, "vanish") && argc > 3)
		run_vanish(argv[2], argv[3]);
	else
		CHECK(0, "unknown mode '%s'", mode);
	return 0;
}
