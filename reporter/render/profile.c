/*
 * profile.c - call-profile views of the CPU and wall-clock samples: the call
 * tree, callers and callees of a function, cost per source line inside a
 * function (what line_profiler shows for Python), and samples per thread.
 *
 * Frames are functions (inline frames included, as their own functions);
 * a function matches FUNC when its name is FUNC or matches it as a glob.
 * In a stack where FUNC appears more than once (recursion), the innermost
 * occurrence is the one that counts, so every sample counts once.
 */
#define _GNU_SOURCE
#include "profile.h"

#include <fnmatch.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/units.h"

static const char *kind_name(int k)
{
	return k == PROF_CPU ? "cpu" : "wall";
}

/* The program's samples: ldprof's own work is left out (flat_agent_work). */
static uint64_t total_samples(const struct report *r, int k)
{
	return r->samples[k] - r->groups.agent_samples[k];
}

/* Call f for every sampled stack of kind k, flattened, with its sample count. */
typedef void (*stack_fn)(void *ctx, const struct flat *fl, uint64_t samples);

static void each_stack(const struct report *r, int k, stack_fn f, void *ctx)
{
	struct flat fl = {0};
	for (size_t t = 0; t < r->ntraces; t++) {
		const struct loaded *lt = &r->traces[t];
		for (size_t s = 0; s < lt->m.nsegs; s++) {
			const struct tm_segment *seg = &lt->m.segs[s];
			const struct prof_kind *pk = &seg->prof.k[k];
			for (size_t id = 0; id < pk->nstacks && id < seg->nstacks; id++) {
				if (!pk->stacks[id].samples)
					continue;
				flat_stack(&fl, lt->spaces[s], &seg->stacks[id], 1);
				if (flat_agent_work(&fl) || !flat_passes(&fl, &r->gopts))
					continue;
				f(ctx, &fl, pk->stacks[id].samples);
			}
		}
	}
	flat_free(&fl);
}

static int matches(const char *fn, const char *pattern)
{
	return fn && (!strcmp(fn, pattern) || !fnmatch(pattern, fn, 0));
}

/* ---- the call tree ---- */

struct node {
	const char *fn, *file;
	unsigned line;
	uint64_t total, self;
	size_t parent;
	size_t first_child, next_sibling; /* index + 1; 0 = none */
};

struct tree {
	struct node *n;
	size_t len, cap;
	struct u64map index; /* hash(parent, function) -> node index + 1 */
};

struct child_key {
	const struct tree *t;
	size_t parent;
	const char *fn;
};

static int same_child(const void *ctx, uint64_t val)
{
	const struct child_key *k = ctx;
	return k->t->n[val - 1].parent == k->parent && k->t->n[val - 1].fn == k->fn;
}

static size_t child_of(struct tree *t, size_t parent, const struct sym_frame *f)
{
	uint64_t hash = hash_u64((uint64_t)parent + 1) ^ (uint64_t)(uintptr_t)f->function;
	struct child_key key = {t, parent, f->function};
	uint64_t *slot = u64map_find(&t->index, hash, same_child, &key);
	if (slot)
		return *slot - 1;
	VEC_PUSH(t->n, t->len, t->cap, ((struct node){.fn = f->function, .file = f->file, .line = f->line, .parent = parent}));
	size_t i = t->len - 1;
	t->n[i].next_sibling = t->n[parent].first_child;
	t->n[parent].first_child = i + 1;
	u64map_add(&t->index, hash, i + 1);
	return i;
}

static void tree_add(void *ctx, const struct flat *fl, uint64_t samples)
{
	struct tree *t = ctx;
	size_t at = 0; /* the root */
	t->n[0].total += samples;
	for (unsigned i = fl->n; i-- > 0;) {
		at = child_of(t, at, fl->f[i]);
		t->n[at].total += samples;
	}
	t->n[at].self += samples;
}

static int by_total_desc(const void *a, const void *b)
{
	const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;
	return x->total < y->total ? 1 : x->total > y->total ? -1 : strcmp(x->fn, y->fn);
}

