/*
 * ldprof/format.h - the on-disk contract between agent and reporter.
 *
 * The contract both sides share (with varint.h and model.h). Every value here
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

#define LDP_FORMAT_MAJOR 2 /* incompatible changes: readers refuse a newer major (2: stacks as STACK2 records, which a
                            * 1.x reader cannot resolve) */
#define LDP_FORMAT_MINOR 3 /* compatible additions: new record types, new tags (1.5: sampled mode, 1.6: END by signal,
                            * nested losses, 1.7: allocator, attach, pause marks, END detached, parts, EVENTS2;
                            * 1.8: a stack's modules precede it, reloads over others recorded again;
                            * 2.1: EVENTS3, seqs on the floor's quanta written as quanta;
                            * 2.2: EVENTS4, blocks named by (size, stack) instead of address;
                            * 2.3: EVENTS5, an ALLOC3 of the last site's size and stack in one byte) */
#define LDP_FORMAT_MAJOR_MIN 1 /* the oldest major this reader reads */

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
	LDP_HDR_SEGMENT_INDEX = 9,   /* varint: 0 for the first image, +1 per exec; reserved: never written, readers count segments */
	LDP_HDR_MODE = 10,           /* varint: enum ldp_mode */
	LDP_HDR_MAX_DEPTH = 11,      /* varint: stack depth limit */
	LDP_HDR_AGENT_VERSION = 12,  /* bytes */
	LDP_HDR_SEQ_SHIFT = 13,      /* varint: event time = (seq >> shift) microseconds */
	LDP_HDR_POINTER_BITS = 14,   /* varint: 64 */
	LDP_HDR_SAMPLE_BYTES = 15,   /* varint: sampled mode's mean bytes between samples (since 1.5) */
	LDP_HDR_ALLOCATOR = 16,      /* bytes: which allocator served the program, one line of text (since 1.7) */
	LDP_HDR_ATTACHED = 17,       /* varint: 1 = the agent was attached to a running process at segment
				      * start; blocks allocated before are unknown (since 1.7) */
	/* Rotation (since 1.7): a file is one part of a rotated trace (--max-size). */
	LDP_HDR_PART = 18,           /* varint: part index, 0 = the first file (app.ldp), k = app.k.ldp */
	LDP_HDR_CONTINUES = 19,      /* varint: 1 = this part continues the previous part's image (same segment) */
	LDP_HDR_PART_START = 20,     /* varint: µs since segment start when this part began */
};

enum ldp_mode {
	LDP_MODE_FULL = 0,
	LDP_MODE_SAMPLED = 1,
	LDP_MODE_OFF = 2,
};

/* ---- records ----------------------------------------------------------- */

enum ldp_record_type {
	LDP_REC_MODULE = 0x10, /* a loaded object: id, base, path, build-id, segments */
	LDP_REC_STACK = 0x12,  /* an interned stack: id, flags, depth, ips (before 2.0) */
	LDP_REC_STACK2 = 0x16, /* an interned stack sharing its outer frames with an earlier one: id delta, flags,
	                        * new, keep, [base delta], new ips (since 2.0) */
	LDP_REC_EVENTS = 0x20, /* one thread's event bytes: ring id, then events */
	LDP_REC_EVENTS2 = 0x21, /* the same, whose events may use the 1.7 ops (since 1.7) */
	LDP_REC_EVENTS3 = 0x22, /* the same, whose 1.7 ops may write a seq as floor quanta (since 2.1) */
	LDP_REC_EVENTS4 = 0x23, /* the same, whose events may also use the 2.2 site ops (since 2.2) */
	LDP_REC_EVENTS5 = 0x24, /* the same, whose ALLOC3 may be SAME (since 2.3) */
	LDP_REC_ROUND = 0x30,  /* end of a writer round: round, time, floor (the seq watermark) */
	LDP_REC_END = 0x31,    /* the segment ended: reason, time; for a fatal signal, its number (since 1.6) */
	LDP_REC_SNAPSHOT = 0x40, /* a snapshot marker: seq, kind, label (since 1.1) */
	LDP_REC_THREAD = 0x13,   /* a thread's name: tid, name (since 1.2) */
	LDP_REC_SAMPLE = 0x50,   /* a CPU or wall-clock sample (since 1.2) */
	LDP_REC_SAMPLING = 0x51, /* how sampling was set up: rates, clock, signal (since 1.2) */
	LDP_REC_LOST = 0x52,     /* samples lost since the last LOST record (since 1.2) */
	LDP_REC_PATH = 0x14,     /* a mapped file's path: id, path (since 1.3) */
	LDP_REC_RSS = 0x53,      /* resident set size: time, bytes (since 1.3) */
	LDP_REC_PAUSE = 0x41,    /* allocation recording paused or resumed: seq, paused, cause (since 1.7) */
	LDP_REC_RING = 0x15,     /* a ring's decoding state where a part begins: ring, tid, seq, ptr, then the
				  * 1.7 model (nalloc, stack, freed[], recent slots: ldprof/model.h) (since 1.7) */
};

