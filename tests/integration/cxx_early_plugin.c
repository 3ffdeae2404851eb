/*
 * cxx_early_plugin.c - a library cxx_early is linked against, whose
 * constructor allocates: it runs before the agent's (a preloaded library is
 * initialised after the libraries it does not depend on), as plugins' and
 * libstdc++'s do. Every size is a multiple of 16, so valgrind's allocator
 * adds no slop and massif's peak is the heap's (run.sh, cxx_massif).
 */
#include <stdlib.h>

static void *kept[3];

__attribute__((constructor, noinline)) static void plugin_init(void)
{
	kept[0] = malloc(4096);       /* leaked */
	kept[1] = malloc(10016);      /* freed by main (plugin_release) */
	void *tmp = malloc(48);       /* freed here, before the agent starts */
	free(tmp);
	kept[2] = calloc(4, 64);      /* leaked */
}

void plugin_release(void);
void plugin_release(void)
{
	free(kept[1]);
	kept[1] = NULL;
}
