/*
 * group.c - see group.h.
 */
#define _GNU_SOURCE
#include "group.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/demangle.h"
#include "symbols/entrypoints.h"
#include "util/util.h"

const char *group_by_name(enum group_by by)
{
	static const char *names[] = {"traceback", "function", "line", "file", "module"};
	return names[by];
}

int group_by_parse(const char *s, enum group_by *by)
{
	/* tracemalloc's names too: lineno, filename */
	static const struct {
		const char *name;
		enum group_by by;
	} t[] = {{"traceback", BY_TRACEBACK}, {"function", BY_FUNCTION}, {"line", BY_LINE},  {"lineno", BY_LINE},
		 {"file", BY_FILE},           {"filename", BY_FILE},     {"module", BY_MODULE}};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if (!strcmp(s, t[i].name)) {
			*by = t[i].by;
			return 0;
		}
	return -1;
}

void grouping_init(struct grouping *g)
{
	memset(g, 0, sizeof *g);
	u64map_init(&g->index, 256);
}

void grouping_free(struct grouping *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->groups[i].frames);
	free(g->groups);
	u64map_free(&g->index);
	memset(g, 0, sizeof *g);
}

/*
 * Site frames. Going out from the allocation, a stack's frames are:
 *
 *   the allocator      what the agent interposes to allocate (the table in
 *                      include/ldprof/entrypoints.h: the malloc family, operator
 *                      new, the allocator APIs), and the strdup family
 *   its plumbing       what only passes the request on: the C++ standard library
 *                      (std::, __gnu_cxx::: allocator_traits, vector::_M_realloc_insert,
 *                      _Rb_tree::_M_create_node...), Rust's alloc::, and what
 *                      --site-skip names
 *   the site           the first frame past both: the program's own code
 *
 * All of those rules live here (docs/DEFINITIONS.md). A stack that is
 * allocator and plumbing to its end has its site at its first frame that
 * is not the allocator (libstdc++ allocating for itself at start-up).
 */
enum role { ROLE_SITE = 1, ROLE_ALLOCATOR, ROLE_PLUMBING };

static const char *const strdup_names[] = {"strdup", "__strdup", "strndup", "__strndup", "wcsdup", "__wcsdup"};

static const char *const default_plumbing[] = {"std::*", "__gnu_cxx::*", "alloc::*", "__rust_alloc*", "__rdl_alloc*",
					      "__rg_alloc*"};

/* Set once by the command line (site_rules_set) before any stack is read. */
static const char *const *plumbing = default_plumbing;
static size_t nplumbing = sizeof default_plumbing / sizeof *default_plumbing;
static const char **plumbing_own;

void site_rules_set(const char *const *globs, size_t n, int no_defaults)
{
	size_t nd = no_defaults ? 0 : sizeof default_plumbing / sizeof *default_plumbing;
	free(plumbing_own);
	plumbing_own = xmalloc((nd + n + 1) * sizeof *plumbing_own);
	for (size_t i = 0; i < nd; i++)
		plumbing_own[i] = default_plumbing[i];
	for (size_t i = 0; i < n; i++)
		plumbing_own[nd + i] = globs[i];
	plumbing = plumbing_own;
	nplumbing = nd + n;
}

static enum role role_of_name(const char *fn, int resolved)
{
	if (!fn || !resolved)
		return ROLE_SITE; /* module+0x1234: nothing known about it */
	if (!strncmp(fn, "operator new", 12) || ep_is_allocation(fn))
		return ROLE_ALLOCATOR;
	for (size_t i = 0; i < sizeof strdup_names / sizeof *strdup_names; i++)
		if (!strcmp(fn, strdup_names[i]))
			return ROLE_ALLOCATOR;
	size_t at, len = demangle_qualified(fn, &at);
	char q[1024];
	snprintf(q, sizeof q, "%.*s", (int)(len < sizeof q ? len : sizeof q - 1), fn + at);
	for (size_t i = 0; i < nplumbing; i++)
		if (!fnmatch(plumbing[i], q, 0) || !fnmatch(plumbing[i], fn, 0))
			return ROLE_PLUMBING;
	return ROLE_SITE;
}

/* Each function name (interned: one pointer per name) is judged once per flat. */
static enum role role_of(struct flat *fl, const struct sym_frame *f)
{
	if (!f->function)
		return ROLE_SITE;
	if (!fl->roles.cap)
		u64map_init(&fl->roles, 256);
	uint64_t key = (uint64_t)(uintptr_t)f->function;
	uint64_t *r = u64map_get(&fl->roles, key);
	if (r)
		return (enum role)*r;
	enum role x = role_of_name(f->function, f->resolved);
	u64map_put(&fl->roles, key, x);
	return x;
}

