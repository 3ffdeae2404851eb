/* static_prog.c - a statically linked program to be refused by ldprof attach. */
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 600; i++)
		sleep(1);
	return 0;
}
