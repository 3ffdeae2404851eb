/*
 * writer.c - the writer thread: drains every ring in rounds; each round is
 * compressed and flushed to the file, and the zstd frame it belongs to ends
 * at least every second (so rounds share the compressor's window).
 *
 * A round (always under writer_lock):
 *   1. read every ring's head (acquire)
 *   2. write MODULE records for objects not yet written
 *   3. write STACK records for ids not yet written
 *   4. write each ring's bytes [tail, head) as EVENTS records, advance tail
 *   5. write a ROUND record, flush (or end) the zstd frame, write(2) it out
 * Step 1 comes before 2 and 3, so every stack or module an event refers to
 * was published before the event and is written before it in the file.
 *
 * Rounds happen every flush_ms (default 50 ms), when a ring passes half full,
 * and synchronously from program threads at exec, _exit, abort and exit.
 * Between rounds the thread ticks the sequence time floor every millisecond.
 * The thread runs with every signal blocked and with its reentrancy guard
 * set, so nothing it does is traced and no signal meant for the program
 * lands on it. zstd works in one workspace taken from rawmem at start (a
 * static CCtx), never from malloc and never later: a program that has used
 * up its address space (RLIMIT_AS) by the first round still gets traced.
 *
 * Any write error is sticky: one line on stderr, the agent turns off, and
 * the frames already written stay readable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "agent.h"
#include "ldprof/varint.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

#define FEED_AT (1u << 20)   /* compress pending records once this many bytes wait */
/* A zstd frame spans rounds: each round is flushed (ZSTD_e_flush: its blocks
 * are on disk and decodable), and the frame ends only every FRAME_NS or
 * FRAME_BYTES of records, or before exec, exit and any synchronous flush.
 * One compression window across rounds, not one per round. */
#define FRAME_NS (1000ull * 1000000)
#define FRAME_BYTES (16u << 20)
#define EVENTS_PIECE (1u << 20) /* largest EVENTS payload */
#define TICK_NS 1000000ull

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static int out_fd = -1;
static dev_t out_dev;
static ino_t out_ino;
static ZSTD_CCtx *cctx;
static uint8_t *pending;   /* records waiting for compression */
static size_t pending_len;
static uint8_t *zout;
static size_t zout_cap;
static uint8_t *scratch; /* one MODULE or STACK record */
static unsigned modules_written;
static uint32_t stacks_written = 1;
static uint64_t round_no;
static uint64_t seg_start_ns;
static uint64_t frame_start_ns; /* 0: no frame open */
static uint64_t frame_bytes;    /* records fed into the open frame */
static int ended, failed, thread_running;
static _Atomic uint32_t kick_word;
/* A fatal signal (fatal.c): the signal the last round ends with, and the
 * futex word its handler waits on. */
static _Atomic int end_signal;
static _Atomic uint32_t end_signal_done;
static pthread_t writer_thread;

static void fail(int err)
{
	if (failed)
		return;
	failed = 1;
	char why[160];
	ldp_format(why, sizeof why, "cannot write the trace (%s)", strerrordesc_np(err) ? strerrordesc_np(err) : "?");
	ldp_disable(why);
}

/* Our fd may have been closed (daemons close every fd) and its number reused
 * by the program: check it is still our file before every write. */
static int fd_is_ours(void)
{
	struct stat st;
	return fstat(out_fd, &st) == 0 && st.st_dev == out_dev && st.st_ino == out_ino;
}

static void emit_bytes(const uint8_t *p, size_t n)
{
	if (failed || !n)
		return;
	if (!fd_is_ours()) {
		fail(EBADF);
		return;
	}
	int err = ldp_write_all(out_fd, p, n);
	if (err)
		fail(-err);
}

static void compress_pending(ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = {pending, pending_len, 0};
	frame_bytes += pending_len;
	size_t left;
	do {
		ZSTD_outBuffer out = {zout, zout_cap, 0};
		left = ZSTD_compressStream2(cctx, &out, &in, mode);
		if (ZSTD_isError(left)) {
			fail(EIO);
			break;
		}
		emit_bytes(zout, out.pos);
	} while (mode != ZSTD_e_continue ? left != 0 : in.pos < in.size);
	pending_len = 0;
}

