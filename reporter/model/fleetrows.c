/*
 * fleetrows.c - see fleetrows.h.
 *
 * The per-stack figures are taken the way the reports take them, so that a
 * fleet report over pushed traces adds up to `ldprof report` over the same
 * files: heap sites as model/group.c and model/wstack.c read them (inuse from
 * the image with the highest peak, leaked only from images that ended, and
 * not by exec: tm_segment_leaks), samples as model/wstack.c (ldprof's own work kept apart), and
 * snapshots as model/tmodel.c recorded them. Several raw stacks can
 * symbolize to the same frames (two return addresses on one line); their
 * figures are summed into one value row.
 */
#include "fleetrows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/wstack.h"
#include "util/util.h"

static const char *const figure_names[FF_NFIGURES] = {
	[FF_ALLOC] = "alloc",         [FF_FREES] = "frees",         [FF_INUSE] = "inuse", [FF_LEAKED] = "leaked",
	[FF_TEMPORARY] = "temporary", [FF_CPU] = "cpu",             [FF_WALL] = "wall",   [FF_CPU_AGENT] = "cpu_agent",
	[FF_WALL_AGENT] = "wall_agent", [FF_SNAPSHOT] = "snapshot", [FF_MAPPED] = "mapped",
	[FF_MAPPED_PEAK] = "mapped_peak", [FF_MAPPED_LIVE] = "mapped_live",
};

const char *fleet_figure_name(enum fleet_figure f)
{
	return f > 0 && f < FF_NFIGURES ? figure_names[f] : "?";
}

/* FNV-1a over bytes, each field closed by a byte no text contains, and the
 * result mixed (hash_u64) so that every bit depends on every input bit. */
#define FNV_OFFSET 0xcbf29ce484222325ull
static uint64_t h_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static uint64_t h_str(uint64_t h, const char *s)
{
	return h_bytes(h, s ? s : "", s ? strlen(s) : 0);
}

static uint64_t h_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return h_bytes(h, b, 8);
}

/* Ids fit a signed 64-bit integer (JSON readers), and are never 0 (map keys). */
static uint64_t id63(uint64_t h)
{
	h = hash_u64(h) & 0x7fffffffffffffffull;
	return h ? h : 1;
}

uint64_t fleet_stack_id(const struct sym_frame *const *frames, unsigned n)
{
	uint64_t h = FNV_OFFSET;
	for (unsigned i = 0; i < n; i++) {
		const struct sym_frame *f = frames[i];
		h = h_str(h, f->function);
		h = h_str(h, f->file);
		h = h_u64(h, f->line);
		h = h_str(h, f->module);
		h = h_u64(h, (uint64_t)(f->inlined != 0));
	}
	return id63(h_u64(h, n));
}

/* The fleet stack of frames fl->f[from..n), added on first sight. */
static uint32_t stack_of(struct fleet_trace *ft, const struct flat *fl, unsigned from)
{
	unsigned n = fl->n > from ? fl->n - from : 0;
	const struct sym_frame *const *frames = fl->f + from;
	uint64_t id = fleet_stack_id(frames, n);
	uint64_t *slot = u64map_get(&ft->stack_index, id);
	if (slot)
		return (uint32_t)*slot;
	struct fleet_stack st = {.id = id, .nframes = n};
	st.frames = xmalloc((n ? n : 1) * sizeof *st.frames);
	if (n)
		memcpy(st.frames, frames, n * sizeof *st.frames);
	VEC_PUSH(ft->stacks, ft->nstacks, ft->stacks_cap, st);
	u64map_put(&ft->stack_index, id, ft->nstacks - 1);
	return (uint32_t)(ft->nstacks - 1);
}

/* Raw stack id of one image -> fleet stack index, symbolized once per kind
 * (heap: from the site frame; samples: from the sampled instruction), and
 * whether a sample's stack is ldprof's own work. */
struct stack_cache {
	uint32_t *heap, *sample;
	uint8_t *agent;
	size_t n;
};

