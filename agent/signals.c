/*
 * signals.c - the program's view of the signals the agent uses.
 *
 * The agent installs handlers of its own on two kinds of signal:
 *   - the CPU sampling signal (SIGPROF unless configured), sample.c;
 *   - fatal signals whose action the program left at SIG_DFL, fatal.c.
 * For those ("virtual" signals here) the program must see what it set, as
 * if the agent were not there, and must never get a signal it did not
 * cause. So every way a program sets, reads or blocks a signal goes through
 * here:
 *
 *   set/read   sigaction, __sigaction, signal, bsd_signal, ssignal,
 *              sysv_signal, __sysv_signal, sigset, sigignore, siginterrupt,
 *              syscall(SYS_rt_sigaction)
 *   block      sigprocmask, pthread_sigmask, sighold, sigrelse, sigblock,
 *              sigsetmask, sigset(SIG_HOLD), syscall(SYS_rt_sigprocmask)
 *   take       sigwait, sigwaitinfo, sigtimedwait, signalfd
 *
 * Setting a virtual signal: SIG_DFL or SIG_IGN for the CPU signal is
 * remembered, not applied (a daemon that resets every signal must not be
 * killed by the next tick); a handler of the program's own for it makes
 * sampling step aside (sample.c) and is applied. For a fatal signal SIG_DFL
 * keeps the agent's handler, anything else is applied as given (the
 * program's handler has priority), and a handler with SA_RESETHAND gets the
 * agent's handler back when it runs, as the kernel would have put SIG_DFL
 * back. Reading gives what the program set. Other signals pass straight
 * through to libc.
 *
 * Blocking the CPU signal in a thread pauses that thread's timer first
 * (sample.c), so no tick of ours can be pending where the program fetches
 * signals with sigwait or signalfd; the sigwait family also drops any tick
 * of ours that got there another way (a mask changed behind our back).
 *
 * No lock: these calls are async-signal-safe in libc and may come from
 * handlers. Two threads setting the same signal at once race as they would
 * in the kernel: the last one wins.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "signals.h"
#include "log.h"
#include "prim.h"

#define NSIGS 65
#define SA_RESTORER 0x04000000 /* the kernel's flag: libc always sets a restorer */

/* Exported by glibc but not declared in its headers (with _GNU_SOURCE). */
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t bsd_signal(int sig, sighandler_t handler);
sighandler_t __sysv_signal(int sig, sighandler_t handler);

enum { VIRT_NONE = 0, VIRT_CPU = 1, VIRT_FATAL = 2 };

static struct virt {
	_Atomic int kind;
	void (*agent_handler)(int, siginfo_t *, void *); /* VIRT_FATAL: what goes in while the program says SIG_DFL */
	struct sigaction prog;                           /* what the program set; sa_handler SIG_DFL until it sets one */
	int intr;                                        /* siginterrupt(sig, 1) was called */
} virt[NSIGS];

/* The x86-64 kernel's struct sigaction (rt_sigaction with a sigset of 8 bytes). */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static int (*real_sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static int (*real_pthread_sigmask_fn)(int, const sigset_t *, sigset_t *);
static int (*real_sigprocmask_fn)(int, const sigset_t *, sigset_t *);

static void *next(const char *name)
{
	ldp_self.busy++;
	void *f = dlsym(RTLD_NEXT, name);
	ldp_self.busy--;
	return f;
}

#define REAL(var, name)                                                                                        \
	do {                                                                                                   \
		if (LDP_UNLIKELY(!(var)))                                                                      \
			*(void **)&(var) = next(name);                                                         \
	} while (0)

int ldp_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	REAL(real_sigaction_fn, "sigaction");
	if (!real_sigaction_fn) {
		errno = ENOSYS;
		return -1;
	}
	return real_sigaction_fn(sig, act, old);
}

