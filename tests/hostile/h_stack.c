/*
 * h_stack.c MODE [ARG] - deep, odd and small stacks.
 *
 *   deep N       allocate at recursion depth N (and at a few shallower ones)
 *   longjmp      allocate at every level of a 10 000-frame recursion, then
 *                longjmp from the bottom straight back to the top; 5 times
 *   tiny SUB LIB threads on 16 KiB stacks (mmap'd, with 1 MiB of PROT_NONE
 *                right below, so any overflow faults at once) that:
 *                  alloc   allocate, reallocate, free, 8 threads at a time
 *                  fork    fork; the child's first allocation happens there
 *                  dlopen  call into a library dlopened just before (a new
 *                          module: the agent rescans the loaded objects)
 *                  exit    call exit(5) (the final flush runs on that stack)
 *                  exec    exec /bin/echo (the pre-exec flush runs there)
 *                  setstacksize  8 threads made the usual way,
 *                          pthread_attr_setstacksize(16 KiB) (glibc's own
 *                          stack and 4 KiB guard), allocate; one forks and
 *                          its child allocates there
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/wait.h>


/* ---- deep ---- */

static unsigned long __attribute__((noinline)) recurse(unsigned n, unsigned target)
{
	unsigned long r;
	if (n == target || n % 997 == 0) {
		void *p = pattern_alloc(32, n, 0);
		r = pattern_ok(p, 32, n, 0);
		free(p);
		if (n == target)
			return r;
	}
	r = recurse(n + 1, target);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
	return r;
}

/* ---- longjmp ---- */

static jmp_buf top;
static void *blocks[10001];

static void (*volatile jump_out)(jmp_buf, int) = longjmp; /* gcc: not known to be noreturn */

static void __attribute__((noinline)) dive(unsigned n)
{
	if (n % 10 == 0)
		blocks[n / 10] = pattern_alloc(16 + n % 50, n, 1);
	if (n == 10000)
		jump_out(top, 1);
	else
		dive(n + 1);
	__asm__ volatile("" ::: "memory");
}

/* ---- tiny ---- */

#define TINY 16384

static const char *sub, *lib;

static void *tiny_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	void *p = pattern_alloc(100, me, 0);
	void *q = realloc(p, 5000);
	CHECK(q && pattern_ok(q, 100, me, 0), "realloc");
	void *r = calloc(10, 30);
	free(q);
	free(r);
	if (!strcmp(sub, "fork")) {
		pid_t c = fork();
		CHECK(c >= 0, "fork");
		if (c == 0) {
			void *x = pattern_alloc(1000, 1, 2); /* the child's first event: it opens its trace here */
			_exit(pattern_ok(x, 1000, 1, 2) ? 3 : 4);
		}
		int st;
		waitpid(c, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "child: exited %d, signal %d",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	} else if (!strcmp(sub, "dlopen")) {
		void *h = dlopen(lib, RTLD_NOW);
		CHECK(h, "dlopen: %s", dlerror());
		void *(*hd_alloc)(size_t) = (void *(*)(size_t))dlsym(h, "hd_alloc");
		CHECK(hd_alloc, "dlsym");
		free(hd_alloc(100));
		dlclose(h);
	} else if (!strcmp(sub, "exit")) {
		say("tiny: exit(5) from a 16 KiB thread\n");
		exit(5);
	} else if (!strcmp(sub, "exec")) {
		char *argv[] = {"echo", "tiny: exec'd from a 16 KiB thread", NULL};
		execv("/bin/echo", argv);
		CHECK(0, "execv: %s", strerror(errno));
	}
	return NULL;
}

static pthread_t start_sized(unsigned me)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	CHECK(pthread_attr_setstacksize(&at, TINY) == 0, "setstacksize");
	pthread_t t;
	int err = pthread_create(&t, &at, tiny_thread, (void *)(uintptr_t)me);
	CHECK(err == 0, "pthread_create: %s", strerror(err));
	pthread_attr_destroy(&at);
	return t;
}

static pthread_t start_tiny(unsigned me)
{
	size_t guard = 1 << 20;
	char *m = mmap(NULL, guard + TINY, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap");
	CHECK(mprotect(m, guard, PROT_NONE) == 0, "mprotect");
	pthread_attr_t at;
	pthread_attr_init(&at);
	CHECK(pthread_attr_setstack(&at, m + guard, TINY) == 0, "setstack");
	pthread_t t;
	int err = pthread_create(&t, &at, tiny_thread, (void *)(uintptr_t)me);
	CHECK(err == 0, "pthread_create: %s", strerror(err));
	pthread_attr_destroy(&at);
	return t;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "deep") && argc > 2) {
		unsigned n = (unsigned)atoi(argv[2]);
		CHECK(recurse(1, n) == 1, "block at depth %u corrupt", n);
		say("deep: allocated at depth %u\n", n);
	} else if (!strcmp(mode, "longjmp")) {
		for (int round = 0; round < 5; round++) {
			if (setjmp(top) == 0)
				dive(0);
			for (unsigned i = 0; i <= 1000; i++) {
				CHECK(pattern_ok(blocks[i], 16 + (i * 10) % 50, i * 10, 1), "block %u corrupt", i);
				free(blocks[i]);
			}
		}
		say("longjmp: 5 times out of 10000 frames, every block intact\n");
	} else if (!strcmp(mode, "tiny") && argc > 2) {
		sub = argv[2];
		lib = argc > 3 ? argv[3] : "";
		int sized = !strcmp(sub, "setstacksize");
		unsigned n = strcmp(sub, "alloc") && !sized ? 1 : 8;
		pthread_t t[8];
		for (unsigned round = 0; round < (n == 8 ? 4u : 1u); round++) {
			for (unsigned i = 0; i < n; i++) {
				if (sized)
					sub = i == 7 && round == 3 ? "fork" : "alloc";
				t[i] = sized ? start_sized(round * 8 + i) : start_tiny(round * 8 + i);
				if (sized)
					pthread_join(t[i], NULL); /* sub is shared: one at a time */
			}
			for (unsigned i = 0; i < n && !sized; i++)
				pthread_join(t[i], NULL);
		}
		if (sized)
			sub = "setstacksize";
		say("tiny %s: done on 16 KiB stacks\n", sub);
	} else {
		CHECK(0, "unknown mode '%s'", mode);
	}
	return 0;
}
