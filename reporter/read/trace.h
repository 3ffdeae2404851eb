/*
 * trace.h - reading a trace: untrusted bytes in, typed callbacks out.
 *
 *   source.c  file -> segment headers and decompressed zstd frames -> records
 *   decode.c  record payload -> typed struct (every length and id checked)
 *   reader.c  records -> visitor callbacks, heap events merged across threads
 *             into sequence order
 *   ahead.c   (a big trace, 2 CPUs) the above on a thread of its own, the
 *             callbacks copied to the caller's thread in chunks
 *
 * Models implement the callbacks they need (struct rd_visitor) and never see
 * bytes. Errors carry the file offset of the frame and of the record inside
 * the decompressed frame. A truncated tail (a killed process) is not an
 * error: the reader reports it and delivers everything before it.
 */
#ifndef LDPR_TRACE_H
#define LDPR_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "ldprof/format.h"

struct rd_segment {
	unsigned index;      /* 0 for the first image in the file, +1 per exec */
	unsigned major, minor;
	uint64_t pid, ppid;
	char *exe;
	char *cmdline;       /* argv joined with spaces */
	char *hostname;
	char *agent_version;
	char *allocator;     /* which allocator served the program (since 1.7); "" when not said */
	uint64_t start_realtime_ns, start_monotonic_ns, proc_start_ticks;
	int mode;            /* enum ldp_mode */
	unsigned max_depth;
	unsigned seq_shift;
	uint64_t sample_bytes; /* sampled mode: mean bytes between heap samples; 0 otherwise */
	int attached;          /* the agent was attached to the running process at segment start (1.7) */
	/* Rotation (--max-size, format 1.7): this segment began in part `part`
	 * of a rotated trace; continues: the image began in an earlier part that
	 * was not read (deleted by --keep, or the part read alone), so blocks
	 * allocated before part_start_us (µs since segment start) are unknown. */
	int rotated;
	unsigned part;
	int continues;
	uint64_t part_start_us;
};

void rd_segment_clear(struct rd_segment *seg); /* frees the strings */

struct rd_segment_seg {
	uint64_t vaddr, memsz;
	unsigned flags;
};

struct rd_module {
	uint32_t id;
	uint64_t base;
	char *path;
	uint8_t build_id[LDP_MAX_BUILD_ID_LEN];
	unsigned build_id_len;
	unsigned nseg;
	struct rd_segment_seg seg[LDP_MAX_MODULE_SEGMENTS];
	uint64_t lo, hi; /* absolute mapped range */
};

struct rd_stack {
	uint32_t id;
	unsigned flags; /* LDP_STACK_* */
	unsigned depth;
	uint64_t *ips;  /* innermost first; owned by the reader */
};

enum rd_event_kind { RD_EV_ALLOC = 1, RD_EV_FREE = 2, RD_EV_MMAP = 3, RD_EV_MUNMAP = 4, RD_EV_MREMAP = 5 };

struct rd_event {
	uint64_t seq;
	uint64_t ptr;     /* the block; for the mapped channel the (new) range's start. ptr 0: a site
			   * event (format 2.2), the block named by size and stack; the agent never
			   * records address 0 */
	uint64_t size;    /* ALLOC, a site FREE: requested bytes; MMAP, MUNMAP, MREMAP: the (new) range's length */
	uint64_t old_ptr, old_size; /* MREMAP: the range before */
	uint32_t stack;   /* ALLOC, a site FREE, MMAP, MREMAP; 0 = none */
	uint32_t tid;
	uint32_t path;    /* MMAP: PATH id of the mapped file, 0 = anonymous */
	uint32_t flags;   /* MMAP: mmap flags */
	uint8_t prot;     /* MMAP: PROT_* */
	uint8_t kind;     /* enum rd_event_kind */
	uint8_t op;       /* LDP_EV_* as written */
};

struct rd_snapshot {
	uint64_t seq;    /* events with a smaller seq are before it */
	unsigned kind;   /* enum ldp_snapshot_kind */
	char label[LDP_MAX_LABEL_LEN + 1];
};

