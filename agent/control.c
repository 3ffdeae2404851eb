/*
 * control.c - switching recording on and off at run time, and detaching.
 *
 * Pause: allocations stop being recorded (LDP_HEAP_ALLOCS cleared, so the
 * malloc path costs what mode off costs); frees of blocks recorded before
 * are still recorded, so nothing recorded looks live when it is not.
 * Three holders, any of which keeps it paused: ldprof_pause() (nested, one
 * depth), the external switch (`ldprof ctl PID pause|resume`, the toggle
 * signal) and LDPROF_START_PAUSED (the external switch, set at start). Each
 * change of the effective state is a PAUSE record placed by seq: a pause
 * takes its seq before the flag clears, so every unrecorded allocation (and
 * its free) comes after the mark; a resume after the flag is set. The
 * reader counts a free of a block it never saw, after a pause began, as
 * "allocated while paused", not as an unknown free (docs/ATTACH.md).
 *
 * The toggle signal's handler only counts; the writer's tick flips the
 * switch (the handler may not take the pause lock or a barrier).
 *
 * `ldprof ctl`: a control thread (LDPROF_CONTROL=1, and always when
 * attached) serves a Unix socket DIR/PID.sock, DIR being
 * $XDG_RUNTIME_DIR/ldprof or /tmp/ldprof-UID, 0700 and ours (checked). The
 * thread has all signals blocked and an fd table of its own (unshare), like
 * the writer: the program's fds and signals are never touched, and a
 * program that closes every fd cannot close the socket. One line per
 * connection, one line back: "pause", "resume", "snapshot LABEL",
 * "status", "detach"; only a peer of our uid (or root) is served.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "ldprof.h"
#include "log.h"
#include "prim.h"

/* ---- pause and resume ---- */

static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static int api_depth;  /* ldprof_pause() calls not yet resumed */
static int external;   /* ctl / toggle signal / start paused */
static int paused_now; /* the effective state, as last marked */

static int recording(void)
{
	return atomic_load(&ldp_state) == LDP_STATE_READY && atomic_load(&ldp_heap_on) && getpid() == ldp_pid;
}

/* Under pause_lock: make the flags and the trace follow the holders. */
static void apply(unsigned cause)
{
	int want = api_depth > 0 || external;
	if (want == paused_now)
		return;
	paused_now = want;
	ldp_self.busy++;
	if (want) {
		ldp_snapshot_request(LDP_SNAP_MARK | 0x10 | cause, NULL);
		atomic_fetch_and(&ldp_heap_on, ~LDP_HEAP_ALLOCS);
	} else {
		atomic_fetch_or(&ldp_heap_on, LDP_HEAP_ALLOCS);
		if (atomic_load(&ldp_state) != LDP_STATE_READY)
			atomic_store(&ldp_heap_on, 0); /* turned off meanwhile: stay off */
		ldp_snapshot_request(LDP_SNAP_MARK | cause, NULL);
	}
	ldp_self.busy--;
}

/* ldprof_pause()/ldprof_resume(): nested, one holder of the pause. */
static int pause_api(int pause)
{
	pthread_mutex_lock(&pause_lock);
	int ok = recording();
	if (ok) {
		if (pause)
			api_depth++;
		else if (api_depth > 0)
			api_depth--;
		apply(LDP_PAUSE_API);
	}
	pthread_mutex_unlock(&pause_lock);
	return ok ? 0 : -1;
}

/* Public API (include/ldprof.h; snapshot.c has the rest): not from inside the agent. */
LDP_EXPORT int ldprof_pause(void)
{
	return ldp_self.busy ? -1 : pause_api(1);
}

LDP_EXPORT int ldprof_resume(void)
{
	return ldp_self.busy ? -1 : pause_api(0);
}

int ldp_pause_external(int pause, unsigned cause)
{
	pthread_mutex_lock(&pause_lock);
	int ok = recording();
	if (ok) {
		external = pause;
		apply(cause);
	}
	pthread_mutex_unlock(&pause_lock);
	return ok ? 0 : -1;
}

