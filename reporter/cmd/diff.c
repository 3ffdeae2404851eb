/*
 * diff.c - `ldprof diff`: two snapshots, of one trace (--from/--to) or of two
 * runs (OLD NEW --at LABEL), compared by group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/wstack.h"
#include "out.h"
#include "render/diff.h"
#include "render/flame_svg.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ldprof diff TRACE --from A --to B [OPTIONS]       two snapshots of one run\n"
		"       ldprof diff OLD NEW [--at LABEL] [OPTIONS]        the same snapshot of two runs\n"
		"\n"
		"Snapshots: a label given to ldprof_snapshot(), label#N for its N-th use, @N for\n"
		"the N-th snapshot, or start, peak, exit (every trace has these; --at defaults\n"
		"to exit). 'ldprof snapshots TRACE' lists them.\n"
		"\n"
		"  --by KEY          traceback, function (default), line, file or module\n"
		"  --cumulative      count every frame of the stack, not only the site\n"
		"  --include GLOB, --exclude GLOB, --all-frames   filters, as in ldprof report\n"
		"  --top N           groups shown (default 20; 0: all)\n"
		"  --json            one JSON object (docs/JSON.md)\n"
		"  --flame           a differential flame graph (SVG) of the live bytes instead:\n"
		"                    sized by the second snapshot, red grew, blue shrank; without -o\n"
		"                    it goes to the last TRACE's name with .diff.svg here\n");
	cli_common_usage(f, CLI_OUTPUT | CLI_SYMBOLS);
}

static void pick(const struct loaded *t, const char *sel, struct tm_snapshot *out)
{
	if (tm_snapshot_select(&t->m, sel, out))
		die(EXIT_USAGE, "%s has no snapshot '%s' (see: ldprof snapshots %s)", t->m.path, sel, t->m.path);
}

int cmd_diff(int argc, char **argv)
{
	enum { O_TOP = 256, O_JSON, O_FROM, O_TO, O_AT, O_CUM, O_FLAME };
	static const struct option opts[] = {
		{"top", required_argument, 0, O_TOP},   {"json", no_argument, 0, O_JSON},
		{"from", required_argument, 0, O_FROM}, {"to", required_argument, 0, O_TO},
		{"at", required_argument, 0, O_AT},     {"cumulative", no_argument, 0, O_CUM},
		{"flame", no_argument, 0, O_FLAME},     {0, 0, 0, 0},
	};
	struct cli_common co = {.takes = CLI_OUTPUT | CLI_SYMBOLS | CLI_GROUPS, .usage = usage,
				.groups = {.by = BY_FUNCTION}};
	const char *from = NULL, *to = NULL, *at = NULL;
	int json = 0, cumulative = 0, flame = 0, c;
	unsigned top = 20;
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_TOP: top = cli_top(optarg, 1); break;
		case O_JSON: json = 1; break;
		case O_FROM: from = optarg; break;
		case O_TO: to = optarg; break;
		case O_AT: at = optarg; break;
		case O_CUM: cumulative = 1; break;
		case O_FLAME: flame = 1; break;
		}
	}
	int ntraces = argc - optind;
	if (ntraces == 1 && (!from || !to || at))
		die(EXIT_USAGE, "one trace needs --from and --to (two traces take --at)");
	if (ntraces == 2 && (from || to))
		die(EXIT_USAGE, "two traces are compared at one snapshot: use --at, not --from/--to");
	if (ntraces < 1 || ntraces > 2)
		cli_usage_error(ntraces ? "one trace (--from, --to) or two (--at), not %d" : "which trace?", ntraces);
	struct symbolizer *sym = cli_symbolizer(&co);
	struct loaded t[2];
	struct tm_snapshot snap[2];
	cli_load(&co, &t[0], argv[optind], EXIT_BAD_TRACE);
	struct diff_view view = {.by = co.groups.by, .cumulative = cumulative, .top = top};
	if (ntraces == 1) {
		pick(&t[0], from, &snap[0]);
		pick(&t[0], to, &snap[1]);
	} else {
		cli_load(&co, &t[1], argv[optind + 1], EXIT_BAD_TRACE);
		pick(&t[0], at ? at : "exit", &snap[0]);
		pick(&t[1], at ? at : "exit", &snap[1]);
		view.side[0].trace = t[0].m.path;
		view.side[1].trace = t[1].m.path;
	}
	struct diff d;
	diff_init(&d);
	for (int i = 0; i < 2; i++) {
		diff_add(&d, i, sym, &t[ntraces == 2 ? i : 0], &snap[i], &co.groups, cumulative);
		view.side[i].snap = &snap[i];
	}
	view.d = &d;
	struct strbuf b = {0};
	if (flame) {
		struct wstack_set ws[2];
		char sub[2100];
		for (int i = 0; i < 2; i++)
			ws_from_snapshot(&ws[i], &t[ntraces == 2 ? i : 0], &snap[i], &co.groups);
		char name[2][1024];
		for (int i = 0; i < 2; i++) {
			const char *p = t[ntraces == 2 ? i : 0].m.path, *base = strrchr(p, '/');
			snprintf(name[i], sizeof name[i], "%s%s%s", ntraces == 2 ? (base ? base + 1 : p) : "",
				 ntraces == 2 ? " " : "", snap[i].label);
			if (snap[i].occurrence > 1)
				snprintf(name[i] + strlen(name[i]), sizeof name[i] - strlen(name[i]), "#%u", snap[i].occurrence);
		}
		snprintf(sub, sizeof sub, "%s -> %s", name[0], name[1]);
		struct flame_opts fo = {.title = "live bytes, differential", .subtitle = sub};
		flame_svg_diff(&b, &ws[0], &ws[1], &fo);
		ws_free(&ws[0]);
		ws_free(&ws[1]);
	} else if (json)
		render_diff_json(&b, &view);
	else
		render_diff_text(&b, &view);
	struct strbuf name = {0};
	int named = 0;
	const char *path = flame ? cli_picture_output(&co, argv[argc - 1], ".diff.svg", &name, &named) : co.output;
	out_write_or_die(path, b.s, b.len);
	cli_say_written(path, named);
	sb_free(&name);
	sb_free(&b);
	diff_free(&d);
	for (int i = 0; i < 2; i++)
		tm_snapshot_clear(&snap[i]);
	for (int i = 0; i < ntraces; i++)
		loaded_free(&t[i]);
	cli_common_free(&co);
	return EXIT_OK;
}
