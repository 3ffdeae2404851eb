/*
 * h_deepbind.c - a library loaded with RTLD_DEEPBIND allocates.
 *
 * libhostile_deep.so is found by its bare name through this program's
 * DT_RUNPATH ($ORIGIN) only, and loaded three times: RTLD_NOW |
 * RTLD_DEEPBIND, RTLD_LAZY | RTLD_DEEPBIND (slots not bound yet), and plain
 * RTLD_NOW. Each time it makes ROUNDS rounds of allocations through every
 * entry point (hd_deep_work), frees blocks the program made, and hands
 * GIVE blocks to the program, which frees them; then it is closed.
 * Prints what it did; the runner checks that the trace attributes exactly
 * 3 * ROUNDS * 8 allocations to hd_deep_work, all freed.
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <dlfcn.h>

#define ROUNDS 500
#define GIVE 50

int main(void)
{
	const int modes[] = {RTLD_NOW | RTLD_DEEPBIND, RTLD_LAZY | RTLD_DEEPBIND, RTLD_NOW};
	const char *names[] = {"RTLD_NOW|RTLD_DEEPBIND", "RTLD_LAZY|RTLD_DEEPBIND", "RTLD_NOW"};
	for (int m = 0; m < 3; m++) {
		void *h = dlopen("libhostile_deep.so", modes[m]); /* found through our RUNPATH only */
		CHECK(h, "dlopen(%s): %s", names[m], dlerror());
		unsigned long (*work)(unsigned, void **, unsigned) =
			(unsigned long (*)(unsigned, void **, unsigned))dlsym(h, "hd_deep_work");
		void (*lib_free)(void *) = (void (*)(void *))dlsym(h, "hd_deep_free");
		CHECK(work && lib_free, "dlsym: %s", dlerror());
		void *give[GIVE];
		CHECK(work(ROUNDS, give, GIVE) == ROUNDS * 8UL, "hd_deep_work");
		for (unsigned i = 0; i < GIVE; i++) {
			CHECK(((unsigned char *)give[i])[299] == 1, "a block from the library is corrupt");
			free(give[i]); /* the library's block, freed by the program */
			lib_free(pattern_alloc(64, 5, i)); /* the program's block, freed by the library */
		}
		CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
		say("%s: the library allocated %u blocks, freed %u of the program's\n", names[m], ROUNDS * 8, GIVE);
	}
	return 0;
}
