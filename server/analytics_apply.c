/*
 * analytics_apply.c -- the cubes moved by what is committed (analytics.h):
 * live apply, the unit board's reads, and the crime-flag recount.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "analytics_int.h"
#include "app.h"
#include "log.h"

/* ------------------------------------------------------------ the unit board */

void analytics_unit_activity(int agency, const char *callsign, const uint8_t *scope,
                             int32_t nscope, unit_activity *out)
{
    unitboard_activity(an_live.board, agency, callsign, scope, nscope, out);
}

void analytics_units_foreach(int agency,
                             void (*fn)(const char *callsign, const unit_activity *a, void *arg),
                             void *arg)
{
    unitboard_foreach(an_live.board, agency, fn, arg);
}

/* ------------------------------------------------------------ live */

/* Move a committed incident's response-time fact and unit-board entries. */
static void rt_move(const stored *s, int delta)
{
    const inc_incident *in = &s->inc;
    rt_fact f;
    int bad = 0;
    if (an_live.rt && an_fact_of(s->agency_id, s->precinct_id, in->priority, in->times,
                                 in->times_set, in->self_initiated, in->units, in->nunits, &f))
        bad = rt_add(an_live.rt, &f, delta) != 0;
    if (unitboard_move(an_live.board, s->agency_id, s->id, in->status, s->precinct_id,
                       in->units, in->nunits, delta))
        bad = 1;
    if (bad) {
        log_error("cube", "inconsistent response-time update for incident %lld; reloading",
                  (long long)s->id);
        an_invalidate("a response-time update did not fit");
    }
}

static void move(const stored *s, int delta, int64_t commit_ms)
{
    cube_key k = {s->agency_id, s->precinct_id, s->offense_id, s->inc.priority};
    int bad = cube_add(an_live.cube, &k, store_counted_at(s), delta, commit_ms) != 0;
    /* An agency whose zone changed keeps its old grid untouched until the
       rebuild swaps in (which catches up on every change: rb_log). */
    if (!bad && s->inc.has_location && an_live.sp && !analytics_grid_stale(s->agency_id)) {
        bad = an_ensure_grid(an_live.sp, s->agency_id, s->inc.lon, s->inc.lat) == NULL ||
              sp_add(an_live.sp, s->agency_id, s->precinct_id, s->offense_id,
                     an_local_day(s->agency_id, store_counted_at(s)), s->inc.lon, s->inc.lat,
                     delta) != 0;
    }
    if (bad) {
        /* The cube and the database disagree: never answer from a wrong
           cube. Reload it from the database. */
        log_error("cube", "inconsistent update for incident %lld; reloading",
                  (long long)s->id);
        an_invalidate("an update did not fit");
    }
}

void analytics_apply(const stored *old, const stored *new_row)
{
    an_marks.changed++;
    if (old == NULL) {
        an_marks.rows++;
        if (new_row->id > an_marks.max_id)
            an_marks.max_id = new_row->id;
    }
    if (an_live.cube == NULL)
        return;
    an_grid_log(old, new_row);
    int64_t commit = new_row->updated_ms;
    if (old && store_counted(old))
        move(old, -1, commit);
    if (store_counted(new_row))
        move(new_row, +1, commit);
    if (old)
        rt_move(old, -1);
    rt_move(new_row, +1);
    if (!analytics_ready() && !an_load_in_progress() && db_is_up(app.writer))
        an_reload(app.writer, "the cubes disagree with the database");
}

/* ------------------------------------------------------------ crime flags */

/*
 * An offense's crime flag changed (analytics.h): its incidents, read by a
 * COPY queued right behind the write on the writer, come in (+1) or go out
 * (-1) of the live cube and grid. Pending recounts form a queue in the
 * order their writes were queued, which is the order the writes' results
 * arrive in: the oldest undecided one is the one a result decides.
 */
struct recount {
    struct recount *next;
    int agency, offense;
    int decided, delta;
    int broken; /* a row did not fit, or came before the decision: reload */
    size_t rows;
    void (*done)(void *arg);
    void *arg;
};
static struct recount *rc_head;

