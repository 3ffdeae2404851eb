/*
 * test_fleet.c - the fleet store's pure parts: where a store is
 * (clickhouse://USER:PASSWORD@HOST:PORT/DB, and what is refused without
 * repeating a password), SQL string literals, stack ids that depend on the
 * frames' text only, the selection's filters as SQL (globs as anchored
 * regular expressions, labels, times), the rows of traces that ended by a
 * signal, still run, or are damaged, and a fleet's totals as a report's
 * (what was missed included). tests/fleet talks to a real server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"
#include "model/fleet.h"
#include "model/fleetrows.h"
#include "render/report.h"
#include "store/clickhouse.h"
#include "store/query.h"
#include "trace_builder.h"

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

/* ---- the rows of how a process ended ---- */

static uint64_t my_start_ticks(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	for (int field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

/* One image, this process's (host, pid, start time): three 8-byte blocks
 * from one stack, none freed; END with reason `end` (0: none) and signal. */
static void ending_trace(struct tb *t, int end, int signal)
{
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	uint8_t buf[256];
	tb_header_host(t, LDP_FORMAT_MAJOR, LDP_FORMAT_MINOR, (uint64_t)getpid(), u.nodename, my_start_ticks());
	uintptr_t ip = 0x400100;
	tb_record(t, LDP_REC_STACK, buf, ldp_enc_stack(buf, 1, 0, &ip, 1));
	struct ldp_enc_state e = {0, 0};
	size_t k = ldp_varint_put(buf, 0);
	k += ldp_enc_attach(buf + k, &e, 100);
	for (uint64_t seq = 5; seq < 8; seq++)
		k += ldp_enc_alloc(buf + k, &e, LDP_EV_ALLOC_MALLOC, seq, 0x1000 + 64 * seq, 8, 1);
	tb_record(t, LDP_REC_EVENTS3, buf, k);
	tb_record(t, LDP_REC_ROUND, buf, ldp_enc_round(buf, 1, 10, 8));
	if (end) {
		size_t n = ldp_varint_put(buf, (uint64_t)end);
		n += ldp_varint_put(buf + n, 20);
		n += ldp_varint_put(buf + n, (uint64_t)signal);
		tb_record(t, LDP_REC_END, buf, n);
	}
	tb_frame(t);
}

struct built {
	struct tb tb;
	struct symbolizer *sym;
	struct loaded t;
	struct fleet_trace ft;
};

static void build(struct built *b, const char *name)
{
	struct rd_error err;
	assert_int_equal(tm_load_mem(&b->t.m, b->tb.buf, b->tb.len, name, &err), 0);
	struct sym_opts so = {.quiet = 1};
	b->sym = sym_new(&so);
	b->t.spaces = calloc(b->t.m.nsegs, sizeof *b->t.spaces);
	for (size_t s = 0; s < b->t.m.nsegs; s++)
		b->t.spaces[s] = sym_space_new(b->sym, b->t.m.segs[s].mods, b->t.m.segs[s].nmods);
	fleet_trace_build(&b->ft, &b->t);
}

static void built_free(struct built *b)
{
	fleet_trace_free(&b->ft);
	loaded_free(&b->t);
	sym_free(b->sym);
	tb_free(&b->tb);
}

/* The value rows of one figure: how many, and their value and count summed. */
static size_t figure_sum(const struct fleet_trace *ft, enum fleet_figure fig, uint64_t *value, uint64_t *count)
{
	size_t n = 0;
	*value = *count = 0;
	for (size_t i = 0; i < ft->nvalues; i++)
		if (ft->values[i].figure == fig) {
			n++;
			*value += ft->values[i].value;
			*count += ft->values[i].count;
		}
	return n;
}

/* A process still running leaks nothing (its blocks are live now); one
 * terminated by a signal, or cut short, leaks what was live. The same
 * process pushed while running and again once ended is one trace (the same
 * id) whose content changed, so the second push replaces the first. */
static void test_rows_endings(void **state)
{
	(void)state;
	struct {
		int end, signal;
		const char *name;
		int leaks;
	} c[] = {
		{0, 0, "still running", 0},
		{LDP_END_SIGNAL, 15, "terminated by SIGTERM", 1},
		{LDP_END_EXIT, 0, "exit", 1},
		{LDP_END_EXEC, 0, "exec", 0},
	};
	uint64_t id = 0, contents[4];
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		struct built b = {0};
		ending_trace(&b.tb, c[i].end, c[i].signal);
		build(&b, "ending.ldp");
		const struct fleet_trace *ft = &b.ft;
		assert_int_equal(ft->nimages, 1);
		const struct tm_segment *seg = ft->images[0].seg;
		assert_string_equal(seg->end_name, c[i].name);
		assert_int_equal(seg->end.signal, c[i].signal);
		uint64_t v, n;
		assert_int_equal(figure_sum(ft, FF_LEAKED, &v, &n), c[i].leaks);
		assert_int_equal(v, c[i].leaks ? 24 : 0);
		assert_int_equal(n, c[i].leaks ? 3 : 0);
		assert_int_equal(seg->heap.t.live_now_count, c[i].end ? 0 : 3);
		assert_int_equal(figure_sum(ft, FF_ALLOC, &v, &n), 1);
		assert_int_equal(v, 24);
		if (i)
			assert_true(ft->id == id);
		id = ft->id;
		contents[i] = ft->content;
		for (size_t j = 0; j < i; j++)
			assert_true(contents[j] != contents[i]);
		built_free(&b);
	}
}

/* A damaged trace's rows carry how it read: the image rows take the damage
 * (store/push.c), and its content differs from the undamaged trace's. */
static void test_rows_damaged(void **state)
{
	(void)state;
	struct built good = {0}, bad = {0};
	ending_trace(&good.tb, LDP_END_EXIT, 0);
	ending_trace(&bad.tb, LDP_END_EXIT, 0);
	/* garbage after the image, then the same image again: one damaged region */
	tb_raw(&bad.tb, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10);
	ending_trace(&bad.tb, LDP_END_EXIT, 0);
	build(&good, "good.ldp");
	build(&bad, "bad.ldp");
	assert_int_equal(good.ft.stats->damaged, 0);
	assert_int_equal(bad.ft.stats->damaged, 1);
	assert_int_equal(bad.ft.stats->skipped_bytes, 10);
	assert_int_equal(bad.ft.nimages, 2);
	assert_true(good.ft.content != bad.ft.content);
	built_free(&good);
	built_free(&bad);
}

/* What a fleet's traces missed is drawn as ldprof report draws it, the
 * first damaged trace named. */
static void test_report_missed(void **state)
{
	(void)state;
	struct fleet_totals t;
	memset(&t, 0, sizeof t);
	t.traces = 3;
	t.heap.allocations = 10;
	t.heap.live_now_bytes = 4096;
	t.heap.live_now_count = 2;
	t.missed.damaged = 2;
	t.missed.skipped_bytes = 310;
	t.missed.dropped_events = 3;
	t.missed.nested_allocs = 7;
	snprintf(t.damaged_trace, sizeof t.damaged_trace, "/var/tmp/api.1.ldp");
	snprintf(t.damage_why, sizeof t.damage_why, "byte 744 is neither a zstd frame nor a segment header");
	struct fleet_totals copy = t; /* a copy draws the same (no pointers into itself) */
	struct report r;
	memset(&r, 0, sizeof r);
	fleet_report_fill(&r, &copy, -1);
	struct strbuf b = {0};
	render_report_text(&b, &r);
	assert_non_null(strstr(b.s, "note: /var/tmp/api.1.ldp is damaged: byte 744 is neither a zstd frame nor a segment "
				   "header (and 1 more damaged places); 310 bytes skipped, and 3 events"));
	assert_non_null(strstr(b.s, "7 allocations and 0 frees made in signal handlers"));
	assert_non_null(strstr(b.s, "live now  "));
	assert_non_null(strstr(b.s, "4.00 KiB   in 2 blocks (the process is still running: not leaked)"));
	b.len = 0;
	sb_json(&b, report_json(&r));
	assert_non_null(strstr(b.s, "\"missed\":{\"damaged_region_count\":2,\"skipped_bytes\":310,\"first_damage\":{\"trace\":"
				   "\"/var/tmp/api.1.ldp\",\"offset_bytes\":0,"));
	assert_non_null(strstr(b.s, "\"live_now_bytes\":4096,\"live_now_count\":2"));
	sb_free(&b);
	grouping_free(&r.groups);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),          cmocka_unit_test(test_credentials),  cmocka_unit_test(test_quote),
		cmocka_unit_test(test_stack_id),     cmocka_unit_test(test_selection),    cmocka_unit_test(test_rows_endings),
		cmocka_unit_test(test_rows_damaged), cmocka_unit_test(test_report_missed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
