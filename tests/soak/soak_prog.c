/*
 * soak_prog.c - a server-like program that does, in one run, what daemons
 * do to a tracer (issue 13), and keeps its own allocation truth per process.
 *
 *   soak_prog DIR SECONDS LIB   the server: for SECONDS of its own measured
 *                               time, in generations:
 *     - 12 worker threads at once (more than cores), 36 started per
 *       generation, each a few thousand operations with every entry point of
 *       the malloc family, blocks handed between threads, a quarter of them
 *       dlopen LIB, allocate in it and dlclose it;
 *     - while they run: a fork child that closefrom(3)s, allocates and
 *       exit()s, a fork child that closefrom(3)s and execs `soak_prog
 *       --worker`, SIGUSR1 to a thread whose handler allocates, SIGUSR2
 *       taken with signalfd and SIGRTMIN+2 with sigwaitinfo (both blocked
 *       everywhere, each checked to arrive exactly once, with our own pid);
 *     - between generations (no worker alive, so no allocator lock held): a
 *       child of _Fork() and one of a raw clone system call, each filling
 *       its ring and ending with _exit.
 *     Then it joins everything, leaves a known set of blocks live, writes
 *     DIR/truth.PID, prints what it checked, writes DIR/ready and waits for
 *     SIGTERM (default action: the test kills it).
 *   soak_prog --worker DIR "ALLOCATIONS FREES BYTES"
 *                               the exec'd child, carrying on the counts of
 *                               its image before exec (which allocated and
 *                               freed, then closefrom(3)): 4 threads
 *                               allocate, then DIR/truth.PID, exit(0).
 *
 * Every allocation the program makes itself goes through the soakm_*
 * functions (site frames `ldprof report --include 'soakm_*'` keeps), which
 * count with atomics (signal handlers count too). Each truth file says how
 * the process ends, as `ldprof report` names it ("ends" lists the images of
 * the process). Output is the same whatever the timing; any broken check
 * exits 4 with the line that failed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

#define CHECK(cond)                                                                                            \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			char m_[256];                                                                          \
			int k_ = snprintf(m_, sizeof m_, "soak_prog %d: %s:%d: check failed: %s\n", (int)getpid(), \
					  __FILE__, __LINE__, #cond);                                          \
			if (write(2, m_, (size_t)k_) < 0) {                                                    \
			}                                                                                      \
			_exit(4);                                                                              \
		}                                                                                              \
	} while (0)

extern pid_t _Fork(void);

/* ---- the truth: this process's own allocations, counted with atomics ---- */

static struct {
	_Atomic uint64_t allocations, frees, allocated_bytes, live_bytes, live_count;
} T;

static void count_alloc(size_t n)
{
	atomic_fetch_add(&T.allocations, 1);
	atomic_fetch_add(&T.allocated_bytes, n);
	atomic_fetch_add(&T.live_bytes, n);
	atomic_fetch_add(&T.live_count, 1);
}

static void count_free(size_t n)
{
	atomic_fetch_add(&T.frees, 1);
	atomic_fetch_sub(&T.live_bytes, n);
	atomic_fetch_sub(&T.live_count, 1);
}

static void truth_reset(void)
{
	atomic_store(&T.allocations, 0);
	atomic_store(&T.frees, 0);
	atomic_store(&T.allocated_bytes, 0);
	atomic_store(&T.live_bytes, 0);
	atomic_store(&T.live_count, 0);
}

/* DIR/truth.PID, with write(2) only. */
static void truth_write(const char *dir, const char *ends)
{
	char path[4096], buf[512];
	snprintf(path, sizeof path, "%s/truth.%d", dir, (int)getpid());
	int n = snprintf(buf, sizeof buf,
			 "allocations %llu\nfrees %llu\nallocated_bytes %llu\nleaked_bytes %llu\nleaked_count %llu\n"
			 "ends %s\n",
			 (unsigned long long)T.allocations, (unsigned long long)T.frees,
			 (unsigned long long)T.allocated_bytes, (unsigned long long)T.live_bytes,
			 (unsigned long long)T.live_count, ends);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, buf, (size_t)n) == n);
	close(fd);
}

/* ---- the program's allocation sites: every entry point of the family ---- */

