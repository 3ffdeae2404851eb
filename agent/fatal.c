/*
 * fatal.c - a process killed by a signal leaves a complete trace.
 *
 * At start the agent puts a handler on every signal that would end the
 * process (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGXCPU, and the
 * faults: SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) whose
 * action is still SIG_DFL. signals.c keeps it there only while the
 * program's view is SIG_DFL: a program that installs its own handler or
 * ignores the signal has that applied at once, and one that sets SIG_DFL
 * again (to re-raise from its own handler) gets ours back.
 *
 * The handler:
 *   1. asks the writer thread for a last round ending with END(signal) and
 *      waits for it, at most FATAL_WAIT_MS (writer.c). It takes no lock and
 *      calls nothing that allocates: the thread it interrupted may hold any
 *      lock, its own allocator's included. A fault at an instruction of the
 *      agent's own waits at most AGENT_FAULT_WAIT_MS: the crashed thread may
 *      hold a lock the writer needs, and the process must die promptly.
 *      Skipped in the writer thread itself (nobody else writes) and in a
 *      process the agent does not trace (a vfork child, a fork child that
 *      never started its own trace).
 *   2. turns the agent off, puts SIG_DFL back and queues the same signal,
 *      with the same siginfo, to the same thread. It is blocked while the
 *      handler runs, so it is delivered as the handler returns: the process
 *      dies of it exactly as it would have (status, core dump; for a fault,
 *      the registers are still those of the faulting instruction).
 *
 * abort() reaches entry.c's wrapper first (END(abort)); abort called inside
 * libc (assert, malloc's consistency checks) arrives here as SIGABRT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent.h"
#include "prim.h"
#include "signals.h"

#define FATAL_WAIT_MS 2000
#define AGENT_FAULT_WAIT_MS 200

static const int fatal_signals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGTRAP, SIGABRT, SIGBUS,
				    SIGFPE,  SIGSEGV, SIGPIPE, SIGTERM, SIGXCPU, SIGSYS};

/* A fault (not a signal someone sent) at an instruction of the agent's own. */
static int fault_in_agent(const siginfo_t *si, const void *ucv)
{
	if (!si || si->si_code <= 0 || !ucv)
		return 0;
	const ucontext_t *uc = ucv;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	return pc >= ldp_self_lo && pc < ldp_self_hi;
}

void ldp_fatal_die(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	/* A vfork child shares the agent's memory: it must not touch its state. */
	int ours = getpid() == ldp_pid;
	if (ours && atomic_load(&ldp_state) == LDP_STATE_READY && !atomic_load(&ldp_restart_pending) &&
	    !ldp_writer_is_self())
		ldp_writer_end_by_signal(sig, fault_in_agent(si, uc) ? AGENT_FAULT_WAIT_MS : FATAL_WAIT_MS);
	if (ours) {
		atomic_store(&ldp_heap_on, 0);
		atomic_store(&ldp_state, LDP_STATE_OFF);
	}
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	ldp_real_sigaction(sig, &dfl, NULL);
	siginfo_t again;
	if (si) {
		again = *si;
	} else {
		memset(&again, 0, sizeof again);
		again.si_signo = sig;
		again.si_code = SI_TKILL;
		again.si_pid = getpid();
		again.si_uid = getuid();
	}
	if (syscall(SYS_rt_tgsigqueueinfo, (long)getpid(), (long)ldp_gettid(), (long)sig, &again) != 0)
		syscall(SYS_tgkill, (long)getpid(), (long)ldp_gettid(), (long)sig);
	errno = saved;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	ldp_fatal_die(sig, si, uc);
}

void ldp_fatal_init(void)
{
	for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++) {
		int sig = fatal_signals[i];
		if (sig != ldp_cpu_signal && sig != ldp_cfg.snapshot_signal)
			ldp_sig_take_fatal(sig, on_fatal);
	}
}
