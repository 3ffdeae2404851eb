/*
 * fleet.c - see fleet.h.
 */
#include "fleet.h"

#include <string.h>

#include "model/wstack.h"
#include "util/util.h"

int fleet_label_split(const char *kv, char **key, char **value)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return -1;
	*key = xstrndup(kv, (size_t)(eq - kv));
	*value = xstrdup(eq + 1);
	return 0;
}

void fleet_report_fill(struct report *r, const struct fleet_totals *t, int only)
{
	r->total = t->heap;
	r->peak_time_ns = t->heap.peak_time_us * 1000;
	memcpy(r->size_hist, t->size_hist, sizeof r->size_hist);
	r->maps = t->maps;
	r->remaps = t->remaps;
	r->unmaps = t->unmaps;
	r->mapped_bytes = t->mapped_bytes;
	r->mapped_peak = t->mapped_peak;
	r->mapped_live_at_exit = t->mapped_live_at_exit;
	r->rss_peak = t->rss_peak;
	r->rss_heap = t->rss_heap;
	r->rss_mapped = t->rss_mapped;
	r->peak_times_unknown = 1;
	r->missed = t->missed;
	r->missed.damaged_trace = t->missed.damaged ? t->damaged_trace : NULL;
	r->missed.damage_why = t->missed.damaged ? t->damage_why : NULL;
	r->missed.unordered_why = t->missed.unordered_events ? t->unordered_why : NULL;
	for (int k = 0; k < 2; k++) {
		if (only >= 0 && only != (k ? WS_WALL : WS_CPU))
			continue;
		r->samples[k] = t->samples[k];
		r->weight_ns[k] = t->weight_ns[k];
		r->lost[k] = t->lost[k];
		r->hz[k] = t->hz[k];
	}
}
