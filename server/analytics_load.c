/*
 * analytics_load.c -- loading the cubes (analytics.h): the state machine
 * of lib/loadstate.h, the COPYs from the database or the replay onto a
 * restored snapshot, indexing in slices, and the hand-over to the cubes
 * that answer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "analytics_int.h"
#include "app.h"
#include "clock.h"
#include "log.h"
#include "pgbin.h"
#include "rfc3339.h"

static struct event *finish_ev;
static const char *loaded_from; /* the last completed load: "snapshot" or "database" */
static double load_seconds;     /* ... and how long it took */
static void (*on_ready)(void *arg); /* analytics_on_ready */
static void *on_ready_arg;

int an_load_event(load_event ev, const char *why)
{
    load_state from = an_load.state;
    int to = load_next(from, ev);
    if (to < 0) {
        log_debug("analytics", "load: %s cannot happen in %s (%s): ignored", load_event_name(ev),
                  load_state_name(from), why);
        return -1;
    }
    an_load.state = (load_state)to;
    if (to != (int)from || ev == LOAD_EV_START)
        log_info("analytics", "load: %s -> %s (%s)", load_state_name(from),
                 load_state_name(an_load.state), why);
    return to;
}

int an_load_in_progress(void)
{
    return an_load.cube != NULL || an_load.rt != NULL;
}

void an_invalidate(const char *why)
{
    an_load_event(LOAD_EV_STALE, why);
}

void analytics_on_ready(void (*fn)(void *arg), void *arg)
{
    on_ready = fn;
    on_ready_arg = arg;
}

const char *analytics_load_state(void)
{
    return load_state_name(an_load.state);
}

const char *analytics_loaded_from(void)
{
    return loaded_from;
}

double analytics_load_seconds(void)
{
    return load_seconds;
}

/* Replay: the COPY of old rows to take away passes &TAKE_AWAY, others NULL. */
static const int TAKE_AWAY = -1;

/* A replayed change does not fit the snapshot (the old row is not in it):
   finish reading, then rebuild from the database (on_rt_loaded). */
static void replay_misfit(const char *what)
{
    if (an_load.state != LOAD_MISFIT)
        log_error("cube", "replaying onto the snapshot: %s", what);
    an_load_event(LOAD_EV_MISFIT, what);
}

int an_read_count_row(const char *row, int len, struct an_count_row *c)
{
    pgbin b;
    c->lon = c->lat = 0;
    c->located = 0;
    if (pgbin_begin(&b, row, (size_t)len) != 8 || pgbin_int4(&b, &c->v[0]) != 1 ||
        pgbin_int4(&b, &c->v[1]) != 1 || pgbin_int4(&b, &c->v[2]) != 1 ||
        pgbin_int4(&b, &c->v[3]) != 1 || pgbin_timestamptz(&b, &c->t) != 1 ||
        pgbin_int8(&b, &c->commit) != 1 || (c->located = pgbin_float8(&b, &c->lon)) < 0 ||
        pgbin_float8(&b, &c->lat) != c->located)
        return -1;
    return 0;
}

static void on_row(void *arg, char *row, int len)
{
    /* agency, precinct, offense, priority, counted_at, updated_ms, lon, lat */
    int delta = arg ? *(const int *)arg : 1;
    struct an_count_row c;
    if (an_read_count_row(row, len, &c) != 0) {
        log_error("cube", "unreadable row while loading (%d bytes)", len);
        return;
    }
    int32_t *v = c.v;
    int64_t t = c.t, commit = c.commit;
    double lon = c.lon, lat = c.lat;
    int located = c.located;
    /* Reference data was queued before the COPY on the same connection,
       so it is in by the first row: declare the categories before any
       incident lands in the cube. */
    if (an_load.cube && !an_load.categories_declared) {
        an_declare_categories(an_load.cube);
        an_load.categories_declared = 1;
    }
    cube_key k = {v[0], v[1], v[2], v[3]};
    /* Onto a restored snapshot, changes go in as live updates do. */
    if (an_load.cube && (an_load.from_snapshot ? cube_add(an_load.cube, &k, t, delta, commit)
                                               : cube_load(an_load.cube, &k, t, commit)) != 0) {
        if (an_load.from_snapshot)
            replay_misfit("an incident's count does not fit the cube");
        else
            log_error("cube", "out of memory while loading");
    }
    if (located && an_load.sp) {
        int32_t ag = v[0];
        int64_t day = an_local_day(ag, t);
        if (an_ensure_grid(an_load.sp, ag, lon, lat) == NULL ||
            (an_load.from_snapshot
                 ? sp_add(an_load.sp, ag, k.precinct, k.offense, day, lon, lat, delta)
                 : sp_load(an_load.sp, ag, k.precinct, k.offense, day, lon, lat)) != 0) {
            if (an_load.from_snapshot)
                replay_misfit("an incident's place does not fit the grid");
            else
                log_error("cube", "out of memory while loading the grid");
        }
    }
    an_load.rows++;
}

