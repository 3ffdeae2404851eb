/*
 * json.h - every JSON output (report, diff, check, snapshots, the exports,
 * the HTML page's data, the timeline's columns) is built with jansson and
 * dumped compact, with these helpers for what jansson leaves to us: u64
 * figures, strings from traces (any bytes), frames, appending to a strbuf.
 * Field names: docs/JSON.md and docs/EXPORT.md; one schema per output in
 * docs/schema/. A number's name ends with its unit (_bytes, _count, _ns,
 * _pct, _hz); a channel's figures are an object with the same names
 * wherever it appears.
 */
#ifndef LDPR_RENDER_JSON_H
#define LDPR_RENDER_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "symbols/symbolizer.h"
#include "util/util.h"

/* The version every JSON output of ldprof carries ("format", "version"):
 * 2 since the one naming convention (docs/JSON.md, "Changes"). */
#define LDPR_JSON_VERSION 2

/* An integer (a real past INT64_MAX, which jansson's integers cannot hold). */
json_t *json_u64(uint64_t v);
/* A number rounded to `decimals` places (percentages). */
json_t *json_fixed(double v, int decimals);
/* A string: bytes that are not UTF-8 become U+FFFD (a trace may hold any
 * bytes in a path or name). NULL gives null. */
json_t *json_text(const char *s);
/* A frame: function, file, line, module (module_offset too when asked), inlined. */
json_t *json_frame(const struct sym_frame *f, int with_offset);
/* Append v compact to b and release it. */
void sb_json(struct strbuf *b, json_t *v);

#endif
