/*
 * report.c - the heap report as text and JSON (see report.h, docs/JSON.md).
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "render/fidelity.h"
#include "render/json.h"
#include "render/units.h"

/* What the groups that passed the filters add up to. */
static struct heap_totals filtered_totals(const struct report *r)
{
	struct heap_totals f = {0};
	for (size_t i = 0; i < r->groups.n; i++) {
		const struct group *g = &r->groups.groups[i];
		f.allocations += g->allocations;
		f.allocated_bytes += g->allocated_bytes;
		f.frees += g->frees;
		f.leaked_bytes += g->leaked_bytes;
		f.leaked_count += g->leaked_count;
		f.peak_bytes += g->peak_bytes;
		f.peak_count += g->peak_count;
		f.temporary += g->temporary;
	}
	return f;
}

/* ---- text ---- */

static void flat_profile(struct strbuf *b, const struct report *r, int k);
static const char *counted(char *buf, size_t cap, const char *before, uint64_t n, const char *noun);

static const char *base_name(const char *path)
{
	if (!path)
		return "?";
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void where(struct strbuf *b, const struct group *g)
{
	if (g->file)
		sb_printf(b, "  %s:%u", base_name(g->file), g->line);
	else if (g->module)
		sb_printf(b, "  [%s]", g->module);
}

/* indent: the label's column, where a traceback's further frames line up */
static void group_label(struct strbuf *b, const struct group *g, enum group_by by, int indent)
{
	char nm[FMT_NAME_MAX];
	if (by == BY_TRACEBACK) {
		for (unsigned i = 0; i < g->nframes; i++) {
			const struct sym_frame *f = g->frames[i];
			if (i)
				sb_printf(b, "\n%*s", indent, "");
			sb_printf(b, "%s%s", fmt_name(nm, sizeof nm, f->function), f->inlined ? " (inlined)" : "");
			if (f->file)
				sb_printf(b, "  %s:%u", base_name(f->file), f->line);
		}
		if (!g->nframes)
			sb_printf(b, "%s", fmt_name(nm, sizeof nm, g->key));
		return;
	}
	sb_printf(b, "%s", by == BY_FILE || by == BY_MODULE ? base_name(g->key) : fmt_name(nm, sizeof nm, g->key));
	if (by == BY_FUNCTION)
		where(b, g);
}

typedef uint64_t (*metric_fn)(const struct group *);
static uint64_t m_peak(const struct group *g) { return g->peak_bytes; }
static uint64_t m_leak(const struct group *g) { return g->leaked_bytes; }
static uint64_t m_temp(const struct group *g) { return g->temporary; }
static uint64_t m_allocs(const struct group *g) { return g->allocations; }
static uint64_t m_bytes(const struct group *g) { return g->allocated_bytes; }
static uint64_t m_map_peak(const struct group *g) { return g->mapped_peak_bytes; }
static uint64_t m_map_live(const struct group *g) { return g->mapped_live_bytes; }

/* "1 block", "2 blocks": a count and its noun, singular or plural. */
static const char *counted(char *buf, size_t cap, const char *before, uint64_t n, const char *noun)
{
	char x[32];
	snprintf(buf, cap, "%s%s %s%s", before, fmt_count(x, n), noun, n == 1 ? "" : "s");
	return buf;
}

/* The second column of each table: what the first figure is made of. */
typedef const char *(*detail_fn)(char *buf, size_t cap, const struct group *g);
static const char *d_peak(char *b, size_t c, const struct group *g) { return counted(b, c, "in ", g->peak_count, "block"); }
static const char *d_leak(char *b, size_t c, const struct group *g) { return counted(b, c, "in ", g->leaked_count, "block"); }
static const char *d_temp(char *b, size_t c, const struct group *g) { return counted(b, c, "of ", g->allocations, "call"); }
static const char *d_calls(char *b, size_t c, const struct group *g) { return counted(b, c, "in ", g->allocations, "call"); }
static const char *d_maps(char *b, size_t c, const struct group *g) { return counted(b, c, "from ", g->maps, "mmap call"); }
static const char *d_bytes(char *b, size_t c, const struct group *g)
{
	char x[32];
	snprintf(b, c, "%s %s", g->allocations == 1 ? "call for" : "calls for", fmt_bytes(x, g->allocated_bytes));
	return b;
}

/* One table: groups sorted by `sort`, rows with a nonzero `first` figure
 * (bytes or a count), then what it is made of. */
static void table(struct strbuf *b, const struct report *r, const char *title, enum group_sort sort,
		  metric_fn first, int first_is_bytes, detail_fn detail)
{
	const struct group **v = grouping_sorted(&r->groups, sort);
	size_t shown = 0, rest = 0;
	uint64_t rest_v = 0;
	for (size_t i = 0; i < r->groups.n; i++) {
		if (!first(v[i]))
			continue;
		if (shown >= r->top) {
			rest++;
			rest_v += first(v[i]);
			continue;
		}
		if (!shown)
			sb_printf(b, "\n%s, by %s\n", title, group_by_name(r->gopts.by));
		char x[32], y[64];
		sb_printf(b, "  %12s  %-19s  ", first_is_bytes ? fmt_bytes(x, first(v[i])) : fmt_count(x, first(v[i])),
			  detail(y, sizeof y, v[i]));
		group_label(b, v[i], r->gopts.by, 2 + 12 + 2 + 19 + 2);
		sb_putc(b, '\n');
		shown++;
	}
	if (rest) {
		char x[32];
		sb_printf(b, "  %12s  ... and %zu more %s\n", first_is_bytes ? fmt_bytes(x, rest_v) : fmt_count(x, rest_v),
			  rest, rest == 1 ? "group" : "groups");
	}
	free(v);
}

/* The files mappings were made of, by name, with the bytes each backed. */
static void mapped_files_text(struct strbuf *b, const struct report *r)
{
	struct mapped_file *f;
	size_t n = report_mapped_files(r, &f);
	if (n)
		sb_printf(b, "\nmapped files (mmap of a file)\n  %12s  %12s  %12s  %-16s  file\n", "mapped", "at the peak",
			  "at exit", "calls");
	size_t shown = n < r->top ? n : r->top;
	for (size_t i = 0; i < shown; i++) {
		char x[32], y[32], z[32], w[64];
		sb_printf(b, "  %12s  %12s  %12s  %-16s  %s\n", fmt_bytes(x, f[i].mapped_bytes), fmt_bytes(y, f[i].peak_bytes),
			  fmt_bytes(z, f[i].live_at_exit_bytes), counted(w, sizeof w, "", f[i].maps, "mmap call"), f[i].path);
	}
	if (n > shown) {
		uint64_t rest = 0;
		char x[32];
		for (size_t i = shown; i < n; i++)
			rest += f[i].mapped_bytes;
		sb_printf(b, "  %12s  ... and %zu more file%s\n", fmt_bytes(x, rest), n - shown, n - shown == 1 ? "" : "s");
	}
	free(f);
}

static void histogram(struct strbuf *b, const struct report *r)
{
	uint64_t max = 0;
	int lo = 65, hi = -1;
	for (int k = 0; k < 65; k++)
		if (r->size_hist[k]) {
			if (r->size_hist[k] > max)
				max = r->size_hist[k];
			if (k < lo)
				lo = k;
			hi = k;
		}
	if (hi < 0)
		return;
	sb_printf(b, "\nallocation sizes\n");
	for (int k = lo; k <= hi; k++) {
		char x[48], y[32];
		/* Bucket k holds sizes of bit length k: [2^(k-1), 2^k - 1]. */
		if (k == 0)
			snprintf(x, sizeof x, "0");
		else if (k == 1)
			snprintf(x, sizeof x, "1");
		else if (k <= 10)
			snprintf(x, sizeof x, "%llu-%llu", 1ull << (k - 1), (1ull << k) - 1);
		else if (k <= 20)
			snprintf(x, sizeof x, "%lluK-%lluK", 1ull << (k - 11), 1ull << (k - 10));
		else if (k <= 30)
			snprintf(x, sizeof x, "%lluM-%lluM", 1ull << (k - 21), 1ull << (k - 20));
		else
			snprintf(x, sizeof x, "%lluG-%lluG", 1ull << (k - 31), 1ull << (k - 30));
		int bar = (int)(40 * r->size_hist[k] / max);
		sb_printf(b, "  %13s B  %12s  ", x, fmt_count(y, r->size_hist[k]));
		for (int i = 0; i < bar; i++)
			sb_putc(b, '#');
		sb_putc(b, '\n');
	}
}

void render_report_text(struct strbuf *b, const struct report *r)
{
	char x[32], y[32];
	const struct heap_totals *t = &r->total;
	for (size_t i = 0; i < r->ntraces; i++) {
		const struct tmodel *m = &r->traces[i].m;
		sb_printf(b, "trace %s\n", m->path);
		for (size_t s = 0; s < m->nsegs; s++) {
			const struct tm_segment *seg = &m->segs[s];
			sb_printf(b, "  pid %llu  %s  (%s)", (unsigned long long)seg->info.pid,
				  *seg->info.cmdline ? seg->info.cmdline : seg->info.exe, seg->end_name);
			if (r->ntraces > 1 || m->nsegs > 1) {
				char z[32];
				sb_printf(b, "  %s allocation%s, peak %s, leaked %s", fmt_count(x, seg->heap.t.allocations),
					  seg->heap.t.allocations == 1 ? "" : "s", fmt_bytes(y, seg->heap.t.peak_bytes),
					  fmt_bytes(z, seg->heap.t.leaked_bytes));
			}
			sb_putc(b, '\n');
			if (seg->info.attached) {
				time_t at = (time_t)(seg->info.start_realtime_ns / 1000000000u);
				struct tm tmv;
				char when[32] = "?";
				if (gmtime_r(&at, &tmv))
					strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tmv);
				sb_printf(b, "  attached to the running process at %s: the figures cover that time onward\n",
					  when);
			}
			if (seg->info.mode == LDP_MODE_OFF)
				sb_printf(b, "  (heap tracing was off in this process)\n");
			else if (*seg->info.allocator)
				sb_printf(b, "  allocator  %s\n", seg->info.allocator);
		}
		if (m->stats.rotated && m->nsegs) {
			/* A rotated trace (--max-size): which parts, which span of time. */
			const struct tm_segment *first = &m->segs[0];
			sb_printf(b, "  rotated trace: part%s %u", m->stats.parts > 1 ? "s" : "", m->stats.first_part);
			if (m->stats.parts > 1)
				sb_printf(b, "..%u read as one run", m->stats.last_part);
			if (m->stats.parts_missing)
				sb_printf(b, " (parts 0..%u were deleted, --keep)", m->stats.parts_missing - 1);
			else if (first->info.continues)
				sb_printf(b, " read alone");
			sb_printf(b, "; covers %.3f s to %.3f s of the process%s\n", (double)first->info.part_start_us / 1e6,
				  (double)m->stats.last_round_us / 1e6,
				  first->info.continues ? ": blocks allocated earlier are not known" : "");
		}
		if (m->stats.truncated && !(m->nsegs && m->segs[m->nsegs - 1].end.running))
			sb_printf(b, "  note: the trace ends inside a frame at byte %llu (process killed?); "
				     "everything before it is used\n",
				  (unsigned long long)m->stats.truncated_at);
	}
	render_missed_text(b, r);
	render_fidelity_text(b, &r->fidelity);
	sb_printf(b, "\nheap\n");
	if (t->sample_bytes) {
		sb_printf(b, "  (sampled: estimates from %s samples, one per %s allocated on average; requested\n"
			     "   bytes within %.1f%% at 95%%; see docs/SAMPLING.md)\n",
			  fmt_count(x, t->samples), fmt_bytes(y, t->sample_bytes),
			  t->allocated_bytes ? 196.0 * sqrt(t->allocated_var) / (double)t->allocated_bytes : 0.0);
		if (t->lost_samples)
			sb_printf(b, "  (%s samples lost: the agent had no room for them; figures are low)\n",
				  fmt_count(x, t->lost_samples));
	}
	sb_printf(b, "  allocations  %14s   %s requested\n", fmt_count(x, t->allocations),
		  fmt_bytes(y, t->allocated_bytes));
	sb_printf(b, "  frees        %14s\n", fmt_count(x, t->frees));
	sb_printf(b, "  peak         %14s   in %s block%s, at %.3f s%s%s\n", fmt_bytes(x, t->peak_bytes),
		  fmt_count(y, t->peak_count), t->peak_count == 1 ? "" : "s", (double)r->peak_time_ns / 1e9,
		  r->ntraces > 1 ? " in " : "",
		  r->ntraces > 1 && r->peak_trace ? r->peak_trace : "");
	if (t->sample_bytes) {
		/* The live estimate at that moment is unbiased, with this margin;
		 * the highest of all the moments' estimates leans high. */
		double m = 1.96 * sqrt(t->peak_var);
		sb_printf(b, "               (the live bytes at that moment within %s (%.1f%%) at 95%%; the highest of the\n"
			     "                estimates over time, it leans high: by up to ~2 standard deviations when the\n"
			     "                heap comes back near its peak many times; docs/SAMPLING.md)\n",
			  fmt_bytes(x, m < 1.8e19 ? (uint64_t)m : UINT64_MAX),
			  t->peak_bytes ? 100.0 * m / (double)t->peak_bytes : 0.0);
	}
	sb_printf(b, "  leaked       %14s   in %s block%s\n", fmt_bytes(x, t->leaked_bytes), fmt_count(y, t->leaked_count),
		  t->leaked_count == 1 ? "" : "s");
	if (t->live_now_count) {
		/* A part read alone ends where the next part goes on: nothing ended there either. */
		int continued = r->ntraces && r->traces[0].m.nsegs &&
				r->traces[0].m.segs[r->traces[0].m.nsegs - 1].end.continued;
		sb_printf(b, "  live now     %14s   in %s block%s (%s: not leaked)\n", fmt_bytes(x, t->live_now_bytes),
			  fmt_count(y, t->live_now_count), t->live_now_count == 1 ? "" : "s",
			  continued ? "the process goes on in the next part" : "the process is still running");
	}
	if (t->sample_bytes)
		sb_printf(b, "  temporary    (not measured in sampled mode)\n");
	else
		sb_printf(b, "  temporary    %14s   (%.1f%% of allocations)\n", fmt_count(x, t->temporary),
			  t->allocations ? 100.0 * (double)t->temporary / (double)t->allocations : 0.0);
	if (t->unknown_frees)
		sb_printf(b, "  (%s frees of blocks allocated before %s)\n", fmt_count(x, t->unknown_frees),
			  r->ntraces && r->traces[0].m.nsegs && r->traces[0].m.segs[0].info.continues ? "the first part read"
												 : "tracing began");
	if (t->before_attach_frees)
		sb_printf(b, "  (%s frees of blocks allocated before attach: not counted in frees, live or peak)\n",
			  fmt_count(x, t->before_attach_frees));
	if (t->pauses)
		sb_printf(b, "  paused %s time%s, %.3f s in all: allocations then were not recorded (%s of their frees seen)\n",
			  fmt_count(x, t->pauses), t->pauses == 1 ? "" : "s", (double)t->paused_us / 1e6,
			  fmt_count(y, t->paused_frees));
	if (r->gopts.ninclude || r->gopts.nexclude) {
		struct heap_totals f = filtered_totals(r);
		char p1[32], p2[32], p3[32];
		sb_printf(b, "  after filters: %s allocations, %s requested, %s at the peak, %s leaked (%s left out)\n",
			  fmt_count(x, f.allocations), fmt_bytes(y, f.allocated_bytes), fmt_bytes(p1, f.peak_bytes),
			  fmt_bytes(p2, f.leaked_bytes), fmt_count(p3, r->groups.filtered_out));
	}
	if (r->maps || r->rss_peak) {
		/* Three peaks at three moments: say which is which, and when. */
		char z[32], w[32];
		sb_printf(b, "\nmemory\n");
		sb_printf(b, "  heap peak    %14s   at %.3f s: live bytes from the malloc family (requested sizes)\n",
			  fmt_bytes(x, t->peak_bytes), (double)r->peak_time_ns / 1e9);
		char at[2][40] = {"", ""};
		if (!r->peak_times_unknown) {
			snprintf(at[0], sizeof at[0], "   at %.3f s", (double)r->mapped_peak_time_ns / 1e9);
			snprintf(at[1], sizeof at[1], "   at %.3f s", (double)r->rss_peak_time_ns / 1e9);
		}
		if (r->maps)
			sb_printf(b, "  mapped peak  %14s%s: live bytes from mmap (%s, %s mapped in all; %s "
				     "still mapped at exit)\n",
				  fmt_bytes(x, r->mapped_peak), at[0], counted(y, sizeof y, "", r->maps, "call"),
				  fmt_bytes(z, r->mapped_bytes), fmt_bytes(w, r->mapped_live_at_exit));
		if (r->rss_peak) {
			sb_printf(b, "  RSS peak     %14s%s: resident memory (read every 50 ms)\n", fmt_bytes(x, r->rss_peak),
				  at[1]);
			sb_printf(b, "               at that moment the heap held %s and mappings %s: %.0f%% of the RSS "
				     "traced\n",
				  fmt_bytes(y, r->rss_heap), fmt_bytes(z, r->rss_mapped),
				  100.0 * (double)(r->rss_heap + r->rss_mapped) / (double)r->rss_peak);
		}
	}

	if (r->total.allocations) {
		table(b, r, "peak consumers (live at the peak)", SORT_PEAK, m_peak, 1, d_peak);
		table(b, r, "leaks at exit", SORT_LEAKED, m_leak, 1, d_leak);
		if (!t->sample_bytes)
			table(b, r, "temporary allocations (freed right after an allocation of their size and stack)",
			      SORT_TEMPORARY, m_temp, 0, d_temp);
		table(b, r, "top allocators by bytes", SORT_BYTES, m_bytes, 1, d_calls);
		table(b, r, "top allocators by count", SORT_COUNT, m_allocs, 0, d_bytes);
		histogram(b, r);
	}
	if (r->maps) {
		table(b, r, "mapped at the peak (mmap)", SORT_BYTES, m_map_peak, 1, d_maps);
		table(b, r, "still mapped at exit (mmap)", SORT_BYTES, m_map_live, 1, d_maps);
		mapped_files_text(b, r);
	}
	for (int k = 0; k < 2; k++)
		flat_profile(b, r, k);
}

