/*
 * record.c - `ldprof record`: translate flags into LDPROF_* variables and
 * LD_PRELOAD, run the program, exit with its status.
 *
 * The agent does all the work; this command only sets the environment and
 * waits. With -q there is nothing to say afterwards, so it does not even
 * wait: it becomes the program (exec in place). The program then keeps
 * record's pid (a service manager's main pid stays the traced daemon), gets
 * its signals first-hand and ends with its own status or signal, and the
 * run costs one process less (about 2 ms of every traced run, measured
 * with /bin/true). It pre-computes the output path so that every image of the traced
 * process (exec chains included) writes one file, and forked children write
 * the same path with ".<pid>" inserted (agent/tracefile.c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "ldprof/limits.h"
#include "ldprof/signals.h"
#include "read/trace.h"
#include "util/util.h"

static pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof record [OPTIONS] [--] CMD [ARGS...]\n"
		   "\n"
		   "  -o, --output PATH   trace file (default ldprof.<program>.<pid>.ldp); forked\n"
		   "                      children write PATH with .<pid> before the extension.\n"
		   "                      An existing PATH, or parts PATH.1.ldp... an earlier\n"
		   "                      run with --max-size left, is never replaced...\n"
		   "  -f, --force         ...unless --force is given and it is an ldprof trace that\n"
		   "                      no running process is writing (its parts go with it)\n"
		   "      --mode MODE     full (every event), sampled, or off (no heap events)\n"
		   "      --sample-bytes SIZE  sampled mode: mean bytes allocated between samples\n"
		   "                      (default 512KiB; docs/SAMPLING.md)\n"
		   "      --seed N        sampled mode: fixed random seed, for repeatable samples\n"
		   "      --max-depth N   frames kept per stack (1..1024, default 64)\n"
		   "      --cpu HZ        CPU samples per second of each thread's CPU time (default 99; 0: off)\n"
		   "      --wall HZ       wall-clock samples of every thread per second, waiting ones too\n"
		   "                      (default 0: off); never sends a signal\n"
		   "      --cpu-signal SIG  the CPU timers' signal (default PROF)\n"
		   "      --snapshot-signal SIG     take a snapshot when SIG arrives (USR2, RTMIN+1, a number)\n"
		   "      --snapshot-interval SEC   take a snapshot every SEC seconds (0.5, 10)\n"
		   "      --start-paused  record no allocation until resumed (ldprof ctl PID resume,\n"
		   "                      the toggle signal, ldprof_resume())\n"
		   "      --toggle-signal SIG  pause / resume recording when SIG arrives (USR1...)\n"
		   "      --control       serve `ldprof ctl PID pause|resume|snapshot|detach`\n"
		   "                      (a socket in a private directory; docs/ATTACH.md)\n"
		   "      --max-size SIZE rotate the trace past SIZE bytes (64KiB at least): PATH, then\n"
		   "                      PATH with .1, .2, ... before the extension, each readable alone;\n"
		   "                      `ldprof report PATH` reads them as one run\n"
		   "      --keep N        with --max-size: keep the newest N parts, delete older ones\n"
		   "      --python-malloc  run Python with PYTHONMALLOC=malloc, so that every object is a\n"
		   "                      malloc (pymalloc's arenas hide objects of 512 bytes or less)\n"
		   "  -q, --quiet         do not print where the trace went, nor hints; ldprof\n"
		   "                      then becomes the program (same pid, its own exit\n"
		   "                      status or signal)\n"
		   "\n"
		   "A program built with -fsanitize=address runs with ASan's own checks on and\n"
		   "ldprof in front of its allocator (ASAN_OPTIONS gets verify_asan_link_order=0\n"
		   "and intercept_tls_get_addr=0; docs/DEFINITIONS.md says what the figures mean).\n");
}

/* The agent: LDPROF_AGENT, else next to this binary, else the install layout. */
char *find_agent(void)
{
	const char *env = getenv("LDPROF_AGENT");
	if (env && *env)
		return realpath(env, NULL);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	char *dir = dirname(self);
	const char *tries[] = {"%s/libldprof.so", "%s/../lib/ldprof/libldprof.so", "%s/../lib/libldprof.so"};
	for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, tries[i], dir);
		if (access(path, R_OK) == 0)
			return realpath(path, NULL);
	}
	return NULL;
}

