/*
 * test_ahead.c - reading ahead on a second thread (read/ahead.c) changes
 * nothing a visitor sees.
 *
 * One trace with every kind of callback, read with LDPROF_READ_THREADS=1
 * (the reader calls the visitor itself) and =2 (the reader on its own
 * thread, the visitor fed from chunks): every callback with everything it
 * points to is written down, and the two logs must be equal, with the same
 * return value, error and stats. Items larger than a chunk are the hard
 * case: a 600 KB command line is larger than the default 256 KiB chunk, and
 * with the chunk size (a test seam) lowered to 64 bytes every item is, the
 * 1024-frame stack and the 4000-byte paths included. Also cut short (a
 * truncated tail) and broken part way (an error after events).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "read/internal.h"
#include "trace_builder.h"

/* ---- a visitor that writes everything down ---- */

struct hint {
	uint64_t ptr;
	uint32_t stack;
	int alloc;
};

struct log {
	char *buf;
	size_t len;
	FILE *f;
	/* Prefetch hints not yet matched by their event, oldest first: each
	 * must name an event still to come, in delivery order. */
	struct hint hints[64];
	size_t nhints;
	uint64_t hinted; /* events that came as hinted */
};

static void l_segment(void *ctx, const struct rd_segment *s)
{
	FILE *f = ((struct log *)ctx)->f;
	fprintf(f, "segment %u %u.%u pid %llu exe %s cmdline %zu:%s host %s agent %s alloc %s mode %d shift %u\n",
		s->index, s->major, s->minor, (unsigned long long)s->pid, s->exe, strlen(s->cmdline), s->cmdline,
		s->hostname, s->agent_version, s->allocator, s->mode, s->seq_shift);
}

static void l_module(void *ctx, const struct rd_module *m)
{
	FILE *f = ((struct log *)ctx)->f;
	fprintf(f, "module %u base %llx path %s bid %u nseg %u lo %llx hi %llx\n", m->id,
		(unsigned long long)m->base, m->path, m->build_id_len, m->nseg, (unsigned long long)m->lo,
		(unsigned long long)m->hi);
}

static void l_stack(void *ctx, const struct rd_stack *s)
{
	FILE *f = ((struct log *)ctx)->f;
	fprintf(f, "stack %u flags %u depth %u:", s->id, s->flags, s->depth);
	for (unsigned i = 0; i < s->depth; i++)
		fprintf(f, " %llx", (unsigned long long)s->ips[i]);
	fputc('\n', f);
}

static void l_prefetch(void *ctx, uint64_t ptr, uint32_t stack, int alloc)
{
	struct log *l = ctx;
	assert_true(l->nhints < sizeof l->hints / sizeof *l->hints);
	l->hints[l->nhints++] = (struct hint){ptr, stack, alloc};
}

static void l_event(void *ctx, const struct rd_event *e)
{
	struct log *l = ctx;
	if (l->nhints && l->hints[0].ptr == e->ptr && l->hints[0].alloc == (e->kind == RD_EV_ALLOC) &&
	    (!l->hints[0].alloc || l->hints[0].stack == e->stack)) {
		memmove(l->hints, l->hints + 1, --l->nhints * sizeof *l->hints);
		l->hinted++;
	}
	fprintf(((struct log *)ctx)->f, "event %llu %llx %llu %llx %llu %u %u %u %u %u %u %u\n",
		(unsigned long long)e->seq, (unsigned long long)e->ptr, (unsigned long long)e->size,
		(unsigned long long)e->old_ptr, (unsigned long long)e->old_size, e->stack, e->tid, e->path, e->flags,
		e->prot, e->kind, e->op);
}

static void l_snapshot(void *ctx, const struct rd_snapshot *s)
{
	fprintf(((struct log *)ctx)->f, "snapshot %llu %u %s\n", (unsigned long long)s->seq, s->kind, s->label);
}