/* ---- what was missed ---- */

void render_missed_text(struct strbuf *b, const struct report *r)
{
	const struct missed *x = &r->missed;
	char n1[32], n2[32];
	if (x->damaged) {
		sb_printf(b, "  note: %s is damaged: %s", x->damaged_trace, x->damage_why);
		if (x->damaged > 1)
			sb_printf(b, " (and %s more damaged places)", fmt_count(n1, x->damaged - 1));
		sb_printf(b, "; %s bytes skipped", fmt_count(n1, x->skipped_bytes));
		if (x->dropped_events)
			sb_printf(b, ", and %s events of threads whose state was lost there: leaks and unknown frees may be "
				     "off by up to that many",
				  fmt_count(n2, x->dropped_events));
		sb_printf(b, "; everything else is used\n");
	}
	if (x->unordered_events)
		sb_printf(b, "  note: %s events were merged out of order (%s): frees, leaks and unknown frees may be off "
			     "by about that many\n",
			  fmt_count(n1, x->unordered_events), x->unordered_why ? x->unordered_why : "");
	if (x->nested_allocs || x->nested_frees)
		sb_printf(b, "  note: %s allocations and %s frees made in signal handlers that interrupted ldprof were not "
			     "recorded: up to %s blocks show as leaked that were freed, and up to %s frees as frees of "
			     "unknown blocks\n",
			  fmt_count(n1, x->nested_allocs), fmt_count(n2, x->nested_frees), n2, n1);
}

