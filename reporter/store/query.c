/*
 * query.c - see query.h.
 *
 * Every figure query has the same shape, cheapest step first:
 *
 *   1. sum the value rows of the selected pushes per stack_id
 *      (ldprof_values, primary key (figure, trace_id, ...));
 *   2. ANY LEFT JOIN the stacks those ids name (ldprof_stacks, read by
 *      primary key: only the ids of step 1); ANY, because a stack pushed
 *      twice may sit in two rows until ClickHouse merges them; LEFT, so that
 *      a figure is never lost for want of its frames (it becomes "(no stack)");
 *   3. group by the key the user asked for (function, line, ...), computed
 *      from the frames the way model/group.c's flat_key computes it.
 *
 * The keys in SQL must equal flat_key's byte for byte: `ldprof fleet report`
 * and `ldprof report` over the same traces give the same groups (tests/fleet).
 */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* ---- names ---- */

#define NAMES_CHUNK 1024

void fleet_names_init(struct fleet_names *nm)
{
	memset(nm, 0, sizeof *nm);
	struct sym_opts so = {.quiet = 1};
	nm->pool = sym_new(&so);
}

void fleet_names_free(struct fleet_names *nm)
{
	for (size_t i = 0; i < nm->nchunks; i++)
		free(nm->chunks[i]);
	free(nm->chunks);
	sym_free(nm->pool);
	memset(nm, 0, sizeof *nm);
}

static const char *name(struct fleet_names *nm, const char *s)
{
	return sym_intern(nm->pool, s);
}

static const struct sym_frame *frame(struct fleet_names *nm, const char *fn, const char *file, unsigned line,
				     const char *module, int inlined)
{
	if (!nm->nchunks || nm->used == NAMES_CHUNK) {
		VEC_PUSH(nm->chunks, nm->nchunks, nm->chunks_cap, xcalloc(NAMES_CHUNK, sizeof(struct sym_frame)));
		nm->used = 0;
	}
	struct sym_frame *f = &nm->chunks[nm->nchunks - 1][nm->used++];
	f->function = name(nm, fn);
	f->file = *file ? name(nm, file) : NULL;
	f->line = line;
	f->module = name(nm, module);
	f->inlined = inlined;
	f->resolved = 1;
	return f;
}

/* The site frame in a row's columns function, file, line, module (from
 * col on): a frame to show a group at, or NULL for "(no stack)". */
static const struct sym_frame *site_at(struct fleet_names *nm, const json_t *row, size_t col, struct sym_frame *f)
{
	if (!*ch_str(row, col))
		return NULL;
	memset(f, 0, sizeof *f);
	f->function = name(nm, ch_str(row, col));
	f->file = *ch_str(row, col + 1) ? name(nm, ch_str(row, col + 1)) : NULL;
	f->line = (unsigned)ch_u64(row, col + 2);
	f->module = name(nm, ch_str(row, col + 3));
	return f;
}

/* The frames of a row's columns functions, files, lines, modules, inlined
 * (innermost first). @return a malloc'd array of n pointers. */
static const struct sym_frame **row_frames(struct fleet_names *nm, const json_t *row, size_t col, unsigned *n)
{
	const json_t *fn = json_array_get(row, col), *file = json_array_get(row, col + 1),
		     *line = json_array_get(row, col + 2), *mod = json_array_get(row, col + 3),
		     *inl = json_array_get(row, col + 4);
	size_t k = json_array_size(fn);
	const struct sym_frame **v = xmalloc((k ? k : 1) * sizeof *v);
	for (size_t i = 0; i < k; i++)
		v[i] = frame(nm, ch_str(fn, i), ch_str(file, i), (unsigned)ch_u64(line, i), ch_str(mod, i),
			     (int)ch_u64(inl, i));
	*n = (unsigned)k;
	return v;
}

/* ---- the selection ---- */

