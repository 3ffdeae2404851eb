/*
 * entrypoints.h - the agent's interposed functions as the reporter sees them
 * in a symbolized stack: names from the one table both sides share
 * (include/ldprof/entrypoints.h), C++ ones demangled.
 */
#ifndef LDPR_ENTRYPOINTS_H
#define LDPR_ENTRYPOINTS_H

/* Is function (a symbolized frame's name) one the agent interposes that
 * makes or resizes a block (malloc, operator new[], mallocx...)? */
int ep_is_allocation(const char *function);
/* Is it any function the agent interposes? */
int ep_is_interposed(const char *function);

#endif
