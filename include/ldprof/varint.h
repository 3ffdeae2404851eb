/*
 * ldprof/varint.h - LEB128 varints and zigzag, shared by writer and reader.
 *
 * Encoders write into a caller buffer that has at least LDP_VARINT_MAX bytes
 * free and return the bytes written. The decoder is bounds-checked: it never
 * reads past `end`, rejects encodings longer than 10 bytes and values that do
 * not fit in 64 bits, and returns 0 on error (a valid varint is never 0 bytes).
 * Header-only so the agent's hot path can inline it.
 */
#ifndef LDPROF_VARINT_H
#define LDPROF_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define LDP_VARINT_MAX 10

static inline size_t ldp_varint_put(uint8_t *dst, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		dst[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	dst[n++] = (uint8_t)v;
	return n;
}

static inline uint64_t ldp_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t ldp_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Decode one varint from [p, end). @return bytes consumed, 0 if truncated or malformed. */
static inline size_t ldp_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	/* Most varints in a trace are one or two bytes (deltas, sizes, ids). */
	if (end - p >= 2 && !(p[0] & 0x80)) {
		*out = p[0];
		return 1;
	}
	if (end - p >= LDP_VARINT_MAX) {
		/* All ten bytes are there: no bounds check per byte. */
		uint64_t v = p[0] & 0x7f;
		for (unsigned i = 1; i < LDP_VARINT_MAX; i++) {
			uint64_t b = p[i];
			v |= (b & 0x7f) << (7 * i);
			if (!(b & 0x80)) {
				if (i == LDP_VARINT_MAX - 1 && b > 1)
					return 0; /* more than 64 bits */
				*out = v;
				return i + 1;
			}
		}
		return 0; /* an 11th byte would be needed */
	}
	uint64_t v = 0;
	size_t i = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (p + i >= end)
			return 0;
		uint8_t b = p[i++];
		if (shift == 63 && b > 1)
			return 0; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return i;
		}
	}
	return 0; /* an 11th byte would be needed: never ends within the limit */
}

/* A varint already checked (or written by this process): no bounds or
 * length checks. @return the byte after it. */
static inline const uint8_t *ldp_varint_get_checked(const uint8_t *p, uint64_t *out)
{
	uint64_t v = *p & 0x7f;
	for (unsigned shift = 7; *p++ & 0x80; shift += 7)
		v |= (uint64_t)(*p & 0x7f) << shift;
	*out = v;
	return p;
}

#endif