/* Find CMD the way execvp will. @return malloc'd path or NULL. */
static char *which(const char *cmd)
{
	if (strchr(cmd, '/'))
		return xstrdup(cmd);
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char *copy = xstrdup(path), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char full[PATH_MAX];
		snprintf(full, sizeof full, "%s/%s", *d ? d : ".", cmd);
		if (access(full, X_OK) == 0) {
			free(copy);
			return xstrdup(full);
		}
	}
	free(copy);
	return NULL;
}

/* The program's DT_NEEDED entry starting with one of prefixes[], into buf.
 * @return buf, or NULL. */
static const char *needed(int fd, const Elf64_Ehdr *eh, const char *const *prefixes, size_t nprefixes, char *buf,
			  size_t cap)
{
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum > 4096)
		return NULL;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh, str;
		if (pread(fd, &sh, sizeof sh, (off_t)(eh->e_shoff + i * sizeof sh)) != (ssize_t)sizeof sh)
			return NULL;
		if (sh.sh_type != SHT_DYNAMIC || sh.sh_link >= eh->e_shnum ||
		    pread(fd, &str, sizeof str, (off_t)(eh->e_shoff + sh.sh_link * sizeof str)) != (ssize_t)sizeof str)
			continue;
		for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= sh.sh_size && off < (1u << 20); off += sizeof(Elf64_Dyn)) {
			Elf64_Dyn d;
			if (pread(fd, &d, sizeof d, (off_t)(sh.sh_offset + off)) != (ssize_t)sizeof d || d.d_tag == DT_NULL)
				break;
			if (d.d_tag != DT_NEEDED || d.d_un.d_val >= str.sh_size)
				continue;
			ssize_t n = pread(fd, buf, cap - 1, (off_t)(str.sh_offset + d.d_un.d_val));
			if (n <= 0)
				continue;
			buf[n] = '\0';
			for (size_t k = 0; k < nprefixes; k++)
				if (!strncmp(buf, prefixes[k], strlen(prefixes[k])))
					return buf;
		}
	}
	return NULL;
}

/* What check_program found out about the program. */
struct program {
	int asan;   /* linked with libasan: ldprof goes in front of ASan's allocator */
	int python; /* a Python interpreter (or a script for one) */
};

static int python_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strncmp(b, "python", 6);
}

/* "#!/usr/bin/python3" or "#!/usr/bin/env [-S] [VAR=x] python3": a script for Python. */
static int python_script(int fd)
{
	char line[256];
	ssize_t n = pread(fd, line, sizeof line - 1, 0);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return 0;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	char *save = NULL, *w = strtok_r(line + 2, " \t", &save);
	if (w && !strcmp(w + (strrchr(w, '/') ? strrchr(w, '/') - w + 1 : 0), "env"))
		while ((w = strtok_r(NULL, " \t", &save)) && (w[0] == '-' || strchr(w, '=')))
			;
	return w && python_name(w);
}

/* The program env runs in `env [OPTIONS] [VAR=x]... PROG ARGS`, else cmd itself. */
static char **through_env(char **cmd)
{
	const char *b = strrchr(cmd[0], '/');
	if (strcmp(b ? b + 1 : cmd[0], "env"))
		return cmd;
	char **p = cmd + 1;
	while (*p && ((*p)[0] == '-' || strchr(*p, '=')))
		p++;
	return *p ? p : cmd;
}

/*
 * LD_PRELOAD cannot reach a static executable (static-pie included); a
 * sanitizer other than ASan will not start with it: say so instead of
 * recording nothing. An ASan build is traced (record sets ASAN_OPTIONS).
 */
