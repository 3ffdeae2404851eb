/*
 * mapped.c - the "mapped" channel: mmap, munmap and mremap called by the
 * program or its libraries, with the stack that called them.
 *
 * Memory that does not come from malloc (Python's arenas, a database's own
 * pools, a file mapped to be scanned) is invisible to the heap view. These
 * wrappers record it separately. glibc's malloc maps its large blocks with
 * an internal call that never reaches this wrapper, so nothing is counted
 * twice: a malloc'd block is heap, a mapping made by the program is mapped.
 * The agent's own memory uses raw system calls (prim_linux.c), and
 * everything done inside the agent passes through untraced (busy).
 *
 * Ordering as for the heap (seq.c): an unmap takes its sequence number
 * before the real call, a map after it, so the reader can replay partial
 * unmaps and remaps exactly. File paths are interned once and written by the
 * writer as PATH records before the events that use them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static void *(*real_mremap)(void *, size_t, size_t, int, ...);

/* ---- paths ---- */

#define MAX_PATHS 4096u
static char **paths;
static _Atomic unsigned npaths = 1; /* id 0: anonymous */
static pthread_mutex_t path_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t path_id(int fd)
{
	char link[64], buf[LDP_MAX_PATH_LEN];
	ldp_format(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pthread_mutex_lock(&path_lock);
	uint32_t id = 0;
	unsigned count = atomic_load_explicit(&npaths, memory_order_relaxed);
	if (!paths)
		paths = ldp_raw_alloc(MAX_PATHS * sizeof *paths);
	for (unsigned i = 1; paths && i < count && !id; i++)
		if (!strcmp(paths[i], buf))
			id = i;
	if (!id && paths && count < MAX_PATHS) {
		char *copy = ldp_raw_alloc((size_t)n + 1);
		if (copy) {
			memcpy(copy, buf, (size_t)n + 1);
			paths[count] = copy;
			id = count;
			atomic_store_explicit(&npaths, count + 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&path_lock);
	return id;
}

unsigned ldp_paths_count(void)
{
	return atomic_load_explicit(&npaths, memory_order_acquire);
}

const char *ldp_path_get(unsigned id)
{
	return paths[id];
}

void ldp_mapped_after_fork_child(void)
{
	pthread_mutex_init(&path_lock, NULL);
}

/* ---- recording ---- */

static inline int tracing(void)
{
	return atomic_load_explicit(&ldp_heap_on, memory_order_relaxed) && !ldp_self.busy;
}

static void resolve(void)
{
	ldp_self.busy++;
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_munmap = dlsym(RTLD_NEXT, "munmap");
	real_mremap = dlsym(RTLD_NEXT, "mremap");
	ldp_self.busy--;
}

static uint32_t capture(struct ldp_ring *r)
{
	int truncated;
	unsigned depth = ldp_unwind_capture(r->ips, ldp_cfg.max_depth, &truncated);
	return ldp_stack_intern(r->ips, depth, truncated ? LDP_STACK_TRUNCATED : 0);
}

static LDP_NOINLINE void record_map(void *p, size_t len, int prot, int flags, int fd)
{
	int saved = errno;
	struct ldp_thread *t = &ldp_self;
	ldp_rec_enter(t);
	struct ldp_ring *r = t->ring ? t->ring : ldp_thread_attach();
	if (r) {
		uint32_t path = fd >= 0 && !(flags & MAP_ANONYMOUS) ? path_id(fd) : 0;
		uint32_t stack = capture(r);
		uint64_t seq = ldp_seq_next(t, (uintptr_t)p);
		uint8_t *at = ldp_ring_reserve(r);
		ldp_ring_commit(r, at,
				ldp_enc_mmap(at, &r->enc, seq, (uintptr_t)p, len, (unsigned)prot, (unsigned)flags, path, stack));
	}
	ldp_rec_leave(t);
	errno = saved;
}

LDP_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (LDP_UNLIKELY(!real_mmap)) {
		resolve();
		if (!real_mmap)
			return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	}
	void *p = real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && tracing())
		record_map(p, len, prot, flags, fd);
	return p;
}

/* On 64-bit glibc mmap64 is the same function under another name. */
LDP_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

LDP_EXPORT int munmap(void *addr, size_t len)
{
	if (LDP_UNLIKELY(!real_munmap)) {
		resolve();
		if (!real_munmap)
			return (int)syscall(SYS_munmap, addr, len);
	}
	if (!tracing())
		return real_munmap(addr, len);
	struct ldp_thread *t = &ldp_self;
	ldp_rec_enter(t);
	uint64_t seq = ldp_seq_next(t, (uintptr_t)addr);
	int rc = real_munmap(addr, len);
	int saved = errno;
	if (rc == 0) {
		struct ldp_ring *r = t->ring ? t->ring : ldp_thread_attach();
		if (r) {
			uint8_t *at = ldp_ring_reserve(r);
			ldp_ring_commit(r, at, ldp_enc_munmap(at, &r->enc, seq, (uintptr_t)addr, len));
		}
	}
	ldp_rec_leave(t);
	errno = saved;
	return rc;
}

LDP_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *want = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (LDP_UNLIKELY(!real_mremap)) {
		resolve();
		if (!real_mremap)
			return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, want);
	}
	if (!tracing())
		return real_mremap(old, old_len, new_len, flags, want);
	struct ldp_thread *t = &ldp_self;
	ldp_rec_enter(t);
	uint64_t seq = ldp_seq_next(t, (uintptr_t)old);
	void *p = real_mremap(old, old_len, new_len, flags, want);
	int saved = errno;
	if (p != MAP_FAILED) {
		struct ldp_ring *r = t->ring ? t->ring : ldp_thread_attach();
		if (r) {
			uint32_t stack = capture(r);
			/* The new range's events order after this one (same thread clock). */
			uint64_t seq2 = ldp_seq_next(t, (uintptr_t)p);
			if (seq2 > seq)
				seq = seq2;
			uint8_t *at = ldp_ring_reserve(r);
			ldp_ring_commit(r, at,
					ldp_enc_mremap(at, &r->enc, seq, (uintptr_t)old, old_len, (uintptr_t)p, new_len, stack));
		}
	}
	ldp_rec_leave(t);
	errno = saved;
	return p;
}
