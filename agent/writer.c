/*
 * writer.c - the writer thread: drains every ring in rounds; each round is
 * compressed and flushed to the file, and the zstd frame it belongs to ends
 * at least every second (so rounds share the compressor's window).
 *
 * A round (on the writer thread; see end_alone for the one exception):
 *   1. read every ring's head (acquire)
 *   2. write MODULE records for objects not yet written
 *   3. write STACK records for ids not yet written
 *   4. write each ring's bytes [tail, head) as EVENTS records, advance tail
 *   5. write a ROUND record, flush (or end) the zstd frame, write(2) it out
 * Step 1 comes before 2 and 3, so every stack or module an event refers to
 * was published before the event and is written before it in the file.
 *
 * The writer thread is the only one that ever touches the file, the zstd
 * state or the buffers below: no lock guards them. (In sampled mode a
 * program that ends before its writer thread started has the ending thread
 * do the one round instead: "a writer that starts late" below. There is no
 * writer thread then, and never will be.) It opens the trace
 * itself, in an fd table of its own (unshare(CLONE_FILES), every other fd
 * closed), so the program's fd table never holds the trace: a program that
 * closes every fd, reuses the numbers, forks or execs can neither close nor
 * receive trace bytes, and the agent never has anything to close in a fork
 * child. Rounds happen every flush_ms (default 50 ms) and when a ring
 * passes half full; what a round writes reaches the file (a zstd flush)
 * at least every flush_ms, not at every round: a flush closes a zstd block,
 * and a program allocating without pause makes a round every 2 ms, whose
 * block headers and RSS readings were most of a repetitive trace. At exit, _exit, abort, exec and a fatal signal a
 * program thread asks for a last round (ldp_writer_flush,
 * ldp_writer_flush_and_hold, ldp_writer_end_by_signal) and waits for the
 * writer to do it, bounded: "request" below. Between rounds the thread ticks
 * the sequence time floor every millisecond.
 *
 * The thread runs with every signal blocked (a write past RLIMIT_FSIZE
 * fails with EFBIG instead of killing) and with its reentrancy guard set, so
 * nothing it does is traced and no signal meant for the program lands on it.
 * zstd works in one workspace taken from rawmem at start (a static CCtx),
 * never from malloc.
 *
 * Any write error is sticky: one line on stderr, the agent turns off, and
 * the frames already written stay readable. When the agent turns off for
 * any reason, the writer ends the segment (END "agent error" if it still
 * can), gives its buffers back and exits.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "agent.h"
#include "ldprof/varint.h"
#include "log.h"
#include "prim.h"
#include "procfs.h"
#include "rawmem.h"
#include "zlevel.h"

/* A zstd frame spans rounds: each round is flushed (ZSTD_e_flush: its blocks
 * are on disk and decodable), and the frame ends only every FRAME_NS or
 * FRAME_BYTES of records, or before exec, exit and any synchronous flush.
 * One compression window across rounds, not one per round. */
#define FRAME_NS (1000ull * 1000000)
#define FRAME_BYTES (16u << 20)

/* zstd sizes its tables to a frame's expected size. Unhinted, level 6 wants
 * 2.6 MiB of them, zeroed at the first frame: 658 page faults, about 8 ms of
 * the writer's CPU, paid by every traced process however little it writes
 * (sqlite3 in sampled mode writes 30 KB of records). So the first frame is
 * hinted FRAME_HINT bytes; once it outgrows the hint it ends at that round,
 * and later frames are not hinted. A first frame whose first bytes are
 * already more is not hinted: `git log -p` writes 200 KB in its first round,
 * and ending that frame there cost its trace 2 % (the rest lost the window's
 * history). Hints growing in steps (128 KiB, 1 MiB) cost python3's and git's
 * traces 3-4 %. */
#define FRAME_HINT (16u << 10)

/* The compression level, unless LDPROF_ZSTD_LEVEL sets it: zlevel.h. */
static int auto_level;              /* 1: the level is chosen frame by frame */
static int frame_level;             /* the open (or next) frame's level */
static uint64_t frame_compress_ns;  /* time spent compressing in the open frame */
/* Compress pending records once feed_at bytes wait; an EVENTS payload is at
 * most events_piece bytes. 1 MiB each, less under RLIMIT_AS (buffers_init). */
static size_t feed_at = 1u << 20, events_piece = 1u << 20;
#define TICK_NS 1000000ull

#define WRITER_STACK (256u << 10) /* its deepest path uses a few KiB */

/* ---- the writer thread's own state (no other thread touches it) ---- */
static int out_fd = -1;
static dev_t out_dev;
static ino_t out_ino;
static int shared_table; /* unshare was refused: out_fd lives in the program's table */
static ZSTD_CCtx *cctx;
static void *cctx_ws; /* its workspace, kept for a fork child's fresh CCtx */
static size_t cctx_ws_size;
static uint8_t *pending;   /* records waiting for compression */
static size_t pending_len;
static uint8_t *zout;
static size_t zout_cap;
static uint8_t *scratch; /* one MODULE or STACK record */
static unsigned modules_written;
static uint32_t stacks_written = 1;
static struct ldp_stack_bases bases; /* the stacks of this file, by outer frames */
static uint32_t frame_last_stack;   /* the open frame's last STACK2 id (0: none yet) */
static uint64_t round_no;          /* ROUND records written */
static uint64_t last_round_rec_us; /* the time the last one carries (now_us) */
/* A round of one busy thread's ring may go without a ROUND record this long
 * after the last: a reader holds at most that much more of its events. */
#define ROUND_GAP_US 5000ull
static uint64_t seg_start_ns;
static uint64_t frame_start_ns; /* 0: no frame open */
static uint64_t frame_bytes;    /* records fed into the open frame */
static uint64_t frame_hint;     /* the open (or next) frame's expected bytes; 0: unknown */
static int frame_begun;         /* zstd has had the open frame's first bytes */
static int ended, failed;
static int forked_child; /* this writer is a fork child's: its file gets the pid inserted */
/* Rotation (LDPROF_MAX_SIZE): bytes in the current part, its index, and the
 * rounds written into it since it began. */
static uint64_t file_bytes;
static unsigned part_no;
static unsigned part_rounds;
static int part_full; /* the part reached max_size: the next round starts the next part */
static int rotating; /* max_size set and the trace is a regular file */

/* ---- shared with program threads ---- */
static pthread_t writer_thread;
static _Atomic uint32_t start_word; /* futex: 0 starting, START_OK, START_FAILED */
#define START_OK 1u
#define START_FAILED 2u
static _Atomic int writer_alive;    /* between a successful start and the thread's last act */

