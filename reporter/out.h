/*
 * out.h - writing a report: the whole output or nothing, created safely.
 *
 * To a file: written to a temporary file created exclusively (O_EXCL, mode
 * 0600) in the target's directory, synced, given its mode, then renamed
 * over the target, so a full disk never leaves a partial file that looks
 * complete, and nothing is ever written through a link: a symlink at the
 * path is replaced, not followed (and one planted by another user in a
 * sticky shared directory such as /tmp is refused). A character device or
 * a FIFO (/dev/null, /dev/full, a named pipe) is written directly, opened
 * without following links; a block device is refused. To standard output:
 * every write checked, and a failure (EPIPE aside) is a one-line error
 * with exit status 1.
 */
#ifndef LDPR_OUT_H
#define LDPR_OUT_H

#include <stddef.h>

/* path NULL or "-" means standard output. Exits on failure. A file gets
 * mode 0666 less the umask. */
void out_write_or_die(const char *path, const char *data, size_t len);
/* The same for outputs that hold a traced command line: mode 0600, like
 * the traces themselves. */
void out_write_private_or_die(const char *path, const char *data, size_t len);

#endif
