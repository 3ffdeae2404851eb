/*
 * got.c - point the GOT slots of a loaded object at other functions, and
 * put them back.
 *
 * A call from a shared object to a function of another goes through a slot
 * of its global offset table, filled by the dynamic linker: an
 * R_X86_64_JUMP_SLOT relocation (.rela.plt, the PLT's slot; with lazy
 * binding it first points back into the object's own PLT, at the resolver
 * stub) or an R_X86_64_GLOB_DAT one (.rela.dyn: calls compiled with
 * -fno-plt, and taking the function's address). Writing our function's
 * address into those slots redirects every later call. Slots under
 * PT_GNU_RELRO were made read-only after relocation: their page is made
 * writable for the store and read-only again.
 *
 * Used for libraries loaded with RTLD_DEEPBIND, whose malloc binds to libc's
 * instead of ours (deepbind.c), and meant for attaching to a running
 * process (every loaded object, and objects loaded later; the saved slots
 * put back on detach).
 *
 * Only slots of symbols the object imports (undefined in it) are touched,
 * each only if it holds the expected old value or still points into the
 * object itself (lazy binding, not resolved yet). One lock serialises the
 * page protection changes of concurrent callers; it is a leaf, taken with no
 * other agent lock held and never across a call out of the agent.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "got.h"

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;

/* The dynamic section's pointers are relocated in place by glibc; the
 * vdso's (read-only) are not: an address below the base is an offset. */
static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) p)
{
	return p < base ? base + p : p;
}

struct object {
	uintptr_t base, lo, hi;           /* load bias; mapped range of its PT_LOAD segments */
	uintptr_t relro_lo, relro_hi;     /* pages made read-only after relocation */
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
	const ElfW(Rela) *rel[2];
	size_t nrel[2];
};

static int object_open(struct object *o, uintptr_t base, const ElfW(Phdr) *phdr, unsigned phnum)
{
	memset(o, 0, sizeof *o);
	o->base = base;
	o->lo = UINTPTR_MAX;
	long page = sysconf(_SC_PAGESIZE);
	const ElfW(Dyn) *dyn = NULL;
	for (unsigned i = 0; i < phnum; i++) {
		const ElfW(Phdr) *ph = &phdr[i];
		if (ph->p_type == PT_LOAD) {
			if (base + ph->p_vaddr < o->lo)
				o->lo = base + ph->p_vaddr;
			if (base + ph->p_vaddr + ph->p_memsz > o->hi)
				o->hi = base + ph->p_vaddr + ph->p_memsz;
		} else if (ph->p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
		} else if (ph->p_type == PT_GNU_RELRO) {
			/* As the dynamic linker protects it: whole pages only. */
			o->relro_lo = (base + ph->p_vaddr) & ~(uintptr_t)(page - 1);
			o->relro_hi = (base + ph->p_vaddr + ph->p_memsz) & ~(uintptr_t)(page - 1);
		}
	}
	if (!dyn)
		return -ENOENT;
	size_t relsz = 0, pltsz = 0;
	uintptr_t rela = 0, jmprel = 0;
	long pltrel = DT_RELA;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB: o->symtab = (const ElfW(Sym) *)dyn_ptr(base, dyn->d_un.d_ptr); break;
		case DT_STRTAB: o->strtab = (const char *)dyn_ptr(base, dyn->d_un.d_ptr); break;
		case DT_STRSZ: o->strsz = dyn->d_un.d_val; break;
		case DT_RELA: rela = dyn_ptr(base, dyn->d_un.d_ptr); break;
		case DT_RELASZ: relsz = dyn->d_un.d_val; break;
		case DT_JMPREL: jmprel = dyn_ptr(base, dyn->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltsz = dyn->d_un.d_val; break;
		case DT_PLTREL: pltrel = (long)dyn->d_un.d_val; break;
		default: break;
		}
	}
	if (!o->symtab || !o->strtab || pltrel != DT_RELA)
		return -ENOEXEC; /* x86-64 objects use RELA; anything else is not ours to edit */
	o->rel[0] = (const ElfW(Rela) *)rela;
	o->nrel[0] = rela ? relsz / sizeof(ElfW(Rela)) : 0;
	o->rel[1] = (const ElfW(Rela) *)jmprel;
	o->nrel[1] = jmprel ? pltsz / sizeof(ElfW(Rela)) : 0;
	return 0;
}

/* Store v in *slot, opening its page first if relocation sealed it. */
static int store(const struct object *o, void **slot, void *v)
{
	uintptr_t a = (uintptr_t)slot;
	if (a < o->relro_lo || a >= o->relro_hi) {
		__atomic_store_n(slot, v, __ATOMIC_RELEASE);
		return 0;
	}
	uintptr_t page = a & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	if (mprotect((void *)page, len, PROT_READ | PROT_WRITE) != 0)
		return -errno;
	__atomic_store_n(slot, v, __ATOMIC_RELEASE);
	mprotect((void *)page, len, PROT_READ);
	return 0;
}

int ldp_got_redirect(uintptr_t base, const void *phdr, unsigned phnum, const struct ldp_got_target *t, size_t nt,
		     struct ldp_got_saved *saved, size_t cap, struct ldp_got_result *res)
{
	struct object o;
	memset(res, 0, sizeof *res);
	int err = object_open(&o, base, phdr, phnum);
	if (err)
		return err;
	pthread_mutex_lock(&got_lock);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < o.nrel[k]; i++) {
			const ElfW(Rela) *r = &o.rel[k][i];
			unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);
			size_t si = ELF64_R_SYM(r->r_info);
			if (!si || (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && type != R_X86_64_64))
				continue;
			const ElfW(Sym) *sym = &o.symtab[si];
			if (sym->st_shndx != SHN_UNDEF || sym->st_name >= o.strsz)
				continue; /* its own definition: not a call to another object */
			const char *name = o.strtab + sym->st_name;
			size_t j = 0;
			while (j < nt && strcmp(name, t[j].name))
				j++;
			if (j == nt)
				continue;
			void **slot = (void **)(o.base + r->r_offset);
			void *old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
			if (old == t[j].to)
				continue;
			int lazy = (uintptr_t)old >= o.lo && (uintptr_t)old < o.hi;
			if (t[j].from && old != t[j].from && !(type == R_X86_64_JUMP_SLOT && lazy))
				continue; /* bound elsewhere (an allocator of its own): leave it */
			if (type == R_X86_64_64 || (saved && res->changed >= cap)) {
				res->refused++; /* a pointer in its data, not a call slot; or no room to remember it */
				continue;
			}
			if (store(&o, slot, t[j].to) != 0) {
				res->refused++;
				continue;
			}
			if (saved) {
				saved[res->changed].slot = slot;
				saved[res->changed].old = old;
			}
			res->changed++;
		}
	}
	pthread_mutex_unlock(&got_lock);
	return 0;
}

int ldp_got_restore(uintptr_t base, const void *phdr, unsigned phnum, const struct ldp_got_saved *saved, size_t n)
{
	struct object o;
	int err = object_open(&o, base, phdr, phnum);
	if (err)
		return err;
	pthread_mutex_lock(&got_lock);
	for (size_t i = 0; i < n && !err; i++)
		err = store(&o, saved[i].slot, saved[i].old);
	pthread_mutex_unlock(&got_lock);
	return err;
}
