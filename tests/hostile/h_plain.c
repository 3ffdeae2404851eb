/*
 * h_plain.c - a program with nothing odd about its code, built in ways
 * LD_PRELOAD cannot work with: statically (-static, -static-pie) and with
 * ThreadSanitizer (whose runtime must be first in the library list and
 * replaces malloc): `ldprof record` must refuse each with one clear line;
 * and with AddressSanitizer, which ldprof record traces
 * (tests/hostile/files.sh).
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *volatile p = malloc(100);
	free(p);
	puts("plain: allocated and freed a block");
	return 0;
}