int ldp_real_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	REAL(real_pthread_sigmask_fn, "pthread_sigmask");
	return real_pthread_sigmask_fn ? real_pthread_sigmask_fn(how, set, old) : ENOSYS;
}

static int kind_of(int sig)
{
	return sig > 0 && sig < NSIGS ? atomic_load_explicit(&virt[sig].kind, memory_order_acquire) : VIRT_NONE;
}

/* ---- what the agent owns ---- */

void ldp_sig_own_cpu(int sig)
{
	if (sig > 0 && sig < NSIGS) {
		virt[sig].prog.sa_handler = SIG_DFL;
		atomic_store(&virt[sig].kind, VIRT_CPU);
	}
}

int ldp_sig_take_fatal(int sig, void (*handler)(int, siginfo_t *, void *))
{
	struct sigaction old, sa;
	if (sig <= 0 || sig >= NSIGS || kind_of(sig) != VIRT_NONE || ldp_real_sigaction(sig, NULL, &old) != 0 ||
	    old.sa_handler != SIG_DFL)
		return -1; /* someone handles or ignores it already: theirs */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	/* The signal stays blocked while the handler runs, so the re-raise
	 * kills at its return; on the program's alternate stack if it has one. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	virt[sig].agent_handler = handler;
	virt[sig].prog.sa_handler = SIG_DFL;
	if (ldp_real_sigaction(sig, &sa, NULL) != 0)
		return -1;
	atomic_store(&virt[sig].kind, VIRT_FATAL);
	return 0;
}

void ldp_sig_program_action(int sig, struct sigaction *out)
{
	*out = virt[sig].prog;
}

/* ---- setting and reading ---- */

/* sa_handler and sa_sigaction share their storage, and the kernel looks at
 * the value alone: SIG_DFL with SA_SIGINFO is still SIG_DFL. */
static int is_default(const struct sigaction *a)
{
	return a->sa_handler == SIG_DFL;
}

static int is_handler(const struct sigaction *a)
{
	return a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN;
}

/* A program handler with SA_RESETHAND on a fatal signal: the kernel would put
 * SIG_DFL back as it runs it, and the next delivery would kill without a
 * trace. This runs instead: the agent's handler goes back (the program's view
 * is SIG_DFL, as the kernel would have made it), then the program's handler. */
static void reset_trampoline(int sig, siginfo_t *si, void *uc)
{
	struct sigaction prog = virt[sig].prog, sa;
	memset(&virt[sig].prog, 0, sizeof virt[sig].prog);
	virt[sig].prog.sa_handler = SIG_DFL;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = virt[sig].agent_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	ldp_real_sigaction(sig, &sa, NULL);
	if (prog.sa_flags & SA_SIGINFO)
		prog.sa_sigaction(sig, si, uc);
	else
		prog.sa_handler(sig);
}

/* Apply what the program asked for a fatal signal. */
static int apply_fatal(int sig, const struct sigaction *act)
{
	struct sigaction sa = *act;
	if (is_default(act)) {
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = virt[sig].agent_handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
		sigemptyset(&sa.sa_mask);
	} else if (is_handler(act) && (act->sa_flags & SA_RESETHAND)) {
		sa.sa_sigaction = reset_trampoline;
		sa.sa_flags = (act->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
	}
	return ldp_real_sigaction(sig, &sa, NULL);
}

/* sigaction for a virtual signal. */
static int virt_sigaction(int sig, int kind, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction prev = virt[sig].prog;
	if (act) {
		if (kind == VIRT_CPU && is_handler(act)) {
			/* The program wants the signal for itself: give it back. */
			ldp_sample_step_aside(sig);
			atomic_store(&virt[sig].kind, VIRT_NONE);
			int rc = ldp_real_sigaction(sig, act, NULL);
			if (rc == 0 && old)
				*old = prev;
			return rc;
		}
		if (kind == VIRT_FATAL && apply_fatal(sig, act) != 0)
			return -1;
		virt[sig].prog = *act;
	}
	if (old)
		*old = prev;
	return 0;
}

static int do_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int kind = kind_of(sig);
	if (kind == VIRT_NONE)
		return ldp_real_sigaction(sig, act, old);
	return virt_sigaction(sig, kind, act, old);
}

LDP_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return do_sigaction(sig, act, old);
}

