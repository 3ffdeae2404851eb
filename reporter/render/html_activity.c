/*
 * html_activity.c - the report page's activity data (see html.h): the heap
 * and sample figures of every group by thread and time bucket, so the
 * page's script can recompute its tables for one thread and a time range
 * dragged on a timeline.
 *
 * Each segment's activity cube (model/activity.h) is keyed by stack; here
 * every stack becomes the keys its figures count for, exactly as
 * grouping_add counts them (model/group.c): an allocation for its site's
 * key, a sample for its innermost frame's key (self) and every distinct key
 * on its stack (total). So the page, summing every cell, gets the report's
 * figures to the unit.
 *
 * The cells are written as JSON text straight into the page (a large trace
 * has hundreds of thousands); past MAX_CELLS, time buckets merge pairwise
 * until they fit, and the page says how wide they are.
 */
#include "html.h"

#include <stdlib.h>
#include <string.h>

#include "model/group.h"

enum { MAX_CELLS = 200000 };

/* Values per output cell, in this order (the page's script reads them so). */
enum {
	OUT_ALLOCS, OUT_BYTES, OUT_TEMPORARY,
	OUT_CPU_SELF_NS, OUT_CPU_TOTAL_NS, OUT_CPU_SAMPLES,
	OUT_WALL_SELF_NS, OUT_WALL_TOTAL_NS, OUT_WALL_SAMPLES,
	OUT_NVALUES
};

/* What one stack of one segment counts for, found when first needed. */
struct stack_keys {
	uint8_t site_done, sample_done;
	uint32_t site;             /* key index of its allocations; UINT32_MAX: filtered out */
	uint32_t *sample, nsample; /* key indices of its samples, self first; none: filtered, or ldprof's own */
};

struct out_cell {
	uint32_t key, thread, seg, bucket;
	uint64_t v[OUT_NVALUES];
};

struct builder {
	const struct report *r;
	struct symbolizer *sym;
	struct flat fl;
	struct flat_key_at *ka;
	size_t ka_cap;
	/* keys */
	const char **keys;
	size_t nkeys, keys_cap;
	struct u64map key_index; /* interned key -> index */
	/* output */
	struct out_cell *cells;
	size_t ncells, cells_cap;
	struct u64map cell_index;
};

static uint32_t key_of(struct builder *b, const char *key)
{
	uint64_t *k = u64map_get(&b->key_index, (uint64_t)(uintptr_t)key);
	if (k)
		return (uint32_t)*k;
	VEC_PUSH(b->keys, b->nkeys, b->keys_cap, key);
	u64map_put(&b->key_index, (uint64_t)(uintptr_t)key, b->nkeys - 1);
	return (uint32_t)(b->nkeys - 1);
}

/* An allocation's key: its site's (grouping_add). */
static void site_key(struct builder *b, const struct loaded *t, size_t s, uint32_t id, struct stack_keys *sk)
{
	const struct group_opts *o = &b->r->gopts;
	const struct tm_segment *seg = &t->m.segs[s];
	sk->site_done = 1;
	sk->site = UINT32_MAX;
	if (id >= seg->nstacks)
		return;
	flat_stack(&b->fl, t->spaces[s], &seg->stacks[id], o->by == BY_TRACEBACK || o->all_frames);
	if (flat_passes(&b->fl, o))
		sk->site = key_of(b, flat_key(b->sym, &b->fl, o->by, b->fl.site));
}

/* A sample's keys: every distinct key of the whole stack (add_samples). */
static void sample_keys(struct builder *b, const struct loaded *t, size_t s, uint32_t id, struct stack_keys *sk)
{
	const struct group_opts *o = &b->r->gopts;
	const struct tm_segment *seg = &t->m.segs[s];
	sk->sample_done = 1;
	if (id >= seg->nstacks)
		return;
	flat_stack(&b->fl, t->spaces[s], &seg->stacks[id], 1);
	if (flat_agent_work(&b->fl) || !flat_passes(&b->fl, o))
		return;
	size_t n = flat_sample_keys(b->sym, &b->fl, o->by, &b->ka, &b->ka_cap);
	sk->sample = xmalloc((n ? n : 1) * sizeof *sk->sample);
	for (size_t i = 0; i < n; i++)
		sk->sample[i] = key_of(b, b->ka[i].key);
	sk->nsample = (uint32_t)n;
}