/* One request at a time (req_owner: the poster's tid). A request is one
 * word, its ticket, kind, END reason and signal (LDP_END_SIGNAL, fatal.c),
 * so the writer takes all of it at once, and one posted over it (a
 * takeover: take_request) never changes one being served. The writer
 * stores each ticket it has served in req_done. hold_ticket keeps the writer
 * from writing anything while an exec is under way: it holds the ticket of
 * the hold request, and the writer holds while it still does. A ticket, not
 * a flag: a program failing execs one after another releases and holds
 * again before the writer runs, and with a flag (1, 0, 1 again) the writer
 * never saw the release, held on for the old request and left the new one
 * to time out, a second per exec (h_proc failexec in sampled mode: 100 s). */
enum { REQ_NONE, REQ_END, REQ_HOLD };
#define REQ_WORD(ticket, kind, reason, sig)                                                                    \
	((uint64_t)(ticket) << 32 | (uint64_t)((sig)&0xff) << 16 | (uint64_t)((reason)&0xff) << 8 | (uint64_t)(kind))
static _Atomic int req_owner;
static _Atomic uint64_t req_word;    /* 0: none posted */
static _Atomic uint32_t req_tickets; /* the last ticket given */
static _Atomic uint32_t req_done;    /* futex: the last ticket served */
static _Atomic uint32_t hold_ticket; /* futex: the ticket of the hold under way, 0: none */

/* The writer's own memory: left out of fork children (the child's writer
 * makes its own), so a fork copies none of it and the parent's writer
 * never takes a copy-on-write fault on it while a child lives. */
static size_t dontfork_bytes;
static int buffers_pid; /* the process they are mapped in */

static void *writer_alloc(size_t n)
{
	void *p = ldp_raw_alloc(n);
	dontfork_bytes += ldp_raw_dontfork(p);
	buffers_pid = getpid();
	return p;
}

static void fail(int err)
{
	if (failed)
		return;
	failed = 1;
	char why[160];
	ldp_format(why, sizeof why, "cannot write the trace (%s)", strerrordesc_np(err) ? strerrordesc_np(err) : "?");
	if (atomic_load(&ldp_state) == LDP_STATE_READY)
		ldp_disable(why);
	else /* the program is ending (its flush may have stopped waiting): still said */
		ldp_warn("%s; the trace ends before it", why);
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
	file_bytes += n;
}

/* A frame ended: choose the next one's level (zstd applies it at the next
 * frame's first byte). */
static void frame_ended(void)
{
	frame_last_stack = 0; /* a reader resynchronises on frames: the next frame's first id is whole */
	frame_begun = 0;
	if (frame_hint && frame_bytes > frame_hint) {
		frame_hint = 0;
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_srcSizeHint, 0);
	}
	if (auto_level && frame_start_ns) {
		int next = ldp_zlevel_next(frame_level, ldp_mono_ns() - frame_start_ns, frame_compress_ns);
		if (next != frame_level && !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, next)))
			frame_level = next;
	}
	frame_compress_ns = 0;
}

static void compress_pending(ZSTD_EndDirective mode)
{
	if (!frame_begun && frame_hint && pending_len > frame_hint) {
		frame_hint = 0; /* a busy start: full tables now, and no early end */
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_srcSizeHint, 0);
	}
	frame_begun = 1;
	ZSTD_inBuffer in = {pending, pending_len, 0};
	frame_bytes += pending_len;
	uint64_t t0 = ldp_mono_ns();
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
	frame_compress_ns += ldp_mono_ns() - t0;
	if (mode == ZSTD_e_end)
		frame_ended();
}

