/*
 * reader.c - records to visitor callbacks.
 *
 * Per segment it checks that modules and stacks are defined in order before
 * use and hands each ring's event bytes to the merge (merge.c), which puts
 * every ring's events into sequence order:
 *
 *   records --> modules, stacks, samples...: straight to the visitor
 *           --> EVENTS: merge queue --(release below a watermark)--> visitor->event
 *
 * The watermark after round r is the time floor the writer read at the start
 * of round r-1: every event with a smaller seq was committed before round r
 * read the rings, unless its thread stalled mid-event for a whole round. Such
 * a late event is delivered at the next release and counted in
 * stats.late_events; the models stay exact for it because they match frees to
 * allocations by address and sequence, not by arrival. A trace whose rounds
 * never come (a hostile file: 20 KB of zstd can hold 100 million events and
 * no ROUND) only makes the merge move more to its temporary file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"
#include "read/stackstore.h"
#include "ldprof/varint.h"
#include "util/util.h"

/* After damage, stack ids may jump over the lost ones: by at most this many. */
#define MAX_LOST_STACKS (1u << 20)

struct reader {
	const struct rd_visitor *v;
	struct rd_stats *st;
	const char *name;
	int in_segment;
	unsigned seg_index;
	struct rd_segment seg;
	uint32_t next_stack, next_module;
	uint64_t *ips;
	uint64_t *diffs;            /* a STACK2 record's frames as written */
	struct rd_stack_store stacks; /* a 2.x segment's stacks, for STACK2 bases */
	int keep_stacks;            /* the segment is 2.x */
	uint32_t frame_last_stack;  /* the id of the frame's last STACK2 */
	uint64_t prev_floor;
	int ended;
	int damaged; /* damage since the segment began (or since its END) */
	int joined;  /* a later part of a rotated trace continues this segment: its
		      * re-declared modules and stacks are the ones already known */
	/* the record being assembled in the current frame */
	uint8_t *rec;
	size_t rec_len, rec_cap;
	uint64_t frame_off, frame_pos;
	struct rd_merge merge;
	unsigned seq_shift;
};

static int fail(struct reader *r, struct rd_error *err, const char *what)
{
	snprintf(err->msg, sizeof err->msg, "%s: frame at byte %llu, record at +%llu: %s", r->name,
		 (unsigned long long)r->frame_off, (unsigned long long)r->frame_pos, what);
	return -1;
}

static void reader_init_stacks(struct reader *r)
{
	r->ips = xmalloc(LDP_MAX_STACK_DEPTH * sizeof *r->ips);
	r->diffs = xmalloc(LDP_MAX_STACK_DEPTH * sizeof *r->diffs);
	rd_stacks_init(&r->stacks);
}

static void reader_fini_stacks(struct reader *r)
{
	free(r->ips);
	free(r->diffs);
	rd_stacks_fini(&r->stacks);
}

/* ---- segments ---- */

static void end_segment(struct reader *r, const struct rd_end *end)
{
	if (!r->in_segment)
		return;
	rd_merge_end(&r->merge);
	struct rd_end none = {.reason = 0};
	if (r->v->segment_end)
		r->v->segment_end(r->v->ctx, end ? end : &none);
	rd_segment_clear(&r->seg);
	r->in_segment = 0;
	r->seg_index++;
}

static void begin_segment(struct reader *r)
{
	r->seg.index = r->seg_index;
	r->seq_shift = r->seg.seq_shift;
	r->in_segment = 1;
	r->ended = 0;
	r->damaged = 0;
	r->next_stack = 1;
	r->keep_stacks = r->seg.major >= 2;
	rd_stacks_reset(&r->stacks);
	r->next_module = 0;
	r->prev_floor = 0;
	r->joined = 0;
	if (r->v->segment_begin)
		r->v->segment_begin(r->v->ctx, &r->seg);
}

