/*
 * internal.h - the reader's stages, shared by source.c, decode.c and reader.c
 * (and by the unit tests and fuzz targets, which call the decoders directly).
 */
#ifndef LDPR_READ_INTERNAL_H
#define LDPR_READ_INTERNAL_H

#include <stdio.h>

#include "ldprof/model.h"
#include "ldprof/varint.h"
#include "trace.h"
#include "util/util.h"

/* ---- source.c: bytes -> segment headers and decompressed frames ---- */

struct rd_input {
	FILE *f;            /* either a stream ... */
	const uint8_t *mem; /* ... or memory */
	size_t mem_len, mem_pos;
	const char *name;
	uint64_t size;     /* total bytes when known, for progress */
	int progress;      /* show progress on stderr (a terminal, a big file) */
	/* Following a file still being written (rd_follow_file): at its end,
	 * ask caught_up whether to wait for more (1) or stop there (0). A
	 * partial frame or record at the end is then not the end of the trace. */
	int (*caught_up)(void *ctx);
	void *caught_up_ctx;
};

struct rd_source_cb {
	/* A segment header's payload (after the skippable-frame magic and size). */
	int (*header)(void *ctx, const uint8_t *p, size_t n, uint64_t off, struct rd_error *err);
	int (*frame_begin)(void *ctx, uint64_t off);
	/* Decompressed bytes of the current frame, in order, in pieces of any size. */
	int (*frame_data)(void *ctx, const uint8_t *p, size_t n, struct rd_error *err);
	int (*frame_end)(void *ctx, struct rd_error *err);
	/* Damage (source.c): the bytes from `at` on were unusable (what a
	 * damaged frame held before its bad block was delivered); reading
	 * resumes at `resume` (a segment header, a frame, or the end). */
	void (*damage)(void *ctx, uint64_t at, uint64_t resume);
};

int rd_source_run(struct rd_input *in, const struct rd_source_cb *cb, void *ctx, struct rd_stats *st,
		  struct rd_error *err);

/* ---- decode.c: payloads -> typed values ---- */

/* Each returns 0, or -1 with *why naming what was wrong. Strings in the
 * results are malloc'd and owned by the caller (rd_*_clear frees them). */
int rd_decode_header(const uint8_t *p, size_t n, struct rd_segment *seg, const char **why);
int rd_decode_module(const uint8_t *p, size_t n, struct rd_module *m, const char **why);
void rd_module_clear(struct rd_module *m);
/* ips must hold LDP_MAX_STACK_DEPTH entries; s->ips points into it. */
int rd_decode_stack(const uint8_t *p, size_t n, struct rd_stack *s, uint64_t *ips, const char **why);
/* STACK2 (since 2.0): its fields, and diffs[0..nnew) as written (zigzag, from
 * the outermost new frame in); diffs must hold LDP_MAX_STACK_DEPTH. Whether
 * the ids it names exist is the reader's to check. */
struct rd_stack2 {
	uint32_t id_delta, base_delta;
	unsigned flags, nnew, keep;
};
int rd_decode_stack2(const uint8_t *p, size_t n, struct rd_stack2 *s, uint64_t *diffs, const char **why);
/* ROUND: round number, time, floor. END: reason, time. */
int rd_decode_round(const uint8_t *p, size_t n, uint64_t *round, uint64_t *time_us, uint64_t *floor,
		    const char **why);
int rd_decode_end(const uint8_t *p, size_t n, struct rd_end *end, const char **why);
int rd_decode_snapshot(const uint8_t *p, size_t n, struct rd_snapshot *s, const char **why);
int rd_decode_pause(const uint8_t *p, size_t n, struct rd_pause *x, const char **why);
int rd_decode_sample(const uint8_t *p, size_t n, struct rd_sample *s, const char **why);
int rd_decode_sampling(const uint8_t *p, size_t n, struct rd_sampling *s, const char **why);
int rd_decode_lost(const uint8_t *p, size_t n, unsigned *kind, uint64_t *count, const char **why);
/* path must hold LDP_MAX_PATH_LEN + 1 bytes. */
int rd_decode_path(const uint8_t *p, size_t n, uint32_t *id, char *path, const char **why);
int rd_decode_rss(const uint8_t *p, size_t n, uint64_t *time_us, uint64_t *bytes, const char **why);
/* RING: ring id and the decoding state it gives (attached, model allocated:
 * the caller finishes it with rd_ring_dec_fini). */
struct rd_ring_dec;
int rd_decode_ring_state(const uint8_t *p, size_t n, uint64_t *ring, struct rd_ring_dec *st, const char **why);
/* The same, only its ring id, tid, seq and ptr (the model checked and dropped). */
int rd_decode_ring(const uint8_t *p, size_t n, uint64_t *ring, uint32_t *tid, uint64_t *seq, uint64_t *ptr,
		   const char **why);
/* name must hold 65 bytes. */
int rd_decode_thread(const uint8_t *p, size_t n, uint32_t *tid, char *name, const char **why);