static void maybe_complete(void);

int an_fact_of(int agency, int precinct, int priority, const int64_t *times, unsigned set,
               int self_initiated, char *const *units, size_t nunits, rt_fact *f)
{
    if (!(set & (1u << INC_T_RECEIVED)))
        return 0;
    memset(f, 0, sizeof *f);
    f->agency = agency;
    f->precinct = precinct;
    f->priority = priority;
    f->received = times[INC_T_RECEIVED];
    f->mask = rt_intervals(times, set, f->v);
    /* An officer started it: no caller waited, so no queue, travel or
       response time; on scene and committed time stand. */
    if (self_initiated)
        f->mask &= ~((1u << RT_QUEUE) | (1u << RT_TRAVEL) | (1u << RT_RESPONSE));
    f->units = units;
    f->nunits = nunits;
    return 1;
}

static void on_rt_row(void *arg, char *row, int len)
{
    /* id, agency, precinct, priority, status, received .. cleared, units (JSON) */
    int delta = arg ? *(const int *)arg : 1;
    pgbin b;
    if (an_load.rt == NULL) /* the load was abandoned */
        return;
    int64_t id;
    int32_t agency, precinct, priority;
    const char *status, *json = NULL;
    size_t status_len, json_len = 0;
    int64_t times[INC_T_COUNT] = {0};
    unsigned set = 0;
    int ok = pgbin_begin(&b, row, (size_t)len) == 12 && pgbin_int8(&b, &id) == 1 &&
             pgbin_int4(&b, &agency) == 1 && pgbin_int4(&b, &precinct) == 1 &&
             pgbin_int4(&b, &priority) == 1 && pgbin_bytes(&b, &status, &status_len) == 1 &&
             status_len < 16;
    for (int t = INC_T_RECEIVED; ok && t <= INC_T_CLEARED; t++) {
        int rc = pgbin_timestamptz(&b, &times[t]);
        if (rc == 1)
            set |= 1u << t;
        ok = rc >= 0;
    }
    int self_initiated = 0;
    if (!ok || pgbin_bytes(&b, &json, &json_len) < 0 || pgbin_bool(&b, &self_initiated) != 1) {
        log_error("cube", "unreadable response-time row (%d bytes)", len);
        return;
    }
    char st[16];
    memcpy(st, status, status_len);
    st[status_len] = '\0';
    char *units[INC_MAX_UNITS];
    size_t nunits = 0;
    cJSON *doc = json ? cJSON_ParseWithLength(json, json_len) : NULL;
    const cJSON *u;
    cJSON_ArrayForEach(u, doc) {
        if (cJSON_IsString(u) && nunits < INC_MAX_UNITS)
            units[nunits++] = u->valuestring;
    }
    rt_fact fact;
    if (an_fact_of(agency, precinct, priority, times, set, self_initiated, units, nunits, &fact) &&
        (an_load.from_snapshot ? rt_add(an_load.rt, &fact, delta)
                               : rt_load(an_load.rt, &fact)) != 0) {
        if (an_load.from_snapshot)
            replay_misfit("an incident's response times do not fit the cube");
        else
            log_error("cube", "out of memory while loading response times");
    }
    if (unitboard_move(an_load.board, agency, id, inc_status_parse(st), precinct, units, nunits,
                       delta) != 0) {
        if (an_load.from_snapshot)
            replay_misfit("an incident's units do not fit the unit board");
        else
            log_error("cube", "out of memory while loading the unit board");
    }
    an_load.rows++;
    cJSON_Delete(doc);
}

static void on_rt_loaded(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("cube", "loading response times failed: %s", error);
        an_discard_loading();
        an_load_event(LOAD_EV_FAIL, "loading response times failed");
        return;
    }
    if (an_load.state == LOAD_MISFIT) {
        /* Nothing of this load is queued any more: start over, from the
           database (only a process's first load reads the snapshot). */
        if (an_load.from_snapshot) {
            log_warn("cube", "the snapshot %s does not match the database; rebuilding from it",
                     app.cfg.snapshot_path);
            an_remove_snapshot();
        }
        an_reload(app.writer, "what was loaded does not fit: from the database");
        return;
    }
    if (load_next(an_load.state, LOAD_EV_RT_COPIED) < 0)
        return; /* of a load replaced meanwhile */
    if (an_load.rt && rt_load_finish(an_load.rt) != 0) {
        log_error("cube", "out of memory while indexing response times; not loaded");
        an_discard_loading();
        an_load_event(LOAD_EV_FAIL, "out of memory indexing response times");
        return;
    }
    an_load_event(LOAD_EV_RT_COPIED, "the response times are in");
    maybe_complete();
}