LDP_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return do_sigaction(sig, act, old);
}

/* signal() and friends for a virtual signal, with their libc flags. */
static sighandler_t virt_signal(int sig, sighandler_t handler, int flags)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (do_sigaction(sig, &sa, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

static sighandler_t (*real_signal_fn)(int, sighandler_t);
static sighandler_t (*real_bsd_signal_fn)(int, sighandler_t);
static sighandler_t (*real_ssignal_fn)(int, sighandler_t);
static sighandler_t (*real_sysv_signal_fn)(int, sighandler_t);
static sighandler_t (*real_sigset_fn)(int, sighandler_t);
static int (*real_sigignore_fn)(int);
static int (*real_siginterrupt_fn)(int, int);

#define SIGNAL_LIKE(name, fn, realname, flags_expr)                                                            \
	LDP_EXPORT sighandler_t name(int sig, sighandler_t handler)                                            \
	{                                                                                                      \
		if (kind_of(sig) != VIRT_NONE)                                                                 \
			return virt_signal(sig, handler, (flags_expr));                                        \
		REAL(fn, realname);                                                                            \
		if (!fn) {                                                                                     \
			errno = ENOSYS;                                                                        \
			return SIG_ERR;                                                                        \
		}                                                                                              \
		return fn(sig, handler);                                                                       \
	}

/* glibc's signal() has BSD semantics (SA_RESTART unless siginterrupt said
 * otherwise); sysv_signal is SA_RESETHAND | SA_NODEFER, not restarting. */
SIGNAL_LIKE(signal, real_signal_fn, "signal", virt[sig].intr ? 0 : SA_RESTART)
SIGNAL_LIKE(bsd_signal, real_bsd_signal_fn, "bsd_signal", virt[sig].intr ? 0 : SA_RESTART)
SIGNAL_LIKE(ssignal, real_ssignal_fn, "ssignal", virt[sig].intr ? 0 : SA_RESTART)
SIGNAL_LIKE(sysv_signal, real_sysv_signal_fn, "sysv_signal", SA_RESETHAND | SA_NODEFER)
SIGNAL_LIKE(__sysv_signal, real_sysv_signal_fn, "__sysv_signal", SA_RESETHAND | SA_NODEFER)

LDP_EXPORT int sigignore(int sig)
{
	if (kind_of(sig) != VIRT_NONE)
		return virt_signal(sig, SIG_IGN, 0) == SIG_ERR ? -1 : 0;
	REAL(real_sigignore_fn, "sigignore");
	return real_sigignore_fn ? real_sigignore_fn(sig) : (errno = ENOSYS, -1);
}

LDP_EXPORT int siginterrupt(int sig, int flag)
{
	if (kind_of(sig) == VIRT_NONE) {
		REAL(real_siginterrupt_fn, "siginterrupt");
		return real_siginterrupt_fn ? real_siginterrupt_fn(sig, flag) : (errno = ENOSYS, -1);
	}
	struct sigaction sa = virt[sig].prog;
	virt[sig].intr = flag != 0;
	if (flag)
		sa.sa_flags &= ~SA_RESTART;
	else
		sa.sa_flags |= SA_RESTART;
	return do_sigaction(sig, &sa, NULL);
}

/* ---- blocking ---- */

/* Wrap a mask change of the calling thread. The CPU signal about to be
 * blocked: pause the thread's timer first, so that a tick already due is
 * delivered (to us, still unblocked) on the way back from that, and none can
 * become pending behind the new mask. Unblocked: resume. */
static int masked_op(int how, const sigset_t *set, sigset_t *old, int pthread_style)
{
	int (*real)(int, const sigset_t *, sigset_t *);
	if (pthread_style) {
		REAL(real_pthread_sigmask_fn, "pthread_sigmask");
		real = real_pthread_sigmask_fn;
	} else {
		REAL(real_sigprocmask_fn, "sigprocmask");
		real = real_sigprocmask_fn;
	}
	if (!real)
		return pthread_style ? ENOSYS : (errno = ENOSYS, -1);
	int sig = ldp_cpu_signal;
	/* Inside the agent (libunwind blocks every signal around its caches, on
	 * every step) or in a handler that interrupted it: brief, and undone
	 * before the program runs on - no timer to pause. */
	if (!set || !sig || ldp_self.busy || kind_of(sig) != VIRT_CPU)
		return real(how, set, old);
	int member = sigismember(set, sig) == 1;
	int blocks = member && (how == SIG_BLOCK || how == SIG_SETMASK);
	int unblocks = (member && how == SIG_UNBLOCK) || (!member && how == SIG_SETMASK);
	if (blocks)
		ldp_sample_thread_block(1);
	int rc = real(how, set, old);
	if (rc == 0 ? unblocks : blocks)
		ldp_sample_thread_block(0); /* unblocked, or the block failed */
	return rc;
}

LDP_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return masked_op(how, set, old, 0);
}

LDP_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return masked_op(how, set, old, 1);
}

