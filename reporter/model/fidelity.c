/*
 * fidelity.c - see fidelity.h.
 */
#include "fidelity.h"

#include <string.h>

#include "model/loaded.h"

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
		}
	}
}