static uint32_t cached_stack(struct fleet_trace *ft, struct stack_cache *sc, const struct loaded *t, size_t s,
			     uint32_t raw, int sample, struct flat *fl)
{
	uint32_t *slot = sample ? &sc->sample[raw] : &sc->heap[raw];
	if (*slot != UINT32_MAX)
		return *slot;
	flat_stack(fl, t->spaces[s], &t->m.segs[s].stacks[raw], 1);
	*slot = stack_of(ft, fl, sample ? 0 : fl->site);
	if (sample)
		sc->agent[raw] = (uint8_t)flat_agent_work(fl);
	return *slot;
}

/* Add to the value row (image, stack, figure, snapshot), creating it. The
 * index is keyed per stack within the current pass (one image, figure and
 * snapshot), so keys are exact. */
static void add_value(struct fleet_trace *ft, uint32_t image, uint32_t stack, enum fleet_figure fig, uint32_t snap,
		      uint64_t value, uint64_t count)
{
	if (!value && !count)
		return;
	uint64_t *slot = u64map_get(&ft->value_index, (uint64_t)stack + 1);
	if (slot) {
		ft->values[*slot].value += value;
		ft->values[*slot].count += count;
		return;
	}
	struct fleet_value v = {.image = image, .stack = stack, .snapshot = snap, .figure = (uint8_t)fig,
				.value = value, .count = count};
	VEC_PUSH(ft->values, ft->nvalues, ft->values_cap, v);
	u64map_put(&ft->value_index, (uint64_t)stack + 1, ft->nvalues - 1);
}

static void new_pass(struct fleet_trace *ft)
{
	u64map_free(&ft->value_index);
	u64map_init(&ft->value_index, 256);
}

static void site_figure(enum fleet_figure fig, const struct heap_site *x, uint64_t *v, uint64_t *c)
{
	switch (fig) {
	case FF_ALLOC: *v = x->allocated_bytes; *c = x->allocations; break;
	case FF_FREES: *v = *c = x->frees; break;
	case FF_INUSE: *v = x->peak_bytes; *c = x->peak_count; break;
	case FF_LEAKED: *v = x->live_bytes; *c = x->live_count; break;
	default: *v = *c = x->temporary; break;
	}
}

static void heap_figures(struct fleet_trace *ft, struct stack_cache *sc, const struct loaded *t, size_t s,
			 int is_peak, struct flat *fl)
{
	const struct tm_segment *seg = &t->m.segs[s];
	const struct heap_model *h = &seg->heap;
	int leaks = tm_segment_leaks(seg);
	static const enum fleet_figure figs[] = {FF_ALLOC, FF_FREES, FF_INUSE, FF_LEAKED, FF_TEMPORARY};
	for (size_t f = 0; f < sizeof figs / sizeof *figs; f++) {
		if ((figs[f] == FF_INUSE && !is_peak) || (figs[f] == FF_LEAKED && !leaks))
			continue;
		new_pass(ft);
		/* stack 0 is the empty one: "(no stack)" */
		for (size_t id = 0; id < h->nsites && id < seg->nstacks; id++) {
			uint64_t v, c;
			site_figure(figs[f], &h->sites[id], &v, &c);
			if (v || c)
				add_value(ft, (uint32_t)s, cached_stack(ft, sc, t, s, (uint32_t)id, 0, fl), figs[f], 0, v, c);
		}
	}
}

/* The mapped channel, per stack, from every image (as model/group.c sums it). */
static void mapped_figures(struct fleet_trace *ft, struct stack_cache *sc, const struct loaded *t, size_t s,
			   struct flat *fl)
{
	const struct tm_segment *seg = &t->m.segs[s];
	const struct mapped_model *mm = &seg->mapped;
	static const enum fleet_figure figs[] = {FF_MAPPED, FF_MAPPED_PEAK, FF_MAPPED_LIVE};
	for (size_t f = 0; f < sizeof figs / sizeof *figs; f++) {
		new_pass(ft);
		for (size_t id = 0; id < mm->nsites && id < seg->nstacks; id++) {
			const struct map_site *x = &mm->sites[id];
			if (!x->maps)
				continue;
			uint64_t v = figs[f] == FF_MAPPED ? x->mapped_bytes : figs[f] == FF_MAPPED_PEAK ? x->peak_bytes
												      : x->live_bytes;
			uint64_t c = figs[f] == FF_MAPPED ? x->maps : 0;
			if (v || c)
				add_value(ft, (uint32_t)s, cached_stack(ft, sc, t, s, (uint32_t)id, 0, fl), figs[f], 0, v, c);
		}
	}
}

