/*
 * ldprof/format.h - the on-disk contract between agent and reporter.
 *
 * This is the only header both sides share (with varint.h). Every value here
 * is pinned: codes are never renumbered or reused, new ones are appended and
 * documented in docs/FORMAT.md together with a "Version changes" entry.
 *
 * Picture of a trace file (docs/FORMAT.md has the full specification):
 *
 *   [segment header: zstd skippable frame]   one per process image (exec adds one)
 *   [zstd frame: records of rounds 1..k, flushed after each round]
 *   [zstd frame: rounds k+1..] ...          (a frame ends at least every second)
 *   [segment header]                         after an exec, same pid
 *   [zstd frame] ...
 *
 * A decompressed frame is a sequence of records:  u8 type | varint len | payload.
 */
#ifndef LDPROF_FORMAT_H
#define LDPROF_FORMAT_H

#include <stdint.h>

/* ---- segment header ---------------------------------------------------- */

/* zstd skippable frame magic (0x184D2A50..5F are skippable); ours is ...5D. */
#define LDP_SEGMENT_MAGIC 0x184D2A5Du
/* First 8 bytes of the skippable frame's payload. */
#define LDP_FILE_MAGIC "ldprof\0\0"
#define LDP_FILE_MAGIC_LEN 8

#define LDP_FORMAT_MAJOR 1 /* incompatible changes: readers refuse a newer major */
#define LDP_FORMAT_MINOR 1 /* compatible additions: new record types, new tags (1: rounds share frames) */

/* Segment header fields: varint tag | varint len | bytes. Unknown tags are skipped. */
enum ldp_header_tag {
	LDP_HDR_PID = 1,             /* varint */
	LDP_HDR_PPID = 2,            /* varint */
	LDP_HDR_EXE = 3,             /* bytes: path of the executable */
	LDP_HDR_CMDLINE = 4,         /* bytes: argv, each terminated by NUL */
	LDP_HDR_HOSTNAME = 5,        /* bytes */
	LDP_HDR_START_REALTIME = 6,  /* varint: CLOCK_REALTIME ns at segment start */
	LDP_HDR_START_MONOTONIC = 7, /* varint: CLOCK_MONOTONIC ns at segment start */
	LDP_HDR_PROC_START = 8,      /* varint: process start time, clock ticks since boot */
	LDP_HDR_SEGMENT_INDEX = 9,   /* varint: 0 for the first image, +1 per exec */
	LDP_HDR_MODE = 10,           /* varint: enum ldp_mode */
	LDP_HDR_MAX_DEPTH = 11,      /* varint: stack depth limit */
	LDP_HDR_AGENT_VERSION = 12,  /* bytes */
	LDP_HDR_SEQ_SHIFT = 13,      /* varint: event time = (seq >> shift) microseconds */
	LDP_HDR_POINTER_BITS = 14,   /* varint: 64 */
};

enum ldp_mode {
	LDP_MODE_FULL = 0,
	LDP_MODE_SAMPLED = 1,
	LDP_MODE_OFF = 2,
};

/* ---- records ----------------------------------------------------------- */

enum ldp_record_type {
	LDP_REC_MODULE = 0x10, /* a loaded object: id, base, path, build-id, segments */
	LDP_REC_STACK = 0x12,  /* an interned stack: id, flags, depth, ips */
	LDP_REC_EVENTS = 0x20, /* one thread's event bytes: ring id, then events */
	LDP_REC_ROUND = 0x30,  /* end of a writer round: round, time, watermark, lost */
	LDP_REC_END = 0x31,    /* the segment ended cleanly: reason, time, totals */
};

/* STACK flags */
#define LDP_STACK_TRUNCATED 0x1u /* deeper than max depth: outermost frames dropped */

/* MODULE segment flags (PF_X, PF_W, PF_R as in ELF) */
#define LDP_SEG_X 0x1u
#define LDP_SEG_W 0x2u
#define LDP_SEG_R 0x4u

/* END reasons */
enum ldp_end_reason {
	LDP_END_EXIT = 1,  /* normal exit: ELF destructor or exit() */
	LDP_END_EXEC = 2,  /* the image is being replaced; the next segment follows */
	LDP_END_UNDERSCORE_EXIT = 3, /* _exit, _Exit, quick_exit */
	LDP_END_ABORT = 4,
	LDP_END_ERROR = 5, /* the agent turned itself off */
};

/* ---- events inside an EVENTS record ------------------------------------ */
/*
 * Each ring (one per live thread; rings are reused after a thread exits)
 * keeps delta state: prev_seq and prev_ptr, both reset to 0 by ATTACH.
 *
 *   ATTACH   op | varint tid
 *   ALLOC_*  op | varint seq_delta | zigzag ptr_delta | varint size | varint stack_id
 *   FREE     op | varint seq_delta | zigzag ptr_delta
 *
 * seq is a per-address Lamport clock floored by time (docs/FORMAT.md, "Ordering"):
 * for two events on the same address, the one that happened first has the
 * smaller seq; (seq >> seq_shift) is microseconds since segment start.
 */
enum ldp_event_op {
	LDP_EV_ATTACH = 0x01,
	LDP_EV_ALLOC_MALLOC = 0x10,
	LDP_EV_ALLOC_CALLOC = 0x11,
	LDP_EV_ALLOC_REALLOC = 0x12,
	LDP_EV_ALLOC_ALIGNED = 0x13, /* posix_memalign, aligned_alloc, memalign, valloc, pvalloc */
	LDP_EV_FREE = 0x20,
};

#define LDP_SEQ_SHIFT 12 /* 4096 sequence steps per microsecond: never exhausted */

/* ---- limits a reader enforces (and a writer never exceeds) -------------- */
#define LDP_MAX_RECORD_LEN (16u << 20)  /* one record */
#define LDP_MAX_HEADER_LEN (1u << 20)   /* one segment header */
#define LDP_MAX_STACK_DEPTH 1024u
#define LDP_MAX_PATH_LEN 4096u
#define LDP_MAX_BUILD_ID_LEN 64u
#define LDP_MAX_MODULE_SEGMENTS 64u

#endif