struct blk {
	void *p;
	size_t n;
};

NOINLINE void *soakm_malloc(size_t n)
{
	void *p = malloc(n);
	CHECK(p);
	count_alloc(n);
	return p;
}

NOINLINE void *soakm_calloc(size_t k, size_t n)
{
	void *p = calloc(k, n);
	CHECK(p);
	count_alloc(k * n);
	return p;
}

NOINLINE void *soakm_realloc(void *p, size_t old, size_t n)
{
	void *q = realloc(p, n);
	CHECK(q);
	if (p)
		count_free(old);
	count_alloc(n);
	return q;
}

NOINLINE void *soakm_reallocarray(void *p, size_t old, size_t k, size_t n)
{
	void *q = reallocarray(p, k, n);
	CHECK(q);
	if (p)
		count_free(old);
	count_alloc(k * n);
	return q;
}

NOINLINE void *soakm_aligned(int how, size_t n)
{
	void *p = NULL;
	switch (how) {
	case 0: CHECK(posix_memalign(&p, 64, n) == 0); break;
	case 1: p = aligned_alloc(256, n); break;
	case 2: p = memalign(32, n); break;
	case 3: p = valloc(n); break;
	default: p = pvalloc(n); break;
	}
	CHECK(p);
	count_alloc(n);
	return p;
}

