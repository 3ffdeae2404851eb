/*
 * tracefile.c - choose the trace path, open it safely, write the segment header.
 *
 * Names: LDPROF_OUTPUT is a template (%p pid, %h host, %t start time in
 * seconds, %e program name, %% a percent sign); a host or program name
 * goes in as one file name component (path_word). When it has no %p, a fork
 * child (or any process other than the one `ldprof record` started) inserts
 * ".<pid>" before the extension, so every process writes its own file.
 *
 * Safety in shared directories: files are created O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0600, so a planted symlink is never followed and nothing is ever
 * overwritten. The one exception to "create": after an exec, the new image of
 * the same process finds the file its previous image wrote (same pid and the
 * same process start time in the first segment header) and appends a segment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "ldprof/varint.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

#ifndef LDPROF_VERSION
#define LDPROF_VERSION "0.0-dev"
#endif
#define AGENT_VERSION "ldprof " LDPROF_VERSION

char ldp_trace_path[LDP_PATH_CAP];

/* The large buffers of opening a trace live in agent memory, never on the
 * stack: a fork child opens its trace on its first event, on whatever thread
 * that runs, and threads may have 16 KiB stacks. */
struct scratch {
	char path[LDP_PATH_CAP], alt[LDP_PATH_CAP];
	char cmd[4096];                 /* program_name */
	uint8_t probe[4096];            /* written_by_this_process */
	char buf[LDP_MAX_PATH_LEN + (60 << 10)]; /* write_header: exe, then cmdline */
};

