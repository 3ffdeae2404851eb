/*
 * merge.c - every ring's heap and mapped events, merged into sequence order
 * across rings, in bounded memory.
 *
 * Events arrive a round at a time, ring by ring (EVENTS records); the reader
 * releases everything below a limit (the previous round's floor, reader.c)
 * and the merge delivers it in seq order, with the markers (snapshots, RSS
 * readings) in their places. What waits is kept as the events' own encoded
 * bytes (a few bytes an event, not a 64-byte struct): checked once on
 * arrival with the ring's check state, decoded again on delivery with its
 * delivery state. A run of a loop's pairs (format 2.3: an allocation of the
 * last site's size and stack, freed at once, the seqs one after another:
 * two bytes a pair) is checked as a whole and waits as one op, Q_PAIRS,
 * which the delivery hands out an event at a time.
 *
 *   EVENTS payload --check--> ring queue:  [runs in the spill file][bytes in memory]
 *   release(limit):  heap of rings keyed by their next event's seq --> visitor
 *
 * When more than rd_merge_mem_limit bytes wait in memory, every ring's
 * waiting bytes go to a temporary file (unlinked at once, in $TMPDIR or
 * /tmp), one run per ring, appended; a ring reads its runs back in order
 * through a small buffer as its events are delivered; a run read to its end
 * gives its space back (a hole punched), and the file is emptied whenever
 * no run is left. The order delivered is the same as with
 * unlimited memory, so the models stay exact whatever the size of a round
 * (64 threads on 2 cores make rounds of millions of events). Only when the
 * file cannot be written, or would pass rd_spill_max, is what waits
 * delivered at once (counted in stats.unordered_events: order across
 * threads is then approximate, counts may be off).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ldprof/varint.h"
#include "util/util.h"

#define MAX_RINGS (1u << 20)
#define READ_BUDGET (16u << 20)  /* all rings' read-back buffers together */
#define READ_MAX (64u << 10)     /* one ring's read-back buffer */
#define READ_MIN (4 * RD_EVENT_COMPACT_MAX)
#define KEEP_BUF (64u << 10)     /* a ring's memory buffer is kept across a spill up to this size */

LDP_SEAM uint64_t rd_merge_mem_limit = 128ull << 20;
LDP_SEAM uint64_t rd_spill_max = 64ull << 30;
LDP_SEAM int rd_merge_runs = 1;
LDP_SEAM int rd_merge_pairs = 1;

/* A loop's pair as the agent writes it (2.3): ALLOC3 with SEQ1 and SAME
 * (any kind), then FREE3 with SEQ1 and LAST. */
#define PAIR_ALLOC (LDP_EV_ALLOC3 | LDP_EV_ALLOC3_SEQ1 | LDP_EV_ALLOC3_SAME)
#define PAIR_FREE (LDP_EV_FREE3 | LDP_EV_FREE3_SEQ1 | LDP_EV_FREE3_LAST)
/* The queue's own op for n such pairs (never in a trace: 0xf0 is no op a
 * reader accepts, so no checked byte is one): Q_PAIRS kind, varint n,
 * varint size, varint stack. Each event's seq is the one before's + 1. */
#define Q_PAIRS 0xf0
/* Fewer pairs than this are queued as their events, one op each. */
#define PAIRS_MIN 4

struct spill_run {
	uint64_t off, len;
};

struct rd_ring_q {
	struct rd_ring_dec check;  /* state after the last byte checked */
	struct rd_ring_dec dec;    /* state at the queue's head: where delivery decodes */
	uint8_t *pend;             /* the start of an event split across EVENTS records */
	size_t pend_len, pend_cap;
	uint8_t *buf;              /* checked events waiting in memory: buf[head..len) */
	size_t head, len, cap;
	uint64_t queued;           /* events in the runs and buf, not yet decoded for delivery */
	struct rd_event ev;        /* the next event to deliver, when has_ev */
	int has_ev;
	int ev_extras;             /* ev may hold fields past an allocation's or free's (mapped channel) */
	struct spill_run *runs;    /* older than buf: in the spill file, runs[run_head..nruns) */
	size_t run_head, nruns, runs_cap;
	uint8_t *rbuf;             /* read-back buffer over runs[run_head]: rbuf[rpos..rlen) */
	size_t rpos, rlen, rcap;
	uint64_t run_read;         /* bytes of runs[run_head] read into rbuf so far */
	int lost;                  /* damage (rd_merge_lose): events dropped until the next ATTACH */
	/* A Q_PAIRS op being delivered: its events not yet decoded (an even
	 * count: an allocation is next), and what they all are. */
	uint64_t pair_left, pair_size;
	uint32_t pair_stack;
	uint8_t pair_op;
};

