/*
 * routes_incidents.c -- POST, PATCH and GET of incidents (API.md "Incidents").
 *
 * Writes: parse and validate (lib/incident), resolve codes against the
 * reference data in memory, assign the precinct from the boundaries when
 * absent, check the token's precinct scope, then queue for group commit
 * (ingest.h). The reply is built in the item's done callback, after the
 * commit. Reads go to the database through the reader connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "jsonin.h"
#include "filters.h"
#include "ingest.h"
#include "log.h"
#include "ndjson.h"
#include "rfc3339.h"
#include "routes.h"
#include "sharing.h"
#include "sbuf.h"
#include "store.h"

static void reply_inc_error(http_req *r, const inc_error *e)
{
    http_reply_error(r, e->status, e->code, e->field, "%s", e->message);
}

static cJSON *error_object(const inc_error *e, size_t index)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(err, "status", e->status);
    cJSON_AddStringToObject(err, "code", e->code);
    cJSON_AddStringToObject(err, "message", e->message);
    if (e->field[0])
        cJSON_AddStringToObject(err, "field", e->field);
    cJSON_AddNumberToObject(err, "index", (double)index);
    return o;
}

static int set_err(inc_error *e, int status, const char *code, const char *field,
                   const char *msg)
{
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    snprintf(e->message, sizeof e->message, "%s", msg);
    return -1;
}

/*
 * Resolve codes to ids, assign the precinct, check the token's scope.
 * Returns 0, or -1 with *e filled.
 */
static int resolve(const http_req *r, ingest_item *it, inc_error *e)
{
    char msg[200];
    inc_incident *in = &it->inc;
    it->agency_id = r->who.agency_id;
    const ref_offense *o = ref_offense_by_code(app.ref, it->agency_id, in->offense);
    if (o == NULL) {
        snprintf(msg, sizeof msg, "unknown offense code \"%.64s\" (define it with PUT /v1/offenses/{code})",
                 in->offense);
        return set_err(e, 422, "invalid_field", "offense", msg);
    }
    it->offense_id = o->id;
    const ref_precinct *p = NULL;
    if (in->precinct) {
        p = ref_precinct_by_code(app.ref, in->precinct);
        if (p == NULL || p->agency_id != it->agency_id) {
            snprintf(msg, sizeof msg, "unknown precinct \"%.64s\"", in->precinct);
            return set_err(e, 422, "invalid_field", "precinct", msg);
        }
    } else if (in->has_location) {
        p = ref_assign_precinct(app.ref, it->agency_id, in->lon, in->lat);
        if (p && (in->precinct = strdup(p->code)) == NULL)
            return set_err(e, 500, "internal", NULL, "out of memory");
    }
    it->precinct_id = p ? p->id : 0;
    if (!principal_allows(&r->who, p ? p->code : NULL)) {
        snprintf(msg, sizeof msg, "this token may not write incidents %s%.64s",
                 p ? "of precinct " : "outside its precincts", p ? p->code : "");
        return set_err(e, 403, "forbidden", "precinct", msg);
    }
    return 0;
}

/* ---------------------------------------------------------------- POST */

struct post {
    http_req *r;
    int single;     /* one object: reply with it, not a batch envelope */
    size_t n;       /* items */
    size_t pending; /* submitted, not yet done */
    size_t submitted;
    ingest_item *items;
};

static void post_free(void *arg)
{
    struct post *p = arg;
    for (size_t i = 0; p->items && i < p->n; i++)
        ingest_item_clear(&p->items[i]);
    free(p->items);
    free(p);
}