json_t *render_missed_json(const struct report *r)
{
	const struct missed *x = &r->missed;
	json_t *first = json_null();
	if (x->damaged)
		first = json_pack("{s:o, s:o, s:o}", "trace", json_text(x->damaged_trace), "offset_bytes",
				  json_u64(x->damaged_at), "what", json_text(x->damage_why));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "damaged_region_count", json_u64(x->damaged),
			 "skipped_bytes", json_u64(x->skipped_bytes), "first_damage", first, "dropped_event_count",
			 json_u64(x->dropped_events), "unordered_event_count", json_u64(x->unordered_events),
			 "nested_allocation_count", json_u64(x->nested_allocs), "nested_free_count",
			 json_u64(x->nested_frees));
}

/* ---- flat profiles (pstats-like) ---- */

static int prof_kind;
static int prof_by_total;

/* Shares are shares of samples, not of the time each one stands for: a CPU
 * timer that fires late (threads running in slices shorter than a tick) fires
 * at the next tick, a point of the thread's running time as random as any,
 * while the time since its previous sample piles up on wherever it lands. */
static int cmp_prof(const void *pa, const void *pb)
{
	const struct group *a = *(const struct group *const *)pa, *b = *(const struct group *const *)pb;
	uint64_t va = prof_by_total ? a->total[prof_kind] : a->self[prof_kind];
	uint64_t vb = prof_by_total ? b->total[prof_kind] : b->self[prof_kind];
	if (va != vb)
		return va < vb ? 1 : -1;
	uint64_t ta = a->total[prof_kind], tb = b->total[prof_kind];
	if (ta != tb)
		return ta < tb ? 1 : -1;
	return strcmp(a->key, b->key);
}

