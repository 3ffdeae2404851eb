/*
 * h_rawfork.c MODE - children made without fork(), so without pthread_atfork
 * handlers, while two threads of the parent allocate.
 *
 *   _Fork   the child comes from _Fork()
 *   sysfork the child comes from syscall(SYS_fork)
 *   clone   the child comes from syscall(SYS_clone, SIGCHLD, 0, ...)
 *   clone3  the child comes from syscall(SYS_clone3, {.exit_signal = SIGCHLD})
 *   asm     the child comes from a fork system call made by inline assembly
 *           (nothing can wrap that)
 *   passthrough  syscall() with other numbers: results, errno, six arguments
 *
 * Every child makes CHILD_ALLOCS allocations and frees them (with a 16 KiB
 * ring it fills its ring many times over: a child waiting for a writer that
 * does not exist hangs), then exits 0; the parent checks its status.
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define CHILD_ALLOCS 100000

extern pid_t _Fork(void);

static volatile int stop;

static void *busy_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg, i = 0;
	while (!stop) {
		void *p = pattern_alloc(24 + i % 40, me, i);
		CHECK(pattern_ok(p, 24 + i % 40, me, i), "corrupt block");
		free(p);
		i++;
	}
	return NULL;
}

static void child_work(void)
{
	for (unsigned i = 0; i < CHILD_ALLOCS; i++) {
		void *p = pattern_alloc(32 + i % 64, 7, i);
		if (!pattern_ok(p, 32 + i % 64, 7, i))
			_exit(CHECK_FAILED);
		free(p);
	}
	exit(0);
}

static pid_t asm_fork(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_fork) : "rcx", "r11", "memory");
	return (pid_t)ret;
}

static void run_child(const char *mode)
{
	pid_t c;
	if (!strcmp(mode, "_Fork"))
		c = _Fork();
	else if (!strcmp(mode, "sysfork"))
		c = (pid_t)syscall(SYS_fork);
	else if (!strcmp(mode, "clone"))
		c = (pid_t)syscall(SYS_clone, (long)SIGCHLD, 0L, NULL, NULL, 0L);
	else if (!strcmp(mode, "clone3")) {
		struct clone_args ca;
		memset(&ca, 0, sizeof ca);
		ca.exit_signal = SIGCHLD;
		c = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
	} else
		c = asm_fork();
	CHECK(c >= 0, "%s: %s", mode, strerror(errno));
	if (c == 0)
		child_work();
	int st;
	while (waitpid(c, &st, 0) < 0)
		CHECK(errno == EINTR, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	say("%s: the child allocated %u blocks and exited 0\n", mode, CHILD_ALLOCS);
}

static void run_passthrough(void)
{
	CHECK(syscall(SYS_getpid) == getpid(), "getpid");
	errno = 77;
	CHECK(syscall(SYS_getppid) == getppid() && errno == 77, "errno changed by a successful call: %d", errno);
	CHECK(syscall(SYS_close, -1) == -1 && errno == EBADF, "close(-1): %s", strerror(errno));
	void *m = (void *)syscall(SYS_mmap, NULL, 8192L, (long)(PROT_READ | PROT_WRITE),
				  (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L); /* six arguments */
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(m, 1, 8192);
	CHECK(syscall(SYS_munmap, m, 8192L) == 0, "munmap");
	/* A clone with CLONE_VM is not ours to wrap: EINVAL from the kernel as bare. */
	errno = 0;
	CHECK(syscall(SYS_clone, (long)(CLONE_THREAD | SIGCHLD), 0L, NULL, NULL, 0L) == -1 && errno == EINVAL,
	      "clone(CLONE_THREAD without CLONE_VM): %s", strerror(errno));
	say("passthrough: results and errno as glibc gives them\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "passthrough")) {
		run_passthrough();
		return 0;
	}
	CHECK(!strcmp(mode, "_Fork") || !strcmp(mode, "sysfork") || !strcmp(mode, "clone") || !strcmp(mode, "clone3") ||
		      !strcmp(mode, "asm"),
	      "unknown mode '%s'", mode);
	pthread_t t[2];
	for (unsigned i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, busy_thread, (void *)(uintptr_t)(i + 1)) == 0, "pthread_create");
	for (unsigned i = 0; i < 2000; i++) /* the parent's own events, before and after */
		free(pattern_alloc(40, 3, i));
	run_child(mode);
	for (unsigned i = 0; i < 2000; i++)
		free(pattern_alloc(40, 3, i));
	stop = 1;
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 0;
}
