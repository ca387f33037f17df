/*
 * store.h -- incidents as rows of the incidents table.
 *
 * One column list (STORE_COLS) is used by every statement that returns
 * incidents, and one parser turns those columns back into a record, so the
 * upsert, PATCH, GET and the list all agree on what an incident is.
 */
#ifndef COMPSTAT_STORE_H
#define COMPSTAT_STORE_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "incident.h"

/* The columns of incident alias x, in the order store_from_row reads. */
#define STORE_COLS(x)                                                                  \
    x ".id, " x ".version, " x ".agency_id, " x ".precinct_id, " x ".offense_id, " x   \
    ".priority, " x ".status, ST_X(" x ".geom), ST_Y(" x ".geom), " x ".address, "     \
    "date_part('epoch', " x ".occurred_at)::bigint, "                                  \
    "date_part('epoch', " x ".received_at)::bigint, "                                  \
    "date_part('epoch', " x ".dispatched_at)::bigint, "                                \
    "date_part('epoch', " x ".en_route_at)::bigint, "                                  \
    "date_part('epoch', " x ".on_scene_at)::bigint, "                                  \
    "date_part('epoch', " x ".cleared_at)::bigint, array_to_json(" x ".units)::text, "  \
    "(date_part('epoch', " x ".created_at) * 1000)::bigint, "                          \
    "(date_part('epoch', " x ".updated_at) * 1000)::bigint, " x ".source, " x ".external_id, " \
    x ".self_initiated"
#define STORE_NCOLS 22

typedef struct stored {
    int64_t id;
    int version;
    int agency_id, precinct_id, offense_id; /* precinct_id 0: unassigned */
    int64_t created_ms, updated_ms; /* commit times, milliseconds since the epoch */
    inc_incident inc; /* codes filled from reference data */
} stored;

/*
 * Read STORE_NCOLS columns of row starting at column col. Returns 0, or -1
 * when the row is NULL there (no such incident) or memory ran out.
 * Free with store_clear.
 */
int store_from_row(const PGresult *res, int row, int col, stored *out);
void store_clear(stored *s);

/* 1 when the incident counts as a crime: not unfounded or cancelled, and
   of an offense that is a crime (offenses.crime, as the reference data in
   memory has it). */
int store_counted(const stored *s);
/* The cube's counting time: occurred_at, or received_at where absent. */
int64_t store_counted_at(const stored *s);

/* The API's JSON for a stored incident (NULL when out of memory). */
cJSON *store_to_json(const stored *s);

#endif