static void l_pause(void *ctx, const struct rd_pause *p)
{
	fprintf(((struct log *)ctx)->f, "pause %llu %d %u\n", (unsigned long long)p->seq, p->paused, p->cause);
}

static void l_sampling(void *ctx, const struct rd_sampling *s)
{
	fprintf(((struct log *)ctx)->f, "sampling %u %u %u %u %u\n", s->cpu_hz, s->wall_hz, s->clock, s->signal,
		s->status);
}

static void l_sample(void *ctx, const struct rd_sample *s)
{
	fprintf(((struct log *)ctx)->f, "sample %u %u %llu %llu %u %u %ld\n", s->kind, s->tid,
		(unsigned long long)s->time_us, (unsigned long long)s->weight_ns, s->stack, s->state, s->syscall);
}

static void l_lost(void *ctx, unsigned kind, uint64_t count)
{
	fprintf(((struct log *)ctx)->f, "lost %u %llu\n", kind, (unsigned long long)count);
}

static void l_thread(void *ctx, uint32_t tid, const char *name)
{
	fprintf(((struct log *)ctx)->f, "thread %u %s\n", tid, name);
}

static void l_path(void *ctx, uint32_t id, const char *path)
{
	fprintf(((struct log *)ctx)->f, "path %u %s\n", id, path);
}

static void l_rss(void *ctx, uint64_t time_us, uint64_t bytes)
{
	fprintf(((struct log *)ctx)->f, "rss %llu %llu\n", (unsigned long long)time_us, (unsigned long long)bytes);
}

static void l_end(void *ctx, const struct rd_end *e)
{
	fprintf(((struct log *)ctx)->f, "end %d %llu %d %d %d\n", e->reason, (unsigned long long)e->time_us,
		e->signal, e->running, e->continued);
}

struct outcome {
	struct log log;
	int rc;
	struct rd_stats st;
	struct rd_error err;
};

static void read_with(const struct tb *t, const char *threads, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	o->log.f = open_memstream(&o->log.buf, &o->log.len);
	struct rd_visitor v = {
		.ctx = &o->log, .segment_begin = l_segment, .module = l_module, .stack = l_stack,
		.event = l_event, .prefetch = l_prefetch, .snapshot = l_snapshot, .pause = l_pause, .sampling = l_sampling,
		.sample = l_sample, .lost = l_lost, .thread = l_thread, .path = l_path, .rss = l_rss,
		.segment_end = l_end,
	};
	if (threads)
		setenv("LDPROF_READ_THREADS", threads, 1);
	else
		unsetenv("LDPROF_READ_THREADS");
	o->rc = rd_read_mem(t->buf, t->len, "ahead.ldp", &v, &o->st, &o->err);
	unsetenv("LDPROF_READ_THREADS");
	fclose(o->log.f);
}

static void outcome_free(struct outcome *o)
{
	free(o->log.buf);
}

static void assert_same(const struct outcome *one, const struct outcome *two)
{
	assert_int_equal(two->rc, one->rc);
	assert_string_equal(two->err.msg, one->err.msg);
	assert_int_equal(two->log.len, one->log.len);
	assert_memory_equal(two->log.buf, one->log.buf, one->log.len);
	assert_int_equal(two->st.events, one->st.events);
}

/* The measured way (LDPROF_READ_THREADS unset): handing over after the
 * first window of 100 events (every threshold 0), and never (thresholds
 * out of reach): the same callbacks either way. */
static void check_measured(const struct tb *t, const struct outcome *one)
{
	uint64_t events = rd_ahead_decide_events;
	double share = rd_ahead_min_share, ns = rd_ahead_min_event_ns;
	rd_ahead_decide_events = 100;
	for (int never = 0; never < 2; never++) {
		rd_ahead_min_share = never ? 2 : 0;
		rd_ahead_min_event_ns = never ? 1e12 : 0;
		struct outcome m;
		read_with(t, NULL, &m);
		assert_same(one, &m);
		outcome_free(&m);
	}
	rd_ahead_decide_events = events;
	rd_ahead_min_share = share;
	rd_ahead_min_event_ns = ns;
}

