/*
 * syscall.c - the program's syscall(): the few numbers that would go around
 * the agent, handled; everything else passed on unchanged.
 *
 *   fork, clone, clone3 making a copy of the process  -> forks.c (atfork handlers)
 *   rt_sigaction, rt_sigprocmask                      -> signals.c (the program's
 *                                                        view of signals the agent uses)
 *
 * glibc's syscall() takes the number and six longs whatever the call needs,
 * so this one reads six as well and hands them on: results, errno and
 * arguments are exactly what the real syscall() gives. A system call made
 * by inline assembly never comes here (docs/ARCHITECTURE.md says what that
 * leaves uncovered).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "signals.h"

static long (*real_syscall)(long, ...);

/* The real syscall() with a fixed signature, for forks.c. */
static long call_real(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	return real_syscall(nr, a1, a2, a3, a4, a5, a6);
}

static long raw_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	/* Only if dlsym cannot find glibc's: the kernel's raw answer, errno set as glibc would. */
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if ((unsigned long)ret > -4096UL) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

static void resolve(void)
{
	if (!real_syscall) {
		ldp_self.busy++;
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
		ldp_self.busy--;
	}
}

void ldp_resolve_raw_calls(void)
{
	resolve();
	ldp_forks_resolve();
	ldp_signals_resolve();
}

LDP_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	if (LDP_UNLIKELY(!real_syscall)) {
		resolve();
		if (!real_syscall)
			return raw_syscall6(nr, a1, a2, a3, a4, a5, a6);
	}
	long ret;
	switch (nr) {
	case SYS_rt_sigaction:
		if (ldp_sig_raw_action(a1, (const void *)a2, (void *)a3, a4, &ret, call_real))
			return ret;
		break;
	case SYS_rt_sigprocmask:
		if (ldp_sig_raw_mask(a1, (const void *)a2, (void *)a3, a4, &ret, call_real))
			return ret;
		break;
	case SYS_fork:
	case SYS_clone:
	case SYS_clone3:
		if (ldp_fork_like(nr, a1, a2, a3))
			return ldp_fork_syscall(call_real, nr, a1, a2, a3, a4, a5, a6);
		break;
	default:
		break;
	}
	return real_syscall(nr, a1, a2, a3, a4, a5, a6);
}
