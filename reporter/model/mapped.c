/*
 * mapped.c - see mapped.h.
 */
#include "mapped.h"

#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

static void mapped_apply(struct mapped_model *m, const struct rd_event *e);

void mapped_init(struct mapped_model *m, unsigned seq_shift)
{
	memset(m, 0, sizeof *m);
	m->seq_shift = seq_shift;
	series_init(&m->series);
	series_init(&m->rss_series);
}

void mapped_free(struct mapped_model *m)
{
	free(m->r);
	free(m->sites);
	free(m->files);
	for (size_t i = 0; i < m->npaths; i++)
		free(m->paths[i]);
	free(m->paths);
	series_free(&m->series);
	series_free(&m->rss_series);
	memset(m, 0, sizeof *m);
}

/* Entry `id` of a table of figures (per stack, per file), grown as needed,
 * its peak share brought up to date. */
static struct map_site *entry(struct map_site **v, size_t *n, size_t *cap, uint64_t peak_gen, uint32_t id)
{
	if (id >= *n) {
		vec_reserve((void **)v, cap, (size_t)id + 1, sizeof **v);
		memset(*v + *n, 0, ((size_t)id + 1 - *n) * sizeof **v);
		*n = (size_t)id + 1;
	}
	struct map_site *s = &(*v)[id];
	if (s->peak_gen != peak_gen) { /* lazy peak share, as in heap.c */
		s->peak_bytes = s->live_bytes;
		s->peak_gen = peak_gen;
	}
	return s;
}

static struct map_site *site(struct mapped_model *m, uint32_t stack)
{
	return entry(&m->sites, &m->nsites, &m->sites_cap, m->peak_gen, stack);
}

static map_file *file(struct mapped_model *m, uint32_t path)
{
	return entry(&m->files, &m->nfiles, &m->files_cap, m->peak_gen, path);
}

/* First range whose hi is above addr. */
static size_t first_above(const struct mapped_model *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->r[mid].hi <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void account(struct mapped_model *m, const struct map_range *r, int64_t sign)
{
	uint64_t len = r->hi - r->lo;
	struct map_site *s = site(m, r->stack);
	map_file *f = r->path ? file(m, r->path) : NULL;
	if (sign > 0) {
		m->live_bytes += len;
		s->live_bytes += len;
		if (f) {
			m->live_file_bytes += len;
			f->live_bytes += len;
		}
	} else {
		m->live_bytes -= len;
		s->live_bytes -= len;
		if (f) {
			m->live_file_bytes -= len;
			f->live_bytes -= len;
		}
	}
}

/* Remove [lo, hi) from every live range (splitting where needed). */
static void cut(struct mapped_model *m, uint64_t lo, uint64_t hi)
{
	size_t i = first_above(m, lo);
	while (i < m->n && m->r[i].lo < hi) {
		struct map_range *r = &m->r[i];
		struct map_range before = *r, after = *r;
		account(m, r, -1);
		before.hi = lo < r->lo ? r->lo : lo;
		after.lo = hi > r->hi ? r->hi : hi;
		int keep_before = before.hi > before.lo, keep_after = after.hi > after.lo;
		if (keep_before && keep_after) {
			vec_reserve((void **)&m->r, &m->cap, m->n + 1, sizeof *m->r);
			memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof *m->r);
			m->n++;
			m->r[i] = before;
			m->r[i + 1] = after;
			account(m, &m->r[i], 1);
			account(m, &m->r[i + 1], 1);
			return;
		}
		if (keep_before || keep_after) {
			*r = keep_before ? before : after;
			account(m, r, 1);
			i++;
		} else {
			memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof *m->r);
			m->n--;
		}
	}
}

static void insert(struct mapped_model *m, struct map_range nr, uint64_t time_us)
{
	cut(m, nr.lo, nr.hi); /* MAP_FIXED over live mappings replaces them */
	size_t i = first_above(m, nr.lo);
	vec_reserve((void **)&m->r, &m->cap, m->n + 1, sizeof *m->r);
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof *m->r);
	m->r[i] = nr;
	m->n++;
	account(m, &m->r[i], 1);
	if (m->live_bytes > m->peak_bytes) {
		m->peak_bytes = m->live_bytes;
		m->peak_time_us = time_us;
		m->peak_gen++;
	}
}

