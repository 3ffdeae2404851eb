/*
 * h_dlopen.c LIB SIDEFILE - dlopen/dlclose of a library that allocates.
 *
 * Loads LIB three times (RTLD_NOW, RTLD_LAZY, RTLD_DEEPBIND), allocates
 * through it, dlcloses it, and frees some of its blocks after it is gone.
 * With RTLD_DEEPBIND the library binds malloc straight to libc; the agent
 * redirects its slots after dlopen (deepbind.c, and h_deepbind.c for the
 * exact counts).
 * The address range of the library's code while loaded is written to
 * SIDEFILE ("lo hi" per load) for the runner to find in the trace.
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <dlfcn.h>
#include <link.h>


struct range {
	const char *path;
	uintptr_t lo, hi;
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct range *r = arg;
	if (!info->dlpi_name || !strstr(info->dlpi_name, r->path))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			r->lo = info->dlpi_addr + ph->p_vaddr;
			r->hi = r->lo + ph->p_memsz;
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	CHECK(argc == 3, "usage: h_dlopen LIB SIDEFILE");
	FILE *side = fopen(argv[2], "w");
	CHECK(side, "%s: %s", argv[2], strerror(errno));
	const int modes[] = {RTLD_NOW, RTLD_LAZY, RTLD_NOW | RTLD_DEEPBIND};
	void *survivors[3 * 50];
	unsigned ns = 0;
	for (int round = 0; round < 3; round++) {
		void *h = dlopen(argv[1], modes[round]);
		CHECK(h, "dlopen: %s", dlerror());
		void *(*hd_alloc)(size_t) = (void *(*)(size_t))dlsym(h, "hd_alloc");
		void (*hd_free)(void *) = (void (*)(void *))dlsym(h, "hd_free");
		CHECK(hd_alloc && hd_free, "dlsym: %s", dlerror());
		struct range r = {"libhostile_dl.so", 0, 0};
		dl_iterate_phdr(find_cb, &r);
		CHECK(r.hi > r.lo, "library not found by dl_iterate_phdr");
		fprintf(side, "%lx %lx\n", (unsigned long)r.lo, (unsigned long)r.hi);
		for (unsigned i = 0; i < 100; i++) {
			unsigned char *p = hd_alloc(50 + i);
			CHECK(p && p[0] == 0x5a && p[49 + i] == 0x5a, "hd_alloc");
			if (i % 2)
				hd_free(p); /* freed inside the library */
			else
				survivors[ns++] = p;
		}
		/* A block of ours freed by the library (with DEEPBIND: by libc directly). */
		hd_free(malloc(77));
		CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
	}
	for (unsigned i = 0; i < ns; i++)
		free(survivors[i]); /* the module that allocated them is gone */
	fclose(side);
	printf("dlopen: 3 loads, %u blocks outlived their module\n", ns);
	return 0;
}
