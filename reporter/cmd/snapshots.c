/*
 * snapshots.c - `ldprof snapshots TRACE`: the snapshots a trace holds, and
 * the three every trace has (start, peak, exit).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model/tmodel.h"
#include "out.h"
#include "render/json.h"
#include "render/report.h"
#include "render/units.h"
#include "util/util.h"

int cmd_snapshots(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int json = 0, c;
	while ((c = cli_getopt_long(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h':
			printf("usage: ldprof snapshots [--json] TRACE\n\n"
			       "The snapshots a trace holds (the program's, by signal, by interval), and the three\n"
			       "every trace has: start, peak, exit. Their selectors are what ldprof diff takes.\n\n"
			       "  --json            one JSON object (schema: docs/schema/snapshots.json)\n");
			return EXIT_OK;
		}
	}
	if (optind != argc - 1)
		cli_usage_error(optind < argc ? "one trace at a time" : "which trace?");
	struct tmodel m;
	struct rd_error err;
	if (tm_load(&m, argv[optind], &err))
		die(EXIT_BAD_TRACE, "%s", err.msg);

	struct strbuf b = {0};
	char x[32], y[32];
	/* The recorded ones in order, framed by the built-ins. */
	struct tm_snapshot start, peak, end;
	tm_snapshot_select(&m, "start", &start);
	tm_snapshot_select(&m, "peak", &peak);
	tm_snapshot_select(&m, "exit", &end);
	json_t *list = json_array();
	if (!json) {
		sb_printf(&b, "%5s  %-24s %-9s %10s %14s %12s\n", "index", "selector", "kind", "time", "live", "blocks");
	}
	for (size_t i = 0; i <= m.nsnaps + 2; i++) {
		const struct tm_snapshot *s;
		size_t index = 0;
		if (i == 0) {
			s = &start;
		} else if (i == m.nsnaps + 1) {
			s = &peak;
		} else if (i == m.nsnaps + 2) {
			s = &end;
		} else {
			s = &m.snaps[i - 1];
			index = s->index;
		}
		char sel[LDP_MAX_LABEL_LEN + 32];
		if (index && s->occurrence > 1)
			snprintf(sel, sizeof sel, "%s#%u", s->label, s->occurrence);
		else
			snprintf(sel, sizeof sel, "%s", s->label);
		if (json) {
			json_array_append_new(list, snapshot_json(s, !index));
		} else {
			char idx[32] = "-";
			if (index)
				snprintf(idx, sizeof idx, "@%zu", index);
			sb_printf(&b, "%5s  %-24s %-9s %9.3fs %14s %12s\n", idx, sel,
				  index ? tm_snapshot_kind_name(s->kind) : "built-in", (double)s->time_ns / 1e9,
				  fmt_bytes(x, s->live_bytes), fmt_count(y, s->live_count));
		}
	}
	if (json) {
		sb_json(&b, json_pack("{sssisoso}", "format", "ldprof-snapshots", "version", LDPR_JSON_VERSION, "trace",
				      json_text(m.path), "snapshots", list));
		sb_putc(&b, '\n');
	} else {
		json_decref(list);
	}
	out_write_or_die(NULL, b.s, b.len);
	sb_free(&b);
	tm_snapshot_clear(&start);
	tm_snapshot_clear(&peak);
	tm_snapshot_clear(&end);
	tm_free(&m);
	return EXIT_OK;
}