static int one_sig(int sig, int how)
{
	sigset_t s;
	if (sig <= 0 || sig >= NSIGS) {
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&s);
	sigaddset(&s, sig);
	return masked_op(how, &s, NULL, 0);
}

LDP_EXPORT int sighold(int sig)
{
	return one_sig(sig, SIG_BLOCK);
}

LDP_EXPORT int sigrelse(int sig)
{
	return one_sig(sig, SIG_UNBLOCK);
}

/* The BSD forms: a mask of the first 32 signals as an int. */
static int bsd_mask_op(int how, int mask)
{
	sigset_t set, old;
	sigemptyset(&set);
	for (int s = 1; s <= 32; s++)
		if (mask & (1u << (s - 1)))
			sigaddset(&set, s);
	if (masked_op(how, &set, &old, 0) != 0)
		return -1;
	unsigned r = 0;
	for (int s = 1; s <= 32; s++)
		if (sigismember(&old, s) == 1)
			r |= 1u << (s - 1);
	return (int)r;
}

LDP_EXPORT int sigblock(int mask)
{
	return bsd_mask_op(SIG_BLOCK, mask);
}

LDP_EXPORT int sigsetmask(int mask)
{
	return bsd_mask_op(SIG_SETMASK, mask);
}

LDP_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	if (kind_of(sig) == VIRT_NONE) {
		REAL(real_sigset_fn, "sigset");
		if (!real_sigset_fn) {
			errno = ENOSYS;
			return SIG_ERR;
		}
		return real_sigset_fn(sig, disp);
	}
	/* As glibc does it, through the wrappers above. */
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, sig);
	if (disp == SIG_HOLD) {
		if (masked_op(SIG_BLOCK, &s, &old, 0) != 0)
			return SIG_ERR;
		if (sigismember(&old, sig) == 1)
			return SIG_HOLD;
		return virt[sig].prog.sa_handler;
	}
	struct sigaction sa, prev;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = disp;
	sigemptyset(&sa.sa_mask);
	if (do_sigaction(sig, &sa, &prev) != 0)
		return SIG_ERR;
	if (masked_op(SIG_UNBLOCK, &s, &old, 0) != 0)
		return SIG_ERR;
	return sigismember(&old, sig) == 1 ? SIG_HOLD : prev.sa_handler;
}

/* ---- raw system calls (syscall.c) ---- */

/* syscall(SYS_rt_sigaction, sig, act, old, 8) for a virtual signal.
 * @return 1 if handled (*ret set), 0 to pass the call on unchanged. */
