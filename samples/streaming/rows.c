/*
 * rows.c - "millions of rows in little memory": count the rows of a CSV file
 * whose second column equals --match, four ways, and compare what each costs.
 *
 *   load     read every row into memory first (an array of row structs with
 *            their fields copied into strings), then count: the naive way;
 *            memory grows with the file
 *   stream   one line at a time with getline(): memory is one line
 *   chunked  read(2) into a fixed-size block, carry the partial last line of
 *            each block over to the next: memory is one block
 *   mmap     map the file and scan it in place: no copies, no heap
 *
 * Without --file, the program first writes a CSV of --rows rows to a
 * temporary file (deleted at exit) and runs the modes over it; --write PATH
 * writes the file and stops, so that each mode can then be profiled alone on
 * --file PATH.
 *
 * The CSV: a header line, then "id,category,amount,note". Fields may be
 * double-quoted (a quote inside is doubled; a quoted field may hold commas but
 * not newlines); CRLF line ends are accepted; empty lines are skipped. All
 * modes share one field scanner (scan_field), so they count the same rows and
 * matches on any input.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define PROG "rows"

enum mode { M_LOAD, M_STREAM, M_CHUNKED, M_MMAP, M_ALL };
static const char *const mode_name[] = {"load", "stream", "chunked", "mmap", "all"};

struct opts {
	enum mode mode;
	long rows;            /* rows to generate */
	const char *file;     /* --file: read this CSV */
	const char *write;    /* --write: generate into this path and stop */
	const char *match;    /* value of the second column to count */
	size_t match_len;
	size_t chunk;         /* chunked: block size in bytes */
	uint64_t seed;        /* generator */
};

/* What a mode found, and a remark for its summary line. */
struct count {
	long rows;     /* data rows (header and empty lines not counted) */
	long matches;  /* rows whose second column equals --match */
	char note[160];
};

/* ------------------------------------------------------------------------ */
/* CSV fields                                                               */
/* ------------------------------------------------------------------------ */

/* One field of a line: its raw bytes (between the quotes if quoted). */
struct field {
	const char *p;
	size_t len;
	bool quoted;  /* p..p+len still holds doubled quotes ("") */
};

/*
 * Scan the field starting at P (END: end of the line). @return where the next
 * field starts (past the comma), or NULL if this was the last field. A quoted
 * field ends at a quote not followed by another; anything between its closing
 * quote and the next comma is ignored; an unterminated quote runs to END.
 */
static const char *scan_field(const char *p, const char *end, struct field *f)
{
	if (p < end && *p == '"') {
		const char *q = p + 1;
		while (q < end && !(*q == '"' && (q + 1 == end || q[1] != '"')))
			q += *q == '"' ? 2 : 1;
		f->p = p + 1;
		f->len = (size_t)((q < end ? q : end) - f->p);
		f->quoted = true;
		const char *comma = q < end ? memchr(q, ',', (size_t)(end - q)) : NULL;
		return comma ? comma + 1 : NULL;
	}
	const char *comma = memchr(p, ',', (size_t)(end - p));
	f->p = p;
	f->len = (size_t)((comma ? comma : end) - p);
	f->quoted = false;
	return comma ? comma + 1 : NULL;
}

/* Does field F, unquoted, equal WANT? No copy. */
static bool field_equals(const struct field *f, const char *want, size_t wlen)
{
	if (!f->quoted)
		return f->len == wlen && memcmp(f->p, want, wlen) == 0;
	size_t i = 0;
	for (size_t k = 0; k < f->len; k++) {
		if (i == wlen || f->p[k] != want[i])
			return false;
		if (f->p[k] == '"')
			k++; /* "" stands for one quote */
		i++;
	}
	return i == wlen;
}

