/*
 * demangle.h - C++ (Itanium ABI) demangling behind one call.
 */
#ifndef LDPR_DEMANGLE_H
#define LDPR_DEMANGLE_H

/* @return a malloc'd demangled name, or NULL when name is not mangled or no
 * demangler is available. */
char *demangle(const char *name);

#endif
