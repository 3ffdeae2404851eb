/*
 * internal.h - the reader's stages, shared by source.c, decode.c and reader.c
 * (and by the unit tests and fuzz targets, which call the decoders directly).
 */
#ifndef LDPR_READ_INTERNAL_H
#define LDPR_READ_INTERNAL_H

#include <stdio.h>

#include "trace.h"

/* ---- source.c: bytes -> segment headers and decompressed frames ---- */

struct rd_input {
	FILE *f;            /* either a stream ... */
	const uint8_t *mem; /* ... or memory */
	size_t mem_len, mem_pos;
	const char *name;
	uint64_t size;     /* total bytes when known, for progress */
	int progress;      /* show progress on stderr (a terminal, a big file) */
};

struct rd_source_cb {
	/* A segment header's payload (after the skippable-frame magic and size). */
	int (*header)(void *ctx, const uint8_t *p, size_t n, uint64_t off, struct rd_error *err);
	int (*frame_begin)(void *ctx, uint64_t off);
	/* Decompressed bytes of the current frame, in order, in pieces of any size. */
	int (*frame_data)(void *ctx, const uint8_t *p, size_t n, struct rd_error *err);
	int (*frame_end)(void *ctx, struct rd_error *err);
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
/* ROUND: round number, time, floor. END: reason, time. */
int rd_decode_round(const uint8_t *p, size_t n, uint64_t *round, uint64_t *time_us, uint64_t *floor,
		    const char **why);
int rd_decode_end(const uint8_t *p, size_t n, struct rd_end *end, const char **why);
int rd_decode_snapshot(const uint8_t *p, size_t n, struct rd_snapshot *s, const char **why);
int rd_decode_sample(const uint8_t *p, size_t n, struct rd_sample *s, const char **why);
int rd_decode_sampling(const uint8_t *p, size_t n, struct rd_sampling *s, const char **why);
int rd_decode_lost(const uint8_t *p, size_t n, unsigned *kind, uint64_t *count, const char **why);
/* path must hold LDP_MAX_PATH_LEN + 1 bytes. */
int rd_decode_path(const uint8_t *p, size_t n, uint32_t *id, char *path, const char **why);
int rd_decode_rss(const uint8_t *p, size_t n, uint64_t *time_us, uint64_t *bytes, const char **why);
/* name must hold 65 bytes. */
int rd_decode_thread(const uint8_t *p, size_t n, uint32_t *tid, char *name, const char **why);

/* Per-ring delta state of the event decoder. */
struct rd_ring_dec {
	uint64_t seq, ptr;
	uint32_t tid;
	int attached;
};

enum { RD_DEC_EVENT = 1, RD_DEC_ATTACH = 2, RD_DEC_SKIPPED = 3 /* a sized op this reader does not know */ };

/* Decode one event from [p, end).
 * @return bytes consumed (>0) with *what set to RD_DEC_EVENT or RD_DEC_ATTACH,
 *         0 when [p, end) holds only the start of an event, -1 when malformed. */
long rd_decode_event(const uint8_t *p, const uint8_t *end, struct rd_ring_dec *st, struct rd_event *ev, int *what,
		     const char **why);

#endif
