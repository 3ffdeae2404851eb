/*
 * h_nested.c MODE SIDEFILE - a signal handler that allocates while the
 * thread it interrupted is inside the allocator (and so, traced, inside the
 * agent's recording of an allocation).
 *
 * Done so that it is safe in the bare program too (malloc is not
 * async-signal-safe): the main thread only makes blocks of 256 KiB and
 * more, which glibc serves with mmap and grows with mremap (the threshold
 * fixed with mallopt), so it never touches the per-thread cache; the
 * handler only takes 40-byte blocks from that cache and gives them back
 * (kept at 6 or 7 entries: never empty, never full), so it never needs the
 * arena lock the main thread may hold.
 *
 *   stack  the handler runs on the thread's stack
 *   alt    the handler runs on a sigaltstack
 *   burst  the handler frees and makes 20 blocks (20 sizes, each from its
 *          own cache bin) per run, every 2 ms, 300 runs: more than the
 *          agent keeps aside while one recording is interrupted, so some
 *          are counted as lost
 *
 * SIGALRM every 100 us (ITIMER_REAL); the main thread allocates, grows
 * (8 reallocs) and frees a large block until the handler has run 2000
 * times and it has done 1000 rounds. The program counts every call that
 * made a block (malloc, realloc) and every one that released one (free, a
 * realloc's old block) and writes "allocations A frees F" to SIDEFILE; all
 * blocks are freed at the end.
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>

#define BURST 20

static volatile sig_atomic_t handler_runs;
static int per_run = 1;
static void *volatile held[BURST];

static size_t size_of(int i)
{
	return per_run == 1 ? 40 : 24 + 16 * (size_t)i;
}

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	for (int i = 0; i < per_run; i++) {
		if (held[i])
			free(held[i]);
		unsigned char *p = malloc(size_of(i));
		if (p)
			memset(p, 0x3c, size_of(i));
		held[i] = p;
	}
	handler_runs++;
	errno = saved;
}

int main(int argc, char **argv)
{
	CHECK(argc == 3 && (!strcmp(argv[1], "stack") || !strcmp(argv[1], "alt") || !strcmp(argv[1], "burst")),
	      "usage: h_nested stack|alt|burst SIDEFILE");
	if (!strcmp(argv[1], "burst"))
		per_run = BURST;
	CHECK(mallopt(M_MMAP_THRESHOLD, 128 << 10) == 1, "mallopt");
	/* The handler's blocks come from the per-thread cache: fill its bins. */
	void *warm[7];
	unsigned long allocs = 0, frees = 0;
	for (int i = 0; i < per_run; i++) {
		for (int k = 0; k < 7; k++)
			warm[k] = malloc(size_of(i));
		for (int k = 0; k < 7; k++)
			free(warm[k]);
		allocs += 7;
		frees += 7;
	}

	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (!strcmp(argv[1], "alt")) {
		size_t min = getauxval(AT_MINSIGSTKSZ);
		size_t size = (min > (size_t)MINSIGSTKSZ ? min : (size_t)MINSIGSTKSZ) + 64 * 1024;
		stack_t st = {.ss_sp = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
			      .ss_size = size};
		CHECK(st.ss_sp != MAP_FAILED && sigaltstack(&st, NULL) == 0, "sigaltstack");
		sa.sa_flags |= SA_ONSTACK;
	}
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
	/* A burst of 40 events takes the traced handler far longer than 100 us
	 * (each stack that goes through the signal frame is libunwind's, and
	 * libunwind blocks and unblocks every signal on each step): every 2 ms
	 * then, or the main thread would hardly run between two handlers. */
	long period = per_run == 1 ? 100 : 2000;
	int want_runs = per_run == 1 ? 2000 : 300;
	struct itimerval it = {{0, period}, {0, period}}, off = {{0, 0}, {0, 0}};
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");

	unsigned rounds = 0;
	while (rounds < 1000 || handler_runs < want_runs) {
		size_t n = 256 << 10;
		unsigned char *p = malloc(n);
		CHECK(p, "malloc");
		allocs++;
		p[0] = 1;
		for (int k = 0; k < 8; k++) {
			n += 4096;
			p = realloc(p, n);
			CHECK(p && p[0] == 1, "realloc");
			allocs++;
			frees++;
		}
		free(p);
		frees++;
		rounds++;
		CHECK(rounds < 10000000, "the handler never ran");
	}
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0, "setitimer off");
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL); /* a last tick may still be on its way */
	unsigned long runs = (unsigned long)handler_runs;
	allocs += runs * (unsigned long)per_run;
	frees += (runs - 1) * (unsigned long)per_run; /* each run freed the blocks of the run before, but the first */
	for (int i = 0; i < per_run; i++)
		free(held[i]);
	frees += (unsigned long)per_run;
	char line[128]; /* no stdio: a FILE would be two more allocations */
	int len = snprintf(line, sizeof line, "allocations %lu frees %lu\n", allocs, frees);
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, line, (size_t)len) == len && close(fd) == 0, "%s: %s", argv[2], strerror(errno));
	say("%s: the handler allocated while the thread was in malloc, realloc or free; all freed\n", argv[1]);
	return 0;
}