/* SAMPLE kinds */
enum ldp_sample_kind {
	LDP_SAMPLE_CPU = 1,  /* a thread's CPU-time timer fired: it was running this stack */
	LDP_SAMPLE_WALL = 2, /* the wall-clock sampler looked at a thread */
	LDP_SAMPLE_HEAP = 3, /* LOST only: heap samples with no place to live, not recorded (since 1.5) */
	/* LOST only (since 1.6): heap events the agent saw but could not record,
	 * because they happened in a signal handler that interrupted the agent
	 * on the same thread. A lost free later looks like a leak, a lost
	 * allocation's free like a free of an unknown block; reports say how many. */
	LDP_LOST_NESTED_ALLOC = 4,
	LDP_LOST_NESTED_FREE = 5,
};

/* SAMPLE thread states (wall samples) */
enum ldp_sample_state {
	LDP_STATE_RUNNING = 0,  /* on a CPU or runnable; stack from its latest CPU sample */
	LDP_STATE_BLOCKED = 1,  /* in an interruptible wait (a syscall, usually) */
	LDP_STATE_DISK = 2,     /* uninterruptible wait (I/O, page fault) */
};

/* SAMPLING clock: what drives the CPU timers */
enum ldp_sample_clock {
	LDP_CLOCK_NONE = 0,
	LDP_CLOCK_THREAD_CPU = 1,  /* CLOCK_THREAD_CPUTIME_ID: user + system time */
	LDP_CLOCK_THREAD_USER = 2, /* the thread's user-time clock (kernels before 5.11) */
};

/* SNAPSHOT kinds: what asked for it */
enum ldp_snapshot_kind {
	LDP_SNAP_API = 1,      /* ldprof_snapshot() */
	LDP_SNAP_SIGNAL = 2,   /* LDPROF_SNAPSHOT_SIGNAL arrived */
	LDP_SNAP_INTERVAL = 3, /* LDPROF_SNAPSHOT_INTERVAL_MS elapsed */
	LDP_SNAP_CONTROL = 4,  /* `ldprof ctl PID snapshot LABEL` (since 1.7) */
};

/* PAUSE causes: who paused or resumed (since 1.7) */
enum ldp_pause_cause {
	LDP_PAUSE_API = 1,     /* ldprof_pause() / ldprof_resume() */
	LDP_PAUSE_CONTROL = 2, /* ldprof ctl PID pause|resume */
	LDP_PAUSE_SIGNAL = 3,  /* the toggle signal (LDPROF_TOGGLE_SIGNAL) */
	LDP_PAUSE_START = 4,   /* LDPROF_START_PAUSED: paused from the segment start */
};
#define LDP_MAX_LABEL_LEN 127u

/* STACK flags */
#define LDP_STACK_TRUNCATED 0x1u /* deeper than max depth: outermost frames dropped */
#define LDP_STACK_LEAF_PC 0x2u   /* ips[0] is an exact instruction address (a sample), not a return address */

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
	LDP_END_SIGNAL = 6, /* a fatal signal: END carries the signal number as a third field (since 1.6) */
	LDP_END_DETACHED = 7, /* `ldprof detach`: recording stopped, the process runs on (since 1.7) */
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
	/* 2.2, site events (docs/FORMAT.md "Events, 2.2"): a block the agent's
	 * live-block map held, named by its size and stack, never its address;
	 * no delta state but the seq. The agent writes their model forms
	 * (ALLOC3, FREE3 below); the reader queues these. */
	LDP_EV_SALLOC_MALLOC = 0x14, /* ..0x17 as ALLOC_*: seq_delta | size | stack_id */
	LDP_EV_SFREE = 0x21,         /* seq_delta | size | stack_id */
	/* 0x30..0x7f: length-prefixed ops (since 1.3): op | varint len | payload;
	 * a reader skips the ones it does not know. */
	LDP_EV_MMAP = 0x30,   /* seq_delta, zigzag addr_delta, len, prot, flags, path id, stack */
	LDP_EV_MUNMAP = 0x31, /* seq_delta, zigzag addr_delta, len */
	LDP_EV_MREMAP = 0x32, /* seq_delta, zigzag old_delta, old_len, zigzag new - old, new_len, stack */
};
#define LDP_EV_SIZED_MIN 0x30
#define LDP_EV_SIZED_MAX 0x7f

/*
 * The 1.7 ops (docs/FORMAT.md "Events, 1.7"): what the reader can infer is
 * left out. ALLOC2 = 0x80 | kind (op - LDP_EV_ALLOC_MALLOC) | flags;
 * FREE2 = 0x90 | flags. Both sides keep the same per-ring model: the
 * recent-allocation table (a free of a block still in it is written as the
 * block's allocation index) and, per size class, the last block freed by
 * index (an allocation that returns it is written without its address).
 * The model and its updates: ldprof/model.h; a RING record carries it.
 */
