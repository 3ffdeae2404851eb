/*
 * flame_svg.c - flame graphs as SVG (see flame_svg.h).
 *
 * The stacks are merged into a tree (a frame is its function, file and
 * module: interned pointers), children in name order so the same data
 * always gives the same picture. The layout done here is for viewers
 * without scripts: frames narrower than a quarter pixel are left out with
 * their children (as flamegraph.pl does), their weight stays in their
 * parents. The tree goes into the SVG as JSON too (desc.tree), and the
 * script (assets/flame.js) lays the graph out again from it in a browser:
 * at the page's width, on zoom, and inverted.
 *
 *   tree:  node[0] = root (all)  -- first_child --> node -- next --> node ...
 *          each node: v[0] (before) and v[1] (after / the only set)
 */
#define _GNU_SOURCE
#include "flame_svg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/assets.h"
#include "render/draw.h"
#include "render/json.h"

enum { ROW = 16, TOP = 44, BOTTOM = 30, PAD = 10 };
#define MIN_PX 0.25

struct fnode {
	const struct sym_frame *f; /* representative frame; NULL for the root */
	uint64_t v[2];
	uint32_t parent, first_child, next, depth;
};

struct ftree {
	struct fnode *n;
	size_t len, cap;
	struct u64map index; /* hash(parent, function, file, module) -> node + 1 */
};

static uint64_t node_key(uint32_t parent, const struct sym_frame *f)
{
	uint64_t k = hash_u64((uint64_t)parent * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)f->function);
	k = hash_u64(k ^ (uint64_t)(uintptr_t)f->file);
	return hash_u64(k ^ (uint64_t)(uintptr_t)f->module);
}

static int same_frame(const struct sym_frame *a, const struct sym_frame *b)
{
	return a->function == b->function && a->file == b->file && a->module == b->module;
}

struct child_key {
	const struct ftree *t;
	uint32_t parent;
	const struct sym_frame *f;
};

static int same_child(const void *ctx, uint64_t val)
{
	const struct child_key *k = ctx;
	const struct fnode *n = &k->t->n[val - 1];
	return n->parent == k->parent && same_frame(n->f, k->f);
}

static uint32_t child_of(struct ftree *t, uint32_t parent, const struct sym_frame *f)
{
	uint64_t k = node_key(parent, f);
	struct child_key key = {t, parent, f};
	uint64_t *slot = u64map_find(&t->index, k, same_child, &key);
	if (slot)
		return (uint32_t)(*slot - 1);
	vec_reserve((void **)&t->n, &t->cap, t->len + 1, sizeof *t->n);
	uint32_t i = (uint32_t)t->len++;
	t->n[i] = (struct fnode){.f = f, .parent = parent, .depth = t->n[parent].depth + 1};
	t->n[i].next = t->n[parent].first_child;
	t->n[parent].first_child = i;
	u64map_add(&t->index, k, (uint64_t)i + 1);
	return i;
}

static void tree_add(struct ftree *t, const struct wstack_set *ws, int side)
{
	static struct sym_frame no_stack = {.function = "[no stack]", .module = "?"};
	for (size_t i = 0; i < ws->n; i++) {
		const struct wstack *s = &ws->v[i];
		uint32_t cur = 0;
		t->n[0].v[side] += s->weight;
		if (!s->nframes) {
			cur = child_of(t, 0, &no_stack);
			t->n[cur].v[side] += s->weight;
		}
		for (unsigned j = 0; j < s->nframes; j++) {
			cur = child_of(t, cur, s->frames[j]);
			t->n[cur].v[side] += s->weight;
		}
	}
}

static int name_cmp(const struct fnode *a, const struct fnode *b)
{
	int c = strcmp(a->f->function ? a->f->function : "", b->f->function ? b->f->function : "");
	if (!c)
		c = strcmp(a->f->file ? a->f->file : "", b->f->file ? b->f->file : "");
	if (!c)
		c = strcmp(a->f->module ? a->f->module : "", b->f->module ? b->f->module : "");
	return c;
}

