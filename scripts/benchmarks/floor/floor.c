/*
 * floor.c - the minimal interposer: the bench's floor for sampled mode.
 *
 * LD_PRELOAD=libfloor.so PROGRAM: malloc, free, calloc and realloc call
 * glibc's __libc_* entry points and nothing else. What any LD_PRELOAD
 * malloc interposer costs at the least (a PLT call into the library and a
 * call on to glibc); ldprof's sampled mode is measured against it.
 */
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void free(void *p)
{
	__libc_free(p);
}

void *calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return __libc_realloc(p, n);
}
