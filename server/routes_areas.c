/*
 * routes_areas.c -- an agency's areas: the tree its precincts are arranged
 * in (lib/areas.h; API.md of the project, "Areas").
 *
 *   GET /v1/areas, GET /v1/areas/{code}, PUT /v1/areas/{code}
 *
 * The tree is held in memory (app.areas) like the rest of the reference
 * data: loaded whenever the writer connection opens, and changed after each
 * write commits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "areas.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "refdata.h"
#include "reqbody.h"
#include "routes.h"
#include "sbuf.h"
#include "stream.h"

/* ------------------------------------------------------------ loading */

static area_tree *loading;
static uintptr_t load_gen; /* which areas_reload the queries in flight belong to */

/* arg: the load this query belongs to; one replaced meanwhile is ignored. */
static void on_listed(void *arg, PGresult *res, const char *error)
{
    if (loading == NULL || (uintptr_t)arg != load_gen)
        return;
    if (res == NULL || error) {
        log_error("ref", "loading the areas' precincts failed: %s", error ? error : "link lost");
        areas_free(loading);
        loading = NULL;
        return; /* the next reconnect loads again */
    }
    for (int i = 0; i < PQntuples(res); i++)
        areas_set_precinct(loading, atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 1)));
    areas_free(app.areas);
    app.areas = loading;
    loading = NULL;
    log_info("ref", "loaded %d areas", areas_max(app.areas) - 1);
}

static void on_areas(void *arg, PGresult *res, const char *error)
{
    if (loading == NULL || (uintptr_t)arg != load_gen)
        return;
    if (res == NULL || error) {
        log_error("ref", "loading areas failed: %s", error ? error : "link lost");
        areas_free(loading);
        loading = NULL;
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        areas_put(loading, atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 1)),
                  PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
                  atoi(PQgetvalue(res, i, 5)));
}

void areas_reload(db_conn *db)
{
    areas_free(loading);
    loading = areas_new();
    load_gen++;
    if (loading == NULL) {
        log_error("ref", "out of memory loading areas");
        return;
    }
    db_query(db,
             "SELECT id, agency_id, code, name, level, coalesce(parent_id, 0) FROM areas"
             " ORDER BY id",
             0, NULL, on_areas, (void *)load_gen);
    db_query(db, "SELECT id, area_id FROM precincts WHERE area_id IS NOT NULL", 0, NULL,
             on_listed, (void *)load_gen);
}

void areas_free_all(void)
{
    areas_free(loading);
    loading = NULL;
}

/* ------------------------------------------------------------ reading */

static cJSON *area_json(const area_node *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", a->code);
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "level", a->level);
    const area_node *parent = areas_by_id(app.areas, a->parent_id);
    if (parent)
        cJSON_AddStringToObject(o, "parent", parent->code);
    else
        cJSON_AddNullToObject(o, "parent");
    /* Listed in it, and held by it (listed in it or in a descendant). */
    cJSON *listed = cJSON_AddArrayToObject(o, "precincts");
    cJSON *held = cJSON_AddArrayToObject(o, "all_precincts");
    int32_t n = ref_precinct_max(app.ref);
    uint8_t *mask = calloc((size_t)n, 1);
    if (mask)
        areas_cover(app.areas, a->id, mask, n);
    for (int id = 1; id < n; id++) {
        const ref_precinct *p = ref_precinct_by_id(app.ref, id);
        if (p == NULL)
            continue;
        if (areas_of_precinct(app.areas, id) == a->id)
            cJSON_AddItemToArray(listed, cJSON_CreateString(p->code));
        if (mask && mask[id])
            cJSON_AddItemToArray(held, cJSON_CreateString(p->code));
    }
    free(mask);
    return o;
}

void h_areas_get(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "areas");
    for (int id = 1; id < areas_max(app.areas); id++) {
        const area_node *a = areas_by_id(app.areas, id);
        if (a && a->agency_id == r->who.agency_id)
            cJSON_AddItemToArray(arr, area_json(a));
    }
    http_reply_json(r, 200, root);
}

