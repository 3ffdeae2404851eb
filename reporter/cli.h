/*
 * cli.h - what every subcommand shares: exit codes, one-line errors,
 * option parsing helpers.
 */
#ifndef LDPR_CLI_H
#define LDPR_CLI_H

#include <stdint.h>

enum {
	EXIT_OK = 0,
	EXIT_BAD_TRACE = 1, /* unreadable or malformed trace, unwritable output; check: budget broken */
	EXIT_USAGE = 2,
};

/* One line "ldprof <cmd>: message" on stderr, then exit(code). */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void warnx1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *cli_cmd; /* the running subcommand, for messages */

/* Sizes: 123, 64KiB, 1.5MiB, 2GiB, 10kB, 5MB. @return 0 or -1. */
int parse_size(const char *s, uint64_t *out);
int parse_uint(const char *s, uint64_t max, uint64_t *out);
/* "12.5 MiB" style; buf must hold 32 bytes. */
const char *fmt_bytes(char *buf, uint64_t v);
/* "1,234,567"; buf must hold 32 bytes. */
const char *fmt_count(char *buf, uint64_t v);

struct loaded;
struct symbolizer;
/* Load a trace for a command; on failure one line and exit(code). A
 * truncated tail gets one warning. */
void load_or_die(struct loaded *t, const char *path, struct symbolizer *sym, int code);

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_fleet(int argc, char **argv);

#endif
