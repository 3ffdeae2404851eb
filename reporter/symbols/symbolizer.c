/*
 * symbolizer.c - libdw-based offline symbolization (see symbolizer.h).
 *
 * Picture per symbol space:
 *   mods[]   the trace's modules, each with a state: not yet looked at,
 *            reported to Dwfl, or unusable (missing / build-id mismatch)
 *   cache    address -> run of frames in `frames` (inline chain)
 *   dwfl     one libdw session; modules are added lazily
 */
#define _GNU_SOURCE
#include "symbolizer.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/debugcache.h"
#include "symbols/demangle.h"
#include "util/util.h"

enum { MOD_UNSEEN = 0, MOD_OK = 1, MOD_UNUSABLE = 2 };

struct chunk {
	struct chunk *next;
	size_t used, cap;
	struct sym_frame f[];
};

struct mod_state {
	int state;
	Dwfl_Module *dm;
	const char *name; /* interned basename */
	/* ELF symbol names (elf_function): elfutils scans the whole symbol
	 * table for each address it is asked about. Its answer depends on the
	 * address only through comparisons with where symbols, sections and
	 * the module start and end, so it is the same anywhere between two
	 * neighbouring such bounds: asked once per interval. */
	uint64_t *bounds;          /* sorted, distinct; NULL until first needed */
	size_t nbounds;
	struct u64map by_interval; /* interval index + 1 -> interned name, 0 for none */
};

struct sym_space {
	struct symbolizer *sym;
	const struct rd_module *mods;
	size_t nmods;
	struct mod_state *ms;
	Dwfl *dwfl;
	struct u64map cache; /* (addr << 1 | call_site) + 1, with the module's index + 2 in bits 49..63
			      * when modules overlap -> frames pointer << 16 | count */
	int overlap;         /* two module records cover the same address (an object unloaded,
			      * another loaded over it): the module depends on the stack's time */
	struct sym_frame *run; /* the run being resolved; copied into chunks when done */
	size_t nrun, run_cap;
	struct chunk *chunks;  /* resolved frames: never move, callers keep pointers */
	struct sym_space *next;
};

struct symbolizer {
	struct sym_opts opts;
	char *debuginfo_path;
	Dwfl_Callbacks cb;
	struct u64map strs; /* the string pool: hash_str -> the string (char *) */
	struct sym_space *spaces;
	struct u64map warned; /* interned module paths already warned about */
	struct sym_frame truncated; /* sym_truncated_frame */
};

/* ---- strings ---- */

static int same_str(const void *ctx, uint64_t val)
{
	return !strcmp((const char *)(uintptr_t)val, ctx);
}

const char *sym_intern(struct symbolizer *s, const char *str)
{
	if (!str)
		return NULL;
	uint64_t h = hash_str(str);
	uint64_t *slot = u64map_find(&s->strs, h, same_str, str);
	if (!slot)
		slot = u64map_add(&s->strs, h, (uint64_t)(uintptr_t)xstrdup(str));
	return (const char *)(uintptr_t)*slot;
}

/* ---- setup ---- */

struct symbolizer *sym_new(const struct sym_opts *opts)
{
	struct symbolizer *s = xcalloc(1, sizeof *s);
	s->opts = *opts;
	/* libdw's search path for separate debug files: the standard places,
	 * then the user's; '-' turns off CRC checks (build-ids are checked). */
	struct strbuf b = {0};
	sb_printf(&b, "-.debug:/usr/lib/debug");
	for (size_t i = 0; i < opts->ndebug_dirs; i++)
		sb_printf(&b, ":%s", opts->debug_dirs[i]);
	if (opts->sysroot)
		sb_printf(&b, ":%s/usr/lib/debug", opts->sysroot);
	s->debuginfo_path = b.s;
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = opts->ndebug_dirs || opts->sysroot ? debugcache_find_debuginfo
								   : debugcache_find_debuginfo_default;
	s->cb.section_address = dwfl_offline_section_address;
	s->cb.debuginfo_path = &s->debuginfo_path;
	u64map_init(&s->warned, 16);
	u64map_init(&s->strs, 1024);
	s->truncated.function = s->truncated.module = sym_intern(s, SYM_TRUNCATED);
	return s;
}

const struct sym_frame *sym_truncated_frame(struct sym_space *sp)
{
	return &sp->sym->truncated;
}