/* The token's agency's area named in the path, or NULL after replying 404
   (another agency's area is not told apart from none). */
static const area_node *own_area(http_req *r, const char *code)
{
    const area_node *a = areas_by_code(app.areas, code);
    if (a && a->agency_id == r->who.agency_id)
        return a;
    http_reply_error(r, 404, "not_found", NULL, "no area %.64s in this agency", code);
    return NULL;
}

void h_area_get(http_req *r)
{
    const area_node *a = own_area(r, r->seg[2]);
    if (a)
        http_reply_json(r, 200, area_json(a));
}

/* ------------------------------------------------------------ writing */

struct area_put {
    char *code, *name, *level;
    int parent_id;
    int listed;     /* the body listed the area's precincts ... */
    int *precincts; /* ... these ids */
    int nprecincts;
};

static void area_put_free(void *arg)
{
    struct area_put *p = arg;
    free(p->code);
    free(p->name);
    free(p->level);
    free(p->precincts);
    free(p);
}

static void on_area_put(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct area_put *p = r->state;
    if (res && error && strcmp(db_constraint(res), "areas_no_cycle") == 0) {
        /* Another write made it a cycle since this one was checked. */
        http_reply_error(r, 422, "invalid_field", "parent",
                         "area %s would lie below itself", p->code);
        return;
    }
    if (req_write_failed(r, res, error, "area write"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 409, "conflict", "code", "area %s belongs to another agency", p->code);
        return;
    }
    int id = atoi(PQgetvalue(res, 0, 0));
    int created = PQgetvalue(res, 0, 1)[0] == 't';
    if (areas_put(app.areas, id, r->who.agency_id, p->code, p->name, p->level, p->parent_id) !=
        0) {
        log_error(r->id, "out of memory keeping area %s: reloading the areas", p->code);
        areas_reload(app.writer);
    } else if (p->listed) {
        /* What the statement did: the listed precincts are this area's, and
           only they. */
        for (int pid = 1; pid < ref_precinct_max(app.ref); pid++)
            if (areas_of_precinct(app.areas, pid) == id)
                areas_set_precinct(app.areas, pid, 0);
        for (int i = 0; i < p->nprecincts; i++)
            areas_set_precinct(app.areas, p->precincts[i], id);
    }
    const area_node *a = areas_by_id(app.areas, id);
    if (a == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    stream_areas_changed(r->who.agency_id);
    http_reply_json(r, created ? 201 : 200, area_json(a));
}

/* The parent named in the body: 0 and *out (0: none), or -1 after replying. */
static int read_parent(http_req *r, const char *code, const char *parent, int *out)
{
    *out = 0;
    if (parent == NULL)
        return 0;
    const area_node *pa = areas_by_code(app.areas, parent);
    if (pa == NULL || pa->agency_id != r->who.agency_id) {
        http_reply_error(r, 422, "invalid_field", "parent", "unknown area \"%.64s\"", parent);
        return -1;
    }
    const area_node *self = areas_by_code(app.areas, code);
    if (strcmp(parent, code) == 0 || (self && areas_would_cycle(app.areas, self->id, pa->id))) {
        http_reply_error(r, 422, "invalid_field", "parent",
                         "area %.64s lies below %.64s: it cannot be its parent", parent, code);
        return -1;
    }
    *out = pa->id;
    return 0;
}

/* The precincts listed in the body into p and the statement's array; 0, or -1 after replying. */
static int read_precincts(http_req *r, const cJSON *list, struct area_put *p, sbuf *arr)
{
    if (list == NULL || cJSON_IsNull(list))
        return 0;
    if (!cJSON_IsArray(list)) {
        http_reply_error(r, 422, "invalid_field", "precincts",
                         "precincts must be an array of precinct codes");
        return -1;
    }
    int n = cJSON_GetArraySize(list);
    p->listed = 1;
    p->precincts = calloc((size_t)n + 1, sizeof *p->precincts);
    if (p->precincts == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    sbuf_array_begin(arr);
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const ref_precinct *pr = cJSON_IsString(e) ? ref_precinct_by_code(app.ref, e->valuestring)
                                                   : NULL;
        if (!cJSON_IsString(e)) {
            http_reply_error(r, 422, "invalid_field", "precincts",
                             "precincts must be an array of precinct codes");
            return -1;
        }
        if (pr == NULL) {
            http_reply_error(r, 422, "invalid_field", "precincts", "unknown precinct \"%.64s\"",
                             e->valuestring);
            return -1;
        }
        if (pr->agency_id != r->who.agency_id) {
            http_reply_error(r, 422, "invalid_field", "precincts",
                             "precinct %.64s belongs to another agency", pr->code);
            return -1;
        }
        p->precincts[p->nprecincts++] = pr->id;
        sbuf_array_str(arr, pr->code);
    }
    sbuf_array_end(arr);
    if (sbuf_failed(arr)) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    return 0;
}

void h_area_put(http_req *r)
{
    const char *code = req_path_code(r, "an area code");
    if (code == NULL)
        return;
    if (req_agency_wide(r, "areas") != 0)
        return;
    const area_node *existing = areas_by_code(app.areas, code);
    if (existing && existing->agency_id != r->who.agency_id) {
        http_reply_error(r, 409, "conflict", "code", "area %s belongs to another agency", code);
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *name = req_str_member(r, doc, "name", 1, 200, &bad);
    const char *level = req_str_member(r, doc, "level", 1, 64, &bad);
    const char *parent = req_str_member(r, doc, "parent", 0, 64, &bad);
    struct area_put *p = bad ? NULL : http_state_new(r, sizeof *p, area_put_free);
    if (p == NULL) {
        cJSON_Delete(doc);
        return;
    }
    sbuf arr;
    sbuf_init(&arr);
    p->code = strdup(code);
    p->name = strdup(name);
    p->level = strdup(level);
    if (p->code == NULL || p->name == NULL || p->level == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    } else if (read_parent(r, code, parent, &p->parent_id) == 0 &&
               read_precincts(r, cJSON_GetObjectItemCaseSensitive(doc, "precincts"), p, &arr) ==
                   0) {
        char agency[16], parent_id[16];
        snprintf(agency, sizeof agency, "%d", r->who.agency_id);
        snprintf(parent_id, sizeof parent_id, "%d", p->parent_id);
        const char *params[6] = {code, agency, name, level, p->parent_id ? parent_id : NULL,
                                 p->listed ? sbuf_str(&arr) : NULL};
        /* One statement: the area, and -- when the body lists them -- its
           precincts exactly those (a precinct listed elsewhere moves here). */
        int rc = db_query(
            app.writer,
            "WITH a AS (INSERT INTO areas AS x (code, agency_id, name, level, parent_id)"
            "  VALUES ($1, $2, $3, $4, $5)"
            "  ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,"
            "   parent_id = EXCLUDED.parent_id, updated_at = now()"
            "  WHERE x.agency_id = EXCLUDED.agency_id"
            "  RETURNING x.id, (x.xmax = 0) AS created),"
            " gone AS (UPDATE precincts SET area_id = NULL"
            "  WHERE $6::text[] IS NOT NULL AND area_id = (SELECT id FROM a)"
            "   AND code <> ALL ($6::text[])),"
            " moved AS (UPDATE precincts SET area_id = (SELECT id FROM a)"
            "  WHERE code = ANY ($6::text[]) AND agency_id = $2 AND EXISTS (SELECT 1 FROM a))"
            " SELECT id, created FROM a",
            6, params, on_area_put, r);
        if (rc != 0)
            http_reply_db_down(r);
    }
    sbuf_free(&arr);
    cJSON_Delete(doc);
}
