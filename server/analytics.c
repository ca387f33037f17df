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
#include "pgbin.h"
#include "strmap.h"

static cube *live;         /* answering, when ready */
static cube *loading;      /* being filled */
static sp_store *sp_live, *sp_loading; /* the hotspot grid counts, alongside */
static rt_cube *rt_live, *rt_loading;  /* response times, alongside */
static strmap *board_live, *board_loading; /* "agency\x1fcallsign" -> struct unit_live */
static int cube_finished, rt_finished;     /* the two halves of a load */
static int ready;        /* everything loaded and current: writes may go */
static int counts_ready; /* the count cube and grid are: reads of them may go */
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
        invalidate();
        if (!load_in_progress() && db_is_up(app.writer))
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
    /* agency, precinct, offense, priority, counted_at, updated_ms, lon, lat */
    pgbin b;
    int32_t v[4];
    int64_t t, commit;
    double lon = 0, lat = 0;
    int located = 0;
    if (pgbin_begin(&b, row, (size_t)len) != 8 || pgbin_int4(&b, &v[0]) != 1 ||
        pgbin_int4(&b, &v[1]) != 1 || pgbin_int4(&b, &v[2]) != 1 || pgbin_int4(&b, &v[3]) != 1 ||
        pgbin_timestamptz(&b, &t) != 1 || pgbin_int8(&b, &commit) != 1 ||
        (located = pgbin_float8(&b, &lon)) < 0 || pgbin_float8(&b, &lat) != located) {
        log_error("cube", "unreadable row while loading (%d bytes)", len);
        return;
    }
    /* Reference data was queued before the COPY on the same connection,
       so it is in by the first row: declare the categories before any
       incident lands in the cube. */
    if (loading && !categories_declared) {
        declare_categories(loading);
        categories_declared = 1;
    }
    cube_key k = {v[0], v[1], v[2], v[3]};
    if (loading && cube_load(loading, &k, t, commit) != 0)
        log_error("cube", "out of memory while loading");
    if (located && sp_loading) {
        int32_t ag = v[0];
        if (ensure_grid(sp_loading, ag, lon, lat) == NULL ||
            sp_load(sp_loading, ag, k.precinct, k.offense, local_day(ag, t), lon, lat) != 0)
            log_error("cube", "out of memory while loading the grid");
    }
    load_rows++;
}

static void maybe_complete(void);
static void discard_loading(void);

/* ------------------------------------------------------------ response times */

/* An incident's response-time fact; 0 when it has none (no received_at). */
static int fact_of(int agency, int precinct, int priority, const int64_t *times, unsigned set,
                   char *const *units, size_t nunits, rt_fact *f)
{
    if (!(set & (1u << INC_T_RECEIVED)))
        return 0;
    memset(f, 0, sizeof *f);
    f->agency = agency;
    f->precinct = precinct;
    f->priority = priority;
    f->received = times[INC_T_RECEIVED];
    f->mask = rt_intervals(times, set, f->v);
    f->units = units;
    f->nunits = nunits;
    return 1;
}

/* A unit's open incidents, for the unit board. */
struct unit_live {
    int n, cap;
    struct {
        int64_t id;
        int status;
    } *inc;
};

static int board_active(int status)
{
    return status == INC_OPEN || status == INC_DISPATCHED || status == INC_EN_ROUTE ||
           status == INC_ON_SCENE;
}

static void board_key(char *buf, size_t size, int agency, const char *callsign)
{
    snprintf(buf, size, "%d\x1f%s", agency, callsign);
}

/* Attach (delta +1) or detach (-1) incident id to/from each of its units. */
static int board_move(strmap *b, int agency, int64_t id, int status, char *const *units,
                      size_t nunits, int delta)
{
    if (b == NULL || !board_active(status))
        return 0;
    for (size_t i = 0; i < nunits; i++) {
        char key[96];
        board_key(key, sizeof key, agency, units[i]);
        struct unit_live *u = strmap_get(b, key);
        if (delta < 0) {
            int k = 0;
            while (u && k < u->n && u->inc[k].id != id)
                k++;
            if (u == NULL || k == u->n)
                return -1;
            u->inc[k] = u->inc[--u->n];
            continue;
        }
        if (u == NULL) {
            if ((u = calloc(1, sizeof *u)) == NULL || strmap_put(b, key, u) != 0) {
                free(u);
                return -1;
            }
        }
        if (u->n == u->cap) {
            int ncap = u->cap ? u->cap * 2 : 2;
            void *ni = realloc(u->inc, (size_t)ncap * sizeof *u->inc);
            if (ni == NULL)
                return -1;
            u->inc = ni;
            u->cap = ncap;
        }
        u->inc[u->n].id = id;
        u->inc[u->n].status = status;
        u->n++;
    }
    return 0;
}

static void free_unit_live(const char *key, void *value, void *arg)
{
    struct unit_live *u = value;
    free(u->inc);
    free(u);
}

static void board_free(strmap *b)
{
    if (b == NULL)
        return;
    strmap_foreach(b, free_unit_live, NULL);
    strmap_free(b);
}

