/*
 * routes_sharing.c -- what an agency shares with a region, the region's
 * programs, and who read the agency's data (API.md of the project,
 * "Regions and sharing").
 *
 *   GET /v1/sharing                  the regions, and this agency's agreement with each
 *   GET|PUT|DELETE /v1/sharing/{region}
 *   GET /v1/programs                 programs (a region reader: its region's)
 *   PUT /v1/programs/{code}          this agency's precincts in a program
 *   GET /v1/audit?from=&to=&reader=&region=&limit=&before=
 *
 * Agreements and programs live in the database; a region reader's token
 * look-up reads them with the token (auth.c, sharing.h), and every change
 * here moves auth's sharing generation before it is answered (and notifies
 * compstat_sharing for other daemons), so a PUT or a DELETE holds from the
 * readers' next request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "filters.h"
#include "http.h"
#include "log.h"
#include "refdata.h"
#include "reqbody.h"
#include "routes.h"
#include "sbuf.h"
#include "sharing.h"

#define MAX_SHARED_CODES 64

/* The agreement as JSON, from sharing_agreements s, regions g, agencies a. */
#define AGREEMENT_JSON                                                                          \
    "json_build_object('region', g.code, 'region_name', g.name, 'agency', a.code,"             \
    " 'level', s.level, 'iccs', s.iccs, 'categories', s.categories,"                           \
    " 'location_precision_m', s.location_precision_m, 'address', s.address,"                   \
    " 'updated_at', to_char(s.updated_at AT TIME ZONE 'UTC',"                                  \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"

static void reply_text_json(http_req *r, int status, PGresult *res)
{
    const char *v = PQgetvalue(res, 0, 0);
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, v);
    sbuf_putc(&b, '\n');
    if (sbuf_failed(&b))
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    else
        http_reply_raw(r, status, "application/json", sbuf_str(&b), b.len);
    sbuf_free(&b);
}

static void on_read(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else
            http_reply_error(r, 500, "internal", NULL, "cannot read the agreements");
        return;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        http_reply_error(r, 404, "not_found", NULL,
                         "this agency has no sharing agreement with region %.32s", r->seg[2]);
        return;
    }
    reply_text_json(r, 200, res);
}

/* A query answering one JSON text: the answer. */
static void on_list(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else
            http_reply_error(r, 500, "internal", NULL, "cannot read it from the database");
        return;
    }
    reply_text_json(r, 200, res);
}

