/*
 * ahead.c - read ahead on a thread of its own: the reader (zstd, records,
 * the merge) on one core while the caller's visitor (the models) runs on
 * another.
 *
 *   reading thread:  reader --recorder--> chunk --queue (AHEAD_QUEUE full chunks)-->
 *   calling thread:                                  chunk --replay--> caller's visitor
 *
 * The recorder copies each callback and everything it points to (a stack's
 * addresses, a segment's or module's strings: the reader owns and reuses
 * them) into a chunk: items one after another, each a header and a copy.
 * Events, the bulk, go in runs: one header, then event after event, packed
 * (pack_event: the bytes crossing to the other core are what costs). An
 * item larger than a chunk gets a chunk of its own, as large as it needs.
 * The calling thread unpacks a run a few events ahead of delivering them,
 * and hints each to the visitor's prefetch first. The queue is bounded, so memory stays bounded whatever
 * the trace's length: the reading thread waits when the models are behind.
 *
 * Callbacks return nothing, so data flows one way. The caller sees the same
 * callbacks with the same values in the same order as from the reader
 * itself, then the same return value, error and stats: the reading thread
 * fills its own copies, handed over after it is joined. A read that fails
 * part way still delivers everything before the failure (the last chunk is
 * queued whatever the outcome).
 *
 * Whether to hand over at all is measured, not guessed: the reading
 * thread starts by calling the caller's visitor itself (the caller waits),
 * timing one event in AHEAD_TIME_EVERY. At the end of each window of
 * rd_ahead_decide_events events, if the visitor took at least rd_ahead_min_share of the time and
 * rd_ahead_min_event_ns an event, it switches to recording and the caller replays from there on (the mutex of
 * the first queued chunk orders the models' updates). Otherwise it goes on
 * alone: a model as cheap as the copy (a malloc/free loop: one live block)
 * ran 1.6x slower handed over, the copy's cache lines crossing cores, while
 * models with a large live set ran 0.64x (random sizes) and 0.81x (python).
 *
 * Not for a visitor with raw_record or raw_event (ldprof dump): those
 * point into the reader's buffers and are not recorded. Not for following
 * a live trace either (ldprof top draws between reads).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "ldprof/varint.h"
#include "util/util.h"

LDP_SEAM size_t rd_ahead_chunk_bytes = 256u << 10;
/* The measurement: events delivered directly before deciding, and the share
 * of the time the visitor must take for the handover to pay. */
LDP_SEAM uint64_t rd_ahead_decide_events = 1u << 14;
LDP_SEAM double rd_ahead_min_share = 0.4;
/* ... and the least visitor time per event: handing an event over costs the
 * reading thread about 40 ns here (its cache lines cross cores), so a
 * model cheaper than that gains nothing from another core. */
LDP_SEAM double rd_ahead_min_event_ns = 60;
#define AHEAD_TIME_EVERY 64
/* Below this much trace a thread may cost more than it saves: a 300 KB
 * trace of 40 ms reported 6% slower with it, one of 650 KB 5% faster
 * (docs/ARCHITECTURE.md). Compressed size says little of the work (20 M
 * events can take 25 KB), so this only spares the small ones. */
#define AHEAD_MIN_BYTES (512u << 10)
/* Full chunks waiting at most: with the one being filled and the one being
 * replayed, about 1.5 MiB in flight. */
#define AHEAD_QUEUE 4
/* How far ahead of its delivery an event's prefetch hint goes: enough
 * events to cover a cache miss, few enough that the lines are still there. */
#define PREFETCH_AHEAD 8
/* Spare chunks kept for reuse: a fresh one costs page faults. */
#define AHEAD_SPARE 2

enum item_kind {
	IT_SEGMENT = 1, IT_MODULE, IT_STACK, IT_EVENTS, IT_SNAPSHOT, IT_PAUSE, IT_SAMPLING, IT_SAMPLE,
	IT_LOST, IT_THREAD, IT_PATH, IT_RSS, IT_SEGMENT_END, IT_EVENTS_PACKED,
};

