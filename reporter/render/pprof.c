/*
 * pprof.c - pprof's profile.proto, gzipped (see export.h): what `go tool
 * pprof`, Pyroscope, Parca and speedscope read.
 *
 * The profile is built with protobuf-c from third_party/pprof/profile.proto
 * (generated at build time) and compressed with zlib:
 *
 *   sample   = one allocation stack: location ids leaf first, six values
 *   location = one return address of one process image: its mapping and
 *              its lines, inlined functions first, the real function last
 *   function = name + file; mapping = module range, path, GNU build-id
 *
 * The samples are the weighted stacks of one set (model/wstack.h: every
 * frame, each with the address it was resolved from), so the locations are
 * the stack's addresses with their frames; a heap set gives the other
 * columns (inuse, leaked) through ws_heap_figure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "render/export.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

enum { NVALUES = 6 };
static const char *const cpu_names[2][2] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
static const char *const wall_names[2][2] = {{"samples", "count"}, {"wall", "nanoseconds"}};
static const char *const value_names[NVALUES][2] = {
	{"alloc_objects", "count"}, {"alloc_space", "bytes"},   {"inuse_objects", "count"},
	{"inuse_space", "bytes"},   {"leaked_objects", "count"}, {"leaked_space", "bytes"},
};

struct pb {
	struct u64map str_index; /* hash_str -> index in strs */
	char **strs;
	size_t nstrs, strs_cap;
	struct u64map fn_index; /* hash(name, file) -> function index */
	Function *fns;
	size_t nfns, fns_cap;
	Mapping *maps;
	size_t nmaps, maps_cap;
	Location *locs;
	size_t nlocs, locs_cap;
	Line **lines; /* per location, its line array */
	size_t nlines, lines_cap;
	struct psample *samples;
	size_t nsamples, samples_cap;
	struct u64map synth_loc; /* function name -> location of a frame with no address */
};

/* A sample and what it points to, kept together until packing. */
struct psample {
	Sample smp;
	uint64_t *locs;
	int64_t vals[NVALUES];
	Label label; /* "pid" */
	Label *labelp;
};

static int same_str(const void *ctx, uint64_t val)
{
	const struct pb *p = ((const void *const *)ctx)[0];
	return !strcmp(p->strs[val], ((const char *const *)ctx)[1]);
}

static int64_t str_id(struct pb *p, const char *s)
{
	if (!s || !*s)
		return 0;
	const void *key[2] = {p, s};
	uint64_t h = hash_str(s);
	uint64_t *slot = u64map_find(&p->str_index, h, same_str, key);
	if (slot)
		return (int64_t)*slot;
	u64map_add(&p->str_index, h, p->nstrs);
	VEC_PUSH(p->strs, p->nstrs, p->strs_cap, xstrdup(s));
	return (int64_t)(p->nstrs - 1);
}

struct fn_key {
	const struct pb *p;
	int64_t name, file;
};

static int same_function(const void *ctx, uint64_t val)
{
	const struct fn_key *k = ctx;
	const Function *fn = &k->p->fns[val];
	return fn->name == k->name && fn->filename == k->file;
}

static uint64_t function_id(struct pb *p, const struct sym_frame *f)
{
	int64_t name = str_id(p, f->function), file = str_id(p, f->file);
	uint64_t hash = hash_u64(((uint64_t)name << 32) ^ (uint64_t)file);
	struct fn_key key = {p, name, file};
	uint64_t *slot = u64map_find(&p->fn_index, hash, same_function, &key);
	if (slot)
		return p->fns[*slot].id;
	Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT;
	fn.id = p->nfns + 1;
	fn.name = name;
	fn.system_name = name;
	fn.filename = file;
	VEC_PUSH(p->fns, p->nfns, p->fns_cap, fn);
	u64map_add(&p->fn_index, hash, p->nfns - 1);
	return fn.id;
}

/* Per segment: module index -> mapping id, address -> location id. */
struct seg_maps {
	uint64_t *map_of_mod; /* mapping id + 0, 0 = not yet */
	struct u64map loc_of_ip;
};

static const struct rd_module *module_of(const struct tm_segment *seg, uint64_t ip, size_t *idx)
{
	for (size_t i = 0; i < seg->nmods; i++)
		if (ip - 1 >= seg->mods[i].lo && ip - 1 < seg->mods[i].hi) {
			*idx = i;
			return &seg->mods[i];
		}
	return NULL;
}

