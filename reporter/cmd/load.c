/*
 * load.c - see load.h.
 */
#include "cmd/load.h"

#include <stdlib.h>

#include "cli.h"
#include "util/util.h"

int load_opt(struct load_ctx *lc, int c, int sysroot_code, int debugdir_code, const char *arg)
{
	if (c == sysroot_code) {
		lc->so.sysroot = arg;
		return 1;
	}
	if (c == debugdir_code) {
		VEC_PUSH(lc->so.debug_dirs, lc->so.ndebug_dirs, lc->dbg_cap, arg);
		return 1;
	}
	return 0;
}

void load_trace(struct load_ctx *lc, struct loaded *t, const char *path)
{
	if (!lc->sym)
		lc->sym = sym_new(&lc->so);
	struct rd_error err;
	if (tm_load(&t->m, path, &err))
		die(EXIT_BAD_TRACE, "%s", err.msg);
	if (t->m.stats.truncated)
		warnx1("%s ends inside a frame at byte %llu (the process was killed?); using everything before it", path,
		       (unsigned long long)t->m.stats.truncated_at);
	t->spaces = xcalloc(t->m.nsegs ? t->m.nsegs : 1, sizeof *t->spaces);
	for (size_t s = 0; s < t->m.nsegs; s++)
		t->spaces[s] = sym_space_new(lc->sym, t->m.segs[s].mods, t->m.segs[s].nmods);
}

void load_release(struct load_ctx *lc, struct loaded *t)
{
	(void)lc;
	free(t->spaces);
	tm_free(&t->m);
}

void load_fini(struct load_ctx *lc)
{
	free(lc->so.debug_dirs);
	sym_free(lc->sym);
	lc->sym = NULL;
}