/* An item: this header, then its copy, padded to ITEM_ALIGN. */
struct item {
	uint32_t kind;
	uint32_t n;    /* IT_EVENTS, IT_EVENTS_PACKED: events in the run */
	size_t size;   /* header included, padded */
};
#define ITEM_ALIGN 16u

/* Most events are allocations and frees: they travel packed, one byte of op
 * and flags, then as varints only the fields that differ from the run's
 * previous event. A malloc/free loop's pair takes 3 bytes instead of two
 * 32-byte structs: the bytes crossing to the other core are what a
 * handover costs, and with 32 bytes an event the handover lost on every
 * model as cheap as the copy. Anything else (the mapped channel; an
 * untrusted trace may say anything) travels whole. A site event (ptr 0,
 * format 2.2) has its size and stack packed, a free's as an allocation's. */
#define PK_SEQ1 0x04     /* seq is the previous + 1 (else zigzag delta) */
#define PK_SAME_PTR 0x08 /* ptr is the previous (else zigzag delta) */
#define PK_TID 0x40      /* the thread id follows (else the previous) */
#define PK_STACK 0x80    /* an allocation's or site free's stack follows, zigzag delta (else the previous) */
#define PK_OP 0x33       /* the op: LDP_EV_ALLOC_* or LDP_EV_FREE */
#define PACKED_MAX (1 + 5 * LDP_VARINT_MAX)

struct pack_state {
	uint64_t seq, ptr;
	uint32_t stack, tid;
};

struct chunk {
	struct chunk *next;
	size_t len, cap;
	_Alignas(16) unsigned char data[];
};

struct ahead {
	/* set before the thread starts, then read only */
	const struct rd_visitor *v; /* the caller's */
	rd_read_fn read;
	void *arg;
	/* the reading thread's own */
	struct chunk *cur;
	struct item *run;           /* the packed events run at the end of cur, if any */
	struct pack_state pack;     /* the run's previous event */
	size_t run_bytes;           /* the run's packed bytes so far */
	struct rd_stats st;
	struct rd_error err;
	int rc;
	int direct;                 /* still calling the caller's visitor itself */
	uint64_t start_ns, events, visitor_ns;
	uint64_t clock_ns;          /* what reading the clock itself costs */
	/* shared, under mu (a cache line apart from the reading thread's) */
	_Alignas(64) pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct chunk *head, *tail;  /* full chunks, in order */
	size_t queued;
	struct chunk *spare;
	size_t nspare;
	int done;                   /* the reading thread has queued its last chunk */
};

static size_t pad(size_t n)
{
	return (n + ITEM_ALIGN - 1) & ~(size_t)(ITEM_ALIGN - 1);
}

/* ---- the reading thread ---- */

static struct chunk *chunk_new(struct ahead *a, size_t need)
{
	struct chunk *c = NULL;
	if (need <= rd_ahead_chunk_bytes) {
		pthread_mutex_lock(&a->mu);
		if ((c = a->spare)) {
			a->spare = c->next;
			a->nspare--;
		}
		pthread_mutex_unlock(&a->mu);
		need = rd_ahead_chunk_bytes;
	}
	if (!c) {
		c = xmalloc(sizeof *c + need);
		c->cap = need;
	}
	c->next = NULL;
	c->len = 0;
	return c;
}

static void queue_put(struct ahead *a, struct chunk *c)
{
	pthread_mutex_lock(&a->mu);
	while (a->queued >= AHEAD_QUEUE)
		pthread_cond_wait(&a->room, &a->mu);
	if (a->tail)
		a->tail->next = c;
	else
		a->head = c;
	a->tail = c;
	a->queued++;
	pthread_cond_signal(&a->more);
	pthread_mutex_unlock(&a->mu);
}

/* Room for an item of size bytes (padded) at the end of the current chunk. */
static struct item *item_new(struct ahead *a, unsigned kind, size_t size)
{
	size = pad(size);
	if (!a->cur || a->cur->cap - a->cur->len < size) {
		if (a->cur && a->cur->len)
			queue_put(a, a->cur);
		else
			free(a->cur);
		a->cur = chunk_new(a, size);
	}
	struct item *it = (struct item *)(a->cur->data + a->cur->len);
	a->cur->len += size;
	it->kind = kind;
	it->n = 0;
	it->size = size;
	a->run = NULL;
	return it;
}

