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

/* A symlink another user planted in a sticky, world-writable directory
 * (/tmp): the kind of link the kernel's protected_symlinks refuses to
 * follow. We never follow links anyway; this one we do not replace either. */
static int planted_link(const char *path, const struct stat *lst)
{
	char *copy = xstrdup(path);
	struct stat dir;
	int sticky = stat(dirname(copy), &dir) == 0 && (dir.st_mode & S_ISVTX) && (dir.st_mode & S_IWOTH);
	free(copy);
	return sticky && lst->st_uid != geteuid() && lst->st_uid != dir.st_uid;
}

/* A device or a FIFO, written as it is (renaming over it would replace it). */
static void write_device(const char *path, const struct stat *lst, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	struct stat st;
	if (fd < 0)
		die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || st.st_rdev != lst->st_rdev || st.st_ino != lst->st_ino)
		die(EXIT_BAD_TRACE, "cannot write %s: it changed while being opened", path);
	int err = write_all(fd, data, len);
	if (close(fd) != 0 && !err)
		err = -errno;
	if (err)
		die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(-err));
}

static void write_or_die(const char *path, const char *data, size_t len, int private)
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
	struct stat lst;
	if (lstat(path, &lst) == 0) {
		if (S_ISCHR(lst.st_mode) || S_ISFIFO(lst.st_mode)) {
			write_device(path, &lst, data, len);
			return;
		}
		if (S_ISLNK(lst.st_mode) && planted_link(path, &lst))
			die(EXIT_BAD_TRACE, "%s is another user's symbolic link in a shared directory: not writing through "
					    "it, nor replacing it",
			    path);
		if (S_ISDIR(lst.st_mode))
			die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(EISDIR));
		if (S_ISBLK(lst.st_mode) || S_ISSOCK(lst.st_mode))
			die(EXIT_BAD_TRACE, "%s is a %s: not writing a report onto it", path,
			    S_ISBLK(lst.st_mode) ? "block device" : "socket");
	} else if (errno != ENOENT) {
		die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(errno));
	}
	/* A regular file, a symlink (replaced, never followed), or nothing yet:
	 * an exclusive temporary file next to it, then rename. */
	char *copy = xstrdup(path), *copy2 = xstrdup(path);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dirname(copy), basename(copy2));
	free(copy);
	free(copy2);
	int fd = mkostemp(tmp, O_CLOEXEC); /* O_CREAT | O_EXCL, mode 0600 */
	if (fd < 0)
		die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(errno));
	int err = write_all(fd, data, len);
	if (!err && fsync(fd) != 0 && errno != EINVAL)
		err = -errno;
	mode_t mask = umask(0);
	umask(mask);
	if (!err && fchmod(fd, private ? 0600 : 0666 & ~mask) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		die(EXIT_BAD_TRACE, "cannot write %s: %s", path, strerror(-err));
	}
}

void out_write_or_die(const char *path, const char *data, size_t len)
{
	write_or_die(path, data, len, 0);
}

void out_write_private_or_die(const char *path, const char *data, size_t len)
{
	write_or_die(path, data, len, 1);
}
