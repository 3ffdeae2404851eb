/*
 * h_signals.c MODE - programs that own signals.
 *
 *   timers   own SIGPROF and SIGALRM handlers driven by setitimer
 *            (ITIMER_PROF, ITIMER_REAL); the handlers allocate. Phases
 *            alternate: allocate with both signals blocked, then compute
 *            with them unblocked (handlers allocate only then, so the bare
 *            program is safe). A blocking read with SA_RESTART handlers
 *            must never fail with EINTR.
 *   altstack a SIGUSR1 handler on a sigaltstack of MINSIGSTKSZ + 8 KiB with
 *            an inaccessible region right below it allocates, from deep
 *            and shallow stacks, in the main thread and in another thread
 *   reset    every signal reset to SIG_DFL and unblocked, then threads
 *            allocate and sleep: a signal from the agent would kill it
 *   sigwait  every signal blocked in every thread; SIGUSR1, SIGUSR2 and
 *            SIGTERM sent with kill(getpid()) and taken with sigwait and
 *            signalfd while threads allocate: an agent thread that does
 *            not block them would take (and die of) them
 *   eintr    poll, select, nanosleep, epoll_wait, read and sigtimedwait
 *            block for a while with no signal sent by the program: none may
 *            return EINTR (calls a handler would interrupt even with
 *            SA_RESTART; a SIGUSR2 handler is installed but never raised)
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>


static volatile sig_atomic_t prof_ticks, alrm_ticks, handler_allocs, handler_bad;

static void alloc_in_handler(void)
{
	int saved = errno;
	void *p = pattern_alloc(48, 9, 9);
	if (!pattern_ok(p, 48, 9, 9))
		handler_bad = 1;
	free(p);
	handler_allocs++;
	errno = saved;
}

static void on_prof(int sig)
{
	(void)sig;
	prof_ticks++;
	alloc_in_handler();
}

static void on_alrm(int sig)
{
	(void)sig;
	alrm_ticks++;
	alloc_in_handler();
}

static void run_timers(void)
{
	struct sigaction sa = {.sa_handler = on_prof, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGPROF, &sa, NULL) == 0, "sigaction");
	sa.sa_handler = on_alrm;
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
	sigset_t both;
	sigemptyset(&both);
	sigaddset(&both, SIGPROF);
	sigaddset(&both, SIGALRM);
	CHECK(sigprocmask(SIG_BLOCK, &both, NULL) == 0, "sigprocmask");

	struct itimerval prof = {{0, 2000}, {0, 2000}}, real = {{0, 3000}, {0, 3000}};
	CHECK(setitimer(ITIMER_PROF, &prof, NULL) == 0, "setitimer");
	CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer");

	volatile double x = 1;
	unsigned rounds = 0;
	void *keep[64] = {0};
	/* Until both timers fired a few times in the unblocked phases (bounded). */
	while ((prof_ticks < 5 || alrm_ticks < 5) && rounds < 200000) {
		rounds++;
		for (unsigned i = 0; i < 200; i++) { /* blocked phase: allocate */
			unsigned k = i % 64;
			free(keep[k]);
			keep[k] = pattern_alloc(16 + k, 1, k);
		}
		sigprocmask(SIG_UNBLOCK, &both, NULL); /* pending signals land here */
		for (unsigned i = 0; i < 20000; i++)    /* compute phase: handlers may run */
			x = x * 1.0000001 + 0.5;
		sigprocmask(SIG_BLOCK, &both, NULL);
	}
	for (unsigned k = 0; k < 64; k++)
		free(keep[k]);

	/* A blocking read across timer signals, with SA_RESTART handlers. */
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	pid_t c = fork();
	if (c == 0) {
		struct itimerval off = {{0, 0}, {0, 0}};
		setitimer(ITIMER_REAL, &off, NULL);
		setitimer(ITIMER_PROF, &off, NULL);
		usleep(100000);
		ssize_t w = write(p[1], "x", 1);
		_exit(w == 1 ? 0 : 1);
	}
	sigprocmask(SIG_UNBLOCK, &both, NULL);
	unsigned before = alrm_ticks;
	char b;
	ssize_t n = read(p[0], &b, 1);
	int err = errno;
	sigprocmask(SIG_BLOCK, &both, NULL);
	CHECK(n == 1, "read returned %zd (%s) across %u SIGALRMs", n, strerror(err), alrm_ticks - before);
	waitpid(c, NULL, 0);

	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	setitimer(ITIMER_PROF, &off, NULL);
	CHECK(prof_ticks >= 5 && alrm_ticks >= 5, "timers: prof %d alrm %d", (int)prof_ticks, (int)alrm_ticks);
	CHECK(!handler_bad, "a handler's block was corrupt");
	say("timers: own SIGPROF and SIGALRM handlers ran and allocated; read restarted\n");
}

