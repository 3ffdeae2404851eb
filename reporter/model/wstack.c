/*
 * wstack.c - weighted stacks from a loaded trace (see wstack.h).
 */
#include "wstack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static const struct {
	const char *name, *unit, *title;
} whats[WS_NWHAT] = {
	[WS_ALLOC] = {"alloc", "bytes", "allocated bytes"},
	[WS_INUSE] = {"inuse", "bytes", "bytes live at the peak"},
	[WS_LEAKED] = {"leaked", "bytes", "bytes leaked (live at exit)"},
	[WS_TEMPORARY] = {"temporary", "allocations", "temporary allocations"},
	[WS_CPU] = {"cpu", "nanoseconds", "CPU time"},
	[WS_WALL] = {"wall", "nanoseconds", "wall-clock time"},
};

const char *ws_what_name(enum ws_what w)
{
	return whats[w].name;
}

int ws_what_parse(const char *s, enum ws_what *w)
{
	for (int i = 0; i < WS_NWHAT; i++)
		if (!strcmp(s, whats[i].name)) {
			*w = (enum ws_what)i;
			return 0;
		}
	return -1;
}

void ws_init(struct wstack_set *ws, enum ws_what what)
{
	memset(ws, 0, sizeof *ws);
	ws->what = what;
	ws->name = whats[what].name;
	ws->unit = whats[what].unit;
	ws->title = whats[what].title;
}

void ws_free(struct wstack_set *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		free(ws->v[i].frames);
		free(ws->v[i].addr);
	}
	free(ws->v);
	free(ws->synth);
	memset(ws, 0, sizeof *ws);
}

void ws_add(struct wstack_set *ws, const struct sym_frame *const *frames, unsigned n, uint64_t weight,
	    uint64_t count)
{
	struct wstack s = {.nframes = n, .weight = weight, .count = count};
	s.frames = xmalloc((n ? n : 1) * sizeof *s.frames);
	if (n)
		memcpy(s.frames, frames, n * sizeof *s.frames);
	VEC_PUSH(ws->v, ws->n, ws->cap, s);
	ws->total += weight;
}

size_t ws_peak_segment(const struct tmodel *m)
{
	size_t peak = 0;
	for (size_t s = 0; s < m->nsegs; s++)
		if (m->segs[s].heap.t.peak_bytes > m->segs[peak].heap.t.peak_bytes)
			peak = s;
	return peak;
}

/* The weight and count of one site for `what` (0: not in this picture). */
static void site_weight(enum ws_what what, const struct tm_segment *seg, int is_peak_seg, const struct heap_site *s,
			uint64_t *w, uint64_t *c)
{
	*w = *c = 0;
	switch (what) {
	case WS_ALLOC: *w = s->allocated_bytes; *c = s->allocations; break;
	case WS_INUSE:
		if (is_peak_seg) {
			*w = s->peak_bytes;
			*c = s->peak_count;
		}
		break;
	case WS_LEAKED:
		if (tm_segment_leaks(seg)) {
			*w = s->live_bytes;
			*c = s->live_count;
		}
		break;
	case WS_TEMPORARY: *w = s->temporary; *c = s->temporary; break;
	default: break;
	}
}

int ws_build(struct wstack_set *ws, enum ws_what what, struct symbolizer *sym, const struct loaded *t,
	     const char **why)
{
	return ws_build_opts(ws, what, sym, t, NULL, why);
}

void ws_heap_figure(const struct wstack_set *ws, const struct wstack *s, enum ws_what what, uint64_t *weight,
		    uint64_t *count)
{
	*weight = *count = 0;
	if (s->heap && ws->m && s->seg < ws->m->nsegs)
		site_weight(what, &ws->m->segs[s->seg], s->seg == ws->peak_seg, s->heap, weight, count);
}

/* For each frame of fl, the index of the address it was resolved from
 * (sym_resolve's runs, as flat_stack made them). */
static uint32_t *frame_addrs(struct sym_space *sp, const struct tm_stack *st, unsigned nframes)
{
	uint32_t *a = xmalloc((nframes ? nframes : 1) * sizeof *a);
	int leaf_pc = (st->flags & LDP_STACK_LEAF_PC) != 0;
	unsigned k = 0;
	struct tm_ips ips = tm_ips(st);
	for (unsigned i = 0; i < st->depth && k < nframes; i++) {
		const struct sym_frame *fr;
		unsigned n = sym_resolve(sp, tm_ips_next(&ips), !(leaf_pc && i == 0), st->nmods, &fr);
		for (unsigned j = 0; j < n && k < nframes; j++)
			a[k++] = i;
	}
	while (k < nframes)
		a[k++] = WS_NO_ADDR; /* the [truncated] root */
	return a;
}