static struct program check_program(char **argv)
{
	struct program pr = {0};
	char **cmd = through_env(argv);
	char *path = which(cmd[0]);
	if (!path)
		die(EXIT_USAGE, "%s: command not found", cmd[0]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	if ((st.st_mode & (S_ISUID | S_ISGID)) && geteuid() != 0)
		warnx1("%s is setuid/setgid: the loader ignores LD_PRELOAD for it, nothing will be traced", path);
	pr.python = python_name(cmd[0]) || python_name(path) || python_script(fd);
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
		int dynamic = 0;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
				break;
			if (ph.p_type == PT_INTERP)
				dynamic = 1;
		}
		if (!dynamic && (eh.e_type == ET_EXEC || eh.e_type == ET_DYN))
			die(EXIT_USAGE, "%s is statically linked: LD_PRELOAD cannot reach it, so there is nothing to trace",
			    path);
		/* A sanitizer runtime replaces malloc and must come first in the
		 * library list (gcc links it dynamically: libasan.so...). */
		static const char *const others[] = {"libtsan.so", "liblsan.so", "libhwasan.so", "libmsan.so"};
		static const char *const asan[] = {"libasan.so"}, *const libpython[] = {"libpython"};
		char name[128];
		const char *rt = needed(fd, &eh, others, sizeof others / sizeof *others, name, sizeof name);
		if (rt)
			die(EXIT_USAGE,
			    "%s is built with a sanitizer (%s): its runtime must be loaded first and replaces malloc, so "
			    "LD_PRELOAD cannot trace it; trace a build without -fsanitize (ASan builds are traced)",
			    path, rt);
		pr.asan = needed(fd, &eh, asan, 1, name, sizeof name) != NULL;
		pr.python |= needed(fd, &eh, libpython, 1, name, sizeof name) != NULL;
	}
	close(fd);
	free(path);
	return pr;
}

/* PYTHONMALLOC as the program will see it: ours, or from `env VAR=x`. */
static const char *python_malloc_of(char **argv)
{
	const char *v = getenv("PYTHONMALLOC");
	char **prog = through_env(argv);
	for (char **p = argv + 1; p < prog; p++)
		if (!strncmp(*p, "PYTHONMALLOC=", 13))
			v = *p + 13;
	return v;
}

static void set_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		die(EXIT_USAGE, "cannot set %s: %s", name, strerror(errno));
}

/* The files a run's processes may write: PATH; with --max-size its parts,
 * PATH with ".k" before the extension (k = 1, 2, ...: agent/tracefile.c);
 * and PATH with ".<pid>" (a fork child) or ".<pid>-<n>" (a name taken)
 * before the extension. */
struct outname {
	char *dir, *base;
	size_t stem;     /* length of base without its extension */
	const char *ext; /* ".ldp", or "" */
};

static void outname_init(struct outname *o, const char *out)
{
	char *copy = xstrdup(out), *copy2 = xstrdup(out);
	o->dir = xstrdup(dirname(copy));
	o->base = xstrdup(basename(copy2));
	free(copy);
	free(copy2);
	const char *dot = strrchr(o->base, '.');
	o->stem = dot && dot != o->base ? (size_t)(dot - o->base) : strlen(o->base);
	o->ext = o->base + o->stem;
}

/* k > 0 when name (in o->dir) is part k of a rotated trace at PATH: named
 * as the agent and the reader name parts (rd_part_path) and its header says
 * it is part k. A fork child's PATH.<pid> has a name of the same shape; the
 * header tells them apart. seg (may be NULL) gets the header of a part. */
static unsigned part_index(const struct outname *o, const char *name, struct rd_segment *seg)
{
	if (strncmp(name, o->base, o->stem) || name[o->stem] != '.' || name[o->stem + 1] < '1' ||
	    name[o->stem + 1] > '9')
		return 0;
	char *end;
	unsigned long k = strtoul(name + o->stem + 1, &end, 10);
	if (k >= (1ul << 30) || strcmp(end, o->ext))
		return 0;
	struct strbuf path = {0};
	char want[PATH_MAX * 2 + 32];
	sb_printf(&path, "%s/%s", o->dir, o->base);
	int named = rd_part_path(want, sizeof want, path.s, (unsigned)k) == 0 && !strcmp(strrchr(want, '/') + 1, name);
	path.len = 0;
	sb_printf(&path, "%s/%s", o->dir, name);
	struct rd_segment h;
	struct rd_error err;
	int ok = named && rd_read_first_header(path.s, &h, &err) == 0;
	if (ok) {
		ok = h.rotated && h.part == k;
		if (ok && seg)
			*seg = h;
		else
			rd_segment_clear(&h);
	}
	sb_free(&path);
	return ok ? (unsigned)k : 0;
}

