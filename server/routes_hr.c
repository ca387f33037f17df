/*
 * routes_hr.c -- units, officers, shifts and rosters (API.md "Units,
 * officers, shifts"), and the live unit board.
 *
 * Writes go through the writer connection; the in-memory tables (hr.h)
 * change only after the database committed. Reads answer from memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "app.h"
#include "filters.h"
#include "hr.h"
#include "incident.h"
#include "log.h"
#include "reqbody.h"
#include "rfc3339.h"
#include "routes.h"
#include "sbuf.h"

/* ------------------------------------------------------------ helpers */

static const char *precinct_code_of(int id)
{
    const ref_precinct *p = id ? ref_precinct_by_id(app.ref, id) : NULL;
    return p ? p->code : NULL;
}

static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

/* May the token see (or write) something in precinct id (0: none)? */
static int in_scope(const http_req *r, int precinct_id)
{
    if (r->who.nprecincts < 0)
        return 1;
    const ref_precinct *p = precinct_id ? ref_precinct_by_id(app.ref, precinct_id) : NULL;
    return p && p->agency_id == r->who.agency_id && principal_allows(&r->who, p->code);
}

/*
 * The token's precincts as a mask of precinct ids (*n entries), for what
 * is filtered by precinct inside an object (a unit's incidents); *mask
 * NULL for a token of the whole agency. Only the token's codes that are
 * precincts of its agency count. 0, or -1 after replying.
 */
static int scope_mask(http_req *r, uint8_t **mask, int32_t *n)
{
    *mask = NULL;
    *n = 0;
    if (r->who.nprecincts < 0)
        return 0;
    *n = ref_precinct_max(app.ref) + 1;
    if ((*mask = calloc((size_t)*n, 1)) == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    for (int32_t id = 1; id < *n; id++)
        (*mask)[id] = (uint8_t)in_scope(r, id);
    return 0;
}

/*
 * An optional "precinct" member naming one of the agency's precincts the
 * token may write. *id = 0 when absent or null. 0, or -1 after replying.
 */
static int precinct_member(http_req *r, cJSON *doc, int *id)
{
    int bad = 0;
    const char *code = req_str_member(r, doc, "precinct", 0, 64, &bad);
    *id = 0;
    if (bad)
        return -1;
    if (code == NULL)
        return in_scope(r, 0) ? 0
                              : (http_reply_error(r, 403, "forbidden", "precinct",
                                                  "this token must name one of its precincts"),
                                 -1);
    const ref_precinct *p = ref_precinct_by_code(app.ref, code);
    if (p == NULL || p->agency_id != r->who.agency_id) {
        http_reply_error(r, 422, "invalid_field", "precinct", "unknown precinct \"%.64s\"", code);
        return -1;
    }
    if (!principal_allows(&r->who, p->code)) {
        http_reply_error(r, 403, "forbidden", "precinct", "this token may not write precinct %s",
                         p->code);
        return -1;
    }
    *id = p->id;
    return 0;
}

/* The optional ?precinct= or ?area= filter of a list: a mask, or NULL for all. */
static int precinct_param(http_req *r, uint8_t **mask, int32_t *n)
{
    *n = ref_precinct_max(app.ref) + 1;
    *mask = NULL;
    if (qs_get(&r->query, "precinct") == NULL && qs_get(&r->query, "area") == NULL)
        return 0;
    if ((*mask = calloc((size_t)*n, 1)) == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    if (filter_geography(r, *mask, *n) < 0) {
        free(*mask);
        *mask = NULL;
        return -1;
    }
    return 0;
}

static int precinct_selected(const uint8_t *mask, int32_t n, int id)
{
    return mask == NULL || (id > 0 && id < n && mask[id]);
}

/* ------------------------------------------------------------ units */

static const char *board_status_name(int status)
{
    switch (status) {
    case INC_DISPATCHED: return "dispatched";
    case INC_EN_ROUTE: return "en_route";
    case INC_ON_SCENE: return "on_scene";
    default: return "available";
    }
}

/*
 * A unit on the board; u NULL for a call sign not registered as a unit.
 * scope (NULL: all): the precincts whose incidents may be listed.
 */
static cJSON *unit_json(int agency, const hr_unit *u, const char *callsign, const uint8_t *scope,
                        int32_t nscope)
{
    unit_activity a;
    analytics_unit_activity(agency, callsign, scope, nscope, &a);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "callsign", callsign);
    add_str_or_null(o, "precinct", u ? precinct_code_of(u->precinct_id) : NULL);
    add_str_or_null(o, "type", u ? u->type : NULL);
    int oos = u && u->out_of_service;
    cJSON_AddStringToObject(o, "status", oos ? "out_of_service" : board_status_name(a.status));
    cJSON_AddStringToObject(o, "status_source", oos ? "set" : "incidents");
    cJSON *ids = cJSON_AddArrayToObject(o, "incidents");
    for (int i = 0; i < a.n; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)a.incidents[i]));
    cJSON_AddNumberToObject(o, "open_incidents", a.total);
    cJSON_AddBoolToObject(o, "registered", u != NULL);
    return o;
}

