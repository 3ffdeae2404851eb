/*
 * reader.c - records to visitor callbacks.
 *
 * Per segment it checks that stacks are defined in order before use, decodes
 * each ring's event bytes with that ring's delta state, and merges the rings'
 * events into sequence order:
 *
 *   ring queues --(k-way merge by seq, up to a watermark)--> visitor->event
 *
 * The watermark after round r is the time floor the writer read at the start
 * of round r-1: every event with a smaller seq was committed before round r
 * read the rings, unless its thread stalled mid-event for a whole round. Such
 * a late event is delivered as soon as it is seen and counted in
 * stats.late_events; the models stay exact for it because they match frees to
 * allocations by address and sequence, not by arrival. Memory is one or two
 * rounds of events, never the whole trace: a trace whose rounds never come
 * (a hostile file: 20 KB of zstd can hold 100 million events and no ROUND)
 * has everything queued delivered once RD_MAX_QUEUED events wait, as if a
 * round had ended; only the order across threads within it is then
 * approximate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "ldprof/varint.h"
#include "util/util.h"

#define MAX_RINGS (1u << 20)

struct ring_q {
	struct rd_ring_dec dec;
	uint8_t *pend; /* bytes not yet decoded (an event split across records) */
	size_t pend_len, pend_cap;
	struct rd_event *ev; /* decoded, not yet delivered: ev[head..len) */
	size_t head, len, cap;
};

struct reader {
	const struct rd_visitor *v;
	struct rd_stats *st;
	const char *name;
	int in_segment;
	unsigned seg_index;
	struct rd_segment seg;
	uint32_t next_stack, next_module;
	uint64_t *ips;
	struct ring_q **rings;
	size_t nrings;
	uint64_t prev_floor, delivered_upto;
	uint64_t queued; /* events decoded, not yet delivered */
	int ended;
	/* the record being assembled in the current frame */
	uint8_t *rec;
	size_t rec_len, rec_cap;
	uint64_t frame_off, frame_pos;
	/* merge heap of ring indices */
	uint32_t *heap;
	size_t heap_len, heap_cap;
	/* markers not yet delivered, in seq order: snapshots, and RSS readings
	 * (placed at their time, so models see them with the events of that time) */
	struct marker {
		struct rd_snapshot snap; /* snap.kind == 0: an RSS reading */
		uint64_t rss_time_us, rss_bytes;
	} *snaps;
	size_t snap_head, nsnaps, snaps_cap;
	unsigned seq_shift;
};

static int fail(struct reader *r, struct rd_error *err, const char *what)
{
	snprintf(err->msg, sizeof err->msg, "%s: frame at byte %llu, record at +%llu: %s", r->name,
		 (unsigned long long)r->frame_off, (unsigned long long)r->frame_pos, what);
	return -1;
}

/* ---- merge ---- */

static uint64_t head_seq(struct reader *r, uint32_t i)
{
	struct ring_q *q = r->rings[i];
	return q->ev[q->head].seq;
}

static void sift_down(struct reader *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < r->heap_len && head_seq(r, r->heap[l]) < head_seq(r, r->heap[m]))
			m = l;
		if (l + 1 < r->heap_len && head_seq(r, r->heap[l + 1]) < head_seq(r, r->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		uint32_t t = r->heap[i];
		r->heap[i] = r->heap[m];
		r->heap[m] = t;
		i = m;
	}
}

static void compact(struct ring_q *q)
{
	if (q->head == q->len) {
		q->head = q->len = 0;
	} else if (q->head > 4096 && q->head * 2 > q->len) {
		memmove(q->ev, q->ev + q->head, (q->len - q->head) * sizeof *q->ev);
		q->len -= q->head;
		q->head = 0;
	}
}

/* Deliver snapshot markers that come before `seq` (and before limit). */
static void snapshots_before(struct reader *r, uint64_t seq, uint64_t limit)
{
	while (r->snap_head < r->nsnaps && r->snaps[r->snap_head].snap.seq <= seq &&
	       r->snaps[r->snap_head].snap.seq < limit) {
		struct marker *m = &r->snaps[r->snap_head];
		if (m->snap.kind == 0) {
			if (r->v->rss)
				r->v->rss(r->v->ctx, m->rss_time_us, m->rss_bytes);
		} else if (r->v->snapshot) {
			r->v->snapshot(r->v->ctx, &m->snap);
		}
		r->snap_head++;
	}
	if (r->snap_head == r->nsnaps)
		r->snap_head = r->nsnaps = 0;
}

/* Deliver every queued event with seq < limit, in seq order across rings,
 * and the snapshot markers among them. */