void h_sharing_list(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    char agency[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    const char *params[1] = {agency};
    if (db_query(app.reader,
                 "SELECT json_build_object('regions', coalesce(json_agg(json_build_object("
                 "  'code', g.code, 'name', g.name, 'agreement',"
                 "  (SELECT " AGREEMENT_JSON " FROM sharing_agreements s"
                 "   JOIN agencies a ON a.id = s.agency_id"
                 "   WHERE s.region_id = g.id AND s.agency_id = $1::int)) ORDER BY g.code),"
                 "  '[]'::json))::text FROM regions g",
                 1, params, on_list, r) != 0)
        http_reply_db_down(r);
}

void h_sharing_get(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    char agency[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    const char *params[2] = {r->seg[2], agency};
    if (db_query(app.reader,
                 "SELECT " AGREEMENT_JSON "::text FROM sharing_agreements s"
                 " JOIN regions g ON g.id = s.region_id JOIN agencies a ON a.id = s.agency_id"
                 " WHERE g.code = $1 AND s.agency_id = $2::int",
                 2, params, on_read, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ PUT */

struct share_put {
    int kind; /* SHARE_ALL, SHARE_ICCS, SHARE_CATEGORIES */
    sbuf codes; /* a text[] literal */
};

static void share_put_free(void *arg)
{
    struct share_put *p = arg;
    sbuf_free(&p->codes);
    free(p);
}

static int category_known(int agency, const char *name)
{
    for (int id = 1; id < ref_offense_max(app.ref); id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o && o->agency_id == agency && strcmp(o->category, name) == 0)
            return 1;
    }
    return 0;
}

/* iccs or categories: a non-empty array of known codes into p. 0, or -1 after replying. */
static int read_shared(http_req *r, const cJSON *arr, const char *field, struct share_put *p)
{
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n == 0 || n > MAX_SHARED_CODES) {
        http_reply_error(r, 422, "invalid_field", field,
                         "%s must be an array of 1 to %d %s (leave it out to share every "
                         "offense)",
                         field, MAX_SHARED_CODES,
                         strcmp(field, "iccs") == 0 ? "ICCS codes" : "category names");
        return -1;
    }
    sbuf_array_begin(&p->codes);
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsString(e) || e->valuestring[0] == '\0' || strlen(e->valuestring) > 64) {
            http_reply_error(r, 422, "invalid_field", field, "%s[%d] must be a string", field, i);
            return -1;
        }
        if (strcmp(field, "iccs") == 0 && ref_iccs_by_code(app.ref, e->valuestring) == NULL) {
            http_reply_error(r, 422, "invalid_field", field,
                             "%s[%d]: unknown ICCS code \"%.16s\" (GET "
                             "/v1/classifications/iccs lists them)",
                             field, i, e->valuestring);
            return -1;
        }
        if (strcmp(field, "categories") == 0 &&
            !category_known(r->who.agency_id, e->valuestring)) {
            http_reply_error(r, 422, "invalid_field", field,
                             "%s[%d]: no offense of this agency is in category \"%.64s\"", field,
                             i, e->valuestring);
            return -1;
        }
        sbuf_array_str(&p->codes, e->valuestring);
        i++;
    }
    sbuf_array_end(&p->codes);
    return 0;
}

static void on_put(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "sharing agreement write"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 404, "not_found", NULL, "no region %.32s", r->seg[2]);
        return;
    }
    auth_sharing_changed();
    int created = PQgetvalue(res, 0, 1)[0] == 't';
    log_info(r->id, "sharing: agency %d %s its agreement with region %s", r->who.agency_id,
             created ? "made" : "changed", r->seg[2]);
    reply_text_json(r, created ? 201 : 200, res);
}

