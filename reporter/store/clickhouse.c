/*
 * clickhouse.c - see clickhouse.h.
 *
 * Every request is a POST to http://HOST:PORT/ with the database and the
 * settings in the URL: a SELECT or a DDL statement travels as the body, an
 * INSERT travels as the `query` parameter with its rows as the body (so
 * rows never count against the server's max_query_size). One curl handle
 * per session keeps the connection alive between the batches of a push.
 *
 * libcurl is loaded when a session opens (dlopen), not linked: with the
 * forty libraries it brings it took 15 ms from the start of every ldprof
 * command (record and report too), and a server that records traces need
 * not have it.
 */
#include "clickhouse.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Settings sent with every request (all exist in ClickHouse 18.16, Debian 12's):
 * 64-bit integers as JSON numbers (jansson reads them as json_int_t); IN and
 * JOIN subqueries over Distributed tables read each shard's local table (a
 * trace's rows live on one shard: docs/FLEET.md); an INSERT into a Distributed
 * table returns only once every shard has its rows, so a trace's commit row
 * never overtakes its data. */
static const char *const SETTINGS = "output_format_json_quote_64bit_integers=0"
				    "&distributed_product_mode=local"
				    "&insert_distributed_sync=1";

struct ch {
	struct ch_target t;
	CURL *curl;
	struct curl_slist *headers;
	struct strbuf reply;
	enum ch_failure failure;
	char err[640];
	char curl_err[CURL_ERROR_SIZE];
};

/* ---- where ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n). @return NULL on a bad escape or an embedded NUL. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

static int is_ident(const char *s, size_t n)
{
	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

int ch_url_parse(const char *url, struct ch_target *t, char *err, size_t errlen)
{
	static const char scheme[] = "clickhouse://";
	memset(t, 0, sizeof *t);
	if (strncmp(url, scheme, sizeof scheme - 1)) {
		snprintf(err, errlen, "a store is written clickhouse://HOST[:PORT]/DATABASE");
		return -1;
	}
	const char *auth = url + sizeof scheme - 1;
	const char *slash = strchr(auth, '/');
	if (!slash) {
		snprintf(err, errlen, "clickhouse://HOST[:PORT]/DATABASE: the database is missing");
		return -1;
	}
	const char *hostport = auth, *at = NULL;
	for (const char *p = auth; p < slash; p++)
		if (*p == '@')
			at = p;
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		t->user = pct_decode(auth, (size_t)((colon ? colon : at) - auth));
		if (colon)
			t->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
		if (!t->user || (colon && !t->password) || !*t->user) {
			snprintf(err, errlen, "the user or password part of the store's address is malformed");
			ch_target_free(t);
			return -1;
		}
		hostport = at + 1;
	}
	const char *host_end, *port = NULL;
	if (*hostport == '[') {
		const char *close = memchr(hostport, ']', (size_t)(slash - hostport));
		if (!close) {
			snprintf(err, errlen, "an IPv6 address must be closed by ']'");
			ch_target_free(t);
			return -1;
		}
		host_end = close + 1;
	} else {
		host_end = hostport;
		while (host_end < slash && *host_end != ':')
			host_end++;
	}
	if (host_end < slash) {
		if (*host_end != ':') {
			snprintf(err, errlen, "unexpected '%c' after the host", *host_end);
			ch_target_free(t);
			return -1;
		}
		port = host_end + 1;
	}
	if (host_end == hostport) {
		snprintf(err, errlen, "clickhouse://HOST[:PORT]/DATABASE: the host is missing");
		ch_target_free(t);
		return -1;
	}
	for (const char *p = hostport; p < host_end; p++)
		if ((unsigned char)*p <= ' ' || *p == '/' || *p == '?' || *p == '#' || *p == '%') {
			snprintf(err, errlen, "the host contains a character that cannot be in one");
			ch_target_free(t);
			return -1;
		}
	t->host = xstrndup(hostport, (size_t)(host_end - hostport));
	t->port = CH_DEFAULT_PORT;
	if (port) {
		unsigned long v = 0;
		const char *p = port;
		for (; p < slash && *p >= '0' && *p <= '9' && v <= 65535; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		if (p != slash || p == port || !v || v > 65535) {
			snprintf(err, errlen, "the port must be a number from 1 to 65535");
			ch_target_free(t);
			return -1;
		}
		t->port = (unsigned)v;
	}
	const char *db = slash + 1;
	size_t dblen = strlen(db);
	if (dblen && db[dblen - 1] == '/')
		dblen--;
	if (!is_ident(db, dblen)) {
		snprintf(err, errlen, "the database must be a name of letters, digits and '_', not '%.*s'",
			 (int)(dblen > 64 ? 64 : dblen), db);
		ch_target_free(t);
		return -1;
	}
	t->db = xstrndup(db, dblen);
	return 0;
}

int ch_target_from(const char *url, const char *user, struct ch_target *t, char *err, size_t errlen)
{
	if (ch_url_parse(url, t, err, errlen))
		return -1;
	if (user) {
		free(t->user);
		t->user = xstrdup(user);
	}
	const char *pw = getenv("CLICKHOUSE_PASSWORD");
	if (!t->password && pw && *pw)
		t->password = xstrdup(pw);
	return 0;
}

void ch_target_free(struct ch_target *t)
{
	free(t->host);
	free(t->db);
	free(t->user);
	if (t->password) {
		/* not left lying in freed memory */
		volatile char *p = t->password;
		while (*p)
			*p++ = 0;
		free(t->password);
	}
	memset(t, 0, sizeof *t);
}

