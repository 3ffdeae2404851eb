/*
 * config.h - LDPROF_* settings, parsed once at start into an immutable struct.
 * docs/CONFIG.md lists every variable. A malformed value gets one warning
 * naming the variable and the value, and the default is used.
 */
#ifndef LDP_CONFIG_H
#define LDP_CONFIG_H

#include <stdint.h>

#define LDP_PATH_CAP 4096

struct ldp_config {
	char output[LDP_PATH_CAP]; /* LDPROF_OUTPUT: path template (%p %h %t %e) */
	int mode;                  /* LDPROF_MODE: enum ldp_mode */
	unsigned max_depth;        /* LDPROF_MAX_DEPTH: frames kept per stack */
	unsigned flush_ms;         /* LDPROF_FLUSH_MS: longest time between frames */
	unsigned ring_bytes;       /* LDPROF_RING_KB: per-thread event ring, power of two */
	int zstd_level;            /* LDPROF_ZSTD_LEVEL; 0: unset, the writer chooses */
	int64_t root_pid;          /* LDPROF_ROOT_PID: set by `ldprof record`; 0 = unset */
	int verbose;               /* LDPROF_VERBOSE=1: say where the trace goes */
	unsigned cpu_hz;           /* LDPROF_CPU_HZ: CPU samples per second of thread CPU time, 0 = off */
	unsigned wall_hz;          /* LDPROF_WALL_HZ: wall-clock looks at every thread per second, 0 = off */
	int cpu_signal;            /* LDPROF_CPU_SIGNAL: 0 = SIGPROF */
	int snapshot_signal;       /* LDPROF_SNAPSHOT_SIGNAL: 0 = none */
	unsigned snapshot_interval_ms; /* LDPROF_SNAPSHOT_INTERVAL_MS: 0 = none */
	int unwind;                /* LDPROF_UNWIND: enum ldp_unwind_mode */
	uint64_t sample_bytes;     /* LDPROF_SAMPLE_BYTES: mean bytes between heap samples (sampled mode) */
	uint64_t sample_seed;      /* LDPROF_SAMPLE_SEED: 0 = seed from the clock */
	int start_paused;          /* LDPROF_START_PAUSED=1: allocations not recorded until resumed */
	int toggle_signal;         /* LDPROF_TOGGLE_SIGNAL: pauses / resumes at each arrival; 0 = none */
	int site_events;           /* LDPROF_SITE_EVENTS (default 1): full mode keeps the live-block map and writes
				    * its blocks without addresses (livemap.c); 0 writes every address */
	unsigned writer_delay_ms;  /* LDPROF_WRITER_DELAY_MS (default 1000): sampled mode, one thread: start the
				    * writer thread this late at most (writer.c, "A writer that starts late"); 0 = at once */
	int control;               /* LDPROF_CONTROL=1: serve `ldprof ctl` (control.c); always on when attached */
	int attached;              /* not a setting: the agent was attached to a running process */
	uint64_t max_size;         /* LDPROF_MAX_SIZE: rotate to the next part past this many bytes; 0 = never */
	unsigned keep;             /* LDPROF_KEEP: parts kept when rotating (oldest deleted); 0 = all */
};

enum ldp_unwind_mode {
	LDP_UNWIND_FAST = 0,      /* own CFI unwinder, libunwind for what it does not cover */
	LDP_UNWIND_LIBUNWIND = 1, /* libunwind only */
	LDP_UNWIND_CHECK = 2,     /* both on every stack, mismatches counted (for tests) */
};

/* Parse the environment into cfg. @return number of warnings printed. */
int ldp_config_load(struct ldp_config *cfg);

/* Pure parsers, exposed for unit tests. @return 0 or -1 when malformed. */
int ldp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int ldp_parse_mode(const char *s, int *out);
/* "524288", "512KiB", "512K", "2MiB", "1G" (powers of 1024). */
int ldp_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "USR2", "SIGUSR2", "12", "RTMIN+3". @return the signal number or -1. */
int ldp_parse_signal(const char *s);
int ldp_parse_unwind(const char *s, int *out);

#endif