void h_sharing_put(http_req *r)
{
    if (req_agency_wide(r, "sharing agreements") != 0)
        return;
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    struct share_put *p = http_state_new(r, sizeof *p, share_put_free);
    if (p == NULL) {
        cJSON_Delete(doc);
        return;
    }
    sbuf_init(&p->codes);
    int bad = 0;
    const char *level = req_str_member(r, doc, "level", 1, 16, &bad);
    if (!bad && strcmp(level, "counts") != 0 && strcmp(level, "incidents") != 0) {
        http_reply_error(r, 422, "invalid_field", "level", "level must be counts or incidents");
        bad = 1;
    }
    const cJSON *iccs = cJSON_GetObjectItemCaseSensitive(doc, "iccs");
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(doc, "categories");
    if (cJSON_IsNull(iccs))
        iccs = NULL;
    if (cJSON_IsNull(cats))
        cats = NULL;
    if (!bad && iccs && cats) {
        http_reply_error(r, 422, "invalid_field", "categories",
                         "give iccs or categories, not both");
        bad = 1;
    }
    if (!bad && (iccs || cats)) {
        p->kind = iccs ? SHARE_ICCS : SHARE_CATEGORIES;
        bad = read_shared(r, iccs ? iccs : cats, iccs ? "iccs" : "categories", p) != 0;
    }
    const cJSON *prec = cJSON_GetObjectItemCaseSensitive(doc, "location_precision_m");
    if (!bad && (prec == NULL || cJSON_IsNull(prec))) {
        http_reply_error(r, 422, "missing_field", "location_precision_m",
                         "location_precision_m is required: the size in metres of the cells "
                         "locations are moved to the centre of, and the finest hotspot cell");
        bad = 1;
    } else if (!bad && (!cJSON_IsNumber(prec) || prec->valuedouble != (double)prec->valueint ||
                        prec->valueint < 1 || prec->valueint > 100000)) {
        http_reply_error(r, 422, "invalid_field", "location_precision_m",
                         "location_precision_m must be a whole number of metres, 1 to 100000");
        bad = 1;
    }
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(doc, "address");
    if (!bad && addr && !cJSON_IsNull(addr) && !cJSON_IsBool(addr)) {
        http_reply_error(r, 422, "invalid_field", "address", "address must be true or false");
        bad = 1;
    }
    if (bad || sbuf_failed(&p->codes)) {
        if (!bad)
            http_reply_error(r, 500, "internal", NULL, "out of memory");
        cJSON_Delete(doc);
        return;
    }
    char agency[16], precision[16], token[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    snprintf(precision, sizeof precision, "%d", prec->valueint);
    snprintf(token, sizeof token, "%d", r->who.token_id);
    const char *codes = p->kind != SHARE_ALL ? sbuf_str(&p->codes) : NULL;
    const char *params[8] = {r->seg[2],
                             agency,
                             level,
                             p->kind == SHARE_ICCS ? codes : NULL,
                             p->kind == SHARE_CATEGORIES ? codes : NULL,
                             precision,
                             cJSON_IsTrue(addr) ? "true" : "false",
                             token};
    if (db_query(app.writer,
                 "WITH s AS (INSERT INTO sharing_agreements AS x (region_id, agency_id, level, "
                 "  iccs, categories, location_precision_m, address, updated_by)"
                 "  SELECT g.id, $2::int, $3, $4::text[], $5::text[], $6::int, $7::boolean, $8::int"
                 "  FROM regions g WHERE g.code = $1"
                 "  ON CONFLICT (region_id, agency_id) DO UPDATE SET level = EXCLUDED.level,"
                 "   iccs = EXCLUDED.iccs, categories = EXCLUDED.categories,"
                 "   location_precision_m = EXCLUDED.location_precision_m,"
                 "   address = EXCLUDED.address, updated_by = EXCLUDED.updated_by,"
                 "   updated_at = now()"
                 "  RETURNING x.*, (x.xmax = 0) AS created)"
                 " SELECT " AGREEMENT_JSON "::text, s.created, pg_notify('compstat_sharing', '')"
                 " FROM s"
                 " JOIN regions g ON g.id = s.region_id JOIN agencies a ON a.id = s.agency_id",
                 8, params, on_put, r) != 0)
        http_reply_db_down(r);
    cJSON_Delete(doc);
}

/* ------------------------------------------------------------ DELETE */

static void on_delete(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "sharing agreement revocation"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 404, "not_found", NULL,
                         "this agency has no sharing agreement with region %.32s", r->seg[2]);
        return;
    }
    auth_sharing_changed();
    log_info(r->id, "sharing: agency %d revoked its agreement with region %s", r->who.agency_id,
             r->seg[2]);
    http_reply_raw(r, 204, "application/json", "", 0);
}

