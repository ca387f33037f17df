/*
 * routes_ref.c -- reference data: agencies, precincts, offenses, the ICCS
 * code list (API.md "Reference data", "ICCS"), and their load into memory.
 *
 * Writes go through the writer connection and change the in-memory tables
 * only after the database committed them. All three are the whole
 * agency's: a token limited to precincts reads them (its own precincts
 * only, of the precincts) and gets 403 for any write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "app.h"
#include "filters.h"
#include "geo.h"
#include "log.h"
#include "qs.h"
#include "reqbody.h"
#include "routes.h"
#include "sharing.h"
#include "sbuf.h"
#include "words.h"

/* ------------------------------------------------------------ loading */

/* The populations by year of precinct id from their JSON text ({"2022": n, ...}). */
static void populations_from_text(int id, const char *code, const char *text)
{
    cJSON *doc = cJSON_Parse(text);
    int n = cJSON_GetArraySize(doc), k = 0;
    ref_pop_year *v = n > 0 ? malloc((size_t)n * sizeof *v) : NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, doc)
    {
        if (v && e->string && cJSON_IsNumber(e))
            v[k++] = (ref_pop_year){atoi(e->string), (long long)e->valuedouble};
    }
    if (!cJSON_IsObject(doc) || (n > 0 && v == NULL) || ref_set_populations(app.ref, id, v, k) != 0)
        log_warn("ref", "precinct %s: populations by year not loaded", code);
    free(v);
    cJSON_Delete(doc);
}

/*
 * Columns: id, agency_id, code, name, population, GeoJSON for display,
 * GeoJSON with every digit (at exact_col), populations by year as JSON (at
 * pops_col). The in-memory boundary is built from the exact coordinates
 * PostGIS stored, so point-in-polygon here agrees with ST_Covers there
 * (PostGIS may read a 17-digit number from the client one unit in the last
 * place away from what cJSON reads).
 */
static int precinct_from_row(PGresult *res, int row, int exact_col, int pops_col)
{
    const char *gj = PQgetvalue(res, row, 5);
    cJSON *doc = cJSON_Parse(PQgetvalue(res, row, exact_col));
    geo_multipolygon *mp = NULL;
    char err[160];
    if (doc == NULL || geo_parse(doc, &mp, err, sizeof err) != 0) {
        log_warn("ref", "precinct %s: stored boundary unusable: %s", PQgetvalue(res, row, 2),
                 doc ? err : "not JSON");
        mp = NULL;
    }
    cJSON_Delete(doc);
    int id = atoi(PQgetvalue(res, row, 0));
    if (ref_put_precinct(app.ref, id, atoi(PQgetvalue(res, row, 1)), PQgetvalue(res, row, 2),
                         PQgetvalue(res, row, 3),
                         PQgetisnull(res, row, 4) ? -1 : atoll(PQgetvalue(res, row, 4)), mp,
                         gj) != 0)
        return -1;
    populations_from_text(id, PQgetvalue(res, row, 2), PQgetvalue(res, row, pops_col));
    return 0;
}

#define PRECINCT_COLS                                                                     \
    "id, agency_id, code, name, population, ST_AsGeoJSON(boundary), "                    \
    "ST_AsGeoJSON(boundary, 30), " POPULATIONS_OF("precincts.id")
/* The populations by year of a precinct as a JSON object, years ascending. */
#define POPULATIONS_OF(id)                                                                \
    "(SELECT coalesce(json_object_agg(year, population ORDER BY year), '{}')::text"      \
    " FROM precinct_populations WHERE precinct_id = " id ")"
#define OFFENSE_COLS "id, agency_id, code, name, category, crime, iccs"
#define ICCS_COLS "code, parent, name_en, name_es"
#define AGENCY_COLS "id, code, name, time_zone"