static void flat_profile(struct strbuf *b, const struct report *r, int k)
{
	if (!r->samples[k])
		return;
	char x[32], y[32];
	uint64_t interval = r->weight_ns[k] / r->samples[k];
	sb_printf(b, "\n%s: %s, one per %.2f ms of %s (%u Hz asked), %s lost, %.3f s in all\n",
		  k == PROF_CPU ? "cpu" : "wall", counted(x, sizeof x, "", r->samples[k], "sample"), (double)interval / 1e6,
		  k == PROF_CPU ? "thread CPU time" : "wall-clock time per thread", r->hz[k],
		  r->lost[k] ? fmt_count(y, r->lost[k]) : "none", (double)r->weight_ns[k] / 1e9);
	uint64_t agent = r->groups.agent_samples[k];
	uint64_t total = r->samples[k] - agent;
	if (agent)
		sb_printf(b, "  (%s of them, %.1f%%, were ldprof's own work (recording allocations, its writer thread):\n"
			     "   left out below, where shares are of the program's %s)\n",
			  fmt_count(x, agent), 100.0 * (double)agent / (double)r->samples[k],
			  total == 1 ? "sample" : "samples");
	if (!total)
		return;
	const struct group **v = xmalloc((r->groups.n ? r->groups.n : 1) * sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < r->groups.n; i++)
		if (r->groups.groups[i].total[k])
			v[n++] = &r->groups.groups[i];
	prof_kind = k;
	prof_by_total = r->profile_sort_total;
	qsort(v, n, sizeof *v, cmp_prof);
	sb_printf(b, "  %9s %7s %7s  %s\n", "samples", "self%", "total%", group_by_name(r->gopts.by));
	size_t shown = 0;
	for (size_t i = 0; i < n && shown < r->top; i++) {
		if (!r->profile_sort_total && !v[i]->self[k])
			break;
		sb_printf(b, "  %9s %6.1f%% %6.1f%%  ", fmt_count(x, v[i]->self[k]),
			  100.0 * (double)v[i]->self[k] / (double)total,
			  100.0 * (double)v[i]->total[k] / (double)total);
		group_label(b, v[i], r->gopts.by, 2 + 9 + 1 + 7 + 1 + 7 + 2);
		sb_putc(b, '\n');
		shown++;
	}
	free(v);
}