static void *body(struct item *it)
{
	return (unsigned char *)it + pad(sizeof *it);
}

/* Copy the string s (NULL allowed) to p: a presence byte, then the string
 * and its NUL. @return the bytes used. */
static size_t put_str(unsigned char *p, const char *s, size_t len)
{
	p[0] = s != NULL;
	if (s)
		memcpy(p + 1, s, len + 1);
	return 1 + (s ? len + 1 : 0);
}

static const char *get_str(const unsigned char **p)
{
	const unsigned char *q = *p;
	if (!q[0]) {
		*p = q + 1;
		return NULL;
	}
	const char *s = (const char *)q + 1;
	*p = q + 1 + strlen(s) + 1;
	return s;
}

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

static void rec_segment(void *ctx, const struct rd_segment *seg)
{
	struct ahead *a = ctx;
	if (a->direct) {
		a->v->segment_begin(a->v->ctx, seg);
		return;
	}
	const char *s[5] = {seg->exe, seg->cmdline, seg->hostname, seg->agent_version, seg->allocator};
	size_t len[5], size = pad(sizeof(struct item)) + sizeof *seg;
	for (int i = 0; i < 5; i++)
		size += 2 + (len[i] = slen(s[i]));
	struct item *it = item_new(a, IT_SEGMENT, size);
	unsigned char *p = body(it);
	memcpy(p, seg, sizeof *seg);
	p += sizeof *seg;
	for (int i = 0; i < 5; i++)
		p += put_str(p, s[i], len[i]);
}

static void rec_module(void *ctx, const struct rd_module *m)
{
	struct ahead *a = ctx;
	if (a->direct) {
		a->v->module(a->v->ctx, m);
		return;
	}
	size_t len = slen(m->path);
	struct item *it = item_new(a, IT_MODULE, pad(sizeof *it) + sizeof *m + 2 + len);
	unsigned char *p = body(it);
	memcpy(p, m, sizeof *m);
	put_str(p + sizeof *m, m->path, len);
}

static void rec_stack(void *ctx, const struct rd_stack *s)
{
	struct ahead *a = ctx;
	if (a->direct) {
		a->v->stack(a->v->ctx, s);
		return;
	}
	size_t n = s->depth * sizeof *s->ips;
	struct item *it = item_new(a, IT_STACK, pad(sizeof *it) + pad(sizeof *s) + n);
	unsigned char *p = body(it);
	memcpy(p, s, sizeof *s);
	if (n)
		memcpy(p + pad(sizeof *s), s->ips, n);
}

static int packable(const struct rd_event *e)
{
	if (e->old_ptr || e->old_size || e->path || e->flags || e->prot)
		return 0;
	if (e->kind == RD_EV_ALLOC)
		return e->op >= LDP_EV_ALLOC_MALLOC && e->op <= LDP_EV_ALLOC_ALIGNED;
	/* A free has no size or stack, but a site free (ptr 0) which packs them. */
	return e->kind == RD_EV_FREE && e->op == LDP_EV_FREE && (!e->ptr || (!e->size && !e->stack));
}

static size_t pack_event(struct pack_state *ps, const struct rd_event *e, uint8_t *out)
{
	uint8_t *p = out + 1;
	unsigned op = e->op;
	if (e->seq == ps->seq + 1)
		op |= PK_SEQ1;
	else
		p += ldp_varint_put(p, ldp_zigzag((int64_t)(e->seq - ps->seq)));
	if (e->ptr == ps->ptr)
		op |= PK_SAME_PTR;
	else
		p += ldp_varint_put(p, ldp_zigzag((int64_t)(e->ptr - ps->ptr)));
	if (e->kind == RD_EV_ALLOC || !e->ptr) {
		p += ldp_varint_put(p, e->size);
		if (e->stack != ps->stack) {
			op |= PK_STACK;
			p += ldp_varint_put(p, ldp_zigzag((int64_t)e->stack - (int64_t)ps->stack));
			ps->stack = e->stack;
		}
	}
	if (e->tid != ps->tid) {
		op |= PK_TID;
		p += ldp_varint_put(p, e->tid);
		ps->tid = e->tid;
	}
	out[0] = (uint8_t)op;
	ps->seq = e->seq;
	ps->ptr = e->ptr;
	return (size_t)(p - out);
}

