/*
 * cli.c - see cli.h.
 */
#include "cli.h"

#include "model/group.h"

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

const char *fmt_bytes(char *buf, uint64_t v)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)v;
	int u = 0;
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, 32, "%.*f %s", d < 10 ? 2 : d < 100 ? 1 : 0, d, units[u]);
	return buf;
}

const char *fmt_count(char *buf, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	int o = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

void load_or_die(struct loaded *t, const char *path, struct symbolizer *sym, int code)
{
	struct rd_error err;
	if (loaded_load(t, path, sym, &err))
		die(code, "%s", err.msg);
	/* A process still running has not finished its last frame: not a sign of a kill. */
	int running = t->m.nsegs && t->m.segs[t->m.nsegs - 1].end.running;
	if (t->m.stats.truncated && !running)
		warnx1("%s ends inside a frame at byte %llu (the process was killed?); using everything before it", path,
		       (unsigned long long)t->m.stats.truncated_at);
	const struct rd_stats *st = &t->m.stats;
	if (st->damaged) {
		char more[96] = "";
		if (st->damaged > 1)
			snprintf(more, sizeof more, " (and %llu more damaged places)", (unsigned long long)st->damaged - 1);
		char dropped[160] = "";
		if (st->dropped_events)
			snprintf(dropped, sizeof dropped, "; %llu events of threads whose state was lost there dropped",
				 (unsigned long long)st->dropped_events);
		warnx1("%s is damaged: %s%s; %llu bytes skipped from byte %llu on%s; everything else is used", path,
		       st->damage_why, more, (unsigned long long)st->skipped_bytes, (unsigned long long)st->damaged_at,
		       dropped);
	}
	if (t->m.stats.unordered_events)
		warnx1("%s: %llu events were merged out of order (%s); counts of frees, leaks and unknown frees "
		       "may be off by about that many",
		       path, (unsigned long long)t->m.stats.unordered_events, t->m.stats.unordered_why);
}