static void put_record(uint8_t type, const uint8_t *payload, size_t len)
{
	if (pending_len + len + 1 + LDP_VARINT_MAX > FEED_AT)
		compress_pending(ZSTD_e_continue);
	uint8_t *p = pending + pending_len;
	*p++ = type;
	p += ldp_varint_put(p, len);
	memcpy(p, payload, len);
	pending_len = (size_t)(p - pending) + len;
}

static void put_module(unsigned id, const struct ldp_module *m)
{
	put_record(LDP_REC_MODULE, scratch, ldp_enc_module(scratch, id, m));
}

static void put_stack(uint32_t id)
{
	unsigned depth, flags;
	const uintptr_t *ips = ldp_stack_get(id, &depth, &flags);
	put_record(LDP_REC_STACK, scratch, ldp_enc_stack(scratch, id, flags, ips, depth));
}

/* Bytes [from, to) of a ring, as EVENTS records of at most EVENTS_PIECE bytes. */
static void put_ring_bytes(struct ldp_ring *r, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t n = to - from > EVENTS_PIECE ? EVENTS_PIECE : (size_t)(to - from);
		uint8_t hdr[2 * LDP_VARINT_MAX];
		size_t hl = ldp_varint_put(hdr, r->id);
		size_t len = hl + n;
		if (pending_len + len + 1 + LDP_VARINT_MAX > FEED_AT)
			compress_pending(ZSTD_e_continue);
		uint8_t *p = pending + pending_len;
		*p++ = LDP_REC_EVENTS;
		p += ldp_varint_put(p, len);
		memcpy(p, hdr, hl);
		p += hl;
		uint32_t off = (uint32_t)from & r->mask;
		size_t first = r->size - off < n ? r->size - off : n;
		memcpy(p, r->buf + off, first);
		memcpy(p + first, r->buf, n - first);
		pending_len = (size_t)(p - pending) + n;
		from += n;
	}
}

static int thread_gone(int tid)
{
	return tid > 0 && syscall(SYS_tgkill, ldp_pid, tid, 0) != 0 && errno == ESRCH;
}

static void drain_rings(void)
{
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next) {
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		int state = atomic_load_explicit(&r->state, memory_order_acquire);
		if (state == LDP_RING_FREE)
			continue;
		if (r->head_snap > tail) {
			put_ring_bytes(r, tail, r->head_snap);
			atomic_store_explicit(&r->tail, r->head_snap, memory_order_release);
			atomic_fetch_add_explicit(&r->drained, 1, memory_order_release);
			if (atomic_exchange_explicit(&r->kicked, 0, memory_order_relaxed))
				ldp_futex_wake((volatile uint32_t *)&r->drained);
			r->idle_rounds = 0;
		} else if (state == LDP_RING_OWNED && ++r->idle_rounds % 64 == 0 && thread_gone(r->tid)) {
			/* Its thread exited without our key destructor running last. */
			state = LDP_RING_DEAD;
		}
		if (state == LDP_RING_DEAD && atomic_load_explicit(&r->head, memory_order_acquire) == r->head_snap)
			atomic_store_explicit(&r->state, LDP_RING_FREE, memory_order_release);
	}
}

static uint64_t now_us(void)
{
	return (ldp_mono_ns() - seg_start_ns) / 1000;
}

/* ---- samples (writer_lock held) ---- */

static uint64_t lost_written[6]; /* by LOST kind: CPU, wall, heap samples; nested allocations, frees */
static unsigned paths_written = 1;

/* Resident set size, from /proc/self/statm (opened each time: the program
 * may close any descriptor we would keep). */
static void put_rss(void)
{
	char buf[128];
	if (ldp_read_small_file("/proc/self/statm", buf, sizeof buf) <= 0)
		return;
	const char *p = buf;
	while (*p && *p != ' ')
		p++;
	uint64_t pages = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	static long page;
	if (!page)
		page = sysconf(_SC_PAGESIZE);
	put_record(LDP_REC_RSS, scratch, ldp_enc_rss(scratch, now_us(), pages * (uint64_t)page));
}
static int sampling_written;
static struct ldp_wall_sample *wall_buf;
static uint8_t *wall_copy;
#define WALL_THREADS 1024
#define WALL_COPY (256u << 10)
#define NAMED_CAP 16384
static int32_t named[NAMED_CAP]; /* tids that have a THREAD record, open addressing */

/* What the wall sampler saw of a thread last time (open addressing by tid). */
#define SEEN_CAP 4096
static struct seen {
	int32_t tid;
	uint32_t blocked_stack; /* its stack when last seen waiting; 0 if it was not */
	int state;
	long syscall;
	uint64_t run_ns;        /* its CPU time then */
} seen_tab[SEEN_CAP];

