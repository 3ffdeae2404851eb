/*
 * decode.c - record payloads to typed values. Trusts nothing: every varint is
 * bounds-checked, every length is checked against what remains and against
 * the limits in ldprof/format.h before anything is allocated or copied.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ldprof/varint.h"
#include "util/util.h"

struct cur {
	const uint8_t *p, *end;
	const char **why;
};

static int get(struct cur *c, uint64_t *v, const char *what)
{
	size_t k = ldp_varint_get(c->p, c->end, v);
	if (!k) {
		*c->why = what;
		return -1;
	}
	c->p += k;
	return 0;
}

static int get_bytes(struct cur *c, uint64_t len, uint64_t max, const uint8_t **out, const char *what)
{
	if (len > max || len > (uint64_t)(c->end - c->p)) {
		*c->why = what;
		return -1;
	}
	*out = c->p;
	c->p += len;
	return 0;
}

#define GET(c, v, what)                                                                                        \
	do {                                                                                                   \
		if (get(c, v, what))                                                                           \
			return -1;                                                                             \
	} while (0)

static char *dup_str(const uint8_t *p, size_t n)
{
	char *s = xstrndup((const char *)p, n);
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			s[i] = ' '; /* argv separators, and no embedded NUL in names */
	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

int rd_decode_header(const uint8_t *p, size_t n, struct rd_segment *seg, const char **why)
{
	memset(seg, 0, sizeof *seg);
	if (n < LDP_FILE_MAGIC_LEN + 4 || memcmp(p, LDP_FILE_MAGIC, LDP_FILE_MAGIC_LEN)) {
		*why = "segment header without the ldprof magic";
		return -1;
	}
	seg->major = p[8] | (unsigned)p[9] << 8;
	seg->minor = p[10] | (unsigned)p[11] << 8;
	seg->seq_shift = LDP_SEQ_SHIFT;
	if (seg->major < LDP_FORMAT_MAJOR_MIN || seg->major > LDP_FORMAT_MAJOR) {
		*why = seg->major > LDP_FORMAT_MAJOR ? "trace format is newer than this ldprof: upgrade ldprof to read it"
						     : "trace format version is not supported";
		return -1;
	}
	struct cur c = {p + 12, p + n, why};
	while (c.p < c.end) {
		uint64_t tag, len, v = 0;
		const uint8_t *val;
		/* Strings may be decoded already: an error from here on clears them. */
		if (get(&c, &tag, "header field tag") || get(&c, &len, "header field length") ||
		    get_bytes(&c, len, LDP_MAX_HEADER_LEN, &val, "header field longer than the header")) {
			rd_segment_clear(seg);
			return -1;
		}
		int is_num = ldp_varint_get(val, val + len, &v) != 0;
		switch (tag) {
		case LDP_HDR_PID: seg->pid = v; break;
		case LDP_HDR_PPID: seg->ppid = v; break;
		case LDP_HDR_EXE: free(seg->exe); seg->exe = dup_str(val, len); break;
		case LDP_HDR_CMDLINE: free(seg->cmdline); seg->cmdline = dup_str(val, len); break;
		case LDP_HDR_HOSTNAME: free(seg->hostname); seg->hostname = dup_str(val, len); break;
		case LDP_HDR_AGENT_VERSION: free(seg->agent_version); seg->agent_version = dup_str(val, len); break;
		case LDP_HDR_START_REALTIME: seg->start_realtime_ns = v; break;
		case LDP_HDR_START_MONOTONIC: seg->start_monotonic_ns = v; break;
		case LDP_HDR_PROC_START: seg->proc_start_ticks = v; break;
		case LDP_HDR_MODE: seg->mode = (int)(v <= LDP_MODE_OFF ? v : LDP_MODE_FULL); break;
		case LDP_HDR_MAX_DEPTH: seg->max_depth = (unsigned)(v <= LDP_MAX_STACK_DEPTH ? v : 0); break;
		case LDP_HDR_SEQ_SHIFT:
			if (!is_num || v > 32) {
				*why = "sequence shift out of range";
				rd_segment_clear(seg);
				return -1;
			}
			seg->seq_shift = (unsigned)v;
			break;
		case LDP_HDR_SAMPLE_BYTES: seg->sample_bytes = is_num ? v : 0; break;
		case LDP_HDR_ALLOCATOR: free(seg->allocator); seg->allocator = dup_str(val, len); break;
		case LDP_HDR_ATTACHED: seg->attached = is_num && v == 1; break;
		case LDP_HDR_PART: seg->part = is_num && v < (1u << 30) ? (unsigned)v : 0; seg->rotated = 1; break;
		case LDP_HDR_CONTINUES: seg->continues = is_num && v == 1; break;
		case LDP_HDR_PART_START: seg->part_start_us = is_num ? v : 0; break;
		default: break; /* unknown tags are skipped: compatible additions */
		}
	}
	if (!seg->exe) seg->exe = xstrdup("");
	if (!seg->cmdline) seg->cmdline = xstrdup("");
	if (!seg->hostname) seg->hostname = xstrdup("");
	if (!seg->agent_version) seg->agent_version = xstrdup("");
	if (!seg->allocator) seg->allocator = xstrdup("");
	return 0;
}