static int cmp_idx(const void *a, const void *b, void *tree)
{
	const struct ftree *t = tree;
	return name_cmp(&t->n[*(const uint32_t *)a], &t->n[*(const uint32_t *)b]);
}

/* Children of every node in name order. */
static void tree_sort(struct ftree *t)
{
	uint32_t *tmp = NULL;
	size_t cap = 0;
	for (size_t p = 0; p < t->len; p++) {
		size_t k = 0;
		for (uint32_t c = t->n[p].first_child; c; c = t->n[c].next) {
			vec_reserve((void **)&tmp, &cap, k + 1, sizeof *tmp);
			tmp[k++] = c;
		}
		if (k < 2)
			continue;
		qsort_r(tmp, k, sizeof *tmp, cmp_idx, t);
		t->n[p].first_child = tmp[0];
		for (size_t i = 0; i + 1 < k; i++)
			t->n[tmp[i]].next = tmp[i + 1];
		t->n[tmp[k - 1]].next = 0;
	}
	free(tmp);
}

static void tree_init(struct ftree *t)
{
	memset(t, 0, sizeof *t);
	u64map_init(&t->index, 1024);
	vec_reserve((void **)&t->n, &t->cap, 1, sizeof *t->n);
	t->n[0] = (struct fnode){0};
	t->len = 1;
}

static void tree_free(struct ftree *t)
{
	free(t->n);
	u64map_free(&t->index);
}

/* ---- drawing ---- */

struct draw {
	struct strbuf *b;
	const struct ftree *t;
	const struct flame_opts *o;
	const char *unit;
	int side;        /* which value sizes the frames */
	int diff;
	double scale;    /* pixels per unit of weight */
	uint64_t total;  /* of the sized side */
	uint64_t other_total;
	uint64_t max_delta;
	unsigned height, max_depth;
	double base; /* y of the depth-0 row: frames of depth k are k rows above */
};

static const char *short_file(const char *f)
{
	const char *s = f ? strrchr(f, '/') : NULL;
	return s ? s + 1 : f;
}

static void frame_color(char *buf, const struct draw *d, const struct fnode *n)
{
	if (d->diff) {
		int64_t delta = (int64_t)(n->v[1] - n->v[0]);
		if (!delta || !d->max_delta) {
			snprintf(buf, 32, "rgb(235,235,235)");
			return;
		}
		double r = (double)(delta < 0 ? -delta : delta) / (double)d->max_delta;
		int c = (int)(225 - 175 * r);
		if (delta > 0)
			snprintf(buf, 32, "rgb(250,%d,%d)", c, c);
		else
			snprintf(buf, 32, "rgb(%d,%d,250)", c, c);
		return;
	}
	const struct sym_frame *f = n->f;
	if (!f->resolved && strcmp(f->module ? f->module : "", "[process]")) {
		snprintf(buf, 32, "rgb(190,190,190)");
		return;
	}
	uint64_t hf = draw_hash(f->function);
	if (d->o->colors == FLAME_BY_FUNCTION) {
		/* flamegraph.pl's warm palette */
		double v1 = (double)(hf & 0xff) / 255, v2 = (double)((hf >> 8) & 0xff) / 255,
		       v3 = (double)((hf >> 16) & 0xff) / 255;
		snprintf(buf, 32, "rgb(%d,%d,%d)", 205 + (int)(50 * v3), (int)(230 * v1), (int)(55 * v2));
		return;
	}
	/* by module: one hue per module, shades by function */
	double hue = (double)(draw_hash(f->module) % 360);
	double light = 0.62 + 0.16 * (double)(hf % 1000) / 1000;
	draw_hsl(buf, hue, 0.55, light);
}