static const uint8_t *unpack_event(struct pack_state *ps, const uint8_t *p, struct rd_event *e)
{
	unsigned op = *p++;
	uint64_t v;
	*e = (struct rd_event){.op = (uint8_t)(op & PK_OP)};
	if (op & PK_SEQ1) {
		ps->seq++;
	} else {
		p = ldp_varint_get_checked(p, &v);
		ps->seq += (uint64_t)ldp_unzigzag(v);
	}
	if (!(op & PK_SAME_PTR)) {
		p = ldp_varint_get_checked(p, &v);
		ps->ptr += (uint64_t)ldp_unzigzag(v);
	}
	e->kind = e->op == LDP_EV_FREE ? RD_EV_FREE : RD_EV_ALLOC;
	if (e->kind == RD_EV_ALLOC || !ps->ptr) {
		p = ldp_varint_get_checked(p, &e->size);
		if (op & PK_STACK) {
			p = ldp_varint_get_checked(p, &v);
			ps->stack = (uint32_t)((int64_t)ps->stack + ldp_unzigzag(v));
		}
		e->stack = ps->stack;
	}
	if (op & PK_TID) {
		p = ldp_varint_get_checked(p, &v);
		ps->tid = (uint32_t)v;
	}
	e->seq = ps->seq;
	e->ptr = ps->ptr;
	e->tid = ps->tid;
	return p;
}

/* The hot one: an event joins the run at the end of the chunk when the run
 * has its form and the chunk has room, so it costs a copy and no header. */
static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Direct delivery while measuring; at the decision, maybe the switch. */
static __attribute__((noinline)) void timed_event(struct ahead *a, const struct rd_event *e)
{
	const struct rd_visitor *v = a->v;
	uint64_t t = mono_ns();
	v->event(v->ctx, e);
	uint64_t now = mono_ns();
	uint64_t d = now - t > a->clock_ns ? now - t - a->clock_ns : 0;
	a->visitor_ns += d * AHEAD_TIME_EVERY;
	if (a->events < rd_ahead_decide_events)
		return;
	/* A window of events judged: the models' cost grows with the live set,
	 * so a trace may start cheap and become worth handing over. */
	double share = now > a->start_ns ? (double)a->visitor_ns / (double)(now - a->start_ns) : 0;
	double per_event = (double)a->visitor_ns / (double)a->events;
	if (share >= rd_ahead_min_share && per_event >= rd_ahead_min_event_ns)
		a->direct = 0; /* recorded from the next callback on; the caller starts at the first chunk */
	a->events = a->visitor_ns = 0;
	a->start_ns = now;
}

static void rec_event(void *ctx, const struct rd_event *e)
{
	struct ahead *a = ctx;
	if (a->direct) {
		if (++a->events % AHEAD_TIME_EVERY)
			a->v->event(a->v->ctx, e);
		else
			timed_event(a, e);
		return;
	}
	struct item *run = a->run;
	if (!packable(e)) {
		run = item_new(a, IT_EVENTS, pad(sizeof *run) + sizeof *e);
		run->n = 1;
		memcpy(body(run), e, sizeof *e);
		return;
	}
	/* Room for the largest event and the padding after it. */
	if (!run || a->cur->cap - a->cur->len < PACKED_MAX + ITEM_ALIGN) {
		/* (a new chunk, if one is needed, with room for the first event) */
		run = item_new(a, IT_EVENTS_PACKED, pad(sizeof *run) + PACKED_MAX + ITEM_ALIGN);
		a->cur->len -= run->size - pad(sizeof *run);
		run->size = pad(sizeof *run);
		a->run = run;
		a->pack = (struct pack_state){0};
		a->run_bytes = 0;
	}
	a->run_bytes += pack_event(&a->pack, e, (uint8_t *)body(run) + a->run_bytes);
	run->n++;
	size_t size = pad(pad(sizeof *run) + a->run_bytes);
	a->cur->len += size - run->size;
	run->size = size;
}