static uint64_t module_mapping(struct pb *p, struct seg_maps *sm, const struct tm_segment *seg, size_t mi);

static uint64_t mapping_id(struct pb *p, struct seg_maps *sm, const struct tm_segment *seg, uint64_t ip)
{
	size_t mi;
	if (!module_of(seg, ip, &mi))
		return 0;
	return module_mapping(p, sm, seg, mi);
}

static uint64_t module_mapping(struct pb *p, struct seg_maps *sm, const struct tm_segment *seg, size_t mi)
{
	const struct rd_module *m = &seg->mods[mi];
	if (sm->map_of_mod[mi])
		return sm->map_of_mod[mi];
	char bid[2 * LDP_MAX_BUILD_ID_LEN + 1];
	for (unsigned k = 0; k < m->build_id_len; k++)
		snprintf(bid + 2 * k, 3, "%02x", m->build_id[k]);
	bid[2 * m->build_id_len] = '\0';
	Mapping mp = PERFTOOLS__PROFILES__MAPPING__INIT;
	mp.id = p->nmaps + 1;
	mp.memory_start = m->lo;
	mp.memory_limit = m->hi;
	mp.file_offset = 0; /* the first PT_LOAD of an ELF file maps offset 0 */
	mp.filename = str_id(p, m->path);
	mp.build_id = str_id(p, bid);
	mp.has_functions = mp.has_filenames = mp.has_line_numbers = mp.has_inline_frames = 1;
	VEC_PUSH(p->maps, p->nmaps, p->maps_cap, mp);
	return sm->map_of_mod[mi] = mp.id;
}

/* The location of address i of stack x, whose frames (inlined ones first,
 * the real function last) are x->frames[j - 1], [j - 2] ... [j - k]. A
 * sampled PC and a return address are told apart: one address can be both,
 * and is resolved differently (model/group.c, flat_stack). */
static uint64_t location_id(struct pb *p, struct seg_maps *sm, const struct tm_segment *seg, const struct wstack *x,
			    uint64_t ip, unsigned i, unsigned j, unsigned k)
{
	int pc = i == 0 && (x->st->flags & LDP_STACK_LEAF_PC);
	uint64_t key = ((ip << 1) | (uint64_t)pc) + 1;
	uint64_t *slot = u64map_get(&sm->loc_of_ip, key);
	if (slot)
		return *slot;
	Line *lines = xcalloc(k ? k : 1, sizeof *lines);
	for (unsigned n = 0; n < k; n++) {
		const struct sym_frame *f = x->frames[j - 1 - n];
		Line l = PERFTOOLS__PROFILES__LINE__INIT;
		l.function_id = function_id(p, f);
		l.line = f->line;
		lines[n] = l;
	}
	Location loc = PERFTOOLS__PROFILES__LOCATION__INIT;
	loc.id = p->nlocs + 1;
	loc.mapping_id = mapping_id(p, sm, seg, ip);
	loc.address = ip;
	loc.n_line = k;
	VEC_PUSH(p->locs, p->nlocs, p->locs_cap, loc);
	VEC_PUSH(p->lines, p->nlines, p->lines_cap, lines);
	u64map_put(&sm->loc_of_ip, key, loc.id);
	return loc.id;
}

/* A location for a frame with no address (no mapping), one per function. */
static uint64_t frame_location(struct pb *p, const struct sym_frame *f)
{
	uint64_t key = (uint64_t)(uintptr_t)f->function;
	uint64_t *slot = u64map_get(&p->synth_loc, key);
	if (slot)
		return *slot;
	Line *lines = xcalloc(1, sizeof *lines);
	Line l = PERFTOOLS__PROFILES__LINE__INIT;
	l.function_id = function_id(p, f);
	lines[0] = l;
	Location loc = PERFTOOLS__PROFILES__LOCATION__INIT;
	loc.id = p->nlocs + 1;
	loc.n_line = 1;
	VEC_PUSH(p->locs, p->nlocs, p->locs_cap, loc);
	VEC_PUSH(p->lines, p->nlines, p->lines_cap, lines);
	u64map_put(&p->synth_loc, key, loc.id);
	return loc.id;
}

/* The samples of segment s: the stacks of ws from *next on that are its.
 * kind: -1 for the heap (six values), PROF_CPU or PROF_WALL (two values). */
