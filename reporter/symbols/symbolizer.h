/*
 * symbolizer.h - addresses to function, file:line and inline frames, offline.
 *
 * One symbol space per process image (trace segment): its modules are
 * reported to libdw lazily, the first time an address falls in them, from
 * the path recorded in the trace (under --sysroot) or, when that file is gone
 * or its build-id differs, from a file found by build-id in the debug
 * directories (debuginfod only when DEBUGINFOD_URLS is set). A module whose
 * file cannot be found or does not match gets one warning and its frames are
 * shown as module+0xoffset.
 *
 * Every lookup is cached per address; strings are interned, so equal names
 * are equal pointers for the whole symbolizer (group keys compare cheaply).
 */
#ifndef LDPR_SYMBOLIZER_H
#define LDPR_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

#include "read/trace.h"

struct sym_opts {
	const char *sysroot;      /* prefix for module paths, or NULL */
	const char **debug_dirs;  /* extra roots for separate debug files */
	size_t ndebug_dirs;
	int quiet;                /* no warnings on stderr */
};

struct sym_frame {
	const char *function;     /* demangled; "module+0x1234" when unknown */
	const char *file;         /* source file, or NULL */
	unsigned line;            /* 0 when unknown */
	const char *module;       /* basename of the module, or "?" */
	uint64_t module_offset;   /* address - load bias */
	int inlined;              /* this frame was inlined into the next one */
	int resolved;             /* function name came from symbols */
	const char *comp_dir;     /* DWARF's compilation directory, where a relative file is; or NULL */
};

struct symbolizer;
struct sym_space;

struct symbolizer *sym_new(const struct sym_opts *opts);
void sym_free(struct symbolizer *s);

/* A space for one process image; mods stay owned by the caller and must
 * outlive the space. */
struct sym_space *sym_space_new(struct symbolizer *s, const struct rd_module *mods, size_t nmods);

/*
 * The frames for one stack entry, innermost first: inlined functions, then
 * the function that contains the address. `call_site`: the address is a
 * return address (every stack frame except a sampled PC), so the call
 * instruction before it is looked up, as debuggers do. `mod_limit`: how
 * many of the space's modules were recorded when the stack was (its
 * addresses belong to the latest of those holding them: a library
 * unloaded, and another loaded over its range later, does not take its
 * frames); 0 for the latest of all.
 * @return the number of frames (>= 1); *frames points into the cache.
 */
unsigned sym_resolve(struct sym_space *sp, uint64_t addr, int call_site, size_t mod_limit,
		     const struct sym_frame **frames);

/*
 * The frame that stands for the callers a stack lost: the outermost frame of
 * a stack flagged truncated (deeper than the agent's max depth, or its
 * unwinder could go no further), so that no view shows such a stack as if it
 * started at an inner frame. Function and module "[truncated]", no file, no
 * address; one per symbolizer (compare by pointer).
 */
#define SYM_TRUNCATED "[truncated]"
const struct sym_frame *sym_truncated_frame(struct sym_space *sp);

/* Intern a string in the symbolizer's pool. */
const char *sym_intern(struct symbolizer *s, const char *str);

#endif