/* ---- altstack ---- */

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
	(void)sig;
	alloc_in_handler();
	void *p = calloc(10, 10);
	void *q = realloc(p, 500);
	free(q ? q : p);
	usr1_count++;
}

static void __attribute__((noinline)) raise_deep(int n)
{
	if (n > 0) {
		raise_deep(n - 1);
		__asm__ volatile("" ::: "memory");
	} else {
		raise(SIGUSR1);
	}
}

static void setup_altstack(void)
{
	size_t min = getauxval(AT_MINSIGSTKSZ);
	if (min < (size_t)MINSIGSTKSZ)
		min = (size_t)MINSIGSTKSZ;
	size_t size = (min + 8192 + 4095) & ~(size_t)4095, guard = 1 << 20;
	char *m = mmap(NULL, guard + size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap");
	CHECK(mprotect(m, guard, PROT_NONE) == 0, "mprotect");
	stack_t st = {.ss_sp = m + guard, .ss_size = size};
	CHECK(sigaltstack(&st, NULL) == 0, "sigaltstack: %s", strerror(errno));
}

static void *altstack_thread(void *arg)
{
	(void)arg;
	setup_altstack();
	for (int i = 0; i < 50; i++)
		raise_deep(i * 3);
	return NULL;
}

static void run_altstack(void)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK | SA_RESTART};
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	setup_altstack();
	for (int i = 0; i < 100; i++)
		raise_deep(i * 5);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, altstack_thread, NULL) == 0, "pthread_create");
	pthread_join(t, NULL);
	CHECK(usr1_count == 150, "handler ran %d times", (int)usr1_count);
	CHECK(!handler_bad, "a handler's block was corrupt");
	say("altstack: 150 handlers allocated on a MINSIGSTKSZ + 8 KiB alternate stack\n");
}

/* ---- reset ---- */

static void *sleepy_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < 20; i++) {
		void *p = pattern_alloc(100, me, (unsigned)i);
		struct timespec ts = {0, 5 * 1000000};
		CHECK(nanosleep(&ts, NULL) == 0, "nanosleep: %s", strerror(errno));
		CHECK(pattern_ok(p, 100, me, (unsigned)i), "corrupt");
		free(p);
	}
	return NULL;
}

static void run_reset(void)
{
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL); /* fails harmlessly for the few glibc reserves */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	pthread_t t[4];
	for (unsigned i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, sleepy_thread, (void *)(uintptr_t)i) == 0, "pthread_create");
	sleepy_thread((void *)9);
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	say("reset: every signal at SIG_DFL, nothing arrived\n");
}

/* ---- sigwait ---- */

static volatile int sw_stop;

static void *sw_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	unsigned i = 0;
	while (!sw_stop) {
		void *p = pattern_alloc(64, me, i);
		CHECK(pattern_ok(p, 64, me, i), "corrupt");
		free(p);
		i++;
	}
	return NULL;
}

