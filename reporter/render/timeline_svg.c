/*
 * timeline_svg.c - live heap over time (see timeline_svg.h).
 *
 * The model's series (heap.h) has up to 2048 buckets per process image;
 * here they are folded into one column per pixel, keeping each column's
 * minimum and maximum. The drawn shape is the area under the maxima with
 * the band between minimum and maximum (churn within a column) shaded
 * lighter, so a spike that lasted a microsecond still reaches its height.
 */
#include "timeline_svg.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/units.h"
#include "render/assets.h"
#include "render/draw.h"
#include "render/json.h"

void timeline_build(struct timeline *tl, const struct loaded *t)
{
	memset(tl, 0, sizeof *tl);
	const struct tmodel *m = &t->m;
	size_t cap = 0, mcap = 0;
	uint64_t t0 = m->nsegs ? m->segs[0].info.start_monotonic_ns : 0;
	for (size_t s = 0; s < m->nsegs; s++) {
		const struct tm_segment *seg = &m->segs[s];
		const struct heap_series *ts = &seg->heap.series;
		double off = (double)(seg->info.start_monotonic_ns - t0) / 1e9;
		uint64_t last_us = seg->heap.t.last_time_us > seg->end.time_us ? seg->heap.t.last_time_us : seg->end.time_us;
		if (s) {
			const char *base = strrchr(seg->info.exe, '/');
			VEC_PUSH(tl->markers, tl->nmarkers, mcap,
				 ((struct tl_marker){off, base ? base + 1 : seg->info.exe}));
		}
		for (size_t i = 0; i < ts->n; i++) {
			double a = off + (double)(i * ts->bucket_us) / 1e6;
			double b = off + (double)((i + 1) * ts->bucket_us) / 1e6;
			double end = off + (double)last_us / 1e6;
			if (a > end)
				break;
			struct tl_point p = {a, b < end ? b : end, ts->pts[i].min, ts->pts[i].max};
			VEC_PUSH(tl->pts, tl->n, cap, p);
		}
		double end = off + (double)last_us / 1e6;
		if (end > tl->end)
			tl->end = end;
		if (seg->heap.t.peak_bytes > tl->peak_bytes) {
			tl->peak_bytes = seg->heap.t.peak_bytes;
			tl->peak_t = off + (double)seg->heap.t.peak_time_us / 1e6;
		}
	}
	/* the mapped channel and the RSS, when there are any */
	tl->curves[0].name = "mapped (mmap)";
	tl->curves[0].color = "#e6550d";
	tl->curves[1].name = "resident (RSS)";
	tl->curves[1].color = "#31a354";
	for (size_t s = 0; s < m->nsegs; s++) {
		const struct mapped_model *mm = &m->segs[s].mapped;
		double off = (double)(m->segs[s].info.start_monotonic_ns - t0) / 1e9;
		const struct heap_series *src[2] = {mm->maps || mm->remaps ? &mm->series : NULL,
						    mm->rss_samples ? &mm->rss_series : NULL};
		for (int c = 0; c < 2; c++) {
			struct tl_curve *cv = &tl->curves[c];
			if (!src[c])
				continue;
			for (size_t i = 0; i < src[c]->n; i++) {
				double a = off + (double)(i * src[c]->bucket_us) / 1e6;
				if (a > tl->end)
					break;
				vec_reserve((void **)&cv->t, &cv->cap, cv->n + 1, sizeof *cv->t);
				cv->v = xrealloc(cv->v, cv->cap * sizeof *cv->v);
				cv->t[cv->n] = a;
				cv->v[cv->n++] = src[c]->pts[i].max;
			}
		}
	}
	/* snapshots recorded by the program (start, peak and exit are drawn anyway) */
	if (m->nsnaps)
		tl->own_labels = xcalloc(m->nsnaps, sizeof *tl->own_labels);
	for (size_t i = 0; i < m->nsnaps; i++) {
		const struct tm_snapshot *sn = &m->snaps[i];
		if (sn->occurrence > 1)
			snprintf(tl->own_labels[i], sizeof *tl->own_labels, "%s#%u", sn->label, sn->occurrence);
		else
			snprintf(tl->own_labels[i], sizeof *tl->own_labels, "%s", sn->label);
		VEC_PUSH(tl->markers, tl->nmarkers, mcap, ((struct tl_marker){(double)sn->time_ns / 1e9, tl->own_labels[i]}));
	}
	/* Samples per second, per kind, over every image (a 99 Hz sampler gives
	 * 0 or 1 per millisecond bucket: they are summed into wider bins). */
	static const char *const names[PROF_KINDS] = {"CPU samples/s", "wall-clock samples/s"};
	double span = tl->end > 0 ? tl->end : 1e-3;
	for (int k = 0; k < PROF_KINDS; k++) {
		size_t n = 0, rcap = 0;
		for (size_t s = 0; s < m->nsegs; s++) {
			const struct prof_kind *pk = &m->segs[s].prof.k[k];
			if (!pk->rate_n)
				continue;
			double off = (double)(m->segs[s].info.start_monotonic_ns - t0) / 1e9;
			double w = (double)pk->rate_bucket_us / 1e6;
			/* bins of about 10 samples each (at most 80): a rate from 1 sample is noise */
			double bins = (double)pk->samples / 10 < 80 ? (double)pk->samples / 10 : 80;
			uint32_t g = (uint32_t)ceil(span / (bins < 1 ? 1 : bins) / w);
			if (g < 1)
				g = 1;
			for (uint32_t i = 0; i < pk->rate_n; i = i + g < pk->rate_n && i + g + g / 2 < pk->rate_n ? i + g : pk->rate_n) {
				uint64_t c = 0;
				uint32_t j = i, end = i + g;
				if (end + g / 2 >= pk->rate_n) /* a short last bin would be noise: fold it in */
					end = pk->rate_n;
				for (; j < end && j < pk->rate_n; j++)
					c += pk->rate[j];
				vec_reserve((void **)&tl->own_t[k], &rcap, n + 1, sizeof(double));
				tl->own_v[k] = xrealloc(tl->own_v[k], rcap * sizeof(double));
				tl->own_t[k][n] = off + ((double)i + (double)(j - i) / 2) * w;
				tl->own_v[k][n++] = (double)c / ((double)(j - i) * w);
			}
		}
		if (n)
			tl->own_rates[tl->nrates++] = (struct tl_rate){names[k], tl->own_t[k], tl->own_v[k], n};
	}
	tl->rates = tl->own_rates;
	if (tl->end <= 0)
		tl->end = 1e-3;
}

