/*
 * truth_xthread.c - the ordering hazard of per-thread buffers, made to happen.
 *
 * Three threads take turns, strictly one after another (a baton), on one
 * shared table of blocks. On its turn a thread frees a block another thread
 * allocated, then at once allocates the same size: with one malloc arena and
 * no tcache (run with GLIBC_TUNABLES=glibc.malloc.arena_max=1:
 * glibc.malloc.tcache_count=0) glibc hands back the address just freed, so
 * "thread A frees p, thread C gets p" happens thousands of times, and the
 * events sit in three different per-thread buffers. Because turns are
 * serialised, the true live total and peak are exactly known.
 *   usage: truth_xthread TRUTH_FILE [baseline]
 * The truth file also says how many immediate cross-thread reuses happened.
 * "baseline" creates and joins the same threads but allocates nothing: what
 * libc allocates for the threads themselves (glibc callocs each new thread's
 * DTV and keeps it with its cached stack) is measured from that run.
 */
#include "truth.h"

#define THREADS 3
#define SLOTS 64
#define TURNS 60000

static void *slot[SLOTS];
static size_t slot_size[SLOTS];
static int slot_owner[SLOTS];
static uint64_t reuses;
static int baseline;

static pthread_mutex_t baton_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t baton_cond = PTHREAD_COND_INITIALIZER;
static int turn;      /* whose turn: 0..THREADS-1 */
static int turns_done;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void one_turn(int me)
{
	int i = (int)(next_rand() % SLOTS);
	if (slot[i]) {
		void *old = slot[i];
		size_t n = slot_size[i];
		int other = slot_owner[i] != me;
		free(old);
		truth_free(n);
		/* Same size straight away: the allocator hands back `old`. */
		void *p = malloc(n);
		CHECK(p != NULL);
		truth_alloc(n);
		if (p == old && other)
			reuses++;
		slot[i] = p;
		slot_owner[i] = me;
		/* Sometimes let the table shrink, so live and peak move. */
		if (next_rand() % 4 == 0) {
			free(slot[i]);
			truth_free(n);
			slot[i] = NULL;
		}
	} else {
		size_t n = 24 + next_rand() % 2000;
		slot[i] = malloc(n);
		CHECK(slot[i] != NULL);
		truth_alloc(n);
		slot_size[i] = n;
		slot_owner[i] = me;
	}
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (;;) {
		pthread_mutex_lock(&baton_lock);
		while (turn != me && turns_done < TURNS)
			pthread_cond_wait(&baton_cond, &baton_lock);
		if (turns_done >= TURNS) {
			pthread_mutex_unlock(&baton_lock);
			return NULL;
		}
		if (!baseline)
			one_turn(me);
		turns_done++;
		turn = (turn + 1) % THREADS;
		pthread_cond_broadcast(&baton_cond);
		pthread_mutex_unlock(&baton_lock);
	}
}

int main(int argc, char **argv)
{
	CHECK(argc == 2 || argc == 3);
	baseline = argc == 3 && !strcmp(argv[2], "baseline");
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	/* Free half of what is left, leak the rest. */
	for (int i = 0; i < SLOTS; i += 2)
		if (slot[i]) {
			free(slot[i]);
			truth_free(slot_size[i]);
		}
	char extra[64];
	snprintf(extra, sizeof extra, "cross_thread_reuses %llu\n", (unsigned long long)reuses);
	truth_write(argv[1], extra);
	return 0;
}
