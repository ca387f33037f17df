/*
 * analytics.c -- see analytics.h.
 */
#include "analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "pgbin.h"
#include "rfc3339.h"
#include "sbuf.h"
#include "snapshot.h"
#include "strmap.h"

static cube *live;         /* answering, when ready */
static cube *loading;      /* being filled */
static sp_store *sp_live, *sp_loading; /* the hotspot grid counts, alongside */
static rt_cube *rt_live, *rt_loading;  /* response times, alongside */
static unitboard *board_live, *board_loading; /* the unit board, alongside */
static int cube_finished, rt_finished;     /* the two halves of a load */
static int ready;        /* everything loaded and current: writes may go */
static int counts_ready; /* the count cube and grid are: reads of them may go */
static uint64_t load_started_ns;
static size_t load_rows; /* rows the load's COPYs delivered, both kinds */
static struct event *finish_ev;
static strmap *zones;
static int categories_declared; /* in `loading` */
static int replaying;           /* the load adds incidents onto a restored snapshot */
static int64_t replay_after;    /* ... those with a higher id, */
static int64_t replay_gen;      /* ... and those updated at or after this generation */
static int load_failed;         /* a replayed change did not fit the snapshot */
static int first_load_done;     /* only the process's first load reads a snapshot */
static int have_load_state;     /* cube_state was read when the load started */
static int64_t load_changes, load_inserts; /* ... and said this */
static snapshot_file snap;      /* the snapshot being considered */
static const char *loaded_from; /* the last completed load: "snapshot" or "database" */
static double load_seconds;     /* ... and how long it took */

/* The incidents table as far as the cubes know: from the load's state,
   plus the inserts applied since (what a snapshot's mark says). */
static int64_t db_max_id, db_rows;
/* Background snapshots (analytics_snapshots_start). */
static uint64_t changed_since_snap; /* changes applied since the last generation taken */
static int snap_due;                /* write one at the next chance, changes or not */
static int bump_pending;            /* a generation is being taken on the writer */
static int outside_logged;          /* "changed outside" said once per load */
static pid_t snap_child;            /* writing one; 0: none */
static snapshot_mark child_mark;    /* ... this one */
static uint64_t child_started_ns;
static struct event *snap_timer, *chld_ev;

/* Category names <-> dense ids. */
static strmap *category_ids; /* name -> id + 1 */
static char **category_names;
static int ncategories, category_cap;

int analytics_category_id(const char *name)
{
    if (category_ids == NULL && (category_ids = strmap_new()) == NULL)
        return -1;
    intptr_t v = (intptr_t)strmap_get(category_ids, name);
    if (v)
        return (int)v - 1;
    if (ncategories == category_cap) {
        int ncap = category_cap ? category_cap * 2 : 16;
        char **nn = realloc(category_names, (size_t)ncap * sizeof *nn);
        if (nn == NULL)
            return -1;
        category_names = nn;
        category_cap = ncap;
    }
    char *copy = strdup(name);
    if (copy == NULL || strmap_put(category_ids, name, (void *)(intptr_t)(ncategories + 1)) != 0) {
        free(copy);
        return -1;
    }
    category_names[ncategories] = copy;
    return ncategories++;
}

const char *analytics_category_name(int id)
{
    return id >= 0 && id < ncategories ? category_names[id] : NULL;
}

/* Declare every known offense's category to c. */
static void declare_categories(cube *c)
{
    for (int id = 1; id < ref_offense_max(app.ref); id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o && cube_set_category(c, o->agency_id, o->id, analytics_category_id(o->category)) != 0)
            log_error("cube", "out of memory declaring categories");
    }
}

/* A load is under way (its first half may already answer). */
static int load_in_progress(void)
{
    return loading != NULL || rt_loading != NULL;
}

/* The cubes disagree with the database: stop answering from them. */
static void invalidate(void)
{
    ready = 0;
    counts_ready = 0;
}

void analytics_offense_changed(int agency_id, int offense_id, const char *category)
{
    int cat = analytics_category_id(category);
    snap_due = 1; /* the reference data a snapshot on disk was checked against moved */
    /* A cube being loaded already declared its categories: tell it too, or
       the change would be lost when it replaces the live one. */
    if (loading && categories_declared && cube_set_category(loading, agency_id, offense_id, cat))
        log_error("cube", "out of memory moving offense %d while loading", offense_id);
    if (live && cube_set_category(live, agency_id, offense_id, cat) != 0) {
        log_error("cube", "out of memory moving offense %d to category %s; reloading", offense_id,
                  category);
        invalidate();
        if (!load_in_progress() && db_is_up(app.writer))
            analytics_reload(app.writer);
    }
}

/* ------------------------------------------------------------ zones */

static int zone_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > 64 || name[0] == '/' || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

/* Where the zone files are: $TZDIR as glibc reads it, else Debian's (the
   directory PostgreSQL's packages read too). */
static const char *zoneinfo_dir(void)
{
    const char *d = getenv("TZDIR");
    return d && d[0] ? d : "/usr/share/zoneinfo";
}