/* The parts of a rotated trace at PATH there now: how many, the lowest and
 * highest index. */
struct parts_seen {
	unsigned n, first, last;
};

static struct parts_seen parts_there(const struct outname *o)
{
	struct parts_seen ps = {0};
	DIR *d = opendir(o->dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		unsigned k = part_index(o, e->d_name, NULL);
		if (!k)
			continue;
		ps.first = ps.n && ps.first < k ? ps.first : k;
		ps.last = ps.last > k ? ps.last : k;
		ps.n++;
	}
	if (d)
		closedir(d);
	return ps;
}

/* -o PATH that exists. A device (/dev/null) is written as it is. Anything
 * else is only replaced with --force, and then only an ldprof trace that no
 * running process is writing: never a file the agent did not make (a text
 * file, a symlink), never a trace another run is still writing.
 *
 * A rotated trace is PATH and its parts PATH.1.ldp, PATH.2.ldp... (PATH
 * itself gone when --keep deleted it): `ldprof report PATH` reads them as
 * one run, so parts an earlier run left would be read with (or instead of)
 * this run's, and the agent, which creates each part exclusively, would stop
 * rotating at the first name taken. So they are the trace too: refused
 * without --force, and with it each checked like PATH and deleted with it. */
static void clear_output(const struct outname *o, const char *path, int force, int quiet)
{
	struct stat st;
	int exists = 1;
	if (lstat(path, &st) != 0) {
		if (errno != ENOENT)
			die(EXIT_USAGE, "%s: %s", path, strerror(errno));
		exists = 0;
	}
	if (exists && S_ISCHR(st.st_mode))
		return;
	if (exists && S_ISLNK(st.st_mode))
		die(EXIT_USAGE, "%s is a symbolic link: not replacing it, nor writing through it", path);
	if (exists && !S_ISREG(st.st_mode))
		die(EXIT_USAGE, "%s exists and is not a regular file: not replacing it", path);
	if (exists && !force)
		die(EXIT_USAGE, "%s exists: not replacing it (--force replaces an ldprof trace)", path);
	struct parts_seen ps = parts_there(o);
	char part[PATH_MAX * 2 + 32];
	if (ps.n && !force) {
		rd_part_path(part, sizeof part, path, ps.first);
		die(EXIT_USAGE, "%s is there, part of an earlier rotated trace %s (%u part%s): not replacing it (--force "
				"replaces an ldprof trace and its parts)",
		    part, path, ps.n, ps.n == 1 ? "" : "s");
	}
	struct rd_segment seg;
	struct rd_error err;
	if (exists) {
		if (rd_read_first_header(path, &seg, &err))
			die(EXIT_USAGE, "%s is not an ldprof trace: not replacing it, even with --force", path);
		int running = rd_segment_running(&seg);
		unsigned long long pid = (unsigned long long)seg.pid;
		rd_segment_clear(&seg);
		if (running)
			die(EXIT_USAGE, "%s is the trace of pid %llu, still running: not replacing it", path, pid);
	}
	/* Every part checked before anything is deleted: a refusal touches nothing. */
	for (unsigned k = ps.first; ps.n && k <= ps.last; k++) {
		rd_part_path(part, sizeof part, path, k);
		const char *slash = strrchr(part, '/');
		if (!part_index(o, slash ? slash + 1 : part, &seg))
			continue;
		int running = rd_segment_running(&seg);
		unsigned long long pid = (unsigned long long)seg.pid;
		rd_segment_clear(&seg);
		if (running)
			die(EXIT_USAGE, "%s is a part of the trace of pid %llu, still running: not replacing it", part, pid);
	}
	unsigned removed = 0;
	for (unsigned k = ps.first; ps.n && k <= ps.last; k++) {
		rd_part_path(part, sizeof part, path, k);
		const char *slash = strrchr(part, '/');
		if (!part_index(o, slash ? slash + 1 : part, NULL))
			continue;
		if (unlink(part) != 0)
			die(EXIT_USAGE, "cannot remove %s, a part of the trace being replaced: %s", part, strerror(errno));
		removed++;
	}
	if (exists && unlink(path) != 0)
		die(EXIT_USAGE, "cannot replace %s: %s", path, strerror(errno));
	if (removed && !quiet) {
		char last[sizeof part];
		rd_part_path(part, sizeof part, o->base, ps.first);
		rd_part_path(last, sizeof last, o->base, ps.last);
		fprintf(stderr, "ldprof: --force: also removed %u part%s of the earlier trace (%s%s%s)\n", removed,
			removed == 1 ? "" : "s", part, removed == 1 ? "" : " to ", removed == 1 ? "" : last);
	}
}

