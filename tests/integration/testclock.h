/*
 * testclock.h - what the timed test programs share: the monotonic clock in
 * nanoseconds (each measures its own phases: docs/TESTING.md) and a way out
 * that writes its reason with write(2) only (no stdio, no allocation).
 */
#ifndef TESTCLOCK_H
#define TESTCLOCK_H

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void die(const char *what)
{
	if (write(2, what, strlen(what)) < 0) {
	}
	_exit(4);
}

#endif
