/*
 * push.c - see push.h.
 *
 * Rows travel as JSONEachRow, built with render/json.h: text that is not
 * valid UTF-8 (a path or a symbol from another machine) has its stray bytes
 * replaced by U+FFFD, so the store only ever holds valid UTF-8 and every
 * reader of it (ldprof fleet, a JSON client) can parse what it returns.
 * The store's columns are not Nullable: absent text is ''.
 */
#define _GNU_SOURCE
#include "push.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "render/json.h"
#include "store/schema.h"
#include "util/util.h"

/* Text for a column: '' for none. */
static json_t *jstr(const char *s)
{
	return json_text(s ? s : "");
}

static void day_of(uint64_t ns, char out[16])
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 16, "%Y-%m-%d", &tm))
		snprintf(out, 16, "1970-01-01");
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p ? p : "";
}

static const char *mode_name(int mode)
{
	return mode == LDP_MODE_SAMPLED ? "sampled" : mode == LDP_MODE_OFF ? "off" : "full";
}

/* Append a row as one line of JSONEachRow; takes the reference. */
static void put_row(struct strbuf *b, json_t *row)
{
	sb_json(b, row);
	sb_putc(b, '\n');
}

/* Who the trace is (service, host, labels), as the image rows carry it:
 * the options, or the trace's own defaults. */
struct who {
	json_t *service, *host, *label_keys, *label_values;
};

static void who_of(struct who *w, const struct fleet_trace *ft, const struct push_meta *meta)
{
	const struct rd_segment *first = &ft->images[0].seg->info;
	w->service = jstr(meta->service ? meta->service : base_name(first->exe));
	w->host = jstr(meta->host ? meta->host : first->hostname);
	w->label_keys = json_array();
	w->label_values = json_array();
	for (size_t l = 0; l < meta->nlabels; l++) {
		json_array_append_new(w->label_keys, jstr(meta->label_keys[l]));
		json_array_append_new(w->label_values, jstr(meta->label_values[l]));
	}
}

static void who_free(struct who *w)
{
	json_decref(w->service);
	json_decref(w->host);
	json_decref(w->label_keys);
	json_decref(w->label_values);
}

struct pusher {
	struct ch *c;
	const struct fleet_trace *ft;
	struct who who;
	const struct push_opts *o;
	uint64_t push_id, pushed_ns;
	char day[16];
	size_t done, total, batch_rows;
	struct strbuf batch;
	size_t in_batch, batch_first;
	const char *table;
	struct push_result *res;
};

static int flush_batch(struct pusher *p)
{
	if (!p->in_batch)
		return 0;
	char sql[96];
	snprintf(sql, sizeof sql, "INSERT INTO %s FORMAT JSONEachRow", p->table);
	if (ch_insert(p->c, sql, p->batch.s, p->batch.len)) {
		snprintf(p->res->err, sizeof p->res->err, "inserting rows %zu-%zu into %s: %s", p->batch_first + 1,
			 p->batch_first + p->in_batch, p->table, ch_error(p->c));
		return -1;
	}
	p->done += p->in_batch;
	p->in_batch = 0;
	p->batch.len = 0;
	if (p->o->progress)
		p->o->progress(p->o->progress_ctx, p->done, p->total);
	return 0;
}

static int add_row(struct pusher *p, json_t *row)
{
	if (!p->in_batch)
		p->batch_first = p->done;
	put_row(&p->batch, row);
	if (++p->in_batch >= p->batch_rows)
		return flush_batch(p);
	return 0;
}

static json_t *stack_row(const struct pusher *p, const struct fleet_stack *st)
{
	json_t *fn = json_array(), *file = json_array(), *line = json_array(), *mod = json_array(),
	       *inl = json_array();
	for (unsigned i = 0; i < st->nframes; i++) {
		const struct sym_frame *f = st->frames[i];
		json_array_append_new(fn, jstr(f->function));
		json_array_append_new(file, jstr(f->file));
		json_array_append_new(line, json_u64(f->line));
		json_array_append_new(mod, jstr(f->module));
		json_array_append_new(inl, json_u64(f->inlined != 0));
	}
	json_t *r = json_object();
	json_object_set_new(r, "stack_id", json_u64(st->id));
	json_object_set_new(r, "trace_id", json_u64(p->ft->id));
	json_object_set_new(r, "day", json_text(p->day));
	json_object_set_new(r, "functions", fn);
	json_object_set_new(r, "files", file);
	json_object_set_new(r, "lines", line);
	json_object_set_new(r, "modules", mod);
	json_object_set_new(r, "inlined", inl);
	return r;
}