static struct seen *seen_of(int tid)
{
	uint32_t i = (uint32_t)tid * 2654435761u % SEEN_CAP;
	for (unsigned probes = 0; probes < SEEN_CAP; probes++, i = (i + 1) % SEEN_CAP)
		if (seen_tab[i].tid == tid || !seen_tab[i].tid) {
			seen_tab[i].tid = tid;
			return &seen_tab[i];
		}
	return NULL; /* full: this thread gets no memory of its past */
}

/* Stacks the writer itself interned are written before the records using them. */
static void put_new_stacks(void)
{
	uint32_t ns = ldp_stacks_count();
	for (; stacks_written < ns; stacks_written++)
		put_stack(stacks_written);
}

static void name_thread(int tid)
{
	uint32_t i = (uint32_t)tid * 2654435761u % NAMED_CAP;
	for (unsigned probes = 0; probes < NAMED_CAP; probes++, i = (i + 1) % NAMED_CAP) {
		if (named[i] == tid)
			return;
		if (!named[i])
			break;
	}
	if (named[i])
		return; /* full: the thread stays nameless */
	named[i] = tid;
	char path[64], name[80];
	ldp_format(path, sizeof path, "/proc/self/task/%d/comm", tid);
	ssize_t n = ldp_read_small_file(path, name, sizeof name);
	while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == ' '))
		name[--n] = '\0';
	put_record(LDP_REC_THREAD, scratch, ldp_enc_thread(scratch, (uint32_t)tid, n > 0 ? name : ""));
}

static void put_sampling_info(void)
{
	if (sampling_written)
		return;
	sampling_written = 1;
	put_record(LDP_REC_SAMPLING, scratch,
		   ldp_enc_sampling(scratch, ldp_cpu_signal ? ldp_cfg.cpu_hz : 0, ldp_cfg.wall_hz,
				    (unsigned)ldp_cpu_clock, (unsigned)ldp_cpu_signal, (unsigned)ldp_cpu_status));
}

static void put_lost(unsigned kind, uint64_t total)
{
	if (total > lost_written[kind]) {
		put_record(LDP_REC_LOST, scratch, ldp_enc_lost(scratch, kind, total - lost_written[kind]));
		lost_written[kind] = total;
	}
}

/* CPU samples the handlers left in each thread's slots. */
static void drain_samples(void)
{
	uint64_t lost = atomic_load_explicit(&ldp_samples_lost_global, memory_order_relaxed);
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next) {
		struct ldp_samples *sm = r->samples;
		if (!sm)
			continue;
		lost += atomic_load_explicit(&sm->lost, memory_order_relaxed);
		uint32_t head = atomic_load_explicit(&sm->head, memory_order_acquire);
		uint32_t tail = atomic_load_explicit(&sm->tail, memory_order_relaxed);
		if (head != tail && !r->named) {
			r->named = 1;
			name_thread(r->tid);
		}
		size_t slot = sizeof(struct ldp_sample) + ldp_cfg.max_depth * sizeof(uintptr_t);
		for (; tail != head; tail++) {
			struct ldp_sample *x = (struct ldp_sample *)(sm->slots + (size_t)(tail % LDP_SAMPLE_SLOTS) * slot);
			uint32_t stack = ldp_stack_intern_quiet(x->ips, x->depth,
								LDP_STACK_LEAF_PC | (x->truncated ? LDP_STACK_TRUNCATED : 0));
			put_new_stacks();
			put_record(LDP_REC_SAMPLE, scratch,
				   ldp_enc_sample(scratch, LDP_SAMPLE_CPU, (uint32_t)r->tid, x->time_us, x->weight_ns, stack,
						  LDP_STATE_RUNNING, -1));
			sm->last_stack = stack;
			sm->last_tid = r->tid;
			sm->last_time_us = x->time_us;
		}
		atomic_store_explicit(&sm->tail, tail, memory_order_release);
	}
	put_lost(LDP_SAMPLE_CPU, lost);
	put_lost(LDP_SAMPLE_HEAP, atomic_load_explicit(&ldp_sh_lost, memory_order_relaxed));
	put_lost(LDP_LOST_NESTED_ALLOC, atomic_load_explicit(&ldp_nested_lost_alloc, memory_order_relaxed));
	put_lost(LDP_LOST_NESTED_FREE, atomic_load_explicit(&ldp_nested_lost_free, memory_order_relaxed));
}