static int on_header(void *ctx, const uint8_t *p, size_t n, uint64_t off, struct rd_error *err)
{
	struct reader *r = ctx;
	const char *why = NULL;
	struct rd_segment next;
	if (rd_decode_header(p, n, &next, &why)) {
		snprintf(err->msg, sizeof err->msg, "%s: segment header at byte %llu: %s", r->name,
			 (unsigned long long)off, why);
		return -1;
	}
	if (next.continues && r->in_segment && !r->ended && next.pid == r->seg.pid &&
	    next.proc_start_ticks == r->seg.proc_start_ticks && next.start_monotonic_ns == r->seg.start_monotonic_ns) {
		/* The next part of a rotated trace: the same image goes on. */
		rd_segment_clear(&next);
		r->joined = 1;
		return 0;
	}
	/* Only the same process appends a segment, after an exec: that is how
	 * the previous image ended. */
	struct rd_end by_exec = {.reason = LDP_END_EXEC};
	end_segment(r, &by_exec);
	r->seg = next;
	begin_segment(r);
	return 0;
}

/* Frames after an image's END and some damage: the next image's segment
 * header was lost. Its records are read as an image of their own, with
 * what the header would have said unknown. */
static void begin_headless_segment(struct reader *r)
{
	memset(&r->seg, 0, sizeof r->seg);
	r->seg.major = LDP_FORMAT_MAJOR;
	r->seg.seq_shift = LDP_SEQ_SHIFT;
	r->seg.exe = xstrdup("");
	r->seg.cmdline = xstrdup("(segment header lost to damage)");
	r->seg.hostname = xstrdup("");
	r->seg.agent_version = xstrdup("");
	r->seg.allocator = xstrdup("");
	begin_segment(r);
	rd_merge_lose(&r->merge); /* its first frames may be lost too */
}

/* ---- records ---- */

static int on_events(struct reader *r, const uint8_t *p, size_t n, int quanta, struct rd_error *err)
{
	uint64_t ring;
	const char *why = NULL;
	size_t k = ldp_varint_get(p, p + n, &ring);
	if (!k)
		return fail(r, err, "EVENTS record without a ring id");
	if (rd_merge_events(&r->merge, ring, p + k, n - k, quanta, r->next_stack, &why))
		return fail(r, err, why);
	return 0;
}

/* Stack ids come in order. After damage the ones in between were lost:
 * they are defined empty (no frames), so ids stay indices.
 * @return 0 go on, 1 skip the record (re-declared by a later part: known),
 * -1 out of sequence. */
static int stack_in_order(struct reader *r, uint64_t id)
{
	if (r->joined && id < r->next_stack)
		return 1;
	if (id == r->next_stack)
		return 0;
	if (!r->merge.damaged || id < r->next_stack || id - r->next_stack > MAX_LOST_STACKS)
		return -1;
	struct rd_stack lost = {.ips = r->ips};
	for (; r->next_stack < id; r->next_stack++) {
		lost.id = r->next_stack;
		if (r->keep_stacks)
			rd_stacks_add_whole(&r->stacks, r->ips, 0);
		if (r->v->stack)
			r->v->stack(r->v->ctx, &lost);
	}
	return 0;
}

/* STACK2: its id follows the frame's previous one; its outer frames are
 * those of an earlier stack (docs/FORMAT.md). */
static int on_stack2(struct reader *r, const uint8_t *p, size_t n, struct rd_error *err)
{
	const char *why = NULL;
	struct rd_stack2 d;
	if (!r->keep_stacks)
		return fail(r, err, "STACK2 record in a format 1 segment");
	if (rd_decode_stack2(p, n, &d, r->diffs, &why))
		return fail(r, err, why);
	uint64_t id = (uint64_t)r->frame_last_stack + d.id_delta;
	if (id > UINT32_MAX)
		return fail(r, err, "stack id out of range");
	r->frame_last_stack = (uint32_t)id;
	int order = stack_in_order(r, id);
	if (order)
		return order > 0 ? 0 : fail(r, err, "stack id out of sequence");
	uint32_t base = 0;
	if (d.keep) {
		if (d.base_delta >= id)
			return fail(r, err, "stack base out of range");
		base = (uint32_t)(id - d.base_delta);
		if (rd_stacks_depth(&r->stacks, base) < d.keep) {
			if (!r->merge.damaged)
				return fail(r, err, "stack keeps more frames than its base has");
			d.nnew = d.keep = 0; /* its base was lost to damage: so is it */
		}
	}
	rd_stacks_add(&r->stacks, base, d.keep, r->diffs, d.nnew, r->ips);
	r->next_stack++;
	struct rd_stack s = {.id = (uint32_t)id, .flags = d.flags, .depth = d.nnew + d.keep, .ips = r->ips};
	if (r->v->stack)
		r->v->stack(r->v->ctx, &s);
	return 0;
}