static void run_sigwait(void)
{
	sigset_t set;
	sigfillset(&set);
	CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0, "sigmask");
	pthread_t t[3];
	for (unsigned i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, sw_thread, (void *)(uintptr_t)i) == 0, "pthread_create");

	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	for (int i = 0; i < 20; i++) {
		CHECK(kill(getpid(), SIGUSR1) == 0, "kill");
		int sig = 0;
		CHECK(sigwait(&usr1, &sig) == 0 && sig == SIGUSR1, "sigwait got %d", sig);
	}

	sigset_t fdset;
	sigemptyset(&fdset);
	sigaddset(&fdset, SIGTERM);
	sigaddset(&fdset, SIGUSR2);
	int sfd = signalfd(-1, &fdset, SFD_CLOEXEC);
	CHECK(sfd >= 0, "signalfd");
	unsigned got_term = 0, got_usr2 = 0;
	for (int i = 0; i < 10; i++) {
		CHECK(kill(getpid(), i % 2 ? SIGTERM : SIGUSR2) == 0, "kill");
		struct signalfd_siginfo si;
		CHECK(read(sfd, &si, sizeof si) == (ssize_t)sizeof si, "signalfd read");
		if (si.ssi_signo == SIGTERM)
			got_term++;
		else if (si.ssi_signo == SIGUSR2)
			got_usr2++;
	}
	close(sfd);
	sw_stop = 1;
	for (unsigned i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(got_term == 5 && got_usr2 == 5, "signalfd: %u SIGTERM, %u SIGUSR2", got_term, got_usr2);
	say("sigwait: 20 SIGUSR1 by sigwait, 5 SIGTERM and 5 SIGUSR2 by signalfd\n");
}

/* ---- eintr ---- */

static void on_usr2(int sig)
{
	(void)sig;
}

static void *eintr_alloc_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 30; i++) {
		void *p = malloc(1000);
		usleep(5000);
		free(p);
	}
	return NULL;
}

static void run_eintr(void)
{
	struct sigaction sa = {.sa_handler = on_usr2, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, eintr_alloc_thread, NULL) == 0, "pthread_create");
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 5; i++) {
			usleep(60000);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	char b;
	struct pollfd pfd = {p[0], POLLIN, 0};
	CHECK(poll(&pfd, 1, -1) == 1, "poll: %s", strerror(errno));
	CHECK(read(p[0], &b, 1) == 1, "read: %s", strerror(errno));
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	CHECK(select(p[0] + 1, &rd, NULL, NULL, NULL) == 1, "select: %s", strerror(errno));
	CHECK(read(p[0], &b, 1) == 1, "read: %s", strerror(errno));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "epoll_ctl");
	CHECK(epoll_wait(ep, &out, 1, -1) == 1, "epoll_wait: %s", strerror(errno));
	CHECK(read(p[0], &b, 1) == 1, "read: %s", strerror(errno));
	close(ep);
	CHECK(read(p[0], &b, 1) == 1, "blocking read: %s", strerror(errno));
	struct timespec ts = {0, 80 * 1000000};
	CHECK(nanosleep(&ts, NULL) == 0, "nanosleep: %s", strerror(errno));
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	struct timespec to = {0, 50 * 1000000};
	CHECK(sigtimedwait(&usr2, NULL, &to) < 0 && errno == EAGAIN, "sigtimedwait: %s", strerror(errno));
	CHECK(read(p[0], &b, 1) == 1, "read: %s", strerror(errno));
	waitpid(c, NULL, 0);
	pthread_join(t, NULL);
	say("eintr: poll, select, epoll_wait, read, nanosleep, sigtimedwait: no EINTR\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "timers"))
		run_timers();
	else if (!strcmp(mode, "altstack"))
		run_altstack();
	else if (!strcmp(mode, "reset"))
		run_reset();
	else if (!strcmp(mode, "sigwait"))
		run_sigwait();
	else if (!strcmp(mode, "eintr"))
		run_eintr();
	else
		CHECK(0, "unknown mode '%s'", mode);
	return 0;
}
