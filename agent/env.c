/*
 * env.c - the traced program does not see the agent's variables; its
 * children are still traced.
 *
 * At start (after the configuration is read) the agent takes LD_PRELOAD's
 * libldprof entry and every LDPROF_* variable out of environ: the array is
 * compacted in place, as unsetenv does, and the strings themselves are kept
 * (never freed: they are the loader's, on the initial stack, or the
 * parent's). When LD_PRELOAD names other libraries too, the program sees
 * LD_PRELOAD with those alone (a string of ours).
 *
 * They go back into the environment of every program started from here
 * (ldp_env_for_child), by this rule:
 *   - an entry the program passes as it was shown (the same string, or the
 *     same text: python and perl copy their environment) is the agent's
 *     variable as it was at start;
 *   - a variable the program's environment does not have is added back: the
 *     program could not remove what it never saw (so `env -i` children are
 *     traced too);
 *   - a variable the program set itself (setenv("LD_PRELOAD", ...),
 *     LDPROF_MODE=off, an empty LD_PRELOAD) is kept as the program set it:
 *     that is how a program deliberately stops tracing a child.
 * Entry points: execve, execv, execvp, execvpe, fexecve, execveat (entry.c;
 * the execl forms call those), posix_spawn and posix_spawnp (glibc calls its
 * internal exec there, past our execve), system and popen (glibc spawns with
 * its internal posix_spawn and environ: environ is swapped for the restored
 * one while any such call runs, see env_swap_enter).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

extern char **environ;

static char preload_view[4096]; /* "LD_PRELOAD=..." without our entry, when others remain */

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static int is_ours(const char *entry)
{
	return !strncmp(entry, "LDPROF_", 7) || !strncmp(entry, "LD_PRELOAD=", 11);
}

/* The basename of our own file: the LD_PRELOAD entry that is us. */
static const char *self_base(void)
{
	Dl_info info;
	if (!dladdr((void *)self_base, &info) || !info.dli_fname)
		return "libldprof.so";
	const char *b = strrchr(info.dli_fname, '/');
	return b ? b + 1 : info.dli_fname;
}

/* LD_PRELOAD's value without our entry into preload_view. @return 1 if
 * anything is left. */
static int preload_without_us(const char *value)
{
	const char *self = self_base();
	size_t sl = strlen(self), n = ldp_format(preload_view, sizeof preload_view, "LD_PRELOAD=");
	int left = 0;
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ": ");
		const char *base = p + len;
		while (base > p && base[-1] != '/')
			base--;
		int us = (size_t)(p + len - base) == sl && !strncmp(base, self, sl);
		if (len && !us) {
			if (n + len + 2 >= sizeof preload_view)
				return 0; /* too long to rewrite: hidden whole */
			if (left)
				preload_view[n++] = ':';
			memcpy(preload_view + n, p, len);
			n += len;
			left = 1;
		}
		p += len;
		p += *p != '\0';
	}
	preload_view[n] = '\0';
	return left;
}

void ldp_env_hide(void)
{
	char **e = environ;
	if (!e)
		return;
	size_t w = 0;
	for (size_t r = 0; e[r]; r++) {
		if (is_ours(e[r]) && ldp_env_nours < LDP_ENV_OURS_MAX) {
			ldp_env_ours[ldp_env_nours++] = e[r];
			if (!strncmp(e[r], "LD_PRELOAD=", 11) && preload_without_us(e[r] + 11))
				e[w++] = preload_view;
			else if (!strncmp(e[r], "LD_PRELOAD=", 11))
				preload_view[0] = '\0'; /* nothing shown: an LD_PRELOAD in a child's environment is the program's */
			continue;
		}
		e[w++] = e[r];
	}
	e[w] = NULL;
}

size_t ldp_env_child_cap(char *const envp[])
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	return n + ldp_env_nours + 1;
}

/* The hidden variable of this name, or NULL. */
static char *hidden_named(const char *entry, size_t len)
{
	for (unsigned i = 0; i < ldp_env_nours; i++)
		if (name_len(ldp_env_ours[i]) == len && !strncmp(ldp_env_ours[i], entry, len))
			return ldp_env_ours[i];
	return NULL;
}

