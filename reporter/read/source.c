/*
 * source.c - split a trace file into segment headers and zstd frames, and
 * stream-decompress each frame.
 *
 * Memory stays bounded whatever the input claims: input is read in 1 MiB
 * pieces, decompressed output is handed on in pieces, zstd's window is
 * capped, and a header may be at most LDP_MAX_HEADER_LEN bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "internal.h"
#include "util/util.h"

#define IN_CHUNK (1u << 20)
#define WINDOW_LOG_MAX 25 /* 32 MiB: far above what the agent writes */

struct inbuf {
	struct rd_input *in;
	uint8_t *buf;
	size_t pos, len, cap;
	uint64_t off; /* file offset of buf[0] */
	int eof;
	int error;    /* errno of a read error */
};

static void show_progress(struct inbuf *b, int done)
{
	static struct timespec last;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!done && now.tv_sec * 1000 + now.tv_nsec / 1000000 - (last.tv_sec * 1000 + last.tv_nsec / 1000000) < 250)
		return;
	last = now;
	uint64_t at = b->off + b->len;
	if (done)
		fprintf(stderr, "\r%60s\r", "");
	else
		fprintf(stderr, "\rldprof: reading %s: %3d%% (%llu of %llu MiB)", b->in->name,
			(int)(100 * at / (b->in->size ? b->in->size : 1)), (unsigned long long)(at >> 20),
			(unsigned long long)(b->in->size >> 20));
}