static void on_load(void *arg, PGresult *res, const char *error)
{
    const char *what = arg;
    if (error) {
        log_error("ref", "loading %s failed: %s", what, error);
        return; /* the next reconnect loads again */
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if (strcmp(what, "agencies") == 0)
            ref_put_agency(app.ref, atoi(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 1),
                           PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
        else if (strcmp(what, "precincts") == 0)
            precinct_from_row(res, i, 6, 7);
        else if (strcmp(what, "iccs") == 0)
            ref_put_iccs(app.ref, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                         PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
        else
            ref_put_offense(app.ref, atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 1)),
                            PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
                            PQgetvalue(res, i, 5)[0] == 't', PQgetvalue(res, i, 6));
    }
    log_info("ref", "loaded %d %s", n, what);
    if (strcmp(what, "offenses") == 0)
        app.ref_loaded = 1;
}

void refdata_reload(db_conn *db)
{
    /* Queued in order on one connection: offenses (the last) completing
       means all four are in. */
    db_query(db, "SELECT " AGENCY_COLS " FROM agencies ORDER BY id", 0, NULL, on_load,
             "agencies");
    db_query(db, "SELECT " PRECINCT_COLS " FROM precincts ORDER BY id", 0, NULL, on_load,
             "precincts");
    db_query(db, "SELECT " ICCS_COLS " FROM iccs_codes ORDER BY code COLLATE \"C\"", 0, NULL,
             on_load, "iccs");
    db_query(db, "SELECT " OFFENSE_COLS " FROM offenses ORDER BY id", 0, NULL, on_load,
             "offenses");
}

/* ------------------------------------------------------------ helpers */

static cJSON *agency_json(const ref_agency *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", a->code);
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "time_zone", a->time_zone);
    words_agency_json(a->id, o);
    return o;
}

static cJSON *offense_json(const ref_offense *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "code", o->code);
    cJSON_AddStringToObject(j, "name", o->name);
    cJSON_AddStringToObject(j, "category", o->category);
    cJSON_AddBoolToObject(j, "crime", o->crime);
    if (o->iccs)
        cJSON_AddStringToObject(j, "iccs", o->iccs);
    else
        cJSON_AddNullToObject(j, "iccs");
    return j;
}

static cJSON *precinct_json(const ref_precinct *p, int geojson)
{
    const ref_agency *a = ref_agency_by_id(app.ref, p->agency_id);
    cJSON *props = cJSON_CreateObject();
    cJSON_AddStringToObject(props, "code", p->code);
    cJSON_AddStringToObject(props, "agency", a ? a->code : "");
    cJSON_AddStringToObject(props, "name", p->name);
    if (p->population >= 0)
        cJSON_AddNumberToObject(props, "population", (double)p->population);
    else
        cJSON_AddNullToObject(props, "population");
    cJSON *pops = cJSON_AddObjectToObject(props, "populations");
    for (int i = 0; i < p->npopulations; i++) {
        char year[16];
        snprintf(year, sizeof year, "%d", p->populations[i].year);
        cJSON_AddNumberToObject(pops, year, (double)p->populations[i].population);
    }
    cJSON *bbox = cJSON_CreateDoubleArray(p->bbox, 4);
    cJSON *boundary = p->boundary_geojson ? cJSON_Parse(p->boundary_geojson) : cJSON_CreateNull();
    if (!geojson) {
        cJSON_AddItemToObject(props, "bbox", bbox);
        cJSON_AddItemToObject(props, "boundary", boundary);
        return props;
    }
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "Feature");
    cJSON_AddStringToObject(f, "id", p->code);
    cJSON_AddItemToObject(f, "bbox", bbox);
    cJSON_AddItemToObject(f, "geometry", boundary);
    cJSON_AddItemToObject(f, "properties", props);
    return f;
}

/* ------------------------------------------------------------ agencies */

void h_agency_get(http_req *r)
{
    const ref_agency *a = ref_agency_by_code(app.ref, r->seg[2]);
    /* A region reader sees the agencies that share with its region. */
    if (a && r->who.region && a->id != r->who.agency_id && sharing_enter(r, a->id) != 0)
        a = NULL;
    if (a == NULL || a->id != r->who.agency_id) {
        http_reply_error(r, 404, "not_found", NULL, "no agency %s", r->seg[2]);
        return;
    }
    http_reply_json(r, 200, agency_json(a));
}

