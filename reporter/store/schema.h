/*
 * schema.h - the fleet store's tables (docs/FLEET.md has them with their
 * meaning): ldprof_meta (the schema version), ldprof_images (a row per
 * traced process image, written last: the commit of a push), ldprof_stacks
 * (a row per distinct symbolized stack) and ldprof_values (a row per image,
 * stack and figure).
 *
 * Version 1. A store with a newer version is refused, never written to.
 */
#ifndef LDPR_STORE_SCHEMA_H
#define LDPR_STORE_SCHEMA_H

#include "store/clickhouse.h"

#define FLEET_SCHEMA_VERSION 1

/* CREATE TABLE IF NOT EXISTS statements, in order; NULL-terminated. */
extern const char *const fleet_schema_ddl[];

/* `ldprof push`: create the database and whatever tables are missing, then
 * check the version. @return 0, or -1 with a one-line reason in err. */
int fleet_schema_create(struct ch *c, char *err, size_t errlen);
/* `ldprof fleet`: the store must exist and have a version this ldprof reads. */
int fleet_schema_check(struct ch *c, char *err, size_t errlen);
/* The DDL as one SQL script (docs/FLEET.md shows exactly this). */
void fleet_schema_print(struct strbuf *b);

#endif
