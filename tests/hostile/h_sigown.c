/*
 * h_sigown.c MODE - a program that owns SIGPROF through every entry point
 * libc has, and takes it with sigwait and signalfd. The agent samples CPU
 * time with SIGPROF too: the program must never get a SIGPROF it did not
 * cause, and must never die of one.
 *
 *   dfl        SIGPROF set to SIG_DFL and SIG_IGN by signal, bsd_signal,
 *              ssignal, sysv_signal, sigset, sigignore, sigaction and a raw
 *              rt_sigaction; each call returns (and every query reads) what
 *              the program set last; then 0.4 s of CPU at SIG_DFL: alive
 *   own_sigset, own_bsd, own_sysv, own_ssignal, own_raw
 *              a handler of its own installed by that entry point; 0.3 s of
 *              CPU without a timer: the handler never runs; then its own
 *              ITIMER_PROF: the handler gets those ticks (own_sysv's
 *              handler, reset at each delivery, re-arms a one-shot timer)
 *   block      SIGPROF blocked by sigprocmask, pthread_sigmask, sighold,
 *              sigblock, sigset(SIG_HOLD) and a raw rt_sigprocmask in turn,
 *              in main and in a thread created while it is blocked; after
 *              CPU work each time: sigtimedwait and a signalfd find nothing
 *              pending; a SIGPROF the program sends itself is what sigwait,
 *              sigwaitinfo and the signalfd return; unblocked at the end
 *   toggle     0.5 s of CPU in stretches of 2 ms with SIGPROF unblocked and
 *              0.5 ms blocked (as a server blocking signals around each
 *              request): shorter than the sampling interval, still sampled
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

/* The old System V and BSD entry points are what this program is about. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

sighandler_t bsd_signal(int sig, sighandler_t handler);

/* The x86-64 kernel's struct sigaction. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};
#define K_SA_RESTORER 0x04000000UL

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Burn s seconds of this thread's CPU time, allocating a little. */
static void burn(double s)
{
	volatile double x = 1;
	double end = cpu_now() + s;
	unsigned i = 0;
	while (cpu_now() < end) {
		for (int k = 0; k < 20000; k++)
			x = x * 1.0000001 + 0.5;
		free(pattern_alloc(32, 1, i++));
	}
}

static void *raw_query(int sig)
{
	struct ksigaction k;
	CHECK(syscall(SYS_rt_sigaction, sig, NULL, &k, 8) == 0, "rt_sigaction query: %s", strerror(errno));
	return k.handler;
}

static void *query(int sig)
{
	struct sigaction sa;
	CHECK(sigaction(sig, NULL, &sa) == 0, "sigaction query");
	return (void *)sa.sa_handler;
}

static void run_dfl(void)
{
	CHECK(query(SIGPROF) == SIG_DFL && raw_query(SIGPROF) == SIG_DFL, "SIGPROF is not SIG_DFL at start");
	CHECK(signal(SIGPROF, SIG_IGN) == SIG_DFL, "signal");
	CHECK(bsd_signal(SIGPROF, SIG_DFL) == SIG_IGN, "bsd_signal");
	CHECK(ssignal(SIGPROF, SIG_IGN) == SIG_DFL, "ssignal");
	CHECK(sysv_signal(SIGPROF, SIG_DFL) == SIG_IGN, "sysv_signal");
	CHECK(sigset(SIGPROF, SIG_IGN) == SIG_DFL, "sigset");
	CHECK(query(SIGPROF) == SIG_IGN && raw_query(SIGPROF) == SIG_IGN, "query after sigset(SIG_IGN)");
	CHECK(sigset(SIGPROF, SIG_DFL) == SIG_IGN, "sigset");
	CHECK(sigignore(SIGPROF) == 0 && query(SIGPROF) == SIG_IGN, "sigignore");
	struct ksigaction k, old;
	CHECK(syscall(SYS_rt_sigaction, SIGPROF, NULL, &k, 8) == 0, "rt_sigaction");
	k.handler = SIG_DFL;
	CHECK(syscall(SYS_rt_sigaction, SIGPROF, &k, &old, 8) == 0 && old.handler == SIG_IGN, "raw rt_sigaction set");
	CHECK(query(SIGPROF) == SIG_DFL, "query after the raw SIG_DFL");
	CHECK(siginterrupt(SIGPROF, 1) == 0, "siginterrupt");
	struct sigaction sa;
	CHECK(sigaction(SIGPROF, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_RESTART),
	      "siginterrupt(1) left SA_RESTART");
	burn(0.4);
	say("dfl: SIGPROF at SIG_DFL/SIG_IGN through every entry point, 0.4 s of CPU: alive\n");
}

