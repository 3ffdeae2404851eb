/*
 * entry.c - the agent's life cycle: start, fork, exec, the ways a process
 * ends. The state it moves through (ldp_state) and ldp_disable, which turns
 * the agent off after a failure, live in state.c, below every module.
 *
 * State machine (ldp_state, state.c):
 *   UNINIT --constructor--> STARTING --all set up--> READY --error or exit--> OFF
 * Other libraries' constructors may run before ours (libstdc++'s, plugins'):
 * heap events before READY are kept by early.c (ldp_heap_on starts at 1 for
 * that) and put into the trace once it has started. Steps of the constructor
 * that may allocate run with the guard raised, so their allocations pass
 * through untraced.
 *
 * Endings: exit() and return from main reach our ELF destructor, which
 * asks the writer for the last round and an END record and waits for it
 * (bounded). _exit, _Exit, quick_exit and abort are interposed to do the
 * same first. exec* ask for a last round and hold the writer across the real
 * call, so no frame is half-written when the image is replaced; the new
 * image appends its own segment (tracefile.c). Fatal signals end the trace
 * with END(signal) by the same request (fatal.c); SIGKILL loses at most the
 * last flush interval.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

static void ldp_resolve_endings(void);
extern char **environ;

/* ---- start ---- */

/* The writer opens the trace and says why if it cannot. */
static int start_tracing(int forked_child)
{
	return ldp_writer_start(ldp_mono_ns(), forked_child) == 0 ? 0 : -1;
}

/* Sampled mode in a program that runs alone: no writer thread until one is
 * needed (writer.c, "a writer that starts late"). Not when something needs
 * the writer on time (wall-clock looks, snapshots by signal or interval,
 * pause and resume), nor when malloc is not ours (nothing would ask for
 * it), nor in a process that has had a thread already (its cost is paid). */
static int writer_may_wait(const char *foreign, int attached)
{
	return ldp_cfg.mode == LDP_MODE_SAMPLED && ldp_cfg.writer_delay_ms && !attached && !foreign &&
	       !ldp_cfg.wall_hz && !ldp_cfg.snapshot_signal && !ldp_cfg.snapshot_interval_ms &&
	       !ldp_cfg.toggle_signal && !ldp_cfg.control && !ldp_cfg.start_paused && __libc_single_threaded;
}

static void atfork_prepare(void);
static void atfork_parent(void);
static void atfork_child(void);
static int atfork_registered;

/* Under RLIMIT_AS the agent keeps to a share of the headroom (rawmem.h) and
 * sizes its rings to it; with too little it does not start. */
static int fit_budget(void)
{
	uint64_t b = ldp_budget();
	if (b == LDP_BUDGET_NONE)
		return 0;
	if (b < LDP_BUDGET_MIN) {
		ldp_warn("RLIMIT_AS leaves %lu MiB of address space, too little to trace in (the agent takes 1/%u of "
			 "it and needs %lu MiB); not tracing, the program continues",
			 (unsigned long)(ldp_budget_headroom() >> 20), LDP_BUDGET_DIV,
			 (unsigned long)((LDP_BUDGET_MIN * LDP_BUDGET_DIV) >> 20));
		return -1;
	}
	ldp_cfg.ring_bytes = ldp_budget_share(32, 16u << 10, ldp_cfg.ring_bytes);
	return 0;
}

/* The agent did not start: everything it mapped goes back (no walk can be
 * under way: early captures have finished, no ring exists). */
static void give_back(void)
{
	ldp_uw_fast_fini();
	ldp_modules_fini();
}

__attribute__((constructor(101))) static void ldp_init(void)
{
	ldp_resolve_real();
	if (ldp_attach_loaded_late()) {
		/* dlopen'ed into a running process (`ldprof attach`): nothing
		 * reaches our malloc; ldprof_attach() starts us (attach.c). */
		atomic_store(&ldp_heap_on, 0);
		return;
	}
	ldp_start(0);
}