void rd_merge_init(struct rd_merge *m, const struct rd_visitor *v, struct rd_stats *st)
{
	memset(m, 0, sizeof *m);
	m->v = v;
	m->st = st;
	m->spill_fd = -1;
}

/* ---- the spill file ---- */

static int open_spill(struct rd_merge *m)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* A file system without O_TMPFILE: a named file, unlinked at once. */
		char path[4096];
		snprintf(path, sizeof path, "%s/ldprof-merge.XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0) {
		snprintf(m->spill_err, sizeof m->spill_err, "cannot create a temporary file in %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	m->spill_fd = fd;
	return 0;
}

static int write_at(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ENOSPC;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static void shrink_buf(struct rd_ring_q *q)
{
	q->head = q->len = 0;
	if (q->cap > KEEP_BUF) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
}

/* Move every ring's waiting bytes to the end of the spill file.
 * @return 0, or -1 with m->spill_err set (what was moved stays valid). */
static int spill(struct rd_merge *m)
{
	if (m->spill_fd < 0 && open_spill(m))
		return -1;
	for (size_t i = 0; i < m->nrings; i++) {
		struct rd_ring_q *q = m->rings[i];
		if (!q || q->len == q->head)
			continue;
		size_t n = q->len - q->head;
		if (m->spill_live + n > rd_spill_max) {
			snprintf(m->spill_err, sizeof m->spill_err, "the temporary file would pass %llu MiB",
				 (unsigned long long)(rd_spill_max >> 20));
			return -1;
		}
		int err = write_at(m->spill_fd, q->buf + q->head, n, m->spill_size);
		if (err) {
			snprintf(m->spill_err, sizeof m->spill_err, "cannot write a temporary file: %s", strerror(-err));
			return -1;
		}
		if (q->run_head == q->nruns)
			m->spilled_rings++;
		VEC_PUSH(q->runs, q->nruns, q->runs_cap, ((struct spill_run){m->spill_size, n}));
		m->spill_size += n;
		m->spill_live += n;
		m->live_runs++;
		m->mem_bytes -= n;
		m->st->spilled_bytes += n;
		shrink_buf(q);
	}
	if (m->spill_live > m->st->max_spill_bytes)
		m->st->max_spill_bytes = m->spill_live;
	m->st->spills++;
	return 0;
}

static void read_back(struct rd_merge *m, struct rd_ring_q *q)
{
	if (!q->rbuf) {
		size_t share = READ_BUDGET / (m->spilled_rings ? m->spilled_rings : 1);
		q->rcap = share > READ_MAX ? READ_MAX : share < READ_MIN ? READ_MIN : share;
		q->rbuf = xmalloc(q->rcap);
		q->rpos = q->rlen = 0;
	}
	const struct spill_run *run = &q->runs[q->run_head];
	memmove(q->rbuf, q->rbuf + q->rpos, q->rlen - q->rpos);
	q->rlen -= q->rpos;
	q->rpos = 0;
	uint64_t want = run->len - q->run_read;
	if (want > q->rcap - q->rlen)
		want = q->rcap - q->rlen;
	for (uint64_t got = 0; got < want;) {
		ssize_t k = pread(m->spill_fd, q->rbuf + q->rlen + got, want - got, (off_t)(run->off + q->run_read + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* Our own file, written a moment ago: like running out of memory. */
			fprintf(stderr, "ldprof: cannot read back the merge's temporary file: %s\n",
				k < 0 ? strerror(errno) : "it is shorter than written");
			exit(1);
		}
		got += (uint64_t)k;
	}
	q->rlen += want;
	q->run_read += want;
}

/* The current run is read and decoded to its end: on to the next (or to
 * the memory buffer). Its space in the file is given back at once (rings
 * read their runs at different paces, so the file may never be empty for
 * long), and the file emptied once no ring has a run left. */
static void run_done(struct rd_merge *m, struct rd_ring_q *q)
{
	const struct spill_run *run = &q->runs[q->run_head];
	/* A file system that cannot punch holes keeps the space until the file
	 * is emptied: still correct, only bigger. */
	(void)fallocate(m->spill_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)run->off, (off_t)run->len);
	m->spill_live -= run->len;
	q->run_head++;
	q->run_read = 0;
	q->rpos = q->rlen = 0;
	if (--m->live_runs == 0 && ftruncate(m->spill_fd, 0) == 0)
		m->spill_size = 0;
	if (q->run_head == q->nruns) {
		q->run_head = q->nruns = 0;
		free(q->rbuf);
		q->rbuf = NULL;
		q->rcap = 0;
		m->spilled_rings--;
	}
}

/* ---- delivery ---- */

/* The ring's next event, an allocation or a free, at the delivery state's seq. */
static inline __attribute__((always_inline)) void set_event(struct rd_ring_q *rq, const struct rd_ring_dec *st,
							    uint64_t ptr, uint64_t size, uint64_t stack, uint8_t kind,
							    uint8_t op)
{
	struct rd_event *ev = &rq->ev;
	if (rq->ev_extras) {
		memset(ev, 0, sizeof *ev);
		rq->ev_extras = 0;
	}
	/* Field by field: the others are zero already (ev_extras). */
	ev->seq = st->seq;
	ev->ptr = ptr;
	ev->size = size;
	ev->stack = (uint32_t)stack;
	ev->tid = st->tid;
	ev->kind = kind;
	ev->op = op;
}

/* The next event of the Q_PAIRS run being delivered. */
static inline __attribute__((always_inline)) void pair_next(struct rd_ring_q *rq)
{
	int alloc = !(rq->pair_left-- & 1);
	rq->dec.seq++;
	set_event(rq, &rq->dec, 0, rq->pair_size, rq->pair_stack, alloc ? RD_EV_ALLOC : RD_EV_FREE,
		  alloc ? rq->pair_op : LDP_EV_FREE);
}

/* Decode an op the check accepted, from the same state: the fixed-layout
 * ops (nearly all of them) without a check, the rest by rd_decode_event.
 * Every byte of the op is in [p, end) (next_event sees to it). */
static inline __attribute__((always_inline)) long decode_checked(const uint8_t *p, const uint8_t *end,
								 struct rd_ring_q *rq, int *what)
{
	struct rd_ring_dec *st = &rq->dec;
	struct rd_event *ev = &rq->ev;
	const uint8_t *q = p + 1;
	uint64_t a, b, size = 0, stack = 0;
	switch (p[0]) {
	case LDP_EV_ATTACH:
		q = ldp_varint_get_checked(q, &a);
		st->seq = st->ptr = 0;
		st->tid = (uint32_t)a;
		st->attached = 1;
		*what = RD_DEC_ATTACH;
		return q - p;
	case LDP_EV_ALLOC_MALLOC:
	case LDP_EV_ALLOC_CALLOC:
	case LDP_EV_ALLOC_REALLOC:
	case LDP_EV_ALLOC_ALIGNED:
		q = ldp_varint_get_checked(ldp_varint_get_checked(q, &a), &b);
		q = ldp_varint_get_checked(ldp_varint_get_checked(q, &size), &stack);
		break;
	case LDP_EV_FREE:
		q = ldp_varint_get_checked(ldp_varint_get_checked(q, &a), &b);
		break;
	case Q_PAIRS:
		rq->pair_op = (uint8_t)(LDP_EV_ALLOC_MALLOC + q[0]);
		q = ldp_varint_get_checked(ldp_varint_get_checked(q + 1, &a), &rq->pair_size);
		q = ldp_varint_get_checked(q, &stack);
		rq->pair_stack = (uint32_t)stack;
		rq->pair_left = 2 * a;
		pair_next(rq);
		*what = RD_DEC_EVENT;
		return q - p;
	case LDP_EV_SALLOC_MALLOC:
	case LDP_EV_SALLOC_MALLOC + 1:
	case LDP_EV_SALLOC_MALLOC + 2:
	case LDP_EV_SALLOC_MALLOC + 3:
	case LDP_EV_SFREE:
		/* A site event (2.2; a model op's, as rd_event_legacy wrote it): no
		 * address, prev_ptr stays. */
		q = ldp_varint_get_checked(ldp_varint_get_checked(q, &a), &size);
		q = ldp_varint_get_checked(q, &stack);
		st->seq += a;
		set_event(rq, st, 0, size, stack, p[0] == LDP_EV_SFREE ? RD_EV_FREE : RD_EV_ALLOC, rd_site_op_event(p[0]));
		*what = RD_DEC_EVENT;
		return q - p;
	default: {
		const char *why = NULL;
		memset(ev, 0, sizeof *ev);
		rq->ev_extras = 1;
		long used = rd_decode_event(p, end, st, ev, what, &why);
		if (used <= 0) {
			/* Every byte here was checked on arrival: a bug, not a bad trace. */
			fprintf(stderr, "ldprof: internal error: the merge cannot decode an event it checked (%s)\n",
				why ? why : "incomplete");
			abort();
		}
		return used;
	}
	}
	st->seq += a;
	st->ptr += (uint64_t)ldp_unzigzag(b);
	set_event(rq, st, st->ptr, size, stack, p[0] == LDP_EV_FREE ? RD_EV_FREE : RD_EV_ALLOC, p[0]);
	*what = RD_DEC_EVENT;
	return q - p;
}

/* Decode the ring's next event into q->ev (ATTACHes on the way reset the
 * delivery state). @return 1, or 0 when nothing is queued. */
static inline __attribute__((always_inline)) int next_event(struct rd_merge *m, struct rd_ring_q *q)
{
	if (q->pair_left) {
		pair_next(q);
		q->queued--;
		q->has_ev = 1;
		return 1;
	}
	while (q->queued) {
		const uint8_t *p, *end;
		int from_run = q->run_head < q->nruns;
		if (from_run) {
			if (q->rpos == q->rlen && q->run_read == q->runs[q->run_head].len) {
				run_done(m, q);
				continue;
			}
			/* A whole op in the buffer: at least the largest, or the
			 * rest of the run (runs end between ops). */
			if (q->rlen - q->rpos < RD_EVENT_COMPACT_MAX && q->run_read < q->runs[q->run_head].len)
				read_back(m, q);
			p = q->rbuf + q->rpos;
			end = q->rbuf + q->rlen;
		} else {
			p = q->buf + q->head;
			end = q->buf + q->len;
		}
		int what = 0;
		long used = decode_checked(p, end, q, &what);
		if (from_run) {
			q->rpos += (size_t)used;
		} else {
			q->head += (size_t)used;
			m->mem_bytes -= (uint64_t)used;
			if (q->head == q->len)
				q->head = q->len = 0;
		}
		if (what == RD_DEC_EVENT) {
			q->queued--;
			q->has_ev = 1;
			return 1;
		}
	}
	return 0;
}

static void sift_down(struct rd_merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, s = i;
		if (l < m->heap_len && m->heap[l].seq < m->heap[s].seq)
			s = l;
		if (l + 1 < m->heap_len && m->heap[l + 1].seq < m->heap[s].seq)
			s = l + 1;
		if (s == i)
			return;
		struct rd_merge_head t = m->heap[i];
		m->heap[i] = m->heap[s];
		m->heap[s] = t;
		i = s;
	}
}

/* Deliver markers that come before `seq` (and before limit). */
static void markers_before(struct rd_merge *m, uint64_t seq, uint64_t limit)
{
	while (m->mark_head < m->nmarks && m->marks[m->mark_head].snap.seq <= seq &&
	       m->marks[m->mark_head].snap.seq < limit) {
		const struct rd_marker *k = &m->marks[m->mark_head];
		if (k->snap.kind == 0) {
			if (m->v->rss)
				m->v->rss(m->v->ctx, k->rss_time_us, k->rss_bytes);
		} else if (k->snap.kind == RD_MARK_PAUSE) {
			if (m->v->pause)
				m->v->pause(m->v->ctx, &k->pause);
		} else if (m->v->snapshot) {
			m->v->snapshot(m->v->ctx, &k->snap);
		}
		m->mark_head++;
	}
	if (m->mark_head == m->nmarks)
		m->mark_head = m->nmarks = 0;
}

/* Deliver the ring's event (the markers before it first) and decode its
 * next. @return 1 if it has one. */
static inline __attribute__((always_inline)) int deliver(struct rd_merge *m, struct rd_ring_q *q, uint64_t limit)
{
	const struct rd_event *e = &q->ev;
	/* (mark_head < nmarks whenever nmarks: markers_before empties both) */
	if (m->nmarks && m->marks[m->mark_head].snap.seq <= e->seq)
		markers_before(m, e->seq, limit);
	if (e->seq > m->delivered_upto)
		m->delivered_upto = e->seq;
	m->v->event(m->v->ctx, e);
	m->st->events++;
	m->waiting--;
	q->has_ev = 0;
	return next_event(m, q);
}

/* The top ring q has just passed the runner-up (heap index ri). While
 * both come before every other ring, a sift would only swap them between
 * the root and ri each time one passes the other: here they take turns by
 * one compare, and the heap is written back as those sifts would have left
 * it (ties, which Lamport clocks of two shards make common, go the same
 * way, so the temporaries come out the same). Two threads running at once
 * interleave their events a few at a time: a 4-thread loop's 20 M events
 * change ring 8.3 M times, 5.8 M of them here, and its report takes 2.4 %
 * fewer instructions (callgrind). Returns with the root possibly out of
 * place: the caller sifts it. */
static void take_turns(struct rd_merge *m, struct rd_ring_q *q, size_t ri, uint64_t limit)
{
	/* The least of the other rings: the root's other child, ri's children. */
	uint64_t bound = limit;
	size_t other = 3 - ri;
	if (other < m->heap_len && m->heap[other].seq < bound)
		bound = m->heap[other].seq;
	for (size_t c = 2 * ri + 1; c <= 2 * ri + 2 && c < m->heap_len; c++)
		if (m->heap[c].seq < bound)
			bound = m->heap[c].seq;
	if (q->ev.seq >= bound || m->heap[ri].seq >= bound)
		return; /* a third ring (or the limit) is in between: the heap decides */
	/* The sift q's passing calls for: the runner-up to the root, q to ri. */
	struct rd_merge_head top = m->heap[ri], low = m->heap[0];
	struct rd_ring_q *cur = m->rings[top.ring], *next = q;
	for (;;) {
		if (!deliver(m, cur, limit)) {
			/* cur, at the root, ran out: removed as the root is. */
			m->heap[ri] = (struct rd_merge_head){next->ev.seq, low.ring};
			m->heap[0] = m->heap[--m->heap_len];
			sift_down(m, 0);
			return;
		}
		if (cur->ev.seq <= next->ev.seq)
			continue; /* still first (ties stay) */
		if (cur->ev.seq < bound) { /* passed the other: they swap places */
			struct rd_merge_head t = top;
			top = low;
			low = t;
			struct rd_ring_q *r = cur;
			cur = next;
			next = r;
			continue;
		}
		/* Past a third ring: the other to the root, cur down from ri. */
		m->heap[0] = (struct rd_merge_head){next->ev.seq, low.ring};
		m->heap[ri] = (struct rd_merge_head){cur->ev.seq, top.ring};
		sift_down(m, ri);
		return;
	}
}

void rd_merge_release(struct rd_merge *m, uint64_t limit)
{
	m->heap_len = 0;
	for (uint32_t i = 0; i < m->nrings; i++) {
		struct rd_ring_q *q = m->rings[i];
		if (q && (q->has_ev || next_event(m, q)))
			VEC_PUSH(m->heap, m->heap_len, m->heap_cap, ((struct rd_merge_head){q->ev.seq, i}));
	}
	for (size_t i = m->heap_len / 2; i-- > 0;)
		sift_down(m, i);
	while (m->heap_len) {
		struct rd_ring_q *q = m->rings[m->heap[0].ring];
		if (q->ev.seq >= limit)
			break;
		/* The top ring's events up to the next ring's first go out without
		 * touching the heap: a thread that ran alone for a while wrote a
		 * long run. Ties stay with the top ring, as a sift would keep it. */
		size_t ri = 0; /* the runner-up's heap index, 0: none */
		uint64_t runner = UINT64_MAX;
		if (m->heap_len > 1)
			ri = 1, runner = m->heap[1].seq;
		if (m->heap_len > 2 && m->heap[2].seq < runner)
			ri = 2, runner = m->heap[2].seq;
		if (!rd_merge_runs)
			ri = 0, runner = 0;
		int more;
		while ((more = deliver(m, q, limit)) && q->ev.seq <= runner && q->ev.seq < limit)
			;
		if (!more) {
			m->heap[0] = m->heap[--m->heap_len];
			sift_down(m, 0);
			continue;
		}
		m->heap[0].seq = q->ev.seq;
		if (ri && q->ev.seq < limit)
			take_turns(m, q, ri, limit);
		sift_down(m, 0);
	}
	if (m->nmarks)
		markers_before(m, UINT64_MAX, limit);
}

/* ---- arrival ---- */

static struct rd_ring_q *ring(struct rd_merge *m, uint64_t id)
{
	if (id >= m->nrings) {
		size_t n = (size_t)id + 1;
		m->rings = xrealloc(m->rings, n * sizeof *m->rings);
		memset(m->rings + m->nrings, 0, (n - m->nrings) * sizeof *m->rings);
		m->nrings = n;
	}
	if (!m->rings[id]) {
		m->rings[id] = xcalloc(1, sizeof **m->rings);
		/* After damage a ring first seen may have lost its ATTACH. */
		m->rings[id]->lost = m->damaged;
	}
	return m->rings[id];
}

static void enqueue(struct rd_merge *m, struct rd_ring_q *q, const uint8_t *p, size_t n)
{
	if (!n)
		return;
	if (q->head && q->len + n > q->cap) {
		/* Delivered bytes at the front: reuse them before growing. */
		memmove(q->buf, q->buf + q->head, q->len - q->head);
		q->len -= q->head;
		q->head = 0;
	}
	vec_reserve((void **)&q->buf, &q->cap, q->len + n, 1);
	memcpy(q->buf + q->len, p, n);
	q->len += n;
	m->mem_bytes += n;
}

/* enqueue(rd_event_legacy(ev...)) without the copy through a buffer. */
static inline __attribute__((always_inline)) void enqueue_legacy(struct rd_merge *m, struct rd_ring_q *q,
								 const struct rd_event *ev, uint64_t prev_seq,
								 uint64_t prev_ptr, int zero_stack)
{
	if (q->len + RD_EVENT_COMPACT_MAX > q->cap) {
		if (q->head) {
			memmove(q->buf, q->buf + q->head, q->len - q->head);
			q->len -= q->head;
			q->head = 0;
		}
		vec_reserve((void **)&q->buf, &q->cap, q->len + RD_EVENT_COMPACT_MAX, 1);
	}
	size_t n = rd_event_legacy(ev, prev_seq, prev_ptr, zero_stack, q->buf + q->len);
	q->len += n;
	m->mem_bytes += n;
}

/* Does the ring's state after its events so far equal a RING record's? */
static int same_state(const struct rd_ring_q *q, const struct rd_ring_dec *st)
{
	static const struct ldp_model none; /* a ring with no model op since ATTACH */
	const struct rd_ring_dec *a = &q->check;
	return !q->pend_len && a->seq == st->seq && a->ptr == st->ptr && a->tid == st->tid &&
	       ldp_model_equal(a->model ? &a->model->m : &none, st->model ? &st->model->m : &none);
}

int rd_merge_ring_state(struct rd_merge *m, uint64_t id, struct rd_ring_dec *st, const char **why)
{
	if (id >= MAX_RINGS) {
		rd_ring_dec_fini(st);
		*why = "ring id out of range";
		return -1;
	}
	struct rd_ring_q *q = ring(m, id);
	if (q->lost) {
		rd_ring_dec_fini(st); /* lost to damage: the ring waits for its next ATTACH */
		return 0;
	}
	if (q->check.attached) {
		/* Known from the part before (read as one run): the writer followed
		 * the same bytes, so the record must say what they gave. */
		int same = same_state(q, st);
		rd_ring_dec_fini(st);
		if (!same) {
			*why = "RING record differs from the state its ring's events before it give";
			return -1;
		}
		return 0;
	}
	rd_ring_dec_fini(&q->check);
	q->check = *st; /* the model goes with it: only the check decodes model ops */
	q->dec = (struct rd_ring_dec){.seq = st->seq, .ptr = st->ptr, .tid = st->tid, .attached = 1};
	return 0;
}

/* A run of a loop's pairs at p (at least PAIRS_MIN whole ones before end),
 * checked as its events would be one by one and counted in; the Q_PAIRS op
 * that stands for them in the queue goes to op[0..*op_len).
 * @return the bytes taken, or 0 to leave them to the op-by-op path: no
 * model yet, a stack never defined, or events that would arrive late (that
 * path says so, or counts them). */
#define PAIRS_OP_MAX (2 + 3 * LDP_VARINT_MAX)
static long pair_run(struct rd_merge *m, struct rd_ring_q *q, const uint8_t *p, const uint8_t *end,
		     uint32_t next_stack, uint8_t *op, size_t *op_len)
{
	struct rd_ring_dec *st = &q->check;
	if (!st->attached || !st->model)
		return 0;
	struct ldp_model *md = &st->model->m;
	if (md->site_stack >= next_stack || st->seq + 1 < m->delivered_upto)
		return 0;
	uint64_t n = 0;
	for (const uint8_t *x = p; end - x >= 2 && x[0] == p[0] && x[1] == PAIR_FREE; x += 2)
		n++;
	if (n < PAIRS_MIN || 2 * n > UINT64_MAX - st->seq) /* (a seq that would wrap: op by op) */
		return 0;
	/* What decoding each would have done: the seq moves on, every stack
	 * of the model is the site's. */
	st->seq += 2 * n;
	md->stack = md->free_stack = md->site_stack;
	q->queued += 2 * n;
	if ((m->waiting += 2 * n) > m->st->max_queued)
		m->st->max_queued = m->waiting;
	size_t k = 0;
	op[k++] = Q_PAIRS;
	op[k++] = (uint8_t)(p[0] & 3);
	k += ldp_varint_put(op + k, n);
	k += ldp_varint_put(op + k, md->site_size);
	k += ldp_varint_put(op + k, md->site_stack);
	*op_len = k;
	return (long)(2 * n);
}

/* An event the check decoded joins its ring's queue: counted, its stack id
 * checked. @return 0, 1 when it must go with stack 0 (its STACK record was
 * in a damaged part), or -1 with *why for a stack id never defined. */
static inline int admit(struct rd_merge *m, struct rd_ring_q *q, const struct rd_event *ev, uint32_t next_stack,
			const char **why)
{
	int zero_stack = 0;
	if (ev->stack >= next_stack) {
		if (!m->damaged) {
			*why = "event refers to a stack id that was never defined";
			return -1;
		}
		zero_stack = 1;
	}
	if (ev->seq < m->delivered_upto)
		m->st->late_events++;
	q->queued++;
	if (++m->waiting > m->st->max_queued)
		m->st->max_queued = m->waiting;
	return zero_stack;
}

int rd_merge_events(struct rd_merge *m, uint64_t id, const uint8_t *p, size_t n, int quanta, uint32_t next_stack,
		    const char **why)
{
	if (id >= MAX_RINGS) {
		*why = "ring id out of range";
		return -1;
	}
	struct rd_ring_q *q = ring(m, id);
	q->check.quanta = q->dec.quanta = quanta; /* one writer writes one kind of record */
	if (!n)
		return 0; /* an empty piece (only a writer bug or a hostile file makes one) */
	const uint8_t *cur = p, *end = p + n;
	if (q->pend_len) {
		/* The rest of an event split across records: decode from a copy. */
		vec_reserve((void **)&q->pend, &q->pend_cap, q->pend_len + n, 1);
		memcpy(q->pend + q->pend_len, p, n);
		q->pend_len += n;
		cur = q->pend;
		end = q->pend + q->pend_len;
	}
	const uint8_t *run = cur; /* ops [run, cur) go to the queue as they are */
	uint8_t tmp[RD_EVENT_COMPACT_MAX];
	int dump = m->v->raw_event != NULL;
	while (cur < end) {
		struct rd_event ev;
		if ((cur[0] & ~3) == PAIR_ALLOC && end - cur >= 2 * PAIRS_MIN && cur[1] == PAIR_FREE && !q->lost &&
		    !dump && rd_merge_pairs) {
			uint8_t op[PAIRS_OP_MAX];
			size_t op_len;
			long used = pair_run(m, q, cur, end, next_stack, op, &op_len);
			if (used > 0) {
				enqueue(m, q, run, (size_t)(cur - run));
				enqueue(m, q, op, op_len);
				cur += used;
				run = cur;
				continue;
			}
		}
		if (cur[0] >= LDP_EV_V2_MIN && cur[0] <= LDP_EV_V2_MAX && !q->lost && !dump) {
			/* The commonest op of 1.7 traces, queued as its plain op without
			 * the general path's questions. Incomplete or malformed (the
			 * state is then unchanged) it goes the general way, which
			 * says why. */
			uint64_t prev_seq = q->check.seq, prev_ptr = q->check.ptr;
			long used = rd_decode_v2(cur, end, &q->check, &ev, why);
			if (used > 0) {
				int zero_stack = admit(m, q, &ev, next_stack, why);
				if (zero_stack < 0) {
					enqueue(m, q, run, (size_t)(cur - run));
					q->pend_len = 0;
					return -1;
				}
				if (run != cur)
					enqueue(m, q, run, (size_t)(cur - run));
				enqueue_legacy(m, q, &ev, prev_seq, prev_ptr, zero_stack);
				cur += used;
				run = cur;
				continue;
			}
		}
		int what = 0;
		uint64_t prev_seq = q->check.seq, prev_ptr = q->check.ptr;
		long used = rd_decode_event(cur, end, &q->check, &ev, &what, why);
		if (used == 0)
			break;
		if (used < 0) {
			if (!q->lost) {
				/* What was checked stays queued: the frame may yet turn
				 * out damaged, and reading go on (source.c). */
				enqueue(m, q, run, (size_t)(cur - run));
				q->pend_len = 0;
				return -1;
			}
			/* A lost ring's state is garbage: what does not even parse
			 * is dropped with the rest of the piece. */
			m->st->dropped_event_bytes += (uint64_t)(end - cur);
			cur = run = end;
			break;
		}
		if (m->v->raw_event && what != RD_DEC_SKIPPED)
			m->v->raw_event(m->v->ctx, (uint32_t)id, q->check.tid, what == RD_DEC_EVENT ? &ev : NULL);
		if (what == RD_DEC_ATTACH && q->lost) {
			q->lost = 0;
			run = cur;
		}
		if (q->lost) {
			if (what == RD_DEC_EVENT)
				m->st->dropped_events++;
			m->st->dropped_event_bytes += (uint64_t)used;
			cur += used;
			run = cur;
			continue;
		}
		int zero_stack = 0;
		if (what == RD_DEC_EVENT && (zero_stack = admit(m, q, &ev, next_stack, why)) < 0) {
			enqueue(m, q, run, (size_t)(cur - run));
			q->pend_len = 0;
			return -1;
		}
		int v2 = cur[0] >= LDP_EV_V2_MIN && cur[0] <= LDP_EV_V2_MAX;
		if (what == RD_DEC_SKIPPED || zero_stack || v2 ||
		    (cur[0] >= LDP_EV_SIZED_MIN && cur[0] <= LDP_EV_SIZED_MAX)) {
			/* Not as it is: an op this reader skips is left out, a
			 * model op is queued as the plain op of the same event (the
			 * delivery decodes without the model), the others are
			 * written in their compact form. */
			enqueue(m, q, run, (size_t)(cur - run));
			if (v2) /* written in place: the commonest event of 1.7 and 2.2 traces */
				enqueue_legacy(m, q, &ev, prev_seq, prev_ptr, zero_stack);
			else if (what != RD_DEC_SKIPPED)
				enqueue(m, q, tmp, rd_event_compact(cur, (size_t)used, zero_stack, tmp));
			run = cur + used;
		}
		cur += used;
	}
	enqueue(m, q, run, (size_t)(cur - run));
	/* Keep the start of an event the next piece completes. */
	size_t left = (size_t)(end - cur);
	if (left) {
		vec_reserve((void **)&q->pend, &q->pend_cap, left, 1);
		memmove(q->pend, cur, left);
	}
	q->pend_len = left;
	if (m->mem_bytes > m->st->max_queued_bytes)
		m->st->max_queued_bytes = m->mem_bytes;
	if (m->mem_bytes > rd_merge_mem_limit && (m->spill_failed || spill(m))) {
		/* No room on disk either: deliver it all now, out of place. */
		m->spill_failed = 1;
		m->st->unordered_events += m->waiting;
		if (!m->st->unordered_why[0])
			snprintf(m->st->unordered_why, sizeof m->st->unordered_why, "%s", m->spill_err);
		rd_merge_release(m, UINT64_MAX);
	}
	return 0;
}

void rd_merge_marker(struct rd_merge *m, const struct rd_marker *k)
{
	/* Keep markers sorted: they may be written out of order. */
	VEC_PUSH(m->marks, m->nmarks, m->marks_cap, *k);
	for (size_t i = m->nmarks - 1; i > m->mark_head && m->marks[i - 1].snap.seq > m->marks[i].snap.seq; i--) {
		struct rd_marker t = m->marks[i];
		m->marks[i] = m->marks[i - 1];
		m->marks[i - 1] = t;
	}
}

void rd_merge_lose(struct rd_merge *m)
{
	for (size_t i = 0; i < m->nrings; i++) {
		struct rd_ring_q *q = m->rings[i];
		if (!q)
			continue;
		m->st->dropped_event_bytes += q->pend_len;
		q->pend_len = 0;
		q->lost = 1;
	}
	m->damaged = 1;
}

static void free_ring(struct rd_merge *m, struct rd_ring_q *q)
{
	m->live_runs -= q->nruns - q->run_head;
	for (size_t i = q->run_head; i < q->nruns; i++)
		m->spill_live -= q->runs[i].len;
	if (q->run_head < q->nruns)
		m->spilled_rings--;
	rd_ring_dec_fini(&q->check);
	free(q->pend);
	free(q->buf);
	free(q->runs);
	free(q->rbuf);
	free(q);
}

void rd_merge_end(struct rd_merge *m)
{
	rd_merge_release(m, UINT64_MAX);
	for (size_t i = 0; i < m->nrings; i++)
		if (m->rings[i])
			free_ring(m, m->rings[i]);
	free(m->rings);
	m->rings = NULL;
	m->nrings = 0;
	m->mem_bytes = m->waiting = 0;
	m->delivered_upto = 0;
	m->damaged = 0;
	m->mark_head = m->nmarks = 0;
	if (m->spill_fd >= 0 && ftruncate(m->spill_fd, 0) == 0)
		m->spill_size = m->spill_live = 0;
}

void rd_merge_fini(struct rd_merge *m)
{
	for (size_t i = 0; i < m->nrings; i++)
		if (m->rings[i])
			free_ring(m, m->rings[i]);
	free(m->rings);
	free(m->heap);
	free(m->marks);
	if (m->spill_fd >= 0)
		close(m->spill_fd);
	memset(m, 0, sizeof *m);
	m->spill_fd = -1;
}
