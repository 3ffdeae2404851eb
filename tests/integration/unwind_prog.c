/*
 * unwind_prog.c - many different stacks for LDPROF_UNWIND=check, which
 * compares the agent's fast unwinder with libunwind on every allocation.
 *
 * Stacks: random recursion through functions of different shapes (small,
 * alloca, big frames, varargs, qsort callbacks), several threads at once, a
 * stack deeper than the depth limit, libz (dlopen'ed, so its unwind tables
 * are read under the loader lock; closed and opened again), and allocations
 * inside a signal handler on the thread's stack and on a sigaltstack (both
 * handed to libunwind). Built twice: with frame pointers (the integration
 * default) and as unwind_prog-nofp (-O2, none).
 *
 * usage: unwind_prog ROUNDS
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile unsigned long sink;

struct plan {
	const unsigned char *kind;
	unsigned depth;
};

__attribute__((noinline)) void next(const struct plan *p, unsigned level);

__attribute__((noinline)) static void leaf(unsigned level)
{
	char *s = malloc(16 + level);
	sink += (uintptr_t)s;
	char *t = realloc(s, 4000 + level);
	sink += (uintptr_t)t;
	free(t);
	char *c = calloc(3, 7);
	sink += (uintptr_t)c; /* used: GCC drops a malloc/free pair of unused memory */
	free(c);
}

__attribute__((noinline)) static void f_small(const struct plan *p, unsigned level)
{
	next(p, level + 1);
	sink++;
}

__attribute__((noinline)) static void f_alloca(const struct plan *p, unsigned level)
{
	volatile char *buf = __builtin_alloca(16 + (level * 37) % 300);
	buf[0] = (char)level;
	next(p, level + 1);
	sink += (unsigned long)buf[0];
}

__attribute__((noinline)) static void f_big(const struct plan *p, unsigned level)
{
	volatile char buf[3000];
	buf[level % sizeof buf] = 1;
	next(p, level + 1);
	sink += (unsigned long)buf[level % sizeof buf];
}

__attribute__((noinline)) static void f_varargs(const struct plan *p, unsigned level, ...)
{
	va_list ap;
	va_start(ap, level);
	unsigned long a = va_arg(ap, unsigned long);
	va_end(ap);
	next(p, level + 1);
	sink += a;
}

static __thread const struct plan *qs_plan;
static __thread unsigned qs_level;

__attribute__((noinline)) static int f_cmp(const void *a, const void *b)
{
	if (qs_plan) {
		const struct plan *p = qs_plan;
		qs_plan = NULL;
		next(p, qs_level + 1);
	}
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void f_qsort(const struct plan *p, unsigned level)
{
	int v[5] = {4, 2, 3, 1, 0};
	qs_plan = p;
	qs_level = level;
	qsort(v, 5, sizeof *v, f_cmp);
	sink += (unsigned long)v[0];
}

__attribute__((noinline)) void next(const struct plan *p, unsigned level)
{
	if (level >= p->depth) {
		leaf(level);
		return;
	}
	switch (p->kind[level]) {
	case 0: f_small(p, level); break;
	case 1: f_alloca(p, level); break;
	case 2: f_big(p, level); break;
	case 3: f_varargs(p, level, (unsigned long)level); break;
	default: f_qsort(p, level); break;
	}
	sink++;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_stacks(uint64_t seed, unsigned rounds)
{
	unsigned char kind[200];
	for (unsigned r = 0; r < rounds; r++) {
		struct plan p = {kind, 1 + (unsigned)(rng(&seed) % (r % 50 == 0 ? 150 : 40))};
		for (unsigned i = 0; i < p.depth; i++)
			kind[i] = (unsigned char)(rng(&seed) % 6);
		next(&p, 0);
	}
}

static void *thread_main(void *arg)
{
	random_stacks((uint64_t)(uintptr_t)arg, 2000);
	return NULL;
}

/* libz allocates through malloc from its own frames. */
static void use_libz(void)
{
	for (int round = 0; round < 3; round++) {
		void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
		if (!h)
			return;
		int (*compress2)(unsigned char *, unsigned long *, const unsigned char *, unsigned long, int) =
			(int (*)(unsigned char *, unsigned long *, const unsigned char *, unsigned long, int))dlsym(h, "compress2");
		static unsigned char in[100000], out[120000];
		for (size_t i = 0; i < sizeof in; i++)
			in[i] = (unsigned char)(i * 7 / 13);
		for (int i = 0; compress2 && i < 20; i++) {
			unsigned long n = sizeof out;
			compress2(out, &n, in, sizeof in, 1 + i % 9);
			sink += n;
		}
		dlclose(h);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	/* not async-signal-safe, and programs do it anyway */
	char *p = malloc(24);
	sink += (uintptr_t)p;
	free(p);
}

__attribute__((noinline)) static void signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < 10; i++)
		raise(SIGUSR1);
	static char alt[1 << 16];
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
	sigaltstack(&ss, NULL);
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	for (int i = 0; i < 10; i++)
		raise(SIGUSR2);
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(0x5151 + i));
	random_stacks(0xabcdef, rounds);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	use_libz();
	signals();
	printf("done %lu\n", sink & 1);
	return 0;
}
