/*
 * jemalloc_api.c - jemalloc's own API called directly (mallocx, rallocx,
 * xallocx, sallocx, dallocx, sdallocx), counted by the program itself; linked
 * with -ljemalloc (integration test cxx_allocators). Every block is made in
 * api_site, so the report's group for that function is the program's own.
 */
#include <jemalloc/jemalloc.h>
#include <stdio.h>

static unsigned long allocations, alloc_bytes, frees;
void *volatile sink;

/* op 0 mallocx, 1 rallocx of p, 2 xallocx of p (in place). */
__attribute__((noinline)) void *api_site(int op, void *p, size_t n, int flags)
{
	if (op == 0) {
		allocations++;
		alloc_bytes += n;
		return mallocx(n, flags);
	}
	if (op == 1) {
		void *q = rallocx(p, n, flags);
		if (q) { /* the old block's free, the new block */
			frees++;
			allocations++;
			alloc_bytes += n;
		}
		return q;
	}
	size_t before = sallocx(p, 0);
	size_t after = xallocx(p, n, 0, flags);
	if (after != before) { /* resized in place: the old size freed, the new one allocated */
		frees++;
		allocations++;
		alloc_bytes += after;
	}
	return p;
}

int main(void)
{
	for (int i = 0; i < 10000; i++) {
		size_t n = 16 + (size_t)(i % 61) * 24;
		int flags = i % 3 == 0 ? MALLOCX_ZERO : i % 3 == 1 ? MALLOCX_ALIGN(64) : 0;
		void *p = api_site(0, NULL, n, flags);
		p = api_site(1, p, n * 3, 0);
		p = api_site(2, p, n / 2, 0);
		sink = p;
		frees++;
		if (i % 2)
			dallocx(p, 0);
		else
			sdallocx(p, sallocx(p, 0), 0);
	}
	void *keep = api_site(0, NULL, 4096, 0); /* leaked on purpose */
	sink = keep;
	printf("allocations %lu\nbytes %lu\nfrees %lu\n", allocations, alloc_bytes, frees);
	return 0;
}