struct board_extra {
    int agency;
    cJSON *arr;
    const char *status;
};

static void add_unregistered(const char *callsign, const unit_activity *a, void *arg)
{
    struct board_extra *x = arg;
    if (hr_unit_get(x->agency, callsign))
        return;
    if (x->status && strcmp(x->status, board_status_name(a->status)) != 0)
        return;
    cJSON_AddItemToArray(x->arr, unit_json(x->agency, NULL, callsign, NULL, 0));
}

static int cmp_callsign(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(cJSON_GetObjectItemCaseSensitive(x, "callsign")->valuestring,
                  cJSON_GetObjectItemCaseSensitive(y, "callsign")->valuestring);
}

/* Sort an array of unit objects by call sign. */
static void sort_units(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    if (n < 2)
        return;
    cJSON **items = malloc((size_t)n * sizeof *items);
    if (items == NULL)
        return;
    int i = 0;
    cJSON *it;
    while ((it = cJSON_DetachItemFromArray(arr, 0)) != NULL)
        items[i++] = it;
    qsort(items, (size_t)i, sizeof *items, cmp_callsign);
    for (int k = 0; k < i; k++)
        cJSON_AddItemToArray(arr, items[k]);
    free(items);
}

void h_units_get(http_req *r)
{
    static const char *const allowed[] = {"precinct", "area", "status", NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    static const char *const statuses[] = {"available", "dispatched", "en_route", "on_scene",
                                           "out_of_service", NULL};
    const char *status = qs_get(&r->query, "status");
    if (status) {
        int k = 0;
        while (statuses[k] && strcmp(statuses[k], status) != 0)
            k++;
        if (statuses[k] == NULL) {
            http_reply_error(r, 422, "invalid_field", "status",
                             "status must be available, dispatched, en_route, on_scene or "
                             "out_of_service");
            return;
        }
    }
    uint8_t *mask, *scope;
    int32_t n, nscope;
    if (scope_mask(r, &scope, &nscope) != 0)
        return;
    if (precinct_param(r, &mask, &n) != 0) {
        free(scope);
        return;
    }
    int agency = r->who.agency_id;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "units");
    for (size_t id = 1; id < hr_unit_max(); id++) {
        const hr_unit *u = hr_unit_by_id((int)id);
        if (u == NULL || u->agency_id != agency || !in_scope(r, u->precinct_id) ||
            !precinct_selected(mask, n, u->precinct_id))
            continue;
        cJSON *o = unit_json(agency, u, u->callsign, scope, nscope);
        if (status &&
            strcmp(cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring, status) != 0) {
            cJSON_Delete(o);
            continue;
        }
        cJSON_AddItemToArray(arr, o);
    }
    /* Call signs dispatch attached to incidents without registering them:
       shown to tokens that see the whole agency, without a precinct filter. */
    if (mask == NULL && r->who.nprecincts < 0) {
        struct board_extra x = {agency, arr, status};
        analytics_units_foreach(agency, add_unregistered, &x);
    }
    sort_units(arr);
    free(mask);
    free(scope);
    http_reply_json(r, 200, root);
}

