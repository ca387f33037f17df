/*
 * test_incident.c -- unit tests for lib/incident: JSON in, validation,
 * merge, equality, JSON out.
 *
 * Inputs are built with cJSON_Parse from string literals: a complete valid
 * incident (BASE, the example of API.md) with members replaced or removed.
 * Expected epoch values were computed with GNU date, e.g.
 * `date -u -d 2026-11-27T13:55:00-06:00 +%s`.
 */
#include "incident.h"
#include "unit.h"

#include <stdint.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const char BASE[] =
    "{\"source\": \"cad-gt-01\", \"external_id\": \"2026-0112233\", \"offense\": \"ROB\","
    " \"priority\": 2, \"precinct\": \"P-17\","
    " \"location\": {\"lat\": 14.6349, \"lon\": -90.5069},"
    " \"address\": \"6a Avenida 12-34, Zona 1\","
    " \"occurred_at\": \"2026-11-27T13:55:00-06:00\","
    " \"received_at\": \"2026-11-27T14:01:12-06:00\","
    " \"dispatched_at\": \"2026-11-27T14:02:40-06:00\","
    " \"en_route_at\": \"2026-11-27T14:03:05-06:00\","
    " \"on_scene_at\": \"2026-11-27T14:09:31-06:00\","
    " \"cleared_at\": null, \"status\": \"on_scene\", \"units\": [\"2A12\"]}";

/* The instants of BASE. */
#define T_OCCURRED 1795809300LL   /* 2026-11-27T19:55:00Z */
#define T_RECEIVED 1795809672LL   /* 2026-11-27T20:01:12Z */
#define T_DISPATCHED 1795809760LL /* 2026-11-27T20:02:40Z */
#define T_EN_ROUTE 1795809785LL   /* 2026-11-27T20:03:05Z */
#define T_ON_SCENE 1795810171LL   /* 2026-11-27T20:09:31Z */

#define TBIT(t) (1u << (t))
#define FTIME(t) ((unsigned)INC_F_TIME0 << (t))

/* ---- helpers ------------------------------------------------------------ */

/*
 * A JSON document: base_text (NULL: an empty object) with each member of
 * overrides (JSON object text, may be NULL) put in place of the base's; a
 * member whose value is the string "<absent>" removes it instead.
 */
static cJSON *doc_from(const char *base_text, const char *overrides)
{
    cJSON *d = cJSON_Parse(base_text ? base_text : "{}");
    CHECK(d != NULL);
    if (d == NULL)
        return cJSON_CreateObject();
    if (overrides) {
        cJSON *o = cJSON_Parse(overrides);
        CHECK(o != NULL);
        if (o == NULL) {
            fprintf(stderr, "  bad override JSON: %s\n", overrides);
            return d;
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, o)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(d, m->string);
            if (cJSON_IsString(m) && strcmp(m->valuestring, "<absent>") == 0)
                continue;
            cJSON_AddItemToObject(d, m->string, cJSON_Duplicate(m, 1));
        }
        cJSON_Delete(o);
    }
    return d;
}

static cJSON *base_with(const char *overrides)
{
    return doc_from(BASE, overrides);
}

/* Parse doc (deleted here); expect failure with the given error. */
static void fails_doc(cJSON *doc, int mode, int status, const char *code, const char *field,
                      int line)
{
    inc_incident in;
    inc_error err;
    memset(&err, 'x', sizeof err);
    int rc = inc_parse(doc, mode, &in, &err);
    if (rc != -1 || err.status != status || strcmp(err.code, code) != 0 ||
        strcmp(err.field, field) != 0 || err.message[0] == '\0' ||
        memchr(err.message, '\0', sizeof err.message) == NULL) {
        char *txt = cJSON_PrintUnformatted(doc);
        fprintf(stderr,
                "%s:%d: inc_parse(%s) -> rc %d, %d %.32s field \"%.48s\" (%.256s); "
                "expected -1, %d %s field \"%s\"\n",
                __FILE__, line, txt ? txt : "?", rc, err.status, err.code, err.field,
                err.message, status, code, field);
        free(txt);
        unit_failures_++;
    }
    inc_clear(&in);
    cJSON_Delete(doc);
}

/* Parse doc (deleted here) into *in; expect success. */
static int ok_doc(cJSON *doc, int mode, inc_incident *in, int line)
{
    inc_error err;
    int rc = inc_parse(doc, mode, in, &err);
    if (rc != 0) {
        char *txt = cJSON_PrintUnformatted(doc);
        fprintf(stderr, "%s:%d: inc_parse(%s) failed: %d %s field \"%s\" (%s)\n", __FILE__,
                line, txt ? txt : "?", err.status, err.code, err.field, err.message);
        free(txt);
        unit_failures_++;
    }
    cJSON_Delete(doc);
    return rc;
}

#define FAILS(overrides, code, field)                                                     \
    fails_doc(base_with(overrides), INC_PARSE_FULL, 422, (code), (field), __LINE__)
#define INVALID(overrides, field) FAILS((overrides), "invalid_field", (field))
#define MISSING(overrides, field) FAILS((overrides), "missing_field", (field))
#define PATCH_FAILS(json, code, field)                                                    \
    fails_doc(doc_from(NULL, (json)), INC_PARSE_PATCH, 422, (code), (field), __LINE__)

/* FULL parse of BASE with overrides must succeed; the result is dropped. */
#define ACCEPTS(overrides)                                                                \
    do {                                                                                  \
        inc_incident tmp_;                                                                \
        ok_doc(base_with(overrides), INC_PARSE_FULL, &tmp_, __LINE__);                    \
        inc_clear(&tmp_);                                                                 \
    } while (0)

/* BASE with member name set to a string of n copies of c. */
static cJSON *base_with_long(const char *name, char c, size_t n)
{
    cJSON *d = base_with(NULL);
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    cJSON_DeleteItemFromObjectCaseSensitive(d, name);
    cJSON_AddStringToObject(d, name, s);
    free(s);
    return d;
}

/* ---- names -------------------------------------------------------------- */

static void test_names(void)
{
    static const char *const st[] = {"open",    "dispatched", "en_route", "on_scene",
                                      "cleared", "unfounded",  "cancelled"};
    CHECK_INT(INC_STATUS_COUNT, 7);
    for (int i = 0; i < INC_STATUS_COUNT; i++) {
        CHECK_STR(inc_status_name(i), st[i]);
        CHECK_INT(inc_status_parse(st[i]), i);
    }
    CHECK(inc_status_name(-1) == NULL);
    CHECK(inc_status_name(INC_STATUS_COUNT) == NULL);
    CHECK_INT(inc_status_parse("Open"), -1);
    CHECK_INT(inc_status_parse(""), -1);
    CHECK_INT(inc_status_parse("solved"), -1);
    CHECK_INT(inc_status_parse("open "), -1);

    static const char *const tn[] = {"occurred_at", "received_at", "dispatched_at",
                                     "en_route_at", "on_scene_at", "cleared_at"};
    CHECK_INT(INC_T_COUNT, 6);
    for (int t = 0; t < INC_T_COUNT; t++)
        CHECK_STR(inc_time_name(t), tn[t]);
    CHECK(inc_time_name(-1) == NULL);
    CHECK(inc_time_name(INC_T_COUNT) == NULL);
}

/* ---- FULL parse: accepted ----------------------------------------------- */

