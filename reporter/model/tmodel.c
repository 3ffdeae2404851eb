/*
 * tmodel.c - build a struct tmodel from a trace (see tmodel.h).
 */
#include "tmodel.h"

#include <stdlib.h>
#include <string.h>

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
	VEC_PUSH(seg->stacks, seg->nstacks, seg->stacks_cap, ((struct tm_stack){0}));
	heap_init(&seg->heap, s->seq_shift);
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
	struct tm_stack st = {.depth = s->depth, .flags = s->flags};
	st.ips = xmalloc((s->depth ? s->depth : 1) * sizeof *st.ips);
	memcpy(st.ips, s->ips, s->depth * sizeof *st.ips);
	VEC_PUSH(seg->stacks, seg->nstacks, seg->stacks_cap, st);
}

static void on_event(void *ctx, const struct rd_event *e)
{
	heap_event(&cur(ctx)->heap, e);
}

static void on_segment_end(void *ctx, const struct rd_end *end)
{
	struct tm_segment *seg = cur(ctx);
	seg->end = *end;
	heap_finish(&seg->heap, end->reason != LDP_END_EXEC);
}

static int load(struct tmodel *m, const char *path, const uint8_t *data, size_t len, struct rd_error *err)
{
	memset(m, 0, sizeof *m);
	m->path = xstrdup(path);
	struct rd_visitor v = {
		.ctx = m,
		.segment_begin = on_segment,
		.module = on_module,
		.stack = on_stack,
		.event = on_event,
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
	return load(m, path, NULL, 0, err);
}

int tm_load_mem(struct tmodel *m, const uint8_t *data, size_t len, const char *name, struct rd_error *err)
{
	return load(m, name, data ? data : (const uint8_t *)"", len, err);
}

void tm_free(struct tmodel *m)
{
	for (size_t i = 0; i < m->nsegs; i++) {
		struct tm_segment *s = &m->segs[i];
		rd_segment_clear(&s->info);
		for (size_t j = 0; j < s->nmods; j++)
			free(s->mods[j].path);
		free(s->mods);
		for (size_t j = 0; j < s->nstacks; j++)
			free(s->stacks[j].ips);
		free(s->stacks);
		heap_free(&s->heap);
	}
	free(m->segs);
	free(m->path);
	memset(m, 0, sizeof *m);
}

const char *tm_end_reason_name(int reason)
{
	switch (reason) {
	case LDP_END_EXIT: return "exit";
	case LDP_END_EXEC: return "exec";
	case LDP_END_UNDERSCORE_EXIT: return "_exit";
	case LDP_END_ABORT: return "abort";
	case LDP_END_ERROR: return "agent error";
	default: return "killed or cut short";
	}
}