void rd_segment_clear(struct rd_segment *seg)
{
	free(seg->exe);
	free(seg->cmdline);
	free(seg->hostname);
	free(seg->agent_version);
	free(seg->allocator);
	memset(seg, 0, sizeof *seg);
}

int rd_decode_module(const uint8_t *p, size_t n, struct rd_module *m, const char **why)
{
	memset(m, 0, sizeof *m);
	struct cur c = {p, p + n, why};
	uint64_t id, len, v;
	const uint8_t *b;
	GET(&c, &id, "module id");
	if (id > UINT32_MAX) {
		*why = "module id out of range";
		return -1;
	}
	m->id = (uint32_t)id;
	GET(&c, &m->base, "module base");
	GET(&c, &len, "module path length");
	if (get_bytes(&c, len, LDP_MAX_PATH_LEN, &b, "module path too long or past the record end"))
		return -1;
	m->path = dup_str(b, len);
	/* From here on, errors must free path: no GET (it returns directly). */
	if (get(&c, &len, "build-id length") ||
	    get_bytes(&c, len, LDP_MAX_BUILD_ID_LEN, &b, "build-id too long or past the record end"))
		goto fail;
	memcpy(m->build_id, b, len);
	m->build_id_len = (unsigned)len;
	if (get(&c, &v, "segment count"))
		goto fail;
	if (v > LDP_MAX_MODULE_SEGMENTS) {
		*why = "too many module segments";
		goto fail;
	}
	m->nseg = (unsigned)v;
	m->lo = UINT64_MAX;
	for (unsigned i = 0; i < m->nseg; i++) {
		struct rd_segment_seg *s = &m->seg[i];
		if (get(&c, &s->vaddr, "segment address") || get(&c, &s->memsz, "segment size") ||
		    get(&c, &v, "segment flags"))
			goto fail;
		s->flags = (unsigned)v & 7;
		uint64_t lo = m->base + s->vaddr, hi = lo + s->memsz;
		if (hi < lo) {
			*why = "segment wraps the address space";
			goto fail;
		}
		if (lo < m->lo) m->lo = lo;
		if (hi > m->hi) m->hi = hi;
	}
	if (!m->nseg)
		m->lo = m->hi = m->base;
	return 0;
fail:
	rd_module_clear(m);
	return -1;
}

int rd_decode_stack2(const uint8_t *p, size_t n, struct rd_stack2 *s, uint64_t *diffs, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t id_delta, flags, nnew, keep, base_delta = 0;
	GET(&c, &id_delta, "stack id");
	GET(&c, &flags, "stack flags");
	GET(&c, &nnew, "stack frames");
	GET(&c, &keep, "stack frames kept");
	if (nnew > LDP_MAX_STACK_DEPTH || keep > LDP_MAX_STACK_DEPTH || nnew + keep > LDP_MAX_STACK_DEPTH) {
		*why = "stack deeper than the format allows";
		return -1;
	}
	if (keep)
		GET(&c, &base_delta, "stack base");
	if (id_delta == 0 || id_delta > UINT32_MAX || (keep && (base_delta == 0 || base_delta > UINT32_MAX))) {
		*why = "stack id out of range";
		return -1;
	}
	for (uint64_t i = 0; i < nnew; i++)
		GET(&c, &diffs[i], "stack frame");
	*s = (struct rd_stack2){.id_delta = (uint32_t)id_delta, .base_delta = (uint32_t)base_delta,
				.flags = (unsigned)flags, .nnew = (unsigned)nnew, .keep = (unsigned)keep};
	return 0;
}

void rd_module_clear(struct rd_module *m)
{
	free(m->path);
	m->path = NULL;
}

