/*
 * got.h - point the GOT slots of a loaded object at other functions,
 * remember the old values, put them back (got.c).
 */
#ifndef LDP_GOT_H
#define LDP_GOT_H

#include <stddef.h>
#include <stdint.h>

/* One symbol to redirect. */
struct ldp_got_target {
	const char *name; /* the imported symbol: "malloc" */
	void *to;         /* what its slots must hold */
	void *from;       /* only slots bound to this (or not bound yet: lazy); NULL: any binding */
};

/* One slot changed, for ldp_got_restore. */
struct ldp_got_saved {
	void **slot;
	void *old;
};

struct ldp_got_result {
	size_t changed; /* slots now pointing at their target */
	size_t refused; /* slots that could not be changed (page protection, a data pointer, no room to save) */
};

/*
 * In the object dl_iterate_phdr describes by (base, phdr, phnum), point the
 * JUMP_SLOT and GLOB_DAT slots of the target symbols it imports at their
 * targets. With saved, each change is remembered there (cap entries; a slot
 * that does not fit is refused, so everything changed can be put back).
 * @return 0 (res says what was done), or -errno if the object cannot be
 * read (no dynamic section, not RELA).
 */
int ldp_got_redirect(uintptr_t base, const void *phdr, unsigned phnum, const struct ldp_got_target *t, size_t nt,
		     struct ldp_got_saved *saved, size_t cap, struct ldp_got_result *res);
/* Put back what ldp_got_redirect saved for that object. @return 0 or -errno. */
int ldp_got_restore(uintptr_t base, const void *phdr, unsigned phnum, const struct ldp_got_saved *saved, size_t n);

#endif
