/*
 * report.c - `ldprof report`: read -> tmodel -> text or JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model/tmodel.h"
#include "render/out.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof report [--json] [-o FILE] TRACE\n"
		   "\n"
		   "      --json       one JSON object (schema: docs/JSON.md)\n"
		   "  -o, --output F   write to F instead of standard output\n");
}

/* Totals over every image in the file; peak is the highest of them (images
 * follow each other in time), leaks count only images that ended by exit. */
static struct heap_totals sum_segments(const struct tmodel *m, uint64_t *peak_time_ns)
{
	struct heap_totals t = {0};
	*peak_time_ns = 0;
	for (size_t i = 0; i < m->nsegs; i++) {
		const struct heap_totals *s = &m->segs[i].heap.t;
		t.allocations += s->allocations;
		t.frees += s->frees;
		t.allocated_bytes += s->allocated_bytes;
		t.leaked_bytes += s->leaked_bytes;
		t.leaked_count += s->leaked_count;
		t.temporary += s->temporary;
		t.unknown_frees += s->unknown_frees;
		if (s->peak_bytes > t.peak_bytes) {
			t.peak_bytes = s->peak_bytes;
			t.peak_count = s->peak_count;
			uint64_t base = m->segs[i].info.start_monotonic_ns - m->segs[0].info.start_monotonic_ns;
			*peak_time_ns = base + s->peak_time_us * 1000;
		}
	}
	return t;
}

static void json_totals(struct strbuf *b, const struct heap_totals *t, uint64_t peak_time_ns)
{
	sb_printf(b,
		  "{\"allocations\":%llu,\"frees\":%llu,\"allocated_bytes\":%llu,\"peak_bytes\":%llu,"
		  "\"peak_count\":%llu,\"peak_time_ns\":%llu,\"leaked_bytes\":%llu,\"leaked_count\":%llu,"
		  "\"temporary\":%llu,\"unknown_frees\":%llu}",
		  (unsigned long long)t->allocations, (unsigned long long)t->frees,
		  (unsigned long long)t->allocated_bytes, (unsigned long long)t->peak_bytes,
		  (unsigned long long)t->peak_count, (unsigned long long)peak_time_ns,
		  (unsigned long long)t->leaked_bytes, (unsigned long long)t->leaked_count,
		  (unsigned long long)t->temporary, (unsigned long long)t->unknown_frees);
}

static void render_json(struct strbuf *b, const struct tmodel *m)
{
	uint64_t peak_ns;
	struct heap_totals t = sum_segments(m, &peak_ns);
	sb_printf(b, "{\"trace\":");
	sb_json_str(b, m->path);
	sb_printf(b, ",\"truncated\":%s,\"segments\":[", m->stats.truncated ? "true" : "false");
	for (size_t i = 0; i < m->nsegs; i++) {
		const struct tm_segment *s = &m->segs[i];
		sb_printf(b, "%s{\"pid\":%llu,\"exe\":", i ? "," : "", (unsigned long long)s->info.pid);
		sb_json_str(b, s->info.exe);
		sb_printf(b, ",\"cmdline\":");
		sb_json_str(b, s->info.cmdline);
		sb_printf(b, ",\"end\":");
		sb_json_str(b, tm_end_reason_name(s->end.reason));
		sb_printf(b, ",\"heap\":");
		json_totals(b, &s->heap.t, s->heap.t.peak_time_us * 1000);
		sb_printf(b, "}");
	}
	sb_printf(b, "],\"heap\":");
	json_totals(b, &t, peak_ns);
	sb_printf(b, "}\n");
}

static void render_text(struct strbuf *b, const struct tmodel *m)
{
	char x[32], y[32];
	uint64_t peak_ns;
	struct heap_totals t = sum_segments(m, &peak_ns);
	sb_printf(b, "trace %s\n", m->path);
	for (size_t i = 0; i < m->nsegs; i++) {
		const struct tm_segment *s = &m->segs[i];
		sb_printf(b, "  pid %llu  %s  (%s)\n", (unsigned long long)s->info.pid,
			  *s->info.cmdline ? s->info.cmdline : s->info.exe, tm_end_reason_name(s->end.reason));
	}
	if (m->stats.truncated)
		sb_printf(b, "  note: the trace ends inside a frame at byte %llu (process killed?); "
			     "everything before it is used\n",
			  (unsigned long long)m->stats.truncated_at);
	sb_printf(b, "\nheap\n");
	sb_printf(b, "  allocations  %14s   %s requested\n", fmt_count(x, t.allocations), fmt_bytes(y, t.allocated_bytes));
	sb_printf(b, "  frees        %14s\n", fmt_count(x, t.frees));
	sb_printf(b, "  peak         %14s   in %s blocks, at %.3f s\n", fmt_bytes(x, t.peak_bytes),
		  fmt_count(y, t.peak_count), (double)peak_ns / 1e9);
	sb_printf(b, "  leaked       %14s   in %s blocks\n", fmt_bytes(x, t.leaked_bytes), fmt_count(y, t.leaked_count));
	sb_printf(b, "  temporary    %14s   (%.1f%% of allocations)\n", fmt_count(x, t.temporary),
		  t.allocations ? 100.0 * (double)t.temporary / (double)t.allocations : 0.0);
	if (t.unknown_frees)
		sb_printf(b, "  (%s frees of blocks allocated before tracing began)\n", fmt_count(x, t.unknown_frees));
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'},
		{"output", required_argument, 0, 'o'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int json = 0, c;
	const char *output = NULL;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct tmodel m;
	struct rd_error err;
	if (tm_load(&m, argv[optind], &err))
		die(EXIT_BAD_TRACE, "%s", err.msg);
	if (m.stats.truncated)
		warnx1("%s ends inside a frame at byte %llu (the process was killed?); using everything before it",
		       argv[optind], (unsigned long long)m.stats.truncated_at);
	struct strbuf b = {0};
	if (json)
		render_json(&b, &m);
	else
		render_text(&b, &m);
	out_write_or_die(output, b.s, b.len);
	sb_free(&b);
	tm_free(&m);
	return EXIT_OK;
}
