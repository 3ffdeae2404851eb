/*
 * report.h - the heap report (`ldprof report`) as text and as JSON.
 * Renderers only format what the models computed; they never read traces.
 */
#ifndef LDPR_RENDER_REPORT_H
#define LDPR_RENDER_REPORT_H

#include "model/report.h"
#include "render/json.h"
#include "util/util.h"

/* Say what was missed: "note: ..." lines (none when nothing was), and the
 * JSON object "missed" (docs/JSON.md). check uses these too. */
void render_missed_text(struct strbuf *b, const struct report *r);
json_t *render_missed_json(const struct report *r);
void render_report_text(struct strbuf *b, const struct report *r);
void render_report_json(struct strbuf *b, const struct report *r);
/* The report as JSON, for outputs that embed it (export json, the HTML page,
 * report --json --threads). docs/JSON.md. */
json_t *report_json(const struct report *r);
/* Heap totals as the report's JSON has them; the peak's time under time_key. */
json_t *heap_totals_json(const struct heap_totals *t, const char *time_key, uint64_t peak_time);

#endif
