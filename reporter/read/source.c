/*
 * source.c - split a trace file into segment headers and zstd frames,
 * stream-decompress each frame, and resynchronise after damage.
 *
 * Memory stays bounded whatever the input claims: input is read in 1 MiB
 * pieces, decompressed output is handed on in pieces, zstd's window is
 * capped, and a header may be at most LDP_MAX_HEADER_LEN bytes.
 *
 * Damage: a frame zstd cannot decode (a frame never ended, followed by the
 * next image's segment header; a corrupt block; a wrong checksum), or bytes
 * that are neither a frame nor a header. Everything the damaged frame held
 * before the bad block is delivered (the frame is decoded a second time,
 * one input byte per call from where the failing call began: zstd drops the
 * output of a call that fails). Then the bytes after the frame's start are
 * scanned for the next place to resume:
 *
 *   a segment header   skippable magic, a size within the limit, "ldprof\0\0"
 *   a zstd frame       zstd magic, a frame header with a content checksum and a
 *                      window within the cap, that decodes to its end (or to
 *                      the end of the file) without error: checked first,
 *                      delivered only then
 *
 * and the reader is told (cb->damage) before reading resumes there.
 * Stats say how many regions were damaged, how many bytes were skipped,
 * where the first was and why.
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
#define SKIPPABLE_MASK 0xFFFFFFF0u
#define SKIPPABLE_MAGIC 0x184D2A50u

struct inbuf {
	struct rd_input *in;
	uint8_t *buf;
	size_t pos, len, cap;
	uint64_t off; /* file offset of buf[0] */
	int eof;
	int error;    /* errno of a read error */
};

