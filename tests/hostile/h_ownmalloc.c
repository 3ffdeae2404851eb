/*
 * h_ownmalloc.c - a program with its own allocator: the malloc family is
 * defined in the executable, so every call (libc's own included) binds to
 * it and the agent sees nothing. Built twice: with OWN_MMAP each block is
 * its own mmap (an allocator that mmaps directly), otherwise blocks come
 * from a static arena. The agent must say so on stderr rather than write
 * an empty trace without a word.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HDR 64 /* keeps every alignment up to 64 */

static unsigned long served;

#ifdef OWN_MMAP
static void *raw(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}
static int mine(const void *p)
{
	(void)p;
	return 1;
}
static void unraw(void *p, size_t n)
{
	munmap(p, n);
}
#else
static _Alignas(4096) unsigned char arena[64 << 20];
static size_t used;
static void *raw(size_t n)
{
	size_t at = __atomic_fetch_add(&used, n, __ATOMIC_RELAXED);
	return at + n <= sizeof arena ? arena + at : NULL;
}
static int mine(const void *p)
{
	return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + sizeof arena;
}
static void unraw(void *p, size_t n)
{
	(void)p;
	(void)n;
}
#endif

static void *own_alloc(size_t n, size_t align)
{
	if (align < HDR)
		align = HDR;
	if (n > (1ul << 40) || (align & (align - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	size_t total = (n + align + HDR + 4095) & ~(size_t)4095;
	unsigned char *b = raw(total);
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	unsigned char *p = (unsigned char *)(((uintptr_t)b + HDR + align - 1) & ~(uintptr_t)(align - 1));
	((size_t *)p)[-1] = n;
	((size_t *)p)[-2] = total;
	((uintptr_t *)p)[-3] = (uintptr_t)b;
	__atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
	return p;
}

void *malloc(size_t n) { return own_alloc(n, 16); }
void *calloc(size_t a, size_t b)
{
	size_t n;
	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return own_alloc(n, 16); /* fresh pages and the arena are zero */
}
void free(void *p)
{
	if (p && mine(p))
		unraw((void *)((uintptr_t *)p)[-3], ((size_t *)p)[-2]);
}
size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-1] : 0; }
void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	void *q = malloc(n);
	if (q) {
		size_t old = ((size_t *)p)[-1];
		memcpy(q, p, old < n ? old : n);
		free(p);
	}
	return q;
}
int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = own_alloc(n, align);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
void *aligned_alloc(size_t align, size_t n) { return own_alloc(n, align); }
void *memalign(size_t align, size_t n) { return own_alloc(n, align); }
void *valloc(size_t n) { return own_alloc(n, 4096); }
void *pvalloc(size_t n) { return own_alloc((n + 4095) & ~(size_t)4095, 4096); }

int main(void)
{
	char *words[100];
	for (int i = 0; i < 100; i++) {
		words[i] = malloc(32);
		snprintf(words[i], 32, "word-%d", i);
	}
	char *joined = calloc(1, 1);
	for (int i = 0; i < 100; i++) {
		size_t len = strlen(joined);
		joined = realloc(joined, len + strlen(words[i]) + 2);
		strcat(joined, words[i]);
		strcat(joined, " ");
		free(words[i]);
	}
	printf("own allocator: joined %zu bytes, %s\n", strlen(joined),
	       served >= 200 ? "every block served by the program's own malloc" : "too few blocks served");
	free(joined);
	return served >= 200 ? 0 : 99;
}