int ldp_sig_raw_action(long sig, const void *actv, void *oldv, long size, long *ret,
		       long (*real)(long, long, long, long, long, long, long))
{
	int kind = sig > 0 && sig < NSIGS ? kind_of((int)sig) : VIRT_NONE;
	if (kind == VIRT_NONE || size != 8)
		return 0;
	const struct ksigaction *act = actv;
	struct ksigaction *old = oldv, now;
	struct sigaction prev = virt[sig].prog;
	/* The kernel's current action: its restorer goes into what the program
	 * reads (it may reinstall that), and it is what to put back on failure. */
	memset(&now, 0, sizeof now);
	real(SYS_rt_sigaction, sig, 0, (long)&now, 8, 0, 0);
	*ret = 0;
	if (act) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = (sighandler_t)act->handler;
		sa.sa_flags = (int)(act->flags & ~(unsigned long)SA_RESTORER);
		memcpy(&sa.sa_mask, &act->mask, sizeof act->mask);
		if (kind == VIRT_CPU && is_handler(&sa)) {
			ldp_sample_step_aside((int)sig);
			atomic_store(&virt[sig].kind, VIRT_NONE);
			*ret = real(SYS_rt_sigaction, sig, (long)act, 0, 8, 0, 0); /* as the program made it */
		} else if (kind == VIRT_FATAL && !is_default(&sa) && !(is_handler(&sa) && (sa.sa_flags & SA_RESETHAND))) {
			*ret = real(SYS_rt_sigaction, sig, (long)act, 0, 8, 0, 0); /* SIG_IGN or its handler, as made */
		} else if (kind == VIRT_FATAL) {
			*ret = apply_fatal((int)sig, &sa); /* SIG_DFL: ours back; SA_RESETHAND: the trampoline */
		}
		if (*ret != 0)
			return 1;
		virt[sig].prog = sa;
	}
	if (old) {
		/* Never set: all zero, as the kernel shows it. Set through libc:
		 * with the restorer libc always adds. */
		int never = prev.sa_handler == SIG_DFL && !prev.sa_flags && sigisemptyset(&prev.sa_mask);
		old->handler = (void *)prev.sa_handler;
		old->flags = never ? 0 : (unsigned long)(unsigned)prev.sa_flags | SA_RESTORER;
		old->restorer = never ? NULL : now.restorer;
		memcpy(&old->mask, &prev.sa_mask, sizeof old->mask);
	}
	return 1;
}

/* syscall(SYS_rt_sigprocmask, how, set, old, 8). @return 1 if handled (*ret set). */
int ldp_sig_raw_mask(long how, const void *setv, void *oldv, long size, long *ret,
		     long (*real)(long, long, long, long, long, long, long))
{
	int sig = ldp_cpu_signal;
	if (!setv || size != 8 || !sig || ldp_self.busy || kind_of(sig) != VIRT_CPU)
		return 0;
	uint64_t set;
	memcpy(&set, setv, sizeof set);
	int member = (set >> (sig - 1)) & 1;
	int blocks = member && (how == SIG_BLOCK || how == SIG_SETMASK);
	int unblocks = (member && how == SIG_UNBLOCK) || (!member && how == SIG_SETMASK);
	if (blocks)
		ldp_sample_thread_block(1);
	*ret = real(SYS_rt_sigprocmask, how, (long)setv, (long)oldv, size, 0, 0);
	if (*ret == 0 ? unblocks : blocks)
		ldp_sample_thread_block(0);
	return 1;
}

/* ---- taking signals ---- */

static int (*real_sigtimedwait_fn)(const sigset_t *, siginfo_t *, const struct timespec *);
static int (*real_sigwaitinfo_fn)(const sigset_t *, siginfo_t *);
static int (*real_sigwait_fn)(const sigset_t *, int *);
static int (*real_signalfd_fn)(int, const sigset_t *, int);

