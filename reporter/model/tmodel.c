/*
 * tmodel.c - build a struct tmodel from a trace (see tmodel.h).
 */
#include "tmodel.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldprof/signals.h"
#include "util/util.h"

static struct tm_segment *cur(struct tmodel *m)
{
	return &m->segs[m->nsegs - 1];
}

static void on_segment(void *ctx, const struct rd_segment *s)
{
	struct tmodel *m = ctx;
	vec_reserve((void **)&m->segs, &m->segs_cap, m->nsegs + 1, sizeof *m->segs);
	struct tm_segment *seg = &m->segs[m->nsegs++];
	memset(seg, 0, sizeof *seg);
	seg->info = *s;
	seg->info.exe = xstrdup(s->exe);
	seg->info.cmdline = xstrdup(s->cmdline);
	seg->info.hostname = xstrdup(s->hostname);
	seg->info.agent_version = xstrdup(s->agent_version);
	seg->info.allocator = xstrdup(s->allocator);
	VEC_PUSH(seg->stacks, seg->nstacks, seg->stacks_cap, ((struct tm_stack){0}));
	heap_init(&seg->heap, s->seq_shift);
	seg->heap.attached = s->attached;
	if (s->mode == LDP_MODE_SAMPLED)
		seg->heap.t.sample_bytes = s->sample_bytes;
	profile_init(&seg->prof);
	mapped_init(&seg->mapped, s->seq_shift);
	if (m->flags & TM_ACTIVITY) {
		seg->act = xmalloc(sizeof *seg->act);
		activity_init(seg->act);
		seg->heap.act = seg->act;
	}
}

static void on_sampling(void *ctx, const struct rd_sampling *s)
{
	struct tm_segment *seg = cur(ctx);
	seg->prof.setup = *s;
	seg->prof.has_setup = 1;
}

static void on_sample(void *ctx, const struct rd_sample *s)
{
	struct tm_segment *seg = cur(ctx);
	profile_sample(&seg->prof, s);
	if (seg->act && (s->kind == LDP_SAMPLE_CPU || s->kind == LDP_SAMPLE_WALL)) {
		uint64_t *v = activity_at(seg->act, s->time_us, s->stack, s->tid);
		int wall = s->kind == LDP_SAMPLE_WALL;
		v[wall ? ACT_WALL_NS : ACT_CPU_NS] += s->weight_ns;
		v[wall ? ACT_WALL_SAMPLES : ACT_CPU_SAMPLES]++;
	}
}

static void on_lost(void *ctx, unsigned kind, uint64_t count)
{
	struct heap_totals *t = &cur(ctx)->heap.t;
	switch (kind) {
	case LDP_SAMPLE_HEAP: t->lost_samples += count; return;
	case LDP_LOST_NESTED_ALLOC: t->lost_nested_allocs += count; return;
	case LDP_LOST_NESTED_FREE: t->lost_nested_frees += count; return;
	default: break;
	}
	profile_lost(&cur(ctx)->prof, kind, count);
}

static void on_thread(void *ctx, uint32_t tid, const char *name)
{
	profile_thread_name(&cur(ctx)->prof, tid, name);
}

static void on_module(void *ctx, const struct rd_module *mod)
{
	struct tm_segment *seg = cur(ctx);
	struct rd_module copy = *mod;
	copy.path = xstrdup(mod->path);
	VEC_PUSH(seg->mods, seg->nmods, seg->mods_cap, copy);
}

static void on_stack(void *ctx, const struct rd_stack *s)
{
	struct tm_segment *seg = cur(ctx);
	/* Since 1.8 a stack's modules come before it (docs/FORMAT.md, MODULE). */
	struct tm_stack st = {.depth = s->depth, .flags = s->flags,
			      .nmods = seg->info.major > 1 || seg->info.minor >= 8 ? seg->nmods : 0};
	uint8_t *code = arena_alloc(&seg->stack_ips, (size_t)s->depth * LDP_VARINT_MAX + 1), *p = code;
	uint64_t prev = 0;
	for (unsigned i = 0; i < s->depth; i++) {
		p += ldp_varint_put(p, ldp_zigzag((int64_t)(s->ips[i] - prev)));
		prev = s->ips[i];
	}
	arena_unused(&seg->stack_ips, code, (size_t)(p - code));
	st.code = code;
	VEC_PUSH(seg->stacks, seg->nstacks, seg->stacks_cap, st);
}

static void on_event(void *ctx, const struct rd_event *e)
{
	if (e->kind == RD_EV_ALLOC || e->kind == RD_EV_FREE)
		heap_event(&cur(ctx)->heap, e);
	else
		mapped_event(&cur(ctx)->mapped, e);
}

static void on_prefetch(void *ctx, uint64_t ptr, uint32_t stack, int alloc)
{
	heap_prefetch(&cur(ctx)->heap, ptr, stack, alloc);
}

static void on_path(void *ctx, uint32_t id, const char *path)
{
	mapped_path(&cur(ctx)->mapped, id, path);
}

