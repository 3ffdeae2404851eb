/*
 * test_fleet.c - the fleet store's pure parts: where a store is
 * (clickhouse://USER:PASSWORD@HOST:PORT/DB, and what is refused without
 * repeating a password), SQL string literals, stack ids that depend on the
 * frames' text only, and the selection's filters as SQL (globs as anchored
 * regular expressions, labels, times). tests/fleet talks to a real server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/fleetrows.h"
#include "store/clickhouse.h"
#include "store/query.h"

static void parses(const char *url, const char *host, unsigned port, const char *db, const char *user,
		   const char *password)
{
	struct ch_target t;
	char err[256];
	if (ch_url_parse(url, &t, err, sizeof err))
		fail_msg("%s: %s", url, err);
	assert_string_equal(t.host, host);
	assert_int_equal(t.port, port);
	assert_string_equal(t.db, db);
	if (user)
		assert_string_equal(t.user, user);
	else
		assert_null(t.user);
	if (password)
		assert_string_equal(t.password, password);
	else
		assert_null(t.password);
	ch_target_free(&t);
}

static void refused(const char *url, const char *why)
{
	struct ch_target t;
	char err[256] = "";
	assert_int_equal(ch_url_parse(url, &t, err, sizeof err), -1);
	if (!strstr(err, why))
		fail_msg("%s: '%s' does not say '%s'", url, err, why);
	assert_null(strstr(err, "s3cret"));
}

static void test_url(void **state)
{
	(void)state;
	parses("clickhouse://ch:8123/ldprof", "ch", 8123, "ldprof", NULL, NULL);
	parses("clickhouse://10.0.0.7/fleet_1/", "10.0.0.7", CH_DEFAULT_PORT, "fleet_1", NULL, NULL);
	parses("clickhouse://[::1]:9123/x", "[::1]", 9123, "x", NULL, NULL);
	parses("clickhouse://bob@ch/x", "ch", CH_DEFAULT_PORT, "x", "bob", NULL);
	/* percent-decoded; the last @ before the path ends the user part */
	parses("clickhouse://bob:p%40ss%3Aw@ch:1/x", "ch", 1, "x", "bob", "p@ss:w");
	parses("clickhouse://bob:a@b@ch:2/x", "ch", 2, "x", "bob", "a@b");
	parses("clickhouse://bob:@ch/x", "ch", CH_DEFAULT_PORT, "x", "bob", "");

	refused("http://ch:8123/x", "clickhouse://HOST");
	refused("clickhouse://ch:8123", "database is missing");
	refused("clickhouse://ch:8123/", "database must be");
	refused("clickhouse://ch/x;DROP", "database must be");
	refused("clickhouse://ch/1abc", "database must be");
	refused("clickhouse://:8123/x", "host is missing");
	refused("clickhouse://ch:0/x", "port must be");
	refused("clickhouse://ch:65536/x", "port must be");
	refused("clickhouse://ch:80a/x", "port must be");
	refused("clickhouse://[::1/x", "IPv6");
	refused("clickhouse://bob:s3cret%zz@ch/x", "malformed");
	refused("clickhouse://bob:s3cret%00@ch/x", "malformed");
	refused("clickhouse://:s3cret@ch/x", "malformed");

	char buf[128];
	struct ch_target t;
	char err[256];
	assert_int_equal(ch_url_parse("clickhouse://bob:s3cret@ch:9/x", &t, err, sizeof err), 0);
	assert_string_equal(ch_target_name(&t, buf, sizeof buf), "clickhouse://ch:9/x");
	ch_target_free(&t);
}

static void test_credentials(void **state)
{
	(void)state;
	struct ch_target t;
	char err[256];
	setenv("CLICKHOUSE_PASSWORD", "from-env", 1);
	assert_int_equal(ch_target_from("clickhouse://ch/x", "alice", &t, err, sizeof err), 0);
	assert_string_equal(t.user, "alice");
	assert_string_equal(t.password, "from-env");
	ch_target_free(&t);
	/* the URL's password wins; --user overrides the URL's user */
	assert_int_equal(ch_target_from("clickhouse://bob:inurl@ch/x", "alice", &t, err, sizeof err), 0);
	assert_string_equal(t.user, "alice");
	assert_string_equal(t.password, "inurl");
	ch_target_free(&t);
	unsetenv("CLICKHOUSE_PASSWORD");
	assert_int_equal(ch_target_from("clickhouse://ch/x", NULL, &t, err, sizeof err), 0);
	assert_null(t.user);
	assert_null(t.password);
	ch_target_free(&t);
}

