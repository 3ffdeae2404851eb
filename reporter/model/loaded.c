/*
 * loaded.c - see loaded.h.
 */
#include "loaded.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int loaded_load(struct loaded *t, const char *path, struct symbolizer *sym, unsigned flags, struct rd_error *err)
{
	memset(t, 0, sizeof *t);
	if (tm_load_flags(&t->m, path, flags, err))
		return -1;
	t->spaces = xcalloc(t->m.nsegs ? t->m.nsegs : 1, sizeof *t->spaces);
	for (size_t s = 0; s < t->m.nsegs; s++)
		t->spaces[s] = sym_space_new(sym, t->m.segs[s].mods, t->m.segs[s].nmods);
	return 0;
}

void loaded_free(struct loaded *t)
{
	free(t->spaces);
	tm_free(&t->m);
	memset(t, 0, sizeof *t);
}
