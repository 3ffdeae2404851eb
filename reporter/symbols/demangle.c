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

/* ---- reading demangled names ---- */

/* At p (a word boundary), "operator" and its symbol: @return the length of
 * both ("operator<<" 10, "operator()" 10, "operator new" 8: the word only,
 * its space is read as a space), or 0. */
static size_t operator_len(const char *p)
{
	static const char *const syms[] = {"<=>", "<<=", ">>=", "->*", "()", "[]", "<<", ">>", "<=", ">=", "->", "<", ">"};
	if (strncmp(p, "operator", 8))
		return 0;
	const char *q = p + 8;
	for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
		if (!strncmp(q, syms[i], strlen(syms[i])))
			return 8 + strlen(syms[i]);
	return 8;
}

static int word_start(const char *name, const char *p)
{
	return p == name || p[-1] == ' ' || p[-1] == ':' || p[-1] == '(' || p[-1] == '<' || p[-1] == ',';
}

#define ANON "(anonymous namespace)"

size_t demangle_qualified(const char *name, size_t *start)
{
	*start = 0;
	if (!name)
		return 0;
	int depth = 0, seen_operator = 0;
	size_t from = 0;
	for (const char *p = name; *p; p++) {
		if (!strncmp(p, ANON, sizeof ANON - 1)) {
			p += sizeof ANON - 2;
			continue;
		}
		size_t op = word_start(name, p) ? operator_len(p) : 0;
		if (op) {
			if (!depth)
				seen_operator = 1;
			p += op - 1;
			continue;
		}
		switch (*p) {
		case '<': case '[': case '{': depth++; break;
		case '>': case ']': case '}': if (depth) depth--; break;
		case '(':
			if (!depth) {
				*start = from;
				return (size_t)(p - name) - from;
			}
			depth++;
			break;
		case ')': if (depth) depth--; break;
		case ' ':
			/* a return type ends at a space outside brackets (not the one in "operator new") */
			if (!depth && !seen_operator)
				from = (size_t)(p - name) + 1;
			break;
		default: break;
		}
	}
	*start = 0;
	return strlen(name); /* not a C++ function name: all of it */
}

char *demangle_short(const char *name, char *out, size_t cap)
{
	size_t n = 0;
	int depth = 0;
	if (!cap)
		return out;
#define PUT(c) do { if (n + 1 < cap) out[n++] = (c); } while (0)
	for (const char *p = name ? name : ""; *p; p++) {
		if (!strncmp(p, ANON, sizeof ANON - 1) || (word_start(name, p) && operator_len(p))) {
			size_t k = !strncmp(p, ANON, sizeof ANON - 1) ? sizeof ANON - 1 : operator_len(p);
			for (size_t i = 0; i < k; i++)
				if (!depth)
					PUT(p[i]);
			p += k - 1;
			continue;
		}
		if (*p == '<' && !(p > name && p[-1] == ' ' && p[1] == ' ')) { /* " < " joins a traceback key's frames */
			if (!depth) {
				PUT('<');
				PUT('.');
				PUT('.');
				PUT('.');
			}
			depth++;
			continue;
		}
		if (*p == '>' && depth) {
			if (!--depth)
				PUT('>');
			continue;
		}
		if (!depth)
			PUT(*p);
	}
#undef PUT
	out[n] = '\0';
	return out;
}
