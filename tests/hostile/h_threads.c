/*
 * h_threads.c MODE - threads against per-thread event buffers.
 *
 *   xfree     4 threads pass blocks through a shared queue and each frees
 *             blocks the others allocated (contents checked before free)
 *   many      64 threads allocate at once (all alive together, barrier)
 *   ringfull  a thread fills its ring many times over (run with
 *             LDPROF_RING_KB=16), frees everything and exits at once,
 *             its last events still buffered; another leaves by pthread_exit
 *   churn     2000 short-lived threads, 50 at a time (rings are reused)
 *   teardown  pthread key destructors that allocate after the agent's own
 *             key destructor ran; the blocks are freed later by main
 *   getattr   8 threads whose first allocation is inside
 *             pthread_getattr_np(pthread_self()), which holds the thread's
 *             lock while it allocates (ASan's and Rust's thread start do
 *             this); run with --cpu 0 (no start wrapper of the agent's)
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <pthread.h>


/* ---- xfree ---- */

#define XF_THREADS 4
#define XF_PER_THREAD 20000
#define XF_QUEUE 64

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xblock {
	void *p;
	size_t n;
	unsigned owner, serial;
} queue[XF_QUEUE];
static unsigned q_len;
static unsigned long freed_foreign, freed_own, corrupt;

static void *xfree_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < XF_PER_THREAD; i++) {
		size_t n = 16 + (i * 37 + me * 11) % 300;
		struct xblock b = {pattern_alloc(n, me, i), n, me, i}, out = {0};
		pthread_mutex_lock(&q_lock);
		if (q_len == XF_QUEUE || (q_len && (i & 1))) {
			unsigned k = (i * 7 + me) % q_len;
			out = queue[k];
			queue[k] = queue[--q_len];
		}
		queue[q_len++] = b;
		pthread_mutex_unlock(&q_lock);
		if (out.p) {
			if (!pattern_ok(out.p, out.n, out.owner, out.serial))
				__atomic_add_fetch(&corrupt, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(out.owner == me ? &freed_own : &freed_foreign, 1, __ATOMIC_RELAXED);
			free(out.p);
		}
	}
	return NULL;
}

static void run_xfree(void)
{
	pthread_t t[XF_THREADS];
	for (unsigned i = 0; i < XF_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, xfree_thread, (void *)(uintptr_t)i) == 0, "pthread_create");
	for (unsigned i = 0; i < XF_THREADS; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < q_len; i++) {
		if (!pattern_ok(queue[i].p, queue[i].n, queue[i].owner, queue[i].serial))
			corrupt++;
		free(queue[i].p);
	}
	unsigned long total = freed_foreign + freed_own + q_len;
	CHECK(total == XF_THREADS * XF_PER_THREAD, "freed %lu of %u", total, XF_THREADS * XF_PER_THREAD);
	CHECK(corrupt == 0, "%lu corrupt blocks", corrupt);
	/* Even fully serialised threads hand over the ~64 queued blocks each. */
	CHECK(freed_foreign >= 100, "only %lu blocks freed by another thread", freed_foreign);
	say("xfree: %u blocks, all intact, freed by a thread other than their allocator: yes\n",
	    XF_THREADS * XF_PER_THREAD);
}

/* ---- many ---- */

#define MANY 64
static pthread_barrier_t barrier;

static void *many_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	void *keep[32] = {0};
	pthread_barrier_wait(&barrier); /* everyone starts allocating together */
	for (unsigned i = 0; i < 2000; i++) {
		unsigned k = i % 32;
		if (keep[k]) {
			CHECK(pattern_ok(keep[k], 24 + k, me, k), "thread %u block %u corrupt", me, k);
			free(keep[k]);
		}
		keep[k] = pattern_alloc(24 + k, me, k);
	}
	pthread_barrier_wait(&barrier); /* all 64 alive until everyone is done */
	for (unsigned k = 0; k < 32; k++)
		free(keep[k]);
	return NULL;
}

static void run_many(void)
{
	pthread_t t[MANY];
	pthread_barrier_init(&barrier, NULL, MANY);
	for (unsigned i = 0; i < MANY; i++)
		CHECK(pthread_create(&t[i], NULL, many_thread, (void *)(uintptr_t)i) == 0, "pthread_create %u", i);
	for (unsigned i = 0; i < MANY; i++)
		pthread_join(t[i], NULL);
	say("many: %d threads allocated at once\n", MANY);
}

/* ---- ringfull ---- */

#define RF_BLOCKS 30000

static void *ringfull_thread(void *arg)
{
	(void)arg;
	void **v = malloc(RF_BLOCKS * sizeof *v);
	CHECK(v, "malloc");
	for (unsigned i = 0; i < RF_BLOCKS; i++)
		v[i] = pattern_alloc(8 + i % 64, 1, i);
	for (unsigned i = 0; i < RF_BLOCKS; i++) {
		CHECK(pattern_ok(v[i], 8 + i % 64, 1, i), "block %u corrupt", i);
		free(v[i]);
	}
	free(v);
	return NULL; /* exits with its last few thousand events still in its ring */
}

