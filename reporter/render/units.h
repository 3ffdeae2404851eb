/*
 * units.h - numbers and names as people read them: sizes in binary units,
 * counts with thousands separators, C++ names with their template arguments
 * shortened. Every text output formats its figures and names with these;
 * exports keep names whole.
 */
#ifndef LDPR_UNITS_H
#define LDPR_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "12.5 MiB" style; buf must hold 32 bytes. */
const char *fmt_bytes(char *buf, uint64_t v);
/* "1,234,567"; buf must hold 32 bytes. */
const char *fmt_count(char *buf, uint64_t v);

/* A function name (or a key made of them) for a text view: template
 * arguments shortened to "<...>" unless fmt_full_names is set (--full-names).
 * @return name itself, or buf (cap bytes) holding the short form. */
extern int fmt_full_names;
#define FMT_NAME_MAX 1024
const char *fmt_name(char *buf, size_t cap, const char *name);

#endif
