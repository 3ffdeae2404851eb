// cxx_alloc.cpp - the C++ operator new/delete family, every form, counted by
// the program itself. Built three ways (glibc, -ltcmalloc, -ljemalloc): the
// allocator's own operator new must be recorded as the glibc build's is,
// once per block (integration test cxx_allocators). All its blocks are made
// in one function, alloc_site, so the report's group for that function is
// exactly the program's own.
#include <cstdio>
#include <cstdlib>
#include <new>

struct alignas(64) Line {
	char bytes[64];
};

static unsigned long allocations, alloc_bytes;
void *volatile sink;

#define COUNT(n) (allocations++, alloc_bytes += (n))

__attribute__((noinline)) void *alloc_site(int form, size_t n)
{
	switch (form) {
	case 0: COUNT(n); return ::operator new(n);
	case 1: COUNT(n); return ::operator new[](n);
	case 2: COUNT(n); return ::operator new(n, std::nothrow);
	case 3: COUNT(n); return ::operator new[](n, std::nothrow);
	case 4: COUNT(n); return ::operator new(n, std::align_val_t(64));
	case 5: COUNT(n); return ::operator new[](n, std::align_val_t(64));
	case 6: COUNT(n); return ::operator new(n, std::align_val_t(64), std::nothrow);
	default: COUNT(n); return ::operator new[](n, std::align_val_t(64), std::nothrow);
	}
}

__attribute__((noinline)) void free_site(int form, void *p, size_t n, int sized)
{
	switch (form) {
	case 0: sized ? ::operator delete(p, n) : ::operator delete(p); break;
	case 1: sized ? ::operator delete[](p, n) : ::operator delete[](p); break;
	case 2: ::operator delete(p, std::nothrow); break;
	case 3: ::operator delete[](p, std::nothrow); break;
	case 4: sized ? ::operator delete(p, n, std::align_val_t(64)) : ::operator delete(p, std::align_val_t(64)); break;
	case 5: sized ? ::operator delete[](p, n, std::align_val_t(64)) : ::operator delete[](p, std::align_val_t(64)); break;
	case 6: ::operator delete(p, std::align_val_t(64), std::nothrow); break;
	default: ::operator delete[](p, std::align_val_t(64), std::nothrow); break;
	}
}

int main()
{
	// 40,000 blocks through every form, freed through every delete, 2 kept.
	for (int i = 0; i < 40000; i++) {
		int form = i % 8;
		size_t n = 16 + (size_t)(i % 97) * 8;
		void *p = alloc_site(form, n);
		sink = p;
		free_site(form, p, n, (i / 8) % 2);
	}
	void *keep1 = alloc_site(0, 1000), *keep2 = alloc_site(4, 2000); // leaked on purpose
	sink = keep1;
	sink = keep2;
	std::printf("allocations %lu\nbytes %lu\nleaked_blocks 2\nleaked_bytes 3000\n", allocations, alloc_bytes);
	return 0;
}
