/*
 * sample.c - CPU-time sampling.
 *
 * CPU: every thread gets its own CPU-time timer (timer_create with
 * SIGEV_THREAD_ID), so a thread is sampled in proportion to its own CPU time
 * whatever the kernel does with process-wide timers. The main thread's timer
 * is made at start, other threads' in the start routine that our
 * pthread_create wraps around theirs, so threads that never allocate are
 * sampled too. The handler unwinds from the signal context into the
 * thread's own sample block (struct ldp_samples: one producer, the handler;
 * one consumer, the writer) and touches nothing else: no lock, no malloc,
 * no dl_iterate_phdr. Blocks are the threads' own, apart from their event
 * rings: a block lives on this module's list, outlives its thread until the
 * writer has drained it, and then serves the next thread's timer.
 * Each sample carries the thread CPU time since its previous one, so the
 * real interval is measured, not assumed (CPU timers only fire at ticks).
 *
 * Why no spurious EINTR: since Linux 5.11 an expired CPU timer is handled
 * as task work on the way back to user mode, so the signal never lands on a
 * thread sleeping in a system call. On older kernels the timers run on the
 * thread's user-time clock instead, which only moves, and so only expires,
 * on ticks that interrupted user mode. Either way the handler runs while the
 * thread is in user code, and SA_RESTART covers the rest.
 *
 * The signal (SIGPROF unless LDPROF_CPU_SIGNAL says otherwise) stays ours
 * (signals.c keeps the program's view of it): a program resetting it to
 * SIG_DFL or SIG_IGN (daemons reset every signal) is remembered but not
 * applied, and a program installing a handler of its own gets the signal
 * back: our timers are deleted first and sampling stops, with one line said
 * (ldp_sample_step_aside). A thread that blocks the signal has its timer
 * paused first (ldp_sample_thread_block), so no tick of ours is ever
 * pending where the program takes signals with sigwait or signalfd.
 *
 * Wall-clock sampling sends no signal at all: wall.c.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "signals.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

/* ---- state ---- */

int ldp_cpu_signal;          /* 0 when CPU sampling is off */
int ldp_cpu_clock;           /* enum ldp_sample_clock */
int ldp_cpu_status;          /* 0 ok; 1 stepped aside for the program's handler */
_Atomic uint64_t ldp_samples_lost_global; /* signals that found no block */
static clockid_t cpu_clockid;
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static _Atomic(struct ldp_samples *) samples_list;

struct ldp_samples *ldp_samples_first(void)
{
	return atomic_load_explicit(&samples_list, memory_order_acquire);
}

/* Slots for a new block. While the writer thread starts late (writer.c),
 * nothing drains the main thread's samples: its block holds twice the
 * delay's worth at the rate asked (512 slots at 99 Hz and 1 s; pages are
 * touched as samples come). Later blocks are drained every few ms. */
static uint32_t slots_wanted(void)
{
	if (atomic_load(&ldp_writer_deferred) != LDP_WRITER_WAITING)
		return LDP_SAMPLE_SLOTS;
	uint64_t want = 2ull * ldp_cfg.cpu_hz * (ldp_cfg.writer_delay_ms + 999) / 1000;
	uint32_t n = LDP_SAMPLE_SLOTS;
	while (n < want && n < LDP_SAMPLE_SLOTS_MAX)
		n *= 2;
	return n;
}

/* A block for the calling thread: a drained one (FREE), or a new one on the
 * list. Its owner is written while it is CLAIMING, so the writer never
 * takes it for the previous owner's. Its timer is made by the caller. */
static struct ldp_samples *samples_claim(int tid)
{
	struct ldp_samples *s;
	for (s = ldp_samples_first(); s; s = s->next) {
		int expected = LDP_SAMPLES_FREE;
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == LDP_SAMPLES_FREE &&
		    atomic_compare_exchange_strong(&s->state, &expected, LDP_SAMPLES_CLAIMING)) {
			if (!s->stopped) /* its thread vanished without handing it back: its timer goes */
				timer_delete(s->timer);
			break;
		}
	}
	if (!s) {
		uint32_t n = slots_wanted();
		s = ldp_raw_alloc(sizeof *s + n * ldp_sample_size());
		if (!s)
			return NULL;
		s->nslots = n;
		s->slots = (uint8_t *)(s + 1);
		atomic_store_explicit(&s->state, LDP_SAMPLES_CLAIMING, memory_order_relaxed);
		struct ldp_samples *old = atomic_load(&samples_list);
		do
			s->next = old;
		while (!atomic_compare_exchange_weak_explicit(&samples_list, &old, s, memory_order_release,
							      memory_order_relaxed));
	}
	s->tid = tid;
	s->stopped = 1; /* no timer yet */
	s->paused = 0;
	atomic_store_explicit(&s->state, LDP_SAMPLES_OWNED, memory_order_release);
	return s;
}