/* One look at every thread; called from the writer's tick, lock not held. */
static void wall_tick(uint64_t interval_ns)
{
	if (!wall_buf) {
		wall_buf = ldp_raw_alloc(WALL_THREADS * sizeof *wall_buf);
		wall_copy = ldp_raw_alloc(WALL_COPY);
		if (!wall_buf || !wall_copy)
			return;
	}
	size_t n = 0;
	ldp_wall_collect(wall_buf, WALL_THREADS, &n, wall_copy, WALL_COPY);
	uint64_t t = now_us();
	pthread_mutex_lock(&writer_lock);
	if (!ended && !failed && out_fd >= 0) {
		put_sampling_info();
		/* Remembered stacks (a thread's last CPU sample, the call it was
		 * waiting in) may predate this file: a fork child inherits them
		 * with the stack table. Every id must be written before its use. */
		put_new_stacks();
		for (size_t i = 0; i < n; i++) {
			struct ldp_wall_sample *w = &wall_buf[i];
			struct seen *prev = seen_of(w->tid);
			uint32_t stack = 0;
			if (w->state != LDP_STATE_RUNNING) {
				stack = ldp_stack_intern_quiet(w->ips, w->depth,
							       LDP_STACK_LEAF_PC | (w->truncated ? LDP_STACK_TRUNCATED : 0));
				put_new_stacks();
			} else if (prev && prev->blocked_stack && w->run_ns - prev->run_ns < 50000) {
				/* Runnable but it has hardly run since we saw it waiting:
				 * woken, it waits for a CPU on its way out of that same
				 * call. That time belongs to the wait, not to its code. */
				stack = prev->blocked_stack;
				w->state = prev->state;
				w->syscall = prev->syscall;
			} else if (w->ring && w->ring->samples && w->ring->samples->last_stack &&
				   w->ring->samples->last_tid == w->tid && t - w->ring->samples->last_time_us < 200000) {
				/* Running: the stack of its latest CPU sample, if recent. */
				stack = w->ring->samples->last_stack;
			}
			if (prev) {
				prev->blocked_stack = w->state != LDP_STATE_RUNNING ? stack : 0;
				prev->state = w->state;
				prev->syscall = w->syscall;
				prev->run_ns = w->run_ns;
			}
			name_thread(w->tid);
			put_record(LDP_REC_SAMPLE, scratch,
				   ldp_enc_sample(scratch, LDP_SAMPLE_WALL, (uint32_t)w->tid, t, interval_ns, stack,
						  (unsigned)w->state, w->syscall));
		}
	}
	pthread_mutex_unlock(&writer_lock);
}

/* One round; writer_lock held. end_frame: close the zstd frame (else just flush it). */
static void do_round(int end_reason, int end_frame)
{
	if (ended || failed || out_fd < 0)
		return;
	uint64_t now = ldp_mono_ns();
	if (!frame_start_ns) {
		frame_start_ns = now;
		frame_bytes = 0;
	}
	uint64_t floor = atomic_load_explicit(&ldp_seq_floor, memory_order_relaxed);
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next)
		r->head_snap = atomic_load_explicit(&r->head, memory_order_acquire);

	unsigned nm = ldp_modules_count();
	for (; modules_written < nm; modules_written++)
		put_module(modules_written, ldp_module_get(modules_written));
	unsigned np = ldp_paths_count();
	for (; paths_written < np; paths_written++)
		put_record(LDP_REC_PATH, scratch, ldp_enc_path(scratch, paths_written, ldp_path_get(paths_written)));
	put_new_stacks();
	put_sampling_info();
	put_rss();
	if (end_reason)
		ldp_nested_count_leftovers(); /* never to be drained now: counted */
	drain_samples(); /* before drain_rings: a dead thread's ring is freed there */
	drain_rings();
	uint64_t snap_seq;
	unsigned kind;
	char label[LDP_MAX_LABEL_LEN + 1];
	while (ldp_snapshot_pop(&snap_seq, &kind, label, sizeof label))
		put_record(LDP_REC_SNAPSHOT, scratch, ldp_enc_snapshot(scratch, snap_seq, kind, label));

	uint8_t buf[4 * LDP_VARINT_MAX];
	put_record(LDP_REC_ROUND, buf, ldp_enc_round(buf, ++round_no, now_us(), floor));
	if (end_reason == LDP_END_SIGNAL) {
		put_record(LDP_REC_END, buf, ldp_enc_end_signal(buf, now_us(), (unsigned)atomic_load(&end_signal)));
		ended = 1;
	} else if (end_reason) {
		put_record(LDP_REC_END, buf, ldp_enc_end(buf, (unsigned)end_reason, now_us()));
		ended = 1;
	}
	if (end_reason || end_frame || now - frame_start_ns >= FRAME_NS || frame_bytes + pending_len >= FRAME_BYTES) {
		compress_pending(ZSTD_e_end);
		frame_start_ns = 0;
	} else {
		compress_pending(ZSTD_e_flush);
	}
}

