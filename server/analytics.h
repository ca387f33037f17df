/*
 * analytics.h -- the live cubes: counts, hotspot grid, response times and
 * the unit board.
 *
 * The cube (lib/cube.h) is a materialised view of the committed incidents:
 * loaded from PostGIS whenever the writer connection (re)opens -- streamed
 * with COPY on the same connection, so no write can slip between the
 * snapshot and the live updates -- and then moved by every commit, after
 * the commit, before the reply. While it loads, /readyz says not ready and
 * the API answers 503. The load passes through the states of
 * lib/loadstate.h, each change logged ("load: A -> B (why)").
 *
 * Its parts (analytics_int.h, private to them): analytics.c (category
 * ids, what answers), analytics_load.c, analytics_grid.c,
 * analytics_snapshot.c, analytics_apply.c. It calls nothing above it:
 * whoever must hear that writes may go again is told through
 * analytics_on_ready.
 */
#ifndef COMPSTAT_ANALYTICS_H
#define COMPSTAT_ANALYTICS_H

#include "cube.h"
#include "db.h"
#include "rtcube.h"
#include "spatial.h"
#include "store.h"
#include "unitboard.h"

/*
 * The rows the cube is built from, one per counted incident: agency,
 * precinct (0: none), offense, priority (-1: none), counting time and
 * commit time (ms), location. Binary COPY: PostgreSQL prints no numbers and
 * the loader parses none (lib/pgbin); times travel as timestamptz, rounded
 * to the second as date_part('epoch', t)::bigint would (the commit time's
 * date_part to milliseconds is one column, kept).
 */
#define ANALYTICS_LOAD_COLS                                                                 \
    "agency_id, coalesce(precinct_id, 0), offense_id, coalesce(priority, -1)::integer,"      \
    " counted_at, (date_part('epoch', updated_at) * 1000)::bigint, ST_X(geom), ST_Y(geom)"
/* Crimes: not unfounded or cancelled, and of an offense that is a crime
   (offenses.crime: calls such as traffic accidents are not). */
#define ANALYTICS_LOAD_WHERE                                                                \
    "status NOT IN ('unfounded', 'cancelled')"                                              \
    " AND offense_id IN (SELECT id FROM offenses WHERE crime)"
#define ANALYTICS_LOAD_SELECT \
    "SELECT " ANALYTICS_LOAD_COLS " FROM incidents WHERE " ANALYTICS_LOAD_WHERE
#define ANALYTICS_LOAD_SQL "COPY (" ANALYTICS_LOAD_SELECT ") TO STDOUT (FORMAT binary)"

/*
 * The rows the response-time cube and the unit board are built from: every
 * incident with a received_at (unfounded and cancelled included: units
 * responded), and every open one with units attached. Binary COPY too.
 */
#define ANALYTICS_RT_LOAD_COLS                                                                \
    "id, agency_id, coalesce(precinct_id, 0), coalesce(priority, -1)::integer, status::text,"  \
    " received_at, dispatched_at, en_route_at, on_scene_at, cleared_at,"                       \
    " CASE WHEN units = '{}' THEN NULL ELSE array_to_json(units)::text END, self_initiated"
#define ANALYTICS_RT_LOAD_WHERE                                                               \
    "(received_at IS NOT NULL OR (units <> '{}'"                                              \
    " AND status IN ('open', 'dispatched', 'en_route', 'on_scene')))"
#define ANALYTICS_RT_LOAD_SELECT \
    "SELECT " ANALYTICS_RT_LOAD_COLS " FROM incidents WHERE " ANALYTICS_RT_LOAD_WHERE
#define ANALYTICS_RT_LOAD_SQL "COPY (" ANALYTICS_RT_LOAD_SELECT ") TO STDOUT (FORMAT binary)"

/*
 * Start (re)loading the cube through db; the old cube stops answering.
 * The first load of the process starts from the snapshot (snapshot_path)
 * when the database says it is still exact after replaying what changed
 * since: the incidents added after its high-water mark, and those updated
 * since its generation (their old rows from cube_dirty taken away, their
 * rows now added). Otherwise, and on every later load, from the incidents
 * table. A stale snapshot is removed.
 */
void analytics_reload(db_conn *db);

/*
 * At shutdown, once writes have drained: write the snapshot if the cubes
 * are loaded, current, and nothing changed the incidents outside compstatd
 * since they were loaded (blocking: it asks the database on a connection
 * of its own; it first waits for a snapshot being written in the
 * background). Logs what it did.
 */
void analytics_save_snapshot(void);

/*
 * While running: every snapshot_interval seconds when something changed
 * (and as soon as a load from the database completes), take a new
 * generation on the writer -- in order with the group commits, so the
 * cubes as they stand when it answers are exactly the database's before
 * it -- and write the snapshot from a forked child (copy-on-write: the
 * loop keeps serving). When the child has renamed the file into place,
 * the old rows of earlier generations are deleted. Call once at start-up;
 * analytics_free stops it.
 */
