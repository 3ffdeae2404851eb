/*
 * loaded.h - a trace loaded for reporting: the model of every process image
 * (model/tmodel.h) and a symbol space for each (symbols/symbolizer.h).
 */
#ifndef LDPR_LOADED_H
#define LDPR_LOADED_H

#include "model/tmodel.h"
#include "symbols/symbolizer.h"

/* A trace loaded for reporting: its model and one symbol space per segment. */
struct loaded {
	struct tmodel m;
	struct sym_space **spaces;
};

/* Load a trace (flags: TM_* of tmodel.h) and give each of its process
 * images a symbol space. @return 0, or -1 with err set. */
int loaded_load(struct loaded *t, const char *path, struct symbolizer *sym, unsigned flags, struct rd_error *err);
void loaded_free(struct loaded *t);

#endif
