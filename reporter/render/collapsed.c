/*
 * collapsed.c - collapsed stacks ("folded" format): `a;b;c 123` per line,
 * what flamegraph.pl, inferno-flamegraph and speedscope read (see export.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/export.h"

struct line {
	char *s;
	uint64_t w;
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->s, ((const struct line *)b)->s);
}

/* A frame name that cannot break the format: ';' separates frames and the
 * last space separates the count, so ';' becomes ':' and line breaks spaces. */
static void put_frame(struct strbuf *b, const char *name)
{
	for (const char *p = name ? name : "?"; *p; p++)
		sb_putc(b, *p == ';' ? ':' : (*p == '\n' || *p == '\r') ? ' ' : *p);
}

void render_collapsed(struct strbuf *b, const struct wstack_set *ws)
{
	struct line *v = xcalloc(ws->n ? ws->n : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < ws->n; i++) {
		const struct wstack *s = &ws->v[i];
		if (!s->weight)
			continue;
		struct strbuf l = {0};
		for (unsigned j = 0; j < s->nframes; j++) {
			if (j)
				sb_putc(&l, ';');
			put_frame(&l, s->frames[j]->function);
		}
		if (!s->nframes)
			sb_printf(&l, "[no stack]");
		v[n].s = l.s;
		v[n++].w = s->weight;
	}
	qsort(v, n, sizeof *v, cmp_line);
	/* Different stacks (call sites) can have the same names: one line each. */
	for (size_t i = 0; i < n;) {
		uint64_t w = v[i].w;
		size_t j = i + 1;
		for (; j < n && !strcmp(v[j].s, v[i].s); j++)
			w += v[j].w;
		sb_printf(b, "%s %" PRIu64 "\n", v[i].s, w);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].s);
	free(v);
}