static void put_record(uint8_t type, const uint8_t *payload, size_t len)
{
	if (pending_len + len + 1 + LDP_VARINT_MAX > feed_at)
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

/* Stacks are written in id order from 1 in each file (put_new_stacks,
 * start_part): the index holds only those already in it. */
static void put_stack(uint32_t id)
{
	unsigned depth, flags;
	const uintptr_t *ips = ldp_stack_get(id, &depth, &flags);
	if (id == 1)
		ldp_bases_reset(&bases);
	uint32_t base;
	int checked;
	unsigned keep = ldp_bases_match(&bases, ips, depth, &base, &checked);
	if (keep && !checked) {
		unsigned base_depth, base_flags;
		const uintptr_t *base_ips = ldp_stack_get(base, &base_depth, &base_flags);
		if (!ldp_bases_shares(base_ips, base_depth, ips, depth, keep))
			keep = 0; /* a hash collision: written whole */
	}
	put_record(LDP_REC_STACK2, scratch,
		   ldp_enc_stack2(scratch, id - frame_last_stack, flags, ips, depth, keep, id - base));
	frame_last_stack = id;
	ldp_bases_add(&bases, ips, keep, depth, id);
}

/* Bytes [from, to) of a ring, as EVENTS records of at most events_piece bytes. */
static void put_ring_bytes(struct ldp_ring *r, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t n = to - from > events_piece ? events_piece : (size_t)(to - from);
		uint8_t hdr[2 * LDP_VARINT_MAX];
		size_t hl = ldp_varint_put(hdr, r->id);
		size_t len = hl + n;
		if (pending_len + len + 1 + LDP_VARINT_MAX > feed_at)
			compress_pending(ZSTD_e_continue);
		uint8_t *p = pending + pending_len;
		*p++ = LDP_REC_EVENTS5;
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

/* Returns how many rings had events. */
static unsigned drain_rings(void)
{
	unsigned busy = 0;
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next) {
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		int state = atomic_load_explicit(&r->state, memory_order_acquire);
		if (state == LDP_RING_FREE)
			continue;
		if (r->head_snap > tail) {
			if (rotating)
				ldp_ringcut_follow(&r->cut, r->buf, r->mask, tail, r->head_snap);
			put_ring_bytes(r, tail, r->head_snap);
			atomic_store_explicit(&r->tail, r->head_snap, memory_order_release);
			atomic_fetch_add_explicit(&r->drained, 1, memory_order_release);
			if (atomic_exchange_explicit(&r->kicked, 0, memory_order_relaxed))
				ldp_futex_wake((volatile uint32_t *)&r->drained);
			r->idle_rounds = 0;
			busy++;
		} else if (state == LDP_RING_OWNED && ++r->idle_rounds % 64 == 0 && thread_gone(r->tid)) {
			/* Its thread exited without our key destructor running last. */
			state = LDP_RING_DEAD;
		}
		if (state == LDP_RING_DEAD && atomic_load_explicit(&r->head, memory_order_acquire) == r->head_snap)
			atomic_store_explicit(&r->state, LDP_RING_FREE, memory_order_release);
	}
	return busy;
}

static uint64_t now_us(void)
{
	return (ldp_mono_ns() - seg_start_ns) / 1000;
}

/* ---- samples ---- */

static uint64_t lost_written[6]; /* by LOST kind: CPU, wall, heap samples; nested allocations, frees */
static unsigned paths_written = 1;

/* Resident set size, from /proc/self/statm (opened each time: the program
 * may close any descriptor we would keep). */
/* When the last RSS reading and the last zstd flush were (ldp_mono_ns). */
static uint64_t last_rss_ns, last_flush_ns;

static uint64_t rss_now(void)
{
	uint64_t size, pages;
	if (ldp_proc_statm(&size, &pages) != 0)
		return 0;
	static long page;
	if (!page)
		page = sysconf(_SC_PAGESIZE);
	return pages * (uint64_t)page;
}

/* Readings taken while the writer thread starts late (ldp_writer_poll_slow),
 * written by the first round, in time order, before its own. */
#define LATE_RSS_CAP 64
static struct {
	uint64_t us, bytes;
} late_rss[LATE_RSS_CAP];
static unsigned late_rss_n;

static void put_rss(void)
{
	for (unsigned i = 0; i < late_rss_n; i++)
		put_record(LDP_REC_RSS, scratch, ldp_enc_rss(scratch, late_rss[i].us, late_rss[i].bytes));
	late_rss_n = 0;
	uint64_t bytes = rss_now();
	if (bytes)
		put_record(LDP_REC_RSS, scratch, ldp_enc_rss(scratch, now_us(), bytes));
}
static int sampling_written;
#define NAMED_CAP 16384
static int32_t *named; /* NAMED_CAP tids that have a THREAD record, open addressing */

/* Stacks the writer itself interned are written before the records using them. */
static void put_new_modules(void)
{
	unsigned nm = ldp_modules_count();
	for (; modules_written < nm; modules_written++)
		put_module(modules_written, ldp_module_get(modules_written));
}

/* Stacks counted first, then modules written: a stack's objects were
 * scanned before it was interned (stacks.c, ldp_modules_cover), so the
 * modules its addresses belong to come before it in the file, and the
 * reporter resolves a stack against the modules recorded before it. */
static void put_new_stacks(void)
{
	uint32_t ns = ldp_stacks_count();
	put_new_modules();
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
	char name[80];
	ssize_t n = ldp_proc_task_comm(tid, name, sizeof name);
	put_record(LDP_REC_THREAD, scratch, ldp_enc_thread(scratch, (uint32_t)tid, n > 0 ? name : ""));
}

/* A wall-clock look (wall.c decides its stack; the records are written here). */
static void put_wall(int tid, uint64_t time_us, uint64_t weight_ns, uint32_t stack, int state, long syscall)
{
	put_new_stacks();
	put_record(LDP_REC_SAMPLE, scratch,
		   ldp_enc_sample(scratch, LDP_SAMPLE_WALL, (uint32_t)tid, time_us, weight_ns, stack, (unsigned)state,
				  syscall));
}

static const struct ldp_wall_out wall_out = {put_wall, name_thread};

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

/* CPU samples the handlers left in each thread's block (sample.c). Each
 * also goes to the wall sampler, whose running looks wait for them. A
 * block whose thread has exited is handed back once drained. */
static void drain_samples(void)
{
	uint64_t lost = atomic_load_explicit(&ldp_samples_lost_global, memory_order_relaxed);
	for (struct ldp_samples *s = ldp_samples_first(); s; s = s->next) {
		lost += atomic_load_explicit(&s->lost, memory_order_relaxed);
		int state = atomic_load_explicit(&s->state, memory_order_acquire);
		if (state != LDP_SAMPLES_OWNED && state != LDP_SAMPLES_DEAD)
			continue;
		uint32_t head = atomic_load_explicit(&s->head, memory_order_acquire);
		uint32_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
		s->idle_drains = head == tail ? s->idle_drains + 1 : 0;
		if (head != tail)
			name_thread(s->tid);
		for (; tail != head; tail++) {
			const struct ldp_sample *x = ldp_sample_at(s, tail);
			uint32_t stack = ldp_stack_intern_quiet(x->ips, x->depth,
								LDP_STACK_LEAF_PC | (x->truncated ? LDP_STACK_TRUNCATED : 0));
			put_new_stacks();
			put_record(LDP_REC_SAMPLE, scratch,
				   ldp_enc_sample(scratch, LDP_SAMPLE_CPU, (uint32_t)s->tid, x->time_us, x->weight_ns, stack,
						  LDP_STATE_RUNNING, -1));
			ldp_wall_cpu_sample(s->tid, stack, x->cpu_ns);
		}
		atomic_store_explicit(&s->tail, tail, memory_order_release);
		if (state == LDP_SAMPLES_DEAD) { /* its thread is gone: nothing comes after head */
			s->idle_drains = 0;
			atomic_store_explicit(&s->state, LDP_SAMPLES_FREE, memory_order_release);
		} else if (s->idle_drains % 64 == 63 && thread_gone(s->tid)) {
			/* Its thread exited without our key destructor running last. */
			int owned = LDP_SAMPLES_OWNED;
			atomic_compare_exchange_strong(&s->state, &owned, LDP_SAMPLES_DEAD);
		}
	}
	put_lost(LDP_SAMPLE_CPU, lost);
	put_lost(LDP_SAMPLE_HEAP, atomic_load_explicit(&ldp_sh_lost, memory_order_relaxed));
	put_lost(LDP_LOST_NESTED_ALLOC, atomic_load_explicit(&ldp_nested_lost_alloc, memory_order_relaxed));
	put_lost(LDP_LOST_NESTED_FREE, atomic_load_explicit(&ldp_nested_lost_free, memory_order_relaxed));
}

/* One look at every thread (wall.c); called from the writer's tick. */
static void wall_tick(uint64_t interval_ns)
{
	if (ldp_wall_collect() != 0 || ended || failed || out_fd < 0)
		return;
	put_sampling_info();
	/* Remembered stacks (a thread's last CPU sample, the call it was
	 * waiting in) may predate this file: a fork child inherits them with
	 * the stack table. Every id must be written before its use. */
	put_new_stacks();
	drain_samples(); /* the latest CPU samples first: a look compares itself with them */
	ldp_wall_credit(now_us(), interval_ns);
}

/* ---- rotation ----
 * After a round that left the part at max_size or more, the frame is ended
 * and the next round begins the next part (tracefile.c names it and writes
 * its header); a last round (END) stays in the part, so no part holds
 * nothing but an END.
 * The new part re-declares everything its records may refer to: modules,
 * paths, every stack so far, the sampling setup, and each ring's decoding
 * state, delta bases and 1.7 model (RING: ringcut.c followed the drained
 * bytes), so it reads on its own. A part is at most max_size plus one round
 * (and this preamble). */
static void start_part(void)
{
	compress_pending(ZSTD_e_end);
	frame_start_ns = 0;
	int fd = ldp_tracefile_open_part(part_no + 1, seg_start_ns, now_us());
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		rotating = 0; /* tracefile said why; the trace goes on in this part */
		return;
	}
	close(out_fd);
	out_fd = fd;
	out_dev = st.st_dev;
	out_ino = st.st_ino;
	file_bytes = (uint64_t)st.st_size;
	part_no++;
	part_rounds = 0;
	for (unsigned i = 0; i < modules_written; i++)
		put_module(i, ldp_module_get(i));
	for (unsigned i = 1; i < paths_written; i++)
		put_record(LDP_REC_PATH, scratch, ldp_enc_path(scratch, i, ldp_path_get(i)));
	for (uint32_t i = 1; i < stacks_written; i++)
		put_stack(i);
	sampling_written = 0;
	put_sampling_info();
	memset(named, 0, NAMED_CAP * sizeof *named); /* names again, as threads are next seen */
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next) {
		if (r->cut.attached && atomic_load_explicit(&r->state, memory_order_acquire) != LDP_RING_FREE)
			put_record(LDP_REC_RING, scratch, ldp_enc_ring(scratch, r->id, &r->cut));
	}
}

