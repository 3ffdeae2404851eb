/*
 * diff.c - see diff.h.
 */
#include "diff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/json.h"
#include "render/units.h"

static int64_t delta(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

static const char *signed_bytes(char *buf, int64_t v)
{
	char tmp[32];
	fmt_bytes(tmp, (uint64_t)(v < 0 ? -v : v));
	snprintf(buf, 40, "%s%s", v < 0 ? "-" : "+", tmp);
	return buf;
}

static const char *signed_count(char *buf, int64_t v)
{
	char tmp[32];
	fmt_count(tmp, (uint64_t)(v < 0 ? -v : v));
	snprintf(buf, 40, "%s%s", v < 0 ? "-" : "+", tmp);
	return buf;
}

static void side_text(struct strbuf *b, const struct diff_side *s)
{
	if (s->name) {
		sb_printf(b, "%s", s->name);
		return;
	}
	sb_printf(b, "%s", s->snap->label);
	if (s->snap->occurrence > 1)
		sb_printf(b, "#%u", s->snap->occurrence);
	sb_printf(b, " (%.3f s", (double)s->snap->time_ns / 1e9);
	if (s->trace)
		sb_printf(b, ", %s", s->trace);
	sb_printf(b, ")");
}

static const char *short_file(const char *f)
{
	const char *s = f ? strrchr(f, '/') : NULL;
	return s ? s + 1 : f;
}

static int changed(const struct diff_row *r)
{
	return r->size[0] != r->size[1] || r->count[0] != r->count[1] || r->mapped[0] != r->mapped[1];
}

void render_diff_text(struct strbuf *b, const struct diff_view *v)
{
	const struct diff *d = v->d;
	sb_printf(b, "diff ");
	side_text(b, &v->side[0]);
	sb_printf(b, " -> ");
	side_text(b, &v->side[1]);
	sb_printf(b, ", by %s%s\n\n", group_by_name(v->by), v->cumulative ? " (cumulative)" : "");
	const struct diff_row **rows = diff_sorted(d);
	size_t shown = 0, hidden = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct diff_row *r = rows[i];
		if (!changed(r))
			continue;
		if (v->top && shown >= v->top) {
			hidden++;
			continue;
		}
		char s1[40], s2[40], c2[40], s0[32], c0[32], nm[FMT_NAME_MAX];
		const char *key = v->by == BY_FILE || v->by == BY_MODULE ? short_file(r->key) : fmt_name(nm, sizeof nm, r->key);
		sb_printf(b, "%s", key);
		if (v->by == BY_FUNCTION && r->file)
			sb_printf(b, " (%s:%u)", short_file(r->file), r->line);
		uint64_t avg = r->count[1] ? r->size[1] / r->count[1] : 0;
		sb_printf(b, ": size=%s (%s), count=%s (%s), average=%s", fmt_bytes(s0, r->size[1]),
			  signed_bytes(s1, delta(r->size[0], r->size[1])), fmt_count(c0, r->count[1]),
			  signed_count(c2, delta(r->count[0], r->count[1])), fmt_bytes(s2, avg));
		if (r->mapped[0] || r->mapped[1])
			sb_printf(b, ", mapped=%s (%s)", fmt_bytes(s0, r->mapped[1]),
				  signed_bytes(s1, delta(r->mapped[0], r->mapped[1])));
		sb_putc(b, '\n');
		shown++;
	}
	if (hidden)
		sb_printf(b, "... and %zu more groups that changed\n", hidden);
	if (!shown)
		sb_printf(b, "(no group changed)\n");
	char a[32], s1[40], c[32], c1[40];
	sb_printf(b, "\ntotal: size=%s (%s), count=%s (%s)", fmt_bytes(a, d->size[1]),
		  signed_bytes(s1, delta(d->size[0], d->size[1])), fmt_count(c, d->count[1]),
		  signed_count(c1, delta(d->count[0], d->count[1])));
	if (d->mapped[0] || d->mapped[1])
		sb_printf(b, ", mapped=%s (%s)", fmt_bytes(a, d->mapped[1]), signed_bytes(s1, delta(d->mapped[0], d->mapped[1])));
	sb_putc(b, '\n');
	free(rows);
}

static json_t *side_json(const struct diff_side *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "label", json_text(s->snap->label));
	json_object_set_new(o, "occurrence", json_integer(s->snap->occurrence));
	json_object_set_new(o, "index", json_u64(s->snap->index));
	json_object_set_new(o, "time_ns", json_u64(s->snap->time_ns));
	json_object_set_new(o, "trace", json_text(s->trace ? s->trace : ""));
	return o;
}

/* A row's (or the total's) figures: live at `to` and the change since `from`,
 * per channel, as every JSON output names them. */
static json_t *figures(const uint64_t size[2], const uint64_t count[2], const uint64_t mapped[2])
{
	json_t *h = json_object(), *m = json_object(), *o = json_object();
	json_object_set_new(h, "live_bytes", json_u64(size[1]));
	json_object_set_new(h, "live_count", json_u64(count[1]));
	json_object_set_new(h, "change_bytes", json_integer(delta(size[0], size[1])));
	json_object_set_new(h, "change_count", json_integer(delta(count[0], count[1])));
	json_object_set_new(m, "live_bytes", json_u64(mapped[1]));
	json_object_set_new(m, "change_bytes", json_integer(delta(mapped[0], mapped[1])));
	json_object_set_new(o, "heap", h);
	json_object_set_new(o, "mapped", m);
	return o;
}

json_t *diff_json(const struct diff_view *v)
{
	const struct diff *d = v->d;
	json_t *o = json_object(), *groups = json_array();
	json_object_set_new(o, "format", json_string("ldprof-diff"));
	json_object_set_new(o, "version", json_integer(LDPR_JSON_VERSION));
	json_object_set_new(o, "from", side_json(&v->side[0]));
	json_object_set_new(o, "to", side_json(&v->side[1]));
	json_object_set_new(o, "by", json_string(group_by_name(v->by)));
	json_object_set_new(o, "cumulative", json_boolean(v->cumulative));
	const struct diff_row **rows = diff_sorted(d);
	size_t shown = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct diff_row *r = rows[i];
		if (!changed(r) || (v->top && shown >= v->top))
			continue;
		json_t *g = json_object(), *f = figures(r->size, r->count, r->mapped);
		json_object_set_new(g, "key", json_text(r->key));
		json_object_set_new(g, "function", json_text(r->function));
		json_object_set_new(g, "file", json_text(r->file));
		json_object_set_new(g, "line", json_integer(r->line));
		json_object_update(g, f);
		json_decref(f);
		json_array_append_new(groups, g);
		shown++;
	}
	free(rows);
	json_object_set_new(o, "groups", groups);
	json_object_set_new(o, "total", figures(d->size, d->count, d->mapped));
	return o;
}

void render_diff_json(struct strbuf *b, const struct diff_view *v)
{
	sb_json(b, diff_json(v));
	sb_putc(b, '\n');
}