/* A callback whose arguments hold no pointers: copied as they are. */
static void rec_plain(struct ahead *a, unsigned kind, const void *p, size_t n)
{
	struct item *it = item_new(a, kind, pad(sizeof *it) + n);
	memcpy(body(it), p, n);
}

static void rec_snapshot(void *ctx, const struct rd_snapshot *s)
{
	struct ahead *a = ctx;
	if (a->direct)
		a->v->snapshot(a->v->ctx, s);
	else
		rec_plain(a, IT_SNAPSHOT, s, sizeof *s);
}

static void rec_pause(void *ctx, const struct rd_pause *x)
{
	struct ahead *a = ctx;
	if (a->direct)
		a->v->pause(a->v->ctx, x);
	else
		rec_plain(a, IT_PAUSE, x, sizeof *x);
}

static void rec_sampling(void *ctx, const struct rd_sampling *s)
{
	struct ahead *a = ctx;
	if (a->direct)
		a->v->sampling(a->v->ctx, s);
	else
		rec_plain(a, IT_SAMPLING, s, sizeof *s);
}

static void rec_sample(void *ctx, const struct rd_sample *s)
{
	struct ahead *a = ctx;
	if (a->direct)
		a->v->sample(a->v->ctx, s);
	else
		rec_plain(a, IT_SAMPLE, s, sizeof *s);
}

struct two_u64 {
	uint64_t a, b;
};

static void rec_lost(void *ctx, unsigned kind, uint64_t count)
{
	struct ahead *a = ctx;
	if (a->direct) {
		a->v->lost(a->v->ctx, kind, count);
		return;
	}
	rec_plain(a, IT_LOST, &(struct two_u64){kind, count}, sizeof(struct two_u64));
}

static void rec_rss(void *ctx, uint64_t time_us, uint64_t bytes)
{
	struct ahead *a = ctx;
	if (a->direct) {
		a->v->rss(a->v->ctx, time_us, bytes);
		return;
	}
	rec_plain(a, IT_RSS, &(struct two_u64){time_us, bytes}, sizeof(struct two_u64));
}

/* THREAD and PATH: an id and a string. */
static void rec_named(struct ahead *a, unsigned kind, uint32_t id, const char *s)
{
	size_t len = slen(s);
	struct item *it = item_new(a, kind, pad(sizeof *it) + sizeof id + 2 + len);
	unsigned char *p = body(it);
	memcpy(p, &id, sizeof id);
	put_str(p + sizeof id, s, len);
}

static void rec_thread(void *ctx, uint32_t tid, const char *name)
{
	struct ahead *a = ctx;
	if (a->direct) {
		a->v->thread(a->v->ctx, tid, name);
		return;
	}
	rec_named(a, IT_THREAD, tid, name);
}

static void rec_path(void *ctx, uint32_t id, const char *path)
{
	struct ahead *a = ctx;
	if (a->direct) {
		a->v->path(a->v->ctx, id, path);
		return;
	}
	rec_named(a, IT_PATH, id, path);
}

static void rec_segment_end(void *ctx, const struct rd_end *end)
{
	struct ahead *a = ctx;
	if (a->direct)
		a->v->segment_end(a->v->ctx, end);
	else
		rec_plain(a, IT_SEGMENT_END, end, sizeof *end);
}

/* The recorder has a callback exactly where the caller's visitor has one:
 * the reader skips work for an absent callback, and must skip the same. */
static struct rd_visitor recorder(struct ahead *a)
{
	const struct rd_visitor *v = a->v;
#define REC(f) .f = v->f ? rec_##f : NULL
	return (struct rd_visitor){
		.ctx = a,
		.segment_begin = v->segment_begin ? rec_segment : NULL,
		REC(module),
		REC(stack),
		REC(event),
		REC(snapshot),
		REC(pause),
		REC(sampling),
		REC(sample),
		REC(lost),
		REC(thread),
		REC(path),
		REC(rss),
		REC(segment_end),
	};
#undef REC
}