NOINLINE void soakm_free(struct blk *b)
{
	free(b->p);
	count_free(b->n);
	b->p = NULL;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A new block from a random entry point; at least 8 bytes, which hold its
 * size (blocks handed between threads carry it). */
static struct blk blk_new(uint64_t *rng)
{
	uint64_t r = xorshift(rng);
	size_t n = 8 + r % 1000;
	if (r % 4001 == 0)
		n = 200000 + r % 100000; /* glibc maps these itself */
	struct blk b = {NULL, n};
	switch ((r >> 20) % 9) {
	case 0: case 1: b.p = soakm_malloc(n); break;
	case 2: b.n = (n / 8) * 8; b.p = soakm_calloc(b.n / 8, 8); break;
	case 3: b.p = soakm_realloc(NULL, 0, n); break;
	case 4: b.n = (n / 4) * 4; b.p = soakm_reallocarray(NULL, 0, 4, b.n / 4); break;
	default: b.p = soakm_aligned((int)((r >> 20) % 9) - 5 + (int)(r % 2), n); break;
	}
	*(size_t *)b.p = b.n;
	return b;
}

static void blk_grow(struct blk *b, uint64_t *rng)
{
	size_t m = 8 + xorshift(rng) % 2000;
	b->p = soakm_realloc(b->p, b->n, m);
	b->n = m;
	*(size_t *)b->p = m;
}

/* ---- workers ---- */

#define WORKERS 12
#define STARTS_PER_GENERATION 36
#define SLOTS 256
#define LIB_BLOCKS 10

static const char *lib_path;
static _Atomic uintptr_t shared[SLOTS]; /* blocks in passing between threads */
static _Atomic uint64_t lib_loads;

struct worker {
	pthread_t t;
	_Atomic int done;
	int used;
	uint64_t seed;
};

/* dlclose runs __cxa_finalize under glibc's exit-handler lock, which a
 * fork child inherits as it was: held, its exit() would wait for ever (bare
 * too). Forks take this lock, so none happens inside dlopen or dlclose. */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

/* dlopen the library, allocate in it, dlclose: the blocks outlive it. */
static void use_library(struct blk *tab, int cap, uint64_t *rng)
{
	pthread_mutex_lock(&lib_lock);
	void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	CHECK(h);
	void *(*lib_alloc)(size_t) = (void *(*)(size_t))dlsym(h, "soakm_lib_alloc");
	CHECK(lib_alloc);
	for (int k = 0; k < LIB_BLOCKS; k++) {
		int i = (int)(xorshift(rng) % (uint64_t)cap);
		if (tab[i].p)
			soakm_free(&tab[i]);
		size_t n = 8 + xorshift(rng) % 500;
		tab[i].p = lib_alloc(n);
		CHECK(tab[i].p);
		count_alloc(n);
		tab[i].n = n;
		*(size_t *)tab[i].p = n;
	}
	CHECK(dlclose(h) == 0);
	pthread_mutex_unlock(&lib_lock);
	atomic_fetch_add(&lib_loads, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = w->seed;
	enum { CAP = 64 };
	struct blk tab[CAP];
	memset(tab, 0, sizeof tab);
	int ops = 1000 + (int)(xorshift(&rng) % 2000);
	int with_lib = w->seed % 4 == 0;
	for (int op = 0; op < ops; op++) {
		int i = (int)(xorshift(&rng) % CAP);
		uint64_t r = xorshift(&rng) % 8;
		if (!tab[i].p) {
			tab[i] = blk_new(&rng);
		} else if (r < 4) {
			soakm_free(&tab[i]);
		} else if (r < 6) {
			blk_grow(&tab[i], &rng);
		} else {
			/* Hand it over; take whatever another thread left there. */
			uintptr_t old = atomic_exchange(&shared[xorshift(&rng) % SLOTS], (uintptr_t)tab[i].p);
			tab[i].p = (void *)old;
			tab[i].n = old ? *(size_t *)old : 0;
		}
		if (with_lib && op % 500 == 250)
			use_library(tab, CAP, &rng);
		if (op % 64 == 63) {
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL); /* a server waits now and then */
		}
	}
	/* Everything freed but one block in eight: those stay live. */
	for (int i = 0; i < CAP; i++)
		if (tab[i].p && i % 8)
			soakm_free(&tab[i]);
	atomic_store(&w->done, 1);
	return NULL;
}

/* ---- signals the program owns ---- */

#define SIG_RT (SIGRTMIN + 2)
static _Atomic uint64_t usr1_seen, usr2_seen, rt_seen;
static _Atomic int usr1_quit;
static struct blk usr1_kept[4096]; /* one block per SIGUSR1, freed at the end */

/* A handler that allocates (on a thread that does nothing else, so it never
 * interrupts the allocator on its own thread: that would deadlock bare). */
static void on_usr1(int sig)
{
	(void)sig;
	int saved = errno;
	uint64_t k = atomic_load(&usr1_seen);
	struct blk a = {soakm_malloc(100), 100}, b = {soakm_calloc(3, 40), 120};
	soakm_free(&a);
	soakm_free(&b);
	if (k < sizeof usr1_kept / sizeof usr1_kept[0])
		usr1_kept[k] = (struct blk){soakm_malloc(64), 64};
	atomic_fetch_add(&usr1_seen, 1);
	errno = saved;
}

static void *usr1_target(void *arg)
{
	(void)arg;
	sigset_t only;
	sigfillset(&only);
	sigdelset(&only, SIGUSR1);
	while (!atomic_load(&usr1_quit))
		sigsuspend(&only); /* returns after each handler */
	return NULL;
}

/* SIGUSR2 through a signalfd: each must come from this process. */
static void *usr2_reader(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	CHECK(fd >= 0);
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(fd, &si, sizeof si);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n == sizeof si);
		CHECK(si.ssi_signo == SIGUSR2 && si.ssi_pid == (uint32_t)getpid());
		if (si.ssi_code == SI_QUEUE && si.ssi_int == -1)
			break;
		atomic_fetch_add(&usr2_seen, 1);
	}
	close(fd);
	return NULL;
}

/* SIGRTMIN+2 through sigwaitinfo, values in sequence. */
static void *rt_waiter(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIG_RT);
	for (;;) {
		siginfo_t si;
		int s = sigwaitinfo(&set, &si);
		if (s < 0 && errno == EINTR)
			continue;
		CHECK(s == SIG_RT && si.si_code == SI_QUEUE && si.si_pid == getpid());
		if (si.si_value.sival_int == -1)
			break;
		CHECK((uint64_t)si.si_value.sival_int == atomic_load(&rt_seen));
		atomic_fetch_add(&rt_seen, 1);
	}
	return NULL;
}

/* Wait until *v reaches want; a signal that never arrives is a failure
 * (after a minute: a bound on a hang, not a timing). */