void an_discard_loading(void)
{
    cube_free(an_load.cube);
    an_load.cube = NULL;
    sp_free(an_load.sp);
    an_load.sp = NULL;
    rt_free(an_load.rt);
    an_load.rt = NULL;
    unitboard_free(an_load.board);
    an_load.board = NULL;
}

/* Both COPYs are in and the cube is indexed: everything answers, writes resume. */
static void maybe_complete(void)
{
    if (an_load.state != LOAD_READY || an_load.rt == NULL)
        return;
    rt_free(an_live.rt);
    an_live.rt = an_load.rt;
    an_load.rt = NULL;
    unitboard_free(an_live.board);
    an_live.board = an_load.board;
    an_load.board = NULL;
    loaded_from = an_load.from_snapshot ? "snapshot" : "database";
    /* A snapshot on disk stays exact as writes resume (cube_dirty), but the
       sooner a new one holds this load, the less a restart replays. */
    an_marks.changed = 0;
    an_marks.outside_logged = 0;
    if (!an_load.from_snapshot || an_load.rows > 0)
        an_snapshot_soon();
    load_seconds = (double)(clock_now_ns() - an_load.started_ns) / 1e9;
    if (on_ready)
        on_ready(on_ready_arg);
    /* A precinct moved while the grid loaded (or since the snapshot): rebuild that agency. */
    an_grid_check_all();
    log_info("cube", "loaded %llu incidents in %zu cells of %zu series (%.1f MiB), "
             "%zu response-time facts (%.1f MiB) in %.0f ms",
             (unsigned long long)cube_total(an_live.cube), cube_cells(an_live.cube),
             cube_series(an_live.cube),
             (double)cube_bytes(an_live.cube) / 1048576.0, rt_facts(an_live.rt),
             (double)rt_bytes(an_live.rt) / 1048576.0,
             (double)(clock_now_ns() - an_load.started_ns) / 1e6);
}

static void on_finish_step(evutil_socket_t fd, short what, void *arg)
{
    if (an_load.state != LOAD_INDEXING && an_load.state != LOAD_INDEXING_RT_IN)
        return; /* the load failed meanwhile */
    /* Index in slices of ~200k incidents so the loop keeps serving. */
    int rc = cube_load_finish(an_load.cube, 200000);
    if (rc == 1)
        rc = sp_load_finish(an_load.sp, 200000);
    if (rc == 0) {
        event_active(finish_ev, 0, 0);
        return;
    }
    if (rc < 0) {
        log_error("cube", "out of memory while indexing; the cube stays unloaded");
        an_discard_loading();
        an_load_event(LOAD_EV_FAIL, "out of memory indexing the counts");
        return;
    }
    /* The counts are in and indexed: they answer reads now, while the
       response-time facts are still streaming in behind them on the same
       connection (writes wait for those: nothing can change meanwhile). */
    cube_free(an_live.cube);
    an_live.cube = an_load.cube;
    an_load.cube = NULL;
    sp_free(an_live.sp);
    an_live.sp = an_load.sp;
    an_load.sp = NULL;
    an_load_event(LOAD_EV_INDEXED, "the counts are indexed");
    log_info("cube", "counts loaded in %.0f ms: the cube, COMPSTAT and hotspots answer",
             (double)(clock_now_ns() - an_load.started_ns) / 1e6);
    maybe_complete();
}

static void on_loaded(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("cube", "loading failed: %s", error);
        an_discard_loading();
        an_load_event(LOAD_EV_FAIL, "loading failed"); /* the next (re)connect loads again */
        return;
    }
    /* A misfit load is never indexed (on_rt_loaded starts over); a load
       replaced meanwhile is not this one. */
    if (an_load_event(LOAD_EV_COUNTS_COPIED, "the counts are in") != LOAD_INDEXING)
        return;
    if (!an_load.categories_declared) {
        an_declare_categories(an_load.cube);
        an_load.categories_declared = 1;
    }
    if (finish_ev == NULL)
        finish_ev = event_new(app.base, -1, 0, on_finish_step, NULL);
    event_active(finish_ev, 0, 0);
}

