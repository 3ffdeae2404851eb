/*
 * mapped.h - the mapped channel: what the program mapped with mmap (and
 * resized with mremap, released with munmap), replayed exactly as address
 * ranges, with totals, peak, what was live at exit, and the same per stack.
 * Also the resident set size over time (RSS records).
 *
 * Partial unmaps split a mapping; mremap moves or resizes it (the bytes keep
 * the stack that first mapped them); MAP_FIXED over live mappings replaces
 * the overlapped part. Memory mapped before tracing began is not in this
 * channel: unmapping it changes nothing here.
 */
#ifndef LDPR_MAPPED_H
#define LDPR_MAPPED_H

#include <stdint.h>

#include "model/heap.h"
#include "read/trace.h"
#include "util/util.h"

struct map_range {
	uint64_t lo, hi;
	uint32_t stack, path;
	uint8_t prot;
	uint32_t flags;
};

struct map_site {
	uint64_t maps, mapped_bytes;  /* mmap/mremap calls and bytes they mapped */
	uint64_t live_bytes;
	uint64_t peak_bytes;          /* live at the channel's peak */
	uint64_t peak_gen;
};

/* The same figures per mapped file (PATH id): what each file backs. */
typedef struct map_site map_file;

struct mapped_model {
	struct map_range *r; /* sorted by lo, never overlapping */
	size_t n, cap;
	uint64_t maps, unmaps, remaps, mapped_bytes;
	uint64_t live_bytes, live_file_bytes, peak_bytes, peak_time_us, live_at_end;
	struct map_site *sites;
	size_t nsites, sites_cap;
	uint64_t peak_gen;
	unsigned seq_shift;
	/* RSS */
	uint64_t rss_peak, rss_peak_time_us, rss_last, rss_samples;
	uint64_t heap_at_rss_peak, mapped_at_rss_peak; /* what the channels held then */
	struct heap_series series, rss_series; /* mapped live bytes, RSS, over time */
	char **paths; /* id -> path */
	size_t npaths;
	map_file *files; /* PATH id -> its figures (0: anonymous, unused) */
	size_t nfiles, files_cap;
};

void mapped_init(struct mapped_model *m, unsigned seq_shift);
void mapped_free(struct mapped_model *m);
void mapped_event(struct mapped_model *m, const struct rd_event *e);
void mapped_path(struct mapped_model *m, uint32_t id, const char *path);
/* heap_live: the heap model's live bytes at this moment, to say how much of
 * the RSS the traced channels explain. */
void mapped_rss(struct mapped_model *m, uint64_t time_us, uint64_t bytes, uint64_t heap_live);
void mapped_finish(struct mapped_model *m);

#endif
