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
 * unmaps and remaps exactly. Files are interned once by (device, inode),
 * their paths written by the writer as PATH records before the events that
 * use them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "prim.h"
#include "rawmem.h"

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static void *(*real_mremap)(void *, size_t, size_t, int, ...);

/* ---- paths ----
 *
 * A mapped file's id is found by its (device, inode), from fstat: a hash
 * table of chains that only grow, read without a lock (a node is complete
 * before it is published at its bucket's head). Only a file seen for the
 * first time takes path_lock, to read its name (/proc/self/fd/N) and give
 * it the next id. Names live in chunks of PATH_CHUNK, published before the
 * count the writer reads (release), so every id below the count has its
 * name. Nodes and names come from a bump arena, not a page each.
 * (A file replaced by another on the same inode keeps the first name.)
 */

#define PATH_BUCKETS 65536u
#define PATH_CHUNK 4096u
#define PATH_CHUNKS 4096u /* 16 M names */
#define PATH_ARENA (64u << 10)

struct path_node {
	uint64_t dev, ino;
	uint32_t id;
	struct path_node *next;
};

static struct path_node *_Atomic *buckets;
static char **chunks[PATH_CHUNKS];
static _Atomic unsigned npaths = 1; /* id 0: anonymous */
static pthread_mutex_t path_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *arena;
static size_t arena_left;

static unsigned bucket_of(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev << 32 | dev >> 32)) * 0x9E3779B97F4A7C15ull;
	return (unsigned)(h >> 48) & (PATH_BUCKETS - 1);
}

static uint32_t find(struct path_node *_Atomic *b, uint64_t dev, uint64_t ino)
{
	for (struct path_node *n = atomic_load_explicit(&b[bucket_of(dev, ino)], memory_order_acquire); n; n = n->next)
		if (n->ino == ino && n->dev == dev)
			return n->id;
	return 0;
}

/* Under path_lock. */
static void *arena_take(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > arena_left) {
		size_t size = n > PATH_ARENA ? n : PATH_ARENA;
		arena = ldp_raw_alloc(size);
		arena_left = arena ? size : 0;
		if (!arena)
			return NULL;
	}
	void *p = arena;
	arena += n;
	arena_left -= n;
	return p;
}

/* Under path_lock: a new id for this file, its name stored. */
static uint32_t add(struct path_node *_Atomic *b, uint64_t dev, uint64_t ino, const char *name, size_t len)
{
	unsigned id = atomic_load_explicit(&npaths, memory_order_relaxed);
	if (id >= PATH_CHUNK * PATH_CHUNKS)
		return 0;
	char ***chunk = &chunks[id / PATH_CHUNK];
	if (!*chunk)
		*chunk = ldp_raw_alloc(PATH_CHUNK * sizeof **chunk);
	struct path_node *n = arena_take(sizeof *n);
	char *copy = arena_take(len + 1);
	if (!*chunk || !n || !copy)
		return 0;
	memcpy(copy, name, len);
	copy[len] = '\0';
	(*chunk)[id % PATH_CHUNK] = copy;
	atomic_store_explicit(&npaths, id + 1, memory_order_release);
	*n = (struct path_node){.dev = dev, .ino = ino, .id = id};
	struct path_node *_Atomic *head = &b[bucket_of(dev, ino)];
	n->next = atomic_load_explicit(head, memory_order_relaxed);
	atomic_store_explicit(head, n, memory_order_release);
	return id;
}

static uint32_t path_id(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return 0;
	uint64_t dev = st.st_dev, ino = st.st_ino;
	struct path_node *_Atomic *b = atomic_load_explicit(&buckets, memory_order_acquire);
	uint32_t id = b ? find(b, dev, ino) : 0;
	if (id)
		return id; /* the common case: no lock, no readlink */
	char link[64], buf[LDP_MAX_PATH_LEN];
	ldp_format(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n <= 0)
		return 0;
	if (ldp_lock_unless_apart(&path_lock) != 0)
		return 0;
	b = atomic_load_explicit(&buckets, memory_order_relaxed);
	if (!b) {
		b = ldp_raw_alloc(PATH_BUCKETS * sizeof *b); /* mapped: zero, so every chain empty */
		atomic_store_explicit(&buckets, b, memory_order_release);
	}
	if (b && !(id = find(b, dev, ino)))
		id = add(b, dev, ino, buf, (size_t)n);
	pthread_mutex_unlock(&path_lock);
	return id;
}

unsigned ldp_paths_count(void)
{
	return atomic_load_explicit(&npaths, memory_order_acquire);
}

const char *ldp_path_get(unsigned id)
{
	return chunks[id / PATH_CHUNK][id % PATH_CHUNK];
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
	ldp_writer_floor(); /* a late writer: no thread ticks the floor yet */
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
	ldp_writer_floor(); /* a late writer: no thread ticks the floor yet */
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
	ldp_writer_floor(); /* a late writer: no thread ticks the floor yet */
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
