/*
 * test_got.c - agent/got.c: point a loaded library's malloc and free at
 * other functions, see its calls arrive there, put the slots back.
 *
 * libzstd.so.1 (linked into this test, full RELRO: its GOT is read-only
 * after loading) and libz.so.1 (lazy binding: its PLT slots may still point
 * back into its own PLT). The counting functions call the functions the
 * slots held before, so the libraries keep working (under ASan too).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "got.h"

static void *(*old_malloc)(size_t);
static void (*old_free)(void *);
static unsigned n_malloc, n_free;

static void *count_malloc(size_t n)
{
	n_malloc++;
	return old_malloc(n);
}

static void count_free(void *p)
{
	n_free++;
	old_free(p);
}

struct lib {
	const char *name;
	uintptr_t base;
	const void *phdr;
	unsigned phnum;
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct lib *l = arg;
	if (!info->dlpi_name || !strstr(info->dlpi_name, l->name))
		return 0;
	l->base = info->dlpi_addr;
	l->phdr = info->dlpi_phdr;
	l->phnum = info->dlpi_phnum;
	return 1;
}

static struct lib find(const char *name)
{
	struct lib l = {name, 0, NULL, 0};
	dl_iterate_phdr(find_cb, &l);
	assert_non_null(l.phdr);
	return l;
}

/* The permissions /proc/self/maps shows for the page holding addr. */
static void perms_of(const void *addr, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	strcpy(out, "?");
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			strcpy(out, p);
			break;
		}
	}
	fclose(f);
}

/* Redirect malloc and free of l, remembering the old values for the counters. */
static struct ldp_got_result redirect(struct lib l, struct ldp_got_saved *saved, size_t cap, void *from_malloc,
				      void *from_free)
{
	struct ldp_got_target t[2] = {{"malloc", (void *)count_malloc, from_malloc}, {"free", (void *)count_free, from_free}};
	struct ldp_got_result res;
	/* What the counters pass on to: the functions every other caller gets
	 * (a lazy slot's old value leads to the resolver, which would write the
	 * slot again). */
	old_malloc = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
	old_free = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
	assert_int_equal(ldp_got_redirect(l.base, l.phdr, l.phnum, t, 2, saved, cap, &res), 0);
	return res;
}

static void zstd_round(void)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	assert_non_null(c);
	ZSTD_freeCCtx(c);
}

static void test_relro_library(void **state)
{
	(void)state;
	struct lib l = find("libzstd.so");
	struct ldp_got_saved saved[8];
	struct ldp_got_result res = redirect(l, saved, 8, NULL, NULL);
	assert_int_equal(res.changed, 2);
	assert_int_equal(res.refused, 0);
	char p[5];
	perms_of(saved[0].slot, p);
	assert_string_equal(p, "r--p"); /* sealed again after the store */
	n_malloc = n_free = 0;
	zstd_round();
	assert_true(n_malloc >= 1);
	assert_int_equal(n_free, n_malloc);
	assert_int_equal(ldp_got_restore(l.base, l.phdr, l.phnum, saved, res.changed), 0);
	perms_of(saved[0].slot, p);
	assert_string_equal(p, "r--p");
	n_malloc = n_free = 0;
	zstd_round();
	assert_int_equal(n_malloc, 0);
	assert_int_equal(n_free, 0);
}

static void test_lazy_library(void **state)
{
	(void)state;
	struct lib l = find("libz.so");
	struct ldp_got_saved saved[8];
	/* Only slots bound to libc's functions, or not bound yet (lazy). */
	struct ldp_got_result res = redirect(l, saved, 8, dlsym(RTLD_DEFAULT, "malloc"), dlsym(RTLD_DEFAULT, "free"));
	assert_int_equal(res.changed, 2);
	n_malloc = n_free = 0;
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit(&z, 6), Z_OK);
	deflateEnd(&z);
	assert_true(n_malloc >= 1);
	assert_int_equal(n_free, n_malloc);
	assert_int_equal(ldp_got_restore(l.base, l.phdr, l.phnum, saved, res.changed), 0);
	n_malloc = n_free = 0;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit(&z, 6), Z_OK);
	deflateEnd(&z);
	assert_int_equal(n_malloc + n_free, 0);
}

static void test_bound_elsewhere_left_alone(void **state)
{
	(void)state;
	struct lib l = find("libzstd.so");
	int other;
	struct ldp_got_target t[1] = {{"malloc", (void *)count_malloc, &other}};
	struct ldp_got_result res;
	assert_int_equal(ldp_got_redirect(l.base, l.phdr, l.phnum, t, 1, NULL, 0, &res), 0);
	assert_int_equal(res.changed, 0); /* bound (BIND_NOW) to a malloc that is not `other` */
	assert_int_equal(res.refused, 0);
	/* A symbol it does not import changes nothing. */
	struct ldp_got_target none[1] = {{"no_such_function_here", (void *)count_malloc, NULL}};
	assert_int_equal(ldp_got_redirect(l.base, l.phdr, l.phnum, none, 1, NULL, 0, &res), 0);
	assert_int_equal(res.changed, 0);
}

static void test_no_room_to_save(void **state)
{
	(void)state;
	struct lib l = find("libzstd.so");
	struct ldp_got_saved saved[1];
	struct ldp_got_result res = redirect(l, saved, 1, NULL, NULL);
	assert_int_equal(res.changed, 1); /* what is changed can always be put back */
	assert_int_equal(res.refused, 1);
	assert_int_equal(ldp_got_restore(l.base, l.phdr, l.phnum, saved, res.changed), 0);
	n_malloc = n_free = 0;
	zstd_round();
	assert_int_equal(n_malloc + n_free, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relro_library),
		cmocka_unit_test(test_lazy_library),
		cmocka_unit_test(test_bound_elsewhere_left_alone),
		cmocka_unit_test(test_no_room_to_save),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
