/*
 * export.c - the export registry: every format `ldprof export` writes, the
 * stacks it is made from and its renderer (see export.h).
 */
#include "export.h"

#include <string.h>

static int collapsed(struct strbuf *b, const struct export_in *in, const char **why)
{
	(void)why;
	render_collapsed(b, &in->sets[0]);
	return 0;
}

static int speedscope(struct strbuf *b, const struct export_in *in, const char **why)
{
	(void)why;
	const char *base = strrchr(in->m->path, '/');
	render_speedscope(b, in->sets, in->nsets, 0, base ? base + 1 : in->m->path);
	return 0;
}

/* Exports hand every frame and figure on: no process root frames (the
 * formats have processes of their own), stacks with a count but no weight
 * kept (a malloc(0) site is still a site). */
const struct export_format export_formats[] = {
	{"pprof",
	 "gzipped profile.proto (go tool pprof, Pyroscope): every heap\n"
	 "figure as a sample type (alloc/inuse/leaked objects and space);\n"
	 "with --what cpu or wall, that profile (samples, nanoseconds)",
	 EX_PROFILE, {.whole = 1, .addrs = 1, .no_roots = 1, .counted = 1}, EX_BINARY, render_pprof},
	{"collapsed", "'frame;frame;frame weight' lines (flamegraph.pl, inferno)", EX_ONE, {0}, 0, collapsed},
	{"speedscope", "speedscope's JSON (one profile per --what)", EX_EACH, {0}, 0, speedscope},
	{"json", "the whole model for scripts (docs/EXPORT.md)", EX_HEAP, {.whole = 1, .no_roots = 1, .counted = 1},
	 EX_REPORT | EX_PRIVATE, render_json_export},
	{"massif", "valgrind massif's format (ms_print, massif-visualizer)", EX_HEAP,
	 {.peak_only = 1, .no_roots = 1, .counted = 1}, EX_PRIVATE, render_massif},
	{"dhat", "valgrind DHAT's JSON (dh_view.html)", EX_HEAP,
	 {.whole = 1, .peak_only = 1, .no_roots = 1, .counted = 1}, EX_PRIVATE, render_dhat},
	{0},
};

const struct export_format *export_find(const char *name)
{
	for (const struct export_format *f = export_formats; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}
