/*
 * test_agent_config.c - the agent's pure parts: LDPROF_* parsing, the
 * allocation-free formatter, output path templates, the compression level's
 * choice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "log.h"
#include "zlevel.h"

static void test_parse_uint(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_int_equal(ldp_parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ldp_parse_uint("1024", 1, 1024, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(ldp_parse_uint("1025", 1, 1024, &v), -1);
	assert_int_equal(ldp_parse_uint("", 0, 10, &v), -1);
	assert_int_equal(ldp_parse_uint("12a", 0, 100, &v), -1);
	assert_int_equal(ldp_parse_uint("-1", 0, 100, &v), -1);
	assert_int_equal(ldp_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v), -1);
	int m;
	assert_int_equal(ldp_parse_mode("sampled", &m), 0);
	assert_int_equal(m, LDP_MODE_SAMPLED);
	assert_int_equal(ldp_parse_mode("FULL", &m), -1);
	assert_int_equal(ldp_parse_unwind("check", &m), 0);
	assert_int_equal(m, LDP_UNWIND_CHECK);
	assert_int_equal(ldp_parse_unwind("libunwind", &m), 0);
	assert_int_equal(m, LDP_UNWIND_LIBUNWIND);
	assert_int_equal(ldp_parse_unwind("fast", &m), 0);
	assert_int_equal(m, LDP_UNWIND_FAST);
	assert_int_equal(ldp_parse_unwind("dwarf", &m), -1);
}

static void test_parse_size(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(ldp_parse_size("524288", 1, 1ull << 30, &v), 0);
	assert_int_equal(v, 524288);
	assert_int_equal(ldp_parse_size("512KiB", 1, 1ull << 30, &v), 0);
	assert_int_equal(v, 512u << 10);
	assert_int_equal(ldp_parse_size("512K", 1, 1ull << 30, &v), 0);
	assert_int_equal(v, 512u << 10);
	assert_int_equal(ldp_parse_size("2MiB", 1, 1ull << 30, &v), 0);
	assert_int_equal(v, 2u << 20);
	assert_int_equal(ldp_parse_size("1G", 1, 1ull << 30, &v), 0);
	assert_int_equal(v, 1u << 30);
	assert_int_equal(ldp_parse_size("2GiB", 1, 1ull << 30, &v), -1); /* above max */
	assert_int_equal(ldp_parse_size("0", 1, 1ull << 30, &v), -1);    /* below min */
	assert_int_equal(ldp_parse_size("12Q", 1, 1ull << 30, &v), -1);
	assert_int_equal(ldp_parse_size("KiB", 1, 1ull << 30, &v), -1);
	assert_int_equal(ldp_parse_size("-5", 1, 1ull << 30, &v), -1);
	assert_int_equal(ldp_parse_size("99999999999999999GiB", 1, UINT64_MAX, &v), -1); /* overflows */
}

static void test_config_load(void **state)
{
	(void)state;
	struct ldp_config c;
	unsetenv("LDPROF_OUTPUT");
	unsetenv("LDPROF_MODE");
	assert_int_equal(ldp_config_load(&c), 0);
	assert_string_equal(c.output, "ldprof.%e.%p.ldp");
	assert_int_equal(c.mode, LDP_MODE_FULL);
	assert_int_equal(c.max_depth, 64);
	assert_int_equal(c.ring_bytes, 256 << 10);
	/* Malformed values: one warning each, defaults kept. */
	setenv("LDPROF_MODE", "fast", 1);
	setenv("LDPROF_MAX_DEPTH", "0", 1);
	setenv("LDPROF_RING_KB", "lots", 1);
	setenv("LDPROF_TYPO", "1", 1);
	assert_int_equal(ldp_config_load(&c), 4);
	assert_int_equal(c.mode, LDP_MODE_FULL);
	assert_int_equal(c.max_depth, 64);
	unsetenv("LDPROF_TYPO");
	setenv("LDPROF_MODE", "off", 1);
	setenv("LDPROF_MAX_DEPTH", "300", 1);
	setenv("LDPROF_RING_KB", "100", 1); /* rounded up to a power of two */
	setenv("LDPROF_OUTPUT", "/tmp/x-%p.ldp", 1);
	assert_int_equal(ldp_config_load(&c), 0);
	assert_int_equal(c.mode, LDP_MODE_OFF);
	assert_int_equal(c.max_depth, 300);
	assert_int_equal(c.ring_bytes, 128 << 10);
	assert_string_equal(c.output, "/tmp/x-%p.ldp");
	unsetenv("LDPROF_MODE");
	unsetenv("LDPROF_MAX_DEPTH");
	unsetenv("LDPROF_RING_KB");
	unsetenv("LDPROF_OUTPUT");
}

static void test_format(void **state)
{
	(void)state;
	char b[64];
	ldp_format(b, sizeof b, "%s=%d %u %x %lu %zu %%", "k", -42, 7u, 255u, 1ul << 40, (size_t)3);
	assert_string_equal(b, "k=-42 7 ff 1099511627776 3 %");
	ldp_format(b, 8, "%s", "truncated text");
	assert_string_equal(b, "truncat");
	ldp_format(b, sizeof b, "[%5d]", 42);
	assert_string_equal(b, "[   42]");
}