void timeline_free(struct timeline *tl)
{
	free(tl->pts);
	free(tl->markers);
	free(tl->own_labels);
	for (int k = 0; k < 2; k++) {
		free(tl->own_t[k]);
		free(tl->own_v[k]);
		free(tl->curves[k].t);
		free(tl->curves[k].v);
	}
	memset(tl, 0, sizeof *tl);
}

/* Margins; the legend row sits above the plot (MT), never over a curve,
 * and the rate panel below it has a legend row and axes of its own. */
enum { ML = 80, MR = 20, MT = 68, LEGEND_Y = 48, RATE_BAND = 140 };

/* One swatch and its name, left to right from *x; the next one starts after it. */
static void legend_item(struct strbuf *b, double *x, double y, const char *color, const char *name)
{
	sb_printf(b, "<g class=\"item\"><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>", *x, y, color);
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", *x + 16, y + 10.5);
	sb_xml(b, name);
	sb_printf(b, "</text></g>");
	*x += 16 + 7.0 * (double)strlen(name) + 18;
}

static void axis_label_time(char *buf, double v, double step)
{
	if (step >= 1)
		snprintf(buf, 32, "%.0f s", v);
	else if (step >= 0.001)
		snprintf(buf, 32, "%.*f s", step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3, v);
	else
		snprintf(buf, 32, "%.3f ms", v * 1e3);
}