static void fill_activity(const struct unit_live *u, unit_activity *out)
{
    memset(out, 0, sizeof *out);
    out->status = -1;
    for (int i = 0; u && i < u->n; i++) {
        int st = u->inc[i].status == INC_OPEN ? INC_DISPATCHED : u->inc[i].status;
        if (st > out->status)
            out->status = st;
        if (out->n < UNIT_ACTIVITY_MAX)
            out->incidents[out->n++] = u->inc[i].id;
    }
    out->total = u ? u->n : 0;
}

void analytics_unit_activity(int agency, const char *callsign, unit_activity *out)
{
    char key[96];
    board_key(key, sizeof key, agency, callsign);
    fill_activity(board_live ? strmap_get(board_live, key) : NULL, out);
}

struct board_walk {
    int agency;
    void (*fn)(const char *callsign, const unit_activity *a, void *arg);
    void *arg;
};

static void walk_one(const char *key, void *value, void *arg)
{
    struct board_walk *w = arg;
    const char *sep = strchr(key, '\x1f');
    const struct unit_live *u = value;
    if (sep == NULL || atoi(key) != w->agency || u->n == 0)
        return;
    unit_activity a;
    fill_activity(u, &a);
    w->fn(sep + 1, &a, w->arg);
}

void analytics_units_foreach(int agency,
                             void (*fn)(const char *callsign, const unit_activity *a, void *arg),
                             void *arg)
{
    struct board_walk w = {agency, fn, arg};
    if (board_live)
        strmap_foreach(board_live, walk_one, &w);
}

static void on_rt_row(void *arg, char *row, int len)
{
    /* id, agency, precinct, priority, status, received .. cleared, units (JSON) */
    pgbin b;
    int64_t id;
    int32_t agency, precinct, priority;
    const char *status, *json = NULL;
    size_t status_len, json_len = 0;
    int64_t times[INC_T_COUNT] = {0};
    unsigned set = 0;
    int ok = pgbin_begin(&b, row, (size_t)len) == 11 && pgbin_int8(&b, &id) == 1 &&
             pgbin_int4(&b, &agency) == 1 && pgbin_int4(&b, &precinct) == 1 &&
             pgbin_int4(&b, &priority) == 1 && pgbin_bytes(&b, &status, &status_len) == 1 &&
             status_len < 16;
    for (int t = INC_T_RECEIVED; ok && t <= INC_T_CLEARED; t++) {
        int rc = pgbin_timestamptz(&b, &times[t]);
        if (rc == 1)
            set |= 1u << t;
        ok = rc >= 0;
    }
    if (!ok || pgbin_bytes(&b, &json, &json_len) < 0) {
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
    if (fact_of(agency, precinct, priority, times, set, units, nunits, &fact) &&
        rt_load(rt_loading, &fact) != 0)
        log_error("cube", "out of memory while loading response times");
    if (board_move(board_loading, agency, id, inc_status_parse(st), units, nunits, +1) != 0)
        log_error("cube", "out of memory while loading the unit board");
    cJSON_Delete(doc);
}

static void on_rt_loaded(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("cube", "loading response times failed: %s", error);
        discard_loading();
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
                           in->units, in->nunits, &f))
        bad = rt_add(rt_live, &f, delta) != 0;
    if (board_move(board_live, s->agency_id, s->id, in->status, in->units, in->nunits, delta))
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
    board_free(board_loading);
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
    board_free(board_live);
    board_live = board_loading;
    board_loading = NULL;
    ready = 1;
    ingest_resume(app.ingest);
    log_info("cube", "loaded %llu incidents in %zu cells of %zu series (%.1f MiB), "
             "%zu response-time facts (%.1f MiB) in %.0f ms",
             (unsigned long long)cube_total(live), cube_cells(live), cube_series(live),
             (double)cube_bytes(live) / 1048576.0, rt_facts(rt_live),
             (double)rt_bytes(rt_live) / 1048576.0,
             (double)(http_now_ns() - load_started_ns) / 1e6);
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
             (double)(http_now_ns() - load_started_ns) / 1e6);
    maybe_complete();
}

static void on_loaded(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("cube", "loading failed: %s", error);
        discard_loading();
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
    invalidate();
    if (finish_ev)
        event_del(finish_ev); /* a finish of the load being replaced must not run */
    discard_loading();
    loading = cube_new();
    sp_loading = sp_new();
    rt_loading = rt_new();
    board_loading = strmap_new();
    categories_declared = 0;
    cube_finished = rt_finished = 0;
    load_rows = 0;
    load_started_ns = http_now_ns();
    /* Both on the writer, one after the other, before any write. */
    if (loading == NULL || sp_loading == NULL || rt_loading == NULL || board_loading == NULL ||
        db_copy_out(db, ANALYTICS_LOAD_SQL, on_row, on_loaded, NULL) != 0 ||
        db_copy_out(db, ANALYTICS_RT_LOAD_SQL, on_rt_row, on_rt_loaded, NULL) != 0) {
        log_error("cube", "cannot start loading");
        discard_loading();
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
        invalidate();
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
    discard_loading();
    cube_free(live);
    live = NULL;
    sp_free(sp_live);
    sp_live = NULL;
    rt_free(rt_live);
    rt_live = NULL;
    board_free(board_live);
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
