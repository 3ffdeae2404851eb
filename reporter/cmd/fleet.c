/*
 * fleet.c - `ldprof fleet report|flame|diff|schema`: questions to the fleet
 * store (store/query.c sums in ClickHouse), answers drawn by the renderers
 * `ldprof report`, `flame` and `diff` use (render/report.c, flame_svg.c,
 * diff.c).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "model/fleet.h"
#include "out.h"
#include "render/flame_svg.h"
#include "render/fleet.h"
#include "render/units.h"
#include "store/query.h"
#include "store/schema.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ldprof fleet report --from clickhouse://HOST[:PORT]/DB [FILTERS] [OPTIONS]\n"
		"       ldprof fleet flame  --from ... [FILTERS] [--what W] [-o FILE.svg]\n"
		"       ldprof fleet diff   --from ... --base K=V --to K=V [FILTERS] [OPTIONS]\n"
		"       ldprof fleet schema                 the store's tables (SQL)\n"
		"\n"
		"Questions over every trace 'ldprof push' put in the store (docs/FLEET.md),\n"
		"answered by ClickHouse. A trace pushed several times counts once.\n"
		"\n"
		"filters (all must hold):\n"
		"  --service NAME    traces of this service\n"
		"  --host GLOB       from hosts matching GLOB (web-*, db-0[1-3])\n"
		"  --label K=V       with this label; repeatable\n"
		"  --since T, --until T   started from / until T: 2024-05-01, '2024-05-01 12:00',\n"
		"                    @UNIX_SECONDS, or an age: 30m, 12h, 7d, 2w (local time)\n"
		"options:\n"
		"  --user NAME       ClickHouse user (password: CLICKHOUSE_PASSWORD or the URL)\n"
		"  --what W          report: only this figure's table; flame: the weights (default alloc);\n"
		"                    diff: the figure compared (default inuse). W: alloc, inuse,\n"
		"                    leaked, temporary, cpu, wall (diff: alloc, inuse, leaked)\n"
		"  --by KEY          function (default), line, file, module or traceback\n"
		"  --top N           rows per table (report: 10, diff: 20; 0: all in diff)\n"
		"  --json            one JSON object (report, diff)\n");
	cli_common_usage(f, CLI_OUTPUT);
	fprintf(f,
		"flame:\n"
		"  --colors C, --title T, --width N   as in ldprof flame\n"
		"diff:\n"
		"  --base K=V        the traces to compare against (e.g. version=1.3)\n"
		"  --to K=V          the traces compared (e.g. version=1.4)\n"
		"  --at LABEL        live bytes at the snapshot LABEL (ldprof_snapshot) instead of --what\n"
		"  --sum             compare sums; the default compares means per trace, so that\n"
		"                    sides with different numbers of traces compare fairly\n"
		"  --cumulative      count every frame of the stack, not only the site\n"
		"  --flame           a differential flame graph (SVG) instead of the list\n");
}

/* --since/--until: @SECONDS, an age (30m, 12h, 7d, 2w), or a local date and time. */
static int parse_time(const char *s, int64_t *out)
{
	char *end;
	if (*s == '@') {
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end)
			return -1;
		*out = v;
		return 0;
	}
	if (*s >= '0' && *s <= '9') {
		unsigned long long v = strtoull(s, &end, 10);
		static const struct {
			char unit;
			long long mult;
		} ages[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
		for (size_t i = 0; end != s && i < sizeof ages / sizeof *ages; i++)
			if (end[0] == ages[i].unit && !end[1] && v < (1ull << 40)) {
				*out = (int64_t)time(NULL) - (int64_t)v * ages[i].mult;
				return 0;
			}
	}
	static const char *const formats[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
					      "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
	for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		const char *e = strptime(s, formats[i], &tm);
		if (e && !*e) {
			tm.tm_isdst = -1;
			*out = (int64_t)mktime(&tm);
			return 0;
		}
	}
	return -1;
}

