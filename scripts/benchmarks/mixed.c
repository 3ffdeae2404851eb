/*
 * mixed.c - a program-like mix of allocations: a binary search tree (insert,
 * delete, small nodes at varying recursion depths), strings (formatted,
 * duplicated, concatenated), vectors grown by realloc, and a chained hash
 * table that is rehashed as it grows. Deterministic (fixed seed).
 *
 * usage: mixed SCALE      (SCALE 1 is about a million events)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned long sink;
static uint64_t seed = 88172645463325252ull;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* ---- tree ---- */
struct node {
	uint64_t key;
	struct node *l, *r;
	char *label;
};

__attribute__((noinline)) static struct node *insert(struct node *n, uint64_t key)
{
	if (!n) {
		n = calloc(1, sizeof *n);
		n->key = key;
		if (key % 4 == 0) {
			n->label = malloc(24);
			snprintf(n->label, 24, "k%llu", (unsigned long long)(key % 100000));
		}
		return n;
	}
	if (key < n->key)
		n->l = insert(n->l, key);
	else if (key > n->key)
		n->r = insert(n->r, key);
	return n;
}

__attribute__((noinline)) static struct node *erase(struct node *n, uint64_t key)
{
	if (!n)
		return NULL;
	if (key < n->key) {
		n->l = erase(n->l, key);
		return n;
	}
	if (key > n->key) {
		n->r = erase(n->r, key);
		return n;
	}
	if (!n->l || !n->r) {
		struct node *c = n->l ? n->l : n->r;
		free(n->label);
		free(n);
		return c;
	}
	struct node *m = n->r;
	while (m->l)
		m = m->l;
	n->key = m->key;
	char *t = n->label;
	n->label = m->label;
	m->label = t;
	n->r = erase(n->r, m->key);
	return n;
}

static void destroy(struct node *n)
{
	if (!n)
		return;
	destroy(n->l);
	destroy(n->r);
	free(n->label);
	free(n);
}

__attribute__((noinline)) static void trees(long n)
{
	struct node *root = NULL;
	uint64_t *keys = malloc((size_t)n * sizeof *keys);
	for (long i = 0; i < n; i++) {
		keys[i] = rnd() % (uint64_t)(n * 4);
		root = insert(root, keys[i]);
	}
	for (long i = 0; i < n; i += 2)
		root = erase(root, keys[i]);
	for (long i = 0; i < n / 2; i++)
		root = insert(root, rnd() % (uint64_t)(n * 4));
	destroy(root);
	free(keys);
}

/* ---- strings ---- */
__attribute__((noinline)) static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

__attribute__((noinline)) static void strings(long n)
{
	char **keep = calloc((size_t)n, sizeof *keep);
	for (long i = 0; i < n; i++) {
		char buf[64];
		snprintf(buf, sizeof buf, "item-%ld-%llx", i, (unsigned long long)(rnd() & 0xffff));
		char *a = strdup(buf);
		char *b = concat(a, "/suffix");
		free(a);
		keep[i] = b;
		if (i % 3 == 0 && i) {
			free(keep[i - 1]);
			keep[i - 1] = NULL;
		}
	}
	for (long i = 0; i < n; i++)
		free(keep[i]);
	free(keep);
}

/* ---- vectors grown by realloc ---- */
__attribute__((noinline)) static void vectors(long n)
{
	for (long v = 0; v < n / 100; v++) {
		size_t cap = 0, len = 0;
		int *a = NULL;
		long items = 50 + (long)(rnd() % 150);
		for (long i = 0; i < items; i++) {
			if (len == cap) {
				cap = cap ? cap + cap / 2 + 1 : 4;
				a = realloc(a, cap * sizeof *a);
			}
			a[len++] = (int)i;
		}
		sink += (unsigned long)a[len - 1];
		free(a);
	}
}

/* ---- hash table with chaining, rehashed as it grows ---- */
struct entry {
	uint64_t key;
	struct entry *next;
};

__attribute__((noinline)) static void hashing(long n)
{
	size_t cap = 16, count = 0;
	struct entry **t = calloc(cap, sizeof *t);
	for (long i = 0; i < n; i++) {
		uint64_t k = rnd();
		struct entry *e = malloc(sizeof *e);
		e->key = k;
		e->next = t[k & (cap - 1)];
		t[k & (cap - 1)] = e;
		if (++count > cap) {
			struct entry **nt = calloc(cap * 2, sizeof *nt);
			for (size_t b = 0; b < cap; b++)
				for (struct entry *x = t[b], *nx; x; x = nx) {
					nx = x->next;
					x->next = nt[x->key & (cap * 2 - 1)];
					nt[x->key & (cap * 2 - 1)] = x;
				}
			free(t);
			t = nt;
			cap *= 2;
		}
	}
	for (size_t b = 0; b < cap; b++)
		for (struct entry *x = t[b], *nx; x; x = nx) {
			nx = x->next;
			free(x);
		}
	free(t);
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;
	for (long s = 0; s < scale; s++) {
		trees(100000);
		strings(100000);
		vectors(100000);
		hashing(100000);
	}
	printf("%lu\n", sink & 1);
	return 0;
}