static void add_samples(struct pb *p, const struct tmodel *m, size_t s, const struct wstack_set *ws, size_t *next,
			int kind)
{
	const struct tm_segment *seg = &m->segs[s];
	struct seg_maps sm = {.map_of_mod = xcalloc(seg->nmods ? seg->nmods : 1, sizeof(uint64_t))};
	u64map_init(&sm.loc_of_ip, 1024);
	if (seg->nmods && p->nmaps == 0)
		module_mapping(p, &sm, seg, 0); /* pprof takes the first mapping for the program */
	for (; *next < ws->n && ws->v[*next].seg == s; (*next)++) {
		const struct wstack *x = &ws->v[*next];
		int64_t v[NVALUES] = {0};
		size_t nv = NVALUES;
		if (kind >= 0) {
			v[0] = (int64_t)x->count;
			v[1] = (int64_t)x->weight;
			nv = 2;
		} else {
			uint64_t w, c;
			v[0] = (int64_t)x->count;
			v[1] = (int64_t)x->weight;
			ws_heap_figure(ws, x, WS_INUSE, &w, &c);
			v[2] = (int64_t)c;
			v[3] = (int64_t)w;
			ws_heap_figure(ws, x, WS_LEAKED, &w, &c);
			v[4] = (int64_t)c;
			v[5] = (int64_t)w;
		}
		const struct tm_stack *st = x->st;
		uint64_t *locs = xmalloc((st->depth + x->nframes + 1) * sizeof *locs);
		unsigned j = x->nframes; /* frames [0, j) are still to place: the innermost is [j - 1] */
		size_t nlocs = 0;
		struct tm_ips ips = tm_ips(st);
		for (unsigned i = 0; i < st->depth; i++) {
			unsigned k = 0;
			while (j > k && x->addr[j - 1 - k] == i)
				k++;
			locs[nlocs++] = location_id(p, &sm, seg, x, tm_ips_next(&ips), i, j, k);
			j -= k;
		}
		/* Frames with no address (a truncated stack's [truncated] root): a
		 * location of their own, outermost. */
		for (; j > 0; j--)
			if (x->addr[j - 1] == WS_NO_ADDR)
				locs[nlocs++] = frame_location(p, x->frames[j - 1]);
		struct psample ps = {.smp = PERFTOOLS__PROFILES__SAMPLE__INIT, .locs = locs,
				     .label = PERFTOOLS__PROFILES__LABEL__INIT};
		memcpy(ps.vals, v, sizeof v);
		ps.smp.n_location_id = nlocs;
		ps.smp.n_value = nv;
		ps.smp.n_label = 1;
		ps.label.key = str_id(p, "pid");
		ps.label.num = (int64_t)seg->info.pid;
		VEC_PUSH(p->samples, p->nsamples, p->samples_cap, ps);
	}
	free(sm.map_of_mod);
	u64map_free(&sm.loc_of_ip);
}

static int gzip_into(struct strbuf *b, const uint8_t *data, size_t len)
{
	z_stream z = {0};
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	size_t cap = deflateBound(&z, (uLong)len) + 64;
	char *out = xmalloc(cap);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return -1;
	}
	free(b->s);
	b->s = out;
	b->len = n;
	b->cap = cap;
	return 0;
}