static void release(struct reader *r, uint64_t limit)
{
	r->heap_len = 0;
	for (uint32_t i = 0; i < r->nrings; i++) {
		struct ring_q *q = r->rings[i];
		if (q && q->head < q->len)
			VEC_PUSH(r->heap, r->heap_len, r->heap_cap, i);
	}
	if (r->heap_len == 1) {
		/* One thread had events: no merge needed. */
		struct ring_q *q = r->rings[r->heap[0]];
		while (q->head < q->len && q->ev[q->head].seq < limit) {
			struct rd_event *e = &q->ev[q->head++];
			if (r->nsnaps)
				snapshots_before(r, e->seq, limit);
			if (e->seq > r->delivered_upto)
				r->delivered_upto = e->seq;
			r->v->event(r->v->ctx, e);
			r->st->events++;
			r->queued--;
		}
		r->heap_len = 0;
	}
	for (size_t i = r->heap_len / 2; i-- > 0;)
		sift_down(r, i);
	while (r->heap_len) {
		struct ring_q *q = r->rings[r->heap[0]];
		struct rd_event *e = &q->ev[q->head];
		if (e->seq >= limit)
			break;
		if (r->nsnaps)
			snapshots_before(r, e->seq, limit);
		if (e->seq > r->delivered_upto)
			r->delivered_upto = e->seq;
		r->v->event(r->v->ctx, e);
		r->st->events++;
		r->queued--;
		if (++q->head == q->len)
			r->heap[0] = r->heap[--r->heap_len];
		sift_down(r, 0);
	}
	if (r->nsnaps)
		snapshots_before(r, UINT64_MAX, limit);
	for (uint32_t i = 0; i < r->nrings; i++)
		if (r->rings[i])
			compact(r->rings[i]);
}

/* ---- segments ---- */

static void end_segment(struct reader *r, const struct rd_end *end)
{
	if (!r->in_segment)
		return;
	release(r, UINT64_MAX);
	struct rd_end none = {0, 0};
	if (r->v->segment_end)
		r->v->segment_end(r->v->ctx, end ? end : &none);
	for (size_t i = 0; i < r->nrings; i++) {
		if (!r->rings[i])
			continue;
		free(r->rings[i]->pend);
		free(r->rings[i]->ev);
		free(r->rings[i]);
		r->rings[i] = NULL;
	}
	r->nrings = 0;
	rd_segment_clear(&r->seg);
	r->in_segment = 0;
	r->seg_index++;
}

static int on_header(void *ctx, const uint8_t *p, size_t n, uint64_t off, struct rd_error *err)
{
	struct reader *r = ctx;
	/* Only the same process appends a segment, after an exec: that is how
	 * the previous image ended. */
	struct rd_end by_exec = {LDP_END_EXEC, 0};
	end_segment(r, &by_exec);
	const char *why = NULL;
	if (rd_decode_header(p, n, &r->seg, &why)) {
		snprintf(err->msg, sizeof err->msg, "%s: segment header at byte %llu: %s", r->name,
			 (unsigned long long)off, why);
		return -1;
	}
	r->seg.index = r->seg_index;
	r->seq_shift = r->seg.seq_shift;
	r->in_segment = 1;
	r->ended = 0;
	r->next_stack = 1;
	r->next_module = 0;
	r->prev_floor = 0;
	r->delivered_upto = 0;
	if (r->v->segment_begin)
		r->v->segment_begin(r->v->ctx, &r->seg);
	return 0;
}

/* ---- records ---- */

static int on_events(struct reader *r, const uint8_t *p, size_t n, struct rd_error *err)
{
	uint64_t ring;
	size_t k = ldp_varint_get(p, p + n, &ring);
	if (!k)
		return fail(r, err, "EVENTS record without a ring id");
	if (ring >= MAX_RINGS)
		return fail(r, err, "ring id out of range");
	if (ring >= r->nrings) {
		r->rings = xrealloc(r->rings, (ring + 1) * sizeof *r->rings);
		memset(r->rings + r->nrings, 0, (ring + 1 - r->nrings) * sizeof *r->rings);
		r->nrings = ring + 1;
	}
	struct ring_q *q = r->rings[ring];
	if (!q)
		q = r->rings[ring] = xcalloc(1, sizeof *q);
	p += k;
	n -= k;
	if (!n)
		return 0; /* an empty piece (only a writer bug or a hostile file makes one) */
	vec_reserve((void **)&q->pend, &q->pend_cap, q->pend_len + n, 1);
	memcpy(q->pend + q->pend_len, p, n);
	q->pend_len += n;

	const uint8_t *cur = q->pend, *end = q->pend + q->pend_len;
	while (cur < end) {
		struct rd_event ev = {0};
		int what = 0;
		const char *why = NULL;
		long used = rd_decode_event(cur, end, &q->dec, &ev, &what, &why);
		if (used < 0)
			return fail(r, err, why);
		if (used == 0)
			break;
		cur += used;
		if (r->v->raw_event && what != RD_DEC_SKIPPED)
			r->v->raw_event(r->v->ctx, (uint32_t)ring, q->dec.tid, what == RD_DEC_EVENT ? &ev : NULL);
		if (what != RD_DEC_EVENT)
			continue;
		if (ev.stack >= r->next_stack)
			return fail(r, err, "event refers to a stack id that was never defined");
		if (ev.seq < r->delivered_upto)
			r->st->late_events++;
		VEC_PUSH(q->ev, q->len, q->cap, ev);
		if (++r->queued > r->st->max_queued)
			r->st->max_queued = r->queued;
		if (r->queued >= RD_MAX_QUEUED) {
			r->st->overflows++;
			release(r, UINT64_MAX);
		}
	}
	q->pend_len = (size_t)(end - cur);
	memmove(q->pend, cur, q->pend_len);
	return 0;
}

