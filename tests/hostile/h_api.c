/*
 * h_api.c COUNTFILE - the allocation API at its edges: malloc_usable_size,
 * realloc to 0 and from NULL, the memalign family with odd alignments, and
 * huge requests that must fail with NULL/ENOMEM (or EINVAL) exactly as
 * glibc says. Every result, errno included, is printed, so a traced run
 * that differs in any of them fails. The program counts its own successful
 * allocating calls and the frees of its blocks into COUNTFILE
 * ("allocations N frees M"): the runner checks the trace against them.
 * Output goes through write(2) only, so libc allocates nothing behind our
 * back.
 *
 * h_api oom SIDEFILE - run under RLIMIT_AS: take 1 MiB blocks until malloc
 * says NULL/ENOMEM, free them all, allocate again. How many it got goes to
 * SIDEFILE (it depends on the limit and on how much address space the
 * agent takes for itself); stdout is the same whatever the number.
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

/* Huge requests are the point here. */
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="

#include <fcntl.h>
#include <malloc.h>


static unsigned allocs, frees;

static void *got(void *p)
{
	if (p)
		allocs++;
	return p;
}

static void release(void *p)
{
	if (p)
		frees++;
	free(p);
}

#define SHOW(what, p) say("%-40s %s errno=%d\n", what, (p) ? "ok" : "NULL", (p) ? 0 : errno)

