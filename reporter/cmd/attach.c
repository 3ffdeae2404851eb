/*
 * attach.c - `ldprof attach PID` and `ldprof detach PID`.
 *
 * attach: check what can be checked first (the process exists, gdb is
 * there, ptrace is allowed, the program is dynamically linked, the agent
 * is not in it yet), write the settings into a file in the private control
 * directory, and have gdb in batch mode stop the process at the entry of
 * malloc or free (so no allocator lock is held by the stopped thread, as
 * memray does), call dlopen on the agent and ldprof_attach(SETTINGS) by
 * hand (general registers only: see the script), and detach
 * (agent/attach.c does the rest). A call that faults stops there and the
 * thread is put back as it was stopped, so the process never dies of an
 * attach that failed. A process that allocates nothing for --wait seconds
 * is left as it was (a timer in gdb's Python interrupts the wait; the
 * breakpoints go with the detach).
 *
 * detach: `ldprof ctl PID detach` (agent/control.c).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof attach [OPTIONS] PID\n"
		   "       ldprof detach PID\n"
		   "\n"
		   "  Start recording a running, dynamically linked process (with gdb: ptrace must be\n"
		   "  allowed). Blocks allocated before the attach are unknown: their frees are counted\n"
		   "  as \"freed before attach\"; the report covers the time from the attach on.\n"
		   "\n"
		   "  -o, --output PATH   trace file, written by the process itself\n"
		   "                      (default ldprof.<program>.<pid>.ldp here)\n"
		   "      --mode MODE     sampled (default) or full\n"
		   "      --sample-bytes SIZE  sampled mode: mean bytes between samples (default 512KiB)\n"
		   "      --duration SEC  record SEC seconds, then detach (default: until ldprof detach\n"
		   "                      PID, or the process ends)\n"
		   "      --wait SEC      give up when the process calls neither malloc nor free for SEC\n"
		   "                      seconds (default 30)\n"
		   "  -q, --quiet         do not print where the trace goes\n");
}

static int gdb_path(char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char *copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;
	int rc = -1;
	for (char *d = strtok_r(copy, ":", &save); d && rc; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, cap, "%s/gdb", *d ? d : ".");
		if (access(out, X_OK) == 0)
			rc = 0;
	}
	free(copy);
	return rc;
}

/* The checks gdb would fail on less clearly. Dies with one line. */
static void check_target(pid_t pid, uid_t uid)
{
	/* Yama: 0 classic, 1 only descendants (or CAP_SYS_PTRACE), 2 admin only, 3 none. */
	int scope = 0;
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = 0;
		fclose(f);
	}
	if (scope >= 3)
		die(EXIT_USAGE, "ptrace is disabled on this system (kernel.yama.ptrace_scope=3): nothing can attach");
	if (scope >= 1 && geteuid() != 0)
		die(EXIT_USAGE,
		    "kernel.yama.ptrace_scope=%d lets only %s attach to process %d: run ldprof attach as root, or "
		    "start the program under ldprof record",
		    scope, scope == 1 ? "root or its parent" : "root", (int)pid);
	if (uid != geteuid() && geteuid() != 0)
		die(EXIT_USAGE, "process %d belongs to another user (uid %u): only that user or root may attach", (int)pid,
		    (unsigned)uid);

	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(EXIT_USAGE, "cannot read process %d's executable: %s", (int)pid, strerror(errno));
	Elf64_Ehdr eh;
	int dynamic = 0, elf = 0;
	if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
		elf = 1;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
				break;
			if (ph.p_type == PT_INTERP)
				dynamic = 1;
		}
	}
	close(fd);
	if (elf && !dynamic)
		die(EXIT_USAGE, "process %d is statically linked: there is no dlopen to load the agent with, nothing to "
				"attach to",
		    (int)pid);

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		die(EXIT_USAGE, "cannot read process %d's memory map: %s", (int)pid, strerror(errno));
	char line[4096];
	int libc = 0, agent = 0;
	while (fgets(line, sizeof line, f)) {
		if (strstr(line, "/libc.so.6"))
			libc = 1;
		if (strstr(line, "/libldprof.so"))
			agent = 1;
	}
	fclose(f);
	if (agent)
		die(EXIT_USAGE,
		    "process %d already has the agent (recorded with ldprof record, or attached before; once "
		    "detached it stays loaded and off): use ldprof ctl %d status",
		    (int)pid, (int)pid);
	if (!libc)
		die(EXIT_USAGE, "process %d does not use glibc's libc.so.6: ldprof cannot attach to it", (int)pid);
}