const tz_zone *zone_get(const char *name)
{
    if (zones == NULL && (zones = strmap_new()) == NULL)
        return NULL;
    tz_zone *z = strmap_get(zones, name);
    if (z)
        return z;
    if (!zone_name_ok(name))
        return NULL;
    if (strcmp(name, "UTC") == 0) {
        z = tz_fixed(0);
    } else {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            return NULL;
        unsigned char buf[65536];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (tz_parse(buf, len, &z) != 0) {
            log_warn("tz", "cannot parse %s", path);
            return NULL;
        }
    }
    if (z == NULL || strmap_put(zones, name, z) != 0) {
        tz_free(z);
        return NULL;
    }
    return z;
}

const tz_zone *zone_of_agency(int agency_id)
{
    const ref_agency *a = ref_agency_by_id(app.ref, agency_id);
    const tz_zone *z = a ? zone_get(a->time_zone) : NULL;
    return z ? z : zone_get("UTC");
}

static void free_zone(const char *key, void *value, void *arg)
{
    tz_free(value);
}

/* ------------------------------------------------------------ grids */

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
static const grid *ensure_grid(sp_store *st, int agency_id, double lon, double lat)
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

static int64_t local_day(int agency_id, int64_t t)
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
static void snapshot_soon(void);

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
            invalidate();
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
        pl->day = local_day(x->agency_id, store_counted_at(x));
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
    if (sp_load(rb.st, v[0], v[1], v[2], local_day(v[0], t), lon, lat) != 0)
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
            invalidate();
            if (!load_in_progress() && db_is_up(app.writer))
                analytics_reload(app.writer);
            return;
        }
        applied++;
    }
    if (sp_move_agency(sp_live, rb.st, rb.agency) != 0) {
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
    snapshot_soon(); /* a snapshot on disk has the old origin (a start would rebuild it) */
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
    if (rb.active || rb_closing || !counts_ready || sp_live == NULL || load_in_progress())
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
        const grid *g = sp_grid(sp_live, a);
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
static void rb_check_all(void)
{
    if (sp_live == NULL)
        return;
    for (int a = 1; a < ref_agency_max(app.ref); a++) {
        const grid *g = sp_grid(sp_live, a);
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
    snap_due = 1;
    if (rb.active && rb.agency == agency_id)
        rb_stop(); /* it counts in the old zone's days: start again */
    rb_next();
}

const sp_store *analytics_spatial(void)
{
    return sp_live;
}

sp_view *analytics_grid_view(int32_t agency, int64_t day_from, int64_t day_to)
{
    if (sp_live)
        return sp_view_new(sp_live, agency, day_from, day_to);
    sp_store *none = sp_new(); /* not loaded: an empty view */
    sp_view *v = none ? sp_view_new(none, agency, day_from, day_to) : NULL;
    sp_free(none);
    return v;
}

/* ------------------------------------------------------------ loading */

/* Replay: the COPY of old rows to take away passes &TAKE_AWAY, others NULL. */
static const int TAKE_AWAY = -1;

/* A replayed change does not fit the snapshot (the old row is not in it):
   finish reading, then rebuild from the database (on_rt_loaded). */
static void replay_misfit(const char *what)
{
    if (!load_failed)
        log_error("cube", "replaying onto the snapshot: %s", what);
    load_failed = 1;
}

/* One row of ANALYTICS_LOAD_COLS. 0, or -1 when unreadable. */
struct count_row {
    int32_t v[4]; /* agency, precinct, offense, priority */
    int64_t t, commit;
    double lon, lat;
    int located;
};

static int read_count_row(const char *row, int len, struct count_row *c)
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
    struct count_row c;
    if (read_count_row(row, len, &c) != 0) {
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
    if (loading && !categories_declared) {
        declare_categories(loading);
        categories_declared = 1;
    }
    cube_key k = {v[0], v[1], v[2], v[3]};
    /* Onto a restored snapshot, changes go in as live updates do. */
    if (loading && (replaying ? cube_add(loading, &k, t, delta, commit)
                              : cube_load(loading, &k, t, commit)) != 0) {
        if (replaying)
            replay_misfit("an incident's count does not fit the cube");
        else
            log_error("cube", "out of memory while loading");
    }
    if (located && sp_loading) {
        int32_t ag = v[0];
        int64_t day = local_day(ag, t);
        if (ensure_grid(sp_loading, ag, lon, lat) == NULL ||
            (replaying ? sp_add(sp_loading, ag, k.precinct, k.offense, day, lon, lat, delta)
                       : sp_load(sp_loading, ag, k.precinct, k.offense, day, lon, lat)) != 0) {
            if (replaying)
                replay_misfit("an incident's place does not fit the grid");
            else
                log_error("cube", "out of memory while loading the grid");
        }
    }
    load_rows++;
}

static void maybe_complete(void);
static void discard_loading(void);
static void remove_snapshot(void);
static void snapshot_soon(void);

/* ------------------------------------------------------------ response times */

/* An incident's response-time fact; 0 when it has none (no received_at). */
static int fact_of(int agency, int precinct, int priority, const int64_t *times, unsigned set,
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

void analytics_unit_activity(int agency, const char *callsign, const uint8_t *scope,
                             int32_t nscope, unit_activity *out)
{
    unitboard_activity(board_live, agency, callsign, scope, nscope, out);
}

void analytics_units_foreach(int agency,
                             void (*fn)(const char *callsign, const unit_activity *a, void *arg),
                             void *arg)
{
    unitboard_foreach(board_live, agency, fn, arg);
}

static void on_rt_row(void *arg, char *row, int len)
{
    /* id, agency, precinct, priority, status, received .. cleared, units (JSON) */
    int delta = arg ? *(const int *)arg : 1;
    pgbin b;
    if (rt_loading == NULL) /* the load was abandoned */
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
    if (fact_of(agency, precinct, priority, times, set, self_initiated, units, nunits, &fact) &&
        (replaying ? rt_add(rt_loading, &fact, delta) : rt_load(rt_loading, &fact)) != 0) {
        if (replaying)
            replay_misfit("an incident's response times do not fit the cube");
        else
            log_error("cube", "out of memory while loading response times");
    }
    if (unitboard_move(board_loading, agency, id, inc_status_parse(st), precinct, units, nunits,
                   delta) != 0) {
        if (replaying)
            replay_misfit("an incident's units do not fit the unit board");
        else
            log_error("cube", "out of memory while loading the unit board");
    }
    load_rows++;
    cJSON_Delete(doc);
}

static void on_rt_loaded(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("cube", "loading response times failed: %s", error);
        discard_loading();
        return;
    }
    if (load_failed) {
        /* Nothing of this load is queued any more: start over, from the
           database (only a process's first load reads the snapshot). */
        log_warn("cube", "the snapshot %s does not match the database; rebuilding from it",
                 app.cfg.snapshot_path);
        remove_snapshot();
        analytics_reload(app.writer);
        return;
    }
    if (rt_loading && rt_load_finish(rt_loading) != 0) {
        log_error("cube", "out of memory while indexing response times; not loaded");
        discard_loading();
        return;
    }
    rt_finished = 1;
    maybe_complete();
}

/* Move a committed incident's response-time fact and unit-board entries. */
static void rt_move(const stored *s, int delta)
{
    const inc_incident *in = &s->inc;
    rt_fact f;
    int bad = 0;
    if (rt_live && fact_of(s->agency_id, s->precinct_id, in->priority, in->times, in->times_set,
                           in->self_initiated, in->units, in->nunits, &f))
        bad = rt_add(rt_live, &f, delta) != 0;
    if (unitboard_move(board_live, s->agency_id, s->id, in->status, s->precinct_id, in->units,
                   in->nunits, delta))
        bad = 1;
    if (bad) {
        log_error("cube", "inconsistent response-time update for incident %lld; reloading",
                  (long long)s->id);
        invalidate();
    }
}

static void discard_loading(void)
{
    cube_free(loading);
    loading = NULL;
    sp_free(sp_loading);
    sp_loading = NULL;
    rt_free(rt_loading);
    rt_loading = NULL;
    unitboard_free(board_loading);
    board_loading = NULL;
}

/* Both COPYs are in and the cube is indexed: everything answers, writes resume. */
static void maybe_complete(void)
{
    if (!cube_finished || !rt_finished || rt_loading == NULL)
        return;
    rt_free(rt_live);
    rt_live = rt_loading;
    rt_loading = NULL;
    unitboard_free(board_live);
    board_live = board_loading;
    board_loading = NULL;
    loaded_from = replaying ? "snapshot" : "database";
    /* A snapshot on disk stays exact as writes resume (cube_dirty), but the
       sooner a new one holds this load, the less a restart replays. */
    changed_since_snap = 0;
    outside_logged = 0;
    if (!replaying || load_rows > 0)
        snapshot_soon();
    load_seconds = (double)(clock_now_ns() - load_started_ns) / 1e9;
    ready = 1;
    ingest_resume(app.ingest);
    /* A precinct moved while the grid loaded (or since the snapshot): rebuild that agency. */
    rb_check_all();
    log_info("cube", "loaded %llu incidents in %zu cells of %zu series (%.1f MiB), "
             "%zu response-time facts (%.1f MiB) in %.0f ms",
             (unsigned long long)cube_total(live), cube_cells(live), cube_series(live),
             (double)cube_bytes(live) / 1048576.0, rt_facts(rt_live),
             (double)rt_bytes(rt_live) / 1048576.0,
             (double)(clock_now_ns() - load_started_ns) / 1e6);
}

static void on_finish_step(evutil_socket_t fd, short what, void *arg)
{
    /* Index in slices of ~200k incidents so the loop keeps serving. */
    int rc = cube_load_finish(loading, 200000);
    if (rc == 1)
        rc = sp_load_finish(sp_loading, 200000);
    if (rc == 0) {
        event_active(finish_ev, 0, 0);
        return;
    }
    if (rc < 0) {
        log_error("cube", "out of memory while indexing; the cube stays unloaded");
        discard_loading();
        return;
    }
    /* The counts are in and indexed: they answer reads now, while the
       response-time facts are still streaming in behind them on the same
       connection (writes wait for those: nothing can change meanwhile). */
    cube_finished = 1;
    cube_free(live);
    live = loading;
    loading = NULL;
    sp_free(sp_live);
    sp_live = sp_loading;
    sp_loading = NULL;
    counts_ready = 1;
    log_info("cube", "counts loaded in %.0f ms: the cube, COMPSTAT and hotspots answer",
             (double)(clock_now_ns() - load_started_ns) / 1e6);
    maybe_complete();
}

static void on_loaded(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("cube", "loading failed: %s", error);
        discard_loading();
        return; /* the next (re)connect loads again */
    }
    if (load_failed)
        return; /* never answer from it: on_rt_loaded starts over */
    if (!categories_declared) {
        declare_categories(loading);
        categories_declared = 1;
    }
    if (finish_ev == NULL)
        finish_ev = event_new(app.base, -1, 0, on_finish_step, NULL);
    event_active(finish_ev, 0, 0);
}

/* ------------------------------------------------------------ snapshots */

/* Everything a snapshot depends on besides the incidents: agencies (their
   zones), precincts (ids, the grid's origin), offenses (categories). */
#define REFDATA_FINGERPRINT                                                              \
    "md5(coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM agencies t), '')"  \
    " || '#' || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM precincts t), '')" \
    " || '#' || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM offenses t), ''))"

/* $1 a high-water mark (incident id), $2 the inserts counter, $3 the row
   count and $4 the changes counter at that mark: the count is only taken
   when rows at or below the mark may have come or gone since -- a
   statement outside compstatd (compstatd's own inserts take ids past any
   mark it wrote: one writer, one identity sequence); otherwise it is $3.
   Then the rows past the mark (an index range), and the
   generation -- the current one, or (BUMP_SQL) a new one, taken in order
   with the writer's statements. */
#define SEQ_VALUE(seq) "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM " seq ")"
#define STATE_SQL_WITH(generation)                                                         \
    "SELECT c.n, i.n, s.instance::text, " REFDATA_FINGERPRINT ", m.max_id,"               \
    " CASE WHEN i.n = $2::bigint AND c.n = $4::bigint THEN $3::bigint"                     \
    "  ELSE (SELECT count(*) FROM incidents WHERE id <= $1::bigint) END,"                  \
    " (SELECT count(*) FROM incidents WHERE id > $1::bigint), " generation                 \
    " FROM cube_state s, (SELECT coalesce(max(id), 0) AS max_id FROM incidents) m,"        \
    " (SELECT " SEQ_VALUE("cube_outside_inserts") " AS n) i,"                              \
    " (SELECT " SEQ_VALUE("cube_outside_changes") " AS n) c"
#define STATE_SQL STATE_SQL_WITH(SEQ_VALUE("cube_generation"))
#define BUMP_SQL STATE_SQL_WITH("nextval('cube_generation')")

struct db_state {
    int64_t changes, inserts, max_id, rows, rows_above, generation;
    char instance[40], fingerprint[40];
};

static int read_state(const PGresult *res, struct db_state *st)
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

/* The payload: categories (their ids are the cube's), cube, grid,
   response-time cube, unit board. */
static int save_payload(snap_out *out, void *arg)
{
    snap_i32(out, ncategories);
    for (int i = 0; i < ncategories; i++)
        snap_str(out, category_names[i]);
    if (cube_save(live, out) != 0 || sp_save(sp_live, out) != 0 || rt_save(rt_live, out) != 0)
        return -1;
    unitboard_save(board_live, out);
    return out->failed ? -1 : 0;
}

/* Restore the payload into the `loading` set. 0, or -1 (nothing changed). */
static int restore_payload(const unsigned char *p, size_t n)
{
    snap_in in;
    snap_in_init(&in, p, n);
    int32_t ncat = snap_get_i32(&in);
    for (int32_t i = 0; !in.failed && i < ncat; i++) {
        char *name = snap_get_str(&in, 1024);
        /* The cube holds category ids: this process must number them alike. */
        if (name == NULL || analytics_category_id(name) != i)
            snap_fail(&in);
        free(name);
    }
    cube *c = in.failed ? NULL : cube_restore(&in);
    sp_store *sp = in.failed ? NULL : sp_restore(&in);
    rt_cube *rt = in.failed ? NULL : rt_restore(&in);
    unitboard *board = in.failed ? NULL : unitboard_restore(&in);
    if (in.failed || in.p != in.end) {
        cube_free(c);
        sp_free(sp);
        rt_free(rt);
        unitboard_free(board);
        return -1;
    }
    discard_loading();
    loading = c;
    sp_loading = sp;
    rt_loading = rt;
    board_loading = board;
    declare_categories(loading); /* a no-op unless an offense moved since */
    categories_declared = 1;
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
    int64_t m = replay_after, g = replay_gen;
    if (replaying) {
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
    if ((replaying && db_copy_out(db, take, on_row, on_replay_taken, away) != 0) ||
        db_copy_out(db, sql, on_row, on_loaded, NULL) != 0 ||
        (replaying && db_copy_out(db, rt_take, on_rt_row, on_replay_taken, away) != 0) ||
        db_copy_out(db, rt_sql, on_rt_row, on_rt_loaded, NULL) != 0) {
        log_error("cube", "cannot start loading");
        discard_loading();
    }
}

/* A stale snapshot goes: nothing could use it again. */
static void remove_snapshot(void)
{
    const char *path = app.cfg.snapshot_path;
    if (path && path[0] && unlink(path) != 0 && errno != ENOENT)
        log_warn("cube", "cannot remove the snapshot %s: %s", path, strerror(errno));
}

/* SHA-256 (hex) of the time-zone files of every agency, in id order: the
   grid counts by local day, so new zone rules make a snapshot stale. */
static void zones_digest(char out[72])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    out[0] = '\0';
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return;
    }
    for (int id = 1; id < ref_agency_max(app.ref); id++) {
        const ref_agency *a = ref_agency_by_id(app.ref, id);
        if (a == NULL)
            continue;
        char path[4200];
        unsigned char buf[65536];
        size_t len = 0;
        FILE *f = NULL;
        if (zone_name_ok(a->time_zone) &&
            (size_t)snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), a->time_zone) <
                sizeof path &&
            (f = fopen(path, "rb")) != NULL) {
            len = fread(buf, 1, sizeof buf, f);
            fclose(f);
        }
        EVP_DigestUpdate(md, a->time_zone, strlen(a->time_zone) + 1);
        EVP_DigestUpdate(md, buf, len);
    }
    if (EVP_DigestFinal_ex(md, d, &n) == 1)
        for (unsigned i = 0; i < n && i < 32; i++)
            snprintf(out + 2 * i, 3, "%02x", d[i]);
    EVP_MD_CTX_free(md);
}