static int on_record(struct reader *r, unsigned type, const uint8_t *p, size_t n, struct rd_error *err)
{
	const char *why = NULL;
	r->st->records++;
	if (r->v->raw_record)
		r->v->raw_record(r->v->ctx, type, p, n, r->frame_off, r->frame_pos);
	if (r->ended)
		return fail(r, err, "record after the segment's END");
	switch (type) {
	case LDP_REC_MODULE: {
		struct rd_module m;
		if (rd_decode_module(p, n, &m, &why))
			return fail(r, err, why);
		if (r->joined && m.id < r->next_module) {
			rd_module_clear(&m); /* re-declared by a later part: known */
			return 0;
		}
		if (m.id != r->next_module && !(r->merge.damaged && m.id > r->next_module)) {
			rd_module_clear(&m);
			return fail(r, err, "module id out of sequence");
		}
		/* After damage the modules in between were lost: addresses in
		 * them stay unsymbolized. */
		r->next_module = m.id + 1;
		if (r->v->module)
			r->v->module(r->v->ctx, &m);
		rd_module_clear(&m);
		return 0;
	}
	case LDP_REC_STACK: {
		struct rd_stack s;
		if (rd_decode_stack(p, n, &s, r->ips, &why))
			return fail(r, err, why);
		int order = stack_in_order(r, s.id);
		if (order)
			return order > 0 ? 0 : fail(r, err, "stack id out of sequence");
		if (r->keep_stacks)
			rd_stacks_add_whole(&r->stacks, s.ips, s.depth);
		r->next_stack++;
		if (r->v->stack)
			r->v->stack(r->v->ctx, &s);
		return 0;
	}
	case LDP_REC_STACK2:
		return on_stack2(r, p, n, err);
	case LDP_REC_EVENTS:
	case LDP_REC_EVENTS2:
	case LDP_REC_EVENTS3:
	case LDP_REC_EVENTS4:
	case LDP_REC_EVENTS5:
		/* EVENTS3 on: a model op's seq may be floor quanta. */
		return on_events(r, p, n, type >= LDP_REC_EVENTS3, err);
	case LDP_REC_ROUND: {
		uint64_t round, time_us, floor;
		if (rd_decode_round(p, n, &round, &time_us, &floor, &why))
			return fail(r, err, why);
		rd_merge_release(&r->merge, r->prev_floor);
		r->st->last_round_us = time_us;
		if (floor > r->prev_floor)
			r->prev_floor = floor;
		return 0;
	}
	case LDP_REC_SNAPSHOT: {
		struct rd_snapshot snap;
		if (rd_decode_snapshot(p, n, &snap, &why))
			return fail(r, err, why);
		if (!snap.kind)
			snap.kind = LDP_SNAP_API; /* 0 marks RSS readings here */
		rd_merge_marker(&r->merge, &(struct rd_marker){.snap = snap});
		return 0;
	}
	case LDP_REC_PAUSE: {
		struct rd_pause x;
		if (rd_decode_pause(p, n, &x, &why))
			return fail(r, err, why);
		rd_merge_marker(&r->merge, &(struct rd_marker){.snap = {.seq = x.seq, .kind = RD_MARK_PAUSE}, .pause = x});
		return 0;
	}
	case LDP_REC_SAMPLE: {
		struct rd_sample x;
		if (rd_decode_sample(p, n, &x, &why))
			return fail(r, err, why);
		if (x.stack >= r->next_stack) {
			if (!r->merge.damaged)
				return fail(r, err, "sample refers to a stack id that was never defined");
			x.stack = 0; /* its STACK record was in a damaged part */
		}
		r->st->samples++;
		if (r->v->sample)
			r->v->sample(r->v->ctx, &x);
		return 0;
	}
	case LDP_REC_SAMPLING: {
		struct rd_sampling x;
		if (rd_decode_sampling(p, n, &x, &why))
			return fail(r, err, why);
		if (r->v->sampling)
			r->v->sampling(r->v->ctx, &x);
		return 0;
	}
	case LDP_REC_LOST: {
		unsigned kind;
		uint64_t count;
		if (rd_decode_lost(p, n, &kind, &count, &why))
			return fail(r, err, why);
		if (r->v->lost)
			r->v->lost(r->v->ctx, kind, count);
		return 0;
	}
	case LDP_REC_THREAD: {
		uint32_t tid;
		char name[65];
		if (rd_decode_thread(p, n, &tid, name, &why))
			return fail(r, err, why);
		if (r->v->thread)
			r->v->thread(r->v->ctx, tid, name);
		return 0;
	}
	case LDP_REC_PATH: {
		uint32_t id;
		char path[LDP_MAX_PATH_LEN + 1];
		if (rd_decode_path(p, n, &id, path, &why))
			return fail(r, err, why);
		if (r->v->path)
			r->v->path(r->v->ctx, id, path);
		return 0;
	}
	case LDP_REC_RSS: {
		uint64_t t, bytes;
		if (rd_decode_rss(p, n, &t, &bytes, &why))
			return fail(r, err, why);
		struct rd_marker m = {.rss_time_us = t, .rss_bytes = bytes};
		m.snap.seq = t << r->seq_shift;
		rd_merge_marker(&r->merge, &m);
		return 0;
	}
	case LDP_REC_RING: {
		uint64_t ring;
		struct rd_ring_dec st;
		if (rd_decode_ring_state(p, n, &ring, &st, &why) || rd_merge_ring_state(&r->merge, ring, &st, &why))
			return fail(r, err, why);
		return 0;
	}
	case LDP_REC_END: {
		struct rd_end end;
		if (rd_decode_end(p, n, &end, &why))
			return fail(r, err, why);
		end_segment(r, &end);
		r->ended = 1;
		return 0;
	}
	default:
		return 0; /* unknown record types are skipped by length */
	}
}

