/*
 * zlevel.h - the trace's compression level when LDPROF_ZSTD_LEVEL does not
 * set it: chosen frame by frame by the writer (writer.c), from the share of
 * the frame's wall time it spent compressing.
 *
 * Level 6 makes real programs' traces 10-28% smaller than level 3 (python3
 * 11%, git log -p 18%, the loops 28%) for about twice the compression time
 * (python3: 15% of the run's wall time, on the writer's core), but costs
 * 2.5x on an event stream that compresses poorly (the 4-site loop: 30 MB of
 * records a second, all of a core at level 6, and 4% bigger). So frames are
 * rich while compressing takes at most a quarter of their time:
 * - an open rich frame that took more than half its time so far is ended at
 *   the round (three quarters before LDP_ZLEVEL_CHECK_NS: the first
 *   compression faults in zstd's tables, about 15 ms of the first 30 at
 *   level 6 here; the 4-site loop's is 24 of 25);
 * - at its end, a rich frame over a quarter (or ended as above) makes the
 *   next one light, a light frame under a tenth the next one rich.
 */
#ifndef LDPROF_AGENT_ZLEVEL_H
#define LDPROF_AGENT_ZLEVEL_H

#include <stdint.h>

#define LDP_ZLEVEL_RICH 6
#define LDP_ZLEVEL_LIGHT 3
#define LDP_ZLEVEL_CHECK_NS (100ull * 1000000)

/* An open frame at level, age_ns old, compress_ns of it compressing: end it now. */
static inline int ldp_zlevel_overloaded(int level, uint64_t age_ns, uint64_t compress_ns)
{
	if (level != LDP_ZLEVEL_RICH)
		return 0;
	return (age_ns >= LDP_ZLEVEL_CHECK_NS / 5 && compress_ns > age_ns / 4 * 3) ||
	       (age_ns >= LDP_ZLEVEL_CHECK_NS && compress_ns > age_ns / 2);
}

/* The level of the frame after one that ended so. */
static inline int ldp_zlevel_next(int level, uint64_t age_ns, uint64_t compress_ns)
{
	if (level == LDP_ZLEVEL_RICH &&
	    (ldp_zlevel_overloaded(level, age_ns, compress_ns) ||
	     (age_ns >= LDP_ZLEVEL_CHECK_NS && compress_ns > age_ns / 4)))
		return LDP_ZLEVEL_LIGHT;
	if (level == LDP_ZLEVEL_LIGHT && age_ns >= LDP_ZLEVEL_CHECK_NS && compress_ns < age_ns / 10)
		return LDP_ZLEVEL_RICH;
	return level;
}

#endif