/* The agent's entry points (the same table, and its sampled-mode thread
 * start): time in them (not below them in the agent) is the program's own
 * call, on its way to the real function. */
static int is_agent_entry(const char *fn)
{
	return ep_is_interposed(fn) || !strcmp(fn, "start_sampled");
}

int flat_agent_work(const struct flat *fl)
{
	for (unsigned i = 0; i < fl->n; i++) {
		const struct sym_frame *f = fl->f[i];
		if (f->module && !strcmp(f->module, "libldprof.so"))
			return !f->function || !is_agent_entry(f->function);
	}
	return 0;
}

void flat_stack(struct flat *fl, struct sym_space *sp, const struct tm_stack *st, int whole)
{
	fl->n = 0;
	fl->site = 0;
	/* A sample's stack starts at the interrupted instruction and its site is
	 * that instruction; an allocation's starts at a return address and its
	 * site is past the allocator and its plumbing. */
	int leaf_pc = (st->flags & LDP_STACK_LEAF_PC) != 0;
	int found = leaf_pc;
	long first_past_allocator = -1;
	struct tm_ips ips = tm_ips(st);
	for (unsigned i = 0; i < st->depth; i++) {
		const struct sym_frame *fr;
		unsigned k = sym_resolve(sp, tm_ips_next(&ips), !(leaf_pc && i == 0), st->nmods, &fr);
		for (unsigned j = 0; j < k; j++) {
			if (fl->n == fl->cap) {
				fl->cap = fl->cap ? fl->cap * 2 : 64;
				fl->f = xrealloc(fl->f, fl->cap * sizeof *fl->f);
			}
			fl->f[fl->n++] = &fr[j];
			if (found)
				continue;
			enum role r = role_of(fl, &fr[j]);
			if (r != ROLE_ALLOCATOR && first_past_allocator < 0)
				first_past_allocator = fl->n - 1;
			if (r == ROLE_SITE) {
				found = 1;
				fl->site = fl->n - 1;
			}
		}
		if (found && !whole)
			return;
	}
	if (!found) /* allocator and plumbing to the end (or nothing) */
		fl->site = first_past_allocator >= 0 ? (unsigned)first_past_allocator : 0;
	/* A stack that lost its outer frames says so at its root. */
	if ((st->flags & LDP_STACK_TRUNCATED) && fl->n && (whole || !found)) {
		if (fl->n == fl->cap) {
			fl->cap = fl->cap * 2;
			fl->f = xrealloc(fl->f, fl->cap * sizeof *fl->f);
		}
		fl->f[fl->n++] = sym_truncated_frame(sp);
	}
}

static int match_frame(const struct sym_frame *f, const char *glob)
{
	return (f->function && !fnmatch(glob, f->function, 0)) || (f->file && !fnmatch(glob, f->file, 0)) ||
	       (f->file && !fnmatch(glob, f->file, FNM_PATHNAME | FNM_LEADING_DIR)) ||
	       (f->module && !fnmatch(glob, f->module, 0));
}

static int match_any(const struct flat *fl, const char *glob, int all_frames)
{
	if (!fl->n)
		return 0;
	if (!all_frames)
		return match_frame(fl->f[fl->site], glob);
	for (unsigned i = fl->site; i < fl->n; i++)
		if (match_frame(fl->f[i], glob))
			return 1;
	return 0;
}

int flat_passes(const struct flat *fl, const struct group_opts *o)
{
	for (size_t i = 0; i < o->nexclude; i++)
		if (match_any(fl, o->exclude[i], o->all_frames))
			return 0;
	if (!o->ninclude)
		return 1;
	for (size_t i = 0; i < o->ninclude; i++)
		if (match_any(fl, o->include[i], o->all_frames))
			return 1;
	return 0;
}