static void frame_title(struct strbuf *b, const struct draw *d, const struct fnode *n)
{
	char x[64], y[64], z[64];
	const struct sym_frame *f = n->f;
	sb_xml(b, f->function);
	if (f->inlined)
		sb_printf(b, " (inlined)");
	if (f->file) {
		sb_printf(b, "  ");
		sb_xml(b, short_file(f->file));
	}
	if (f->module) {
		sb_printf(b, "  [");
		sb_xml(b, f->module);
		sb_printf(b, "]");
	}
	if (d->diff) {
		int64_t delta = (int64_t)(n->v[1] - n->v[0]);
		sb_printf(b, "\nbefore %s, after %s, change %s", draw_value(x, n->v[0], d->unit),
			  draw_value(y, n->v[1], d->unit), draw_delta(z, delta, d->unit));
		if (n->v[0])
			sb_printf(b, " (%+.1f%%)", 100.0 * (double)delta / (double)n->v[0]);
	} else {
		sb_printf(b, "\n%s, %.2f%%", draw_value(x, n->v[1], d->unit),
			  d->total ? 100.0 * (double)n->v[1] / (double)d->total : 0.0);
	}
}

static void draw_label(struct strbuf *b, const char *name, double x, double w, double y)
{
	int fit = (int)((w - 6) / 7);
	sb_printf(b, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + 11.5);
	if (fit >= 3) {
		size_t len = strlen(name);
		if ((int)len <= fit) {
			sb_xml(b, name);
		} else {
			/* cut on a character boundary (UTF-8 continuation bytes stay together) */
			size_t cut = (size_t)(fit - 2);
			while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
				cut--;
			char *s = xstrndup(name, cut);
			sb_xml(b, s);
			free(s);
			sb_printf(b, "..");
		}
	}
	sb_printf(b, "</text>");
}

static void draw_node(struct draw *d, uint32_t i, double x)
{
	const struct fnode *n = &d->t->n[i];
	double w = (double)n->v[d->side] * d->scale;
	if (w < MIN_PX)
		return;
	if (i) {
		double y = d->base - (double)n->depth * ROW;
		char col[32];
		frame_color(col, d, n);
		sb_printf(d->b, "<g class=\"f\" data-d=\"%u\" data-n=\"", n->depth);
		sb_xml(d->b, n->f->function);
		sb_printf(d->b, "\"><title>");
		frame_title(d->b, d, n);
		sb_printf(d->b, "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>", x, y, w,
			  ROW - 1, col);
		draw_label(d->b, n->f->function ? n->f->function : "?", x, w, y);
		sb_printf(d->b, "</g>\n");
	}
	for (uint32_t c = n->first_child; c; c = d->t->n[c].next) {
		draw_node(d, c, x);
		x += (double)d->t->n[c].v[d->side] * d->scale;
	}
}

static void measure(struct draw *d, uint32_t i)
{
	const struct fnode *n = &d->t->n[i];
	if ((double)n->v[d->side] * d->scale < MIN_PX)
		return;
	if (n->depth > d->max_depth)
		d->max_depth = n->depth;
	if (d->diff) {
		uint64_t a = n->v[0] > n->v[1] ? n->v[0] - n->v[1] : n->v[1] - n->v[0];
		if (a > d->max_delta)
			d->max_delta = a;
	}
	for (uint32_t c = n->first_child; c; c = d->t->n[c].next)
		measure(d, c);
}

/* ---- the tree for the script ----
 * The script lays the graph out again from this (zoom, inverted view, the
 * window's width), so it carries frames too small to draw at full width: all
 * that would reach MIN_PX when zoomed 1024 times. Nodes in drawing order,
 * each [parent, frame, value] or, in a differential graph, [parent, frame,
 * after, before]; frames are the distinct (function, file, module) with
 * their colour. */

struct tree_out {
	const struct draw *d;
	json_t *frames, *nodes;
	struct u64map index;             /* frame hash -> index in seen + 1 */
	const struct sym_frame **seen;   /* the frames so far, as in `frames` */
	size_t nseen;
	const struct sym_frame *looking; /* the frame same_seen compares with */
};