static void tick(void)
{
	uint64_t floor = now_us() << LDP_SEQ_SHIFT;
	if (floor > atomic_load_explicit(&ldp_seq_floor, memory_order_relaxed))
		atomic_store_explicit(&ldp_seq_floor, floor, memory_order_relaxed);
}

/* The writer works in an fd table of its own. Its /proc reads (RSS, thread
 * names, wall-clock looks) each take the lowest free fd for a moment, and a
 * program that has just closed its fds expects its next open() to return
 * exactly that number (a daemon reopening stdio on /dev/null got fd 3
 * instead of 0). The private table keeps only the trace: a copy of any other
 * fd would hold the program's files open (a pipe's EOF would wait for us).
 * POSIX record locks belong to the table, so closing the copies releases
 * none of the program's. Where unshare is refused (seccomp), the writer
 * shares the program's table as before. */
static void private_fd_table(void)
{
	if (syscall(SYS_unshare, CLONE_FILES) != 0)
		return;
	int keep = out_fd;
	if (keep > 0 && syscall(SYS_close_range, 0u, (unsigned)keep - 1, 0u) != 0)
		for (int fd = 0; fd < keep; fd++)
			close(fd);
	if (syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) != 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = keep + 1; fd < max; fd++)
			close((int)fd);
	}
	ldp_log_private_fds(); /* warnings from here reach the program's stderr another way */
}

/* The last round, for a fatal signal's handler waiting in another thread. */
static void end_by_signal(void)
{
	pthread_mutex_lock(&writer_lock);
	do_round(LDP_END_SIGNAL, 1);
	pthread_mutex_unlock(&writer_lock);
	atomic_store(&end_signal_done, 1);
	ldp_futex_wake((volatile uint32_t *)&end_signal_done);
}

static void *writer_main(void *arg)
{
	(void)arg;
	ldp_self.busy = 1; /* nothing this thread does is traced */
	private_fd_table();
	/* Wake exactly when asked: the default 50 us timer slack would batch our
	 * wake-ups with the program's own timers and bias wall samples. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	uint64_t last = ldp_mono_ns(), last_wall = last, next_wall = last;
	uint64_t rng = last | 1;
	uint32_t seen = atomic_load(&kick_word);
	while (!ended && !failed) {
		uint64_t wait = TICK_NS, now = ldp_mono_ns();
		if (ldp_cfg.wall_hz && next_wall > now && next_wall - now < wait)
			wait = next_wall - now;
		ldp_futex_wait((volatile uint32_t *)&kick_word, seen, wait);
		tick();
		ldp_snapshot_tick(ldp_mono_ns());
		now = ldp_mono_ns();
		if (ldp_cfg.wall_hz && now >= next_wall) {
			/* Intervals drawn uniformly from [0.5, 1.5] x 1/hz: a program
			 * whose timers tick in step with ours is not always seen in the
			 * same phase. */
			wall_tick(now - last_wall);
			last_wall = now;
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			uint64_t period = 1000000000ull / ldp_cfg.wall_hz;
			next_wall = now + period / 2 + rng % (period + 1);
		}
		if (LDP_UNLIKELY(atomic_load(&end_signal))) {
			end_by_signal();
			break;
		}
		uint32_t k = atomic_load(&kick_word);
		if (k == seen && now - last < ldp_cfg.flush_ms * 1000000ull)
			continue;
		seen = k;
		last = now;
		pthread_mutex_lock(&writer_lock);
		do_round(0, 0);
		pthread_mutex_unlock(&writer_lock);
	}
	return NULL;
}

