/*
 * check.c - `ldprof check`: memory budgets for CI. Exit 0 when every budget
 * holds, 1 when one breaks (each broken budget printed with the measured
 * value and the limit), 2 for usage errors and unreadable traces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/report.h"
#include "out.h"
#include "render/json.h"
#include "render/report.h"
#include "render/units.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ldprof check TRACE [TRACE...] [BUDGETS] [--json]\n"
		"\n"
		"  --max-peak SIZE          highest live heap (sizes: 512KiB, 64MiB, 1.5GiB, 1000000)\n"
		"  --max-leaked SIZE        live at exit\n"
		"  --max-allocations N      allocating calls\n"
		"  --baseline OLD.ldp       compare with an earlier run...\n"
		"  --max-growth PCT         ...whose live heap at --at may grow by at most PCT percent\n"
		"  --at LABEL               the snapshot compared with the baseline (default: peak)\n"
		"\n"
		"exit status: 0 every budget holds, 1 a budget is broken, 2 usage or unreadable trace\n");
}

struct budget {
	const char *name;
	uint64_t measured, limit;
	int is_bytes, is_pct;
	double pct;
	int ok;
};

int cmd_check(int argc, char **argv)
{
	enum { O_PEAK = 256, O_LEAKED, O_ALLOCS, O_BASE, O_GROWTH, O_AT, O_JSON };
	static const struct option opts[] = {
		{"max-peak", required_argument, 0, O_PEAK},     {"max-leaked", required_argument, 0, O_LEAKED},
		{"max-allocations", required_argument, 0, O_ALLOCS}, {"baseline", required_argument, 0, O_BASE},
		{"max-growth", required_argument, 0, O_GROWTH}, {"at", required_argument, 0, O_AT},
		{"json", no_argument, 0, O_JSON},               {0, 0, 0, 0},
	};
	struct cli_common co = {.usage = usage};
	uint64_t max_peak = 0, max_leaked = 0, max_allocs = 0;
	int has_peak = 0, has_leaked = 0, has_allocs = 0, has_growth = 0, json = 0, c;
	double max_growth = 0;
	const char *baseline = NULL, *at = "peak";
	while ((c = cli_getopt(&co, argc, argv, opts)) != -1) {
		char *end;
		switch (c) {
		case O_PEAK:
			if (parse_size(optarg, &max_peak))
				die(EXIT_USAGE, "--max-peak needs a size such as 64MiB, not '%s'", optarg);
			has_peak = 1;
			break;
		case O_LEAKED:
			if (parse_size(optarg, &max_leaked))
				die(EXIT_USAGE, "--max-leaked needs a size such as 0 or 1KiB, not '%s'", optarg);
			has_leaked = 1;
			break;
		case O_ALLOCS:
			if (parse_uint(optarg, UINT64_MAX, &max_allocs))
				die(EXIT_USAGE, "--max-allocations needs a number, not '%s'", optarg);
			has_allocs = 1;
			break;
		case O_BASE: baseline = optarg; break;
		case O_GROWTH:
			max_growth = strtod(optarg, &end);
			if (end == optarg || (*end && strcmp(end, "%")) || max_growth < 0)
				die(EXIT_USAGE, "--max-growth needs a percentage such as 5 or 5%%, not '%s'", optarg);
			has_growth = 1;
			break;
		case O_AT: at = optarg; break;
		case O_JSON: json = 1; break;
		}
	}
	if (optind >= argc)
		cli_usage_error("which trace?");
	if (has_growth != (baseline != NULL))
		die(EXIT_USAGE, "--baseline and --max-growth go together");
	if (!has_peak && !has_leaked && !has_allocs && !has_growth)
		cli_usage_error("no budget given (--max-peak, --max-leaked, --max-allocations, --baseline/--max-growth)");

	co.so.quiet = 1; /* budgets need no symbols: no warnings about binaries */
	struct report r = {0};
	r.ntraces = (size_t)(argc - optind);
	r.traces = xcalloc(r.ntraces, sizeof *r.traces);
	for (size_t i = 0; i < r.ntraces; i++)
		cli_load(&co, &r.traces[i], argv[optind + i], EXIT_USAGE);
	report_sum(&r);

	struct budget b[4];
	size_t nb = 0;
	if (has_peak)
		b[nb++] = (struct budget){"max-peak", r.total.peak_bytes, max_peak, 1, 0, 0, 0};
	if (has_leaked)
		b[nb++] = (struct budget){"max-leaked", r.total.leaked_bytes, max_leaked, 1, 0, 0, 0};
	if (has_allocs)
		b[nb++] = (struct budget){"max-allocations", r.total.allocations, max_allocs, 0, 0, 0, 0};
	if (has_growth) {
		struct loaded base;
		cli_load(&co, &base, baseline, EXIT_USAGE);
		struct tm_snapshot now, then;
		if (tm_snapshot_select(&r.traces[0].m, at, &now) || tm_snapshot_select(&base.m, at, &then))
			die(EXIT_USAGE, "no snapshot '%s' in both traces (see: ldprof snapshots)", at);
		struct budget g = {"max-growth", now.live_bytes, then.live_bytes, 1, 1, 0, 0};
		g.pct = then.live_bytes ? 100.0 * ((double)now.live_bytes - (double)then.live_bytes) / (double)then.live_bytes
					: (now.live_bytes ? 1e300 : 0);
		b[nb++] = g;
		tm_snapshot_clear(&now);
		tm_snapshot_clear(&then);
		loaded_free(&base);
	}
	int broken = 0;
	for (size_t i = 0; i < nb; i++) {
		b[i].ok = b[i].is_pct ? b[i].pct <= max_growth : b[i].measured <= b[i].limit;
		broken |= !b[i].ok;
	}

	struct strbuf s = {0};
	char x[32], y[32];
	if (json) {
		json_t *o = json_object(), *a = json_array();
		json_object_set_new(o, "format", json_string("ldprof-check"));
		json_object_set_new(o, "version", json_integer(LDPR_JSON_VERSION));
		json_object_set_new(o, "ok", json_boolean(!broken));
		for (size_t i = 0; i < nb; i++) {
			json_t *budget = json_object();
			json_object_set_new(budget, "name", json_string(b[i].name));
			json_object_set_new(budget, "ok", json_boolean(b[i].ok));
			if (b[i].is_pct) {
				json_object_set_new(budget, "at", json_text(at));
				json_object_set_new(budget, "measured_bytes", json_u64(b[i].measured));
				json_object_set_new(budget, "baseline_bytes", json_u64(b[i].limit));
				json_object_set_new(budget, "growth_pct", json_fixed(b[i].pct > 1e299 ? 1e299 : b[i].pct, 3));
				json_object_set_new(budget, "limit_pct", json_fixed(max_growth, 3));
			} else {
				/* the unit in the name, as everywhere: bytes or a count */
				json_object_set_new(budget, b[i].is_bytes ? "measured_bytes" : "measured_count",
						    json_u64(b[i].measured));
				json_object_set_new(budget, b[i].is_bytes ? "limit_bytes" : "limit_count", json_u64(b[i].limit));
			}
			json_array_append_new(a, budget);
		}
		json_object_set_new(o, "budgets", a);
		/* the report's heap.estimated: null for a full-mode trace */
		json_t *heap = heap_totals_json(&r.total, r.peak_time_ns);
		json_object_set_new(o, "estimated", json_incref(json_object_get(heap, "estimated")));
		json_decref(heap);
		json_object_set_new(o, "live_now_bytes", json_u64(r.total.live_now_bytes));
		json_object_set_new(o, "missed", render_missed_json(&r));
		sb_json(&s, o);
		sb_putc(&s, '\n');
	} else {
		if (r.total.sample_bytes)
			sb_printf(&s, "note: sampled trace; the figures are estimates (docs/SAMPLING.md): record the CI run "
				      "in full mode for exact budgets\n");
		render_missed_text(&s, &r);
		if (r.total.live_now_count)
			sb_printf(&s, "note: still running: %s in %s blocks live now, not leaked (only images that ended "
				      "can leak)\n",
				  fmt_bytes(x, r.total.live_now_bytes), fmt_count(y, r.total.live_now_count));
		for (size_t i = 0; i < nb; i++) {
			const char *verdict = b[i].ok ? "ok    " : "BROKEN";
			if (b[i].is_pct)
				sb_printf(&s, "%s %s: live at %s %s, baseline %s: %+.1f%% (limit +%.1f%%)\n", verdict,
					  b[i].name, at, fmt_bytes(x, b[i].measured), fmt_bytes(y, b[i].limit),
					  b[i].pct > 1e299 ? 1e299 : b[i].pct, max_growth);
			else if (b[i].is_bytes)
				sb_printf(&s, "%s %s: %s %s %s\n", verdict, b[i].name, fmt_bytes(x, b[i].measured),
					  b[i].ok ? "<=" : ">", fmt_bytes(y, b[i].limit));
			else
				sb_printf(&s, "%s %s: %s %s %s\n", verdict, b[i].name, fmt_count(x, b[i].measured),
					  b[i].ok ? "<=" : ">", fmt_count(y, b[i].limit));
		}
	}
	out_write_or_die(NULL, s.s, s.len);
	sb_free(&s);
	for (size_t i = 0; i < r.ntraces; i++)
		loaded_free(&r.traces[i]);
	free(r.traces);
	cli_common_free(&co);
	return broken ? EXIT_BAD_TRACE : EXIT_OK;
}