/* Reply 200 (or 201) with unit u as the token sees it on the board. */
static void reply_unit(http_req *r, int status, const hr_unit *u)
{
    uint8_t *scope;
    int32_t nscope;
    if (scope_mask(r, &scope, &nscope) != 0)
        return;
    cJSON *o = unit_json(u->agency_id, u, u->callsign, scope, nscope);
    free(scope);
    http_reply_json(r, status, o);
}

void h_unit_get(http_req *r)
{
    const hr_unit *u = hr_unit_get(r->who.agency_id, r->seg[2]);
    if (u == NULL || !in_scope(r, u->precinct_id)) {
        http_reply_error(r, 404, "not_found", NULL, "no unit %.64s", r->seg[2]);
        return;
    }
    reply_unit(r, 200, u);
}

#define UNIT_COLS "id, agency_id, callsign, precinct_id, type, status, (xmax = 0)"

static void on_unit_written(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "unit update"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 404, "not_found", NULL, "no unit %.64s", r->seg[2]);
        return;
    }
    int id = atoi(PQgetvalue(res, 0, 0)), agency = atoi(PQgetvalue(res, 0, 1));
    if (hr_put_unit(id, agency, PQgetvalue(res, 0, 2),
                    PQgetisnull(res, 0, 3) ? 0 : atoi(PQgetvalue(res, 0, 3)),
                    PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4),
                    !PQgetisnull(res, 0, 5)) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    reply_unit(r, PQgetvalue(res, 0, 6)[0] == 't' ? 201 : 200, hr_unit_by_id(id));
}

