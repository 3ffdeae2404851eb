/*
 * top.c - `ldprof top TRACE` / `ldprof top --pid PID`: follow a trace still
 * being written and show, refreshing in the terminal like top(1), the live
 * heap, its growth, the top sites by live bytes and the CPU split of the
 * last seconds. Plain ANSI escapes and termios: works over ssh and in tmux.
 * Exits on `q`, or by itself when the traced image ends (after a last
 * screen). Wiring only: read (rd_follow_file) -> model/live -> render/top.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "model/live.h"
#include "read/trace.h"
#include "render/top.h"
#include "util/util.h"

static const char usage_text[] =
	"usage: ldprof top [--interval SEC] [--window SEC] TRACE\n"
	"       ldprof top [--interval SEC] [--window SEC] --pid PID\n"
	"  follow a trace being written; show the live heap, its growth, the top sites\n"
	"  by live bytes and the CPU split of the last --window seconds (default 5),\n"
	"  every --interval seconds (default 1). q quits; ends with the traced program.\n"
	"  --pid finds the trace the agent in process PID writes.\n";

struct top {
	struct live_model m;
	int tty;            /* stdout is a terminal: redraw in place */
	int keys;           /* stdin is a terminal: read keys */
	struct termios saved;
	uint64_t interval_ns, last_draw_ns;
	int quit;
	int gone; /* the process was seen gone: one more read to the end of the file */
};

static volatile sig_atomic_t interrupted;
static struct top *restore_on_exit;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void terminal_restore(void)
{
	struct top *t = restore_on_exit;
	if (!t)
		return;
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	if (t->tty)
		fputs("\033[?25h", stdout); /* the cursor back */
	fflush(stdout);
	restore_on_exit = NULL;
}

static void draw(struct top *t)
{
	unsigned width = 100, height = 30;
	struct winsize ws;
	if (t->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		width = ws.ws_col;
		height = ws.ws_row;
	}
	struct live_view v;
	live_view(&t->m, &v, height);
	struct top_header h = {.pid = t->m.seg.pid,
			       .cmdline = t->m.in_segment ? t->m.seg.cmdline : "",
			       .state = t->m.ended ? t->m.end_name : "running"};
	struct strbuf b = {0};
	render_top(&b, &h, &v, width, height);
	live_view_free(&v);
	if (t->tty) {
		/* Home, each line cleared to its end, the rest of the screen cleared. */
		fputs("\033[H", stdout);
		for (char *p = b.s, *nl; p && *p; p = nl + 1) {
			nl = strchr(p, '\n');
			fwrite(p, 1, (size_t)(nl - p), stdout);
			fputs("\033[K\n", stdout);
		}
		fputs("\033[J", stdout);
	} else {
		fputs(b.s ? b.s : "", stdout);
		fputs("\n", stdout);
	}
	fflush(stdout);
	sb_free(&b);
	t->last_draw_ns = mono_ns();
}

/* The reader is at the end of the file: draw when it is time, look at the
 * keyboard for a moment, and say whether to wait for more. */
static int caught_up(void *ctx)
{
	struct top *t = ctx;
	if (t->m.ended || interrupted || t->quit)
		return 0;
	if (t->m.in_segment && !rd_segment_running(&t->m.seg)) {
		/* Its last round and END may have been written after the reader
		 * reached the end of the file and before the process was gone:
		 * read once more. Still no END: gone without one (killed) or not on
		 * this host, and what is there is all. */
		if (!t->gone) {
			t->gone = 1;
			return 1;
		}
		snprintf(t->m.end_name, sizeof t->m.end_name, "not running here");
		t->m.ended = 1;
		return 0;
	}
	if (mono_ns() - t->last_draw_ns >= t->interval_ns)
		draw(t);
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	if (t->keys && poll(&p, 1, 100) == 1) {
		char c;
		if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
			t->quit = 1;
	} else if (!t->keys) {
		struct timespec ms = {0, 100 * 1000000};
		nanosleep(&ms, NULL);
	}
	return !t->quit && !interrupted;
}