static uint64_t *out_at(struct builder *b, uint32_t key, uint32_t thread, uint32_t seg, uint32_t bucket)
{
	/* key 24 bits, thread 20, segment 13, bucket 7 (ACT_BUCKETS): checked by the caller */
	uint64_t packed = ((uint64_t)key + 1) << 40 | (uint64_t)thread << 20 | (uint64_t)seg << 7 | bucket;
	int found;
	uint64_t *slot = u64map_slot(&b->cell_index, packed, &found);
	if (found)
		return b->cells[*slot].v;
	struct out_cell c = {.key = key, .thread = thread, .seg = seg, .bucket = bucket};
	VEC_PUSH(b->cells, b->ncells, b->cells_cap, c);
	*slot = b->ncells - 1;
	return b->cells[b->ncells - 1].v;
}

/* A segment's cells, buckets merged 2^shift at a time. */
static void add_segment(struct builder *b, const struct loaded *t, size_t s, uint32_t seg_out,
			const uint32_t *threads, struct stack_keys *sk, unsigned shift)
{
	const struct activity *a = t->m.segs[s].act;
	for (size_t i = 0; i < a->n; i++) {
		const struct act_cell *c = &a->cells[i];
		struct stack_keys *k = &sk[c->stack];
		uint32_t th = threads[c->thread], bucket = c->bucket >> shift;
		const uint64_t *v = c->v;
		int heap = (v[ACT_ALLOCS] | v[ACT_TEMPORARY]) != 0, samples = (v[ACT_CPU_SAMPLES] | v[ACT_WALL_SAMPLES]) != 0;
		if (heap && !k->site_done)
			site_key(b, t, s, c->stack, k);
		if (samples && !k->sample_done)
			sample_keys(b, t, s, c->stack, k);
		if (heap && k->site != UINT32_MAX) {
			uint64_t *o = out_at(b, k->site, th, seg_out, bucket);
			o[OUT_ALLOCS] += v[ACT_ALLOCS];
			o[OUT_BYTES] += v[ACT_BYTES];
			o[OUT_TEMPORARY] += v[ACT_TEMPORARY];
		}
		for (uint32_t j = 0; samples && j < k->nsample; j++) {
			uint64_t *o = out_at(b, k->sample[j], th, seg_out, bucket);
			if (j == 0) {
				o[OUT_CPU_SELF_NS] += v[ACT_CPU_NS];
				o[OUT_WALL_SELF_NS] += v[ACT_WALL_NS];
			}
			o[OUT_CPU_TOTAL_NS] += v[ACT_CPU_NS];
			o[OUT_CPU_SAMPLES] += v[ACT_CPU_SAMPLES];
			o[OUT_WALL_TOTAL_NS] += v[ACT_WALL_NS];
			o[OUT_WALL_SAMPLES] += v[ACT_WALL_SAMPLES];
		}
	}
}

/* A thread's name: the one its process gave it, else the program's for
 * the main thread, else "". */
static const char *thread_name(const struct tm_segment *seg, uint32_t tid)
{
	for (size_t k = 0; k < seg->prof.nthreads; k++)
		if (seg->prof.threads[k].tid == tid && seg->prof.threads[k].name[0])
			return seg->prof.threads[k].name;
	if (tid == seg->info.pid && seg->info.exe) {
		const char *slash = strrchr(seg->info.exe, '/');
		return slash ? slash + 1 : seg->info.exe;
	}
	return "";
}