/* Why the snapshot cannot be used with the database as it is; NULL: it can. */
static const char *snapshot_stale(const struct db_state *st)
{
    const snapshot_mark *m = &snap.mark;
    if (strcmp(st->instance, m->instance) != 0)
        return "it was written for another database";
    if (strcmp(st->fingerprint, m->fingerprint) != 0)
        return "agencies, precincts or offenses changed since";
    char rules[72];
    zones_digest(rules);
    if (strcmp(rules, m->zones) != 0)
        return "the time-zone rules (the agencies' zoneinfo files) changed since";
    if (st->generation < m->generation || st->max_id < m->max_id)
        return "the database is older than the snapshot (restored from a backup?)";
    if (st->changes != m->changes)
        return "incidents were updated or deleted outside compstatd since";
    if (st->rows != m->rows)
        return "incidents at or below its high-water mark were added or removed since";
    return NULL;
}

static void on_state(void *arg, PGresult *res, const char *error)
{
    db_conn *db = arg;
    struct db_state st;
    have_load_state = !error && read_state(res, &st) == 0;
    if (have_load_state) {
        load_changes = st.changes;
        load_inserts = st.inserts;
        db_max_id = st.max_id;
        db_rows = st.rows + st.rows_above;
    } else if (db_is_up(db)) {
        log_warn("cube", "cannot read cube_state (%s): snapshots are off until "
                 "`compstat-admin migrate` has run", error ? error : "unexpected result");
    } else if (snap.map) {
        /* The link failed: the next load (on reconnect) tries the snapshot
           again; the file stays until a load completes (maybe_complete). */
        snapshot_close(&snap);
        first_load_done = 0;
    }
    if (snap.map) {
        const char *path = app.cfg.snapshot_path;
        const char *why = have_load_state ? snapshot_stale(&st) : "cube_state is unreadable";
        uint64_t t0 = clock_now_ns();
        if (why == NULL && restore_payload(snap.payload, snap.payload_len) != 0)
            why = "its contents do not restore";
        if (why) {
            log_warn("cube", "snapshot %s is stale: %s; rebuilding from the database", path,
                     why);
        } else {
            replaying = 1;
            replay_after = snap.mark.max_id;
            replay_gen = snap.mark.generation;
            char written[RFC3339_BUFSZ];
            rfc3339_format_ms(snap.mark.written_ms, 0, written);
            log_info("cube", "restored the snapshot %s (written %s) in %.0f ms: %" PRId64
                     " incidents up to id %" PRId64 "; replaying %" PRId64 " newer and those "
                     "updated since generation %" PRId64 " from the database", path, written,
                     (double)(clock_now_ns() - t0) / 1e6, snap.mark.rows, snap.mark.max_id,
                     st.rows_above, snap.mark.generation);
        }
        snapshot_close(&snap);
        /* A usable snapshot stays: cube_dirty keeps it exact as writes go
           on (a crash now would restore it again). A stale one goes. */
        if (why)
            remove_snapshot();
    }
    if (loading == NULL) /* the load was replaced or abandoned meanwhile */
        return;
    start_copies(db);
}