void sym_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (struct sym_space *sp = s->spaces, *n; sp; sp = n) {
		n = sp->next;
		if (sp->dwfl)
			dwfl_end(sp->dwfl);
		u64map_free(&sp->cache);
		free(sp->run);
		for (struct chunk *c = sp->chunks, *cn; c; c = cn) {
			cn = c->next;
			free(c);
		}
		for (size_t i = 0; i < sp->nmods && sp->ms; i++)
			if (sp->ms[i].bounds) {
				free(sp->ms[i].bounds);
				u64map_free(&sp->ms[i].by_interval);
			}
		free(sp->ms);
		free(sp);
	}
	for (size_t i = 0; i < s->strs.cap; i++)
		if (s->strs.slots[i].key)
			free((char *)(uintptr_t)s->strs.slots[i].val);
	u64map_free(&s->strs);
	u64map_free(&s->warned);
	free(s->debuginfo_path);
	free(s);
}

struct sym_space *sym_space_new(struct symbolizer *s, const struct rd_module *mods, size_t nmods)
{
	struct sym_space *sp = xcalloc(1, sizeof *sp);
	sp->sym = s;
	sp->mods = mods;
	sp->nmods = nmods;
	sp->ms = xcalloc(nmods ? nmods : 1, sizeof *sp->ms);
	u64map_init(&sp->cache, 1024);
	for (size_t i = 0; i < nmods && !sp->overlap; i++)
		for (size_t j = 0; j < i && !sp->overlap; j++)
			for (unsigned a = 0; a < mods[i].nseg && !sp->overlap; a++)
				for (unsigned b = 0; b < mods[j].nseg && !sp->overlap; b++) {
					uint64_t lo1 = mods[i].base + mods[i].seg[a].vaddr, hi1 = lo1 + mods[i].seg[a].memsz;
					uint64_t lo2 = mods[j].base + mods[j].seg[b].vaddr, hi2 = lo2 + mods[j].seg[b].memsz;
					sp->overlap = lo1 < hi2 && lo2 < hi1;
				}
	sp->next = s->spaces;
	s->spaces = sp;
	return sp;
}

/* ---- finding a module's file ---- */

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* 1: the file has this build-id (or the trace recorded none), 0: it differs, -1: unreadable. */
static int file_matches(const char *path, const struct rd_module *m)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int rc = -1;
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		const void *id = NULL;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		if (!m->build_id_len)
			rc = 1;
		else
			rc = n == (ssize_t)m->build_id_len && !memcmp(id, m->build_id, m->build_id_len);
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}

static int try_candidate(char *best, size_t cap, const char *path, const struct rd_module *m, int *mismatch)
{
	int r = file_matches(path, m);
	if (r == 0)
		*mismatch = 1;
	if (r != 1)
		return 0;
	snprintf(best, cap, "%s", path);
	return 1;
}

static int find_file(struct symbolizer *s, const struct rd_module *m, char *out, size_t cap, int *mismatch)
{
	char path[8192], id[2 * LDP_MAX_BUILD_ID_LEN + 1];
	*mismatch = 0;
	if (m->path[0] == '/') {
		/* Under the sysroot first; the host's own file is fine too when its
		 * build-id matches (the same distribution's libc, say). */
		if (s->opts.sysroot) {
			snprintf(path, sizeof path, "%s%s", s->opts.sysroot, m->path);
			if (try_candidate(out, cap, path, m, mismatch))
				return 1;
		}
		if (try_candidate(out, cap, m->path, m, mismatch))
			return 1;
	}
	if (!m->build_id_len)
		return 0;
	hex(id, m->build_id, m->build_id_len);
	for (size_t i = 0; i < s->opts.ndebug_dirs; i++) {
		snprintf(path, sizeof path, "%s/.build-id/%.2s/%s.debug", s->opts.debug_dirs[i], id, id + 2);
		if (try_candidate(out, cap, path, m, mismatch))
			return 1;
		snprintf(path, sizeof path, "%s%s", s->opts.debug_dirs[i], m->path);
		if (m->path[0] == '/' && try_candidate(out, cap, path, m, mismatch))
			return 1;
	}
	snprintf(path, sizeof path, "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
		 s->opts.sysroot ? s->opts.sysroot : "", id, id + 2);
	return try_candidate(out, cap, path, m, mismatch);
}

