/*
 * prim_linux.c - Linux implementation of prim.h.
 */
#define _GNU_SOURCE
#include "prim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int ldp_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

uint64_t ldp_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ldp_real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *ldp_map(size_t size)
{
	/* A raw system call: our own mmap wrapper (mapped.c) must not see the
	 * agent's memory, nor recurse into itself. */
	void *p = (void *)syscall(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void ldp_unmap(void *p, size_t size)
{
	if (p)
		syscall(SYS_munmap, p, size);
}

int ldp_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void ldp_xfsz_block(struct ldp_xfsz_guard *g)
{
	sigset_t xfsz, pending;
	sigemptyset(&xfsz);
	sigaddset(&xfsz, SIGXFSZ);
	pthread_sigmask(SIG_BLOCK, &xfsz, &g->old);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGXFSZ) == 1;
}

void ldp_xfsz_restore(const struct ldp_xfsz_guard *g)
{
	sigset_t xfsz, pending;
	sigemptyset(&xfsz);
	sigaddset(&xfsz, SIGXFSZ);
	sigpending(&pending);
	if (sigismember(&pending, SIGXFSZ) == 1 && !g->was_pending) {
		struct timespec zero = {0, 0};
		sigtimedwait(&xfsz, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

ssize_t ldp_read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got + 1 < cap) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

char *ldp_env_ours[LDP_ENV_OURS_MAX];
unsigned ldp_env_nours;
/* Attach (attach.c): settings come from a file, not the environment. */
char **ldp_settings_override;

char **ldp_settings(void)
{
	return ldp_settings_override ? ldp_settings_override : environ;
}

const char *ldp_getenv(const char *name)
{
	size_t len = strlen(name);
	for (unsigned i = 0; i < ldp_env_nours; i++)
		if (strncmp(ldp_env_ours[i], name, len) == 0 && ldp_env_ours[i][len] == '=')
			return ldp_env_ours[i] + len + 1;
	char **env = ldp_settings();
	if (!env)
		return NULL;
	for (char **e = env; *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

void ldp_futex_wait(volatile uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / 1000000000u),
		.tv_nsec = (long)(timeout_ns % 1000000000u),
	};
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout_ns ? &ts : NULL, NULL, 0);
}

void ldp_futex_wake(volatile uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1 << 30, NULL, NULL, 0);
}

int ldp_fd_move_high(int fd)
{
	struct rlimit rl;
	if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return fd;
	rlim_t lim = rl.rlim_cur > 1024 ? 1024 : rl.rlim_cur, base = lim - lim / 8;
	if (lim < 64 || (rlim_t)fd >= base)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)base);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}

uint64_t ldp_proc_start_ticks(void)
{
	char buf[1024];
	if (ldp_read_small_file("/proc/self/stat", buf, sizeof buf) <= 0)
		return 0;
	/* comm (field 2) may contain spaces and parentheses: count from the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	int field = 2;
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}