void analytics_reload(db_conn *db)
{
    invalidate();
    rb_stop(); /* the load builds every grid about its current origin */
    if (finish_ev)
        event_del(finish_ev); /* a finish of the load being replaced must not run */
    discard_loading();
    snapshot_close(&snap);
    loading = cube_new();
    sp_loading = sp_new();
    rt_loading = rt_new();
    board_loading = unitboard_new();
    categories_declared = 0;
    cube_finished = rt_finished = 0;
    replaying = 0;
    load_failed = 0;
    load_rows = 0;
    load_started_ns = clock_now_ns();
    if (loading == NULL || sp_loading == NULL || rt_loading == NULL || board_loading == NULL) {
        log_error("cube", "cannot start loading: out of memory");
        discard_loading();
        return;
    }
    const char *path = app.cfg.snapshot_path;
    if (!first_load_done && path && path[0]) {
        char why[256];
        int rc = snapshot_open(path, &snap, why, sizeof why);
        if (rc < 0) {
            log_warn("cube", "snapshot %s is unusable: %s; rebuilding from the database", path,
                     why);
            remove_snapshot();
        } else if (rc == 0) {
            log_info("cube", "no snapshot at %s: building from the database", path);
        }
    }
    first_load_done = 1;
    char p1[24], p2[24], p3[24], p4[24];
    /* Without a snapshot the mark is past every id: the rows are counted
       (what the next snapshot's mark says; about 2 % of a rebuild). */
    snprintf(p1, sizeof p1, "%" PRId64, snap.map ? snap.mark.max_id : INT64_MAX);
    snprintf(p2, sizeof p2, "%" PRId64, snap.map ? snap.mark.inserts : -1);
    snprintf(p3, sizeof p3, "%" PRId64, snap.map ? snap.mark.rows : 0);
    snprintf(p4, sizeof p4, "%" PRId64, snap.map ? snap.mark.changes : -1);
    const char *params[4] = {p1, p2, p3, p4};
    /* The state first, then the COPYs (queued from on_state): nothing can
       write in between, writes wait for the load. */
    if (db_query(db, STATE_SQL, 4, params, on_state, db) != 0) {
        log_error("cube", "cannot start loading");
        snapshot_close(&snap);
        discard_loading();
    }
}

