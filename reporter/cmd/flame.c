/*
 * flame.c - `ldprof flame`: read -> model -> weighted stacks -> flame graph SVG.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/wstack.h"
#include "out.h"
#include "render/flame_svg.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof flame [OPTIONS] TRACE\n"
		   "\n"
		   "An interactive flame graph (SVG: hover for details, click to zoom, Search or Ctrl-F).\n"
		   "\n"
		   "  --what W          alloc (bytes allocated, default), inuse (live at the peak),\n"
		   "                    leaked (live at exit), temporary (freed right after an\n"
		   "                    allocation of their size and stack: docs/DEFINITIONS.md),\n"
		   "                    cpu, wall (traces recorded with CPU or wall-clock sampling)\n"
		   "  --against BASE    differential graph of TRACE against BASE (another trace):\n"
		   "                    red grew, blue shrank; frames sized by TRACE\n"
		   "  --colors C        module (default: a hue per module) or function\n"
		   "  --title T         the graph's title\n"
		   "  --width N         pixels (default 1200; the graph follows the window in a browser)\n"
		   "\n"
		   "Without -o the graph goes to TRACE's name with .WHAT.svg (app.ldp: app.alloc.svg,\n"
		   "app.alloc.diff.svg with --against) in this directory, never onto a terminal;\n"
		   "-o - writes it to standard output.\n");
	cli_common_usage(f, CLI_OUTPUT | CLI_SYMBOLS);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void build_or_die(struct wstack_set *ws, enum ws_what what, struct cli_common *co, const struct loaded *t)
{
	const char *why;
	if (ws_build(ws, what, cli_symbolizer(co), t, &why))
		die(EXIT_BAD_TRACE, "%s: %s", t->m.path, why);
}

int cmd_flame(int argc, char **argv)
{
	enum { O_WHAT = 256, O_AGAINST, O_COLORS, O_TITLE, O_WIDTH };
	static const struct option opts[] = {
		{"what", required_argument, 0, O_WHAT},
		{"against", required_argument, 0, O_AGAINST},
		{"colors", required_argument, 0, O_COLORS},
		{"colours", required_argument, 0, O_COLORS},
		{"title", required_argument, 0, O_TITLE},
		{"width", required_argument, 0, O_WIDTH},
		{0, 0, 0, 0},
	};
	struct cli_common co = {.takes = CLI_OUTPUT | CLI_SYMBOLS, .usage = usage};
	struct flame_opts fo = {0};
	enum ws_what what = WS_ALLOC;
	const char *against = NULL;
	int c;
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_WHAT:
			what = (enum ws_what)cli_what(optarg);
			break;
		case O_AGAINST: against = optarg; break;
		case O_COLORS: fo.colors = (enum flame_colors)cli_colors(optarg); break;
		case O_TITLE: fo.title = optarg; break;
		case O_WIDTH: fo.width = cli_pixels("width", optarg); break;
		}
	}
	if (optind + 1 != argc)
		cli_usage_error(optind < argc ? "one trace at a time (--against BASE for a second)" : "which trace?");
	struct loaded t = {0}, base = {0};
	struct wstack_set ws, wbase;
	cli_load(&co, &t, argv[optind], EXIT_BAD_TRACE);
	build_or_die(&ws, what, &co, &t);
	char sub[1024];
	struct strbuf b = {0};
	if (against) {
		cli_load(&co, &base, against, EXIT_BAD_TRACE);
		build_or_die(&wbase, what, &co, &base);
		snprintf(sub, sizeof sub, "%s against %s", base_name(argv[optind]), base_name(against));
		fo.subtitle = sub;
		flame_svg_diff(&b, &wbase, &ws, &fo);
		ws_free(&wbase);
		loaded_free(&base);
	} else {
		snprintf(sub, sizeof sub, "%s", base_name(argv[optind]));
		fo.subtitle = sub;
		flame_svg(&b, &ws, &fo);
	}
	struct strbuf name = {0};
	char suffix[64];
	snprintf(suffix, sizeof suffix, ".%s%s.svg", ws_what_name(what), against ? ".diff" : "");
	int named;
	const char *path = cli_picture_output(&co, argv[optind], suffix, &name, &named);
	out_write_or_die(path, b.s, b.len);
	cli_say_written(path, named);
	sb_free(&name);
	sb_free(&b);
	ws_free(&ws);
	loaded_free(&t);
	cli_common_free(&co);
	return EXIT_OK;
}
