/*
 * export.c - `ldprof export`: read -> model -> one of the formats other
 * tools read (render/export.h, docs/EXPORT.md) -> a whole file or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "model/wstack.h"
#include "out.h"
#include "render/export.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof export --format F [OPTIONS] TRACE\n"
		   "\n"
		   "  --format F        pprof       gzipped profile.proto (go tool pprof, Pyroscope): every heap\n"
		   "                                figure as a sample type (alloc/inuse/leaked objects and space);\n"
		   "                                with --what cpu or wall, that profile (samples, nanoseconds)\n"
		   "                    collapsed   'frame;frame;frame weight' lines (flamegraph.pl, inferno)\n"
		   "                    speedscope  speedscope's JSON (one profile per --what)\n"
		   "                    json        the whole model for scripts (docs/EXPORT.md)\n"
		   "                    massif      valgrind massif's format (ms_print, massif-visualizer)\n"
		   "                    dhat        valgrind DHAT's JSON (dh_view.html)\n"
		   "  --what W          collapsed, speedscope: alloc (default for collapsed), inuse, leaked,\n"
		   "                    temporary, cpu, wall; speedscope without --what: every one the trace has\n"
		   "                    pprof: cpu or wall for the sample profiles (default: the heap)\n");
	cli_common_usage(f, CLI_OUTPUT | CLI_SYMBOLS);
}

enum format { F_PPROF, F_COLLAPSED, F_SPEEDSCOPE, F_JSON, F_MASSIF, F_DHAT, F_NONE };
static const char *const format_names[] = {"pprof", "collapsed", "speedscope", "json", "massif", "dhat"};

int cmd_export(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_WHAT };
	static const struct option opts[] = {
		{"format", required_argument, 0, O_FORMAT},
		{"what", required_argument, 0, O_WHAT},
		{0, 0, 0, 0},
	};
	struct cli_common co = {.takes = CLI_OUTPUT | CLI_SYMBOLS, .usage = usage};
	enum format fmt = F_NONE;
	enum ws_what what = WS_ALLOC;
	int what_given = 0, c;
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_FORMAT:
			for (int i = 0; i < F_NONE; i++)
				if (!strcmp(optarg, format_names[i]))
					fmt = (enum format)i;
			if (fmt == F_NONE)
				die(EXIT_USAGE, "--format must be pprof, collapsed, speedscope, json, massif or dhat, not '%s'",
				    optarg);
			break;
		case O_WHAT:
			if (ws_what_parse(optarg, &what))
				die(EXIT_USAGE, "--what must be alloc, inuse, leaked, temporary, cpu or wall, not '%s'",
				    optarg);
			what_given = 1;
			break;
		}
	}
	if (fmt == F_NONE || optind + 1 != argc) {
		if (fmt == F_NONE && optind < argc)
			fprintf(stderr, "ldprof export: --format is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (fmt == F_PPROF && (!co.output || !strcmp(co.output, "-")) && isatty(STDOUT_FILENO))
		die(EXIT_USAGE, "a pprof file is gzipped binary: give -o FILE (or redirect standard output)");
	struct loaded t = {0};
	cli_load(&co, &t, argv[optind], EXIT_BAD_TRACE);
	struct symbolizer *sym = cli_symbolizer(&co);
	struct strbuf b = {0};
	const char *why = NULL;
	struct wstack_set sets[WS_NWHAT];
	size_t nsets = 0;
	if (what_given || fmt == F_COLLAPSED) {
		if (ws_build(&sets[0], what, sym, &t, &why))
			die(EXIT_BAD_TRACE, "%s: %s", t.m.path, why);
		nsets = 1;
	} else if (fmt == F_SPEEDSCOPE) {
		for (int w = WS_ALLOC; w < WS_NWHAT; w++)
			if (ws_build(&sets[nsets], (enum ws_what)w, sym, &t, &why) == 0)
				nsets++;
	}
	switch (fmt) {
	case F_PPROF:
		if (render_pprof(&b, sym, &t, what == WS_CPU ? PROF_CPU : what == WS_WALL ? PROF_WALL : -1, &why))
			die(EXIT_BAD_TRACE, "%s", why);
		break;
	case F_COLLAPSED: render_collapsed(&b, &sets[0]); break;
	case F_SPEEDSCOPE: {
		const char *base = strrchr(t.m.path, '/');
		render_speedscope(&b, sets, nsets, 0, base ? base + 1 : t.m.path);
		break;
	}
	case F_JSON: render_json_export(&b, sym, &t); break;
	case F_MASSIF: render_massif(&b, sym, &t); break;
	case F_DHAT: render_dhat(&b, sym, &t); break;
	case F_NONE: break;
	}
	out_write_or_die(co.output, b.s, b.len);
	sb_free(&b);
	for (size_t i = 0; i < nsets; i++)
		ws_free(&sets[i]);
	loaded_free(&t);
	cli_common_free(&co);
	return EXIT_OK;
}
