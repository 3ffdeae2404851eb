/*
 * h_fatal.c MODE - processes that die of a signal, and programs that keep
 * fatal signals for themselves.
 *
 * Every mode first makes ALLOCS allocations and keeps every tenth (KEPT
 * live blocks), in the main thread, within a few milliseconds (less than
 * one flush interval of the agent: without a last round they are lost).
 * Then:
 *
 *   term int hup quit  kill(getpid(), SIG...) at its default action
 *   pipe          a write to a pipe whose reader is gone (SIGPIPE)
 *   segv bus fpe ill trap  the fault (NULL write, a mapping past its file's
 *                 end, integer division by zero, ud2, int3)
 *   abrt          raise(SIGABRT)
 *   assert        assert() fails: abort() inside libc
 *   reraise       its own SIGSEGV handler says so, resets SIG_DFL with
 *                 signal() and raises SIGSEGV again
 *   resethand     its own SIGSEGV handler with SA_RESETHAND says so and
 *                 returns: the fault happens again at SIG_DFL
 *   badrealloc    realloc() of a pointer malloc never gave (one more block,
 *                 kept): glibc aborts inside realloc
 *   agentfault    sigaction(SIGPROF, <bad pointer>): the fault happens in
 *                 whatever code reads the pointer (the agent's, traced)
 *   threads       4 threads allocate without pause when SIGTERM arrives
 *   exechold      execs that fail (ENOENT), one after another, until a
 *                 timer's SIGTERM arrives 50 ms later: traced, it arrives
 *                 while the thread's own exec request holds the writer
 *                 (almost all of each try's time)
 *   own           its own SIGTERM, SIGINT and SIGSEGV handlers (the query
 *                 shows them); SIGTERM and SIGINT raised, SIGSEGV by a fault
 *                 recovered with siglongjmp; then SIGHUP ignored and raised;
 *                 exits 0
 *   query         sigaction and a raw rt_sigaction read SIG_DFL for every
 *                 fatal signal; exits 0
 *   vforkdie      a vfork child (sharing the parent's memory) dies of
 *                 SIGTERM; the parent goes on, allocates ALLOCS more and
 *                 exits 0
 *   core DIR      a fork child raises its core size limit, enters DIR and
 *                 faults; the parent prints how it died and whether the
 *                 kernel says it dumped core (the same bare and traced), and
 *                 exits 0
 * The runner checks the exit status (128 + signal) and, in the trace, END
 * by that signal with exactly ALLOCS allocations and KEPT leaked.
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <assert.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define ALLOCS 5000
#define KEPT (ALLOCS / 10)

static void *kept[KEPT];

static void allocate(void)
{
	for (unsigned i = 0; i < ALLOCS; i++) {
		void *p = pattern_alloc(16 + i % 200, 1, i);
		if (i % 10 == 0)
			kept[i / 10] = p;
		else
			free(p);
	}
}

static void say_handler(int sig)
{
	char msg[] = "own handler ran for signal NN\n";
	msg[27] = (char)('0' + sig / 10);
	msg[28] = (char)('0' + sig % 10);
	ssize_t w = write(1, msg, sizeof msg - 1);
	(void)w;
}

static void on_segv_reraise(int sig)
{
	say_handler(sig);
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
}

static void on_segv_resethand(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	say_handler(sig); /* returns: the write faults again, now at SIG_DFL */
}

static volatile int *volatile null_ptr;

static void *busy(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0;; i++) {
		void *p = pattern_alloc(24 + i % 100, me, i);
		free(p);
	}
	return NULL;
}

static sigjmp_buf recover;
static volatile sig_atomic_t own_count;

static void on_own(int sig)
{
	own_count++;
	if (sig == SIGSEGV)
		siglongjmp(recover, 1);
}

static void run_own(void)
{
	struct sigaction sa = {.sa_handler = on_own}, q;
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGTERM, SIGINT, SIGSEGV};
	for (int i = 0; i < 3; i++) {
		CHECK(sigaction(sigs[i], &sa, NULL) == 0, "sigaction");
		CHECK(sigaction(sigs[i], NULL, &q) == 0 && q.sa_handler == on_own, "query of %d", sigs[i]);
	}
	raise(SIGTERM);
	raise(SIGINT);
	if (sigsetjmp(recover, 1) == 0)
		*null_ptr = 1;
	CHECK(own_count == 3, "own handlers ran %d times", (int)own_count);
	CHECK(signal(SIGHUP, SIG_IGN) == SIG_DFL, "signal(SIGHUP, SIG_IGN)");
	raise(SIGHUP);
	say("own: its SIGTERM, SIGINT and SIGSEGV handlers ran; SIGHUP ignored\n");
}

struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

