/*
 * cli.c - see cli.h.
 */
#include "cli.h"

#include "model/loaded.h"
#include "model/wstack.h"
#include "render/flame_svg.h"
#include "render/units.h"
#include "util/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_cmd = "";

void die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ldprof%s%s: ", *cli_cmd ? " " : "", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void warnx1(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ldprof%s%s: warning: ", *cli_cmd ? " " : "", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || !*s)
		return -1;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{"", 1},          {"B", 1},          {"K", 1024},         {"KiB", 1024},        {"kB", 1e3},
		{"KB", 1024},     {"M", 1048576},    {"MiB", 1048576},    {"MB", 1e6},          {"G", 1073741824.0},
		{"GiB", 1073741824.0}, {"GB", 1e9},  {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12},
	};
	for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
		if (!strcmp(end, units[i].unit)) {
			double r = v * units[i].mult;
			if (r >= 18446744073709551615.0)
				return -1;
			*out = (uint64_t)(r + 0.5);
			return 0;
		}
	}
	return -1;
}

unsigned cli_pixels(const char *option, const char *arg)
{
	uint64_t v;
	if (parse_uint(arg, 100000, &v) || v < 200)
		die(EXIT_USAGE, "--%s must be a number of pixels from 200 to 100000, not '%s'", option, arg);
	return (unsigned)v;
}

int cli_what(const char *arg)
{
	enum ws_what w;
	if (ws_what_parse(arg, &w))
		die(EXIT_USAGE, "--what must be alloc, inuse, leaked, temporary, cpu or wall, not '%s'", arg);
	return (int)w;
}

unsigned cli_top(const char *arg, int zero_is_all)
{
	uint64_t v;
	if (parse_uint(arg, 1000000000, &v) || (!v && !zero_is_all))
		die(EXIT_USAGE, "--top must be a%s number, not '%s'", zero_is_all ? "" : " positive", arg);
	return (unsigned)v;
}

int cli_colors(const char *arg)
{
	if (!strcmp(arg, "module"))
		return FLAME_BY_MODULE;
	if (!strcmp(arg, "function"))
		return FLAME_BY_FUNCTION;
	die(EXIT_USAGE, "--colors must be module or function, not '%s'", arg);
}

enum { O_SYSROOT = 0x1000, O_DEBUGDIR, O_SITESKIP, O_FULLNAMES, O_BY, O_INCLUDE, O_EXCLUDE, O_ALL };

static const struct option common_opts[] = {
	{"output", required_argument, 0, 'o'},
	{"sysroot", required_argument, 0, O_SYSROOT},
	{"debug-dir", required_argument, 0, O_DEBUGDIR},
	{"site-skip", required_argument, 0, O_SITESKIP},
	{"full-names", no_argument, 0, O_FULLNAMES},
	{"by", required_argument, 0, O_BY},
	{"include", required_argument, 0, O_INCLUDE},
	{"exclude", required_argument, 0, O_EXCLUDE},
	{"all-frames", no_argument, 0, O_ALL},
	{"help", no_argument, 0, 'h'},
};

static int takes(const struct cli_common *co, int c)
{
	return c == 'h' || (c == 'o' && (co->takes & CLI_OUTPUT)) ||
	       (c >= O_SYSROOT && c <= O_FULLNAMES && (co->takes & CLI_SYMBOLS)) ||
	       (c == O_BY && (co->takes & CLI_BY)) || (c >= O_INCLUDE && c <= O_ALL && (co->takes & CLI_FILTERS));
}

/* The options' one-letter forms: those whose value is a letter (-o, -h, -q). */
static char *short_options(const struct option *all)
{
	struct strbuf b = {0};
	for (const struct option *o = all; o->name; o++)
		if (o->val > 0 && o->val < 128 && isalpha(o->val)) {
			sb_putc(&b, (char)o->val);
			if (o->has_arg == required_argument)
				sb_putc(&b, ':');
		}
	return b.s;
}

void cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ldprof%s%s: ", *cli_cmd ? " " : "", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ldprof %s%s--help')\n", cli_cmd, *cli_cmd ? " " : "");
	exit(EXIT_USAGE);
}

int cli_getopt_long(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	/* getopt's own messages would name argv[0] ("report: unrecognized
	 * option"): ours say "ldprof report:" and where the help is. A leading
	 * ':' makes a missing value ':' rather than '?'. */
	char opts[128];
	int plus = shortopts[0] == '+';
	snprintf(opts, sizeof opts, "%s:%s", plus ? "+" : "", shortopts + plus);
	opterr = 0;
	int c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	char name[8] = "";
	if (optopt)
		snprintf(name, sizeof name, "-%c", optopt);
	const char *shown = optopt && strncmp(arg, "--", 2) ? name : arg;
	char *eq = strchr(shown, '=');
	int n = eq ? (int)(eq - shown) : (int)strlen(shown);
	if (c == ':')
		cli_usage_error("option '%.*s' needs a value", n, shown);
	cli_usage_error("unknown option '%.*s'", n, shown);
}