static void test_parse_full_base(void)
{
    inc_incident in;
    if (ok_doc(base_with(NULL), INC_PARSE_FULL, &in, __LINE__) != 0) {
        inc_clear(&in);
        return;
    }
    CHECK_STR(in.source, "cad-gt-01");
    CHECK_STR(in.external_id, "2026-0112233");
    CHECK_STR(in.offense, "ROB");
    CHECK_STR(in.precinct, "P-17");
    CHECK_STR(in.address, "6a Avenida 12-34, Zona 1");
    CHECK_INT(in.priority, 2);
    CHECK_INT(in.status, INC_ON_SCENE);
    CHECK_INT(in.has_location, 1);
    CHECK(in.lat == 14.6349);
    CHECK(in.lon == -90.5069);
    CHECK_INT(in.times_set, TBIT(INC_T_OCCURRED) | TBIT(INC_T_RECEIVED) |
                                TBIT(INC_T_DISPATCHED) | TBIT(INC_T_EN_ROUTE) |
                                TBIT(INC_T_ON_SCENE));
    CHECK_INT(in.times[INC_T_OCCURRED], T_OCCURRED);
    CHECK_INT(in.times[INC_T_RECEIVED], T_RECEIVED);
    CHECK_INT(in.times[INC_T_DISPATCHED], T_DISPATCHED);
    CHECK_INT(in.times[INC_T_EN_ROUTE], T_EN_ROUTE);
    CHECK_INT(in.times[INC_T_ON_SCENE], T_ON_SCENE);
    CHECK_INT(in.nunits, 1);
    CHECK_STR(in.units[0], "2A12");
    /* Every member was present, cleared_at with an explicit null. */
    unsigned all = INC_F_SOURCE | INC_F_EXTERNAL_ID | INC_F_OFFENSE | INC_F_PRIORITY |
                   INC_F_PRECINCT | INC_F_LOCATION | INC_F_ADDRESS | INC_F_STATUS |
                   INC_F_UNITS;
    for (int t = 0; t < INC_T_COUNT; t++)
        all |= FTIME(t);
    CHECK_INT(in.present, all);
    inc_clear(&in);
    /* inc_clear leaves an empty incident. */
    CHECK(in.source == NULL && in.units[0] == NULL);
    CHECK_INT(in.nunits, 0);
    CHECK_INT(in.priority, -1);
    CHECK_INT(in.status, -1);
    inc_clear(&in); /* twice is fine */
}

static void test_parse_full_minimal(void)
{
    inc_incident in;
    /* Identity, offense, one time, a precinct. */
    ok_doc(doc_from(NULL, "{\"source\": \"s\", \"external_id\": \"e\", \"offense\": \"O\","
                          " \"received_at\": \"2026-11-27T14:01:12-06:00\","
                          " \"precinct\": \"P\"}"),
           INC_PARSE_FULL, &in, __LINE__);
    CHECK_STR(in.source, "s");
    CHECK_STR(in.external_id, "e");
    CHECK_STR(in.offense, "O");
    CHECK_STR(in.precinct, "P");
    CHECK(in.address == NULL);
    CHECK_INT(in.priority, -1);
    CHECK_INT(in.status, -1);
    CHECK_INT(in.has_location, 0);
    CHECK_INT(in.times_set, TBIT(INC_T_RECEIVED));
    CHECK_INT(in.times[INC_T_RECEIVED], T_RECEIVED);
    CHECK_INT(in.nunits, 0);
    CHECK_INT(in.present, INC_F_SOURCE | INC_F_EXTERNAL_ID | INC_F_OFFENSE | INC_F_PRECINCT |
                              FTIME(INC_T_RECEIVED));
    CHECK_INT(inc_derived_status(&in), INC_OPEN);
    inc_clear(&in);

    /* occurred_at alone, location alone. */
    ok_doc(doc_from(NULL, "{\"source\": \"s\", \"external_id\": \"e\", \"offense\": \"O\","
                          " \"occurred_at\": \"2026-11-27T13:55:00-06:00\","
                          " \"location\": {\"lat\": -90, \"lon\": 180}}"),
           INC_PARSE_FULL, &in, __LINE__);
    CHECK(in.precinct == NULL);
    CHECK_INT(in.has_location, 1);
    CHECK(in.lat == -90.0 && in.lon == 180.0);
    CHECK_INT(in.times_set, TBIT(INC_T_OCCURRED));
    CHECK_INT(in.times[INC_T_OCCURRED], T_OCCURRED);
    inc_clear(&in);

    /* Explicit nulls for the optional members; unknown members ignored. */
    ok_doc(base_with("{\"priority\": null, \"address\": null, \"status\": null,"
                     " \"units\": null, \"precinct\": null, \"occurred_at\": null,"
                     " \"agency\": \"x\", \"id\": 7, \"category\": {\"a\": [1]}}"),
           INC_PARSE_FULL, &in, __LINE__);
    CHECK_INT(in.priority, -1);
    CHECK(in.address == NULL);
    CHECK(in.precinct == NULL);
    CHECK_INT(in.status, -1);
    CHECK_INT(in.nunits, 0);
    CHECK(!(in.times_set & TBIT(INC_T_OCCURRED)));
    CHECK(in.present & INC_F_PRIORITY);
    CHECK(in.present & INC_F_UNITS);
    CHECK(in.present & FTIME(INC_T_OCCURRED));
    CHECK_INT(inc_derived_status(&in), INC_ON_SCENE);
    inc_clear(&in);
}

static void test_parse_edges_accepted(void)
{
    ACCEPTS("{\"priority\": 0}");
    ACCEPTS("{\"priority\": 9}");
    ACCEPTS("{\"location\": {\"lat\": 90, \"lon\": -180}}");
    ACCEPTS("{\"location\": {\"lat\": 0, \"lon\": 0, \"alt\": 3}}");
    ACCEPTS("{\"address\": \"\"}");
    ACCEPTS("{\"units\": []}");
    ACCEPTS("{\"status\": \"cancelled\"}");
    /* Times in other offsets and with fractions. */
    ACCEPTS("{\"occurred_at\": \"2026-11-27T19:55:00Z\"}");
    ACCEPTS("{\"occurred_at\": \"2026-11-28T01:25:00.75+05:30\"}");
    /* occurred_at is not part of the lifecycle order. */
    ACCEPTS("{\"occurred_at\": \"2026-11-27T15:30:00-06:00\"}");
    /* Equal lifecycle times are allowed. */
    ACCEPTS("{\"dispatched_at\": \"2026-11-27T14:01:12-06:00\","
            " \"en_route_at\": \"2026-11-27T20:01:12Z\","
            " \"on_scene_at\": \"2026-11-27T14:01:12-06:00\","
            " \"cleared_at\": \"2026-11-27T14:01:12.999-06:00\"}");
    /* A gap (no dispatched_at): en_route compared with received. */
    ACCEPTS("{\"dispatched_at\": null, \"en_route_at\": \"2026-11-27T14:01:12-06:00\"}");
    /* Without received_at, dispatched_at before occurred_at is not a
       lifecycle violation. */
    ACCEPTS("{\"received_at\": \"<absent>\", \"dispatched_at\": \"2026-11-27T13:00:00-06:00\","
            " \"en_route_at\": \"2026-11-27T13:01:00-06:00\","
            " \"on_scene_at\": \"2026-11-27T13:02:00-06:00\"}");
    /* Valid multi-byte UTF-8 counts in bytes: 42 x U+20AC = 126 bytes. */
    {
        char s[200] = "{\"source\": \"";
        for (int i = 0; i < 42; i++)
            strcat(s, "\xE2\x82\xAC");
        strcat(s, "\"}");
        ACCEPTS(s);
        inc_incident in;
        ok_doc(base_with(s), INC_PARSE_FULL, &in, __LINE__);
        CHECK_INT(strlen(in.source), 126);
        inc_clear(&in);
    }
    ACCEPTS("{\"address\": \"Calle \xC3\x91u\xC3\xB1oa \xF0\x9F\x9A\x93\","
            " \"units\": [\"\xC3\x91" "1\"]}");
}

/* ---- FULL parse: required fields ---------------------------------------- */

