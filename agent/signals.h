/*
 * signals.h - signal dispositions and masks as the agent and the program
 * share them (signals.c), for the modules that install handlers of their
 * own: sample.c (the CPU signal), fatal.c (fatal signals), syscall.c.
 * Apart from agent.h because it needs <signal.h>.
 */
#ifndef LDP_SIGNALS_H
#define LDP_SIGNALS_H

#include <signal.h>

/* libc's own sigaction and pthread_sigmask (pthread_sigmask style: 0 or an errno). */
int ldp_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int ldp_real_sigmask(int how, const sigset_t *set, sigset_t *old);
/* The CPU signal is ours (sample.c installed its handler). */
void ldp_sig_own_cpu(int sig);
/* Install handler on sig if its action is SIG_DFL, and keep it there while
 * the program's view is SIG_DFL (fatal.c). @return 0, -1 if not taken. */
int ldp_sig_take_fatal(int sig, void (*handler)(int, siginfo_t *, void *));
/* What the program last set for a signal the agent owns (SIG_DFL if nothing). */
void ldp_sig_program_action(int sig, struct sigaction *out);
/* syscall(SYS_rt_sigaction / SYS_rt_sigprocmask, ...) on a signal the agent
 * owns (syscall.c). @return 1 if handled, *ret the result. */
int ldp_sig_raw_action(long sig, const void *act, void *old, long size, long *ret,
		       long (*real)(long, long, long, long, long, long, long));
int ldp_sig_raw_mask(long how, const void *set, void *old, long size, long *ret,
		     long (*real)(long, long, long, long, long, long, long));

/* fatal.c: write the last round with END(sig), then die of sig (re-queued
 * with the same siginfo; si may be NULL). From a signal handler. */
void ldp_fatal_die(int sig, siginfo_t *si, void *uc);

/* sample.c: is this siginfo one of our CPU timer ticks? */
int ldp_sample_is_tick(const siginfo_t *si);

#endif
