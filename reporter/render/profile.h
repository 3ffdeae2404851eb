/*
 * profile.h - call-profile views of CPU and wall samples (see profile.c).
 * k is PROF_CPU or PROF_WALL.
 */
#ifndef LDPR_RENDER_PROFILE_H
#define LDPR_RENDER_PROFILE_H

#include "render/report.h"

/* Top-down call tree; children below min_pct of all samples are folded. */
void render_profile_tree(struct strbuf *b, const struct report *r, int k, double min_pct);
struct focus_opts {
	const char *const *source_dirs; /* --source-dir: where else --lines looks for sources */
	size_t nsource_dirs;
};
/* mode 0: callers of pattern, 1: its callees, 2: cost per line inside it.
 * A glob matching several functions gives a section per function. */
void render_profile_focus(struct strbuf *b, const struct report *r, int k, int mode, const char *pattern,
			  const struct focus_opts *o);
/* The path of a frame's source file here (DWARF's compilation directory,
 * then the source directories), malloc'd; NULL when not found. */
char *profile_find_source(const char *file, const char *comp_dir, const char *const *dirs, size_t ndirs);
void render_profile_threads(struct strbuf *b, const struct report *r);
/* The samples per thread, for the report's JSON ("threads"). */
json_t *profile_threads_json(const struct report *r);

#endif