/* One round. end_reason: also an END record (end_signal: the signal of
 * LDP_END_SIGNAL). end_frame: close the zstd frame (else just flush it). */
static void do_round(int end_reason, int end_signal, int end_frame)
{
	if (ended || failed || out_fd < 0)
		return;
	/* The part filled up in an earlier round: the next one begins with this
	 * round, unless this is the last (its END stays in the full part, within
	 * the bound of one round, rather than alone in a part of its own). */
	if (part_full && !end_reason) {
		part_full = 0;
		start_part();
	}
	uint64_t now = ldp_mono_ns();
	if (!frame_start_ns) {
		frame_start_ns = now;
		frame_bytes = 0;
	}
	uint64_t floor = atomic_load_explicit(&ldp_seq_floor, memory_order_relaxed);
	for (struct ldp_ring *r = ldp_rings_first(); r; r = r->next)
		r->head_snap = atomic_load_explicit(&r->head, memory_order_acquire);

	put_new_modules();
	unsigned np = ldp_paths_count();
	for (; paths_written < np; paths_written++)
		put_record(LDP_REC_PATH, scratch, ldp_enc_path(scratch, paths_written, ldp_path_get(paths_written)));
	put_new_stacks();
	put_sampling_info();
	int due = end_reason || end_frame || now - last_flush_ns >= ldp_cfg.flush_ms * 1000000ull;
	if (due || now - last_rss_ns >= ldp_cfg.flush_ms * 1000000ull) {
		put_rss();
		last_rss_ns = now;
	}
	if (end_reason)
		ldp_nested_count_leftovers(); /* never to be drained now: counted */
	drain_samples();
	if (end_reason)
		ldp_wall_flush(); /* no later sample will come */
	unsigned busy_rings = drain_rings();
	uint64_t snap_seq;
	unsigned kind;
	char label[LDP_MAX_LABEL_LEN + 1];
	while (ldp_snapshot_pop(&snap_seq, &kind, label, sizeof label)) {
		if (kind & LDP_SNAP_MARK) /* a pause or resume mark (control.c) */
			put_record(LDP_REC_PAUSE, scratch,
				   ldp_enc_pause(scratch, snap_seq, (kind >> 4) & 1, kind & 0xf));
		else
			put_record(LDP_REC_SNAPSHOT, scratch, ldp_enc_snapshot(scratch, snap_seq, kind, label));
	}

	uint8_t buf[4 * LDP_VARINT_MAX];
	int end_this_frame = end_reason || end_frame || now - frame_start_ns >= FRAME_NS ||
			     frame_bytes + pending_len >= FRAME_BYTES ||
			     (frame_hint && frame_begun && frame_bytes + pending_len > frame_hint) ||
			     (auto_level && ldp_zlevel_overloaded(frame_level, now - frame_start_ns, frame_compress_ns));
	/* A ROUND tells a reader it may deliver what came before the floor; it
	 * is needed to merge threads, not to read one. A round by volume of a
	 * single busy thread (a round a millisecond in a tight loop) leaves it
	 * out, within ROUND_GAP_US: its bytes (time and floor, which zstd cannot
	 * predict) were a quarter of a one-thread loop's trace. The gap is
	 * measured on the times the records carry, as a reader sees them. */
	uint64_t round_us = now_us();
	if (end_this_frame || due || busy_rings > 1 || round_us - last_round_rec_us >= ROUND_GAP_US) {
		put_record(LDP_REC_ROUND, buf, ldp_enc_round(buf, ++round_no, round_us, floor));
		last_round_rec_us = round_us;
	}
	if (end_reason == LDP_END_SIGNAL) {
		put_record(LDP_REC_END, buf, ldp_enc_end_signal(buf, now_us(), (unsigned)end_signal));
		ended = 1;
	} else if (end_reason) {
		put_record(LDP_REC_END, buf, ldp_enc_end(buf, (unsigned)end_reason, now_us()));
		ended = 1;
	}
	if (end_this_frame) {
		compress_pending(ZSTD_e_end);
		frame_start_ns = 0;
		last_flush_ns = now;
	} else if (due) {
		compress_pending(ZSTD_e_flush);
		last_flush_ns = now;
	} else {
		compress_pending(ZSTD_e_continue); /* a round by volume: on disk by the next due flush */
	}
	part_rounds++;
	part_full = rotating && !ended && !failed && part_rounds > 1 && file_bytes >= ldp_cfg.max_size;
}

/* Raise the time floor to now. A maximum, not a store: before the writer
 * thread starts (ldp_writer_defer) the program's thread and its CPU
 * sampling handler tick it, and the floor must never go back. */