/* Both ways, the same. @return the single-threaded log's length. */
static size_t check_same(const struct tb *t, int want_rc, int want_truncated)
{
	struct outcome one, two;
	read_with(t, "1", &one);
	read_with(t, "2", &two);
	check_measured(t, &one);
	if (one.rc != want_rc)
		print_error("%s\n", one.err.msg);
	assert_int_equal(one.rc, want_rc);
	assert_int_equal(two.rc, one.rc);
	assert_string_equal(two.err.msg, one.err.msg);
	assert_true(want_rc == 0 || strstr(one.err.msg, "record after the segment's END"));
	assert_int_equal(two.log.len, one.log.len);
	assert_memory_equal(two.log.buf, one.log.buf, one.log.len);
	assert_int_equal(two.st.bytes_read, one.st.bytes_read);
	assert_int_equal(two.st.frames, one.st.frames);
	assert_int_equal(two.st.records, one.st.records);
	assert_int_equal(two.st.events, one.st.events);
	assert_int_equal(two.st.samples, one.st.samples);
	assert_int_equal(one.st.truncated, want_truncated);
	assert_int_equal(two.st.truncated, one.st.truncated);
	assert_int_equal(two.st.truncated_at, one.st.truncated_at);
	assert_int_equal(two.st.late_events, one.st.late_events);
	/* Hints only where events are handed over, each for an event that came. */
	assert_int_equal(one.log.hinted, 0);
	assert_int_equal(one.log.nhints, 0);
	assert_int_equal(two.log.nhints, 0);
	assert_true(two.log.hinted > 0 || rd_ahead_chunk_bytes < 4096); /* (tiny chunks: runs of one) */
	size_t n = one.log.len;
	outcome_free(&one);
	outcome_free(&two);
	return n;
}

/* ---- the trace ---- */

static void hdr_field(uint8_t *p, size_t *n, unsigned tag, const void *val, size_t len)
{
	*n += ldp_varint_put(p + *n, tag);
	*n += ldp_varint_put(p + *n, len);
	memcpy(p + *n, val, len);
	*n += len;
}

static void hdr_num(uint8_t *p, size_t *n, unsigned tag, uint64_t v)
{
	uint8_t b[LDP_VARINT_MAX];
	hdr_field(p, n, tag, b, ldp_varint_put(b, v));
}

/* A segment header with a command line of cmdline_len bytes. */
static void header(struct tb *t, uint64_t pid, size_t cmdline_len)
{
	uint8_t *p = malloc(cmdline_len + 8192);
	size_t n = 0;
	memcpy(p, LDP_FILE_MAGIC, LDP_FILE_MAGIC_LEN);
	n = LDP_FILE_MAGIC_LEN;
	p[n++] = LDP_FORMAT_MAJOR;
	p[n++] = 0;
	p[n++] = LDP_FORMAT_MINOR;
	p[n++] = 0;
	hdr_num(p, &n, LDP_HDR_PID, pid);
	char exe[3001];
	memset(exe, 'e', sizeof exe - 1);
	exe[0] = '/';
	exe[sizeof exe - 1] = '\0';
	hdr_field(p, &n, LDP_HDR_EXE, exe, strlen(exe));
	char *cmd = malloc(cmdline_len + 1);
	for (size_t i = 0; i < cmdline_len; i++)
		cmd[i] = (char)('a' + i % 26);
	hdr_field(p, &n, LDP_HDR_CMDLINE, cmd, cmdline_len);
	free(cmd);
	hdr_field(p, &n, LDP_HDR_HOSTNAME, "builder", 7);
	hdr_field(p, &n, LDP_HDR_AGENT_VERSION, "9.9", 3);
	hdr_field(p, &n, LDP_HDR_ALLOCATOR, "glibc", 5);
	hdr_num(p, &n, LDP_HDR_MODE, LDP_MODE_FULL);
	tb_le32(t, LDP_SEGMENT_MAGIC);
	tb_le32(t, (uint32_t)n);
	tb_raw(t, p, n);
	free(p);
}