void h_whoami(http_req *r)
{
    static const char *const roles[] = {"dispatch", "commander", "supervisor", "admin",
                                        "analyst"};
    cJSON *o = cJSON_CreateObject();
    const char *role = "unknown";
    for (int i = 0; i < 5; i++)
        if (r->who.role == 1 << i)
            role = roles[i];
    cJSON_AddStringToObject(o, "role", role);
    const ref_agency *a = ref_agency_by_id(app.ref, r->who.agency_id);
    cJSON_AddItemToObject(o, "agency", a ? agency_json(a) : cJSON_CreateNull());
    if (r->who.nprecincts < 0) {
        cJSON_AddNullToObject(o, "precincts");
    } else {
        /* What the token may see: its codes that are precincts of its
           agency (a code gone or never valid matches nothing). */
        cJSON *list = cJSON_AddArrayToObject(o, "precincts");
        for (int i = 0; i < r->who.nprecincts; i++) {
            const ref_precinct *p = ref_precinct_by_code(app.ref, r->who.precincts[i]);
            if (p && p->agency_id == r->who.agency_id)
                cJSON_AddItemToArray(list, cJSON_CreateString(p->code));
        }
    }
    if (r->who.login) { /* a person signed in */
        cJSON *u = cJSON_AddObjectToObject(o, "user");
        cJSON_AddStringToObject(u, "login", r->who.login);
        cJSON_AddStringToObject(u, "name", r->who.user_name ? r->who.user_name : "");
        /* What the page needs to sign its person out when idle as the server would. */
        cJSON_AddNumberToObject(u, "idle_timeout_s", (double)app.cfg.session_idle_timeout);
    }
    if (r->who.region) /* a region reader: its region and what it is shared */
        sharing_describe(r, o);
    if (r->who.nareas > 0) { /* a token of areas: which (its precincts are above) */
        cJSON *areas = cJSON_AddArrayToObject(o, "areas");
        for (int i = 0; i < r->who.nareas; i++)
            cJSON_AddItemToArray(areas, cJSON_CreateString(r->who.areas[i]));
    }
    http_reply_json(r, 200, o);
}

static void on_agency_put(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "agency update"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 422, "invalid_field", "time_zone",
                         "time_zone must be an IANA time zone name, e.g. America/Guatemala");
        return;
    }
    int id = atoi(PQgetvalue(res, 0, 0));
    const ref_agency *before = ref_agency_by_id(app.ref, id);
    int zone_moved = before && strcmp(before->time_zone, PQgetvalue(res, 0, 3)) != 0;
    ref_put_agency(app.ref, id, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                   PQgetvalue(res, 0, 3));
    words_set_agency(id, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
                     PQgetvalue(res, 0, 6)[0] == 't');
    if (zone_moved)
        analytics_zone_changed(id); /* the hotspot grid counts local days: rebuild it */
    http_reply_json(r, 200, agency_json(ref_agency_by_id(app.ref, id)));
}

/*
 * {"name", "time_zone"} and, each optional (absent: unchanged),
 * "language", "words" (words.h) and "mfa_required" (true: every user of
 * the agency signs in with a second factor).
 */