int rd_decode_stack(const uint8_t *p, size_t n, struct rd_stack *s, uint64_t *ips, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t id, flags, depth;
	GET(&c, &id, "stack id");
	GET(&c, &flags, "stack flags");
	GET(&c, &depth, "stack depth");
	if (id == 0 || id > UINT32_MAX) {
		*why = "stack id out of range";
		return -1;
	}
	if (depth > LDP_MAX_STACK_DEPTH) {
		*why = "stack deeper than the format allows";
		return -1;
	}
	uint64_t prev = 0;
	for (uint64_t i = 0; i < depth; i++) {
		uint64_t d;
		GET(&c, &d, "stack frame");
		prev += (uint64_t)ldp_unzigzag(d);
		ips[i] = prev;
	}
	s->id = (uint32_t)id;
	s->flags = (unsigned)flags;
	s->depth = (unsigned)depth;
	s->ips = ips;
	return 0;
}

int rd_decode_round(const uint8_t *p, size_t n, uint64_t *round, uint64_t *time_us, uint64_t *floor,
		    const char **why)
{
	struct cur c = {p, p + n, why};
	GET(&c, round, "round number");
	GET(&c, time_us, "round time");
	GET(&c, floor, "round floor");
	return 0;
}

int rd_decode_end(const uint8_t *p, size_t n, struct rd_end *end, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t reason;
	memset(end, 0, sizeof *end);
	GET(&c, &reason, "end reason");
	GET(&c, &end->time_us, "end time");
	end->reason = reason < 100 ? (int)reason : 0;
	uint64_t sig;
	if (end->reason == LDP_END_SIGNAL && c.p < c.end) {
		GET(&c, &sig, "end signal"); /* since 1.6; fields after it are skipped */
		end->signal = sig < 128 ? (int)sig : 0;
	}
	return 0;
}

int rd_decode_pause(const uint8_t *p, size_t n, struct rd_pause *x, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t paused, cause;
	GET(&c, &x->seq, "pause seq");
	GET(&c, &paused, "pause state");
	GET(&c, &cause, "pause cause");
	if (paused > 1) {
		*why = "pause state is neither 0 nor 1";
		return -1;
	}
	x->paused = (int)paused;
	x->cause = cause > 15 ? 0 : (unsigned)cause;
	return 0;
}

int rd_decode_snapshot(const uint8_t *p, size_t n, struct rd_snapshot *snap, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t kind, len;
	const uint8_t *label;
	GET(&c, &snap->seq, "snapshot seq");
	GET(&c, &kind, "snapshot kind");
	GET(&c, &len, "snapshot label length");
	if (get_bytes(&c, len, LDP_MAX_LABEL_LEN, &label, "snapshot label too long or past the record end"))
		return -1;
	snap->kind = kind <= 100 ? (unsigned)kind : 0;
	memcpy(snap->label, label, len);
	snap->label[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!snap->label[i] || snap->label[i] == '\n')
			snap->label[i] = ' ';
	return 0;
}

int rd_decode_sample(const uint8_t *p, size_t n, struct rd_sample *x, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t kind, tid, stack, state, sc;
	GET(&c, &kind, "sample kind");
	GET(&c, &tid, "sample thread");
	GET(&c, &x->time_us, "sample time");
	GET(&c, &x->weight_ns, "sample weight");
	GET(&c, &stack, "sample stack");
	GET(&c, &state, "sample state");
	GET(&c, &sc, "sample system call");
	if (tid > UINT32_MAX || stack > UINT32_MAX) {
		*why = "sample thread or stack id out of range";
		return -1;
	}
	x->kind = kind < 100 ? (unsigned)kind : 0;
	x->tid = (uint32_t)tid;
	x->stack = (uint32_t)stack;
	x->state = state < 100 ? (unsigned)state : 0;
	x->syscall = sc && sc < 100000 ? (long)sc - 1 : -1;
	return 0;
}

int rd_decode_sampling(const uint8_t *p, size_t n, struct rd_sampling *x, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t v[5];
	for (int i = 0; i < 5; i++)
		GET(&c, &v[i], "sampling settings");
	x->cpu_hz = v[0] <= 100000 ? (unsigned)v[0] : 0;
	x->wall_hz = v[1] <= 100000 ? (unsigned)v[1] : 0;
	x->clock = (unsigned)(v[2] & 0xff);
	x->signal = (unsigned)(v[3] & 0xff);
	x->status = (unsigned)(v[4] & 0xff);
	return 0;
}