/* The trace the agent in process pid writes: the file its writer thread
 * holds (the writer keeps it in an fd table of its own, seen under
 * /proc/PID/task/TID/fd). A later part is followed from part 0's name. */
static char *trace_of_pid(long pid)
{
	char dir[64], path[4096], link[4096];
	snprintf(dir, sizeof dir, "/proc/%ld/task", pid);
	DIR *d = opendir(dir);
	if (!d)
		die(EXIT_USAGE, "no process %ld (%s)", pid, strerror(errno));
	char *found = NULL;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char comm[64] = "";
		snprintf(path, sizeof path, "%s/%s/comm", dir, e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, "ldprof-writer", 13))
			continue;
		snprintf(path, sizeof path, "%s/%s/fd", dir, e->d_name);
		DIR *fds = opendir(path);
		if (!fds)
			die(EXIT_USAGE, "process %ld: cannot look at its trace (%s): run as its user or root", pid,
			    strerror(errno));
		struct dirent *fe;
		while (!found && (fe = readdir(fds))) {
			char fdpath[4096 + 300];
			snprintf(fdpath, sizeof fdpath, "%s/%s", path, fe->d_name);
			ssize_t n = readlink(fdpath, link, sizeof link - 1);
			if (n <= 0 || link[0] != '/')
				continue;
			link[n] = '\0';
			found = xstrdup(link);
		}
		closedir(fds);
	}
	closedir(d);
	if (!found)
		die(EXIT_USAGE, "process %ld is not traced by ldprof (no ldprof-writer thread with a trace open)", pid);
	/* part k (app.k.ldp) -> part 0's name (app.ldp), when that is how it is named */
	struct rd_parts ps;
	rd_parts_find(found, &ps);
	if (ps.rotated && ps.first > 0) {
		char suffix[24];
		int sl = snprintf(suffix, sizeof suffix, ".%u", ps.first);
		char *slash = strrchr(found, '/');
		char *dot = strrchr(slash ? slash + 1 : found, '.');
		size_t ext = dot ? (size_t)(dot - found) : strlen(found);
		if (ext >= (size_t)sl && !strncmp(found + ext - sl, suffix, (size_t)sl))
			memmove(found + ext - sl, found + ext, strlen(found + ext) + 1);
	}
	rd_parts_free(&ps);
	return found;
}

static double seconds_arg(const char *s, const char *name)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || v < 0.1 || v > 3600)
		die(EXIT_USAGE, "%s needs seconds between 0.1 and 3600, not '%s'", name, s);
	return v;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {{"pid", required_argument, 0, 'p'},
					     {"interval", required_argument, 0, 'i'},
					     {"window", required_argument, 0, 'w'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	long pid = 0;
	double interval = 1, window = 5;
	int c;
	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			char *end;
			pid = strtol(optarg, &end, 10);
			if (end == optarg || *end || pid <= 0)
				die(EXIT_USAGE, "--pid needs a process id, not '%s'", optarg);
			break;
		}
		case 'i': interval = seconds_arg(optarg, "--interval"); break;
		case 'w': window = seconds_arg(optarg, "--window"); break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if ((pid && optind != argc) || (!pid && optind != argc - 1)) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	char *path = pid ? trace_of_pid(pid) : xstrdup(argv[optind]);

	struct top t = {.interval_ns = (uint64_t)(interval * 1e9)};
	live_init(&t.m, (uint64_t)(window * 1e6));
	t.tty = isatty(STDOUT_FILENO);
	t.keys = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t.saved) == 0;
	restore_on_exit = &t;
	atexit(terminal_restore);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (t.keys) {
		struct termios raw = t.saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	if (t.tty)
		fputs("\033[?25l\033[H\033[2J", stdout); /* no cursor, a clean screen */

	struct rd_visitor v = live_visitor(&t.m);
	struct rd_follow f = {caught_up, &t};
	struct rd_stats st;
	struct rd_error err;
	int rc = rd_follow_file(path, &v, &f, &st, &err);
	draw(&t); /* the last screen stays */
	terminal_restore();
	live_fini(&t.m);
	free(path);
	if (rc)
		die(EXIT_BAD_TRACE, "%s", err.msg);
	return EXIT_OK;
}