static void test_required(void)
{
    MISSING("{\"source\": \"<absent>\"}", "source");
    MISSING("{\"source\": null}", "source");
    MISSING("{\"external_id\": \"<absent>\"}", "external_id");
    MISSING("{\"external_id\": null}", "external_id");
    MISSING("{\"offense\": \"<absent>\"}", "offense");
    MISSING("{\"offense\": null}", "offense");

    /* Neither occurred_at nor received_at (other times do not count). */
    MISSING("{\"occurred_at\": \"<absent>\", \"received_at\": \"<absent>\"}", "occurred_at");
    MISSING("{\"occurred_at\": null, \"received_at\": null}", "occurred_at");
    ACCEPTS("{\"occurred_at\": \"<absent>\"}");
    ACCEPTS("{\"received_at\": \"<absent>\"}");

    /* Neither location nor precinct: an error when both are left out (or
       only the location is said to be null) ... */
    MISSING("{\"location\": \"<absent>\", \"precinct\": \"<absent>\"}", "location");
    MISSING("{\"location\": null, \"precinct\": \"<absent>\"}", "location");
    ACCEPTS("{\"location\": \"<absent>\"}");
    ACCEPTS("{\"precinct\": \"<absent>\"}");
    ACCEPTS("{\"location\": null}");
    /* ... accepted, unassigned and unlocated, when "precinct": null is said
       explicitly (the source does not know the place). */
    static const char *const unplaced[] = {
        "{\"location\": null, \"precinct\": null}",
        "{\"location\": \"<absent>\", \"precinct\": null}",
    };
    for (size_t i = 0; i < NCASES(unplaced); i++) {
        inc_incident in;
        if (ok_doc(base_with(unplaced[i]), INC_PARSE_FULL, &in, __LINE__) == 0) {
            CHECK(in.precinct == NULL);
            CHECK_INT(in.has_location, 0);
            CHECK_INT(inc_unplaced(&in), 1);
            CHECK(in.present & INC_F_PRECINCT);
        }
        inc_clear(&in);
    }
    /* "precinct": null with a location: the precinct is to be assigned. */
    {
        inc_incident in;
        if (ok_doc(base_with("{\"precinct\": null}"), INC_PARSE_FULL, &in, __LINE__) == 0) {
            CHECK(in.precinct == NULL);
            CHECK_INT(in.has_location, 1);
            CHECK_INT(inc_unplaced(&in), 0);
        }
        inc_clear(&in);
    }

    /* The body must be an object. */
    static const char *const notobj[] = {"[]", "[{\"source\": \"s\"}]", "42", "\"x\"",
                                         "null", "true"};
    for (size_t i = 0; i < NCASES(notobj); i++)
        fails_doc(cJSON_Parse(notobj[i]), INC_PARSE_FULL, 422, "invalid_body", "", __LINE__);
    fails_doc(cJSON_Parse("[]"), INC_PARSE_PATCH, 422, "invalid_body", "", __LINE__);
    fails_doc(NULL, INC_PARSE_FULL, 422, "invalid_body", "", __LINE__);
}

/* ---- FULL parse: location ------------------------------------------------ */

static void test_location(void)
{
    INVALID("{\"location\": {\"lat\": 90.5, \"lon\": -90.5}}", "location.lat");
    INVALID("{\"location\": {\"lat\": -91, \"lon\": -90.5}}", "location.lat");
    INVALID("{\"location\": {\"lat\": 90.000001, \"lon\": 0}}", "location.lat");
    INVALID("{\"location\": {\"lat\": 14, \"lon\": 180.1}}", "location.lon");
    INVALID("{\"location\": {\"lat\": 14, \"lon\": -180.0001}}", "location.lon");
    INVALID("{\"location\": {\"lat\": 1e400, \"lon\": 0}}", "location.lat");
    INVALID("{\"location\": {\"lat\": 0, \"lon\": -1e400}}", "location.lon");
    /* Non-numeric. */
    INVALID("{\"location\": {\"lat\": \"14.6\", \"lon\": -90.5}}", "location.lat");
    INVALID("{\"location\": {\"lat\": 14.6, \"lon\": \"-90.5\"}}", "location.lon");
    INVALID("{\"location\": {\"lat\": true, \"lon\": -90.5}}", "location.lat");
    INVALID("{\"location\": {\"lat\": [14.6], \"lon\": -90.5}}", "location.lat");
    INVALID("{\"location\": {\"lat\": 14.6, \"lon\": {}}}", "location.lon");
    /* Missing inside location. */
    MISSING("{\"location\": {\"lon\": -90.5}}", "location.lat");
    MISSING("{\"location\": {\"lat\": 14.6}}", "location.lon");
    MISSING("{\"location\": {}}", "location.lat");
    MISSING("{\"location\": {\"lat\": null, \"lon\": 1}}", "location.lat");
    MISSING("{\"location\": {\"Lat\": 1, \"Lon\": 1}}", "location.lat");
    /* Not an object. */
    INVALID("{\"location\": [14.6, -90.5]}", "location");
    INVALID("{\"location\": \"14.6,-90.5\"}", "location");
    INVALID("{\"location\": 14.6}", "location");
    INVALID("{\"location\": true}", "location");
    /* An invalid location is an error even when a precinct is given. */
    INVALID("{\"precinct\": \"P-17\", \"location\": {\"lat\": 99, \"lon\": 0}}", "location.lat");
}

/* ---- FULL parse: priority, status, times --------------------------------- */

static void test_priority(void)
{
    INVALID("{\"priority\": 10}", "priority");
    INVALID("{\"priority\": -1}", "priority");
    INVALID("{\"priority\": 1.5}", "priority");
    INVALID("{\"priority\": 0.1}", "priority");
    INVALID("{\"priority\": \"2\"}", "priority");
    INVALID("{\"priority\": true}", "priority");
    INVALID("{\"priority\": [2]}", "priority");
    INVALID("{\"priority\": {}}", "priority");
    INVALID("{\"priority\": 1e400}", "priority");
    INVALID("{\"priority\": 100000000000}", "priority");
    for (int p = 0; p <= 9; p++) {
        char o[32];
        snprintf(o, sizeof o, "{\"priority\": %d}", p);
        inc_incident in;
        ok_doc(base_with(o), INC_PARSE_FULL, &in, __LINE__);
        CHECK_INT(in.priority, p);
        inc_clear(&in);
    }
}

static void test_self_initiated(void)
{
    INVALID("{\"self_initiated\": 1}", "self_initiated");
    INVALID("{\"self_initiated\": \"true\"}", "self_initiated");
    static const struct {
        const char *json;
        int want;
    } cases[] = {{"{\"self_initiated\": true}", 1}, {"{\"self_initiated\": false}", 0},
                 {"{\"self_initiated\": null}", 0}, {"{}", 0}};
    for (size_t i = 0; i < NCASES(cases); i++) {
        inc_incident in, back, merged;
        ok_doc(base_with(cases[i].json), INC_PARSE_FULL, &in, __LINE__);
        CHECK_INT(in.self_initiated, cases[i].want);
        /* PATCH sets it; inc_equal tells the two apart */
        ok_doc(doc_from(NULL, "{\"self_initiated\": true}"), INC_PARSE_PATCH, &back, __LINE__);
        CHECK_INT(inc_copy(&merged, &in), 0);
        CHECK_INT(inc_merge(&merged, &back), 0);
        CHECK_INT(merged.self_initiated, 1);
        CHECK_INT(inc_equal(&in, &merged), cases[i].want);
        cJSON *o = cJSON_CreateObject();
        CHECK_INT(inc_to_json(&in, o), 0);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "self_initiated")) == cases[i].want);
        cJSON_Delete(o);
        inc_clear(&in);
        inc_clear(&back);
        inc_clear(&merged);
    }
}