static void post_reply(struct post *p)
{
    http_req *r = p->r;
    if (p->single) {
        ingest_item *it = &p->items[0];
        if (it->status >= 400)
            reply_inc_error(r, &it->err);
        else
            http_reply_json(r, it->status, store_to_json(&it->row));
        return;
    }
    if (p->submitted == 0 && p->n > 0) {
        /* Every line failed validation, or the database is down: when
           nothing reached the database because it is down, say so. */
        int all_down = 1;
        for (size_t i = 0; i < p->n; i++)
            if (p->items[i].status != 503)
                all_down = 0;
        if (all_down) {
            http_reply_db_down(r);
            return;
        }
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *results = cJSON_CreateArray();
    size_t accepted = 0;
    for (size_t i = 0; i < p->n; i++) {
        ingest_item *it = &p->items[i];
        cJSON *o;
        if (it->status >= 400) {
            o = error_object(&it->err, i);
        } else {
            o = store_to_json(&it->row);
            accepted++;
            cJSON_AddBoolToObject(o, "created", it->status == 201);
        }
        cJSON_AddItemToArray(results, o);
    }
    cJSON_AddNumberToObject(root, "accepted", (double)accepted);
    cJSON_AddNumberToObject(root, "rejected", (double)(p->n - accepted));
    cJSON_AddItemToObject(root, "results", results);
    http_reply_json(r, 200, root);
}

static void post_item_done(ingest_item *it)
{
    struct post *p = it->owner;
    if (--p->pending == 0)
        post_reply(p);
}

/* Validate one parsed JSON value into item i. */
static void prepare(struct post *p, size_t i, const cJSON *v)
{
    ingest_item *it = &p->items[i];
    it->owner = p;
    it->index = i;
    it->done = post_item_done;
    it->version = 1;
    it->token_id = p->r->who.token_id;
    snprintf(it->request_id, sizeof it->request_id, "%s", p->r->id);
    if (inc_parse(v, INC_PARSE_FULL, &it->inc, &it->err) != 0 ||
        resolve(p->r, it, &it->err) != 0)
        it->status = it->err.status;
}

static void parse_error_item(struct post *p, size_t i, const char *msg)
{
    ingest_item *it = &p->items[i];
    inc_clear(&it->inc);
    set_err(&it->err, 400, "malformed_json", NULL, msg);
    it->status = 400;
}

/*
 * May a batch be taken now: a media type read here, the writer up, room
 * in the queue. 1 for NDJSON, 0 for JSON, or -1 after replying.
 */
static int post_admit(http_req *r)
{
    int ndjson = http_content_type_is(r, "application/x-ndjson");
    if (!ndjson && !http_content_type_is(r, "application/json")) {
        http_reply_error(r, 415, "unsupported_media_type", NULL,
                         "send application/json (an incident or an array) or "
                         "application/x-ndjson (one incident per line)");
        return -1;
    }
    if (!db_is_up(app.writer)) {
        http_reply_db_down(r);
        return -1;
    }
    if (ingest_depth(app.ingest) >= (size_t)app.cfg.max_queue) {
        /* Overload: refuse at once rather than let the queue (and memory) grow. */
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", "1");
        http_reply_error(r, 429, "overloaded", NULL,
                         "%zu incidents are waiting for a commit; retry shortly",
                         ingest_depth(app.ingest));
        return -1;
    }
    return ndjson;
}

/*
 * The items of a JSON body: one incident, or an array. The body is freed
 * as soon as it is parsed (it may be 16 MiB). 0, or -1 after replying.
 */
static int read_json_items(http_req *r, struct post *p, char *body, size_t len)
{
    size_t maxn = (size_t)app.cfg.max_batch_lines;
    /* Too long an array is refused before a node is built per element
       (16 MiB of "{}," would be millions). */
    size_t count = json_in_array_length(body, len);
    if (count > maxn) {
        free(body);
        http_reply_error(r, 413, "too_many_incidents", NULL,
                         "at most %zu incidents per request, this one holds %zu", maxn, count);
        return -1;
    }
    /* Exactly one value: anything after it would be dropped unseen. */
    json_in_error je;
    cJSON *doc = json_in_parse(body, len, &je);
    free(body);
    if (doc == NULL) {
        http_reply_error(r, 400, "malformed_json", NULL, "the body holds %s", je.message);
        return -1;
    }
    size_t n = 1;
    if (cJSON_IsArray(doc)) {
        n = (size_t)cJSON_GetArraySize(doc);
    } else if (cJSON_IsObject(doc)) {
        p->single = 1;
    } else {
        cJSON_Delete(doc);
        http_reply_error(r, 400, "malformed_json", NULL,
                         "the body must be an incident object or an array of them");
        return -1;
    }
    if (n > maxn) {
        cJSON_Delete(doc);
        http_reply_error(r, 413, "too_many_incidents", NULL,
                         "at most %zu incidents per request, this one holds %zu", maxn, n);
        return -1;
    }
    p->items = calloc(n ? n : 1, sizeof *p->items);
    if (p->items == NULL) {
        cJSON_Delete(doc);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    p->n = n; /* only now: post_free clears p->n items */
    if (p->single) {
        prepare(p, 0, doc);
    } else {
        size_t i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, doc) prepare(p, i++, v);
    }
    cJSON_Delete(doc);
    return 0;
}

/*
 * The items of an NDJSON body: one per non-blank line (lib/ndjson.h). A
 * line that is not exactly one JSON value is that line's error: nothing on
 * it is stored. The body is freed. 0, or -1 after replying.
 */
static int read_ndjson_items(http_req *r, struct post *p, char *body, size_t len)
{
    size_t maxn = (size_t)app.cfg.max_batch_lines;
    size_t lines = ndjson_count(body, len);
    if (lines > maxn) {
        free(body);
        http_reply_error(r, 413, "too_many_incidents", NULL,
                         "at most %zu incidents per request, this one holds %zu lines", maxn,
                         lines);
        return -1;
    }
    p->items = calloc(lines ? lines : 1, sizeof *p->items);
    if (p->items == NULL) {
        free(body);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    p->n = lines;
    ndjson_iter lit;
    ndjson_line line;
    size_t idx = 0;
    ndjson_begin(&lit, body, len);
    while (idx < lines && ndjson_next(&lit, &line)) {
        if (line.blank)
            continue;
        json_in_error je;
        cJSON *doc = json_in_parse(line.text, line.len, &je);
        ingest_item *it = &p->items[idx];
        it->owner = p;
        it->index = idx;
        it->done = post_item_done;
        if (doc == NULL) {
            char msg[220];
            snprintf(msg, sizeof msg, "line %zu holds %s", line.number, je.message);
            parse_error_item(p, idx, msg);
        } else {
            prepare(p, idx, doc);
        }
        cJSON_Delete(doc);
        idx++;
    }
    free(body);
    return 0;
}

/* Queue the valid items; reply once every one is done. */
static void submit_items(struct post *p)
{
    /* Count them first so a synchronous completion cannot reply early. */
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].status == 0)
            p->pending++;
    p->pending++; /* held until every item is queued */
    for (size_t i = 0; i < p->n; i++) {
        ingest_item *it = &p->items[i];
        if (it->status != 0)
            continue;
        if (ingest_submit(app.ingest, it) != 0) {
            set_err(&it->err, 503, "database_unavailable", NULL, "the database is unavailable");
            it->status = 503;
            p->pending--;
        } else {
            p->submitted++;
        }
    }
    if (--p->pending == 0)
        post_reply(p);
}