static void *reading_thread(void *arg)
{
	struct ahead *a = arg;
	struct rd_visitor rec = recorder(a);
	a->clock_ns = UINT64_MAX;
	for (int i = 0; i < 16; i++) {
		uint64_t t = mono_ns(), d = mono_ns() - t;
		a->clock_ns = d < a->clock_ns ? d : a->clock_ns;
	}
	a->start_ns = mono_ns();
	a->rc = a->read(a->arg, &rec, &a->st, &a->err);
	/* The last chunk, whatever the outcome: all before an error counts. */
	if (a->cur && a->cur->len)
		queue_put(a, a->cur);
	else
		free(a->cur);
	a->cur = NULL;
	pthread_mutex_lock(&a->mu);
	a->done = 1;
	pthread_cond_signal(&a->more);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- the calling thread ---- */

/* The segment being replayed: its strings outlive the chunk they came in,
 * as the reader's own do (from segment_begin to segment_end). */
struct replay {
	const struct rd_visitor *v;
	struct rd_segment seg;
};

/* A packed run, decoded PREFETCH_AHEAD events ahead of delivery so that
 * the model can fetch what each will touch (struct rd_visitor.prefetch). */
static void replay_packed(const struct rd_visitor *v, const uint8_t *p, uint32_t n)
{
	enum { RING = 2 * PREFETCH_AHEAD };
	struct rd_event ring[RING];
	struct pack_state ps = {0};
	uint32_t ahead = n < PREFETCH_AHEAD ? n : PREFETCH_AHEAD;
	for (uint32_t i = 0; i < ahead; i++)
		p = unpack_event(&ps, p, &ring[i]);
	for (uint32_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n) {
			struct rd_event *f = &ring[(i + PREFETCH_AHEAD) % RING];
			p = unpack_event(&ps, p, f);
			if (v->prefetch)
				v->prefetch(v->ctx, f->ptr, f->stack, f->kind == RD_EV_ALLOC);
		}
		v->event(v->ctx, &ring[i % RING]);
	}
}

static void replay_item(struct replay *r, const struct item *it)
{
	const struct rd_visitor *v = r->v;
	const unsigned char *p = (const unsigned char *)it + pad(sizeof *it);
	switch (it->kind) {
	case IT_SEGMENT: {
		rd_segment_clear(&r->seg);
		memcpy(&r->seg, p, sizeof r->seg);
		p += sizeof r->seg;
		char **s[5] = {&r->seg.exe, &r->seg.cmdline, &r->seg.hostname, &r->seg.agent_version,
			       &r->seg.allocator};
		for (int i = 0; i < 5; i++) {
			const char *x = get_str(&p);
			*s[i] = x ? xstrdup(x) : NULL;
		}
		v->segment_begin(v->ctx, &r->seg);
		return;
	}
	case IT_MODULE: {
		struct rd_module m;
		memcpy(&m, p, sizeof m);
		p += sizeof m;
		m.path = (char *)get_str(&p);
		v->module(v->ctx, &m);
		return;
	}
	case IT_STACK: {
		struct rd_stack s;
		memcpy(&s, p, sizeof s);
		s.ips = (uint64_t *)(p + pad(sizeof s));
		v->stack(v->ctx, &s);
		return;
	}
	case IT_EVENTS: {
		const struct rd_event *e = (const struct rd_event *)p;
		for (uint32_t i = 0; i < it->n; i++)
			v->event(v->ctx, &e[i]);
		return;
	}
	case IT_EVENTS_PACKED:
		replay_packed(v, p, it->n);
		return;
	case IT_SNAPSHOT: v->snapshot(v->ctx, (const struct rd_snapshot *)p); return;
	case IT_PAUSE: v->pause(v->ctx, (const struct rd_pause *)p); return;
	case IT_SAMPLING: v->sampling(v->ctx, (const struct rd_sampling *)p); return;
	case IT_SAMPLE: v->sample(v->ctx, (const struct rd_sample *)p); return;
	case IT_LOST: {
		const struct two_u64 *x = (const struct two_u64 *)p;
		v->lost(v->ctx, (unsigned)x->a, x->b);
		return;
	}
	case IT_RSS: {
		const struct two_u64 *x = (const struct two_u64 *)p;
		v->rss(v->ctx, x->a, x->b);
		return;
	}
	case IT_THREAD:
	case IT_PATH: {
		uint32_t id;
		memcpy(&id, p, sizeof id);
		p += sizeof id;
		const char *s = get_str(&p);
		(it->kind == IT_THREAD ? v->thread : v->path)(v->ctx, id, s);
		return;
	}
	case IT_SEGMENT_END:
		v->segment_end(v->ctx, (const struct rd_end *)p);
		rd_segment_clear(&r->seg);
		return;
	default: abort(); /* only this file writes chunks */
	}
}

