/*
 * ctl.c - `ldprof ctl PID pause|resume|snapshot LABEL|status|detach`: one
 * line to the agent's control socket (agent/control.c), its one-line answer
 * back. Also the helpers `ldprof attach` and `ldprof detach` share.
 *
 * The socket is DIR/PID.sock, DIR being $XDG_RUNTIME_DIR/ldprof (of the
 * target, usually the same as ours) or /tmp/ldprof-UID for the target's
 * uid; both are tried. A directory that is not private (not 0700, or not
 * owned by that uid) is not trusted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "util/util.h"

int ctl_target_uid(pid_t pid, uid_t *uid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int rc = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "Uid:", 4)) {
			unsigned r, e;
			if (sscanf(line + 4, "%u %u", &r, &e) == 2) {
				*uid = e;
				rc = 0;
			}
		}
	fclose(f);
	return rc;
}

static int private_dir_of(const char *dir, uid_t uid)
{
	struct stat st;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid && !(st.st_mode & 077);
}

int ctl_dir(uid_t uid, char *out, size_t cap, int create)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0] == '/' && uid == geteuid()) {
		snprintf(out, cap, "%s/ldprof", xdg);
		if (create)
			mkdir(out, 0700);
		if (private_dir_of(out, uid))
			return 0;
	}
	snprintf(out, cap, "/tmp/ldprof-%u", (unsigned)uid);
	if (create && mkdir(out, 0700) == 0 && uid != geteuid() && chown(out, uid, (gid_t)-1) != 0)
		return -1;
	return private_dir_of(out, uid) ? 0 : -1;
}

/* Connect to PID's control socket. @return fd, or -1 (errno: ENOENT no socket). */
static int ctl_connect(pid_t pid)
{
	uid_t uid;
	if (ctl_target_uid(pid, &uid) != 0) {
		errno = ESRCH;
		return -1;
	}
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dirs[2][256];
	int n = 0;
	if (xdg && xdg[0] == '/')
		snprintf(dirs[n++], sizeof dirs[0], "%s/ldprof", xdg);
	snprintf(dirs[n++], sizeof dirs[0], "/tmp/ldprof-%u", (unsigned)uid);
	int err = ENOENT;
	for (int i = 0; i < n; i++) {
		if (!private_dir_of(dirs[i], uid))
			continue;
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		if ((size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s/%d.sock", dirs[i], (int)pid) >= sizeof a.sun_path)
			continue;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
			return fd;
		if (errno != ENOENT)
			err = errno;
		close(fd);
	}
	errno = err;
	return -1;
}

int ctl_send(pid_t pid, const char *line, char *reply, size_t cap)
{
	int fd = ctl_connect(pid);
	if (fd < 0)
		return -1;
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t len = strlen(line);
	char *msg = xmalloc(len + 2);
	memcpy(msg, line, len);
	msg[len] = '\n';
	ssize_t w = send(fd, msg, len + 1, MSG_NOSIGNAL);
	free(msg);
	if (w != (ssize_t)(len + 1)) {
		close(fd);
		return -1;
	}
	size_t n = 0;
	while (n < cap - 1) {
		ssize_t r = recv(fd, reply + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	reply[n] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (!n) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* The reason ctl_send failed, as one line. */
void ctl_die(pid_t pid, int err)
{
	if (err == ESRCH)
		die(EXIT_USAGE, "no process %d", (int)pid);
	if (err == ENOENT || err == ECONNREFUSED)
		die(EXIT_USAGE,
		    "process %d has no ldprof control socket (not under the agent, started without --control, or "
		    "detached)",
		    (int)pid);
	die(EXIT_USAGE, "cannot reach the agent in process %d: %s", (int)pid, strerror(err));
}

int ctl_parse_pid(const char *s, pid_t *pid)
{
	uint64_t v;
	if (parse_uint(s, 1u << 22, &v) || v == 0)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof ctl PID COMMAND\n"
		   "\n"
		   "  a process recorded with --control, or attached with ldprof attach:\n"
		   "  pause            stop recording allocations (frees of recorded blocks still count)\n"
		   "  resume           record again\n"
		   "  snapshot [LABEL] mark a snapshot (ldprof diff --from LABEL)\n"
		   "  status           recording, paused or off; attached or preloaded; the trace file\n"
		   "  detach           stop recording, end the trace; the process runs on\n");
}

int cmd_ctl(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc < 3) {
		usage(stderr);
		return EXIT_USAGE;
	}
	pid_t pid;
	if (ctl_parse_pid(argv[1], &pid))
		die(EXIT_USAGE, "'%s' is not a process id", argv[1]);
	const char *c = argv[2];
	struct strbuf line = {0};
	if (!strcmp(c, "snapshot")) {
		if (argc > 4)
			die(EXIT_USAGE, "snapshot takes one label");
		const char *label = argc == 4 ? argv[3] : "snapshot";
		if (strlen(label) > 127 || strchr(label, '\n'))
			die(EXIT_USAGE, "a snapshot label is one line of at most 127 bytes");
		sb_printf(&line, "snapshot %s", label);
	} else if (!strcmp(c, "pause") || !strcmp(c, "resume") || !strcmp(c, "status") || !strcmp(c, "detach")) {
		if (argc != 3)
			die(EXIT_USAGE, "%s takes no argument", c);
		sb_printf(&line, "%s", c);
	} else {
		usage(stderr);
		die(EXIT_USAGE, "unknown command '%s'", c);
	}
	char reply[4200];
	if (ctl_send(pid, line.s, reply, sizeof reply) != 0)
		ctl_die(pid, errno);
	sb_free(&line);
	if (strncmp(reply, "ok", 2))
		die(EXIT_BAD_TRACE, "process %d: %s", (int)pid, reply);
	if (reply[2])
		printf("%s\n", reply + 3);
	return EXIT_OK;
}
