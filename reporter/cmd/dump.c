/*
 * dump.c - `ldprof dump`: every segment header and record as one text line,
 * with its offsets, the way redis-check-rdb shows a dump. For debugging the
 * format and for bug reports; the layout of this output is not stable.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "read/internal.h"
#include "util/util.h"

struct dump {
	int events;
	int in_stack2; /* the record just printed is a STACK2: its stack follows (on_stack) */
	uint64_t ips[LDP_MAX_STACK_DEPTH];
};

static void on_segment(void *ctx, const struct rd_segment *s)
{
	(void)ctx;
	printf("SEGMENT %u  format %u.%u  pid %" PRIu64 "  ppid %" PRIu64 "  exe %s\n", s->index, s->major, s->minor,
	       s->pid, s->ppid, s->exe);
	printf("  cmdline %s\n  host %s  agent %s  mode %d  max_depth %u  seq_shift %u\n", s->cmdline, s->hostname,
	       s->agent_version, s->mode, s->max_depth, s->seq_shift);
	if (s->sample_bytes)
		printf("  sample_bytes %llu\n", (unsigned long long)s->sample_bytes);
	if (s->rotated)
		printf("  part %u%s  began at %llu us\n", s->part, s->continues ? " (continues the part before)" : "",
		       (unsigned long long)s->part_start_us);
}

/* The events of an EVENTS record, as the reader decoded them (--events). */
static void on_raw_event(void *ctx, uint32_t ring, uint32_t tid, const struct rd_event *ev)
{
	(void)ctx;
	(void)ring;
	if (!ev)
		printf("    attach tid %u\n", tid);
	else if (ev->kind == RD_EV_ALLOC && !ev->ptr) /* a site event (2.2): no address */
		printf("    alloc  seq %" PRIu64 "  site  size %" PRIu64 "  stack %u  op 0x%x\n", ev->seq, ev->size,
		       ev->stack, ev->op);
	else if (ev->kind == RD_EV_FREE && !ev->ptr)
		printf("    free   seq %" PRIu64 "  site  size %" PRIu64 "  stack %u\n", ev->seq, ev->size, ev->stack);
	else if (ev->kind == RD_EV_ALLOC)
		printf("    alloc  seq %" PRIu64 "  ptr 0x%" PRIx64 "  size %" PRIu64 "  stack %u  op 0x%x\n", ev->seq,
		       ev->ptr, ev->size, ev->stack, ev->op);
	else if (ev->kind == RD_EV_FREE)
		printf("    free   seq %" PRIu64 "  ptr 0x%" PRIx64 "\n", ev->seq, ev->ptr);
	else if (ev->kind == RD_EV_MMAP)
		printf("    mmap   seq %" PRIu64 "  ptr 0x%" PRIx64 "  size %" PRIu64 "  stack %u  path %u\n", ev->seq,
		       ev->ptr, ev->size, ev->stack, ev->path);
	else if (ev->kind == RD_EV_MUNMAP)
		printf("    munmap seq %" PRIu64 "  ptr 0x%" PRIx64 "  size %" PRIu64 "\n", ev->seq, ev->ptr, ev->size);
	else
		printf("    mremap seq %" PRIu64 "  ptr 0x%" PRIx64 "  size %" PRIu64 "  from 0x%" PRIx64 " size %" PRIu64
		       "  stack %u\n",
		       ev->seq, ev->ptr, ev->size, ev->old_ptr, ev->old_size, ev->stack);
}

/* A STACK2's whole stack, as the reader rebuilt it from its base: printed
 * as a STACK record is. */
static void on_stack(void *ctx, const struct rd_stack *s)
{
	struct dump *d = ctx;
	if (!d->in_stack2)
		return;
	d->in_stack2 = 0;
	printf("    = STACK %u depth %u%s:", s->id, s->depth, s->flags & LDP_STACK_TRUNCATED ? " (truncated)" : "");
	for (unsigned i = 0; i < s->depth; i++)
		printf(" 0x%" PRIx64, s->ips[i]);
	printf("\n");
}