static int start_thread(void)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits "all blocked" */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int err = pthread_create(&writer_thread, &attr, writer_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_setname_np(writer_thread, "ldprof-writer");
	thread_running = 1;
	return 0;
}

int ldp_writer_start(int fd, uint64_t start_mono_ns)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	out_fd = fd;
	out_dev = st.st_dev;
	out_ino = st.st_ino;
	seg_start_ns = start_mono_ns;
	if (!cctx) {
		size_t ws = ZSTD_estimateCStreamSize(ldp_cfg.zstd_level);
		void *w = ldp_raw_alloc(ws);
		cctx = w ? ZSTD_initStaticCCtx(w, ws) : NULL;
		pending = ldp_raw_alloc(FEED_AT + EVENTS_PIECE);
		zout_cap = ZSTD_CStreamOutSize();
		zout = ldp_raw_alloc(zout_cap);
		scratch = ldp_raw_alloc(LDP_ENC_RECORD_MAX);
		if (!cctx || !pending || !zout || !scratch)
			return -ENOMEM;
	}
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ldp_cfg.zstd_level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	tick();
	return start_thread();
}

uint64_t ldp_writer_start_ns(void)
{
	return seg_start_ns;
}

void ldp_writer_kick(void)
{
	atomic_fetch_add_explicit(&kick_word, 1, memory_order_release);
	ldp_futex_wake((volatile uint32_t *)&kick_word);
}

/* From a fatal signal's handler (fatal.c), in any program thread: the writer
 * thread writes the last round, so this thread takes no lock and touches no
 * allocator - the code it interrupted may hold either. Waits at most
 * timeout_ms. @return 0 when the round is written. */
int ldp_writer_end_by_signal(int sig, unsigned timeout_ms)
{
	if (!thread_running)
		return -1;
	int none = 0;
	atomic_compare_exchange_strong(&end_signal, &none, sig); /* the first fatal signal names the end */
	ldp_writer_kick();
	uint64_t deadline = ldp_mono_ns() + timeout_ms * 1000000ull;
	while (!atomic_load(&end_signal_done)) {
		uint64_t now = ldp_mono_ns();
		if (now >= deadline)
			return -1;
		ldp_futex_wait((volatile uint32_t *)&end_signal_done, 0, deadline - now);
	}
	return 0;
}

int ldp_writer_is_self(void)
{
	return thread_running && pthread_equal(pthread_self(), writer_thread);
}

static int lock_with_timeout(unsigned timeout_ms)
{
	for (unsigned i = 0; i <= timeout_ms; i++) {
		if (pthread_mutex_trylock(&writer_lock) == 0)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* A write past RLIMIT_FSIZE raises SIGXFSZ in the writing thread, which would
 * kill the program: block it while a program thread writes, and discard one
 * we caused (the writer thread has every signal blocked anyway). */
static void flush_from_program_thread(int end_reason)
{
	struct ldp_xfsz_guard g;
	ldp_xfsz_block(&g);
	do_round(end_reason, 1); /* exec, exit, abort: nothing may stay in an open frame */
	ldp_xfsz_restore(&g);
}

void ldp_writer_flush(int end_reason, unsigned timeout_ms)
{
	if (lock_with_timeout(timeout_ms) != 0)
		return;
	flush_from_program_thread(end_reason);
	pthread_mutex_unlock(&writer_lock);
}

int ldp_writer_flush_and_hold(void)
{
	if (lock_with_timeout(1000) != 0)
		return -1;
	flush_from_program_thread(0);
	return 0;
}

void ldp_writer_release(void)
{
	pthread_mutex_unlock(&writer_lock);
}

void ldp_writer_prefork(void)
{
	pthread_mutex_lock(&writer_lock);
}

void ldp_writer_postfork_parent(void)
{
	pthread_mutex_unlock(&writer_lock);
}

void ldp_writer_postfork_child(void)
{
	pthread_mutex_init(&writer_lock, NULL);
	if (out_fd >= 0)
		close(out_fd);
	out_fd = -1;
	pending_len = 0;
	modules_written = 0;
	stacks_written = 1;
	round_no = 0;
	sampling_written = 0;
	paths_written = 1;
	memset(lost_written, 0, sizeof lost_written);
	memset(named, 0, sizeof named);
	memset(seen_tab, 0, sizeof seen_tab);
	frame_start_ns = 0;
	ended = failed = thread_running = 0;
	atomic_store(&end_signal, 0);
	atomic_store(&end_signal_done, 0);
}