static void run_query(void)
{
	int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGPIPE, SIGTERM, SIGXCPU,
		      SIGSYS};
	for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		struct sigaction q;
		struct ksigaction k;
		CHECK(sigaction(sigs[i], NULL, &q) == 0 && q.sa_handler == SIG_DFL && !(q.sa_flags & SA_SIGINFO),
		      "sigaction reads %p for %d", (void *)q.sa_handler, sigs[i]);
		CHECK(syscall(SYS_rt_sigaction, sigs[i], NULL, &k, 8) == 0 && k.handler == SIG_DFL && k.flags == 0,
		      "rt_sigaction reads %p flags %lx for %d", k.handler, k.flags, sigs[i]);
	}
	say("query: every fatal signal reads SIG_DFL\n");
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	if (!strcmp(m, "own")) {
		run_own();
		return 0;
	}
	if (!strcmp(m, "query")) {
		run_query();
		return 0;
	}
	allocate();
	say("%s: %u allocations, %u kept\n", m, ALLOCS, KEPT);
	if (!strcmp(m, "term"))
		kill(getpid(), SIGTERM);
	else if (!strcmp(m, "int"))
		kill(getpid(), SIGINT);
	else if (!strcmp(m, "hup"))
		kill(getpid(), SIGHUP);
	else if (!strcmp(m, "quit"))
		kill(getpid(), SIGQUIT);
	else if (!strcmp(m, "pipe")) {
		int p[2];
		CHECK(pipe(p) == 0, "pipe");
		close(p[0]);
		ssize_t w = write(p[1], "x", 1);
		CHECK(0, "write to a pipe without reader returned %zd", w);
	} else if (!strcmp(m, "segv"))
		*null_ptr = 1;
	else if (!strcmp(m, "bus")) {
		int fd = memfd_create("h_fatal", MFD_CLOEXEC); /* size 0: every page is past its end */
		CHECK(fd >= 0, "memfd_create");
		volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(p != MAP_FAILED, "mmap");
		p[0] = 1;
	} else if (!strcmp(m, "fpe")) {
		volatile int zero = 0, x = 7;
		x = x / zero;
	} else if (!strcmp(m, "ill"))
		__builtin_trap();
	else if (!strcmp(m, "trap"))
		__asm__ volatile("int3");
	else if (!strcmp(m, "abrt"))
		raise(SIGABRT);
	else if (!strcmp(m, "assert"))
		assert(!"h_fatal asserts");
	else if (!strcmp(m, "reraise")) {
		signal(SIGSEGV, on_segv_reraise);
		*null_ptr = 1;
	} else if (!strcmp(m, "resethand")) {
		struct sigaction sa = {.sa_sigaction = on_segv_resethand, .sa_flags = SA_SIGINFO | SA_RESETHAND};
		sigemptyset(&sa.sa_mask);
		CHECK(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction");
		*null_ptr = 1;
	} else if (!strcmp(m, "badrealloc")) {
		char *p = malloc(64); /* one more allocation, kept */
		void *q = realloc(p + 1, 100); /* misaligned: "realloc(): invalid pointer" */
		CHECK(0, "realloc of a foreign pointer returned %p", q);
	} else if (!strcmp(m, "agentfault")) {
		sigaction(SIGPROF, (const struct sigaction *)(uintptr_t)16, NULL);
		CHECK(0, "sigaction through a bad pointer returned");
	} else if (!strcmp(m, "vforkdie")) {
		pid_t c = vfork();
		if (c == 0) {
			raise(SIGTERM);
			_exit(1);
		}
		CHECK(c > 0, "vfork");
		int st;
		while (waitpid(c, &st, 0) < 0)
			CHECK(errno == EINTR, "waitpid");
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "the vfork child: status %#x", st);
		for (unsigned i = 0; i < KEPT; i++)
			free(kept[i]);
		allocate();
		say("vforkdie: the vfork child died of SIGTERM; %u more allocations\n", ALLOCS);
		return 0;
	} else if (!strcmp(m, "core")) {
		CHECK(argc > 2, "core DIR");
		pid_t c = fork();
		CHECK(c >= 0, "fork");
		if (c == 0) {
			struct rlimit rl;
			CHECK(chdir(argv[2]) == 0 && getrlimit(RLIMIT_CORE, &rl) == 0, "chdir/getrlimit");
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_CORE, &rl);
			free(kept[0]); /* the child's own event */
			*null_ptr = 1;
			_exit(1);
		}
		int st;
		while (waitpid(c, &st, 0) < 0)
			CHECK(errno == EINTR, "waitpid");
		CHECK(WIFSIGNALED(st), "the child exited %d", WEXITSTATUS(st));
		say("core: the child died of signal %d, core dumped: %s\n", WTERMSIG(st), WCOREDUMP(st) ? "yes" : "no");
		return 0;
	} else if (!strcmp(m, "exechold")) {
		struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGTERM};
		timer_t timer;
		CHECK(timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0, "timer_create");
		struct itimerspec in = {.it_value = {0, 50 * 1000000}};
		CHECK(timer_settime(timer, 0, &in, NULL) == 0, "timer_settime");
		char *args[] = {"h_fatal_nonexistent", NULL};
		for (;;)
			CHECK(execve("/nonexistent/h_fatal_nonexistent", args, environ) < 0 && errno == ENOENT,
			      "execve of a missing file");
	} else if (!strcmp(m, "threads")) {
		pthread_t t;
		for (unsigned i = 0; i < 4; i++)
			CHECK(pthread_create(&t, NULL, busy, (void *)(uintptr_t)(i + 2)) == 0, "pthread_create");
		usleep(20000);
		kill(getpid(), SIGTERM);
		for (;;)
			pause();
	} else
		CHECK(0, "unknown mode '%s'", m);
	CHECK(0, "%s: still alive", m);
}
