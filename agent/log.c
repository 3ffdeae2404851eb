/*
 * log.c - allocation-free formatting and warnings (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compiler.h"
#include "prim.h"

struct out {
	char *buf;
	size_t cap, len;
};

static void put_char(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void put_str(struct out *o, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_char(o, *s++);
}

static void put_num(struct out *o, uint64_t v, int neg, unsigned base, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int pad = width - n; pad > 0; pad--)
		put_char(o, ' ');
	while (n)
		put_char(o, tmp[--n]);
}

size_t ldp_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = {buf, cap, 0};
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put_char(&o, *f);
			continue;
		}
		f++;
		int width = 0;
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		int longs = 0;
		for (; *f == 'l' || *f == 'z'; f++)
			longs = 2;
		switch (*f) {
		case 's':
			put_str(&o, va_arg(ap, const char *));
			break;
		case 'c':
			put_char(&o, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i': {
			int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			put_num(&o, v < 0 ? (uint64_t)-v : (uint64_t)v, v < 0, 10, width);
			break;
		}
		case 'u':
			put_num(&o, longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 0, 10, width);
			break;
		case 'x':
			put_num(&o, longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 0, 16, width);
			break;
		case 'p':
			put_str(&o, "0x");
			put_num(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0);
			break;
		case '%':
			put_char(&o, '%');
			break;
		case '\0':
			f--;
			break;
		default:
			put_char(&o, '%');
			put_char(&o, *f);
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len < cap ? o.len : (cap ? cap - 1 : 0);
}

size_t ldp_format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = ldp_vformat(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* The stderr this image started with. A daemon closes fd 2 and opens a file
 * of its own there: our complaints must never land in that file. */
static int err_state; /* 0 not recorded (warn anyway), 1 recorded, -1 closed at start */
static dev_t err_dev;
static ino_t err_ino;

void ldp_log_init(void)
{
	struct stat st;
	if (fstat(STDERR_FILENO, &st) == 0) {
		err_dev = st.st_dev;
		err_ino = st.st_ino;
		err_state = 1;
	} else {
		err_state = -1;
	}
}

static int stderr_is_ours_at(int fd)
{
	struct stat st;
	if (!err_state)
		return 1;
	return err_state > 0 && fstat(fd, &st) == 0 && st.st_dev == err_dev && st.st_ino == err_ino;
}

/* A thread with an fd table of its own (the writer) has no fd 2: it borrows
 * the program's current one for a message (pidfd_getfd; /proc/PID/fd/2 on
 * kernels before 5.6, which cannot reopen a socket). */
static LDP_TLS int private_fds;
static LDP_TLS int private_pid; /* the process whose fd 2 is borrowed */

void ldp_log_private_fds(int pid)
{
	private_fds = 1;
	private_pid = pid;
}

static int borrow_stderr(void)
{
	int fd = -1;
	int pfd = (int)syscall(SYS_pidfd_open, private_pid, 0u);
	if (pfd >= 0) {
		fd = (int)syscall(SYS_pidfd_getfd, pfd, STDERR_FILENO, 0u);
		close(pfd);
	}
	if (fd < 0) {
		char path[64];
		ldp_format(path, sizeof path, "/proc/%d/fd/2", private_pid);
		fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	}
	return fd;
}

void ldp_warn(const char *fmt, ...)
{
	char buf[512];
	int saved = errno;
	int fd = private_fds ? borrow_stderr() : STDERR_FILENO;
	if (fd < 0 || !stderr_is_ours_at(fd)) {
		if (private_fds && fd >= 0)
			close(fd);
		errno = saved;
		return;
	}
	size_t n = ldp_format(buf, sizeof buf, "%s", "ldprof: ");
	va_list ap;
	va_start(ap, fmt);
	n += ldp_vformat(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	/* stderr may be a file at its RLIMIT_FSIZE: the message must not kill. */
	struct ldp_xfsz_guard g;
	ldp_xfsz_block(&g);
	ssize_t w = write(fd, buf, n);
	(void)w;
	ldp_xfsz_restore(&g);
	if (private_fds)
		close(fd);
	errno = saved;
}
