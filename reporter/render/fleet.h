/*
 * fleet.h - what `ldprof fleet` adds to the report and diff renderers: which
 * traces were asked about (a header in text, a "fleet" member in JSON;
 * docs/JSON.md), around the very tables `ldprof report` and `ldprof diff`
 * print. It draws model data (model/fleet.h) that the command got from the
 * store; nothing here asks the store.
 */
#ifndef LDPR_RENDER_FLEET_H
#define LDPR_RENDER_FLEET_H

#include "model/fleet.h"
#include "render/diff.h"
#include "render/report.h"

struct fleet_view {
	const char *store;                /* printable: no user, no password */
	const struct fleet_filter *filter;
	const struct fleet_totals *tot;   /* report */
};

/* " service=api host=web-* version=1.4 since 2024-05-01 00:00:00" (nothing without filters). */
void render_fleet_filter(struct strbuf *b, const struct fleet_filter *f);

/* A report (fleet_report_fill) under the fleet's header. */
void render_fleet_report_text(struct strbuf *b, const struct report *r, const struct fleet_view *v);
void render_fleet_report_json(struct strbuf *b, const struct report *r, const struct fleet_view *v);

struct fleet_diff_sides {
	const char *label[2];   /* "version=1.3", "version=1.4" */
	uint64_t traces[2];
	const char *figure;     /* "inuse", ..., "snapshot" */
	const char *snapshot;   /* --at, or NULL */
	int mean;               /* means per trace, not sums */
};
void render_fleet_diff_text(struct strbuf *b, const struct diff_view *dv, const struct fleet_view *v,
			    const struct fleet_diff_sides *s);
void render_fleet_diff_json(struct strbuf *b, const struct diff_view *dv, const struct fleet_view *v,
			    const struct fleet_diff_sides *s);

#endif
