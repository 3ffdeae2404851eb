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
/* A snapshot as `ldprof snapshots --json` lists it (builtin: start, peak,
 * exit, index 0). */
json_t *snapshot_json(const struct tm_snapshot *s, int builtin);
/* Heap totals as every JSON output has them ("heap": docs/JSON.md). */
json_t *heap_totals_json(const struct heap_totals *t, uint64_t peak_time_ns);

#endif
