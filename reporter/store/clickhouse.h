/*
 * clickhouse.h - a ClickHouse server over its HTTP interface, through
 * libcurl: where it is (clickhouse://USER:PASSWORD@HOST:PORT/DB), one
 * kept-alive session, statements that return nothing, INSERTs with a body,
 * SELECTs whose rows come back as JSON (parsed with jansson).
 *
 * Errors are one line: ClickHouse's own text when the server answered
 * ("Code: 60, e.displayText() = DB::Exception: Table ... doesn't exist"),
 * libcurl's when it did not ("Failed to connect to 127.0.0.1 port 8123:
 * Connection refused"). Credentials travel as HTTP basic authentication and
 * never appear in a message: ch_target_name() is the printable form.
 */
#ifndef LDPR_CLICKHOUSE_H
#define LDPR_CLICKHOUSE_H

#include <jansson.h>
#include <stddef.h>

#include "util/util.h"

#define CH_DEFAULT_PORT 8123 /* the HTTP interface */

struct ch_target {
	char *host; /* a name, an IPv4 address, or an IPv6 address in brackets */
	unsigned port;
	char *db;
	char *user;     /* NULL: the server's default user */
	char *password; /* NULL: none */
};

/* Parse clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DB (user and password
 * percent-decoded). @return 0, or -1 with a one-line reason in err (which
 * never repeats the password). */
int ch_url_parse(const char *url, struct ch_target *t, char *err, size_t errlen);
/* The same, then the credentials: user (--user) over the URL's, and the
 * password from the URL or else from $CLICKHOUSE_PASSWORD. */
int ch_target_from(const char *url, const char *user, struct ch_target *t, char *err, size_t errlen);
void ch_target_free(struct ch_target *t);
/* "clickhouse://HOST:PORT/DB": no user, no password. */
const char *ch_target_name(const struct ch_target *t, char *buf, size_t n);

enum ch_failure {
	CH_OK = 0,
	CH_NETWORK, /* no answer: refused, unreachable, timed out, cut off */
	CH_SERVER,  /* the server answered with an error */
	CH_REPLY,   /* the server's answer is not what was asked for */
};

struct ch;

/* A session to t (copied). Connecting happens on the first request. */
struct ch *ch_open(const struct ch_target *t);
void ch_close(struct ch *c);

/* A statement that returns nothing (CREATE, ALTER). @return 0 or -1. */
int ch_exec(struct ch *c, const char *sql);
/* CREATE DATABASE IF NOT EXISTS the session's database. @return 0 or -1. */
int ch_create_database(struct ch *c);
/* `INSERT INTO ... FORMAT F` with the rows in data. @return 0 or -1. */
int ch_insert(struct ch *c, const char *insert_sql, const char *data, size_t len);
/* A SELECT (without FORMAT): its rows, each an array of the columns (64-bit
 * integers as JSON integers). @return a new reference, or NULL on failure. */
json_t *ch_select(struct ch *c, const char *sql);

/* The last failure: its kind and one line. */
enum ch_failure ch_failed(const struct ch *c);
const char *ch_error(const struct ch *c);

/* Append s as a ClickHouse string literal ('...', quote and backslash escaped). */
void ch_quote(struct strbuf *b, const char *s);

/* Columns of a row from ch_select. Missing or mistyped cells read as 0 / "". */
unsigned long long ch_u64(const json_t *row, size_t col);
const char *ch_str(const json_t *row, size_t col);

#endif