int rd_decode_lost(const uint8_t *p, size_t n, unsigned *kind, uint64_t *count, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t k;
	GET(&c, &k, "lost kind");
	GET(&c, count, "lost count");
	*kind = k < 100 ? (unsigned)k : 0;
	return 0;
}

int rd_decode_thread(const uint8_t *p, size_t n, uint32_t *tid, char *name, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t t, len;
	const uint8_t *b;
	GET(&c, &t, "thread id");
	GET(&c, &len, "thread name length");
	if (t > UINT32_MAX || get_bytes(&c, len, 64, &b, "thread name too long or past the record end")) {
		*why = "bad thread record";
		return -1;
	}
	*tid = (uint32_t)t;
	for (uint64_t i = 0; i < len; i++)
		name[i] = b[i] >= 0x20 && b[i] != 0x7f ? (char)b[i] : '?';
	name[len] = '\0';
	return 0;
}

int rd_decode_path(const uint8_t *p, size_t n, uint32_t *id, char *path, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t v, len;
	const uint8_t *b;
	GET(&c, &v, "path id");
	GET(&c, &len, "path length");
	if (v == 0 || v > UINT32_MAX) {
		*why = "path id out of range";
		return -1;
	}
	if (get_bytes(&c, len, LDP_MAX_PATH_LEN, &b, "path too long or past the record end"))
		return -1;
	*id = (uint32_t)v;
	memcpy(path, b, len);
	path[len] = '\0';
	for (uint64_t i = 0; i < len; i++)
		if (!path[i])
			path[i] = '?';
	return 0;
}

int rd_decode_rss(const uint8_t *p, size_t n, uint64_t *time_us, uint64_t *bytes, const char **why)
{
	struct cur c = {p, p + n, why};
	GET(&c, time_us, "rss time");
	GET(&c, bytes, "rss bytes");
	return 0;
}

/* RING: the ring's delta bases, then its 1.7 model (docs/FORMAT.md, RING).
 * Every address is a delta from the previous one in the record (the first
 * from ptr). */
int rd_decode_ring_state(const uint8_t *p, size_t n, uint64_t *ring, struct rd_ring_dec *st, const char **why)
{
	struct cur c = {p, p + n, why};
	uint64_t t, seq, ptr, nalloc, stack, count, v, d;
	memset(st, 0, sizeof *st);
	GET(&c, ring, "ring id");
	GET(&c, &t, "ring tid");
	GET(&c, &seq, "ring seq");
	GET(&c, &ptr, "ring ptr");
	GET(&c, &nalloc, "ring allocation count");
	GET(&c, &stack, "ring stack");
	if (t > UINT32_MAX || nalloc > UINT32_MAX || stack > UINT32_MAX) {
		*why = "ring tid, allocation count or stack out of range";
		return -1;
	}
	struct ldp_model_dec *md = xcalloc(1, sizeof *md);
	md->m.nalloc = (uint32_t)nalloc;
	md->m.stack = (uint32_t)stack;
	uint64_t prev = ptr;
	if (get(&c, &count, "ring freed count"))
		goto fail;
	if (count > LDP_SIZE_CLASSES) {
		*why = "ring freed count out of range";
		goto fail;
	}
	uint64_t cls = 0;
	for (uint64_t i = 0; i < count; i++) {
		if (get(&c, &d, "ring freed class") || get(&c, &v, "ring freed block"))
			goto fail;
		cls += d;
		prev += (uint64_t)ldp_unzigzag(v);
		if ((i && !d) || d >= LDP_SIZE_CLASSES || cls >= LDP_SIZE_CLASSES || !prev) {
			*why = "ring freed class out of order or range, or block at address 0";
			goto fail;
		}
		md->m.freed[cls] = prev;
	}
	if (get(&c, &count, "ring recent count"))
		goto fail;
	if (count > LDP_RECENT_SLOTS) {
		*why = "ring recent count out of range";
		goto fail;
	}
	int last_slot = -1;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t age, k;
		if (get(&c, &age, "ring recent age") || get(&c, &v, "ring recent block") || get(&c, &k, "ring recent class"))
			goto fail;
		prev += (uint64_t)ldp_unzigzag(v);
		int slot = (int)ldp_recent_slot(prev);
		if (!age || age > UINT32_MAX || k >= LDP_SIZE_CLASSES || !prev || slot <= last_slot) {
			*why = "ring recent block out of slot order, at address 0, or its age or class out of range";
			goto fail;
		}
		md->m.recent[slot] = (struct ldp_model_slot){prev, (uint32_t)nalloc - (uint32_t)age, (uint32_t)k};
		last_slot = slot;
	}
	/* 2.2: the last site free's stack, the last site allocation's stack
	 * and size; absent before (then 0). */
	if (c.p < c.end) {
		uint64_t site_stack, site_size;
		if (get(&c, &v, "ring free stack") || get(&c, &site_stack, "ring site stack") ||
		    get(&c, &site_size, "ring site size"))
			goto fail;
		if (v > UINT32_MAX || site_stack > UINT32_MAX) {
			*why = "ring free or site stack out of range";
			goto fail;
		}
		md->m.free_stack = (uint32_t)v;
		md->m.site_stack = (uint32_t)site_stack;
		md->m.site_size = site_size;
	}
	/* Fields after these: a later minor version's, skipped. */
	ldp_model_dec_index(md);
	*st = (struct rd_ring_dec){.seq = seq, .ptr = ptr, .tid = (uint32_t)t, .attached = 1, .model = md};
	return 0;
