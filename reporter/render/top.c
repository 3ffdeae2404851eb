/*
 * top.c - the screen of `ldprof top` (top.h). Lines end with "\n"; the
 * command clears and places them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "render/top.h"
#include "render/units.h"

/* One line, cut to width. */
static void line(struct strbuf *b, unsigned width, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(struct strbuf *b, unsigned width, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (width < sizeof buf)
		buf[width] = '\0';
	sb_printf(b, "%s\n", buf);
}

static const char *where(char *buf, size_t n, const struct live_row *r)
{
	const char *file = r->file ? strrchr(r->file, '/') : NULL;
	file = file ? file + 1 : r->file;
	if (file && r->line)
		snprintf(buf, n, "%s  %s:%u", r->function, file, r->line);
	else
		snprintf(buf, n, "%s", r->function);
	return buf;
}

void render_top(struct strbuf *b, const struct top_header *h, const struct live_view *v, unsigned width,
		unsigned height)
{
	char x[32], y[32], z[32], w[512];
	unsigned used = 0;
	line(b, width, "ldprof top  [%s]  t=%.1f s  (q quits)  pid %llu  %s", h->state, (double)v->now_us / 1e6,
	     (unsigned long long)h->pid, h->cmdline);
	line(b, width, "%s", "");
	line(b, width, "heap live   %s B (%s) in %s blocks", fmt_count(x, v->live_bytes), fmt_bytes(y, v->live_bytes),
	     fmt_count(z, v->live_count));
	char sign = v->growth_bytes < 0 ? '-' : '+';
	uint64_t g = (uint64_t)(v->growth_bytes < 0 ? -v->growth_bytes : v->growth_bytes);
	double span = (double)v->growth_span_us / 1e6;
	line(b, width, "growth      %c%s over the last %.1f s (%c%s/s)", sign, fmt_bytes(x, g), span, sign,
	     fmt_bytes(y, span > 0 ? (uint64_t)((double)g / span) : 0));
	line(b, width, "peak        %s at %.1f s;  %s allocations, %s frees", fmt_bytes(x, v->peak_bytes),
	     (double)v->peak_time_us / 1e6, fmt_count(y, v->allocations), fmt_count(z, v->frees));
	line(b, width, "%s", "");
	used = 6;
	/* The rest of the screen: sites and CPU share it. */
	unsigned rows = height > used + 6 ? (height - used - 6) / 2 : 1;
	line(b, width, "top sites by live bytes");
	for (size_t i = 0; i < v->nsites && i < rows; i++)
		line(b, width, "  %10s  %10s blocks  %s", fmt_bytes(x, v->sites[i].bytes), fmt_count(y, v->sites[i].count),
		     where(w, sizeof w, &v->sites[i]));
	if (!v->nsites)
		line(b, width, "  (nothing live)");
	line(b, width, "%s", "");
	double win = (double)v->cpu_window_us / 1e6;
	line(b, width, "CPU, last %.0f s: %.0f%% of a core", win, win > 0 ? (double)v->cpu_ns / 1e9 / win * 100 : 0.0);
	for (size_t i = 0; i < v->ncpu && i < rows; i++)
		line(b, width, "  %5.1f%%  %s", v->cpu_ns ? 100.0 * (double)v->cpu[i].bytes / (double)v->cpu_ns : 0.0,
		     where(w, sizeof w, &v->cpu[i]));
	if (!v->ncpu)
		line(b, width, "  (no CPU samples)");
}
