/*
 * draw.h - small helpers the picture renderers share: XML escaping, colours,
 * values with their unit. Pure functions over a strbuf; no I/O.
 */
#ifndef LDPR_DRAW_H
#define LDPR_DRAW_H

#include <stdint.h>

#include "util/util.h"

/* s with &, <, >, " and ' escaped (control characters dropped). NULL is "". */
void sb_xml(struct strbuf *b, const char *s);
/* The same for element content, where quotes need no escaping (JSON text). */
void sb_xml_text(struct strbuf *b, const char *s);
/* 64-bit FNV-1a of a string; 0 for NULL. Colours are derived from it, so
 * the same name has the same colour in every picture. */
uint64_t draw_hash(const char *s);
/* "rgb(r,g,b)" of an HSL colour (h in degrees, s and l in 0..1); buf: 32 bytes. */
const char *draw_hsl(char *buf, double h, double s, double l);
/* "24.4 MiB" for unit "bytes", "1,234 allocations" otherwise; buf: 48 bytes (at most 47 characters). */
const char *draw_value(char *buf, uint64_t v, const char *unit);
/* The same for a signed difference: "+1.20 MiB", "-3 allocations"; buf: 64 bytes. */
const char *draw_delta(char *buf, int64_t v, const char *unit);
/* A round step for an axis spanning `span` with about `ticks` ticks
 * (1, 2 or 5 times a power of `base`: 10, or 1024 for bytes). */
double draw_step(double span, int ticks, double base);

#endif