static void prepare_module(struct sym_space *sp, size_t i)
{
	struct mod_state *st = &sp->ms[i];
	const struct rd_module *m = &sp->mods[i];
	char *copy = xstrdup(*m->path ? m->path : "?");
	st->name = sym_intern(sp->sym, basename(copy));
	free(copy);
	st->state = MOD_UNUSABLE;
	char file[8192];
	int mismatch;
	if (!find_file(sp->sym, m, file, sizeof file, &mismatch)) {
		/* The vdso and anonymous code have no file: say nothing about them.
		 * Otherwise say it once per file, however many processes used it. */
		uint64_t key = (uint64_t)(uintptr_t)sym_intern(sp->sym, m->path);
		if (!sp->sym->opts.quiet && m->path[0] == '/' && !u64map_get(&sp->sym->warned, key)) {
			u64map_put(&sp->sym->warned, key, 1);
			if (mismatch)
				fprintf(stderr,
					"ldprof: warning: %s on this machine is not the binary that ran (build-id differs); "
					"its frames are shown as %s+0xoffset (use --sysroot or --debug-dir)\n",
					m->path, st->name);
			else
				fprintf(stderr,
					"ldprof: warning: %s not found; its frames are shown as %s+0xoffset "
					"(use --sysroot or --debug-dir)\n",
					m->path, st->name);
		}
		return;
	}
	if (!sp->dwfl) {
		sp->dwfl = dwfl_begin(&sp->sym->cb);
		if (!sp->dwfl)
			return;
	}
	dwfl_report_begin_add(sp->dwfl);
	st->dm = dwfl_report_elf(sp->dwfl, st->name, file, -1, m->base, true);
	dwfl_report_end(sp->dwfl, NULL, NULL);
	if (st->dm)
		st->state = MOD_OK;
}

/* The module holding addr: the latest recorded among the first `limit`
 * (those known when the stack was recorded), where ranges overlap (an
 * object dlclosed and another dlopened at its address); if none of those
 * holds it, the latest of all. */
static long module_of(struct sym_space *sp, uint64_t addr, size_t limit)
{
	if (limit && limit < sp->nmods) {
		for (size_t i = limit; i-- > 0;) {
			const struct rd_module *m = &sp->mods[i];
			for (unsigned k = 0; k < m->nseg; k++) {
				uint64_t lo = m->base + m->seg[k].vaddr;
				if (addr >= lo && addr < lo + m->seg[k].memsz)
					return (long)i;
			}
		}
	}
	for (size_t i = sp->nmods; i-- > 0;) {
		const struct rd_module *m = &sp->mods[i];
		for (unsigned k = 0; k < m->nseg; k++) {
			uint64_t lo = m->base + m->seg[k].vaddr;
			if (addr >= lo && addr < lo + m->seg[k].memsz)
				return (long)i;
		}
	}
	return -1;
}

/* ---- DWARF ---- */

/* glibc's internal aliases (__GI___strdup) are the public function (__strdup). */
static const char *public_name(const char *name)
{
	return name && !strncmp(name, "__GI_", 5) && name[5] ? name + 5 : name;
}