static volatile sig_atomic_t ticks, timer_on;
static const char *own_mode;
static const struct itimerval tick_once = {{0, 0}, {0, 5000}};

static void on_prof(int sig)
{
	ticks++;
	if (!strcmp(own_mode, "own_sysv")) {
		/* System V style: the handler was reset on entry. A periodic
		 * timer could expire again before it is back (ITIMER_PROF counts
		 * every thread's CPU, the agent's writer too, while this one is
		 * preempted here) and kill the program by SIG_DFL: so, as a
		 * careful System V program does, re-arm only once reinstalled. */
		sysv_signal(sig, on_prof);
		if (timer_on)
			setitimer(ITIMER_PROF, &tick_once, NULL);
	}
}

static void restorer_of_libc(struct ksigaction *k)
{
	/* A handler installed through libc carries libc's restorer: borrow it. */
	struct sigaction sa = {.sa_handler = on_prof};
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0, "sigaction(SIGUSR2)");
	CHECK(syscall(SYS_rt_sigaction, SIGUSR2, NULL, k, 8) == 0, "rt_sigaction(SIGUSR2)");
	CHECK(k->flags & K_SA_RESTORER, "no restorer");
}

static void run_own(const char *mode)
{
	own_mode = mode;
	if (!strcmp(mode, "own_sigset"))
		CHECK(sigset(SIGPROF, on_prof) == SIG_DFL, "sigset");
	else if (!strcmp(mode, "own_bsd"))
		CHECK(bsd_signal(SIGPROF, on_prof) == SIG_DFL, "bsd_signal");
	else if (!strcmp(mode, "own_sysv"))
		CHECK(sysv_signal(SIGPROF, on_prof) == SIG_DFL, "sysv_signal");
	else if (!strcmp(mode, "own_ssignal"))
		CHECK(ssignal(SIGPROF, on_prof) == SIG_DFL, "ssignal");
	else if (!strcmp(mode, "own_raw")) {
		struct ksigaction k, old;
		restorer_of_libc(&k);
		k.handler = (void *)on_prof;
		k.flags = K_SA_RESTORER | SA_RESTART;
		k.mask = 0;
		CHECK(syscall(SYS_rt_sigaction, SIGPROF, &k, &old, 8) == 0, "rt_sigaction: %s", strerror(errno));
		CHECK(old.handler == SIG_DFL, "rt_sigaction: the previous action was %p", old.handler);
	} else
		CHECK(0, "unknown mode '%s'", mode);
	CHECK(query(SIGPROF) == (void *)on_prof, "query does not show the handler");
	burn(0.3);
	CHECK(ticks == 0, "%s: the handler got %d SIGPROF the program never caused", mode, (int)ticks);
	struct itimerval periodic = {{0, 5000}, {0, 5000}}, off = {{0, 0}, {0, 0}};
	timer_on = 1;
	CHECK(setitimer(ITIMER_PROF, strcmp(mode, "own_sysv") ? &periodic : &tick_once, NULL) == 0, "setitimer");
	double end = cpu_now() + 10;
	while (ticks < 3 && cpu_now() < end)
		burn(0.01);
	timer_on = 0;
	setitimer(ITIMER_PROF, &off, NULL);
	CHECK(ticks >= 3, "%s: only %d ticks of its own timer", mode, (int)ticks);
	say("%s: no SIGPROF the program did not cause; its own timer's ticks arrive\n", mode);
}

/* ---- block ---- */

static sigset_t prof_set(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGPROF);
	return s;
}

