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
#include "render/units.h"
#include "util/util.h"

int cmd_snapshots(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': printf("usage: ldprof snapshots [--json] TRACE\n"); return EXIT_OK;
		default: die(EXIT_USAGE, "usage: ldprof snapshots [--json] TRACE");
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, "usage: ldprof snapshots [--json] TRACE");
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
	if (json)
		sb_printf(&b, "{\"trace\":");
	if (json) {
		sb_json_str(&b, m.path);
		sb_printf(&b, ",\"snapshots\":[");
	} else {
		sb_printf(&b, "%5s  %-24s %-9s %10s %14s %12s\n", "index", "selector", "kind", "time", "live", "blocks");
	}
	for (size_t i = 0; i <= m.nsnaps + 2; i++) {
		const struct tm_snapshot *s;
		char sel[LDP_MAX_LABEL_LEN + 32];
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
		if (index && s->occurrence > 1)
			snprintf(sel, sizeof sel, "%s#%u", s->label, s->occurrence);
		else
			snprintf(sel, sizeof sel, "%s", s->label);
		if (json) {
			sb_printf(&b, "%s{\"index\":%zu,\"label\":", i ? "," : "", index);
			sb_json_str(&b, s->label);
			sb_printf(&b, ",\"selector\":");
			sb_json_str(&b, sel);
			sb_printf(&b, ",\"kind\":\"%s\",\"time_ns\":%llu,\"live_bytes\":%llu,\"live_count\":%llu}",
				  index ? tm_snapshot_kind_name(s->kind) : "built-in", (unsigned long long)s->time_ns,
				  (unsigned long long)s->live_bytes, (unsigned long long)s->live_count);
		} else {
			char idx[32] = "-";
			if (index)
				snprintf(idx, sizeof idx, "@%zu", index);
			sb_printf(&b, "%5s  %-24s %-9s %9.3fs %14s %12s\n", idx, sel,
				  index ? tm_snapshot_kind_name(s->kind) : "built-in", (double)s->time_ns / 1e9,
				  fmt_bytes(x, s->live_bytes), fmt_count(y, s->live_count));
		}
	}
	if (json)
		sb_printf(&b, "]}\n");
	out_write_or_die(NULL, b.s, b.len);
	sb_free(&b);
	tm_snapshot_clear(&start);
	tm_snapshot_clear(&peak);
	tm_snapshot_clear(&end);
	tm_free(&m);
	return EXIT_OK;
}
