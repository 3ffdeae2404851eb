/*
 * units.c - see units.h.
 */
#include "units.h"

#include <string.h>

#include "symbols/demangle.h"

#include <stdio.h>

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

int fmt_full_names;

const char *fmt_name(char *buf, size_t cap, const char *name)
{
	if (fmt_full_names || !name || !strchr(name, '<'))
		return name;
	return demangle_short(name, buf, cap);
}