void h_incidents_post(http_req *r)
{
    int ndjson = post_admit(r);
    if (ndjson < 0)
        return;
    size_t len;
    char *body = http_body(r, &len);
    if (body == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    struct post *p = http_state_new(r, sizeof *p, post_free);
    if (p == NULL) {
        free(body);
        return;
    }
    p->r = r;
    int rc = ndjson ? read_ndjson_items(r, p, body, len) : read_json_items(r, p, body, len);
    if (rc == 0)
        submit_items(p);
}

/* ---------------------------------------------------------------- PATCH */

struct patch {
    http_req *r;
    inc_incident delta; /* the fields sent */
    ingest_item item;
    int attempts;
};

static void patch_free(void *arg)
{
    struct patch *p = arg;
    inc_clear(&p->delta);
    ingest_item_clear(&p->item);
    free(p);
}

static void patch_fetch(struct patch *p);

static void patch_done(ingest_item *it)
{
    struct patch *p = it->owner;
    if (it->status == 409 && it->conflict && p->attempts < 5) {
        ingest_item_clear(it);
        patch_fetch(p); /* someone else wrote first: merge again */
        return;
    }
    if (it->status >= 400)
        reply_inc_error(p->r, &it->err);
    else
        http_reply_json(p->r, 200, store_to_json(&it->row));
}

static void on_patch_current(void *arg, PGresult *res, const char *error)
{
    struct patch *p = arg;
    http_req *r = p->r;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else
            http_reply_error(r, 500, "internal", NULL, "cannot read the incident");
        return;
    }
    stored cur;
    if (PQntuples(res) != 1 || store_from_row(res, 0, 0, &cur) != 0 ||
        cur.agency_id != r->who.agency_id || !principal_allows(&r->who, cur.inc.precinct)) {
        if (PQntuples(res) == 1)
            store_clear(&cur);
        http_reply_error(r, 404, "not_found", NULL, "no incident %s/%s", r->seg[2], r->seg[3]);
        return;
    }
    ingest_item *it = &p->item;
    memset(it, 0, sizeof *it);
    it->owner = p;
    it->done = patch_done;
    it->version = cur.version + 1;
    it->token_id = r->who.token_id;
    snprintf(it->request_id, sizeof it->request_id, "%s", r->id);
    int old_status = cur.inc.status;
    int was_unplaced = inc_unplaced(&cur.inc);
    it->inc = cur.inc; /* take over the strings */
    memset(&cur.inc, 0, sizeof cur.inc);
    inc_incident *in = &it->inc;

    /* A new location without a precinct: assign the precinct again. */
    if ((p->delta.present & INC_F_LOCATION) && !(p->delta.present & INC_F_PRECINCT)) {
        free(in->precinct);
        in->precinct = NULL;
    }
    if (inc_merge(in, &p->delta) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    /* Neither a location nor a precinct after the merge: accepted when the
       PATCH says "precinct": null, or the incident had no place before;
       a PATCH that only takes the location away stays 422 (the stored
       record counts every field as given, so say which one was). */
    if (!(p->delta.present & INC_F_PRECINCT) && !was_unplaced)
        in->present &= ~(unsigned)INC_F_PRECINCT;
    if (!(p->delta.present & INC_F_STATUS)) {
        /* Unfounded and cancelled stay until changed explicitly; otherwise
           the status follows the lifecycle times and never moves back. */
        if (old_status == INC_UNFOUNDED || old_status == INC_CANCELLED) {
            in->status = old_status;
        } else {
            in->status = -1;
            int derived = inc_derived_status(in);
            in->status = derived > old_status ? derived : old_status;
        }
    }
    if (inc_check(in, &it->err) != 0 || resolve(r, it, &it->err) != 0) {
        reply_inc_error(r, &it->err);
        return;
    }
    p->attempts++;
    if (ingest_submit(app.ingest, it) != 0)
        http_reply_db_down(r);
}

static void patch_fetch(struct patch *p)
{
    /* The identity is the agency's own (agency, source, external_id). */
    char agency[16];
    snprintf(agency, sizeof agency, "%d", p->r->who.agency_id);
    const char *params[3] = {agency, p->r->seg[2], p->r->seg[3]};
    if (db_query(app.writer,
                 "SELECT " STORE_COLS("i") " FROM incidents i"
                 " WHERE i.agency_id = $1 AND i.source = $2 AND i.external_id = $3",
                 3, params, on_patch_current, p) != 0)
        http_reply_db_down(p->r);
}

void h_incident_patch(http_req *r)
{
    if (!http_content_type_is(r, "application/json") &&
        !http_content_type_is(r, "application/merge-patch+json")) {
        http_reply_error(r, 415, "unsupported_media_type", NULL, "send application/json");
        return;
    }
    size_t len;
    char *body = http_body(r, &len);
    if (body == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    json_in_error je;
    cJSON *doc = json_in_parse(body, len, &je);
    free(body);
    if (doc == NULL || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        if (doc == NULL)
            http_reply_error(r, 400, "malformed_json", NULL, "the body holds %s", je.message);
        else
            http_reply_error(r, 400, "malformed_json", NULL, "the body must be a JSON object");
        return;
    }
    struct patch *p = http_state_new(r, sizeof *p, patch_free);
    if (p == NULL) {
        cJSON_Delete(doc);
        return;
    }
    p->r = r;
    inc_error e;
    int rc = inc_parse(doc, INC_PARSE_PATCH, &p->delta, &e);
    cJSON_Delete(doc);
    if (rc != 0) {
        reply_inc_error(r, &e);
        return;
    }
    if ((p->delta.source && strcmp(p->delta.source, r->seg[2]) != 0) ||
        (p->delta.external_id && strcmp(p->delta.external_id, r->seg[3]) != 0)) {
        http_reply_error(r, 422, "invalid_field",
                         p->delta.source && strcmp(p->delta.source, r->seg[2]) ? "source"
                                                                                 : "external_id",
                         "the identity of an incident cannot be changed");
        return;
    }
    if ((p->delta.present & INC_F_OFFENSE) && p->delta.offense == NULL) {
        http_reply_error(r, 422, "invalid_field", "offense", "offense cannot be null");
        return;
    }
    if (!db_is_up(app.writer)) {
        http_reply_db_down(r);
        return;
    }
    patch_fetch(p);
}

/* ---------------------------------------------------------------- GET one */

static void on_get_one(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else
            http_reply_error(r, 500, "internal", NULL, "cannot read the incident");
        return;
    }
    stored s;
    if (PQntuples(res) != 1 || store_from_row(res, 0, 0, &s) != 0) {
        http_reply_error(r, 404, "not_found", NULL, "no incident %s", r->seg[2]);
        return;
    }
    if (!principal_allows(&r->who, s.inc.precinct) ||
        !principal_offense_ok(&r->who, s.offense_id)) {
        store_clear(&s);
        http_reply_error(r, 404, "not_found", NULL, "no incident %s", r->seg[2]);
        return;
    }
    sharing_redact(r, &s.inc);
    cJSON *o = store_to_json(&s);
    store_clear(&s);
    http_reply_json(r, 200, o);
}

void h_incident_get(http_req *r)
{
    const char *id = r->seg[2];
    long long v;
    if (!filter_id(id, &v)) {
        /* canonical digits only: "+6480", "06480" and " 6480" name nothing */
        http_reply_error(r, 404, "not_found", NULL,
                         "no incident %.40s (ids are positive integers in plain digits)", id);
        return;
    }
    char agency[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    const char *params[2] = {id, agency};
    if (db_query(app.reader,
                 "SELECT " STORE_COLS("i") " FROM incidents i"
                 " WHERE i.id = $1 AND i.agency_id = $2",
                 2, params, on_get_one, r) != 0)
        http_reply_db_down(r);
}

/* ---------------------------------------------------------------- list */

struct list {
    http_req *r;
    int format; /* 0 json, 1 geojson, 2 csv */
    long limit;
};

static void list_free(void *arg)
{
    free(arg);
}

static void csv_row(sbuf *b, const stored *s)
{
    char num[64], t[RFC3339_BUFSZ];
    const inc_incident *in = &s->inc;
    const ref_agency *a = ref_agency_by_id(app.ref, s->agency_id);
    const ref_offense *o = ref_offense_by_id(app.ref, s->offense_id);
    sbuf_printf(b, "%lld,", (long long)s->id);
    sbuf_csv_field(b, in->source);
    sbuf_putc(b, ',');
    sbuf_csv_field(b, in->external_id);
    sbuf_putc(b, ',');
    sbuf_csv_field(b, a ? a->code : "");
    sbuf_putc(b, ',');
    sbuf_csv_field(b, in->offense);
    sbuf_putc(b, ',');
    sbuf_csv_field(b, o ? o->category : "");
    sbuf_putc(b, ',');
    if (in->priority >= 0)
        sbuf_printf(b, "%d", in->priority);
    sbuf_putc(b, ',');
    sbuf_csv_field(b, in->precinct);
    sbuf_putc(b, ',');
    if (in->has_location) {
        snprintf(num, sizeof num, "%.15g,%.15g", in->lat, in->lon);
        sbuf_puts(b, num);
    } else {
        sbuf_putc(b, ',');
    }
    sbuf_putc(b, ',');
    sbuf_csv_field(b, in->address);
    for (int k = 0; k < INC_T_COUNT; k++) {
        sbuf_putc(b, ',');
        if (in->times_set & (1u << k))
            sbuf_puts(b, rfc3339_format(in->times[k], 0, t));
    }
    sbuf_putc(b, ',');
    sbuf_puts(b, inc_status_name(inc_derived_status(in)));
    sbuf_putc(b, ',');
    sbuf b2;
    sbuf_init(&b2);
    for (size_t u = 0; u < in->nunits; u++) {
        /* call signs joined by ';', a ';' or '\\' inside one escaped by '\\' */
        if (u)
            sbuf_putc(&b2, ';');
        for (const char *c = in->units[u]; *c; c++) {
            if (*c == ';' || *c == '\\')
                sbuf_putc(&b2, '\\');
            sbuf_putc(&b2, *c);
        }
    }
    sbuf_csv_field(b, sbuf_str(&b2));
    sbuf_free(&b2);
    sbuf_printf(b, ",%s", rfc3339_format_ms(s->created_ms, 0, t));
    sbuf_printf(b, ",%s\r\n", rfc3339_format_ms(s->updated_ms, 0, t));
}

/* The first n rows of res as CSV. */
static void render_list_csv(http_req *r, PGresult *res, int n, const char *cursor)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "id,source,external_id,agency,offense,category,priority,precinct,lat,"
                  "lon,address,occurred_at,received_at,dispatched_at,en_route_at,"
                  "on_scene_at,cleared_at,status,units,created_at,updated_at\r\n");
    for (int i = 0; i < n; i++) {
        stored s;
        if (store_from_row(res, i, 0, &s) == 0) {
            sharing_redact(r, &s.inc);
            csv_row(&b, &s);
            store_clear(&s);
        }
    }
    if (cursor[0])
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "X-Next-Cursor", cursor);
    if (sbuf_failed(&b))
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    else
        http_reply_raw(r, 200, "text/csv; charset=utf-8", sbuf_str(&b), b.len);
    sbuf_free(&b);
}

