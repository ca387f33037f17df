/*
 * filters.c -- see filters.h.
 */
#include "filters.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "areas.h"
#include "iccs.h"
#include "sharing.h"

enum kind { PRECINCTS, OFFENSES, CATEGORIES, AREAS, ICCS };

static int read_list(http_req *r, enum kind kind, const char *param, const char *list,
                     uint8_t *mask, int32_t n)
{
    char *copy = strdup(list), *tok;
    if (copy == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    int agency = r->who.agency_id;
    for (size_t at = 0; (tok = params_list_next(copy, &at)) != NULL;) {
        int found = 0;
        if (kind == PRECINCTS) {
            const ref_precinct *p = ref_precinct_by_code(app.ref, tok);
            if (p && p->agency_id == agency) {
                if (!principal_allows(&r->who, p->code)) {
                    http_reply_error(r, 403, "forbidden", param,
                                     "this token may not read precinct %s", p->code);
                    free(copy);
                    return -1;
                }
                if (p->id < n)
                    mask[p->id] = 1;
                found = 1;
            }
        } else if (kind == OFFENSES) {
            const ref_offense *o = ref_offense_by_code(app.ref, agency, tok);
            if (o && principal_offense_ok(&r->who, o->id)) {
                if (o->id < n)
                    mask[o->id] = 1;
                found = 1;
            }
        } else if (kind == ICCS) {
            /* A code of the list, read as a prefix: the offenses below it. */
            found = ref_iccs_by_code(app.ref, tok) != NULL;
            for (int32_t id = 1; found && id < n; id++) {
                const ref_offense *o = ref_offense_by_id(app.ref, id);
                if (o && o->agency_id == agency && iccs_has_prefix(o->iccs, tok) &&
                    principal_offense_ok(&r->who, id))
                    mask[id] = 1;
            }
        } else if (kind == AREAS) {
            const area_node *a = areas_by_code(app.areas, tok);
            if (a && a->agency_id == agency) {
                areas_cover(app.areas, a->id, mask, n);
                found = 1;
            }
        } else {
            for (int id = 1; id < ref_offense_max(app.ref); id++) {
                const ref_offense *o = ref_offense_by_id(app.ref, id);
                if (o && o->agency_id == agency && strcmp(o->category, tok) == 0 &&
                    principal_offense_ok(&r->who, id)) {
                    if (id < n)
                        mask[id] = 1;
                    found = 1;
                }
            }
        }
        if (!found) {
            static const char *const what[] = {"precinct", "offense", "category", "area"};
            if (kind == ICCS)
                http_reply_error(r, 422, "invalid_field", param,
                                 "unknown ICCS code \"%.16s\" (GET /v1/classifications/iccs "
                                 "lists them)",
                                 tok);
            else
                http_reply_error(r, 422, "invalid_field", param, "unknown %s \"%.64s\"",
                                 what[kind], tok);
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

int filter_precincts(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    return read_list(r, PRECINCTS, param, list, mask, n);
}

int filter_offenses(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    return read_list(r, OFFENSES, param, list, mask, n);
}

int filter_categories(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    return read_list(r, CATEGORIES, param, list, mask, n);
}

int filter_iccs(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    if (strspn(list, ",") == strlen(list)) {
        http_reply_error(r, 422, "invalid_field", param, "%s must list at least one code", param);
        return -1;
    }
    return read_list(r, ICCS, param, list, mask, n);
}

int filter_areas(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    return read_list(r, AREAS, param, list, mask, n);
}

int filter_program(http_req *r, const char *code, uint8_t *mask, int32_t n)
{
    if (sharing_program_mask(r, code, mask, n) == 0)
        return 0;
    http_reply_error(r, 422, "invalid_field", "program", "your region has no program \"%.64s\"",
                     code);
    return -1;
}

int filter_geography(http_req *r, uint8_t *mask, int32_t n)
{
    const char *precincts = qs_get(&r->query, "precinct"), *areas = qs_get(&r->query, "area");
    if (precincts && areas) {
        http_reply_error(r, 422, "invalid_field", "area",
                         "give precinct or area, not both");
        return -1;
    }
    const char *program = qs_get(&r->query, "program");
    if (program && r->who.region == NULL) {
        http_reply_error(r, 422, "invalid_field", "program",
                         "program= is for region readers: an agency names its precincts or areas");
        return -1;
    }
    if (program && (precincts || areas)) {
        http_reply_error(r, 422, "invalid_field", "program",
                         "give program, precinct or area, not two of them");
        return -1;
    }
    if (precincts)
        return filter_precincts(r, "precinct", precincts, mask, n) == 0 ? 1 : -1;
    if (areas)
        return filter_areas(r, "area", areas, mask, n) == 0 ? 1 : -1;
    if (program)
        return filter_program(r, program, mask, n) == 0 ? 1 : -1;
    return 0;
}

int filter_offense_scope(const http_req *r, uint8_t *mask, int32_t n, int had_filter)
{
    if (r->who.offense_scope == NULL)
        return had_filter;
    for (int32_t id = 0; id < n; id++)
        mask[id] = (uint8_t)((had_filter ? mask[id] : 1) && principal_offense_ok(&r->who, id));
    return 1;
}

int filter_precinct_mask(http_req *r, uint8_t *mask, int32_t n)
{
    int had = filter_geography(r, mask, n);
    if (had < 0)
        return -1;
    filter_scope(r, mask, n, had);
    return had || r->who.nprecincts >= 0;
}

int filter_area_level(http_req *r, int32_t **group, int32_t *n)
{
    const char *level = qs_get(&r->query, "area_level");
    int known = 0;
    for (int id = 1; level && !known && id < areas_max(app.areas); id++) {
        const area_node *a = areas_by_id(app.areas, id);
        known = a && a->agency_id == r->who.agency_id && strcmp(a->level, level) == 0;
    }
    if (!known) {
        if (level)
            http_reply_error(r, 422, "invalid_field", "area_level",
                             "no area of this agency has the level \"%.64s\"", level);
        else
            http_reply_error(r, 422, "invalid_field", "area_level",
                             "by=area needs area_level: one of the agency's area levels");
        return -1;
    }
    *n = ref_precinct_max(app.ref) + 1;
    if ((*group = calloc((size_t)*n, sizeof **group)) == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    for (int32_t p = 1; p < *n; p++)
        (*group)[p] = areas_at_level(app.areas, p, level);
    return 0;
}

int filter_time(http_req *r, const char *name, params_time *out)
{
    const char *v = qs_get(&r->query, name);
    if (v == NULL)
        return 0;
    if (params_time_parse(v, out) != 0) {
        http_reply_error(r, 422, "invalid_field", name,
                         "%s must be an RFC 3339 time with offset or a date YYYY-MM-DD, years 1900 to 2199", name);
        return -1;
    }
    return 1;
}

int filter_bound(http_req *r, const char *name, const tz_zone *zone, int64_t quantum,
                 const char *why, int64_t *out)
{
    params_time pt;
    int rc = filter_time(r, name, &pt);
    if (rc <= 0)
        return rc;
    int64_t t = pt.is_date ? tz_utc(zone, pt.day * 86400) : pt.t;
    if (t % quantum != 0) {
        http_reply_error(r, 422, "invalid_field", name, "%s must fall on %s", name, why);
        return -1;
    }
    *out = t;
    return 0;
}

int filter_day(http_req *r, const char *name, const tz_zone *zone, int64_t *day)
{
    const char *v = qs_get(&r->query, name);
    params_time pt;
    if (v == NULL)
        return 0;
    if (params_time_parse(v, &pt) == 0) {
        int64_t local = pt.is_date ? pt.day * 86400 : tz_local(zone, pt.t);
        if (local % 86400 == 0) {
            *day = local / 86400;
            return 0;
        }
    }
    http_reply_error(r, 422, "invalid_field", name,
                     "%s must be a date YYYY-MM-DD or a local midnight (hotspots count whole "
                     "days)",
                     name);
    return -1;
}

void filter_scope(const http_req *r, uint8_t *mask, int32_t n, int had_filter)
{
    if (r->who.nprecincts < 0)
        return;
    uint8_t *allowed = calloc((size_t)n, 1);
    if (allowed == NULL)
        return;
    for (int i = 0; i < r->who.nprecincts; i++) {
        const ref_precinct *p = ref_precinct_by_code(app.ref, r->who.precincts[i]);
        if (p && p->id < n)
            allowed[p->id] = 1;
    }
    for (int32_t i = 0; i < n; i++)
        mask[i] = had_filter ? (uint8_t)(mask[i] && allowed[i]) : allowed[i];
    free(allowed);
}

int filter_priorities(http_req *r, const char *param, unsigned *bits)
{
    const char *v = qs_get(&r->query, param);
    *bits = 0;
    if (v != NULL && params_priorities(v, bits) != 0) {
        http_reply_error(r, 422, "invalid_field", param,
                         "%s takes integers from 0 to 9 (a comma list)", param);
        return -1;
    }
    return 0;
}

int filter_bbox(http_req *r, const char *name, double out[4])
{
    const char *v = qs_get(&r->query, name);
    if (v == NULL)
        return 0;
    if (params_bbox(v, out) != 0) {
        http_reply_error(r, 422, "invalid_field", name, FILTER_BBOX_MESSAGE, name, "at most");
        return -1;
    }
    return 1;
}

int filter_bool(http_req *r, const char *name, int *out)
{
    const char *v = qs_get(&r->query, name);
    if (v != NULL && params_bool(v, out) != 0) {
        http_reply_error(r, 422, "invalid_field", name, "true or false");
        return -1;
    }
    return 0;
}

int filter_int(http_req *r, const char *name, long lo, long hi, long *out)
{
    const char *v = qs_get(&r->query, name);
    if (v != NULL && params_int(v, lo, hi, out) != 0) {
        http_reply_error(r, 422, "invalid_field", name, "%s must be from %ld to %ld", name, lo,
                         hi);
        return -1;
    }
    return 0;
}

int filter_id(const char *s, long long *out)
{
    size_t n = strlen(s);
    if (n < 1 || n > 18 || s[0] == '0')
        return 0;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}