struct fleet_args {
	const char *from, *user, *base, *to, *at;
	char *at_owned;
	struct fleet_filter f;
	const char **labels;
	size_t labels_cap;
	int what; /* enum ws_what, or -1 */
	enum group_by by;
	unsigned top;
	int top_given, json, sum, cumulative, flame;
	struct flame_opts fo;
};

static void die_query(const char *where, const char *err)
{
	die(EXIT_BAD_TRACE, "%s: %s", where, err);
}

static void no_traces(const char *where, const struct fleet_filter *f)
{
	struct strbuf b = {0};
	render_fleet_filter(&b, f);
	die(EXIT_BAD_TRACE, "%s: no trace matches%s%s", where, b.s ? " these filters:" : "",
	    b.s ? b.s : " (push one with ldprof push)");
}

/* The filter and one more label (a side of a diff). labels must hold f->nlabels + 1. */
static struct fleet_filter with_label(const struct fleet_filter *f, const char *kv, const char **labels)
{
	struct fleet_filter g = *f;
	if (f->nlabels) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(labels, f->labels, f->nlabels * sizeof *labels);
	labels[f->nlabels] = kv;
	g.labels = labels;
	g.nlabels = f->nlabels + 1;
	return g;
}

/* ---- report ---- */

/* The figures a report sums: all, or those of --what's table. */
static unsigned report_figures(int what)
{
	switch (what) {
	case WS_ALLOC: return 1u << FF_ALLOC | 1u << FF_FREES;
	case WS_INUSE: return 1u << FF_INUSE | 1u << FF_MAPPED | 1u << FF_MAPPED_PEAK;
	case WS_LEAKED: return 1u << FF_LEAKED | 1u << FF_MAPPED | 1u << FF_MAPPED_LIVE;
	case WS_TEMPORARY: return 1u << FF_TEMPORARY | 1u << FF_ALLOC;
	case WS_CPU: return 1u << FF_CPU;
	case WS_WALL: return 1u << FF_WALL;
	default:
		return 1u << FF_ALLOC | 1u << FF_FREES | 1u << FF_INUSE | 1u << FF_LEAKED | 1u << FF_TEMPORARY |
		       1u << FF_CPU | 1u << FF_WALL | 1u << FF_MAPPED | 1u << FF_MAPPED_PEAK | 1u << FF_MAPPED_LIVE;
	}
}

static void fleet_report(struct ch *ch, const struct fleet_view *v, const struct fleet_args *a, struct strbuf *b)
{
	char err[800];
	struct fleet_totals tot;
	if (fleet_query_totals(ch, v->filter, &tot, err, sizeof err))
		die_query(v->store, err);
	if (!tot.traces)
		no_traces(v->store, v->filter);
	struct fleet_view view = *v;
	view.tot = &tot;
	struct fleet_names nm;
	fleet_names_init(&nm);
	struct report r;
	memset(&r, 0, sizeof r);
	r.top = a->top_given ? a->top : 10;
	r.top_given = a->top_given;
	r.gopts.by = a->by;
	r.sort = a->what == WS_INUSE ? SORT_PEAK : a->what == WS_LEAKED ? SORT_LEAKED
		 : a->what == WS_TEMPORARY ? SORT_TEMPORARY : SORT_BYTES;
	grouping_init(&r.groups);
	if (fleet_query_groups(ch, v->filter, a->by, report_figures(a->what), &nm, &r.groups, err, sizeof err))
		die_query(v->store, err);
	fleet_report_fill(&r, &tot, a->what);
	if (a->json)
		render_fleet_report_json(b, &r, &view);
	else
		render_fleet_report_text(b, &r, &view);
	grouping_free(&r.groups);
	fleet_names_free(&nm);
}

/* ---- flame ---- */