static char **fill_child_env(char *const envp[], char **out)
{
	size_t n = 0;
	unsigned char present[LDP_ENV_OURS_MAX] = {0};
	for (size_t i = 0; envp && envp[i]; i++) {
		char *entry = envp[i];
		size_t len = name_len(entry);
		char *h = hidden_named(entry, len);
		if (h) {
			unsigned k = 0;
			while (ldp_env_ours[k] != h)
				k++;
			present[k] = 1;
			/* shown to the program as it is: the variable as it was at start */
			if (len == 10 && !strncmp(entry, "LD_PRELOAD", 10) && preload_view[0] &&
			    (entry == preload_view || !strcmp(entry, preload_view)))
				entry = h;
		}
		out[n++] = entry;
	}
	for (unsigned k = 0; k < ldp_env_nours; k++)
		if (!present[k])
			out[n++] = ldp_env_ours[k];
	out[n] = NULL;
	return out;
}

char **ldp_env_for_child(char *const envp[], char **small, size_t small_cap)
{
	size_t cap = ldp_env_child_cap(envp);
	char **out = cap <= small_cap ? small : ldp_raw_alloc(cap * sizeof(char *));
	if (!out)
		return (char **)envp; /* no memory for a bigger one: the environment as it is */
	return fill_child_env(envp, out);
}

void ldp_env_child_done(char **env, char **small, char *const envp[])
{
	if (env != small && env != (char **)envp)
		ldp_raw_free(env);
}

/* ---- posix_spawn, system, popen ---- */

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
			char *const[], char *const[]);

static void *next(const char *name)
{
	ldp_self.busy++;
	void *f = dlsym(RTLD_NEXT, name);
	ldp_self.busy--;
	return f;
}

#define SPAWN_WRAPPER(name)                                                                                    \
	LDP_EXPORT int name(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,               \
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])             \
	{                                                                                                      \
		static spawn_fn real;                                                                          \
		if (!real)                                                                                     \
			real = (spawn_fn)next(#name);                                                          \
		if (!real)                                                                                     \
			return ENOSYS;                                                                         \
		if (!ldp_env_nours)                                                                                  \
			return real(pid, path, fa, attr, argv, envp);                                          \
		char *small[256];                                                                              \
		char **env = ldp_env_for_child(envp, small, 256);                                              \
		int err = real(pid, path, fa, attr, argv, env);                                                \
		ldp_env_child_done(env, small, envp);                                                          \
		return err;                                                                                    \
	}

SPAWN_WRAPPER(posix_spawn)
SPAWN_WRAPPER(posix_spawnp)

/*
 * system and popen spawn with glibc's internal posix_spawn and environ, so
 * environ itself is the restored environment while one of them runs: built
 * by the first such call (the agent's own memory), put back by the last.
 * Meanwhile another thread's getenv can see the agent's variables, and a
 * setenv made meanwhile lands in the restored array: when the last call
 * ends, environ is only put back if the program did not replace it.
 */
static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned swap_users;
static char **swap_saved, **swap_env;
static size_t swap_bytes;
static char **spare; /* the last restored array, reused */
static size_t spare_bytes;

static void env_swap_enter(void)
{
	pthread_mutex_lock(&swap_lock);
	if (swap_users++ == 0 && ldp_env_nours) {
		swap_bytes = ldp_env_child_cap(environ) * sizeof(char *);
		if (spare && spare_bytes >= swap_bytes) {
			swap_env = spare;
			swap_bytes = spare_bytes;
		} else {
			swap_env = ldp_raw_alloc(swap_bytes); /* a smaller spare stays mapped: rare, small */
		}
		spare = NULL;
		if (swap_env) {
			swap_saved = environ;
			environ = fill_child_env(environ, swap_env);
		}
	}
	pthread_mutex_unlock(&swap_lock);
}

static void env_swap_leave(void)
{
	pthread_mutex_lock(&swap_lock);
	if (--swap_users == 0 && swap_env) {
		if (environ == swap_env) {
			environ = swap_saved;
			/* kept for the next call: another thread's getenv may still be reading it */
			spare = swap_env;
			spare_bytes = swap_bytes;
		} /* else: the program replaced environ meanwhile (setenv): the array is theirs now */
		swap_env = NULL;
	}
	pthread_mutex_unlock(&swap_lock);
}

LDP_EXPORT int system(const char *cmd)
{
	static int (*real)(const char *);
	if (!real)
		real = (int (*)(const char *))next("system");
	if (!real)
		return -1;
	if (!cmd || !ldp_env_nours)
		return real(cmd);
	env_swap_enter();
	int r = real(cmd);
	int saved = errno;
	env_swap_leave();
	errno = saved;
	return r;
}

LDP_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	if (!real)
		real = (FILE * (*)(const char *, const char *)) next("popen");
	if (!real)
		return NULL;
	if (!ldp_env_nours)
		return real(cmd, mode);
	env_swap_enter();
	FILE *f = real(cmd, mode);
	int saved = errno;
	env_swap_leave();
	errno = saved;
	return f;
}
