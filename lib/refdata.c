/*
 * refdata.c -- see refdata.h.
 *
 * Each table is a growable array indexed by id plus a code -> record map.
 * Precinct assignment walks the agency's precincts with a bounding-box test
 * first; a few hundred precincts cost microseconds. (The hotspot grid can
 * later cache cell -> precinct for interior cells.)
 */
#include "refdata.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct table {
    void **rows; /* by id */
    int cap;
    strmap *by_code;
};

struct ref_data {
    struct table agencies, precincts, offenses;
    ref_iccs *iccs; /* the ICCS list, in order of insertion */
    int niccs, iccs_cap;
    strmap *iccs_by_code; /* code -> index + 1 */
    unsigned versions; /* source of ref_precinct.version */
};

static int table_init(struct table *t)
{
    t->rows = NULL;
    t->cap = 0;
    t->by_code = strmap_new();
    return t->by_code ? 0 : -1;
}

static int table_reserve(struct table *t, int id)
{
    if (id < t->cap)
        return 0;
    int ncap = t->cap ? t->cap : 16;
    while (ncap <= id)
        ncap *= 2;
    void **n = realloc(t->rows, (size_t)ncap * sizeof *n);
    if (n == NULL)
        return -1;
    memset(n + t->cap, 0, (size_t)(ncap - t->cap) * sizeof *n);
    t->rows = n;
    t->cap = ncap;
    return 0;
}

static void *table_get(const struct table *t, int id)
{
    return id > 0 && id < t->cap ? t->rows[id] : NULL;
}

static int table_max(const struct table *t)
{
    int m = t->cap;
    while (m > 0 && t->rows[m - 1] == NULL)
        m--;
    return m;
}

static void agency_free(ref_agency *a)
{
    if (a == NULL)
        return;
    free(a->code);
    free(a->name);
    free(a->time_zone);
}

static void precinct_free(ref_precinct *p)
{
    if (p == NULL)
        return;
    free(p->code);
    free(p->name);
    free(p->boundary_geojson);
    geo_free(p->boundary);
    free(p->populations);
}

static void offense_free(ref_offense *o)
{
    if (o == NULL)
        return;
    free(o->code);
    free(o->name);
    free(o->category);
    free(o->iccs);
}

ref_data *ref_new(void)
{
    ref_data *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->iccs_by_code = strmap_new();
    if (table_init(&r->agencies) || table_init(&r->precincts) || table_init(&r->offenses) ||
        r->iccs_by_code == NULL) {
        ref_free(r);
        return NULL;
    }
    return r;
}

void ref_free(ref_data *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < r->agencies.cap; i++) {
        agency_free(r->agencies.rows[i]);
        free(r->agencies.rows[i]);
    }
    for (int i = 0; i < r->precincts.cap; i++) {
        precinct_free(r->precincts.rows[i]);
        free(r->precincts.rows[i]);
    }
    for (int i = 0; i < r->offenses.cap; i++) {
        offense_free(r->offenses.rows[i]);
        free(r->offenses.rows[i]);
    }
    free(r->agencies.rows);
    free(r->precincts.rows);
    free(r->offenses.rows);
    strmap_free(r->agencies.by_code);
    strmap_free(r->precincts.by_code);
    strmap_free(r->offenses.by_code);
    for (int i = 0; i < r->niccs; i++) {
        free(r->iccs[i].name_en);
        free(r->iccs[i].name_es);
    }
    free(r->iccs);
    strmap_free(r->iccs_by_code);
    free(r);
}

static char *dup_or_null(const char *s, int *oom)
{
    if (s == NULL)
        return NULL;
    char *c = strdup(s);
    if (c == NULL)
        *oom = 1;
    return c;
}

/*
 * Get the record slot for id, creating a zeroed record of size sz. When a
 * record with this id exists it is returned for update in place.
 */
static void *slot_for(struct table *t, int id, size_t sz, int *created)
{
    if (id <= 0 || table_reserve(t, id) != 0)
        return NULL;
    *created = 0;
    if (t->rows[id] == NULL) {
        if ((t->rows[id] = calloc(1, sz)) == NULL)
            return NULL;
        *created = 1;
    }
    return t->rows[id];
}

