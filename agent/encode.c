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
	memset(st, 0, sizeof *st);
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

size_t ldp_enc_stack2(uint8_t *dst, uint32_t id_delta, unsigned flags, const uintptr_t *ips, unsigned depth,
		      unsigned keep, uint32_t base_delta)
{
	uint8_t *p = dst;
	p += ldp_varint_put(p, id_delta);
	p += ldp_varint_put(p, flags);
	p += ldp_varint_put(p, depth - keep);
	p += ldp_varint_put(p, keep);
	if (keep)
		p += ldp_varint_put(p, base_delta);
	/* From the outermost new frame in, each from the one outside it: the
	 * frames next to each other on a stack are near each other. */
	uintptr_t prev = keep ? ips[depth - keep] : 0;
	for (unsigned i = depth - keep; i-- > 0;) {
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

size_t ldp_enc_end_signal(uint8_t *dst, uint64_t time_us, unsigned sig)
{
	size_t n = ldp_enc_end(dst, LDP_END_SIGNAL, time_us);
	return n + ldp_varint_put(dst + n, sig);
}

size_t ldp_enc_snapshot(uint8_t *dst, uint64_t seq, unsigned kind, const char *label)
{
	size_t len = label ? strnlen(label, LDP_MAX_LABEL_LEN) : 0;
	size_t n = ldp_varint_put(dst, seq);
	n += ldp_varint_put(dst + n, kind);
	n += ldp_varint_put(dst + n, len);
	memcpy(dst + n, label, len);
	return n + len;
}

size_t ldp_enc_pause(uint8_t *dst, uint64_t seq, unsigned paused, unsigned cause)
{
	size_t n = ldp_varint_put(dst, seq);
	n += ldp_varint_put(dst + n, paused);
	return n + ldp_varint_put(dst + n, cause);
}

size_t ldp_enc_sample(uint8_t *dst, unsigned kind, uint32_t tid, uint64_t time_us, uint64_t weight_ns, uint32_t stack,
		      unsigned state, long syscall)
{
	size_t n = ldp_varint_put(dst, kind);
	n += ldp_varint_put(dst + n, tid);
	n += ldp_varint_put(dst + n, time_us);
	n += ldp_varint_put(dst + n, weight_ns);
	n += ldp_varint_put(dst + n, stack);
	n += ldp_varint_put(dst + n, state);
	return n + ldp_varint_put(dst + n, (uint64_t)(syscall + 1)); /* 0: not in a system call */
}

size_t ldp_enc_thread(uint8_t *dst, uint32_t tid, const char *name)
{
	size_t len = name ? strnlen(name, 64) : 0;
	size_t n = ldp_varint_put(dst, tid);
	n += ldp_varint_put(dst + n, len);
	memcpy(dst + n, name, len);
	return n + len;
}

size_t ldp_enc_sampling(uint8_t *dst, unsigned cpu_hz, unsigned wall_hz, unsigned clock, unsigned signal,
			unsigned status)
{
	size_t n = ldp_varint_put(dst, cpu_hz);
	n += ldp_varint_put(dst + n, wall_hz);
	n += ldp_varint_put(dst + n, clock);
	n += ldp_varint_put(dst + n, signal);
	return n + ldp_varint_put(dst + n, status);
}

size_t ldp_enc_lost(uint8_t *dst, unsigned kind, uint64_t count)
{
	size_t n = ldp_varint_put(dst, kind);
	return n + ldp_varint_put(dst + n, count);
}

/* ---- the mapped channel: op | len | payload, so older readers can skip ---- */

static size_t sized(uint8_t *dst, unsigned op, size_t payload)
{
	/* payload was written at dst + 2; every one fits in a 1-byte length */
	dst[0] = (uint8_t)op;
	dst[1] = (uint8_t)payload;
	return payload + 2;
}

size_t ldp_enc_mmap(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t addr, uint64_t len, unsigned prot,
		    unsigned flags, uint32_t path, uint32_t stack)
{
	uint8_t *p = dst + 2;
	p += ldp_varint_put(p, seq - st->seq);
	p += ldp_varint_put(p, ldp_zigzag((int64_t)(addr - st->ptr)));
	p += ldp_varint_put(p, len);
	p += ldp_varint_put(p, prot);
	p += ldp_varint_put(p, flags);
	p += ldp_varint_put(p, path);
	p += ldp_varint_put(p, stack);
	st->seq = seq;
	st->ptr = addr;
	return sized(dst, LDP_EV_MMAP, (size_t)(p - dst - 2));
}

size_t ldp_enc_munmap(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t addr, uint64_t len)
{
	uint8_t *p = dst + 2;
	p += ldp_varint_put(p, seq - st->seq);
	p += ldp_varint_put(p, ldp_zigzag((int64_t)(addr - st->ptr)));
	p += ldp_varint_put(p, len);
	st->seq = seq;
	st->ptr = addr;
	return sized(dst, LDP_EV_MUNMAP, (size_t)(p - dst - 2));
}

size_t ldp_enc_mremap(uint8_t *dst, struct ldp_enc_state *st, uint64_t seq, uint64_t old, uint64_t old_len,
		      uint64_t addr, uint64_t len, uint32_t stack)
{
	uint8_t *p = dst + 2;
	p += ldp_varint_put(p, seq - st->seq);
	p += ldp_varint_put(p, ldp_zigzag((int64_t)(old - st->ptr)));
	p += ldp_varint_put(p, old_len);
	p += ldp_varint_put(p, ldp_zigzag((int64_t)(addr - old)));
	p += ldp_varint_put(p, len);
	p += ldp_varint_put(p, stack);
	st->seq = seq;
	st->ptr = addr;
	return sized(dst, LDP_EV_MREMAP, (size_t)(p - dst - 2));
}

size_t ldp_enc_path(uint8_t *dst, uint32_t id, const char *path)
{
	size_t len = strnlen(path, LDP_MAX_PATH_LEN);
	size_t n = ldp_varint_put(dst, id);
	n += ldp_varint_put(dst + n, len);
	memcpy(dst + n, path, len);
	return n + len;
}

size_t ldp_enc_rss(uint8_t *dst, uint64_t time_us, uint64_t rss_bytes)
{
	size_t n = ldp_varint_put(dst, time_us);
	return n + ldp_varint_put(dst + n, rss_bytes);
}
