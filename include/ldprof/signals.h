/*
 * ldprof/signals.h - the signals both sides name the same way: the agent
 * parses LDPROF_CPU_SIGNAL and LDPROF_SNAPSHOT_SIGNAL with this table and
 * ends a trace with END(LDP_END_SIGNAL, number) on the fatal ones;
 * `ldprof record` checks --cpu-signal and --snapshot-signal against it, and
 * the reporter names the number an END record carries ("terminated by
 * SIGTERM"). Numbers are Linux's (x86-64): the trace stores them as they are.
 *
 * Header-only: the agent and the reporter share nothing else but include/.
 */
#ifndef LDPROF_SIGNALS_H
#define LDPROF_SIGNALS_H

#include <signal.h>
#include <string.h>

/*
 * X(number, name without "SIG", pickable, fatal)
 *   pickable: a name LDPROF_CPU_SIGNAL / LDPROF_SNAPSHOT_SIGNAL accept
 *   fatal:    left at SIG_DFL by the program, the agent catches it and ends
 *             the trace with END(signal) before the process dies (fatal.c)
 * A number may come twice: its first row names it (29 is "POLL", as glibc's
 * sigabbrev_np has it), a later one may add a name to pick it by ("IO").
 */
#define LDP_SIGNALS(X)                                                                                         \
	X(SIGHUP, "HUP", 1, 1)                                                                                 \
	X(SIGINT, "INT", 1, 1)                                                                                 \
	X(SIGQUIT, "QUIT", 1, 1)                                                                               \
	X(SIGILL, "ILL", 0, 1)                                                                                 \
	X(SIGTRAP, "TRAP", 0, 1)                                                                               \
	X(SIGABRT, "ABRT", 0, 1)                                                                               \
	X(SIGBUS, "BUS", 0, 1)                                                                                 \
	X(SIGFPE, "FPE", 0, 1)                                                                                 \
	X(SIGKILL, "KILL", 0, 0)                                                                               \
	X(SIGUSR1, "USR1", 1, 0)                                                                               \
	X(SIGSEGV, "SEGV", 0, 1)                                                                               \
	X(SIGUSR2, "USR2", 1, 0)                                                                               \
	X(SIGPIPE, "PIPE", 1, 1)                                                                               \
	X(SIGALRM, "ALRM", 1, 0)                                                                               \
	X(SIGTERM, "TERM", 1, 1)                                                                               \
	X(SIGSTKFLT, "STKFLT", 0, 0)                                                                           \
	X(SIGCHLD, "CHLD", 1, 0)                                                                               \
	X(SIGCONT, "CONT", 1, 0)                                                                               \
	X(SIGSTOP, "STOP", 0, 0)                                                                               \
	X(SIGTSTP, "TSTP", 1, 0)                                                                               \
	X(SIGTTIN, "TTIN", 1, 0)                                                                               \
	X(SIGTTOU, "TTOU", 1, 0)                                                                               \
	X(SIGURG, "URG", 1, 0)                                                                                 \
	X(SIGXCPU, "XCPU", 1, 1)                                                                               \
	X(SIGXFSZ, "XFSZ", 0, 0)                                                                               \
	X(SIGVTALRM, "VTALRM", 1, 0)                                                                           \
	X(SIGPROF, "PROF", 1, 0)                                                                               \
	X(SIGWINCH, "WINCH", 1, 0)                                                                             \
	X(SIGPOLL, "POLL", 0, 0)                                                                               \
	X(SIGIO, "IO", 1, 0)                                                                                   \
	X(SIGPWR, "PWR", 1, 0)                                                                                 \
	X(SIGSYS, "SYS", 0, 1)

/* Never usable for sampling or snapshots, by name or by number: they cannot
 * be caught, or they mean the program faulted. */
static inline int ldp_signal_unusable(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
}

/* The number of a pickable name ("USR2", "SIGUSR2"; RTMIN+n is parsed by
 * the caller), or 0 when it names none. */
static inline int ldp_signal_pickable(const char *name)
{
#define LDP_SIGNAL_PICK_(num, str, pick, fatal)                                                                \
	if ((pick) && !strcmp(name, str))                                                                      \
		return num;
	if (!strncmp(name, "SIG", 3))
		name += 3;
	LDP_SIGNALS(LDP_SIGNAL_PICK_)
#undef LDP_SIGNAL_PICK_
	return 0;
}

/* The name of a standard signal without "SIG" ("TERM"), or NULL. */
static inline const char *ldp_signal_name(int sig)
{
#define LDP_SIGNAL_NAME_(num, str, pick, fatal)                                                                \
	if (sig == (num))                                                                                      \
		return str;
	LDP_SIGNALS(LDP_SIGNAL_NAME_)
#undef LDP_SIGNAL_NAME_
	return NULL;
}

#endif