/* Nothing pending for sigtimedwait or a signalfd after CPU work while blocked. */
static void nothing_pending(const char *how)
{
	sigset_t s = prof_set();
	struct timespec zero = {0, 0};
	siginfo_t si;
	int r = sigtimedwait(&s, &si, &zero);
	CHECK(r < 0 && errno == EAGAIN, "%s: sigtimedwait took signal %d (code %d) the program never sent", how, r,
	      r > 0 ? si.si_code : 0);
	int fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK(fd >= 0, "signalfd");
	struct signalfd_siginfo fi;
	CHECK(read(fd, &fi, sizeof fi) < 0 && errno == EAGAIN, "%s: the signalfd had signal %u (code %d) pending", how,
	      fi.ssi_signo, fi.ssi_code);
	close(fd);
}

static void *blocked_thread(void *arg)
{
	(void)arg;
	burn(0.15);
	nothing_pending("a thread created blocked");
	return NULL;
}

static void block_by(int method)
{
	sigset_t s = prof_set();
	switch (method) {
	case 0: CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0, "sigprocmask"); break;
	case 1: CHECK(pthread_sigmask(SIG_SETMASK, &s, NULL) == 0, "pthread_sigmask"); break;
	case 2: CHECK(sighold(SIGPROF) == 0, "sighold"); break;
	case 3: CHECK(sigblock(1 << (SIGPROF - 1)) >= 0, "sigblock"); break;
	case 4: CHECK(sigset(SIGPROF, SIG_HOLD) == SIG_DFL, "sigset(SIG_HOLD)"); break;
	case 5: {
		unsigned long k = 1UL << (SIGPROF - 1);
		CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &k, NULL, 8) == 0, "rt_sigprocmask");
		break;
	}
	}
}

static void run_block(void)
{
	static const char *const names[] = {"sigprocmask", "pthread_sigmask", "sighold", "sigblock", "sigset(SIG_HOLD)",
					    "rt_sigprocmask"};
	sigset_t s = prof_set(), none;
	sigemptyset(&none);
	for (int m = 0; m < 6; m++) {
		block_by(m);
		burn(0.15);
		nothing_pending(names[m]);
		pthread_t t;
		CHECK(pthread_create(&t, NULL, blocked_thread, NULL) == 0, "pthread_create");
		pthread_join(t, NULL);
		/* One the program sends itself arrives, exactly that one. */
		CHECK(kill(getpid(), SIGPROF) == 0, "kill");
		siginfo_t si;
		int r = m % 2 ? sigwaitinfo(&s, &si) : sigtimedwait(&s, &si, &(struct timespec){5, 0});
		CHECK(r == SIGPROF && si.si_code == SI_USER && si.si_pid == getpid(), "%s: got %d code %d", names[m], r,
		      si.si_code);
		CHECK(kill(getpid(), SIGPROF) == 0, "kill");
		int got = 0;
		CHECK(sigwait(&s, &got) == 0 && got == SIGPROF, "sigwait");
		int fd = signalfd(-1, &s, SFD_CLOEXEC);
		CHECK(fd >= 0, "signalfd");
		CHECK(kill(getpid(), SIGPROF) == 0, "kill");
		struct signalfd_siginfo fi;
		CHECK(read(fd, &fi, sizeof fi) == (ssize_t)sizeof fi && fi.ssi_signo == SIGPROF && fi.ssi_code == SI_USER,
		      "%s: signalfd read", names[m]);
		close(fd);
		nothing_pending(names[m]);
		CHECK(sigprocmask(SIG_SETMASK, &none, NULL) == 0, "unblock");
		if (m == 4)
			sigset(SIGPROF, SIG_DFL); /* sigset(SIG_HOLD) blocked it; this unblocks */
	}
	burn(0.3); /* unblocked: sampled again */
	say("block: SIGPROF blocked six ways; only the program's own SIGPROF reached sigwait/signalfd\n");
}

static void run_toggle(void)
{
	sigset_t s = prof_set();
	double end = cpu_now() + 0.5;
	while (cpu_now() < end) {
		CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL) == 0, "block");
		burn(0.0005);
		CHECK(pthread_sigmask(SIG_UNBLOCK, &s, NULL) == 0, "unblock");
		burn(0.002);
	}
	nothing_pending("toggle");
	say("toggle: 0.5 s of CPU, SIGPROF blocked a fifth of it in short stretches\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "toggle"))
		run_toggle();
	else if (!strcmp(mode, "dfl"))
		run_dfl();
	else if (!strcmp(mode, "block"))
		run_block();
	else
		run_own(mode);
	return 0;
}
