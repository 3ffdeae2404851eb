/*
 * h_exit.c MODE - the ways a process ends.
 *
 *   abort       abort() after allocating (dies by SIGABRT)
 *   _exit       _exit(7) while a thread allocates
 *   thread      exit(4) from a non-main thread while main waits in
 *               pthread_join and two threads allocate
 *   segv        a NULL write (dies by SIGSEGV)
 *   segvhandler its own SIGSEGV handler recovers by siglongjmp, 3 times
 *   kill        raise(SIGKILL) after allocating
 *   term        raise(SIGTERM) after allocating (default action: dies by it)
 *   quick       quick_exit(6) with an at_quick_exit handler that allocates
 *   atexit      atexit handlers and an ELF destructor allocate and print
 *               after main returned
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>


static void churn(unsigned n, unsigned owner)
{
	void *keep[8] = {0};
	for (unsigned i = 0; i < n; i++) {
		unsigned k = i % 8;
		if (keep[k]) {
			CHECK(pattern_ok(keep[k], 30 + k, owner, k), "corrupt");
			free(keep[k]);
		}
		keep[k] = pattern_alloc(30 + k, owner, k);
	}
	for (unsigned k = 0; k < 8; k++)
		free(keep[k]);
}

static void *forever_thread(void *arg)
{
	for (;;)
		churn(100, (unsigned)(uintptr_t)arg);
	return NULL;
}

static void *exiting_thread(void *arg)
{
	(void)arg;
	churn(2000, 5);
	say("thread calls exit(4)\n");
	exit(4);
}

static sigjmp_buf recover;
static volatile sig_atomic_t faults;

static void on_segv(int sig)
{
	(void)sig;
	faults++;
	siglongjmp(recover, 1);
}

static void at_exit_1(void)
{
	void *p = pattern_alloc(500, 1, 1);
	say("atexit handler 1 allocated\n");
	free(p);
}

static void at_exit_2(void)
{
	void *p = malloc(100);
	say("atexit handler 2 allocated and kept a block\n");
	(void)p;
}

static void at_quick(void)
{
	void *p = pattern_alloc(64, 2, 2);
	say("at_quick_exit handler allocated\n");
	free(p);
}

static int run_destructor;
__attribute__((destructor)) static void late_destructor(void)
{
	if (!run_destructor)
		return;
	void *p = pattern_alloc(300, 3, 3);
	say("ELF destructor allocated\n");
	free(p);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	churn(1000, 1);
	if (!strcmp(mode, "abort")) {
		say("about to abort\n");
		abort();
	} else if (!strcmp(mode, "_exit")) {
		pthread_t t;
		CHECK(pthread_create(&t, NULL, forever_thread, (void *)2) == 0, "pthread_create");
		churn(1000, 3);
		say("about to _exit(7)\n");
		_exit(7);
	} else if (!strcmp(mode, "thread")) {
		pthread_t a, b, c;
		CHECK(pthread_create(&a, NULL, forever_thread, (void *)2) == 0, "pthread_create");
		CHECK(pthread_create(&b, NULL, forever_thread, (void *)3) == 0, "pthread_create");
		CHECK(pthread_create(&c, NULL, exiting_thread, NULL) == 0, "pthread_create");
		pthread_join(c, NULL);
		for (;;)
			pause();
	} else if (!strcmp(mode, "segv")) {
		say("about to write through NULL\n");
		*(volatile int *)(uintptr_t)argc = 0; /* argc is 2: an unmapped page */
		CHECK(0, "still alive after SIGSEGV");
	} else if (!strcmp(mode, "segvhandler")) {
		struct sigaction sa = {.sa_handler = on_segv, .sa_flags = SA_NODEFER};
		sigemptyset(&sa.sa_mask);
		CHECK(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction");
		for (int i = 0; i < 3; i++) {
			if (sigsetjmp(recover, 1) == 0) {
				churn(100, 4);
				*(volatile int *)(uintptr_t)argc = 0;
			}
			churn(100, 5);
		}
		CHECK(faults == 3, "handler ran %d times", (int)faults);
		say("segvhandler: recovered from 3 faults\n");
	} else if (!strcmp(mode, "kill")) {
		say("about to SIGKILL myself\n");
		raise(SIGKILL);
	} else if (!strcmp(mode, "term")) {
		say("about to SIGTERM myself\n");
		raise(SIGTERM);
		CHECK(0, "still alive after SIGTERM");
	} else if (!strcmp(mode, "quick")) {
		at_quick_exit(at_quick);
		say("about to quick_exit(6)\n");
		quick_exit(6);
	} else if (!strcmp(mode, "atexit")) {
		run_destructor = 1;
		atexit(at_exit_1);
		atexit(at_exit_2);
		say("main returns 0\n");
		return 0;
	} else {
		CHECK(0, "unknown mode '%s'", mode);
	}
	return 0;
}
