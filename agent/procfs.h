/*
 * procfs.h - what the agent reads from /proc, parsed in one place. Every
 * file is opened, read and closed in one call (ldp_read_small_file: no
 * stdio, no malloc, no descriptor kept for the program to close).
 */
#ifndef LDP_PROCFS_H
#define LDP_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* /proc/self/statm: the process's size and resident set, in pages.
 * @return 0, -1 if it cannot be read (both left at 0). */
int ldp_proc_statm(uint64_t *size_pages, uint64_t *resident_pages);
/* /proc/self/task/TID/stat: the thread's state letter ('R', 'S', 'D'...), 0 if unknown. */
char ldp_proc_task_state(int tid);
/* /proc/self/task/TID/schedstat: its time on a CPU so far in ns and how
 * many times it was put on one (zeros if unknown). */
void ldp_proc_task_sched(int tid, uint64_t *run_ns, uint64_t *slices);
/* /proc/self/task/TID/syscall: where a blocked thread stands (nr, or -1
 * when it waits outside a system call; stack pointer; instruction).
 * @return 0, -1 when it is running or that is unknown. */
int ldp_proc_task_syscall(int tid, long *nr, uintptr_t *sp, uintptr_t *pc);
/* /proc/self/task/TID/comm without its trailing newline and blanks, into
 * name (cap bytes). @return its length, <= 0 if unknown. */
ssize_t ldp_proc_task_comm(int tid, char *name, size_t cap);

#endif