/* The cubes are exactly the database as st found it: nothing changed the
   incidents outside compstatd since the load, and every row is one the
   cubes were given. (With the counters unchanged, BUMP_SQL's row count is
   the one the cubes keep, db_rows: nothing to compare.) NULL, or why not. */
static const char *state_mismatch(const struct db_state *st)
{
    if (st->changes != load_changes || st->inserts != load_inserts)
        return "incidents were changed outside compstatd while it ran";
    if (st->max_id != db_max_id || st->rows_above != 0)
        return "the incidents table is not what the cubes were given";
    return NULL;
}

static void mark_of(const struct db_state *st, snapshot_mark *m)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(m, 0, sizeof *m);
    m->written_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    m->max_id = st->max_id;
    m->rows = st->rows;
    m->changes = st->changes;
    m->inserts = st->inserts;
    m->generation = st->generation;
    snprintf(m->instance, sizeof m->instance, "%s", st->instance);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", st->fingerprint);
    zones_digest(m->zones);
}

/* BUMP_SQL's parameters: the mark as the cubes know it. */
static void bump_params(char p[4][24], const char *params[4])
{
    snprintf(p[0], 24, "%" PRId64, db_max_id);
    snprintf(p[1], 24, "%" PRId64, load_inserts);
    snprintf(p[2], 24, "%" PRId64, db_rows);
    snprintf(p[3], 24, "%" PRId64, load_changes);
    for (int i = 0; i < 4; i++)
        params[i] = p[i];
}