/* Per-ring state of the event decoder: the delta bases and the 1.7 ops'
 * model (ldprof/model.h: the agent's own definition, and the where[] index
 * that finds a block by allocation index). model: allocated at the first
 * 1.7 op, or by a RING record (rd_ring_dec_fini frees it). */
struct rd_ring_dec {
	uint64_t seq, ptr;
	uint32_t tid;
	int attached;
	int quanta; /* its bytes came in EVENTS3 or 4: a model op's seq field may be quanta (ldprof/format.h) */
	struct ldp_model_dec *model;
};
void rd_ring_dec_fini(struct rd_ring_dec *st);

enum { RD_DEC_EVENT = 1, RD_DEC_ATTACH = 2, RD_DEC_SKIPPED = 3 /* a sized op this reader does not know */ };

/* Decode one event from [p, end).
 * @return bytes consumed (>0) with *what set to RD_DEC_EVENT or RD_DEC_ATTACH,
 *         0 when [p, end) holds only the start of an event, -1 when malformed. */
long rd_decode_event(const uint8_t *p, const uint8_t *end, struct rd_ring_dec *st, struct rd_event *ev, int *what,
		     const char **why);

/* rd_decode_event for a model op (LDP_EV_V2_MIN..MAX: 1.7's, 2.2's), which
 * is always an event; the state is unchanged unless it returns > 0. */
long rd_decode_v2(const uint8_t *p, const uint8_t *end, struct rd_ring_dec *st, struct rd_event *ev, const char **why);

/* The plain site ops (format 2.2): SALLOC_* (0x14..0x17) and SFREE. */
static inline int rd_site_op(unsigned op)
{
	return op - LDP_EV_SALLOC_MALLOC < 4u || op == LDP_EV_SFREE;
}
/* The 1.0 op a plain site op's event carries (struct rd_event.op), and back. */
static inline uint8_t rd_site_op_event(unsigned op)
{
	return op == LDP_EV_SFREE ? LDP_EV_FREE : (uint8_t)(LDP_EV_ALLOC_MALLOC + (op - LDP_EV_SALLOC_MALLOC));
}
static inline uint8_t rd_event_site_op(const struct rd_event *ev)
{
	return ev->kind == RD_EV_FREE ? LDP_EV_SFREE : (uint8_t)(LDP_EV_SALLOC_MALLOC + (ev->op - LDP_EV_ALLOC_MALLOC));
}

/* Largest op rd_event_compact writes. */
#define RD_EVENT_COMPACT_MAX 96
/* The same op in as few bytes as decode to the same event from the same
 * state: p[0..used) is an op rd_decode_event accepted (RD_DEC_EVENT or
 * RD_DEC_ATTACH). Fixed-layout ops are copied; a length-prefixed one keeps
 * only the fields this reader knows (a newer minor version may add more).
 * zero_stack: an event with a stack gets stack 0 instead.
 * out must hold RD_EVENT_COMPACT_MAX bytes. @return bytes written. */
size_t rd_event_compact(const uint8_t *p, size_t used, int zero_stack, uint8_t *out);
/* An event of a model op (1.7, 2.2) as the plain op that decodes to it from
 * the state (prev_seq, prev_ptr): the merge queues and delivers only those.
 * A site event (ptr 0) becomes SALLOC_* or SFREE: no address, prev_ptr stays. */
static inline __attribute__((always_inline)) size_t rd_event_legacy(const struct rd_event *ev, uint64_t prev_seq,
								     uint64_t prev_ptr, int zero_stack, uint8_t *out)
{
	size_t n = 1;
	out[0] = ev->op;
	n += ldp_varint_put(out + n, ev->seq - prev_seq);
	if (!ev->ptr) {
		out[0] = rd_event_site_op(ev);
		n += ldp_varint_put(out + n, ev->size);
		n += ldp_varint_put(out + n, zero_stack ? 0 : ev->stack);
		return n;
	}
	n += ldp_varint_put(out + n, ldp_zigzag((int64_t)(ev->ptr - prev_ptr)));
	if (ev->kind == RD_EV_ALLOC) {
		n += ldp_varint_put(out + n, ev->size);
		n += ldp_varint_put(out + n, zero_stack ? 0 : ev->stack);
	}
	return n;
}

/* ---- merge.c: every ring's events in seq order, in bounded memory ---- */

/* Test seams (STYLE.md 11): how many bytes of waiting events the merge
 * keeps in memory before it moves them to its temporary file, and how much
 * that file may hold before the merge gives up ordering. */
extern LDP_SEAM uint64_t rd_merge_mem_limit;
extern LDP_SEAM uint64_t rd_spill_max;
/* Test seam: 0 delivers one event per sift of the rings' heap, the plain
 * merge that runs and turns (merge.c) must reproduce exactly. */
extern LDP_SEAM int rd_merge_runs;
/* Test seam: 0 checks and queues a loop's pairs op by op, as the run of
 * them (merge.c, Q_PAIRS) must reproduce exactly. */
extern LDP_SEAM int rd_merge_pairs;

/* A snapshot marker, an RSS reading (snap.kind == 0) or a pause mark
 * (snap.kind == RD_MARK_PAUSE, the mark in pause), placed by seq. */
