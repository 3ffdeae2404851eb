/*
 * util.h - reporter-only helpers: checked allocation, growable arrays,
 * the reporter's one hash table (u64map), a string builder. The agent never
 * links these.
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

/* Zeroed memory for a hash table's slots, freed with table_free(p, same
 * bytes). Slots are touched at random: past 2 MiB the memory is mapped on
 * its own with huge pages asked for (madvise), since in 4 KiB pages the
 * first touch of each page (a fault, dear in a VM) and the TLB misses after
 * it cost more than the probes. */
void *table_alloc(size_t bytes);
void table_free(void *p, size_t bytes);
/* Grow *arr (element size esz, *cap elements) to hold at least need, the
 * new elements zeroed, in table memory: for arrays indexed by stack id,
 * touched all over. Free with table_free(*arr, *cap * esz). */
void table_reserve(void **arr, size_t *cap, size_t need, size_t esz);

/* Many small blocks freed all at once (a trace's stacks' addresses): bump
 * allocation from chunks of table memory, so the heap's growth does not
 * fault in a page at a time. */
struct arena {
	struct arena_chunk *head;
	unsigned nchunks; /* chunks double from 64 KiB to 4 MiB: a small trace stays small */
};
void *arena_alloc(struct arena *a, size_t n); /* 16-byte aligned, uninitialised */
/* p, the last arena_alloc's block, needs only its first `used` bytes: the
 * rest goes back to the arena (for a block sized for the worst case). */
void arena_unused(struct arena *a, void *p, size_t used);
void arena_free(struct arena *a);

/* Grow *arr (element size esz) so that it holds at least need elements. */
void vec_reserve(void **arr, size_t *cap, size_t need, size_t esz);
#define VEC_PUSH(arr, len, cap, value)                                                                         \
	do {                                                                                                   \
		vec_reserve((void **)&(arr), &(cap), (len) + 1, sizeof *(arr));                                \
		(arr)[(len)++] = (value);                                                                      \
	} while (0)

/*
 * The reporter's hash table: open-addressed, from nonzero u64 keys to u64
 * values (linear probing, backward-shift deletion: no tombstones, so heavy
 * churn stays fast). Two ways to use it:
 *
 *  - a map: the key is the thing itself (an address, an interned pointer):
 *    u64map_get, u64map_put, u64map_del;
 *  - an index of the caller's items by their hash: the key is the item's
 *    hash (hash_u64, hash_str), the value names the item (its index in the
 *    caller's array, a pointer), and equal hashes are told apart by the
 *    caller's test: u64map_find, then u64map_add for a new item.
 */
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
/* One probe where get-then-put or get-then-del would take two (the heap
 * model's live blocks, once per event): the value slot of key, inserted
 * (value 0) when absent, *found saying which; and the removal of the entry
 * whose value slot u64map_get or u64map_slot returned. */
uint64_t *u64map_slot(struct u64map *m, uint64_t key, int *found);
void u64map_del_at(struct u64map *m, uint64_t *val_slot);
/* The value of the entry with this hash for which same(ctx, value) holds,
 * or NULL. A hash of 0 is taken as 1 (by u64map_add too). */
uint64_t *u64map_find(const struct u64map *m, uint64_t hash, int (*same)(const void *ctx, uint64_t val),
		      const void *ctx);
/* A new entry, even when others have the same hash. @return its value slot. */
uint64_t *u64map_add(struct u64map *m, uint64_t hash, uint64_t val);

struct strbuf {
	char *s;
	size_t len, cap;
};
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *b, const char *fmt, va_list ap);
void sb_putc(struct strbuf *b, char c);
void sb_free(struct strbuf *b);

/* Backward-shift deletion in a linear-probed table (u64map, model/blocks.c):
 * may the entry at slot j, whose home slot is home, move back into the hole
 * at slot hole? Only if its home does not lie in (hole, j], the probe run
 * wrapping around the table's end. */
static inline int probe_may_fill(size_t home, size_t hole, size_t j)
{
	return hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
}

static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* 64-bit FNV-1a of a string (not NULL). */
static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

#endif