static void tick(void)
{
	/* In whole quanta: an event that takes the floor writes its seq as quanta (EVENTS3). */
	uint64_t floor = (now_us() << LDP_SEQ_SHIFT) & ~((1ull << LDP_SEQ_QUANTUM_SHIFT) - 1);
	uint64_t cur = atomic_load_explicit(&ldp_seq_floor, memory_order_relaxed);
	while (floor > cur &&
	       !atomic_compare_exchange_weak_explicit(&ldp_seq_floor, &cur, floor, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* The writer works in an fd table of its own, holding the trace and nothing
 * else. The program never sees the trace fd: closing every fd, reusing the
 * numbers, forking or exec'ing cannot touch it. Its /proc reads (RSS,
 * thread names, wall-clock looks) each take the lowest free fd for a
 * moment, and a program that has just closed its fds expects its next
 * open() to return exactly that number (a daemon reopening stdio on
 * /dev/null got fd 3 instead of 0); in its own table they take nothing from
 * the program. A copy of any of the program's fds would hold its files open
 * (a pipe's EOF would wait for us), so all are closed; POSIX record locks
 * belong to the table, so closing the copies releases none of the
 * program's. Where unshare is refused (seccomp), the writer shares the
 * program's table: the trace fd is moved high and checked before every
 * write, and a fork child closes its copy (the forking thread is alone then). */
static void private_fd_table(void)
{
	if (syscall(SYS_unshare, CLONE_FILES) != 0) {
		shared_table = 1;
		return;
	}
	shared_table = 0;
	if (syscall(SYS_close_range, 0u, ~0u, 0u) != 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 0; fd < max; fd++)
			close((int)fd);
	}
	ldp_log_private_fds(ldp_pid); /* warnings from here reach the program's stderr another way */
}

/* zstd's parameters: the configured level as it is, or under RLIMIT_AS
 * (rawmem.h) a smaller window, or level 1, until its workspace takes at most
 * an eighth of the agent's budget. */
static ZSTD_compressionParameters zparams;
static int zparams_fixed; /* 1: set them explicitly (the budget chose them) */

/* The configured level, or the richest the writer may choose. */
static int top_level(void)
{
	return ldp_cfg.zstd_level ? ldp_cfg.zstd_level : LDP_ZLEVEL_RICH;
}

static void choose_zparams(void)
{
	uint64_t b = ldp_budget();
	zparams = ZSTD_getCParams(top_level(), 0, 0);
	zparams_fixed = 0;
	if (b == LDP_BUDGET_NONE || ZSTD_estimateCStreamSize_usingCParams(zparams) <= b / 8)
		return;
	zparams_fixed = 1;
	for (int level = top_level();; level = 1) {
		ZSTD_compressionParameters p = ZSTD_getCParams(level, 0, 0);
		for (unsigned w = p.windowLog; w >= ZSTD_WINDOWLOG_MIN; w--) {
			p.windowLog = w;
			if (p.hashLog > w + 1)
				p.hashLog = w + 1;
			if (p.chainLog > w)
				p.chainLog = w;
			zparams = p;
			if (ZSTD_estimateCStreamSize_usingCParams(p) <= b / 8)
				return;
		}
		if (level == 1)
			return; /* the smallest there is; rawmem refuses it if even that does not fit */
	}
}

/* zstd's workspace and the record buffers, from rawmem, sized to the budget;
 * none of them is in a fork child, whose writer makes its own. */
static void forget_buffers(void);

static int buffers_init(void)
{
	if (buffers_pid && buffers_pid != getpid())
		forget_buffers(); /* a child made without our atfork handler (a raw fork) */
	if (!cctx_ws) {
		choose_zparams();
		size_t ws = zparams_fixed ? ZSTD_estimateCStreamSize_usingCParams(zparams)
					  : ZSTD_estimateCStreamSize(top_level());
		cctx_ws = writer_alloc(ws);
		cctx_ws_size = cctx_ws ? ws : 0;
	}
	if (!pending) {
		feed_at = ldp_budget_share(64, 32u << 10, 1u << 20);
		events_piece = feed_at;
		pending = writer_alloc(feed_at + events_piece + LDP_ENC_RECORD_MAX + 64);
	}
	if (!zout) {
		zout_cap = ldp_budget_share(64, 16u << 10, ZSTD_CStreamOutSize());
		zout = writer_alloc(zout_cap);
	}
	if (!scratch)
		scratch = writer_alloc(LDP_ENC_RECORD_MAX);
	if (!named)
		named = writer_alloc(NAMED_CAP * sizeof *named);
	cctx = cctx_ws ? ZSTD_initStaticCCtx(cctx_ws, cctx_ws_size) : NULL;
	if (!cctx || !pending || !zout || !scratch || !named || ldp_wall_start(&wall_out) != 0)
		return -ENOMEM;
	/* Under a budget the parameters are fixed (the level is then moot). */
	auto_level = !ldp_cfg.zstd_level && !zparams_fixed;
	frame_level = top_level();
	frame_compress_ns = 0;
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, frame_level);
	if (zparams_fixed) {
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)zparams.windowLog);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog, (int)zparams.hashLog);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_chainLog, (int)zparams.chainLog);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_searchLog, (int)zparams.searchLog);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_minMatch, (int)zparams.minMatch);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_targetLength, (int)zparams.targetLength);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_strategy, (int)zparams.strategy);
	}
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	frame_hint = zparams_fixed ? 0 : FRAME_HINT; /* fixed parameters leave a hint nothing to choose */
	frame_begun = 0;
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_srcSizeHint, (int)frame_hint);
	return 0;
}

/* Give a buffer back: the pointer is cleared first, so a fork child taken
 * in between finds either a mapped buffer or none. */
static void give_back(void *pp)
{
	void **slot = pp;
	void *p = *slot;
	__atomic_store_n(slot, NULL, __ATOMIC_SEQ_CST);
	ldp_raw_free(p);
}

static void buffers_free(void)
{
	cctx = NULL;
	give_back(&cctx_ws);
	give_back(&pending);
	give_back(&zout);
	give_back(&scratch);
	give_back(&named);
	ldp_wall_stop();
	dontfork_bytes = 0;
	ldp_bases_free(&bases);
	frame_last_stack = 0; /* a new compressor: a new frame */
}

/* Ask the scheduler for the shortest slice (Linux >= 6.12, EEVDF: a task
 * with a shorter slice preempts at once when it wakes). Wall looks are only
 * unbiased when they are on time, and a writer waiting for a CPU while the
 * program computes looked late, right after the computing ended, in the
 * wait that followed: wall_eintr's compute phase got 7-10 % fewer looks per
 * second than its waits under two busy loops. Same weight, same nice: the
 * writer's CPU share does not change, only how soon it gets it. Older
 * kernels ignore the slice. */
static void ask_short_slice(void)
{
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} attr = {.size = 48, .policy = SCHED_OTHER, .runtime = 100000};
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)ldp_gettid());
	if (nice == -1 && errno)
		return;
	if (sched_getscheduler(0) != SCHED_OTHER)
		return; /* the program chose a policy for its threads: ours keeps it */
	attr.nice = nice;
	syscall(SYS_sched_setattr, 0, &attr, 0U);
}