const char *ch_target_name(const struct ch_target *t, char *buf, size_t n)
{
	snprintf(buf, n, "clickhouse://%s:%u/%s", t->host, t->port, t->db);
	return buf;
}

/* ---- the session ---- */

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct strbuf *b = ctx;
	size_t len = size * n;
	vec_reserve((void **)&b->s, &b->cap, b->len + len + 1, 1);
	memcpy(b->s + b->len, p, len);
	b->len += len;
	b->s[b->len] = '\0';
	return len;
}

/* The libcurl functions used here, from the library loaded at run time. */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode rc);
	char *(*easy_escape)(CURL *h, const char *s, int len);
	void (*str_free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} C;

/* Load libcurl once; without it, one line and exit 1. */
static void load_curl(void)
{
	static int ready;
	if (ready)
		return;
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	static const char *const names[] = {
		"curl_global_init", "curl_easy_init", "curl_easy_setopt", "curl_easy_perform",
		"curl_easy_getinfo", "curl_easy_cleanup", "curl_easy_strerror", "curl_easy_escape",
		"curl_free", "curl_slist_append", "curl_slist_free_all",
	};
	void **slot = (void **)&C;
	_Static_assert(sizeof C == sizeof names / sizeof *names * sizeof(void *), "one name per function");
	for (size_t i = 0; lib && i < sizeof names / sizeof *names; i++)
		if (!(slot[i] = dlsym(lib, names[i])))
			lib = NULL;
	if (!lib) {
		const char *why = dlerror();
		fprintf(stderr, "ldprof: libcurl (libcurl.so.4) is needed to talk to ClickHouse: %s "
				"(Debian: apt install libcurl4)\n", why ? why : "not found");
		exit(1);
	}
	if (C.global_init(CURL_GLOBAL_DEFAULT)) {
		fputs("ldprof: libcurl could not be initialised\n", stderr);
		exit(1);
	}
	ready = 1;
}

struct ch *ch_open(const struct ch_target *t)
{
	load_curl();
	struct ch *c = xcalloc(1, sizeof *c);
	c->t.host = xstrdup(t->host);
	c->t.db = xstrdup(t->db);
	c->t.port = t->port;
	c->t.user = t->user ? xstrdup(t->user) : NULL;
	c->t.password = t->password ? xstrdup(t->password) : NULL;
	c->curl = C.easy_init();
	if (!c->curl) {
		fputs("ldprof: libcurl could not be initialised\n", stderr);
		exit(1);
	}
	/* Rows are not form data; and no 100-continue round trip before large bodies. */
	c->headers = C.slist_append(NULL, "Content-Type: text/plain; charset=UTF-8");
	c->headers = C.slist_append(c->headers, "Expect:");
	CURL *h = c->curl;
	C.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	C.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	C.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	C.easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	C.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	C.easy_setopt(h, CURLOPT_WRITEDATA, &c->reply);
	C.easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
	C.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	if (c->t.user || c->t.password) {
		C.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		C.easy_setopt(h, CURLOPT_USERNAME, c->t.user ? c->t.user : "default");
		C.easy_setopt(h, CURLOPT_PASSWORD, c->t.password ? c->t.password : "");
	}
	return c;
}

void ch_close(struct ch *c)
{
	if (!c)
		return;
	C.easy_cleanup(c->curl);
	C.slist_free_all(c->headers);
	sb_free(&c->reply);
	ch_target_free(&c->t);
	free(c);
}

enum ch_failure ch_failed(const struct ch *c)
{
	return c->failure;
}

const char *ch_error(const struct ch *c)
{
	return c->err;
}