static void on_raw(void *ctx, unsigned type, const uint8_t *p, size_t n, uint64_t frame, uint64_t off)
{
	struct dump *d = ctx;
	const char *why;
	printf("@%" PRIu64 "+%" PRIu64 " ", frame, off);
	switch (type) {
	case LDP_REC_MODULE: {
		struct rd_module m;
		if (rd_decode_module(p, n, &m, &why) == 0) {
			printf("MODULE %u base 0x%" PRIx64 " %s build-id ", m.id, m.base, m.path);
			for (unsigned i = 0; i < m.build_id_len; i++)
				printf("%02x", m.build_id[i]);
			printf(" segments %u\n", m.nseg);
			rd_module_clear(&m);
		} else
			printf("MODULE (bad: %s)\n", why);
		break;
	}
	case LDP_REC_STACK: {
		struct rd_stack s;
		if (rd_decode_stack(p, n, &s, d->ips, &why) == 0) {
			printf("STACK %u depth %u%s:", s.id, s.depth, s.flags & LDP_STACK_TRUNCATED ? " (truncated)" : "");
			for (unsigned i = 0; i < s.depth; i++)
				printf(" 0x%" PRIx64, s.ips[i]);
			printf("\n");
		} else
			printf("STACK (bad: %s)\n", why);
		break;
	}
	case LDP_REC_STACK2: {
		/* As written; the reader then rebuilds the whole stack (on_stack). */
		struct rd_stack2 s;
		uint64_t diffs[LDP_MAX_STACK_DEPTH];
		if (rd_decode_stack2(p, n, &s, diffs, &why) == 0) {
			printf("STACK2 id +%u  new %u  keep %u", s.id_delta, s.nnew, s.keep);
			if (s.keep)
				printf(" of stack id-%u", s.base_delta);
			printf("\n");
			d->in_stack2 = 1;
		} else
			printf("STACK2 (bad: %s)\n", why);
		break;
	}
	case LDP_REC_EVENTS:
	case LDP_REC_EVENTS2:
	case LDP_REC_EVENTS3:
	case LDP_REC_EVENTS4:
	case LDP_REC_EVENTS5:
		/* its events follow (on_raw_event) */
		printf("EVENTS %zu bytes%s\n", n,
		       type == LDP_REC_EVENTS4 ? " (EVENTS4)" : type == LDP_REC_EVENTS5 ? " (EVENTS5)" : "");
		break;
	case LDP_REC_ROUND: {
		uint64_t round, t, floor;
		if (rd_decode_round(p, n, &round, &t, &floor, &why) == 0)
			printf("ROUND %" PRIu64 " at %" PRIu64 " us, floor %" PRIu64 "\n", round, t, floor);
		else
			printf("ROUND (bad: %s)\n", why);
		break;
	}
	case LDP_REC_END: {
		struct rd_end e;
		if (rd_decode_end(p, n, &e, &why))
			printf("END (bad: %s)\n", why);
		else if (e.reason == LDP_END_SIGNAL)
			printf("END reason %d at %" PRIu64 " us, signal %d\n", e.reason, e.time_us, e.signal);
		else
			printf("END reason %d at %" PRIu64 " us\n", e.reason, e.time_us);
		break;
	}
	case LDP_REC_SAMPLE: {
		struct rd_sample x;
		if (rd_decode_sample(p, n, &x, &why) == 0)
			printf("SAMPLE %s tid %u at %" PRIu64 " us weight %" PRIu64 " ns stack %u state %u syscall %ld\n",
			       x.kind == LDP_SAMPLE_CPU ? "cpu" : "wall", x.tid, x.time_us, x.weight_ns, x.stack, x.state,
			       x.syscall);
		else
			printf("SAMPLE (bad: %s)\n", why);
		break;
	}
	case LDP_REC_SAMPLING: {
		struct rd_sampling x;
		if (rd_decode_sampling(p, n, &x, &why) == 0)
			printf("SAMPLING cpu %u Hz, wall %u Hz, clock %u, signal %u, status %u\n", x.cpu_hz, x.wall_hz,
			       x.clock, x.signal, x.status);
		else
			printf("SAMPLING (bad: %s)\n", why);
		break;
	}
	case LDP_REC_LOST: {
		unsigned kind;
		uint64_t count;
		if (rd_decode_lost(p, n, &kind, &count, &why) == 0)
			printf("LOST %llu %s\n", (unsigned long long)count,
			       kind == LDP_SAMPLE_CPU	? "CPU samples"
			       : kind == LDP_SAMPLE_WALL ? "wall samples"
			       : kind == LDP_SAMPLE_HEAP ? "heap samples (no room in the sample heap)"
			       : kind == LDP_LOST_NESTED_ALLOC ? "allocations in signal handlers that interrupted the agent"
			       : kind == LDP_LOST_NESTED_FREE  ? "frees in signal handlers that interrupted the agent"
							 : "samples of an unknown kind");
		else
			printf("LOST (bad: %s)\n", why);
		break;
	}
	case LDP_REC_THREAD: {
		uint32_t tid;
		char name[65];
		if (rd_decode_thread(p, n, &tid, name, &why) == 0)
			printf("THREAD %u %s\n", tid, name);
		else
			printf("THREAD (bad: %s)\n", why);
		break;
	}
	case LDP_REC_PATH: {
		uint32_t id;
		char path[LDP_MAX_PATH_LEN + 1];
		if (rd_decode_path(p, n, &id, path, &why) == 0)
			printf("PATH %u %s\n", id, path);
		else
			printf("PATH (bad: %s)\n", why);
		break;
	}
	case LDP_REC_RSS: {
		uint64_t us, bytes;
		if (rd_decode_rss(p, n, &us, &bytes, &why) == 0)
			printf("RSS %llu bytes at %llu us\n", (unsigned long long)bytes, (unsigned long long)us);
		else
			printf("RSS (bad: %s)\n", why);
		break;
	}
	case LDP_REC_RING: {
		uint64_t ring, seq, ptr;
		uint32_t tid;
		if (rd_decode_ring(p, n, &ring, &tid, &seq, &ptr, &why) == 0)
			printf("RING %llu tid %u seq %llu ptr 0x%llx\n", (unsigned long long)ring, tid,
			       (unsigned long long)seq, (unsigned long long)ptr);
		else
			printf("RING (bad: %s)\n", why);
		break;
	}
	default:
		printf("record type 0x%02x, %zu bytes (unknown, skipped)\n", type, n);
	}
}

