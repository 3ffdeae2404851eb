/*
 * mmaps.c - many file-backed mappings.
 *
 * usage: mmaps DIR FILES ROUNDS
 *
 * Opens DIR/file-00000 .. FILES-1 (made if missing; the bench makes them
 * beforehand, so creating files is not what is timed), then ROUNDS times
 * maps each one (read only, one page), reads a byte and unmaps it. What a
 * tracer costs per file-backed mmap, over more distinct files than a small
 * name table holds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mmaps DIR FILES ROUNDS\n");
		return 2;
	}
	int files = atoi(argv[2]), rounds = atoi(argv[3]);
	int *fd = calloc((size_t)files, sizeof *fd);
	char path[4096];
	if (!fd)
		return 1;
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof path, "%s/file-%05d", argv[1], i);
		fd[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd[i] < 0 || (lseek(fd[i], 0, SEEK_END) == 0 && write(fd[i], path, 64) != 64)) {
			perror(path);
			return 1;
		}
	}
	volatile char sink = 0;
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < files; i++) {
			char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd[i], 0);
			if (p == MAP_FAILED) {
				perror("mmap");
				return 1;
			}
			sink += p[0];
			munmap(p, 4096);
		}
	for (int i = 0; i < files; i++)
		close(fd[i]);
	free(fd);
	return 0;
}
