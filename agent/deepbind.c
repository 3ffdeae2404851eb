/*
 * deepbind.c - libraries loaded with RTLD_DEEPBIND.
 *
 * Such a library (and what it brings with it) looks symbols up in itself
 * and its own dependencies before the global scope, so its malloc binds to
 * libc's and the agent never sees its heap. After the real dlopen the agent
 * points the malloc-family slots of every object that call loaded at its
 * own functions (got.c); the functions call libc's, so nothing changes for
 * the library but that its events are recorded. A slot bound to some other
 * allocator (one of its dependencies defines malloc) is left alone, and one
 * that cannot be changed is said in one line.
 *
 * dlopen is exported as a few instructions of assembly: without
 * RTLD_DEEPBIND it jumps straight to libc's, return address untouched. That
 * matters: glibc's dlopen takes its caller from the return address and
 * searches the caller's DT_RPATH/DT_RUNPATH (and, for a caller in another
 * namespace, loads there) - a C wrapper would make the agent the caller.
 * With RTLD_DEEPBIND the C code below must call dlopen itself, so it does
 * the caller's part of the search: a name without '/' already loaded is
 * returned as is; otherwise each directory of the caller's search path
 * (dlinfo RTLD_DI_SERINFO: its RPATH, LD_LIBRARY_PATH, its RUNPATH) is
 * tried in order, and the rest (ld.so.cache, default directories) is left
 * to dlopen as usual.
 *
 * Not covered: allocations a DEEPBIND library makes in its constructors
 * (they run inside dlopen, before its slots can be changed; their frees
 * show as frees of unknown blocks), libraries loaded into another namespace
 * (dlmopen: another libc, another heap), and calls through function
 * pointers the library took from libc in its data (counted, said once).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "agent.h"
#include "got.h"
#include "log.h"
#include "rawmem.h"

void *ldp_dlopen_real; /* libc's dlopen, read by the assembly below */
void *ldp_dlopen_resolve(void);
void *ldp_dlopen_deep(const char *file, int mode, void *caller);

void *ldp_dlopen_resolve(void)
{
	if (!ldp_dlopen_real) {
		ldp_self.busy++;
		ldp_dlopen_real = dlsym(RTLD_NEXT, "dlopen");
		ldp_self.busy--;
	}
	return ldp_dlopen_real;
}

/* dlopen(file, mode): RTLD_DEEPBIND to C; anything else to libc's dlopen,
 * as if called from the program. */
__asm__(".text\n"
	".globl dlopen\n"
	".type dlopen, @function\n"
	"dlopen:\n"
	".cfi_startproc\n"
	"	testl $0x8, %esi\n" /* RTLD_DEEPBIND */
	"	jnz 2f\n"
	"	movq ldp_dlopen_real(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n"
	"	jmp *%rax\n"
	"1:	pushq %rdi\n"
	".cfi_adjust_cfa_offset 8\n"
	"	pushq %rsi\n"
	".cfi_adjust_cfa_offset 8\n"
	"	subq $8, %rsp\n"
	".cfi_adjust_cfa_offset 8\n"
	"	call ldp_dlopen_resolve\n"
	"	addq $8, %rsp\n"
	".cfi_adjust_cfa_offset -8\n"
	"	popq %rsi\n"
	".cfi_adjust_cfa_offset -8\n"
	"	popq %rdi\n"
	".cfi_adjust_cfa_offset -8\n"
	"	testq %rax, %rax\n"
	"	jz 3f\n"
	"	jmp *%rax\n"
	"2:	movq (%rsp), %rdx\n" /* the caller, for its search path */
	"	jmp ldp_dlopen_deep\n"
	"3:	ret\n" /* no dlopen anywhere: NULL */
	".cfi_endproc\n"
	".size dlopen, .-dlopen\n");

/* ---- the objects one dlopen loaded ---- */

#define MAX_OBJECTS 4096

struct loaded {
	uintptr_t base;
	const void *phdr;
};

struct scan {
	struct loaded *v;
	size_t n;
};

static int scan_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct scan *s = arg;
	if (s->n < MAX_OBJECTS) {
		s->v[s->n].base = info->dlpi_addr;
		s->v[s->n].phdr = info->dlpi_phdr;
		s->n++;
	}
	return 0;
}

struct redirect {
	const struct scan *before;
	const struct ldp_got_target *t;
	size_t nt;
	struct ldp_got_result total;
	const char *refused_in;
};

static int redirect_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct redirect *rd = arg;
	for (size_t i = 0; i < rd->before->n; i++)
		if (rd->before->v[i].base == info->dlpi_addr && rd->before->v[i].phdr == info->dlpi_phdr)
			return 0; /* loaded before: bound as usual */
	struct ldp_got_result res;
	if (ldp_got_redirect(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, rd->t, rd->nt, NULL, 0, &res) != 0)
		return 0;
	rd->total.changed += res.changed;
	rd->total.refused += res.refused;
	if (res.refused && !rd->refused_in)
		rd->refused_in = info->dlpi_name;
	return 0;
}