/* Open the trace (tracefile.c writes the header) in the writer's table. */
static int open_trace(void)
{
	if (buffers_init() != 0) {
		ldp_warn("cannot start the writer: out of memory; tracing is off, the program continues");
		return -ENOMEM;
	}
	int fd = ldp_tracefile_open(seg_start_ns, forked_child);
	if (fd < 0)
		return fd; /* tracefile said why */
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -EBADF;
	}
	out_fd = fd;
	out_dev = st.st_dev;
	out_ino = st.st_ino;
	file_bytes = (uint64_t)st.st_size;
	part_no = 0;
	part_rounds = 0;
	part_full = 0;
	rotating = ldp_cfg.max_size && S_ISREG(st.st_mode);
	return 0;
}

/* A program thread's request: a last round, with END or held across exec. */
static void serve(uint64_t req)
{
	int kind = (int)(req & 0xff), reason = (int)(req >> 8 & 0xff), sig = (int)(req >> 16 & 0xff);
	do_round(kind == REQ_END ? reason : 0, sig, 1); /* nothing may stay in an open frame */
	atomic_store_explicit(&req_done, (uint32_t)(req >> 32), memory_order_release);
	ldp_futex_wake((volatile uint32_t *)&req_done);
	/* exec under way: write nothing until it failed (if it works, this
	 * thread is gone with the image). The time floor keeps ticking. */
	uint32_t ticket = (uint32_t)(req >> 32);
	while (kind == REQ_HOLD && atomic_load_explicit(&hold_ticket, memory_order_acquire) == ticket) {
		ldp_futex_wait((volatile uint32_t *)&hold_ticket, ticket, TICK_NS);
		tick();
	}
}

static void *writer_main(void *arg)
{
	(void)arg;
	ldp_self.busy = 1; /* nothing this thread does is traced */
	prctl(PR_SET_NAME, (unsigned long)"ldprof-writer", 0UL, 0UL, 0UL); /* no fd: not pthread_setname_np */
	private_fd_table();
	int err = open_trace();
	if (!err)
		atomic_store(&writer_alive, 1);
	atomic_store_explicit(&start_word, err ? START_FAILED : START_OK, memory_order_release);
	ldp_futex_wake((volatile uint32_t *)&start_word);
	if (err) {
		buffers_free();
		return NULL;
	}
	/* Wake exactly when asked: the default 50 us timer slack would batch our
	 * wake-ups with the program's own timers and bias wall samples. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (ldp_cfg.wall_hz)
		ask_short_slice();
	uint64_t last = ldp_mono_ns(), last_wall = last, next_wall = last;
	uint64_t rng = last | 1;
	uint32_t seen = ldp_rings_kicks();
	while (!ended && !failed) {
		uint64_t wait = TICK_NS, now = ldp_mono_ns();
		if (ldp_cfg.wall_hz && next_wall > now && next_wall - now < wait)
			wait = next_wall - now;
		ldp_rings_wait(seen, wait);
		tick();
		uint64_t req = atomic_exchange_explicit(&req_word, 0, memory_order_acq_rel);
		if (req) {
			serve(req);
			continue;
		}
		if (atomic_load_explicit(&ldp_state, memory_order_acquire) == LDP_STATE_OFF) {
			/* turned off elsewhere (no memory for a ring...): end the segment */
			do_round(LDP_END_ERROR, 0, 1);
			break;
		}
		ldp_snapshot_tick(ldp_mono_ns());
		ldp_control_tick();
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
			/* Counted from when the look was due, not from when this
			 * thread got a CPU: a writer waiting for one while the program
			 * computes looked less often during computing (wall_eintr's
			 * compute phase got 7-10 % fewer looks per second than its
			 * waits under two busy loops). After a stall longer than a
			 * period (a long round) it starts afresh. */
			uint64_t period = 1000000000ull / ldp_cfg.wall_hz;
			next_wall += period / 2 + rng % (period + 1);
			if (next_wall + period < now)
				next_wall = now + period / 2 + rng % (period + 1);
		}
		uint32_t k = ldp_rings_kicks();
		if (k == seen && now - last < ldp_cfg.flush_ms * 1000000ull)
			continue;
		seen = k;
		last = now;
		do_round(0, 0, 0);
	}
	/* Done: whoever waits for a request is released, the memory goes back.
	 * The trace fd goes with this thread's fd table. */
	atomic_store(&writer_alive, 0);
	atomic_store_explicit(&req_done, atomic_load(&req_tickets), memory_order_release);
	ldp_futex_wake((volatile uint32_t *)&req_done);
	buffers_free();
	return NULL;
}

/* libc's pthread_create, not ours (sample.c): the writer is no program
 * thread to sample, and ours would attach it to a ring, which in a fork
 * child means starting the child's trace, which waits for this writer.
 * Resolved at the first start (the constructor), kept by fork children. */
static int stack_charged; /* this process's writer stack is charged to the budget */
/* A late writer's stack, mapped when it was deferred (rawmem, charged); a
 * fork child inherits it with the rest of the memory and may use it for
 * its own writer, the parent's being no thread of the child's. */
static void *late_stack;
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int ldp_writer_start(uint64_t start_mono_ns, int forked)
{
	if (!real_pthread_create) {
		ldp_self.busy++;
		real_pthread_create = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(
			RTLD_NEXT, "pthread_create");
		ldp_self.busy--;
		if (!real_pthread_create)
			real_pthread_create = pthread_create;
	}
	/* Its stack is address space too (glibc keeps it cached after the
	 * thread exits; a fork child has its parent's writer's too). */
	if (!stack_charged && ldp_budget_charge(WRITER_STACK + 4096) != 0) {
		ldp_warn("no address space left for the writer thread (RLIMIT_AS); tracing is off, the program continues");
		return -ENOMEM;
	}
	stack_charged = 1;
	seg_start_ns = start_mono_ns;
	forked_child = forked;
	atomic_store(&start_word, 0);
	tick();
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits "all blocked" */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (late_stack)
		pthread_attr_setstack(&attr, late_stack, WRITER_STACK);
	else
		pthread_attr_setstacksize(&attr, WRITER_STACK);
	int err = real_pthread_create(&writer_thread, &attr, writer_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		ldp_warn("cannot start the writer thread: %s; tracing is off, the program continues",
			 strerrordesc_np(err) ? strerrordesc_np(err) : "?");
		return -err;
	}
	/* It opens the trace: wait for its word (it said why if it failed). */
	uint32_t w;
	while ((w = atomic_load_explicit(&start_word, memory_order_acquire)) == 0)
		ldp_futex_wait((volatile uint32_t *)&start_word, 0, 100 * 1000000ull);
	return w == START_OK ? 0 : -1;
}