/* A malloc'd, NUL-terminated, unquoted copy of F; its length in *LEN. NULL: no memory. */
static char *field_dup(const struct field *f, size_t *len)
{
	char *s = malloc(f->len + 1);
	if (!s)
		return NULL;
	size_t n = 0;
	for (size_t k = 0; k < f->len; k++) {
		s[n++] = f->p[k];
		if (f->quoted && f->p[k] == '"')
			k++;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

/*
 * Classify one line (newline removed). @return -1 to skip it (the header, or
 * empty), 1 a data row that matches, 0 a data row that does not. *SEEN counts
 * lines so far and tells the header apart.
 */
static int classify_line(const char *p, size_t len, long *seen, const struct opts *o)
{
	if ((*seen)++ == 0)
		return -1; /* the header */
	if (len && p[len - 1] == '\r')
		len--;
	if (len == 0)
		return -1;
	const char *end = p + len;
	struct field f;
	const char *second = scan_field(p, end, &f);
	if (!second)
		return 0; /* one field only */
	scan_field(second, end, &f);
	return field_equals(&f, o->match, o->match_len);
}

static void count_line(struct count *c, long *seen, const char *p, size_t len, const struct opts *o)
{
	int k = classify_line(p, len, seen, o);
	if (k >= 0) {
		c->rows++;
		c->matches += k;
	}
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                    */
/* ------------------------------------------------------------------------ */

/* One row held in memory by the load mode. */
struct row {
	long id;
	double amount;
	char *category;       /* unquoted copy */
	char *note;           /* unquoted copy */
	size_t category_len;  /* a field may hold NUL bytes: compare by length */
};

static void rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].category);
		free(rows[i].note);
	}
	free(rows);
}

/* Parse one data line into R. @return 0, or -1 out of memory. */
static int row_parse(struct row *r, const char *p, size_t len)
{
	if (len && p[len - 1] == '\r')
		len--;
	const char *end = p + len;
	struct field f[4] = {{0}};
	const char *next = p;
	for (int i = 0; i < 4 && next; i++)
		next = scan_field(next, end, &f[i]);
	char num[64];
	size_t n = f[0].len < sizeof num - 1 ? f[0].len : sizeof num - 1;
	memcpy(num, f[0].p ? f[0].p : "", n);
	num[n] = '\0';
	r->id = strtol(num, NULL, 10);
	n = f[2].len < sizeof num - 1 ? f[2].len : sizeof num - 1;
	memcpy(num, f[2].p ? f[2].p : "", n);
	num[n] = '\0';
	r->amount = strtod(num, NULL);
	size_t note_len;
	static const struct field none = {"", 0, false};
	r->category = field_dup(f[1].p ? &f[1] : &none, &r->category_len);
	r->note = field_dup(f[3].p ? &f[3] : &none, &note_len);
	if (!r->category || !r->note) {
		free(r->category);
		free(r->note);
		return -1;
	}
	return 0;
}