static void fleet_flame(struct ch *ch, const struct fleet_view *v, struct fleet_args *a, struct strbuf *b)
{
	char err[800], sub[1200], x[32];
	struct fleet_totals tot;
	if (fleet_query_totals(ch, v->filter, &tot, err, sizeof err))
		die_query(v->store, err);
	if (!tot.traces)
		no_traces(v->store, v->filter);
	enum ws_what what = a->what >= 0 ? (enum ws_what)a->what : WS_ALLOC;
	if ((what == WS_CPU || what == WS_WALL) && !tot.samples[what == WS_WALL])
		die(EXIT_BAD_TRACE, "%s: the %s selected traces have no %s samples (record with --%s)", v->store,
		    fmt_count(x, tot.traces), what == WS_CPU ? "CPU" : "wall-clock", what == WS_CPU ? "cpu" : "wall HZ");
	struct fleet_names nm;
	fleet_names_init(&nm);
	struct wstack_set ws;
	if (fleet_query_stacks(ch, v->filter, what, 1, &nm, &ws, err, sizeof err))
		die_query(v->store, err);
	struct strbuf fb = {0};
	render_fleet_filter(&fb, v->filter);
	snprintf(sub, sizeof sub, "fleet %s: %s trace%s%s%s", v->store, fmt_count(x, tot.traces),
		 tot.traces == 1 ? "" : "s", fb.s ? "," : "", fb.s ? fb.s : "");
	sb_free(&fb);
	a->fo.subtitle = sub;
	flame_svg(b, &ws, &a->fo);
	ws_free(&ws);
	fleet_names_free(&nm);
}

/* ---- diff ---- */

static void fleet_diff(struct ch *ch, const struct fleet_view *v, struct fleet_args *a, struct strbuf *b)
{
	char err[800];
	if (!a->base || !a->to)
		die(EXIT_USAGE, "diff compares --base K=V with --to K=V (e.g. --base version=1.3 --to version=1.4)");
	char *k, *val;
	for (int s = 0; s < 2; s++) {
		const char *kv = s ? a->to : a->base;
		if (fleet_label_split(kv, &k, &val))
			die(EXIT_USAGE, "--%s must be KEY=VALUE, not '%s'", s ? "to" : "base", kv);
		free(k);
		free(val);
	}
	if (a->at && a->what >= 0)
		die(EXIT_USAGE, "--at compares a snapshot; --what a figure: give one of them");
	if (a->what >= 0 && a->what != WS_ALLOC && a->what != WS_INUSE && a->what != WS_LEAKED)
		die(EXIT_USAGE, "diff compares alloc, inuse or leaked (bytes), not %s", ws_what_name((enum ws_what)a->what));
	if (a->flame && a->at)
		die(EXIT_USAGE, "--flame draws alloc, inuse or leaked; --at is for the list");
	enum ws_what what = a->what >= 0 ? (enum ws_what)a->what : WS_INUSE;
	struct fleet_diff_q q = {
		.side_label = {a->base, a->to},
		.figure = a->at ? FF_SNAPSHOT : what == WS_ALLOC ? FF_ALLOC : what == WS_LEAKED ? FF_LEAKED : FF_INUSE,
		.snapshot = a->at,
		.by = a->by,
		.cumulative = a->cumulative,
		.mean = !a->sum,
	};
	struct fleet_names nm;
	fleet_names_init(&nm);
	struct diff d;
	diff_init(&d);
	struct fleet_diff_sides sides = {.label = {a->base, a->to}, .figure = fleet_figure_name(q.figure),
					 .snapshot = a->at, .mean = q.mean};
	if (fleet_query_diff(ch, v->filter, &q, &nm, &d, sides.traces, err, sizeof err))
		die_query(v->store, err);
	const char **labels = xmalloc((v->filter->nlabels + 1) * sizeof *labels);
	for (int s = 0; s < 2; s++)
		if (!sides.traces[s]) {
			struct fleet_filter f = with_label(v->filter, sides.label[s], labels);
			no_traces(v->store, &f);
		}
	char name[2][1024], x[32];
	for (int s = 0; s < 2; s++)
		snprintf(name[s], sizeof name[s], "%s (%s trace%s%s)", sides.label[s], fmt_count(x, sides.traces[s]),
			 sides.traces[s] == 1 ? "" : "s", q.mean ? ", mean per trace" : ", summed");
	if (a->flame) {
		struct wstack_set ws[2];
		for (int s = 0; s < 2; s++) {
			struct fleet_filter f = with_label(v->filter, sides.label[s], labels);
			if (fleet_query_stacks(ch, &f, what, q.mean ? sides.traces[s] : 1, &nm, &ws[s], err, sizeof err))
				die_query(v->store, err);
		}
		char sub[2200], title[128];
		snprintf(sub, sizeof sub, "%s -> %s", name[0], name[1]);
		snprintf(title, sizeof title, "%s, differential", ws[1].title);
		a->fo.title = a->fo.title ? a->fo.title : title;
		a->fo.subtitle = sub;
		flame_svg_diff(b, &ws[0], &ws[1], &a->fo);
		ws_free(&ws[0]);
		ws_free(&ws[1]);
	} else {
		/* the diff renderer's sides: named, no snapshot time */
		struct tm_snapshot snap[2];
		memset(snap, 0, sizeof snap);
		struct diff_view view = {.d = &d, .by = a->by, .cumulative = a->cumulative,
					 .top = a->top_given ? a->top : 20};
		for (int s = 0; s < 2; s++) {
			snprintf(snap[s].label, sizeof snap[s].label, "%s", sides.label[s]);
			snap[s].occurrence = 1;
			view.side[s].snap = &snap[s];
			view.side[s].name = name[s];
		}
		if (a->json)
			render_fleet_diff_json(b, &view, v, &sides);
		else
			render_fleet_diff_text(b, &view, v, &sides);
	}
	free(labels);
	diff_free(&d);
	fleet_names_free(&nm);
}