static int on_frame_begin(void *ctx, uint64_t off)
{
	struct reader *r = ctx;
	r->frame_off = off;
	r->frame_pos = 0;
	r->frame_last_stack = 0;
	r->rec_len = 0;
	return 0;
}

static int on_frame_data(void *ctx, const uint8_t *p, size_t n, struct rd_error *err)
{
	struct reader *r = ctx;
	if (!r->in_segment && r->ended && r->damaged)
		begin_headless_segment(r);
	if (!r->in_segment && !r->ended)
		return fail(r, err, "data before any segment header");
	vec_reserve((void **)&r->rec, &r->rec_cap, r->rec_len + n, 1);
	memcpy(r->rec + r->rec_len, p, n);
	r->rec_len += n;
	size_t pos = 0;
	while (pos < r->rec_len) {
		const uint8_t *rp = r->rec + pos, *end = r->rec + r->rec_len;
		uint64_t len;
		size_t k = end - rp > 1 ? ldp_varint_get(rp + 1, end, &len) : 0;
		if (!k) {
			if (end - rp > 1 + LDP_VARINT_MAX)
				return fail(r, err, "malformed record length");
			break;
		}
		if (len > LDP_MAX_RECORD_LEN)
			return fail(r, err, "record longer than the format allows");
		if ((uint64_t)(end - rp) < 1 + k + len)
			break;
		if (on_record(r, rp[0], rp + 1 + k, (size_t)len, err))
			return -1;
		pos += 1 + k + len;
		r->frame_pos += 1 + k + len;
	}
	memmove(r->rec, r->rec + pos, r->rec_len - pos);
	r->rec_len -= pos;
	return 0;
}

static void on_damage(void *ctx, uint64_t at, uint64_t resume)
{
	struct reader *r = ctx;
	(void)at;
	(void)resume;
	r->rec_len = 0; /* a record cut by the damage */
	r->damaged = 1;
	if (r->in_segment && !r->ended)
		rd_merge_lose(&r->merge);
}