/* Read every row into memory, then count: what a program does before it streams. */
__attribute__((noinline)) static int load_all_rows(const char *path, struct row **out, size_t *count,
						   size_t *held)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		return -1;
	}
	struct row *rows = NULL;
	size_t n = 0, cap = 0, bytes = 0;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	long seen = 0;
	int rc = 0;
	while ((len = getline(&line, &linecap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			len--;
		if (seen++ == 0)
			continue; /* the header */
		if (len == 0 || (len == 1 && line[0] == '\r'))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct row *grown = ncap <= SIZE_MAX / sizeof *rows ? realloc(rows, ncap * sizeof *rows) : NULL;
			if (!grown) {
				fprintf(stderr, "%s: load: out of memory after %zu rows\n", PROG, n);
				rc = -1;
				break;
			}
			rows = grown;
			cap = ncap;
		}
		if (row_parse(&rows[n], line, (size_t)len) != 0) {
			fprintf(stderr, "%s: load: out of memory after %zu rows\n", PROG, n);
			rc = -1;
			break;
		}
		bytes += rows[n].category_len + 1 + strlen(rows[n].note) + 1;
		n++;
	}
	if (rc == 0 && !feof(f)) { /* getline failed: a read error, or no memory */
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	if (rc != 0) {
		rows_free(rows, n);
		return -1;
	}
	*out = rows;
	*count = n;
	*held = bytes + cap * sizeof *rows;
	return 0;
}

__attribute__((noinline)) static int run_load(const struct opts *o, const char *path, struct count *c)
{
	struct row *rows;
	size_t n, held;
	if (load_all_rows(path, &rows, &n, &held) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		c->rows++;
		c->matches += rows[i].category_len == o->match_len && memcmp(rows[i].category, o->match, o->match_len) == 0;
	}
	char b[32];
	snprintf(c->note, sizeof c->note, "all rows in memory first: %zu row structs + strings, %s held", n,
		 sample_bytes((double)held, b, sizeof b));
	rows_free(rows, n);
	return 0;
}

__attribute__((noinline)) static int run_stream(const struct opts *o, const char *path, struct count *c)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	long seen = 0;
	while ((len = getline(&line, &linecap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			len--;
		count_line(c, &seen, line, (size_t)len, o);
	}
	int rc = 0;
	if (!feof(f)) { /* getline failed: a read error, or no memory for a long line */
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		rc = -1;
	}
	snprintf(c->note, sizeof c->note, "one line at a time (getline buffer of %zu bytes)", linecap);
	free(line);
	fclose(f);
	return rc;
}

static ssize_t read_retry(int fd, void *buf, size_t len)
{
	ssize_t n;
	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n;
}

__attribute__((noinline)) static int run_chunked(const struct opts *o, const char *path, struct count *c)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		return -1;
	}
	size_t cap = o->chunk, have = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fprintf(stderr, "%s: chunked: out of memory\n", PROG);
		close(fd);
		return -1;
	}
	long seen = 0, spanning = 0;
	int rc = 0;
	for (;;) {
		if (have == cap) {
			/* A whole block without a newline: a line longer than the block. Grow to hold it. */
			char *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!grown) {
				fprintf(stderr, "%s: chunked: out of memory for a line over %zu bytes\n", PROG, cap);
				rc = -1;
				break;
			}
			buf = grown;
			cap *= 2;
		}
		ssize_t n = read_retry(fd, buf + have, cap - have);
		if (n < 0) {
			fprintf(stderr, "%s: %s: read: %s\n", PROG, path, strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0) {
			if (have)
				count_line(c, &seen, buf, have, o); /* the last line had no newline */
			break;
		}
		if (have)
			spanning++; /* the carried-over line continues in this block */
		have += (size_t)n;
		const char *p = buf, *end = buf + have, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			count_line(c, &seen, p, (size_t)(nl - p), o);
			p = nl + 1;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have); /* carry the partial line to the front */
	}
	char b[32];
	snprintf(c->note, sizeof c->note, "%s blocks, %ld lines carried across a block edge", sample_bytes((double)cap, b, sizeof b),
		 spanning);
	free(buf);
	close(fd);
	return rc;
}

__attribute__((noinline)) static int run_mmap(const struct opts *o, const char *path, struct count *c)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: mmap: %s is not a regular file\n", PROG, path);
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char b[32];
	snprintf(c->note, sizeof c->note, "file mapped (%s), scanned in place", sample_bytes((double)size, b, sizeof b));
	if (size == 0) { /* mmap of 0 bytes is an error; there is nothing to count */
		close(fd);
		return 0;
	}
	const char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "%s: mmap %s: %s\n", PROG, path, strerror(errno));
		return -1;
	}
	madvise((void *)map, size, MADV_SEQUENTIAL);
	long seen = 0;
	const char *p = map, *end = map + size, *nl;
	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		count_line(c, &seen, p, (size_t)(nl - p), o);
		p = nl + 1;
	}
	if (p < end)
		count_line(c, &seen, p, (size_t)(end - p), o);
	munmap((void *)map, size);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The input file                                                           */
/* ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: deterministic for a seed, fast, good enough for test data */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1du;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Write the header and o->rows rows to FD. Categories are spread evenly over
 * eight values; one in sixteen is quoted, and some notes are quoted with
 * commas and doubled quotes inside, so the scanner is exercised.
 * @return bytes written, or -1 (errno set).
 */
static long long generate_csv(int fd, const struct opts *o)
{
	static const char *const cat[] = {"books", "games", "music", "garden", "tools", "toys", "food", "sports"};
	static const char *const word[] = {"red", "large", "gift", "express", "used", "new", "boxed", "signed",
					   "rare", "bundle", "refurbished", "eco"};
	static char buf[1 << 16]; /* static: generating needs no heap */
	size_t used = 0;
	long long total = 0;
	uint64_t s = o->seed * 0x9e3779b97f4a7c15u + 1;
	used += (size_t)snprintf(buf, sizeof buf, "id,category,amount,note\n");
	for (long i = 0; i < o->rows; i++) {
		if (sizeof buf - used < 256) {
			if (write_all(fd, buf, used) != 0)
				return -1;
			total += (long long)used;
			used = 0;
		}
		uint64_t r = rng_next(&s);
		const char *c = cat[r % 8];
		const char *q = (r >> 3) % 16 == 0 ? "\"" : "";
		unsigned cents = (unsigned)((r >> 8) % 100000);
		const char *w1 = word[(r >> 25) % 12], *w2 = word[(r >> 29) % 12];
		char *p = buf + used;
		size_t room = sizeof buf - used;
		int n;
		switch ((r >> 33) % 8) {
		case 0:
			n = snprintf(p, room, "%ld,%s%s%s,%u.%02u,\"%s, %s\"\n", i + 1, q, c, q, cents / 100, cents % 100, w1, w2);
			break;
		case 1:
			n = snprintf(p, room, "%ld,%s%s%s,%u.%02u,\"the \"\"%s\"\" one\"\n", i + 1, q, c, q, cents / 100,
				     cents % 100, w1);
			break;
		default:
			n = snprintf(p, room, "%ld,%s%s%s,%u.%02u,%s %s item %u\n", i + 1, q, c, q, cents / 100, cents % 100,
				     w1, w2, (unsigned)((r >> 40) % 1000));
			break;
		}
		used += (size_t)n;
	}
	if (write_all(fd, buf, used) != 0)
		return -1;
	return total + (long long)used;
}

