/*
 * demo_prog.c - the small program `make demo` traces: builds a word index,
 * keeps a cache that grows, forgets to free part of it. An optional
 * argument sets the number of lines (default 200000): two runs with
 * different sizes make a differential flame graph.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *word;
	int count;
	struct entry *next;
};

static struct entry *table[1024];

static unsigned hash(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h & 1023;
}

static void add_word(const char *w)
{
	struct entry **e = &table[hash(w)];
	for (; *e; e = &(*e)->next)
		if (!strcmp((*e)->word, w)) {
			(*e)->count++;
			return;
		}
	*e = calloc(1, sizeof **e);
	(*e)->word = strdup(w);
	(*e)->count = 1;
}

static char *make_line(int i)
{
	char *line = malloc(128);
	snprintf(line, 128, "word%d other%d common line%d", i % 5000, i % 300, i);
	return line;
}

int main(int argc, char **argv)
{
	int lines = argc > 1 ? atoi(argv[1]) : 200000;
	for (int i = 0; i < lines; i++) {
		char *line = make_line(i);
		for (char *save, *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save))
			add_word(w);
		free(line); /* temporary: freed right after use */
	}
	size_t kept = 0;
	for (int i = 0; i < 1024; i += 2) /* free half the table: the rest leaks */
		for (struct entry *e = table[i], *n; e; e = n) {
			n = e->next;
			free(e->word);
			free(e);
			kept++;
		}
	printf("indexed %d lines, freed %zu entries\n", lines, kept);
	return 0;
}
