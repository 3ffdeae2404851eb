/*
 * truth_fork.c - fork without exec, from a multithreaded parent.
 *
 * The parent keeps a second thread allocating while it forks, so a fork can
 * land in the middle of another thread's event. Child 1 exits with exit(),
 * child 2 with _exit(); both allocate, free their own blocks, free some
 * blocks inherited from the parent, and write their own truth. Each process
 * must end up with its own trace holding exactly its own events.
 *   usage: truth_fork TRUTH_FILE [baseline]   (children write TRUTH_FILE.child1/.child2)
 * "baseline" only creates and joins the thread: libc's own allocation for it
 * (the thread's DTV) is measured from that run.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "truth.h"

#define PARENT_BLOCKS 200

static void *pblocks[PARENT_BLOCKS];
static atomic_int stop;

static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		void *p = malloc(48);
		CHECK(p);
		truth_alloc(48);
		free(p);
		truth_free(48);
	}
	return NULL;
}

static void child(const char *truth_path, int which)
{
	/* The child's truth starts empty: what it inherited is the parent's. */
	memset(&T, 0, sizeof T);
	pthread_mutex_init(&truth_lock, NULL);
	void *mine[100];
	for (int i = 0; i < 100; i++) {
		size_t n = 100 + (size_t)i * (size_t)which;
		mine[i] = malloc(n);
		CHECK(mine[i]);
		truth_alloc(n);
	}
	for (int i = 0; i < 60; i++) {
		free(mine[i]);
		truth_free(100 + (size_t)i * (size_t)which);
	}
	/* Frees of blocks the parent allocated: not this process's allocations. */
	for (int i = 1; i < 21; i += 2)
		free(pblocks[i]);
	char extra[96];
	snprintf(extra, sizeof extra, "unknown_frees 10\npid %d\n", (int)getpid());
	char path[4096];
	snprintf(path, sizeof path, "%s.child%d", truth_path, which);
	truth_write(path, extra);
	if (which == 1)
		exit(0);
	_exit(0);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2 || argc == 3);
	if (argc == 3 && !strcmp(argv[2], "baseline")) {
		atomic_store(&stop, 1);
		pthread_t t;
		CHECK(pthread_create(&t, NULL, churn, NULL) == 0);
		CHECK(pthread_join(t, NULL) == 0);
		truth_write(argv[1], NULL);
		return 0;
	}
	for (int i = 0; i < PARENT_BLOCKS; i++) {
		pblocks[i] = malloc(1000 + (size_t)i);
		CHECK(pblocks[i]);
		truth_alloc(1000 + (size_t)i);
	}
	pthread_t t;
	CHECK(pthread_create(&t, NULL, churn, NULL) == 0);
	for (int which = 1; which <= 2; which++) {
		usleep(20000);
		/* Keep the truth lock out of the fork: a child must not inherit it held. */
		pthread_mutex_lock(&truth_lock);
		pid_t pid = fork();
		if (pid == 0) {
			pthread_mutex_unlock(&truth_lock);
			child(argv[1], which);
		}
		pthread_mutex_unlock(&truth_lock);
		CHECK(pid > 0);
		int status;
		CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	atomic_store(&stop, 1);
	CHECK(pthread_join(t, NULL) == 0);
	for (int i = 0; i < PARENT_BLOCKS; i += 2) {
		free(pblocks[i]);
		truth_free(1000 + (size_t)i);
	}
	truth_write(argv[1], NULL);
	return 0;
}