static void run_oom(const char *side)
{
	enum { MAX = 1 << 16 };
	static void *v[MAX];
	size_t n = 0;
	int err = 0;
	for (; n < MAX; n++) {
		v[n] = malloc(1 << 20);
		if (!v[n]) {
			err = errno;
			break;
		}
		memset(v[n], 1, 4096);
	}
	CHECK(n < MAX, "no limit in effect");
	say("malloc(1 MiB) failed with %s once the address space ran out\n", err == ENOMEM ? "ENOMEM" : strerror(err));
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	void *p = malloc(100 << 20);
	CHECK(p, "malloc(100 MiB) after freeing everything");
	memset(p, 2, 100 << 20);
	free(p);
	say("after freeing everything: 100 MiB allocated and written\n");
	char line[32];
	int k = snprintf(line, sizeof line, "%zu\n", n);
	int fd = open(side, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, line, (size_t)k) == k, "%s", side);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "oom")) {
		run_oom(argv[2]);
		return 0;
	}
	CHECK(argc == 2, "usage: h_api COUNTFILE | h_api oom SIDEFILE");

	/* malloc_usable_size: at least the request, writable to the end. */
	for (size_t n = 0; n < 5000; n += 97) {
		unsigned char *p = got(malloc(n));
		CHECK(p, "malloc(%zu)", n);
		size_t u = malloc_usable_size(p);
		CHECK(u >= n, "usable %zu < %zu", u, n);
		memset(p, 0xab, u);
		release(p);
	}
	CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");
	say("malloc_usable_size: >= request for 52 sizes, 0 for NULL\n");

	/* realloc edges */
	void *p = got(realloc(NULL, 0)); /* glibc: a minimum-size block */
	SHOW("realloc(NULL, 0)", p);
	errno = 0;
	void *q = realloc(p, 0); /* glibc: frees p, returns NULL */
	if (p && !q)
		frees++;
	say("%-40s %s errno=%d\n", "realloc(p, 0)", q ? "block" : "NULL (freed)", errno);
	release(q);
	p = got(realloc(NULL, 100));
	SHOW("realloc(NULL, 100)", p);
	memset(p, 1, 100);
	q = realloc(p, 100000); /* a move, most likely: a free and an allocation */
	CHECK(q, "realloc grow");
	allocs++;
	frees++;
	CHECK(((unsigned char *)q)[99] == 1, "realloc lost data");
	errno = 0;
	void *r = realloc(q, SIZE_MAX - 4096);
	SHOW("realloc(q, SIZE_MAX - 4096)", r);
	CHECK(!r && errno == ENOMEM, "huge realloc must fail with ENOMEM");
	CHECK(((unsigned char *)q)[99] == 1, "failed realloc touched the block");
	errno = 0;
	r = reallocarray(q, SIZE_MAX / 2, 3);
	SHOW("reallocarray(q, SIZE_MAX/2, 3)", r);
	CHECK(!r && errno == ENOMEM, "overflowing reallocarray must fail with ENOMEM");
	r = reallocarray(q, 10, 10);
	CHECK(r, "reallocarray(q, 10, 10)");
	allocs++; /* moved or resized in place: a free and an allocation in the trace */
	frees++;
	release(r);

	/* posix_memalign with odd alignments */
	static const size_t aligns[] = {0, 1, 3, 4, 8, 16, 24, 48, 64, 4096, 1 << 20, (size_t)1 << 40};
	for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
		void *a = (void *)0x1;
		int err = posix_memalign(&a, aligns[i], 100);
		int aligned = !err && ((uintptr_t)a % aligns[i]) == 0;
		say("posix_memalign(%zu, 100)%*s err=%d%s\n", aligns[i], 20, "", err,
		    err ? (a == (void *)0x1 ? " (out untouched)" : " (out CHANGED)") : aligned ? " aligned" : " MISALIGNED");
		if (!err) {
			allocs++;
			release(a);
		}
	}
	/* aligned_alloc, memalign, valloc, pvalloc with odd arguments */
	static const size_t odd[] = {0, 1, 3, 5, 24, 64, 4096, 65536};
	for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
		errno = 0;
		void *a = got(aligned_alloc(odd[i], 200));
		say("aligned_alloc(%zu, 200)%*s %s errno=%d\n", odd[i], 20, "", a ? "ok" : "NULL", a ? 0 : errno);
		release(a);
		errno = 0;
		void *m = got(memalign(odd[i], 200));
		int pow2 = odd[i] && !(odd[i] & (odd[i] - 1));
		say("memalign(%zu, 200)%*s %s errno=%d%s\n", odd[i], 20, "", m ? "ok" : "NULL", m ? 0 : errno,
		    m && pow2 && (uintptr_t)m % odd[i] ? " MISALIGNED" : "");
		release(m);
	}
	void *v = got(valloc(0)), *pv = got(pvalloc(0)), *v1 = got(valloc(5000)), *pv1 = got(pvalloc(5000));
	CHECK(v && pv && v1 && pv1, "valloc/pvalloc");
	CHECK((uintptr_t)v1 % 4096 == 0 && (uintptr_t)pv1 % 4096 == 0, "page alignment");
	CHECK(malloc_usable_size(pv1) >= 8192, "pvalloc rounds up to pages");
	release(v);
	release(pv);
	release(v1);
	release(pv1);
	say("valloc/pvalloc(0 and 5000): page aligned, pvalloc rounded up\n");

	/* Huge requests: NULL and ENOMEM, never counted. */
	errno = 0;
	void *h = got(malloc(SIZE_MAX));
	SHOW("malloc(SIZE_MAX)", h);
	errno = 0;
	h = got(malloc((size_t)1 << 46));
	SHOW("malloc(64 TiB)", h);
	errno = 0;
	h = got(calloc(SIZE_MAX / 2, 3));
	SHOW("calloc(SIZE_MAX/2, 3)", h);
	errno = 0;
	h = got(calloc((size_t)1 << 23, (size_t)1 << 23));
	SHOW("calloc(2^23, 2^23)", h);
	errno = 0;
	h = got(aligned_alloc(64, SIZE_MAX - 100));
	SHOW("aligned_alloc(64, SIZE_MAX - 100)", h);
	errno = 0;
	h = got(memalign(4096, SIZE_MAX - 100));
	SHOW("memalign(4096, SIZE_MAX - 100)", h);
	errno = 0;
	h = got(valloc(SIZE_MAX - 100));
	SHOW("valloc(SIZE_MAX - 100)", h);
	errno = 0;
	h = got(pvalloc(SIZE_MAX - 100));
	SHOW("pvalloc(SIZE_MAX - 100)", h);
	void *out = (void *)0x1;
	int err = posix_memalign(&out, 64, SIZE_MAX - 100);
	say("%-40s err=%d%s\n", "posix_memalign(64, SIZE_MAX - 100)", err, out == (void *)0x1 ? " (out untouched)" : "");
	CHECK(err == ENOMEM, "posix_memalign huge");

	/* errno survives successful calls untouched. */
	errno = 4242;
	void *keep = got(malloc(10));
	free(keep);
	frees++;
	keep = got(calloc(3, 3));
	free(keep);
	frees++;
	say("errno after successful malloc/free/calloc/free: %d\n", errno);

	/* A block that leaks on purpose. */
	keep = got(malloc(1234));
	say("one block of 1234 bytes leaks\n");

	char line[64];
	int n = snprintf(line, sizeof line, "allocations %u frees %u\n", allocs, frees);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, line, (size_t)n) == n, "%s: %s", argv[1], strerror(errno));
	close(fd);
	(void)keep;
	return 0;
}
