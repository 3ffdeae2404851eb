/*
 * top.h - the screen of `ldprof top`: a live view (model/live.h) as lines of
 * plain text, at most `width` columns and `height` lines.
 */
#ifndef LDPR_RENDER_TOP_H
#define LDPR_RENDER_TOP_H

#include "model/live.h"
#include "util/util.h"

struct top_header {
	uint64_t pid;
	const char *cmdline;
	const char *state; /* "running", "exit", ... */
};

void render_top(struct strbuf *b, const struct top_header *h, const struct live_view *v, unsigned width,
		unsigned height);

#endif