int ldp_start(int attached)
{
	int expected = LDP_STATE_UNINIT;
	if (!atomic_compare_exchange_strong(&ldp_state, &expected, LDP_STATE_STARTING))
		return -1;
	ldp_self.busy++;
	ldp_log_init();
	ldp_pid = getpid();
	ldp_self.tid = ldp_gettid();
	int ok = 0;
	if (getauxval(AT_SECURE)) {
		/* setuid/setgid: the environment must not choose where we write. */
		ldp_warn("privileged (setuid/setgid) program: not traced");
		goto out;
	}
	ldp_config_load(&ldp_cfg);
	if (!attached) /* an attached agent's settings are not in environ, nor is it preloaded */
		ldp_env_hide(); /* read: now out of the program's sight, back in its children's (env.c) */
	if (attached) {
		/* Not preloaded: neither pthread_create nor the signal functions
		 * are ours, so no CPU or wall-clock timers (docs/ATTACH.md). */
		ldp_cfg.attached = 1;
		ldp_cfg.cpu_hz = ldp_cfg.wall_hz = 0;
	}
	if (fit_budget() != 0)
		goto out;
	if (ldp_cfg.mode == LDP_MODE_SAMPLED && ldp_sh_init() != 0) {
		ldp_warn("no address space for sampled mode's heap (RLIMIT_AS?); recording every event (full mode)");
		ldp_cfg.mode = LDP_MODE_FULL;
	}
	const char *foreign = attached ? NULL : ldp_foreign_malloc();
	if (foreign && ldp_cfg.mode != LDP_MODE_OFF)
		ldp_warn("malloc is provided by %s, not libc: heap events cannot be seen", foreign);
	ldp_allocapi_init(foreign); /* which allocator serves the program (the header says it) */
	if (ldp_thread_init() || ldp_modules_init() || ldp_unwind_init()) {
		ldp_warn("cannot set up (out of memory?); tracing is off, the program continues");
		goto out;
	}
	if (writer_may_wait(foreign, attached) ? ldp_writer_defer(ldp_mono_ns()) : start_tracing(0))
		goto out;
	ldp_resolve_endings();
	ldp_resolve_raw_calls(); /* _Fork, syscall, the signal functions: called from handlers, never dlsym there */
	ldp_snapshot_init();
	ok = 1; /* sampling starts once the state is READY (it may attach the main thread) */
	atfork_registered = pthread_atfork(atfork_prepare, atfork_parent, atfork_child) == 0;
out:
	atomic_store(&ldp_state, ok ? LDP_STATE_READY : LDP_STATE_OFF);
	/* Sampled mode starts with the allocations after this point: blocks
	 * made before are not in the sample heap and were never counted. */
	ldp_heap_sampled = ok && ldp_cfg.mode == LDP_MODE_SAMPLED;
	ldp_live_on = ok && ldp_cfg.mode == LDP_MODE_FULL && ldp_cfg.site_events;
	atomic_store(&ldp_heap_on, ok ? ldp_control_heap_flags() : 0);
	/* What other constructors (and ld.so) allocated before us; not in
	 * sampled mode, where those blocks were never sampled. */
	ldp_early_replay(ok && ldp_cfg.mode == LDP_MODE_FULL && !attached);
	if (!ok)
		give_back();
	if (ok && ldp_sample_init() != 0)
		ldp_warn("CPU sampling could not be set up; heap tracing goes on");
	if (ok && !attached)
		ldp_fatal_init(); /* after sampling: its signal is not one of these */
	if (ok)
		ldp_control_start(); /* start paused, toggle signal, control socket */
	ldp_self.busy--;
	return ok ? 0 : -1;
}

/* ---- fork ---- */

/* The child needs a consistent module table, stack table and sample heap;
 * the writer's state it starts afresh (ldp_writer_postfork_child), so a
 * round in progress, however long, never delays a fork. */
static void atfork_prepare(void)
{
	ldp_self.busy++;
	ldp_modules_lock(); /* lock ranks: modules, stacks (agent.h) */
	ldp_stacks_lock();
	ldp_sh_prefork();
	ldp_live_prefork(&ldp_self); /* last: an allocation under a lock above takes a shard lock */
	/* snapshot_lock is only held for a few stores and never across a call:
	 * the child re-initialises it instead of taking it here. */
}

static void atfork_parent(void)
{
	ldp_live_postfork_parent();
	ldp_sh_postfork();
	ldp_stacks_unlock();
	ldp_modules_unlock();
	ldp_self.busy--;
}

static void atfork_child(void)
{
	ldp_sh_postfork();
	atomic_store(&ldp_sh_lost, 0); /* the parent's trace counted those */
	ldp_stacks_after_fork_child();
	ldp_modules_after_fork_child();
	ldp_writer_postfork_child();
	ldp_nested_after_fork_child();
	ldp_rings_after_fork_child();
	ldp_samples_after_fork_child();
	ldp_snapshot_after_fork_child();
	ldp_mapped_after_fork_child();
	ldp_thread_after_fork_child();
	ldp_live_after_fork_child();
	ldp_seq_reset();
	ldp_pid = getpid();
	/* The child writes its own file, opened on its first event: a child that
	 * only execs or exits leaves no empty trace behind. */
	if (atomic_load(&ldp_state) == LDP_STATE_READY)
		atomic_store(&ldp_restart_pending, 1);
	ldp_self.busy--;
}