static void on_rss(void *ctx, uint64_t time_us, uint64_t bytes)
{
	struct tm_segment *seg = cur(ctx);
	mapped_rss(&seg->mapped, time_us, bytes, seg->heap.t.live_bytes);
}

static uint64_t seg_base_ns(const struct tmodel *m, size_t seg)
{
	return m->segs[seg].info.start_monotonic_ns - m->segs[0].info.start_monotonic_ns;
}

static void on_pause(void *ctx, const struct rd_pause *p)
{
	heap_pause(&cur(ctx)->heap, p);
}

static void on_snapshot(void *ctx, const struct rd_snapshot *rs)
{
	struct tmodel *m = ctx;
	struct tm_segment *seg = cur(m);
	const struct heap_model *h = &seg->heap;
	struct tm_snapshot snap = {.kind = rs->kind, .seg = m->nsegs - 1, .owned_sites = 1};
	memcpy(snap.label, rs->label, sizeof snap.label);
	snap.index = m->nsnaps + 1;
	for (size_t i = 0; i < m->nsnaps; i++)
		if (!strcmp(m->snaps[i].label, snap.label))
			snap.occurrence++;
	snap.occurrence++;
	snap.time_ns = seg_base_ns(m, snap.seg) + (rs->seq >> seg->info.seq_shift) * 1000;
	snap.live_bytes = h->t.live_bytes;
	snap.live_count = h->t.live_count;
	snap.mapped_bytes = seg->mapped.live_bytes;
	size_t cap = 0;
	const struct mapped_model *mm = &seg->mapped;
	size_t n = h->nsites > mm->nsites ? h->nsites : mm->nsites;
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes = i < h->nsites ? h->sites[i].live_bytes : 0;
		uint64_t count = i < h->nsites ? h->sites[i].live_count : 0;
		uint64_t mapped = i < mm->nsites ? mm->sites[i].live_bytes : 0;
		if (count || mapped) {
			struct tm_snap_site site = {(uint32_t)i, bytes, count, mapped};
			VEC_PUSH(snap.sites, snap.nsites, cap, site);
		}
	}
	VEC_PUSH(m->snaps, m->nsnaps, m->snaps_cap, snap);
}

static void on_segment_end(void *ctx, const struct rd_end *end)
{
	struct tm_segment *seg = cur(ctx);
	seg->end = *end;
	tm_end_name(end, seg->end_name, sizeof seg->end_name);
	/* Detached: the process runs on, what is live is live, not leaked. */
	heap_finish(&seg->heap, end->reason == LDP_END_EXEC ? HEAP_END_EXEC
				: end->running || end->continued || end->reason == LDP_END_DETACHED ? HEAP_END_RUNNING
												     : HEAP_END_ENDED);
	mapped_finish(&seg->mapped);
}

static int load(struct tmodel *m, const char *path, const uint8_t *data, size_t len, unsigned flags,
		struct rd_error *err)
{
	memset(m, 0, sizeof *m);
	m->flags = flags;
	m->path = xstrdup(path);
	struct rd_visitor v = {
		.ctx = m,
		.segment_begin = on_segment,
		.module = on_module,
		.stack = on_stack,
		.event = on_event,
		.prefetch = on_prefetch,
		.snapshot = on_snapshot,
		.pause = on_pause,
		.sampling = on_sampling,
		.sample = on_sample,
		.lost = on_lost,
		.thread = on_thread,
		.path = on_path,
		.rss = on_rss,
		.segment_end = on_segment_end,
	};
	int rc = data ? rd_read_mem(data, len, path, &v, &m->stats, err) : rd_read_file(path, &v, &m->stats, err);
	if (rc) {
		tm_free(m);
		return -1;
	}
	return 0;
}

int tm_load(struct tmodel *m, const char *path, struct rd_error *err)
{
	return load(m, path, NULL, 0, 0, err);
}

int tm_load_flags(struct tmodel *m, const char *path, unsigned flags, struct rd_error *err)
{
	return load(m, path, NULL, 0, flags, err);
}

int tm_load_mem(struct tmodel *m, const uint8_t *data, size_t len, const char *name, struct rd_error *err)
{
	return load(m, name, data ? data : (const uint8_t *)"", len, 0, err);
}

void tm_free(struct tmodel *m)
{
	for (size_t i = 0; i < m->nsegs; i++) {
		struct tm_segment *s = &m->segs[i];
		rd_segment_clear(&s->info);
		for (size_t j = 0; j < s->nmods; j++)
			free(s->mods[j].path);
		free(s->mods);
		arena_free(&s->stack_ips);
		free(s->stacks);
		heap_free(&s->heap);
		profile_free(&s->prof);
		mapped_free(&s->mapped);
		if (s->act)
			activity_free(s->act);
		free(s->act);
	}
	free(m->segs);
	for (size_t i = 0; i < m->nsnaps; i++)
		tm_snapshot_clear(&m->snaps[i]);
	free(m->snaps);
	free(m->path);
	memset(m, 0, sizeof *m);
}

void tm_snapshot_clear(struct tm_snapshot *s)
{
	if (s->owned_sites)
		free(s->sites);
	s->sites = NULL;
	s->nsites = 0;
}