/* ---- the handler ---- */

static void forward_to_program(int sig, siginfo_t *si, void *uc)
{
	/* Not our timer (kill -PROF from outside): what the program asked for. */
	struct sigaction prog;
	ldp_sig_program_action(sig, &prog);
	if ((prog.sa_flags & SA_SIGINFO) && prog.sa_sigaction) {
		prog.sa_sigaction(sig, si, uc);
		return;
	}
	void (*h)(int) = prog.sa_handler;
	if (h == SIG_IGN)
		return;
	if (h != SIG_DFL) {
		h(sig);
		return;
	}
	/* The default action (SIGPROF terminates): do exactly that, trace ended. */
	ldp_fatal_die(sig, si, uc);
}

int ldp_sample_is_tick(const siginfo_t *si)
{
	if (si->si_code != SI_TIMER)
		return 0;
	for (struct ldp_samples *s = ldp_samples_first(); s; s = s->next)
		if (si->si_value.sival_ptr == s)
			return 1;
	return 0;
}

static void on_cpu_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct ldp_samples *s = ldp_self.samples;
	if (si->si_code != SI_TIMER || !s || si->si_value.sival_ptr != s) {
		if (si->si_code == SI_TIMER)
			atomic_fetch_add_explicit(&ldp_samples_lost_global, 1, memory_order_relaxed);
		else
			forward_to_program(sig, si, uc);
		errno = saved;
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* async-signal-safe (vDSO or syscall) */
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	s->armed_from_ns = now; /* the timer counts a whole interval again from here */
	s->armed_left_ns = 1000000000u / ldp_cfg.cpu_hz;
	uint32_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
	if (head - atomic_load_explicit(&s->tail, memory_order_acquire) >= s->nslots) {
		atomic_fetch_add_explicit(&s->lost, 1, memory_order_relaxed);
		errno = saved;
		return;
	}
	struct ldp_sample *x = ldp_sample_at(s, head);
	int truncated = 0;
	x->depth = ldp_unwind_from_ucontext(uc, x->ips, ldp_cfg.max_depth, &truncated);
	x->truncated = truncated;
	x->weight_ns = s->last_cpu_ns ? now - s->last_cpu_ns : (uint64_t)(1000000000u / ldp_cfg.cpu_hz);
	x->cpu_ns = now;
	s->last_cpu_ns = now;
	ldp_writer_tick_deferred(); /* no writer ticks the floor yet */
	x->time_us = atomic_load_explicit(&ldp_seq_floor, memory_order_relaxed) >> LDP_SEQ_SHIFT;
	atomic_store_explicit(&s->head, head + 1, memory_order_release);
	errno = saved;
}

/* ---- per-thread timers ---- */

static int arm(struct ldp_samples *s, int on)
{
	long ns = on ? 1000000000L / (long)ldp_cfg.cpu_hz : 0;
	struct itimerspec its = {{ns / 1000000000L, ns % 1000000000L}, {ns / 1000000000L, ns % 1000000000L}};
	return timer_settime(s->timer, 0, &its, NULL);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* async-signal-safe (vDSO or syscall) */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pause keeping the CPU time left to the next tick, and resume with it: a
 * program that blocks and unblocks the signal more often than the interval
 * (around every request, say) is still sampled, in proportion to the CPU
 * time it runs unblocked. What is left is counted here with the precise
 * thread clock: the kernel's answer (timer_settime's old value) is measured
 * from the last scheduler tick, and re-arming with it every few ms lost two
 * thirds of the samples. */
static void pause_timer(struct ldp_samples *s)
{
	struct itimerspec zero;
	memset(&zero, 0, sizeof zero);
	timer_settime(s->timer, 0, &zero, NULL); /* a tick already due arrives now, and resets the count */
	uint64_t used = thread_cpu_ns() - s->armed_from_ns;
	s->armed_left_ns = used < s->armed_left_ns ? s->armed_left_ns - used : 0;
}

static void resume_timer(struct ldp_samples *s)
{
	uint64_t ns = 1000000000u / ldp_cfg.cpu_hz, left = s->armed_left_ns;
	if (left < 1000 || left > ns)
		left = left < 1000 ? 1000 : ns;
	s->armed_from_ns = thread_cpu_ns();
	s->armed_left_ns = left;
	struct itimerspec its = {{(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)},
				 {(time_t)(left / 1000000000u), (long)(left % 1000000000u)}};
	timer_settime(s->timer, 0, &its, NULL);
}

/* Take a tick of ours off this thread's pending signals. Something else of
 * the same signal (kill -PROF) found there goes back as it came. */
