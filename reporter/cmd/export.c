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
	fprintf(f, "usage: ldprof export --format F [OPTIONS] TRACE\n\n");
	/* the formats, from the registry: name, then its help lines */
	for (const struct export_format *x = export_formats; x->name; x++) {
		fprintf(f, "%-20s%-12s", x == export_formats ? "  --format F" : "", x->name);
		for (const char *h = x->help; *h; h++)
			if (*h == '\n')
				fprintf(f, "\n%32s", "");
			else
				fputc(*h, f);
		fputc('\n', f);
	}
	fprintf(f, "  --what W          collapsed, speedscope: alloc (default for collapsed), inuse, leaked,\n"
		   "                    temporary, cpu, wall; speedscope without --what: every one the trace has\n"
		   "                    pprof: cpu or wall for the sample profiles (default: the heap)\n");
	cli_common_usage(f, CLI_OUTPUT | CLI_SYMBOLS);
}

/* The registry's names: "pprof, collapsed, ... or dhat". */
static const char *format_names(char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (const struct export_format *x = export_formats; x->name; x++)
		n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", x == export_formats ? "" : x[1].name ? ", " : " or ",
				      x->name);
	return buf;
}

static void build_or_die(struct wstack_set *ws, enum ws_what what, struct symbolizer *sym, const struct loaded *t,
			 const struct ws_opts *o)
{
	const char *why;
	if (ws_build_opts(ws, what, sym, t, o, &why))
		die(EXIT_BAD_TRACE, "%s: %s", t->m.path, why);
}

int cmd_export(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_WHAT };
	static const struct option opts[] = {
		{"format", required_argument, 0, O_FORMAT},
		{"what", required_argument, 0, O_WHAT},
		{0, 0, 0, 0},
	};
	struct cli_common co = {.takes = CLI_OUTPUT | CLI_SYMBOLS, .usage = usage};
	const struct export_format *fmt = NULL;
	enum ws_what what = WS_ALLOC;
	int what_given = 0, c;
	char names[256];
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_FORMAT:
			if (!(fmt = export_find(optarg)))
				die(EXIT_USAGE, "--format must be %s, not '%s'", format_names(names, sizeof names), optarg);
			break;
		case O_WHAT:
			what = (enum ws_what)cli_what(optarg);
			what_given = 1;
			break;
		}
	}
	if (!fmt)
		cli_usage_error("which format? (--format %s)", format_names(names, sizeof names));
	if (optind + 1 != argc)
		cli_usage_error(optind < argc ? "one trace at a time" : "which trace?");
	if ((fmt->flags & EX_BINARY) && (!co.output || !strcmp(co.output, "-")) && isatty(STDOUT_FILENO))
		die(EXIT_USAGE, "a %s file is binary: give -o FILE (or redirect standard output)", fmt->name);
	struct loaded t = {0};
	cli_load(&co, &t, argv[optind], EXIT_BAD_TRACE);
	struct symbolizer *sym = cli_symbolizer(&co);

	/* The stacks the format is made from (export.h, enum export_stacks). */
	struct wstack_set sets[WS_NWHAT];
	size_t nsets = 0;
	const char *why = NULL;
	switch (fmt->stacks) {
	case EX_ONE:
		build_or_die(&sets[nsets++], what, sym, &t, &fmt->opts);
		break;
	case EX_EACH:
		if (what_given)
			build_or_die(&sets[nsets++], what, sym, &t, &fmt->opts);
		else
			for (int w = WS_ALLOC; w < WS_NWHAT; w++)
				if (ws_build_opts(&sets[nsets], (enum ws_what)w, sym, &t, &fmt->opts, &why) == 0)
					nsets++;
		break;
	case EX_PROFILE:
	case EX_HEAP:
		if (what_given) { /* a profile the trace does not have is an error, also where it is not used */
			build_or_die(&sets[0], what, sym, &t, &fmt->opts);
			ws_free(&sets[0]);
		}
		build_or_die(&sets[nsets++], fmt->stacks == EX_PROFILE && (what == WS_CPU || what == WS_WALL) ? what : WS_ALLOC,
			     sym, &t, &fmt->opts);
		break;
	}
	struct report r = {.traces = &t, .ntraces = 1, .top = 10, .sort = SORT_BYTES, .gopts = {.by = BY_FUNCTION}};
	if (fmt->flags & EX_REPORT) {
		report_sum(&r);
		report_group(&r, sym);
	}
	struct export_in in = {.m = &t.m, .sets = sets, .nsets = nsets, .report = &r};
	struct strbuf b = {0};
	if (fmt->render(&b, &in, &why))
		die(EXIT_BAD_TRACE, "%s", why);
	if (fmt->flags & EX_PRIVATE)
		out_write_private_or_die(co.output, b.s, b.len);
	else
		out_write_or_die(co.output, b.s, b.len);
	sb_free(&b);
	if (fmt->flags & EX_REPORT)
		grouping_free(&r.groups);
	for (size_t i = 0; i < nsets; i++)
		ws_free(&sets[i]);
	loaded_free(&t);
	cli_common_free(&co);
	return EXIT_OK;
}