/* Old rows of generations before the newest snapshot's: nothing reads them. */
#define DIRTY_PRUNE_SQL "DELETE FROM cube_dirty WHERE generation < $1::bigint"

/* The background writer ended (status from waitpid). 0 when it wrote. */
static int child_ended(int status)
{
    snap_child = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        log_info("cube", "snapshot %s written in the background in %.0f ms: %" PRId64
                 " incidents up to id %" PRId64 ", generation %" PRId64,
                 app.cfg.snapshot_path, (double)(clock_now_ns() - child_started_ns) / 1e6,
                 child_mark.rows, child_mark.max_id, child_mark.generation);
        return 0;
    }
    if (WIFSIGNALED(status))
        log_error("cube", "the snapshot writer died of signal %d", WTERMSIG(status));
    else
        log_error("cube", "the snapshot writer failed (exit %d)", WEXITSTATUS(status));
    snap_due = 1; /* the last one on disk (if any) is still exact: try again later */
    return -1;
}

/* An agency's grid still counts its old zone's days (analytics_zone_changed):
   a snapshot now would hold them under the new zone's fingerprint. */
static int any_grid_stale(void)
{
    for (int a = 1; a < rb_nwanted; a++)
        if (zone_stale[a])
            return 1;
    return 0;
}

void analytics_save_snapshot(void)
{
    const char *path = app.cfg.snapshot_path;
    if (path == NULL || path[0] == '\0')
        return;
    if (snap_child > 0) {
        /* Two writers would share <path>.tmp: let the background one end. */
        int status = 0;
        if (waitpid(snap_child, &status, 0) == snap_child)
            child_ended(status);
        snap_child = 0;
    }
    if (!ready || load_in_progress() || live == NULL || rt_live == NULL || !have_load_state ||
        any_grid_stale()) {
        /* Any snapshot on disk stays: cube_dirty keeps it exact (or, after a
           zone change, its fingerprint makes it stale). */
        log_warn("cube", "no snapshot written: the cubes are not loaded and current");
        return;
    }
    uint64_t t0 = clock_now_ns();
    /* A connection of its own, blocking (the loop has stopped), and not
       waiting long for a database that is gone. */
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {app.cfg.database, "5", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    char p[4][24];
    const char *params[4];
    bump_params(p, params);
    /* A new generation: every write went before it (writes have drained). */
    PGresult *res = PQstatus(pg) == CONNECTION_OK
                        ? PQexecParams(pg, BUMP_SQL, 4, NULL, params, NULL, NULL, 0)
                        : NULL;
    struct db_state st;
    const char *mismatch = NULL;
    if (read_state(res, &st) != 0)
        log_warn("cube", "no snapshot written: cannot read the database's state: %s",
                 PQerrorMessage(pg));
    else if ((mismatch = state_mismatch(&st)) != NULL)
        log_warn("cube", "no snapshot written: %s", mismatch);
    PQclear(res);
    if (res == NULL || mismatch) {
        /* The one on disk stays only while the database can still vouch
           for it; after changes outside compstatd it would be stale. */
        if (mismatch)
            remove_snapshot();
        PQfinish(pg);
        return;
    }
    snapshot_mark m;
    mark_of(&st, &m);
    char why[512];
    if (snapshot_write(path, &m, save_payload, NULL, why, sizeof why) != 0) {
        log_error("cube", "no snapshot written: %s", why);
        PQfinish(pg);
        return;
    }
    log_info("cube", "snapshot %s written in %.0f ms: %" PRId64 " incidents up to id %" PRId64
             ", generation %" PRId64, path, (double)(clock_now_ns() - t0) / 1e6, m.rows,
             m.max_id, m.generation);
    char g[24];
    snprintf(g, sizeof g, "%" PRId64, m.generation);
    const char *gp[1] = {g};
    res = PQexecParams(pg, DIRTY_PRUNE_SQL, 1, NULL, gp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        log_warn("cube", "cannot prune cube_dirty: %s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

/* ------------------------------------------------------------ background snapshots */

static void snapshot_schedule(long seconds)
{
    if (snap_timer == NULL)
        return;
    struct timeval tv = {seconds, 0};
    event_add(snap_timer, &tv);
}

/* After a load, or when reference data moved: a snapshot soon. */
static void snapshot_soon(void)
{
    snap_due = 1;
    if (app.cfg.snapshot_interval > 0)
        snapshot_schedule(0);
}

static void on_pruned(void *arg, PGresult *res, const char *error)
{
    if (error)
        log_warn("cube", "cannot prune cube_dirty: %s", error);
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid != snap_child)
            continue;
        if (child_ended(status) == 0 && db_is_up(app.writer)) {
            char g[24];
            snprintf(g, sizeof g, "%" PRId64, child_mark.generation);
            const char *params[1] = {g};
            db_query(app.writer, DIRTY_PRUNE_SQL, 1, params, on_pruned, NULL);
        }
        snapshot_schedule(app.cfg.snapshot_interval);
    }
}

static int can_snapshot(void)
{
    return ready && !load_in_progress() && live && rt_live && have_load_state && !app.draining &&
           !any_grid_stale();
}

static void on_bump(void *arg, PGresult *res, const char *error)
{
    bump_pending = 0;
    struct db_state st;
    const char *why = NULL;
    if (error || read_state(res, &st) != 0) {
        log_warn("cube", "no snapshot: cannot take a generation: %s",
                 error ? error : "unexpected result");
        snap_due = 1;
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    if (!can_snapshot()) /* a reload began meanwhile: its end asks again */
        return;
    if ((why = state_mismatch(&st)) != NULL) {
        if (!outside_logged)
            log_warn("cube", "no snapshot until the cubes reload: %s", why);
        outside_logged = 1;
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    /* Every write before the generation was taken has been applied (results
       come back in order), none after: the cubes are the database as of it. */
    snapshot_mark m;
    mark_of(&st, &m);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: only the snapshot, from its copy of the cubes; no
           event loop, no database, no exit handlers. Its signals must not
           reach the parent's loop (libevent's handlers write to a socket
           both share), and a stop signalled to the whole group lets it
           finish: the parent waits for it before its own last snapshot. */
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        char why2[512];
        int rc = snapshot_write(app.cfg.snapshot_path, &m, save_payload, NULL, why2,
                                sizeof why2);
        if (rc != 0)
            log_error("cube", "no snapshot written: %s", why2);
        _exit(rc == 0 ? 0 : 1);
    }
    if (pid < 0) {
        log_error("cube", "cannot start the snapshot writer: %s", strerror(errno));
        snap_due = 1;
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    snap_child = pid;
    child_mark = m;
    child_started_ns = clock_now_ns();
    changed_since_snap = 0;
    snap_due = 0;
}

static void on_snapshot_tick(evutil_socket_t fd, short what, void *arg)
{
    if (snap_child > 0 || bump_pending)
        return; /* the writer's end schedules the next */
    if (!can_snapshot()) {
        snapshot_schedule(app.cfg.snapshot_interval); /* a load's end asks sooner */
        return;
    }
    if (changed_since_snap == 0 && !snap_due) {
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    char p[4][24];
    const char *params[4];
    bump_params(p, params);
    /* On the writer, after the group commit in flight and before the next. */
    if (db_query(app.writer, BUMP_SQL, 4, params, on_bump, NULL) != 0) {
        snapshot_schedule(app.cfg.snapshot_interval);
        return;
    }
    bump_pending = 1;
}

void analytics_snapshots_start(void)
{
    const char *path = app.cfg.snapshot_path;
    if (path == NULL || path[0] == '\0' || app.cfg.snapshot_interval <= 0)
        return;
    snap_timer = event_new(app.base, -1, 0, on_snapshot_tick, NULL);
    chld_ev = evsignal_new(app.base, SIGCHLD, on_sigchld, NULL);
    if (snap_timer == NULL || chld_ev == NULL || event_add(chld_ev, NULL) != 0) {
        log_error("cube", "cannot schedule snapshots: out of memory");
        return;
    }
    snapshot_schedule(app.cfg.snapshot_interval);
}

/* ------------------------------------------------------------ live */

static void move(const stored *s, int delta, int64_t commit_ms)
{
    cube_key k = {s->agency_id, s->precinct_id, s->offense_id, s->inc.priority};
    int bad = cube_add(live, &k, store_counted_at(s), delta, commit_ms) != 0;
    /* An agency whose zone changed keeps its old grid untouched until the
       rebuild swaps in (which catches up on every change: rb_log). */
    if (!bad && s->inc.has_location && sp_live && !analytics_grid_stale(s->agency_id)) {
        bad = ensure_grid(sp_live, s->agency_id, s->inc.lon, s->inc.lat) == NULL ||
              sp_add(sp_live, s->agency_id, s->precinct_id, s->offense_id,
                     local_day(s->agency_id, store_counted_at(s)), s->inc.lon, s->inc.lat,
                     delta) != 0;
    }
    if (bad) {
        /* The cube and the database disagree: never answer from a wrong
           cube. Reload it from the database. */
        log_error("cube", "inconsistent update for incident %lld; reloading",
                  (long long)s->id);
        invalidate();
    }
}

void analytics_apply(const stored *old, const stored *new_row)
{
    changed_since_snap++;
    if (old == NULL) {
        db_rows++;
        if (new_row->id > db_max_id)
            db_max_id = new_row->id;
    }
    if (live == NULL)
        return;
    if (rb.active && new_row->agency_id == rb.agency)
        rb_log(old, new_row); /* its grid is being rebuilt: catch up at the swap */
    int64_t commit = new_row->updated_ms;
    if (old && store_counted(old))
        move(old, -1, commit);
    if (store_counted(new_row))
        move(new_row, +1, commit);
    if (old)
        rt_move(old, -1);
    rt_move(new_row, +1);
    if (!ready && !load_in_progress() && db_is_up(app.writer))
        analytics_reload(app.writer);
}

int analytics_ready(void)
{
    return ready;
}

const char *analytics_loaded_from(void)
{
    return loaded_from;
}

double analytics_load_seconds(void)
{
    return load_seconds;
}

int analytics_counts_ready(void)
{
    return counts_ready && live != NULL;
}

const cube *analytics_cube(void)
{
    return live;
}

const rt_cube *analytics_rt(void)
{
    return rt_live;
}

void analytics_free(void)
{
    if (snap_child > 0) {
        int status;
        waitpid(snap_child, &status, 0);
        snap_child = 0;
    }
    if (snap_timer)
        event_free(snap_timer);
    if (chld_ev)
        event_free(chld_ev);
    snap_timer = chld_ev = NULL;
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
    discard_loading();
    cube_free(live);
    live = NULL;
    sp_free(sp_live);
    sp_live = NULL;
    rt_free(rt_live);
    rt_live = NULL;
    unitboard_free(board_live);
    board_live = NULL;
    if (finish_ev)
        event_free(finish_ev);
    finish_ev = NULL;
    if (zones) {
        strmap_foreach(zones, free_zone, NULL);
        strmap_free(zones);
        zones = NULL;
    }
    for (int i = 0; i < ncategories; i++)
        free(category_names[i]);
    free(category_names);
    category_names = NULL;
    ncategories = category_cap = 0;
    strmap_free(category_ids);
    category_ids = NULL;
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
    struct count_row c;
    if (!rc->decided) {
        rc->broken = 1;
        return;
    }
    if (rc->delta == 0 || live == NULL || rc->broken)
        return;
    if (read_count_row(row, len, &c) != 0 || c.v[0] != rc->agency || c.v[2] != rc->offense) {
        rc->broken = 1;
        return;
    }
    cube_key k = {c.v[0], c.v[1], c.v[2], c.v[3]};
    int bad = cube_add(live, &k, c.t, rc->delta, c.commit) != 0;
    if (!bad && c.located && sp_live && !analytics_grid_stale(c.v[0]))
        bad = ensure_grid(sp_live, c.v[0], c.lon, c.lat) == NULL ||
              sp_add(sp_live, c.v[0], c.v[1], c.v[2], local_day(c.v[0], c.t), c.lon, c.lat,
                     rc->delta) != 0;
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
            invalidate();
            if (res != NULL && db_is_up(app.writer))
                analytics_reload(app.writer); /* replaces a load under way too */
        } else {
            log_info("cube", "offense %d %s the crime counts: %zu incidents moved", rc->offense,
                     rc->delta > 0 ? "joins" : "leaves", rc->rows);
            changed_since_snap += rc->rows;
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
    snap_due = 1; /* the reference data a snapshot on disk was checked against moved */
    if (live == NULL || load_in_progress()) {
        /* A load is under way or the cubes are not current: they are about
           to be read afresh, with the new flag, from the database. */
        if (!load_in_progress() && db_is_up(app.writer))
            analytics_reload(app.writer);
        else if (load_in_progress())
            rc->broken = 1; /* the loading cube counted the old flag: reload after */
        return;
    }
    rc->delta = new_crime ? +1 : -1;
    /* A grid being rebuilt for the agency copies what it read under the old
       flag: start it again once this is done (rb_next picks it up). */
    if (rb.active && rb.agency == agency_id) {
        rb_stop();
        rb_want(agency_id);
        rb_next();
    }
}