static void test_status(void)
{
    INVALID("{\"status\": \"solved\"}", "status");
    INVALID("{\"status\": \"Open\"}", "status");
    INVALID("{\"status\": \"\"}", "status");
    INVALID("{\"status\": 1}", "status");
    INVALID("{\"status\": [\"open\"]}", "status");
    static const char *const names[] = {"open",    "dispatched", "en_route", "on_scene",
                                        "cleared", "unfounded",  "cancelled"};
    for (int i = 0; i < INC_STATUS_COUNT; i++) {
        char o[64];
        snprintf(o, sizeof o, "{\"status\": \"%s\"}", names[i]);
        inc_incident in;
        ok_doc(base_with(o), INC_PARSE_FULL, &in, __LINE__);
        CHECK_INT(in.status, i);
        CHECK_INT(inc_derived_status(&in), i);
        inc_clear(&in);
    }
}

static void test_bad_times(void)
{
    static const char *const bad[] = {
        "\"2026-11-27T14:01:12\"",          /* no offset */
        "\"2026-02-30T10:00:00Z\"",         /* impossible date */
        "\"2025-02-29T10:00:00Z\"",
        "\"2026-11-27T24:00:00Z\"",
        "\"2026-11-27T14:01:12+24:00\"",
        "\"2026-11-27\"",
        "\"1899-12-31T23:59:59Z\"",
        "\"2200-01-01T00:00:00Z\"",
        "\"2026-11-27T14:01:12Z junk\"",
        "\"\"",
        "\"yesterday\"",
        "1764273672",                       /* not a string */
        "true",
        "[\"2026-11-27T14:01:12Z\"]",
        "{}",
    };
    for (int t = 0; t < INC_T_COUNT; t++) {
        for (size_t i = 0; i < NCASES(bad); i++) {
            char o[128];
            snprintf(o, sizeof o, "{\"%s\": %s}", inc_time_name(t), bad[i]);
            INVALID(o, inc_time_name(t));
            PATCH_FAILS(o, "invalid_field", inc_time_name(t));
        }
    }
}

static void test_lifecycle(void)
{
    /* cleared before received. */
    INVALID("{\"cleared_at\": \"2026-11-27T13:00:00-06:00\"}", "cleared_at");
    INVALID("{\"cleared_at\": \"2026-11-27T20:01:11Z\"}", "cleared_at");
    ACCEPTS("{\"cleared_at\": \"2026-11-27T20:09:31Z\"}");
    /* cleared before on_scene but after received. */
    INVALID("{\"cleared_at\": \"2026-11-27T14:05:00-06:00\"}", "cleared_at");
    /* dispatched before received. */
    INVALID("{\"dispatched_at\": \"2026-11-27T14:00:00-06:00\"}", "dispatched_at");
    /* en_route before dispatched. */
    INVALID("{\"en_route_at\": \"2026-11-27T14:02:39-06:00\"}", "en_route_at");
    /* on_scene before dispatched, en_route absent. */
    INVALID("{\"en_route_at\": \"<absent>\", \"on_scene_at\": \"2026-11-27T14:02:00-06:00\"}",
            "on_scene_at");
    INVALID("{\"en_route_at\": null, \"on_scene_at\": \"2026-11-27T14:02:39-06:00\"}",
            "on_scene_at");
    /* on_scene before received with dispatched and en_route absent. */
    INVALID("{\"dispatched_at\": null, \"en_route_at\": null,"
            " \"on_scene_at\": \"2026-11-27T14:01:11-06:00\"}",
            "on_scene_at");
    /* Only cleared_at and received_at. */
    INVALID("{\"dispatched_at\": null, \"en_route_at\": null, \"on_scene_at\": null,"
            " \"cleared_at\": \"2026-11-27T14:01:11-06:00\"}",
            "cleared_at");
    ACCEPTS("{\"dispatched_at\": null, \"en_route_at\": null, \"on_scene_at\": null,"
            " \"cleared_at\": \"2026-11-27T14:01:12-06:00\"}");
    /* Second precision: the fraction is truncated before comparing, so
       .9 after an equal whole second is still equal. */
    ACCEPTS("{\"received_at\": \"2026-11-27T14:02:40.9-06:00\"}");
}

/* ---- FULL parse: strings and units --------------------------------------- */

static void test_string_limits(void)
{
    static const struct {
        const char *name;
        size_t min, max;
    } f[] = {
        {"source", 1, 128},
        {"external_id", 1, 128},
        {"offense", 1, 64},
        {"precinct", 1, 64},
        {"address", 0, 500},
    };
    for (size_t i = 0; i < NCASES(f); i++) {
        inc_incident in;
        ok_doc(base_with_long(f[i].name, 'x', f[i].max), INC_PARSE_FULL, &in, __LINE__);
        inc_clear(&in);
        fails_doc(base_with_long(f[i].name, 'x', f[i].max + 1), INC_PARSE_FULL, 422,
                  "invalid_field", f[i].name, __LINE__);
        fails_doc(base_with_long(f[i].name, 'x', 100000), INC_PARSE_FULL, 422,
                  "invalid_field", f[i].name, __LINE__);
        if (f[i].min == 1)
            fails_doc(base_with_long(f[i].name, 'x', 0), INC_PARSE_FULL, 422, "invalid_field",
                      f[i].name, __LINE__);
        /* Also in PATCH mode. */
        cJSON *p = cJSON_CreateObject();
        char *s = malloc(f[i].max + 2);
        memset(s, 'y', f[i].max + 1);
        s[f[i].max + 1] = '\0';
        cJSON_AddStringToObject(p, f[i].name, s);
        free(s);
        fails_doc(p, INC_PARSE_PATCH, 422, "invalid_field", f[i].name, __LINE__);
    }
    /* Bytes, not characters: 43 x U+20AC = 129 bytes. */
    {
        char s[200] = "{\"source\": \"";
        for (int i = 0; i < 43; i++)
            strcat(s, "\xE2\x82\xAC");
        strcat(s, "\"}");
        INVALID(s, "source");
    }
    /* Not strings. */
    INVALID("{\"source\": 7}", "source");
    INVALID("{\"external_id\": 2026}", "external_id");
    INVALID("{\"offense\": 7}", "offense");
    INVALID("{\"offense\": [\"ROB\"]}", "offense");
    INVALID("{\"precinct\": 17}", "precinct");
    INVALID("{\"precinct\": {\"code\": \"P-17\"}}", "precinct");
    INVALID("{\"address\": false}", "address");
}

static void test_invalid_utf8(void)
{
    static const char *const bad[] = {
        "\"a\xC0\x80\"",      /* overlong NUL */
        "\"\xC1\xBF\"",       /* overlong */
        "\"\xED\xA0\x80\"",   /* surrogate */
        "\"\xF5\x80\x80\x80\"",
        "\"\xFF\"",
        "\"x\x80y\"",         /* lone continuation */
        "\"\xE2\x82\"",       /* truncated */
        "\"ok \xC3\"",
    };
    static const char *const fields[] = {"source", "external_id", "offense", "precinct",
                                         "address"};
    for (size_t f = 0; f < NCASES(fields); f++) {
        for (size_t i = 0; i < NCASES(bad); i++) {
            char o[128];
            snprintf(o, sizeof o, "{\"%s\": %s}", fields[f], bad[i]);
            INVALID(o, fields[f]);
            PATCH_FAILS(o, "invalid_field", fields[f]);
        }
    }
    for (size_t i = 0; i < NCASES(bad); i++) {
        char o[128];
        snprintf(o, sizeof o, "{\"units\": [\"A1\", %s]}", bad[i]);
        INVALID(o, "units[1]");
    }
}

