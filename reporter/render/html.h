/*
 * html.h - `ldprof report --html`: one self-contained HTML file (no network
 * resource, works offline): the summary, the live-heap timeline, a flame
 * graph for every heap "what" with data, the top tables (sortable), the
 * leaks with their whole stacks, the snapshot differences (two lists or a
 * range of the timeline), and CPU and wall-clock sections when sampled.
 * Pictures are inline SVG (render/flame_svg.c, render/timeline_svg.c);
 * tables are built by a small script from the same JSON that `ldprof
 * report --json` prints, embedded in the page.
 */
#ifndef LDPR_HTML_H
#define LDPR_HTML_H

#include "render/report.h"

/* r: as for render_report_json (totals summed, groups added). */
void render_report_html(struct strbuf *b, const struct report *r, struct symbolizer *sym);

/* The page's activity data as JSON text (html_activity.c): every group's
 * figures by thread and time bucket, from traces loaded with TM_ACTIVITY. */
void html_activity_json(struct strbuf *b, const struct report *r, struct symbolizer *sym);

#endif