const char *flat_key(struct symbolizer *sym, const struct flat *fl, enum group_by by, unsigned frame)
{
	char buf[8192];
	if (!fl->n)
		return sym_intern(sym, "(no stack)");
	const struct sym_frame *f = fl->f[frame];
	switch (by) {
	case BY_FUNCTION:
		return f->function;
	case BY_LINE:
		if (!f->file)
			return f->function;
		snprintf(buf, sizeof buf, "%s:%u", f->file, f->line);
		return sym_intern(sym, buf);
	case BY_FILE:
		if (f->file)
			return f->file;
		snprintf(buf, sizeof buf, "[%s]", f->module);
		return sym_intern(sym, buf);
	case BY_MODULE:
		return f->module;
	case BY_TRACEBACK:
		break;
	}
	struct strbuf b = {0};
	for (unsigned i = frame; i < fl->n; i++) {
		const struct sym_frame *x = fl->f[i];
		sb_printf(&b, "%s%s", i > frame ? " < " : "", x->function);
		if (x->file)
			sb_printf(&b, " (%s:%u)", x->file, x->line);
	}
	const char *k = sym_intern(sym, b.s ? b.s : "");
	sb_free(&b);
	return k;
}

struct group *grouping_get(struct grouping *g, const char *key, const struct sym_frame *where)
{
	uint64_t *slot = u64map_get(&g->index, (uint64_t)(uintptr_t)key);
	if (slot)
		return &g->groups[*slot];
	vec_reserve((void **)&g->groups, &g->cap, g->n + 1, sizeof *g->groups);
	struct group *gr = &g->groups[g->n];
	memset(gr, 0, sizeof *gr);
	gr->key = key;
	if (where) {
		gr->function = where->function;
		gr->file = where->file;
		gr->line = where->line;
		gr->module = where->module;
	}
	u64map_put(&g->index, (uint64_t)(uintptr_t)key, g->n);
	return &g->groups[g->n++];
}

static struct group *group_for(struct grouping *g, const char *key, const struct flat *fl, enum group_by by,
			       unsigned frame)
{
	struct group *gr = grouping_get(g, key, fl->n ? fl->f[frame] : NULL);
	if (by == BY_TRACEBACK && fl->n && !gr->frames) {
		gr->nframes = fl->n - frame;
		gr->frames = xmalloc(gr->nframes * sizeof *gr->frames);
		memcpy(gr->frames, fl->f + frame, gr->nframes * sizeof *gr->frames);
	}
	return gr;
}

size_t flat_sample_keys(struct symbolizer *sym, const struct flat *fl, enum group_by by, struct flat_key_at **keys,
			size_t *cap)
{
	size_t n = 0;
	unsigned last = by == BY_TRACEBACK || !fl->n ? 0 : fl->n - 1;
	for (unsigned f = 0; f <= last; f++) {
		const char *key = flat_key(sym, fl, by, f);
		int dup = 0;
		for (size_t j = 0; j < n && !dup; j++)
			dup = (*keys)[j].key == key;
		if (!dup)
			VEC_PUSH(*keys, n, *cap, ((struct flat_key_at){key, f}));
	}
	return n;
}

/* Samples: self goes to the key of the innermost frame, total to every
 * distinct key on the stack (once, also under recursion). */
static void add_samples(struct grouping *g, struct symbolizer *sym, const struct loaded *t, size_t s,
			const struct group_opts *o, struct flat *fl)
{
	const struct tm_segment *seg = &t->m.segs[s];
	struct flat_key_at *seen = NULL;
	size_t nseen = 0, seen_cap = 0;
	for (int k = 0; k < PROF_KINDS; k++) {
		const struct prof_kind *pk = &seg->prof.k[k];
		for (size_t id = 0; id < pk->nstacks && id < seg->nstacks; id++) {
			const struct prof_stack *ps = &pk->stacks[id];
			if (!ps->samples)
				continue;
			flat_stack(fl, t->spaces[s], &seg->stacks[id], 1);
			if (flat_agent_work(fl)) {
				g->agent_samples[k] += ps->samples;
				g->agent_ns[k] += ps->weight_ns;
				continue;
			}
			if (!flat_passes(fl, o)) {
				g->filtered_samples[k] += ps->samples;
				continue;
			}
			nseen = flat_sample_keys(sym, fl, o->by, &seen, &seen_cap);
			for (size_t j = 0; j < nseen; j++) {
				struct group *gr = group_for(g, seen[j].key, fl, o->by, seen[j].frame);
				gr->total[k] += ps->samples;
				gr->total_ns[k] += ps->weight_ns;
				if (j == 0) {
					gr->self[k] += ps->samples;
					gr->self_ns[k] += ps->weight_ns;
				}
			}
		}
	}
	free(seen);
}