static void test_units(void)
{
    INVALID("{\"units\": \"2A12\"}", "units");
    INVALID("{\"units\": {\"0\": \"2A12\"}}", "units");
    INVALID("{\"units\": 3}", "units");
    INVALID("{\"units\": [12]}", "units[0]");
    INVALID("{\"units\": [\"A\", null]}", "units[1]");
    INVALID("{\"units\": [\"A\", \"B\", [\"C\"]]}", "units[2]");
    INVALID("{\"units\": [\"A\", \"A\", {}]}", "units[2]"); /* index in the input */
    INVALID("{\"units\": [\"\"]}", "units[0]");
    INVALID("{\"units\": [\"UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU\"]}", "units[0]"); /* 33 */
    ACCEPTS("{\"units\": [\"UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU\"]}");               /* 32 */

    /* Duplicates collapse, keeping the first-seen order. */
    inc_incident in;
    ok_doc(base_with("{\"units\": [\"B7\", \"A1\", \"B7\", \"C3\", \"A1\", \"B7\"]}"),
           INC_PARSE_FULL, &in, __LINE__);
    CHECK_INT(in.nunits, 3);
    CHECK_STR(in.units[0], "B7");
    CHECK_STR(in.units[1], "A1");
    CHECK_STR(in.units[2], "C3");
    inc_clear(&in);

    /* 32 distinct units are allowed, a 33rd is not; duplicates do not
       count towards the limit. */
    char o[2048];
    size_t n = (size_t)snprintf(o, sizeof o, "{\"units\": [");
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(o + n, sizeof o - n, "%s\"U%d\"", i ? ", " : "", i);
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(o + n, sizeof o - n, ", \"U%d\"", 31 - i);
    char ok[sizeof o + 16];
    snprintf(ok, sizeof ok, "%s]}", o);
    ok_doc(base_with(ok), INC_PARSE_FULL, &in, __LINE__);
    CHECK_INT(in.nunits, 32);
    CHECK_STR(in.units[0], "U0");
    CHECK_STR(in.units[31], "U31");
    inc_clear(&in);
    char bad[sizeof o + 16];
    snprintf(bad, sizeof bad, "%s, \"U32\"]}", o);
    INVALID(bad, "units");
    PATCH_FAILS(bad, "invalid_field", "units");
    /* 100 distinct. */
    n = (size_t)snprintf(o, sizeof o, "{\"units\": [");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(o + n, sizeof o - n, "%s\"V%d\"", i ? ", " : "", i);
    snprintf(o + n, sizeof o - n, "]}");
    INVALID(o, "units");
}

/* ---- PATCH mode --------------------------------------------------------- */

static void test_patch_parse(void)
{
    inc_incident p;
    ok_doc(doc_from(NULL, "{}"), INC_PARSE_PATCH, &p, __LINE__);
    CHECK_INT(p.present, 0);
    CHECK_INT(p.times_set, 0);
    CHECK(p.source == NULL);
    CHECK_INT(p.priority, -1);
    CHECK_INT(p.status, -1);
    inc_clear(&p);

    /* Only the fields present; required fields not enforced. */
    ok_doc(doc_from(NULL, "{\"cleared_at\": \"2026-11-27T15:30:00-06:00\"}"), INC_PARSE_PATCH,
           &p, __LINE__);
    CHECK_INT(p.present, FTIME(INC_T_CLEARED));
    CHECK_INT(p.times_set, TBIT(INC_T_CLEARED));
    CHECK_INT(p.times[INC_T_CLEARED], 1795815000LL);
    inc_error err;
    CHECK_INT(inc_check(&p, &err), -1); /* alone it is not a whole incident */
    CHECK_STR(err.field, "source");
    CHECK_STR(err.code, "missing_field");
    inc_clear(&p);

    /* Explicit nulls are recorded in present. */
    ok_doc(doc_from(NULL, "{\"precinct\": null, \"location\": null, \"address\": null,"
                          " \"priority\": null, \"status\": null, \"units\": null,"
                          " \"cleared_at\": null, \"occurred_at\": null, \"offense\": null}"),
           INC_PARSE_PATCH, &p, __LINE__);
    CHECK_INT(p.present, INC_F_PRECINCT | INC_F_LOCATION | INC_F_ADDRESS | INC_F_PRIORITY |
                             INC_F_STATUS | INC_F_UNITS | FTIME(INC_T_CLEARED) |
                             FTIME(INC_T_OCCURRED) | INC_F_OFFENSE);
    CHECK_INT(p.times_set, 0);
    CHECK(p.precinct == NULL && p.address == NULL && p.offense == NULL);
    CHECK_INT(p.has_location, 0);
    CHECK_INT(p.priority, -1);
    CHECK_INT(p.status, -1);
    CHECK_INT(p.nunits, 0);
    inc_clear(&p);

    /* Each present field is still checked. */
    PATCH_FAILS("{\"priority\": 10}", "invalid_field", "priority");
    PATCH_FAILS("{\"status\": \"solved\"}", "invalid_field", "status");
    PATCH_FAILS("{\"location\": {\"lat\": 91, \"lon\": 0}}", "invalid_field", "location.lat");
    PATCH_FAILS("{\"location\": {\"lat\": 1}}", "missing_field", "location.lon");
    PATCH_FAILS("{\"location\": [1, 2]}", "invalid_field", "location");
    PATCH_FAILS("{\"units\": \"A\"}", "invalid_field", "units");
    PATCH_FAILS("{\"units\": [\"A\", 2]}", "invalid_field", "units[1]");
    PATCH_FAILS("{\"offense\": 7}", "invalid_field", "offense");
    PATCH_FAILS("{\"source\": \"\"}", "invalid_field", "source");

    /* The lifecycle is not checked in PATCH mode (the caller checks the
       merged record). */
    ok_doc(doc_from(NULL, "{\"received_at\": \"2026-11-27T15:30:00-06:00\","
                          " \"cleared_at\": \"2026-11-27T13:00:00-06:00\"}"),
           INC_PARSE_PATCH, &p, __LINE__);
    CHECK_INT(p.times_set, TBIT(INC_T_RECEIVED) | TBIT(INC_T_CLEARED));
    inc_clear(&p);
}

/* Parse BASE in full, then a patch, merge; returns 0 on success. */
static int merged(const char *patch_json, inc_incident *base)
{
    inc_incident p;
    int rc = ok_doc(base_with(NULL), INC_PARSE_FULL, base, __LINE__);
    rc |= ok_doc(doc_from(NULL, patch_json), INC_PARSE_PATCH, &p, __LINE__);
    if (rc == 0)
        rc = inc_merge(base, &p);
    inc_clear(&p);
    return rc;
}

