/*
 * filters.c -- see filters.h.
 */
#include "filters.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "rfc3339.h"

enum kind { PRECINCTS, OFFENSES, CATEGORIES };

static int read_list(http_req *r, enum kind kind, const char *param, const char *list,
                     uint8_t *mask, int32_t n)
{
    char *copy = strdup(list), *save = NULL;
    if (copy == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    int agency = r->who.agency_id;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
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
            if (o) {
                if (o->id < n)
                    mask[o->id] = 1;
                found = 1;
            }
        } else {
            for (int id = 1; id < ref_offense_max(app.ref); id++) {
                const ref_offense *o = ref_offense_by_id(app.ref, id);
                if (o && o->agency_id == agency && strcmp(o->category, tok) == 0) {
                    if (id < n)
                        mask[id] = 1;
                    found = 1;
                }
            }
        }
        if (!found) {
            static const char *const what[] = {"precinct", "offense", "category"};
            http_reply_error(r, 422, "invalid_field", param, "unknown %s \"%.64s\"", what[kind],
                             tok);
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

int filter_bound(http_req *r, const char *name, const tz_zone *zone, int64_t quantum,
                 const char *why, int64_t *out)
{
    const char *v = qs_get(&r->query, name);
    int y, m, d;
    if (v == NULL)
        return 0;
    if (rfc3339_parse_date(v, &y, &m, &d) == 0) {
        *out = tz_utc(zone, rfc3339_days_from_civil(y, m, d) * 86400);
    } else if (rfc3339_parse(v, out) != 0) {
        http_reply_error(r, 422, "invalid_field", name,
                         "%s must be an RFC 3339 time with offset or a date YYYY-MM-DD, years 1900 to 2199", name);
        return -1;
    }
    if (*out % quantum != 0) {
        http_reply_error(r, 422, "invalid_field", name, "%s must fall on %s", name, why);
        return -1;
    }
    return 0;
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
    if (v == NULL)
        return 0;
    for (const char *p = v;; p += 2) {
        if (p[0] < '0' || p[0] > '9' || (p[1] != ',' && p[1] != '\0')) {
            http_reply_error(r, 422, "invalid_field", param,
                             "%s takes integers from 0 to 9 (a comma list)", param);
            return -1;
        }
        *bits |= 1u << (p[0] - '0' + 1);
        if (p[1] == '\0')
            return 0;
    }
}

/* One number of a bbox: a plain decimal (digits, '.', sign, exponent). */
static int bbox_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '+' ||
              s[i] == 'e' || s[i] == 'E'))
            return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return *end == '\0' && errno == 0 && isfinite(*out) ? 0 : -1;
}

int filter_bbox(http_req *r, const char *param, const char *v, int zero_width_ok,
                double out[4])
{
    const char *p = v;
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        ok = bbox_number(p, n, &out[i]) == 0 && ((i < 3) == (comma != NULL));
        p = comma ? comma + 1 : p + n;
    }
    if (ok)
        ok = out[0] >= -180 && out[2] <= 180 && out[1] >= -90 && out[3] <= 90 &&
             (zero_width_ok ? out[0] <= out[2] && out[1] <= out[3]
                            : out[0] < out[2] && out[1] < out[3]);
    if (!ok) {
        http_reply_error(r, 422, "invalid_field", param,
                         "%s must be minlon,minlat,maxlon,maxlat: four finite numbers in WGS84 "
                         "(longitudes -180..180, latitudes -90..90), minimum %s maximum",
                         param, zero_width_ok ? "at most" : "below");
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
