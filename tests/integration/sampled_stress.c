/*
 * sampled_stress.c - everything a program may do with malloc'd memory, each
 * checked by the program itself, so that under sampled mode (where sampled
 * blocks live in the agent's own region) a wrong answer shows as a changed
 * output, a crash or a hang.
 *
 * Prints one line per part and a checksum of the contents it saw; the bare
 * run and every traced run must print exactly the same.
 *
 *   usage: sampled_stress
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
static volatile size_t huge = SIZE_MAX - 4096; /* volatile: sizes the compiler cannot see */
static uint64_t sum;

#define CHECK(cond, ...)                                                                                       \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			fprintf(stderr, "sampled_stress: " __VA_ARGS__);                                      \
			fputc('\n', stderr);                                                                   \
			failures++;                                                                            \
		}                                                                                              \
	} while (0)

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 31);
}

static int holds(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 31))
			return 0;
	return 1;
}

static const size_t sizes[] = {1, 7, 16, 24, 100, 1000, 4095, 4096, 4097, 20000, 100000, 524288, 524289, 3000000};
#define NSIZES (sizeof sizes / sizeof *sizes)

/* calloc is zero even where a dirty block was just freed */
static void part_calloc(void)
{
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < NSIZES; i++) {
			unsigned char *d = malloc(sizes[i]);
			memset(d, 0xee, sizes[i]);
			free(d);
			unsigned char *z = calloc(1, sizes[i]);
			CHECK(z, "calloc(%zu) failed", sizes[i]);
			for (size_t k = 0; z && k < sizes[i]; k++)
				if (z[k]) {
					CHECK(0, "calloc(%zu) byte %zu is %d", sizes[i], k, z[k]);
					break;
				}
			free(z);
		}
	}
	errno = 0;
	void *x = calloc(huge / 2, 4); /* overflows: NULL and ENOMEM */
	CHECK(!x && errno == ENOMEM, "calloc overflow: %p errno %d", x, errno);
	printf("calloc ok\n");
}

/* realloc keeps the contents through growth, shrinking, and moves */
static void part_realloc(void)
{
	for (int round = 0; round < 50; round++) {
		size_t n = 1;
		unsigned char *p = malloc(n);
		fill(p, n, (unsigned)round);
		for (size_t i = 0; i < NSIZES; i++) {
			size_t m = sizes[(i + (size_t)round) % NSIZES];
			p = realloc(p, m);
			CHECK(p, "realloc to %zu failed", m);
			size_t keep = n < m ? n : m;
			CHECK(holds(p, keep, (unsigned)round), "realloc %zu -> %zu lost contents", n, m);
			fill(p, m, (unsigned)round);
			n = m;
		}
		sum += p[n - 1];
		p = realloc(p, 0); /* frees (glibc returns NULL) */
		free(p);
		unsigned char *q = realloc(NULL, 64);
		fill(q, 64, 9);
		q = reallocarray(q, 100, 10);
		CHECK(holds(q, 64, 9), "reallocarray lost contents");
		free(q);
	}
	errno = 0;
	void *big = malloc(64);
	void *r = realloc(big, huge); /* fails: the old block is intact */
	CHECK(!r && errno == ENOMEM, "huge realloc: %p errno %d", r, errno);
	free(big);
	printf("realloc ok %llu\n", (unsigned long long)sum);
}

/* the aligned family: alignment, size, usable size, contents */
static void part_aligned(void)
{
	static const size_t aligns[] = {8, 16, 64, 256, 4096, 65536, 1u << 20, 2u << 20};
	for (int round = 0; round < 40; round++) {
		for (size_t a = 0; a < sizeof aligns / sizeof *aligns; a++) {
			size_t n = sizes[(a + (size_t)round) % NSIZES];
			void *p = NULL;
			int err = posix_memalign(&p, aligns[a], n);
			CHECK(err == 0 && ((uintptr_t)p % aligns[a]) == 0, "posix_memalign(%zu, %zu)", aligns[a], n);
			CHECK(malloc_usable_size(p) >= n, "usable %zu < %zu", malloc_usable_size(p), n);
			fill(p, n, 3);
			free(p);
			p = aligned_alloc(aligns[a], n);
			CHECK(p && ((uintptr_t)p % aligns[a]) == 0, "aligned_alloc(%zu, %zu)", aligns[a], n);
			fill(p, n, 4);
			free(p);
			p = memalign(aligns[a], n);
			CHECK(p && ((uintptr_t)p % aligns[a]) == 0, "memalign(%zu, %zu)", aligns[a], n);
			free(p);
		}
		void *v = valloc(5000);
		CHECK(v && (uintptr_t)v % 4096 == 0 && malloc_usable_size(v) >= 5000, "valloc");
		free(v);
		v = pvalloc(5000);
		CHECK(v && (uintptr_t)v % 4096 == 0 && malloc_usable_size(v) >= 8192, "pvalloc");
		free(v);
	}
	void *p = (void *)1;
	CHECK(posix_memalign(&p, 24, 100) == EINVAL && p == (void *)1, "posix_memalign(24) must be EINVAL");
	printf("aligned ok\n");
}

