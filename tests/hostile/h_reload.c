/*
 * h_reload.c - a library loaded again where it was, after another library
 * was loaded over part of that range: which object a stack's addresses
 * belong to depends on when the stack was recorded.
 *
 *   liba (preferred address 0x10000000) allocates 100 blocks (from one_way)
 *   dlclose; libb (preferred address one page above, over liba's range)
 *   allocates 50 blocks; dlclose
 *   liba again, at its old address: 100 blocks from one_way (the stacks of
 *   its first load again) and 70 from other_way (new stacks)
 * Built without PIE, so the loader honours the libraries' preferred
 * addresses. Prints where each load landed; exits 3 when they did not
 * overlap as planned (nothing to test then).
 *   usage: h_reload LIBA LIBB
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>

#include "hostile.h"

typedef void *(*alloc_fn)(size_t);

__attribute__((noinline)) static void one_way(alloc_fn f, int n, void **out)
{
	for (int i = 0; i < n; i++)
		out[i] = f(24);
}

__attribute__((noinline)) static void other_way(alloc_fn f, int n, void **out)
{
	for (int i = 0; i < n; i++)
		out[i] = f(40);
}

static uintptr_t text_of(void *fn)
{
	Dl_info info;
	return dladdr(fn, &info) ? (uintptr_t)info.dli_saddr : 0;
}

static void *blocks[400];
static int nblocks;

static alloc_fn load(const char *path, const char *name, void **h)
{
	*h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*h) {
		fprintf(stderr, "h_reload: %s\n", dlerror());
		exit(1);
	}
	alloc_fn f = (alloc_fn)dlsym(*h, name);
	if (!f)
		exit(1);
	return f;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	void *h;
	alloc_fn a = load(argv[1], "ov_a_alloc", &h);
	uintptr_t a1 = text_of((void *)a);
	one_way(a, 100, blocks + nblocks);
	nblocks += 100;
	dlclose(h);
	alloc_fn b = load(argv[2], "ov_b_alloc", &h);
	uintptr_t b1 = text_of((void *)b);
	one_way(b, 50, blocks + nblocks);
	nblocks += 50;
	dlclose(h);
	a = load(argv[1], "ov_a_alloc", &h);
	uintptr_t a2 = text_of((void *)a);
	one_way(a, 100, blocks + nblocks);
	nblocks += 100;
	other_way(a, 70, blocks + nblocks);
	nblocks += 70;
	dlclose(h);
	for (int i = 0; i < nblocks; i++)
		free(blocks[i]);
	printf("liba at %#lx, libb at %#lx, liba again at %#lx\n", (unsigned long)a1, (unsigned long)b1,
	       (unsigned long)a2);
	/* libb's first page must lie over liba's code, and liba come back */
	return a1 == a2 && b1 - 0x1000 <= a1 && a1 < b1 ? 0 : 3;
}