static void write_file(const char *path, const char *text, uid_t uid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die(EXIT_USAGE, "cannot write %s: %s", path, strerror(errno));
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n)
		die(EXIT_USAGE, "cannot write %s: %s", path, strerror(errno));
	if (uid != geteuid() && fchown(fd, uid, (gid_t)-1) != 0)
		die(EXIT_USAGE, "cannot give %s to uid %u: %s", path, (unsigned)uid, strerror(errno));
	close(fd);
}

/* gdb's double-quoted string: the paths are ours (no quote, no newline). */
static void check_quotable(const char *s)
{
	if (strpbrk(s, "\"\\\n"))
		die(EXIT_USAGE, "path %s has a quote, backslash or newline: gdb cannot be given it", s);
}

/* Run gdb, collect its output. @return its output; *timed_out: the script's
 * timer interrupted the wait for malloc or free. */
static char *run_gdb(const char *gdb, pid_t pid, const char *script, int *timed_out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die(EXIT_USAGE, "pipe: %s", strerror(errno));
	char pid_s[32];
	snprintf(pid_s, sizeof pid_s, "%d", (int)pid);
	pid_t g = fork();
	if (g < 0)
		die(EXIT_USAGE, "fork: %s", strerror(errno));
	if (g == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		setpgid(0, 0); /* a ^C at the terminal must not cut gdb short with the process stopped */
		execl(gdb, "gdb", "-q", "-nx", "-batch", "-p", pid_s, "-x", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	struct strbuf out = {0};
	for (;;) {
		struct pollfd pf = {p[0], POLLIN, 0};
		int r = poll(&pf, 1, -1);
		if (r > 0) {
			char buf[4096];
			ssize_t n = read(p[0], buf, sizeof buf);
			if (n <= 0)
				break;
			sb_printf(&out, "%.*s", (int)n, buf);
		}
	}
	close(p[0]);
	int status;
	while (waitpid(g, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !strstr(out.s ? out.s : "", "LDPROF-"))
		die(EXIT_USAGE, "cannot run %s", gdb);
	*timed_out = out.s && strstr(out.s, "LDPROF-NOT-STOPPED") != NULL;
	return out.s ? out.s : xstrdup("");
}

static const char *after(const char *text, const char *tag)
{
	const char *p = strstr(text, tag);
	return p ? p + strlen(tag) : NULL;
}

static void explain_gdb_failure(pid_t pid, const char *out, int timed_out)
{
	if (strstr(out, "ptrace: Operation not permitted") || strstr(out, "Could not attach"))
		die(EXIT_USAGE,
		    "not allowed to attach to process %d (ptrace refused: another user, a setuid program, "
		    "kernel.yama.ptrace_scope, or a container without CAP_SYS_PTRACE)",
		    (int)pid);
	if (strstr(out, "No such process"))
		die(EXIT_USAGE, "process %d ended before gdb could attach", (int)pid);
	if (strstr(out, "exited normally") || strstr(out, "exited with code") || strstr(out, "terminated with signal") ||
	    kill(pid, 0) != 0)
		die(EXIT_USAGE, "process %d exited during the attach; nothing was recorded", (int)pid);
	if (timed_out)
		die(EXIT_USAGE,
		    "process %d called neither malloc nor free within the wait: left as it was, nothing recorded "
		    "(try again, or a longer --wait)",
		    (int)pid);
	const char *last = strrchr(out, '\n');
	die(EXIT_USAGE, "gdb could not load the agent into process %d%s%s", (int)pid, last ? ": " : "",
	    last ? out : "");
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},   {"mode", required_argument, 0, 'm'},
		{"duration", required_argument, 0, 'D'}, {"wait", required_argument, 0, 'w'},
		{"sample-bytes", required_argument, 0, 'B'}, {"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
	};
	const char *out = NULL, *mode = "sampled";
	double duration = 0;
	uint64_t wait_s = 30, sample_bytes = 0;
	int quiet = 0, c;
	while ((c = getopt_long(argc, argv, "+o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'm':
			if (strcmp(optarg, "full") && strcmp(optarg, "sampled"))
				die(EXIT_USAGE, "--mode must be sampled or full, not '%s'", optarg);
			mode = optarg;
			break;
		case 'D': {
			char *end;
			duration = strtod(optarg, &end);
			if (end == optarg || *end || duration <= 0 || duration > 86400 * 365)
				die(EXIT_USAGE, "--duration needs seconds above 0, not '%s'", optarg);
			break;
		}
		case 'w':
			if (parse_uint(optarg, 3600, &wait_s) || !wait_s)
				die(EXIT_USAGE, "--wait needs seconds in 1..3600, not '%s'", optarg);
			break;
		case 'B':
			if (parse_size(optarg, &sample_bytes) || sample_bytes == 0 || sample_bytes > (1u << 30))
				die(EXIT_USAGE, "--sample-bytes needs a size in 1..1GiB such as 512KiB, not '%s'", optarg);
			break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sample_bytes && strcmp(mode, "sampled"))
		die(EXIT_USAGE, "--sample-bytes needs --mode sampled");
	pid_t pid;
	if (ctl_parse_pid(argv[optind], &pid))
		die(EXIT_USAGE, "'%s' is not a process id", argv[optind]);
	uid_t uid;
	if (ctl_target_uid(pid, &uid) != 0)
		die(EXIT_USAGE, "no process %d", (int)pid);
	char gdb[PATH_MAX];
	if (gdb_path(gdb, sizeof gdb) != 0)
		die(EXIT_USAGE, "gdb is not installed (apt install gdb): ldprof attach loads the agent with it");
	check_target(pid, uid);
	char *agent = find_agent();
	if (!agent)
		die(EXIT_USAGE, "cannot find libldprof.so (set LDPROF_AGENT to its path)");

	char cwd[PATH_MAX], outpath[PATH_MAX * 2];
	if (!getcwd(cwd, sizeof cwd))
		die(EXIT_USAGE, "cannot read the working directory: %s", strerror(errno));
	if (out && !*out)
		die(EXIT_USAGE, "-o needs a path");
	if (out)
		snprintf(outpath, sizeof outpath, "%s%s%s", out[0] == '/' ? "" : cwd, out[0] == '/' ? "" : "/", out);
	else
		snprintf(outpath, sizeof outpath, "%s/ldprof.%%e.%%p.ldp", cwd);
	check_quotable(agent);
	check_quotable(outpath);

	char dir[256];
	if (ctl_dir(uid, dir, sizeof dir, 1) != 0)
		die(EXIT_USAGE, "cannot make a private directory for process %d's settings (%s must be 0700 and its own)",
		    (int)pid, dir);
	char settings[512], script[512];
	snprintf(settings, sizeof settings, "%s/attach-%d.conf", dir, (int)pid);
	snprintf(script, sizeof script, "%s/attach-%d.gdb", dir, (int)pid);
	struct strbuf s = {0};
	sb_printf(&s, "LDPROF_OUTPUT=%s\nLDPROF_MODE=%s\nLDPROF_CONTROL=1\n", outpath, mode);
	if (sample_bytes)
		sb_printf(&s, "LDPROF_SAMPLE_BYTES=%llu\n", (unsigned long long)sample_bytes);
	write_file(settings, s.s, uid);
	sb_free(&s);

	/* The agent is loaded from the entry of malloc or free: the stopped
	 * thread holds no allocator lock there. The calls are made by hand, not
	 * with gdb's own call: that one saves and restores every register of
	 * the thread, the XSAVE area too, and gdb 13 cannot write that area
	 * back where the kernel's is larger than it expects (AMX: "Couldn't
	 * write extended state status", then gdb itself crashed). At a
	 * function's entry the vector registers are the caller's to lose (the
	 * ABI makes them all caller-saved), so the general registers are all
	 * there is to save and restore: the strings and a return address go
	 * below the stack pointer, the return comes back to the breakpoint's
	 * address (stopped there by a breakpoint that only this frame's return
	 * meets), and the thread leaves as it was stopped. Signals the program
	 * gets meanwhile go to it; a fault in a call stops it, and the thread is
	 * put back as it was (what unwindonsignal did). */
	struct strbuf g = {0};
	sb_printf(&g,
		  "set pagination off\n"
		  "set confirm off\n"
		  "set auto-solib-add on\n"
		  "break malloc\n"
		  "break free\n"
		  "python\n"
		  "import threading\n"
		  "ldp_state = {'stopped': False}\n"
		  "def ldp_timeout():\n"
		  "    if not ldp_state['stopped']:\n"
		  "        gdb.execute('interrupt')\n"
		  /* A process that calls neither is left alone after wait_s: the
		   * interrupt runs in gdb's own loop, never after its detach. */
		  "ldp_timer = threading.Timer(%llu, lambda: gdb.post_event(ldp_timeout))\n"
		  "ldp_timer.start()\n"
		  "end\n"
		  "continue\n"
		  "python\n"
		  "ldp_state['stopped'] = True\n"
		  "AGENT = \"%s\"\n"
		  "SETTINGS = \"%s\"\n"
		  "ldp_timer.cancel()\n"
		  "inf = gdb.selected_inferior()\n"
		  "ulong = gdb.lookup_type('unsigned long')\n"
		  "def reg(r):\n"
		  "    v = gdb.parse_and_eval('$' + r)\n"
		  "    return int(v) & 0xffffffffffffffff if r == 'eflags' else int(v.cast(ulong))\n"
		  "def addr(sym):\n"
		  "    return int(gdb.parse_and_eval('(unsigned long)&' + sym))\n"
		  "class Failed(Exception):\n"
		  "    pass\n"
		  "REGS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13',\n"
		  "        'r14', 'r15', 'eflags', 'rsp', 'pc']\n"
		  "if not any(b.hit_count for b in gdb.breakpoints()):\n"
		  "    print('LDPROF-NOT-STOPPED')\n"
		  "    gdb.execute('delete')\n"
		  "else:\n"
		  "    gdb.execute('delete')\n"
		  "    gdb.execute('handle all nostop noprint pass')\n"
		  "    gdb.execute('handle SIGSEGV SIGBUS SIGILL SIGFPE SIGABRT stop print nopass')\n"
		  "    saved = [(r, reg(r)) for r in REGS]\n"
		  "    pc0, sp0 = reg('pc'), reg('rsp')\n"
		  "    strs = {}\n"
		  "    at = sp0 - 256\n"
		  "    for s in (AGENT, SETTINGS, 'ldprof_attach'):\n"
		  "        b = s.encode() + b'\\0'\n"
		  "        at -= len(b)\n"
		  "        inf.write_memory(at, b)\n"
		  "        strs[s] = at\n"
		  "    call_sp = (at - 256) & ~15\n"
		  "    def call(fn, *args):\n"
		  "        inf.write_memory(call_sp - 8, pc0.to_bytes(8, 'little'))\n"
		  "        for r, v in zip(('rdi', 'rsi'), args):\n"
		  "            gdb.execute('set $' + r + ' = ' + str(v))\n"
		  "        gdb.execute('set $rax = 0')\n"
		  "        gdb.execute('set $rsp = ' + str(call_sp - 8))\n"
		  "        gdb.execute('set $pc = ' + str(fn))\n"
		  "        back = gdb.Breakpoint('*' + str(pc0), internal=True)\n"
		  "        back.condition = '$rsp == ' + str(call_sp)\n"
		  "        try:\n"
		  "            gdb.execute('continue')\n"
		  "        finally:\n"
		  "            if back.is_valid():\n"
		  "                back.delete()\n"
		  "        if not inf.is_valid() or inf.pid == 0 or not inf.threads():\n"
		  "            raise Failed('exited')\n"
		  "        if reg('pc') != pc0 or reg('rsp') != call_sp:\n"
		  "            raise Failed('stopped')\n"
		  "        return reg('rax')\n"
		  "    alive = True\n"
		  "    try:\n"
		  "        h = call(addr('dlopen'), strs[AGENT], 2)\n"
		  "        print('LDPROF-DLOPEN ' + str(h))\n"
		  "        if h == 0:\n"
		  "            e = call(addr('dlerror'))\n"
		  "            print('LDPROF-DLERROR ' + (gdb.parse_and_eval('(char *)' + str(e)).string() if e else '?'))\n"
		  "        else:\n"
		  "            f = call(addr('dlsym'), h, strs['ldprof_attach'])\n"
		  "            if f == 0:\n"
		  "                print('LDPROF-DLERROR the agent has no ldprof_attach')\n"
		  "            else:\n"
		  "                rc = call(f, strs[SETTINGS]) & 0xffffffff\n"
		  "                print('LDPROF-RESULT ' + str(rc - (1 << 32) if rc >> 31 else rc))\n"
		  "    except Failed as why:\n"
		  "        alive = str(why) != 'exited'\n"
		  "        print('LDPROF-CALL-FAILED ' + str(why))\n"
		  "    if alive:\n"
		  "        for r, v in saved:\n"
		  "            gdb.execute('set $' + r + ' = ' + str(v))\n"
		  "end\n"
		  "detach\n"
		  "quit\n",
		  (unsigned long long)wait_s, agent, settings);
	write_file(script, g.s, geteuid());
	sb_free(&g);

	int timed_out;
	char *text = run_gdb(gdb, pid, script, &timed_out);
	unlink(script);
	unlink(settings);
	const char *res = after(text, "LDPROF-RESULT ");
	const char *dlerr = after(text, "LDPROF-DLERROR ");
	if (dlerr)
		die(EXIT_USAGE, "process %d could not load the agent: %.*s", (int)pid, (int)strcspn(dlerr, "\n"), dlerr);
	if (!res)
		explain_gdb_failure(pid, text, timed_out);
	int code = atoi(res);
	static const char *const why[] = {
		NULL,
		"the agent is already running in it",
		"the agent could not read its settings file",
		"the agent could not start (its reason is on the program's stderr)",
		"none of its malloc-family calls goes to libc's malloc (its own allocator?)",
		"it was attached before and detached: attaching again is not supported",
	};
	if (code != 0)
		die(EXIT_USAGE, "process %d: %s", (int)pid,
		    code > 0 && code < (int)(sizeof why / sizeof *why) ? why[code] : "the agent refused");
	free(text);
	free(agent);

	char reply[4200];
	const char *trace = NULL;
	if (ctl_send(pid, "status", reply, sizeof reply) == 0 && !strncmp(reply, "ok ", 3))
		trace = strchr(reply + 3, '/');
	else if (kill(pid, 0) != 0)
		die(EXIT_USAGE, "process %d exited during the attach (it was stopped on its way out); its trace, if any, "
				"holds its last moment",
		    (int)pid);
	if (!quiet)
		fprintf(stderr, "ldprof: attached to process %d (%s mode), recording into %s\n", (int)pid, mode,
			trace ? trace : outpath);
	if (duration <= 0) {
		if (!quiet)
			fprintf(stderr, "ldprof: stop with: ldprof detach %d\n", (int)pid);
		return EXIT_OK;
	}
	struct timespec ts = {(time_t)duration, (long)((duration - (double)(time_t)duration) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	if (ctl_send(pid, "detach", reply, sizeof reply) != 0) {
		if (kill(pid, 0) != 0) {
			if (!quiet)
				fprintf(stderr, "ldprof: process %d ended before --duration; its trace is complete\n", (int)pid);
			return EXIT_OK;
		}
		ctl_die(pid, errno);
	}
	if (strncmp(reply, "ok", 2))
		die(EXIT_BAD_TRACE, "process %d: %s", (int)pid, reply);
	if (!quiet)
		fprintf(stderr, "ldprof: detached from process %d; trace written to %s\n", (int)pid, trace ? trace : outpath);
	return EXIT_OK;
}

int cmd_detach(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc == 2 ? stdout : stderr);
		return argc == 2 ? EXIT_OK : EXIT_USAGE;
	}
	pid_t pid;
	if (ctl_parse_pid(argv[1], &pid))
		die(EXIT_USAGE, "'%s' is not a process id", argv[1]);
	char reply[4200];
	if (ctl_send(pid, "detach", reply, sizeof reply) != 0)
		ctl_die(pid, errno);
	if (strncmp(reply, "ok", 2))
		die(EXIT_BAD_TRACE, "process %d: %s", (int)pid, reply);
	fprintf(stderr, "ldprof: detached from process %d; it runs on\n", (int)pid);
	return EXIT_OK;
}
