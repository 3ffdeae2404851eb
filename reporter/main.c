/*
 * main.c - the ldprof command: one subcommand per file in cmd/, each only
 * wiring stages together (read -> model -> render).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ldprof/format.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"record", cmd_record, "run a program under the agent and write a trace"},
	{"attach", cmd_attach, "start recording a running process (gdb loads the agent)"},
	{"detach", cmd_detach, "stop recording an attached process; it runs on"},
	{"ctl", cmd_ctl, "pause, resume, snapshot or detach a process under the agent"},
	{"report", cmd_report, "heap report: peak, leaks, top allocators by function, line, file..."},
	{"snapshots", cmd_snapshots, "list a trace's snapshots"},
	{"diff", cmd_diff, "what changed between two snapshots, of one run or of two"},
	{"check", cmd_check, "CI gate: exit 1 when a memory budget is broken"},
	{"flame", cmd_flame, "an interactive flame graph (SVG) of allocations, peak, leaks"},
	{"timeline", cmd_timeline, "live heap over time (SVG), with the peak"},
	{"export", cmd_export, "the trace for other tools: pprof, collapsed, speedscope, json, massif, dhat"},
	{"top", cmd_top, "follow a running program's trace: live heap, growth, top sites, CPU (q quits)"},
	{"dump", cmd_dump, "print a trace's records as text (format debugging)"},
	{"push", cmd_push, "store traces in ClickHouse for fleet-wide questions (docs/FLEET.md)"},
	{"fleet", cmd_fleet, "report, flame graph, diff over every trace in the ClickHouse store"},
};

#ifndef LDPROF_VERSION
#define LDPROF_VERSION "0.0-dev"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof COMMAND [OPTIONS] ...\n\n"
		   "A memory and CPU profiler for native Linux programs: record a trace, then read it.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n"
		   "  -V, --version     ldprof's version and the trace format it reads and writes\n"
		   "  -h, --help        this list\n"
		   "\n'ldprof help COMMAND' (or 'ldprof COMMAND --help') describes a command's options.\n"
		   "Exit status: 0 done, 1 a trace that cannot be read or an output that cannot be written\n"
		   "(check: a budget broken), 2 a mistake on the command line.\n");
}

static int find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(name, commands[i].name))
			return (int)i;
	return -1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		cli_usage_error("which command? record, report, flame...");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || (!strcmp(argv[1], "help") && argc == 2)) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
		printf("ldprof %s (trace format %d.%d)\n", LDPROF_VERSION, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		/* ldprof help CMD: that command's --help */
		int i = find(argv[2]);
		if (i < 0)
			cli_usage_error("no command '%s' to help with", argv[2]);
		cli_cmd = commands[i].name;
		char *args[] = {argv[2], "--help", NULL};
		return commands[i].run(2, args);
	}
	int i = find(argv[1]);
	if (i < 0) {
		if (argv[1][0] == '-')
			cli_usage_error("unknown option '%s' (a command comes first: ldprof report TRACE)", argv[1]);
		cli_usage_error("unknown command '%s'", argv[1]);
	}
	cli_cmd = commands[i].name;
	return commands[i].run(argc - 1, argv + 1);
}