/* threads free each other's blocks: a pipeline of 4 threads */
#define STAGES 4
#define ITEMS 5000
static void *queue[STAGES][64];
static unsigned head[STAGES], tail[STAGES];
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;

static void put(int q, void *p)
{
	pthread_mutex_lock(&qlock);
	while (head[q] - tail[q] == 64)
		pthread_cond_wait(&qcond, &qlock);
	queue[q][head[q]++ % 64] = p;
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
}

static void *get(int q)
{
	pthread_mutex_lock(&qlock);
	while (head[q] == tail[q])
		pthread_cond_wait(&qcond, &qlock);
	void *p = queue[q][tail[q]++ % 64];
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
	return p;
}

static uint64_t stage_sums[STAGES];

static void *stage(void *arg)
{
	int s = (int)(intptr_t)arg;
	for (int i = 0; i < ITEMS; i++) {
		size_t *p = get(s);
		size_t n = p[0];
		CHECK(holds((unsigned char *)(p + 1), n - sizeof *p, (unsigned)n), "stage %d: contents", s);
		stage_sums[s] += n;
		/* pass on a new block (allocated here) and free the old (allocated elsewhere) */
		size_t m = sizes[(n + (size_t)s) % 11] + 2 * sizeof(size_t); /* up to 100000 */
		size_t *q = malloc(m);
		q[0] = m;
		fill((unsigned char *)(q + 1), m - sizeof *q, (unsigned)m);
		free(p);
		if (s + 1 < STAGES)
			put(s + 1, q);
		else
			free(q);
	}
	return NULL;
}

static void part_threads(void)
{
	pthread_t t[STAGES];
	for (int s = 0; s < STAGES; s++)
		pthread_create(&t[s], NULL, stage, (void *)(intptr_t)s);
	for (int i = 0; i < ITEMS; i++) {
		size_t m = sizes[i % 11] + 2 * sizeof(size_t);
		size_t *q = malloc(m);
		q[0] = m;
		fill((unsigned char *)(q + 1), m - sizeof *q, (unsigned)m);
		put(0, q);
	}
	for (int s = 0; s < STAGES; s++)
		pthread_join(t[s], NULL);
	printf("threads ok %llu %llu %llu %llu\n", (unsigned long long)stage_sums[0], (unsigned long long)stage_sums[1],
	       (unsigned long long)stage_sums[2], (unsigned long long)stage_sums[3]);
}

/* a fork child frees and reallocates what the parent made */
static void part_fork(void)
{
	enum { N = 500 };
	static unsigned char *blocks[N];
	for (int i = 0; i < N; i++) {
		size_t n = sizes[i % NSIZES];
		blocks[i] = malloc(n);
		fill(blocks[i], n, (unsigned)i);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		for (int i = 0; i < N; i++) {
			size_t n = sizes[i % NSIZES];
			bad += !holds(blocks[i], n, (unsigned)i);
			blocks[i] = realloc(blocks[i], n * 2 + 1);
			bad += !holds(blocks[i], n, (unsigned)i);
			free(blocks[i]);
		}
		for (int i = 0; i < 2000; i++)
			free(malloc(sizes[i % NSIZES]));
		_exit(bad ? 1 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child saw wrong contents (status %d)", st);
	for (int i = 0; i < N; i++) {
		CHECK(holds(blocks[i], sizes[i % NSIZES], (unsigned)i), "parent block %d changed after fork", i);
		free(blocks[i]);
	}
	printf("fork ok\n");
}

/* big blocks: the large area, and more than it holds at once */
static void part_big(void)
{
	enum { N = 24 };
	unsigned char *b[N];
	for (int i = 0; i < N; i++) {
		size_t n = (size_t)(i + 1) << 22; /* 4 MiB .. 96 MiB, 1.2 GiB in all, touched sparsely */
		b[i] = malloc(n);
		CHECK(b[i], "malloc(%zu) failed", n);
		for (size_t k = 0; k < n; k += 1u << 20)
			b[i][k] = (unsigned char)(i + k);
		b[i][n - 1] = (unsigned char)i;
	}
	for (int i = 0; i < N; i++) {
		size_t n = (size_t)(i + 1) << 22;
		for (size_t k = 0; k < n; k += 1u << 20)
			CHECK(b[i][k] == (unsigned char)(i + k), "big block %d changed", i);
		CHECK(b[i][n - 1] == (unsigned char)i, "big block %d end changed", i);
		free(b[i]);
	}
	printf("big ok\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	part_calloc();
	part_realloc();
	part_aligned();
	part_threads();
	part_fork();
	part_big();
	free(NULL);
	printf("%s\n", failures ? "FAILED" : "all ok");
	return failures != 0;
}