static const char *die_name(struct symbolizer *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (name) {
		char *d = demangle(name);
		if (d) {
			const char *r = sym_intern(s, d);
			free(d);
			return r;
		}
		return sym_intern(s, public_name(name));
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	return name ? sym_intern(s, public_name(name)) : NULL;
}

static void push(struct sym_space *sp, struct sym_frame f)
{
	VEC_PUSH(sp->run, sp->nrun, sp->run_cap, f);
}

/* Move the finished run into chunk storage, where it never moves again. */
static struct sym_frame *keep_run(struct sym_space *sp)
{
	struct chunk *c = sp->chunks;
	if (!c || c->cap - c->used < sp->nrun) {
		size_t cap = sp->nrun > 4096 ? sp->nrun : 4096;
		c = xmalloc(sizeof *c + cap * sizeof c->f[0]);
		c->cap = cap;
		c->used = 0;
		c->next = sp->chunks;
		sp->chunks = c;
	}
	struct sym_frame *out = &c->f[c->used];
	memcpy(out, sp->run, sp->nrun * sizeof *out);
	c->used += sp->nrun;
	return out;
}

/*
 * The compilation unit whose code holds a, or NULL. libdwfl's lookup treats
 * the gaps between one unit's address ranges as that unit's ("the little
 * gaps inside the module, we'll consider them part of the surrounding CU
 * anyway", libdwfl/cu.c), and its line lookup then takes the last row at or
 * below the address, which can be a row at the very end of a sequence that
 * ended there (GCC emits one after a final noreturn call): `_start`, which
 * has no debug info and sits after main, got main's last line
 * (std_thread.h:142, basic_string.h:795 in C++ -O2 programs). So the unit's
 * own ranges must hold the address; outside every unit there is no line.
 */
static Dwarf_Die *unit_of(Dwfl_Module *dm, uint64_t a, Dwarf_Addr *bias)
{
	Dwarf_Die *cudie = dwfl_module_addrdie(dm, a, bias);
	return cudie && dwarf_haspc(cudie, a - *bias) > 0 ? cudie : NULL;
}

/* The line row for a, from the unit that holds it (unit_of). */
static const char *line_of(struct symbolizer *s, Dwfl_Module *dm, uint64_t a, int *line)
{
	Dwarf_Addr bias;
	*line = 0;
	if (!unit_of(dm, a, &bias))
		return NULL;
	Dwfl_Line *dl = dwfl_module_getsrc(dm, a);
	const char *f = dl ? dwfl_lineinfo(dl, NULL, line, NULL, NULL, NULL) : NULL;
	if (!f)
		*line = 0;
	return sym_intern(s, f);
}

/* Frames from DWARF scopes; @return how many were pushed. */
static unsigned dwarf_frames(struct sym_space *sp, Dwfl_Module *dm, uint64_t a, const struct sym_frame *base)
{
	struct symbolizer *s = sp->sym;
	Dwarf_Addr bias;
	Dwarf_Die *cudie = unit_of(dm, a, &bias);
	if (!cudie)
		return 0;
	int line;
	const char *file = line_of(s, dm, a, &line);
	Dwarf_Attribute cattr;
	const char *comp_dir = sym_intern(s, dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &cattr)));
	/* The innermost function scope holding the address... */
	Dwarf_Die *scopes = NULL, cur;
	int n = dwarf_getscopes(cudie, a - bias, &scopes);
	int found = 0;
	for (int i = 0; i < n && !found; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
			cur = scopes[i];
			found = 1;
		}
	}
	free(scopes);
	/* ...then outwards through the concrete scopes: each inlined call is a
	 * frame located at the position, and its call site is where its caller
	 * stands. (dwarf_getscopes lists an inline's abstract origin, not its
	 * caller, so each step asks for the scopes around the inline DIE.) */
	unsigned pushed = 0;
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	while (found && pushed < 256) {
		int tag = dwarf_tag(&cur);
		struct sym_frame f = *base;
		f.function = die_name(s, &cur);
		f.file = file;
		f.line = line > 0 ? (unsigned)line : 0;
		f.inlined = tag == DW_TAG_inlined_subroutine;
		f.resolved = f.function != NULL;
		f.comp_dir = comp_dir;
		if (!f.function)
			f.function = base->function;
		push(sp, f);
		pushed++;
		if (tag != DW_TAG_inlined_subroutine)
			break;
		Dwarf_Attribute attr;
		Dwarf_Word v;
		file = NULL;
		line = 0;
		if (dwarf_formudata(dwarf_attr(&cur, DW_AT_call_file, &attr), &v) == 0) {
			if (!files)
				dwarf_getsrcfiles(cudie, &files, &nfiles);
			if (files && v < nfiles)
				file = sym_intern(s, dwarf_filesrc(files, v, NULL, NULL));
		}
		if (dwarf_formudata(dwarf_attr(&cur, DW_AT_call_line, &attr), &v) == 0)
			line = (int)v;
		Dwarf_Die *outer = NULL;
		int m = dwarf_getscopes_die(&cur, &outer);
		found = 0;
		for (int i = 1; i < m && !found; i++) {
			int t = dwarf_tag(&outer[i]);
			if (t == DW_TAG_inlined_subroutine || t == DW_TAG_subprogram) {
				cur = outer[i];
				found = 1;
			}
		}
		free(outer);
	}
	return pushed;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Every address where a symbol, an allocated section or the module begins
 * or ends (mod_state.bounds). */
