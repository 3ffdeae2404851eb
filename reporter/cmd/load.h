/*
 * load.h - what the picture and export commands share: the --sysroot and
 * --debug-dir options and one symbolizer for every trace they load
 * (load_or_die, loaded_load: one symbol space per process image).
 */
#ifndef LDPR_CMD_LOAD_H
#define LDPR_CMD_LOAD_H

#include "model/group.h"

struct load_ctx {
	struct sym_opts so;
	size_t dbg_cap;
	struct symbolizer *sym;
};

/* Handle --sysroot DIR / --debug-dir DIR (getopt codes given by the caller).
 * @return 1 when c was one of them. */
int load_opt(struct load_ctx *lc, int c, int sysroot_code, int debugdir_code, const char *arg);
/* Load path into t (dies with one line on an unreadable trace; warns on a
 * truncated one). The symbolizer is created on first use. */
void load_trace(struct load_ctx *lc, struct loaded *t, const char *path);
void load_release(struct load_ctx *lc, struct loaded *t);
void load_fini(struct load_ctx *lc);

#endif