static void on_recount_row(void *arg, char *row, int len)
{
    struct recount *rc = arg;
    struct an_count_row c;
    if (!rc->decided) {
        rc->broken = 1;
        return;
    }
    if (rc->delta == 0 || an_live.cube == NULL || rc->broken)
        return;
    if (an_read_count_row(row, len, &c) != 0 || c.v[0] != rc->agency || c.v[2] != rc->offense) {
        rc->broken = 1;
        return;
    }
    cube_key k = {c.v[0], c.v[1], c.v[2], c.v[3]};
    int bad = cube_add(an_live.cube, &k, c.t, rc->delta, c.commit) != 0;
    if (!bad && c.located && an_live.sp && !analytics_grid_stale(c.v[0]))
        bad = an_ensure_grid(an_live.sp, c.v[0], c.lon, c.lat) == NULL ||
              sp_add(an_live.sp, c.v[0], c.v[1], c.v[2], an_local_day(c.v[0], c.t), c.lon,
                     c.lat, rc->delta) != 0;
    if (bad)
        rc->broken = 1;
    rc->rows++;
}

static void on_recount_done(void *arg, PGresult *res, const char *error)
{
    struct recount *rc = arg;
    struct recount **link = &rc_head;
    while (*link && *link != rc)
        link = &(*link)->next;
    if (*link)
        *link = rc->next;
    if (rc->delta != 0 || rc->broken || error || res == NULL) {
        if (error || res == NULL || rc->broken) {
            /* Part of the offense's incidents may have moved: never answer
               from such a cube. (A connection that failed reloads anyway.) */
            log_error("cube", "recounting offense %d %s; reloading", rc->offense,
                      error ? error : res == NULL ? "lost the connection" : "did not fit");
            an_invalidate("a recount did not fit");
            if (res != NULL && db_is_up(app.writer))
                an_reload(app.writer, "a recount did not fit"); /* replaces a load under way too */
        } else {
            log_info("cube", "offense %d %s the crime counts: %zu incidents moved", rc->offense,
                     rc->delta > 0 ? "joins" : "leaves", rc->rows);
            an_marks.changed += rc->rows;
        }
    }
    if (rc->done)
        rc->done(rc->arg);
    free(rc);
}

int analytics_recount_queue(db_conn *db, int agency_id, int offense_id, void (*done)(void *arg),
                            void *arg)
{
    struct recount *rc = calloc(1, sizeof *rc);
    if (rc == NULL)
        return -1;
    rc->agency = agency_id;
    rc->offense = offense_id;
    rc->done = done;
    rc->arg = arg;
    char sql[512];
    snprintf(sql, sizeof sql,
             "COPY (SELECT " ANALYTICS_LOAD_COLS " FROM incidents WHERE agency_id = %d"
             " AND offense_id = %d AND status NOT IN ('unfounded', 'cancelled'))"
             " TO STDOUT (FORMAT binary)",
             agency_id, offense_id);
    if (db_copy_out(db, sql, on_recount_row, on_recount_done, rc) != 0) {
        free(rc);
        return -1;
    }
    struct recount **link = &rc_head;
    while (*link)
        link = &(*link)->next;
    *link = rc;
    return 0;
}

void analytics_recount_decide(int agency_id, int offense_id, int old_crime, int new_crime)
{
    struct recount *rc = rc_head;
    while (rc && (rc->decided || rc->agency != agency_id || rc->offense != offense_id))
        rc = rc->next;
    if (rc == NULL)
        return;
    rc->decided = 1;
    if ((old_crime != 0) == (new_crime != 0))
        return; /* nothing changed (or the write failed) */
    an_marks.due = 1; /* the reference data a snapshot on disk was checked against moved */
    if (an_live.cube == NULL || an_load_in_progress()) {
        /* A load is under way or the cubes are not current: they are about
           to be read afresh, with the new flag, from the database. */
        if (!an_load_in_progress() && db_is_up(app.writer))
            an_reload(app.writer, "an offense's crime flag changed");
        else if (an_load_in_progress())
            rc->broken = 1; /* the loading cube counted the old flag: reload after */
        return;
    }
    rc->delta = new_crime ? +1 : -1;
    /* A grid being rebuilt for the agency copies what it read under the old
       flag: start it again once this is done (rb_next picks it up). */
    an_grid_restart(agency_id);
}