const char *tm_snapshot_kind_name(unsigned kind)
{
	switch (kind) {
	case LDP_SNAP_API: return "api";
	case LDP_SNAP_SIGNAL: return "signal";
	case LDP_SNAP_INTERVAL: return "interval";
	case LDP_SNAP_CONTROL: return "control";
	default: return "built-in";
	}
}

/* A built-in snapshot from one segment's per-stack figures. */
static void builtin(const struct tmodel *m, size_t seg, const char *label, int use_peak, struct tm_snapshot *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->label, sizeof out->label, "%s", label);
	out->occurrence = 1;
	out->seg = seg;
	out->owned_sites = 1;
	if (!m->nsegs)
		return;
	const struct heap_model *h = &m->segs[seg].heap;
	const struct mapped_model *mm = &m->segs[seg].mapped;
	out->time_ns = seg_base_ns(m, seg) + (use_peak ? h->t.peak_time_us : h->t.last_time_us) * 1000;
	out->live_bytes = use_peak ? h->t.peak_bytes : h->t.live_bytes;
	out->live_count = use_peak ? h->t.peak_count : h->t.live_count;
	/* The mapped channel's own peak (it need not coincide with the heap's). */
	out->mapped_bytes = use_peak ? mm->peak_bytes : mm->live_bytes;
	size_t cap = 0;
	size_t n = h->nsites > mm->nsites ? h->nsites : mm->nsites;
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes = 0, count = 0, mapped = 0;
		if (i < h->nsites) {
			bytes = use_peak ? h->sites[i].peak_bytes : h->sites[i].live_bytes;
			count = use_peak ? h->sites[i].peak_count : h->sites[i].live_count;
		}
		if (i < mm->nsites)
			mapped = use_peak ? mm->sites[i].peak_bytes : mm->sites[i].live_bytes;
		if (count || mapped) {
			struct tm_snap_site site = {(uint32_t)i, bytes, count, mapped};
			VEC_PUSH(out->sites, out->nsites, cap, site);
		}
	}
}

int tm_snapshot_select(const struct tmodel *m, const char *sel, struct tm_snapshot *out)
{
	if (!strcmp(sel, "start")) {
		memset(out, 0, sizeof *out);
		snprintf(out->label, sizeof out->label, "start");
		out->occurrence = 1;
		return 0;
	}
	if (!strcmp(sel, "exit")) {
		builtin(m, m->nsegs ? m->nsegs - 1 : 0, "exit", 0, out);
		return 0;
	}
	if (!strcmp(sel, "peak")) {
		size_t best = 0;
		for (size_t i = 0; i < m->nsegs; i++)
			if (m->segs[i].heap.t.peak_bytes > m->segs[best].heap.t.peak_bytes)
				best = i;
		builtin(m, best, "peak", 1, out);
		return 0;
	}
	const struct tm_snapshot *found = NULL;
	if (sel[0] == '@') {
		char *end;
		unsigned long n = strtoul(sel + 1, &end, 10);
		if (*end || !n || n > m->nsnaps)
			return -1;
		found = &m->snaps[n - 1];
	} else {
		const char *hash = strrchr(sel, '#');
		unsigned long want = 1;
		size_t len = strlen(sel);
		if (hash) {
			char *end;
			want = strtoul(hash + 1, &end, 10);
			if (*end || !want)
				return -1;
			len = (size_t)(hash - sel);
		}
		for (size_t i = 0; i < m->nsnaps && !found; i++)
			if (strlen(m->snaps[i].label) == len && !strncmp(m->snaps[i].label, sel, len) &&
			    m->snaps[i].occurrence == want)
				found = &m->snaps[i];
	}
	if (!found)
		return -1;
	*out = *found;
	out->owned_sites = 0; /* shares the model's sites */
	return 0;
}

const char *tm_end_name(const struct rd_end *end, char *buf, size_t size)
{
	const char *s = NULL;
	switch (end->reason) {
	case LDP_END_EXIT: s = "exit"; break;
	case LDP_END_EXEC: s = "exec"; break;
	case LDP_END_UNDERSCORE_EXIT: s = "_exit"; break;
	case LDP_END_ABORT: s = "abort"; break;
	case LDP_END_ERROR: s = "agent error"; break;
	case LDP_END_DETACHED: s = "detached, still running"; break;
	case LDP_END_SIGNAL: {
		const char *abbrev = end->signal ? ldp_signal_name(end->signal) : NULL;
		if (abbrev)
			snprintf(buf, size, "terminated by SIG%s", abbrev);
		else if (end->signal)
			snprintf(buf, size, "terminated by signal %d", end->signal);
		else
			snprintf(buf, size, "terminated by a signal");
		return buf;
	}
	case 0: s = end->continued ? "goes on in the next part" : end->running ? "still running" : "cut short (killed?)"; break;
	default: snprintf(buf, size, "ended (reason %d)", end->reason); return buf;
	}
	snprintf(buf, size, "%s", s);
	return buf;
}