/* Generate into PATH (created or truncated). @return 0, or -1 after saying why. */
static int write_csv_file(const char *path, int fd, const struct opts *o)
{
	int64_t t0 = sample_now_ns();
	long long bytes = generate_csv(fd, o);
	if (bytes < 0 || fsync(fd) != 0) {
		fprintf(stderr, "%s: writing %s: %s\n", PROG, path, strerror(errno));
		return -1;
	}
	char b[32];
	printf("%s: wrote %ld rows (%s) to %s in %.2f s\n", PROG, o->rows, sample_bytes((double)bytes, b, sizeof b), path,
	       (double)(sample_now_ns() - t0) / 1e9);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--mode MODE] [--rows N | --file PATH | --write PATH] [--match VALUE]\n"
		"            [--chunk-kb KB] [--seed S]\n"
		"\n"
		"Counts the CSV rows whose second column equals VALUE, in one of four ways.\n"
		"\n"
		"  --mode MODE    load, stream, chunked, mmap, or all (default)\n"
		"  --rows N       rows to generate into a temporary file (default 1000000)\n"
		"  --file PATH    count in this CSV instead (first line: a header)\n"
		"  --write PATH   only generate N rows into PATH, then stop\n"
		"  --match VALUE  the second column's value to count (default books)\n"
		"  --chunk-kb KB  chunked: block size (default 64)\n"
		"  --seed S       generator seed (default 1)\n"
		"\n"
		"One line per mode: rows, matches (the same in every mode), seconds.\n",
		PROG);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, 'm'},  {"rows", required_argument, NULL, 'n'},
		{"file", required_argument, NULL, 'f'},  {"write", required_argument, NULL, 'w'},
		{"match", required_argument, NULL, 'x'}, {"chunk-kb", required_argument, NULL, 'c'},
		{"seed", required_argument, NULL, 's'},  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*o = (struct opts){.mode = M_ALL, .rows = 1000000, .match = "books", .chunk = 64 * 1024, .seed = 1};
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': {
			int found = -1;
			for (int i = 0; i <= M_ALL; i++)
				if (strcmp(optarg, mode_name[i]) == 0)
					found = i;
			if (found < 0) {
				fprintf(stderr, "%s: --mode: '%s' is not one of load, stream, chunked, mmap, all\n", PROG, optarg);
				return -1;
			}
			o->mode = (enum mode)found;
			break;
		}
		case 'n':
			if (sample_parse_long(PROG, "--rows", optarg, 0, 1000000000, &v))
				return -1;
			o->rows = v;
			break;
		case 'f':
			o->file = optarg;
			break;
		case 'w':
			o->write = optarg;
			break;
		case 'x':
			o->match = optarg;
			break;
		case 'c':
			if (sample_parse_long(PROG, "--chunk-kb", optarg, 1, 1024 * 1024, &v))
				return -1;
			o->chunk = (size_t)v * 1024;
			break;
		case 's':
			if (sample_parse_long(PROG, "--seed", optarg, 0, LONG_MAX, &v))
				return -1;
			o->seed = (uint64_t)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		return -1;
	}
	if (o->file && o->write) {
		fprintf(stderr, "%s: --file reads a CSV, --write makes one: give one of them\n", PROG);
		return -1;
	}
	o->match_len = strlen(o->match);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_args(argc, argv, &o) != 0)
		return 2;

	if (o.write) {
		int fd = open(o.write, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "%s: %s: %s\n", PROG, o.write, strerror(errno));
			return 1;
		}
		int rc = write_csv_file(o.write, fd, &o);
		if (close(fd) != 0 && rc == 0) {
			fprintf(stderr, "%s: %s: %s\n", PROG, o.write, strerror(errno));
			rc = -1;
		}
		return rc == 0 ? 0 : 1;
	}

	char tmp[4096];
	const char *path = o.file;
	if (!path) {
		const char *dir = getenv("TMPDIR");
		snprintf(tmp, sizeof tmp, "%s/rows-XXXXXX.csv", dir && *dir ? dir : "/tmp");
		int fd = mkostemps(tmp, 4, O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: cannot create a temporary file in %s: %s\n", PROG, dir && *dir ? dir : "/tmp",
				strerror(errno));
			return 1;
		}
		int rc = write_csv_file(tmp, fd, &o);
		close(fd);
		if (rc != 0) {
			unlink(tmp);
			return 1;
		}
		path = tmp;
	}

	printf("%s: counting rows of %s whose second column is '%s'\n\n", PROG, path, o.match);
	printf("%-8s %10s %10s %8s\n", "mode", "rows", "matches", "seconds");
	fflush(stdout);
	static int (*const run_mode[])(const struct opts *, const char *, struct count *) = {
		[M_LOAD] = run_load, [M_STREAM] = run_stream, [M_CHUNKED] = run_chunked, [M_MMAP] = run_mmap,
	};
	int status = 0;
	for (int m = 0; m < M_ALL; m++) {
		if (o.mode != M_ALL && o.mode != (enum mode)m)
			continue;
		struct count c = {0};
		int64_t t0 = sample_now_ns();
		if (run_mode[m](&o, path, &c) != 0) {
			printf("%-8s FAILED\n", mode_name[m]);
			status = 1;
			continue;
		}
		printf("%-8s %10ld %10ld %8.3f  %s\n", mode_name[m], c.rows, c.matches,
		       (double)(sample_now_ns() - t0) / 1e9, c.note);
		fflush(stdout);
	}
	if (!o.file && unlink(path) != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		status = 1;
	}
	return status;
}