static json_t *value_row(const struct pusher *p, const struct fleet_value *v)
{
	const struct fleet_trace *ft = p->ft;
	json_t *r = json_object();
	json_object_set_new(r, "trace_id", json_u64(ft->id));
	json_object_set_new(r, "push_id", json_u64(p->push_id));
	json_object_set_new(r, "image", json_u64(v->image));
	json_object_set_new(r, "day", json_text(p->day));
	json_object_set_new(r, "figure", json_text(fleet_figure_name((enum fleet_figure)v->figure)));
	json_object_set_new(r, "snapshot", jstr(v->figure == FF_SNAPSHOT ? ft->snapshots[v->snapshot] : ""));
	json_object_set_new(r, "stack_id", json_u64(ft->stacks[v->stack].id));
	json_object_set_new(r, "value", json_u64(v->value));
	json_object_set_new(r, "count", json_u64(v->count));
	return r;
}

static json_t *image_row(const struct pusher *p, size_t i)
{
	const struct fleet_trace *ft = p->ft;
	const struct fleet_image *im = &ft->images[i];
	const struct tm_segment *seg = im->seg;
	const struct heap_totals *h = &seg->heap.t;
	const struct profile *pr = &seg->prof;
	json_t *r = json_object();
	json_object_set_new(r, "trace_id", json_u64(ft->id));
	json_object_set_new(r, "push_id", json_u64(p->push_id));
	json_object_set_new(r, "pushed_ns", json_u64(p->pushed_ns));
	json_object_set_new(r, "content", json_u64(ft->content));
	json_object_set_new(r, "image", json_u64(i));
	json_object_set_new(r, "day", json_text(p->day));
	json_object_set_new(r, "start_time", json_u64(seg->info.start_realtime_ns / 1000000000u));
	json_object_set_new(r, "start_ns", json_u64(seg->info.start_realtime_ns));
	json_object_set_new(r, "end_ns", json_u64(im->end_ns));
	json_object_set_new(r, "end_reason", jstr(seg->end_name));
	json_object_set_new(r, "end_signal", json_u64(seg->end.reason == LDP_END_SIGNAL ? (unsigned)seg->end.signal : 0));
	json_object_set(r, "service", p->who.service);
	json_object_set(r, "host", p->who.host);
	json_object_set(r, "label_keys", p->who.label_keys);
	json_object_set(r, "label_values", p->who.label_values);
	json_object_set_new(r, "pid", json_u64(seg->info.pid));
	json_object_set_new(r, "ppid", json_u64(seg->info.ppid));
	json_object_set_new(r, "exe", jstr(seg->info.exe));
	json_object_set_new(r, "cmdline", jstr(seg->info.cmdline));
	json_object_set_new(r, "build_id", json_text(im->build_id));
	json_object_set_new(r, "agent_version", jstr(seg->info.agent_version));
	json_object_set_new(r, "trace_path", jstr(ft->path));
	json_object_set_new(r, "mode", json_text(mode_name(seg->info.mode)));
	json_object_set_new(r, "sample_bytes", json_u64(h->sample_bytes));
	json_object_set_new(r, "allocations", json_u64(h->allocations));
	json_object_set_new(r, "frees", json_u64(h->frees));
	json_object_set_new(r, "allocated_bytes", json_u64(h->allocated_bytes));
	json_object_set_new(r, "peak_bytes", json_u64(h->peak_bytes));
	json_object_set_new(r, "peak_count", json_u64(h->peak_count));
	json_object_set_new(r, "peak_time_ns", json_u64(im->peak_time_ns));
	json_object_set_new(r, "leaked_bytes", json_u64(h->leaked_bytes));
	json_object_set_new(r, "leaked_count", json_u64(h->leaked_count));
	json_object_set_new(r, "live_now_bytes", json_u64(h->live_now_bytes));
	json_object_set_new(r, "live_now_count", json_u64(h->live_now_count));
	json_object_set_new(r, "temporary", json_u64(h->temporary));
	json_object_set_new(r, "unknown_frees", json_u64(h->unknown_frees));
	json_object_set_new(r, "heap_samples", json_u64(h->samples));
	json_object_set_new(r, "lost_heap_samples", json_u64(h->lost_samples));
	json_object_set_new(r, "allocated_var", json_real(h->allocated_var));
	json_t *hist = json_array();
	for (int k = 0; k < 65; k++)
		json_array_append_new(hist, json_u64(im->size_hist[k]));
	json_object_set_new(r, "size_hist", hist);
	static const char *const kind[2] = {"cpu", "wall"};
	for (int k = 0; k < PROF_KINDS; k++) {
		char name[32];
		snprintf(name, sizeof name, "%s_samples", kind[k]);
		json_object_set_new(r, name, json_u64(pr->k[k].samples));
		snprintf(name, sizeof name, "%s_ns", kind[k]);
		json_object_set_new(r, name, json_u64(pr->k[k].weight_ns));
		snprintf(name, sizeof name, "%s_lost", kind[k]);
		json_object_set_new(r, name, json_u64(pr->k[k].lost));
		snprintf(name, sizeof name, "%s_hz", kind[k]);
		json_object_set_new(r, name, json_u64(pr->has_setup ? (k == PROF_CPU ? pr->setup.cpu_hz : pr->setup.wall_hz) : 0));
	}
	const struct mapped_model *mm = &seg->mapped;
	json_object_set_new(r, "maps", json_u64(mm->maps));
	json_object_set_new(r, "remaps", json_u64(mm->remaps));
	json_object_set_new(r, "unmaps", json_u64(mm->unmaps));
	json_object_set_new(r, "mapped_bytes", json_u64(mm->mapped_bytes));
	json_object_set_new(r, "mapped_peak_bytes", json_u64(mm->peak_bytes));
	json_object_set_new(r, "mapped_live_at_end", json_u64(mm->live_at_end));
	json_object_set_new(r, "rss_peak_bytes", json_u64(mm->rss_peak));
	json_object_set_new(r, "heap_at_rss_peak", json_u64(mm->heap_at_rss_peak));
	json_object_set_new(r, "mapped_at_rss_peak", json_u64(mm->mapped_at_rss_peak));
	/* What could not be counted: the reading's figures are the trace's (on
	 * image 0), the nested ones each image's. */
	const struct rd_stats *st = ft->stats;
	int first = i == 0 && st;
	json_object_set_new(r, "damaged_regions", json_u64(first ? st->damaged : 0));
	json_object_set_new(r, "skipped_bytes", json_u64(first ? st->skipped_bytes : 0));
	json_object_set_new(r, "damage_at", json_u64(first && st->damaged ? st->damaged_at : 0));
	json_object_set_new(r, "damage_what", jstr(first && st->damaged ? st->damage_why : ""));
	json_object_set_new(r, "dropped_events", json_u64(first ? st->dropped_events : 0));
	json_object_set_new(r, "unordered_events", json_u64(first ? st->unordered_events : 0));
	json_object_set_new(r, "unordered_why", jstr(first && st->unordered_events ? st->unordered_why : ""));
	json_object_set_new(r, "nested_allocations", json_u64(h->lost_nested_allocs));
	json_object_set_new(r, "nested_frees", json_u64(h->lost_nested_frees));
	return r;
}