static void find_bounds(struct mod_state *st)
{
	size_t cap = 0;
	uint64_t *v = NULL;
	size_t n = 0;
	Dwarf_Addr low = 0, high = 0, bias = 0;
	dwfl_module_info(st->dm, NULL, &low, &high, NULL, NULL, NULL, NULL);
	VEC_PUSH(v, n, cap, low);
	VEC_PUSH(v, n, cap, high);
	int nsyms = dwfl_module_getsymtab(st->dm);
	for (int i = 1; i < nsyms; i++) {
		GElf_Sym sym;
		GElf_Addr at;
		if (!dwfl_module_getsym_info(st->dm, i, &sym, &at, NULL, NULL, NULL))
			continue;
		VEC_PUSH(v, n, cap, at);
		VEC_PUSH(v, n, cap, at + sym.st_size);
	}
	Elf *elf = dwfl_module_getelf(st->dm, &bias);
	for (Elf_Scn *scn = elf ? elf_nextscn(elf, NULL) : NULL; scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC)) {
			VEC_PUSH(v, n, cap, sh.sh_addr + bias);
			VEC_PUSH(v, n, cap, sh.sh_addr + sh.sh_size + bias);
		}
	}
	qsort(v, n, sizeof *v, cmp_u64);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || v[i] != v[k - 1])
			v[k++] = v[i];
	st->bounds = v;
	st->nbounds = k;
	u64map_init(&st->by_interval, 64);
}

/* The function the ELF symbol table names at a (demangled, interned), or
 * NULL: dwfl_module_addrinfo's answer, asked once per interval. */
static const char *elf_function(struct symbolizer *s, struct mod_state *st, uint64_t a)
{
	if (!st->bounds)
		find_bounds(st);
	size_t lo = 0, hi = st->nbounds; /* lo: how many bounds are <= a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->bounds[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t *hit = u64map_get(&st->by_interval, lo + 1);
	if (hit)
		return (const char *)(uintptr_t)*hit;
	GElf_Off off;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(st->dm, a, &off, &sym, NULL, NULL, NULL), *fn = NULL;
	if (name) {
		char *d = demangle(name);
		fn = sym_intern(s, d ? d : public_name(name));
		free(d);
	}
	u64map_put(&st->by_interval, lo + 1, (uint64_t)(uintptr_t)fn);
	return fn;
}

unsigned sym_resolve(struct sym_space *sp, uint64_t addr, int call_site, size_t mod_limit,
		     const struct sym_frame **frames)
{
	uint64_t a = call_site && addr ? addr - 1 : addr;
	/* Where records overlap, the module is the stack's (module_of), and
	 * the same address may resolve differently in another stack. */
	long mi = -2;
	uint64_t key = (addr << 1 | (call_site ? 1 : 0)) + 1;
	if (sp->overlap && addr < (1ull << 48) && sp->nmods < (1u << 14)) {
		mi = module_of(sp, a, mod_limit);
		key += (uint64_t)(mi + 2) << 49;
	}
	uint64_t *hit = u64map_get(&sp->cache, key);
	if (hit) {
		*frames = (const struct sym_frame *)(uintptr_t)(*hit >> 16);
		return (unsigned)(*hit & 0xffff);
	}
	struct symbolizer *s = sp->sym;
	sp->nrun = 0;
	if (mi == -2)
		mi = module_of(sp, a, mod_limit);
	char buf[256];
	struct sym_frame base = {.module = sym_intern(s, "?")};
	if (mi >= 0) {
		struct mod_state *st = &sp->ms[mi];
		if (st->state == MOD_UNSEEN)
			prepare_module(sp, (size_t)mi);
		base.module = st->name;
		base.module_offset = addr - sp->mods[mi].base;
		snprintf(buf, sizeof buf, "%s+0x%llx", st->name, (unsigned long long)base.module_offset);
		base.function = sym_intern(s, buf);
		if (st->state == MOD_OK && !dwarf_frames(sp, st->dm, a, &base)) {
			/* No DWARF here: the ELF symbol table still names the function. */
			const char *name = elf_function(s, st, a);
			struct sym_frame f = base;
			if (name) {
				f.function = name;
				f.resolved = 1;
			}
			int line;
			f.file = line_of(s, st->dm, a, &line);
			f.line = line > 0 ? (unsigned)line : 0;
			push(sp, f);
		}
	} else {
		snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)addr);
		base.function = sym_intern(s, buf);
	}
	if (!sp->nrun)
		push(sp, base);
	if (sp->nrun > 0xffff)
		sp->nrun = 0xffff;
	unsigned n = (unsigned)sp->nrun;
	struct sym_frame *kept = keep_run(sp);
	u64map_put(&sp->cache, key, (uint64_t)(uintptr_t)kept << 16 | n);
	*frames = kept;
	return n;
}