int ldp_child_restart(void)
{
	static pthread_mutex_t restart_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&restart_lock);
	int err = 0;
	if (atomic_load(&ldp_restart_pending)) {
		err = start_tracing(1);
		if (err) {
			atomic_store(&ldp_heap_on, 0);
			atomic_store(&ldp_state, LDP_STATE_OFF);
		}
		atomic_store(&ldp_restart_pending, 0);
	}
	pthread_mutex_unlock(&restart_lock);
	return err;
}

/* ---- endings ---- */

/* Only the process that owns the agent state may write: not a vfork child,
 * not a thread already inside the agent, not a fork child that never traced. */
static int may_flush(void)
{
	return atomic_load(&ldp_state) == LDP_STATE_READY && !ldp_self.busy &&
	       !atomic_load(&ldp_restart_pending) && getpid() == ldp_pid;
}

static void final_flush(int reason, unsigned timeout_ms)
{
	if (!may_flush())
		return;
	ldp_self.busy++;
	int late = ldp_writer_flush(reason, timeout_ms) != 0;
	atomic_store(&ldp_heap_on, 0);
	atomic_store(&ldp_state, LDP_STATE_OFF);
	if (late) /* the program does not wait longer for its tracer: the trace ends early, said */
		ldp_warn("the trace's last round was not written within %u ms (a busy machine?); it ends before the program did",
			 timeout_ms);
	ldp_self.busy--;
}

__attribute__((destructor)) static void ldp_fini(void)
{
	if (may_flush() && (ldp_cfg.verbose || ldp_cfg.unwind == LDP_UNWIND_CHECK))
		ldp_unwind_report();
	if (may_flush() && ldp_cfg.verbose) {
		uint64_t b = ldp_budget();
		if (b == LDP_BUDGET_NONE)
			ldp_warn("address space taken: %lu KiB (no RLIMIT_AS)", (unsigned long)(ldp_budget_used() >> 10));
		else
			ldp_warn("address space taken: %lu KiB of a %lu KiB budget (RLIMIT_AS)",
				 (unsigned long)(ldp_budget_used() >> 10), (unsigned long)(b >> 10));
	}
	final_flush(LDP_END_EXIT, 2000);
	ldp_control_fini();
}

/* The functions we wrap, resolved once at start: a later call (a vfork
 * child's _exit, abort in a signal handler) touches neither loader nor malloc. */
#define AS_ENUM(family, f, kind, ret, params) FN_##f,
#define AS_NAME(family, f, kind, ret, params) #f,
enum { LDP_EP_ENDINGS(AS_ENUM) FN_COUNT };
static const char *const fn_names[] = {LDP_EP_ENDINGS(AS_NAME)};
static void *_Atomic fns[FN_COUNT];

static void *next_fn(int which)
{
	void *f = atomic_load_explicit(&fns[which], memory_order_relaxed);
	if (!f) {
		ldp_self.busy++;
		f = dlsym(RTLD_NEXT, fn_names[which]);
		ldp_self.busy--;
		atomic_store_explicit(&fns[which], f, memory_order_relaxed);
	}
	return f;
}

