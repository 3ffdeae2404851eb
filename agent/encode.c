/*
 * encode.c - one pure encoder per event and record type (docs/FORMAT.md).
 *
 * Event encoders write into dst, which has room for LDP_EV_MAX bytes, update
 * the ring's delta state and return the bytes used. Record encoders write a
 * record's payload; the caller provides LDP_ENC_RECORD_MAX bytes. No
 * allocation, no locks: event encoders run on the hot path. All of them are
 * round-tripped against the reader's decoders in tests/unit/test_format.c.
 */
#include <string.h>

#include "agent.h"
#include "ldprof/varint.h"

size_t ldp_enc_attach(uint8_t *dst, struct ldp_enc_state *st, uint32_t tid)
{
	st->seq = 0;
	st->ptr = 0;
	dst[0] = LDP_EV_ATTACH;
	return 1 + ldp_varint_put(dst + 1, tid);
}

/* ldp_enc_alloc and ldp_enc_free are inline in agent.h (the malloc path). */

/* ---- record payloads written by the writer thread ---- */

size_t ldp_enc_module(uint8_t *dst, unsigned id, const struct ldp_module *m)
{
	uint8_t *p = dst;
	size_t plen = m->path ? strnlen(m->path, LDP_MAX_PATH_LEN) : 0;
	unsigned bl = m->build_id_len <= LDP_MAX_BUILD_ID_LEN ? m->build_id_len : 0;
	p += ldp_varint_put(p, id);
	p += ldp_varint_put(p, m->base);
	p += ldp_varint_put(p, plen);
	memcpy(p, m->path, plen);
	p += plen;
	p += ldp_varint_put(p, bl);
	memcpy(p, m->build_id, bl);
	p += bl;
	p += ldp_varint_put(p, m->nseg);
	for (unsigned i = 0; i < m->nseg; i++) {
		p += ldp_varint_put(p, m->seg[i].vaddr);
		p += ldp_varint_put(p, m->seg[i].memsz);
		p += ldp_varint_put(p, m->seg[i].flags);
	}
	return (size_t)(p - dst);
}

size_t ldp_enc_stack(uint8_t *dst, uint32_t id, unsigned flags, const uintptr_t *ips, unsigned depth)
{
	uint8_t *p = dst;
	p += ldp_varint_put(p, id);
	p += ldp_varint_put(p, flags);
	p += ldp_varint_put(p, depth);
	uintptr_t prev = 0;
	for (unsigned i = 0; i < depth; i++) {
		p += ldp_varint_put(p, ldp_zigzag((int64_t)(ips[i] - prev)));
		prev = ips[i];
	}
	return (size_t)(p - dst);
}

size_t ldp_enc_round(uint8_t *dst, uint64_t round, uint64_t time_us, uint64_t floor)
{
	size_t n = ldp_varint_put(dst, round);
	n += ldp_varint_put(dst + n, time_us);
	return n + ldp_varint_put(dst + n, floor);
}

size_t ldp_enc_end(uint8_t *dst, unsigned reason, uint64_t time_us)
{
	size_t n = ldp_varint_put(dst, reason);
	return n + ldp_varint_put(dst + n, time_us);
}