void grouping_add(struct grouping *g, struct symbolizer *sym, const struct loaded *t, const struct group_opts *o)
{
	/* A group's "peak" is what it had live at its process's highest peak: the
	 * peak of the segment (image) with the largest one. */
	size_t peak_seg = 0;
	for (size_t s = 0; s < t->m.nsegs; s++)
		if (t->m.segs[s].heap.t.peak_bytes > t->m.segs[peak_seg].heap.t.peak_bytes)
			peak_seg = s;
	/* Tracebacks and all-frames filters need every frame; other keys stop at the site. */
	int whole = o->by == BY_TRACEBACK || o->all_frames;
	struct flat fl = {0};
	for (size_t s = 0; s < t->m.nsegs; s++) {
		const struct tm_segment *seg = &t->m.segs[s];
		const struct heap_model *h = &seg->heap;
		for (size_t id = 0; id < h->nsites && id < seg->nstacks; id++) {
			const struct heap_site *site = &h->sites[id];
			if (!site->allocations)
				continue;
			flat_stack(&fl, t->spaces[s], &seg->stacks[id], whole);
			if (!flat_passes(&fl, o)) {
				g->filtered_out += site->allocations;
				continue;
			}
			struct group *gr = group_for(g, flat_key(sym, &fl, o->by, fl.site), &fl, o->by, fl.site);
			if (!gr->allocations || site->min_size < gr->min_size)
				gr->min_size = site->min_size;
			gr->allocations += site->allocations;
			gr->allocated_bytes += site->allocated_bytes;
			gr->frees += site->frees;
			gr->temporary += site->temporary;
			if (site->max_size > gr->max_size)
				gr->max_size = site->max_size;
			if (tm_segment_leaks(seg)) {
				gr->leaked_bytes += site->live_bytes;
				gr->leaked_count += site->live_count;
			}
			if (s == peak_seg) {
				gr->peak_bytes += site->peak_bytes;
				gr->peak_count += site->peak_count;
			}
		}
	}
	for (size_t s = 0; s < t->m.nsegs; s++) {
		add_samples(g, sym, t, s, o, &fl);
		const struct tm_segment *seg = &t->m.segs[s];
		const struct mapped_model *mm = &seg->mapped;
		for (size_t id = 0; id < mm->nsites && id < seg->nstacks; id++) {
			const struct map_site *ms = &mm->sites[id];
			if (!ms->maps)
				continue;
			flat_stack(&fl, t->spaces[s], &seg->stacks[id], whole);
			if (!flat_passes(&fl, o))
				continue;
			struct group *gr = group_for(g, flat_key(sym, &fl, o->by, fl.site), &fl, o->by, fl.site);
			gr->maps += ms->maps;
			gr->mapped_bytes += ms->mapped_bytes;
			gr->mapped_live_bytes += ms->live_bytes;
			gr->mapped_peak_bytes += ms->peak_bytes;
		}
	}
	flat_free(&fl);
}

void flat_free(struct flat *fl)
{
	free(fl->f);
	fl->f = NULL;
	fl->n = fl->cap = 0;
	if (fl->roles.cap)
		u64map_free(&fl->roles);
	memset(&fl->roles, 0, sizeof fl->roles);
}

int group_sort_parse(const char *s, enum group_sort *out)
{
	static const char *names[] = {"bytes", "count", "leaked", "peak", "temporary"};
	for (int i = 0; i < 5; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum group_sort)i;
			return 0;
		}
	return -1;
}

static enum group_sort sort_by;

static uint64_t sort_value(const struct group *g)
{
	switch (sort_by) {
	case SORT_COUNT: return g->allocations;
	case SORT_LEAKED: return g->leaked_bytes;
	case SORT_PEAK: return g->peak_bytes;
	case SORT_TEMPORARY: return g->temporary;
	default: return g->allocated_bytes;
	}
}

static int cmp_groups(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a, *y = *(const struct group *const *)b;
	uint64_t vx = sort_value(x), vy = sort_value(y);
	if (vx != vy)
		return vx < vy ? 1 : -1;
	if (x->allocated_bytes != y->allocated_bytes)
		return x->allocated_bytes < y->allocated_bytes ? 1 : -1;
	return strcmp(x->key, y->key); /* stable, deterministic output */
}

const struct group **grouping_sorted(const struct grouping *g, enum group_sort by)
{
	const struct group **v = xmalloc((g->n ? g->n : 1) * sizeof *v);
	for (size_t i = 0; i < g->n; i++)
		v[i] = &g->groups[i];
	sort_by = by;
	qsort(v, g->n, sizeof *v, cmp_groups);
	return v;
}
