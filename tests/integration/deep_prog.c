/*
 * deep_prog.c - stacks deeper than the agent keeps: `descend` recurses 200
 * frames and allocates DEEP blocks at the bottom (their stacks lose their
 * outer frames at --max-depth 64), `shallow` allocates SHALLOW blocks from
 * main (whole stacks). Every view must start the deep stacks at
 * [truncated] and the report must count them.
 *   usage: deep_prog
 */
#include <stdio.h>
#include <stdlib.h>

#define DEEP 40
#define SHALLOW 25

static void *kept[DEEP + SHALLOW];
static int nkept;

__attribute__((noinline)) static int descend(int depth)
{
	if (depth == 0) {
		for (int i = 0; i < DEEP; i++)
			kept[nkept++] = malloc(96);
		return 1;
	}
	int r = descend(depth - 1);
	__asm__ volatile("" : "+r"(r)); /* not a tail call: every frame stays */
	return r;
}

__attribute__((noinline)) static void shallow(void)
{
	for (int i = 0; i < SHALLOW; i++)
		kept[nkept++] = malloc(32);
}

int main(void)
{
	descend(200);
	shallow();
	for (int i = 0; i < nkept; i++)
		free(kept[i]);
	printf("%d %d\n", DEEP, SHALLOW);
	return 0;
}