static void test_expand(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "ldprof.%e.%p.ldp", 123, "box", "prog", 99, NULL), 0);
	assert_string_equal(out, "ldprof.prog.123.ldp");
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t/%h-%t-%%.ldp", 1, "box", "p", 99, NULL), 0);
	assert_string_equal(out, "/t/box-99-%.ldp");
	/* A fork child inserts its pid before the extension. */
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t/run.ldp", 5, "h", "p", 0, ".77"), 0);
	assert_string_equal(out, "/t/run.77.ldp");
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t.d/run", 5, "h", "p", 0, ".77"), 0);
	assert_string_equal(out, "/t.d/run.77");
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t/.hidden", 5, "h", "p", 0, ".77"), 0);
	assert_string_equal(out, "/t/.hidden.77");
	assert_int_equal(ldp_tracefile_expand(out, 8, "a-long-name", 5, "h", "p", 0, NULL), -1);
	/* %h and %e are one file name component: a host name holding '/' (or
	 * "..") must not move the trace to another directory. */
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t/%h.ldp", 1, "../../etc/x", "p", 0, NULL), 0);
	assert_string_equal(out, "/t/.._.._etc_x.ldp");
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t/%h/%e.ldp", 1, "..", ".", 0, NULL), 0);
	assert_string_equal(out, "/t/_/_.ldp");
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t/%h-%e.ldp", 1, "", "a b/c", 0, NULL), 0);
	assert_string_equal(out, "/t/_-a_b_c.ldp");
	assert_int_equal(ldp_tracefile_expand(out, sizeof out, "/t/%h.ldp", 1, "web-1.example.com", "p", 0, NULL), 0);
	assert_string_equal(out, "/t/web-1.example.com.ldp");
}

/* LDPROF_ZSTD_LEVEL unset: 0, the writer chooses; set: that level. */
static void test_zstd_level_setting(void **state)
{
	(void)state;
	struct ldp_config cfg;
	unsetenv("LDPROF_ZSTD_LEVEL");
	assert_int_equal(ldp_config_load(&cfg), 0);
	assert_int_equal(cfg.zstd_level, 0);
	setenv("LDPROF_ZSTD_LEVEL", "3", 1);
	assert_int_equal(ldp_config_load(&cfg), 0);
	assert_int_equal(cfg.zstd_level, 3);
	setenv("LDPROF_ZSTD_LEVEL", "99", 1);
	assert_int_equal(ldp_config_load(&cfg), 1); /* one warning, and the default */
	assert_int_equal(cfg.zstd_level, 0);
	unsetenv("LDPROF_ZSTD_LEVEL");
}

#define MS (1000ull * 1000)

/* The level frame by frame (zlevel.h): rich while compressing takes at most
 * a quarter of a frame's time, light otherwise, back to rich under a tenth. */
static void test_zlevel(void **state)
{
	(void)state;
	const int R = LDP_ZLEVEL_RICH, L = LDP_ZLEVEL_LIGHT;
	/* python3's first frame: 15 ms of its first 30 faulting zstd's tables in */
	assert_false(ldp_zlevel_overloaded(R, 30 * MS, 15 * MS));
	/* the 4-site loop's: 24 of 25 */
	assert_true(ldp_zlevel_overloaded(R, 25 * MS, 24 * MS));
	assert_false(ldp_zlevel_overloaded(R, 10 * MS, 10 * MS)); /* too soon to judge */
	assert_true(ldp_zlevel_overloaded(R, 200 * MS, 101 * MS));
	assert_false(ldp_zlevel_overloaded(R, 200 * MS, 99 * MS));
	assert_false(ldp_zlevel_overloaded(L, 200 * MS, 200 * MS)); /* light is the floor */
	/* at a frame's end */
	assert_int_equal(ldp_zlevel_next(R, 25 * MS, 24 * MS), L); /* ended for overload */
	assert_int_equal(ldp_zlevel_next(R, 1000 * MS, 155 * MS), R); /* python3: 15.5% */
	assert_int_equal(ldp_zlevel_next(R, 1000 * MS, 260 * MS), L);
	assert_int_equal(ldp_zlevel_next(R, 50 * MS, 20 * MS), R); /* a short frame: 40% is start-up */
	assert_int_equal(ldp_zlevel_next(L, 1000 * MS, 260 * MS), L); /* the 4-site loop at level 3 */
	assert_int_equal(ldp_zlevel_next(L, 1000 * MS, 99 * MS), R);
	assert_int_equal(ldp_zlevel_next(L, 50 * MS, 0), L); /* too short to tell */
	assert_int_equal(ldp_zlevel_next(9, 1000 * MS, 900 * MS), 9); /* a configured level stays */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_zstd_level_setting),
		cmocka_unit_test(test_zlevel),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_config_load),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
