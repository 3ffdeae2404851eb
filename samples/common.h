/*
 * samples/common.h - the few helpers the sample programs share: a monotonic
 * clock, strict option parsing, byte sizes for humans. Header-only (static
 * inline) so each sample stays one file plus this.
 */
#ifndef LDPROF_SAMPLES_COMMON_H
#define LDPROF_SAMPLES_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Nanoseconds on the monotonic clock (never jumps with the wall clock). */
static inline int64_t sample_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Parse option OPT's decimal value S into *OUT, which must lie in [MIN, MAX].
 * @return 0, or -1 after saying on stderr what was wrong (trailing junk, out
 * of range, empty).
 */
static inline int sample_parse_long(const char *prog, const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE || v < min || v > max) {
		fprintf(stderr, "%s: %s: '%s' is not a whole number from %ld to %ld\n", prog, opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* "12.3 MiB": BYTES in binary units, into BUF. @return BUF. */
static inline const char *sample_bytes(double bytes, char *buf, size_t size)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;
	while (bytes >= 1024 && u + 1 < sizeof unit / sizeof *unit) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
	return buf;
}

#endif