static void await(_Atomic uint64_t *v, uint64_t want, const char *what)
{
	for (long i = 0; atomic_load(v) < want; i++) {
		if (i > 600000) {
			fprintf(stderr, "soak_prog: %s never arrived\n", what);
			_exit(4);
		}
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	CHECK(atomic_load(v) == want);
}

/* ---- children ---- */

static const char *dir;
static char self_exe[4096];

static void child_allocate(int blocks, uint64_t seed)
{
	struct blk *tab = soakm_malloc((size_t)blocks * sizeof *tab);
	for (int i = 0; i < blocks; i++)
		tab[i] = blk_new(&seed);
	for (int i = 0; i < blocks; i++)
		if (i % 10)
			soakm_free(&tab[i]);
	struct blk t = {tab, (size_t)blocks * sizeof *tab};
	soakm_free(&t);
}

static void reap(pid_t pid)
{
	int st;
	CHECK(pid > 0);
	while (waitpid(pid, &st, 0) < 0)
		CHECK(errno == EINTR);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "soak_prog: child %d ended with status 0x%x\n", (int)pid, st);
		_exit(4);
	}
}

/* While workers run: glibc's fork makes malloc safe in the child. */
static pid_t fork_outside_dlopen(void)
{
	pthread_mutex_lock(&lib_lock);
	pid_t c = fork();
	pthread_mutex_unlock(&lib_lock);
	return c;
}

static void fork_children(uint64_t gen)
{
	pid_t c = fork_outside_dlopen();
	if (c == 0) {
		truth_reset();
		closefrom(3);
		child_allocate(1000, gen * 7 + 1);
		truth_write(dir, "exit");
		exit(0);
	}
	reap(c);
	c = fork_outside_dlopen();
	if (c == 0) {
		/* Some work first (the child's trace is opened on its first
		 * event), all freed; the exec'd image carries the counts on. */
		truth_reset();
		child_allocate(300, gen * 7 + 4);
		struct blk last = {soakm_malloc(10), 10};
		soakm_free(&last);
		char counts[128];
		snprintf(counts, sizeof counts, "%llu %llu %llu", (unsigned long long)T.allocations,
			 (unsigned long long)T.frees, (unsigned long long)T.allocated_bytes);
		closefrom(3);
		execl(self_exe, "soak_prog", "--worker", dir, counts, (char *)NULL);
		_exit(5);
	}
	reap(c);
}

/* Between generations (no worker alive; the signal threads wait in the
 * kernel): children that no atfork handler prepared. */
static void raw_children(uint64_t gen)
{
	pid_t c = _Fork();
	if (c == 0) {
		truth_reset();
		child_allocate(4000, gen * 7 + 2);
		truth_write(dir, "_exit");
		_exit(0);
	}
	reap(c);
	c = (pid_t)syscall(SYS_clone, (long)SIGCHLD, 0L, NULL, NULL, 0L);
	if (c == 0) {
		truth_reset();
		child_allocate(4000, gen * 7 + 3);
		truth_write(dir, "_exit");
		_exit(0);
	}
	reap(c);
}

/* ---- the exec'd worker ---- */

static void *exec_thread(void *arg)
{
	child_allocate(1500, (uint64_t)(uintptr_t)arg);
	return NULL;
}

static int exec_worker(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, exec_thread, (void *)(uintptr_t)(i * 31 + 5)) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	truth_write(dir, "exec,exit");
	return 0;
}