static void program_name(char *out, size_t cap, struct scratch *sc)
{
	char *cmd = sc->cmd;
	ssize_t n = ldp_read_small_file("/proc/self/cmdline", cmd, sizeof sc->cmd);
	const char *base = n > 0 ? cmd : "unknown";
	const char *slash = strrchr(base, '/');
	if (slash && slash[1])
		base = slash + 1;
	size_t i = 0;
	for (; base[i] && i + 1 < cap && i < 64; i++) {
		char c = base[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			 c == '_' || c == '-';
		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
	if (!i)
		ldp_format(out, cap, "unknown");
}

/* A name put into a path (%h, %e) is one file name component: anything but
 * letters, digits, '.', '_' and '-' becomes '_' (a host name holding '/'
 * would move the trace to another directory), and "", "." or ".." is "_". */
static void path_word(char *out, size_t cap, const char *name)
{
	size_t i = 0;
	for (; name[i] && i + 1 < cap && i < 64; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			 c == '_' || c == '-';
		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
	if (!i || !strcmp(out, ".") || !strcmp(out, ".."))
		ldp_format(out, cap, "_");
}

int ldp_tracefile_expand(char *out, size_t cap, const char *tmpl, int pid, const char *host, const char *prog,
			 uint64_t start_s, const char *insert)
{
	size_t n = 0;
	for (const char *t = tmpl; *t; t++) {
		char piece[256];
		if (*t == '%' && t[1]) {
			t++;
			switch (*t) {
			case 'p':
				ldp_format(piece, sizeof piece, "%d", pid);
				break;
			case 'h':
				path_word(piece, sizeof piece, host);
				break;
			case 't':
				ldp_format(piece, sizeof piece, "%lu", (unsigned long)start_s);
				break;
			case 'e':
				path_word(piece, sizeof piece, prog);
				break;
			default:
				ldp_format(piece, sizeof piece, "%c", *t);
			}
		} else {
			piece[0] = *t;
			piece[1] = '\0';
		}
		size_t len = strlen(piece);
		if (n + len + 1 > cap)
			return -1;
		memcpy(out + n, piece, len + 1);
		n += len;
	}
	if (insert && *insert) {
		size_t sl = strlen(insert);
		char *slash = strrchr(out, '/');
		char *dot = strrchr(slash ? slash + 1 : out, '.');
		if (dot == (slash ? slash + 1 : out))
			dot = NULL; /* a leading dot is not an extension */
		size_t at = dot ? (size_t)(dot - out) : n;
		if (n + sl + 1 > cap)
			return -1;
		memmove(out + at + sl, out + at, n - at + 1);
		memcpy(out + at, insert, sl);
	}
	return 0;
}

/* ---- segment header ---- */

struct hdr {
	uint8_t *p;
	size_t len, cap;
};

static void tlv(struct hdr *h, unsigned tag, const void *bytes, size_t len)
{
	if (h->len + len + 2 * LDP_VARINT_MAX > h->cap)
		return;
	h->len += ldp_varint_put(h->p + h->len, tag);
	h->len += ldp_varint_put(h->p + h->len, len);
	memcpy(h->p + h->len, bytes, len);
	h->len += len;
}

static void tlv_u64(struct hdr *h, unsigned tag, uint64_t v)
{
	uint8_t b[LDP_VARINT_MAX];
	tlv(h, tag, b, ldp_varint_put(b, v));
}

/* The part being opened (rotation): its index, whether it continues the
 * image of the part before, when it began (µs since segment start). */
struct part_info {
	unsigned index;
	int continues;
	uint64_t start_us;
};

#define HEADER_CAP (128u << 10)

/* The memory an open takes for a moment, taken ahead by a writer that
 * starts late (ldp_tracefile_reserve): the program may have used its
 * address space up by then (RLIMIT_AS). Used by the next open, once. */
static struct scratch *reserved_sc;
static uint8_t *reserved_frame;

static void *take(void **reserved, size_t size)
{
	void *p = *reserved;
	*reserved = NULL;
	return p ? p : ldp_raw_alloc(size);
}

int ldp_tracefile_reserve(void)
{
	reserved_sc = ldp_raw_alloc(sizeof *reserved_sc);
	reserved_frame = ldp_raw_alloc(HEADER_CAP + 8);
	return reserved_sc && reserved_frame ? 0 : -1;
}

static int write_header(int fd, uint64_t start_mono_ns, const struct part_info *part, struct scratch *sc)
{
	struct hdr h = {.cap = HEADER_CAP};
	uint8_t *frame = take((void **)&reserved_frame, h.cap + 8);
	if (!frame)
		return -ENOMEM;
	h.p = frame + 8;
	memcpy(h.p, LDP_FILE_MAGIC, LDP_FILE_MAGIC_LEN);
	h.p[8] = LDP_FORMAT_MAJOR & 0xff;
	h.p[9] = LDP_FORMAT_MAJOR >> 8;
	h.p[10] = LDP_FORMAT_MINOR & 0xff;
	h.p[11] = LDP_FORMAT_MINOR >> 8;
	h.len = 12;

	char *buf = sc->buf;
	tlv_u64(&h, LDP_HDR_PID, (uint64_t)getpid());
	tlv_u64(&h, LDP_HDR_PPID, (uint64_t)getppid());
	ssize_t n = readlink("/proc/self/exe", buf, LDP_MAX_PATH_LEN);
	tlv(&h, LDP_HDR_EXE, buf, n > 0 ? (size_t)n : 0);
	n = ldp_read_small_file("/proc/self/cmdline", buf, sizeof sc->buf);
	tlv(&h, LDP_HDR_CMDLINE, buf, n > 0 ? (size_t)n : 0);
	struct utsname u;
	if (uname(&u) == 0)
		tlv(&h, LDP_HDR_HOSTNAME, u.nodename, strlen(u.nodename));
	tlv_u64(&h, LDP_HDR_START_REALTIME, ldp_real_ns() - (ldp_mono_ns() - start_mono_ns));
	tlv_u64(&h, LDP_HDR_START_MONOTONIC, start_mono_ns);
	tlv_u64(&h, LDP_HDR_PROC_START, ldp_proc_start_ticks());
	tlv_u64(&h, LDP_HDR_MODE, (uint64_t)ldp_cfg.mode);
	tlv_u64(&h, LDP_HDR_MAX_DEPTH, ldp_cfg.max_depth);
	tlv(&h, LDP_HDR_AGENT_VERSION, AGENT_VERSION, strlen(AGENT_VERSION));
	tlv_u64(&h, LDP_HDR_SEQ_SHIFT, LDP_SEQ_SHIFT);
	tlv_u64(&h, LDP_HDR_POINTER_BITS, 64);
	if (ldp_cfg.mode == LDP_MODE_SAMPLED)
		tlv_u64(&h, LDP_HDR_SAMPLE_BYTES, ldp_cfg.sample_bytes);
	const char *allocator = ldp_allocator_desc;
	if (*allocator)
		tlv(&h, LDP_HDR_ALLOCATOR, allocator, strlen(allocator));
	if (ldp_cfg.attached)
		tlv_u64(&h, LDP_HDR_ATTACHED, 1);
	if (ldp_cfg.max_size) {
		tlv_u64(&h, LDP_HDR_PART, part->index);
		if (part->continues) {
			tlv_u64(&h, LDP_HDR_CONTINUES, 1);
			tlv_u64(&h, LDP_HDR_PART_START, part->start_us);
		}
	}

	uint32_t magic = LDP_SEGMENT_MAGIC, size = (uint32_t)h.len;
	for (int i = 0; i < 4; i++) {
		frame[i] = (uint8_t)(magic >> (8 * i));
		frame[4 + i] = (uint8_t)(size >> (8 * i));
	}
	/* Written by a program thread (at start, or a fork child's first event):
	 * past RLIMIT_FSIZE the write must fail, not kill the program. */
	struct ldp_xfsz_guard g;
	ldp_xfsz_block(&g);
	int err = ldp_write_all(fd, frame, h.len + 8);
	ldp_xfsz_restore(&g);
	ldp_raw_free(frame);
	return err;
}

/* Does fd hold a trace whose first segment was written by this very process
 * (an earlier image, before exec)? */
static int written_by_this_process(int fd, struct scratch *sc)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return 0;
	uint8_t *b = sc->probe;
	ssize_t n = pread(fd, b, sizeof sc->probe, 0);
	if (n < 8 + 12)
		return 0;
	uint32_t magic = 0, size = 0;
	for (int i = 0; i < 4; i++) {
		magic |= (uint32_t)b[i] << (8 * i);
		size |= (uint32_t)b[4 + i] << (8 * i);
	}
	if (magic != LDP_SEGMENT_MAGIC || memcmp(b + 8, LDP_FILE_MAGIC, LDP_FILE_MAGIC_LEN))
		return 0;
	const uint8_t *p = b + 8 + 12, *end = b + 8 + (size < (uint32_t)n - 8 ? size : (uint32_t)n - 8);
	uint64_t pid = 0, start = 0;
	while (p < end) {
		uint64_t tag, len, v;
		size_t k = ldp_varint_get(p, end, &tag);
		if (!k)
			break;
		p += k;
		k = ldp_varint_get(p, end, &len);
		if (!k || len > (uint64_t)(end - p - k))
			break;
		p += k;
		if ((tag == LDP_HDR_PID || tag == LDP_HDR_PROC_START) && ldp_varint_get(p, p + len, &v))
			*(tag == LDP_HDR_PID ? &pid : &start) = v;
		p += len;
	}
	return pid == (uint64_t)getpid() && start == ldp_proc_start_ticks();
}

static int create_excl(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

static int open_trace(uint64_t start_mono_ns, int forked_child, struct scratch *sc);

/* The path of part 0 of this image's trace, set when it is opened; every
 * later part is named from it. Empty: no rotation (a character device). */
static char part_base[LDP_PATH_CAP];

int ldp_tracefile_open(uint64_t start_mono_ns, int forked_child)
{
	struct scratch *sc = take((void **)&reserved_sc, sizeof *sc);
	if (!sc) {
		ldp_warn("cannot open a trace: out of memory");
		return -ENOMEM;
	}
	int fd = open_trace(start_mono_ns, forked_child, sc);
	ldp_raw_free(sc);
	return fd;
}

/* A relative template is relative to the working directory when the image
 * starts (docs/CONFIG.md): fork children open their files later, maybe after
 * a chdir, and inherit the template made absolute here. */
static void make_absolute(struct scratch *sc)
{
	char *cwd = sc->alt;
	size_t tl = strlen(ldp_cfg.output);
	if (ldp_cfg.output[0] == '/' || !getcwd(cwd, sizeof sc->alt))
		return;
	size_t cl = strlen(cwd);
	if (cl + 1 + tl + 1 > sizeof ldp_cfg.output)
		return;
	memmove(ldp_cfg.output + cl + 1, ldp_cfg.output, tl + 1);
	memcpy(ldp_cfg.output, cwd, cl);
	ldp_cfg.output[cl] = '/';
}

static int open_trace(uint64_t start_mono_ns, int forked_child, struct scratch *sc)
{
	if (!forked_child)
		make_absolute(sc);
	int pid = getpid();
	char host[256] = "localhost", prog[128];
	struct utsname u;
	if (uname(&u) == 0)
		ldp_format(host, sizeof host, "%s", u.nodename);
	program_name(prog, sizeof prog, sc);
	int has_pid = strstr(ldp_cfg.output, "%p") != NULL;
	int insert = !has_pid && (forked_child || (ldp_cfg.root_pid && ldp_cfg.root_pid != pid));
	uint64_t start_s = ldp_real_ns() / 1000000000u;

	char *path = sc->path, suffix[48];
	int fd = -1;
	/* A character device (/dev/null, /dev/full) is written as it is, by
	 * every process: no name is inserted and nothing is created next to it. */
	struct stat st;
	if (ldp_tracefile_expand(path, sizeof sc->path, ldp_cfg.output, pid, host, prog, start_s, NULL) == 0 &&
	    lstat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		goto opened;
	}
	ldp_format(suffix, sizeof suffix, ".%d", pid);
	if (ldp_tracefile_expand(path, sizeof sc->path, ldp_cfg.output, pid, host, prog, start_s, insert ? suffix : NULL))
		return -ENAMETOOLONG;
	fd = create_excl(path);
	if (fd < 0 && errno == EEXIST && !forked_child) {
		/* Our own file from before an exec, or someone else's: a symlink
		 * (ELOOP), a file we may not write, anything this process did not
		 * write. O_NONBLOCK: opening a FIFO or a device must not block. */
		fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || !written_by_this_process(fd, sc)) {
			if (fd >= 0)
				close(fd);
			fd = -1;
			errno = EEXIST;
		}
	}
	/* Taken by someone else: never overwrite, pick the next free name. */
	for (int i = 1; fd < 0 && errno == EEXIST && i < 100; i++) {
		char *alt = sc->alt;
		ldp_format(suffix, sizeof suffix, ".%d-%d", pid, i);
		if (ldp_tracefile_expand(alt, sizeof sc->alt, ldp_cfg.output, pid, host, prog, start_s, suffix))
			return -ENAMETOOLONG;
		fd = create_excl(alt);
		if (fd >= 0)
			memcpy(path, alt, strlen(alt) + 1);
	}
opened:
	if (fd < 0) {
		int err = errno;
		ldp_warn("cannot create trace file %s: %s", path, strerrordesc_np(err) ? strerrordesc_np(err) : "?");
		return -err;
	}
	fd = ldp_fd_move_high(fd); /* out of the way of a daemon's own files */
	part_base[0] = '\0'; /* a device is not rotated */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		memcpy(part_base, path, strlen(path) + 1);
	struct part_info first = {0};
	int err = write_header(fd, start_mono_ns, &first, sc);
	if (err) {
		close(fd);
		ldp_warn("cannot write trace file %s: %s", path, strerrordesc_np(-err) ? strerrordesc_np(-err) : "?");
		return err;
	}
	if (ldp_cfg.verbose)
		ldp_warn("tracing pid %d into %s", pid, path);
	memcpy(ldp_trace_path, path, strlen(path) + 1); /* for `ldprof ctl PID status` */
	return fd;
}

/* ---- rotation: parts 1, 2, ... ---- */

int ldp_tracefile_part_path(char *out, size_t cap, const char *base, unsigned index)
{
	if (index == 0) {
		if (strlen(base) + 1 > cap)
			return -1;
		memcpy(out, base, strlen(base) + 1);
		return 0;
	}
	char insert[24];
	ldp_format(insert, sizeof insert, ".%u", index);
	/* base is already expanded: a template without '%' expands to itself. */
	if (strchr(base, '%'))
		return -1;
	return ldp_tracefile_expand(out, cap, base, 0, "", "", 0, insert);
}

/* Delete part `index` if this process wrote it (never anyone else's file). */
static void delete_part(unsigned index, struct scratch *sc)
{
	if (ldp_tracefile_part_path(sc->alt, sizeof sc->alt, part_base, index))
		return;
	int fd = open(sc->alt, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (written_by_this_process(fd, sc))
		unlink(sc->alt);
	close(fd);
}

int ldp_tracefile_open_part(unsigned index, uint64_t start_mono_ns, uint64_t part_start_us)
{
	if (!part_base[0])
		return -EINVAL;
	struct scratch *sc = ldp_raw_alloc(sizeof *sc);
	if (!sc)
		return -ENOMEM;
	int err = 0, fd = -1;
	if (ldp_tracefile_part_path(sc->path, sizeof sc->path, part_base, index)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	fd = create_excl(sc->path);
	if (fd < 0) {
		err = -errno;
		ldp_warn("cannot create trace part %s: %s; the trace is no longer rotated", sc->path,
			 strerrordesc_np(-err) ? strerrordesc_np(-err) : "?");
		goto out;
	}
	fd = ldp_fd_move_high(fd);
	struct part_info part = {.index = index, .continues = 1, .start_us = part_start_us};
	err = write_header(fd, start_mono_ns, &part, sc);
	if (err) {
		ldp_warn("cannot write trace part %s: %s", sc->path, strerrordesc_np(-err) ? strerrordesc_np(-err) : "?");
		close(fd);
		unlink(sc->path);
		fd = -1;
		goto out;
	}
	if (ldp_cfg.keep && index >= ldp_cfg.keep)
		delete_part(index - ldp_cfg.keep, sc);
	if (ldp_cfg.verbose)
		ldp_warn("tracing pid %d into %s", getpid(), sc->path);
out:
	ldp_raw_free(sc);
	return fd >= 0 ? fd : err;
}