void ldp_signals_resolve(void)
{
	REAL(real_sigaction_fn, "sigaction");
	REAL(real_pthread_sigmask_fn, "pthread_sigmask");
	REAL(real_sigprocmask_fn, "sigprocmask");
	REAL(real_signal_fn, "signal");
	REAL(real_bsd_signal_fn, "bsd_signal");
	REAL(real_ssignal_fn, "ssignal");
	REAL(real_sysv_signal_fn, "sysv_signal");
	REAL(real_sigset_fn, "sigset");
	REAL(real_sigignore_fn, "sigignore");
	REAL(real_siginterrupt_fn, "siginterrupt");
	REAL(real_sigtimedwait_fn, "sigtimedwait");
	REAL(real_sigwaitinfo_fn, "sigwaitinfo");
	REAL(real_sigwait_fn, "sigwait");
	REAL(real_signalfd_fn, "signalfd");
}

static int waits_for_ticks(const sigset_t *set)
{
	int sig = ldp_cpu_signal;
	return set && sig && kind_of(sig) == VIRT_CPU && sigismember(set, sig) == 1;
}

/* sigtimedwait that never returns a tick of ours (timeout NULL: for ever). */
static int filtered_wait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	REAL(real_sigtimedwait_fn, "sigtimedwait");
	if (!real_sigtimedwait_fn) {
		errno = ENOSYS;
		return -1;
	}
	uint64_t end = 0;
	if (timeout)
		end = ldp_mono_ns() + (uint64_t)timeout->tv_sec * 1000000000u + (uint64_t)timeout->tv_nsec;
	struct timespec left, *tp = NULL;
	if (timeout) {
		left = *timeout;
		tp = &left;
	}
	for (;;) {
		siginfo_t si;
		int r = real_sigtimedwait_fn(set, &si, tp);
		if (r < 0 || !ldp_sample_is_tick(&si)) {
			if (r >= 0 && info)
				*info = si;
			return r;
		}
		/* A tick of ours: the program did not cause it; wait on. */
		if (timeout) {
			uint64_t now = ldp_mono_ns();
			uint64_t rest = now < end ? end - now : 0;
			left.tv_sec = (time_t)(rest / 1000000000u);
			left.tv_nsec = (long)(rest % 1000000000u);
		}
	}
}

LDP_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	if (waits_for_ticks(set))
		return filtered_wait(set, info, timeout);
	REAL(real_sigtimedwait_fn, "sigtimedwait");
	return real_sigtimedwait_fn ? real_sigtimedwait_fn(set, info, timeout) : (errno = ENOSYS, -1);
}

LDP_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	if (waits_for_ticks(set))
		return filtered_wait(set, info, NULL);
	REAL(real_sigwaitinfo_fn, "sigwaitinfo");
	return real_sigwaitinfo_fn ? real_sigwaitinfo_fn(set, info) : (errno = ENOSYS, -1);
}

LDP_EXPORT int sigwait(const sigset_t *set, int *sig)
{
	if (!waits_for_ticks(set)) {
		REAL(real_sigwait_fn, "sigwait");
		return real_sigwait_fn ? real_sigwait_fn(set, sig) : ENOSYS;
	}
	int saved = errno, r;
	do
		r = filtered_wait(set, NULL, NULL);
	while (r < 0 && errno == EINTR); /* as glibc's sigwait */
	int err = r < 0 ? errno : 0;
	errno = saved;
	if (r >= 0)
		*sig = r;
	return err;
}

/* A signalfd's reads cannot be filtered: make sure this thread has no tick
 * of ours pending, and none can arrive while the signal stays blocked. */
LDP_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	if (waits_for_ticks(mask))
		ldp_sample_thread_sync();
	REAL(real_signalfd_fn, "signalfd");
	return real_signalfd_fn ? real_signalfd_fn(fd, mask, flags) : (errno = ENOSYS, -1);
}
