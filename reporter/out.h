/*
 * out.h - writing a report: the whole output or nothing.
 *
 * To a file: written to a temporary name in the same directory, synced,
 * then renamed over the target, so a full disk never leaves a partial file
 * that looks complete. A path that names a device or a FIFO (/dev/null,
 * /dev/full) is written directly, never replaced. To standard output: every write checked, and a
 * failure (EPIPE aside) is a one-line error with exit status 1.
 */
#ifndef LDPR_OUT_H
#define LDPR_OUT_H

#include <stddef.h>

/* path NULL or "-" means standard output. Exits on failure. */
void out_write_or_die(const char *path, const char *data, size_t len);

#endif
