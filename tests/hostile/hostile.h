/*
 * hostile.h - helpers shared by the hostile programs (tests/hostile/h_ files).
 *
 * Every program checks its own behaviour: it prints what it did (the same
 * bytes bare and under the agent) and exits 0 or with the status its
 * scenario calls for. A failed self-check prints "check failed ..." on
 * stderr and exits 99, bare or traced alike, so the runner (run.sh) can
 * tell "the program is wrong" from "the agent changed the program".
 *
 * Built with -fno-builtin: the compiler must not elide malloc/free pairs.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_FAILED 99

static void check_failed(const char *file, int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
static void check_failed(const char *file, int line, const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "check failed %s:%d: ", file, line);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	ssize_t w = write(2, buf, (size_t)n);
	(void)w;
	_exit(CHECK_FAILED);
}

#define CHECK(cond, ...)                                                                                      \
	do {                                                                                                  \
		if (!(cond))                                                                                  \
			check_failed(__FILE__, __LINE__, __VA_ARGS__);                                        \
	} while (0)

/* A block filled with a pattern derived from its owner and number. */
static inline void *pattern_alloc(size_t n, unsigned owner, unsigned serial)
{
	unsigned char *p = malloc(n);
	CHECK(p, "malloc(%zu) failed", n);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(owner * 31 + serial * 7 + i);
	return p;
}

static inline int pattern_ok(const void *q, size_t n, unsigned owner, unsigned serial)
{
	const unsigned char *p = q;
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(owner * 31 + serial * 7 + i))
			return 0;
	return 1;
}

/* Output through write(2) only: stdio would allocate behind the program's back. */
static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 1)
		n = (int)sizeof buf - 1;
	for (int off = 0; off < n;) {
		ssize_t w = write(1, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (int)w;
	}
}

#endif