/* ---- JSON ----
 *
 * Every JSON output follows one convention (docs/JSON.md, schemas in
 * docs/schema/): a number's name ends with its unit (_bytes, _count, _ns,
 * _pct, _hz), and a channel's figures (heap, mapped, cpu, wall) are an
 * object with the same field names wherever it appears: the totals, a
 * process image, a group, a thread.
 */

static void set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static json_t *stddev_bytes(double var)
{
	double sd = sqrt(var > 0 ? var : 0);
	return json_u64(sd < 1.8e19 ? (uint64_t)rint(sd) : UINT64_MAX);
}

json_t *heap_totals_json(const struct heap_totals *t, uint64_t peak_time_ns)
{
	json_t *o = json_object();
	set(o, "allocation_count", json_u64(t->allocations));
	set(o, "free_count", json_u64(t->frees));
	set(o, "allocated_bytes", json_u64(t->allocated_bytes));
	set(o, "peak_bytes", json_u64(t->peak_bytes));
	set(o, "peak_count", json_u64(t->peak_count));
	set(o, "peak_time_ns", json_u64(peak_time_ns));
	set(o, "leaked_bytes", json_u64(t->leaked_bytes));
	set(o, "leaked_count", json_u64(t->leaked_count));
	set(o, "before_attach_free_count", json_u64(t->before_attach_frees));
	set(o, "paused_free_count", json_u64(t->paused_frees));
	set(o, "pause_count", json_u64(t->pauses));
	set(o, "paused_ns", json_u64(t->paused_us * 1000));
	set(o, "live_now_bytes", json_u64(t->live_now_bytes));
	set(o, "live_now_count", json_u64(t->live_now_count));
	set(o, "temporary_count", json_u64(t->temporary));
	set(o, "unknown_free_count", json_u64(t->unknown_frees));
	json_t *e = json_null();
	if (t->sample_bytes) {
		e = json_object();
		set(e, "sample_interval_bytes", json_u64(t->sample_bytes));
		set(e, "sample_count", json_u64(t->samples));
		set(e, "allocated_stddev_bytes", stddev_bytes(t->allocated_var));
		set(e, "peak_stddev_bytes", stddev_bytes(t->peak_var));
		set(e, "lost_sample_count", json_u64(t->lost_samples));
	}
	set(o, "estimated", e);
	return o;
}