static void tree_print(struct strbuf *b, struct tree *t, size_t at, unsigned depth, uint64_t all, double min_pct)
{
	size_t nkids = 0;
	for (size_t c = t->n[at].first_child; c; c = t->n[c - 1].next_sibling)
		nkids++;
	const struct node **kids = xmalloc((nkids ? nkids : 1) * sizeof *kids);
	nkids = 0;
	for (size_t c = t->n[at].first_child; c; c = t->n[c - 1].next_sibling)
		kids[nkids++] = &t->n[c - 1];
	qsort(kids, nkids, sizeof *kids, by_total_desc);
	size_t hidden = 0;
	uint64_t hidden_samples = 0;
	for (size_t i = 0; i < nkids; i++) {
		const struct node *k = kids[i];
		double pct = 100.0 * (double)k->total / (double)all;
		if (pct < min_pct) {
			hidden++;
			hidden_samples += k->total;
			continue;
		}
		char nm[FMT_NAME_MAX];
		sb_printf(b, "  %6.1f%% %6.1f%%  %*s%s", pct, 100.0 * (double)k->self / (double)all, (int)(2 * depth), "",
			  fmt_name(nm, sizeof nm, k->fn));
		if (k->file) {
			const char *slash = strrchr(k->file, '/');
			sb_printf(b, "  %s:%u", slash ? slash + 1 : k->file, k->line);
		}
		sb_putc(b, '\n');
		tree_print(b, t, (size_t)(k - t->n), depth + 1, all, min_pct);
	}
	if (hidden)
		sb_printf(b, "  %6.1f%%          %*s(%zu more below %.1f%%)\n", 100.0 * (double)hidden_samples / (double)all,
			  (int)(2 * depth), "", hidden, min_pct);
	free(kids);
}

void render_profile_tree(struct strbuf *b, const struct report *r, int k, double min_pct)
{
	if (!total_samples(r, k))
		return;
	struct tree t = {0};
	u64map_init(&t.index, 1024);
	VEC_PUSH(t.n, t.len, t.cap, ((struct node){.fn = "(root)"}));
	each_stack(r, k, tree_add, &t);
	sb_printf(b, "\n%s call tree (%s sample%s; total%%, self%%; below %.1f%% hidden)\n", kind_name(k),
		  fmt_count((char[32]){0}, total_samples(r, k)), total_samples(r, k) == 1 ? "" : "s", min_pct);
	tree_print(b, &t, 0, 0, total_samples(r, k), min_pct);
	free(t.n);
	u64map_free(&t.index);
}

/* ---- callers, callees, lines ---- */

/*
 * FUNC may be a glob matching several functions: each matched function is
 * a section of its own (its samples, its callers, callees or lines), never
 * merged under the first one's name. Rows are keyed by the matched
 * function and the row's own function, or for lines by the matched
 * function, the file and the line (lines of two files are two rows).
 * Names and files are interned (symbolizer.h): pointers compare.
 */
struct tally {
	const char *pattern;
	int mode; /* 0 callers, 1 callees, 2 lines */
	struct u64map index; /* hash of the row's key -> row + 1 */
	struct row {
		const char *func;      /* the matched function */
		const char *key, *file;
		const char *comp_dir;  /* lines: where a relative file is (DWARF) */
		unsigned line;
		uint64_t samples;
	} *rows;
	size_t n, cap;
	struct fsum {
		const char *func, *file; /* file: the function's own (lines) */
		uint64_t matched, self;
	} *funcs;
	size_t nfuncs, fcap;
	uint64_t matched;
};

struct row_key {
	const struct tally *t;
	struct row r;
};

static int row_is(const void *ctx, uint64_t val)
{
	const struct row_key *k = ctx;
	const struct row *r = &k->t->rows[val - 1];
	return r->func == k->r.func && r->key == k->r.key && r->file == k->r.file && r->line == k->r.line;
}