fail:
	free(md);
	return -1;
}

int rd_decode_ring(const uint8_t *p, size_t n, uint64_t *ring, uint32_t *tid, uint64_t *seq, uint64_t *ptr,
		   const char **why)
{
	struct rd_ring_dec st;
	if (rd_decode_ring_state(p, n, ring, &st, why))
		return -1;
	*tid = st.tid;
	*seq = st.seq;
	*ptr = st.ptr;
	rd_ring_dec_fini(&st);
	return 0;
}

/* A length-prefixed op (format 1.3): decode the ones we know, skip the rest. */
static long sized_op(const uint8_t *p, const uint8_t *end, struct rd_ring_dec *st, struct rd_event *ev, int *what,
		     const char **why)
{
	uint64_t len;
	size_t k = ldp_varint_get(p + 1, end, &len);
	if (!k)
		return end - p - 1 >= LDP_VARINT_MAX ? (*why = "malformed event length", -1) : 0;
	if (len > (uint64_t)(end - p - 1 - (long)k))
		return len > 4096 ? (*why = "event length out of range", -1) : 0;
	const uint8_t *q = p + 1 + k, *qe = q + len;
	long used = (long)(qe - p);
	if (p[0] != LDP_EV_MMAP && p[0] != LDP_EV_MUNMAP && p[0] != LDP_EV_MREMAP) {
		*what = RD_DEC_SKIPPED;
		return used;
	}
	if (!st->attached) {
		*why = "event before its thread's ATTACH";
		return -1;
	}
	struct cur c = {q, qe, why};
	uint64_t sd, ad, a, b, x, y, stack = 0;
	memset(ev, 0, sizeof *ev);
	if (get(&c, &sd, "event seq") || get(&c, &ad, "event address"))
		return -1;
	uint64_t seq = st->seq + sd, addr = st->ptr + (uint64_t)ldp_unzigzag(ad);
	switch (p[0]) {
	case LDP_EV_MMAP:
		if (get(&c, &a, "map length") || get(&c, &b, "map prot") || get(&c, &x, "map flags") ||
		    get(&c, &y, "map path") || get(&c, &stack, "map stack"))
			return -1;
		ev->kind = RD_EV_MMAP;
		ev->ptr = addr;
		ev->size = a;
		ev->prot = (uint8_t)b;
		ev->flags = (uint32_t)x;
		ev->path = y <= UINT32_MAX ? (uint32_t)y : 0;
		break;
	case LDP_EV_MUNMAP:
		if (get(&c, &a, "unmap length"))
			return -1;
		ev->kind = RD_EV_MUNMAP;
		ev->ptr = addr;
		ev->size = a;
		break;
	default:
		if (get(&c, &a, "remap old length") || get(&c, &b, "remap address") || get(&c, &x, "remap length") ||
		    get(&c, &stack, "remap stack"))
			return -1;
		ev->kind = RD_EV_MREMAP;
		ev->old_ptr = addr;
		ev->old_size = a;
		ev->ptr = addr + (uint64_t)ldp_unzigzag(b);
		ev->size = x;
		addr = ev->ptr;
		break;
	}
	if (stack > UINT32_MAX) {
		*why = "stack id out of range";
		return -1;
	}
	st->seq = seq;
	st->ptr = addr;
	ev->seq = seq;
	ev->stack = (uint32_t)stack;
	ev->tid = st->tid;
	ev->op = p[0];
	*what = RD_DEC_EVENT;
	return used;
}