/* A step line through the columns' values, with points only where the
 * value changes (flat stretches cost nothing). */
static void path_steps(struct strbuf *b, const unsigned char *seen, const uint64_t *v, size_t n, double ymax,
		       double ph)
{
	double prev = -1;
	for (size_t c = 0; c < n; c++) {
		double y = MT + ph - (double)(seen[c] ? v[c] : 0) / ymax * ph;
		if (y != prev) {
			if (c)
				sb_printf(b, "%.0f,%.1f ", ML + (double)c, prev);
			sb_printf(b, "%.0f,%.1f ", ML + (double)c, y);
			prev = y;
		}
	}
	sb_printf(b, "%.0f,%.1f ", ML + (double)n, prev);
}

void timeline_svg(struct strbuf *b, const struct timeline *tl, const struct timeline_opts *o)
{
	unsigned W = o->width ? o->width : 1200, H = o->height ? o->height : tl->nrates ? 420 : 360;
	unsigned band = tl->nrates ? RATE_BAND : 0;
	unsigned MB = 40 + band;
	double pw = W - ML - MR, ph = H - MT - MB;
	size_t ncols = (size_t)pw;
	/* One column per pixel: min and max of every point overlapping it. */
	uint64_t *cmin = xcalloc(ncols, sizeof *cmin), *cmax = xcalloc(ncols, sizeof *cmax);
	unsigned char *seen = xcalloc(ncols, 1);
	double end = tl->end > 0 ? tl->end : 1;
	for (size_t i = 0; i < tl->n; i++) {
		const struct tl_point *p = &tl->pts[i];
		size_t a = (size_t)(p->t0 / end * (double)ncols), z = (size_t)(p->t1 / end * (double)ncols);
		if (a >= ncols)
			a = ncols - 1;
		if (z >= ncols)
			z = ncols - 1;
		for (size_t c = a; c <= z; c++) {
			if (!seen[c] || p->min < cmin[c])
				cmin[c] = p->min;
			if (!seen[c] || p->max > cmax[c])
				cmax[c] = p->max;
			seen[c] = 1;
		}
	}
	uint64_t top = tl->peak_bytes;
	for (size_t c = 0; c < ncols; c++)
		if (seen[c] && cmax[c] > top)
			top = cmax[c];
	for (int c = 0; c < 2; c++)
		for (size_t i = 0; i < tl->curves[c].n; i++)
			if (tl->curves[c].v[i] > top)
				top = tl->curves[c].v[i];
	double ystep = draw_step((double)(top ? top : 1), 5, 1024);
	double ymax = ceil((double)(top ? top : 1) / ystep) * ystep;
	double xstep = draw_step(end, 10, 10);

#define X(t) (ML + (t) / end * pw)
#define Y(v) (MT + ph - (double)(v) / ymax * ph)
	if (!o->inline_svg)
		sb_printf(b, "<?xml version=\"1.0\" standalone=\"no\"?>\n");
	sb_printf(b,
		  "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" class=\"ldprof-timeline\" width=\"%u\" "
		  "height=\"%u\" viewBox=\"0 0 %u %u\" data-end=\"%.6f\" data-peak=\"%" PRIu64 "\">\n",
		  W, H, W, H, end, tl->peak_bytes);
	sb_printf(b, "<style>\n%s</style>\n", asset_timeline_css);
	sb_printf(b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfbf6\"/>\n");
	sb_printf(b, "<text class=\"title\" x=\"%u\" y=\"22\" text-anchor=\"middle\">", W / 2);
	sb_xml(b, tl->title ? tl->title : "live heap over time");
	sb_printf(b, "</text>\n<text x=\"%u\" y=\"40\" text-anchor=\"middle\">", W / 2);
	sb_xml(b, tl->subtitle);
	sb_printf(b, "</text>\n");
	/* the columns, for the hover script: [min, max] or null */
	json_t *cols = json_array();
	for (size_t c = 0; c < ncols; c++)
		json_array_append_new(cols, seen[c] ? json_pack("[oo]", json_u64(cmin[c]), json_u64(cmax[c])) : json_null());
	sb_printf(b, "<desc class=\"cols\">");
	sb_json(b, cols); /* numbers, brackets and null: nothing to escape for XML */
	sb_printf(b, "</desc>\n");
	/* grid and axes */
	char lab[64];
	for (double v = 0; v <= ymax + ystep / 2; v += ystep) {
		sb_printf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", ML, ML + pw, Y(v), Y(v));
		sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", ML - 6, Y(v) + 4,
			  fmt_bytes(lab, (uint64_t)v));
	}
	for (double t = 0; t <= end * 1.0001; t += xstep) {
		axis_label_time(lab, t, xstep);
		sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\"/>", X(t), X(t), MT,
			  MT + ph);
		sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", X(t), MT + ph + 16, lab);
	}
	/* the curve: area under the maxima, the min..max band lighter */
	struct strbuf hi = {0}, lo = {0};
	path_steps(&hi, seen, cmax, ncols, ymax, ph);
	path_steps(&lo, seen, cmin, ncols, ymax, ph);
	sb_printf(b, "<polygon class=\"heap-max\" fill=\"#c6dbef\" points=\"%d,%.1f %s%.1f,%.1f\"/>\n", ML, MT + ph,
		  hi.s ? hi.s : "", ML + pw, MT + ph);
	sb_printf(b, "<polygon class=\"heap-min\" fill=\"#6baed6\" points=\"%d,%.1f %s%.1f,%.1f\"/>\n", ML, MT + ph,
		  lo.s ? lo.s : "", ML + pw, MT + ph);
	sb_printf(b, "<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"1\" points=\"%s\"/>\n", hi.s ? hi.s : "");
	sb_free(&hi);
	sb_free(&lo);
	/* mapped and RSS: steps on the same axis */
	for (int c = 0; c < 2; c++) {
		const struct tl_curve *cv = &tl->curves[c];
		if (!cv->n)
			continue;
		sb_printf(b, "<polyline class=\"curve\" data-name=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
			  cv->name, cv->color);
		for (size_t i = 0; i < cv->n; i++) {
			double x0 = X(cv->t[i]), x1 = i + 1 < cv->n ? X(cv->t[i + 1]) : X(end);
			if (x1 > ML + pw)
				x1 = ML + pw;
			sb_printf(b, "%.1f,%.1f %.1f,%.1f ", x0, Y(cv->v[i]), x1, Y(cv->v[i]));
		}
		sb_printf(b, "\"/>\n");
	}
	/* the legend, in its own row above the plot */
	double lx = ML;
	sb_printf(b, "<g class=\"legend\">");
	legend_item(b, &lx, LEGEND_Y, "#c6dbef", "heap (malloc): highest in each column");
	legend_item(b, &lx, LEGEND_Y, "#6baed6", "lowest");
	for (int c = 0; c < 2; c++)
		if (tl->curves[c].n)
			legend_item(b, &lx, LEGEND_Y, tl->curves[c].color, tl->curves[c].name);
	sb_printf(b, "</g>\n");
	sb_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n", ML, ML + pw, MT + ph,
		  MT + ph);
	sb_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%.1f\"/>\n", ML, ML, MT, MT + ph);
	/* markers (exec, snapshots) */
	for (size_t i = 0; i < tl->nmarkers; i++) {
		double x = X(tl->markers[i].t);
		sb_printf(b, "<g class=\"snapshot\"><line class=\"marker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\"/>",
			  x, x, MT, MT + ph);
		sb_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">", x + 3, MT + 10 + (int)(i % 3) * 12);
		sb_xml(b, tl->markers[i].label);
		sb_printf(b, "</text></g>\n");
	}
	/* the peak */
	if (tl->peak_bytes) {
		double x = X(tl->peak_t), y = Y(tl->peak_bytes);
		sb_printf(b, "<g class=\"peak-mark\"><line class=\"peak\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x,
			  x, y, MT + ph);
		sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#c00\"/>", x, y);
		char v[32];
		int right = x > ML + pw * 0.75;
		sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">peak %s at %.3f s</text></g>\n",
			  right ? x - 8 : x + 8, y < MT + 14 ? y + 16 : y - 6, right ? "end" : "start",
			  fmt_bytes(v, tl->peak_bytes), tl->peak_t);
	}
	/* rates in the band below: a legend row, then a panel with its own
	 * axes (samples per second, round steps; time as above) */
	if (tl->nrates) {
		double by = MT + ph + 44, bh = band - 66;
		double rmax = 0;
		for (size_t r = 0; r < tl->nrates; r++)
			for (size_t i = 0; i < tl->rates[r].n; i++)
				if (tl->rates[r].v[i] > rmax)
					rmax = tl->rates[r].v[i];
		double rstep = draw_step(rmax > 0 ? rmax : 1, 3, 10);
		double rtop = ceil((rmax > 0 ? rmax : 1) / rstep) * rstep;
		static const char *colors[] = {"#d95f02", "#7570b3", "#1b9e77", "#e7298a"};
		sb_printf(b, "<g class=\"rate-panel\"><rect class=\"rate-plot\" x=\"%d\" y=\"%.1f\" width=\"%.0f\" "
			     "height=\"%.0f\" fill=\"none\"/>\n", ML, by, pw, bh);
		for (double v = 0; v <= rtop + rstep / 2; v += rstep) {
			double y = by + bh - v / rtop * bh;
			sb_printf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", ML, ML + pw, y, y);
			sb_printf(b, "<text class=\"rate-tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" data-v=\"%g\">%g/s</text>\n",
				  ML - 6, y + 4, v, v);
		}
		for (double t = 0; t <= end * 1.0001; t += xstep) {
			axis_label_time(lab, t, xstep);
			sb_printf(b, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", X(t), X(t),
				  by + bh, by + bh + 4);
			sb_printf(b, "<text class=\"rate-time\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", X(t),
				  by + bh + 16, lab);
		}
		sb_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n", ML, ML + pw, by + bh,
			  by + bh);
		sb_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>\n", ML, ML, by, by + bh);
		double lx2 = ML;
		sb_printf(b, "<g class=\"legend\">");
		for (size_t r = 0; r < tl->nrates; r++)
			legend_item(b, &lx2, by - 18, colors[r % 4], tl->rates[r].name);
		sb_printf(b, "</g>\n");
		for (size_t r = 0; r < tl->nrates; r++) {
			const struct tl_rate *rt = &tl->rates[r];
			sb_printf(b, "<polyline class=\"rate\" fill=\"none\" stroke=\"%s\" points=\"", colors[r % 4]);
			for (size_t i = 0; i < rt->n; i++)
				sb_printf(b, "%.1f,%.1f ", X(rt->t[i]), by + bh - rt->v[i] / rtop * bh);
			sb_printf(b, "\"/>\n");
		}
		sb_printf(b, "</g>\n");
	}
	sb_printf(b, "<text class=\"info\" x=\"%.1f\" y=\"%d\" text-anchor=\"end\"></text>\n", ML + pw, LEGEND_Y + 10);
	sb_printf(b, "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"%d\" y2=\"%.1f\" style=\"display:none\"/>\n", MT,
		  MT + ph);
	sb_printf(b, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"transparent\"/>\n", ML,
		  MT, pw, ph);
	sb_printf(b, "<script><![CDATA[\n%s]]></script>\n</svg>\n", asset_timeline_js);
#undef X
#undef Y
	free(cmin);
	free(cmax);
	free(seen);
}