void mapped_event(struct mapped_model *m, const struct rd_event *e)
{
	uint64_t before = m->live_bytes;
	mapped_apply(m, e);
	series_note(&m->series, e->seq >> m->seq_shift, before, m->live_bytes);
}

static void mapped_apply(struct mapped_model *m, const struct rd_event *e)
{
	uint64_t page = 4096, us = e->seq >> m->seq_shift;
	uint64_t len = (e->size + page - 1) & ~(page - 1); /* the kernel maps whole pages */
	switch (e->kind) {
	case RD_EV_MMAP: {
		struct map_range r = {e->ptr, e->ptr + len, e->stack, e->path, e->prot, e->flags};
		m->maps++;
		m->mapped_bytes += len;
		struct map_site *s = site(m, e->stack);
		s->maps++;
		s->mapped_bytes += len;
		if (e->path) {
			map_file *f = file(m, e->path);
			f->maps++;
			f->mapped_bytes += len;
		}
		insert(m, r, us);
		break;
	}
	case RD_EV_MUNMAP:
		m->unmaps++;
		cut(m, e->ptr, e->ptr + len);
		break;
	case RD_EV_MREMAP: {
		/* The bytes that were there keep the attributes (and the stack) of
		 * the range they were in; what the range grew by is the remap's. */
		uint64_t old_len = (e->old_size + page - 1) & ~(page - 1);
		size_t i = first_above(m, e->old_ptr);
		struct map_range kept = {e->ptr, e->ptr + (len < old_len ? len : old_len), e->stack, 0, 0, 0};
		if (i < m->n && m->r[i].lo <= e->old_ptr) {
			kept.stack = m->r[i].stack;
			kept.path = m->r[i].path;
			kept.prot = m->r[i].prot;
			kept.flags = m->r[i].flags;
		}
		m->remaps++;
		cut(m, e->old_ptr, e->old_ptr + old_len);
		if (kept.hi > kept.lo)
			insert(m, kept, us);
		if (len > old_len) {
			struct map_range added = kept;
			added.lo = e->ptr + old_len;
			added.hi = e->ptr + len;
			added.stack = e->stack;
			m->mapped_bytes += len - old_len;
			struct map_site *s = site(m, e->stack);
			s->maps++;
			s->mapped_bytes += len - old_len;
			if (added.path) /* grown, not a new mmap: bytes, no call */
				file(m, added.path)->mapped_bytes += len - old_len;
			insert(m, added, us);
		}
		break;
	}
	default:
		break;
	}
}

void mapped_path(struct mapped_model *m, uint32_t id, const char *path)
{
	if (id >= 1u << 20)
		return;
	if (id >= m->npaths) {
		m->paths = xrealloc(m->paths, ((size_t)id + 1) * sizeof *m->paths);
		memset(m->paths + m->npaths, 0, ((size_t)id + 1 - m->npaths) * sizeof *m->paths);
		m->npaths = (size_t)id + 1;
	}
	free(m->paths[id]);
	m->paths[id] = xstrdup(path);
}

void mapped_rss(struct mapped_model *m, uint64_t time_us, uint64_t bytes, uint64_t heap_live)
{
	series_note(&m->rss_series, time_us, m->rss_last, bytes);
	m->rss_samples++;
	m->rss_last = bytes;
	if (bytes > m->rss_peak) {
		m->rss_peak = bytes;
		m->rss_peak_time_us = time_us;
		m->heap_at_rss_peak = heap_live;
		m->mapped_at_rss_peak = m->live_bytes;
	}
}

void mapped_finish(struct mapped_model *m)
{
	for (size_t i = 0; i < m->nsites; i++)
		site(m, (uint32_t)i);
	for (size_t i = 0; i < m->nfiles; i++)
		file(m, (uint32_t)i);
	m->live_at_end = m->live_bytes;
}