void h_agency_put(http_req *r)
{
    if (req_agency_wide(r, "the agency's name and time zone") != 0)
        return;
    const ref_agency *a = ref_agency_by_code(app.ref, r->seg[2]);
    /* A region reader sees the agencies that share with its region. */
    if (a && r->who.region && a->id != r->who.agency_id && sharing_enter(r, a->id) != 0)
        a = NULL;
    if (a == NULL || a->id != r->who.agency_id) {
        http_reply_error(r, 403, "forbidden", NULL,
                         "a token may only change its own agency (create agencies with "
                         "compstat-admin token create)");
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *name = req_str_member(r, doc, "name", 1, 200, &bad);
    const char *tz = req_str_member(r, doc, "time_zone", 1, 64, &bad);
    if (bad) {
        cJSON_Delete(doc);
        return;
    }
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(doc, "language");
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(doc, "words");
    const cJSON *mfa = cJSON_GetObjectItemCaseSensitive(doc, "mfa_required");
    char field[200], why[320];
    if ((lang && !cJSON_IsNull(lang) &&
         words_check_language(lang, "language", field, sizeof field, why, sizeof why)) ||
        (words && words_check_words(words, "words", field, sizeof field, why, sizeof why))) {
        http_reply_error(r, 422, "invalid_field", field, "%s", why);
        cJSON_Delete(doc);
        return;
    }
    if (mfa && !cJSON_IsBool(mfa)) {
        http_reply_error(r, 422, "invalid_field", "mfa_required", "mfa_required must be true or false");
        cJSON_Delete(doc);
        return;
    }
    char id[16];
    snprintf(id, sizeof id, "%d", a->id);
    char *wtext = words ? cJSON_PrintUnformatted(words) : NULL;
    const char *params[7] = {id, name, tz, lang && cJSON_IsString(lang) ? lang->valuestring : NULL,
                             wtext, mfa ? (cJSON_IsTrue(mfa) ? "true" : "false") : NULL,
                             lang ? "true" : "false"};
    int rc = db_query(app.writer,
                      "UPDATE agencies SET name = $2, time_zone = $3,"
                      " language = CASE WHEN $7::boolean THEN $4 ELSE language END,"
                      " words = coalesce($5::jsonb, words),"
                      " mfa_required = coalesce($6::boolean, mfa_required), updated_at = now()"
                      " WHERE id = $1 AND EXISTS (SELECT 1 FROM pg_timezone_names"
                      "  WHERE name = $3)"
                      " RETURNING " AGENCY_COLS ", language, words::text, mfa_required",
                      7, params, on_agency_put, r);
    cJSON_free(wtext);
    cJSON_Delete(doc);
    if (rc != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ precincts */

void h_precincts_get(http_req *r)
{
    static const char *const allowed[] = {"format", NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    const char *fmt = qs_get(&r->query, "format");
    int geojson = fmt && strcmp(fmt, "geojson") == 0;
    if (fmt && !geojson && strcmp(fmt, "json") != 0) {
        http_reply_error(r, 422, "invalid_field", "format", "format must be json or geojson");
        return;
    }
    cJSON *root = cJSON_CreateObject();
    if (geojson)
        cJSON_AddStringToObject(root, "type", "FeatureCollection");
    cJSON *arr = cJSON_AddArrayToObject(root, geojson ? "features" : "precincts");
    for (int id = 1; id < ref_precinct_max(app.ref); id++) {
        const ref_precinct *p = ref_precinct_by_id(app.ref, id);
        if (p && p->agency_id == r->who.agency_id && principal_allows(&r->who, p->code))
            cJSON_AddItemToArray(arr, precinct_json(p, geojson));
    }
    http_reply_json_as(r, 200, geojson ? "application/geo+json" : "application/json", root);
}

struct precinct_put {
    http_req *r;
    geo_multipolygon *mp;
};

static void precinct_put_free(void *arg)
{
    struct precinct_put *p = arg;
    geo_free(p->mp);
    free(p);
}

static void on_precinct_put(void *arg, PGresult *res, const char *error)
{
    struct precinct_put *p = arg;
    http_req *r = p->r;
    if (res && error && strcmp(db_sqlstate(res), "XX000") == 0) {
        /* PostGIS could not build the geometry. */
        http_reply_error(r, 422, "invalid_field", "boundary", "boundary is not a usable polygon");
        return;
    }
    if (req_write_failed(r, res, error, "precinct update"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 422, "invalid_field", "boundary",
                         "boundary is not a valid polygon (rings cross or overlap)");
        return;
    }
    int created = PQgetvalue(res, 0, 6)[0] == 't';
    int id = atoi(PQgetvalue(res, 0, 0));
    precinct_from_row(res, 0, 7, 8);
    analytics_precinct_changed(atoi(PQgetvalue(res, 0, 1)));
    http_reply_json(r, created ? 201 : 200, precinct_json(ref_precinct_by_id(app.ref, id), 0));
}

/*
 * "populations": {"YYYY": n, ...} of the PUT body into *out, as the JSON
 * text written to the database (malloc'd); absent: *out stays NULL (the
 * years stay as they are); null or {}: none. 0, or -1 after replying 422.
 */
static int read_populations(http_req *r, const cJSON *doc, char **out)
{
    const cJSON *pops = cJSON_GetObjectItemCaseSensitive(doc, "populations");
    if (pops == NULL)
        return 0;
    if (!cJSON_IsNull(pops) && !cJSON_IsObject(pops)) {
        http_reply_error(r, 422, "invalid_field", "populations",
                         "populations must be an object of years to populations, e.g. "
                         "{\"2022\": 352381}");
        return -1;
    }
    uint8_t seen[300] = {0};
    sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '{');
    const cJSON *e;
    int k = 0;
    cJSON_ArrayForEach(e, pops)
    {
        const char *y = e->string;
        int year = y && strlen(y) == 4 && strspn(y, "0123456789") == 4 ? atoi(y) : 0;
        const char *why = NULL;
        if (year < 1900 || year > 2199)
            why = "is not a year from 1900 to 2199";
        else if (seen[year - 1900]++)
            why = "is given twice";
        else if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e10 ||
                 e->valuedouble != (double)(long long)e->valuedouble)
            why = "must have a non-negative integer population";
        if (why) {
            sbuf_free(&b);
            http_reply_error(r, 422, "invalid_field", "populations", "populations: \"%.16s\" %s",
                             y ? y : "", why);
            return -1;
        }
        sbuf_printf(&b, "%s\"%d\":%lld", k++ ? "," : "", year, (long long)e->valuedouble);
    }
    sbuf_putc(&b, '}');
    if (sbuf_failed(&b) || (*out = strdup(sbuf_str(&b))) == NULL) {
        sbuf_free(&b);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    sbuf_free(&b);
    return 0;
}

void h_precinct_put(http_req *r)
{
    const char *code = req_path_code(r, "a precinct code");
    if (code == NULL)
        return;
    if (req_agency_wide(r, "precincts and their boundaries") != 0)
        return;
    const ref_precinct *existing = ref_precinct_by_code(app.ref, code);
    if (existing && existing->agency_id != r->who.agency_id) {
        http_reply_error(r, 409, "conflict", "code", "precinct %s belongs to another agency", code);
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *agency = req_str_member(r, doc, "agency", 0, 32, &bad);
    const char *name = req_str_member(r, doc, "name", 1, 200, &bad);
    if (bad) {
        cJSON_Delete(doc);
        return;
    }
    const ref_agency *own = ref_agency_by_id(app.ref, r->who.agency_id);
    if (agency && (own == NULL || strcmp(agency, own->code) != 0)) {
        cJSON_Delete(doc);
        http_reply_error(r, 403, "forbidden", "agency",
                         "a token may only write precincts of its own agency");
        return;
    }
    const cJSON *pop = cJSON_GetObjectItemCaseSensitive(doc, "population");
    char popbuf[32];
    const char *popv = NULL;
    if (pop && !cJSON_IsNull(pop)) {
        if (!cJSON_IsNumber(pop) || pop->valuedouble < 0 || pop->valuedouble > 1e10 ||
            pop->valuedouble != (double)(long long)pop->valuedouble) {
            cJSON_Delete(doc);
            http_reply_error(r, 422, "invalid_field", "population",
                             "population must be a non-negative integer");
            return;
        }
        snprintf(popbuf, sizeof popbuf, "%lld", (long long)pop->valuedouble);
        popv = popbuf;
    }
    char *pops = NULL; /* NULL: the populations by year stay as they are */
    if (read_populations(r, doc, &pops) != 0) {
        cJSON_Delete(doc);
        return;
    }
    const cJSON *boundary = cJSON_GetObjectItemCaseSensitive(doc, "boundary");
    if (boundary == NULL || cJSON_IsNull(boundary)) {
        free(pops);
        cJSON_Delete(doc);
        http_reply_error(r, 422, "missing_field", "boundary",
                         "boundary (a GeoJSON Polygon or MultiPolygon) is required");
        return;
    }
    struct precinct_put *p = http_state_new(r, sizeof *p, precinct_put_free);
    char err[160];
    if (p == NULL) {
        free(pops);
        cJSON_Delete(doc);
        return;
    }
    p->r = r;
    /* Validate here for a precise message; the boundary kept in memory is
       read back from PostGIS after the commit. */
    if (geo_parse(boundary, &p->mp, err, sizeof err) != 0) {
        free(pops);
        cJSON_Delete(doc);
        http_reply_error(r, 422, "invalid_field", "boundary", "boundary: %s", err);
        return;
    }
    /* Hand PostGIS only the geometry (a Feature is unwrapped). */
    const cJSON *geom = boundary;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(boundary, "type");
    if (cJSON_IsString(t) && strcmp(t->valuestring, "Feature") == 0)
        geom = cJSON_GetObjectItemCaseSensitive(boundary, "geometry");
    char *gj = cJSON_PrintUnformatted(geom);
    char agency_id[16];
    snprintf(agency_id, sizeof agency_id, "%d", r->who.agency_id);
    const char *params[6] = {code, agency_id, name, popv, gj, pops};
    /* The precinct and its populations by year in one statement: both or
       neither. The years not given go, those given are written. */
    int rc = db_query(
        app.writer,
        "WITH g AS (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)) AS geom),"
        " w AS (INSERT INTO precincts AS p (code, agency_id, name, population, boundary)"
        "  SELECT $1, $2, $3, $4, g.geom FROM g WHERE ST_IsValid(g.geom)"
        "  ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,"
        "   population = EXCLUDED.population, boundary = EXCLUDED.boundary, updated_at = now()"
        "  WHERE p.agency_id = EXCLUDED.agency_id"
        "  RETURNING p.id, p.agency_id, p.code, p.name, p.population, ST_AsGeoJSON(p.boundary),"
        "   (p.xmax = 0), ST_AsGeoJSON(p.boundary, 30)),"
        " d AS (DELETE FROM precinct_populations x USING w WHERE $6::jsonb IS NOT NULL"
        "  AND x.precinct_id = w.id AND NOT jsonb_exists($6::jsonb, x.year::text)),"
        " i AS (INSERT INTO precinct_populations (precinct_id, year, population)"
        "  SELECT w.id, e.key::integer, e.value::bigint FROM w, jsonb_each_text($6::jsonb) e"
        "  ON CONFLICT (precinct_id, year) DO UPDATE SET population = EXCLUDED.population)"
        " SELECT w.*, CASE WHEN $6::jsonb IS NULL THEN " POPULATIONS_OF("w.id")
        "  ELSE $6::jsonb::text END FROM w",
        6, params, on_precinct_put, p);
    free(pops);
    cJSON_free(gj);
    cJSON_Delete(doc);
    if (rc != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ offenses */

void h_offenses_get(http_req *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "offenses");
    for (int id = 1; id < ref_offense_max(app.ref); id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o && o->agency_id == r->who.agency_id && principal_offense_ok(&r->who, id))
            cJSON_AddItemToArray(arr, offense_json(o));
    }
    http_reply_json(r, 200, root);
}

/* A PUT whose offense's incidents are recounted (analytics_recount_queue):
   the answer waits for the recount. */
struct offense_put {
    int offense;
    int status;    /* the answer, once the write's result is in */
    cJSON *answer; /* ... its body (NULL: answer with the error below) */
    char error[160];
};

static void offense_put_free(void *arg)
{
    struct offense_put *op = arg;
    cJSON_Delete(op->answer);
    free(op);
}

static void offense_put_answer(void *arg)
{
    http_req *r = arg;
    struct offense_put *op = r->state;
    if (op->answer) {
        cJSON *a = op->answer;
        op->answer = NULL;
        http_reply_json(r, op->status, a);
    } else if (op->status == 503) {
        http_reply_db_down(r);
    } else {
        http_reply_error(r, op->status, "internal", NULL, "%s", op->error);
    }
}

static void on_offense_put(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct offense_put *op = r->state; /* NULL: no recount behind this write */
    int ok = res != NULL && error == NULL && PQntuples(res) == 1;
    if (op) {
        /* The old flag and the new (equal when the write failed). */
        int now = ok && PQgetvalue(res, 0, 6)[0] == 't';
        int was = ok && !PQgetisnull(res, 0, 7) ? PQgetvalue(res, 0, 7)[0] == 't' : now;
        if (ok)
            ref_put_offense(app.ref, op->offense, r->who.agency_id, PQgetvalue(res, 0, 2),
                            PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), now,
                            PQgetvalue(res, 0, 8));
        analytics_recount_decide(r->who.agency_id, op->offense, was, now);
        if (!ok) {
            if (error)
                log_error(r->id, "offense update failed: %s", error);
            op->status = res == NULL ? 503 : 500;
            snprintf(op->error, sizeof op->error, "offense update failed");
            return; /* answered when the recount is done */
        }
    } else if (req_write_failed(r, res, error, "offense update")) {
        return;
    }
    int id = atoi(PQgetvalue(res, 0, 0));
    int created = PQgetvalue(res, 0, 5)[0] == 't';
    int crime = PQgetvalue(res, 0, 6)[0] == 't';
    ref_put_offense(app.ref, id, atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2),
                    PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), crime, PQgetvalue(res, 0, 8));
    /* A reclassified offense moves its counts between categories. */
    analytics_offense_changed(atoi(PQgetvalue(res, 0, 1)), id, PQgetvalue(res, 0, 4));
    cJSON *answer = offense_json(ref_offense_by_id(app.ref, id));
    if (op) {
        op->status = created ? 201 : 200;
        op->answer = answer; /* sent once its incidents have moved */
        return;
    }
    http_reply_json(r, created ? 201 : 200, answer);
}

void h_offense_put(http_req *r)
{
    const char *code = r->seg[2];
    size_t cl = strlen(code);
    if (cl < 1 || cl > 64) {
        http_reply_error(r, 422, "invalid_field", "code", "an offense code is 1 to 64 bytes");
        return;
    }
    if (req_agency_wide(r, "offenses (the agency's penal code)") != 0)
        return;
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *name = req_str_member(r, doc, "name", 1, 200, &bad);
    const char *category = req_str_member(r, doc, "category", 1, 64, &bad);
    if (bad) {
        cJSON_Delete(doc);
        return;
    }
    for (const char *c = category; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
            cJSON_Delete(doc);
            http_reply_error(r, 422, "invalid_field", "category",
                             "category must be lower-case letters, digits and '_' "
                             "(e.g. robbery, felony_assault)");
            return;
        }
    }
    /* crime: false for a call type that is not a crime (traffic accident,
       complaint). Absent: true for a new offense, unchanged otherwise. */
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive(doc, "crime");
    if (cv && !cJSON_IsNull(cv) && !cJSON_IsBool(cv)) {
        cJSON_Delete(doc);
        http_reply_error(r, 422, "invalid_field", "crime", "crime must be true or false");
        return;
    }
    const char *crime = cv && cJSON_IsBool(cv) ? (cJSON_IsTrue(cv) ? "true" : "false") : NULL;
    /* iccs: a code of the list, or null to unclassify. Absent: none for a
       new offense, unchanged otherwise. */
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(doc, "iccs");
    if (iv && !cJSON_IsNull(iv) &&
        !(cJSON_IsString(iv) && ref_iccs_by_code(app.ref, iv->valuestring))) {
        if (cJSON_IsString(iv))
            http_reply_error(r, 422, "invalid_field", "iccs",
                             "unknown ICCS code \"%.16s\" (GET /v1/classifications/iccs "
                             "lists them)",
                             iv->valuestring);
        else
            http_reply_error(r, 422, "invalid_field", "iccs",
                             "iccs must be an ICCS code (a string) or null");
        cJSON_Delete(doc);
        return;
    }
    const char *iccs = iv && cJSON_IsString(iv) ? iv->valuestring : NULL;
    char agency_id[16];
    snprintf(agency_id, sizeof agency_id, "%d", r->who.agency_id);
    const char *params[7] = {agency_id, code, name, category, crime, iccs,
                             iv ? "true" : "false"};
    int rc = db_query(app.writer,
                      "WITH old AS (SELECT crime FROM offenses WHERE agency_id = $1"
                      "  AND code = $2)"
                      " INSERT INTO offenses AS o (agency_id, code, name, category, crime, iccs)"
                      " VALUES ($1, $2, $3, $4, coalesce($5::boolean, true), $6)"
                      " ON CONFLICT (agency_id, code) DO UPDATE SET name = EXCLUDED.name,"
                      "  category = EXCLUDED.category, crime = coalesce($5::boolean, o.crime),"
                      "  iccs = CASE WHEN $7::boolean THEN EXCLUDED.iccs ELSE o.iccs END,"
                      "  updated_at = now()"
                      " RETURNING o.id, o.agency_id, o.code, o.name, o.category, (o.xmax = 0),"
                      "  o.crime, (SELECT crime FROM old), o.iccs",
                      7, params, on_offense_put, r);
    cJSON_Delete(doc);
    if (rc != 0) {
        http_reply_db_down(r);
        return;
    }
    /* The flag of an existing offense may change: its incidents move in or
       out of the crime counts, read right behind the write (analytics.h),
       and the answer waits for them. */
    const ref_offense *o = crime ? ref_offense_by_code(app.ref, r->who.agency_id, code) : NULL;
    struct offense_put *op = o ? calloc(1, sizeof *op) : NULL;
    if (op) {
        op->offense = o->id;
        r->state = op;
        r->state_free = offense_put_free;
        if (analytics_recount_queue(app.writer, r->who.agency_id, o->id, offense_put_answer, r) !=
            0) {
            r->state = NULL;
            r->state_free = NULL;
            offense_put_free(op);
            op = NULL;
        }
    }
    if (o && op == NULL) {
        log_error(r->id, "cannot queue a recount of offense %s; reloading the cubes", code);
        analytics_reload(app.writer);
    }
}

/* ------------------------------------------------------------ ICCS */

/* The ICCS code list, the same for every agency; level= keeps one level. */
void h_iccs_get(http_req *r)
{
    static const char *const allowed[] = {"level", NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    long level = 0;
    if (filter_int(r, "level", 1, 4, &level) != 0)
        return;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "classification",
                            "UNODC International Classification of Crime for Statistical "
                            "Purposes (ICCS), version 1.0, 2015");
    cJSON *arr = cJSON_AddArrayToObject(root, "codes");
    for (int i = 0; i < ref_iccs_count(app.ref); i++) {
        const ref_iccs *c = ref_iccs_at(app.ref, i);
        if (level && c->level != level)
            continue;
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "code", c->code);
        cJSON_AddNumberToObject(j, "level", c->level);
        if (c->parent[0])
            cJSON_AddStringToObject(j, "parent", c->parent);
        else
            cJSON_AddNullToObject(j, "parent");
        cJSON_AddStringToObject(j, "name_en", c->name_en);
        if (c->name_es)
            cJSON_AddStringToObject(j, "name_es", c->name_es);
        else
            cJSON_AddNullToObject(j, "name_es");
        cJSON_AddItemToArray(arr, j);
    }
    http_reply_json(r, 200, root);
}