static void test_merge(void)
{
    inc_incident b;
    inc_error err;

    /* Empty patch: nothing changes. */
    inc_incident orig;
    ok_doc(base_with(NULL), INC_PARSE_FULL, &orig, __LINE__);
    CHECK_INT(merged("{}", &b), 0);
    CHECK_INT(inc_equal(&b, &orig), 1);
    inc_clear(&b);

    /* Values replace; absent members are kept. */
    CHECK_INT(merged("{\"offense\": \"THEFT\", \"priority\": 5, \"precinct\": \"P-2\","
                     " \"address\": \"elsewhere\", \"location\": {\"lat\": 1.5, \"lon\": 2.5},"
                     " \"cleared_at\": \"2026-11-27T15:30:00-06:00\", \"status\": \"cleared\"}",
                     &b),
              0);
    CHECK_STR(b.offense, "THEFT");
    CHECK_INT(b.priority, 5);
    CHECK_STR(b.precinct, "P-2");
    CHECK_STR(b.address, "elsewhere");
    CHECK_INT(b.has_location, 1);
    CHECK(b.lat == 1.5 && b.lon == 2.5);
    CHECK_INT(b.status, INC_CLEARED);
    CHECK(b.times_set & TBIT(INC_T_CLEARED));
    CHECK_INT(b.times[INC_T_CLEARED], 1795815000LL);
    CHECK_INT(b.times[INC_T_RECEIVED], T_RECEIVED); /* kept */
    CHECK_INT(b.times[INC_T_ON_SCENE], T_ON_SCENE);
    CHECK_STR(b.source, "cad-gt-01");
    CHECK_INT(b.nunits, 1);
    CHECK_STR(b.units[0], "2A12");
    CHECK_INT(inc_check(&b, &err), 0);
    inc_clear(&b);

    /* Nulls clear. */
    CHECK_INT(merged("{\"priority\": null, \"precinct\": null, \"address\": null,"
                     " \"status\": null, \"on_scene_at\": null, \"en_route_at\": null}",
                     &b),
              0);
    CHECK_INT(b.priority, -1);
    CHECK(b.precinct == NULL);
    CHECK(b.address == NULL);
    CHECK_INT(b.status, -1);
    CHECK_INT(b.times_set, TBIT(INC_T_OCCURRED) | TBIT(INC_T_RECEIVED) |
                               TBIT(INC_T_DISPATCHED));
    CHECK_INT(inc_derived_status(&b), INC_DISPATCHED);
    CHECK_INT(b.has_location, 1); /* absent: kept */
    CHECK_INT(inc_check(&b, &err), 0);
    inc_clear(&b);

    /* location null and precinct null: the patch says "precinct": null, so
       the merged record is accepted as one whose place is not known. */
    CHECK_INT(merged("{\"location\": null, \"precinct\": null}", &b), 0);
    CHECK_INT(b.has_location, 0);
    CHECK(b.precinct == NULL);
    CHECK_INT(inc_unplaced(&b), 1);
    CHECK_INT(inc_check(&b, &err), 0);
    /* Without INC_F_PRECINCT in present (the server clears it when a PATCH
       of an incident that had a place does not name the precinct) the
       same record fails the check, naming location. */
    b.present &= ~(unsigned)INC_F_PRECINCT;
    CHECK_INT(inc_check(&b, &err), -1);
    CHECK_STR(err.code, "missing_field");
    CHECK_STR(err.field, "location");
    CHECK_INT(err.status, 422);
    inc_clear(&b);

    /* Both times of arrival cleared: missing occurred_at. */
    CHECK_INT(merged("{\"occurred_at\": null, \"received_at\": null}", &b), 0);
    CHECK_INT(inc_check(&b, &err), -1);
    CHECK_STR(err.field, "occurred_at");
    inc_clear(&b);

    /* A patched time out of order is caught on the merged record. */
    CHECK_INT(merged("{\"cleared_at\": \"2026-11-27T14:05:00-06:00\"}", &b), 0);
    CHECK_INT(inc_check(&b, &err), -1);
    CHECK_STR(err.code, "invalid_field");
    CHECK_STR(err.field, "cleared_at");
    inc_clear(&b);
    CHECK_INT(merged("{\"received_at\": \"2026-11-27T14:03:00-06:00\"}", &b), 0);
    CHECK_INT(inc_check(&b, &err), -1);
    CHECK_STR(err.field, "dispatched_at");
    inc_clear(&b);

    /* Units are replaced, not appended; [] and null empty them. */
    CHECK_INT(merged("{\"units\": [\"X1\", \"Y2\", \"X1\"]}", &b), 0);
    CHECK_INT(b.nunits, 2);
    CHECK_STR(b.units[0], "X1");
    CHECK_STR(b.units[1], "Y2");
    inc_clear(&b);
    CHECK_INT(merged("{\"units\": []}", &b), 0);
    CHECK_INT(b.nunits, 0);
    inc_clear(&b);
    CHECK_INT(merged("{\"units\": null}", &b), 0);
    CHECK_INT(b.nunits, 0);
    inc_clear(&b);

    /* Identity fields are not changed by a merge. */
    CHECK_INT(merged("{\"source\": \"other\", \"external_id\": \"other-id\"}", &b), 0);
    CHECK_STR(b.source, "cad-gt-01");
    CHECK_STR(b.external_id, "2026-0112233");
    inc_clear(&b);

    /* A null offense never leaves the record without one (offense is
       required; the server refuses such a patch before merging). */
    CHECK_INT(merged("{\"offense\": null}", &b), 0);
    CHECK_STR(b.offense, "ROB");
    inc_clear(&b);

    /* Merging into an incident with no strings yet, patch strings are
       copied (the patch can be cleared first). */
    {
        inc_incident base, p;
        ok_doc(doc_from(NULL, "{}"), INC_PARSE_PATCH, &base, __LINE__);
        ok_doc(doc_from(NULL, "{\"offense\": \"ROB\", \"precinct\": \"P-1\", \"units\": [\"U\"],"
                              " \"address\": \"a\"}"),
               INC_PARSE_PATCH, &p, __LINE__);
        CHECK_INT(inc_merge(&base, &p), 0);
        inc_clear(&p);
        CHECK_STR(base.offense, "ROB");
        CHECK_STR(base.precinct, "P-1");
        CHECK_STR(base.address, "a");
        CHECK_INT(base.nunits, 1);
        CHECK_STR(base.units[0], "U");
        CHECK(base.present & INC_F_UNITS);
        inc_clear(&base);
    }
    inc_clear(&orig);
}

/* ---- derived status ------------------------------------------------------ */

static void test_derived_status(void)
{
    static const struct {
        const char *overrides;
        int want;
    } c[] = {
        {"{\"status\": null}", INC_ON_SCENE},
        {"{\"status\": \"<absent>\"}", INC_ON_SCENE},
        {"{\"status\": null, \"cleared_at\": \"2026-11-27T15:30:00-06:00\"}", INC_CLEARED},
        {"{\"status\": null, \"on_scene_at\": null}", INC_EN_ROUTE},
        {"{\"status\": null, \"on_scene_at\": null, \"en_route_at\": null}", INC_DISPATCHED},
        {"{\"status\": null, \"on_scene_at\": null, \"en_route_at\": null,"
         " \"dispatched_at\": null}",
         INC_OPEN},
        /* Gaps: the furthest present step counts. */
        {"{\"status\": null, \"dispatched_at\": null, \"en_route_at\": null}", INC_ON_SCENE},
        {"{\"status\": null, \"dispatched_at\": null, \"on_scene_at\": null}", INC_EN_ROUTE},
        /* A given status is kept as it is. */
        {"{\"status\": \"unfounded\", \"cleared_at\": \"2026-11-27T15:30:00-06:00\"}",
         INC_UNFOUNDED},
        {"{\"status\": \"cancelled\"}", INC_CANCELLED},
        {"{\"status\": \"open\"}", INC_OPEN},
        {"{\"status\": \"cleared\", \"on_scene_at\": null}", INC_CLEARED},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        inc_incident in;
        ok_doc(base_with(c[i].overrides), INC_PARSE_FULL, &in, __LINE__);
        int got = inc_derived_status(&in);
        if (got != c[i].want) {
            fprintf(stderr, "%s:%d: derived status of %s = %d, expected %d\n", __FILE__,
                    __LINE__, c[i].overrides, got, c[i].want);
            unit_failures_++;
        }
        inc_clear(&in);
    }
    /* Occurred/received only: open. */
    inc_incident in;
    ok_doc(doc_from(NULL, "{\"source\": \"s\", \"external_id\": \"e\", \"offense\": \"O\","
                          " \"occurred_at\": \"2026-11-27T13:55:00-06:00\","
                          " \"received_at\": \"2026-11-27T14:01:12-06:00\","
                          " \"precinct\": \"P\"}"),
           INC_PARSE_FULL, &in, __LINE__);
    CHECK_INT(inc_derived_status(&in), INC_OPEN);
    inc_clear(&in);
}

/* ---- equality and copies ------------------------------------------------- */