/* A shell glob as an anchored RE2 expression. */
static void glob_regex(struct strbuf *b, const char *g)
{
	sb_putc(b, '^');
	for (; *g; g++) {
		if (*g == '*') {
			sb_printf(b, ".*");
		} else if (*g == '?') {
			sb_putc(b, '.');
		} else if (*g == '[') {
			/* [abc], [!abc] or [^abc]; a ']' right after the opening is one of the set */
			const char *p = g + 1;
			int negate = *p == '!' || *p == '^';
			p += negate;
			const char *end = strchr(*p == ']' ? p + 1 : p, ']');
			if (!end) {
				sb_printf(b, "\\[");
				continue;
			}
			sb_printf(b, "[%s", negate ? "^" : "");
			for (; p < end; p++) {
				if (*p == '\\' || *p == '[')
					sb_putc(b, '\\');
				sb_putc(b, *p);
			}
			sb_putc(b, ']');
			g = end;
		} else {
			if (!((*g >= 'a' && *g <= 'z') || (*g >= 'A' && *g <= 'Z') || (*g >= '0' && *g <= '9') ||
			      (unsigned char)*g >= 0x80))
				sb_putc(b, '\\');
			sb_putc(b, *g);
		}
	}
	sb_putc(b, '$');
}

static void label_cond(struct strbuf *b, const char *kv)
{
	char *k, *v;
	if (fleet_label_split(kv, &k, &v)) {
		sb_printf(b, " AND 0");
		return;
	}
	sb_printf(b, " AND has(label_keys, ");
	ch_quote(b, k);
	sb_printf(b, ") AND label_values[indexOf(label_keys, ");
	ch_quote(b, k);
	sb_printf(b, ")] = ");
	ch_quote(b, v);
	free(k);
	free(v);
}

void fleet_selection_sql(struct strbuf *b, const struct fleet_filter *f, const char *extra_label)
{
	/* The latest push of every trace (ties broken by push id: one winner), then the filters on it. */
	sb_printf(b, "(trace_id, push_id) IN (SELECT trace_id, push_id FROM ldprof_images WHERE image = 0"
		     " AND (trace_id, push_id) IN (SELECT trace_id, argMax(push_id, (pushed_ns, push_id))"
		     " FROM ldprof_images WHERE image = 0 GROUP BY trace_id)");
	if (f->service) {
		sb_printf(b, " AND service = ");
		ch_quote(b, f->service);
	}
	if (f->host_glob) {
		struct strbuf re = {0};
		glob_regex(&re, f->host_glob);
		sb_printf(b, " AND match(host, ");
		ch_quote(b, re.s);
		sb_printf(b, ")");
		sb_free(&re);
	}
	for (size_t i = 0; i < f->nlabels; i++)
		label_cond(b, f->labels[i]);
	if (extra_label)
		label_cond(b, extra_label);
	if (f->has_since)
		sb_printf(b, " AND start_time >= toDateTime(%lld)", (long long)f->since);
	if (f->has_until)
		sb_printf(b, " AND start_time <= toDateTime(%lld)", (long long)f->until);
	sb_printf(b, ")");
}

static int fail(struct ch *c, char *err, size_t n)
{
	snprintf(err, n, "%s", ch_error(c));
	return -1;
}

/* ---- totals ---- */

/* A column of the totals: an SQL expression over the selected image rows,
 * and where its value goes (by type). */
enum col_type { C_U64, C_UINT, C_I64, C_REAL, C_TEXT, C_HIST };
struct total_col {
	const char *sql;
	enum col_type type;
	void *to;
	size_t size; /* C_TEXT: the buffer's */
};