static void replay_chunk(struct replay *r, const struct chunk *c)
{
	for (size_t off = 0; off < c->len;) {
		const struct item *it = (const struct item *)(c->data + off);
		replay_item(r, it);
		off += it->size;
	}
}

static struct chunk *queue_get(struct ahead *a)
{
	pthread_mutex_lock(&a->mu);
	while (!a->head && !a->done)
		pthread_cond_wait(&a->more, &a->mu);
	struct chunk *c = a->head;
	if (c) {
		a->head = c->next;
		if (!a->head)
			a->tail = NULL;
		a->queued--;
		pthread_cond_signal(&a->room);
	}
	pthread_mutex_unlock(&a->mu);
	return c;
}

static void chunk_done(struct ahead *a, struct chunk *c)
{
	if (c->cap == rd_ahead_chunk_bytes) {
		pthread_mutex_lock(&a->mu);
		if (a->nspare < AHEAD_SPARE) {
			c->next = a->spare;
			a->spare = c;
			a->nspare++;
			c = NULL;
		}
		pthread_mutex_unlock(&a->mu);
	}
	free(c);
}

int rd_ahead_run(rd_read_fn read, void *arg, const struct rd_visitor *v, enum rd_ahead_how how, struct rd_stats *st,
		 struct rd_error *err)
{
	struct ahead *a = aligned_alloc(64, sizeof *a);
	if (!a)
		return read(arg, v, st, err);
	memset(a, 0, sizeof *a);
	a->v = v;
	a->direct = how == RD_AHEAD_MEASURE;
	a->read = read;
	a->arg = arg;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->more, NULL);
	pthread_cond_init(&a->room, NULL);
	/* Signals stay the calling thread's business: the new thread blocks them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int started = pthread_create(&t, NULL, reading_thread, a) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	int rc;
	if (!started) {
		rc = read(arg, v, st, err); /* no thread: read here, as without ahead */
	} else {
		struct replay r = {.v = v};
		struct chunk *c;
		while ((c = queue_get(a))) {
			replay_chunk(&r, c);
			chunk_done(a, c);
		}
		pthread_join(t, NULL);
		rd_segment_clear(&r.seg);
		*st = a->st;
		*err = a->err;
		rc = a->rc;
	}
	while (a->spare) {
		struct chunk *c = a->spare;
		a->spare = c->next;
		free(c);
	}
	pthread_cond_destroy(&a->room);
	pthread_cond_destroy(&a->more);
	pthread_mutex_destroy(&a->mu);
	free(a);
	return rc;
}

/* LDPROF_READ_THREADS: 1 reads on the calling thread, 2 always reads ahead
 * (the tests: small traces too); unset or anything else, a thread from
 * 512 KiB of trace, handing over when the measurement says it pays. */
enum rd_ahead_how rd_ahead_wanted(const struct rd_visitor *v, uint64_t bytes)
{
	if (v->raw_record || v->raw_event)
		return RD_AHEAD_NO;
	const char *env = getenv("LDPROF_READ_THREADS");
	if (env && !strcmp(env, "1"))
		return RD_AHEAD_NO;
	if (env && !strcmp(env, "2"))
		return RD_AHEAD_ALWAYS;
	if (bytes < AHEAD_MIN_BYTES)
		return RD_AHEAD_NO;
	cpu_set_t set;
	return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2 ? RD_AHEAD_MEASURE : RD_AHEAD_NO;
}