static void (*volatile thread_exit)(void *) = pthread_exit; /* gcc: not known to be noreturn */

static void __attribute__((noinline)) leave_from_deep(int n)
{
	void *volatile p = malloc(100);
	free(p);
	if (n > 0)
		leave_from_deep(n - 1);
	else
		thread_exit(NULL);
}

static void *ringfull_exit_thread(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < 5000; i++) {
		void *volatile p = malloc(i % 100 + 1);
		free(p);
	}
	leave_from_deep(20);
	return NULL;
}

static void run_ringfull(void)
{
	pthread_t a, b;
	CHECK(pthread_create(&a, NULL, ringfull_thread, NULL) == 0, "pthread_create");
	CHECK(pthread_create(&b, NULL, ringfull_exit_thread, NULL) == 0, "pthread_create");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	say("ringfull: %d blocks allocated and freed by a thread that then exited\n", RF_BLOCKS);
}

/* ---- churn ---- */

static void *churn_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	void *p = pattern_alloc(64 + me % 64, me, 0);
	CHECK(pattern_ok(p, 64 + me % 64, me, 0), "corrupt");
	free(p);
	return NULL;
}

static void run_churn(void)
{
	unsigned n = 0;
	for (unsigned round = 0; round < 40; round++) {
		pthread_t t[50];
		for (unsigned i = 0; i < 50; i++, n++)
			CHECK(pthread_create(&t[i], NULL, churn_thread, (void *)(uintptr_t)n) == 0, "pthread_create");
		for (unsigned i = 0; i < 50; i++)
			pthread_join(t[i], NULL);
	}
	say("churn: %u threads created, allocated, exited\n", n);
}

/* ---- teardown ---- */

#define TD_THREADS 8
static pthread_key_t key_a, key_b;
static void *late[TD_THREADS * 2];
static unsigned late_n;
static pthread_mutex_t late_lock = PTHREAD_MUTEX_INITIALIZER;

static void key_destructor(void *v)
{
	/* Runs after the agent's own key destructor (its key was created first). */
	unsigned me = (unsigned)(uintptr_t)v - 1;
	for (unsigned i = 0; i < 10; i++) {
		void *volatile p = malloc(32 + i);
		free(p);
	}
	void *keep = pattern_alloc(200, me, 7);
	pthread_mutex_lock(&late_lock);
	late[late_n++] = keep;
	pthread_mutex_unlock(&late_lock);
}

static void *teardown_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	void *volatile p = malloc(10);
	free(p);
	pthread_setspecific(key_a, (void *)(uintptr_t)(me + 1));
	pthread_setspecific(key_b, (void *)(uintptr_t)(me + 1));
	return NULL;
}

static void run_teardown(void)
{
	pthread_key_create(&key_a, key_destructor);
	pthread_key_create(&key_b, key_destructor);
	pthread_t t[TD_THREADS];
	for (unsigned i = 0; i < TD_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, teardown_thread, (void *)(uintptr_t)i) == 0, "pthread_create");
	for (unsigned i = 0; i < TD_THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(late_n == TD_THREADS * 2, "%u destructor blocks", late_n);
	for (unsigned i = 0; i < late_n; i++)
		free(late[i]);
	say("teardown: %u blocks allocated by key destructors, freed by main\n", late_n);
}

/* ---- getattr ---- */

static void *getattr_thread(void *arg)
{
	(void)arg;
	pthread_attr_t a;
	size_t size = 0;
	CHECK(pthread_getattr_np(pthread_self(), &a) == 0, "pthread_getattr_np");
	pthread_attr_getstacksize(&a, &size);
	pthread_attr_destroy(&a);
	for (int i = 0; i < 100; i++)
		free(pattern_alloc(40, (unsigned)i, 0));
	return (void *)(uintptr_t)(size != 0);
}

static void run_getattr(void)
{
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		CHECK(pthread_create(&t[i], NULL, getattr_thread, NULL) == 0, "pthread_create");
	unsigned ok = 0;
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += r != NULL;
	}
	CHECK(ok == 8, "%u threads saw their stack size", ok);
	say("getattr: 8 threads asked for their own attributes first, then allocated\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "xfree"))
		run_xfree();
	else if (!strcmp(mode, "many"))
		run_many();
	else if (!strcmp(mode, "ringfull"))
		run_ringfull();
	else if (!strcmp(mode, "churn"))
		run_churn();
	else if (!strcmp(mode, "teardown"))
		run_teardown();
	else if (!strcmp(mode, "getattr"))
		run_getattr();
	else
		CHECK(0, "unknown mode '%s'", mode);
	return 0;
}