static void drain_ticks(void)
{
	int sig = ldp_cpu_signal;
	sigset_t pending, one;
	if (sigpending(&pending) != 0 || sigismember(&pending, sig) != 1)
		return;
	sigemptyset(&one);
	sigaddset(&one, sig);
	struct timespec zero = {0, 0};
	siginfo_t si;
	if (syscall(SYS_rt_sigtimedwait, &one, &si, &zero, 8L) != sig || ldp_sample_is_tick(&si))
		return;
	if (si.si_code == SI_TKILL)
		syscall(SYS_rt_tgsigqueueinfo, getpid(), ldp_gettid(), sig, &si);
	else
		syscall(SYS_rt_sigqueueinfo, getpid(), sig, &si);
}

/* In the thread itself, outside any handler, with busy raised. The thread
 * gets its ring first: its key hands the block back at exit
 * (ldp_sample_thread_stop), and wall.c unwinds it within the stack bounds
 * the ring carries. */
void ldp_sample_thread_start(void)
{
	if (!ldp_cpu_signal || ldp_cpu_status)
		return;
	struct ldp_ring *r = ldp_self.ring ? ldp_self.ring : ldp_thread_attach();
	struct ldp_samples *s = ldp_self.samples;
	if (!r || (s && !s->stopped))
		return;
	if (!s) {
		s = samples_claim(ldp_self.tid ? ldp_self.tid : ldp_gettid());
		if (!s)
			return;
		ldp_self.samples = s;
	}
	/* The first sample stands for the CPU time since the timer was armed. */
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	s->last_cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	s->armed_from_ns = s->last_cpu_ns;
	s->armed_left_ns = 1000000000u / ldp_cfg.cpu_hz;
	struct sigevent se;
	memset(&se, 0, sizeof se);
	se.sigev_notify = SIGEV_THREAD_ID;
	se.sigev_signo = ldp_cpu_signal;
	se.sigev_value.sival_ptr = s; /* tells our ticks from a kill -PROF */
	se._sigev_un._tid = s->tid;
	if (timer_create(cpu_clockid, &se, &s->timer) != 0)
		return; /* stopped: no timer (a later start tries again) */
	s->stopped = 0;
	s->paused = 0;
	/* A thread created by one that blocks the signal starts with it blocked:
	 * its timer waits until it unblocks (no tick may be pending meanwhile). */
	sigset_t cur;
	if (ldp_real_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, ldp_cpu_signal) == 1) {
		s->paused = 1;
		return;
	}
	if (arm(s, 1) != 0) {
		timer_delete(s->timer);
		s->stopped = 1;
	}
}

/* Pause (block: 1) or resume (0) the calling thread's timer, around a change
 * of its signal mask (signals.c). Pausing comes before the signal is
 * blocked: a tick already due is then delivered, to us, on the way back from
 * timer_settime, so none is pending behind the new mask (one could only if
 * the mask already blocked it, set where we could not see: the sigwait
 * family and signalfd take those off). errno kept. */
void ldp_sample_thread_block(int block)
{
	struct ldp_samples *s = ldp_self.samples;
	if (!s || s->stopped || !ldp_cpu_signal || ldp_cpu_status)
		return;
	int saved = errno;
	if (block && !s->paused) {
		s->paused = 1;
		pause_timer(s);
	} else if (!block && s->paused) {
		s->paused = 0;
		resume_timer(s);
	}
	errno = saved;
}

/* Bring the calling thread's timer in line with its real mask, and take off
 * any tick of ours pending (signalfd: its reads cannot be filtered). */
void ldp_sample_thread_sync(void)
{
	sigset_t cur;
	int saved = errno;
	if (ldp_real_sigmask(SIG_BLOCK, NULL, &cur) == 0) {
		int blocked = sigismember(&cur, ldp_cpu_signal) == 1;
		ldp_sample_thread_block(blocked);
		if (blocked)
			drain_ticks();
	}
	errno = saved;
}

/* At thread exit (thread.c's key destructor): no more ticks; the block
 * goes to the writer, which drains what is left and frees it. A tick
 * already pending finds no block here and is counted lost. */
void ldp_sample_thread_stop(void)
{
	struct ldp_samples *s = ldp_self.samples;
	if (!s)
		return;
	if (!s->stopped) {
		timer_delete(s->timer);
		s->stopped = 1;
	}
	ldp_self.samples = NULL;
	atomic_store_explicit(&s->state, LDP_SAMPLES_DEAD, memory_order_release);
}

static void stop_all_timers(void)
{
	for (struct ldp_samples *s = ldp_samples_first(); s; s = s->next)
		if (!s->stopped) {
			timer_delete(s->timer);
			s->stopped = 1;
		}
}

/* No timer survives fork, and the parent's samples are the parent's to
 * write: every block is drained and free (the timer ids are not this
 * process's: never deleted here), losses counted afresh. */
