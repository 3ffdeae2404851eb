/*
 * report.h - the summary of the traces a command loaded: heap, mapped and
 * sampling totals over every process image, the size histogram, and the
 * allocation sites grouped (model/group.h). Renderers draw it
 * (render/report.h, render/html.h, render/profile.h); `ldprof check` judges
 * budgets on it.
 */
#ifndef LDPR_MODEL_REPORT_H
#define LDPR_MODEL_REPORT_H

#include "model/fidelity.h"
#include "model/group.h"

struct report {
	struct loaded *traces;
	size_t ntraces;
	struct grouping groups;
	struct group_opts gopts;
	struct heap_totals total;  /* over every segment of every trace */
	uint64_t peak_time_ns;     /* of the highest peak, since its trace's start */
	const char *peak_trace;
	uint64_t size_hist[65];
	unsigned top;              /* rows per table */
	int top_given;             /* --top was given: JSON groups are limited too */
	enum group_sort sort;
	int profile_sort_total;    /* flat profiles sorted by total instead of self */
	/* the mapped channel and RSS over every segment (peaks: the highest) */
	uint64_t mapped_peak, mapped_live_at_exit, mapped_bytes, maps, remaps, unmaps, rss_peak, rss_heap, rss_mapped;
	uint64_t mapped_peak_time_ns, rss_peak_time_ns; /* since their trace's start */
	int peak_times_unknown;    /* the two above are not known (a fleet's store keeps no such time) */
	/* sampling over every segment */
	uint64_t samples[2], weight_ns[2], lost[2];
	unsigned hz[2];
	/* What the figures could not count, over every trace (report_sum). */
	struct missed {
		uint64_t damaged, skipped_bytes, dropped_events; /* damage skipped (read/source.c) */
		const char *damaged_trace;                        /* the first damaged trace... */
		uint64_t damaged_at;                              /* ...where its first damage begins... */
		const char *damage_why;                           /* ...and what it was */
		uint64_t unordered_events;                        /* merged out of order (read/merge.c) */
		const char *unordered_why;
		uint64_t nested_allocs, nested_frees;             /* not recorded by the agent (LOST 4, 5) */
	} missed;
	/* What the figures cannot show (report_sum; model/fidelity.h). */
	struct fidelity fidelity;
};

/* What one mapped file backed, over every segment (by its name). */
struct mapped_file {
	const char *path; /* points into the loaded traces */
	uint64_t maps, mapped_bytes;  /* mmap calls of the file, bytes they (and mremap growth) mapped */
	uint64_t peak_bytes;          /* live at the mapped channel's peak of each process, summed */
	uint64_t live_at_exit_bytes;
};

/* The mapped files of r's traces, by mapped bytes (then name), in a malloc'd
 * array the caller frees; @return how many. */
size_t report_mapped_files(const struct report *r, struct mapped_file **out);

/* Fill the totals and histogram from the loaded traces. */
void report_sum(struct report *r);
/* Group the allocation sites and samples of every trace by r->gopts
 * (grouping_free(&r->groups) frees them). */
void report_group(struct report *r, struct symbolizer *sym);

#endif