int an_read_state(const PGresult *res, struct an_db_state *st)
{
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        PQnfields(res) != 8)
        return -1;
    st->changes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    st->inserts = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    snprintf(st->instance, sizeof st->instance, "%s", PQgetvalue(res, 0, 2));
    snprintf(st->fingerprint, sizeof st->fingerprint, "%s", PQgetvalue(res, 0, 3));
    st->max_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    st->rows = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    st->rows_above = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    st->generation = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    return 0;
}

/* The first old row of each incident the snapshot holds that was updated
   at or after its generation: the version the snapshot counted. */
#define REPLAY_TAKEN                                                                       \
    "(SELECT DISTINCT ON (id) * FROM cube_dirty WHERE generation >= %" PRId64              \
    " AND id <= %" PRId64 " ORDER BY id, generation) i"
/* ... and the incidents to add as they are now: those past the mark, and
   those updated since (two index scans, not one scan with an OR). */
#define REPLAY_ADDED(cols, where)                                                          \
    "SELECT " cols " FROM incidents WHERE " where " AND id > %" PRId64                     \
    " UNION ALL SELECT " cols " FROM incidents WHERE " where " AND id IN"                  \
    " (SELECT id FROM cube_dirty WHERE generation >= %" PRId64 " AND id <= %" PRId64 ")"

static void on_replay_taken(void *arg, PGresult *res, const char *error)
{
    if (error)
        replay_misfit(error);
}

static void start_copies(db_conn *db)
{
    char take[1024], sql[2048], rt_take[1024], rt_sql[2048];
    int64_t m = an_load.replay_after, g = an_load.replay_gen;
    if (an_load.from_snapshot) {
        snprintf(take, sizeof take,
                 "COPY (SELECT " ANALYTICS_LOAD_COLS " FROM " REPLAY_TAKEN
                 " WHERE " ANALYTICS_LOAD_WHERE ") TO STDOUT (FORMAT binary)", g, m);
        snprintf(sql, sizeof sql,
                 "COPY (" REPLAY_ADDED(ANALYTICS_LOAD_COLS, ANALYTICS_LOAD_WHERE)
                 ") TO STDOUT (FORMAT binary)", m, g, m);
        snprintf(rt_take, sizeof rt_take,
                 "COPY (SELECT " ANALYTICS_RT_LOAD_COLS " FROM " REPLAY_TAKEN
                 " WHERE " ANALYTICS_RT_LOAD_WHERE ") TO STDOUT (FORMAT binary)", g, m);
        snprintf(rt_sql, sizeof rt_sql,
                 "COPY (" REPLAY_ADDED(ANALYTICS_RT_LOAD_COLS, ANALYTICS_RT_LOAD_WHERE)
                 ") TO STDOUT (FORMAT binary)", m, g, m);
    } else {
        snprintf(sql, sizeof sql, "%s", ANALYTICS_LOAD_SQL);
        snprintf(rt_sql, sizeof rt_sql, "%s", ANALYTICS_RT_LOAD_SQL);
    }
    /* All on the writer, one after the other, before any write: each
       replay takes the old rows away before adding the new. */
    void *away = (void *)&TAKE_AWAY;
    if ((an_load.from_snapshot && db_copy_out(db, take, on_row, on_replay_taken, away) != 0) ||
        db_copy_out(db, sql, on_row, on_loaded, NULL) != 0 ||
        (an_load.from_snapshot &&
         db_copy_out(db, rt_take, on_rt_row, on_replay_taken, away) != 0) ||
        db_copy_out(db, rt_sql, on_rt_row, on_rt_loaded, NULL) != 0) {
        log_error("cube", "cannot start loading");
        an_discard_loading();
        an_load_event(LOAD_EV_FAIL, "cannot queue the COPYs");
    }
}