struct source {
	struct inbuf b;
	ZSTD_DCtx *dctx;
	uint8_t *out;
	size_t out_cap;
	const struct rd_source_cb *cb;
	void *ctx;
	struct rd_stats *st;
	struct rd_error *err;
	const char *name;
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
			/* A file still being written: wait for more at its end. */
			while (n == 0 && !b->error && in->caught_up && in->caught_up(in->caught_up_ctx)) {
				clearerr(in->f);
				n = fread(b->buf + b->len, 1, b->cap - b->len, in->f);
				if (n == 0 && ferror(in->f))
					b->error = errno ? errno : EIO;
			}
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

static uint64_t at(const struct inbuf *b)
{
	return b->off + b->pos;
}

/* Go back (or forward) to file offset off. @return 0, or -1 when the input
 * cannot seek (a pipe) that far back. */
static int seek(struct inbuf *b, uint64_t off)
{
	if (off >= b->off && off <= b->off + b->len) {
		b->pos = (size_t)(off - b->off);
		return 0;
	}
	struct rd_input *in = b->in;
	if (in->f) {
		if (fseeko(in->f, (off_t)off, SEEK_SET))
			return -1;
		clearerr(in->f);
	} else {
		in->mem_pos = off < in->mem_len ? (size_t)off : in->mem_len;
	}
	b->off = off;
	b->pos = b->len = 0;
	b->eof = 0;
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void truncated(struct rd_stats *st, uint64_t off)
{
	st->truncated = 1;
	st->truncated_at = off;
}

/* ---- one zstd frame ---- */

enum frame_end {
	F_DONE,      /* the frame ended (checksum right) */
	F_TRUNCATED, /* the file ended inside it */
	F_CORRUPT,   /* zstd cannot decode it */
	F_REJECTED,  /* zstd decodes it to its end, but a callback refused its content (err set) */
	F_IOERR,     /* reading the file failed (err set) */
};

struct frame_run {
	uint64_t start;        /* where the frame begins */
	int deliver;           /* hand the output to cb->frame_data (else only decode) */
	uint64_t skip_out;     /* output bytes already delivered by an earlier run */
	uint64_t careful_from; /* from this input offset on, one byte per call */
	/* results */
	int rejected;          /* a callback refused the content (err set) */
	uint64_t out_bytes;    /* output produced (delivered or skipped) */
	uint64_t used_to;      /* input up to here gave output: what follows is the bad part */
	uint64_t fail_in;      /* F_CORRUPT: input offset where the failing call began */
	const char *zerr;      /* F_CORRUPT: zstd's reason */
};

static void give(struct source *s, struct frame_run *fr, const uint8_t *p, size_t n)
{
	uint64_t before = fr->out_bytes;
	fr->out_bytes += n;
	if (!fr->deliver || fr->rejected || fr->out_bytes <= fr->skip_out)
		return;
	if (before < fr->skip_out) {
		p += fr->skip_out - before;
		n -= (size_t)(fr->skip_out - before);
	}
	if (s->cb->frame_data(s->ctx, p, n, s->err))
		fr->rejected = 1; /* decode on: is the frame damaged, or its content bad? */
}

/* Decode the frame at the current position (fr->start) to its end. A
 * callback that refuses the content does not stop the decoding: a frame
 * that then turns out damaged is damage (F_CORRUPT), an intact one is a bad
 * trace (F_REJECTED). */
static enum frame_end run_frame(struct source *s, struct frame_run *fr)
{
	struct inbuf *b = &s->b;
	fr->rejected = 0;
	fr->out_bytes = 0;
	fr->used_to = fr->start;
	ZSTD_DCtx_reset(s->dctx, ZSTD_reset_session_only);
	size_t r = 1;
	while (r != 0) {
		size_t avail = fill(b, 1);
		if (b->error) {
			snprintf(s->err->msg, sizeof s->err->msg, "%s: read error at byte %llu: %s", s->name,
				 (unsigned long long)at(b), strerror(b->error));
			return F_IOERR;
		}
		if (!avail)
			return fr->rejected ? F_REJECTED : F_TRUNCATED;
		if (at(b) >= fr->careful_from)
			avail = 1;
		else if (at(b) + avail > fr->careful_from)
			avail = (size_t)(fr->careful_from - at(b));
		uint64_t call_at = at(b);
		ZSTD_inBuffer zin = {b->buf + b->pos, avail, 0};
		ZSTD_outBuffer zout = {s->out, s->out_cap, 0};
		r = ZSTD_decompressStream(s->dctx, &zout, &zin);
		/* zstd may hold output back until there is room: drain it. */
		while (!ZSTD_isError(r) && r != 0 && zout.pos == zout.size) {
			b->pos += zin.pos;
			zin = (ZSTD_inBuffer){NULL, 0, 0};
			give(s, fr, s->out, zout.pos);
			zout.pos = 0;
			r = ZSTD_decompressStream(s->dctx, &zout, &zin);
		}
		if (ZSTD_isError(r)) {
			fr->fail_in = call_at;
			fr->zerr = ZSTD_getErrorName(r);
			return F_CORRUPT;
		}
		b->pos += zin.pos;
		if (zout.pos)
			fr->used_to = at(b);
		give(s, fr, s->out, zout.pos);
	}
	return fr->rejected ? F_REJECTED : F_DONE;
}

/* ---- resynchronising ---- */

/* Is there a frame at the current position that decodes cleanly? The
 * position is left where it was. */
static int frame_checks_out(struct source *s)
{
	struct inbuf *b = &s->b;
	uint64_t here = at(b);
	ZSTD_frameHeader zfh;
	size_t have = fill(b, ZSTD_FRAMEHEADERSIZE_MAX);
	if (ZSTD_getFrameHeader(&zfh, b->buf + b->pos, have) != 0 || zfh.frameType != ZSTD_frame ||
	    !zfh.checksumFlag || zfh.windowSize > (1ull << WINDOW_LOG_MAX))
		return 0;
	struct frame_run fr = {.start = here, .careful_from = UINT64_MAX};
	enum frame_end e = run_frame(s, &fr);
	if (seek(b, here))
		return 0;
	return e == F_DONE || e == F_TRUNCATED;
}

/* Damage (why: what, where) makes the bytes from bad_from on unusable.
 * Find where to resume, scanning from `from` (the end of the file if
 * nowhere), count what is skipped, tell the reader.
 * @return 0, or -1 with err set (the input cannot seek back). */
static int resync(struct source *s, uint64_t from, uint64_t bad_from, const char *why)
{
	struct inbuf *b = &s->b;
	if (seek(b, from)) {
		snprintf(s->err->msg, sizeof s->err->msg, "%s: %s (and the input cannot seek back to resume)", s->name,
			 why);
		return -1;
	}
	for (;;) {
		size_t have = fill(b, 16);
		if (b->error || have < 8) {
			b->pos = b->len; /* nowhere: the rest of the file is skipped */
			break;
		}
		const uint8_t *p = b->buf + b->pos;
		uint32_t magic = le32(p);
		if (magic == LDP_SEGMENT_MAGIC && have >= 16 && le32(p + 4) <= LDP_MAX_HEADER_LEN &&
		    !memcmp(p + 8, LDP_FILE_MAGIC, LDP_FILE_MAGIC_LEN))
			break;
		if (magic == ZSTD_MAGICNUMBER && frame_checks_out(s))
			break;
		b->pos++;
	}
	uint64_t resume = at(b);
	struct rd_stats *st = s->st;
	if (!st->damaged) {
		st->damaged_at = bad_from;
		snprintf(st->damage_why, sizeof st->damage_why, "%s", why);
	}
	st->damaged++;
	st->skipped_bytes += resume > bad_from ? resume - bad_from : 0;
	if (s->cb->damage)
		s->cb->damage(s->ctx, bad_from, resume);
	return 0;
}

/* ---- the file ---- */

int rd_source_run(struct rd_input *in, const struct rd_source_cb *cb, void *ctx, struct rd_stats *st,
		  struct rd_error *err)
{
	/* A memory input is never bigger than itself: no 1 MiB buffer for a
	 * 100-byte fuzz input (that was most of the fuzzer's time). */
	size_t cap = in->f || in->mem_len >= IN_CHUNK ? IN_CHUNK : in->mem_len + 1;
	struct source s = {.b = {.in = in, .buf = xmalloc(cap), .cap = cap}, .cb = cb, .ctx = ctx, .st = st,
			   .err = err, .name = in->name};
	struct inbuf *b = &s.b;
	s.dctx = ZSTD_createDCtx();
	s.out_cap = ZSTD_DStreamOutSize();
	s.out = xmalloc(s.out_cap);
	uint8_t *hdr = NULL;
	int rc = -1, first = 1;
	char why[160];
	if (!s.dctx) {
		snprintf(err->msg, sizeof err->msg, "%s: out of memory", in->name);
		goto done;
	}
	ZSTD_DCtx_setParameter(s.dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);

	for (;;) {
		size_t have = fill(b, 8);
		uint64_t off = at(b);
		if (b->error) {
			snprintf(err->msg, sizeof err->msg, "%s: read error at byte %llu: %s", in->name,
				 (unsigned long long)off, strerror(b->error));
			goto done;
		}
		if (have == 0)
			break;
		if (have < 4 || (have < 8 && (le32(b->buf + b->pos) & SKIPPABLE_MASK) == SKIPPABLE_MAGIC)) {
			truncated(st, off);
			break;
		}
		uint32_t magic = le32(b->buf + b->pos);
		if ((magic & SKIPPABLE_MASK) == SKIPPABLE_MAGIC) {
			/* Skippable frame: ours carries a segment header, others are skipped. */
			uint32_t size = le32(b->buf + b->pos + 4);
			if (magic == LDP_SEGMENT_MAGIC && size > LDP_MAX_HEADER_LEN) {
				if (first) {
					snprintf(err->msg, sizeof err->msg,
						 "%s: byte %llu: segment header claims %u bytes (limit %u)", in->name,
						 (unsigned long long)off, size, LDP_MAX_HEADER_LEN);
					goto done;
				}
				snprintf(why, sizeof why, "the segment header at byte %llu claims %u bytes",
					 (unsigned long long)off, size);
				if (resync(&s, off + 1, off, why))
					goto done;
				continue;
			}
			if (first && magic != LDP_SEGMENT_MAGIC) {
				snprintf(err->msg, sizeof err->msg, "%s: not an ldprof trace (no segment header)", in->name);
				goto done;
			}
			b->pos += 8;
			if (magic != LDP_SEGMENT_MAGIC) {
				uint64_t left = size;
				while (left) {
					size_t avail = fill(b, 1);
					if (!avail)
						break;
					size_t k = avail < left ? avail : (size_t)left;
					b->pos += k;
					left -= k;
				}
				if (left) {
					truncated(st, off);
					break;
				}
				continue;
			}
			if (fill(b, size) < size) {
				truncated(st, off);
				break;
			}
			hdr = xrealloc(hdr, size ? size : 1);
			memcpy(hdr, b->buf + b->pos, size);
			b->pos += size;
			first = 0;
			if (cb->header(ctx, hdr, size, off, err))
				goto done;
			continue;
		}
		if (first) {
			snprintf(err->msg, sizeof err->msg, "%s: not an ldprof trace (no segment header)", in->name);
			goto done;
		}
		if (magic != ZSTD_MAGICNUMBER) {
			snprintf(why, sizeof why, "byte %llu is neither a zstd frame nor a segment header",
				 (unsigned long long)off);
			if (resync(&s, off, off, why))
				goto done;
			continue;
		}
		/* A zstd frame: stream it until zstd says the frame is complete. */
		st->frames++;
		if (cb->frame_begin(ctx, off))
			goto done;
		struct frame_run fr = {.start = off, .deliver = 1, .careful_from = UINT64_MAX};
		enum frame_end e = run_frame(&s, &fr);
		if (e == F_CORRUPT && !fr.rejected) {
			/* The failing call's output is lost: decode the frame again,
			 * delivering only what comes after what was delivered, one
			 * byte at a time from where that call began. (Content already
			 * refused stays refused: nothing more is delivered.) */
			struct frame_run again = {.start = off, .deliver = 1, .skip_out = fr.out_bytes,
						  .careful_from = fr.fail_in};
			if (seek(b, off) == 0)
				e = run_frame(&s, &again);
			if (e == F_CORRUPT)
				fr = again;
		}
		switch (e) {
		case F_DONE:
			if (cb->frame_end(ctx, err))
				goto done;
			continue;
		case F_TRUNCATED:
			truncated(st, off);
			goto finish;
		case F_REJECTED:
		case F_IOERR:
			goto done;
		case F_CORRUPT:
			snprintf(why, sizeof why, "corrupt zstd frame at byte %llu (%s)", (unsigned long long)off,
				 fr.zerr);
			if (resync(&s, off + 1, fr.used_to, why))
				goto done;
			continue;
		}
	}
finish:
	st->bytes_read = at(b);
	if (first) {
		/* No segment header complete: nothing here says what the bytes are
		 * (an empty file, /dev/null, a file cut off at its start), so there
		 * is no trace to report as empty. */
		if (!st->bytes_read && !st->truncated)
			snprintf(err->msg, sizeof err->msg, "%s: empty file, not a trace", in->name);
		else
			snprintf(err->msg, sizeof err->msg,
				 "%s: ends inside its first segment header: a trace cut off at its start, or not a trace",
				 in->name);
		goto done;
	}
	rc = 0;
done:
	free(hdr);
	free(s.out);
	free(b->buf);
	ZSTD_freeDCtx(s.dctx);
	return rc;
}