static void sample_figures(struct fleet_trace *ft, struct stack_cache *sc, const struct loaded *t, size_t s,
			   struct flat *fl)
{
	const struct tm_segment *seg = &t->m.segs[s];
	for (int k = 0; k < PROF_KINDS; k++) {
		const struct prof_kind *pk = &seg->prof.k[k];
		/* Two passes: the program's own work, then ldprof's. */
		for (int agent = 0; agent < 2; agent++) {
			enum fleet_figure fig = k == PROF_CPU ? (agent ? FF_CPU_AGENT : FF_CPU)
							      : (agent ? FF_WALL_AGENT : FF_WALL);
			new_pass(ft);
			for (size_t id = 0; id < pk->nstacks && id < seg->nstacks; id++) {
				const struct prof_stack *ps = &pk->stacks[id];
				if (!ps->samples && !ps->weight_ns)
					continue;
				uint32_t st = cached_stack(ft, sc, t, s, (uint32_t)id, 1, fl);
				if (sc->agent[id] == agent)
					add_value(ft, (uint32_t)s, st, fig, 0, ps->weight_ns, ps->samples);
			}
		}
	}
}

static void snapshot_figures(struct fleet_trace *ft, struct stack_cache *sc, const struct loaded *t,
			     struct flat *fl)
{
	const struct tmodel *m = &t->m;
	ft->snapshots = xcalloc(m->nsnaps ? m->nsnaps : 1, sizeof *ft->snapshots);
	ft->nsnapshots = m->nsnaps;
	for (size_t i = 0; i < m->nsnaps; i++) {
		const struct tm_snapshot *snap = &m->snaps[i];
		char name[LDP_MAX_LABEL_LEN + 16];
		if (snap->occurrence > 1)
			snprintf(name, sizeof name, "%s#%u", snap->label, snap->occurrence);
		else
			snprintf(name, sizeof name, "%s", snap->label);
		ft->snapshots[i] = xstrdup(name);
		if (snap->seg >= m->nsegs)
			continue;
		const struct tm_segment *seg = &m->segs[snap->seg];
		new_pass(ft);
		for (size_t j = 0; j < snap->nsites; j++) {
			const struct tm_snap_site *x = &snap->sites[j];
			if (x->stack >= seg->nstacks || (!x->bytes && !x->count))
				continue;
			uint32_t st = cached_stack(ft, &sc[snap->seg], t, snap->seg, x->stack, 0, fl);
			add_value(ft, (uint32_t)snap->seg, st, FF_SNAPSHOT, (uint32_t)i, x->bytes, x->count);
		}
	}
}

static void image_of(struct fleet_image *im, const struct tm_segment *seg)
{
	im->seg = seg;
	const struct rd_module *exe = NULL;
	for (size_t i = 0; i < seg->nmods && !exe; i++)
		if (seg->mods[i].path && !strcmp(seg->mods[i].path, seg->info.exe))
			exe = &seg->mods[i];
	if (!exe && seg->nmods)
		exe = &seg->mods[0];
	im->build_id[0] = '\0';
	for (unsigned i = 0; exe && i < exe->build_id_len && i < LDP_MAX_BUILD_ID_LEN; i++)
		snprintf(im->build_id + 2 * i, 3, "%02x", exe->build_id[i]);
	uint64_t end_us = seg->end.reason ? seg->end.time_us : seg->heap.t.last_time_us;
	im->end_ns = seg->info.start_realtime_ns + end_us * 1000;
	im->peak_time_ns = seg->heap.t.peak_time_us * 1000;
	memcpy(im->size_hist, seg->heap.size_hist, sizeof im->size_hist);
}