/* The malloc family, as the new objects' scope resolves it: only slots bound
 * to libc's functions are ours to take over. */
static size_t targets(void *handle, struct ldp_got_target *t)
{
	static const char *const names[] = {"malloc",  "free",	 "calloc",  "realloc", "reallocarray",
					    "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
					    "malloc_usable_size"};
	size_t n = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		void *theirs = dlsym(handle, names[i]);
		void *ours = dlsym(RTLD_DEFAULT, names[i]);
		void *libc = dlsym(RTLD_NEXT, names[i]);
		if (theirs && ours && theirs == libc && theirs != ours)
			t[n++] = (struct ldp_got_target){names[i], ours, libc};
	}
	return n;
}

/* The agent's memory ran out (its share of RLIMIT_AS, rawmem.h): said once,
 * never silently. */
static void no_memory(const char *file, const char *what)
{
	static _Atomic int said;
	if (!atomic_exchange(&said, 1))
		ldp_warn("%s (RTLD_DEEPBIND): no memory left for the agent (its share of RLIMIT_AS?): %s", file ? file : "?",
			 what);
}

/* ---- dlopen as the caller would have ---- */

static void *open_as(void *(*real)(const char *, int), const char *file, int mode, void *caller)
{
	if (!file || strchr(file, '/'))
		return real(file, mode);
	void *h = real(file, mode | RTLD_NOLOAD); /* already loaded under that name */
	if (h)
		return h;
	struct dl_find_object fo;
	if (!caller || _dl_find_object(caller, &fo) != 0 || !fo.dlfo_link_map)
		return real(file, mode);
	Dl_serinfo size;
	if (dlinfo(fo.dlfo_link_map, RTLD_DI_SERINFOSIZE, &size) != 0)
		return real(file, mode);
	Dl_serinfo *paths = ldp_raw_alloc(size.dls_size);
	char *path = ldp_raw_alloc(4096);
	if (!paths || !path)
		no_memory(file, "its caller's library search path is not searched");
	if (paths && path) {
		*paths = size;
		if (dlinfo(fo.dlfo_link_map, RTLD_DI_SERINFO, paths) == 0) {
			for (unsigned i = 0; i < paths->dls_cnt && !h; i++) {
				const char *dir = paths->dls_serpath[i].dls_name;
				/* ld.so.cache comes before the default directories: dlopen does those. */
				if (!dir || !*dir || (paths->dls_serpath[i].dls_flags & (LA_SER_DEFAULT | LA_SER_CONFIG)))
					continue;
				size_t dl = strlen(dir), fl = strlen(file);
				if (dl + fl + 2 > 4096)
					continue;
				memcpy(path, dir, dl);
				path[dl] = '/';
				memcpy(path + dl + 1, file, fl + 1);
				h = real(path, mode);
			}
		}
	}
	ldp_raw_free(paths);
	ldp_raw_free(path);
	return h ? h : real(file, mode);
}

void *ldp_dlopen_deep(const char *file, int mode, void *caller)
{
	void *(*real)(const char *, int) = (void *(*)(const char *, int))ldp_dlopen_resolve();
	if (!real)
		return NULL;
	if (atomic_load(&ldp_state) != LDP_STATE_READY || !atomic_load(&ldp_heap_on))
		return open_as(real, file, mode, caller);
	struct scan before = {ldp_raw_alloc(MAX_OBJECTS * sizeof(struct loaded)), 0};
	if (before.v)
		dl_iterate_phdr(scan_cb, &before);
	else
		no_memory(file, "its allocations are not traced");
	/* The real dlopen's own allocations (link maps, scopes) are the
	 * program's, traced as usual: busy is not raised around it. */
	void *h = open_as(real, file, mode, caller);
	if (h && before.v) {
		int saved = errno;
		ldp_self.busy++;
		struct ldp_got_target t[16];
		struct redirect rd = {&before, t, targets(h, t), {0, 0}, NULL};
		if (rd.nt)
			dl_iterate_phdr(redirect_cb, &rd);
		(void)dlerror(); /* the program finds dlerror() as a successful dlopen left it */
		ldp_self.busy--;
		if (rd.total.refused) {
			static _Atomic int said;
			if (!atomic_exchange(&said, 1))
				ldp_warn("%s (RTLD_DEEPBIND): %zu malloc-family references cannot be redirected; "
					 "allocations through them are not traced",
					 rd.refused_in && *rd.refused_in ? rd.refused_in : file, rd.total.refused);
		}
		errno = saved;
	}
	ldp_raw_free(before.v);
	return h;
}
