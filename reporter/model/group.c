/*
 * group.c - see group.h.
 */
#define _GNU_SOURCE
#include "group.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Frames that are the allocator from the program's point of view: C++'s
 * operator new, the strdup family, and the malloc family's own names when
 * they show up as frames (ld.so's inline calloc wrapper, for one). */
static int is_allocator(const char *fn)
{
	static const char *const names[] = {"strdup",    "__strdup",     "strndup",       "__strndup", "wcsdup",
					    "__wcsdup",  "malloc",       "calloc",        "realloc",   "reallocarray",
					    "memalign",  "aligned_alloc", "posix_memalign", "valloc",   "pvalloc"};
	if (!fn)
		return 0;
	if (!strncmp(fn, "operator new", 12))
		return 1;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(fn, names[i]))
			return 1;
	return 0;
}

/* The agent's entry points: time in them (not below them in the agent) is the
 * program's own call, on its way to the real function. */
static int is_agent_entry(const char *fn)
{
	static const char *const names[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
		"valloc", "pvalloc", "malloc_usable_size", "mmap", "mmap64", "munmap", "mremap", "pthread_create",
		"start_sampled", "sigaction", "signal", "_exit", "_Exit", "quick_exit", "abort", "execve", "execv",
		"execvp", "execvpe", "execl", "execlp", "execle", "fexecve", "execveat", "pipe2"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(fn, names[i]))
			return 1;
	return 0;
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
	 * site is past the allocator. */
	int leaf_pc = (st->flags & LDP_STACK_LEAF_PC) != 0;
	int past_allocator = leaf_pc;
	for (unsigned i = 0; i < st->depth; i++) {
		const struct sym_frame *fr;
		unsigned k = sym_resolve(sp, st->ips[i], !(leaf_pc && i == 0), &fr);
		for (unsigned j = 0; j < k; j++) {
			if (fl->n == fl->cap) {
				fl->cap = fl->cap ? fl->cap * 2 : 64;
				fl->f = xrealloc(fl->f, fl->cap * sizeof *fl->f);
			}
			fl->f[fl->n++] = &fr[j];
			if (!past_allocator && !is_allocator(fr[j].function)) {
				past_allocator = 1;
				fl->site = fl->n - 1;
			}
		}
		if (past_allocator && !whole)
			return;
	}
	if (!past_allocator)
		fl->site = 0; /* all allocator frames (or none): use the innermost */
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

/* Samples: self goes to the key of the innermost frame, total to every
 * distinct key on the stack (once, also under recursion). */
static void add_samples(struct grouping *g, struct symbolizer *sym, const struct loaded *t, size_t s,
			const struct group_opts *o, struct flat *fl)
{
	const struct tm_segment *seg = &t->m.segs[s];
	const char **seen = NULL;
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
			nseen = 0;
			unsigned last = o->by == BY_TRACEBACK || !fl->n ? 0 : fl->n - 1;
			for (unsigned f = 0; f <= last; f++) {
				const char *key = flat_key(sym, fl, o->by, f);
				int dup = 0;
				for (size_t j = 0; j < nseen && !dup; j++)
					dup = seen[j] == key;
				if (dup)
					continue;
				VEC_PUSH(seen, nseen, seen_cap, key);
				struct group *gr = group_for(g, key, fl, o->by, f);
				gr->total[k] += ps->samples;
				gr->total_ns[k] += ps->weight_ns;
				if (f == 0) {
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
