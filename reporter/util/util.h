/*
 * util.h - reporter-only helpers: checked allocation, growable arrays,
 * a u64 -> u64 hash map, a string builder. The agent never links these.
 */
#ifndef LDPR_UTIL_H
#define LDPR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Test seams (docs/STYLE: JET_MUTABLE): limits the unit tests lower to
 * reach what lies beyond them cheaply. const in the reporter (the compiler
 * folds them), writable where LDP_TEST is defined (tests/tests.mk builds the
 * modules that have seams a second time for the unit tests). */
#ifdef LDP_TEST
#define LDP_SEAM
#else
#define LDP_SEAM const
#endif

/* Allocation failure in the reporter is fatal: one line, exit 1. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grow *arr (element size esz) so that it holds at least need elements. */
void vec_reserve(void **arr, size_t *cap, size_t need, size_t esz);
#define VEC_PUSH(arr, len, cap, value)                                                                         \
	do {                                                                                                   \
		vec_reserve((void **)&(arr), &(cap), (len) + 1, sizeof *(arr));                                \
		(arr)[(len)++] = (value);                                                                      \
	} while (0)

/* Open-addressed map from nonzero u64 keys to u64 values (linear probing,
 * backward-shift deletion: no tombstones, so heavy churn stays fast). */
struct u64map_slot {
	uint64_t key; /* 0 = empty */
	uint64_t val;
};
struct u64map {
	struct u64map_slot *slots; /* key and value side by side: one cache miss per lookup */
	size_t cap, len;
};
void u64map_init(struct u64map *m, size_t cap_hint);
void u64map_free(struct u64map *m);
/* @return pointer to the value slot, or NULL when absent. */
uint64_t *u64map_get(const struct u64map *m, uint64_t key);
/* Insert or overwrite. @return pointer to the value slot. */
uint64_t *u64map_put(struct u64map *m, uint64_t key, uint64_t val);
int u64map_del(struct u64map *m, uint64_t key, uint64_t *old_val);

struct strbuf {
	char *s;
	size_t len, cap;
};
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *b, const char *fmt, va_list ap);
void sb_putc(struct strbuf *b, char c);
void sb_json_str(struct strbuf *b, const char *s); /* "..." with escapes */
void sb_free(struct strbuf *b);

static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

#endif