uint64_t ldp_writer_start_ns(void)
{
	return seg_start_ns;
}

/* ---- a writer that starts late ----
 * glibc runs a process that has only ever had one thread on cheaper paths:
 * malloc without its arena lock, stdio without its locks, a brk trim that
 * flushes only the local TLB. A second thread ends them for good: a
 * preloaded library that starts one idle thread and nothing else makes
 * `git log -p` 1.08x and sqlite3 1.045x slower. Sampled mode has little to
 * write, so in a program that runs alone the writer thread starts only when
 * it is needed (ldp_writer_defer): when the program starts a thread of its
 * own (it has given up those paths then anyway), when a ring passes half
 * full, or once LDPROF_WRITER_DELAY_MS have passed; whichever comes first.
 * The agent looks at its sampled slow paths (ldp_writer_poll), never on a
 * path every allocation takes. A program that ends first (exit, _exit,
 * abort, a fatal signal) never has a writer thread: the ending thread
 * opens the trace and writes the whole segment itself (end_alone). Until
 * then the program's thread ticks the time floor at those same places, and
 * its CPU samples wait in a block sized for the delay (sample.c).
 *
 * DEFER_WAITING -> DEFER_STARTING (a thread is being started) or
 * DEFER_ENDING (the ending thread writes it all), by one compare-exchange:
 * only one of them happens, once. */
enum { DEFER_NONE, DEFER_WAITING = LDP_WRITER_WAITING, DEFER_STARTING, DEFER_ENDING };
_Atomic int ldp_writer_deferred;
static uint64_t defer_until_ns;
static uint32_t defer_kicks; /* ldp_rings_kicks() when deferred: a kick since asks for the thread */

int ldp_writer_defer(uint64_t start_mono_ns)
{
	/* What the thread will need is taken now, as it would have been with
	 * a writer started here: under RLIMIT_AS the program may have used its
	 * address space up by the time the thread starts (its stack, zstd's
	 * workspace, the buffers and what opening the trace takes for a
	 * moment; the thread then asks for nothing more). */
	if (buffers_init() != 0 || ldp_tracefile_reserve() != 0 || !(late_stack = ldp_raw_map(WRITER_STACK))) {
		buffers_free();
		ldp_warn("cannot start the writer: out of memory; tracing is off, the program continues");
		return -ENOMEM;
	}
	stack_charged = 1;
	seg_start_ns = start_mono_ns;
	forked_child = 0;
	tick();
	defer_until_ns = start_mono_ns + ldp_cfg.writer_delay_ms * 1000000ull;
	defer_kicks = ldp_rings_kicks();
	atomic_store(&ldp_writer_deferred, DEFER_WAITING);
	return 0;
}

/* Start the deferred writer thread now, from a thread that holds no lock of
 * the agent's and is no signal handler. @return 1 started, 0 nothing to
 * start here, -1 it could not start: tracing is off (said why). */
int ldp_writer_undefer(void)
{
	/* Only the process the agent started in: a vfork child shares its
	 * memory, and a child of a fork no handler saw (forks.c) inherits the
	 * waiting state; neither may start a writer of the parent's. */
	if (atomic_load(&ldp_writer_deferred) != DEFER_WAITING || getpid() != ldp_pid)
		return 0;
	int expected = DEFER_WAITING;
	if (!atomic_compare_exchange_strong(&ldp_writer_deferred, &expected, DEFER_STARTING))
		return 0;
	ldp_self.busy++; /* pthread_create allocates */
	int err = ldp_writer_start(seg_start_ns, 0);
	ldp_self.busy--;
	atomic_store(&ldp_writer_deferred, DEFER_NONE);
	if (err) { /* said why: the writer or tracefile.c */
		atomic_store(&ldp_heap_on, 0);
		atomic_store(&ldp_state, LDP_STATE_OFF);
		return -1;
	}
	return 1;
}

void ldp_writer_poll_slow(void)
{
	if (atomic_load_explicit(&ldp_writer_deferred, memory_order_relaxed) != DEFER_WAITING)
		return;
	int saved = errno; /* inside the program's malloc: errno is its own */
	tick();
	uint64_t now = ldp_mono_ns();
	/* RSS every flush interval, as the thread would read it (its /proc
	 * read takes an fd for a moment: nobody else runs to see it). */
	if (now - last_rss_ns >= ldp_cfg.flush_ms * 1000000ull && late_rss_n < LATE_RSS_CAP) {
		uint64_t bytes = rss_now();
		if (bytes) {
			late_rss[late_rss_n].us = now_us();
			late_rss[late_rss_n++].bytes = bytes;
		}
		last_rss_ns = now;
	}
	if (now >= defer_until_ns || ldp_rings_kicks() != defer_kicks || !__libc_single_threaded)
		ldp_writer_undefer();
	errno = saved;
}

void ldp_writer_tick_deferred(void)
{
	if (atomic_load_explicit(&ldp_writer_deferred, memory_order_relaxed) == DEFER_WAITING)
		tick();
}

/* The program ends before the writer thread started: this thread writes
 * the segment, one round with END, in the program's fd table for the few
 * calls it takes (an ending process cannot close its fds meanwhile; each
 * write checks the fd anyway). Only for a thread that holds no lock of the
 * agent's: the callers check. @return 0 done (written, or not and said
 * why), 1 the thread started meanwhile: ask it. */
static int end_alone(int end_reason, int sig)
{
	int expected = DEFER_WAITING;
	if (!atomic_compare_exchange_strong(&ldp_writer_deferred, &expected, DEFER_ENDING))
		return 1;
	if (open_trace() == 0) {
		do_round(end_reason, sig, 1);
		close(out_fd);
		out_fd = -1;
	}
	buffers_free();
	ended = 1;
	return 0;
}

/* ---- requests from program threads (exit, _exit, abort, exec, fatal signals) ----
 * Async-signal-safe (atomics, futex, nanosleep): abort and fatal signals
 * run in signal handlers. Every wait is bounded. */

/* req_owner holds the tid of the thread whose request it is. takeover: the
 * caller never returns (exit, _exit, abort, a fatal signal), so when it is
 * a signal handler that interrupted this same thread's own request (in
 * exec's hold, or waiting in ask), the interrupted code never runs on: the
 * request is the handler's, and the writer stops holding. Else it would
 * wait out its timeout for a request only it can give back. */