#define LDP_EV_ALLOC2 0x80
#define LDP_EV_ALLOC2_SEQ1 0x04  /* seq is prev_seq + 1 (no seq field) */
#define LDP_EV_ALLOC2_REUSE 0x08 /* address is the class's last freed block (no address field) */
#define LDP_EV_FREE2 0x90
#define LDP_EV_FREE2_SEQ1 0x01  /* seq is prev_seq + 1 */
#define LDP_EV_FREE2_INDEX 0x02 /* the block is given by allocation index, not address */
/*
 * The 2.2 model ops: site events with what the model gives left out.
 * ALLOC3 = 0xa0 | kind | SEQ1: [seq] size, zigzag stack delta from the
 * model's stack (the last allocation's, as ALLOC2's); FREE3 = 0xb0 | SEQ1:
 * [seq] zigzag stack delta from the model's free_stack (the last site
 * free's), size; or with LAST, [seq] alone: the size and stack of the
 * ring's last ALLOC3 (site_size, site_stack), an allocation freed at once.
 * A FREE3 sets free_stack; an ALLOC3 sets stack, site_stack and site_size.
 * Neither moves prev_ptr, nalloc or the recent table. Since 2.3 (EVENTS5)
 * an ALLOC3 with SAME is [seq] alone: site_size and site_stack again (a
 * loop's allocation, one byte as its free).
 */
#define LDP_EV_ALLOC3 0xa0
#define LDP_EV_ALLOC3_SEQ1 0x04
#define LDP_EV_ALLOC3_SAME 0x08
#define LDP_EV_FREE3 0xb0
#define LDP_EV_FREE3_SEQ1 0x01
#define LDP_EV_FREE3_LAST 0x02
/* Ops decoded against the model: 0x80..0x93 (1.7), 0xa0..0xa7, 0xb0..0xb3 (2.2) and 0xa8..0xaf (2.3). */
#define LDP_EV_V2_MIN 0x80
#define LDP_EV_V2_MAX 0xb3

#define LDP_RECENT_SLOTS 1024 /* recent-allocation table: slots per ring */
#define LDP_SIZE_CLASSES 131  /* ldp_size_class() < this */

/* Slot of an address in the recent-allocation table. */
static inline unsigned ldp_recent_slot(uint64_t ptr)
{
	return (unsigned)((ptr >> 4) ^ (ptr >> 14)) & (LDP_RECENT_SLOTS - 1);
}

/* A size's class: 16-byte steps up to 1032 bytes (glibc's tcache bins),
 * then one per power of two. */
static inline unsigned ldp_size_class(uint64_t size)
{
	if (size <= 1032)
		return (unsigned)(size + 23) >> 4;
	return 66 + (64 - (unsigned)__builtin_clzll(size));
}

#define LDP_SEQ_SHIFT 12 /* 4096 sequence steps per microsecond: never exhausted */
/* The time floor moves in quanta of 2^LDP_SEQ_QUANTUM_SHIFT seqs (1024 us).
 * In EVENTS3, an ALLOC2 or FREE2 whose seq field is 0 has the seq
 * ((prev_seq >> LDP_SEQ_QUANTUM_SHIFT) + q) << LDP_SEQ_QUANTUM_SHIFT, q the
 * varint after it: the event that took the new floor, written in a byte or
 * two that repeat, where its delta from the last seq was 3 bytes of noise. */
#define LDP_SEQ_QUANTUM_SHIFT (LDP_SEQ_SHIFT + 10)

/* The seq delta that such a q gives after prev (q 0: the same seq again);
 * the one definition for the writer's ring follower and the reader.
 * @return 0, or -1 when the seq would pass 2^64 (malformed). */
static inline int ldp_seq_quanta_delta(uint64_t prev, uint64_t q, uint64_t *delta)
{
	uint64_t base = prev >> LDP_SEQ_QUANTUM_SHIFT;
	if (q > (UINT64_MAX >> LDP_SEQ_QUANTUM_SHIFT) - base)
		return -1;
	*delta = q ? ((base + q) << LDP_SEQ_QUANTUM_SHIFT) - prev : 0;
	return 0;
}

/* ---- limits a reader enforces (and a writer never exceeds) -------------- */
#define LDP_MAX_RECORD_LEN (16u << 20)  /* one record */
#define LDP_MAX_HEADER_LEN (1u << 20)   /* one segment header */
#define LDP_MAX_STACK_DEPTH 1024u
#define LDP_MAX_PATH_LEN 4096u
#define LDP_MAX_BUILD_ID_LEN 64u
#define LDP_MAX_MODULE_SEGMENTS 64u

#endif