int fleet_query_totals(struct ch *c, const struct fleet_filter *f, struct fleet_totals *t, char *err, size_t n)
{
	memset(t, 0, sizeof *t);
	struct heap_totals *h = &t->heap;
	struct missed *x = &t->missed;
	/* the highest peak: its image's figures */
#define AT_PEAK(col) "argMax(" col ", peak_bytes)"
#define AT_RSS_PEAK(col) "argMax(" col ", rss_peak_bytes)"
	/* the earliest-started trace with damage (or merged out of order): its words */
#define FIRST(col, cond) "argMinIf(" col ", (start_ns, trace_id), " cond ")"
	const struct total_col cols[] = {
		{"uniqExact(trace_id)", C_U64, &t->traces, 0},
		{"count()", C_U64, &t->images, 0},
		{"uniqExact(host)", C_U64, &t->hosts, 0},
		{"uniqExact(service)", C_U64, &t->services, 0},
		{"sum(allocations)", C_U64, &h->allocations, 0},
		{"sum(frees)", C_U64, &h->frees, 0},
		{"sum(allocated_bytes)", C_U64, &h->allocated_bytes, 0},
		{"max(peak_bytes)", C_U64, &h->peak_bytes, 0},
		{AT_PEAK("peak_count"), C_U64, &h->peak_count, 0},
		{AT_PEAK("intDiv(peak_time_ns, 1000)"), C_U64, &h->peak_time_us, 0},
		{AT_PEAK("concat(host, ' pid ', toString(pid), ' ', exe)"), C_TEXT, t->peak_where, sizeof t->peak_where},
		{"sum(leaked_bytes)", C_U64, &h->leaked_bytes, 0},
		{"sum(leaked_count)", C_U64, &h->leaked_count, 0},
		{"sum(live_now_bytes)", C_U64, &h->live_now_bytes, 0},
		{"sum(live_now_count)", C_U64, &h->live_now_count, 0},
		{"sum(temporary)", C_U64, &h->temporary, 0},
		{"sum(unknown_frees)", C_U64, &h->unknown_frees, 0},
		{"max(sample_bytes)", C_U64, &h->sample_bytes, 0},
		{"sum(heap_samples)", C_U64, &h->samples, 0},
		{"sum(lost_heap_samples)", C_U64, &h->lost_samples, 0},
		{"sum(allocated_var)", C_REAL, &h->allocated_var, 0},
		{"sumForEach(size_hist)", C_HIST, t->size_hist, 0},
		{"sum(cpu_samples)", C_U64, &t->samples[PROF_CPU], 0},
		{"sum(cpu_ns)", C_U64, &t->weight_ns[PROF_CPU], 0},
		{"sum(cpu_lost)", C_U64, &t->lost[PROF_CPU], 0},
		{"max(cpu_hz)", C_UINT, &t->hz[PROF_CPU], 0},
		{"sum(wall_samples)", C_U64, &t->samples[PROF_WALL], 0},
		{"sum(wall_ns)", C_U64, &t->weight_ns[PROF_WALL], 0},
		{"sum(wall_lost)", C_U64, &t->lost[PROF_WALL], 0},
		{"max(wall_hz)", C_UINT, &t->hz[PROF_WALL], 0},
		{"toInt64(min(start_time))", C_I64, &t->first_start, 0},
		{"toInt64(max(start_time))", C_I64, &t->last_start, 0},
		{"sum(maps)", C_U64, &t->maps, 0},
		{"sum(remaps)", C_U64, &t->remaps, 0},
		{"sum(unmaps)", C_U64, &t->unmaps, 0},
		{"sum(mapped_bytes)", C_U64, &t->mapped_bytes, 0},
		{"max(mapped_peak_bytes)", C_U64, &t->mapped_peak, 0},
		{"sumIf(mapped_live_at_end, end_reason != 'exec')", C_U64, &t->mapped_live_at_exit, 0},
		{"max(rss_peak_bytes)", C_U64, &t->rss_peak, 0},
		{AT_RSS_PEAK("heap_at_rss_peak"), C_U64, &t->rss_heap, 0},
		{AT_RSS_PEAK("mapped_at_rss_peak"), C_U64, &t->rss_mapped, 0},
		{"sum(damaged_regions)", C_U64, &x->damaged, 0},
		{"sum(skipped_bytes)", C_U64, &x->skipped_bytes, 0},
		{"sum(dropped_events)", C_U64, &x->dropped_events, 0},
		{"sum(unordered_events)", C_U64, &x->unordered_events, 0},
		{"sum(nested_allocations)", C_U64, &x->nested_allocs, 0},
		{"sum(nested_frees)", C_U64, &x->nested_frees, 0},
		{FIRST("trace_path", "damaged_regions > 0"), C_TEXT, t->damaged_trace, sizeof t->damaged_trace},
		{FIRST("damage_at", "damaged_regions > 0"), C_U64, &x->damaged_at, 0},
		{FIRST("damage_what", "damaged_regions > 0"), C_TEXT, t->damage_why, sizeof t->damage_why},
		{FIRST("unordered_why", "unordered_events > 0"), C_TEXT, t->unordered_why, sizeof t->unordered_why},
	};
#undef AT_PEAK
#undef AT_RSS_PEAK
#undef FIRST
	size_t ncols = sizeof cols / sizeof *cols;
	struct strbuf q = {0};
	for (size_t i = 0; i < ncols; i++)
		sb_printf(&q, "%s%s", i ? ", " : "SELECT ", cols[i].sql);
	sb_printf(&q, " FROM ldprof_images WHERE ");
	fleet_selection_sql(&q, f, NULL);
	json_t *rows = ch_select(c, q.s);
	sb_free(&q);
	if (!rows)
		return fail(c, err, n);
	const json_t *r = json_array_get(rows, 0);
	for (size_t i = 0; r && ch_u64(r, 0) && i < ncols; i++) {
		const struct total_col *col = &cols[i];
		switch (col->type) {
		case C_U64: *(uint64_t *)col->to = ch_u64(r, i); break;
		case C_UINT: *(unsigned *)col->to = (unsigned)ch_u64(r, i); break;
		case C_I64: *(int64_t *)col->to = (int64_t)ch_u64(r, i); break;
		case C_REAL: *(double *)col->to = json_number_value(json_array_get(r, i)); break;
		case C_TEXT: snprintf(col->to, col->size, "%s", ch_str(r, i)); break;
		case C_HIST: {
			const json_t *hist = json_array_get(r, i);
			for (size_t k = 0; k < 65 && k < json_array_size(hist); k++)
				((uint64_t *)col->to)[k] = ch_u64(hist, k);
			break;
		}
		}
	}
	json_decref(rows);
	if (!t->traces)
		return 0;
	/* Each trace's peak is its highest image's; "inuse" adds those up. */
	sb_printf(&q, "SELECT sum(p) FROM (SELECT max(peak_bytes) AS p FROM ldprof_images WHERE ");
	fleet_selection_sql(&q, f, NULL);
	sb_printf(&q, " GROUP BY trace_id)");
	rows = ch_select(c, q.s);
	sb_free(&q);
	if (!rows)
		return fail(c, err, n);
	t->peak_sum = ch_u64(json_array_get(rows, 0), 0);
	json_decref(rows);
	return 0;
}

