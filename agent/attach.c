/*
 * attach.c - starting inside a process that is already running.
 *
 * `ldprof attach PID` (reporter/cmd/attach.c) has gdb stop the process at
 * the entry of malloc or free (no allocator lock held by that thread), call
 * dlopen on libldprof.so and then ldprof_attach(SETTINGS_FILE), and detach.
 * The constructor sees it was loaded after the object that provides the
 * program's malloc (not preloaded) and does nothing; ldprof_attach() reads
 * the LDPROF_* settings from the file (never from the environment, which
 * stays the program's), starts as the constructor would (no CPU or
 * wall-clock timers: pthread_create and the signal functions are not ours
 * here), and points the malloc family's GOT slots of every loaded object at
 * our functions (got.c). dlopen's slots too, so objects loaded later are
 * redirected after their dlopen (deepbind.c takes every dlopen then).
 *
 * Order matters in sampled mode, whose sampled blocks live in the agent's
 * sample heap and must never reach libc's free: the slots of free, realloc,
 * reallocarray and malloc_usable_size are taken in every object before any
 * allocating slot, and they stay ours after detach (a sampled block may
 * still be live; they then cost a range check). An object that holds
 * libc's free as a data pointer (a relocation we cannot take over) could
 * hand such a block to libc: that is said in one line, with the advice to
 * attach in full mode (whose blocks are all libc's).
 *
 * Detach (control.c) puts back every slot that still holds our function,
 * in objects still loaded. The library stays loaded (never dlclosed: a
 * thread may still be inside it).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "agent.h"
#include "got.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

_Atomic int ldp_attach_dlopen_hook;

/* ---- preloaded or dlopen'ed? ---- */

static int contains(const struct dl_phdr_info *info, uintptr_t a)
{
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && a - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz)
			return 1;
	}
	return 0;
}

struct order {
	uintptr_t ours, theirs;
	int first; /* 1: ours came first, 2: theirs */
};

static int order_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct order *o = arg;
	if (contains(info, o->ours))
		o->first = 1;
	else if (contains(info, o->theirs))
		o->first = 2;
	return o->first != 0;
}

/* libc's malloc (the next one after us), not the program's: a program with
 * an allocator of its own comes first either way (hostile ownmalloc). */
int ldp_attach_loaded_late(void)
{
	ldp_self.busy++;
	void *theirs = dlsym(RTLD_NEXT, "malloc");
	ldp_self.busy--;
	struct order o = {(uintptr_t)ldp_attach_loaded_late, (uintptr_t)theirs, 0};
	if (!theirs)
		return 0;
	dl_iterate_phdr(order_cb, &o);
	return o.first == 2;
}

/* ---- the slots ---- */

#define MAX_OBJECTS 4096
#define MAX_SLOTS 65536

struct object {
	uintptr_t base;
	const void *phdr;
	unsigned phnum;
};

struct saved {
	struct ldp_got_saved s;
	void *to;     /* what we put there: only a slot still holding it is put back */
	unsigned obj; /* index into objects */
	int keep;     /* stays ours after detach (sampled mode's free family) */
};

static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER; /* leaf above got_lock */
static struct object *objects;
static unsigned nobjects;
static struct saved *slots;
static size_t nslots;
static void *self_handle;
static size_t refused_total, refused_free;

/* The free family first (see above), then what allocates, then dlopen. */
static const char *const free_names[] = {"free", "realloc", "reallocarray", "malloc_usable_size"};
static const char *const alloc_names[] = {"malloc", "calloc", "posix_memalign", "aligned_alloc",
					  "memalign", "valloc", "pvalloc", "dlopen"};

static size_t make_targets(const char *const *names, size_t n, struct ldp_got_target *t)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		void *ours = dlsym(self_handle, names[i]);
		void *libc = dlsym(RTLD_DEFAULT, names[i]);
		if (ours && libc && ours != libc)
			t[k++] = (struct ldp_got_target){names[i], ours, libc};
	}
	return k;
}

struct pass {
	const struct ldp_got_target *t;
	size_t nt;
	int keep;
	const char *refused_in;
};

static unsigned object_index(const struct dl_phdr_info *info)
{
	for (unsigned i = 0; i < nobjects; i++)
		if (objects[i].base == info->dlpi_addr && objects[i].phdr == info->dlpi_phdr)
			return i;
	if (nobjects == MAX_OBJECTS)
		return UINT32_MAX;
	objects[nobjects] = (struct object){info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
	return nobjects++;
}

/* Runs under the loader lock (dl_iterate_phdr): no object can go meanwhile. */
static int redirect_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct pass *p = arg;
	if (contains(info, (uintptr_t)redirect_cb))
		return 0; /* the agent itself */
	unsigned obj = object_index(info);
	if (obj == UINT32_MAX || nslots == MAX_SLOTS)
		return 0;
	struct ldp_got_saved saved[64];
	struct ldp_got_result res;
	if (ldp_got_redirect(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, p->t, p->nt, saved, 64, &res) != 0)
		return 0;
	for (size_t i = 0; i < res.changed && nslots < MAX_SLOTS; i++) {
		void *to = NULL;
		for (size_t j = 0; j < p->nt; j++)
			if (*saved[i].slot == p->t[j].to)
				to = p->t[j].to;
		slots[nslots++] = (struct saved){saved[i], to, obj, p->keep};
	}
	if (res.refused) {
		refused_total += res.refused;
		if (p->keep)
			refused_free += res.refused;
		if (!p->refused_in)
			p->refused_in = info->dlpi_name;
	}
	return 0;
}

