/*
 * ingest.h -- durable incident writes with group commit.
 *
 * Validated incidents are queued here. Whenever the writer connection has
 * no batch in flight, everything queued (up to commit_batch_max, at most
 * one write per identity) goes to PostgreSQL as one multi-row upsert: one
 * statement, one transaction, one WAL flush for every request waiting.
 * Incidents that arrive meanwhile form the next batch. Each item's done
 * callback runs after its batch committed (or failed), never before: a 2xx
 * built from it means committed.
 *
 * A batch the database rejects (a constraint no check here foresaw) is
 * split and retried one incident at a time, so one bad incident fails
 * alone. Each committed change is written to audit_log by the same
 * statement (who, which request, create or update, the incident). When the link fails, the batch in flight is answered 503 (its
 * commit status is unknown; the upsert is idempotent, so retrying is safe).
 */
#ifndef COMPSTAT_INGEST_H
#define COMPSTAT_INGEST_H

#include <stddef.h>

#include <event2/event.h>

#include "batch.h"
#include "db.h"
#include "incident.h"
#include "store.h"

/*
 * The group commit's statement (prepared once per connection as
 * "ingest_upsert"): the batch arrives as 22 arrays, one per column, and is
 * unnested server-side, so the text and its plan are the same whatever the
 * batch size. The main query's join with `incidents old` reads the rows
 * as they were before the statement (every part of it sees the same
 * snapshot), which tells a new incident from a changed or an identical
 * repost, and a PATCH whose expected version moved on. Also printed by
 * `compstat-bench --print-upsert` for `tools/bench upsert`.
 */
#define INGEST_NPARAMS 22
#define INGEST_UPSERT_SQL \
    "WITH v AS (" \
    " SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::int[]," \
    "  $6::int[], $7::int[], $8::text[], $9::float8[], $10::float8[], $11::text[]," \
    "  $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[]," \
    "  $17::bigint[], $18::text[], $19::int[], $20::int[], $21::text[], $22::bool[])" \
    " AS t(ord, source, external_id, agency_id, precinct_id, offense_id, priority, status," \
    "  lon, lat, address, t_occ, t_rec, t_dis, t_enr, t_ons, t_clr, units, version," \
    "  token_id, request_id, self_initiated))," \
    " up AS (INSERT INTO incidents AS i (source, external_id, agency_id, precinct_id," \
    "  offense_id, priority, status, geom, address, occurred_at, received_at, dispatched_at," \
    "  en_route_at, on_scene_at, cleared_at, units, version, self_initiated, unplaced)" \
    "  SELECT source, external_id, agency_id, precinct_id, offense_id, priority::smallint," \
    "   status::incident_status," \
    "   CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END," \
    "   address, to_timestamp(t_occ), to_timestamp(t_rec), to_timestamp(t_dis)," \
    "   to_timestamp(t_enr), to_timestamp(t_ons), to_timestamp(t_clr)," \
    "   ARRAY(SELECT json_array_elements_text(units::json)), version, self_initiated," \
    /* Neither a point nor a precinct: validated as said explicitly \
       ("precinct": null, lib/incident.c); the row says so (0013). */ \
    "   lon IS NULL AND precinct_id IS NULL" \
    "  FROM v ORDER BY ord" \
    "  ON CONFLICT (agency_id, source, external_id) DO UPDATE SET" \
    "   precinct_id = EXCLUDED.precinct_id, offense_id = EXCLUDED.offense_id," \
    "   priority = EXCLUDED.priority, status = EXCLUDED.status, geom = EXCLUDED.geom," \
    "   address = EXCLUDED.address, occurred_at = EXCLUDED.occurred_at," \
    "   received_at = EXCLUDED.received_at, dispatched_at = EXCLUDED.dispatched_at," \
    "   en_route_at = EXCLUDED.en_route_at, on_scene_at = EXCLUDED.on_scene_at," \
    "   cleared_at = EXCLUDED.cleared_at, units = EXCLUDED.units," \
    "   self_initiated = EXCLUDED.self_initiated, unplaced = EXCLUDED.unplaced," \
    "   version = i.version + 1, updated_at = now()" \
    "  WHERE (EXCLUDED.version = 1 OR i.version = EXCLUDED.version - 1)" \
    "   AND (i.precinct_id, i.offense_id, i.priority, i.status, i.geom, i.address," \
    "        i.occurred_at, i.received_at, i.dispatched_at, i.en_route_at, i.on_scene_at," \
    "        i.cleared_at, i.units, i.self_initiated)" \
    "    IS DISTINCT FROM (EXCLUDED.precinct_id, EXCLUDED.offense_id, EXCLUDED.priority," \
    "        EXCLUDED.status, EXCLUDED.geom, EXCLUDED.address, EXCLUDED.occurred_at," \
    "        EXCLUDED.received_at, EXCLUDED.dispatched_at, EXCLUDED.en_route_at," \
    "        EXCLUDED.on_scene_at, EXCLUDED.cleared_at, EXCLUDED.units," \
    "        EXCLUDED.self_initiated)" \
    "  RETURNING i.*)," \
    /* The audit trail, in the same statement: written with the change or not at all. */ \
    /* A new row is version 1; every committed change adds one. */ \
    " aud AS (INSERT INTO audit_log (token_id, request_id, action, target, detail)" \
    "  SELECT v.token_id, v.request_id," \
    "   CASE WHEN up.version = 1 THEN 'incident.create' ELSE 'incident.update' END," \
    "   up.id::text, jsonb_build_object('source', up.source, 'external_id', up.external_id," \
    "   'precinct_id', up.precinct_id, 'version', up.version)" \
    "  FROM up JOIN v ON v.agency_id = up.agency_id AND v.source = up.source" \
    "   AND v.external_id = up.external_id)" \
    " SELECT v.ord, old.id IS NULL, up.id IS NOT NULL, old.agency_id, old.version, " \
    STORE_COLS("up") ", " STORE_COLS("old") " FROM v" \
    " LEFT JOIN up ON up.agency_id = v.agency_id AND up.source = v.source" \
    "  AND up.external_id = v.external_id" \
    /* The row as it was: every part of one statement reads the same \
       snapshot, taken before `up` changed anything. One probe of the \
       identity index per incident, whatever the table's size when the \
       plan was cached (OFFSET 0 keeps the planner from turning it into a \
       join: a join with a CTE of the old rows was planned as a nested loop \
       over both lists, quadratic in a batch's updates; a plain join, \
       planned on an empty table, as a hash join over a scan of the whole \
       table, a cost growing with it). */ \
    " LEFT JOIN LATERAL (SELECT * FROM incidents o WHERE o.agency_id = v.agency_id" \
    "  AND o.source = v.source" \
    "  AND o.external_id = v.external_id OFFSET 0) old ON true" \
    " ORDER BY v.ord"

