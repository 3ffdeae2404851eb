/*
 * util.c - see util.h.
 */
#define _GNU_SOURCE /* mremap */
#include "util.h"

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE (2u << 20)

static void oom(void)
{
	fputs("ldprof: out of memory\n", stderr);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Mapped tables are whole huge pages, aligned: so the kernel can back them
 * with huge pages from the first byte, and table_reserve can move one into
 * a bigger one a page table entry at a time. */
static size_t mapped_size(size_t bytes)
{
	return (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

void *table_alloc(size_t bytes)
{
	if (bytes < HUGE_PAGE)
		return xcalloc(1, bytes);
	size_t len = mapped_size(bytes);
	char *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		oom();
	char *p = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (m + HUGE_PAGE > p)
		munmap(p + len, (size_t)(m + HUGE_PAGE - p));
	madvise(p, len, MADV_HUGEPAGE); /* a hint: without THP it works as well */
	return p;
}

void table_free(void *p, size_t bytes)
{
	if (bytes < HUGE_PAGE)
		free(p);
	else if (p)
		munmap(p, mapped_size(bytes));
}

void table_reserve(void **arr, size_t *cap, size_t need, size_t esz)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / esz)
		oom();
	size_t old_bytes = *cap * esz;
	void *p = table_alloc(c * esz);
	if (old_bytes >= HUGE_PAGE &&
	    mremap(*arr, mapped_size(old_bytes), mapped_size(old_bytes), MREMAP_MAYMOVE | MREMAP_FIXED, p) == p) {
		/* Both mapped: the old pages move into the start of the new table,
		 * page tables and all. Copying them wrote every byte again into
		 * fresh pages the kernel had to zero first: growing mixed's 163,545
		 * sites (128 bytes each) that way was a tenth of its report. */
		*arr = p;
		*cap = c;
		return;
	}
	if (*cap)
		memcpy(p, *arr, old_bytes);
	table_free(*arr, old_bytes);
	*arr = p;
	*cap = c;
}

#define ARENA_CHUNK (4u << 20)

struct arena_chunk {
	struct arena_chunk *next;
	size_t bytes, used;
	_Alignas(16) unsigned char data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_chunk *c = a->head;
	if (!c || c->bytes - c->used < n) {
		size_t want = a->nchunks < 6 ? (size_t)(64u << 10) << a->nchunks : ARENA_CHUNK;
		size_t bytes = n + sizeof *c > want ? n + sizeof *c : want;
		a->nchunks++;
		c = table_alloc(bytes);
		c->bytes = bytes - sizeof *c;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

void arena_unused(struct arena *a, void *p, size_t used)
{
	struct arena_chunk *c = a->head;
	size_t off = (size_t)((unsigned char *)p - c->data);
	used = (used + 15) & ~(size_t)15;
	if (off + used < c->used)
		c->used = off + used;
}

void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *c = a->head;
		a->head = c->next;
		table_free(c, c->bytes + sizeof *c);
	}
	a->nchunks = 0;
}

void vec_reserve(void **arr, size_t *cap, size_t need, size_t esz)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 8;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / esz)
		oom();
	*arr = xrealloc(*arr, c * esz);
	*cap = c;
}

void u64map_init(struct u64map *m, size_t hint)
{
	size_t cap = 16;
	while (cap < hint * 2)
		cap *= 2;
	if (cap > SIZE_MAX / sizeof *m->slots)
		oom();
	m->slots = table_alloc(cap * sizeof *m->slots);
	m->cap = cap;
	m->len = 0;
}

void u64map_free(struct u64map *m)
{
	table_free(m->slots, m->cap * sizeof *m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

uint64_t *u64map_get(const struct u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		struct u64map_slot *sl = &m->slots[i];
		if (sl->key == key)
			return &sl->val;
		if (!sl->key)
			return NULL;
	}
}

static void grow(struct u64map *m)
{
	struct u64map n;
	u64map_init(&n, m->cap);
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			u64map_add(&n, m->slots[i].key, m->slots[i].val); /* keys may repeat (u64map_add) */
	u64map_free(m);
	*m = n;
}

/* The slot of key (or of the entry with this key for which same() holds:
 * same NULL means any), or the empty slot that ends its probe run. */
static inline __attribute__((always_inline)) struct u64map_slot *probe(const struct u64map *m, uint64_t key, int (*same)(const void *, uint64_t),
				 const void *ctx)
{
	size_t mask = m->cap - 1;
	size_t i = hash_u64(key) & mask;
	while (m->slots[i].key && (m->slots[i].key != key || (same && !same(ctx, m->slots[i].val))))
		i = (i + 1) & mask;
	return &m->slots[i];
}

uint64_t *u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	if ((m->len + 1) * 10 > m->cap * 7)
		grow(m);
	struct u64map_slot *sl = probe(m, key, NULL, NULL);
	if (!sl->key) {
		sl->key = key;
		m->len++;
	}
	sl->val = val;
	return &sl->val;
}

uint64_t *u64map_find(const struct u64map *m, uint64_t hash, int (*same)(const void *ctx, uint64_t val),
		      const void *ctx)
{
	struct u64map_slot *sl = probe(m, hash ? hash : 1, same, ctx);
	return sl->key ? &sl->val : NULL;
}

uint64_t *u64map_add(struct u64map *m, uint64_t hash, uint64_t val)
{
	if ((m->len + 1) * 10 > m->cap * 7)
		grow(m);
	size_t mask = m->cap - 1;
	size_t i = hash_u64(hash ? hash : 1) & mask;
	while (m->slots[i].key)
		i = (i + 1) & mask;
	m->slots[i] = (struct u64map_slot){hash ? hash : 1, val};
	m->len++;
	return &m->slots[i].val;
}

uint64_t *u64map_slot(struct u64map *m, uint64_t key, int *found)
{
	if ((m->len + 1) * 10 > m->cap * 7)
		grow(m);
	struct u64map_slot *sl = probe(m, key, NULL, NULL);
	*found = sl->key != 0;
	if (!sl->key) {
		sl->key = key;
		sl->val = 0;
		m->len++;
	}
	return &sl->val;
}

static void del_index(struct u64map *m, size_t i);

int u64map_del(struct u64map *m, uint64_t key, uint64_t *old)
{
	size_t mask = m->cap - 1;
	size_t i = hash_u64(key) & mask;
	while (m->slots[i].key != key) {
		if (!m->slots[i].key)
			return 0;
		i = (i + 1) & mask;
	}
	if (old)
		*old = m->slots[i].val;
	del_index(m, i);
	return 1;
}

void u64map_del_at(struct u64map *m, uint64_t *val_slot)
{
	struct u64map_slot *sl = (struct u64map_slot *)((char *)val_slot - offsetof(struct u64map_slot, val));
	del_index(m, (size_t)(sl - m->slots));
}

static void del_index(struct u64map *m, size_t i)
{
	size_t mask = m->cap - 1;
	/* Backward-shift: move later members of the probe run into the hole. */
	size_t hole = i;
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		if (probe_may_fill(hash_u64(m->slots[j].key) & mask, hole, j)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].key = 0;
	m->len--;
}

void sb_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	vec_reserve((void **)&b->s, &b->cap, b->len + (size_t)n + 1, 1);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

void sb_putc(struct strbuf *b, char c)
{
	vec_reserve((void **)&b->s, &b->cap, b->len + 2, 1);
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

void sb_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