void rd_ring_dec_fini(struct rd_ring_dec *st)
{
	free(st->model);
	st->model = NULL;
}

/* base + a zigzag delta as a stack id (a model's stack, 2.2's free_stack).
 * @return 0, or -1 when it leaves 0..UINT32_MAX (in unsigned arithmetic: a
 * hostile delta cannot overflow). */
static int stack_plus(uint32_t base, uint64_t zz, uint32_t *stack)
{
	uint64_t s = (uint64_t)base + (uint64_t)ldp_unzigzag(zz);
	if (s > UINT32_MAX)
		return -1;
	*stack = (uint32_t)s;
	return 0;
}

/* A model op: 1.7's ALLOC2 and FREE2, the same event as its 1.0 op with
 * the fields the model gives left out; 2.2's ALLOC3 and FREE3, a site
 * event (ptr 0) whose stack is a delta from the model's. */
long rd_decode_v2(const uint8_t *p, const uint8_t *end, struct rd_ring_dec *st, struct rd_event *ev, const char **why)
{
	/* Which ops from 0x80 on are known, a bit each: ALLOC2 0x80..0x8f,
	 * FREE2 0x90..0x93, ALLOC3 0xa0..0xaf, FREE3 0xb0..0xb3 (one test on
	 * the reporter's hottest path). */
#define OPS(first, last) (((2ull << ((last) - LDP_EV_V2_MIN)) - 1) & ~((1ull << ((first) - LDP_EV_V2_MIN)) - 1))
	const uint64_t known = OPS(LDP_EV_ALLOC2, LDP_EV_ALLOC2 | 0x0f) |
			       OPS(LDP_EV_FREE2, LDP_EV_FREE2 | LDP_EV_FREE2_SEQ1 | LDP_EV_FREE2_INDEX) |
			       OPS(LDP_EV_ALLOC3, LDP_EV_ALLOC3 | 3 | LDP_EV_ALLOC3_SEQ1 | LDP_EV_ALLOC3_SAME) |
			       OPS(LDP_EV_FREE3, LDP_EV_FREE3 | LDP_EV_FREE3_SEQ1 | LDP_EV_FREE3_LAST);
#undef OPS
	unsigned op = p[0], bit = op - LDP_EV_V2_MIN;
	if (bit > 63 || !(known >> bit & 1)) {
		*why = "unknown event type";
		return -1;
	}
	/* Bit 4: a free (FREE2, FREE3); bit 5: a site event (ALLOC3, FREE3). */
	int is_free = op & 0x10, site = op & 0x20;
	if (!st->attached) {
		*why = "event before its thread's ATTACH";
		return -1;
	}
	if (!st->model)
		st->model = xcalloc(1, sizeof *st->model);
	struct ldp_model_dec *md = st->model;
	struct ldp_model *m = &md->m;
	const uint8_t *q = p + 1;
	uint64_t sd = 1, v, size = 0, ptr;
	uint32_t stack;
	size_t k;
#define NEXT(v)                                                                                                \
	do {                                                                                                   \
		k = ldp_varint_get(q, end, &(v));                                                              \
		if (!k) {                                                                                      \
			if (end - q >= LDP_VARINT_MAX) {                                                       \
				*why = "malformed varint in an event";                                         \
				return -1;                                                                     \
			}                                                                                      \
			return 0;                                                                              \
		}                                                                                              \
		q += k;                                                                                        \
	} while (0)
	memset(ev, 0, sizeof *ev);
#define NEXT_SEQ()                                                                                             \
	do {                                                                                                   \
		NEXT(sd);                                                                                      \
		if (!sd && st->quanta) { /* EVENTS3, 4: the seq again (0), or on a floor quantum */           \
			NEXT(v);                                                                               \
			if (ldp_seq_quanta_delta(st->seq, v, &sd)) {                                           \
				*why = "seq quanta out of range";                                              \
				return -1;                                                                     \
			}                                                                                      \
		}                                                                                              \
	} while (0)
	if (site) {
		/* No address: prev_ptr, nalloc and the recent table stay. */
		if (is_free) {
			if (!(op & LDP_EV_FREE3_SEQ1))
				NEXT_SEQ();
		} else if (!(op & LDP_EV_ALLOC3_SEQ1)) {
			NEXT_SEQ();
		}
		if (op & (is_free ? LDP_EV_FREE3_LAST : LDP_EV_ALLOC3_SAME)) { /* the last site allocation's size and stack */
			size = m->site_size;
			stack = m->site_stack;
		} else {
			if (is_free) {
				NEXT(v);
				NEXT(size);
			} else {
				NEXT(size);
				NEXT(v);
			}
			if (stack_plus(is_free ? m->free_stack : m->stack, v, &stack)) {
				*why = "stack id out of range";
				return -1;
			}
		}
		if (is_free) {
			m->free_stack = stack;
		} else {
			m->stack = m->site_stack = stack;
			m->site_size = size;
		}
		ev->kind = is_free ? RD_EV_FREE : RD_EV_ALLOC;
		ev->op = is_free ? LDP_EV_FREE : (uint8_t)(LDP_EV_ALLOC_MALLOC + (op & 3));
		ev->size = size;
		ev->stack = stack;
		st->seq += sd;
		ev->seq = st->seq;
		ev->tid = st->tid;
		return q - p;
	}
	if (is_free) {
		if (!(op & LDP_EV_FREE2_SEQ1))
			NEXT_SEQ();
		NEXT(v);
		if (op & LDP_EV_FREE2_INDEX) {
			struct ldp_model_slot *e = v && v <= UINT32_MAX ? ldp_model_dec_find(md, m->nalloc - (uint32_t)v) : NULL;
			if (!e) {
				*why = "free of an allocation index the recent table does not hold";
				return -1;
			}
			ptr = e->ptr;
			ldp_model_free_slot(m, e);
		} else {
			ptr = st->ptr + (uint64_t)ldp_unzigzag(v);
		}
		ev->kind = RD_EV_FREE;
		ev->op = LDP_EV_FREE;
	} else {
		if (!(op & LDP_EV_ALLOC2_SEQ1))
			NEXT_SEQ();
		NEXT(size);
		unsigned cls = ldp_size_class(size);
		if (op & LDP_EV_ALLOC2_REUSE) {
			ptr = m->freed[cls];
			if (!ptr) {
				*why = "allocation reuses a block the model does not hold";
				return -1;
			}
		} else {
			NEXT(v);
			ptr = st->ptr + (uint64_t)ldp_unzigzag(v);
		}
		NEXT(v);
		if (stack_plus(m->stack, v, &stack)) {
			*why = "stack id out of range";
			return -1;
		}
		if (!ptr) {
			*why = "heap event at address 0";
			return -1;
		}
		/* Complete and valid: only now change the model. */
		if (op & LDP_EV_ALLOC2_REUSE)
			ldp_model_reuse(m, cls);
		ldp_model_dec_alloc(md, ptr, cls, stack);
		ev->kind = RD_EV_ALLOC;
		ev->op = (uint8_t)(LDP_EV_ALLOC_MALLOC + (op & 3));
		ev->size = size;
		ev->stack = stack;
	}
#undef NEXT_SEQ
#undef NEXT
	if (!ptr) {
		*why = "heap event at address 0";
		return -1;
	}
	st->seq += sd;
	st->ptr = ptr;
	ev->seq = st->seq;
	ev->ptr = ptr;
	ev->tid = st->tid;
	return q - p;
}