void h_unit_put(http_req *r)
{
    const char *callsign = r->seg[2];
    if (strlen(callsign) < 1 || strlen(callsign) > 32 ||
        !qs_utf8_valid(callsign, strlen(callsign))) {
        http_reply_error(r, 422, "invalid_field", "callsign", "a call sign is 1 to 32 bytes");
        return;
    }
    const hr_unit *old = hr_unit_get(r->who.agency_id, callsign);
    if (old && !in_scope(r, old->precinct_id)) {
        http_reply_error(r, 403, "forbidden", "precinct",
                         "unit %.64s belongs to a precinct this token may not write", callsign);
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0, precinct;
    const char *type = req_str_member(r, doc, "type", 0, 64, &bad);
    if (bad || precinct_member(r, doc, &precinct) != 0) {
        cJSON_Delete(doc);
        return;
    }
    char agency[16], pid[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    snprintf(pid, sizeof pid, "%d", precinct);
    const char *params[4] = {agency, callsign, precinct ? pid : NULL, type};
    int rc = db_query(app.writer,
                      "INSERT INTO units (agency_id, callsign, precinct_id, type)"
                      " VALUES ($1, $2, $3, $4)"
                      " ON CONFLICT (agency_id, callsign) DO UPDATE SET"
                      "  precinct_id = EXCLUDED.precinct_id, type = EXCLUDED.type,"
                      "  updated_at = now()"
                      " RETURNING " UNIT_COLS,
                      4, params, on_unit_written, r);
    cJSON_Delete(doc);
    if (rc != 0)
        http_reply_db_down(r);
}

void h_unit_status_put(http_req *r)
{
    const hr_unit *u = hr_unit_get(r->who.agency_id, r->seg[2]);
    if (u == NULL) {
        http_reply_error(r, 404, "not_found", NULL,
                         "no unit %.64s (register it with PUT /v1/units/{callsign})", r->seg[2]);
        return;
    }
    if (!in_scope(r, u->precinct_id)) {
        http_reply_error(r, 403, "forbidden", NULL,
                         "unit %.64s belongs to a precinct this token may not write", r->seg[2]);
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *status = req_str_member(r, doc, "status", 1, 32, &bad);
    if (bad) {
        cJSON_Delete(doc);
        return;
    }
    int oos;
    if (strcmp(status, "out_of_service") == 0)
        oos = 1;
    else if (strcmp(status, "in_service") == 0 || strcmp(status, "available") == 0)
        oos = 0;
    else {
        cJSON_Delete(doc);
        http_reply_error(r, 422, "invalid_field", "status",
                         "status must be out_of_service, or in_service (the board then follows "
                         "the unit's incidents)");
        return;
    }
    cJSON_Delete(doc);
    char id[16];
    snprintf(id, sizeof id, "%d", u->id);
    const char *params[2] = {id, oos ? "out_of_service" : NULL};
    if (db_query(app.writer,
                 "UPDATE units SET status = $2, updated_at = now() WHERE id = $1"
                 " RETURNING id, agency_id, callsign, precinct_id, type, status, false",
                 2, params, on_unit_written, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ officers */

static cJSON *officer_json(const hr_officer *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "badge", o->badge);
    cJSON_AddStringToObject(j, "name", o->name);
    add_str_or_null(j, "rank", o->rank);
    add_str_or_null(j, "precinct", precinct_code_of(o->precinct_id));
    return j;
}

void h_officers_get(http_req *r)
{
    static const char *const allowed[] = {"precinct", "area", NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    uint8_t *mask;
    int32_t n;
    if (precinct_param(r, &mask, &n) != 0)
        return;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "officers");
    for (size_t id = 1; id < hr_officer_max(); id++) {
        const hr_officer *o = hr_officer_by_id((int)id);
        if (o && o->agency_id == r->who.agency_id && in_scope(r, o->precinct_id) &&
            precinct_selected(mask, n, o->precinct_id))
            cJSON_AddItemToArray(arr, officer_json(o));
    }
    free(mask);
    http_reply_json(r, 200, root);
}

static void on_officer_written(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "officer update"))
        return;
    int id = atoi(PQgetvalue(res, 0, 0));
    if (hr_put_officer(id, atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2),
                       PQgetvalue(res, 0, 3), PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4),
                       PQgetisnull(res, 0, 5) ? 0 : atoi(PQgetvalue(res, 0, 5))) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    http_reply_json(r, PQgetvalue(res, 0, 6)[0] == 't' ? 201 : 200,
                    officer_json(hr_officer_by_id(id)));
}

void h_officer_put(http_req *r)
{
    const char *badge = r->seg[2];
    if (!req_code_ok(badge, 32)) {
        http_reply_error(r, 422, "invalid_field", "badge",
                         "a badge is 1 to 32 letters, digits, '-', '_' or '.'");
        return;
    }
    const hr_officer *old = hr_officer_get(r->who.agency_id, badge);
    if (old && !in_scope(r, old->precinct_id)) {
        http_reply_error(r, 403, "forbidden", "precinct",
                         "officer %s belongs to a precinct this token may not write", badge);
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0, precinct;
    const char *name = req_str_member(r, doc, "name", 1, 200, &bad);
    const char *rank = req_str_member(r, doc, "rank", 0, 64, &bad);
    if (bad || precinct_member(r, doc, &precinct) != 0) {
        cJSON_Delete(doc);
        return;
    }
    char agency[16], pid[16];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    snprintf(pid, sizeof pid, "%d", precinct);
    const char *params[5] = {agency, badge, name, rank, precinct ? pid : NULL};
    int rc = db_query(app.writer,
                      "INSERT INTO officers (agency_id, badge, name, rank, precinct_id)"
                      " VALUES ($1, $2, $3, $4, $5)"
                      " ON CONFLICT (agency_id, badge) DO UPDATE SET name = EXCLUDED.name,"
                      "  rank = EXCLUDED.rank, precinct_id = EXCLUDED.precinct_id,"
                      "  updated_at = now()"
                      " RETURNING id, agency_id, badge, name, rank, precinct_id, (xmax = 0)",
                      5, params, on_officer_written, r);
    cJSON_Delete(doc);
    if (rc != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ shifts */

static cJSON *shift_json(const hr_shift *s)
{
    char a[8], b[8];
    hr_format_minutes(s->starts, a);
    hr_format_minutes(s->ends, b);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "code", s->code);
    cJSON_AddStringToObject(j, "starts", a);
    cJSON_AddStringToObject(j, "ends", b);
    int len = s->ends > s->starts ? s->ends - s->starts : s->ends + 1440 - s->starts;
    cJSON_AddNumberToObject(j, "hours", len / 60.0);
    return j;
}

void h_shifts_get(http_req *r)
{
    static const char *const allowed[] = {NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    const hr_shift *order[HR_MAX_SHIFTS];
    int8_t quarter[RT_QUARTERS];
    int n = hr_shift_table(r->who.agency_id, order, quarter);
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "shifts");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, shift_json(order[i]));
    http_reply_json(r, 200, root);
}

/* "HH:MM" (or "HH:MM:00") on a quarter hour, 00:00..24:00 -> minutes. */
static int parse_clock(const char *s, int *minutes)
{
    size_t n = strlen(s);
    if ((n != 5 && n != 8) || s[2] != ':' ||
        (n == 8 && (s[5] != ':' || s[6] != '0' || s[7] != '0')))
        return -1;
    static const int digits[] = {0, 1, 3, 4};
    for (int i = 0; i < 4; i++)
        if (s[digits[i]] < '0' || s[digits[i]] > '9')
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || m % 15 != 0 || (h == 24 && m != 0))
        return -1;
    *minutes = (h * 60 + m) % 1440;
    return 0;
}

static void on_shift_written(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "shift update"))
        return;
    int id = atoi(PQgetvalue(res, 0, 0)), s, e;
    if (parse_clock(PQgetvalue(res, 0, 3), &s) != 0 || parse_clock(PQgetvalue(res, 0, 4), &e) ||
        hr_put_shift(id, atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2), s, e) != 0) {
        http_reply_error(r, 500, "internal", NULL, "shift stored but not readable");
        return;
    }
    http_reply_json(r, PQgetvalue(res, 0, 5)[0] == 't' ? 201 : 200,
                    shift_json(hr_shift_by_id(id)));
}