static int same_seen(const void *ctx, uint64_t val)
{
	const struct tree_out *o = ctx;
	return same_frame(o->seen[val - 1], o->looking);
}

static uint32_t frame_index(struct tree_out *o, const struct fnode *n)
{
	uint64_t h = node_key(0, n->f);
	o->looking = n->f;
	uint64_t *slot = u64map_find(&o->index, h, same_seen, o);
	if (slot)
		return (uint32_t)(*slot - 1);
	char col[32];
	struct draw own = *o->d;
	own.diff = 0; /* the frame's own colour; the script colours differences per node */
	frame_color(col, &own, n);
	json_t *fr = json_frame(n->f, 0);
	json_object_del(fr, "line");
	json_object_set_new(fr, "color", json_string(col));
	json_array_append_new(o->frames, fr);
	o->seen[o->nseen] = n->f;
	u64map_add(&o->index, h, (uint64_t)o->nseen + 1);
	return (uint32_t)o->nseen++;
}

static void tree_out_node(struct tree_out *o, uint32_t i, int64_t parent)
{
	const struct fnode *n = &o->d->t->n[i];
	uint64_t big = n->v[0] > n->v[1] ? n->v[0] : n->v[1];
	if (i && (double)big * o->d->scale < MIN_PX / 1024)
		return;
	int64_t me = -1;
	if (i) {
		me = (int64_t)json_array_size(o->nodes);
		json_t *a = json_pack("[IIo]", (json_int_t)parent, (json_int_t)frame_index(o, n), json_u64(n->v[1]));
		if (o->d->diff)
			json_array_append_new(a, json_u64(n->v[0]));
		json_array_append_new(o->nodes, a);
	}
	for (uint32_t c = n->first_child; c; c = o->d->t->n[c].next)
		tree_out_node(o, c, me);
}

static void tree_data(struct strbuf *b, const struct draw *d)
{
	struct tree_out o = {.d = d, .frames = json_array(), .nodes = json_array()};
	u64map_init(&o.index, 256);
	o.seen = xcalloc(d->t->len ? d->t->len : 1, sizeof *o.seen);
	tree_out_node(&o, 0, -1);
	free(o.seen);
	u64map_free(&o.index);
	json_t *j = json_pack("{sssbsssososo}", "unit", d->unit, "diff", d->diff, "size_by", d->side ? "after" : "before",
			      "total", json_u64(d->total), "frames", o.frames, "nodes", o.nodes);
	struct strbuf t = {0};
	sb_json(&t, j);
	sb_printf(b, "<desc class=\"tree\">");
	sb_xml_text(b, t.s);
	sb_printf(b, "</desc>\n");
	sb_free(&t);
}

/* ---- the legend: one swatch per module, largest first (colours by module) ---- */

struct mod_weight {
	const char *module;
	uint64_t w;
	const struct fnode *n;
};

static int cmp_mod(const void *a, const void *b)
{
	const struct mod_weight *x = a, *y = b;
	return x->w != y->w ? (x->w < y->w ? 1 : -1) : strcmp(x->module, y->module);
}

/* Self weight per module (a frame's value less its children's). */
static void module_weights(const struct draw *d, uint32_t i, struct mod_weight **v, size_t *n, size_t *cap)
{
	const struct fnode *nd = &d->t->n[i];
	uint64_t self = nd->v[d->side];
	for (uint32_t c = nd->first_child; c; c = d->t->n[c].next) {
		self -= d->t->n[c].v[d->side];
		module_weights(d, c, v, n, cap);
	}
	if (!i || !self)
		return;
	const char *m = nd->f->module ? nd->f->module : "?";
	for (size_t k = 0; k < *n; k++)
		if (!strcmp((*v)[k].module, m)) {
			(*v)[k].w += self;
			return;
		}
	VEC_PUSH(*v, *n, *cap, ((struct mod_weight){m, self, nd}));
}

