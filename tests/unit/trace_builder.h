/*
 * trace_builder.h - build traces in memory for reader tests, good and
 * deliberately broken, independently of the agent's writer (so the tests
 * check the format as documented, not one implementation against itself).
 */
#ifndef TRACE_BUILDER_H
#define TRACE_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ldprof/format.h"
#include "ldprof/varint.h"

struct tb {
	uint8_t *buf;
	size_t len, cap;
	uint8_t *rec; /* records of the frame being built */
	size_t rlen, rcap;
};

static inline void tb_grow(uint8_t **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 4096;
	*p = realloc(*p, *cap);
}

static inline void tb_raw(struct tb *t, const void *p, size_t n)
{
	tb_grow(&t->buf, &t->cap, t->len + n);
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

static inline void tb_le32(struct tb *t, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	tb_raw(t, b, 4);
}

/* A segment header with the given version and pid (plus an exe path), and
 * when hostname is given, the host and the process start time (what tells
 * a reader whether the process still runs). */
static inline void tb_header_host(struct tb *t, unsigned major, unsigned minor, uint64_t pid, const char *hostname,
				  uint64_t proc_start)
{
	uint8_t p[512];
	size_t n = 0;
	memcpy(p, LDP_FILE_MAGIC, LDP_FILE_MAGIC_LEN);
	n = LDP_FILE_MAGIC_LEN;
	p[n++] = (uint8_t)major;
	p[n++] = (uint8_t)(major >> 8);
	p[n++] = (uint8_t)minor;
	p[n++] = (uint8_t)(minor >> 8);
	uint8_t v[LDP_VARINT_MAX];
	size_t k = ldp_varint_put(v, pid);
	n += ldp_varint_put(p + n, LDP_HDR_PID);
	n += ldp_varint_put(p + n, k);
	memcpy(p + n, v, k);
	n += k;
	const char *exe = "/usr/bin/test";
	n += ldp_varint_put(p + n, LDP_HDR_EXE);
	n += ldp_varint_put(p + n, strlen(exe));
	memcpy(p + n, exe, strlen(exe));
	n += strlen(exe);
	if (hostname) {
		n += ldp_varint_put(p + n, LDP_HDR_HOSTNAME);
		n += ldp_varint_put(p + n, strlen(hostname));
		memcpy(p + n, hostname, strlen(hostname));
		n += strlen(hostname);
		k = ldp_varint_put(v, proc_start);
		n += ldp_varint_put(p + n, LDP_HDR_PROC_START);
		n += ldp_varint_put(p + n, k);
		memcpy(p + n, v, k);
		n += k;
	}
	n += ldp_varint_put(p + n, 999); /* an unknown tag must be skipped */
	n += ldp_varint_put(p + n, 3);
	memcpy(p + n, "xyz", 3);
	n += 3;
	tb_le32(t, LDP_SEGMENT_MAGIC);
	tb_le32(t, (uint32_t)n);
	tb_raw(t, p, n);
}

static inline void tb_header(struct tb *t, unsigned major, unsigned minor, uint64_t pid)
{
	tb_header_host(t, major, minor, pid, NULL, 0);
}

static inline void tb_record(struct tb *t, unsigned type, const void *payload, size_t n)
{
	tb_grow(&t->rec, &t->rcap, t->rlen + n + 1 + LDP_VARINT_MAX);
	t->rec[t->rlen++] = (uint8_t)type;
	t->rlen += ldp_varint_put(t->rec + t->rlen, n);
	memcpy(t->rec + t->rlen, payload, n);
	t->rlen += n;
}

/* Raw bytes as the content of the current frame (for broken records). */
static inline void tb_frame_bytes(struct tb *t, const void *p, size_t n)
{
	tb_grow(&t->rec, &t->rcap, t->rlen + n);
	memcpy(t->rec + t->rlen, p, n);
	t->rlen += n;
}

/* Compress the pending records into one zstd frame (content checksum on,
 * as the format says data frames have). */
static inline void tb_frame(struct tb *t)
{
	size_t bound = ZSTD_compressBound(t->rlen);
	uint8_t *z = malloc(bound);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	size_t zn = ZSTD_compress2(cc, z, bound, t->rec, t->rlen);
	ZSTD_freeCCtx(cc);
	tb_raw(t, z, zn);
	free(z);
	t->rlen = 0;
}

/* The agent's way: the pending records go into a frame that stays open
 * across rounds (ZSTD_e_flush: complete blocks, decodable, no frame end),
 * or end it (ZSTD_e_end). cc: a context with the checksum flag on. */
static inline void tb_stream(struct tb *t, ZSTD_CCtx *cc, int end)
{
	ZSTD_inBuffer in = {t->rec, t->rlen, 0};
	uint8_t z[4096];
	size_t left;
	do {
		ZSTD_outBuffer out = {z, sizeof z, 0};
		left = ZSTD_compressStream2(cc, &out, &in, end ? ZSTD_e_end : ZSTD_e_flush);
		if (ZSTD_isError(left))
			abort();
		tb_raw(t, z, out.pos);
	} while (left);
	t->rlen = 0;
}

static inline ZSTD_CCtx *tb_stream_new(void)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	return cc;
}