static void tally_add(struct tally *t, const char *func, const char *key, const char *file, const char *comp_dir,
		      unsigned line, uint64_t samples)
{
	struct row_key k = {t, {func, key, file, comp_dir, line, 0}};
	uint64_t h = hash_u64((uint64_t)(uintptr_t)func ^ hash_u64((uint64_t)(uintptr_t)key));
	h = hash_u64(h ^ (uint64_t)(uintptr_t)file ^ ((uint64_t)line << 40));
	uint64_t *slot = u64map_find(&t->index, h, row_is, &k);
	if (!slot) {
		VEC_PUSH(t->rows, t->n, t->cap, k.r);
		slot = u64map_add(&t->index, h, t->n);
	}
	t->rows[*slot - 1].samples += samples;
}

static struct fsum *func_sum(struct tally *t, const struct sym_frame *f)
{
	for (size_t i = 0; i < t->nfuncs; i++)
		if (t->funcs[i].func == f->function)
			return &t->funcs[i];
	VEC_PUSH(t->funcs, t->nfuncs, t->fcap, ((struct fsum){f->function, f->file, 0, 0}));
	return &t->funcs[t->nfuncs - 1];
}

static void tally_stack(void *ctx, const struct flat *fl, uint64_t samples)
{
	struct tally *t = ctx;
	for (unsigned i = 0; i < fl->n; i++) {
		const struct sym_frame *f = fl->f[i];
		if (!matches(f->function, t->pattern))
			continue;
		/* the innermost occurrence: every sample counts once */
		struct fsum *fs = func_sum(t, f);
		t->matched += samples;
		fs->matched += samples;
		if (i == 0)
			fs->self += samples;
		if (!fs->file)
			fs->file = f->file;
		if (t->mode == 0) {
			const struct sym_frame *c = i + 1 < fl->n ? fl->f[i + 1] : NULL;
			tally_add(t, f->function, c ? c->function : "(root)", c ? c->file : NULL, NULL, c ? c->line : 0,
				  samples);
		} else if (t->mode == 1) {
			const struct sym_frame *c = i > 0 ? fl->f[i - 1] : NULL;
			tally_add(t, f->function, c ? c->function : "(self)", c ? c->file : NULL, NULL, c ? c->line : 0,
				  samples);
		} else {
			tally_add(t, f->function, f->function, f->file, f->comp_dir, f->line, samples);
		}
		return;
	}
}

static int by_samples_desc(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return x->samples < y->samples ? 1 : x->samples > y->samples ? -1 : strcmp(x->key, y->key);
}