int cli_getopt(struct cli_common *co, int argc, char **argv, const struct option *own)
{
	if (!co->all) {
		size_t n = 0, k = 0;
		while (own[n].name)
			n++;
		co->all = xcalloc(n + sizeof common_opts / sizeof *common_opts + 1, sizeof *co->all);
		memcpy(co->all, own, n * sizeof *own);
		for (size_t i = 0; i < sizeof common_opts / sizeof *common_opts; i++)
			if (takes(co, common_opts[i].val))
				co->all[n + k++] = common_opts[i];
		co->shorts = short_options(co->all);
	}
	for (;;) {
		int c = cli_getopt_long(argc, argv, co->shorts, co->all);
		switch (c) {
		case 'o': co->output = optarg; break;
		case O_SYSROOT: co->so.sysroot = optarg; break;
		case O_DEBUGDIR: VEC_PUSH(co->so.debug_dirs, co->so.ndebug_dirs, co->dbg_cap, optarg); break;
		case O_SITESKIP:
			if (!strcmp(optarg, "none"))
				co->site_skip_none = 1;
			else
				VEC_PUSH(co->site_skip, co->nsite_skip, co->site_skip_cap, optarg);
			break;
		case O_FULLNAMES: fmt_full_names = 1; break;
		case O_BY:
			if (group_by_parse(optarg, &co->groups.by))
				die(EXIT_USAGE, "--by must be traceback, function, line, file or module, not '%s'", optarg);
			break;
		case O_INCLUDE: VEC_PUSH(co->groups.include, co->groups.ninclude, co->inc_cap, optarg); break;
		case O_EXCLUDE: VEC_PUSH(co->groups.exclude, co->groups.nexclude, co->exc_cap, optarg); break;
		case O_ALL: co->groups.all_frames = 1; break;
		case 'h':
			co->usage(stdout);
			exit(EXIT_OK);
		case -1:
			if (co->nsite_skip || co->site_skip_none)
				site_rules_set(co->site_skip, co->nsite_skip, co->site_skip_none);
			return c;
		default: return c;
		}
	}
}

void cli_common_usage(FILE *f, unsigned takes)
{
	if (takes & CLI_OUTPUT)
		fprintf(f, "  -o, --output F    write to F instead of standard output\n");
	if (takes & CLI_SYMBOLS)
		fprintf(f, "  --sysroot DIR     find the traced binaries under DIR (traces from another machine)\n"
			   "  --debug-dir DIR   look for separate debug files under DIR too; repeatable\n"
			   "  --site-skip GLOB  frames matching GLOB are allocator plumbing, not allocation sites\n"
			   "                    (besides std::*, __gnu_cxx::*, alloc::*); 'none' drops those\n"
			   "                    defaults; repeatable (docs/DEFINITIONS.md)\n"
			   "  --full-names      C++ names with their template arguments in text views\n");
}

struct symbolizer *cli_symbolizer(struct cli_common *co)
{
	if (!co->sym)
		co->sym = sym_new(&co->so);
	return co->sym;
}

void cli_load(struct cli_common *co, struct loaded *t, const char *path, int code)
{
	struct rd_error err;
	if (cli_try_load(co, t, path, &err))
		die(code, "%s", err.msg);
}

int cli_try_load(struct cli_common *co, struct loaded *t, const char *path, struct rd_error *err)
{
	if (loaded_load(t, path, cli_symbolizer(co), co->load_flags, err))
		return -1;
	/* A process still running has not finished its last frame: not a sign of a kill. */
	int running = t->m.nsegs && t->m.segs[t->m.nsegs - 1].end.running;
	if (t->m.stats.truncated && !running)
		warnx1("%s ends inside a frame at byte %llu (the process was killed?); using everything before it", path,
		       (unsigned long long)t->m.stats.truncated_at);
	const struct rd_stats *st = &t->m.stats;
	if (st->damaged) {
		char more[96] = "";
		if (st->damaged > 1)
			snprintf(more, sizeof more, " (and %llu more damaged places)", (unsigned long long)st->damaged - 1);
		char dropped[160] = "";
		if (st->dropped_events)
			snprintf(dropped, sizeof dropped, "; %llu events of threads whose state was lost there dropped",
				 (unsigned long long)st->dropped_events);
		warnx1("%s is damaged: %s%s; %llu bytes skipped from byte %llu on%s; everything else is used", path,
		       st->damage_why, more, (unsigned long long)st->skipped_bytes, (unsigned long long)st->damaged_at,
		       dropped);
	}
	if (t->m.stats.unordered_events)
		warnx1("%s: %llu events were merged out of order (%s); counts of frees, leaks and unknown frees "
		       "may be off by about that many",
		       path, (unsigned long long)t->m.stats.unordered_events, t->m.stats.unordered_why);
	return 0;
}

const char *cli_picture_output(const struct cli_common *co, const char *trace, const char *suffix, struct strbuf *buf,
			       int *named)
{
	*named = 0;
	if (co->output && !strcmp(co->output, "-")) {
		if (isatty(STDOUT_FILENO))
			die(EXIT_USAGE, "not writing %s onto a terminal: give -o FILE, or redirect standard output",
			    strstr(suffix, ".html") ? "HTML" : "an SVG");
		return NULL;
	}
	if (co->output)
		return co->output;
	const char *base = strrchr(trace, '/');
	base = base ? base + 1 : trace;
	size_t n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".ldp"))
		n -= 4;
	buf->len = 0;
	sb_printf(buf, "%.*s%s", (int)n, base, suffix);
	*named = 1;
	return buf->s;
}

void cli_say_written(const char *path, int named)
{
	if (named)
		fprintf(stderr, "ldprof %s: wrote %s\n", cli_cmd, path);
}

void cli_common_free(struct cli_common *co)
{
	free(co->so.debug_dirs);
	free(co->groups.include);
	free(co->groups.exclude);
	free(co->site_skip);
	free(co->all);
	free(co->shorts);
	sym_free(co->sym);
	memset(co, 0, sizeof *co);
}
