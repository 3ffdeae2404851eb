/*
 * glob_other.c - work_b for glob_prog.c, its loop on the same line
 * number as work_a's there (line 14).
 *
 *
 *
 *
 */
#define NOINLINE __attribute__((noinline))
extern volatile unsigned long sink;
NOINLINE void work_b(void);
NOINLINE void work_b(void)
{
	for (long i = 0; i < 2000000; i++) sink = sink * 6364136223846793005ul + 1; /* line 14: the loop */
}