int ref_put_agency(ref_data *r, int id, const char *code, const char *name,
                   const char *time_zone)
{
    int created, oom = 0;
    ref_agency *a = slot_for(&r->agencies, id, sizeof *a, &created);
    if (a == NULL)
        return -1;
    ref_agency n = {id, dup_or_null(code, &oom), dup_or_null(name, &oom),
                    dup_or_null(time_zone, &oom)};
    if (oom || strmap_put(r->agencies.by_code, code, a) != 0) {
        agency_free(&n);
        return -1;
    }
    agency_free(a);
    *a = n;
    return 0;
}

int ref_put_precinct(ref_data *r, int id, int agency_id, const char *code,
                     const char *name, long long population,
                     geo_multipolygon *boundary, const char *geojson)
{
    int created, oom = 0;
    ref_precinct *p = slot_for(&r->precincts, id, sizeof *p, &created);
    if (p == NULL) {
        geo_free(boundary);
        return -1;
    }
    ref_precinct n = {id, agency_id, dup_or_null(code, &oom), dup_or_null(name, &oom),
                      population, boundary, dup_or_null(geojson, &oom), {0, 0, 0, 0},
                      ++r->versions, NULL, 0};
    if (oom || strmap_put(r->precincts.by_code, code, p) != 0) {
        precinct_free(&n);
        return -1;
    }
    if (boundary)
        geo_bbox(boundary, n.bbox);
    n.populations = p->populations; /* set apart (ref_set_populations) */
    n.npopulations = p->npopulations;
    p->populations = NULL;
    precinct_free(p);
    *p = n;
    return 0;
}

int ref_set_populations(ref_data *r, int id, const ref_pop_year *pops, int n)
{
    ref_precinct *p = table_get(&r->precincts, id);
    if (p == NULL || n < 0)
        return -1;
    ref_pop_year *v = NULL;
    if (n > 0) {
        if ((v = malloc((size_t)n * sizeof *v)) == NULL)
            return -1;
        for (int i = 0; i < n; i++)
            v[i] = pops[i];
        /* Insertion sort (a handful of years), stable: of a year given
           twice the later one lands last and is kept. */
        for (int i = 1; i < n; i++) {
            ref_pop_year t = v[i];
            int j = i;
            while (j > 0 && v[j - 1].year > t.year) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = t;
        }
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (m > 0 && v[m - 1].year == v[i].year)
                m--;
            v[m++] = v[i];
        }
        n = m;
    }
    free(p->populations);
    p->populations = v;
    p->npopulations = n;
    return 0;
}

long long ref_precinct_population(const ref_precinct *p, int year)
{
    if (p->npopulations == 0)
        return p->population >= 0 ? p->population : -1;
    /* The first year at or after the one asked, or the last before it. */
    int i = 0;
    while (i < p->npopulations && p->populations[i].year < year)
        i++;
    if (i == p->npopulations)
        return p->populations[i - 1].population;
    if (p->populations[i].year == year || i == 0)
        return p->populations[i].population;
    long long after = p->populations[i].year - year, before = year - p->populations[i - 1].year;
    return p->populations[before <= after ? i - 1 : i].population;
}

