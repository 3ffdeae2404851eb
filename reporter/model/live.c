/*
 * live.c - the live view model (live.h): what `ldprof top` shows, kept up to
 * date as the reader follows a growing trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/live.h"
#include "symbols/symbolizer.h"
#include "util/util.h"

void live_init(struct live_model *m, uint64_t window_us)
{
	memset(m, 0, sizeof *m);
	m->window_us = window_us;
	heap_init(&m->heap, LDP_SEQ_SHIFT);
	m->sym = sym_new(&(struct sym_opts){.quiet = 1});
}

static void forget_image(struct live_model *m)
{
	for (size_t i = 0; i < m->nmods; i++)
		free(m->mods[i].path);
	for (size_t i = 0; i < m->nstacks; i++)
		free(m->stacks[i].ips);
	m->nmods = m->nstacks = m->nsamples = m->growth_n = m->growth_head = 0;
	m->space = NULL; /* spaces belong to the symbolizer */
	m->space_mods = 0;
	heap_free(&m->heap);
	if (m->in_segment)
		rd_segment_clear(&m->seg);
	m->in_segment = 0;
}

void live_fini(struct live_model *m)
{
	forget_image(m);
	free(m->mods);
	free(m->stacks);
	free(m->samples);
	sym_free(m->sym);
}

static void on_segment(void *ctx, const struct rd_segment *s)
{
	struct live_model *m = ctx;
	forget_image(m); /* an exec: the new image starts from nothing */
	m->seg = *s;
	m->seg.exe = xstrdup(s->exe);
	m->seg.cmdline = xstrdup(s->cmdline);
	m->seg.hostname = xstrdup(s->hostname);
	m->seg.agent_version = xstrdup(s->agent_version);
	m->seg.allocator = xstrdup(s->allocator);
	m->in_segment = 1;
	m->ended = 0;
	m->now_us = s->continues ? s->part_start_us : 0;
	heap_init(&m->heap, s->seq_shift);
	if (s->mode == LDP_MODE_SAMPLED)
		m->heap.t.sample_bytes = s->sample_bytes;
	VEC_PUSH(m->stacks, m->nstacks, m->stacks_cap, ((struct live_stack){0}));
}

static void on_module(void *ctx, const struct rd_module *mod)
{
	struct live_model *m = ctx;
	struct rd_module copy = *mod;
	copy.path = xstrdup(mod->path);
	VEC_PUSH(m->mods, m->nmods, m->mods_cap, copy);
}

static void on_stack(void *ctx, const struct rd_stack *s)
{
	struct live_model *m = ctx;
	struct live_stack st = {.depth = s->depth, .flags = s->flags};
	st.ips = xmalloc((s->depth ? s->depth : 1) * sizeof *st.ips);
	memcpy(st.ips, s->ips, s->depth * sizeof *st.ips);
	VEC_PUSH(m->stacks, m->nstacks, m->stacks_cap, st);
}

static void advance(struct live_model *m, uint64_t t_us)
{
	if (t_us > m->now_us)
		m->now_us = t_us;
}

static void on_event(void *ctx, const struct rd_event *e)
{
	struct live_model *m = ctx;
	if (e->kind == RD_EV_ALLOC || e->kind == RD_EV_FREE) {
		heap_event(&m->heap, e);
		advance(m, e->seq >> m->seg.seq_shift);
	}
}

static void on_sampling(void *ctx, const struct rd_sampling *s)
{
	((struct live_model *)ctx)->cpu_hz = s->cpu_hz;
}

static void on_sample(void *ctx, const struct rd_sample *s)
{
	struct live_model *m = ctx;
	advance(m, s->time_us);
	if (s->kind != LDP_SAMPLE_CPU)
		return;
	/* Drop what left the window (samples arrive about in time order). */
	size_t keep = 0;
	while (keep < m->nsamples && m->samples[keep].t_us + m->window_us < m->now_us)
		keep++;
	if (keep) {
		memmove(m->samples, m->samples + keep, (m->nsamples - keep) * sizeof *m->samples);
		m->nsamples -= keep;
	}
	VEC_PUSH(m->samples, m->nsamples, m->samples_cap,
		 ((struct live_sample){.t_us = s->time_us, .weight_ns = s->weight_ns, .stack = s->stack}));
}

/* RSS is written every round: the clock of the view, and a growth point. */
static void on_rss(void *ctx, uint64_t time_us, uint64_t bytes)
{
	struct live_model *m = ctx;
	(void)bytes;
	advance(m, time_us);
	size_t last = (m->growth_head + LIVE_GROWTH_POINTS - 1) % LIVE_GROWTH_POINTS;
	if (m->growth_n && m->growth[last].t_us + 250000 > m->now_us)
		return;
	m->growth[m->growth_head].t_us = m->now_us;
	m->growth[m->growth_head].live = m->heap.t.live_bytes;
	m->growth_head = (m->growth_head + 1) % LIVE_GROWTH_POINTS;
	if (m->growth_n < LIVE_GROWTH_POINTS)
		m->growth_n++;
}

