/*
 * draw.c - see draw.h.
 */
#include "draw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render/units.h"

void sb_xml(struct strbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sb_printf(b, "&amp;"); break;
		case '<': sb_printf(b, "&lt;"); break;
		case '>': sb_printf(b, "&gt;"); break;
		case '"': sb_printf(b, "&quot;"); break;
		case '\'': sb_printf(b, "&#39;"); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				sb_putc(b, *s);
		}
	}
}

void sb_xml_text(struct strbuf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '&')
			sb_printf(b, "&amp;");
		else if (*s == '<')
			sb_printf(b, "&lt;");
		else if (*s == '>')
			sb_printf(b, "&gt;");
		else if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
			sb_putc(b, *s);
	}
}

uint64_t draw_hash(const char *s)
{
	if (!s)
		return 0;
	uint64_t h = hash_str(s);
	return h ^ (h >> 29);
}

const char *draw_hsl(char *buf, double h, double s, double l)
{
	double c = (1 - fabs(2 * l - 1)) * s, hp = fmod(h, 360) / 60, x = c * (1 - fabs(fmod(hp, 2) - 1));
	double r = 0, g = 0, bl = 0;
	if (hp < 1) r = c, g = x;
	else if (hp < 2) r = x, g = c;
	else if (hp < 3) g = c, bl = x;
	else if (hp < 4) g = x, bl = c;
	else if (hp < 5) r = x, bl = c;
	else r = c, bl = x;
	double m = l - c / 2;
	snprintf(buf, 32, "rgb(%d,%d,%d)", (int)lround((r + m) * 255), (int)lround((g + m) * 255),
		 (int)lround((bl + m) * 255));
	return buf;
}

const char *draw_value(char *buf, uint64_t v, const char *unit)
{
	char x[32];
	if (!strcmp(unit, "bytes"))
		snprintf(buf, 48, "%s", fmt_bytes(x, v));
	else if (!strcmp(unit, "nanoseconds"))
		snprintf(buf, 48, "%.3f s", (double)v / 1e9);
	else
		snprintf(buf, 48, "%s %s", fmt_count(x, v), v == 1 && !strcmp(unit, "allocations") ? "allocation" : unit);
	return buf;
}

const char *draw_delta(char *buf, int64_t v, const char *unit)
{
	buf[0] = v < 0 ? '-' : '+';
	draw_value(buf + (v != 0), v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, unit);
	return buf;
}

double draw_step(double span, int ticks, double base)
{
	if (span <= 0)
		return 1;
	double raw = span / ticks, p = 1;
	while (p * base <= raw)
		p *= base;
	while (p > raw && p > 1e-9)
		p /= base == 1024 ? 2 : 10;
	static const double m[] = {1, 2, 5, 10};
	for (int i = 0; i < 4; i++)
		if (p * m[i] >= raw)
			return p * m[i];
	return p * 10;
}