static json_t *json_group(const struct group *g)
{
	json_t *o = json_object();
	set(o, "key", json_text(g->key));
	set(o, "function", json_text(g->function));
	set(o, "file", json_text(g->file));
	set(o, "line", json_integer(g->line));
	set(o, "module", json_text(g->module));
	json_t *h = json_object();
	set(h, "allocation_count", json_u64(g->allocations));
	set(h, "allocated_bytes", json_u64(g->allocated_bytes));
	set(h, "free_count", json_u64(g->frees));
	set(h, "leaked_bytes", json_u64(g->leaked_bytes));
	set(h, "leaked_count", json_u64(g->leaked_count));
	set(h, "peak_bytes", json_u64(g->peak_bytes));
	set(h, "peak_count", json_u64(g->peak_count));
	set(h, "temporary_count", json_u64(g->temporary));
	set(h, "min_size_bytes", json_u64(g->allocations ? g->min_size : 0));
	set(h, "max_size_bytes", json_u64(g->max_size));
	set(o, "heap", h);
	json_t *m = json_object();
	set(m, "map_count", json_u64(g->maps));
	set(m, "mapped_bytes", json_u64(g->mapped_bytes));
	set(m, "peak_bytes", json_u64(g->mapped_peak_bytes));
	set(m, "live_at_exit_bytes", json_u64(g->mapped_live_bytes));
	set(o, "mapped", m);
	for (int k = 0; k < 2; k++) {
		json_t *p = json_object();
		set(p, "self_sample_count", json_u64(g->self[k]));
		set(p, "total_sample_count", json_u64(g->total[k]));
		set(p, "self_ns", json_u64(g->self_ns[k]));
		set(p, "total_ns", json_u64(g->total_ns[k]));
		set(o, k == PROF_CPU ? "cpu" : "wall", p);
	}
	if (g->frames) {
		json_t *a = json_array();
		for (unsigned i = 0; i < g->nframes; i++)
			json_array_append_new(a, json_frame(g->frames[i], 0));
		set(o, "frames", a);
	}
	return o;
}