typedef struct ingest_item ingest_item;

struct ingest_item {
    /* Input, owned by the item. */
    inc_incident inc;
    int agency_id, precinct_id, offense_id; /* resolved; precinct_id 0: none */
    int version; /* 1: create or replace; n > 1: replace only version n - 1 */
    int token_id;         /* who, for the audit log (0: unknown) */
    char request_id[40];  /* which request, for the audit log */

    /* Result, valid in done(). */
    int status;        /* 201 created, 200 updated or unchanged, 409, 422, 503, 500 */
    int conflict;      /* 409 because the version moved on (PATCH retries) */
    inc_error err;     /* when status >= 400 */
    stored row;        /* the stored incident when status < 300 */

    void (*done)(ingest_item *it);
    void *owner;
    size_t index;

    /* The queue's link, private (lib/batch.h). */
    batch_link link;
};

struct ingest;

/*
 * What ingest asks of the live state, handed down at start-up (main.c):
 * may_run -- may a batch be sent now (writes wait while the cubes load;
 * ingest_resume sends what waited); committed -- one committed change (old:
 * the incident before it, NULL when new), called for each before anyone is
 * answered; batch_applied -- after the last of a batch's changes, still
 * before the answers. arg is passed to each.
 */
typedef struct ingest_hooks {
    int (*may_run)(void *arg);
    void (*committed)(void *arg, const stored *old, const stored *new_row);
    void (*batch_applied)(void *arg);
    void *arg;
} ingest_hooks;

/* hooks is copied. */
struct ingest *ingest_new(struct event_base *base, db_conn *writer, size_t batch_max,
                          const ingest_hooks *hooks);
void ingest_free(struct ingest *g);

/*
 * Queue it. Returns 0 (done will be called once), or -1 when the database
 * is down (done is not called; answer 503).
 */
int ingest_submit(struct ingest *g, ingest_item *it);

/* Send what waited while may_run said no (the cubes were loading). */
void ingest_resume(struct ingest *g);

/* Items queued or in flight. */
size_t ingest_depth(const struct ingest *g);

/* Free the item's input and result. */
void ingest_item_clear(ingest_item *it);

#endif
