/*
 * push.c - `ldprof push`: every trace is read and checked first (a bad one
 * stops the command before anything is inserted), then each is loaded,
 * symbolized, turned into rows (model/fleetrows.c) and pushed into the
 * ClickHouse store (store/push.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "model/fleet.h"
#include "model/fleetrows.h"
#include "render/units.h"
#include "store/push.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ldprof push --to clickhouse://HOST[:PORT]/DB [OPTIONS] TRACE...\n"
		"\n"
		"Symbolizes each trace here and stores its figures in ClickHouse, for\n"
		"'ldprof fleet' (docs/FLEET.md). The tables are created on first use. Pushing\n"
		"a trace again replaces it: nothing is counted twice.\n"
		"\n"
		"  --to URL          the store: clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE\n"
		"                    (ClickHouse's HTTP interface; port 8123 by default)\n"
		"  --user NAME       ClickHouse user (the password comes from CLICKHOUSE_PASSWORD\n"
		"                    or the URL, and is never printed)\n"
		"  --service NAME    the service the traces belong to (default: the executable's name)\n"
		"  --host NAME       the host they come from (default: the one recorded in each trace)\n"
		"  --label K=V       a label, e.g. version=1.4; repeatable\n"
		"  --force           push even when the store already has this very trace\n"
		"  --batch-rows N    rows per INSERT (default 100000)\n"
		"  -q, --quiet       no progress and no summary lines\n");
	cli_common_usage(f, CLI_SYMBOLS);
}

/* Bad input is refused before anything is sent: with several traces,
 * every one is read through first (the reader alone: each record decoded
 * and bounds-checked; no model, no symbols), then each is loaded in turn. */
static void no_event(void *ctx, const struct rd_event *e)
{
	(void)ctx;
	(void)e;
}

static int push_check(const char *path, struct rd_error *err)
{
	struct rd_visitor v = {.event = no_event};
	struct rd_stats st;
	return rd_read_file(path, &v, &st, err);
}

struct progress {
	const char *path;
	int tty;
};

static void on_progress(void *ctx, size_t done, size_t total)
{
	const struct progress *p = ctx;
	if (!p->tty)
		return;
	char a[32], b[32];
	fprintf(stderr, "\rldprof push: %s: %s of %s rows%s", p->path, fmt_count(a, done), fmt_count(b, total),
		done == total ? "\n" : "");
	fflush(stderr);
}

int cmd_push(int argc, char **argv)
{
	enum { O_TO = 256, O_USER, O_SERVICE, O_HOST, O_LABEL, O_FORCE, O_BATCH };
	static const struct option opts[] = {
		{"to", required_argument, 0, O_TO},
		{"user", required_argument, 0, O_USER},
		{"service", required_argument, 0, O_SERVICE},
		{"host", required_argument, 0, O_HOST},
		{"label", required_argument, 0, O_LABEL},
		{"force", no_argument, 0, O_FORCE},
		{"batch-rows", required_argument, 0, O_BATCH},
		{"quiet", no_argument, 0, 'q'},
		{0, 0, 0, 0},
	};
	struct cli_common co = {.takes = CLI_SYMBOLS, .usage = usage};
	const char *to = NULL, *user = NULL;
	struct push_meta meta = {0};
	struct push_opts po = {0};
	char **keys = NULL, **values = NULL;
	size_t keys_cap = 0, values_cap = 0, nvalues = 0;
	int quiet = 0, c;
	uint64_t v;
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		switch (c) {
		case O_TO: to = optarg; break;
		case O_USER: user = optarg; break;
		case O_SERVICE: meta.service = optarg; break;
		case O_HOST: meta.host = optarg; break;
		case O_LABEL: {
			char *k, *val;
			if (fleet_label_split(optarg, &k, &val))
				die(EXIT_USAGE, "--label must be KEY=VALUE, not '%s'", optarg);
			VEC_PUSH(keys, meta.nlabels, keys_cap, k);
			VEC_PUSH(values, nvalues, values_cap, val);
			break;
		}
		case O_FORCE: po.force = 1; break;
		case O_BATCH:
			if (parse_uint(optarg, 10000000, &v) || !v)
				die(EXIT_USAGE, "--batch-rows must be a number from 1 to 10000000, not '%s'", optarg);
			po.batch_rows = (size_t)v;
			break;
		case 'q': quiet = 1; break;
		}
	}
	if (!to)
		cli_usage_error("--to clickhouse://HOST[:PORT]/DB is required");
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	meta.label_keys = (const char *const *)keys;
	meta.label_values = (const char *const *)values;
	struct ch_target target;
	char err[800], where[600];
	if (ch_target_from(to, user, &target, err, sizeof err))
		die(EXIT_USAGE, "--to: %s", err);
	ch_target_name(&target, where, sizeof where);

	size_t ntraces = (size_t)(argc - optind);
	struct loaded t;
	struct rd_error rerr;
	if (ntraces > 1)
		for (size_t i = 0; i < ntraces; i++)
			if (push_check(argv[optind + i], &rerr))
				die(EXIT_BAD_TRACE, "%s (nothing was pushed)", rerr.msg);

	struct ch *ch = ch_open(&target);
	struct progress prog = {.tty = !quiet && isatty(2)};
	po.progress = on_progress;
	po.progress_ctx = &prog;
	int prepared = 0;
	size_t pushed = 0;
	for (size_t i = 0; i < ntraces; i++) {
		const char *path = argv[optind + i];
		/* Loaded as every command loads a trace: the same warnings (damage,
		 * a cut tail...), and what they say is pushed with it (docs/FLEET.md). */
		if (cli_try_load(&co, &t, path, &rerr)) {
			if (pushed)
				die(EXIT_BAD_TRACE, "%s (%zu of %zu traces pushed before it)", rerr.msg, pushed, ntraces);
			die(EXIT_BAD_TRACE, "%s (nothing was pushed)", rerr.msg);
		}
		if (!prepared) {
			if (fleet_push_prepare(ch, &po, err, sizeof err))
				die(EXIT_BAD_TRACE, "%s: %s", where, err);
			prepared = 1;
		}
		struct fleet_trace ft;
		fleet_trace_build(&ft, &t);
		prog.path = path;
		struct push_result res;
		fleet_push(ch, &ft, &meta, &po, &res);
		if (res.outcome == PUSH_FAILED) {
			if (prog.tty)
				fputc('\n', stderr);
			die(EXIT_BAD_TRACE, "%s: pushing to %s: %s%s", path, where, res.err,
			    pushed ? " (the traces before it were pushed)" : "");
		}
		pushed++;
		char a[32], b[32], d[32];
		if (!quiet && res.outcome == PUSH_DONE)
			printf("%s: pushed as trace %016" PRIx64 " (%zu image%s, %s stacks, %s values) to %s\n", path, ft.id,
			       ft.nimages, ft.nimages == 1 ? "" : "s", fmt_count(a, ft.nstacks), fmt_count(b, ft.nvalues),
			       where);
		else if (!quiet)
			printf("%s: trace %016" PRIx64 " is already in %s with this content (%s rows); not pushed again\n",
			       path, ft.id, where, fmt_count(d, res.rows));
		fflush(stdout);
		fleet_trace_free(&ft);
		loaded_free(&t);
	}
	ch_close(ch);
	ch_target_free(&target);
	for (size_t i = 0; i < meta.nlabels; i++) {
		free(keys[i]);
		free(values[i]);
	}
	free(keys);
	free(values);
	cli_common_free(&co);
	return EXIT_OK;
}