int cmd_fleet(int argc, char **argv)
{
	enum { O_FROM = 256, O_USER, O_SERVICE, O_HOST, O_LABEL, O_SINCE, O_UNTIL, O_WHAT, O_TOP, O_JSON, O_COLORS,
	       O_TITLE, O_WIDTH, O_BASE, O_TO, O_AT, O_SUM, O_CUM, O_FLAME };
	static const struct option opts[] = {
		{"from", required_argument, 0, O_FROM},
		{"user", required_argument, 0, O_USER},
		{"service", required_argument, 0, O_SERVICE},
		{"host", required_argument, 0, O_HOST},
		{"label", required_argument, 0, O_LABEL},
		{"since", required_argument, 0, O_SINCE},
		{"until", required_argument, 0, O_UNTIL},
		{"what", required_argument, 0, O_WHAT},
		{"top", required_argument, 0, O_TOP},
		{"json", no_argument, 0, O_JSON},
		{"colors", required_argument, 0, O_COLORS},
		{"colours", required_argument, 0, O_COLORS},
		{"title", required_argument, 0, O_TITLE},
		{"width", required_argument, 0, O_WIDTH},
		{"base", required_argument, 0, O_BASE},
		{"to", required_argument, 0, O_TO},
		{"at", required_argument, 0, O_AT},
		{"sum", no_argument, 0, O_SUM},
		{"cumulative", no_argument, 0, O_CUM},
		{"flame", no_argument, 0, O_FLAME},
		{0, 0, 0, 0},
	};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	static char cmdname[32];
	const char *sub = argv[1];
	enum { F_REPORT, F_FLAME, F_DIFF, F_SCHEMA } which;
	if (!strcmp(sub, "report"))
		which = F_REPORT;
	else if (!strcmp(sub, "flame"))
		which = F_FLAME;
	else if (!strcmp(sub, "diff"))
		which = F_DIFF;
	else if (!strcmp(sub, "schema"))
		which = F_SCHEMA;
	else if (sub[0] == '-')
		cli_usage_error("unknown option '%.*s'", (int)strcspn(sub, "="), sub);
	else
		cli_usage_error("fleet commands are report, flame, diff and schema, not '%s'", sub);
	snprintf(cmdname, sizeof cmdname, "fleet %s", sub);
	cli_cmd = cmdname;
	argc--;
	argv++;

	/* --by as ldprof report takes it; the store keeps no frames to filter on
	 * (--include, --exclude stay with the trace files) */
	struct cli_common co = {.takes = CLI_OUTPUT | CLI_BY, .usage = usage, .groups = {.by = BY_FUNCTION}};
	struct fleet_args a;
	memset(&a, 0, sizeof a);
	a.what = -1;
	size_t nlabels = 0;
	int c;
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_FROM: a.from = optarg; break;
		case O_USER: a.user = optarg; break;
		case O_SERVICE: a.f.service = optarg; break;
		case O_HOST: a.f.host_glob = optarg; break;
		case O_LABEL: {
			char *k, *val;
			if (fleet_label_split(optarg, &k, &val))
				die(EXIT_USAGE, "--label must be KEY=VALUE, not '%s'", optarg);
			free(k);
			free(val);
			VEC_PUSH(a.labels, nlabels, a.labels_cap, optarg);
			break;
		}
		case O_SINCE:
		case O_UNTIL: {
			int64_t t;
			if (parse_time(optarg, &t))
				die(EXIT_USAGE, "--%s must be a date (2024-05-01, '2024-05-01 12:00'), @SECONDS or an age "
						"(30m, 12h, 7d), not '%s'",
				    c == O_SINCE ? "since" : "until", optarg);
			if (c == O_SINCE) {
				a.f.since = t;
				a.f.has_since = 1;
			} else {
				a.f.until = t;
				a.f.has_until = 1;
			}
			break;
		}
		case O_WHAT: a.what = cli_what(optarg); break;
		case O_TOP:
			a.top = cli_top(optarg, which != F_REPORT);
			a.top_given = 1;
			break;
		case O_JSON: a.json = 1; break;
		case O_COLORS: a.fo.colors = (enum flame_colors)cli_colors(optarg); break;
		case O_TITLE: a.fo.title = optarg; break;
		case O_WIDTH: a.fo.width = cli_pixels("width", optarg); break;
		case O_BASE: a.base = optarg; break;
		case O_TO: a.to = optarg; break;
		case O_AT: {
			/* label#1 is the label's first use: stored as the bare label */
			size_t l = strlen(optarg);
			free(a.at_owned);
			a.at_owned = l > 2 && !strcmp(optarg + l - 2, "#1") ? xstrndup(optarg, l - 2) : NULL;
			a.at = a.at_owned ? a.at_owned : optarg;
			break;
		}
		case O_SUM: a.sum = 1; break;
		case O_CUM: a.cumulative = 1; break;
		case O_FLAME: a.flame = 1; break;
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument '%s' (fleet commands read the store given by --from)", argv[optind]);
	a.by = co.groups.by;
	a.f.labels = a.labels;
	a.f.nlabels = nlabels;
	struct strbuf b = {0};
	if (which == F_SCHEMA) {
		fleet_schema_print(&b);
		out_write_or_die(co.output, b.s, b.len);
		sb_free(&b);
		free(a.labels);
		free(a.at_owned);
		cli_common_free(&co);
		return EXIT_OK;
	}
	if (!a.from)
		cli_usage_error("--from clickhouse://HOST[:PORT]/DB is required");
	struct ch_target target;
	char err[800], where[600];
	if (ch_target_from(a.from, a.user, &target, err, sizeof err))
		die(EXIT_USAGE, "--from: %s", err);
	ch_target_name(&target, where, sizeof where);
	struct ch *ch = ch_open(&target);
	if (fleet_schema_check(ch, err, sizeof err))
		die(EXIT_BAD_TRACE, "%s: %s", where, err);
	struct fleet_view view = {.store = where, .filter = &a.f};
	switch (which) {
	case F_REPORT: fleet_report(ch, &view, &a, &b); break;
	case F_FLAME: fleet_flame(ch, &view, &a, &b); break;
	default: fleet_diff(ch, &view, &a, &b); break;
	}
	out_write_or_die(co.output, b.s, b.len);
	sb_free(&b);
	ch_close(ch);
	ch_target_free(&target);
	free(a.labels);
	free(a.at_owned);
	cli_common_free(&co);
	return EXIT_OK;
}
