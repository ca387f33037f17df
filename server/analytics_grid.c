/*
 * analytics_grid.c -- the hotspot grids' origins, and one agency's grid
 * rebuilt when its origin or its time zone moves (analytics.h).
 */
#include <math.h>
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
#include "sbuf.h"
#include "zones.h"

/*
 * The agency's grid origin: the centre of its precincts' bounding boxes,
 * rounded to a whole degree (so small boundary edits do not move it).
 * Returns 0, or -1 when the agency has no precincts.
 */
static int agency_origin(int agency_id, double *lat0, double *lon0)
{
    double b[4] = {1e9, 1e9, -1e9, -1e9};
    int any = 0;
    for (int id = 1; id < ref_precinct_max(app.ref); id++) {
        const ref_precinct *p = ref_precinct_by_id(app.ref, id);
        if (p == NULL || p->agency_id != agency_id || p->boundary == NULL)
            continue;
        any = 1;
        b[0] = p->bbox[0] < b[0] ? p->bbox[0] : b[0];
        b[1] = p->bbox[1] < b[1] ? p->bbox[1] : b[1];
        b[2] = p->bbox[2] > b[2] ? p->bbox[2] : b[2];
        b[3] = p->bbox[3] > b[3] ? p->bbox[3] : b[3];
    }
    if (!any)
        return -1;
    *lon0 = round((b[0] + b[2]) / 2);
    *lat0 = round((b[1] + b[3]) / 2);
    return 0;
}

/* Make sure the agency has a grid in st; lon/lat: a fallback origin. */
const grid *an_ensure_grid(sp_store *st, int agency_id, double lon, double lat)
{
    const grid *g = sp_grid(st, agency_id);
    if (g)
        return g;
    double lat0, lon0;
    if (agency_origin(agency_id, &lat0, &lon0) != 0) {
        lat0 = round(lat);
        lon0 = round(lon);
    }
    grid ng;
    grid_init(&ng, lat0, lon0, (double)app.cfg.grid_base_m);
    if (sp_set_grid(st, agency_id, &ng) != 0)
        return NULL;
    return sp_grid(st, agency_id);
}

