/*
 * incident.c -- see incident.h.
 */
#include "incident.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qs.h"
#include "rfc3339.h"

static const char *const status_names[INC_STATUS_COUNT] = {
    "open", "dispatched", "en_route", "on_scene", "cleared", "unfounded", "cancelled",
};

static const char *const time_names[INC_T_COUNT] = {
    "occurred_at", "received_at", "dispatched_at",
    "en_route_at", "on_scene_at", "cleared_at",
};

const char *inc_status_name(int status)
{
    return status >= 0 && status < INC_STATUS_COUNT ? status_names[status] : NULL;
}

int inc_status_parse(const char *name)
{
    for (int i = 0; i < INC_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

const char *inc_time_name(int t)
{
    return t >= 0 && t < INC_T_COUNT ? time_names[t] : NULL;
}

static int fail(inc_error *err, int status, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(inc_error *err, int status, const char *code, const char *field,
                const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

#define INVALID(field, ...) fail(err, 422, "invalid_field", field, __VA_ARGS__)
#define MISSING(field, ...) fail(err, 422, "missing_field", field, __VA_ARGS__)

/*
 * Read an optional string member. Returns 0 when absent or null (*out
 * NULL), 1 when a valid string was copied, -1 on error.
 */
static int get_string(const cJSON *obj, const char *name, size_t minlen, size_t maxlen,
                      char **out, unsigned bit, unsigned *present, inc_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (v == NULL)
        return 0;
    *present |= bit;
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return INVALID(name, "%s must be a string", name);
    size_t len = strlen(v->valuestring);
    if (len < minlen || len > maxlen)
        return INVALID(name, "%s must be %zu to %zu bytes long", name, minlen, maxlen);
    if (!qs_utf8_valid(v->valuestring, len))
        return INVALID(name, "%s is not valid UTF-8", name);
    *out = strdup(v->valuestring);
    if (*out == NULL)
        return fail(err, 500, "internal", name, "out of memory");
    return 1;
}

static int get_coord(const cJSON *loc, const char *name, double lo, double hi,
                     double *out, inc_error *err)
{
    char field[32];
    snprintf(field, sizeof field, "location.%s", name);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(loc, name);
    if (v == NULL || cJSON_IsNull(v))
        return MISSING(field, "%s is required in location", name);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return INVALID(field, "%s must be a number", field);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return INVALID(field, "%s must be between %g and %g", field, lo, hi);
    *out = v->valuedouble;
    return 0;
}

int inc_parse(const cJSON *obj, int mode, inc_incident *out, inc_error *err)
{
    memset(out, 0, sizeof *out);
    out->priority = -1;
    out->status = -1;
    memset(err, 0, sizeof *err);

    if (!cJSON_IsObject(obj))
        return fail(err, 422, "invalid_body", NULL, "an incident must be a JSON object");

    if (get_string(obj, "source", 1, 128, &out->source, INC_F_SOURCE, &out->present, err) < 0 ||
        get_string(obj, "external_id", 1, 128, &out->external_id, INC_F_EXTERNAL_ID,
                   &out->present, err) < 0 ||
        get_string(obj, "offense", 1, 64, &out->offense, INC_F_OFFENSE, &out->present, err) < 0 ||
        get_string(obj, "precinct", 1, 64, &out->precinct, INC_F_PRECINCT, &out->present,
                   err) < 0 ||
        get_string(obj, "address", 0, 500, &out->address, INC_F_ADDRESS, &out->present, err) < 0)
        return -1;

    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "priority");
    if (v != NULL) {
        out->present |= INC_F_PRIORITY;
        if (!cJSON_IsNull(v)) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
                return INVALID("priority", "priority must be an integer from 0 to 9");
            if (v->valuedouble < 0 || v->valuedouble > 9)
                return INVALID("priority", "priority must be from 0 to 9");
            out->priority = (int)v->valuedouble;
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(obj, "location");
    if (v != NULL) {
        out->present |= INC_F_LOCATION;
        if (!cJSON_IsNull(v)) {
            if (!cJSON_IsObject(v))
                return INVALID("location", "location must be an object {\"lat\", \"lon\"}");
            if (get_coord(v, "lat", -90, 90, &out->lat, err) < 0 ||
                get_coord(v, "lon", -180, 180, &out->lon, err) < 0)
                return -1;
            out->has_location = 1;
        }
    }

    for (int t = 0; t < INC_T_COUNT; t++) {
        v = cJSON_GetObjectItemCaseSensitive(obj, time_names[t]);
        if (v == NULL)
            continue;
        out->present |= INC_F_TIME0 << t;
        if (cJSON_IsNull(v))
            continue;
        if (!cJSON_IsString(v) || rfc3339_parse(v->valuestring, &out->times[t]) != 0)
            return INVALID(time_names[t],
                           "%s must be an RFC 3339 time with an offset, "
                           "e.g. 2026-11-27T14:03:00-06:00",
                           time_names[t]);
        out->times_set |= 1u << t;
    }

    v = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (v != NULL) {
        out->present |= INC_F_STATUS;
        if (!cJSON_IsNull(v)) {
            if (!cJSON_IsString(v) || (out->status = inc_status_parse(v->valuestring)) < 0)
                return INVALID("status",
                               "status must be one of open, dispatched, en_route, "
                               "on_scene, cleared, unfounded, cancelled");
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(obj, "units");
    if (v != NULL) {
        out->present |= INC_F_UNITS;
        if (!cJSON_IsNull(v)) {
            if (!cJSON_IsArray(v))
                return INVALID("units", "units must be an array of call signs");
            const cJSON *u;
            int i = 0;
            cJSON_ArrayForEach(u, v)
            {
                char field[24];
                snprintf(field, sizeof field, "units[%d]", i++);
                if (!cJSON_IsString(u) || u->valuestring == NULL)
                    return INVALID(field, "%s must be a string", field);
                size_t len = strlen(u->valuestring);
                if (len < 1 || len > 32 || !qs_utf8_valid(u->valuestring, len))
                    return INVALID(field, "%s must be a call sign of 1 to 32 bytes", field);
                int dup = 0;
                for (size_t k = 0; k < out->nunits; k++)
                    if (strcmp(out->units[k], u->valuestring) == 0)
                        dup = 1;
                if (dup)
                    continue;
                if (out->nunits == INC_MAX_UNITS)
                    return INVALID("units", "at most %d units", INC_MAX_UNITS);
                if ((out->units[out->nunits] = strdup(u->valuestring)) == NULL)
                    return fail(err, 500, "internal", "units", "out of memory");
                out->nunits++;
            }
        }
    }

    /* self_initiated: true for a call an officer started (NOPD's
       SelfInitiated); null or absent is false. */
    v = cJSON_GetObjectItemCaseSensitive(obj, "self_initiated");
    if (v != NULL) {
        out->present |= INC_F_SELF_INITIATED;
        if (!cJSON_IsNull(v) && !cJSON_IsBool(v))
            return INVALID("self_initiated", "self_initiated must be true or false");
        out->self_initiated = cJSON_IsTrue(v);
    }

    if (mode == INC_PARSE_FULL)
        return inc_check(out, err);
    return 0;
}

int inc_check(const inc_incident *in, inc_error *err)
{
    if (in->source == NULL)
        return MISSING("source", "source is required");
    if (in->external_id == NULL)
        return MISSING("external_id", "external_id is required");
    if (in->offense == NULL)
        return MISSING("offense", "offense is required");
    if (!(in->times_set & ((1u << INC_T_OCCURRED) | (1u << INC_T_RECEIVED))))
        return MISSING("occurred_at", "occurred_at or received_at is required");
    /* A place: a location, a precinct, or -- when the source knows neither
       -- "precinct": null said explicitly and no location (kept unassigned
       and unlocated). Leaving both out is an error. */
    if (inc_unplaced(in) && !(in->present & INC_F_PRECINCT))
        return MISSING("location",
                       "location or precinct is required (send \"precinct\": null for an "
                       "incident whose place is not known)");

    /* Lifecycle: each present time is >= every earlier present one. */
    for (int t = INC_T_DISPATCHED; t < INC_T_COUNT; t++) {
        if (!(in->times_set & (1u << t)))
            continue;
        for (int e = INC_T_RECEIVED; e < t; e++) {
            if ((in->times_set & (1u << e)) && in->times[t] < in->times[e])
                return INVALID(time_names[t], "%s is before %s", time_names[t],
                               time_names[e]);
        }
    }
    return 0;
}

int inc_unplaced(const inc_incident *in)
{
    return !in->has_location && in->precinct == NULL;
}

int inc_derived_status(const inc_incident *in)
{
    if (in->status >= 0)
        return in->status;
    static const struct {
        int t, status;
    } steps[] = {
        {INC_T_CLEARED, INC_CLEARED},
        {INC_T_ON_SCENE, INC_ON_SCENE},
        {INC_T_EN_ROUTE, INC_EN_ROUTE},
        {INC_T_DISPATCHED, INC_DISPATCHED},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (in->times_set & (1u << steps[i].t))
            return steps[i].status;
    return INC_OPEN;
}

static int replace_str(char **dst, const char *src)
{
    char *c = NULL;
    if (src != NULL && (c = strdup(src)) == NULL)
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

int inc_merge(inc_incident *base, const inc_incident *patch)
{
    unsigned p = patch->present;
    if (((p & INC_F_OFFENSE) && patch->offense && replace_str(&base->offense, patch->offense)) ||
        ((p & INC_F_PRECINCT) && replace_str(&base->precinct, patch->precinct)) ||
        ((p & INC_F_ADDRESS) && replace_str(&base->address, patch->address)))
        return -1;
    if (p & INC_F_PRIORITY)
        base->priority = patch->priority;
    if (p & INC_F_LOCATION) {
        base->has_location = patch->has_location;
        base->lat = patch->lat;
        base->lon = patch->lon;
    }
    if (p & INC_F_STATUS)
        base->status = patch->status;
    if (p & INC_F_SELF_INITIATED)
        base->self_initiated = patch->self_initiated;
    for (int t = 0; t < INC_T_COUNT; t++) {
        if (!(p & (INC_F_TIME0 << t)))
            continue;
        base->times_set &= ~(1u << t);
        if (patch->times_set & (1u << t)) {
            base->times_set |= 1u << t;
            base->times[t] = patch->times[t];
        }
    }
    if (p & INC_F_UNITS) {
        for (size_t i = 0; i < base->nunits; i++)
            free(base->units[i]);
        base->nunits = 0;
        for (size_t i = 0; i < patch->nunits; i++) {
            if ((base->units[i] = strdup(patch->units[i])) == NULL)
                return -1;
            base->nunits = i + 1;
        }
    }
    base->present |= p & ~(INC_F_SOURCE | INC_F_EXTERNAL_ID);
    return 0;
}

int inc_copy(inc_incident *dst, const inc_incident *src)
{
    *dst = *src;
    dst->source = dst->external_id = dst->offense = dst->precinct = dst->address = NULL;
    dst->nunits = 0;
    if (replace_str(&dst->source, src->source) || replace_str(&dst->external_id, src->external_id) ||
        replace_str(&dst->offense, src->offense) || replace_str(&dst->precinct, src->precinct) ||
        replace_str(&dst->address, src->address))
        goto oom;
    for (size_t i = 0; i < src->nunits; i++) {
        if ((dst->units[i] = strdup(src->units[i])) == NULL)
            goto oom;
        dst->nunits = i + 1;
    }
    return 0;
oom:
    inc_clear(dst);
    return -1;
}

void inc_clear(inc_incident *in)
{
    free(in->source);
    free(in->external_id);
    free(in->offense);
    free(in->precinct);
    free(in->address);
    for (size_t i = 0; i < in->nunits; i++)
        free(in->units[i]);
    memset(in, 0, sizeof *in);
    in->priority = -1;
    in->status = -1;
}

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

int inc_equal(const inc_incident *a, const inc_incident *b)
{
    if (!str_eq(a->source, b->source) || !str_eq(a->external_id, b->external_id) ||
        !str_eq(a->offense, b->offense) || !str_eq(a->precinct, b->precinct) ||
        !str_eq(a->address, b->address) || a->priority != b->priority ||
        inc_derived_status(a) != inc_derived_status(b) || a->has_location != b->has_location ||
        a->times_set != b->times_set || a->nunits != b->nunits ||
        a->self_initiated != b->self_initiated)
        return 0;
    if (a->has_location && (a->lat != b->lat || a->lon != b->lon))
        return 0;
    for (int t = 0; t < INC_T_COUNT; t++)
        if ((a->times_set & (1u << t)) && a->times[t] != b->times[t])
            return 0;
    for (size_t i = 0; i < a->nunits; i++)
        if (strcmp(a->units[i], b->units[i]) != 0)
            return 0;
    return 1;
}

static int add_str_or_null(cJSON *obj, const char *name, const char *s)
{
    cJSON *v = s ? cJSON_CreateString(s) : cJSON_CreateNull();
    return v && cJSON_AddItemToObject(obj, name, v) ? 0 : -1;
}

/*
 * A number that prints as the shortest text reading back as exactly d.
 * cJSON prints 15 significant digits whenever they come within DBL_EPSILON
 * (relative) of the value, which can change its last bits: a client that
 * reposts what it read would then post a different location.
 */
static cJSON *exact_number(double d)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return cJSON_CreateRaw(buf);
}

static int add_exact_number(cJSON *obj, const char *name, double d)
{
    cJSON *v = exact_number(d);
    if (v == NULL || !cJSON_AddItemToObject(obj, name, v)) {
        cJSON_Delete(v);
        return -1;
    }
    return 0;
}

int inc_to_json(const inc_incident *in, cJSON *obj)
{
    char buf[RFC3339_BUFSZ];
    if (add_str_or_null(obj, "source", in->source) ||
        add_str_or_null(obj, "external_id", in->external_id) ||
        add_str_or_null(obj, "offense", in->offense))
        return -1;
    cJSON *v = in->priority >= 0 ? cJSON_CreateNumber(in->priority) : cJSON_CreateNull();
    if (!v || !cJSON_AddItemToObject(obj, "priority", v))
        return -1;
    if (add_str_or_null(obj, "precinct", in->precinct))
        return -1;
    if (in->has_location) {
        cJSON *loc = cJSON_AddObjectToObject(obj, "location");
        if (!loc || add_exact_number(loc, "lat", in->lat) ||
            add_exact_number(loc, "lon", in->lon))
            return -1;
    } else if (!cJSON_AddNullToObject(obj, "location")) {
        return -1;
    }
    if (add_str_or_null(obj, "address", in->address))
        return -1;
    for (int t = 0; t < INC_T_COUNT; t++) {
        const char *s = (in->times_set & (1u << t)) ? rfc3339_format(in->times[t], 0, buf) : NULL;
        if (add_str_or_null(obj, time_names[t], s))
            return -1;
    }
    if (add_str_or_null(obj, "status", inc_status_name(inc_derived_status(in))))
        return -1;
    cJSON *units = cJSON_AddArrayToObject(obj, "units");
    if (units == NULL)
        return -1;
    for (size_t i = 0; i < in->nunits; i++) {
        cJSON *u = cJSON_CreateString(in->units[i]);
        if (!u || !cJSON_AddItemToArray(units, u))
            return -1;
    }
    if (!cJSON_AddBoolToObject(obj, "self_initiated", in->self_initiated))
        return -1;
    return 0;
}
