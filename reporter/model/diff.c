/*
 * diff.c - see diff.h.
 */
#include "diff.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void diff_init(struct diff *d)
{
	memset(d, 0, sizeof *d);
	u64map_init(&d->index, 256);
}

void diff_free(struct diff *d)
{
	free(d->rows);
	u64map_free(&d->index);
	memset(d, 0, sizeof *d);
}

struct diff_row *diff_row_get(struct diff *d, const char *key, const struct sym_frame *f)
{
	uint64_t *slot = u64map_get(&d->index, (uint64_t)(uintptr_t)key);
	if (slot)
		return &d->rows[*slot];
	vec_reserve((void **)&d->rows, &d->cap, d->n + 1, sizeof *d->rows);
	struct diff_row *r = &d->rows[d->n];
	memset(r, 0, sizeof *r);
	r->key = key;
	if (f) {
		r->function = f->function;
		r->file = f->file;
		r->line = f->line;
		r->module = f->module;
	}
	u64map_put(&d->index, (uint64_t)(uintptr_t)key, d->n);
	return &d->rows[d->n++];
}

void diff_add(struct diff *d, int side, struct symbolizer *sym, const struct loaded *t, const struct tm_snapshot *s,
	      const struct group_opts *o, int cumulative)
{
	if (!t->m.nsegs)
		return;
	const struct tm_segment *seg = &t->m.segs[s->seg];
	struct sym_space *sp = t->spaces[s->seg];
	struct flat fl = {0};
	int whole = cumulative || o->by == BY_TRACEBACK || o->all_frames;
	const char **seen = NULL;
	size_t nseen = 0, seen_cap = 0;
	for (size_t i = 0; i < s->nsites; i++) {
		const struct tm_snap_site *site = &s->sites[i];
		if (site->stack >= seg->nstacks)
			continue;
		flat_stack(&fl, sp, &seg->stacks[site->stack], whole);
		if (!flat_passes(&fl, o))
			continue;
		d->size[side] += site->bytes;
		d->count[side] += site->count;
		d->mapped[side] += site->mapped;
		unsigned last = cumulative && o->by != BY_TRACEBACK && fl.n ? fl.n - 1 : fl.site;
		nseen = 0;
		for (unsigned k = fl.site; k <= last; k++) {
			const char *key = flat_key(sym, &fl, o->by, k);
			/* Once per key per stack, also under recursion. */
			int dup = 0;
			for (size_t j = 0; j < nseen && !dup; j++)
				dup = seen[j] == key;
			if (dup)
				continue;
			VEC_PUSH(seen, nseen, seen_cap, key);
			struct diff_row *r = diff_row_get(d, key, fl.n ? fl.f[k] : NULL);
			r->size[side] += site->bytes;
			r->count[side] += site->count;
			r->mapped[side] += site->mapped;
		}
	}
	free(seen);
	flat_free(&fl);
}

static int64_t delta(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

static uint64_t mag(int64_t v)
{
	return v < 0 ? (uint64_t)-v : (uint64_t)v;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct diff_row *a = *(const struct diff_row *const *)pa, *b = *(const struct diff_row *const *)pb;
	/* heap and mapped together: what grew the process's memory */
	uint64_t sa = mag(delta(a->size[0] + a->mapped[0], a->size[1] + a->mapped[1]));
	uint64_t sb = mag(delta(b->size[0] + b->mapped[0], b->size[1] + b->mapped[1]));
	if (sa != sb)
		return sa < sb ? 1 : -1;
	uint64_t ca = mag(delta(a->count[0], a->count[1])), cb = mag(delta(b->count[0], b->count[1]));
	if (ca != cb)
		return ca < cb ? 1 : -1;
	if (a->size[1] != b->size[1])
		return a->size[1] < b->size[1] ? 1 : -1;
	return strcmp(a->key, b->key);
}

const struct diff_row **diff_sorted(const struct diff *d)
{
	const struct diff_row **v = xmalloc((d->n ? d->n : 1) * sizeof *v);
	for (size_t i = 0; i < d->n; i++)
		v[i] = &d->rows[i];
	qsort(v, d->n, sizeof *v, cmp_rows);
	return v;
}