long rd_decode_event(const uint8_t *p, const uint8_t *end, struct rd_ring_dec *st, struct rd_event *ev, int *what,
		     const char **why)
{
	if (p >= end)
		return 0;
	if (p[0] >= LDP_EV_SIZED_MIN && p[0] <= LDP_EV_SIZED_MAX)
		return sized_op(p, end, st, ev, what, why);
	if (p[0] >= LDP_EV_V2_MIN && p[0] <= LDP_EV_V2_MAX) {
		long used = rd_decode_v2(p, end, st, ev, why);
		if (used > 0)
			*what = RD_DEC_EVENT;
		return used;
	}
	const uint8_t *q = p + 1;
	uint64_t a, b = 0, size = 0, stack = 0;
	int site = 0;
	size_t k;
/* An incomplete event at the end of the bytes so far: wait for more, unless a
 * full varint's worth is there and still does not parse (then it is bad). */
#define NEXT(v)                                                                                                \
	do {                                                                                                   \
		k = ldp_varint_get(q, end, &(v));                                                              \
		if (!k) {                                                                                      \
			if (end - q >= LDP_VARINT_MAX) {                                                       \
				*why = "malformed varint in an event";                                         \
				return -1;                                                                     \
			}                                                                                      \
			return 0;                                                                              \
		}                                                                                              \
		q += k;                                                                                        \
	} while (0)

	switch (p[0]) {
	case LDP_EV_ATTACH:
		NEXT(a);
		if (a > UINT32_MAX) {
			*why = "thread id out of range";
			return -1;
		}
		st->seq = st->ptr = 0;
		st->tid = (uint32_t)a;
		st->attached = 1;
		if (st->model)
			memset(st->model, 0, sizeof *st->model);
		*what = RD_DEC_ATTACH;
		return q - p;
	case LDP_EV_ALLOC_MALLOC:
	case LDP_EV_ALLOC_CALLOC:
	case LDP_EV_ALLOC_REALLOC:
	case LDP_EV_ALLOC_ALIGNED:
		NEXT(a);
		NEXT(b);
		NEXT(size);
		NEXT(stack);
		if (stack > UINT32_MAX) {
			*why = "stack id out of range";
			return -1;
		}
		ev->kind = RD_EV_ALLOC;
		break;
	case LDP_EV_FREE:
		NEXT(a);
		NEXT(b);
		ev->kind = RD_EV_FREE;
		break;
	case LDP_EV_SALLOC_MALLOC:
	case LDP_EV_SALLOC_MALLOC + 1:
	case LDP_EV_SALLOC_MALLOC + 2:
	case LDP_EV_SALLOC_MALLOC + 3:
	case LDP_EV_SFREE:
		NEXT(a);
		NEXT(size);
		NEXT(stack);
		if (stack > UINT32_MAX) {
			*why = "stack id out of range";
			return -1;
		}
		site = 1;
		ev->kind = p[0] == LDP_EV_SFREE ? RD_EV_FREE : RD_EV_ALLOC;
		break;
	default:
		*why = "unknown event type";
		return -1;
	}
#undef NEXT
	if (!st->attached) {
		*why = "event before its thread's ATTACH";
		return -1;
	}
	/* A site event (2.2) has no address, and leaves prev_ptr as it is. */
	uint64_t ptr = site ? st->ptr : st->ptr + (uint64_t)ldp_unzigzag(b);
	if (!ptr && !site) {
		/* The agent records no failed allocation and no free(NULL); and 0 is
		 * the heap model's empty key (util.h: u64map keys are nonzero). */
		*why = "heap event at address 0";
		return -1;
	}
	st->seq += a;
	st->ptr = ptr;
	ev->op = site ? rd_site_op_event(p[0]) : p[0];
	ev->seq = st->seq;
	ev->ptr = site ? 0 : ptr;
	ev->size = size;
	ev->stack = (uint32_t)stack;
	ev->tid = st->tid;
	*what = RD_DEC_EVENT;
	return q - p;
}