void ldp_samples_after_fork_child(void)
{
	for (struct ldp_samples *s = ldp_samples_first(); s; s = s->next) {
		s->stopped = 1;
		atomic_store(&s->tail, atomic_load(&s->head));
		atomic_store(&s->lost, 0);
		s->idle_drains = 0;
		atomic_store(&s->state, LDP_SAMPLES_FREE);
	}
	atomic_store(&ldp_samples_lost_global, 0);
	ldp_self.samples = NULL;
}

/* "PROF", "RTMIN+5": how a user names the signal (--cpu-signal takes it back). */
static const char *signal_name(char *buf, size_t cap, int sig)
{
	const char *abbrev = sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
	if (abbrev)
		ldp_format(buf, cap, "%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		ldp_format(buf, cap, "RTMIN+%d", sig - SIGRTMIN);
	else
		ldp_format(buf, cap, "%d", sig);
	return buf;
}

/* The program installs a handler of its own for our signal: it is the
 * program's from now on. Timers first, so no tick of ours reaches it. */
void ldp_sample_step_aside(int sig)
{
	stop_all_timers();
	ldp_cpu_status = 1;
	char name[16];
	ldp_warn("pid %d (%s) installs its own SIG%s handler: CPU sampling stops here (ldprof record "
		 "--cpu-signal, or LDPROF_CPU_SIGNAL, samples with another signal, e.g. RTMIN+5)",
		 (int)getpid(), program_invocation_short_name, signal_name(name, sizeof name, sig));
}

/* ---- setup ---- */

/* Linux 5.11 moved CPU-timer expiry to task work on return to user mode. */
static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a = 0, b = 0;
	if (uname(&u) != 0)
		return 0;
	const char *p = u.release;
	while (*p >= '0' && *p <= '9')
		a = a * 10 + (*p++ - '0');
	if (*p == '.')
		p++;
	while (*p >= '0' && *p <= '9')
		b = b * 10 + (*p++ - '0');
	return a > major || (a == major && b >= minor);
}

static int handler_installed_by_program(int sig)
{
	struct sigaction old;
	return ldp_real_sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN;
}

int ldp_sample_init(void)
{
	real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	if (!ldp_cfg.cpu_hz || !real_pthread_create)
		return 0;
	int sig = ldp_cfg.cpu_signal ? ldp_cfg.cpu_signal : SIGPROF;
	if (handler_installed_by_program(sig)) {
		/* Someone (another preloaded library) has it already: find a free one. */
		int free_sig = 0;
		for (int s = SIGRTMAX - 1; s > SIGRTMIN + 4 && !free_sig; s--)
			if (!handler_installed_by_program(s))
				free_sig = s;
		ldp_warn("signal %d is taken; CPU samples use signal %d (set LDPROF_CPU_SIGNAL to choose)", sig,
			 free_sig);
		sig = free_sig;
		if (!sig)
			return -1;
	}
	if (kernel_at_least(5, 11)) {
		cpu_clockid = CLOCK_THREAD_CPUTIME_ID;
		ldp_cpu_clock = LDP_CLOCK_THREAD_CPU;
	} else {
		/* The calling thread's user-time clock: MAKE_THREAD_CPUCLOCK(0, CPUCLOCK_VIRT). */
		cpu_clockid = (clockid_t)((~0u << 3) | 1u | 4u);
		ldp_cpu_clock = LDP_CLOCK_THREAD_USER;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_cpu_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (ldp_real_sigaction(sig, &sa, NULL) != 0)
		return -1;
	ldp_cpu_signal = sig;
	ldp_sig_own_cpu(sig);
	ldp_sample_thread_start(); /* the main thread */
	return 0;
}

/* ---- threads created later ---- */

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *start_sampled(void *p)
{
	struct start st = *(struct start *)p;
	ldp_self.busy++;
	ldp_real.free(p);
	ldp_sample_thread_start();
	ldp_self.busy--;
	return st.fn(st.arg);
}

LDP_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (!real_pthread_create) {
		ldp_self.busy++;
		real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
		ldp_self.busy--;
		if (!real_pthread_create)
			return ENOSYS;
	}
	/* The program gives up glibc's one-thread paths: a late writer may start now. */
	if (atomic_load(&ldp_state) == LDP_STATE_READY)
		ldp_writer_undefer();
	if (!ldp_cpu_signal || ldp_cpu_status || atomic_load(&ldp_state) != LDP_STATE_READY)
		return real_pthread_create(t, attr, fn, arg);
	ldp_self.busy++;
	struct start *st = ldp_real.malloc(sizeof *st);
	ldp_self.busy--;
	if (!st)
		return real_pthread_create(t, attr, fn, arg);
	st->fn = fn;
	st->arg = arg;
	int rc = real_pthread_create(t, attr, start_sampled, st);
	if (rc) {
		ldp_self.busy++;
		ldp_real.free(st);
		ldp_self.busy--;
	}
	return rc;
}
