/*
 * report.h - the heap report (`ldprof report`) as text and as JSON.
 * Renderers only format what the models computed; they never read traces.
 */
#ifndef LDPR_RENDER_REPORT_H
#define LDPR_RENDER_REPORT_H

#include "model/report.h"
#include "render/json.h"
#include "util/util.h"

void render_report_text(struct strbuf *b, const struct report *r);
void render_report_json(struct strbuf *b, const struct report *r);
/* The report as JSON, for outputs that embed it (export json, the HTML page,
 * report --json --threads). docs/JSON.md. */
json_t *report_json(const struct report *r);
/* Heap totals as the report's JSON has them; the peak's time under time_key. */
json_t *heap_totals_json(const struct heap_totals *t, const char *time_key, uint64_t peak_time);

#endif