/* The first n rows of res as JSON, or as GeoJSON features. */
static void render_list_json(http_req *r, PGresult *res, int n, const char *cursor, int geojson)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    if (geojson)
        cJSON_AddStringToObject(root, "type", "FeatureCollection");
    cJSON_AddItemToObject(root, geojson ? "features" : "incidents", arr);
    for (int i = 0; i < n; i++) {
        stored s;
        if (store_from_row(res, i, 0, &s) != 0)
            continue;
        sharing_redact(r, &s.inc);
        cJSON *o = store_to_json(&s);
        if (geojson) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "type", "Feature");
            cJSON_AddNumberToObject(f, "id", (double)s.id);
            if (s.inc.has_location) {
                cJSON *g = cJSON_AddObjectToObject(f, "geometry");
                cJSON_AddStringToObject(g, "type", "Point");
                double c[2] = {s.inc.lon, s.inc.lat};
                cJSON_AddItemToObject(g, "coordinates", cJSON_CreateDoubleArray(c, 2));
            } else {
                cJSON_AddNullToObject(f, "geometry");
            }
            cJSON_DeleteItemFromObject(o, "location");
            cJSON_AddItemToObject(f, "properties", o);
            o = f;
        }
        cJSON_AddItemToArray(arr, o);
        store_clear(&s);
    }
    if (cursor[0])
        cJSON_AddStringToObject(root, "next_cursor", cursor);
    else
        cJSON_AddNullToObject(root, "next_cursor");
    /* GeoJSON is application/geo+json (RFC 7946), as hotspots are. */
    http_reply_json_as(r, 200, geojson ? "application/geo+json" : "application/json", root);
}

