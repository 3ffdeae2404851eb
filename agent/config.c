/*
 * config.c - parse LDPROF_* (see config.h, docs/CONFIG.md).
 *
 * Runs in the constructor, before anything is traced; uses no malloc and
 * reads the environment through ldp_getenv (a plain scan of environ).
 */
#define _GNU_SOURCE
#include "config.h"

#include <signal.h>
#include <string.h>

#include "ldprof/format.h"
#include "ldprof/limits.h"
#include "ldprof/signals.h"
#include "log.h"
#include "prim.h"

extern char **environ;

int ldp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int ldp_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {{"", 0}, {"B", 0}, {"K", 10}, {"KiB", 10}, {"k", 10}, {"KB", 10}, {"M", 20},
		     {"MiB", 20}, {"MB", 20}, {"G", 30}, {"GiB", 30}, {"GB", 30}};
	if (!s || *s < '0' || *s > '9')
		return -1;
	size_t digits = strspn(s, "0123456789");
	if (digits > 19)
		return -1;
	char num[20];
	memcpy(num, s, digits);
	num[digits] = '\0';
	uint64_t v;
	if (ldp_parse_uint(num, 0, UINT64_MAX, &v))
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
		if (strcmp(s + digits, units[i].suffix))
			continue;
		if (v > (UINT64_MAX >> units[i].shift))
			return -1;
		v <<= units[i].shift;
		if (v < min || v > max)
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int ldp_parse_mode(const char *s, int *out)
{
	if (!strcmp(s, "full"))
		*out = LDP_MODE_FULL;
	else if (!strcmp(s, "sampled"))
		*out = LDP_MODE_SAMPLED;
	else if (!strcmp(s, "off"))
		*out = LDP_MODE_OFF;
	else
		return -1;
	return 0;
}

int ldp_parse_signal(const char *s)
{
	uint64_t v;
	if (!s || !*s)
		return -1;
	if (ldp_parse_uint(s, 1, 64, &v) == 0)
		return (int)v;
	int named = ldp_signal_pickable(s); /* include/ldprof/signals.h: the names `ldprof record` accepts too */
	if (named)
		return named;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	if (!strncmp(s, "RTMIN", 5)) {
		v = 0;
		if (s[5] && (s[5] != '+' || ldp_parse_uint(s + 6, 0, 64, &v)))
			return -1;
		return SIGRTMIN + (int)v <= SIGRTMAX ? SIGRTMIN + (int)v : -1;
	}
	return -1;
}

int ldp_parse_unwind(const char *s, int *out)
{
	if (!strcmp(s, "fast"))
		*out = LDP_UNWIND_FAST;
	else if (!strcmp(s, "libunwind"))
		*out = LDP_UNWIND_LIBUNWIND;
	else if (!strcmp(s, "check"))
		*out = LDP_UNWIND_CHECK;
	else
		return -1;
	return 0;
}

static const char *const known_vars[] = {
	"LDPROF_OUTPUT", "LDPROF_MODE",     "LDPROF_MAX_DEPTH", "LDPROF_FLUSH_MS", "LDPROF_RING_KB",
	"LDPROF_ZSTD_LEVEL", "LDPROF_ROOT_PID", "LDPROF_VERBOSE", "LDPROF_CPU_HZ", "LDPROF_WALL_HZ",
	"LDPROF_SNAPSHOT_SIGNAL", "LDPROF_SNAPSHOT_INTERVAL_MS", "LDPROF_CPU_SIGNAL",
	"LDPROF_UNWIND", "LDPROF_SAMPLE_BYTES", "LDPROF_SAMPLE_SEED",
	"LDPROF_START_PAUSED", "LDPROF_TOGGLE_SIGNAL", "LDPROF_CONTROL",
	"LDPROF_MAX_SIZE", "LDPROF_KEEP", "LDPROF_SITE_EVENTS", "LDPROF_WRITER_DELAY_MS",
};