static char *long_name(char *buf, size_t len, char c, unsigned i)
{
	memset(buf, c, len);
	buf[0] = '/';
	buf[len] = '\0';
	snprintf(buf + 1, 8, "%u", i);
	buf[strlen(buf)] = c;
	return buf;
}

/* Rounds of 6000 events: several default chunks with the large items. */
#define ROUNDS 4
#define LOG_MIN (ROUNDS * 6000 * 40) /* an image's events in the log, at least */

/* One image: modules, stacks (one of the greatest depth), sampling set up,
 * thread names, file paths, samples, heap and mapped events in several
 * rounds (some the packed copy cannot hold), markers, then END. */
static void image(struct tb *t, uint64_t pid, size_t cmdline_len, unsigned end_reason)
{
	static uint8_t buf[1 << 20];
	char name[LDP_MAX_PATH_LEN + 1];
	header(t, pid, cmdline_len);
	for (unsigned i = 0; i < 3; i++) {
		struct ldp_module m = {.base = 0x400000 + 0x100000 * i, .nseg = 1,
				       .path = long_name(name, 4000, 'm', i)};
		m.seg[0] = (struct ldp_segment){0, 0x1000, LDP_SEG_R | LDP_SEG_X};
		tb_record(t, LDP_REC_MODULE, buf, ldp_enc_module(buf, i, &m));
	}
	static uintptr_t ips[LDP_MAX_STACK_DEPTH + 32]; /* stack id starts at ips + id */
	for (unsigned i = 0; i < LDP_MAX_STACK_DEPTH + 32; i++)
		ips[i] = 0x400000 + 16 * i;
	for (uint32_t id = 1; id <= 20; id++) {
		unsigned depth = id == 7 ? LDP_MAX_STACK_DEPTH : id % 5;
		tb_record(t, LDP_REC_STACK, buf, ldp_enc_stack(buf, id, 0, ips + id, depth));
	}
	tb_record(t, LDP_REC_SAMPLING, buf, ldp_enc_sampling(buf, 99, 0, 1, 27, 0));
	tb_record(t, LDP_REC_THREAD, buf, ldp_enc_thread(buf, 100, "a thread name of sixty-three characters, the longest there is.."));
	tb_record(t, LDP_REC_PATH, buf, ldp_enc_path(buf, 1, long_name(name, LDP_MAX_PATH_LEN, 'p', 1)));
	struct ldp_enc_state enc = {0}, enc1 = {0};
	uint64_t seq = 10, late = 0;
	for (unsigned round = 1; round <= ROUNDS; round++) {
		size_t k = ldp_varint_put(buf, 0);
		if (round == 1)
			k += ldp_enc_attach(buf + k, &enc, 100);
		uint64_t gaps[30];
		unsigned ngaps = 0;
		for (unsigned i = 0; i < 3000; i++) {
			if (i % 100 == 50)
				gaps[ngaps++] = ++seq; /* a second thread's, between these */
			uint64_t ptr = 0x10000 + 64 * (i % 700);
			k += ldp_enc_alloc(buf + k, &enc, LDP_EV_ALLOC_MALLOC + i % 3, ++seq, ptr, 8 + i % 100, 1 + i % 20);
			k += ldp_enc_free(buf + k, &enc, ++seq, ptr);
		}
		/* A size past 2^48 (packed: a 10-byte varint); fields packing has
		 * no room for (travelling whole). */
		k += ldp_enc_alloc(buf + k, &enc, LDP_EV_ALLOC_MALLOC, ++seq, 0x900000, UINT64_C(1) << 50, 7);
		k += ldp_enc_mmap(buf + k, &enc, ++seq, 0x7f0000000000, 1 << 20, 3, 0x22, 1, 7);
		k += ldp_enc_mremap(buf + k, &enc, ++seq, 0x7f0000000000, 1 << 20, 0x7f0000200000, 2 << 20, 3);
		k += ldp_enc_munmap(buf + k, &enc, ++seq, 0x7f0000200000, 2 << 20);
		k += ldp_enc_free(buf + k, &enc, ++seq, 0x900000);
		tb_record(t, LDP_REC_EVENTS3, buf, k);
		/* The second thread: merged between the first's events (the
		 * delivered stream changes thread 60 times a round), and from
		 * round 3 one event late, from round 1 (the stream goes back). */
		k = ldp_varint_put(buf, 1);
		if (round == 1) {
			k += ldp_enc_attach(buf + k, &enc1, 101);
			late = gaps[--ngaps];
		} else if (round == 3) {
			k += ldp_enc_alloc(buf + k, &enc1, LDP_EV_ALLOC_CALLOC, late, 0x800000, 24, 3);
		}
		for (unsigned g = 0; g < ngaps; g++)
			k += g % 2 ? ldp_enc_free(buf + k, &enc1, gaps[g], 0x810000)
				   : ldp_enc_alloc(buf + k, &enc1, LDP_EV_ALLOC_ALIGNED, gaps[g], 0x810000, 4096, 2 + g % 18);
		tb_record(t, LDP_REC_EVENTS3, buf, k);
		tb_record(t, LDP_REC_SAMPLE, buf, ldp_enc_sample(buf, LDP_SAMPLE_CPU, 100, round * 1000, 10101, 7, 0, -1));
		tb_record(t, LDP_REC_SNAPSHOT, buf, ldp_enc_snapshot(buf, seq - 3, LDP_SNAP_API, "mid-round"));
		tb_record(t, LDP_REC_PAUSE, buf, ldp_enc_pause(buf, seq - 2, round % 2, 1));
		tb_record(t, LDP_REC_RSS, buf, ldp_enc_rss(buf, 0, 4096 * round));
		tb_record(t, LDP_REC_LOST, buf, ldp_enc_lost(buf, LDP_SAMPLE_CPU, round));
		tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, round, round * 1000, seq + 1));
		tb_frame(t);
	}
	tb_record(t, LDP_REC_END, buf, ldp_enc_end(buf, end_reason, 9000));
	tb_frame(t);
}