/* The mapped files by mapped bytes: all of them, or the first --top when
 * given (as the groups). */
static json_t *mapped_files_json(const struct report *r)
{
	struct mapped_file *f;
	size_t n = report_mapped_files(r, &f);
	if (r->top_given && r->top < n)
		n = r->top;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_object();
		set(x, "path", json_text(f[i].path));
		set(x, "map_count", json_u64(f[i].maps));
		set(x, "mapped_bytes", json_u64(f[i].mapped_bytes));
		set(x, "peak_bytes", json_u64(f[i].peak_bytes));
		set(x, "live_at_exit_bytes", json_u64(f[i].live_at_exit_bytes));
		json_array_append_new(a, x);
	}
	free(f);
	return a;
}

json_t *report_json(const struct report *r)
{
	json_t *o = json_object();
	set(o, "format", json_string("ldprof-report"));
	set(o, "version", json_integer(LDPR_JSON_VERSION));
	set(o, "trace", json_text(r->ntraces ? r->traces[0].m.path : ""));
	json_t *traces = json_array(), *segs = json_array();
	int truncated = 0;
	for (size_t i = 0; i < r->ntraces; i++) {
		json_array_append_new(traces, json_text(r->traces[i].m.path));
		truncated |= r->traces[i].m.stats.truncated;
	}
	set(o, "traces", traces);
	set(o, "truncated", json_boolean(truncated));
	/* A rotated trace (--max-size): the parts read and the span they cover;
	 * null for a trace that is not rotated. */
	json_t *parts = json_null();
	if (r->ntraces && r->traces[0].m.stats.rotated && r->traces[0].m.nsegs) {
		const struct tmodel *m = &r->traces[0].m;
		parts = json_object();
		set(parts, "first_part", json_u64(m->stats.first_part));
		set(parts, "last_part", json_u64(m->stats.last_part));
		set(parts, "deleted_part_count", json_u64(m->stats.parts_missing));
		set(parts, "from_ns", json_u64(m->segs[0].info.part_start_us * 1000));
		set(parts, "to_ns", json_u64(m->stats.last_round_us * 1000));
	}
	set(o, "parts", parts);
	set(o, "missed", render_missed_json(r));
	set(o, "fidelity", render_fidelity_json(&r->fidelity));
	for (size_t i = 0; i < r->ntraces; i++) {
		const struct tmodel *m = &r->traces[i].m;
		for (size_t s = 0; s < m->nsegs; s++) {
			const struct tm_segment *seg = &m->segs[s];
			json_t *x = json_object();
			set(x, "trace", json_text(m->path));
			set(x, "pid", json_u64(seg->info.pid));
			set(x, "exe", json_text(seg->info.exe));
			set(x, "cmdline", json_text(seg->info.cmdline));
			set(x, "allocator", *seg->info.allocator ? json_text(seg->info.allocator) : json_null()); /* since 1.7 */
			set(x, "end", json_text(seg->end_name));
			set(x, "attached", json_boolean(seg->info.attached));
			set(x, "start_realtime_ns", json_u64(seg->info.start_realtime_ns));
			set(x, "end_signal", seg->end.reason == LDP_END_SIGNAL && seg->end.signal
						     ? json_integer(seg->end.signal)
						     : json_null());
			set(x, "heap", heap_totals_json(&seg->heap.t, seg->heap.t.peak_time_us * 1000));
			json_array_append_new(segs, x);
		}
	}
	set(o, "segments", segs);
	set(o, "heap", heap_totals_json(&r->total, r->peak_time_ns));
	for (int k = 0; k < 2; k++) {
		json_t *p = json_object();
		set(p, "sample_count", json_u64(r->samples[k]));
		set(p, "lost_sample_count", json_u64(r->lost[k]));
		set(p, "interval_ns", json_u64(r->samples[k] ? r->weight_ns[k] / r->samples[k] : 0));
		set(p, "asked_hz", json_integer(r->hz[k]));
		set(p, "total_ns", json_u64(r->weight_ns[k]));
		set(p, "agent_sample_count", json_u64(r->groups.agent_samples[k]));
		set(p, "agent_total_ns", json_u64(r->groups.agent_ns[k]));
		set(o, k == PROF_CPU ? "cpu" : "wall", p);
	}
	json_t *mp = json_object();
	set(mp, "map_count", json_u64(r->maps));
	set(mp, "remap_count", json_u64(r->remaps));
	set(mp, "unmap_count", json_u64(r->unmaps));
	set(mp, "mapped_bytes", json_u64(r->mapped_bytes));
	set(mp, "peak_bytes", json_u64(r->mapped_peak));
	set(mp, "peak_time_ns", r->peak_times_unknown ? json_null() : json_u64(r->mapped_peak_time_ns));
	set(mp, "live_at_exit_bytes", json_u64(r->mapped_live_at_exit));
	/* a fleet's store keeps no file names */
	set(mp, "files", r->peak_times_unknown ? json_null() : mapped_files_json(r));
	set(o, "mapped", mp);
	json_t *rss = json_object();
	set(rss, "peak_bytes", json_u64(r->rss_peak));
	set(rss, "peak_time_ns", r->peak_times_unknown ? json_null() : json_u64(r->rss_peak_time_ns));
	set(rss, "heap_at_peak_bytes", json_u64(r->rss_heap));
	set(rss, "mapped_at_peak_bytes", json_u64(r->rss_mapped));
	set(o, "rss", rss);
	json_t *f = json_null();
	if (r->gopts.ninclude || r->gopts.nexclude) {
		/* Totals of what the filters kept; "heap" stays the whole process. */
		struct heap_totals ft = filtered_totals(r);
		f = json_object();
		set(f, "allocation_count", json_u64(ft.allocations));
		set(f, "allocated_bytes", json_u64(ft.allocated_bytes));
		set(f, "free_count", json_u64(ft.frees));
		set(f, "peak_bytes", json_u64(ft.peak_bytes));
		set(f, "leaked_bytes", json_u64(ft.leaked_bytes));
		set(f, "leaked_count", json_u64(ft.leaked_count));
		set(f, "temporary_count", json_u64(ft.temporary));
		set(f, "left_out_allocation_count", json_u64(r->groups.filtered_out));
	}
	set(o, "filtered", f);
	set(o, "by", json_string(group_by_name(r->gopts.by)));
	json_t *groups = json_array();
	const struct group **v = grouping_sorted(&r->groups, r->sort);
	size_t n = r->top_given && r->top < r->groups.n ? r->top : r->groups.n;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(groups, json_group(v[i]));
	free(v);
	set(o, "groups", groups);
	json_t *hist = json_array();
	for (int k = 0; k < 65; k++) {
		if (!r->size_hist[k])
			continue;
		json_t *x = json_object();
		set(x, "max_size_bytes", json_u64(k == 0 ? 0 : k >= 64 ? UINT64_MAX : (1ull << k) - 1));
		set(x, "allocation_count", json_u64(r->size_hist[k]));
		json_array_append_new(hist, x);
	}
	set(o, "size_histogram", hist);
	return o;
}

json_t *snapshot_json(const struct tm_snapshot *s, int builtin)
{
	char sel[LDP_MAX_LABEL_LEN + 32];
	if (!builtin && s->occurrence > 1)
		snprintf(sel, sizeof sel, "%s#%u", s->label, s->occurrence);
	else
		snprintf(sel, sizeof sel, "%s", s->label);
	json_t *o = json_object();
	set(o, "index", json_u64(builtin ? 0 : s->index));
	set(o, "label", json_text(s->label));
	set(o, "selector", json_text(sel));
	set(o, "kind", json_string(builtin ? "built-in" : tm_snapshot_kind_name(s->kind)));
	set(o, "time_ns", json_u64(s->time_ns));
	set(o, "live_bytes", json_u64(s->live_bytes));
	set(o, "live_count", json_u64(s->live_count));
	return o;
}

void render_report_json(struct strbuf *b, const struct report *r)
{
	sb_json(b, report_json(r));
	sb_putc(b, '\n');
}
