/*
 * h_closefd.c MODE DIR - programs that take the standard fds away.
 *
 *   std   close stdin, stdout and stderr first thing, then allocate and
 *         write three files of its own (which get fds 0, 1 and 2)
 *   all   the same after closing every fd, the agent's trace included: the
 *         agent's complaint must not land in the file that now holds fd 2
 *
 * The program reads its files back and exits 0 when they hold exactly what
 * it wrote, 1 otherwise (it has no stdout left to say so).
 */
#include "hostile.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>


int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	if (!strcmp(argv[1], "all")) {
		void *volatile p = malloc(10); /* make sure tracing started */
		free(p);
		closefrom(0);
	} else {
		close(0);
		close(1);
		close(2);
	}
	int fds[3];
	char path[3][4096];
	for (int f = 0; f < 3; f++) {
		snprintf(path[f], sizeof path[f], "%s/out%d", argv[2], f);
		fds[f] = open(path[f], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fds[f] != f)
			return 3;
	}
	for (int i = 0; i < 200; i++) {
		for (int f = 0; f < 3; f++) {
			void *p = pattern_alloc(50 + (size_t)i, (unsigned)f, (unsigned)i);
			char line[64];
			int n = snprintf(line, sizeof line, "fd %d line %d\n", f, i);
			if (write(fds[f], line, (size_t)n) != n || !pattern_ok(p, 50 + (size_t)i, (unsigned)f, (unsigned)i))
				return 4;
			free(p);
		}
		if (i % 20 == 0)
			usleep(10000); /* the agent's writer runs rounds meanwhile */
	}
	for (int f = 0; f < 3; f++)
		close(fds[f]);
	for (int f = 0; f < 3; f++) {
		int fd = open(path[f], O_RDONLY);
		char got[64], want[64];
		for (int i = 0; i < 200; i++) {
			int n = snprintf(want, sizeof want, "fd %d line %d\n", f, i);
			if (read(fd, got, (size_t)n) != n || memcmp(got, want, (size_t)n))
				return 1;
		}
		if (read(fd, got, 1) != 0)
			return 1; /* something else was written into our file */
		close(fd);
	}
	return 0;
}