/* Two images (an exec), the first with a command line larger than a
 * default chunk. */
static void trace(struct tb *t)
{
	image(t, 4242, 600000, LDP_END_EXEC);
	image(t, 4242, 30, LDP_END_EXIT);
}

static size_t default_chunk;

static int restore_chunk(void **state)
{
	(void)state;
	rd_ahead_chunk_bytes = default_chunk;
	return 0;
}

static void each_chunk_size(const struct tb *t, int want_rc, int want_truncated, size_t min_log)
{
	size_t sizes[] = {default_chunk, 64, 1000};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		rd_ahead_chunk_bytes = sizes[i];
		assert_true(check_same(t, want_rc, want_truncated) >= min_log);
	}
}

static void test_whole(void **state)
{
	(void)state;
	struct tb t = {0};
	trace(&t);
	each_chunk_size(&t, 0, 0, 2 * LOG_MIN);
	struct outcome one;
	read_with(&t, "1", &one);
	assert_int_equal(one.st.late_events, 2); /* one an image */
	outcome_free(&one);
	tb_free(&t);
}

/* Cut inside the second image: a truncated tail, everything before it. */
static void test_truncated(void **state)
{
	(void)state;
	struct tb t = {0};
	image(&t, 4242, 600000, LDP_END_EXEC);
	size_t first = t.len;
	image(&t, 4242, 30, LDP_END_EXIT);
	t.len = first + (t.len - first) / 2;
	each_chunk_size(&t, 0, 1, LOG_MIN);
	tb_free(&t);
}

/* A record after END: an error, and everything before it delivered. */
static void test_error(void **state)
{
	(void)state;
	struct tb t = {0};
	trace(&t);
	uint8_t buf[64];
	tb_record(&t, LDP_REC_RSS, buf, ldp_enc_rss(buf, 1, 1));
	tb_frame(&t);
	each_chunk_size(&t, -1, 0, 2 * LOG_MIN);
	tb_free(&t);
}