static void on_list(void *arg, PGresult *res, const char *error)
{
    struct list *l = arg;
    http_req *r = l->r;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else {
            log_error(r->id, "list query failed: %s", error);
            http_reply_error(r, 500, "internal", NULL, "cannot list incidents");
        }
        return;
    }
    int n = PQntuples(res);
    char cursor[64] = "";
    if (n > l->limit) {
        /* One row more than asked: there is a next page, starting after
           the last row returned. */
        n = (int)l->limit;
        snprintf(cursor, sizeof cursor, "%s_%s", PQgetvalue(res, n - 1, STORE_NCOLS),
                 PQgetvalue(res, n - 1, 0));
    }
    if (l->format == 2)
        render_list_csv(r, res, n, cursor);
    else
        render_list_json(r, res, n, cursor, l->format == 1);
}

/* A from/to bound: an instant, or a local date in the agency's zone (its
   midnight found by the database). 0, or -1 after replying. */
static int time_bound(http_req *r, const char *name, sbuf *sql, const char **params, int *np,
                      const char *op, char *store, size_t sz)
{
    params_time pt;
    int rc = filter_time(r, name, &pt);
    if (rc <= 0)
        return rc;
    if (!pt.is_date) {
        snprintf(store, sz, "%lld", (long long)pt.t);
        params[(*np)++] = store;
        sbuf_printf(sql, " AND i.counted_at %s to_timestamp($%d)", op, *np);
        return 0;
    }
    const ref_agency *a = ref_agency_by_id(app.ref, r->who.agency_id);
    snprintf(store, sz, "%04d-%02d-%02d", pt.y, pt.m, pt.d);
    params[(*np)++] = store;
    params[(*np)++] = a ? a->time_zone : "UTC";
    sbuf_printf(sql, " AND i.counted_at %s ($%d::date::timestamp AT TIME ZONE $%d)", op,
                *np - 1, *np);
    return 0;
}