static void test_equal(void)
{
    inc_incident a, b;
    ok_doc(base_with(NULL), INC_PARSE_FULL, &a, __LINE__);
    ok_doc(base_with(NULL), INC_PARSE_FULL, &b, __LINE__);
    CHECK_INT(inc_equal(&a, &b), 1);
    CHECK_INT(inc_equal(&a, &a), 1);
    inc_clear(&b);

    /* Same instants written differently; status given vs derived; same
       units; unknown members and present bits do not matter. */
    ok_doc(base_with("{\"status\": \"<absent>\", \"cleared_at\": \"<absent>\","
                     " \"occurred_at\": \"2026-11-27T19:55:00.5Z\","
                     " \"received_at\": \"2026-11-28T01:31:12+05:30\", \"extra\": 1}"),
           INC_PARSE_FULL, &b, __LINE__);
    CHECK_INT(inc_equal(&a, &b), 1);
    CHECK_INT(inc_equal(&b, &a), 1);
    inc_clear(&b);

    /* Each stored difference makes them unequal. */
    static const char *const diff[] = {
        "{\"source\": \"cad-gt-02\"}",
        "{\"external_id\": \"2026-0112234\"}",
        "{\"offense\": \"rob\"}",
        "{\"precinct\": \"P-18\"}",
        "{\"precinct\": null}",
        "{\"address\": \"6a Avenida 12-34, Zona 2\"}",
        "{\"address\": null}",
        "{\"address\": \"\"}",
        "{\"priority\": 3}",
        "{\"priority\": null}",
        "{\"status\": \"cleared\"}",
        "{\"status\": \"open\"}",
        "{\"location\": null}",
        "{\"location\": {\"lat\": 14.6349, \"lon\": -90.5068}}",
        "{\"location\": {\"lat\": 14.63490000001, \"lon\": -90.5069}}",
        "{\"occurred_at\": null}",
        "{\"occurred_at\": \"2026-11-27T13:55:01-06:00\"}",
        "{\"cleared_at\": \"2026-11-27T15:30:00-06:00\"}",
        "{\"on_scene_at\": \"2026-11-27T14:09:32-06:00\"}",
        "{\"units\": []}",
        "{\"units\": [\"2A13\"]}",
        "{\"units\": [\"2A12\", \"2A13\"]}",
    };
    for (size_t i = 0; i < NCASES(diff); i++) {
        ok_doc(base_with(diff[i]), INC_PARSE_FULL, &b, __LINE__);
        if (inc_equal(&a, &b) != 0 || inc_equal(&b, &a) != 0) {
            fprintf(stderr, "%s:%d: equal despite %s\n", __FILE__, __LINE__, diff[i]);
            unit_failures_++;
        }
        inc_clear(&b);
    }

    /* Units compare in order. */
    inc_incident u1, u2;
    ok_doc(base_with("{\"units\": [\"A\", \"B\"]}"), INC_PARSE_FULL, &u1, __LINE__);
    ok_doc(base_with("{\"units\": [\"B\", \"A\"]}"), INC_PARSE_FULL, &u2, __LINE__);
    CHECK_INT(inc_equal(&u1, &u2), 0);
    inc_clear(&u2);
    ok_doc(base_with("{\"units\": [\"A\", \"B\", \"A\"]}"), INC_PARSE_FULL, &u2, __LINE__);
    CHECK_INT(inc_equal(&u1, &u2), 1);
    inc_clear(&u1);
    inc_clear(&u2);

    /* Without a location, stale lat/lon do not matter; unset times'
       slots do not matter. */
    ok_doc(base_with("{\"location\": null}"), INC_PARSE_FULL, &b, __LINE__);
    inc_incident c;
    CHECK_INT(inc_copy(&c, &b), 0);
    c.lat = 1;
    c.lon = 2;
    c.times[INC_T_CLEARED] = 12345;
    CHECK_INT(inc_equal(&b, &c), 1);
    inc_clear(&c);
    inc_clear(&b);
    inc_clear(&a);
}

static void test_copy(void)
{
    inc_incident a, c;
    ok_doc(base_with("{\"units\": [\"U1\", \"U2\", \"U3\"]}"), INC_PARSE_FULL, &a, __LINE__);
    CHECK_INT(inc_copy(&c, &a), 0);
    CHECK_INT(inc_equal(&a, &c), 1);
    CHECK_INT(c.present, a.present);
    /* Independent storage. */
    CHECK(c.source != a.source && c.external_id != a.external_id &&
          c.offense != a.offense && c.precinct != a.precinct && c.address != a.address);
    for (size_t i = 0; i < a.nunits; i++)
        CHECK(c.units[i] != a.units[i]);
    /* Mutating the original does not show in the copy. */
    a.source[0] = 'X';
    a.units[1][0] = 'Z';
    CHECK_STR(c.source, "cad-gt-01");
    CHECK_STR(c.units[1], "U2");
    CHECK_INT(inc_equal(&a, &c), 0);
    /* Clearing the original leaves the copy intact (ASan would catch a
       shared pointer as a use after free or a double free). */
    inc_clear(&a);
    CHECK_STR(c.source, "cad-gt-01");
    CHECK_STR(c.external_id, "2026-0112233");
    CHECK_STR(c.offense, "ROB");
    CHECK_STR(c.precinct, "P-17");
    CHECK_STR(c.address, "6a Avenida 12-34, Zona 1");
    CHECK_INT(c.nunits, 3);
    CHECK_STR(c.units[0], "U1");
    CHECK_STR(c.units[2], "U3");
    CHECK_INT(c.times[INC_T_ON_SCENE], T_ON_SCENE);

    /* A copy of a copy, then a copy of an empty incident. */
    inc_incident d;
    CHECK_INT(inc_copy(&d, &c), 0);
    inc_clear(&c);
    CHECK_STR(d.units[2], "U3");
    inc_clear(&d);
    inc_incident e, f;
    ok_doc(doc_from(NULL, "{}"), INC_PARSE_PATCH, &e, __LINE__);
    CHECK_INT(inc_copy(&f, &e), 0);
    CHECK(f.source == NULL && f.address == NULL);
    CHECK_INT(f.nunits, 0);
    CHECK_INT(inc_equal(&e, &f), 1);
    inc_clear(&e);
    inc_clear(&f);
}

