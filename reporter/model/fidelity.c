/*
 * fidelity.c - see fidelity.h.
 *
 * pymalloc (Objects/obmalloc.c) takes its arenas with mmap, ARENA_SIZE at a
 * time: 256 KiB up to CPython 3.9, 1 MiB since 3.10. With PYTHONMALLOC=malloc
 * it takes none (other mmaps from the interpreter, such as the frame stack's
 * chunks, have other sizes). So an image whose mapped channel has mmaps of
 * exactly an arena's size from a stack whose innermost frame is in the
 * interpreter (the executable python3.X or libpython3.X.so) ran with pymalloc.
 */
#include "fidelity.h"

#include <string.h>

#include "model/loaded.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int is_interpreter(const char *path)
{
	const char *b = base_name(path);
	return !strncmp(b, "python", 6) || !strncmp(b, "libpython", 9);
}

/* The module of seg holding addr (executable segments), or -1. */
static long module_at(const struct tm_segment *seg, uint64_t addr)
{
	for (size_t i = seg->nmods; i-- > 0;) {
		const struct rd_module *m = &seg->mods[i];
		for (unsigned k = 0; k < m->nseg; k++) {
			uint64_t lo = m->base + m->seg[k].vaddr;
			if (addr >= lo && addr - lo < m->seg[k].memsz)
				return (long)i;
		}
	}
	return -1;
}

static void pymalloc_arenas(struct fidelity *f, const struct tm_segment *seg)
{
	int python = 0;
	for (size_t i = 0; i < seg->nmods && !python; i++)
		python = is_interpreter(seg->mods[i].path);
	if (!python)
		return;
	const struct mapped_model *mm = &seg->mapped;
	for (size_t id = 1; id < mm->nsites && id < seg->nstacks; id++) {
		const struct map_site *ms = &mm->sites[id];
		const struct tm_stack *st = &seg->stacks[id];
		if (!ms->maps || !st->depth)
			continue;
		if (ms->mapped_bytes != ms->maps * (256u << 10) && ms->mapped_bytes != ms->maps * (1u << 20))
			continue;
		/* a return address: the call is just before it */
		struct tm_ips ips = tm_ips(st);
		long mi = module_at(seg, tm_ips_next(&ips) - 1);
		if (mi < 0 || !is_interpreter(seg->mods[mi].path))
			continue;
		f->pymalloc_image = seg->mods[mi].path;
		f->pymalloc_arenas += ms->maps;
		f->pymalloc_arena_bytes += ms->mapped_bytes;
	}
}

void fidelity_of(struct fidelity *f, const struct loaded *traces, size_t ntraces)
{
	memset(f, 0, sizeof *f);
	for (size_t t = 0; t < ntraces; t++) {
		const struct tmodel *m = &traces[t].m;
		for (size_t s = 0; s < m->nsegs; s++) {
			const struct tm_segment *seg = &m->segs[s];
			int cut = 0;
			for (size_t id = 1; id < seg->nstacks; id++) {
				if (!(seg->stacks[id].flags & LDP_STACK_TRUNCATED))
					continue;
				uint64_t allocs = id < seg->heap.nsites ? seg->heap.sites[id].allocations : 0, samples = 0;
				for (int k = 0; k < PROF_KINDS; k++)
					if (id < seg->prof.k[k].nstacks)
						samples += seg->prof.k[k].stacks[id].samples;
				if (!allocs && !samples)
					continue;
				f->truncated_stacks++;
				f->truncated_allocations += allocs;
				f->truncated_samples += samples;
				cut = 1;
			}
			if (cut && (!f->max_depth || seg->info.max_depth < f->max_depth))
				f->max_depth = seg->info.max_depth;
			pymalloc_arenas(f, seg);
			for (size_t i = 0; i < seg->nmods && !f->asan_runtime; i++)
				if (!strncmp(base_name(seg->mods[i].path), "libasan.so", 10))
					f->asan_runtime = seg->mods[i].path;
		}
	}
}