size_t rd_event_compact(const uint8_t *p, size_t used, int zero_stack, uint8_t *out)
{
	uint64_t len, v;
	int sized = p[0] >= LDP_EV_SIZED_MIN && p[0] <= LDP_EV_SIZED_MAX;
	if (!sized && !zero_stack) {
		memcpy(out, p, used); /* ATTACH, ALLOC_*, FREE, SALLOC_*, SFREE: at most 1 + 4 varints */
		return used;
	}
	/* The fields this reader knows (a newer minor version may append more
	 * to a length-prefixed op); the stack id is the last of them. */
	unsigned nfields = !sized ? (rd_site_op(p[0]) ? 3 : 4) : p[0] == LDP_EV_MMAP ? 7 : p[0] == LDP_EV_MUNMAP ? 3 : 6;
	const uint8_t *q = p + 1;
	if (sized)
		q += ldp_varint_get(p + 1, p + used, &len);
	const uint8_t *f = q;
	for (unsigned i = 0; i < nfields - (zero_stack ? 1 : 0); i++)
		f += ldp_varint_get(f, p + used, &v); /* checked by rd_decode_event: all there */
	size_t n = (size_t)(f - q) + (zero_stack ? 1 : 0);
	size_t k = 1;
	out[0] = p[0];
	if (sized)
		k += ldp_varint_put(out + 1, n);
	memcpy(out + k, q, (size_t)(f - q));
	if (zero_stack)
		out[k + n - 1] = 0; /* stack 0: none */
	return k + n;
}
