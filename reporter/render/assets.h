/*
 * assets.h - the scripts and styles the pictures and the HTML report carry,
 * kept as files of their own in render/assets/ (readable, lintable, testable
 * alone) and embedded at build time: the Makefile turns each file NAME.EXT
 * into a NUL-terminated array asset_NAME_EXT in the generated assets.c.
 *
 *   flame.js, flame.css        the flame graph's layout (width, zoom, inverted), search and details (flame_svg.c)
 *   timeline.js, timeline.css  the timeline's hover readout (timeline_svg.c)
 *   report.js, report.css      the HTML report's tables (sortable), tabs, snapshot differences and timeline
 *                              ranges, built from its JSON (html.c)
 *   errors.js                  first in the HTML page: records script errors on <html data-errors>
 */
#ifndef LDPR_ASSETS_H
#define LDPR_ASSETS_H

extern const char asset_flame_js[], asset_flame_css[];
extern const char asset_timeline_js[], asset_timeline_css[];
extern const char asset_report_js[], asset_report_css[];
extern const char asset_errors_js[];

#endif