/* ---- keys ---- */

/* The key of the site frame (stored first), as flat_key makes it. */
static const char *site_key_sql(enum group_by by)
{
	switch (by) {
	case BY_FUNCTION: return "if(empty(functions), '(no stack)', functions[1])";
	case BY_LINE:
		return "if(empty(functions), '(no stack)', if(files[1] = '', functions[1],"
		       " concat(files[1], ':', toString(lines[1]))))";
	case BY_FILE:
		return "if(empty(functions), '(no stack)', if(files[1] = '', concat('[', modules[1], ']'), files[1]))";
	case BY_MODULE: return "if(empty(functions), '(no stack)', modules[1])";
	case BY_TRACEBACK: break;
	}
	return "if(empty(functions), '(no stack)', arrayStringConcat(arrayMap((fn_, fi_, l_) -> if(fi_ = '', fn_,"
	       " concat(fn_, ' (', fi_, ':', toString(l_), ')')), functions, files, lines), ' < '))";
}

/* The key of one frame (fn, fi, l, m: the columns ARRAY JOINed from a stack). */
static const char *frame_key_sql(enum group_by by)
{
	switch (by) {
	case BY_FUNCTION: return "if(empty(functions), '(no stack)', fn)";
	case BY_LINE: return "if(empty(functions), '(no stack)', if(fi = '', fn, concat(fi, ':', toString(l))))";
	case BY_FILE: return "if(empty(functions), '(no stack)', if(fi = '', concat('[', m, ']'), fi))";
	case BY_MODULE: return "if(empty(functions), '(no stack)', m)";
	case BY_TRACEBACK: break;
	}
	return site_key_sql(BY_TRACEBACK);
}

