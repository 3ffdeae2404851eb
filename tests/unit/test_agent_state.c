/*
 * test_agent_state.c - the agent's locks in a copy of the process made by a
 * fork no handler saw (agent/state.c, ldp_lock_unless_apart).
 *
 * A thread holds a mutex when the process forks by a raw system call: in
 * the child that thread does not exist and the mutex is never released.
 * The agent's stack table lock once hung such a child for ever (tests/hostile
 * raw_asm, about one run in fifty at 999 Hz sampling, whose signal handler
 * and writer intern stacks under it). The child must get -1, not wait; the
 * agent's own process must wait for the holder and lock.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int held, release;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	held = 1;
	while (!release)
		usleep(1000);
	usleep(50 * 1000); /* the main thread is waiting by now */
	pthread_mutex_unlock(&m);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_lock_in_a_copy(void **state)
{
	(void)state;
	ldp_pid = getpid();
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
	while (!held)
		usleep(1000);
	/* A raw fork: no atfork handler, the holder stays in the parent. */
	pid_t c = (pid_t)syscall(SYS_fork);
	if (c == 0)
		_exit(ldp_lock_unless_apart(&m) == -1 ? 0 : 1);
	assert_true(c > 0);
	/* The child answers at once (kcmp: other memory) or after its second of
	 * waiting (kcmp refused); never waits for ever: bounded here. */
	int status = 0;
	double start = now_s();
	pid_t w;
	while ((w = waitpid(c, &status, WNOHANG)) == 0 && now_s() - start < 20)
		usleep(10 * 1000);
	if (w == 0) {
		kill(c, SIGKILL);
		waitpid(c, &status, 0);
		fail_msg("the copy waited for a holder that is not there");
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The agent's own process: waits for the holder, then has the lock. */
	release = 1;
	assert_int_equal(ldp_lock_unless_apart(&m), 0);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	/* Free: locked at once. */
	assert_int_equal(ldp_lock_unless_apart(&m), 0);
	pthread_mutex_unlock(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_in_a_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
