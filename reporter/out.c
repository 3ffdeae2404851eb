/*
 * out.c - see out.h.
 */
#define _GNU_SOURCE
#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util/util.h"

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void out_write_or_die(const char *path, const char *data, size_t len)
{
	if (!data)
		data = "";
	/* Over RLIMIT_FSIZE a write fails with EFBIG instead of killing us. */
	signal(SIGXFSZ, SIG_IGN);
	if (!path || !strcmp(path, "-")) {
		int err = write_all(STDOUT_FILENO, data, len);
		if (err == -EPIPE)
			exit(EXIT_OK); /* the reader went away (| head): not our failure */
		if (err)
			die(EXIT_BAD_TRACE, "cannot write to standard output: %s", strerror(-err));
		return;
	}
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or a FIFO (/dev/null, /dev/full, a named pipe): write to it
		 * directly; renaming over it would replace the device. */
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(errno));
		int err = write_all(fd, data, len);
		if (close(fd) != 0 && !err)
			err = -errno;
		if (err)
			die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(-err));
		return;
	}
	char *copy = xstrdup(path);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dirname(copy), basename((char *)path));
	free(copy);
	int fd = mkstemp(tmp);
	if (fd < 0)
		die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(errno));
	int err = write_all(fd, data, len);
	if (!err && fsync(fd) != 0 && errno != EINVAL)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	mode_t mask = umask(0);
	umask(mask);
	if (!err && chmod(tmp, 0666 & ~mask) != 0) /* mkstemp made it 0600 */
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(-err));
	}
}