static int on_frame_end(void *ctx, struct rd_error *err)
{
	struct reader *r = ctx;
	if (r->rec_len)
		return fail(r, err, "record crosses the end of its frame");
	return 0;
}

/* Read inputs in[0..n) as one trace: the parts of a rotated trace, in order. */
static int run(struct rd_input *in, size_t n, int next_part, const struct rd_visitor *v, struct rd_stats *stats,
	       struct rd_error *err)
{
	struct reader r = {.v = v, .st = stats, .name = in->name};
	memset(stats, 0, sizeof *stats);
	rd_merge_init(&r.merge, v, stats);
	err->msg[0] = '\0';
	reader_init_stacks(&r);
	struct rd_source_cb cb = {on_header, on_frame_begin, on_frame_data, on_frame_end, on_damage};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		r.name = in[i].name;
		rc = rd_source_run(&in[i], &cb, &r, stats, err);
	}
	if (rc == 0 && r.in_segment) {
		/* No END: killed, or still running (a trace read while the process runs). */
		struct rd_end none = {0};
		none.continued = next_part;
		none.running = !next_part && rd_segment_running(&r.seg);
		end_segment(&r, &none);
	}
	else
		rd_segment_clear(&r.seg);
	rd_merge_fini(&r.merge);
	free(r.rec);
	reader_fini_stacks(&r);
	return rc;
}

/* run() as an rd_read_fn, for ahead.c's reading thread. */
struct run_args {
	struct rd_input *in;
	size_t n;
	int next_part;
};

static int run_fn(void *arg, const struct rd_visitor *v, struct rd_stats *stats, struct rd_error *err)
{
	struct run_args *a = arg;
	return run(a->in, a->n, a->next_part, v, stats, err);
}

/* run(), on a reading thread of its own when that pays (ahead.c). */
static int run_maybe_ahead(struct rd_input *in, size_t n, int next_part, uint64_t bytes,
			   const struct rd_visitor *v, struct rd_stats *stats, struct rd_error *err)
{
	enum rd_ahead_how how = rd_ahead_wanted(v, bytes);
	if (how == RD_AHEAD_NO)
		return run(in, n, next_part, v, stats, err);
	struct run_args a = {in, n, next_part};
	return rd_ahead_run(run_fn, &a, v, how, stats, err);
}

/* ---- following a trace still being written (ldprof top) ---- */

struct follow_ctx {
	const struct rd_follow *f;
	const char *next_path; /* the next part's name, "" when not rotated */
};

/* At the end of the file: a rotated trace that went on in the next part is
 * done with this one (the writer ended its frame before starting the next);
 * else the caller decides whether to wait. */
static int follow_caught_up(void *ctx)
{
	struct follow_ctx *fc = ctx;
	if (*fc->next_path && access(fc->next_path, F_OK) == 0)
		return 0;
	return fc->f->caught_up(fc->f->ctx);
}

int rd_follow_file(const char *path, const struct rd_visitor *v, const struct rd_follow *f, struct rd_stats *stats,
		   struct rd_error *err)
{
	struct rd_parts ps;
	rd_parts_find(path, &ps);
	struct reader r = {.v = v, .st = stats, .name = path};
	memset(stats, 0, sizeof *stats);
	rd_merge_init(&r.merge, v, stats);
	err->msg[0] = '\0';
	reader_init_stacks(&r);
	struct rd_source_cb cb = {on_header, on_frame_begin, on_frame_data, on_frame_end, on_damage};
	int rc = 0;
	/* Later parts are named from part 0's name (given, or deleted by --keep). */
	int rotated = ps.rotated && (ps.first == 0 || ps.missing);
	char cur[4096], next[4096];
	snprintf(cur, sizeof cur, "%s", ps.paths[0]);
	for (unsigned k = ps.first;; k++) {
		next[0] = '\0';
		if (rotated && rd_part_path(next, sizeof next, path, k + 1))
			next[0] = '\0';
		FILE *file = fopen(cur, "rb");
		if (!file) {
			snprintf(err->msg, sizeof err->msg, "%.400s: %m", cur);
			rc = -1;
			break;
		}
		struct follow_ctx fc = {f, next};
		struct rd_input in = {.f = file, .name = cur, .caught_up = follow_caught_up, .caught_up_ctx = &fc};
		r.name = cur;
		rc = rd_source_run(&in, &cb, &r, stats, err);
		fclose(file);
		if (rc || !*next || access(next, F_OK) != 0)
			break;
		snprintf(cur, sizeof cur, "%s", next);
	}
	if (rc == 0 && r.in_segment) {
		struct rd_end none = {0};
		none.running = rd_segment_running(&r.seg);
		end_segment(&r, &none);
	} else {
		rd_segment_clear(&r.seg);
	}
	rd_merge_fini(&r.merge);
	free(r.rec);
	reader_fini_stacks(&r);
	rd_parts_free(&ps);
	return rc;
}