static void figure_list(struct strbuf *b, unsigned figures)
{
	int first = 1;
	sb_printf(b, "figure IN (");
	for (int f = 1; f < FF_NFIGURES; f++)
		if (figures & (1u << f)) {
			sb_printf(b, "%s'%s'", first ? "" : ", ", fleet_figure_name((enum fleet_figure)f));
			first = 0;
		}
	if (first)
		sb_printf(b, "''");
	sb_printf(b, ")");
}

/* Steps 1 and 2: per stack, the sums named in `sums` ("sumIf(...) AS x, ..."),
 * joined with the stack's frames. */
static void per_stack_sql(struct strbuf *b, const char *sums, const char *where)
{
	sb_printf(b,
		  "SELECT * FROM (SELECT stack_id, %s FROM ldprof_values WHERE %s GROUP BY stack_id)"
		  " ANY LEFT JOIN (SELECT stack_id, functions, files, lines, modules, inlined FROM ldprof_stacks"
		  " WHERE stack_id IN (SELECT stack_id FROM ldprof_values WHERE %s)) USING stack_id",
		  sums, where, where);
}

/* ---- groups ---- */

static const char GROUP_SUMS[] =
	"sumIf(count, figure = 'alloc') AS alloc_n, sumIf(value, figure = 'alloc') AS alloc_b,"
	" sumIf(value, figure = 'frees') AS frees_n, sumIf(value, figure = 'inuse') AS inuse_b,"
	" sumIf(count, figure = 'inuse') AS inuse_n, sumIf(value, figure = 'leaked') AS leaked_b,"
	" sumIf(count, figure = 'leaked') AS leaked_n, sumIf(value, figure = 'temporary') AS temp_n,"
	" sumIf(count, figure = 'cpu') AS cpu_n, sumIf(value, figure = 'cpu') AS cpu_ns,"
	" sumIf(count, figure = 'wall') AS wall_n, sumIf(value, figure = 'wall') AS wall_ns,"
	" sumIf(count, figure = 'mapped') AS maps_n, sumIf(value, figure = 'mapped') AS mapped_b,"
	" sumIf(value, figure = 'mapped_peak') AS mpeak_b, sumIf(value, figure = 'mapped_live') AS mlive_b";

int fleet_query_groups(struct ch *c, const struct fleet_filter *f, enum group_by by, unsigned figures,
		       struct fleet_names *nm, struct grouping *g, char *err, size_t n)
{
	struct strbuf where = {0}, q = {0};
	figure_list(&where, figures & ~((1u << FF_CPU_AGENT) | (1u << FF_WALL_AGENT)));
	sb_printf(&where, " AND ");
	fleet_selection_sql(&where, f, NULL);

