/*
 * snapshot.c - snapshot markers and the public API (include/ldprof.h; pause
 * and resume are control.c's).
 *
 * A snapshot is a point in the event order: a sequence number from
 * ldp_seq_barrier(), larger than every event before it in any thread and
 * smaller than every event after it. Markers wait in a small queue until the
 * writer's next round writes them as SNAPSHOT records; the reader places
 * them among the events by seq, so the heap state at the marker is exact.
 *
 * Three triggers: the API (the calling thread takes the barrier), a signal
 * (the handler only counts; the writer takes the barrier on its next tick,
 * a millisecond later at most), and an interval (the writer's tick).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "ldprof.h"
#include "log.h"

#define QUEUE 256

struct marker {
	uint64_t seq;
	unsigned kind;
	char label[LDP_MAX_LABEL_LEN + 1];
};

static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct marker queue[QUEUE];
static unsigned qhead, qlen;
static uint64_t dropped;
static _Atomic uint32_t signals_seen;
static uint32_t signals_taken;
static uint64_t next_interval_ns;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&signals_seen, 1, memory_order_relaxed); /* async-signal-safe */
}

int ldp_snapshot_init(void)
{
	if (!ldp_cfg.snapshot_signal)
		return 0;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(ldp_cfg.snapshot_signal, NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
	    old.sa_handler != SIG_IGN) {
		ldp_warn("signal %d already has a handler; no snapshot signal", ldp_cfg.snapshot_signal);
		return -1;
	}
	return sigaction(ldp_cfg.snapshot_signal, &sa, NULL);
}

/* Called with a barrier already taken by the caller: seq. */
static int push(uint64_t seq, unsigned kind, const char *label)
{
	pthread_mutex_lock(&snapshot_lock);
	if (qlen == QUEUE) {
		dropped++;
		pthread_mutex_unlock(&snapshot_lock);
		return -1;
	}
	struct marker *m = &queue[(qhead + qlen++) % QUEUE];
	m->seq = seq;
	m->kind = kind;
	size_t n = label ? strnlen(label, LDP_MAX_LABEL_LEN) : 0;
	memcpy(m->label, label, n);
	m->label[n] = '\0';
	pthread_mutex_unlock(&snapshot_lock);
	return 0;
}

int ldp_snapshot_request(unsigned kind, const char *label)
{
	return push(ldp_seq_barrier(&ldp_self), kind, label);
}

void ldp_snapshot_tick(uint64_t now_ns)
{
	uint32_t seen = atomic_load_explicit(&signals_seen, memory_order_relaxed);
	for (; signals_taken != seen; signals_taken++)
		ldp_snapshot_request(LDP_SNAP_SIGNAL, "signal");
	if (ldp_cfg.snapshot_interval_ms) {
		uint64_t every = ldp_cfg.snapshot_interval_ms * 1000000ull;
		if (!next_interval_ns)
			next_interval_ns = now_ns + every;
		if (now_ns >= next_interval_ns) {
			ldp_snapshot_request(LDP_SNAP_INTERVAL, "interval");
			next_interval_ns += every;
			if (next_interval_ns <= now_ns) /* a stall: don't fire a burst to catch up */
				next_interval_ns = now_ns + every;
		}
	}
}

int ldp_snapshot_pop(uint64_t *seq, unsigned *kind, char *label, size_t cap)
{
	pthread_mutex_lock(&snapshot_lock);
	if (!qlen) {
		pthread_mutex_unlock(&snapshot_lock);
		return 0;
	}
	struct marker *m = &queue[qhead];
	qhead = (qhead + 1) % QUEUE;
	qlen--;
	*seq = m->seq;
	*kind = m->kind;
	size_t n = strnlen(m->label, cap - 1);
	memcpy(label, m->label, n);
	label[n] = '\0';
	pthread_mutex_unlock(&snapshot_lock);
	return 1;
}

void ldp_snapshot_after_fork_child(void)
{
	pthread_mutex_init(&snapshot_lock, NULL);
	qhead = qlen = 0;
	next_interval_ns = 0;
}

/* ---- the public API ---- */

static int active(void)
{
	return atomic_load_explicit(&ldp_state, memory_order_acquire) == LDP_STATE_READY &&
	       atomic_load_explicit(&ldp_heap_on, memory_order_relaxed) && getpid() == ldp_pid;
}

LDP_EXPORT int ldprof_snapshot(const char *label)
{
	if (!active())
		return -1;
	int saved = errno;
	ldp_self.busy++;
	int rc = ldp_snapshot_request(LDP_SNAP_API, label && *label ? label : "snapshot");
	ldp_self.busy--;
	errno = saved;
	return rc;
}

LDP_EXPORT int ldprof_is_active(void)
{
	return active();
}