static void on_state(void *arg, PGresult *res, const char *error)
{
    db_conn *db = arg;
    struct an_db_state st;
    an_load.have_state = !error && an_read_state(res, &st) == 0;
    if (an_load.have_state) {
        an_load.changes = st.changes;
        an_load.inserts = st.inserts;
        an_marks.max_id = st.max_id;
        an_marks.rows = st.rows + st.rows_above;
    } else if (db_is_up(db)) {
        log_warn("cube", "cannot read cube_state (%s): snapshots are off until "
                 "`compstat-admin migrate` has run", error ? error : "unexpected result");
    } else if (an_load.snap.map) {
        /* The link failed: the next load (on reconnect) tries the snapshot
           again; the file stays until a load completes (maybe_complete). */
        snapshot_close(&an_load.snap);
        an_load.snapshot_tried = 0;
    }
    if (an_load.snap.map) {
        const char *path = app.cfg.snapshot_path;
        const char *why = an_load.have_state ? an_snapshot_stale(&an_load.snap.mark, &st)
                                             : "cube_state is unreadable";
        uint64_t t0 = clock_now_ns();
        if (why == NULL && an_restore_payload(an_load.snap.payload, an_load.snap.payload_len) != 0)
            why = "its contents do not restore";
        if (why) {
            log_warn("cube", "snapshot %s is stale: %s; rebuilding from the database", path,
                     why);
        } else {
            an_load.from_snapshot = 1;
            an_load.replay_after = an_load.snap.mark.max_id;
            an_load.replay_gen = an_load.snap.mark.generation;
            char written[RFC3339_BUFSZ];
            rfc3339_format_ms(an_load.snap.mark.written_ms, 0, written);
            log_info("cube", "restored the snapshot %s (written %s) in %.0f ms: %" PRId64
                     " incidents up to id %" PRId64 "; replaying %" PRId64 " newer and those "
                     "updated since generation %" PRId64 " from the database", path, written,
                     (double)(clock_now_ns() - t0) / 1e6, an_load.snap.mark.rows,
                     an_load.snap.mark.max_id, st.rows_above, an_load.snap.mark.generation);
        }
        snapshot_close(&an_load.snap);
        /* A usable snapshot stays: cube_dirty keeps it exact as writes go
           on (a crash now would restore it again). A stale one goes. */
        if (why)
            an_remove_snapshot();
    }
    if (an_load.cube == NULL) /* the load was replaced or abandoned meanwhile */
        return;
    if (an_load.from_snapshot)
        an_load_event(LOAD_EV_FROM_SNAPSHOT, "the snapshot restored: replaying what changed since");
    else
        an_load_event(LOAD_EV_FROM_DATABASE, "reading the incidents from the database");
    start_copies(db);
}

void an_reload(db_conn *db, const char *reason)
{
    an_load_event(LOAD_EV_START, reason);
    an_grid_cancel(); /* the load builds every grid about its current origin */
    if (finish_ev)
        event_del(finish_ev); /* a finish of the load being replaced must not run */
    an_discard_loading();
    snapshot_close(&an_load.snap);
    an_load.cube = cube_new();
    an_load.sp = sp_new();
    an_load.rt = rt_new();
    an_load.board = unitboard_new();
    an_load.categories_declared = 0;
    an_load.from_snapshot = 0;
    an_load.rows = 0;
    an_load.started_ns = clock_now_ns();
    if (an_load.cube == NULL || an_load.sp == NULL || an_load.rt == NULL || an_load.board == NULL) {
        log_error("cube", "cannot start loading: out of memory");
        an_discard_loading();
        an_load_event(LOAD_EV_FAIL, "out of memory");
        return;
    }
    const char *path = app.cfg.snapshot_path;
    if (!an_load.snapshot_tried && path && path[0]) {
        char why[256];
        int rc = snapshot_open(path, &an_load.snap, why, sizeof why);
        if (rc < 0) {
            log_warn("cube", "snapshot %s is unusable: %s; rebuilding from the database", path,
                     why);
            an_remove_snapshot();
        } else if (rc == 0) {
            log_info("cube", "no snapshot at %s: building from the database", path);
        }
    }
    an_load.snapshot_tried = 1;
    char p1[24], p2[24], p3[24], p4[24];
    /* Without a snapshot the mark is past every id: the rows are counted
       (what the next snapshot's mark says; about 2 % of a rebuild). */
    snprintf(p1, sizeof p1, "%" PRId64, an_load.snap.map ? an_load.snap.mark.max_id : INT64_MAX);
    snprintf(p2, sizeof p2, "%" PRId64, an_load.snap.map ? an_load.snap.mark.inserts : -1);
    snprintf(p3, sizeof p3, "%" PRId64, an_load.snap.map ? an_load.snap.mark.rows : 0);
    snprintf(p4, sizeof p4, "%" PRId64, an_load.snap.map ? an_load.snap.mark.changes : -1);
    const char *params[4] = {p1, p2, p3, p4};
    /* The state first, then the COPYs (queued from on_state): nothing can
       write in between, writes wait for the load. */
    if (db_query(db, STATE_SQL, 4, params, on_state, db) != 0) {
        log_error("cube", "cannot start loading");
        snapshot_close(&an_load.snap);
        an_discard_loading();
        an_load_event(LOAD_EV_FAIL, "cannot ask the database's state");
    }
}

void analytics_reload(db_conn *db)
{
    an_reload(db, "a load is asked for");
}

void an_load_free(void)
{
    an_discard_loading();
    snapshot_close(&an_load.snap);
    if (finish_ev)
        event_free(finish_ev);
    finish_ev = NULL;
}