	/* Self: the site frame's key. */
	/* A traceback group shows its frames; other keys need only the site's. */
	sb_printf(&q,
		  "SELECT %s AS key, sum(alloc_n), sum(alloc_b), sum(frees_n), sum(inuse_b), sum(inuse_n),"
		  " sum(leaked_b), sum(leaked_n), sum(temp_n), sum(cpu_n), sum(cpu_ns), sum(wall_n), sum(wall_ns),"
		  " sum(maps_n), sum(mapped_b), sum(mpeak_b), sum(mlive_b),"
		  " any(functions[1]), any(files[1]), any(lines[1]), any(modules[1]), %s FROM (",
		  site_key_sql(by),
		  by == BY_TRACEBACK ? "any(functions), any(files), any(lines), any(modules), any(inlined)"
				     : "emptyArrayString(), emptyArrayString(), emptyArrayUInt32(), emptyArrayString(),"
				       " emptyArrayUInt8()");
	per_stack_sql(&q, GROUP_SUMS, where.s);
	sb_printf(&q, ") GROUP BY key");
	json_t *rows = ch_select(c, q.s);
	sb_free(&q);
	if (!rows)
		goto fail;
	size_t i;
	json_t *r;
	struct sym_frame site;
	json_array_foreach(rows, i, r)
	{
		struct group *gr = grouping_get(g, name(nm, ch_str(r, 0)), site_at(nm, r, 17, &site));
		size_t k = 1;
		gr->allocations += ch_u64(r, k++);
		gr->allocated_bytes += ch_u64(r, k++);
		gr->frees += ch_u64(r, k++);
		gr->peak_bytes += ch_u64(r, k++);
		gr->peak_count += ch_u64(r, k++);
		gr->leaked_bytes += ch_u64(r, k++);
		gr->leaked_count += ch_u64(r, k++);
		gr->temporary += ch_u64(r, k++);
		for (int s = 0; s < 2; s++) {
			gr->self[s] += ch_u64(r, k++);
			gr->self_ns[s] += ch_u64(r, k++);
		}
		gr->maps += ch_u64(r, k++);
		gr->mapped_bytes += ch_u64(r, k++);
		gr->mapped_peak_bytes += ch_u64(r, k++);
		gr->mapped_live_bytes += ch_u64(r, k++);
		k += 4; /* the site, read above */
		if (by == BY_TRACEBACK && !gr->frames && json_array_size(json_array_get(r, k)))
			gr->frames = row_frames(nm, r, k, &gr->nframes);
	}
	json_decref(rows);

	/* Total: every distinct key on a sampled stack, once per stack. */
	unsigned samples = figures & ((1u << FF_CPU) | (1u << FF_WALL));
	if (samples) {
		sb_free(&where);
		figure_list(&where, samples);
		sb_printf(&where, " AND ");
		fleet_selection_sql(&where, f, NULL);
		const char *kx = frame_key_sql(by);
		sb_printf(&q,
			  "SELECT key, sum(cpu_n), sum(cpu_ns), sum(wall_n), sum(wall_ns), any(fn), any(fi), any(l), any(m)"
			  " FROM (SELECT stack_id, key, any(cpu_n) AS cpu_n, any(cpu_ns) AS cpu_ns, any(wall_n) AS wall_n,"
			  " any(wall_ns) AS wall_ns, any(fn) AS fn, any(fi) AS fi, any(l) AS l, any(m) AS m"
			  " FROM (SELECT stack_id, cpu_n, cpu_ns, wall_n, wall_ns, fn, fi, l, m, %s AS key FROM (",
			  kx);
		per_stack_sql(&q, GROUP_SUMS, where.s);
		sb_printf(&q, ") LEFT ARRAY JOIN functions AS fn, files AS fi, lines AS l, modules AS m)"
			      " GROUP BY stack_id, key) GROUP BY key");
		rows = ch_select(c, q.s);
		sb_free(&q);
		if (!rows)
			goto fail;
		json_array_foreach(rows, i, r)
		{
			/* (a traceback group's key is its whole stack: it has a group from the self query) */
			struct group *gr = grouping_get(g, name(nm, ch_str(r, 0)), site_at(nm, r, 5, &site));
			for (int s = 0; s < 2; s++) {
				gr->total[s] += ch_u64(r, 1 + 2 * s);
				gr->total_ns[s] += ch_u64(r, 2 + 2 * s);
			}
		}
		json_decref(rows);

		/* ldprof's own work: left out, counted. */
		sb_printf(&q, "SELECT figure, sum(count), sum(value) FROM ldprof_values WHERE figure IN ('cpu_agent', "
			      "'wall_agent') AND ");
		fleet_selection_sql(&q, f, NULL);
		sb_printf(&q, " GROUP BY figure");
		rows = ch_select(c, q.s);
		sb_free(&q);
		if (!rows)
			goto fail;
		json_array_foreach(rows, i, r)
		{
			int k = !strcmp(ch_str(r, 0), "wall_agent");
			if (samples & (1u << (k ? FF_WALL : FF_CPU))) {
				g->agent_samples[k] += ch_u64(r, 1);
				g->agent_ns[k] += ch_u64(r, 2);
			}
		}
		json_decref(rows);
	}
	sb_free(&where);
	return 0;
fail:
	sb_free(&where);
	return fail(c, err, n);
}