void html_activity_json(struct strbuf *out, const struct report *r, struct symbolizer *sym)
{
	struct builder b = {.r = r, .sym = sym};
	u64map_init(&b.key_index, 256);
	struct strbuf threads = {0}, segs = {0};
	struct u64map thread_index;
	u64map_init(&thread_index, 64);
	size_t nthreads = 0, nsegs = 0, ncube = 0;
	/* every (trace, segment): its thread map (cube's thread index -> the
	 * page's, one per (trace, pid, tid)) and its stacks' keys */
	uint32_t **tmap = NULL;
	struct stack_keys **sks = NULL;
	size_t cap = 0, tcap = 0;
	const char *why = NULL;
	for (size_t i = 0; i < r->ntraces && !why; i++) {
		const struct tmodel *m = &r->traces[i].m;
		for (size_t s = 0; s < m->nsegs && !why; s++) {
			const struct tm_segment *seg = &m->segs[s];
			const struct activity *a = seg->act;
			if (!a)
				continue;
			if (nsegs == 8192) {
				why = "more than 8,192 process images";
				break;
			}
			vec_reserve((void **)&tmap, &cap, ncube + 1, sizeof *tmap);
			vec_reserve((void **)&sks, &tcap, ncube + 1, sizeof *sks);
			tmap[ncube] = xmalloc((a->ntids ? a->ntids : 1) * sizeof **tmap);
			sks[ncube] = xcalloc(seg->nstacks ? seg->nstacks : 1, sizeof **sks);
			for (size_t k = 0; k < a->ntids; k++) {
				uint64_t pid = seg->info.pid & 0x3fffff, tid = a->tids[k] & 0x3fffff;
				uint64_t *slot = u64map_get(&thread_index, ((uint64_t)i << 44 | pid << 22 | tid) + 1);
				if (!slot) {
					const char *name = thread_name(seg, a->tids[k]);
					sb_printf(&threads, "%s[%zu,%llu,%u,", nthreads ? "," : "", i,
						  (unsigned long long)seg->info.pid, a->tids[k]);
					sb_json(&threads, json_text(name));
					sb_putc(&threads, ']');
					slot = u64map_put(&thread_index, ((uint64_t)i << 44 | pid << 22 | tid) + 1, nthreads++);
				}
				tmap[ncube][k] = (uint32_t)*slot;
			}
			sb_printf(&segs, "%s[%zu,%llu,%llu]", nsegs ? "," : "", i,
				  (unsigned long long)(seg->info.start_monotonic_ns - m->segs[0].info.start_monotonic_ns),
				  (unsigned long long)a->bucket_us * 1000);
			nsegs++;
			ncube++;
		}
	}
	if (nthreads >= (1u << 20))
		why = "more than a million threads";
	/* aggregate, merging time buckets until the cells fit */
	unsigned shift = 0;
	for (; !why; shift++) {
		b.ncells = 0;
		u64map_free(&b.cell_index);
		u64map_init(&b.cell_index, 4096);
		size_t c = 0;
		for (size_t i = 0; i < r->ntraces; i++)
			for (size_t s = 0; s < r->traces[i].m.nsegs; s++)
				if (r->traces[i].m.segs[s].act) {
					add_segment(&b, &r->traces[i], s, (uint32_t)c, tmap[c], sks[c], shift);
					c++;
				}
		if (b.nkeys >= (1u << 24))
			why = "more than 16 million groups";
		if (b.ncells <= MAX_CELLS || shift == 7)
			break;
	}
	sb_printf(out, "{\"bucket_shift\":%u,\"unavailable\":", why ? 0 : shift);
	if (why)
		sb_json(out, json_text(why));
	else
		sb_printf(out, "null");
	sb_printf(out, ",\"threads\":[%s],\"segments\":[%s],\"keys\":[", threads.s ? threads.s : "",
		  segs.s ? segs.s : "");
	for (size_t k = 0; k < b.nkeys && !why; k++) {
		sb_putc(out, k ? ',' : ' ');
		sb_json(out, json_text(b.keys[k]));
	}
	sb_printf(out, "],\n\"cells\":[");
	for (size_t k = 0; k < b.ncells && !why; k++) {
		const struct out_cell *c = &b.cells[k];
		sb_printf(out, "%s[%u,%u,%u,%u", k ? ",\n" : "", c->key, c->thread, c->seg, c->bucket);
		for (int v = 0; v < OUT_NVALUES; v++)
			sb_printf(out, ",%llu", (unsigned long long)c->v[v]);
		sb_putc(out, ']');
	}
	sb_printf(out, "]}");
	/* the cube's thread maps and its stacks' sample keys */
	size_t c = 0;
	for (size_t i = 0; i < r->ntraces; i++)
		for (size_t s = 0; s < r->traces[i].m.nsegs; s++)
			if (r->traces[i].m.segs[s].act && c < ncube) {
				for (size_t k = 0; k < r->traces[i].m.segs[s].nstacks; k++)
					free(sks[c][k].sample);
				free(sks[c]);
				free(tmap[c++]);
			}
	free(tmap);
	free(sks);
	u64map_free(&thread_index);
	u64map_free(&b.cell_index);
	u64map_free(&b.key_index);
	free(b.cells);
	free(b.keys);
	free(b.ka);
	flat_free(&b.fl);
	sb_free(&threads);
	sb_free(&segs);
}