int64_t an_local_day(int agency_id, int64_t t)
{
    int64_t local = tz_local(zone_of_agency(agency_id), t);
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

/* ------------------------------------------------------------ one agency's grid, rebuilt */

/*
 * When an agency's grid origin moves (a precinct PUT far away), only that
 * agency's grid is rebuilt, from the database, while everything keeps
 * answering -- the agency's hotspots too, from its old grid, which live
 * updates keep exact (its cells are other rectangles, its counts the same
 * incidents). On a connection of its own ("grid"):
 *
 *   1. BEGIN ISOLATION LEVEL REPEATABLE READ; COPY the agency's located
 *      crimes into a new store with the new origin. From before the COPY
 *      on, every committed change of the agency's incidents is also logged
 *      here (id, new version, old and new place in the grid).
 *   2. When the COPY ends, a SELECT 1 on the writer: results come in
 *      order, so once it answers, every commit the COPY's snapshot saw has
 *      been logged (the mark); later entries were committed after it.
 *   3. In the same transaction (the same snapshot): the version of each
 *      incident logged before the mark. A logged change is in the COPY
 *      when the snapshot holds that version or a later one (every
 *      committed change adds one to the version).
 *   4. Index the new store in slices, apply the logged changes the COPY
 *      does not hold (all of them past the mark), swap the agency's grid
 *      in (sp_move_agency), in one loop callback: no commit falls between.
 *
 * Writes and reads of every agency go on throughout. A full reload
 * (analytics_reload) cancels a rebuild; after every load the origins are
 * checked again. If the origin moved again meanwhile, the result is thrown
 * away and the rebuild starts over; a failure (the connection) retries
 * after retry_after seconds. A change that does not fit the new store
 * (it never should) falls back to a full reload.
 */

struct rb_place {
    int32_t precinct, offense;
    int64_t day;
    double lon, lat;
};

struct rb_change {
    int64_t id;
    int version;
    unsigned char has_old, has_new;
    struct rb_place old, now;
};

struct rb_version {
    int64_t id;
    int version;
};

static struct {
    int active;    /* a rebuild is under way */
    int agency;
    int zone;      /* started after the agency's zone changed: it clears zone_stale */
    double lat0, lon0; /* its new origin */
    uint64_t gen;  /* bumped by every start and cancel: stale callbacks see it */
    sp_store *st;  /* the new grid, filling */
    int in_txn;    /* the grid connection's transaction is open */
    size_t rows;
    size_t mark;   /* log[0..mark) may be in the COPY */
    struct rb_change *log;
    size_t nlog, caplog;
    struct rb_version *versions; /* sorted by id */
    size_t nversions;
    uint64_t started_ns;
} rb;

static db_conn *grid_db;       /* the rebuilds' connection */
static uint8_t *rb_wanted;     /* by agency id: the origin moved, rebuild */
static uint8_t *zone_stale;    /* by agency id: its zone changed, its grid's days are the old
                                  zone's until a rebuild started since swaps in (sized as rb_wanted) */
static int rb_nwanted;
static struct event *rb_step_ev, *rb_retry_ev;
static int rb_closing;         /* analytics_free: start nothing */

static void rb_next(void);

/* The end of a statement whose result nothing needs (ROLLBACK, COMMIT). */
static void on_rb_ignored(void *arg, PGresult *res, const char *error)
{
    if (error)
        log_debug("cube", "grid connection: %s", error);
}

static void rb_want(int agency)
{
    if (agency <= 0)
        return;
    if (agency >= rb_nwanted) {
        int n = rb_nwanted ? rb_nwanted : 16;
        while (n <= agency)
            n *= 2;
        uint8_t *w = realloc(rb_wanted, (size_t)n);
        if (w == NULL)
            return;
        memset(w + rb_nwanted, 0, (size_t)(n - rb_nwanted));
        rb_wanted = w;
        uint8_t *z = realloc(zone_stale, (size_t)n);
        if (z == NULL)
            return; /* rb_wanted grew: harmless */
        memset(z + rb_nwanted, 0, (size_t)(n - rb_nwanted));
        zone_stale = z;
        rb_nwanted = n;
    }
    rb_wanted[agency] = 1;
}

/* Let go of the rebuild under way (its late callbacks find a new gen). */
static void rb_stop(void)
{
    if (rb.in_txn && grid_db && db_is_up(grid_db))
        db_query(grid_db, "ROLLBACK", 0, NULL, on_rb_ignored, NULL);
    rb.in_txn = 0;
    sp_free(rb.st);
    free(rb.log);
    free(rb.versions);
    uint64_t gen = rb.gen + 1;
    memset(&rb, 0, sizeof rb);
    rb.gen = gen;
}

static void on_rb_retry(evutil_socket_t fd, short what, void *arg)
{
    rb_next();
}

/* The rebuild of rb.agency failed: try again later. */
static void rb_fail(const char *why)
{
    log_warn("cube", "agency %d: rebuilding the hotspot grid failed (%s); retrying in %ld s",
             rb.agency, why, app.cfg.retry_after);
    rb_want(rb.agency);
    rb_stop();
    if (rb_retry_ev == NULL)
        rb_retry_ev = evtimer_new(app.base, on_rb_retry, NULL);
    struct timeval tv = {app.cfg.retry_after, 0};
    if (rb_retry_ev)
        evtimer_add(rb_retry_ev, &tv);
}

/* Log a committed change of the agency being rebuilt (see above). */
static void rb_log(const stored *old, const stored *new_row)
{
    if (rb.nlog == rb.caplog) {
        size_t ncap = rb.caplog ? rb.caplog * 2 : 256;
        struct rb_change *nl = realloc(rb.log, ncap * sizeof *nl);
        if (nl == NULL) {
            log_error("cube", "out of memory logging changes for a grid rebuild; reloading");
            rb_stop();
            an_invalidate("out of memory logging changes for a grid rebuild");
            return;
        }
        rb.log = nl;
        rb.caplog = ncap;
    }
    struct rb_change *c = &rb.log[rb.nlog++];
    memset(c, 0, sizeof *c);
    c->id = new_row->id;
    c->version = new_row->version;
    const stored *side[2] = {old, new_row};
    for (int i = 0; i < 2; i++) {
        const stored *x = side[i];
        if (x == NULL || !store_counted(x) || !x->inc.has_location)
            continue;
        struct rb_place *pl = i ? &c->now : &c->old;
        pl->precinct = x->precinct_id;
        pl->offense = x->offense_id;
        pl->day = an_local_day(x->agency_id, store_counted_at(x));
        pl->lon = x->inc.lon;
        pl->lat = x->inc.lat;
        if (i)
            c->has_new = 1;
        else
            c->has_old = 1;
    }
}

static void on_rb_row(void *arg, char *row, int len)
{
    /* as on_row: agency, precinct, offense, priority, counted_at, updated_ms, lon, lat */
    if ((uint64_t)(uintptr_t)arg != rb.gen || rb.st == NULL)
        return;
    pgbin b;
    int32_t v[4];
    int64_t t, commit;
    double lon, lat;
    if (pgbin_begin(&b, row, (size_t)len) != 8 || pgbin_int4(&b, &v[0]) != 1 ||
        pgbin_int4(&b, &v[1]) != 1 || pgbin_int4(&b, &v[2]) != 1 || pgbin_int4(&b, &v[3]) != 1 ||
        pgbin_timestamptz(&b, &t) != 1 || pgbin_int8(&b, &commit) != 1 ||
        pgbin_float8(&b, &lon) != 1 || pgbin_float8(&b, &lat) != 1 || v[0] != rb.agency) {
        log_error("cube", "unreadable row while rebuilding a grid (%d bytes)", len);
        return;
    }
    if (sp_load(rb.st, v[0], v[1], v[2], an_local_day(v[0], t), lon, lat) != 0)
        log_error("cube", "out of memory while rebuilding a grid");
    rb.rows++;
}

static int version_cmp(const void *a, const void *b)
{
    const struct rb_version *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The version the COPY's snapshot holds of incident id (0: none). */
static int snapshot_version(int64_t id)
{
    struct rb_version key = {id, 0};
    const struct rb_version *f =
        rb.nversions ? bsearch(&key, rb.versions, rb.nversions, sizeof key, version_cmp) : NULL;
    return f ? f->version : 0;
}

static int rb_move(const struct rb_place *pl, int delta)
{
    return sp_add(rb.st, rb.agency, pl->precinct, pl->offense, pl->day, pl->lon, pl->lat, delta);
}

/* Index in slices; then catch up with the log and swap the grid in. */
static void on_rb_step(evutil_socket_t fd, short what, void *arg)
{
    if (!rb.active || rb.st == NULL)
        return;
    int rc = sp_load_finish(rb.st, 200000);
    if (rc == 0) {
        event_active(rb_step_ev, 0, 0);
        return;
    }
    if (rc < 0) {
        rb_fail("out of memory while indexing");
        return;
    }
    double lat0, lon0;
    if (agency_origin(rb.agency, &lat0, &lon0) != 0 || lat0 != rb.lat0 || lon0 != rb.lon0) {
        /* Moved again meanwhile: start over from what it is now. */
        rb_want(rb.agency);
        rb_stop();
        rb_next();
        return;
    }
    size_t applied = 0, held = 0;
    for (size_t i = 0; i < rb.nlog; i++) {
        const struct rb_change *c = &rb.log[i];
        if (i < rb.mark && snapshot_version(c->id) >= c->version) {
            held++;
            continue; /* the COPY holds it */
        }
        if ((c->has_old && rb_move(&c->old, -1) != 0) ||
            (c->has_new && rb_move(&c->now, +1) != 0)) {
            log_error("cube", "agency %d: a change to incident %lld does not fit the rebuilt "
                      "grid; reloading", rb.agency, (long long)c->id);
            rb_stop();
            an_invalidate("a change does not fit a rebuilt grid");
            if (!an_load_in_progress() && db_is_up(app.writer))
                an_reload(app.writer, "a rebuilt grid disagrees with the changes");
            return;
        }
        applied++;
    }
    if (sp_move_agency(an_live.sp, rb.st, rb.agency) != 0) {
        rb_fail("out of memory swapping the grid in");
        return;
    }
    if (rb.zone && rb.agency < rb_nwanted)
        zone_stale[rb.agency] = 0; /* its days are the zone's now: hotspots answer again */
    log_info("cube", "agency %d: hotspot grid rebuilt about its new origin %.0f, %.0f from %zu "
             "incidents in %.0f ms (of %zu changes committed meanwhile %zu were in the copy, "
             "%zu applied after it); nothing waited for it",
             rb.agency, rb.lat0, rb.lon0, rb.rows,
             (double)(clock_now_ns() - rb.started_ns) / 1e6, rb.nlog, held, applied);

    rb_stop();
    an_snapshot_soon(); /* a snapshot on disk has the old origin (a start would rebuild it) */
    rb_next();
}

static void on_rb_versions(void *arg, PGresult *res, const char *error)
{
    if ((uint64_t)(uintptr_t)arg != rb.gen || !rb.active)
        return;
    if (error || PQresultStatus(res) != PGRES_TUPLES_OK) {
        rb_fail(error ? error : "unexpected result");
        return;
    }
    int n = PQntuples(res);
    rb.versions = malloc((size_t)(n ? n : 1) * sizeof *rb.versions);
    if (rb.versions == NULL) {
        rb_fail("out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        rb.versions[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        rb.versions[i].version = atoi(PQgetvalue(res, i, 1));
    }
    rb.nversions = (size_t)n;
    qsort(rb.versions, rb.nversions, sizeof *rb.versions, version_cmp);
    if (rb_step_ev == NULL && (rb_step_ev = event_new(app.base, -1, 0, on_rb_step, NULL)) == NULL) {
        rb_fail("out of memory");
        return;
    }
    event_active(rb_step_ev, 0, 0);
}

/* The writer answered the SELECT 1 queued after the COPY: the mark. */
static void on_rb_synced(void *arg, PGresult *res, const char *error)
{
    if ((uint64_t)(uintptr_t)arg != rb.gen || !rb.active)
        return;
    if (error) {
        rb_fail(error);
        return;
    }
    rb.mark = rb.nlog;
    /* The versions the snapshot holds of what was logged up to the mark. */
    sbuf ids;
    sbuf_init(&ids);
    sbuf_putc(&ids, '{');
    for (size_t i = 0; i < rb.mark; i++) {
        if (i)
            sbuf_putc(&ids, ',');
        sbuf_int(&ids, rb.log[i].id);
    }
    sbuf_putc(&ids, '}');
    const char *params[1] = {sbuf_str(&ids)};
    void *g = (void *)(uintptr_t)rb.gen;
    int rc = sbuf_failed(&ids) ||
             db_query(grid_db, "SELECT id, version FROM incidents WHERE id = ANY($1::bigint[])",
                      1, params, on_rb_versions, g) != 0;
    sbuf_free(&ids);
    if (rc) {
        rb_fail("the grid connection is down");
        return;
    }
    db_query(grid_db, "COMMIT", 0, NULL, on_rb_ignored, NULL);
    rb.in_txn = 0;
}

static void on_rb_copied(void *arg, PGresult *res, const char *error)
{
    if ((uint64_t)(uintptr_t)arg != rb.gen || !rb.active)
        return;
    if (error) {
        rb.in_txn = 0; /* a failed statement: the ROLLBACK of rb_stop ends it */
        db_query(grid_db, "ROLLBACK", 0, NULL, on_rb_ignored, NULL);
        rb_fail(error);
        return;
    }
    /* After every commit the snapshot may have seen (see above). */
    if (!db_is_up(app.writer) ||
        db_query(app.writer, "SELECT 1", 0, NULL, on_rb_synced, arg) != 0)
        rb_fail("the writer is down");
}

static void on_rb_begun(void *arg, PGresult *res, const char *error)
{
    if ((uint64_t)(uintptr_t)arg == rb.gen && rb.active && error)
        rb_fail(error);
}

static void on_grid_up(void *arg, db_conn *db)
{
    rb_next();
}

/* Start the next rebuild wanted, when none is under way and the counts are loaded. */
static void rb_next(void)
{
    if (rb.active || rb_closing || !load_counts_answer(an_load.state) || an_live.sp == NULL ||
        an_load_in_progress())
        return;
    if (grid_db == NULL) {
        grid_db = db_new(app.base, app.cfg.database, "grid", app.cfg.db_timeout, on_grid_up,
                         NULL);
        return; /* on_grid_up comes back here */
    }
    if (!db_is_up(grid_db))
        return; /* it reconnects by itself: on_grid_up */
    for (int a = 1; a < rb_nwanted; a++) {
        if (!rb_wanted[a])
            continue;
        rb_wanted[a] = 0;
        const grid *g = sp_grid(an_live.sp, a);
        double lat0, lon0;
        int stale = zone_stale[a];
        if (g && stale && agency_origin(a, &lat0, &lon0) != 0) {
            lat0 = g->lat0; /* no precincts: the grid stays where it is, its days move */
            lon0 = g->lon0;
        } else if (g == NULL || agency_origin(a, &lat0, &lon0) != 0 ||
                   (lat0 == g->lat0 && lon0 == g->lon0 && !stale)) {
            if (g == NULL)
                zone_stale[a] = 0; /* no grid yet: it will be made in the new zone */
            continue; /* nothing to move (a grid is made where the first incident lands) */
        }
        rb.zone = stale;
        rb.active = 1;
        rb.agency = a;
        rb.lat0 = lat0;
        rb.lon0 = lon0;
        rb.gen++;
        rb.started_ns = clock_now_ns();
        grid ng;
        grid_init(&ng, lat0, lon0, (double)app.cfg.grid_base_m);
        if ((rb.st = sp_new()) == NULL || sp_set_grid(rb.st, a, &ng) != 0) {
            rb_fail("out of memory");
            return;
        }
        if (stale)
            log_info("cube", "agency %d: its time zone changed; rebuilding its hotspot grid "
                     "(its hotspots answer 503 until then, everything else keeps answering)", a);
        else
            log_info("cube", "agency %d: grid origin moves to %.0f, %.0f; rebuilding its hotspot "
                     "grid (everything keeps answering)", a, lat0, lon0);
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "COPY (SELECT " ANALYTICS_LOAD_COLS " FROM incidents WHERE agency_id = %d"
                 " AND geom IS NOT NULL AND " ANALYTICS_LOAD_WHERE ") TO STDOUT (FORMAT binary)",
                 a);
        void *gen = (void *)(uintptr_t)rb.gen;
        rb.in_txn = 1;
        if (db_query(grid_db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                     on_rb_begun, gen) != 0 ||
            db_copy_out(grid_db, sql, on_rb_row, on_rb_copied, gen) != 0) {
            rb.in_txn = 0;
            rb_fail("the grid connection is down");
        }
        return;
    }
}

/* After a load, or a precinct change: rebuild each grid whose origin moved. */
void an_grid_check_all(void)
{
    if (an_live.sp == NULL)
        return;
    for (int a = 1; a < ref_agency_max(app.ref); a++) {
        const grid *g = sp_grid(an_live.sp, a);
        double lat0, lon0;
        if (g && agency_origin(a, &lat0, &lon0) == 0 && (lat0 != g->lat0 || lon0 != g->lon0))
            rb_want(a);
    }
    rb_next();
}

void analytics_precinct_changed(int agency_id)
{
    rb_want(agency_id);
    rb_next(); /* while a load or another rebuild goes on: when it ends */
}

int analytics_grid_stale(int agency_id)
{
    return agency_id > 0 && agency_id < rb_nwanted && zone_stale[agency_id];
}

void analytics_zone_changed(int agency_id)
{
    rb_want(agency_id);
    if (agency_id <= 0 || agency_id >= rb_nwanted)
        return; /* out of memory: the grid stays as it was (a restart rebuilds it) */
    zone_stale[agency_id] = 1;
    an_marks.due = 1;
    if (rb.active && rb.agency == agency_id)
        rb_stop(); /* it counts in the old zone's days: start again */
    rb_next();
}

const sp_store *analytics_spatial(void)
{
    return an_live.sp;
}

sp_view *analytics_grid_view(int32_t agency, int64_t day_from, int64_t day_to)
{
    if (an_live.sp)
        return sp_view_new(an_live.sp, agency, day_from, day_to);
    sp_store *none = sp_new(); /* not loaded: an empty view */
    sp_view *v = none ? sp_view_new(none, agency, day_from, day_to) : NULL;
    sp_free(none);
    return v;
}

void an_grid_log(const stored *old, const stored *new_row)
{
    if (rb.active && new_row->agency_id == rb.agency)
        rb_log(old, new_row); /* its grid is being rebuilt: catch up at the swap */
}

void an_grid_cancel(void)
{
    rb_stop();
}

void an_grid_restart(int agency_id)
{
    if (rb.active && rb.agency == agency_id) {
        rb_stop();
        rb_want(agency_id);
        rb_next();
    }
}

int an_grid_any_stale(void)
{
    for (int a = 1; a < rb_nwanted; a++)
        if (zone_stale[a])
            return 1;
    return 0;
}

void an_grid_free(void)
{
    rb_closing = 1;
    rb_stop(); /* first: the callbacks db_free runs then find it stopped */
    db_free(grid_db);
    grid_db = NULL;
    if (rb_step_ev)
        event_free(rb_step_ev);
    if (rb_retry_ev)
        event_free(rb_retry_ev);
    rb_step_ev = rb_retry_ev = NULL;
    free(rb_wanted);
    free(zone_stale);
    zone_stale = NULL;
    rb_wanted = NULL;
    rb_nwanted = 0;
}
