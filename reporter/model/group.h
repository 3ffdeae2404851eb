/*
 * group.h - heap figures per stack, grouped the way tracemalloc groups
 * statistics: by traceback, function, line, file, or module, with
 * include/exclude filters.
 *
 * The group of an allocation is decided by its "site frame": the first frame
 * of its stack that is neither the agent, the allocator itself (C++ operator
 * new, strdup and friends are allocators from the program's point of view)
 * nor its plumbing (the C++ standard library...; site_rules_set), with
 * inline frames expanded. Only the frames a key needs are symbolized.
 */
#ifndef LDPR_GROUP_H
#define LDPR_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "model/loaded.h"

enum group_by { BY_TRACEBACK, BY_FUNCTION, BY_LINE, BY_FILE, BY_MODULE };

struct group_opts {
	enum group_by by;
	const char **include, **exclude; /* fnmatch globs on function, file or module */
	size_t ninclude, nexclude;
	int all_frames; /* filters look at every frame, not only the site frame */
};

struct group {
	const char *key;
	uint64_t allocations, allocated_bytes, frees, temporary;
	uint64_t leaked_bytes, leaked_count;
	uint64_t peak_bytes, peak_count; /* live at the peak of its process */
	uint64_t min_size, max_size; /* of its allocations (0 when none) */
	/* samples ([PROF_CPU], [PROF_WALL]): self = the group is the innermost
	 * frame; total = the group is anywhere on the stack (counted once) */
	uint64_t self[2], total[2], self_ns[2], total_ns[2];
	/* the mapped channel (mmap and mremap made here) */
	uint64_t maps, mapped_bytes, mapped_live_bytes, mapped_peak_bytes;
	/* where: the site frame of the first stack seen */
	const char *function, *file, *module;
	unsigned line;
	/* traceback grouping: the frames, innermost first */
	const struct sym_frame **frames;
	unsigned nframes;
};

struct grouping {
	struct group *groups;
	size_t n, cap;
	struct u64map index; /* interned key pointer -> group index */
	uint64_t filtered_out; /* allocations whose site did not pass the filters */
	uint64_t filtered_samples[2];
	uint64_t agent_samples[2], agent_ns[2]; /* ldprof's own work, left out (flat_agent_work) */
};

/* The symbolized frames of a stack, inline frames expanded, innermost first;
 * a stack flagged truncated ends with sym_truncated_frame() when whole. */
struct flat {
	const struct sym_frame **f;
	unsigned n, cap;
	unsigned site;       /* index of the site frame */
	struct u64map roles; /* internal: function name -> its part (allocator, plumbing, site) */
};
/*
 * Which frames are the allocator's plumbing, not a site (group.c): the C++
 * standard library and Rust's alloc:: by default, then the globs given
 * (fnmatch, on the function's name with and without return type and
 * parameters); no_defaults drops the defaults. Set once, before stacks are
 * read (the command line: --site-skip).
 */
void site_rules_set(const char *const *globs, size_t n, int no_defaults);
/* Symbolize a stack: up to the site frame, or all of it when `whole`. */
void flat_stack(struct flat *fl, struct sym_space *sp, const struct tm_stack *st, int whole);
int flat_passes(const struct flat *fl, const struct group_opts *o);
/* The key of frame `frame` (normally fl->site) for a grouping. */
const char *flat_key(struct symbolizer *sym, const struct flat *fl, enum group_by by, unsigned frame);
void flat_free(struct flat *fl);
/* The keys a CPU or wall sample of this (whole) stack counts for: the
 * innermost frame's first (its "self"), then every other distinct key on
 * the stack, once each, with the frame each was first found at. Fills
 * *keys (grown as needed). @return how many. */
struct flat_key_at {
	const char *key;
	unsigned frame;
};
size_t flat_sample_keys(struct symbolizer *sym, const struct flat *fl, enum group_by by, struct flat_key_at **keys,
			size_t *cap);
/* A CPU or wall sample of ldprof's own work (recording an allocation, its
 * writer thread), not the program's: reports leave these out and say how many. */
int flat_agent_work(const struct flat *fl);

const char *group_by_name(enum group_by by);
int group_by_parse(const char *s, enum group_by *by);

void grouping_init(struct grouping *g);
void grouping_free(struct grouping *g);
/* The group of an interned key, added (empty, shown at `where`'s site, if
 * given) when new. */
struct group *grouping_get(struct grouping *g, const char *key, const struct sym_frame *where);
/* Add every allocation site of every segment of t. */
void grouping_add(struct grouping *g, struct symbolizer *sym, const struct loaded *t, const struct group_opts *o);

/* Sort keys for group lists. */
enum group_sort { SORT_BYTES, SORT_COUNT, SORT_LEAKED, SORT_PEAK, SORT_TEMPORARY };
int group_sort_parse(const char *s, enum group_sort *out);
/* @return a malloc'd array of pointers into g, sorted descending. */
const struct group **grouping_sorted(const struct grouping *g, enum group_sort by);

#endif