int ldp_control_heap_flags(void)
{
	if (ldp_cfg.mode == LDP_MODE_OFF)
		return 0;
	return LDP_HEAP_ALL;
}

/* ---- the toggle signal ---- */

static _Atomic uint32_t toggles_seen;
static uint32_t toggles_taken;

static void on_toggle(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&toggles_seen, 1, memory_order_relaxed); /* async-signal-safe */
}

void ldp_control_tick(void)
{
	uint32_t seen = atomic_load_explicit(&toggles_seen, memory_order_relaxed);
	for (; toggles_taken != seen; toggles_taken++) {
		pthread_mutex_lock(&pause_lock);
		int pause = !external;
		pthread_mutex_unlock(&pause_lock);
		ldp_pause_external(pause, LDP_PAUSE_SIGNAL);
	}
}

static void toggle_signal_init(void)
{
	int sig = ldp_cfg.toggle_signal;
	if (!sig)
		return;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_toggle;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
		ldp_warn("signal %d already has a handler; no toggle signal", sig);
		return;
	}
	if (sigaction(sig, &sa, NULL) != 0)
		ldp_warn("cannot install the toggle signal %d", sig);
}

/* ---- detach ---- */

static pthread_mutex_t detach_lock = PTHREAD_MUTEX_INITIALIZER;

int ldp_detach(void)
{
	pthread_mutex_lock(&detach_lock);
	int ok = atomic_load(&ldp_state) == LDP_STATE_READY && getpid() == ldp_pid;
	if (ok) {
		ldp_self.busy++;
		atomic_store(&ldp_heap_on, 0); /* nothing more is recorded */
		if (ldp_cfg.attached)
			ldp_attach_restore();
		ldp_writer_flush(LDP_END_DETACHED, 2000);
		atomic_store(&ldp_state, LDP_STATE_OFF);
		ldp_self.busy--;
	}
	pthread_mutex_unlock(&detach_lock);
	return ok ? 0 : -1;
}

/* ---- the control socket ---- */

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int sock_bound;