/* Allocation recording paused or resumed (PAUSE record, since 1.7). */
struct rd_pause {
	uint64_t seq;   /* events with a smaller seq are before it */
	int paused;     /* 1 paused, 0 resumed */
	unsigned cause; /* enum ldp_pause_cause */
};

struct rd_sample {
	unsigned kind;      /* enum ldp_sample_kind */
	uint32_t tid;
	uint64_t time_us;   /* since segment start */
	uint64_t weight_ns; /* CPU: thread CPU time since its previous sample; wall: time since the previous look */
	uint32_t stack;     /* 0: unknown (a running thread without a recent CPU sample) */
	unsigned state;     /* enum ldp_sample_state */
	long syscall;       /* wall, blocked: the system call number; -1 otherwise */
};

struct rd_sampling {
	unsigned cpu_hz, wall_hz, clock, signal, status;
};

struct rd_end {
	int reason;  /* enum ldp_end_reason, 0 if the segment had no END (killed, truncated) */
	uint64_t time_us;
	int signal;  /* LDP_END_SIGNAL: the signal that ended the process (0 if not said) */
	int running; /* no END, and the process that wrote it still runs on this host
		      * (rd_segment_running): nothing has ended yet */
	int continued; /* no END, and the image goes on in the next part of a rotated
			* trace, which was not read (a part read alone): nothing has ended */
};

struct rd_visitor {
	void *ctx;
	void (*segment_begin)(void *ctx, const struct rd_segment *seg);
	void (*module)(void *ctx, const struct rd_module *m);
	void (*stack)(void *ctx, const struct rd_stack *s);
	/* Heap events in sequence order (per address exact; across threads by time). */
	void (*event)(void *ctx, const struct rd_event *e);
	/* Optional, a hint: a heap event at ptr (from stack, when alloc) comes
	 * a few events from now. A model with a large live set fetches the
	 * cache lines it will touch, so their misses overlap. Called only when
	 * events are delivered from a batch (read/ahead.c); it changes nothing. */
	void (*prefetch)(void *ctx, uint64_t ptr, uint32_t stack, int alloc);
	/* A snapshot marker, in sequence order among the events. */
	void (*snapshot)(void *ctx, const struct rd_snapshot *s);
	/* A pause or resume mark, in sequence order among the events. */
	void (*pause)(void *ctx, const struct rd_pause *p);
	/* Sampling: how it was set up, each sample, samples lost, thread names. */
	void (*sampling)(void *ctx, const struct rd_sampling *s);
	void (*sample)(void *ctx, const struct rd_sample *s);
	void (*lost)(void *ctx, unsigned kind, uint64_t count);
	void (*thread)(void *ctx, uint32_t tid, const char *name);
	/* The mapped channel's file names, and resident set size over time. */
	void (*path)(void *ctx, uint32_t id, const char *path);
	void (*rss)(void *ctx, uint64_t time_us, uint64_t bytes);
	void (*segment_end)(void *ctx, const struct rd_end *end);
	/* Optional: every record as read, before interpretation (ldprof dump). */
	void (*raw_record)(void *ctx, unsigned type, const uint8_t *payload, size_t len, uint64_t frame_off,
			   uint64_t rec_off);
	/* Optional: the events of an EVENTS record as the merge checks them on
	 * arrival (read/merge.c), in the ring's own order, before they are
	 * merged (ldprof dump); ev NULL: the ring's thread tid attached to it.
	 * After damage, also the events of rings whose state was lost, which
	 * the merge then drops (stats.dropped_events). */
	void (*raw_event)(void *ctx, uint32_t ring, uint32_t tid, const struct rd_event *ev);
};