static int is_child_file(const struct outname *o, const char *name)
{
	if (strncmp(name, o->base, o->stem) || name[o->stem] != '.' || !strcmp(name, o->base))
		return 0;
	const char *p = name + o->stem + 1;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '-' && p[1] >= '0' && p[1] <= '9')
		for (p++; *p >= '0' && *p <= '9';)
			p++;
	return !strcmp(p, o->ext);
}

/* The child files there now, by device and inode (not the parts of a
 * rotated trace at PATH, whose names look the same). */
struct fileset {
	struct fid {
		dev_t dev;
		ino_t ino;
	} *v;
	size_t n, cap;
};

static void child_files(const struct outname *o, struct fileset *fs, const struct fileset *before, unsigned *fresh)
{
	DIR *d = opendir(o->dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		struct stat st;
		if (!is_child_file(o, e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) || part_index(o, e->d_name, NULL))
			continue;
		if (fs)
			VEC_PUSH(fs->v, fs->n, fs->cap, ((struct fid){st.st_dev, st.st_ino}));
		int old = 0;
		for (size_t i = 0; before && i < before->n && !old; i++)
			old = before->v[i].dev == st.st_dev && before->v[i].ino == st.st_ino;
		if (fresh && !old)
			(*fresh)++;
	}
	if (d)
		closedir(d);
}