enum { LEGEND_ROW = 18, LEGEND_MAX = 12 };

static unsigned legend_rows(const struct draw *d, unsigned width, struct mod_weight **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (d->diff || d->o->colors != FLAME_BY_MODULE || !d->total)
		return 0;
	size_t cap = 0;
	module_weights(d, 0, out, nout, &cap);
	qsort(*out, *nout, sizeof **out, cmp_mod);
	if (*nout > LEGEND_MAX)
		*nout = LEGEND_MAX;
	unsigned rows = 1;
	double x = PAD;
	for (size_t k = 0; k < *nout; k++) {
		double w = 16 + 7.0 * (double)strlen((*out)[k].module) + 24;
		if (x + w > width - PAD && x > PAD) {
			rows++;
			x = PAD;
		}
		x += w;
	}
	return rows;
}

static void draw_legend(struct strbuf *b, const struct draw *d, const struct mod_weight *v, size_t n, unsigned width,
			double y0)
{
	sb_printf(b, "<g class=\"legend\">\n");
	double x = PAD, y = y0;
	for (size_t k = 0; k < n; k++) {
		double w = 16 + 7.0 * (double)strlen(v[k].module) + 24;
		if (x + w > width - PAD && x > PAD) {
			x = PAD;
			y += LEGEND_ROW;
		}
		char col[32], val[64];
		draw_hsl(col, (double)(draw_hash(v[k].module) % 360), 0.55, 0.70);
		sb_printf(b, "<g class=\"module\" data-module=\"");
		sb_xml(b, v[k].module);
		sb_printf(b, "\"><title>");
		sb_xml(b, v[k].module);
		sb_printf(b, ": %s in its own frames, %.1f%%</title><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
			     "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">",
			  draw_value(val, v[k].w, d->unit), 100.0 * (double)v[k].w / (double)d->total, x, y, col, x + 16,
			  y + 10.5);
		sb_xml(b, v[k].module);
		sb_printf(b, "</text></g>\n");
		x += w;
	}
	sb_printf(b, "</g>\n");
}