/* Site events (format 2.2: ptr 0, size and stack), frees too, travel
 * packed among address events and come out the same; each is hinted, as
 * only packed events are. */
static void test_site_events(void **state)
{
	(void)state;
	struct tb t = {0};
	static uint8_t buf[1 << 16];
	header(&t, 4242, 30);
	uintptr_t ips[21];
	for (unsigned i = 0; i < 21; i++)
		ips[i] = 0x400000 + 16 * i;
	for (uint32_t id = 1; id <= 20; id++)
		tb_record(&t, LDP_REC_STACK, buf, ldp_enc_stack(buf, id, 0, ips + id, 1));
	struct tb_ring r0, r1;
	uint64_t seq = 0, events = 0;
	for (unsigned round = 1; round <= 2; round++) {
		size_t k = ldp_varint_put(buf, 0), k1;
		if (round == 1)
			k += tb_attach(buf + k, &r0, 100);
		uint8_t b1[4096];
		k1 = ldp_varint_put(b1, 1);
		if (round == 1)
			k1 += tb_attach(b1 + k1, &r1, 101);
		for (unsigned i = 0; i < 2000; i++, events += 2) {
			uint32_t stack = 1 + i % 20;
			uint64_t size = 8 + i % 300, ptr = 0x10000 + 64 * (i % 500);
			if (i % 100 == 7 && k1 < sizeof b1 - 64) { /* the other thread's, between these */
				k1 += tb_site_plain(b1 + k1, &r1, LDP_EV_SALLOC_MALLOC + 1, ++seq, size, stack);
				k1 += tb_site_plain(b1 + k1, &r1, LDP_EV_SFREE, ++seq, size, stack);
				events += 2;
			}
			if (i % 4 == 0) { /* an address block: prev_ptr across the site events */
				k += tb_alloc2(buf + k, &r0, i % 3, ++seq, ptr, size, stack);
				k += tb_free2(buf + k, &r0, ++seq, ptr);
			} else {
				k += tb_alloc3(buf + k, &r0, i % 4, ++seq, size, stack);
				k += tb_free3(buf + k, &r0, i % 5 ? ++seq : seq, size, stack); /* (the same seq: 0, 0) */
			}
		}
		tb_record(&t, LDP_REC_EVENTS4, buf, k);
		tb_record(&t, LDP_REC_EVENTS4, b1, k1);
		tb_record(&t, LDP_REC_ROUND, buf, ldp_enc_round(buf, round, round * 1000, seq + 1));
		tb_frame(&t);
	}
	tb_record(&t, LDP_REC_END, buf, ldp_enc_end(buf, LDP_END_EXIT, 9000));
	tb_frame(&t);
	each_chunk_size(&t, 0, 0, events * 20);
	struct outcome one, two;
	read_with(&t, "1", &one);
	read_with(&t, "2", &two);
	assert_same(&one, &two);
	assert_int_equal(one.st.events, events);
	assert_non_null(strstr(one.log.buf, "event 3 0 9 0 0 2 100 0 0 0 1 17\n")); /* ALLOC3 kind 1 (calloc) */
	assert_non_null(strstr(one.log.buf, "event 4 0 9 0 0 2 100 0 0 0 2 32\n")); /* FREE3 of it */
	/* Runs break only at chunk ends: nearly every event hinted, site frees too. */
	assert_true(two.log.hinted > events * 9 / 10);
	outcome_free(&one);
	outcome_free(&two);
	tb_free(&t);
}

int main(void)
{
	default_chunk = rd_ahead_chunk_bytes;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_whole, restore_chunk),
		cmocka_unit_test_teardown(test_truncated, restore_chunk),
		cmocka_unit_test_teardown(test_error, restore_chunk),
		cmocka_unit_test_teardown(test_site_events, restore_chunk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
