/*
 * attach_prog.c - a program that knows what it allocated in each phase,
 * for tests/attach/run.sh. It moves from phase to phase when the test
 * creates DIR/goN, and writes DIR/phaseN (its figures for that phase, as
 * "key value" lines) when a phase is done. While it waits it calls
 * free(NULL): gdb's breakpoint on free stops it there for the attach, and
 * nothing is recorded. Every block is made and released with malloc/free
 * through the PLT; no stdio (its buffer would be a recorded allocation).
 *
 *   attach_prog DIR attach   pre-attach blocks; go1: free them, phase 1; go2 (after detach): phase 2
 *   attach_prog DIR ctl      phase 0 (paused from start); go1: phase 1; go2: phase 2 (paused); go3: phase 3
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dir;
static char path[4096];

static void wait_for(const char *name)
{
	snprintf(path, sizeof path, "%s/%s", dir, name);
	while (access(path, F_OK) != 0) {
		free(NULL); /* a malloc-family call that allocates nothing: where gdb stops us */
		usleep(2000);
	}
}

struct fig {
	unsigned long long allocations, frees, bytes, live, live_count, peak, peak_count, freed_other;
};

static void say(const char *name, const struct fig *f)
{
	char buf[512], tmp[4200];
	int n = snprintf(buf, sizeof buf,
			 "allocations %llu\nfrees %llu\nallocated_bytes %llu\nlive_bytes %llu\nlive_count %llu\n"
			 "peak_bytes %llu\npeak_count %llu\nfreed_other %llu\n",
			 f->allocations, f->frees, f->bytes, f->live, f->live_count, f->peak, f->peak_count,
			 f->freed_other);
	snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0)
		_exit(3);
}

static void *take(struct fig *f, size_t n)
{
	void *p = malloc(n);
	if (!p)
		_exit(4);
	memset(p, 1, n);
	f->allocations++;
	f->bytes += n;
	f->live += n;
	f->live_count++;
	if (f->live > f->peak) {
		f->peak = f->live;
		f->peak_count = f->live_count;
	}
	return p;
}

static void give(struct fig *f, void *p, size_t n)
{
	free(p);
	f->frees++;
	f->live -= n;
	f->live_count--;
}

/* count allocations of 32..32+k bytes; all but `keep` freed (kept in out). */
static void churn(struct fig *f, unsigned count, unsigned keep, void **out, size_t big)
{
	for (unsigned i = 0; i < count; i++) {
		size_t n = big ? big : 32 + i % 200;
		void *p = take(f, n);
		if (i < keep)
			out[i] = p;
		else
			give(f, p, n);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	dir = argv[1];
	static void *pre[100], *kept[50], *paused[1000];
	struct fig none = {0};
	if (!strcmp(argv[2], "attach")) {
		for (int i = 0; i < 100; i++)
			pre[i] = take(&none, 1000);
		say("ready", &none);
		wait_for("go1");
		struct fig f = {0};
		for (int i = 0; i < 100; i++) { /* allocated before the attach */
			free(pre[i]);
			f.freed_other++;
		}
		churn(&f, 5000, 50, kept, 0);
		churn(&f, 2000, 0, NULL, 16384); /* bytes enough for sampled mode's estimate */
		say("phase1", &f);
		wait_for("go2"); /* detached */
		struct fig g = {0};
		churn(&g, 1000, 0, NULL, 0);
		for (int i = 0; i < 50; i++) /* allocated while attached, freed after the detach */
			give(&g, kept[i], 32 + (size_t)i);
		say("phase2", &g);
		if (write(1, "attach_prog: done\n", 18) != 18)
			return 5;
		return 0;
	}
	if (!strcmp(argv[2], "ctl")) {
		struct fig f0 = {0}, f1 = {0}, f2 = {0}, f3 = {0};
		for (int i = 0; i < 1000; i++) /* paused from the start */
			paused[i] = take(&f0, 64);
		say("ready", &f0);
		wait_for("go1"); /* resumed */
		churn(&f1, 2000, 50, kept, 0);
		for (int i = 0; i < 500; i++) { /* allocated while paused */
			free(paused[i]);
			f1.freed_other++;
		}
		say("phase1", &f1);
		wait_for("go2"); /* snapshot s1, then paused */
		void *p2[300];
		for (int i = 0; i < 300; i++)
			p2[i] = take(&f2, 100);
		for (int i = 0; i < 300; i++) {
			free(p2[i]);
			f2.freed_other++;
		}
		say("phase2", &f2);
		wait_for("go3"); /* resumed by the toggle signal */
		churn(&f3, 400, 0, NULL, 0);
		for (int i = 500; i < 1000; i++) {
			free(paused[i]);
			f3.freed_other++;
		}
		for (int i = 0; i < 50; i++)
			give(&f3, kept[i], 32 + (size_t)i);
		say("phase3", &f3);
		if (write(1, "attach_prog: done\n", 18) != 18)
			return 5;
		return 0;
	}
	return 2;
}
