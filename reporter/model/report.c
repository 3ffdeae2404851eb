/*
 * report.c - see report.h.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void report_sum(struct report *r)
{
	memset(&r->total, 0, sizeof r->total);
	memset(r->size_hist, 0, sizeof r->size_hist);
	memset(r->samples, 0, sizeof r->samples);
	r->mapped_peak = r->mapped_live_at_exit = r->mapped_bytes = r->maps = r->remaps = r->unmaps = 0;
	r->rss_peak = r->rss_heap = r->rss_mapped = 0;
	r->mapped_peak_time_ns = r->rss_peak_time_ns = 0;
	memset(r->weight_ns, 0, sizeof r->weight_ns);
	memset(r->lost, 0, sizeof r->lost);
	r->peak_time_ns = 0;
	r->peak_trace = NULL;
	memset(&r->missed, 0, sizeof r->missed);
	fidelity_of(&r->fidelity, r->traces, r->ntraces);
	for (size_t t = 0; t < r->ntraces; t++) {
		const struct tmodel *m = &r->traces[t].m;
		struct missed *x = &r->missed;
		const struct rd_stats *st = &m->stats;
		if (st->damaged && !x->damaged) {
			x->damaged_trace = m->path;
			x->damaged_at = st->damaged_at;
			x->damage_why = st->damage_why;
		}
		x->damaged += st->damaged;
		x->skipped_bytes += st->skipped_bytes;
		x->dropped_events += st->dropped_events;
		if (st->unordered_events && !x->unordered_events)
			x->unordered_why = st->unordered_why;
		x->unordered_events += st->unordered_events;
		for (size_t i = 0; i < m->nsegs; i++) {
			const struct heap_totals *s = &m->segs[i].heap.t;
			r->total.allocations += s->allocations;
			r->total.frees += s->frees;
			r->total.allocated_bytes += s->allocated_bytes;
			r->total.leaked_bytes += s->leaked_bytes;
			r->total.leaked_count += s->leaked_count;
			r->total.live_now_bytes += s->live_now_bytes;
			r->total.live_now_count += s->live_now_count;
			r->total.temporary += s->temporary;
			r->total.unknown_frees += s->unknown_frees;
			r->total.before_attach_frees += s->before_attach_frees;
			r->total.paused_frees += s->paused_frees;
			r->total.pauses += s->pauses;
			r->total.paused_us += s->paused_us;
			r->total.samples += s->samples;
			r->total.allocated_var += s->allocated_var;
			r->total.lost_samples += s->lost_samples;
			r->missed.nested_allocs += s->lost_nested_allocs;
			r->missed.nested_frees += s->lost_nested_frees;
			if (s->sample_bytes)
				r->total.sample_bytes = s->sample_bytes;
			for (int k = 0; k < 65; k++)
				r->size_hist[k] += m->segs[i].heap.size_hist[k];
			const struct mapped_model *mm = &m->segs[i].mapped;
			uint64_t seg_off_ns = m->segs[i].info.start_monotonic_ns - m->segs[0].info.start_monotonic_ns;
			if (mm->peak_bytes > r->mapped_peak) {
				r->mapped_peak = mm->peak_bytes;
				r->mapped_peak_time_ns = seg_off_ns + mm->peak_time_us * 1000;
			}
			r->mapped_live_at_exit = mm->live_at_end; /* the last image's */
			r->mapped_bytes += mm->mapped_bytes;
			r->maps += mm->maps;
			r->remaps += mm->remaps;
			r->unmaps += mm->unmaps;
			if (mm->rss_peak > r->rss_peak) {
				r->rss_peak = mm->rss_peak;
				r->rss_peak_time_ns = seg_off_ns + mm->rss_peak_time_us * 1000;
				r->rss_heap = mm->heap_at_rss_peak;
				r->rss_mapped = mm->mapped_at_rss_peak;
			}
			const struct profile *p = &m->segs[i].prof;
			for (int k = 0; k < 2; k++) {
				r->samples[k] += p->k[k].samples;
				r->weight_ns[k] += p->k[k].weight_ns;
				r->lost[k] += p->k[k].lost;
			}
			if (p->has_setup) {
				r->hz[PROF_CPU] = p->setup.cpu_hz;
				r->hz[PROF_WALL] = p->setup.wall_hz;
			}
			if (s->peak_bytes > r->total.peak_bytes) {
				r->total.peak_bytes = s->peak_bytes;
				r->total.peak_count = s->peak_count;
				r->total.peak_var = s->peak_var;
				r->peak_time_ns = seg_off_ns + s->peak_time_us * 1000;
				r->peak_trace = m->path;
			}
		}
	}
}

void report_group(struct report *r, struct symbolizer *sym)
{
	grouping_init(&r->groups);
	for (size_t i = 0; i < r->ntraces; i++)
		grouping_add(&r->groups, sym, &r->traces[i], &r->gopts);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct mapped_file *)a)->path, ((const struct mapped_file *)b)->path);
}

static int by_mapped_bytes(const void *a, const void *b)
{
	const struct mapped_file *x = a, *y = b;
	if (x->mapped_bytes != y->mapped_bytes)
		return x->mapped_bytes < y->mapped_bytes ? 1 : -1;
	return strcmp(x->path, y->path);
}

size_t report_mapped_files(const struct report *r, struct mapped_file **out)
{
	struct mapped_file *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t t = 0; t < r->ntraces; t++) {
		const struct tmodel *m = &r->traces[t].m;
		for (size_t i = 0; i < m->nsegs; i++) {
			const struct mapped_model *mm = &m->segs[i].mapped;
			for (size_t id = 1; id < mm->nfiles; id++) {
				const map_file *f = &mm->files[id];
				if (!f->maps && !f->mapped_bytes)
					continue;
				vec_reserve((void **)&v, &cap, n + 1, sizeof *v);
				v[n++] = (struct mapped_file){id < mm->npaths && mm->paths[id] ? mm->paths[id] : "?",
							      f->maps, f->mapped_bytes, f->peak_bytes, f->live_bytes};
			}
		}
	}
	/* One row per name (a file mapped by several processes or images). */
	if (n)
		qsort(v, n, sizeof *v, by_path);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && !strcmp(v[k - 1].path, v[i].path)) {
			v[k - 1].maps += v[i].maps;
			v[k - 1].mapped_bytes += v[i].mapped_bytes;
			v[k - 1].peak_bytes += v[i].peak_bytes;
			v[k - 1].live_at_exit_bytes += v[i].live_at_exit_bytes;
		} else
			v[k++] = v[i];
	}
	if (k)
		qsort(v, k, sizeof *v, by_mapped_bytes);
	*out = v;
	return k;
}
