/*
 * procfs.c - the agent's /proc reading (see procfs.h): the process's size
 * for the address-space budget (rawmem.c, unwind.c), its resident set for
 * RSS records (writer.c), and what the wall-clock sampler (wall.c) and the
 * writer learn of each thread. Calls only the primitives and the formatter.
 */
#include "procfs.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "prim.h"

int ldp_proc_statm(uint64_t *size_pages, uint64_t *resident_pages)
{
	char buf[128];
	*size_pages = *resident_pages = 0;
	if (ldp_read_small_file("/proc/self/statm", buf, sizeof buf) <= 0)
		return -1;
	const char *p = buf;
	for (; *p >= '0' && *p <= '9'; p++)
		*size_pages = *size_pages * 10 + (uint64_t)(*p - '0');
	while (*p && *p != ' ')
		p++;
	for (p++; *p >= '0' && *p <= '9'; p++)
		*resident_pages = *resident_pages * 10 + (uint64_t)(*p - '0');
	return 0;
}

/* "S" from "pid (comm) S ..." */
char ldp_proc_task_state(int tid)
{
	char path[64], buf[512];
	ldp_format(path, sizeof path, "/proc/self/task/%d/stat", tid);
	if (ldp_read_small_file(path, buf, sizeof buf) <= 0)
		return 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static uint64_t hex(const char **p)
{
	uint64_t v = 0;
	while (**p == ' ')
		(*p)++;
	if ((*p)[0] == '0' && (*p)[1] == 'x')
		*p += 2;
	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* From /proc/self/task/TID/schedstat: the time the thread has spent on a
 * CPU (the clock CLOCK_THREAD_CPUTIME_ID reads, so CPU samples can be placed
 * against it) and how many times it was put on one. Zeros when unknown. */
void ldp_proc_task_sched(int tid, uint64_t *run_ns, uint64_t *slices)
{
	char path[64], buf[128];
	uint64_t v[3] = {0, 0, 0};
	*run_ns = *slices = 0;
	ldp_format(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
	if (ldp_read_small_file(path, buf, sizeof buf) <= 0)
		return;
	const char *p = buf;
	for (int i = 0; i < 3; i++) {
		if (*p < '0' || *p > '9')
			return;
		for (; *p >= '0' && *p <= '9'; p++)
			v[i] = v[i] * 10 + (uint64_t)(*p - '0');
		while (*p == ' ')
			p++;
	}
	*run_ns = v[0];
	*slices = v[2];
}

/* "nr a1 a2 a3 a4 a5 a6 sp pc", or "-1 sp pc" outside a system call */
int ldp_proc_task_syscall(int tid, long *nr, uintptr_t *sp, uintptr_t *pc)
{
	char path[64], buf[256];
	ldp_format(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	if (ldp_read_small_file(path, buf, sizeof buf) <= 0 || !strncmp(buf, "running", 7))
		return -1;
	const char *p = buf;
	*nr = strtol(p, (char **)&p, 10);
	uint64_t v[8];
	int n = 0;
	while (*p == ' ' && n < 8)
		v[n++] = hex(&p);
	if (n < 2)
		return -1;
	*sp = v[n - 2];
	*pc = v[n - 1];
	return 0;
}

ssize_t ldp_proc_task_comm(int tid, char *name, size_t cap)
{
	char path[64];
	ldp_format(path, sizeof path, "/proc/self/task/%d/comm", tid);
	ssize_t n = ldp_read_small_file(path, name, cap);
	while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == ' '))
		name[--n] = '\0';
	return n;
}
