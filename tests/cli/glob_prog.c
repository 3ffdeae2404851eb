/*
 * glob_prog.c - two functions matching one glob (work_*), in two files,
 * their loops on the same line number (glob_other.c mirrors this file's
 * layout), each called by its own caller: `--callers 'work_*'` and
 * `--lines 'work_*'` must keep them apart. Runs until each has used 0.4 s
 * of CPU time (measured, not assumed).
 */
#include <time.h>
#define NOINLINE __attribute__((noinline))
volatile unsigned long sink;
NOINLINE void work_b(void);
NOINLINE void work_a(void)
{
	for (long i = 0; i < 2000000; i++) sink = sink * 6364136223846793005ul + 1; /* line 14: the loop */
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOINLINE void caller_a(double *spent)
{
	double t0 = cpu_s();
	work_a();
	*spent += cpu_s() - t0;
}

NOINLINE void caller_b(double *spent)
{
	double t0 = cpu_s();
	work_b();
	*spent += cpu_s() - t0;
}

int main(void)
{
	double a = 0, b = 0;
	while (a < 0.4 || b < 0.4) {
		if (a < 0.4)
			caller_a(&a);
		if (b < 0.4)
			caller_b(&b);
	}
	return 0;
}
