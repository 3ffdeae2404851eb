/*
 * cli.h - what every subcommand shares: exit codes, one-line messages,
 * option parsing (values, and the options several commands take).
 */
#ifndef LDPR_CLI_H
#define LDPR_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>

#include "model/group.h"
#include "symbols/symbolizer.h"

enum {
	EXIT_OK = 0,
	EXIT_BAD_TRACE = 1, /* unreadable or malformed trace, unwritable output; check: budget broken */
	EXIT_USAGE = 2,
};

/* One line "ldprof <cmd>: message" on stderr, then exit(code). */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void warnx1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *cli_cmd; /* the running subcommand, for messages */

/* A mistake on the command line: one line "ldprof <cmd>: message (see
 * 'ldprof <cmd> --help')" on stderr, then exit 2. */
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* getopt_long, with an unknown option or a missing value reported by
 * cli_usage_error (never getopt's own message, nor the whole usage). */
int cli_getopt_long(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Sizes: 123, 64KiB, 1.5MiB, 2GiB, 10kB, 5MB. @return 0 or -1. */
int parse_size(const char *s, uint64_t *out);
int parse_uint(const char *s, uint64_t max, uint64_t *out);
/* Values several commands take; a bad one is one line and exit 2. */
unsigned cli_pixels(const char *option, const char *arg); /* --width, --height: 200 to 100000 */
int cli_what(const char *arg);                            /* --what: enum ws_what (model/wstack.h) */
unsigned cli_top(const char *arg, int zero_is_all);       /* --top: rows per table (0 only when zero_is_all) */
int cli_colors(const char *arg);                          /* --colors: enum flame_colors (render/flame_svg.h) */

/*
 * The options that report, flame, export, timeline, diff, check, push and
 * fleet share, parsed in one place: -o/--output F (CLI_OUTPUT), --sysroot
 * DIR, --debug-dir DIR, --site-skip GLOB and --full-names (CLI_SYMBOLS),
 * --by KEY (CLI_BY: how sites are grouped), --include GLOB, --exclude GLOB
 * and --all-frames (CLI_FILTERS: which sites are kept), and --help. A command lists its own options and
 * takes them from cli_getopt in a switch, as from getopt_long (an own option
 * whose value is a letter is also -LETTER):
 *
 *	struct cli_common co = {.takes = CLI_OUTPUT | CLI_SYMBOLS, .usage = usage};
 *	while ((c = cli_getopt(&co, argc, argv, own)) != -1)
 *		switch (c) { ...own options only... }
 */
enum { CLI_OUTPUT = 1, CLI_SYMBOLS = 2, CLI_BY = 4, CLI_FILTERS = 8, CLI_GROUPS = CLI_BY | CLI_FILTERS };

struct cli_common {
	unsigned takes;          /* CLI_OUTPUT | CLI_SYMBOLS */
	void (*usage)(FILE *f);  /* the command's usage: --help and mistakes print it */
	const char *output;      /* -o: NULL for standard output */
	struct sym_opts so;      /* --sysroot, --debug-dir */
	size_t dbg_cap;
	const char **site_skip;  /* --site-skip GLOB (model/group.h, site_rules_set); 'none' sets site_skip_none */
	size_t nsite_skip, site_skip_cap;
	int site_skip_none;
	struct group_opts groups; /* --by (default function), --include, --exclude, --all-frames */
	size_t inc_cap, exc_cap;
	struct symbolizer *sym;  /* made on the first cli_load */
	unsigned load_flags;     /* TM_* (model/tmodel.h) every trace is loaded with */
	struct option *all;      /* own options and the common ones, for getopt_long */
	char *shorts;            /* their one-letter forms, for getopt_long */
};

/* The command's next own option (getopt_long's value; optarg set), -1 when
 * the options end. The common ones are kept in co; --help prints the usage
 * and exits 0; an unknown option is one line and exit 2 (cli_usage_error). */
int cli_getopt(struct cli_common *co, int argc, char **argv, const struct option *own);
/* The usage lines of the common options co->takes, for a command's usage. */
void cli_common_usage(FILE *f, unsigned takes);
/* The symbolizer for every trace this command loads (one symbol space per
 * process image of each). */
struct symbolizer *cli_symbolizer(struct cli_common *co);
struct loaded;
struct rd_error;
/* Load a trace (model/loaded.h) with co's symbolizer: on failure one line
 * and exit(code); a truncated tail, damage, events merged out of order get
 * one warning each. */
void cli_load(struct cli_common *co, struct loaded *t, const char *path, int code);
/* The same, but a failure returns -1 with err set (the caller says what it
 * had done before it). @return 0 or -1. */
int cli_try_load(struct cli_common *co, struct loaded *t, const char *path, struct rd_error *err);
void cli_common_free(struct cli_common *co);

/*
 * Where a picture (SVG, HTML) goes: never onto a terminal. With -o F, F;
 * "-o -" is standard output, refused (one line, exit 2) when that is a
 * terminal; without -o, a file in the current directory named after the
 * trace: TRACE's name without ".ldp", then suffix ("app.ldp", ".alloc.svg"
 * -> "app.alloc.svg"). *named is set when the name was made here, for
 * cli_say_written. @return the path, or NULL for standard output.
 */
const char *cli_picture_output(const struct cli_common *co, const char *trace, const char *suffix, struct strbuf *buf,
			       int *named);
/* After writing: "ldprof CMD: wrote PATH" on stderr when the name was made
 * by cli_picture_output, so the user knows what to open. */
void cli_say_written(const char *path, int named);

int cmd_record(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
/* The agent's path (record.c): LDPROF_AGENT, next to ldprof, or installed. */
char *find_agent(void);
/* The control socket (cmd/ctl.c, agent/control.c). */
int ctl_parse_pid(const char *s, pid_t *pid);
int ctl_target_uid(pid_t pid, uid_t *uid);
/* The private directory of uid's sockets and attach settings; create: make it. @return 0 or -1. */
int ctl_dir(uid_t uid, char *out, size_t cap, int create);
/* Send one command line, get the one-line reply. @return 0, or -1 with errno. */
int ctl_send(pid_t pid, const char *line, char *reply, size_t cap);
void ctl_die(pid_t pid, int err) __attribute__((noreturn));
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
int cmd_top(int argc, char **argv);

#endif
