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
	load_or_die(t, path, lc->sym, EXIT_BAD_TRACE);
}

void load_release(struct load_ctx *lc, struct loaded *t)
{
	(void)lc;
	loaded_free(t);
}

void load_fini(struct load_ctx *lc)
{
	free(lc->so.debug_dirs);
	sym_free(lc->sym);
	lc->sym = NULL;
}