void h_shift_put(http_req *r)
{
    const char *code = r->seg[2];
    if (!req_code_ok(code, 32)) {
        http_reply_error(r, 422, "invalid_field", "code",
                         "a shift code is 1 to 32 letters, digits, '-', '_' or '.'");
        return;
    }
    if (r->who.nprecincts >= 0) {
        http_reply_error(r, 403, "forbidden", NULL,
                         "tours are the agency's: a token limited to precincts may not change "
                         "them");
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0, s = 0, e = 0;
    const char *starts = req_str_member(r, doc, "starts", 1, 8, &bad);
    const char *ends = req_str_member(r, doc, "ends", 1, 8, &bad);
    if (!bad && parse_clock(starts, &s) != 0) {
        http_reply_error(r, 422, "invalid_field", "starts",
                         "starts must be a local time HH:MM on a quarter hour");
        bad = 1;
    }
    if (!bad && parse_clock(ends, &e) != 0) {
        http_reply_error(r, 422, "invalid_field", "ends",
                         "ends must be a local time HH:MM on a quarter hour (24:00 allowed)");
        bad = 1;
    }
    const hr_shift *order[HR_MAX_SHIFTS];
    int8_t quarter[RT_QUARTERS];
    if (!bad && hr_shift_get(r->who.agency_id, code) == NULL &&
        hr_shift_table(r->who.agency_id, order, quarter) >= HR_MAX_SHIFTS) {
        http_reply_error(r, 422, "invalid_field", "code", "an agency has at most %d tours",
                         HR_MAX_SHIFTS);
        bad = 1;
    }
    cJSON_Delete(doc);
    if (bad)
        return;
    char agency[16], a[8], b[8];
    snprintf(agency, sizeof agency, "%d", r->who.agency_id);
    hr_format_minutes(s, a);
    hr_format_minutes(e, b);
    const char *params[4] = {agency, code, a, b};
    if (db_query(app.writer,
                 "INSERT INTO shifts (agency_id, code, starts, ends) VALUES ($1, $2, $3, $4)"
                 " ON CONFLICT (agency_id, code) DO UPDATE SET starts = EXCLUDED.starts,"
                 "  ends = EXCLUDED.ends, updated_at = now()"
                 " RETURNING id, agency_id, code, starts, ends, (xmax = 0)",
                 4, params, on_shift_written, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ rosters */

/* The shift and day of a roster path; 0, or -1 after replying. */
static int roster_target(http_req *r, const hr_shift **s, int64_t *day)
{
    *s = hr_shift_get(r->who.agency_id, r->seg[2]);
    if (*s == NULL) {
        http_reply_error(r, 404, "not_found", NULL, "no shift %.64s", r->seg[2]);
        return -1;
    }
    int y, m, d;
    if (rfc3339_parse_date(r->seg[4], &y, &m, &d) != 0) {
        http_reply_error(r, 422, "invalid_field", "day", "the day is a date YYYY-MM-DD");
        return -1;
    }
    *day = rfc3339_days_from_civil(y, m, d);
    return 0;
}

/*
 * Is assignment a one of the token's? Its officer must be of the token's
 * precincts, and so must its unit if it has one: a token limited to
 * precincts neither sees nor replaces the others' entries.
 */
static int roster_entry_in_scope(const http_req *r, const hr_assignment *a)
{
    if (r->who.nprecincts < 0)
        return 1;
    const hr_officer *o = hr_officer_by_id(a->officer_id);
    const hr_unit *u = a->unit_id ? hr_unit_by_id(a->unit_id) : NULL;
    return o && in_scope(r, o->precinct_id) &&
           (a->unit_id == 0 || (u && in_scope(r, u->precinct_id)));
}

/* The roster of (s, day) as the token sees it. */
static cJSON *roster_json(const http_req *r, const hr_shift *s, int64_t day)
{
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(day, &y, &m, &d);
    char date[16];
    snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)y, m, d);
    cJSON *o = shift_json(s);
    cJSON_AddStringToObject(o, "shift", s->code);
    cJSON_DeleteItemFromObject(o, "code");
    cJSON_AddStringToObject(o, "day", date);
    cJSON *arr = cJSON_AddArrayToObject(o, "assignments");
    size_t n;
    const hr_assignment *a = hr_assignments(&n);
    for (size_t i = 0; i < n; i++) {
        if (a[i].shift_id != s->id || a[i].day != day || !roster_entry_in_scope(r, &a[i]))
            continue;
        const hr_officer *off = hr_officer_by_id(a[i].officer_id);
        const hr_unit *u = hr_unit_by_id(a[i].unit_id);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "officer", off ? off->badge : "");
        add_str_or_null(j, "name", off ? off->name : NULL);
        add_str_or_null(j, "unit", u ? u->callsign : NULL);
        cJSON_AddItemToArray(arr, j);
    }
    return o;
}

void h_roster_get(http_req *r)
{
    const hr_shift *s;
    int64_t day;
    if (roster_target(r, &s, &day) == 0)
        http_reply_json(r, 200, roster_json(r, s, day));
}

struct roster_put {
    int shift_id;
    int64_t day;
    size_t n;
    hr_assignment *a;
};

static void roster_put_free(void *arg)
{
    struct roster_put *p = arg;
    free(p->a);
    free(p);
}

/* The statement returns the whole roster as stored now: officer, unit (0: none). */
static void on_roster_written(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct roster_put *p = r->state;
    if (req_write_failed(r, res, error, "roster update"))
        return;
    int n = PQntuples(res);
    hr_assignment *all = calloc((size_t)(n ? n : 1), sizeof *all);
    if (all == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        all[i].shift_id = p->shift_id;
        all[i].day = p->day;
        all[i].officer_id = atoi(PQgetvalue(res, i, 0));
        all[i].unit_id = atoi(PQgetvalue(res, i, 1));
    }
    int rc = hr_set_roster(p->shift_id, p->day, all, (size_t)n);
    free(all);
    if (rc != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    http_reply_json(r, 200, roster_json(r, hr_shift_by_id(p->shift_id), p->day));
}

/*
 * The officers of (s, day) whose entries the token does not see (another
 * precinct's officer or unit): they keep them, and cannot be listed.
 * 0, or -1 after replying.
 */
static int held_officers(http_req *r, const struct roster_put *p, int **held, size_t *nheld)
{
    *held = NULL;
    *nheld = 0;
    if (r->who.nprecincts < 0)
        return 0;
    size_t na;
    const hr_assignment *cur = hr_assignments(&na);
    for (size_t k = 0; k < na; k++) {
        if (cur[k].shift_id != p->shift_id || cur[k].day != p->day ||
            roster_entry_in_scope(r, &cur[k]))
            continue;
        int *grown = realloc(*held, (*nheld + 1) * sizeof **held);
        if (grown == NULL) {
            http_reply_error(r, 500, "internal", NULL, "out of memory");
            return -1;
        }
        *held = grown;
        (*held)[(*nheld)++] = cur[k].officer_id;
    }
    return 0;
}

/*
 * Entry p->n of the roster from item, checked: an officer of the agency
 * listed once, both it and its unit (if any) the token's to write.
 * 0, or -1 after replying.
 */
static int read_assignment(http_req *r, struct roster_put *p, const cJSON *item,
                           const int *held, size_t nheld)
{
    int i = (int)p->n;
    char field[48];
    const cJSON *ob = cJSON_GetObjectItemCaseSensitive(item, "officer");
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(item, "unit");
    snprintf(field, sizeof field, "assignments[%d].officer", i);
    const hr_officer *o =
        cJSON_IsString(ob) ? hr_officer_get(r->who.agency_id, ob->valuestring) : NULL;
    if (o == NULL) {
        http_reply_error(r, 422, "invalid_field", field,
                         "%s must be the badge of one of the agency's officers", field);
        return -1;
    }
    for (size_t k = 0; k < p->n; k++)
        if (p->a[k].officer_id == o->id) {
            http_reply_error(r, 422, "invalid_field", field, "officer %s is listed twice",
                             o->badge);
            return -1;
        }
    if (!in_scope(r, o->precinct_id)) {
        http_reply_error(r, 403, "forbidden", field,
                         "%s is an officer of a precinct this token may not write", field);
        return -1;
    }
    /* The officer's entry here may be another precinct's (on its unit). */
    for (size_t k = 0; k < nheld; k++)
        if (held[k] == o->id) {
            http_reply_error(r, 403, "forbidden", field,
                             "officer %s is on a unit of a precinct this token may not write "
                             "in this tour",
                             o->badge);
            return -1;
        }
    const hr_unit *u = NULL;
    if (un && !cJSON_IsNull(un)) {
        snprintf(field, sizeof field, "assignments[%d].unit", i);
        u = cJSON_IsString(un) ? hr_unit_get(r->who.agency_id, un->valuestring) : NULL;
        if (u == NULL) {
            http_reply_error(r, 422, "invalid_field", field,
                             "%s must be the call sign of one of the agency's units", field);
            return -1;
        }
        if (!in_scope(r, u->precinct_id)) {
            http_reply_error(r, 403, "forbidden", field,
                             "%s is a unit of a precinct this token may not write", field);
            return -1;
        }
    }
    p->a[p->n].shift_id = p->shift_id;
    p->a[p->n].day = p->day;
    p->a[p->n].officer_id = o->id;
    p->a[p->n].unit_id = u ? u->id : 0;
    p->n++;
    return 0;
}

/* Write the roster p->a in one statement; on_roster_written answers. */
static void write_roster(http_req *r, const struct roster_put *p)
{
    sbuf officers, unit_ids, scope;
    sbuf_init(&officers);
    sbuf_init(&unit_ids);
    sbuf_init(&scope);
    sbuf_putc(&officers, '{');
    sbuf_putc(&unit_ids, '{');
    for (size_t k = 0; k < p->n; k++) {
        sbuf_printf(&officers, "%s%d", k ? "," : "", p->a[k].officer_id);
        sbuf_printf(&unit_ids, "%s%d", k ? "," : "", p->a[k].unit_id);
    }
    sbuf_putc(&officers, '}');
    sbuf_putc(&unit_ids, '}');
    /* A token limited to precincts replaces only the entries it sees. */
    if (r->who.nprecincts >= 0) {
        sbuf_putc(&scope, '{');
        int first = 1;
        for (int id = 1; id < ref_precinct_max(app.ref); id++)
            if (in_scope(r, id)) {
                sbuf_printf(&scope, "%s%d", first ? "" : ",", id);
                first = 0;
            }
        sbuf_putc(&scope, '}');
    }
    if (sbuf_failed(&officers) || sbuf_failed(&unit_ids) || sbuf_failed(&scope)) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        goto out;
    }
    char sid[16], date[16];
    int64_t y;
    int mo, d;
    rfc3339_civil_from_days(p->day, &y, &mo, &d);
    snprintf(sid, sizeof sid, "%d", p->shift_id);
    snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)y, mo, d);
    const char *params[5] = {sid, date, sbuf_str(&officers), sbuf_str(&unit_ids),
                             r->who.nprecincts >= 0 ? sbuf_str(&scope) : NULL};
    /*
     * One statement: the officers no longer listed leave (with a scope $5,
     * only entries whose officer, and unit if any, are in it), the others
     * are inserted or moved to their unit (never taking over an entry of
     * another precinct's unit, should one have appeared meanwhile). It
     * returns the roster as it now stands -- what was inserted or updated,
     * and what was there before and neither deleted nor touched -- which
     * becomes the roster in memory.
     */
    if (db_query(app.writer,
                 "WITH del AS (DELETE FROM shift_assignments a WHERE a.shift_id = $1"
                 "  AND a.day = $2::date AND a.officer_id <> ALL ($3::int[])"
                 "  AND ($5::int[] IS NULL OR (EXISTS (SELECT 1 FROM officers o"
                 "    WHERE o.id = a.officer_id AND o.precinct_id = ANY ($5::int[]))"
                 "   AND (a.unit_id IS NULL OR EXISTS (SELECT 1 FROM units u"
                 "    WHERE u.id = a.unit_id AND u.precinct_id = ANY ($5::int[])))))"
                 "  RETURNING a.officer_id),"
                 " ins AS (INSERT INTO shift_assignments AS a (shift_id, day, officer_id, unit_id)"
                 "  SELECT $1, $2::date, o, nullif(u, 0)"
                 "  FROM unnest($3::int[], $4::int[]) AS t(o, u)"
                 "  ON CONFLICT (shift_id, day, officer_id) DO UPDATE SET unit_id = EXCLUDED.unit_id"
                 "   WHERE $5::int[] IS NULL OR a.unit_id IS NULL OR EXISTS (SELECT 1 FROM units u"
                 "    WHERE u.id = a.unit_id AND u.precinct_id = ANY ($5::int[]))"
                 "  RETURNING a.officer_id, coalesce(a.unit_id, 0) AS unit_id)"
                 " SELECT officer_id, unit_id FROM ins"
                 " UNION ALL SELECT a.officer_id, coalesce(a.unit_id, 0) FROM shift_assignments a"
                 "  WHERE a.shift_id = $1 AND a.day = $2::date"
                 "  AND a.officer_id NOT IN (SELECT officer_id FROM del)"
                 "  AND a.officer_id NOT IN (SELECT officer_id FROM ins)",
                 5, params, on_roster_written, r) != 0)
        http_reply_db_down(r);