void analytics_snapshots_start(void);

/*
 * A committed change: old is the incident before it (NULL when new), new
 * after. Moves the cube's counts from old's cell to new's.
 */
void analytics_apply(const stored *old, const stored *new_row);

/*
 * Dense ids for category names (shared by all agencies), assigned on first
 * use; -1 when out of memory. analytics_category_name returns NULL for an
 * unknown id.
 */
int analytics_category_id(const char *name);
const char *analytics_category_name(int id);

/* An offense was created or changed category: tell the cube. */
void analytics_offense_changed(int agency_id, int offense_id, const char *category);

/*
 * An offense's crime flag may change: every incident of it comes in or out
 * of the crime counts (the cube and the hotspot grid) at once. The caller
 * queues the offense's write on db (the writer) and, right behind it, with
 * nothing queued between, analytics_recount_queue: a COPY of the offense's
 * incidents. When the write's result arrives, analytics_recount_decide
 * says what it did (old and new flag; equal when it failed or changed
 * nothing); the COPY then adds (crime now) or takes away (no longer) each
 * incident. The write and the COPY run back to back on the one connection
 * every commit uses, so each incident is counted under the flag of its
 * commit, and moved exactly once. done(arg) runs when the incidents have
 * moved (or the cubes were sent to reload): the write's answer waits for
 * it, so a 2xx means the counts moved. Returns 0, or -1 when nothing was
 * queued (the caller then must not call decide, and done never runs).
 */
int analytics_recount_queue(db_conn *db, int agency_id, int offense_id, void (*done)(void *arg),
                            void *arg);
void analytics_recount_decide(int agency_id, int offense_id, int old_crime, int new_crime);

/*
 * When a load completes and everything answers, fn(arg) runs (once per
 * load, on the loop): writes, which wait for the cubes, may go again.
 * Set once at start-up; NULL: nobody is told.
 */
void analytics_on_ready(void (*fn)(void *arg), void *arg);

/* 1 when everything (cube, grid, response times, unit board) is loaded and current. */
int analytics_ready(void);
/*
 * 1 when the count cube and the hotspot grid are: a load makes them answer
 * before the response-time cube is in (writes still wait for everything,
 * so nothing changes in between).
 */
int analytics_counts_ready(void);

/* The load's state, by name (lib/loadstate.h: "ready", "counts_ready", ...). */
const char *analytics_load_state(void);

/* The last completed load: where the cubes came from ("snapshot" or
   "database", NULL before the first) and how long it took, start to ready. */
const char *analytics_loaded_from(void);
double analytics_load_seconds(void);
/* The cube (valid while analytics_ready()). */
const cube *analytics_cube(void);

/* The hotspot grid store (valid while analytics_ready()). */
const sp_store *analytics_spatial(void);

/*
 * A view of the agency's hotspot grid days [day_from, day_to) as they are
 * now (lib/spatial.h: O(days); a worker may count it while commits go on).
 * Free with sp_view_free on the loop. NULL out of memory.
 */
sp_view *analytics_grid_view(int32_t agency, int64_t day_from, int64_t day_to);

/*
 * A precinct changed: when the agency's grid origin (its precincts' centre,
 * rounded to a whole degree) moves, that agency's hotspot grid alone is
 * rebuilt from the database on a connection of its own, and swapped in
 * with the changes committed meanwhile applied (analytics_grid.c, "one
 * agency's grid, rebuilt"): nothing waits for it, and until the swap the
 * agency's hotspots answer, exactly, from its old grid.
 */
void analytics_precinct_changed(int agency_id);

/*
 * The agency's time zone changed: its hotspot grid counts local days, so it
 * is rebuilt the same way, from the database, and until that swaps in the
 * agency's hotspots are not answered (analytics_grid_stale: 1) -- its old
 * grid's days are the old zone's. Nothing else waits: the count cube works
 * in UTC cells and every other agency's grid is untouched.
 */
void analytics_zone_changed(int agency_id);
int analytics_grid_stale(int agency_id);

/* The response-time cube (valid while analytics_ready()). */
const rt_cube *analytics_rt(void);

/*
 * The unit board (lib/unitboard.h): the open incidents (open, dispatched,
 * en route, on scene) a call sign is attached to, as unitboard_activity
 * tells them.
 */
void analytics_unit_activity(int agency, const char *callsign, const uint8_t *scope,
                             int32_t nscope, unit_activity *out);
/* Every call sign of the agency attached to an open incident. */
void analytics_units_foreach(int agency,
                             void (*fn)(const char *callsign, const unit_activity *a, void *arg),
                             void *arg);

void analytics_free(void);

#endif