void fleet_trace_build(struct fleet_trace *ft, const struct loaded *t)
{
	memset(ft, 0, sizeof *ft);
	const struct tmodel *m = &t->m;
	ft->path = m->path;
	ft->stats = &m->stats;
	u64map_init(&ft->stack_index, 1024);
	u64map_init(&ft->value_index, 256);
	ft->nimages = m->nsegs;
	ft->images = xcalloc(m->nsegs ? m->nsegs : 1, sizeof *ft->images);
	uint64_t h = FNV_OFFSET;
	if (m->nsegs) {
		/* Who ran, where, when: the same process gives the same id from any copy of its file. */
		const struct rd_segment *first = &m->segs[0].info;
		h = h_str(h, first->hostname);
		h = h_u64(h, first->pid);
		h = h_u64(h, first->proc_start_ticks);
		h = h_u64(h, first->start_realtime_ns);
		h = h_str(h, first->exe);
		ft->start_ns = first->start_realtime_ns;
	}
	ft->id = id63(h);

	struct stack_cache *sc = xcalloc(m->nsegs ? m->nsegs : 1, sizeof *sc);
	for (size_t s = 0; s < m->nsegs; s++) {
		sc[s].n = m->segs[s].nstacks;
		sc[s].heap = xmalloc((sc[s].n ? sc[s].n : 1) * sizeof *sc[s].heap);
		sc[s].sample = xmalloc((sc[s].n ? sc[s].n : 1) * sizeof *sc[s].sample);
		memset(sc[s].heap, 0xff, sc[s].n * sizeof *sc[s].heap);
		memset(sc[s].sample, 0xff, sc[s].n * sizeof *sc[s].sample);
		sc[s].agent = xcalloc(sc[s].n ? sc[s].n : 1, 1);
	}
	struct flat fl = {0};
	size_t peak = ws_peak_segment(m);
	for (size_t s = 0; s < m->nsegs; s++) {
		image_of(&ft->images[s], &m->segs[s]);
		heap_figures(ft, &sc[s], t, s, s == peak, &fl);
		mapped_figures(ft, &sc[s], t, s, &fl);
		sample_figures(ft, &sc[s], t, s, &fl);
	}
	snapshot_figures(ft, sc, t, &fl);
	flat_free(&fl);
	for (size_t s = 0; s < m->nsegs; s++) {
		free(sc[s].heap);
		free(sc[s].sample);
		free(sc[s].agent);
	}
	free(sc);

	/* The content: every value row and every image's totals. */
	uint64_t c = h_u64(FNV_OFFSET, ft->id);
	for (size_t i = 0; i < ft->nvalues; i++) {
		const struct fleet_value *v = &ft->values[i];
		c = h_u64(c, v->image);
		c = h_u64(c, ft->stacks[v->stack].id);
		c = h_u64(c, v->figure);
		c = h_str(c, v->figure == FF_SNAPSHOT ? ft->snapshots[v->snapshot] : "");
		c = h_u64(c, v->value);
		c = h_u64(c, v->count);
	}
	for (size_t s = 0; s < ft->nimages; s++) {
		const struct heap_totals *x = &m->segs[s].heap.t;
		c = h_u64(c, x->allocations);
		c = h_u64(c, x->frees);
		c = h_u64(c, x->allocated_bytes);
		c = h_u64(c, x->peak_bytes);
		c = h_u64(c, x->leaked_bytes);
		c = h_u64(c, x->live_now_bytes);
		c = h_str(c, m->segs[s].end_name); /* a running process pushed again once it has ended */
	}
	c = h_u64(c, m->stats.damaged);
	c = h_u64(c, m->stats.dropped_events);
	c = h_u64(c, m->stats.unordered_events);
	ft->content = id63(c);
}

void fleet_trace_free(struct fleet_trace *ft)
{
	for (size_t i = 0; i < ft->nstacks; i++)
		free(ft->stacks[i].frames);
	free(ft->stacks);
	free(ft->values);
	free(ft->images);
	for (size_t i = 0; i < ft->nsnapshots; i++)
		free(ft->snapshots[i]);
	free(ft->snapshots);
	u64map_free(&ft->stack_index);
	u64map_free(&ft->value_index);
	memset(ft, 0, sizeof *ft);
}
