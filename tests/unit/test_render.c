/*
 * test_render.c - the pure parts of the pictures and exports: the heap
 * model's bounded time series keeps the peak; collapsed stacks add up and
 * cannot be broken by odd names; flame graphs size, order, prune and escape
 * frames; the differential graph colours growth red and shrinkage blue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/heap.h"
#include "model/wstack.h"
#include "read/trace.h"
#include "render/export.h"
#include "render/flame_svg.h"
#include "render/timeline_svg.h"

/* Frames compare by pointer (the symbolizer interns names): one object per name. */
static const char *const N_MAIN = "main", *const N_A = "grow_me", *const N_B = "shrink_me", *const N_C = "same",
		  *const N_ODD = "op<int>;x\ny&\"'", *const N_TINY = "tiny_one";
static const char *const MOD = "prog";
static struct sym_frame f_main = {.function = N_MAIN, .module = MOD, .resolved = 1};
static struct sym_frame f_a = {.function = N_A, .module = MOD, .resolved = 1};
static struct sym_frame f_b = {.function = N_B, .module = MOD, .resolved = 1};
static struct sym_frame f_c = {.function = N_C, .module = MOD, .resolved = 1};
static struct sym_frame f_odd = {.function = N_ODD, .module = MOD, .resolved = 1};
static struct sym_frame f_tiny = {.function = N_TINY, .module = MOD, .resolved = 1};

static void add2(struct wstack_set *ws, struct sym_frame *leaf, uint64_t w)
{
	const struct sym_frame *fr[2] = {&f_main, leaf};
	ws_add(ws, fr, 2, w, 1);
}

/* ---- heap series ---- */

static void test_series_keeps_peak(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	/* 10 s of churn, one event per ms; a 1 MiB spike lasting 1 µs at 7.3 s. */
	uint64_t seq = 1;
	for (uint64_t us = 0; us < 10000000; us += 1000) {
		struct rd_event a = {.seq = us << 12 | 1, .ptr = 0x1000, .size = 100, .stack = 1, .tid = 1, .kind = RD_EV_ALLOC};
		struct rd_event f = {.seq = (us + 500) << 12, .ptr = 0x1000, .tid = 1, .kind = RD_EV_FREE};
		heap_event(&h, &a);
		heap_event(&h, &f);
		if (us == 7300000) {
			struct rd_event s = {.seq = (us + 600) << 12, .ptr = 0x2000, .size = 1 << 20, .stack = 2, .tid = 1,
					     .kind = RD_EV_ALLOC};
			struct rd_event sf = {.seq = (us + 601) << 12, .ptr = 0x2000, .tid = 1, .kind = RD_EV_FREE};
			heap_event(&h, &s);
			heap_event(&h, &sf);
		}
		seq++;
	}
	heap_finish(&h, 1);
	const struct heap_series *ts = &h.series;
	assert_true(ts->n <= HEAP_SERIES_MAX);
	assert_true(ts->n >= HEAP_SERIES_MAX / 2);
	uint64_t max = 0;
	size_t at = 0;
	for (size_t i = 0; i < ts->n; i++)
		if (ts->pts[i].max > max) {
			max = ts->pts[i].max;
			at = i;
		}
	assert_int_equal(max, h.t.peak_bytes);
	assert_int_equal(max, (1 << 20));
	/* the bucket that holds it covers 7.3006 s */
	assert_true(at * ts->bucket_us <= 7300600 && 7300600 < (at + 1) * ts->bucket_us);
	assert_int_equal(ts->pts[ts->n - 1].last, 0);
	assert_int_equal(h.sites[2].max_live_bytes, 1 << 20);
	assert_int_equal(h.sites[1].lifetime_us, 10000 * 500);
	heap_free(&h);
}

static void test_series_quiet_gap(void **state)
{
	(void)state;
	struct heap_model h;
	heap_init(&h, 12);
	struct rd_event a = {.seq = 1, .ptr = 0x10, .size = 64, .stack = 1, .tid = 1, .kind = RD_EV_ALLOC};
	struct rd_event f = {.seq = (uint64_t)5000000 << 12, .ptr = 0x10, .tid = 1, .kind = RD_EV_FREE};
	heap_event(&h, &a);
	heap_event(&h, &f);
	heap_finish(&h, 1);
	/* Nothing happened for 5 s: the buckets in between hold the 64 live bytes. */
	const struct heap_series *ts = &h.series;
	assert_int_equal(ts->pts[ts->n / 2].min, 64);
	assert_int_equal(ts->pts[ts->n / 2].max, 64);
	assert_int_equal(ts->pts[ts->n - 1].last, 0);
	heap_free(&h);
}

/* ---- collapsed ---- */

