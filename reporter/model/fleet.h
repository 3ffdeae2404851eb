/*
 * fleet.h - a fleet as the reports see it (docs/FLEET.md): which traces a
 * question covers (struct fleet_filter), what their process images add up
 * to (struct fleet_totals, summed by the store: store/query.h), and those
 * totals as the summary `ldprof report` draws (struct report, model/report.h).
 */
#ifndef LDPR_MODEL_FLEET_H
#define LDPR_MODEL_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "model/report.h"

struct fleet_filter {
	const char *service;      /* exact; NULL: any */
	const char *host_glob;    /* shell glob (*, ?, [...]); NULL: any */
	const char *const *labels; /* "KEY=VALUE", all must hold */
	size_t nlabels;
	int64_t since, until;     /* trace start, Unix seconds, inclusive; used when has_* */
	int has_since, has_until;
};

struct fleet_totals {
	uint64_t traces, images, hosts, services;
	struct heap_totals heap;  /* sums over images; peak_*: the highest image's */
	uint64_t peak_sum;        /* the traces' peaks added up (what "inuse" weights add up to) */
	char peak_where[512];     /* "HOST pid PID EXE" of the highest peak */
	uint64_t size_hist[65];
	uint64_t samples[2], weight_ns[2], lost[2];
	unsigned hz[2];
	/* the mapped channel and RSS, as model/report.c sums them */
	uint64_t maps, remaps, unmaps, mapped_bytes, mapped_peak, mapped_live_at_exit;
	uint64_t rss_peak, rss_heap, rss_mapped;
	int64_t first_start, last_start; /* Unix seconds */
	/* What the traces' figures could not count, summed (its strings are
	 * the buffers below: fleet_report_fill points at them). The first
	 * damage is the earliest-started damaged trace's. */
	struct missed missed;
	char damaged_trace[512], damage_why[160], unordered_why[160];
};

/* Parse "KEY=VALUE" (KEY non-empty) into two new strings. @return 0 or -1. */
int fleet_label_split(const char *kv, char **key, char **value);

/* The report of a fleet: r gets the totals of t (r->groups come from the
 * store); `only` (a ws_what, or -1) keeps the CPU or wall profile out when
 * another figure was asked for. */
void fleet_report_fill(struct report *r, const struct fleet_totals *t, int only);

#endif