long long ref_population(const ref_data *r, int agency_id, const uint8_t *mask, int32_t n,
                         int year)
{
    long long sum = 0;
    for (int i = 1; i < r->precincts.cap; i++) {
        const ref_precinct *p = r->precincts.rows[i];
        if (p == NULL || p->agency_id != agency_id || (mask && (i >= n || !mask[i])))
            continue;
        long long v = ref_precinct_population(p, year);
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

static void offense_key(char *buf, size_t len, int agency_id, const char *code)
{
    snprintf(buf, len, "%d\x1f%s", agency_id, code);
}

int ref_put_offense(ref_data *r, int id, int agency_id, const char *code,
                    const char *name, const char *category, int crime, const char *iccs)
{
    int created, oom = 0;
    char key[128];
    ref_offense *o = slot_for(&r->offenses, id, sizeof *o, &created);
    if (o == NULL)
        return -1;
    ref_offense n = {id, agency_id, dup_or_null(code, &oom), dup_or_null(name, &oom),
                     dup_or_null(category, &oom), crime != 0,
                     iccs && *iccs ? dup_or_null(iccs, &oom) : NULL};
    offense_key(key, sizeof key, agency_id, code);
    if (oom || strmap_put(r->offenses.by_code, key, o) != 0) {
        offense_free(&n);
        return -1;
    }
    offense_free(o);
    *o = n;
    return 0;
}

const ref_agency *ref_agency_by_id(const ref_data *r, int id)
{
    return table_get(&r->agencies, id);
}

/*
 * The code maps cannot delete, so a record whose code changed is still
 * filed under its former code: a hit counts only when the record still
 * carries the code asked for.
 */
const ref_agency *ref_agency_by_code(const ref_data *r, const char *code)
{
    const ref_agency *a = strmap_get(r->agencies.by_code, code);
    return a && a->code && strcmp(a->code, code) == 0 ? a : NULL;
}

const ref_precinct *ref_precinct_by_id(const ref_data *r, int id)
{
    return table_get(&r->precincts, id);
}

const ref_precinct *ref_precinct_by_code(const ref_data *r, const char *code)
{
    const ref_precinct *p = strmap_get(r->precincts.by_code, code);
    return p && p->code && strcmp(p->code, code) == 0 ? p : NULL;
}

const ref_offense *ref_offense_by_id(const ref_data *r, int id)
{
    return table_get(&r->offenses, id);
}

const ref_offense *ref_offense_by_code(const ref_data *r, int agency_id, const char *code)
{
    char key[128];
    if (strlen(code) > 64)
        return NULL;
    offense_key(key, sizeof key, agency_id, code);
    const ref_offense *o = strmap_get(r->offenses.by_code, key);
    return o && o->agency_id == agency_id && o->code && strcmp(o->code, code) == 0 ? o : NULL;
}

int ref_put_iccs(ref_data *r, const char *code, const char *parent, const char *name_en,
                 const char *name_es)
{
    int level = iccs_level(code);
    int plevel = parent && *parent ? iccs_level(parent) : 0;
    if (level == 0 || (plevel == 0 && parent && *parent))
        return -1;
    int oom = 0;
    ref_iccs n = {.level = level,
                  .name_en = dup_or_null(name_en ? name_en : "", &oom),
                  .name_es = name_es && *name_es ? dup_or_null(name_es, &oom) : NULL};
    snprintf(n.code, sizeof n.code, "%s", code);
    snprintf(n.parent, sizeof n.parent, "%s", plevel ? parent : "");
    intptr_t at = (intptr_t)strmap_get(r->iccs_by_code, code);
    if (!oom && at == 0 && r->niccs == r->iccs_cap) {
        int ncap = r->iccs_cap ? r->iccs_cap * 2 : 64;
        ref_iccs *grown = realloc(r->iccs, (size_t)ncap * sizeof *grown);
        if (grown == NULL) {
            oom = 1;
        } else {
            r->iccs = grown;
            r->iccs_cap = ncap;
        }
    }
    if (!oom && at == 0 &&
        strmap_put(r->iccs_by_code, code, (void *)(intptr_t)(r->niccs + 1)) != 0)
        oom = 1;
    if (oom) {
        free(n.name_en);
        free(n.name_es);
        return -1;
    }
    if (at == 0) {
        r->iccs[r->niccs++] = n;
    } else {
        free(r->iccs[at - 1].name_en);
        free(r->iccs[at - 1].name_es);
        r->iccs[at - 1] = n;
    }
    return 0;
}

const ref_iccs *ref_iccs_by_code(const ref_data *r, const char *code)
{
    intptr_t at = iccs_level(code) ? (intptr_t)strmap_get(r->iccs_by_code, code) : 0;
    return at > 0 ? &r->iccs[at - 1] : NULL;
}

int ref_iccs_count(const ref_data *r)
{
    return r->niccs;
}

const ref_iccs *ref_iccs_at(const ref_data *r, int i)
{
    return i >= 0 && i < r->niccs ? &r->iccs[i] : NULL;
}

int ref_agency_max(const ref_data *r)
{
    return table_max(&r->agencies);
}

int ref_precinct_max(const ref_data *r)
{
    return table_max(&r->precincts);
}

int ref_offense_max(const ref_data *r)
{
    return table_max(&r->offenses);
}

const ref_precinct *ref_assign_precinct(const ref_data *r, int agency_id, double lon,
                                        double lat)
{
    for (int i = 1; i < r->precincts.cap; i++) {
        const ref_precinct *p = r->precincts.rows[i];
        if (p == NULL || p->agency_id != agency_id || p->boundary == NULL)
            continue;
        if (lon < p->bbox[0] || lon > p->bbox[2] || lat < p->bbox[1] || lat > p->bbox[3])
            continue;
        if (geo_covers(p->boundary, lon, lat))
            return p;
    }
    return NULL;
}

int ref_code_ok(const char *s, size_t n, size_t maxlen)
{
    if (n < 1 || n > maxlen)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
            return 0;
    }
    return 1;
}
