/*
 * cli.c - see cli.h.
 */
#include "cli.h"

#include "model/loaded.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_cmd = "";

void die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ldprof%s%s: ", *cli_cmd ? " " : "", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void warnx1(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ldprof%s%s: warning: ", *cli_cmd ? " " : "", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || !*s)
		return -1;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{"", 1},          {"B", 1},          {"K", 1024},         {"KiB", 1024},        {"kB", 1e3},
		{"KB", 1024},     {"M", 1048576},    {"MiB", 1048576},    {"MB", 1e6},          {"G", 1073741824.0},
		{"GiB", 1073741824.0}, {"GB", 1e9},  {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12},
	};
	for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
		if (!strcmp(end, units[i].unit)) {
			double r = v * units[i].mult;
			if (r >= 18446744073709551615.0)
				return -1;
			*out = (uint64_t)(r + 0.5);
			return 0;
		}
	}
	return -1;
}

void load_or_die(struct loaded *t, const char *path, struct symbolizer *sym, int code)
{
	struct rd_error err;
	if (loaded_load(t, path, sym, &err))
		die(code, "%s", err.msg);
	if (t->m.stats.truncated)
		warnx1("%s ends inside a frame at byte %llu (the process was killed?); using everything before it", path,
		       (unsigned long long)t->m.stats.truncated_at);
}