/* ---- the server ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--worker")) {
		dir = argv[2];
		unsigned long long a, f, b;
		CHECK(sscanf(argv[3], "%llu %llu %llu", &a, &f, &b) == 3);
		atomic_store(&T.allocations, a);
		atomic_store(&T.frees, f);
		atomic_store(&T.allocated_bytes, b);
		return exec_worker();
	}
	CHECK(argc == 4);
	dir = argv[1];
	double seconds = atof(argv[2]);
	lib_path = argv[3];
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	CHECK(n > 0);
	self_exe[n] = '\0';

	/* Signals the program takes itself: blocked everywhere (threads inherit
	 * the mask), each taken by its own thread. */
	sigset_t owned;
	sigemptyset(&owned);
	sigaddset(&owned, SIGUSR1);
	sigaddset(&owned, SIGUSR2);
	sigaddset(&owned, SIG_RT);
	CHECK(pthread_sigmask(SIG_BLOCK, &owned, NULL) == 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	pthread_t t_usr1, t_usr2, t_rt;
	CHECK(pthread_create(&t_usr1, NULL, usr1_target, NULL) == 0);
	CHECK(pthread_create(&t_usr2, NULL, usr2_reader, NULL) == 0);
	CHECK(pthread_create(&t_rt, NULL, rt_waiter, NULL) == 0);

	struct worker *w = soakm_calloc(WORKERS, sizeof *w);
	struct blk wblk = {w, WORKERS * sizeof *w};
	uint64_t start = now_ns(), gen = 0, starts = 0, usr1 = 0, usr2 = 0, rt = 0;
	while (gen == 0 || now_ns() - start < (uint64_t)(seconds * 1e9)) {
		/* A generation: workers come and go, WORKERS at a time. */
		int started = 0, live = 0;
		do {
			for (int i = 0; i < WORKERS; i++) {
				if (w[i].used && atomic_load(&w[i].done)) {
					CHECK(pthread_join(w[i].t, NULL) == 0);
					w[i].used = 0;
					live--;
				}
				if (!w[i].used && started < STARTS_PER_GENERATION) {
					w[i].seed = ++starts * 0x9E3779B97F4A7C15ull;
					atomic_store(&w[i].done, 0);
					CHECK(pthread_create(&w[i].t, NULL, worker_main, &w[i]) == 0);
					w[i].used = 1;
					started++;
					live++;
				}
			}
			if (started == WORKERS) {
				/* All kinds of traffic while they run. */
				fork_children(gen);
				CHECK(pthread_kill(t_usr1, SIGUSR1) == 0);
				await(&usr1_seen, ++usr1, "SIGUSR1");
				CHECK(kill(getpid(), SIGUSR2) == 0);
				await(&usr2_seen, ++usr2, "SIGUSR2 (signalfd)");
				CHECK(sigqueue(getpid(), SIG_RT, (union sigval){.sival_int = (int)rt}) == 0);
				await(&rt_seen, ++rt, "SIGRTMIN+2 (sigwaitinfo)");
			}
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		} while (live > 0);
		raw_children(gen);
		gen++;
	}

	/* Wind down: the signal threads, the blocks in passing. */
	atomic_store(&usr1_quit, 1);
	CHECK(pthread_kill(t_usr1, SIGUSR1) == 0);
	await(&usr1_seen, ++usr1, "SIGUSR1");
	CHECK(pthread_join(t_usr1, NULL) == 0);
	CHECK(sigqueue(getpid(), SIGUSR2, (union sigval){.sival_int = -1}) == 0);
	CHECK(pthread_join(t_usr2, NULL) == 0);
	CHECK(sigqueue(getpid(), SIG_RT, (union sigval){.sival_int = -1}) == 0);
	CHECK(pthread_join(t_rt, NULL) == 0);
	for (int i = 0; i < SLOTS; i++) {
		uintptr_t p = atomic_exchange(&shared[i], 0);
		if (p) {
			struct blk b = {(void *)p, *(size_t *)p};
			soakm_free(&b);
		}
	}
	/* Every other SIGUSR1 block freed, the rest stay live. */
	for (uint64_t i = 0; i < usr1 && i < sizeof usr1_kept / sizeof usr1_kept[0]; i += 2)
		soakm_free(&usr1_kept[i]);
	soakm_free(&wblk);
	CHECK(atomic_load(&lib_loads) > 0);

	truth_write(dir, "terminated by SIGTERM");
	printf("soak: worker threads came and went, %d at a time, every malloc entry point\n", WORKERS);
	printf("soak: fork, fork+exec, _Fork and clone children exited 0\n");
	printf("soak: every SIGUSR1 (allocating handler), SIGUSR2 (signalfd) and SIGRTMIN+2 (sigwaitinfo) arrived once\n");
	printf("soak: the library was loaded and unloaded\n");
	fflush(stdout);
	char path[4096], pid[32];
	snprintf(path, sizeof path, "%s/ready", dir);
	int k = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, pid, (size_t)k) == k);
	close(fd);
	for (;;)
		pause(); /* until the test's SIGTERM */
}