static void test_collapsed_totals(void **state)
{
	(void)state;
	struct wstack_set ws;
	ws_init(&ws, WS_ALLOC);
	add2(&ws, &f_a, 100);
	add2(&ws, &f_a, 50); /* another call site, same names: one line */
	add2(&ws, &f_odd, 7);
	ws_add(&ws, NULL, 0, 3, 1); /* no stack */
	struct strbuf b = {0};
	render_collapsed(&b, &ws);
	assert_non_null(b.s);
	uint64_t sum = 0;
	int lines = 0;
	for (char *l = strtok(b.s, "\n"); l; l = strtok(NULL, "\n")) {
		char *sp = strrchr(l, ' ');
		assert_non_null(sp);
		sum += strtoull(sp + 1, NULL, 10);
		lines++;
		if (!strncmp(l, "main;grow_me ", 13))
			assert_string_equal(sp + 1, "150");
		if (strstr(l, "op<int>"))
			assert_string_equal(l, "main;op<int>:x y&\"' 7"); /* ';' and newline neutralised */
	}
	assert_int_equal(lines, 3);
	assert_int_equal(sum, ws.total);
	assert_int_equal(sum, 160);
	sb_free(&b);
	ws_free(&ws);
}

/* ---- flame graphs ---- */

/* The <g> of the frame named name, or NULL. */
static const char *frame_g(const char *svg, const char *name)
{
	char key[256];
	snprintf(key, sizeof key, "data-n=\"%s\"", name);
	return strstr(svg, key);
}

static double attr(const char *from, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, " %s=\"", name);
	const char *p = strstr(from, key);
	assert_non_null(p);
	return strtod(p + strlen(key), NULL);
}

static void test_flame_layout(void **state)
{
	(void)state;
	struct wstack_set ws;
	ws_init(&ws, WS_ALLOC);
	add2(&ws, &f_b, 300);
	add2(&ws, &f_a, 100);
	add2(&ws, &f_odd, 600);
	add2(&ws, &f_tiny, 1); /* 1/1001 of 1180 px: drawn (> 0.25 px) */
	const struct sym_frame *deep[3] = {&f_main, &f_a, &f_c};
	ws_add(&ws, deep, 3, 0, 0); /* weight 0: nothing */
	struct strbuf b = {0};
	struct flame_opts o = {.width = 1200};
	flame_svg(&b, &ws, &o);
	const char *s = b.s;
	assert_non_null(strstr(s, "<?xml"));
	assert_non_null(strstr(s, "data-total=\"1001\""));
	/* main spans everything; children in name order: grow_me, op<..>, shrink_me, tiny_one */
	const char *m = frame_g(s, "main"), *a = frame_g(s, "grow_me"), *odd = frame_g(s, "op&lt;int&gt;;x\ny&amp;&quot;&#39;"),
		   *bb = frame_g(s, "shrink_me"), *t = frame_g(s, "tiny_one");
	assert_non_null(m);
	assert_non_null(a);
	assert_non_null(odd);
	assert_non_null(bb);
	assert_non_null(t);
	assert_true(a < odd && odd < bb && bb < t);
	assert_float_equal(attr(m, "width"), 1180, 0.01);
	assert_float_equal(attr(a, "x"), 10, 0.01);
	assert_float_equal(attr(a, "width"), 1180.0 * 100 / 1001, 0.01);
	assert_float_equal(attr(odd, "x"), 10 + 1180.0 * 100 / 1001, 0.01);
	assert_null(frame_g(s, "same"));
	assert_null(strstr(s, "op<int>")); /* escaped everywhere */
	sb_free(&b);

	/* With 1 in a million the tiny frame is under a quarter pixel: left out. */
	add2(&ws, &f_b, 1000000);
	flame_svg(&b, &ws, &o);
	assert_null(frame_g(b.s, "tiny_one"));
	assert_non_null(frame_g(b.s, "shrink_me"));
	/* ...but the tree the script lays out again carries it (a zoom shows it),
	 * and the legend names the one module once */
	const char *tree = strstr(b.s, "<desc class=\"tree\">");
	assert_non_null(tree);
	assert_non_null(strstr(tree, "\"function\":\"tiny_one\""));
	assert_null(strstr(tree, "op<int>"));
	const char *mod = strstr(b.s, "<g class=\"module\" data-module=\"prog\">");
	assert_non_null(mod);
	assert_null(strstr(mod + 1, "<g class=\"module\""));
	sb_free(&b);
	ws_free(&ws);
}

static const char *fill_of(const char *g)
{
	static char buf[64];
	const char *p = strstr(g, "fill=\"");
	assert_non_null(p);
	p += 6;
	size_t n = strcspn(p, "\"");
	snprintf(buf, sizeof buf, "%.*s", (int)n, p);
	return buf;
}

