/*
 * units.h - numbers as people read them: sizes in binary units, counts with
 * thousands separators. Every text output formats its figures with these.
 */
#ifndef LDPR_UNITS_H
#define LDPR_UNITS_H

#include <stdint.h>

/* "12.5 MiB" style; buf must hold 32 bytes. */
const char *fmt_bytes(char *buf, uint64_t v);
/* "1,234,567"; buf must hold 32 bytes. */
const char *fmt_count(char *buf, uint64_t v);

#endif