int ws_build_opts(struct wstack_set *ws, enum ws_what what, struct symbolizer *sym, const struct loaded *t,
		  const struct ws_opts *o, const char **why)
{
	static const struct ws_opts pictures;
	if (!o)
		o = &pictures;
	ws_init(ws, what);
	const struct tmodel *m = &t->m;
	int kind = what == WS_CPU ? PROF_CPU : what == WS_WALL ? PROF_WALL : -1;
	if (kind >= 0) {
		uint64_t samples = 0;
		for (size_t s = 0; s < m->nsegs; s++)
			samples += m->segs[s].prof.k[kind].samples;
		if (!samples) {
			*why = kind == PROF_CPU ? "this trace has no CPU samples (record with --cpu)"
						: "this trace has no wall-clock samples (record with --wall HZ)";
			return -1;
		}
	}
	size_t peak_seg = ws_peak_segment(m);
	ws->m = m;
	ws->peak_seg = peak_seg;
	int several = m->nsegs > 1 && !o->no_roots;
	if (several) {
		/* One root frame per process image: "pid 1234 prog". */
		ws->synth = xcalloc(m->nsegs, sizeof *ws->synth);
		ws->nsynth = m->nsegs;
		for (size_t s = 0; s < m->nsegs; s++) {
			char buf[512];
			const char *exe = m->segs[s].info.exe, *base = strrchr(exe, '/');
			snprintf(buf, sizeof buf, "[pid %llu %s]", (unsigned long long)m->segs[s].info.pid,
				 base ? base + 1 : exe);
			ws->synth[s].function = sym_intern(sym, buf);
			ws->synth[s].module = sym_intern(sym, "[process]");
		}
	}
	struct flat fl = {0};
	const struct sym_frame **rev = NULL;
	unsigned rev_cap = 0;
	for (size_t s = 0; s < m->nsegs; s++) {
		if (o->peak_only && s != peak_seg)
			continue;
		const struct tm_segment *seg = &m->segs[s];
		const struct heap_model *h = &seg->heap;
		const struct prof_kind *pk = kind >= 0 ? &seg->prof.k[kind] : NULL;
		size_t nids = pk ? pk->nstacks : h->nsites;
		for (size_t id = 0; id < nids && id < seg->nstacks; id++) {
			uint64_t w, c;
			if (pk) {
				/* samples: time each stands for, and the whole stack (no allocator to skip) */
				w = pk->stacks[id].weight_ns;
				c = pk->stacks[id].samples;
			} else {
				site_weight(what, seg, s == peak_seg, &h->sites[id], &w, &c);
			}
			if (!w && !(o->counted && c))
				continue;
			flat_stack(&fl, t->spaces[s], &seg->stacks[id], 1);
			if (pk && flat_agent_work(&fl))
				continue; /* ldprof's own work, not the program's */
			if (pk)
				fl.site = 0;
			unsigned from = o->whole ? 0 : fl.site;
			unsigned n = fl.n ? fl.n - from : 0;
			if (n + 2 > rev_cap) {
				rev_cap = n + 2;
				rev = xrealloc(rev, rev_cap * sizeof *rev);
			}
			unsigned k = 0;
			if (several)
				rev[k++] = &ws->synth[s];
			for (unsigned i = fl.n; i-- > from && fl.n;)
				rev[k++] = fl.f[i];
			ws_add(ws, rev, k, w, c);
			struct wstack *x = &ws->v[ws->n - 1];
			x->seg = (uint32_t)s;
			x->stack = (uint32_t)id;
			x->st = &seg->stacks[id];
			x->heap = pk ? NULL : &h->sites[id];
			x->site = o->whole ? fl.site : 0;
			if (o->addrs) {
				/* root first, as the frames: the innermost frame's address is the last */
				uint32_t *a = frame_addrs(t->spaces[s], x->st, fl.n);
				x->addr = xmalloc((k ? k : 1) * sizeof *x->addr);
				unsigned j = 0;
				if (several)
					x->addr[j++] = WS_NO_ADDR;
				for (unsigned i = fl.n; i-- > from && fl.n;)
					x->addr[j++] = a[i];
				free(a);
			}
		}
	}
	free(rev);
	flat_free(&fl);
	return 0;
}

void ws_from_snapshot(struct wstack_set *ws, const struct loaded *t, const struct tm_snapshot *snap,
		      const struct group_opts *o)
{
	ws_init(ws, WS_INUSE);
	ws->title = "live bytes";
	if (snap->seg >= t->m.nsegs)
		return;
	const struct tm_segment *seg = &t->m.segs[snap->seg];
	struct flat fl = {0};
	const struct sym_frame **rev = NULL;
	unsigned rev_cap = 0;
	for (size_t i = 0; i < snap->nsites; i++) {
		const struct tm_snap_site *x = &snap->sites[i];
		if (!x->bytes || x->stack >= seg->nstacks)
			continue;
		flat_stack(&fl, t->spaces[snap->seg], &seg->stacks[x->stack], 1);
		if (o && !flat_passes(&fl, o))
			continue;
		unsigned n = fl.n ? fl.n - fl.site : 0;
		if (n + 1 > rev_cap) {
			rev_cap = n + 1;
			rev = xrealloc(rev, rev_cap * sizeof *rev);
		}
		unsigned k = 0;
		for (unsigned j = fl.n; j-- > fl.site && fl.n;)
			rev[k++] = fl.f[j];
		ws_add(ws, rev, k, x->bytes, x->count);
	}
	free(rev);
	flat_free(&fl);
}
