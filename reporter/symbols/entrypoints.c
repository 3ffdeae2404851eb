/*
 * entrypoints.c - the table of interposed functions, by the names frames
 * carry: "malloc", "operator new[](unsigned long)" (or "operator new[]"
 * where the symbolizer gives no parameters).
 */
#include "symbols/entrypoints.h"

#include <stdlib.h>
#include <string.h>

#include "ldprof/entrypoints.h"
#include "symbols/demangle.h"

struct entry {
	const char *symbol;
	enum ldp_ep_kind kind;
	char *shown;   /* demangled, or the symbol itself */
	size_t base;   /* length of shown up to its parameter list */
};

#define EP_ROW(family, name, kind, ret, params) {#name, LDP_EPK_##kind, NULL, 0},
static struct entry table[] = {LDP_ENTRYPOINTS(EP_ROW)};
#define NENTRIES (sizeof table / sizeof *table)

static void load(void)
{
	static int loaded;
	if (loaded)
		return;
	loaded = 1;
	for (size_t i = 0; i < NENTRIES; i++) {
		char *d = demangle(table[i].symbol);
		table[i].shown = d ? d : (char *)table[i].symbol;
		char *paren = strchr(table[i].shown, '(');
		table[i].base = paren ? (size_t)(paren - table[i].shown) : strlen(table[i].shown);
	}
}

static int same(const struct entry *e, const char *fn)
{
	return !strcmp(fn, e->shown) || (!strncmp(fn, e->shown, e->base) && (fn[e->base] == '\0' || fn[e->base] == '('));
}

static int find(const char *fn, int allocations_only)
{
	if (!fn)
		return 0;
	load();
	for (size_t i = 0; i < NENTRIES; i++)
		if ((!allocations_only || table[i].kind == LDP_EPK_ALLOC || table[i].kind == LDP_EPK_REALLOC) &&
		    same(&table[i], fn))
			return 1;
	return 0;
}

int ep_is_allocation(const char *function)
{
	return find(function, 1);
}

int ep_is_interposed(const char *function)
{
	return find(function, 0);
}