static void test_flame_diff_colours(void **state)
{
	(void)state;
	struct wstack_set before, after;
	ws_init(&before, WS_INUSE);
	ws_init(&after, WS_INUSE);
	add2(&before, &f_a, 100);
	add2(&before, &f_b, 400);
	add2(&before, &f_c, 200);
	add2(&after, &f_a, 500); /* +400: the largest change, full red */
	add2(&after, &f_b, 200); /* -200: half as blue */
	add2(&after, &f_c, 200); /* unchanged */
	struct strbuf b = {0};
	struct flame_opts o = {.inline_svg = 1};
	flame_svg_diff(&b, &before, &after, &o);
	const char *s = b.s;
	assert_null(strstr(s, "<?xml"));
	assert_string_equal(fill_of(frame_g(s, "grow_me")), "rgb(250,50,50)");
	assert_string_equal(fill_of(frame_g(s, "shrink_me")), "rgb(137,137,250)");
	assert_string_equal(fill_of(frame_g(s, "same")), "rgb(235,235,235)");
	/* main grew by 200 of the 400 maximum: light red */
	assert_string_equal(fill_of(frame_g(s, "main")), "rgb(250,137,137)");
	/* sized by "after": grow_me is 500 of 900 */
	assert_float_equal(attr(frame_g(s, "grow_me"), "width"), 1180.0 * 500 / 900, 0.01);
	assert_non_null(strstr(s, "before 400 B, after 200 B, change -200 B (-50.0%)"));
	sb_free(&b);

	/* sized by "before": a frame that vanished is still drawn */
	ws_free(&after);
	ws_init(&after, WS_INUSE);
	add2(&after, &f_a, 100);
	o.diff_size_before = 1;
	flame_svg_diff(&b, &before, &after, &o);
	assert_non_null(frame_g(b.s, "shrink_me"));
	assert_string_equal(fill_of(frame_g(b.s, "shrink_me")), "rgb(108,108,250)"); /* -400 of main's -600 */
	sb_free(&b);
	ws_free(&before);
	ws_free(&after);
}

static void test_flame_empty(void **state)
{
	(void)state;
	struct wstack_set ws;
	ws_init(&ws, WS_LEAKED);
	struct strbuf b = {0};
	struct flame_opts o = {0};
	flame_svg(&b, &ws, &o);
	assert_non_null(strstr(b.s, "(nothing to show)"));
	assert_null(strstr(b.s, "class=\"f\""));
	sb_free(&b);
}

/* ---- timeline ---- */

static void test_timeline_markers_rates(void **state)
{
	(void)state;
	/* 1000 points of 1 ms, a 5000-byte spike in one of them: narrower than a pixel. */
	struct tl_point pts[1000];
	for (int i = 0; i < 1000; i++)
		pts[i] = (struct tl_point){i / 1000.0, (i + 1) / 1000.0, 100, i == 617 ? 5000 : 100};
	struct tl_marker marks[2] = {{0.25, "after load"}, {0.75, "<done>"}};
	double rt[3] = {0, 0.5, 1}, rv[3] = {99, 250, 10};
	struct tl_rate rate = {"CPU samples/s", rt, rv, 3};
	struct timeline tl = {.title = "t", .subtitle = "s", .pts = pts, .n = 1000, .end = 1.0, .peak_t = 0.617,
			      .peak_bytes = 5000, .markers = marks, .nmarkers = 2, .rates = &rate, .nrates = 1};
	struct timeline_opts o = {.width = 600, .height = 300};
	struct strbuf b = {0};
	timeline_svg(&b, &tl, &o);
	const char *s = b.s;
	assert_non_null(strstr(s, "data-peak=\"5000\""));
	assert_non_null(strstr(s, "peak 4.88 KiB at 0.617 s"));
	assert_non_null(strstr(s, ">after load</text>"));
	assert_non_null(strstr(s, ">&lt;done&gt;</text>"));
	assert_non_null(strstr(s, "class=\"rate\""));
	assert_non_null(strstr(s, ">CPU samples/s</text>"));
	assert_non_null(strstr(s, ">300/s</text>")); /* the band's axis: 250/s rounded up to a step of 100 */
	/* the spike survives folding 1000 points into 500 columns */
	assert_non_null(strstr(s, ",[100,5000],"));
	sb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_keeps_peak),  cmocka_unit_test(test_series_quiet_gap),
		cmocka_unit_test(test_collapsed_totals),   cmocka_unit_test(test_flame_layout),
		cmocka_unit_test(test_flame_diff_colours), cmocka_unit_test(test_flame_empty),
		cmocka_unit_test(test_timeline_markers_rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
