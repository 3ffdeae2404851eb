/*
 * report.h - the heap report (`ldprof report`) as text and as JSON.
 * Renderers only format what the models computed; they never read traces.
 */
#ifndef LDPR_RENDER_REPORT_H
#define LDPR_RENDER_REPORT_H

#include "model/group.h"
#include "util/util.h"

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
};

/* Fill the totals and histogram from the loaded traces. */
void report_sum(struct report *r);
/* Say what was missed: "note: ..." lines (none when nothing was), and the
 * JSON key "missed" (docs/JSON.md). check uses these too. */
void render_missed_text(struct strbuf *b, const struct report *r);
void render_missed_json(struct strbuf *b, const struct report *r);
void render_report_text(struct strbuf *b, const struct report *r);
void render_report_json(struct strbuf *b, const struct report *r);

#endif