void h_sharing_delete(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (http_check_params(r, allowed) != 0 || req_agency_wide(r, "sharing agreements") != 0)
        return;
    char agency[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    const char *params[2] = {r->seg[2], agency};
    if (db_query(app.writer,
                 "WITH d AS (DELETE FROM sharing_agreements s USING regions g"
                 "  WHERE g.id = s.region_id AND g.code = $1 AND s.agency_id = $2::int"
                 "  RETURNING s.region_id)"
                 " SELECT region_id, pg_notify('compstat_sharing', '') FROM d",
                 2, params, on_delete, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ the audit trail */

/* A from/to bound for the audit: an RFC 3339 time, or a date in the agency's zone. */
static int audit_bound(http_req *r, const char *name, char *out, size_t size)
{
    params_time pt;
    int rc = filter_time(r, name, &pt);
    if (rc <= 0)
        return rc;
    if (pt.is_date) {
        const ref_agency *a = ref_agency_by_id(app.ref, r->who.agency_id);
        snprintf(out, size, "%04d-%02d-%02d 00:00:00 %s", pt.y, pt.m, pt.d,
                 a ? a->time_zone : "UTC");
    } else {
        snprintf(out, size, "@%lld", (long long)pt.t);
    }
    return 1;
}

void h_audit_get(http_req *r)
{
    static const char *const allowed[] = {"from", "to", "reader", "region", "limit", "before",
                                          NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    char from[96] = "", to[96] = "", reader[24] = "", before[24] = "", limit[24], agency[16];
    int hf = audit_bound(r, "from", from, sizeof from);
    int ht = hf < 0 ? -1 : audit_bound(r, "to", to, sizeof to);
    if (hf < 0 || ht < 0)
        return;
    long long id;
    const char *v = qs_get(&r->query, "reader");
    if (v && !filter_id(v, &id)) {
        http_reply_error(r, 422, "invalid_field", "reader",
                         "reader must be a token id (as in the records' reader.token_id)");
        return;
    }
    if (v)
        snprintf(reader, sizeof reader, "%lld", id);
    v = qs_get(&r->query, "before");
    if (v && !filter_id(v, &id)) {
        http_reply_error(r, 422, "invalid_field", "before",
                         "before must be a record id (the answer's next)");
        return;
    }
    if (v)
        snprintf(before, sizeof before, "%lld", id);
    long n = 100;
    if (filter_int(r, "limit", 1, 1000, &n) != 0)
        return;
    snprintf(limit, sizeof limit, "%ld", n);
    const ref_agency *a = ref_agency_by_id(app.ref, r->who.agency_id);
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    const char *region = qs_get(&r->query, "region");
    const char *params[8] = {agency,
                             a ? a->code : "",
                             hf ? from : NULL,
                             ht ? to : NULL,
                             reader[0] ? reader : NULL,
                             region,
                             before[0] ? before : NULL,
                             limit};
    /* The agency's own readers' records, and every record that says it
       returned the agency's data (region readers'). */
    if (db_query(
            app.reader,
            "WITH l AS (SELECT l.*, t.label, t.role, ta.code AS reader_agency,"
            "  g.code AS reader_region"
            " FROM audit_log l LEFT JOIN api_tokens t ON t.id = l.token_id"
            " LEFT JOIN agencies ta ON ta.id = t.agency_id"
            " LEFT JOIN regions g ON g.id = t.region_id"
            " WHERE (t.agency_id = $1::int OR (l.detail -> 'agencies') ? $2)"
            "  AND ($3::timestamptz IS NULL OR l.at >= $3::timestamptz)"
            "  AND ($4::timestamptz IS NULL OR l.at < $4::timestamptz)"
            "  AND ($5::int IS NULL OR l.token_id = $5::int)"
            "  AND ($6::text IS NULL OR g.code = $6)"
            "  AND ($7::bigint IS NULL OR l.id < $7::bigint)"
            " ORDER BY l.id DESC LIMIT $8::int + 1)"
            " SELECT json_build_object('records', coalesce((SELECT json_agg(json_build_object("
            "  'id', x.id, 'at', to_char(x.at AT TIME ZONE 'UTC',"
            "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
            "  'reader', json_build_object('token_id', x.token_id, 'label', x.label,"
            "   'role', x.role, 'agency', x.reader_agency, 'region', x.reader_region),"
            "  'action', x.action, 'target', x.target, 'request_id', x.request_id,"
            "  'status', x.detail -> 'status', 'agencies', x.detail -> 'agencies')"
            "  ORDER BY x.id DESC) FROM (SELECT * FROM l ORDER BY id DESC LIMIT $8::int) x),"
            "  '[]'::json),"
            " 'next', CASE WHEN (SELECT count(*) FROM l) > $8::int"
            "  THEN (SELECT min(id) FROM (SELECT id FROM l ORDER BY id DESC LIMIT $8::int) y)"
            "  END)::text",
            8, params, on_list, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ programs */

void h_programs_get(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    if (r->who.region) {
        /* A region reader: its region's programs, with the precincts of the
           agencies sharing with it, as they are now. */
        cJSON *root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "programs", sharing_programs_json(r));
        http_reply_json(r, 200, root);
        return;
    }
    char agency[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    const char *params[1] = {agency};
    if (db_query(app.reader,
                 "SELECT json_build_object('programs', coalesce(json_agg(json_build_object("
                 "  'code', p.code, 'name', p.name, 'region', g.code,"
                 "  'precincts', (SELECT coalesce(json_agg(pr.code ORDER BY pr.code), '[]'::json)"
                 "   FROM program_precincts pp JOIN precincts pr ON pr.id = pp.precinct_id"
                 "   WHERE pp.program_id = p.id AND pr.agency_id = $1::int)) ORDER BY p.code),"
                 "  '[]'::json))::text FROM programs p JOIN regions g ON g.id = p.region_id",
                 1, params, on_list, r) != 0)
        http_reply_db_down(r);
}

static void on_program_put(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "program enrolment"))
        return;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        http_reply_error(r, 404, "not_found", NULL,
                         "no program %.64s (compstat-admin program create makes one)", r->seg[2]);
        return;
    }
    auth_sharing_changed();
    reply_text_json(r, 200, res);
}

void h_program_put(http_req *r)
{
    if (req_agency_wide(r, "a program's precincts") != 0)
        return;
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "precincts");
    if (!cJSON_IsArray(list)) {
        http_reply_error(r, 422, "invalid_field", "precincts",
                         "precincts must be an array of this agency's precinct codes ([] to "
                         "leave the program)");
        cJSON_Delete(doc);
        return;
    }
    sbuf ids;
    sbuf_init(&ids);
    sbuf_array_begin(&ids);
    const cJSON *e;
    int i = 0, bad = 0;
    cJSON_ArrayForEach(e, list)
    {
        const ref_precinct *p = cJSON_IsString(e) ? ref_precinct_by_code(app.ref, e->valuestring)
                                                  : NULL;
        if (p == NULL || p->agency_id != r->who.agency_id) {
            http_reply_error(r, 422, "invalid_field", "precincts",
                             "precincts[%d] is not a precinct of this agency", i);
            bad = 1;
            break;
        }
        char num[16];
        snprintf(num, sizeof num, "%d", p->id);
        sbuf_array_raw(&ids, num);
        i++;
    }
    sbuf_array_end(&ids);
    cJSON_Delete(doc);
    if (!bad && sbuf_failed(&ids)) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        bad = 1;
    }
    if (bad) {
        sbuf_free(&ids);
        return;
    }
    char agency[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    const char *params[3] = {r->seg[2], agency, sbuf_str(&ids)};
    /* One statement: this agency's precincts in the program become exactly
       those listed (the other agencies' are theirs). */
    if (db_query(app.writer,
                 "WITH p AS (SELECT id, code FROM programs WHERE code = $1),"
                 " gone AS (DELETE FROM program_precincts pp USING precincts pr"
                 "  WHERE pp.program_id = (SELECT id FROM p) AND pr.id = pp.precinct_id"
                 "   AND pr.agency_id = $2::int AND pp.precinct_id <> ALL ($3::int[])),"
                 " added AS (INSERT INTO program_precincts (program_id, precinct_id)"
                 "  SELECT p.id, x FROM p, unnest($3::int[]) AS x ON CONFLICT DO NOTHING)"
                 " SELECT json_build_object('program', p.code, 'precincts',"
                 "  (SELECT coalesce(json_agg(pr.code ORDER BY pr.code), '[]'::json)"
                 "   FROM precincts pr WHERE pr.id = ANY ($3::int[])))::text,"
                 " pg_notify('compstat_sharing', '') FROM p",
                 3, params, on_program_put, r) != 0)
        http_reply_db_down(r);
    sbuf_free(&ids);
}
