/*
 * analytics.c -- see analytics.h.
 */
#include "analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "app.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "strmap.h"

static cube *live;         /* answering, when ready */
static cube *loading;      /* being filled */
static sp_store *sp_live, *sp_loading; /* the hotspot grid counts, alongside */
static int ready;
static uint64_t load_started_ns;
static size_t load_rows;
static struct event *finish_ev;
static strmap *zones;
static int categories_declared; /* in `loading` */

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

void analytics_offense_changed(int agency_id, int offense_id, const char *category)
{
    int cat = analytics_category_id(category);
    /* A cube being loaded already declared its categories: tell it too, or
       the change would be lost when it replaces the live one. */
    if (loading && categories_declared && cube_set_category(loading, agency_id, offense_id, cat))
        log_error("cube", "out of memory moving offense %d while loading", offense_id);
    if (live && cube_set_category(live, agency_id, offense_id, cat) != 0) {
        log_error("cube", "out of memory moving offense %d to category %s; reloading", offense_id,
                  category);
        ready = 0;
        if (loading == NULL && db_is_up(app.writer))
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
        char path[128];
        snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
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

void analytics_precinct_changed(int agency_id)
{
    const grid *g = sp_live ? sp_grid(sp_live, agency_id) : NULL;
    double lat0, lon0;
    if (g == NULL || agency_origin(agency_id, &lat0, &lon0) != 0)
        return;
    if (lat0 != g->lat0 || lon0 != g->lon0) {
        log_info("cube", "agency %d: grid origin moves to %.0f, %.0f; reloading", agency_id, lat0,
                 lon0);
        ready = 0;
        if (loading == NULL && db_is_up(app.writer))
            analytics_reload(app.writer);
    }
}

const sp_store *analytics_spatial(void)
{
    return sp_live;
}

/* ------------------------------------------------------------ loading */

static void on_row(void *arg, char *row, int len)
{
    /* agency \t precinct \t offense \t priority \t counted_at \t updated_ms \t lon \t lat */
    long long v[6];
    char *p = row, *end;
    row[len] = '\0';
    for (int i = 0; i < 6; i++) {
        v[i] = strtoll(p, &end, 10);
        if (end == p) {
            log_error("cube", "unreadable row while loading: %.80s", row);
            return;
        }
        p = end + 1;
    }
    /* Reference data was queued before the COPY on the same connection,
       so it is in by the first row: declare the categories before any
       incident lands in the cube. */
    if (loading && !categories_declared) {
        declare_categories(loading);
        categories_declared = 1;
    }
    cube_key k = {(int32_t)v[0], (int32_t)v[1], (int32_t)v[2], (int32_t)v[3]};
    if (loading && cube_load(loading, &k, v[4], v[5]) != 0)
        log_error("cube", "out of memory while loading");
    if (p[0] != '\\' && sp_loading) { /* located: "\N" is a NULL location */
        double lon = strtod(p, &end);
        double lat = strtod(end + 1, NULL);
        int32_t ag = (int32_t)v[0];
        if (ensure_grid(sp_loading, ag, lon, lat) == NULL ||
            sp_load(sp_loading, ag, k.precinct, k.offense, local_day(ag, v[4]), lon, lat) != 0)
            log_error("cube", "out of memory while loading the grid");
    }
    load_rows++;
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
        cube_free(loading);
        loading = NULL;
        sp_free(sp_loading);
        sp_loading = NULL;
        return;
    }
    cube_free(live);
    live = loading;
    loading = NULL;
    sp_free(sp_live);
    sp_live = sp_loading;
    sp_loading = NULL;
    ready = 1;
    ingest_resume(app.ingest);
    log_info("cube", "loaded %llu incidents in %zu cells of %zu series (%.1f MiB) in %.0f ms",
             (unsigned long long)cube_total(live), cube_cells(live), cube_series(live),
             (double)cube_bytes(live) / 1048576.0,
             (double)(http_now_ns() - load_started_ns) / 1e6);
}

static void on_loaded(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("cube", "loading failed: %s", error);
        cube_free(loading);
        loading = NULL;
        sp_free(sp_loading);
        sp_loading = NULL;
        return; /* the next (re)connect loads again */
    }
    if (!categories_declared) {
        declare_categories(loading);
        categories_declared = 1;
    }
    if (finish_ev == NULL)
        finish_ev = event_new(app.base, -1, 0, on_finish_step, NULL);
    event_active(finish_ev, 0, 0);
}

void analytics_reload(db_conn *db)
{
    ready = 0;
    if (finish_ev)
        event_del(finish_ev); /* a finish of the load being replaced must not run */
    cube_free(loading);
    loading = cube_new();
    sp_free(sp_loading);
    sp_loading = sp_new();
    categories_declared = 0;
    load_rows = 0;
    load_started_ns = http_now_ns();
    if (loading == NULL || sp_loading == NULL ||
        db_copy_out(db, ANALYTICS_LOAD_SQL,
                    on_row, on_loaded, NULL) != 0) {
        log_error("cube", "cannot start loading");
        cube_free(loading);
        loading = NULL;
        sp_free(sp_loading);
        sp_loading = NULL;
    }
}

/* ------------------------------------------------------------ live */

static void move(const stored *s, int delta, int64_t commit_ms)
{
    cube_key k = {s->agency_id, s->precinct_id, s->offense_id, s->inc.priority};
    int bad = cube_add(live, &k, store_counted_at(s), delta, commit_ms) != 0;
    if (!bad && s->inc.has_location && sp_live) {
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
        ready = 0;
    }
}

void analytics_apply(const stored *old, const stored *new_row)
{
    if (live == NULL)
        return;
    int64_t commit = new_row->updated_ms;
    if (old && store_counted(old))
        move(old, -1, commit);
    if (store_counted(new_row))
        move(new_row, +1, commit);
    if (!ready && loading == NULL && db_is_up(app.writer))
        analytics_reload(app.writer);
}

int analytics_ready(void)
{
    return ready;
}

const cube *analytics_cube(void)
{
    return live;
}

void analytics_free(void)
{
    cube_free(live);
    cube_free(loading);
    live = loading = NULL;
    sp_free(sp_live);
    sp_free(sp_loading);
    sp_live = sp_loading = NULL;
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
