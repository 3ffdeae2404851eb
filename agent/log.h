/*
 * log.h - the agent's only way to speak: an allocation-free formatter and
 * one write(2) to stderr per message. Never stdio (it allocates and locks).
 */
#ifndef LDP_LOG_H
#define LDP_LOG_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Format into buf (always NUL-terminated when cap > 0). Supports %s %c %d %i
 * %u %x %p %% with the l, ll and z length modifiers, and a field width for
 * numbers. @return the length written (truncated to cap-1).
 */
size_t ldp_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
size_t ldp_format(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "ldprof: <message>\n" on stderr, one write; nothing when fd 2 is no longer
 * the file it was at ldp_log_init() (closed, or reused by the program). */
void ldp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Remember which file stderr is; called first thing at start. */
void ldp_log_init(void);
/* The calling thread has an fd table of its own (writer.c): its warnings
 * borrow the fd 2 of process pid (this image's) instead of using its own. */
void ldp_log_private_fds(int pid);

#endif
