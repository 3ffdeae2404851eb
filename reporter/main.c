/*
 * main.c - the ldprof command: one subcommand per file in cmd/, each only
 * wiring stages together (read -> model -> render).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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

static void usage(FILE *f)
{
	fprintf(f, "usage: ldprof COMMAND [OPTIONS] ...\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'ldprof COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("ldprof 0.1");
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name)) {
			cli_cmd = commands[i].name;
			return commands[i].run(argc - 1, argv + 1);
		}
	die(EXIT_USAGE, "unknown command '%s' (try 'ldprof --help')", argv[1]);
}