LDP_EXPORT void _exit(int status)
{
	final_flush(LDP_END_UNDERSCORE_EXIT, 1000);
	void (*real)(int) = next_fn(FN__exit);
	if (real)
		real(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

LDP_EXPORT void _Exit(int status)
{
	final_flush(LDP_END_UNDERSCORE_EXIT, 1000);
	void (*real)(int) = next_fn(FN__Exit);
	if (real)
		real(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

LDP_EXPORT void quick_exit(int status)
{
	final_flush(LDP_END_UNDERSCORE_EXIT, 1000);
	void (*real)(int) = next_fn(FN_quick_exit);
	if (real)
		real(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

LDP_EXPORT void abort(void)
{
	/* abort may run in a signal handler, even one that interrupted this
	 * thread's own exec hold (the request is taken over): the writer
	 * depends on no program thread, so waiting for it is safe; the wait is
	 * bounded. */
	final_flush(LDP_END_ABORT, 1000);
	void (*real)(void) = next_fn(FN_abort);
	if (real)
		real();
	__builtin_trap();
}

/* ---- exec ---- */

static int exec_prepare(void)
{
	if (!may_flush())
		return 0;
	ldp_self.busy++;
	int held = ldp_writer_flush_and_hold() == 0;
	ldp_self.busy--;
	return held;
}

static void exec_failed(int held)
{
	int saved = errno;
	if (held)
		ldp_writer_release();
	errno = saved;
}

/* The exec forms: the writer flushed and held across the real call, and the
 * agent's variables back in the new image's environment (env.c): the forms
 * without an environment pass the program's environ, restored, to the form
 * with one (glibc's execv and execvp would use environ as the program sees it). */
#define EXEC_WRAPPER(name, params, real_name, types, pre_env, env, post_env)                                   \
	LDP_EXPORT int name params                                                                             \
	{                                                                                                      \
		int (*real) types = next_fn(FN_##real_name);                                                   \
		if (!real) {                                                                                   \
			errno = ENOSYS;                                                                        \
			return -1;                                                                             \
		}                                                                                              \
		char *small[256];                                                                              \
		char **child_env = ldp_env_for_child(env, small, 256);                                         \
		int held = exec_prepare();                                                                     \
		int r = real(pre_env child_env post_env);                                                      \
		exec_failed(held);                                                                             \
		int saved_ = errno;                                                                            \
		ldp_env_child_done(child_env, small, env);                                                     \
		errno = saved_;                                                                                \
		return r;                                                                                      \
	}

#define COMMA ,
EXEC_WRAPPER(execve, (const char *path, char *const argv[], char *const envp[]), execve,
	     (const char *, char *const[], char *const[]), path COMMA argv COMMA, envp, )
EXEC_WRAPPER(execv, (const char *path, char *const argv[]), execve, (const char *, char *const[], char *const[]),
	     path COMMA argv COMMA, environ, )
EXEC_WRAPPER(execvp, (const char *file, char *const argv[]), execvpe, (const char *, char *const[], char *const[]),
	     file COMMA argv COMMA, environ, )
EXEC_WRAPPER(execvpe, (const char *file, char *const argv[], char *const envp[]), execvpe,
	     (const char *, char *const[], char *const[]), file COMMA argv COMMA, envp, )
EXEC_WRAPPER(fexecve, (int fd, char *const argv[], char *const envp[]), fexecve, (int, char *const[], char *const[]),
	     fd COMMA argv COMMA, envp, )
EXEC_WRAPPER(execveat, (int dirfd, const char *path, char *const argv[], char *const envp[], int flags), execveat,
	     (int, const char *, char *const[], char *const[], int), dirfd COMMA path COMMA argv COMMA, envp,
	     COMMA flags)

/* The variadic forms collect their arguments and call the array forms above. */
#define COLLECT_ARGS(first, ap, argv)                                                                          \
	size_t argc = 1;                                                                                       \
	va_start(ap, first);                                                                                   \
	while (va_arg(ap, char *))                                                                             \
		argc++;                                                                                        \
	va_end(ap);                                                                                            \
	char **argv = __builtin_alloca((argc + 1) * sizeof(char *));                                          \
	argv[0] = (char *)(first);                                                                             \
	va_start(ap, first);                                                                                   \
	for (size_t i = 1; i <= argc; i++)                                                                     \
		argv[i] = va_arg(ap, char *);

LDP_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv)
	va_end(ap);
	return execv(path, argv);
}

LDP_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv)
	va_end(ap);
	return execvp(file, argv);
}

LDP_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv)
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/* Called once at start so that the first use never has to resolve. */
static void ldp_resolve_endings(void)
{
	for (int i = 0; i < FN_COUNT; i++)
		(void)next_fn(i);
}

/* ---- forks no atfork handler hears about (forks.c) ---- */

/* _Fork and raw fork system calls run the handlers fork() would have run.
 * Not from a signal handler that interrupted the agent on this thread: the
 * locks may be this thread's own. @return 1 if prepared. */
int ldp_fork_prepare(void)
{
	if (!atfork_registered || ldp_self.busy)
		return 0;
	atfork_prepare();
	return 1;
}

void ldp_fork_parent(int prepared)
{
	if (prepared)
		atfork_parent();
}

void ldp_fork_child(int prepared)
{
	if (prepared) {
		atfork_child();
		return;
	}
	if (!atfork_registered || atomic_load(&ldp_state) != LDP_STATE_READY)
		return;
	/* Forked in the middle of the agent's own work: its state may be half
	 * changed, so this child does not trace, and has no writer (its copy of
	 * the parent's writer state says "alive": nothing may wait for it). */
	atomic_store(&ldp_heap_on, 0);
	atomic_store(&ldp_state, LDP_STATE_OFF);
	ldp_writer_postfork_child();
	ldp_warn("process %d was forked from a signal handler inside the agent; it runs untraced", (int)getpid());
}