static inline void tb_free(struct tb *t)
{
	free(t->buf);
	free(t->rec);
	memset(t, 0, sizeof *t);
}

/*
 * Events by hand, as docs/FORMAT.md writes them (the agent's encoder is not
 * used, so the tests check the format, and cover ops it may never write):
 * a ring's delta state as a writer keeps it, and the ops that use it. The
 * model ops here never name a block by index or reuse (no recent table).
 */
struct tb_ring {
	uint64_t seq, ptr;
	uint32_t stack, free_stack; /* the model's (ALLOC2, ALLOC3; FREE3) */
};

/* A model op's seq field after its op (EVENTS3, 4: the same seq is 0, 0),
 * or SEQ1 in the op. @return bytes. */
static inline size_t tb_seq(uint8_t *p, uint8_t *op, uint8_t seq1, struct tb_ring *r, uint64_t seq)
{
	size_t n = 0;
	if (seq == r->seq + 1) {
		*op |= seq1;
	} else if (seq == r->seq) {
		p[n++] = 0;
		p[n++] = 0;
	} else {
		n = ldp_varint_put(p, seq - r->seq);
	}
	r->seq = seq;
	return n;
}

static inline size_t tb_zz_stack(uint8_t *p, uint32_t *base, uint32_t stack)
{
	size_t n = ldp_varint_put(p, ldp_zigzag((int64_t)stack - (int64_t)*base));
	*base = stack;
	return n;
}

static inline size_t tb_attach(uint8_t *p, struct tb_ring *r, uint32_t tid)
{
	*r = (struct tb_ring){0};
	p[0] = LDP_EV_ATTACH;
	return 1 + ldp_varint_put(p + 1, tid);
}

/* ALLOC2 with its address (kind: op - LDP_EV_ALLOC_MALLOC). */
static inline size_t tb_alloc2(uint8_t *p, struct tb_ring *r, unsigned kind, uint64_t seq, uint64_t ptr,
			       uint64_t size, uint32_t stack)
{
	uint8_t op = (uint8_t)(LDP_EV_ALLOC2 | kind);
	size_t n = 1 + tb_seq(p + 1, &op, LDP_EV_ALLOC2_SEQ1, r, seq);
	n += ldp_varint_put(p + n, size);
	n += ldp_varint_put(p + n, ldp_zigzag((int64_t)(ptr - r->ptr)));
	n += tb_zz_stack(p + n, &r->stack, stack);
	r->ptr = ptr;
	p[0] = op;
	return n;
}

/* FREE2 by address. */
static inline size_t tb_free2(uint8_t *p, struct tb_ring *r, uint64_t seq, uint64_t ptr)
{
	uint8_t op = LDP_EV_FREE2;
	size_t n = 1 + tb_seq(p + 1, &op, LDP_EV_FREE2_SEQ1, r, seq);
	n += ldp_varint_put(p + n, ldp_zigzag((int64_t)(ptr - r->ptr)));
	r->ptr = ptr;
	p[0] = op;
	return n;
}

/* 2.2: ALLOC3 [seq] size, stack delta; FREE3 [seq] stack delta, size. */
static inline size_t tb_alloc3(uint8_t *p, struct tb_ring *r, unsigned kind, uint64_t seq, uint64_t size,
			       uint32_t stack)
{
	uint8_t op = (uint8_t)(LDP_EV_ALLOC3 | kind);
	size_t n = 1 + tb_seq(p + 1, &op, LDP_EV_ALLOC3_SEQ1, r, seq);
	n += ldp_varint_put(p + n, size);
	n += tb_zz_stack(p + n, &r->stack, stack);
	p[0] = op;
	return n;
}

static inline size_t tb_free3(uint8_t *p, struct tb_ring *r, uint64_t seq, uint64_t size, uint32_t stack)
{
	uint8_t op = LDP_EV_FREE3;
	size_t n = 1 + tb_seq(p + 1, &op, LDP_EV_FREE3_SEQ1, r, seq);
	n += tb_zz_stack(p + n, &r->free_stack, stack);
	n += ldp_varint_put(p + n, size);
	p[0] = op;
	return n;
}

/* 2.2's plain site ops: op (SALLOC_* or SFREE), seq delta, size, stack. */
static inline size_t tb_site_plain(uint8_t *p, struct tb_ring *r, unsigned op, uint64_t seq, uint64_t size,
				   uint32_t stack)
{
	size_t n = 1;
	p[0] = (uint8_t)op;
	n += ldp_varint_put(p + n, seq - r->seq);
	n += ldp_varint_put(p + n, size);
	n += ldp_varint_put(p + n, stack);
	r->seq = seq;
	return n;
}

#endif