static int take_request(unsigned timeout_ms, int takeover)
{
	int self = ldp_gettid();
	for (unsigned i = 0;; i++) {
		int expected = 0;
		if (atomic_compare_exchange_strong(&req_owner, &expected, self))
			return 0;
		if (expected == self && takeover) {
			atomic_store(&hold_ticket, 0);
			ldp_futex_wake((volatile uint32_t *)&hold_ticket);
			return 0;
		}
		if (i >= timeout_ms || !atomic_load(&writer_alive))
			return -1; /* a writer gone meanwhile serves nobody */
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
}

static void give_request(void)
{
	atomic_store(&req_owner, 0);
}

static int served(uint32_t ticket)
{
	return (int32_t)(atomic_load_explicit(&req_done, memory_order_acquire) - ticket) >= 0;
}

/* Post a request and wait until the writer has done it.
 * @return 0 done (or the writer is gone: nothing more can be written), -1 timed out. */
static int ask(int kind, int reason, int sig, unsigned timeout_ms)
{
	uint32_t ticket = atomic_fetch_add(&req_tickets, 1) + 1;
	if (!ticket) /* 0 means "no hold": after 2^32 requests, skip it */
		ticket = atomic_fetch_add(&req_tickets, 1) + 1;
	uint64_t req = REQ_WORD(ticket, kind, reason, sig);
	if (kind == REQ_HOLD) /* before the writer can take the request */
		atomic_store_explicit(&hold_ticket, ticket, memory_order_release);
	atomic_store_explicit(&req_word, req, memory_order_release);
	ldp_rings_kick();
	uint64_t deadline = ldp_mono_ns() + timeout_ms * 1000000ull;
	for (;;) {
		uint32_t done = atomic_load_explicit(&req_done, memory_order_acquire);
		if ((int32_t)(done - ticket) >= 0)
			return 0;
		uint64_t now = ldp_mono_ns();
		if (!atomic_load(&writer_alive) || now >= deadline)
			break;
		ldp_futex_wait((volatile uint32_t *)&req_done, done, deadline - now);
	}
	/* Withdraw it; if the writer took it meanwhile, it is being done. */
	atomic_compare_exchange_strong(&req_word, &req, 0);
	return served(ticket) ? 0 : -1;
}

/* A last round with END(end_reason, sig); the caller never returns. */
static int ask_end(int end_reason, int sig, unsigned timeout_ms)
{
	if (!atomic_load(&writer_alive) || take_request(timeout_ms, 1) != 0)
		return -1;
	int err = ask(REQ_END, end_reason, sig, timeout_ms);
	give_request();
	return err;
}

int ldp_writer_flush(int end_reason, unsigned timeout_ms)
{
	/* exit, _exit, abort: the caller's guard is its own (final_flush) */
	if (atomic_load(&ldp_writer_deferred) == DEFER_WAITING && ldp_self.busy <= 1) {
		if (end_alone(end_reason, 0) == 0)
			return 0;
	}
	return ask_end(end_reason, 0, timeout_ms);
}

/* A fatal signal's handler (fatal.c), in any program thread: it takes no
 * lock and touches no allocator (the code it interrupted may hold either);
 * the writer writes the round. The first fatal signal names the end: once
 * it is written the writer is gone, and later ones return at once. */
int ldp_writer_end_by_signal(int sig, unsigned timeout_ms)
{
	if (atomic_load(&ldp_writer_deferred) == DEFER_WAITING) {
		/* Not when the signal came inside the agent: a lock of its own may
		 * be held by the code it interrupted (the program has one thread). */
		if (ldp_self.busy)
			return -1;
		if (end_alone(LDP_END_SIGNAL, sig) == 0)
			return 0;
	}
	return ask_end(LDP_END_SIGNAL, sig, timeout_ms);
}

int ldp_writer_is_self(void)
{
	return atomic_load(&writer_alive) && pthread_equal(pthread_self(), writer_thread);
}

int ldp_writer_flush_and_hold(void)
{
	ldp_writer_undefer(); /* exec: the thread holds the trace across it (a failed exec goes on) */
	if (!atomic_load(&writer_alive) || take_request(1000, 0) != 0)
		return -1;
	if (ask(REQ_HOLD, 0, 0, 1000) != 0) {
		ldp_writer_release();
		return -1;
	}
	return 0;
}

void ldp_writer_release(void)
{
	atomic_store(&hold_ticket, 0);
	ldp_futex_wake((volatile uint32_t *)&hold_ticket);
	give_request();
}

/* The writer's memory is not mapped in a fork child: forget it, and give its
 * budget back. */
static void forget_buffers(void)
{
	cctx = NULL;
	cctx_ws = pending = zout = scratch = NULL;
	named = NULL;
	ldp_wall_forget();
	ldp_budget_uncharge(dontfork_bytes + ldp_bases_forget(&bases));
	dontfork_bytes = 0;
	buffers_pid = 0;
}

/* A fork child has no writer thread and may have been forked in the middle
 * of a round: everything the parent's writer had under way is dropped, and
 * the child's own writer (started on its first event) begins from scratch,
 * with buffers of its own (the parent's are not in the child: MADV_DONTFORK).
 * Nothing of the parent's writer needs to be quiescent at fork time, so the
 * prepare handler does not wait for it, and nothing is written here that
 * would cost a copy of a page. */
void ldp_writer_postfork_child(void)
{
	/* The child's fd table is a copy of the forking thread's, which holds
	 * the trace only when the writer shared it; then it is ours to close if
	 * the number is still our file (this thread is the child's only one). */
	if (shared_table && out_fd >= 0 && fd_is_ours())
		close(out_fd);
	out_fd = -1;
	shared_table = 0;
	cctx = NULL;
	pending_len = 0;
	frame_last_stack = 0;
	modules_written = 0;
	stacks_written = 1;
	round_no = 0;
	last_round_rec_us = 0;
	sampling_written = 0;
	paths_written = 1;
	memset(lost_written, 0, sizeof lost_written);
	forget_buffers();
	stack_charged = late_stack != NULL; /* the child's writer gets a stack of its own, or the inherited one */
	frame_start_ns = 0;
	ended = failed = 0;
	atomic_store(&writer_alive, 0);
	atomic_store(&ldp_writer_deferred, DEFER_NONE); /* the child's writer starts on its first event */
	late_rss_n = 0; /* the parent's readings */
	atomic_store(&start_word, 0);
	atomic_store(&req_owner, 0);
	atomic_store(&req_word, 0);
	atomic_store(&req_done, atomic_load(&req_tickets));
	atomic_store(&hold_ticket, 0);
}