/* Keep markers sorted: they may be written out of order. */
static void add_marker(struct reader *r, struct marker m)
{
	VEC_PUSH(r->snaps, r->nsnaps, r->snaps_cap, m);
	for (size_t i = r->nsnaps - 1; i > r->snap_head && r->snaps[i - 1].snap.seq > r->snaps[i].snap.seq; i--) {
		struct marker t = r->snaps[i];
		r->snaps[i] = r->snaps[i - 1];
		r->snaps[i - 1] = t;
	}
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
		if (m.id != r->next_module) {
			rd_module_clear(&m);
			return fail(r, err, "module id out of sequence");
		}
		r->next_module++;
		if (r->v->module)
			r->v->module(r->v->ctx, &m);
		rd_module_clear(&m);
		return 0;
	}
	case LDP_REC_STACK: {
		struct rd_stack s;
		if (rd_decode_stack(p, n, &s, r->ips, &why))
			return fail(r, err, why);
		if (s.id != r->next_stack)
			return fail(r, err, "stack id out of sequence");
		r->next_stack++;
		if (r->v->stack)
			r->v->stack(r->v->ctx, &s);
		return 0;
	}
	case LDP_REC_EVENTS:
		return on_events(r, p, n, err);
	case LDP_REC_ROUND: {
		uint64_t round, time_us, floor;
		if (rd_decode_round(p, n, &round, &time_us, &floor, &why))
			return fail(r, err, why);
		release(r, r->prev_floor);
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
		add_marker(r, (struct marker){.snap = snap});
		return 0;
	}
	case LDP_REC_SAMPLE: {
		struct rd_sample x;
		if (rd_decode_sample(p, n, &x, &why))
			return fail(r, err, why);
		if (x.stack >= r->next_stack)
			return fail(r, err, "sample refers to a stack id that was never defined");
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
		struct marker m = {.rss_time_us = t, .rss_bytes = bytes};
		m.snap.seq = t << r->seq_shift;
		add_marker(r, m);
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
	r->rec_len = 0;
	return 0;
}

static int on_frame_data(void *ctx, const uint8_t *p, size_t n, struct rd_error *err)
{
	struct reader *r = ctx;
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

static int on_frame_end(void *ctx, struct rd_error *err)
{
	struct reader *r = ctx;
	if (r->rec_len)
		return fail(r, err, "record crosses the end of its frame");
	return 0;
}

static int run(struct rd_input *in, const struct rd_visitor *v, struct rd_stats *stats, struct rd_error *err)
{
	struct reader r = {.v = v, .st = stats, .name = in->name};
	memset(stats, 0, sizeof *stats);
	err->msg[0] = '\0';
	r.ips = xmalloc(LDP_MAX_STACK_DEPTH * sizeof *r.ips);
	struct rd_source_cb cb = {on_header, on_frame_begin, on_frame_data, on_frame_end};
	int rc = rd_source_run(in, &cb, &r, stats, err);
	if (rc == 0)
		end_segment(&r, NULL);
	else
		rd_segment_clear(&r.seg);
	for (size_t i = 0; i < r.nrings; i++)
		if (r.rings[i]) {
			free(r.rings[i]->pend);
			free(r.rings[i]->ev);
			free(r.rings[i]);
		}
	free(r.rings);
	free(r.rec);
	free(r.heap);
	free(r.snaps);
	free(r.ips);
	return rc;
}

int rd_read_file(const char *path, const struct rd_visitor *v, struct rd_stats *stats, struct rd_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err->msg, sizeof err->msg, "%s: %m", path);
		return -1;
	}
	struct rd_input in = {.f = f, .name = path};
	struct stat st;
	/* Long reads say how far they are, when someone is watching. */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && isatty(STDERR_FILENO)) {
		in.size = (uint64_t)st.st_size;
		in.progress = in.size >= (64u << 20);
	}
	int rc = run(&in, v, stats, err);
	fclose(f);
	return rc;
}

int rd_read_mem(const uint8_t *data, size_t len, const char *name, const struct rd_visitor *v,
		struct rd_stats *stats, struct rd_error *err)
{
	struct rd_input in = {.mem = data, .mem_len = len, .name = name};
	return run(&in, v, stats, err);
}