static void ignore_event(void *ctx, const struct rd_event *e)
{
	(void)ctx;
	(void)e;
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{"events", no_argument, 0, 'e'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct dump d = {0};
	int c;
	while ((c = cli_getopt_long(argc, argv, "eh", opts)) != -1) {
		switch (c) {
		case 'e': d.events = 1; break;
		case 'h':
			printf("usage: ldprof dump [--events] TRACE\n\n"
			       "Every segment header and record of a trace as a line of text, with its offsets\n"
			       "(for debugging the format and for bug reports; the layout is not stable).\n\n"
			       "  -e, --events      the events of each EVENTS record too\n");
			return EXIT_OK;
		}
	}
	if (optind != argc - 1)
		cli_usage_error(optind < argc ? "one trace at a time" : "which trace?");
	struct rd_visitor v = {.ctx = &d, .segment_begin = on_segment, .event = ignore_event, .raw_record = on_raw,
			       .stack = on_stack};
	if (d.events)
		v.raw_event = on_raw_event;
	struct rd_stats st;
	struct rd_error err;
	int rc = rd_read_file(argv[optind], &v, &st, &err);
	fflush(stdout);
	if (rc)
		die(EXIT_BAD_TRACE, "%s", err.msg);
	printf("%" PRIu64 " bytes, %" PRIu64 " frames, %" PRIu64 " records, %" PRIu64 " events%s\n", st.bytes_read,
	       st.frames, st.records, st.events, st.truncated ? " (truncated)" : "");
	if (st.damaged)
		printf("damaged: %s; %" PRIu64 " bytes skipped from byte %" PRIu64 " on (%" PRIu64
		       " places), %" PRIu64 " events dropped\n",
		       st.damage_why, st.skipped_bytes, st.damaged_at, st.damaged, st.dropped_events);
	/* How much the merge had to hold (read/merge.c): rounds' sizes. */
	printf("merge: at most %" PRIu64 " events waiting, %" PRIu64 " bytes of them in memory; %" PRIu64
	       " spills to a temporary file (%" PRIu64 " bytes); %" PRIu64 " late, %" PRIu64 " out of order\n",
	       st.max_queued, st.max_queued_bytes, st.spills, st.spilled_bytes, st.late_events, st.unordered_events);
	return EXIT_OK;
}