out:
    sbuf_free(&officers);
    sbuf_free(&unit_ids);
    sbuf_free(&scope);
}

void h_roster_put(http_req *r)
{
    const hr_shift *s;
    int64_t day;
    if (roster_target(r, &s, &day) != 0)
        return;
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "assignments");
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(doc);
        http_reply_error(r, 422, "invalid_field", "assignments",
                         "assignments must be an array of {\"officer\", \"unit\"}");
        return;
    }
    int n = cJSON_GetArraySize(list);
    if (n > 10000) {
        cJSON_Delete(doc);
        http_reply_error(r, 422, "invalid_field", "assignments", "at most 10000 assignments");
        return;
    }
    struct roster_put *p = calloc(1, sizeof *p);
    if (p == NULL || (n && (p->a = calloc((size_t)n, sizeof *p->a)) == NULL)) {
        free(p);
        cJSON_Delete(doc);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    p->shift_id = s->id;
    p->day = day;
    r->state = p;
    r->state_free = roster_put_free;
    int *held;
    size_t nheld;
    int rc = held_officers(r, p, &held, &nheld);
    for (const cJSON *item = list->child; rc == 0 && item; item = item->next)
        rc = read_assignment(r, p, item, held, nheld);
    if (rc == 0)
        write_roster(r, p);
    free(held);
    cJSON_Delete(doc);
}
