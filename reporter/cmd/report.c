/*
 * report.c - `ldprof report`: read -> heap model -> group (symbolize) -> text or JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out.h"
#include "render/html.h"
#include "render/profile.h"
#include "render/report.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ldprof report [OPTIONS] TRACE [TRACE...]\n"
		"\n"
		"  --by KEY          group by traceback, function (default), line, file or module\n"
		"  --top N           rows per table (default 10)\n"
		"  --sort KEY        order of the groups: bytes (default), count, leaked, peak, temporary\n"
		"  --include GLOB    keep allocations whose site matches GLOB (function, file or module);\n"
		"                    repeatable\n"
		"  --exclude GLOB    drop allocations whose site matches GLOB; repeatable\n"
		"  --all-frames      filters look at every frame of the stack, not only the site\n"
		"  --json            one JSON object (schema: docs/JSON.md)\n"
		"  --html            one self-contained HTML page: summary, timeline, flame graphs,\n"
		"                    tables, leaks with their stacks; without -o it goes to the\n"
		"                    first TRACE's name with .html (app.ldp: app.html) here\n"
		"\n"
		"CPU and wall-clock samples (ldprof record --cpu HZ, --wall HZ):\n"
		"  --profile-sort K  flat profiles by self (default) or total\n"
		"  --tree            the call tree, top-down (--tree-min PCT hides smaller branches; default 0.5)\n"
		"  --callers FUNC    who calls FUNC (a name or glob), and how often\n"
		"  --callees FUNC    what FUNC calls\n"
		"  --lines FUNC      cost per source line inside FUNC (a glob: each matching function)\n"
		"  --source-dir DIR  where --lines finds sources besides DWARF's compilation directory\n"
		"                    (leading directories of the recorded name are tried off too); repeatable\n"
		"  --threads         samples per thread\n"
		"  --what KIND       cpu or wall: only that profile (default: both)\n");
	cli_common_usage(f, CLI_OUTPUT | CLI_SYMBOLS);
	fprintf(f, "\n"
		   "Several traces (a server and its workers) are reported together, with a\n"
		   "line per process.\n");
}

int cmd_report(int argc, char **argv)
{
	enum { O_TOP = 256, O_SORT, O_JSON, O_HTML, O_PSORT, O_TREE, O_TREEMIN, O_CALLERS, O_CALLEES, O_LINES, O_THREADS,
	       O_WHAT, O_SRCDIR };
	static const struct option opts[] = {
		{"top", required_argument, 0, O_TOP},
		{"sort", required_argument, 0, O_SORT},
		{"json", no_argument, 0, O_JSON},
		{"html", no_argument, 0, O_HTML},
		{"profile-sort", required_argument, 0, O_PSORT},
		{"tree", no_argument, 0, O_TREE},
		{"tree-min", required_argument, 0, O_TREEMIN},
		{"callers", required_argument, 0, O_CALLERS},
		{"callees", required_argument, 0, O_CALLEES},
		{"lines", required_argument, 0, O_LINES},
		{"threads", no_argument, 0, O_THREADS},
		{"what", required_argument, 0, O_WHAT},
		{"source-dir", required_argument, 0, O_SRCDIR},
		{0, 0, 0, 0},
	};
	struct cli_common co = {.takes = CLI_OUTPUT | CLI_SYMBOLS | CLI_GROUPS, .usage = usage,
				.groups = {.by = BY_FUNCTION}};
	struct report r = {.top = 10, .sort = SORT_BYTES};
	int json = 0, html = 0, c, tree = 0, threads = 0, kinds = 3;
	double tree_min = 0.5;
	const char *focus[3] = {NULL, NULL, NULL};
	const char **srcdirs = NULL;
	size_t nsrcdirs = 0, srcdirs_cap = 0;
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_TOP:
			r.top = cli_top(optarg, 0);
			r.top_given = 1;
			break;
		case O_SORT:
			if (group_sort_parse(optarg, &r.sort))
				die(EXIT_USAGE, "--sort must be bytes, count, leaked, peak or temporary, not '%s'", optarg);
			break;
		case O_JSON: json = 1; break;
		case O_HTML: html = 1; break;
		case O_PSORT:
			if (strcmp(optarg, "self") && strcmp(optarg, "total"))
				die(EXIT_USAGE, "--profile-sort must be self or total, not '%s'", optarg);
			r.profile_sort_total = !strcmp(optarg, "total");
			break;
		case O_TREE: tree = 1; break;
		case O_TREEMIN: {
			char *end;
			tree_min = strtod(optarg, &end);
			if (end == optarg || *end || tree_min < 0 || tree_min > 100)
				die(EXIT_USAGE, "--tree-min must be a percentage, not '%s'", optarg);
			tree = 1;
			break;
		}
		case O_CALLERS: focus[0] = optarg; break;
		case O_CALLEES: focus[1] = optarg; break;
		case O_LINES: focus[2] = optarg; break;
		case O_THREADS: threads = 1; break;
		case O_SRCDIR: VEC_PUSH(srcdirs, nsrcdirs, srcdirs_cap, optarg); break;
		case O_WHAT:
			if (!strcmp(optarg, "cpu"))
				kinds = 1;
			else if (!strcmp(optarg, "wall"))
				kinds = 2;
			else
				die(EXIT_USAGE, "--what must be cpu or wall, not '%s'", optarg);
			break;
		}
	}
	if (optind >= argc)
		cli_usage_error("which trace?");
	r.gopts = co.groups;
	if (html) /* the page recomputes its tables for a thread and a time range */
		co.load_flags |= TM_ACTIVITY;
	struct symbolizer *sym = cli_symbolizer(&co);
	r.ntraces = (size_t)(argc - optind);
	r.traces = xcalloc(r.ntraces, sizeof *r.traces);
	for (size_t i = 0; i < r.ntraces; i++)
		cli_load(&co, &r.traces[i], argv[optind + i], EXIT_BAD_TRACE);
	report_sum(&r);
	report_group(&r, sym);

	struct strbuf b = {0};
	int focused = tree || focus[0] || focus[1] || focus[2] || threads;
	if (html) {
		render_report_html(&b, &r, sym);
		json = 1; /* nothing else goes into the page */
	} else if (json) {
		json_t *o = report_json(&r);
		if (threads)
			json_object_set_new(o, "threads", profile_threads_json(&r));
		sb_json(&b, o);
		sb_putc(&b, '\n');
	} else if (!focused) {
		render_report_text(&b, &r);
	}
	for (int k = 0; k < 2 && !json; k++) {
		if (!(kinds & (1 << k)))
			continue;
		if (tree)
			render_profile_tree(&b, &r, k, tree_min);
		for (int m = 0; m < 3; m++)
			if (focus[m])
				render_profile_focus(&b, &r, k, m, focus[m],
						     &(struct focus_opts){srcdirs, nsrcdirs});
	}
	if (threads && !json)
		render_profile_threads(&b, &r);
	if (focused && !json && !r.samples[0] && !r.samples[1])
		die(EXIT_BAD_TRACE, "this trace has no CPU or wall samples (record with --cpu HZ or --wall HZ)");
	struct strbuf name = {0};
	int named = 0;
	const char *path = html ? cli_picture_output(&co, argv[optind], ".html", &name, &named) : co.output;
	out_write_private_or_die(path, b.s, b.len); /* it names the command lines */
	cli_say_written(path, named);
	sb_free(&name);

	sb_free(&b);
	free(srcdirs);
	grouping_free(&r.groups);
	for (size_t i = 0; i < r.ntraces; i++)
		loaded_free(&r.traces[i]);
	free(r.traces);
	cli_common_free(&co);
	return EXIT_OK;
}