struct rd_stats {
	uint64_t bytes_read;
	uint64_t frames, records, events, samples;
	uint64_t late_events; /* arrived after their place in the merge had passed */
	/* The merge (merge.c): what waited, and what went to its temporary file. */
	uint64_t max_queued;       /* most events waiting at once */
	uint64_t max_queued_bytes; /* most bytes of events waiting in memory at once */
	uint64_t spills, spilled_bytes, max_spill_bytes;
	/* Delivered out of order because the temporary file could not take them
	 * (0 unless the disk is full or a trace passes rd_spill_max): counts
	 * may be off by about that many events. */
	uint64_t unordered_events;
	char unordered_why[160];
	int truncated;         /* the file ended inside a frame or header */
	uint64_t truncated_at; /* offset of the incomplete frame */
	/* Damage: regions skipped to resynchronise (a corrupt frame, bytes
	 * that are neither a frame nor a header), and what could not be used
	 * after them (rings whose delta state was lost, until their ATTACH). */
	uint64_t damaged;            /* damaged regions */
	uint64_t skipped_bytes;      /* bytes of the file skipped over */
	uint64_t damaged_at;         /* offset of the first damaged frame or region */
	char damage_why[160];        /* what the first damage was */
	uint64_t dropped_events, dropped_event_bytes;
	/* A rotated trace (format 1.7): the parts read, first..last, and how many
	 * parts before `first` were not found (deleted by --keep). */
	int rotated;
	unsigned parts, first_part, last_part, parts_missing;
	int next_part;          /* the part after last_part exists, not read (a part read alone) */
	uint64_t last_round_us; /* time of the last ROUND read (µs since its segment start) */
};

/* The files of a rotated trace read as one run (parts.c). */
struct rd_parts {
	char **paths; /* in part order */
	size_t n;
	int rotated;
	unsigned first, last, missing;
	int next_exists; /* part last+1 of the same process exists (path was a part > 0) */
};
/* Which files `ldprof report path` reads: path and its later parts, or the
 * parts kept when path itself was deleted (--keep). @return 0. */
int rd_parts_find(const char *path, struct rd_parts *ps);
void rd_parts_free(struct rd_parts *ps);
/* The name of part index of a trace whose part 0 is base (app.ldp -> app.3.ldp). */
int rd_part_path(char *out, size_t cap, const char *base, unsigned index);

#define RD_ERR_MAX 512

struct rd_error {
	char msg[RD_ERR_MAX];
};

/* Is the process that wrote seg still running? Its header names this host,
 * and /proc/PID/stat shows a live process (not a zombie) whose start time
 * equals the header's proc_start: so not another process that reused the
 * pid (nor one in another pid namespace). The reader asks this of a last
 * segment without END. */
int rd_segment_running(const struct rd_segment *seg);

/* Only the first segment header of the trace at path (who wrote it: pid,
 * host, start time), without following a symlink. @return 0, or -1 with
 * err->msg set (not a trace, unreadable). rd_segment_clear(seg) after. */
int rd_read_first_header(const char *path, struct rd_segment *seg, struct rd_error *err);

/*
 * Read the whole trace at path, calling v's callbacks (on the calling
 * thread, also when the reading runs on another: read/ahead.c).
 * @return 0 on success (also with a truncated tail: see stats), -1 with
 * err->msg set to one line naming the offset and what was being read.
 */
int rd_read_file(const char *path, const struct rd_visitor *v, struct rd_stats *stats, struct rd_error *err);
/*
 * Follow a trace still being written (ldprof top): read it like
 * rd_read_file, and at the end of the file, instead of stopping, call
 * caught_up: it returns 1 to wait for more (it sleeps a little first), 0 to
 * stop. A partial frame or record at the end is waited for, never an error.
 * A rotated trace is followed into its next parts as they appear.
 */
struct rd_follow {
	int (*caught_up)(void *ctx);
	void *ctx;
};
int rd_follow_file(const char *path, const struct rd_visitor *v, const struct rd_follow *f, struct rd_stats *stats,
		   struct rd_error *err);
/* The same over a memory buffer (fuzzing, tests). name appears in messages. */
int rd_read_mem(const uint8_t *data, size_t len, const char *name, const struct rd_visitor *v,
		struct rd_stats *stats, struct rd_error *err);

#endif