/* Append "AND col = ANY($n)" for a comma list of precincts, offenses or categories. */
static int id_filter(http_req *r, const char *name, const char *list, sbuf *sql, sbuf *arr,
                     const char **params, int *np, const char *col)
{
    int precincts = strcmp(name, "precinct") == 0, areas = strcmp(name, "area") == 0;
    int program = strcmp(name, "program") == 0;
    int32_t n = (precincts || areas || program ? ref_precinct_max(app.ref)
                                               : ref_offense_max(app.ref)) + 1;
    uint8_t *mask = calloc((size_t)n, 1);
    if (mask == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    int rc = precincts                          ? filter_precincts(r, name, list, mask, n)
             : areas                            ? filter_areas(r, name, list, mask, n)
             : program                          ? filter_program(r, list, mask, n)
             : strcmp(name, "offense") == 0     ? filter_offenses(r, name, list, mask, n)
                                                : filter_categories(r, name, list, mask, n);
    if (rc == 0) {
        char num[16];
        sbuf_array_begin(arr);
        for (int32_t id = 0; id < n; id++) {
            if (mask[id]) {
                snprintf(num, sizeof num, "%d", id);
                sbuf_array_raw(arr, num);
            }
        }
        sbuf_array_end(arr);
        params[(*np)++] = sbuf_str(arr);
        sbuf_printf(sql, " AND %s = ANY($%d::int[])", col, *np);
    }
    free(mask);
    return rc;
}

/* "<counted_at seconds>_<id>", as on_list writes it, within what it can hold. */
static int parse_cursor(const char *v, long long *t, long long *id)
{
    const char *us = strchr(v, '_');
    if (us == NULL || us - v > 24)
        return -1;
    char head[32];
    memcpy(head, v, (size_t)(us - v));
    head[us - v] = '\0';
    const char *digits = head[0] == '-' ? head + 1 : head;
    long long secs;
    if (!(digits[0] == '0' && digits[1] == '\0') && !filter_id(digits, &secs))
        return -1;
    if (digits[0] == '0')
        secs = 0;
    secs = head[0] == '-' ? -secs : secs;
    if (secs < RFC3339_MIN || secs > RFC3339_MAX || !filter_id(us + 1, id))
        return -1;
    *t = secs;
    return 0;
}

/* The list's statement as it is built: its SQL and parameters. */
struct list_sql {
    sbuf sql, arrs[5];
    const char *params[24]; /* at most 21 used: see list_where */
    int np;
    char agency[16], limit[24], from[40], to[40], bbox[4][40], cell[4][40], cur_t[32],
        cur_id[32];
};

/* The token's precincts, never the unassigned: a scope a filter cannot widen. */
static void scope_filter(const http_req *r, struct list_sql *ls)
{
    sbuf_array_begin(&ls->arrs[1]);
    for (int i = 0; i < r->who.nprecincts; i++) {
        const ref_precinct *p = ref_precinct_by_code(app.ref, r->who.precincts[i]);
        char num[16];
        if (p) {
            snprintf(num, sizeof num, "%d", p->id);
            sbuf_array_raw(&ls->arrs[1], num);
        }
    }
    sbuf_array_end(&ls->arrs[1]);
    ls->params[ls->np++] = sbuf_str(&ls->arrs[1]);
    sbuf_printf(&ls->sql, " AND i.precinct_id = ANY($%d::int[])", ls->np);
}

/* A region reader's agency's shared offenses: a scope no filter can widen. */
static void offense_scope_filter(const http_req *r, struct list_sql *ls)
{
    sbuf_array_begin(&ls->arrs[4]);
    char num[16];
    for (int32_t id = 1; id < r->who.noffense_scope; id++) {
        if (r->who.offense_scope[id]) {
            snprintf(num, sizeof num, "%d", id);
            sbuf_array_raw(&ls->arrs[4], num);
        }
    }
    sbuf_array_end(&ls->arrs[4]);
    ls->params[ls->np++] = sbuf_str(&ls->arrs[4]);
    sbuf_printf(&ls->sql, " AND i.offense_id = ANY($%d::int[])", ls->np);
}

/*
 * The WHERE of the list from the query string, each filter read and its
 * condition appended, in the order they are checked. 0, or -1 after
 * replying.
 */
static int list_where(http_req *r, struct list_sql *ls)
{
    const char *v;
    int rc = 0;
    double b[4];
    const char *area = qs_get(&r->query, "area");
    if ((v = qs_get(&r->query, "precinct")) != NULL && area != NULL) {
        http_reply_error(r, 422, "invalid_field", "area", "give precinct or area, not both");
        return -1;
    }
    const char *program = qs_get(&r->query, "program");
    if (program && (v || area || !r->who.region)) {
        http_reply_error(r, 422, "invalid_field", "program",
                         r->who.region ? "give program, precinct or area, not two of them"
                                       : "program= is for region readers: an agency names its "
                                         "precincts or areas");
        return -1;
    }
    if (v != NULL || (v = area) != NULL || (v = program) != NULL)
        rc = id_filter(r, area ? "area" : program ? "program" : "precinct", v, &ls->sql,
                       &ls->arrs[0], ls->params, &ls->np, "i.precinct_id");
    if (rc == 0 && r->who.nprecincts >= 0)
        scope_filter(r, ls);
    if (rc == 0 && (v = qs_get(&r->query, "offense")) != NULL)
        rc = id_filter(r, "offense", v, &ls->sql, &ls->arrs[2], ls->params, &ls->np,
                       "i.offense_id");
    if (rc == 0 && (v = qs_get(&r->query, "category")) != NULL)
        rc = id_filter(r, "category", v, &ls->sql, &ls->arrs[3], ls->params, &ls->np,
                       "i.offense_id");
    if (rc == 0 && r->who.offense_scope)
        offense_scope_filter(r, ls);
    if (rc == 0)
        rc = time_bound(r, "from", &ls->sql, ls->params, &ls->np, ">=", ls->from,
                        sizeof ls->from);
    if (rc == 0)
        rc = time_bound(r, "to", &ls->sql, ls->params, &ls->np, "<", ls->to, sizeof ls->to);
    if (rc == 0 && r->who.region && qs_get(&r->query, "bbox")) {
        /* Rows carry locations moved to the agreed precision; a box on the
           exact ones would find them by bisection. */
        http_reply_error(r, 422, "invalid_field", "bbox",
                         "bbox is not offered to region readers: filter by precinct or area");
        return -1;
    }
    if (rc == 0 && (v = qs_get(&r->query, "counted")) != NULL) {
        /* The rows the counts count (the cube, the sheet, hotspots): crimes,
           neither unfounded nor cancelled -- what a drill-down lists. */
        if (strcmp(v, "true") == 0) {
            sbuf_puts(&ls->sql, " AND i.status NOT IN ('unfounded', 'cancelled') AND EXISTS ("
                                "SELECT 1 FROM offenses o WHERE o.id = i.offense_id AND o.crime)");
        } else if (strcmp(v, "false") != 0) {
            http_reply_error(r, 422, "invalid_field", "counted", "counted must be true or false");
            return -1;
        }
    }
    if (rc == 0 && r->who.region && qs_get(&r->query, "cell")) {
        http_reply_error(r, 422, "invalid_field", "cell",
                         "cell is not offered to region readers: filter by precinct or area");
        return -1;
    }
    if (rc != 0 || (rc = filter_bbox(r, "cell", b)) < 0)
        return -1;
    if (rc > 0) {
        /* A hotspot cell: west and south edges inside, east and north outside
           (as GET /v1/hotspots counts it; docs/API.md). */
        int np = ls->np;
        for (int i = 0; i < 4; i++) {
            snprintf(ls->cell[i], sizeof ls->cell[i], "%.17g", b[i]);
            ls->params[np++] = ls->cell[i];
        }
        ls->np = np;
        sbuf_printf(&ls->sql,
                    " AND i.geom && ST_MakeEnvelope($%d, $%d, $%d, $%d, 4326)"
                    " AND ST_X(i.geom) >= $%d AND ST_X(i.geom) < $%d"
                    " AND ST_Y(i.geom) >= $%d AND ST_Y(i.geom) < $%d",
                    np - 3, np - 2, np - 1, np, np - 3, np - 1, np - 2, np);
    }
    if ((rc = filter_bbox(r, "bbox", b)) < 0)
        return -1;
    if (rc > 0) {
        int np = ls->np;
        for (int i = 0; i < 4; i++) {
            snprintf(ls->bbox[i], sizeof ls->bbox[i], "%.17g", b[i]);
            ls->params[np++] = ls->bbox[i];
        }
        ls->np = np;
        sbuf_printf(&ls->sql,
                    " AND i.geom && ST_MakeEnvelope($%d, $%d, $%d, $%d, 4326)"
                    " AND ST_Covers(ST_MakeEnvelope($%d, $%d, $%d, $%d, 4326), i.geom)",
                    np - 3, np - 2, np - 1, np, np - 3, np - 2, np - 1, np);
    }
    if ((v = qs_get(&r->query, "cursor")) != NULL) {
        long long ct, cid;
        if (parse_cursor(v, &ct, &cid) != 0) {
            http_reply_error(r, 422, "invalid_field", "cursor",
                             "cursor is not one this server gave");
            return -1;
        }
        snprintf(ls->cur_t, sizeof ls->cur_t, "%lld", ct);
        snprintf(ls->cur_id, sizeof ls->cur_id, "%lld", cid);
        ls->params[ls->np++] = ls->cur_t;
        ls->params[ls->np++] = ls->cur_id;
        sbuf_printf(&ls->sql, " AND (i.counted_at, i.id) < (to_timestamp($%d), $%d::bigint)",
                    ls->np - 1, ls->np);
    }
    return 0;
}

/* The format and page size of the list into l. 0, or -1 after replying. */
static int read_list_question(http_req *r, struct list *l)
{
    const char *v = qs_get(&r->query, "format");
    if (v == NULL || strcmp(v, "json") == 0)
        l->format = 0;
    else if (strcmp(v, "geojson") == 0)
        l->format = 1;
    else if (strcmp(v, "csv") == 0)
        l->format = 2;
    else {
        http_reply_error(r, 422, "invalid_field", "format", "format must be json, geojson or csv");
        return -1;
    }
    l->limit = 100;
    return filter_int(r, "limit", 1, 1000, &l->limit);
}

void h_incidents_list(http_req *r)
{
    static const char *const allowed[] = {"precinct", "area",  "offense", "category", "from",
                                          "to",       "bbox",  "limit",   "cursor",   "format",
                                          "program",  "counted", "cell",  NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    struct list *l = http_state_new(r, sizeof *l, list_free);
    if (l == NULL)
        return;
    l->r = r;
    if (read_list_question(r, l) != 0)
        return;
    struct list_sql ls;
    memset(&ls, 0, sizeof ls);
    sbuf_init(&ls.sql);
    for (int i = 0; i < 5; i++)
        sbuf_init(&ls.arrs[i]);
    snprintf(ls.agency, sizeof ls.agency, "%d", r->who.agency_id);
    ls.params[ls.np++] = ls.agency;
    sbuf_puts(&ls.sql, "SELECT " STORE_COLS("i") ", extract(epoch FROM i.counted_at)::bigint"
                       " FROM incidents i WHERE i.agency_id = $1");
    if (list_where(r, &ls) == 0) {
        snprintf(ls.limit, sizeof ls.limit, "%ld", l->limit + 1);
        ls.params[ls.np++] = ls.limit;
        sbuf_printf(&ls.sql, " ORDER BY i.counted_at DESC, i.id DESC LIMIT $%d", ls.np);
        if (sbuf_failed(&ls.sql))
            http_reply_error(r, 500, "internal", NULL, "out of memory");
        else if (db_query(app.reader, sbuf_str(&ls.sql), ls.np, ls.params, on_list, l) != 0)
            http_reply_db_down(r);
    }
    sbuf_free(&ls.sql);
    for (int i = 0; i < 5; i++)
        sbuf_free(&ls.arrs[i]);
}