static void test_quote(void **state)
{
	(void)state;
	struct strbuf b = {0};
	ch_quote(&b, "it's a \\ path");
	assert_string_equal(b.s, "'it\\'s a \\\\ path'");
	sb_free(&b);
}

static void test_stack_id(void **state)
{
	(void)state;
	/* Equal text at different addresses: the same id (another process, another host). */
	char fn1[] = "parse_row", fn2[] = "parse_row", file[] = "rows.c", mod[] = "rows";
	struct sym_frame a = {.function = fn1, .file = file, .line = 42, .module = mod};
	struct sym_frame b = {.function = fn2, .file = "rows.c", .line = 42, .module = "rows"};
	struct sym_frame c = {.function = fn1, .file = file, .line = 43, .module = mod};
	struct sym_frame d = {.function = fn1, .file = file, .line = 42, .module = mod, .inlined = 1};
	struct sym_frame m = {.function = "main", .file = NULL, .module = mod};
	const struct sym_frame *s1[] = {&a, &m}, *s2[] = {&b, &m}, *s3[] = {&c, &m}, *s4[] = {&d, &m}, *s5[] = {&m, &a};
	uint64_t id = fleet_stack_id(s1, 2);
	assert_true(id != 0 && id < (1ull << 63));
	assert_true(fleet_stack_id(s2, 2) == id);
	assert_true(fleet_stack_id(s3, 2) != id); /* another line */
	assert_true(fleet_stack_id(s4, 2) != id); /* inlined */
	assert_true(fleet_stack_id(s5, 2) != id); /* another order */
	assert_true(fleet_stack_id(s1, 1) != id); /* a prefix */
	/* field boundaries count: "ab"+"c" is not "a"+"bc" */
	struct sym_frame x = {.function = "ab", .file = "c", .module = "m"}, y = {.function = "a", .file = "bc", .module = "m"};
	const struct sym_frame *sx[] = {&x}, *sy[] = {&y};
	assert_true(fleet_stack_id(sx, 1) != fleet_stack_id(sy, 1));
	assert_true(fleet_stack_id(NULL, 0) != 0);
}

static void selection_has(const struct fleet_filter *f, const char *extra, const char *want)
{
	struct strbuf b = {0};
	fleet_selection_sql(&b, f, extra);
	if (!strstr(b.s, want))
		fail_msg("'%s' not in: %s", want, b.s);
	sb_free(&b);
}

static void test_selection(void **state)
{
	(void)state;
	struct fleet_filter f = {0};
	/* always: the latest push of each trace */
	selection_has(&f, NULL, "argMax(push_id, (pushed_ns, push_id))");
	f.host_glob = "web-0[12]*";
	selection_has(&f, NULL, "match(host, '^web\\\\-0[12].*$')");
	f.host_glob = "db?.[!x]";
	selection_has(&f, NULL, "match(host, '^db.\\\\.[^x]$')");
	f.host_glob = "odd[name";
	selection_has(&f, NULL, "match(host, '^odd\\\\[name$')");
	f.host_glob = "[]x]";
	selection_has(&f, NULL, "match(host, '^[]x]$')");
	f.host_glob = NULL;
	f.service = "it's";
	selection_has(&f, NULL, "service = 'it\\'s'");
	const char *labels[] = {"version=1.4", "k=a=b"};
	f.labels = labels;
	f.nlabels = 2;
	selection_has(&f, NULL, "has(label_keys, 'version') AND label_values[indexOf(label_keys, 'version')] = '1.4'");
	selection_has(&f, NULL, "label_values[indexOf(label_keys, 'k')] = 'a=b'");
	selection_has(&f, "run=b", "label_values[indexOf(label_keys, 'run')] = 'b'");
	f.has_since = 1;
	f.since = 1714521600;
	f.has_until = 1;
	f.until = 1714608000;
	selection_has(&f, NULL, "start_time >= toDateTime(1714521600) AND start_time <= toDateTime(1714608000)");

	char *k, *v;
	assert_int_equal(fleet_label_split("=x", &k, &v), -1);
	assert_int_equal(fleet_label_split("novalue", &k, &v), -1);
	assert_int_equal(fleet_label_split("k=", &k, &v), 0);
	assert_string_equal(k, "k");
	assert_string_equal(v, "");
	free(k);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),      cmocka_unit_test(test_credentials), cmocka_unit_test(test_quote),
		cmocka_unit_test(test_stack_id), cmocka_unit_test(test_selection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