static int uint_setting(const char *name, uint64_t min, uint64_t max, uint64_t *value)
{
	const char *s = ldp_getenv(name);
	if (!s)
		return 0;
	if (ldp_parse_uint(s, min, max, value) == 0)
		return 0;
	ldp_warn("%s='%s' is not a number in %lu..%lu; using the default", name, s, (unsigned long)min,
		 (unsigned long)max);
	return 1;
}

int ldp_config_load(struct ldp_config *cfg)
{
	int warnings = 0;
	memset(cfg, 0, sizeof *cfg);

	const char *out = ldp_getenv("LDPROF_OUTPUT");
	if (out && (!*out || strlen(out) >= sizeof cfg->output - 32)) {
		ldp_warn("LDPROF_OUTPUT='%s' is empty or too long; using the default", out);
		warnings++;
		out = NULL;
	}
	strcpy(cfg->output, out ? out : "ldprof.%e.%p.ldp");

	cfg->mode = LDP_MODE_FULL;
	const char *mode = ldp_getenv("LDPROF_MODE");
	if (mode && ldp_parse_mode(mode, &cfg->mode)) {
		ldp_warn("LDPROF_MODE='%s' is not one of full, sampled, off; using full", mode);
		warnings++;
	}

	cfg->unwind = LDP_UNWIND_FAST;
	const char *unwind = ldp_getenv("LDPROF_UNWIND");
	if (unwind && ldp_parse_unwind(unwind, &cfg->unwind)) {
		ldp_warn("LDPROF_UNWIND='%s' is not one of fast, libunwind, check; using fast", unwind);
		warnings++;
	}

	uint64_t v = LDP_DEPTH_DEFAULT;
	warnings += uint_setting("LDPROF_MAX_DEPTH", LDP_DEPTH_MIN, LDP_DEPTH_MAX, &v);
	cfg->max_depth = (unsigned)v;
	v = 50;
	warnings += uint_setting("LDPROF_FLUSH_MS", LDP_FLUSH_MS_MIN, LDP_FLUSH_MS_MAX, &v);
	cfg->flush_ms = (unsigned)v;
	v = 256;
	warnings += uint_setting("LDPROF_RING_KB", LDP_RING_KB_MIN, LDP_RING_KB_MAX, &v);
	unsigned kb = LDP_RING_KB_MIN;
	while (kb < v)
		kb <<= 1;
	cfg->ring_bytes = kb << 10;
	v = 0; /* unset: chosen frame by frame (writer.c, frame_level) */
	warnings += uint_setting("LDPROF_ZSTD_LEVEL", LDP_ZSTD_LEVEL_MIN, LDP_ZSTD_LEVEL_MAX, &v);
	cfg->zstd_level = (int)v;
	v = 0;
	warnings += uint_setting("LDPROF_ROOT_PID", 0, 1u << 30, &v);
	cfg->root_pid = (int64_t)v;
	v = 0;
	warnings += uint_setting("LDPROF_VERBOSE", 0, 1, &v);
	cfg->verbose = (int)v;

	cfg->sample_bytes = LDP_SAMPLE_BYTES_DEFAULT;
	const char *sb = ldp_getenv("LDPROF_SAMPLE_BYTES");
	if (sb && ldp_parse_size(sb, LDP_SAMPLE_BYTES_MIN, LDP_SAMPLE_BYTES_MAX, &cfg->sample_bytes)) {
		ldp_warn("LDPROF_SAMPLE_BYTES='%s' is not a size in 1..1GiB (like 512KiB); using 512KiB", sb);
		warnings++;
	}
	v = 0;
	warnings += uint_setting("LDPROF_SAMPLE_SEED", 0, UINT64_MAX, &v);
	cfg->sample_seed = v;

	const char *ms = ldp_getenv("LDPROF_MAX_SIZE");
	if (ms && *ms && ldp_parse_size(ms, 64u << 10, 1ull << 50, &cfg->max_size)) {
		ldp_warn("LDPROF_MAX_SIZE='%s' is not a size of at least 64KiB (like 256MiB); traces are not rotated", ms);
		warnings++;
	}
	v = 0;
	warnings += uint_setting("LDPROF_KEEP", 0, 1000000, &v);
	cfg->keep = (unsigned)v;

	v = LDP_CPU_HZ_DEFAULT;
	warnings += uint_setting("LDPROF_CPU_HZ", 0, LDP_HZ_MAX, &v);
	cfg->cpu_hz = (unsigned)v;
	v = 0;
	warnings += uint_setting("LDPROF_WALL_HZ", 0, LDP_HZ_MAX, &v);
	cfg->wall_hz = (unsigned)v;
	const char *cpusig = ldp_getenv("LDPROF_CPU_SIGNAL");
	if (cpusig && *cpusig) {
		int n = ldp_parse_signal(cpusig);
		if (n <= 0 || ldp_signal_unusable(n)) {
			ldp_warn("LDPROF_CPU_SIGNAL='%s' is not a signal that can be used; using SIGPROF", cpusig);
			warnings++;
		} else {
			cfg->cpu_signal = n;
		}
	}
	const char *sig = ldp_getenv("LDPROF_SNAPSHOT_SIGNAL");
	if (sig && *sig) {
		int n = ldp_parse_signal(sig);
		if (n <= 0 || ldp_signal_unusable(n)) {
			ldp_warn("LDPROF_SNAPSHOT_SIGNAL='%s' is not a signal that can be used; no snapshot signal", sig);
			warnings++;
		} else {
			cfg->snapshot_signal = n;
		}
	}
	v = 0;
	warnings += uint_setting("LDPROF_SNAPSHOT_INTERVAL_MS", 0, LDP_SNAPSHOT_INTERVAL_MS_MAX, &v);
	cfg->snapshot_interval_ms = (unsigned)v;

	v = 0;
	warnings += uint_setting("LDPROF_START_PAUSED", 0, 1, &v);
	cfg->start_paused = (int)v;
	v = 0;
	warnings += uint_setting("LDPROF_CONTROL", 0, 1, &v);
	cfg->control = (int)v;
	v = 1;
	warnings += uint_setting("LDPROF_SITE_EVENTS", 0, 1, &v);
	cfg->site_events = (int)v;
	v = 1000;
	warnings += uint_setting("LDPROF_WRITER_DELAY_MS", 0, LDP_WRITER_DELAY_MS_MAX, &v);
	cfg->writer_delay_ms = (unsigned)v;
	const char *tsig = ldp_getenv("LDPROF_TOGGLE_SIGNAL");
	if (tsig && *tsig) {
		int n = ldp_parse_signal(tsig);
		if (n <= 0 || n == SIGKILL || n == SIGSTOP || n == SIGSEGV || n == SIGBUS || n == SIGFPE || n == SIGILL) {
			ldp_warn("LDPROF_TOGGLE_SIGNAL='%s' is not a signal that can be used; no toggle signal", tsig);
			warnings++;
		} else {
			cfg->toggle_signal = n;
		}
	}

	/* A misspelt variable silently ignored is worse than a warning. */
	for (char **e = ldp_settings(); e && *e; e++) {
		if (strncmp(*e, "LDPROF_", 7))
			continue;
		size_t len = strcspn(*e, "=");
		int known = 0;
		for (size_t i = 0; i < sizeof known_vars / sizeof *known_vars; i++)
			if (strlen(known_vars[i]) == len && !strncmp(*e, known_vars[i], len))
				known = 1;
		if (!known) {
			char name[64];
			if (len >= sizeof name)
				len = sizeof name - 1;
			memcpy(name, *e, len);
			name[len] = '\0';
			ldp_warn("unknown setting %s ignored (see docs/CONFIG.md)", name);
			warnings++;
		}
	}
	return warnings;
}
