/*
 * test_table.c - table memory (reporter/util/util.c): arrays indexed by
 * stack id grow by doubling, keep what they held and read as zero beyond
 * it, whether small (malloc'd), mapped (whole huge pages, aligned) or moved
 * from one mapping into the next (mremap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/util.h"

struct elem {
	uint64_t a, b, c, d; /* 32 bytes: 65,536 of them make 2 MiB */
};

static void check(const struct elem *e, size_t filled, size_t cap)
{
	for (size_t i = 0; i < cap; i++) {
		uint64_t want = i < filled ? i * 2654435761u + 1 : 0;
		if (e[i].a != want || e[i].d != want || e[i].b || e[i].c)
			fail_msg("element %zu of %zu (%zu filled): %llu, want %llu", i, cap, filled,
				 (unsigned long long)e[i].a, (unsigned long long)want);
	}
}

static void test_grow(void **state)
{
	(void)state;
	struct elem *e = NULL;
	size_t cap = 0, filled = 0;
	/* 1 -> 64 (malloc'd) ... 32,768 (1 MiB) -> 65,536 (2 MiB, the first
	 * mapped) -> 131,072 -> 524,288 (moved twice, 16 MiB) */
	static const size_t needs[] = {1, 100, 40000, 65536, 100000, 300000, 524288};
	for (size_t k = 0; k < sizeof needs / sizeof *needs; k++) {
		table_reserve((void **)&e, &cap, needs[k], sizeof *e);
		assert_true(cap >= needs[k]);
		check(e, filled, cap);
		if (cap * sizeof *e >= (2u << 20))
			assert_int_equal((uintptr_t)e % (2u << 20), 0);
		for (; filled < needs[k]; filled++)
			e[filled].a = e[filled].d = filled * 2654435761u + 1;
	}
	check(e, filled, cap);
	table_free(e, cap * sizeof *e);
}

/* A size that is not whole huge pages is mapped in whole ones, and freed so. */
static void test_odd_sizes(void **state)
{
	(void)state;
	uint8_t *p = NULL;
	size_t cap = 0;
	table_reserve((void **)&p, &cap, 3000000, 3); /* 4,194,304 * 3 bytes */
	memset(p, 0xab, cap * 3);
	table_reserve((void **)&p, &cap, cap + 1, 3);
	for (size_t i = 0; i < cap * 3; i++)
		if (p[i] != (i < cap * 3 / 2 ? 0xab : 0))
			fail_msg("byte %zu: %u", i, p[i]);
	table_free(p, cap * 3);
	void *q = table_alloc((2u << 20) + 1);
	assert_int_equal((uintptr_t)q % (2u << 20), 0);
	memset(q, 1, (2u << 20) + 1);
	table_free(q, (2u << 20) + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_odd_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