#define RD_MARK_PAUSE 0x10000u
struct rd_marker {
	struct rd_snapshot snap;
	uint64_t rss_time_us, rss_bytes;
	struct rd_pause pause;
};

struct rd_ring_q;
/* A ring in the release's heap, with its next event's seq beside it: the
 * comparisons read the heap alone, not each ring's queue (with four
 * threads they were a tenth of a report's time). */
struct rd_merge_head {
	uint64_t seq;
	uint32_t ring;
};

struct rd_merge {
	const struct rd_visitor *v;
	struct rd_stats *st;
	struct rd_ring_q **rings; /* by ring id */
	size_t nrings;
	struct rd_merge_head *heap; /* rings by their next event's seq (during a release) */
	size_t heap_len, heap_cap;
	struct rd_marker *marks;  /* waiting, sorted by seq: marks[mark_head..nmarks) */
	size_t mark_head, nmarks, marks_cap;
	uint64_t delivered_upto;  /* largest seq delivered: an event below it arrives late */
	uint64_t mem_bytes;       /* event bytes waiting in memory */
	uint64_t waiting;         /* events not yet delivered */
	int damaged;              /* this segment had damage: see rd_merge_lose */
	int spill_fd;             /* the temporary file, -1 until first needed */
	uint64_t spill_size;      /* its end: where the next run goes */
	uint64_t spill_live;      /* bytes of runs not yet read back (what the file holds) */
	size_t live_runs;         /* runs not yet read back; the file is emptied at 0 */
	size_t spilled_rings;     /* rings with runs */
	int spill_failed;         /* sticky: the file cannot take more */
	char spill_err[160];
};

void rd_merge_init(struct rd_merge *m, const struct rd_visitor *v, struct rd_stats *st);
/* A piece of ring `ring`'s event stream: checked (stack ids below
 * next_stack) and queued. quanta: it came in an EVENTS3 or EVENTS4 record.
 * @return 0, or -1 with *why set. */
int rd_merge_events(struct rd_merge *m, uint64_t ring, const uint8_t *p, size_t n, int quanta, uint32_t next_stack,
		    const char **why);
void rd_merge_marker(struct rd_merge *m, const struct rd_marker *k);
/* A RING record (a part of a rotated trace begins): ring `id`'s decoding
 * state there (from rd_decode_ring_state; taken over, or finished). Used
 * when the ring's state is not known already (the part is read without the
 * one before it); when it is, it must be equal. @return 0, or -1 with *why
 * set (a ring id out of range, a state that differs). */
int rd_merge_ring_state(struct rd_merge *m, uint64_t id, struct rd_ring_dec *st, const char **why);
/* Deliver every waiting event (and marker) with seq < limit, in seq order. */
void rd_merge_release(struct rd_merge *m, uint64_t limit);
/* Bytes were lost (a damaged frame, reader.c): every ring's delta state is
 * unknown, so its events are dropped (counted) until its next ATTACH, and
 * for the rest of the segment an event whose stack was never defined gets
 * stack 0. */
void rd_merge_lose(struct rd_merge *m);
/* The segment ended: deliver everything, forget the rings. */
void rd_merge_end(struct rd_merge *m);
void rd_merge_fini(struct rd_merge *m);

/* ---- ahead.c: the reader on a thread of its own, the visitor on this one ---- */

/* A whole read of the trace with visitor v (reader.c's run over its inputs). */
typedef int (*rd_read_fn)(void *arg, const struct rd_visitor *v, struct rd_stats *st, struct rd_error *err);
/* Chunk size of the queue between the threads (a test seam: the unit test
 * makes items larger than a chunk). */
extern LDP_SEAM size_t rd_ahead_chunk_bytes;
/* Events delivered directly, timed, before deciding to hand over, and the
 * share of the time the visitor must take for that. */
extern LDP_SEAM uint64_t rd_ahead_decide_events;
extern LDP_SEAM double rd_ahead_min_share;
extern LDP_SEAM double rd_ahead_min_event_ns;
enum rd_ahead_how { RD_AHEAD_NO = 0, RD_AHEAD_MEASURE, RD_AHEAD_ALWAYS };
/* Is a read of about `bytes` of trace (UINT64_MAX: unknown) with v worth a
 * thread? Not with raw_record or raw_event; LDPROF_READ_THREADS=1 never,
 * =2 always (the tests); else from 512 KiB with 2 CPUs usable, measured. */
enum rd_ahead_how rd_ahead_wanted(const struct rd_visitor *v, uint64_t bytes);
/* read(arg, ...) on a new thread while v's callbacks run on this one, in
 * the same order with the same values (strings and arrays copied); with
 * RD_AHEAD_MEASURE the new thread delivers the first events itself and
 * hands over only if v takes enough of the time. @return read's return,
 * with *st and *err as read left them. If no thread can be started, read
 * runs here with v. */
int rd_ahead_run(rd_read_fn read, void *arg, const struct rd_visitor *v, enum rd_ahead_how how, struct rd_stats *st,
		 struct rd_error *err);

#endif
