/*
 * env_prog.c - the agent's variables out of the program's sight, its
 * children traced (integration test env_hidden).
 *
 *   env_prog parent DIR   prints what it sees of LD_PRELOAD and LDPROF_* (in
 *                         getenv and environ), then starts itself as a child
 *                         four ways: fork+execv, fork+execvp, posix_spawn,
 *                         system; each child writes DIR/<how>.pid; and a
 *                         fifth by posix_spawn with LD_PRELOAD set empty
 *                         (deliberately untraced): DIR/untraced.pid
 *   env_prog child DIR HOW   prints the same, records its pid, allocates
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
void *volatile sink;

static int seen(void)
{
	int n = 0;
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "libldprof"))
		n++;
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "LDPROF_", 7) || (!strncmp(*e, "LD_PRELOAD=", 11) && strstr(*e, "libldprof")))
			n++;
	return n;
}

static void run_child(const char *self, const char *dir, const char *how)
{
	char *argv[] = {(char *)self, "child", (char *)dir, (char *)how, NULL};
	if (!strcmp(how, "posix_spawn") || !strcmp(how, "untraced")) {
		/* untraced: the program sets LD_PRELOAD empty for it, on purpose */
		char *own_env[] = {"LD_PRELOAD=", "PATH=/usr/bin:/bin", NULL};
		pid_t pid;
		if (posix_spawn(&pid, self, NULL, NULL, argv, !strcmp(how, "untraced") ? own_env : environ) == 0)
			waitpid(pid, NULL, 0);
		return;
	}
	if (!strcmp(how, "system")) {
		char cmd[4096];
		snprintf(cmd, sizeof cmd, "'%s' child '%s' system", self, dir);
		if (system(cmd) != 0)
			fprintf(stderr, "system failed\n");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (!strcmp(how, "execv"))
			execv(self, argv);
		else
			execvp(self, argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	for (int i = 0; i < 100; i++)
		sink = malloc(64); /* something to trace */
	if (!strcmp(argv[1], "child") && argc > 3) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.pid", argv[2], argv[3]);
		FILE *f = fopen(path, "w");
		if (!f)
			return 1;
		fprintf(f, "%d %d\n", (int)getpid(), seen());
		fclose(f);
		return 0;
	}
	printf("agent variables seen: %d\n", seen());
	fflush(stdout);
	const char *hows[] = {"execv", "execvp", "posix_spawn", "system", "untraced"};
	for (int i = 0; i < 5; i++)
		run_child(argv[0], argv[2], hows[i]);
	return 0;
}
