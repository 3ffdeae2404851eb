/*
 * demangle.c - uses libstdc++'s __cxa_demangle, loaded with dlopen: every
 * Debian system has the runtime library, and the reporter then needs no C++
 * toolchain to build. Without it, names stay mangled.
 */
#include "demangle.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

char *demangle(const char *name)
{
	static cxa_demangle_fn fn;
	static int tried;
	if (!name || strncmp(name, "_Z", 2))
		return NULL;
	if (!tried) {
		tried = 1;
		void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
		if (h)
			fn = (cxa_demangle_fn)dlsym(h, "__cxa_demangle");
	}
	if (!fn)
		return NULL;
	int status = 0;
	char *out = fn(name, NULL, NULL, &status);
	return status == 0 ? out : NULL;
}