int render_pprof(struct strbuf *b, const struct export_in *in, const char **why)
{
	const struct tmodel *m = in->m;
	const struct wstack_set *ws = &in->sets[0];
	int kind = ws->what == WS_CPU ? PROF_CPU : ws->what == WS_WALL ? PROF_WALL : -1;
	struct pb p = {0};
	u64map_init(&p.str_index, 1024);
	u64map_init(&p.fn_index, 1024);
	u64map_init(&p.synth_loc, 16);
	VEC_PUSH(p.strs, p.nstrs, p.strs_cap, xstrdup("")); /* string_table[0] = "" */
	const char *const (*names)[2] = kind == PROF_CPU ? cpu_names : kind == PROF_WALL ? wall_names : value_names;
	int ntypes = kind >= 0 ? 2 : NVALUES;
	ValueType types[NVALUES], *type_ptrs[NVALUES];
	for (int i = 0; i < ntypes; i++) {
		ValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
		vt.type = str_id(&p, names[i][0]);
		vt.unit = str_id(&p, names[i][1]);
		types[i] = vt;
		type_ptrs[i] = &types[i];
	}
	ValueType period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	period.type = str_id(&p, kind >= 0 ? names[1][0] : "space");
	period.unit = str_id(&p, kind >= 0 ? "nanoseconds" : "bytes");
	int64_t period_v = 1;
	size_t next = 0;
	for (size_t s = 0; s < m->nsegs; s++) {
		add_samples(&p, m, s, ws, &next, kind);
		if (kind >= 0 && period_v == 1 && profile_interval_ns(&m->segs[s].prof, kind))
			period_v = (int64_t)profile_interval_ns(&m->segs[s].prof, kind);
	}

	/* Pointer arrays, now that nothing moves any more. */
	Sample **sp = xcalloc(p.nsamples + 1, sizeof *sp);
	for (size_t i = 0; i < p.nsamples; i++) {
		struct psample *ps = &p.samples[i];
		ps->smp.location_id = ps->locs;
		ps->smp.value = ps->vals;
		ps->labelp = &ps->label;
		ps->smp.label = &ps->labelp;
		sp[i] = &ps->smp;
	}
	Location **locp = xcalloc(p.nlocs + 1, sizeof *locp);
	Line ***linep = xcalloc(p.nlocs + 1, sizeof *linep);
	for (size_t i = 0; i < p.nlocs; i++) {
		linep[i] = xcalloc(p.locs[i].n_line + 1, sizeof **linep);
		for (size_t j = 0; j < p.locs[i].n_line; j++)
			linep[i][j] = &p.lines[i][j];
		p.locs[i].line = linep[i];
		locp[i] = &p.locs[i];
	}
	Function **fnp = xcalloc(p.nfns + 1, sizeof *fnp);
	for (size_t i = 0; i < p.nfns; i++)
		fnp[i] = &p.fns[i];
	Mapping **mpp = xcalloc(p.nmaps + 1, sizeof *mpp);
	for (size_t i = 0; i < p.nmaps; i++)
		mpp[i] = &p.maps[i];

	Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	prof.n_sample_type = (size_t)ntypes;
	prof.sample_type = type_ptrs;
	prof.n_sample = p.nsamples;
	prof.sample = sp;
	prof.n_mapping = p.nmaps;
	prof.mapping = mpp;
	prof.n_location = p.nlocs;
	prof.location = locp;
	prof.n_function = p.nfns;
	prof.function = fnp;
	prof.period_type = &period;
	prof.period = period_v;
	prof.default_sample_type = str_id(&p, kind >= 0 ? names[1][0] : "inuse_space");
	if (m->nsegs) {
		const struct tm_segment *last = &m->segs[m->nsegs - 1];
		prof.time_nanos = (int64_t)m->segs[0].info.start_realtime_ns;
		prof.duration_nanos = (int64_t)(last->info.start_monotonic_ns - m->segs[0].info.start_monotonic_ns +
						last->heap.t.last_time_us * 1000);
	}
	int64_t comment = str_id(&p, kind == PROF_CPU    ? "ldprof CPU profile: time per sample measured, not assumed"
				     : kind == PROF_WALL ? "ldprof wall-clock profile: every thread, waiting ones too"
							 : "ldprof heap profile: inuse = live at the peak, leaked = live at exit");
	prof.n_comment = 1;
	prof.comment = &comment;
	prof.n_string_table = p.nstrs; /* last: every str_id call above is done */
	prof.string_table = p.strs;

	size_t len = perftools__profiles__profile__get_packed_size(&prof);
	uint8_t *buf = xmalloc(len ? len : 1);
	perftools__profiles__profile__pack(&prof, buf);
	int rc = gzip_into(b, buf, len);
	if (rc)
		*why = "zlib could not compress the profile";
	free(buf);

	for (size_t i = 0; i < p.nlocs; i++) {
		free(linep[i]);
		free(p.lines[i]);
	}
	for (size_t i = 0; i < p.nsamples; i++)
		free(p.samples[i].locs);
	free(linep);
	free(locp);
	free(fnp);
	free(mpp);
	free(sp);
	free(p.lines);
	free(p.locs);
	free(p.fns);
	free(p.maps);
	free(p.samples);
	for (size_t i = 0; i < p.nstrs; i++)
		free(p.strs[i]);
	free(p.strs);
	u64map_free(&p.str_index);
	u64map_free(&p.fn_index);
	u64map_free(&p.synth_loc);
	return rc;
}