/* ---- stacks ---- */

/* v over `traces` traces, per trace (rounded), when mean. */
static uint64_t per_trace(uint64_t v, uint64_t traces, int mean)
{
	if (!mean || !traces)
		return v;
	return (v + traces / 2) / traces;
}


int fleet_query_stacks(struct ch *c, const struct fleet_filter *f, enum ws_what what, uint64_t per,
		       struct fleet_names *nm, struct wstack_set *ws, char *err, size_t n)
{
	static const enum fleet_figure fig[WS_NWHAT] = {
		[WS_ALLOC] = FF_ALLOC, [WS_INUSE] = FF_INUSE, [WS_LEAKED] = FF_LEAKED,
		[WS_TEMPORARY] = FF_TEMPORARY, [WS_CPU] = FF_CPU, [WS_WALL] = FF_WALL,
	};
	/* The weight and count of model/wstack.c: the figure's value and count. */
	ws_init(ws, what);
	struct strbuf where = {0}, q = {0};
	figure_list(&where, 1u << fig[what]);
	sb_printf(&where, " AND ");
	fleet_selection_sql(&where, f, NULL);
	sb_printf(&q, "SELECT w, c, functions, files, lines, modules, inlined FROM (");
	per_stack_sql(&q, "sum(value) AS w, sum(count) AS c", where.s);
	sb_printf(&q, ") WHERE w != 0");
	json_t *rows = ch_select(c, q.s);
	sb_free(&q);
	sb_free(&where);
	if (!rows)
		return fail(c, err, n);
	size_t i;
	json_t *r;
	const struct sym_frame **rev = NULL;
	size_t rev_cap = 0;
	json_array_foreach(rows, i, r)
	{
		uint64_t w = per_trace(ch_u64(r, 0), per, 1);
		if (!w)
			continue; /* as model/wstack.c: no stack of weight 0 */
		unsigned k;
		const struct sym_frame **fr = row_frames(nm, r, 2, &k);
		vec_reserve((void **)&rev, &rev_cap, k + 1, sizeof *rev);
		for (unsigned j = 0; j < k; j++)
			rev[j] = fr[k - 1 - j];
		ws_add(ws, rev, k, w, per_trace(ch_u64(r, 1), per, 1));
		free(fr);
	}
	free(rev);
	json_decref(rows);
	return 0;
}

/* ---- diff ---- */

int fleet_query_diff(struct ch *c, const struct fleet_filter *f, const struct fleet_diff_q *dq, struct fleet_names *nm,
		     struct diff *d, uint64_t ntraces[2], char *err, size_t n)
{
	struct strbuf sel[2] = {{0}}, where = {0}, sums = {0}, q = {0};
	for (int s = 0; s < 2; s++)
		fleet_selection_sql(&sel[s], f, dq->side_label[s]);