/* One try: stacks, values, then the image rows (the commit). */
static int push_once(struct pusher *p)
{
	const struct fleet_trace *ft = p->ft;
	p->done = 0;
	p->in_batch = 0;
	p->batch.len = 0;
	p->table = "ldprof_stacks";
	for (size_t i = 0; i < ft->nstacks; i++)
		if (add_row(p, stack_row(p, &ft->stacks[i])))
			return -1;
	if (flush_batch(p))
		return -1;
	p->table = "ldprof_values";
	for (size_t i = 0; i < ft->nvalues; i++)
		if (add_row(p, value_row(p, &ft->values[i])))
			return -1;
	if (flush_batch(p))
		return -1;
	/* All images in one INSERT of one block: they appear together or not at all. */
	p->table = "ldprof_images";
	for (size_t i = 0; i < ft->nimages; i++)
		put_row(&p->batch, image_row(p, i));
	p->in_batch = ft->nimages;
	p->batch_first = p->done;
	return flush_batch(p);
}

/* The latest push of this trace has this very content, service, host and labels. */
static int unchanged(struct ch *c, const struct fleet_trace *ft, const struct who *w, char *err, size_t errlen)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT content, service, host, label_keys, label_values FROM ldprof_images "
		 "WHERE trace_id = %llu AND image = 0 ORDER BY pushed_ns DESC, push_id DESC LIMIT 1",
		 (unsigned long long)ft->id);
	json_t *rows = ch_select(c, sql);
	if (!rows) {
		snprintf(err, errlen, "looking for an earlier push: %s", ch_error(c));
		return -1;
	}
	const json_t *row = json_array_get(rows, 0);
	int same = row && ch_u64(row, 0) == ft->content && json_equal(json_array_get(row, 1), w->service) &&
		   json_equal(json_array_get(row, 2), w->host) && json_equal(json_array_get(row, 3), w->label_keys) &&
		   json_equal(json_array_get(row, 4), w->label_values);
	json_decref(rows);
	return same;
}