/* Make at least `want` bytes available at buf[pos] if the input has them. */
static size_t fill(struct inbuf *b, size_t want)
{
	if (b->len - b->pos >= want || b->eof)
		return b->len - b->pos;
	memmove(b->buf, b->buf + b->pos, b->len - b->pos);
	b->off += b->pos;
	b->len -= b->pos;
	b->pos = 0;
	while (b->len < want && !b->eof) {
		size_t n;
		struct rd_input *in = b->in;
		if (in->f) {
			n = fread(b->buf + b->len, 1, b->cap - b->len, in->f);
			if (n == 0 && ferror(in->f))
				b->error = errno ? errno : EIO;
		} else {
			n = in->mem_len - in->mem_pos;
			if (n > b->cap - b->len)
				n = b->cap - b->len;
			memcpy(b->buf + b->len, in->mem + in->mem_pos, n);
			in->mem_pos += n;
		}
		if (n == 0)
			b->eof = 1;
		b->len += n;
		if (in->progress)
			show_progress(b, b->eof);
	}
	return b->len - b->pos;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void truncated(struct rd_stats *st, uint64_t at)
{
	st->truncated = 1;
	st->truncated_at = at;
}

int rd_source_run(struct rd_input *in, const struct rd_source_cb *cb, void *ctx, struct rd_stats *st,
		  struct rd_error *err)
{
	/* A memory input is never bigger than itself: no 1 MiB buffer for a
	 * 100-byte fuzz input (that was most of the fuzzer's time). */
	size_t cap = in->f || in->mem_len >= IN_CHUNK ? IN_CHUNK : in->mem_len + 1;
	struct inbuf b = {.in = in, .buf = xmalloc(cap), .cap = cap};
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	size_t out_cap = ZSTD_DStreamOutSize();
	uint8_t *out = xmalloc(out_cap);
	uint8_t *hdr = NULL;
	int rc = -1, first = 1;
	if (!dctx) {
		snprintf(err->msg, sizeof err->msg, "%s: out of memory", in->name);
		goto done;
	}
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);

	for (;;) {
		size_t have = fill(&b, 8);
		uint64_t at = b.off + b.pos;
		if (b.error) {
			snprintf(err->msg, sizeof err->msg, "%s: read error at byte %llu: %s", in->name,
				 (unsigned long long)at, strerror(b.error));
			goto done;
		}
		if (have == 0)
			break;
		if (have < 4 || (have < 8 && (le32(b.buf + b.pos) & 0xFFFFFFF0u) == 0x184D2A50u)) {
			truncated(st, at);
			break;
		}
		uint32_t magic = le32(b.buf + b.pos);
		if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) {
			/* Skippable frame: ours carries a segment header, others are skipped. */
			uint32_t size = le32(b.buf + b.pos + 4);
			if (magic == LDP_SEGMENT_MAGIC && size > LDP_MAX_HEADER_LEN) {
				snprintf(err->msg, sizeof err->msg,
					 "%s: byte %llu: segment header claims %u bytes (limit %u)", in->name,
					 (unsigned long long)at, size, LDP_MAX_HEADER_LEN);
				goto done;
			}
			if (first && magic != LDP_SEGMENT_MAGIC) {
				snprintf(err->msg, sizeof err->msg, "%s: not an ldprof trace (no segment header)", in->name);
				goto done;
			}
			b.pos += 8;
			if (magic != LDP_SEGMENT_MAGIC) {
				uint64_t left = size;
				while (left) {
					size_t avail = fill(&b, 1);
					if (!avail)
						break;
					size_t k = avail < left ? avail : (size_t)left;
					b.pos += k;
					left -= k;
				}
				if (left) {
					truncated(st, at);
					break;
				}
				continue;
			}
			if (fill(&b, size) < size) {
				truncated(st, at);
				break;
			}
			hdr = xrealloc(hdr, size ? size : 1);
			memcpy(hdr, b.buf + b.pos, size);
			b.pos += size;
			first = 0;
			if (cb->header(ctx, hdr, size, at, err))
				goto done;
			continue;
		}
		if (first) {
			snprintf(err->msg, sizeof err->msg, "%s: not an ldprof trace (no segment header)", in->name);
			goto done;
		}
		if (magic != ZSTD_MAGICNUMBER) {
			snprintf(err->msg, sizeof err->msg, "%s: byte %llu: neither a zstd frame nor a segment header",
				 in->name, (unsigned long long)at);
			goto done;
		}
		/* A zstd frame: stream it until zstd says the frame is complete. */
		st->frames++;
		if (cb->frame_begin(ctx, at))
			goto done;
		ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
		size_t r = 1;
		while (r != 0) {
			size_t avail = fill(&b, 1);
			if (b.error || !avail) {
				if (b.error) {
					snprintf(err->msg, sizeof err->msg, "%s: read error at byte %llu: %s", in->name,
						 (unsigned long long)(b.off + b.pos), strerror(b.error));
					goto done;
				}
				truncated(st, at);
				goto finish;
			}
			ZSTD_inBuffer zin = {b.buf + b.pos, avail, 0};
			ZSTD_outBuffer zout = {out, out_cap, 0};
			r = ZSTD_decompressStream(dctx, &zout, &zin);
			if (ZSTD_isError(r)) {
				snprintf(err->msg, sizeof err->msg, "%s: byte %llu: corrupt zstd frame (%s)", in->name,
					 (unsigned long long)at, ZSTD_getErrorName(r));
				goto done;
			}
			b.pos += zin.pos;
			if (zout.pos && cb->frame_data(ctx, out, zout.pos, err))
				goto done;
			/* zstd may hold output back until there is room: drain it. */
			while (r != 0 && zout.pos == zout.size) {
				ZSTD_inBuffer none = {NULL, 0, 0};
				zout.pos = 0;
				r = ZSTD_decompressStream(dctx, &zout, &none);
				if (ZSTD_isError(r)) {
					snprintf(err->msg, sizeof err->msg, "%s: byte %llu: corrupt zstd frame (%s)",
						 in->name, (unsigned long long)at, ZSTD_getErrorName(r));
					goto done;
				}
				if (zout.pos && cb->frame_data(ctx, out, zout.pos, err))
					goto done;
			}
		}
		if (cb->frame_end(ctx, err))
			goto done;
	}
finish:
	st->bytes_read = b.off + b.pos;
	rc = 0;
done:
	free(hdr);
	free(out);
	free(b.buf);
	ZSTD_freeDCtx(dctx);
	return rc;
}
