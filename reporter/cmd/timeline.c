/*
 * timeline.c - `ldprof timeline`: read -> heap model (its live-bytes series)
 * -> timeline SVG.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out.h"
#include "render/timeline_svg.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof timeline [OPTIONS] TRACE\n"
		   "\n"
		   "Live heap over time as an SVG, with the peak marked (and where the program exec'd).\n"
		   "\n"
		   "  --title T         the picture's title\n"
		   "  --width N         pixels (default 1200)\n"
		   "  --height N        pixels (default 360)\n"
		   "\n"
		   "Without -o the picture goes to TRACE's name with .timeline.svg (app.ldp:\n"
		   "app.timeline.svg) in this directory, never onto a terminal; -o - writes it to\n"
		   "standard output.\n");
	cli_common_usage(f, CLI_OUTPUT);
}

int cmd_timeline(int argc, char **argv)
{
	enum { O_TITLE = 256, O_WIDTH, O_HEIGHT };
	static const struct option opts[] = {
		{"title", required_argument, 0, O_TITLE},
		{"width", required_argument, 0, O_WIDTH},
		{"height", required_argument, 0, O_HEIGHT},
		{0, 0, 0, 0},
	};
	struct cli_common co = {.takes = CLI_OUTPUT, .usage = usage};
	struct timeline_opts to = {0};
	const char *title = NULL;
	int c;
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_TITLE: title = optarg; break;
		case O_WIDTH: to.width = cli_pixels("width", optarg); break;
		case O_HEIGHT: to.height = cli_pixels("height", optarg); break;
		}
	}
	if (optind + 1 != argc)
		cli_usage_error(optind < argc ? "one trace at a time" : "which trace?");
	/* No symbols needed: the timeline is figures only. */
	struct loaded t = {0};
	struct rd_error err;
	if (tm_load(&t.m, argv[optind], &err))
		die(EXIT_BAD_TRACE, "%s", err.msg);
	if (t.m.stats.truncated)
		warnx1("%s ends inside a frame at byte %llu (the process was killed?); using everything before it",
		       argv[optind], (unsigned long long)t.m.stats.truncated_at);
	struct timeline tl;
	timeline_build(&tl, &t);
	char sub[1024];
	const char *base = strrchr(argv[optind], '/');
	snprintf(sub, sizeof sub, "%s: %s", base ? base + 1 : argv[optind],
		 t.m.nsegs ? (*t.m.segs[0].info.cmdline ? t.m.segs[0].info.cmdline : t.m.segs[0].info.exe) : "");
	tl.title = title ? title : "live heap over time";
	tl.subtitle = sub;
	struct strbuf b = {0};
	timeline_svg(&b, &tl, &to);
	struct strbuf name = {0};
	int named;
	const char *path = cli_picture_output(&co, argv[optind], ".timeline.svg", &name, &named);
	out_write_private_or_die(path, b.s, b.len); /* its subtitle is the command line */
	cli_say_written(path, named);
	sb_free(&name);
	sb_free(&b);
	timeline_free(&tl);
	tm_free(&t.m);
	cli_common_free(&co);
	return EXIT_OK;
}