/* ClickHouse's message, on one line: "Code: 60, e.displayText() = DB::Exception: ...". */
static void server_error(struct ch *c, long status)
{
	const char *s = c->reply.s ? c->reply.s : "";
	size_t o = 0;
	o += (size_t)snprintf(c->err, sizeof c->err, "ClickHouse: ");
	if (!*s)
		snprintf(c->err + o, sizeof c->err - o, "HTTP status %ld and no message", status);
	for (; *s && o + 1 < sizeof c->err; s++) {
		if (!strncmp(s, ", e.what() = ", 13))
			break; /* the C++ exception type repeats what was said */
		char ch = *s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s;
		if (ch == ' ' && o && c->err[o - 1] == ' ')
			continue;
		c->err[o++] = ch;
	}
	while (o && c->err[o - 1] == ' ')
		o--;
	if (o < sizeof c->err)
		c->err[o] = '\0';
	c->err[sizeof c->err - 1] = '\0';
}

/* POST body to the server; query (may be NULL) goes in the URL. use_db: in
 * the session's database (every request but the one that creates it). */
static int request(struct ch *c, const char *query, const char *body, size_t len, int use_db)
{
	struct strbuf url = {0};
	sb_printf(&url, "http://%s:%u/?%s", c->t.host, c->t.port, SETTINGS);
	if (use_db) {
		char *db = C.easy_escape(c->curl, c->t.db, 0);
		sb_printf(&url, "&database=%s", db);
		C.str_free(db);
	}
	if (query) {
		char *q = C.easy_escape(c->curl, query, 0);
		sb_printf(&url, "&query=%s", q);
		C.str_free(q);
	}
	c->reply.len = 0;
	if (c->reply.s)
		c->reply.s[0] = '\0';
	c->curl_err[0] = '\0';
	C.easy_setopt(c->curl, CURLOPT_URL, url.s);
	C.easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	C.easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode rc = C.easy_perform(c->curl);
	sb_free(&url);
	if (rc != CURLE_OK) {
		c->failure = CH_NETWORK;
		snprintf(c->err, sizeof c->err, "cannot reach ClickHouse at %s:%u: %s", c->t.host, c->t.port,
			 c->curl_err[0] ? c->curl_err : C.easy_strerror(rc));
		return -1;
	}
	long status = 0;
	C.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		c->failure = CH_SERVER;
		server_error(c, status);
		return -1;
	}
	c->failure = CH_OK;
	c->err[0] = '\0';
	return 0;
}

int ch_exec(struct ch *c, const char *sql)
{
	return request(c, NULL, sql, strlen(sql), 1);
}

int ch_create_database(struct ch *c)
{
	struct strbuf q = {0};
	sb_printf(&q, "CREATE DATABASE IF NOT EXISTS %s", c->t.db); /* a name checked by ch_url_parse */
	int rc = request(c, NULL, q.s, q.len, 0);
	sb_free(&q);
	return rc;
}

int ch_insert(struct ch *c, const char *insert_sql, const char *data, size_t len)
{
	return request(c, insert_sql, data, len, 1);
}

json_t *ch_select(struct ch *c, const char *sql)
{
	struct strbuf q = {0};
	sb_printf(&q, "%s FORMAT JSONCompact", sql);
	int rc = request(c, NULL, q.s, q.len, 1);
	sb_free(&q);
	if (rc)
		return NULL;
	json_error_t jerr;
	json_t *root = json_loadb(c->reply.s ? c->reply.s : "", c->reply.len, 0, &jerr);
	json_t *data = root ? json_object_get(root, "data") : NULL;
	if (!json_is_array(data)) {
		c->failure = CH_REPLY;
		snprintf(c->err, sizeof c->err, "ClickHouse's answer is not the JSON asked for (%s)",
			 root ? "no data array" : jerr.text);
		json_decref(root);
		return NULL;
	}
	json_incref(data);
	json_decref(root);
	return data;
}

void ch_quote(struct strbuf *b, const char *s)
{
	sb_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			sb_putc(b, '\\');
		sb_putc(b, *s);
	}
	sb_putc(b, '\'');
}

unsigned long long ch_u64(const json_t *row, size_t col)
{
	const json_t *v = json_array_get(row, col);
	if (json_is_integer(v))
		return (unsigned long long)json_integer_value(v);
	if (json_is_real(v))
		return (unsigned long long)json_real_value(v);
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	return 0;
}

const char *ch_str(const json_t *row, size_t col)
{
	const char *s = json_string_value(json_array_get(row, col));
	return s ? s : "";
}