/* path as a shell word: quoted when it holds anything but the usual. */
static const char *shell_word(struct strbuf *b, const char *path)
{
	b->len = 0;
	if (path[strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/+-:,@%=")]) {
		sb_putc(b, '\'');
		for (const char *p = path; *p; p++)
			sb_printf(b, *p == '\'' ? "'\\''" : "%c", *p);
		sb_putc(b, '\'');
	} else {
		sb_printf(b, "%s", path);
	}
	return b->s;
}

/* What the run wrote (PATH and its parts, and children's files that were
 * not there before it started), then what to do with it. shown: PATH as the
 * user gave it. Parts there are this run's: clear_output removed older ones. */
static void say_where(const char *out, const char *shown, const struct outname *o, const struct fileset *before)
{
	struct stat st;
	int written = stat(out, &st) == 0;
	struct parts_seen ps = parts_there(o);
	char first[PATH_MAX * 2 + 32], last[sizeof first];
	if (ps.n) {
		rd_part_path(first, sizeof first, shown, ps.first);
		rd_part_path(last, sizeof last, shown, ps.last);
	}
	if (written && ps.n)
		fprintf(stderr, "ldprof: trace written to %s and %u more part%s (%s%s%s; --max-size)\n", shown, ps.n,
			ps.n == 1 ? "" : "s", first, ps.n == 1 ? "" : " to ", ps.n == 1 ? "" : last);
	else if (ps.n)
		fprintf(stderr, "ldprof: trace written to %s: its newest part%s %s%s%s (older ones deleted, --keep)\n",
			shown, ps.n == 1 ? "" : "s", first, ps.n == 1 ? "" : " to ", ps.n == 1 ? "" : last);
	else if (written)
		fprintf(stderr, "ldprof: trace written to %s\n", shown);
	unsigned extra = 0;
	child_files(o, NULL, before, &extra);
	if (extra)
		fprintf(stderr, "ldprof: and %u more from child processes (%s/%.*s.<pid>%s)\n", extra, o->dir, (int)o->stem,
			o->base, o->ext);
	if ((written && S_ISREG(st.st_mode)) || ps.n) {
		struct strbuf w = {0};
		shell_word(&w, shown);
		fprintf(stderr, "ldprof: next: ldprof report %s   (or: ldprof flame %s; ldprof report --html %s)\n", w.s,
			w.s, w.s);
		sb_free(&w);
	}
}

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},          {"mode", required_argument, 0, 'm'},
		{"max-depth", required_argument, 0, 'd'},       {"quiet", no_argument, 0, 'q'},
		{"snapshot-signal", required_argument, 0, 'S'}, {"snapshot-interval", required_argument, 0, 'I'},
		{"cpu", required_argument, 0, 'C'},             {"wall", required_argument, 0, 'W'},
		{"cpu-signal", required_argument, 0, 'P'},     {"force", no_argument, 0, 'f'},
		{"sample-bytes", required_argument, 0, 'B'},    {"seed", required_argument, 0, 'E'},
		{"start-paused", no_argument, 0, 'Z'},          {"toggle-signal", required_argument, 0, 'T'},
		{"control", no_argument, 0, 'K'},
		{"max-size", required_argument, 0, 'M'},        {"keep", required_argument, 0, 'k'},
		{"python-malloc", no_argument, 0, 'Y'},         {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *out = NULL, *mode = "full", *snap_signal = NULL, *cpu_signal = NULL, *toggle_signal = NULL;
	int start_paused = 0, control = 0;
	uint64_t cpu_hz = LDP_CPU_HZ_DEFAULT, wall_hz = 0;
	char interval_ms[32] = "";
	uint64_t depth = LDP_DEPTH_DEFAULT, sample_bytes = 0, seed = 0, max_size = 0, keep = 0;
	int quiet = 0, python_malloc = 0, force = 0, c;
	while ((c = cli_getopt_long(argc, argv, "+o:qfh", opts)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'm':
			if (strcmp(optarg, "full") && strcmp(optarg, "sampled") && strcmp(optarg, "off"))
				die(EXIT_USAGE, "--mode must be full, sampled or off, not '%s'", optarg);
			mode = optarg;
			break;
		case 'd':
			if (parse_uint(optarg, LDP_DEPTH_MAX, &depth) || depth < LDP_DEPTH_MIN)
				die(EXIT_USAGE, "--max-depth must be a number in 1..1024, not '%s'", optarg);
			break;
		case 'C':
			if (parse_uint(optarg, LDP_HZ_MAX, &cpu_hz))
				die(EXIT_USAGE, "--cpu needs samples per second in 0..1000, not '%s'", optarg);
			break;
		case 'W':
			if (parse_uint(optarg, LDP_HZ_MAX, &wall_hz))
				die(EXIT_USAGE, "--wall needs samples per second in 0..1000, not '%s'", optarg);
			break;
		case 'Z': start_paused = 1; break;
		case 'K': control = 1; break;
		case 'T':
		case 'P':
		case 'S': {
			/* Checked here too, so a typo is a usage error, not a warning in the program. */
			const char *n = !strncmp(optarg, "SIG", 3) ? optarg + 3 : optarg;
			int valid = !strncmp(n, "RTMIN", 5) || ldp_signal_pickable(n); /* the agent's names */
			uint64_t num;
			if (!parse_uint(n, 64, &num) && num > 0 && num != SIGKILL && num != SIGSTOP && num != SIGSEGV)
				valid = 1;
			if (!valid)
				die(EXIT_USAGE, "%s: '%s' is not a signal name (USR2, RTMIN+1) or number",
				    c == 'S' ? "--snapshot-signal" : c == 'T' ? "--toggle-signal" : "--cpu-signal", optarg);
			*(c == 'S' ? &snap_signal : c == 'T' ? &toggle_signal : &cpu_signal) = optarg;
			break;
		}
		case 'I': {
			char *end;
			double sec = strtod(optarg, &end);
			if (end == optarg || *end || sec < 0.01 || sec > LDP_SNAPSHOT_INTERVAL_MS_MAX / 1000)
				die(EXIT_USAGE, "--snapshot-interval needs seconds between 0.01 and 86400, not '%s'", optarg);
			snprintf(interval_ms, sizeof interval_ms, "%llu", (unsigned long long)(sec * 1000 + 0.5));
			break;
		}
		case 'B':
			if (parse_size(optarg, &sample_bytes) || sample_bytes < LDP_SAMPLE_BYTES_MIN ||
			    sample_bytes > LDP_SAMPLE_BYTES_MAX)
				die(EXIT_USAGE, "--sample-bytes needs a size in 1..1GiB such as 512KiB, not '%s'", optarg);
			break;
		case 'E':
			if (parse_uint(optarg, UINT64_MAX, &seed) || seed == 0)
				die(EXIT_USAGE, "--seed needs a number above 0, not '%s'", optarg);
			break;
		case 'M':
			if (parse_size(optarg, &max_size) || max_size < (64u << 10))
				die(EXIT_USAGE, "--max-size needs a size of at least 64KiB such as 256MiB, not '%s'", optarg);
			break;
		case 'k':
			if (parse_uint(optarg, 1000000, &keep) || keep == 0)
				die(EXIT_USAGE, "--keep needs a number of parts in 1..1000000, not '%s'", optarg);
			break;
		case 'q': quiet = 1; break;
		case 'Y': python_malloc = 1; break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		}
	}
	if (optind >= argc)
		cli_usage_error("which program? (ldprof record [OPTIONS] -- CMD [ARGS...])");
	if (keep && !max_size)
		cli_usage_error("--keep needs --max-size");
	if ((sample_bytes || seed) && strcmp(mode, "sampled"))
		die(EXIT_USAGE, "--sample-bytes and --seed need --mode sampled");
	char **cmd = argv + optind;
	struct program pr = check_program(cmd);
	if (pr.asan && !strcmp(mode, "sampled"))
		die(EXIT_USAGE, "%s is built with AddressSanitizer: sampled mode serves sampled blocks from ldprof's own "
				"heap, where ASan cannot check them; use --mode full",
		    cmd[0]);
	const char *pm = python_malloc ? "malloc" : python_malloc_of(cmd);
	if (pr.python && !quiet && (!pm || (strcmp(pm, "malloc") && strcmp(pm, "malloc_debug"))))
		fprintf(stderr,
			"ldprof: hint: Python keeps objects of 512 bytes or less in arenas of its own (pymalloc), which "
			"a malloc tracer sees only as a few large mmaps; to see every object, record with "
			"--python-malloc (PYTHONMALLOC=malloc)\n");
	if (pr.asan && !quiet)
		fprintf(stderr,
			"ldprof: %s is built with AddressSanitizer: ldprof goes in front of ASan's allocator (ASAN_OPTIONS "
			"verify_asan_link_order=0, intercept_tls_get_addr=0); figures are the bytes the program asks for, "
			"without ASan's redzones and quarantine\n",
			cmd[0]);
	char *agent = find_agent();
	if (!agent)
		die(EXIT_USAGE, "cannot find libldprof.so (set LDPROF_AGENT to its path)");

	char cwd[PATH_MAX], outpath[PATH_MAX * 2];
	if (!getcwd(cwd, sizeof cwd))
		die(EXIT_USAGE, "cannot read the working directory: %s", strerror(errno));
	if (out) {
		if (!*out)
			die(EXIT_USAGE, "-o needs a path");
		snprintf(outpath, sizeof outpath, "%s%s%s", out[0] == '/' ? "" : cwd, out[0] == '/' ? "" : "/", out);
	}
	/* Children's files already there (an earlier run's) are not this run's. */
	struct outname on = {0};
	struct fileset before = {0};
	if (out) {
		outname_init(&on, outpath);
		clear_output(&on, outpath, force, quiet);
		child_files(&on, &before, NULL, NULL);
	}

	/* LD_PRELOAD is extended, never replaced: ours first, so our malloc is the
	 * one the program binds to and dlsym(RTLD_NEXT) finds what came after. */
	const char *old = getenv("LD_PRELOAD");
	struct strbuf pre = {0};
	sb_printf(&pre, "%s%s%s", agent, old && *old ? ":" : "", old && *old ? old : "");
	char depth_s[32];
	snprintf(depth_s, sizeof depth_s, "%llu", (unsigned long long)depth);

	int in_place = quiet;
	if (!in_place) {
		signal(SIGINT, SIG_IGN); /* the terminal sends it to the program too */
		signal(SIGQUIT, SIG_IGN);
		struct sigaction sa = {.sa_handler = forward};
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}

	child = in_place ? 0 : fork();
	if (child < 0)
		die(EXIT_USAGE, "fork: %s", strerror(errno));
	if (child == 0) {
		if (!in_place) {
			signal(SIGINT, SIG_DFL);
			signal(SIGQUIT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
		}
		char pid_s[32];
		snprintf(pid_s, sizeof pid_s, "%d", (int)getpid());
		if (!out) {
			const char *slash = strrchr(cmd[0], '/');
			snprintf(outpath, sizeof outpath, "%s/ldprof.%s.%d.ldp", cwd, slash ? slash + 1 : cmd[0],
				 (int)getpid());
		}
		set_env("LDPROF_OUTPUT", outpath);
		set_env("LDPROF_ROOT_PID", pid_s);
		set_env("LDPROF_MODE", mode);
		set_env("LDPROF_MAX_DEPTH", depth_s);
		set_env("LD_PRELOAD", pre.s);
		if (python_malloc)
			set_env("PYTHONMALLOC", "malloc");
		if (pr.asan) {
			/* After the user's options, so that these two hold. ASan checks
			 * that its runtime comes first and aborts when it does not; and
			 * its bookkeeping of dynamic TLS reads the size of a block that
			 * happens to start 16 bytes into a page from the 16 bytes before
			 * it (a header old glibc had): libunwind's TLS block in a thread
			 * of ours was read as 64 GiB, and LeakSanitizer crashed scanning
			 * it at exit. Without that bookkeeping LeakSanitizer still finds
			 * those blocks: the thread's DTV points to them. */
			const char *ao = getenv("ASAN_OPTIONS");
			struct strbuf o = {0};
			sb_printf(&o, "%s%sverify_asan_link_order=0:intercept_tls_get_addr=0", ao && *ao ? ao : "",
				  ao && *ao ? ":" : "");
			set_env("ASAN_OPTIONS", o.s);
			sb_free(&o);
		}
		if (snap_signal)
			set_env("LDPROF_SNAPSHOT_SIGNAL", snap_signal);
		if (cpu_signal)
			set_env("LDPROF_CPU_SIGNAL", cpu_signal);
		if (toggle_signal)
			set_env("LDPROF_TOGGLE_SIGNAL", toggle_signal);
		if (start_paused)
			set_env("LDPROF_START_PAUSED", "1");
		if (control)
			set_env("LDPROF_CONTROL", "1");
		char hz[32];
		snprintf(hz, sizeof hz, "%llu", (unsigned long long)cpu_hz);
		set_env("LDPROF_CPU_HZ", hz);
		snprintf(hz, sizeof hz, "%llu", (unsigned long long)wall_hz);
		set_env("LDPROF_WALL_HZ", hz);
		if (*interval_ms)
			set_env("LDPROF_SNAPSHOT_INTERVAL_MS", interval_ms);
		if (sample_bytes) {
			snprintf(hz, sizeof hz, "%llu", (unsigned long long)sample_bytes);
			set_env("LDPROF_SAMPLE_BYTES", hz);
		}
		if (seed) {
			snprintf(hz, sizeof hz, "%llu", (unsigned long long)seed);
			set_env("LDPROF_SAMPLE_SEED", hz);
		}
		if (max_size) {
			snprintf(hz, sizeof hz, "%llu", (unsigned long long)max_size);
			set_env("LDPROF_MAX_SIZE", hz);
		}
		if (keep) {
			snprintf(hz, sizeof hz, "%llu", (unsigned long long)keep);
			set_env("LDPROF_KEEP", hz);
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "ldprof record: cannot run %s: %s\n", cmd[0], strerror(errno)); /* die() would exit(): not in a fork child */
		_exit(127); /* in place too: the shell's status for a command it cannot run */
	}
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			die(EXIT_USAGE, "waitpid: %s", strerror(errno));
	if (!out) {
		const char *slash = strrchr(cmd[0], '/');
		snprintf(outpath, sizeof outpath, "%s/ldprof.%s.%d.ldp", cwd, slash ? slash + 1 : cmd[0], (int)child);
		outname_init(&on, outpath);
	}
	if (!quiet) {
		size_t cl = strlen(cwd);
		const char *shown = out ? out : !strncmp(outpath, cwd, cl) && outpath[cl] == '/' ? outpath + cl + 1 : outpath;
		say_where(outpath, shown, &on, &before);
	}
	free(on.dir);
	free(on.base);
	free(before.v);
	free(agent);
	sb_free(&pre);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