static uint64_t random63(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		v = hash_u64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid());
	}
	v &= 0x7fffffffffffffffull;
	return v ? v : 1;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int fleet_push_prepare(struct ch *c, const struct push_opts *o, char *err, size_t errlen)
{
	unsigned attempts = o->attempts ? o->attempts : 3;
	unsigned backoff = o->backoff_ms ? o->backoff_ms : 500;
	for (unsigned a = 1;; a++) {
		if (!fleet_schema_create(c, err, errlen))
			return 0;
		/* A newer schema will not get older by trying again. */
		if (ch_failed(c) == CH_OK || a == attempts)
			break;
		sleep_ms(backoff);
		backoff *= 2;
	}
	if (ch_failed(c) != CH_OK && attempts > 1) {
		size_t l = strlen(err);
		snprintf(err + l, errlen - l, " (tried %u times)", attempts);
	}
	return -1;
}

void fleet_push(struct ch *c, const struct fleet_trace *ft, const struct push_meta *meta,
		const struct push_opts *o, struct push_result *res)
{
	memset(res, 0, sizeof *res);
	res->outcome = PUSH_FAILED;
	if (!ft->nimages) {
		snprintf(res->err, sizeof res->err, "the trace has no process image");
		return;
	}
	struct pusher p = {.c = c, .ft = ft, .o = o, .res = res};
	who_of(&p.who, ft, meta);
	p.batch_rows = o->batch_rows ? o->batch_rows : 100000;
	p.total = ft->nstacks + ft->nvalues + ft->nimages;
	res->rows = p.total;
	day_of(ft->start_ns, p.day);
	unsigned attempts = o->attempts ? o->attempts : 3;
	unsigned backoff = o->backoff_ms ? o->backoff_ms : 500;
	for (unsigned a = 1; a <= attempts; a++) {
		res->attempts = a;
		if (a > 1) {
			sleep_ms(backoff);
			backoff *= 2;
		}
		if (!o->force) {
			int same = unchanged(c, ft, &p.who, res->err, sizeof res->err);
			if (same < 0)
				continue;
			if (same) {
				res->outcome = PUSH_UNCHANGED;
				break;
			}
		}
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		p.pushed_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		p.push_id = random63();
		res->push_id = p.push_id;
		if (!push_once(&p)) {
			res->outcome = PUSH_DONE;
			res->err[0] = '\0';
			break;
		}
	}
	if (res->outcome == PUSH_FAILED && attempts > 1) {
		size_t l = strlen(res->err);
		snprintf(res->err + l, sizeof res->err - l, " (tried %u times)", attempts);
	}
	sb_free(&p.batch);
	who_free(&p.who);
}