int rd_segment_running(const struct rd_segment *seg)
{
	if (!seg->pid || !seg->proc_start_ticks || !seg->hostname || !*seg->hostname || seg->pid > INT32_MAX)
		return 0;
	struct utsname u;
	if (uname(&u) || strcmp(u.nodename, seg->hostname))
		return 0;
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)seg->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: fields count from the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	int field = 2;
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	unsigned long long start = strtoull(p, NULL, 10);
	return start == seg->proc_start_ticks;
}

int rd_read_file(const char *path, const struct rd_visitor *v, struct rd_stats *stats, struct rd_error *err)
{
	struct rd_parts ps;
	rd_parts_find(path, &ps);
	struct rd_input *in = xcalloc(ps.n, sizeof *in);
	int rc = -1;
	size_t opened = 0;
	uint64_t bytes = 0; /* UINT64_MAX: not a regular file (a pipe may be long) */
	for (; opened < ps.n; opened++) {
		FILE *f = fopen(ps.paths[opened], "rb");
		if (!f) {
			snprintf(err->msg, sizeof err->msg, "%s: %m", ps.paths[opened]);
			goto out;
		}
		in[opened] = (struct rd_input){.f = f, .name = ps.paths[opened]};
		struct stat st;
		if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
			bytes = UINT64_MAX;
			continue;
		}
		if (bytes != UINT64_MAX)
			bytes += (uint64_t)st.st_size;
		/* Long reads say how far they are, when someone is watching. */
		if (isatty(STDERR_FILENO)) {
			in[opened].size = (uint64_t)st.st_size;
			in[opened].progress = in[opened].size >= (64u << 20);
		}
	}
	rc = run_maybe_ahead(in, ps.n, ps.next_exists, bytes, v, stats, err);
	stats->rotated = ps.rotated;
	stats->parts = (unsigned)ps.n;
	stats->first_part = ps.first;
	stats->last_part = ps.last;
	stats->parts_missing = ps.missing;
	stats->next_part = ps.next_exists;
out:
	for (size_t i = 0; i < opened; i++)
		fclose(in[i].f);
	free(in);
	rd_parts_free(&ps);
	return rc;
}

int rd_read_mem(const uint8_t *data, size_t len, const char *name, const struct rd_visitor *v,
		struct rd_stats *stats, struct rd_error *err)
{
	struct rd_input in = {.mem = data, .mem_len = len, .name = name};
	return run_maybe_ahead(&in, 1, 0, len, v, stats, err);
}

int rd_read_first_header(const char *path, struct rd_segment *seg, struct rd_error *err)
{
	memset(seg, 0, sizeof *seg);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err->msg, sizeof err->msg, "%s: %m", path);
		return -1;
	}
	uint8_t h[8];
	uint8_t *p = NULL;
	int rc = -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
		snprintf(err->msg, sizeof err->msg, "%s: not an ldprof trace", path);
		goto out;
	}
	uint32_t magic = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	uint32_t size = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
	const char *why;
	if (magic != LDP_SEGMENT_MAGIC || size > LDP_MAX_HEADER_LEN || !(p = malloc(size ? size : 1)) ||
	    pread(fd, p, size, sizeof h) != (ssize_t)size || rd_decode_header(p, size, seg, &why)) {
		snprintf(err->msg, sizeof err->msg, "%s: not an ldprof trace", path);
		goto out;
	}
	rc = 0;
out:
	free(p);
	close(fd);
	return rc;
}
