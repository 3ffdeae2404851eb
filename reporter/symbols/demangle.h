/*
 * demangle.h - C++ (Itanium ABI) demangling behind one call, and the two
 * ways the reporter reads a demangled name: the function it names (for the
 * site-frame rules, model/group.c) and a short form for text views.
 */
#ifndef LDPR_DEMANGLE_H
#define LDPR_DEMANGLE_H

#include <stddef.h>

/* @return a malloc'd demangled name, or NULL when name is not mangled or no
 * demangler is available. */
char *demangle(const char *name);

/*
 * The part of a demangled name that names the function, without a leading
 * return type and from its parameter list on:
 *   "void std::vector<int>::_M_realloc_insert<int const&>(int*, int const&)"
 *   -> "std::vector<int>::_M_realloc_insert<int const&>"
 * Operator names ("operator<<", "operator new", "operator()") and
 * "(anonymous namespace)" are read as names. A name that is not C++ comes
 * back whole. @return its length; *start is where it begins in name.
 */
size_t demangle_qualified(const char *name, size_t *start);

/*
 * name with every template argument list shortened to "<...>":
 *   "std::map<int, std::string>::operator[](int const&)" -> "std::map<...>::operator[](int const&)"
 * A '<' with a space on both sides is not a template's (" < " joins the
 * frames of a traceback key).
 * Written to out (NUL-terminated, cut at cap - 1). @return out.
 */
char *demangle_short(const char *name, char *out, size_t cap);

#endif
