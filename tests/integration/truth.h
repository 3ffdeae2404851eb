/*
 * truth.h - programs that know their own allocation truth.
 *
 * Every allocation the test makes goes through these wrappers, which keep
 * the same figures ldprof reports (docs/JSON.md): allocations, frees,
 * requested bytes, live and peak requested bytes. truth_write() puts them in
 * a file as "key value" lines, using write(2) only, so stdio never allocates
 * behind the test's back. The checker (run.sh) compares them with
 * `ldprof report --json`.
 */
#ifndef TRUTH_H
#define TRUTH_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct truth {
	uint64_t allocations, frees, allocated_bytes;
	uint64_t live_bytes, live_count, peak_bytes, peak_count;
};

static struct truth T;
static pthread_mutex_t truth_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void truth_alloc(size_t n)
{
	pthread_mutex_lock(&truth_lock);
	T.allocations++;
	T.allocated_bytes += n;
	T.live_bytes += n;
	T.live_count++;
	if (T.live_bytes > T.peak_bytes) {
		T.peak_bytes = T.live_bytes;
		T.peak_count = T.live_count;
	}
	pthread_mutex_unlock(&truth_lock);
}

static inline void truth_free(size_t n)
{
	pthread_mutex_lock(&truth_lock);
	T.frees++;
	T.live_bytes -= n;
	T.live_count--;
	pthread_mutex_unlock(&truth_lock);
}

static inline void truth_write(const char *path, const char *extra)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf,
			 "allocations %llu\nfrees %llu\nallocated_bytes %llu\npeak_bytes %llu\npeak_count %llu\n"
			 "leaked_bytes %llu\nleaked_count %llu\n%s",
			 (unsigned long long)T.allocations, (unsigned long long)T.frees,
			 (unsigned long long)T.allocated_bytes, (unsigned long long)T.peak_bytes,
			 (unsigned long long)T.peak_count, (unsigned long long)T.live_bytes,
			 (unsigned long long)T.live_count, extra ? extra : "");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		perror(path);
		exit(3);
	}
	close(fd);
}

#define CHECK(cond)                                                                                            \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			char m[256];                                                                           \
			int k = snprintf(m, sizeof m, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			if (write(2, m, (size_t)k) < 0) {                                                      \
			}                                                                                      \
			_exit(4);                                                                              \
		}                                                                                              \
	} while (0)

#endif
