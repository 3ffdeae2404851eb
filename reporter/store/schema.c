/*
 * schema.c - see schema.h.
 *
 * Every table keeps `day` (the day the trace started) as its partition key,
 * so that all rows of a trace share one partition: retention drops whole
 * months, or a TTL on `day` expires whole traces (docs/FLEET.md).
 */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fleet_schema_ddl[] = {
	"CREATE TABLE IF NOT EXISTS ldprof_meta (\n"
	"    key String,\n"
	"    value String\n"
	") ENGINE = ReplacingMergeTree ORDER BY key",

	"CREATE TABLE IF NOT EXISTS ldprof_images (\n"
	"    trace_id UInt64,\n"
	"    push_id UInt64,\n"
	"    pushed_ns UInt64,\n"
	"    content UInt64,\n"
	"    image UInt16,\n"
	"    day Date,\n"
	"    start_time DateTime,\n"
	"    start_ns UInt64,\n"
	"    end_ns UInt64,\n"
	"    end_reason String,\n"
	"    end_signal UInt8,\n"
	"    service String,\n"
	"    host String,\n"
	"    label_keys Array(String),\n"
	"    label_values Array(String),\n"
	"    pid UInt64,\n"
	"    ppid UInt64,\n"
	"    exe String,\n"
	"    cmdline String,\n"
	"    build_id String,\n"
	"    agent_version String,\n"
	"    trace_path String,\n"
	"    mode String,\n"
	"    sample_bytes UInt64,\n"
	"    allocations UInt64,\n"
	"    frees UInt64,\n"
	"    allocated_bytes UInt64,\n"
	"    peak_bytes UInt64,\n"
	"    peak_count UInt64,\n"
	"    peak_time_ns UInt64,\n"
	"    leaked_bytes UInt64,\n"
	"    leaked_count UInt64,\n"
	"    live_now_bytes UInt64,\n"
	"    live_now_count UInt64,\n"
	"    temporary UInt64,\n"
	"    unknown_frees UInt64,\n"
	"    heap_samples UInt64,\n"
	"    lost_heap_samples UInt64,\n"
	"    allocated_var Float64,\n"
	"    size_hist Array(UInt64),\n"
	"    cpu_samples UInt64,\n"
	"    cpu_ns UInt64,\n"
	"    cpu_lost UInt64,\n"
	"    cpu_hz UInt32,\n"
	"    wall_samples UInt64,\n"
	"    wall_ns UInt64,\n"
	"    wall_lost UInt64,\n"
	"    wall_hz UInt32,\n"
	"    maps UInt64,\n"
	"    remaps UInt64,\n"
	"    unmaps UInt64,\n"
	"    mapped_bytes UInt64,\n"
	"    mapped_peak_bytes UInt64,\n"
	"    mapped_live_at_end UInt64,\n"
	"    rss_peak_bytes UInt64,\n"
	"    heap_at_rss_peak UInt64,\n"
	"    mapped_at_rss_peak UInt64,\n"
	"    damaged_regions UInt64,\n"
	"    skipped_bytes UInt64,\n"
	"    damage_at UInt64,\n"
	"    damage_what String,\n"
	"    dropped_events UInt64,\n"
	"    unordered_events UInt64,\n"
	"    unordered_why String,\n"
	"    nested_allocations UInt64,\n"
	"    nested_frees UInt64\n"
	") ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (service, trace_id, push_id, image)",

	"CREATE TABLE IF NOT EXISTS ldprof_stacks (\n"
	"    stack_id UInt64,\n"
	"    trace_id UInt64,\n"
	"    day Date,\n"
	"    functions Array(String),\n"
	"    files Array(String),\n"
	"    lines Array(UInt32),\n"
	"    modules Array(String),\n"
	"    inlined Array(UInt8)\n"
	") ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(day) ORDER BY stack_id",

	"CREATE TABLE IF NOT EXISTS ldprof_values (\n"
	"    trace_id UInt64,\n"
	"    push_id UInt64,\n"
	"    image UInt16,\n"
	"    day Date,\n"
	"    figure Enum8('alloc' = 1, 'frees' = 2, 'inuse' = 3, 'leaked' = 4, 'temporary' = 5,\n"
	"                 'cpu' = 6, 'wall' = 7, 'cpu_agent' = 8, 'wall_agent' = 9, 'snapshot' = 10,\n"
	"                 'mapped' = 11, 'mapped_peak' = 12, 'mapped_live' = 13),\n"
	"    snapshot String,\n"
	"    stack_id UInt64,\n"
	"    value UInt64,\n"
	"    count UInt64\n"
	") ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (figure, trace_id, push_id, stack_id)",
	NULL,
};

void fleet_schema_print(struct strbuf *b)
{
	sb_printf(b, "-- ldprof fleet store, schema version %d\n", FLEET_SCHEMA_VERSION);
	for (size_t i = 0; fleet_schema_ddl[i]; i++)
		sb_printf(b, "\n%s;\n", fleet_schema_ddl[i]);
	sb_printf(b, "\nINSERT INTO ldprof_meta VALUES ('schema_version', '%d');\n", FLEET_SCHEMA_VERSION);
}

/* The stored version: 0 when none was written yet, -1 on failure. */
static int stored_version(struct ch *c)
{
	json_t *rows = ch_select(c, "SELECT value FROM ldprof_meta WHERE key = 'schema_version'");
	if (!rows)
		return -1;
	int v = 0;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		int x = atoi(ch_str(row, 0));
		if (x > v)
			v = x;
	}
	json_decref(rows);
	return v;
}

static int version_ok(int v, char *err, size_t errlen)
{
	if (v > FLEET_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "the store's schema is version %d; this ldprof knows version %d and leaves it alone (upgrade ldprof)",
			 v, FLEET_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

int fleet_schema_create(struct ch *c, char *err, size_t errlen)
{
	if (ch_create_database(c))
		goto fail;
	for (size_t i = 0; fleet_schema_ddl[i]; i++)
		if (ch_exec(c, fleet_schema_ddl[i]))
			goto fail;
	int v = stored_version(c);
	if (v < 0)
		goto fail;
	if (v == 0) {
		char sql[128];
		snprintf(sql, sizeof sql, "INSERT INTO ldprof_meta VALUES ('schema_version', '%d')", FLEET_SCHEMA_VERSION);
		if (ch_exec(c, sql))
			goto fail;
		return 0;
	}
	return version_ok(v, err, errlen);
fail:
	snprintf(err, errlen, "%s", ch_error(c));
	return -1;
}

int fleet_schema_check(struct ch *c, char *err, size_t errlen)
{
	int v = stored_version(c);
	if (v < 0) {
		/* Code 81: no such database; 60: no such table. */
		const char *e = ch_error(c);
		if (strstr(e, "Code: 81,") || strstr(e, "Code: 60,"))
			snprintf(err, errlen, "no ldprof store there yet (ldprof push creates it): %s", e);
		else
			snprintf(err, errlen, "%s", e);
		return -1;
	}
	if (v == 0) {
		snprintf(err, errlen, "the store has no schema version (was it created by ldprof push?)");
		return -1;
	}
	return version_ok(v, err, errlen);
}
