/*
 * truth_mapped.c - known mappings for the mapped channel: anonymous and
 * file-backed, a partial unmap in the middle of a mapping, mremap growing
 * (perhaps moving), shrinking and moving on request, and a large malloc that
 * glibc serves with its own internal mmap (heap, never mapped).
 *   usage: truth_mapped TRUTH_FILE DIR
 * Writes: maps (mmap calls), remaps, unmaps, mapped_bytes (by mmap, and by
 * mremap growing), peak_bytes, live_at_exit_bytes, and "fn NAME mapped_bytes N"
 * for each function that maps (growth belongs to the function that grew it),
 * and "file mapped.bin KEY N" for the one file mapped: map_count,
 * mapped_bytes, peak_bytes (its bytes live at the channel's peak),
 * live_at_exit_bytes.
 */
#include "truth.h" /* first: it defines _GNU_SOURCE, which mremap needs */

#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))
#define MiB (1024 * 1024)

static uint64_t live, peak, total, maps, remaps, unmaps;
static uint64_t file_live, file_at_peak; /* the file mapping's bytes, now and at the peak */
static char out[2048];
static size_t outlen;

static void grew(uint64_t n, int is_map)
{
	live += n;
	total += n;
	maps += is_map;
	if (live > peak) {
		peak = live;
		file_at_peak = file_live;
	}
}

NOINLINE void *map_anon(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 1, n);
	grew(n, 1);
	return p;
}

NOINLINE void *map_file(const char *path, size_t n)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)n) == 0);
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	close(fd);
	memset(p, 2, n);
	file_live += n;
	grew(n, 1);
	return p;
}

NOINLINE void *grow_it(void *p, size_t from, size_t to)
{
	void *q = mremap(p, from, to, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED);
	grew(to - from, 0);
	remaps++;
	return q;
}

int main(int argc, char **argv)
{
	CHECK(argc == 3);
	char path[4096];
	snprintf(path, sizeof path, "%s/mapped.bin", argv[2]);
	void *a[10];
	for (int i = 0; i < 10; i++)
		a[i] = map_anon(MiB);
	void *f = map_file(path, 2 * MiB);
	/* glibc's malloc maps this itself, internally: heap, not mapped */
	void *big = malloc(16 * MiB);
	CHECK(big);
	memset(big, 3, 16 * MiB);
	/* unmap three whole */
	for (int i = 0; i < 3; i++) {
		CHECK(munmap(a[i], MiB) == 0);
		live -= MiB;
		unmaps++;
	}
	/* a hole of 256 KiB in the middle of a[3]: two pieces stay */
	CHECK(munmap((char *)a[3] + 256 * 1024, 256 * 1024) == 0);
	live -= 256 * 1024;
	unmaps++;
	/* a[4] grows to 3 MiB (may move), a[5] shrinks to 512 KiB */
	a[4] = grow_it(a[4], MiB, 3 * MiB);
	void *s = mremap(a[5], MiB, MiB / 2, 0);
	CHECK(s == a[5]);
	live -= MiB / 2;
	remaps++;
	/* a[6] moves on request into a fresh range (the old one is gone) */
	void *target = mmap(NULL, MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(target != MAP_FAILED);
	grew(MiB, 1); /* counted: a mapping like any other */
	void *moved = mremap(a[6], MiB, MiB, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	CHECK(moved == target);
	live -= MiB; /* target's own mapping was replaced by a[6]'s bytes */
	remaps++;
	/* half of the file mapping goes */
	CHECK(munmap((char *)f + MiB, MiB) == 0);
	live -= MiB;
	file_live -= MiB;
	unmaps++;
	free(big);
	outlen = (size_t)snprintf(out, sizeof out,
				  "maps %llu\nremaps %llu\nunmaps %llu\nmapped_bytes %llu\npeak_bytes %llu\nlive_at_exit_bytes %llu\n"
				  "fn map_anon mapped_bytes %llu\nfn map_file mapped_bytes %llu\nfn grow_it mapped_bytes %llu\n"
				  "file mapped.bin map_count 1\nfile mapped.bin mapped_bytes %llu\n"
				  "file mapped.bin peak_bytes %llu\nfile mapped.bin live_at_exit_bytes %llu\n",
				  (unsigned long long)maps, (unsigned long long)remaps, (unsigned long long)unmaps,
				  (unsigned long long)total, (unsigned long long)peak,
				  (unsigned long long)live, 10ull * MiB, 2ull * MiB, 2ull * MiB, 2ull * MiB,
				  (unsigned long long)file_at_peak, (unsigned long long)file_live);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, out, outlen) == (ssize_t)outlen);
	close(fd);
	unlink(path);
	return 0;
}