	/* Traces per side. */
	sb_printf(&q, "SELECT countIf(%s), countIf(%s) FROM ldprof_images WHERE image = 0", sel[0].s, sel[1].s);
	json_t *rows = ch_select(c, q.s);
	sb_free(&q);
	if (!rows)
		goto fail;
	for (int s = 0; s < 2; s++)
		ntraces[s] = ch_u64(json_array_get(rows, 0), (size_t)s);
	json_decref(rows);

	sb_printf(&where, "figure = '%s'", fleet_figure_name(dq->figure));
	if (dq->figure == FF_SNAPSHOT) {
		sb_printf(&where, " AND snapshot = ");
		ch_quote(&where, dq->snapshot ? dq->snapshot : "");
	}
	sb_printf(&where, " AND (%s OR %s)", sel[0].s, sel[1].s);
	sb_printf(&sums,
		  "sumIf(value, %s) AS v0, sumIf(count, %s) AS c0, sumIf(value, %s) AS v1, sumIf(count, %s) AS c1",
		  sel[0].s, sel[0].s, sel[1].s, sel[1].s);

	/* Totals: every stack once. */
	sb_printf(&q, "SELECT %s FROM ldprof_values WHERE %s", sums.s, where.s);
	rows = ch_select(c, q.s);
	sb_free(&q);
	if (!rows)
		goto fail;
	for (int s = 0; s < 2; s++) {
		d->size[s] = per_trace(ch_u64(json_array_get(rows, 0), (size_t)(2 * s)), ntraces[s], dq->mean);
		d->count[s] = per_trace(ch_u64(json_array_get(rows, 0), (size_t)(2 * s + 1)), ntraces[s], dq->mean);
	}
	json_decref(rows);

	if (dq->cumulative && dq->by != BY_TRACEBACK) {
		sb_printf(&q,
			  "SELECT key, sum(v0), sum(c0), sum(v1), sum(c1), any(fn), any(fi), any(l), any(m) FROM"
			  " (SELECT stack_id, key, any(v0) AS v0, any(c0) AS c0, any(v1) AS v1, any(c1) AS c1, any(fn) AS fn,"
			  " any(fi) AS fi, any(l) AS l, any(m) AS m FROM (SELECT stack_id, v0, c0, v1, c1, fn, fi, l, m,"
			  " %s AS key FROM (",
			  frame_key_sql(dq->by));
		per_stack_sql(&q, sums.s, where.s);
		sb_printf(&q, ") LEFT ARRAY JOIN functions AS fn, files AS fi, lines AS l, modules AS m)"
			      " GROUP BY stack_id, key) GROUP BY key");
	} else {
		sb_printf(&q,
			  "SELECT %s AS key, sum(v0), sum(c0), sum(v1), sum(c1), any(functions[1]), any(files[1]),"
			  " any(lines[1]), any(modules[1]) FROM (",
			  site_key_sql(dq->by));
		per_stack_sql(&q, sums.s, where.s);
		sb_printf(&q, ") GROUP BY key");
	}
	rows = ch_select(c, q.s);
	sb_free(&q);
	if (!rows)
		goto fail;
	size_t i;
	json_t *r;
	struct sym_frame site;
	json_array_foreach(rows, i, r)
	{
		struct diff_row *row = diff_row_get(d, name(nm, ch_str(r, 0)), site_at(nm, r, 5, &site));
		for (int s = 0; s < 2; s++) {
			row->size[s] += per_trace(ch_u64(r, 1 + 2 * (size_t)s), ntraces[s], dq->mean);
			row->count[s] += per_trace(ch_u64(r, 2 + 2 * (size_t)s), ntraces[s], dq->mean);
		}
	}
	json_decref(rows);
	for (int s = 0; s < 2; s++)
		sb_free(&sel[s]);
	sb_free(&where);
	sb_free(&sums);
	return 0;
fail:
	for (int s = 0; s < 2; s++)
		sb_free(&sel[s]);
	sb_free(&where);
	sb_free(&sums);
	return fail(c, err, n);
}
