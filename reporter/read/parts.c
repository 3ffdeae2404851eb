/*
 * parts.c - find the files of a rotated trace (--max-size, format 1.7).
 *
 * The agent names part k of a trace whose first file is app.ldp app.k.ldp
 * (".k" before the extension). Given a path, the parts read as one run are:
 *
 *   the path is part 0 of a rotated trace    it, then app.1.ldp, app.2.ldp, ...
 *                                             while each is the next part of
 *                                             the same process (pid, start time)
 *   the path is part k > 0                    it alone (a part read on its own)
 *   the path does not exist (--keep deleted   the highest-numbered app.N.ldp and
 *   the oldest parts, part 0 with them)       the parts of the same process just
 *                                             before it, without gaps
 *   anything else                             the path alone
 *
 * Every candidate's first segment header is read and checked; a file that
 * only looks like a sibling (another process's, a child's app.4242.ldp) is
 * not taken.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util/util.h"

int rd_part_path(char *out, size_t cap, const char *base, unsigned index)
{
	const char *slash = strrchr(base, '/');
	const char *name = slash ? slash + 1 : base;
	const char *dot = strrchr(name, '.');
	if (dot == name)
		dot = NULL; /* a leading dot is not an extension */
	size_t at = dot ? (size_t)(dot - base) : strlen(base);
	int n = index ? snprintf(out, cap, "%.*s.%u%s", (int)at, base, index, base + at) : snprintf(out, cap, "%s", base);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The first segment header of path, decoded. @return 0, or -1 (not a trace, unreadable). */
static int first_header(const char *path, struct rd_segment *seg)
{
	memset(seg, 0, sizeof *seg);
	FILE *f = fopen(path, "rbe");
	if (!f)
		return -1;
	uint8_t h[8];
	int rc = -1;
	if (fread(h, 1, 8, f) == 8) {
		uint32_t magic = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
		uint32_t size = h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
		if (magic == LDP_SEGMENT_MAGIC && size <= LDP_MAX_HEADER_LEN) {
			uint8_t *p = xmalloc(size ? size : 1);
			const char *why;
			if (fread(p, 1, size, f) == size && rd_decode_header(p, size, seg, &why) == 0)
				rc = 0;
			free(p);
		}
	}
	fclose(f);
	if (rc)
		rd_segment_clear(seg);
	return rc;
}

static int same_process(const struct rd_segment *a, const struct rd_segment *b)
{
	return a->pid == b->pid && a->proc_start_ticks == b->proc_start_ticks;
}

static void add(struct rd_parts *ps, const char *path)
{
	ps->paths = xrealloc(ps->paths, (ps->n + 1) * sizeof *ps->paths);
	ps->paths[ps->n++] = xstrdup(path);
}

/* Parts first+1, first+2, ... of the process of seg, after `from`. */
static void add_following(struct rd_parts *ps, const char *base, const struct rd_segment *seg, unsigned first)
{
	char path[4096];
	for (unsigned k = first + 1; rd_part_path(path, sizeof path, base, k) == 0; k++) {
		struct rd_segment s;
		if (first_header(path, &s))
			break;
		int ok = s.rotated && s.part == k && s.continues && same_process(&s, seg);
		rd_segment_clear(&s);
		if (!ok)
			break;
		add(ps, path);
		ps->last = k;
	}
}

/* path is gone: the highest app.N.ldp next to it, and the parts before it. */
static int find_kept(struct rd_parts *ps, const char *path)
{
	char dir[4096], probe[4096];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	unsigned best = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		/* Is e the name of some part N of path? Parse N, rebuild, compare. */
		const char *digits = e->d_name;
		for (const char *c = e->d_name; *c; c++)
			if (*c == '.' && c[1] >= '1' && c[1] <= '9') {
				digits = c + 1;
				unsigned long n = strtoul(digits, NULL, 10);
				if (n > 0 && n < (1u << 30) && rd_part_path(probe, sizeof probe, path, (unsigned)n) == 0) {
					const char *pn = strrchr(probe, '/');
					if (!strcmp(pn ? pn + 1 : probe, e->d_name) && n > best)
						best = (unsigned)n;
				}
			}
	}
	closedir(d);
	if (!best)
		return -1;
	struct rd_segment top;
	rd_part_path(probe, sizeof probe, path, best);
	if (first_header(probe, &top))
		return -1;
	unsigned first = best;
	while (first > 1) {
		struct rd_segment s;
		rd_part_path(probe, sizeof probe, path, first - 1);
		if (first_header(probe, &s))
			break;
		int ok = s.rotated && s.part == first - 1 && same_process(&s, &top);
		rd_segment_clear(&s);
		if (!ok)
			break;
		first--;
	}
	for (unsigned k = first; k <= best; k++) {
		rd_part_path(probe, sizeof probe, path, k);
		add(ps, probe);
	}
	ps->rotated = 1;
	ps->first = first;
	ps->last = best;
	ps->missing = first;
	rd_segment_clear(&top);
	return 0;
}

int rd_parts_find(const char *path, struct rd_parts *ps)
{
	memset(ps, 0, sizeof *ps);
	struct rd_segment seg;
	if (first_header(path, &seg)) {
		if (errno == ENOENT && find_kept(ps, path) == 0)
			return 0;
		add(ps, path); /* reading it says what is wrong */
		return 0;
	}
	add(ps, path);
	if (seg.rotated) {
		ps->rotated = 1;
		ps->first = ps->last = seg.part;
		if (seg.part == 0) {
			add_following(ps, path, &seg, 0);
		} else {
			/* A part read alone: does the image go on in the next one? Its
			 * part-0 name is not known, but part k's own ".k" is. */
			char base[4096], next[4096];
			size_t len = strlen(path);
			const char *slash = strrchr(path, '/');
			const char *dot = strrchr(slash ? slash + 1 : path, '.');
			size_t ext = dot ? (size_t)(dot - path) : len;
			char idx[24];
			int il = snprintf(idx, sizeof idx, ".%u", seg.part);
			if (ext >= (size_t)il && !strncmp(path + ext - il, idx, (size_t)il) && len < sizeof base) {
				snprintf(base, sizeof base, "%.*s%s", (int)(ext - il), path, path + ext);
				struct rd_segment s;
				if (rd_part_path(next, sizeof next, base, seg.part + 1) == 0 && first_header(next, &s) == 0) {
					ps->next_exists = s.rotated && s.part == seg.part + 1 && same_process(&s, &seg);
					rd_segment_clear(&s);
				}
			}
		}
	}
	rd_segment_clear(&seg);
	return 0;
}

void rd_parts_free(struct rd_parts *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->paths[i]);
	free(ps->paths);
	memset(ps, 0, sizeof *ps);
}