/* ---- JSON out ------------------------------------------------------------ */

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static void test_to_json(void)
{
    inc_incident in;
    ok_doc(base_with("{\"units\": [\"2A12\", \"K9\"]}"), INC_PARSE_FULL, &in, __LINE__);
    cJSON *o = cJSON_CreateObject();
    CHECK_INT(inc_to_json(&in, o), 0);
    /* Through text and back, as a client sees it. */
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    o = cJSON_Parse(txt);
    free(txt);
    CHECK(o != NULL);

    static const char *const names[] = {
        "source",        "external_id", "offense",     "priority",    "precinct",
        "location",      "address",     "occurred_at", "received_at", "dispatched_at",
        "en_route_at",   "on_scene_at", "cleared_at",  "status",      "units",
        "self_initiated"};
    CHECK_INT(cJSON_GetArraySize(o), (int)NCASES(names));
    for (size_t i = 0; i < NCASES(names); i++)
        CHECK(member(o, names[i]) != NULL);

    CHECK_STR(cJSON_GetStringValue(member(o, "source")), "cad-gt-01");
    CHECK_STR(cJSON_GetStringValue(member(o, "external_id")), "2026-0112233");
    CHECK_STR(cJSON_GetStringValue(member(o, "offense")), "ROB");
    CHECK(cJSON_IsNumber(member(o, "priority")));
    CHECK(cJSON_GetNumberValue(member(o, "priority")) == 2.0);
    CHECK_STR(cJSON_GetStringValue(member(o, "precinct")), "P-17");
    const cJSON *loc = member(o, "location");
    CHECK(cJSON_IsObject(loc));
    CHECK_INT(cJSON_GetArraySize(loc), 2);
    CHECK(cJSON_GetNumberValue(member(loc, "lat")) == 14.6349);
    CHECK(cJSON_GetNumberValue(member(loc, "lon")) == -90.5069);
    CHECK_STR(cJSON_GetStringValue(member(o, "address")), "6a Avenida 12-34, Zona 1");
    CHECK_STR(cJSON_GetStringValue(member(o, "occurred_at")), "2026-11-27T19:55:00Z");
    CHECK_STR(cJSON_GetStringValue(member(o, "received_at")), "2026-11-27T20:01:12Z");
    CHECK_STR(cJSON_GetStringValue(member(o, "dispatched_at")), "2026-11-27T20:02:40Z");
    CHECK_STR(cJSON_GetStringValue(member(o, "en_route_at")), "2026-11-27T20:03:05Z");
    CHECK_STR(cJSON_GetStringValue(member(o, "on_scene_at")), "2026-11-27T20:09:31Z");
    CHECK(cJSON_IsNull(member(o, "cleared_at")));
    CHECK_STR(cJSON_GetStringValue(member(o, "status")), "on_scene");
    const cJSON *units = member(o, "units");
    CHECK(cJSON_IsArray(units));
    CHECK_INT(cJSON_GetArraySize(units), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(units, 0)), "2A12");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(units, 1)), "K9");
    cJSON_Delete(o);
    inc_clear(&in);

    /* Nulls: no priority, precinct, location, address; derived status;
       units an empty array (never null). */
    ok_doc(doc_from(NULL, "{\"source\": \"s\", \"external_id\": \"e\", \"offense\": \"O\","
                          " \"received_at\": \"2026-11-27T14:01:12-06:00\","
                          " \"precinct\": \"P\", \"dispatched_at\": \"2026-11-27T14:02:40-06:00\"}"),
           INC_PARSE_FULL, &in, __LINE__);
    free(in.precinct); /* as if assignment found no precinct */
    in.precinct = NULL;
    o = cJSON_CreateObject();
    CHECK_INT(inc_to_json(&in, o), 0);
    CHECK_INT(cJSON_GetArraySize(o), (int)NCASES(names));
    CHECK(cJSON_IsNull(member(o, "priority")));
    CHECK(cJSON_IsNull(member(o, "precinct")));
    CHECK(cJSON_IsNull(member(o, "location")));
    CHECK(cJSON_IsNull(member(o, "address")));
    CHECK(cJSON_IsNull(member(o, "occurred_at")));
    CHECK(cJSON_IsNull(member(o, "en_route_at")));
    CHECK(cJSON_IsNull(member(o, "on_scene_at")));
    CHECK(cJSON_IsNull(member(o, "cleared_at")));
    CHECK_STR(cJSON_GetStringValue(member(o, "received_at")), "2026-11-27T20:01:12Z");
    CHECK_STR(cJSON_GetStringValue(member(o, "dispatched_at")), "2026-11-27T20:02:40Z");
    CHECK_STR(cJSON_GetStringValue(member(o, "status")), "dispatched");
    CHECK(cJSON_IsArray(member(o, "units")));
    CHECK_INT(cJSON_GetArraySize(member(o, "units")), 0);
    cJSON_Delete(o);
    inc_clear(&in);

    /* Coordinates print as the shortest text that reads back exactly:
       short inputs stay short, 17-digit ones keep every digit. */
    ok_doc(base_with("{\"location\": {\"lat\": 0.30000000000000004, \"lon\": -90.5}}"),
           INC_PARSE_FULL, &in, __LINE__);
    o = cJSON_CreateObject();
    cJSON *lo = cJSON_CreateObject();
    CHECK_INT(inc_to_json(&in, o), 0);
    cJSON_AddItemToObject(lo, "location", cJSON_DetachItemFromObject(o, "location"));
    txt = cJSON_PrintUnformatted(lo);
    CHECK_STR(txt, "{\"location\":{\"lat\":0.30000000000000004,\"lon\":-90.5}}");
    free(txt);
    cJSON_Delete(lo);
    cJSON_Delete(o);
    inc_clear(&in);

    /* Fields are added to what the object already holds. */
    ok_doc(base_with(NULL), INC_PARSE_FULL, &in, __LINE__);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", 42);
    CHECK_INT(inc_to_json(&in, o), 0);
    CHECK_INT(cJSON_GetArraySize(o), (int)NCASES(names) + 1);
    CHECK(cJSON_GetNumberValue(member(o, "id")) == 42.0);
    cJSON_Delete(o);
    inc_clear(&in);
}

/* inc_to_json -> text -> cJSON_Parse -> inc_parse gives an equal incident. */
static void roundtrip(const char *overrides, int line)
{
    inc_incident a, b;
    if (ok_doc(base_with(overrides), INC_PARSE_FULL, &a, line) != 0) {
        inc_clear(&a);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    CHECK_INT(inc_to_json(&a, o), 0);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (ok_doc(cJSON_Parse(txt), INC_PARSE_FULL, &b, line) == 0 && !inc_equal(&a, &b)) {
        fprintf(stderr, "%s:%d: round trip differs: %s\n", __FILE__, line, txt);
        unit_failures_++;
    }
    /* And the second generation prints identically. */
    o = cJSON_CreateObject();
    CHECK_INT(inc_to_json(&b, o), 0);
    char *txt2 = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (strcmp(txt, txt2) != 0) {
        fprintf(stderr, "%s:%d: second print differs:\n  %s\n  %s\n", __FILE__, line, txt,
                txt2);
        unit_failures_++;
    }
    free(txt);
    free(txt2);
    inc_clear(&a);
    inc_clear(&b);
}

static void test_roundtrip(void)
{
    roundtrip(NULL, __LINE__);
    roundtrip("{\"status\": \"<absent>\"}", __LINE__);
    roundtrip("{\"status\": \"unfounded\", \"cleared_at\": \"2026-11-27T15:30:00-06:00\"}",
              __LINE__);
    roundtrip("{\"priority\": null, \"address\": null, \"units\": null, \"precinct\": null}",
              __LINE__);
    roundtrip("{\"location\": null}", __LINE__);
    roundtrip("{\"location\": {\"lat\": 14.634912345678901, \"lon\": -90.50690000000001}}",
              __LINE__);
    roundtrip("{\"location\": {\"lat\": 1e-300, \"lon\": -179.99999999999997}}", __LINE__);
    roundtrip("{\"location\": {\"lat\": -0.1, \"lon\": 0.30000000000000004}}", __LINE__);
    roundtrip("{\"location\": {\"lat\": 90, \"lon\": -180}}", __LINE__);
    roundtrip("{\"priority\": 0}", __LINE__);
    roundtrip("{\"priority\": 9}", __LINE__);
    roundtrip("{\"occurred_at\": \"1950-06-15T08:30:00+05:30\","
              " \"received_at\": \"1950-06-15T08:30:00Z\", \"dispatched_at\": null,"
              " \"en_route_at\": null, \"on_scene_at\": null,"
              " \"cleared_at\": \"1969-12-31T23:59:59.9Z\"}",
              __LINE__);
    roundtrip("{\"received_at\": \"1900-01-01T00:00:00Z\", \"occurred_at\": null,"
              " \"dispatched_at\": null, \"en_route_at\": null, \"on_scene_at\": null,"
              " \"cleared_at\": \"2199-12-31T23:59:59Z\"}",
              __LINE__);
    roundtrip("{\"source\": \"quote\\\" back\\\\ slash\", \"external_id\": \"tab\\tnl\\n\","
              " \"address\": \"\\u00d1u\\u00f1oa \\ud83d\\ude93 \xE2\x82\xAC\","
              " \"units\": [\"\\u00d1-1\", \"<b>\", \"a,b\"]}",
              __LINE__);
    roundtrip("{\"address\": \"\"}", __LINE__);
}

UNIT_MAIN(UNIT(test_names), UNIT(test_parse_full_base), UNIT(test_parse_full_minimal),
          UNIT(test_parse_edges_accepted), UNIT(test_required), UNIT(test_location),
          UNIT(test_priority), UNIT(test_self_initiated), UNIT(test_status), UNIT(test_bad_times), UNIT(test_lifecycle),
          UNIT(test_string_limits), UNIT(test_invalid_utf8), UNIT(test_units),
          UNIT(test_patch_parse), UNIT(test_merge), UNIT(test_derived_status),
          UNIT(test_equal), UNIT(test_copy), UNIT(test_to_json), UNIT(test_roundtrip))
