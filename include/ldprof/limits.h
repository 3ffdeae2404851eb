/*
 * ldprof/limits.h - the ranges of the agent's settings (docs/CONFIG.md):
 * the agent clamps LDPROF_* to them (config.c) and `ldprof record` refuses
 * options outside them (cmd/record.c) before the program starts, so the two
 * can never disagree. Header-only, shared through include/ like format.h.
 */
#ifndef LDPROF_LIMITS_H
#define LDPROF_LIMITS_H

#include "ldprof/format.h"

/* LDPROF_MAX_DEPTH, --max-depth: frames kept per stack */
#define LDP_DEPTH_MIN 1u
#define LDP_DEPTH_MAX LDP_MAX_STACK_DEPTH
#define LDP_DEPTH_DEFAULT 64u

/* LDPROF_CPU_HZ, --cpu and LDPROF_WALL_HZ, --wall: samples per second (0: off) */
#define LDP_HZ_MAX 1000u
#define LDP_CPU_HZ_DEFAULT 99u

/* LDPROF_SAMPLE_BYTES, --sample-bytes: mean bytes between two samples */
#define LDP_SAMPLE_BYTES_MIN 1u
#define LDP_SAMPLE_BYTES_MAX (1u << 30)
#define LDP_SAMPLE_BYTES_DEFAULT (512u << 10)

/* LDPROF_SNAPSHOT_INTERVAL_MS (--snapshot-interval, in seconds): at most a day */
#define LDP_SNAPSHOT_INTERVAL_MS_MAX 86400000u

/* LDPROF_FLUSH_MS, LDPROF_RING_KB, LDPROF_ZSTD_LEVEL: agent-only knobs */
#define LDP_FLUSH_MS_MIN 1u
#define LDP_FLUSH_MS_MAX 100u
#define LDP_WRITER_DELAY_MS_MAX 60000u /* LDPROF_WRITER_DELAY_MS */
#define LDP_RING_KB_MIN 16u
#define LDP_RING_KB_MAX 65536u
#define LDP_ZSTD_LEVEL_MIN 1u
#define LDP_ZSTD_LEVEL_MAX 19u

#endif