static pthread_mutex_t *lock_attach(void)
{
	pthread_mutex_lock(&attach_lock);
	return &attach_lock;
}

/* Every loaded object, both passes; objects done before change nothing (a
 * slot already ours is skipped). */
static void redirect_all(int sampled)
{
	struct ldp_got_target tf[8], ta[16];
	struct pass pf = {tf, make_targets(free_names, 4, tf), sampled, NULL};
	struct pass pa = {ta, make_targets(alloc_names, 8, ta), 0, NULL};
	pthread_mutex_t *l = lock_attach();
	dl_iterate_phdr(redirect_cb, &pf);
	dl_iterate_phdr(redirect_cb, &pa);
	pthread_mutex_unlock(l);
}

int ldp_attach_redirect(void)
{
	objects = ldp_raw_alloc(MAX_OBJECTS * sizeof *objects);
	slots = ldp_raw_alloc(MAX_SLOTS * sizeof *slots);
	if (!objects || !slots)
		return -1;
	redirect_all(ldp_heap_sampled);
	atomic_store(&ldp_attach_dlopen_hook, 1);
	return nslots ? 0 : -1;
}

/* A dlopen while attached (deepbind.c): the objects it loaded. */
void ldp_attach_after_dlopen(void *handle, const void *before)
{
	(void)before;
	if (!handle || !atomic_load(&ldp_attach_dlopen_hook))
		return;
	int saved = errno;
	ldp_self.busy++;
	redirect_all(ldp_heap_sampled);
	ldp_self.busy--;
	errno = saved;
}

struct restore {
	unsigned obj;
	int found;
};

static int restore_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (unsigned o = 0; o < nobjects; o++) {
		if (objects[o].base != info->dlpi_addr || objects[o].phdr != info->dlpi_phdr)
			continue;
		for (size_t i = 0; i < nslots; i++) {
			struct saved *s = &slots[i];
			if (s->obj != o || s->keep || !s->to || *s->s.slot != s->to)
				continue;
			ldp_got_restore(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, &s->s, 1);
		}
	}
	return 0;
}

void ldp_attach_restore(void)
{
	atomic_store(&ldp_attach_dlopen_hook, 0);
	if (!objects)
		return;
	pthread_mutex_t *l = lock_attach();
	dl_iterate_phdr(restore_cb, NULL);
	pthread_mutex_unlock(l);
}

/* ---- the entry point gdb calls ---- */

/* Settings: the file's LDPROF_* lines, kept for the life of the process
 * (ldp_getenv reads them instead of environ). */
static char settings_text[16384];
static char *settings_lines[129];

static int read_settings(const char *path)
{
	ssize_t n = ldp_read_small_file(path, settings_text, sizeof settings_text);
	if (n < 0)
		return -1;
	size_t k = 0;
	char *p = settings_text;
	while (*p && k < 128) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(p, "LDPROF_", 7))
			settings_lines[k++] = p;
		if (!nl)
			break;
		p = nl + 1;
	}
	settings_lines[k] = NULL;
	ldp_settings_override = settings_lines;
	return 0;
}

/* Called by gdb only (not in ldprof.h). Result codes, printed by gdb and
 * explained by `ldprof attach`. */
enum {
	ATTACH_OK = 0,
	ATTACH_ALREADY = 1,  /* the agent is already running here */
	ATTACH_SETTINGS = 2, /* the settings file cannot be read */
	ATTACH_START = 3,    /* could not start (the reason is on the program's stderr) */
	ATTACH_NO_SLOTS = 4, /* no malloc-family call of the program goes to libc */
	ATTACH_ENDED = 5,    /* attached before and detached: once per process */
};

LDP_EXPORT int ldprof_attach(const char *settings_path);
LDP_EXPORT int ldprof_attach(const char *settings_path)
{
	int saved = errno;
	int st = atomic_load(&ldp_state);
	if (st != LDP_STATE_UNINIT) {
		errno = saved;
		return st == LDP_STATE_OFF && ldp_cfg.attached ? ATTACH_ENDED : ATTACH_ALREADY;
	}
	ldp_self.busy++;
	int rc = ATTACH_OK;
	self_handle = NULL;
	Dl_info di;
	if (dladdr((void *)ldprof_attach, &di) && di.dli_fname)
		self_handle = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	if (!settings_path || read_settings(settings_path) != 0) {
		rc = ATTACH_SETTINGS;
		goto out;
	}
	if (!self_handle || ldp_start(1) != 0) {
		rc = ATTACH_START;
		goto out;
	}
	if (ldp_attach_redirect() != 0) {
		ldp_disable("attach: no malloc-family call of this program goes to libc's malloc (an allocator of its "
			    "own, or a static binary)");
		ldp_writer_flush(LDP_END_ERROR, 1000);
		rc = ATTACH_NO_SLOTS;
		goto out;
	}
	if (refused_free && ldp_heap_sampled) {
		/* Too late to change mode; but say it: a block of the sample heap
		 * reaching libc's free through such a pointer would crash. */
		ldp_warn("attach: %zu references to free/realloc cannot be redirected (%s); use --mode full for this "
			 "program", refused_free, "data pointers");
	}
	if (ldp_cfg.verbose)
		ldp_warn("attached: %zu malloc-family references redirected, %zu refused", nslots, refused_total);
out:
	ldp_self.busy--;
	errno = saved;
	return rc;
}
