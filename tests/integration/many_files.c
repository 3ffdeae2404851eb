/*
 * many_files.c - maps FILES distinct files (made in DIR), each twice: the
 * truth for the mapped channel's names (every file one PATH record, named,
 * however many there are).
 *
 * usage: many_files DIR FILES
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: many_files DIR FILES\n");
		return 2;
	}
	int files = atoi(argv[2]);
	char path[4096];
	volatile char sink = 0;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < files; i++) {
			snprintf(path, sizeof path, "%s/file-%05d", argv[1], i);
			int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0 || (round == 0 && write(fd, path, 64) != 64)) {
				perror(path);
				return 1;
			}
			char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p == MAP_FAILED) {
				perror("mmap");
				return 1;
			}
			sink += p[0];
			munmap(p, 4096);
			close(fd);
		}
	return 0;
}