static int by_file_line(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

static int by_matched_desc(const void *a, const void *b)
{
	const struct fsum *x = a, *y = b;
	return x->matched < y->matched ? 1 : x->matched > y->matched ? -1 : strcmp(x->func, y->func);
}

/* Source lines for --lines, from the file at path. */
static char **read_source(const char *path, size_t *nlines)
{
	*nlines = 0;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return NULL;
	char **lines = NULL;
	size_t cap = 0;
	char *line = NULL;
	size_t len = 0;
	ssize_t got;
	while ((got = getline(&line, &len, f)) >= 0) {
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		VEC_PUSH(lines, *nlines, cap, xstrdup(line));
	}
	free(line);
	fclose(f);
	return lines;
}

static int readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * Where a frame's source file is on this machine, as a debugger looks:
 * an absolute name as it is; a relative one under DWARF's compilation
 * directory (gcc records "src/x.c" and the directory it ran in), then
 * relative to here. Then under each --source-dir DIR: the name (relative,
 * or with the compilation directory taken off), then with its leading
 * directories taken off one by one (a tree checked out elsewhere).
 * @return malloc'd path, or NULL.
 */
char *profile_find_source(const char *file, const char *comp_dir, const char *const *dirs, size_t ndirs)
{
	if (!file || !*file)
		return NULL;
	struct strbuf p = {0};
	if (file[0] == '/') {
		if (readable(file))
			return xstrdup(file);
	} else {
		if (comp_dir && *comp_dir) {
			sb_printf(&p, "%s/%s", comp_dir, file);
			if (readable(p.s))
				return p.s;
			p.len = 0;
		}
		if (readable(file)) {
			sb_free(&p);
			return xstrdup(file);
		}
	}
	const char *rel = file;
	size_t cl = comp_dir ? strlen(comp_dir) : 0;
	if (file[0] == '/' && cl && !strncmp(file, comp_dir, cl) && file[cl] == '/')
		rel = file + cl + 1;
	for (size_t d = 0; d < ndirs; d++) {
		for (const char *tail = rel; tail; tail = strchr(tail, '/') ? strchr(tail, '/') + 1 : NULL) {
			while (*tail == '/')
				tail++;
			if (!*tail)
				break;
			p.len = 0;
			sb_printf(&p, "%s/%s", dirs[d], tail);
			if (readable(p.s))
				return p.s;
		}
	}
	sb_free(&p);
	return NULL;
}

static void free_source(char **src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(src[i]);
	free(src);
}

/* One matched function's rows (rows[0..n), all of fs->func). */
static void focus_rows(struct strbuf *b, const struct fsum *fs, int mode, struct row *rows, size_t n, const char *ind,
		       const struct focus_opts *o)
{
	char x[32], nm[FMT_NAME_MAX];
	if (mode < 2) {
		qsort(rows, n, sizeof *rows, by_samples_desc);
		for (size_t i = 0; i < n; i++) {
			sb_printf(b, "%s  %9s %6.1f%%  %s", ind, fmt_count(x, rows[i].samples),
				  100.0 * (double)rows[i].samples / (double)fs->matched, fmt_name(nm, sizeof nm, rows[i].key));
			if (rows[i].file) {
				const char *slash = strrchr(rows[i].file, '/');
				sb_printf(b, "  %s:%u", slash ? slash + 1 : rows[i].file, rows[i].line);
			}
			sb_putc(b, '\n');
		}
		return;
	}
	/* lines: by file, then line; a heading per file, with its source when found */
	qsort(rows, n, sizeof *rows, by_file_line);
	for (size_t i = 0; i < n;) {
		const char *file = rows[i].file;
		size_t nsrc = 0;
		char *path = profile_find_source(file, rows[i].comp_dir, o->source_dirs, o->nsource_dirs);
		char **src = read_source(path, &nsrc);
		sb_printf(b, "%s  %s", ind, file ? file : "(no line information)");
		if (path && strcmp(path, file))
			sb_printf(b, "  (source: %s)", path);
		else if (file && !src)
			sb_printf(b, "  (source not found here: --source-dir DIR says where)");
		sb_printf(b, "\n%s  %6s %9s %7s  %s\n", ind, "line", "samples", "%", src ? "source" : "");
		free(path);
		for (; i < n && rows[i].file == file; i++) {
			unsigned ln = rows[i].line;
			sb_printf(b, "%s  %6u %9s %6.1f%%  %s\n", ind, ln, fmt_count(x, rows[i].samples),
				  100.0 * (double)rows[i].samples / (double)fs->matched,
				  src && ln && ln <= nsrc ? src[ln - 1] : "");
		}
		free_source(src, nsrc);
	}
}

void render_profile_focus(struct strbuf *b, const struct report *r, int k, int mode, const char *pattern,
			  const struct focus_opts *o)
{
	uint64_t all = total_samples(r, k);
	if (!all)
		return;
	struct tally t = {.pattern = pattern, .mode = mode};
	u64map_init(&t.index, 64);
	each_stack(r, k, tally_stack, &t);
	static const char *what[] = {"callers of", "callees of", "cost per line in"};
	char x[32], nm[FMT_NAME_MAX];
	if (!t.matched) {
		sb_printf(b, "\n%s: %s %s\n  (no sample has %s on its stack)\n", kind_name(k), what[mode], pattern, pattern);
	} else if (t.nfuncs > 1) {
		sb_printf(b, "\n%s: %s %s: %zu functions match (%s sample%s, %.1f%% of all)\n", kind_name(k), what[mode],
			  pattern, t.nfuncs, fmt_count(x, t.matched), t.matched == 1 ? "" : "s",
			  100.0 * (double)t.matched / (double)all);
	}
	qsort(t.funcs, t.nfuncs, sizeof *t.funcs, by_matched_desc);
	/* rows grouped by their matched function */
	struct row *mine = xmalloc((t.n ? t.n : 1) * sizeof *mine);
	for (size_t f = 0; f < t.nfuncs; f++) {
		const struct fsum *fs = &t.funcs[f];
		size_t n = 0;
		for (size_t i = 0; i < t.n; i++)
			if (t.rows[i].func == fs->func)
				mine[n++] = t.rows[i];
		const char *ind = t.nfuncs > 1 ? "  " : "";
		if (t.nfuncs > 1)
			sb_printf(b, "\n  %s (%s sample%s, %.1f%% of all; self %.1f%%)\n", fmt_name(nm, sizeof nm, fs->func),
				  fmt_count(x, fs->matched),
				  fs->matched == 1 ? "" : "s", 100.0 * (double)fs->matched / (double)all,
				  100.0 * (double)fs->self / (double)all);
		else
			sb_printf(b, "\n%s: %s %s (%s sample%s, %.1f%% of all; self %.1f%%)\n", kind_name(k), what[mode],
				  fmt_name(nm, sizeof nm, fs->func), fmt_count(x, fs->matched), fs->matched == 1 ? "" : "s",
				  100.0 * (double)fs->matched / (double)all, 100.0 * (double)fs->self / (double)all);
		focus_rows(b, fs, mode, mine, n, ind, o);
	}
	free(mine);
	free(t.rows);
	free(t.funcs);
	u64map_free(&t.index);
}

/* ---- threads ---- */

void render_profile_threads(struct strbuf *b, const struct report *r)
{
	char x[32], y[32];
	sb_printf(b, "\nthreads\n  %8s  %-16s %10s %10s %9s\n", "tid", "name", "cpu", "wall", "waiting");
	for (size_t t = 0; t < r->ntraces; t++)
		for (size_t s = 0; s < r->traces[t].m.nsegs; s++) {
			const struct profile *p = &r->traces[t].m.segs[s].prof;
			for (size_t i = 0; i < p->nthreads; i++) {
				const struct prof_thread *th = &p->threads[i];
				if (!th->samples[0] && !th->samples[1])
					continue;
				sb_printf(b, "  %8u  %-16s %10s %10s", th->tid, *th->name ? th->name : "?",
					  fmt_count(x, th->samples[0]), fmt_count(y, th->samples[1]));
				if (th->samples[1])
					sb_printf(b, " %8.1f%%", 100.0 * (double)th->blocked / (double)th->samples[1]);
				sb_putc(b, '\n');
			}
		}
}

json_t *profile_threads_json(const struct report *r)
{
	json_t *a = json_array();
	for (size_t t = 0; t < r->ntraces; t++)
		for (size_t s = 0; s < r->traces[t].m.nsegs; s++) {
			const struct tm_segment *seg = &r->traces[t].m.segs[s];
			for (size_t i = 0; i < seg->prof.nthreads; i++) {
				const struct prof_thread *th = &seg->prof.threads[i];
				json_t *o = json_object();
				json_object_set_new(o, "pid", json_u64(seg->info.pid));
				json_object_set_new(o, "tid", json_integer(th->tid));
				json_object_set_new(o, "name", json_text(th->name));
				json_object_set_new(o, "cpu", json_pack("{so}", "sample_count", json_u64(th->samples[0])));
				json_object_set_new(o, "wall", json_pack("{soso}", "sample_count", json_u64(th->samples[1]),
									 "blocked_sample_count", json_u64(th->blocked)));
				json_array_append_new(a, o);
			}
		}
	return a;
}