static void render(struct strbuf *b, const struct ftree *t, const struct flame_opts *o, const char *unit,
		   const char *title, const char *summary, int side, int diff)
{
	struct draw d = {.b = b, .t = t, .o = o, .unit = unit, .side = side, .diff = diff};
	unsigned width = o->width ? o->width : 1200;
	if (width < 200)
		width = 200;
	double inner = width - 2 * PAD;
	d.total = t->n[0].v[side];
	d.scale = d.total ? inner / (double)d.total : 0;
	measure(&d, 0);
	struct mod_weight *mods;
	size_t nmods;
	unsigned legend_h = legend_rows(&d, width, &mods, &nmods) * LEGEND_ROW;
	d.height = TOP + BOTTOM + (d.max_depth + 1) * ROW + legend_h;
	d.base = d.height - BOTTOM - legend_h;
	if (!o->inline_svg)
		sb_printf(b, "<?xml version=\"1.0\" standalone=\"no\"?>\n");
	sb_printf(b,
		  "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" class=\"ldprof-flame\" width=\"%u\" "
		  "height=\"%u\" viewBox=\"0 0 %u %u\" data-w=\"%.0f\" data-pad=\"%d\" data-total=\"%" PRIu64
		  "\" data-unit=\"%s\" data-row=\"%d\" data-top=\"%d\" data-bottom=\"%d\" data-legend-row=\"%d\">\n",
		  width, d.height, width, d.height, inner, PAD, d.total, unit, ROW, TOP, BOTTOM, LEGEND_ROW);
	sb_printf(b, "<style>\n%s</style>\n", asset_flame_css);
	sb_printf(b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfbf6\"/>\n");
	sb_printf(b, "<text class=\"title\" x=\"%u\" y=\"20\" text-anchor=\"middle\">", width / 2);
	sb_xml(b, title);
	sb_printf(b, "</text>\n<text class=\"sub\" x=\"%u\" y=\"36\" text-anchor=\"middle\">", width / 2);
	sb_xml(b, summary);
	sb_printf(b, "</text>\n");
	sb_printf(b, "<text class=\"reset\" x=\"%d\" y=\"20\" style=\"display:none\">Reset zoom</text>\n", PAD);
	/* the script's views: shown once it runs (a file without scripts cannot switch) */
	sb_printf(b, "<text class=\"invert\" x=\"%d\" y=\"36\" style=\"display:none\">Inverted</text>\n", PAD);
	/* A search box in the page (an HTML input inside the SVG), not a prompt(). */
	sb_printf(b,
		  "<foreignObject class=\"searchbox\" x=\"%u\" y=\"5\" width=\"180\" height=\"22\">"
		  "<input xmlns=\"http://www.w3.org/1999/xhtml\" type=\"search\" placeholder=\"search frames\" "
		  "title=\"case-insensitive regular expression (Ctrl+F)\"/></foreignObject>\n",
		  width - PAD - 230);
	sb_printf(b, "<text class=\"search\" x=\"%u\" y=\"20\" text-anchor=\"end\">Clear</text>\n", width - PAD);
	sb_printf(b, "<text class=\"details\" x=\"%d\" y=\"%u\"> </text>\n", PAD, d.height - 10);
	sb_printf(b, "<text class=\"matched\" x=\"%u\" y=\"%u\" text-anchor=\"end\"></text>\n", width - PAD,
		  d.height - 10);
	if (!d.total)
		sb_printf(b, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">(nothing to show)</text>\n", width / 2,
			  TOP + ROW);
	sb_printf(b, "<g class=\"frames\">\n");
	draw_node(&d, 0, PAD);
	sb_printf(b, "</g>\n");
	if (nmods)
		draw_legend(b, &d, mods, nmods, width, d.base + 6);
	free(mods);
	tree_data(b, &d);
	sb_printf(b, "<script><![CDATA[\n%s]]></script>\n</svg>\n", asset_flame_js);
}

void flame_svg(struct strbuf *b, const struct wstack_set *ws, const struct flame_opts *o)
{
	struct ftree t;
	tree_init(&t);
	tree_add(&t, ws, 1);
	tree_sort(&t);
	char title[256], sum[512], v[64];
	snprintf(title, sizeof title, "%s", o->title ? o->title : ws->title);
	snprintf(sum, sizeof sum, "%s%s%s in %zu stacks", o->subtitle ? o->subtitle : "", o->subtitle ? ": " : "",
		 draw_value(v, ws->total, ws->unit), ws->n);
	render(b, &t, o, ws->unit, title, sum, 1, 0);
	tree_free(&t);
}

void flame_svg_diff(struct strbuf *b, const struct wstack_set *before, const struct wstack_set *after,
		    const struct flame_opts *o)
{
	struct ftree t;
	tree_init(&t);
	tree_add(&t, before, 0);
	tree_add(&t, after, 1);
	tree_sort(&t);
	char title[256], sum[512], x[64], y[64], z[64];
	snprintf(title, sizeof title, "%s", o->title ? o->title : after->title);
	snprintf(sum, sizeof sum, "%s%sbefore %s, after %s, change %s (red: grew, blue: shrank; sized by %s)",
		 o->subtitle ? o->subtitle : "", o->subtitle ? ": " : "", draw_value(x, before->total, after->unit),
		 draw_value(y, after->total, after->unit),
		 draw_delta(z, (int64_t)(after->total - before->total), after->unit),
		 o->diff_size_before ? "before" : "after");
	render(b, &t, o, after->unit, title, sum, o->diff_size_before ? 0 : 1, 1);
	tree_free(&t);
}