static const char *env_of_process(const char *name)
{
	extern char **environ;
	size_t len = strlen(name);
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

/* A directory only we can enter: made 0700 if absent, refused if it is not
 * ours or others may enter it. @return 0 or -1. */
static int private_dir(const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -1;
	return 0;
}

/* DIR/PID.sock in the first private directory that works. */
static int choose_path(char *out, size_t cap)
{
	char dir[256];
	const char *xdg = env_of_process("XDG_RUNTIME_DIR");
	if (xdg && xdg[0] == '/' && strlen(xdg) < 200) {
		ldp_format(dir, sizeof dir, "%s/ldprof", xdg);
		if (private_dir(dir) == 0 && ldp_format(out, cap, "%s/%d.sock", dir, ldp_pid) < cap - 1)
			return 0;
	}
	ldp_format(dir, sizeof dir, "/tmp/ldprof-%u", (unsigned)geteuid());
	if (private_dir(dir) == 0 && ldp_format(out, cap, "%s/%d.sock", dir, ldp_pid) < cap - 1)
		return 0;
	return -1;
}

static void reply(int c, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = send(c, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* One command line; @return 1 when the thread should end (detached). */
static int serve_line(int c, char *line)
{
	char out[LDP_PATH_CAP + 64];
	if (!strcmp(line, "pause") || !strcmp(line, "resume")) {
		int rc = ldp_pause_external(line[0] == 'p', LDP_PAUSE_CONTROL);
		reply(c, rc ? "error: not recording\n" : "ok\n");
	} else if (!strncmp(line, "snapshot", 8) && (line[8] == ' ' || !line[8])) {
		const char *label = line[8] ? line + 9 : "";
		int rc = recording() ? ldp_snapshot_request(LDP_SNAP_CONTROL, *label ? label : "snapshot") : -1;
		reply(c, rc ? "error: not recording\n" : "ok\n");
	} else if (!strcmp(line, "status")) {
		pthread_mutex_lock(&pause_lock);
		int p = paused_now;
		pthread_mutex_unlock(&pause_lock);
		ldp_format(out, sizeof out, "ok %s %s %s\n", recording() ? (p ? "paused" : "recording") : "off",
			   ldp_cfg.attached ? "attached" : "preloaded", ldp_trace_path);
		reply(c, out);
	} else if (!strcmp(line, "detach")) {
		int rc = ldp_detach();
		reply(c, rc ? "error: not recording\n" : "ok\n");
		return rc == 0;
	} else {
		reply(c, "error: unknown command (pause, resume, snapshot LABEL, status, detach)\n");
	}
	return 0;
}

static int serve_one(int c)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || (cred.uid != geteuid() && cred.uid != 0)) {
		reply(c, "error: not your process\n");
		return 0;
	}
	struct timeval tv = {2, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char line[256];
	size_t n = 0;
	while (n < sizeof line - 1) {
		ssize_t r = recv(c, line + n, sizeof line - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	return serve_line(c, line);
}

static void *control_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	ldp_self.busy = 1; /* nothing this thread does is traced */
	prctl(PR_SET_NAME, (unsigned long)"ldprof-control", 0UL, 0UL, 0UL);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		int done = serve_one(c);
		close(c);
		if (done)
			break;
	}
	unlink(sock_path);
	sock_bound = 0;
	close(fd);
	return NULL;
}

/* The socket is made in the control thread's own fd table: the program
 * never sees it, cannot close it, and its fd numbers stay as they were. */
struct control_start {
	_Atomic int word; /* 0 waiting, 1 listening, 2 failed */
};

static void *control_entry(void *arg)
{
	struct control_start *st = arg;
	ldp_self.busy = 1;
	int fd = -1;
	if (syscall(SYS_unshare, CLONE_FILES) == 0) {
		syscall(SYS_close_range, 0u, ~0u, 0u);
		ldp_log_private_fds(ldp_pid);
	}
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(sock_path); /* an earlier process of this pid left it */
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0) {
		if (fd >= 0)
			close(fd);
		atomic_store(&st->word, 2);
		return NULL;
	}
	chmod(sock_path, 0600);
	sock_bound = 1;
	atomic_store(&st->word, 1);
	return control_main((void *)(intptr_t)fd);
}

static void control_thread_start(void)
{
	if (choose_path(sock_path, sizeof sock_path) != 0) {
		ldp_warn("no private directory for the control socket ($XDG_RUNTIME_DIR/ldprof or /tmp/ldprof-%u must "
			 "be a 0700 directory of ours); `ldprof ctl` cannot reach this process",
			 (unsigned)geteuid());
		return;
	}
	static struct control_start st;
	atomic_store(&st.word, 0);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits "all blocked" */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_t t;
	/* libc's pthread_create, not ours (sample.c): no CPU timer, no ring. */
	ldp_self.busy++;
	int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
	ldp_self.busy--;
	int err = create ? create(&t, &attr, control_entry, &st) : ENOSYS;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		ldp_warn("cannot start the control thread; `ldprof ctl` cannot reach this process");
		return;
	}
	while (!atomic_load(&st.word))
		sched_yield();
	if (atomic_load(&st.word) != 1)
		ldp_warn("cannot listen on %s; `ldprof ctl` cannot reach this process", sock_path);
}

void ldp_control_start(void)
{
	toggle_signal_init();
	if (ldp_cfg.start_paused)
		ldp_pause_external(1, LDP_PAUSE_START);
	if (ldp_cfg.control || ldp_cfg.attached)
		control_thread_start();
}

void ldp_control_fini(void)
{
	if (sock_bound && getpid() == ldp_pid)
		unlink(sock_path);
}