static void on_segment_end(void *ctx, const struct rd_end *end)
{
	struct live_model *m = ctx;
	if (end->time_us)
		advance(m, end->time_us);
	m->ended = end->reason && end->reason != LDP_END_EXEC;
	const char *name = end->reason == LDP_END_EXIT		? "exit"
			   : end->reason == LDP_END_EXEC		? "exec"
			   : end->reason == LDP_END_UNDERSCORE_EXIT ? "_exit"
			   : end->reason == LDP_END_ABORT		? "abort"
			   : end->reason == LDP_END_ERROR		? "agent error"
			   : end->reason == LDP_END_SIGNAL		? "killed by a signal"
			   : end->running			? "running"
								: "gone (no END: killed?)";
	snprintf(m->end_name, sizeof m->end_name, "%s", name);
	if (!end->reason && !end->running)
		m->ended = 1;
}

struct rd_visitor live_visitor(struct live_model *m)
{
	return (struct rd_visitor){
		.ctx = m,
		.segment_begin = on_segment,
		.module = on_module,
		.stack = on_stack,
		.event = on_event,
		.sampling = on_sampling,
		.sample = on_sample,
		.rss = on_rss,
		.segment_end = on_segment_end,
	};
}

/* ---- the view ---- */

/* The innermost frame of a stack: where the allocation was made, or the PC
 * of a CPU sample. */
static const struct sym_frame *frame_of(struct live_model *m, uint32_t stack)
{
	if (!stack || stack >= m->nstacks || !m->stacks[stack].depth)
		return NULL;
	if (!m->space || m->space_mods != m->nmods) {
		m->space = sym_space_new(m->sym, m->mods, m->nmods); /* modules were added: a new space */
		m->space_mods = m->nmods;
	}
	const struct sym_frame *frames;
	const struct live_stack *s = &m->stacks[stack];
	sym_resolve(m->space, s->ips[0], !(s->flags & LDP_STACK_LEAF_PC), 0, &frames);
	return frames;
}

/* Add to the row of f's function (names are interned: equal pointers). */
static void add_row(struct live_row **rows, size_t *n, size_t *cap, const struct sym_frame *f, uint64_t bytes,
		    uint64_t count)
{
	const char *fn = f ? f->function : "(no stack)";
	for (size_t i = 0; i < *n; i++)
		if ((*rows)[i].function == fn) {
			(*rows)[i].bytes += bytes;
			(*rows)[i].count += count;
			return;
		}
	VEC_PUSH(*rows, *n, *cap,
		 ((struct live_row){.function = fn, .file = f ? f->file : NULL, .line = f ? f->line : 0, .bytes = bytes,
				    .count = count}));
}

static int by_bytes(const void *a, const void *b)
{
	const struct live_row *x = a, *y = b;
	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

void live_view(struct live_model *m, struct live_view *v, size_t max_rows)
{
	memset(v, 0, sizeof *v);
	const struct heap_totals *t = &m->heap.t;
	v->now_us = m->now_us;
	v->live_bytes = t->live_bytes;
	v->live_count = t->live_count;
	v->peak_bytes = t->peak_bytes;
	v->peak_time_us = t->peak_time_us;
	v->allocations = t->allocations;
	v->frees = t->frees;
	/* Growth over the last 10 s (or what there is of it). */
	for (size_t i = 0; i < m->growth_n; i++) {
		size_t k = (m->growth_head + LIVE_GROWTH_POINTS - m->growth_n + i) % LIVE_GROWTH_POINTS;
		if (m->growth[k].t_us + 10000000 >= m->now_us) {
			v->growth_bytes = (int64_t)(t->live_bytes - m->growth[k].live);
			v->growth_span_us = m->now_us - m->growth[k].t_us;
			break;
		}
	}
	size_t cap = 0;
	for (size_t s = 1; s < m->heap.nsites && s < m->nstacks; s++)
		if (m->heap.sites[s].live_count)
			add_row(&v->sites, &v->nsites, &cap, frame_of(m, (uint32_t)s), m->heap.sites[s].live_bytes,
				m->heap.sites[s].live_count);
	if (v->nsites) /* none once everything is freed: qsort must not get NULL */
		qsort(v->sites, v->nsites, sizeof *v->sites, by_bytes);
	if (v->nsites > max_rows)
		v->nsites = max_rows;
	cap = 0;
	v->cpu_window_us = m->window_us;
	for (size_t i = 0; i < m->nsamples; i++) {
		if (m->samples[i].t_us + m->window_us < m->now_us)
			continue;
		v->cpu_ns += m->samples[i].weight_ns;
		add_row(&v->cpu, &v->ncpu, &cap, frame_of(m, m->samples[i].stack), m->samples[i].weight_ns, 1);
	}
	if (v->ncpu)
		qsort(v->cpu, v->ncpu, sizeof *v->cpu, by_bytes);
	if (v->ncpu > max_rows)
		v->ncpu = max_rows;
}

void live_view_free(struct live_view *v)
{
	free(v->sites);
	free(v->cpu);
	memset(v, 0, sizeof *v);
}
