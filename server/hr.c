/*
 * hr.c -- see hr.h.
 */
#include "hr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strmap.h"

/* Records by id (ids are the tables' identities: dense, small). */
static hr_unit **units;
static size_t units_cap;
static hr_officer **officers;
static size_t officers_cap;
static hr_shift **shifts;
static size_t shifts_cap;
static strmap *by_key; /* "u|o|s" agency "\x1f" code -> record */
static hr_assignment *assigns;
static size_t nassigns, assigns_cap;
static int loaded;

/*
 * arr (an array of *cap pointers of elem bytes each) grown so that index id
 * exists, new slots zeroed. Returns the array (maybe moved), or NULL when
 * id is negative or memory ran out (arr is then unchanged).
 */
static void *grow(void *arr, size_t *cap, int id, size_t elem)
{
    if (id < 0)
        return NULL;
    if ((size_t)id < *cap)
        return arr;
    size_t ncap = *cap ? *cap : 64;
    while (ncap <= (size_t)id)
        ncap *= 2;
    char *n = realloc(arr, ncap * elem);
    if (n == NULL)
        return NULL;
    memset(n + *cap * elem, 0, (ncap - *cap) * elem);
    *cap = ncap;
    return n;
}

static void key(char *buf, size_t size, char kind, int agency, const char *code)
{
    snprintf(buf, size, "%c%d\x1f%s", kind, agency, code);
}

static int index_put(char kind, int agency, const char *code, void *rec)
{
    if (by_key == NULL && (by_key = strmap_new()) == NULL)
        return -1;
    char k[96];
    key(k, sizeof k, kind, agency, code);
    return strmap_put(by_key, k, rec);
}

static void *index_get(char kind, int agency, const char *code)
{
    char k[96];
    key(k, sizeof k, kind, agency, code);
    return by_key ? strmap_get(by_key, k) : NULL;
}

/* Replace *slot by a copy of s (NULL stays NULL). 0, or -1. */
static int set_str(char **slot, const char *s)
{
    char *c = NULL;
    if (s && (c = strdup(s)) == NULL)
        return -1;
    free(*slot);
    *slot = c;
    return 0;
}

int hr_put_unit(int id, int agency, const char *callsign, int precinct, const char *type,
                int out_of_service)
{
    void *grown = grow(units, &units_cap, id, sizeof *units);
    if (grown == NULL)
        return -1;
    units = grown;
    hr_unit *u = units[id];
    if (u == NULL && (u = units[id] = calloc(1, sizeof *u)) == NULL)
        return -1;
    u->id = id;
    u->agency_id = agency;
    u->precinct_id = precinct;
    u->out_of_service = out_of_service;
    if (set_str(&u->callsign, callsign) || set_str(&u->type, type))
        return -1;
    return index_put('u', agency, callsign, u);
}

int hr_put_officer(int id, int agency, const char *badge, const char *name, const char *rank,
                   int precinct)
{
    void *grown = grow(officers, &officers_cap, id, sizeof *officers);
    if (grown == NULL)
        return -1;
    officers = grown;
    hr_officer *o = officers[id];
    if (o == NULL && (o = officers[id] = calloc(1, sizeof *o)) == NULL)
        return -1;
    o->id = id;
    o->agency_id = agency;
    o->precinct_id = precinct;
    if (set_str(&o->badge, badge) || set_str(&o->name, name) || set_str(&o->rank, rank))
        return -1;
    return index_put('o', agency, badge, o);
}

int hr_put_shift(int id, int agency, const char *code, int starts, int ends)
{
    void *grown = grow(shifts, &shifts_cap, id, sizeof *shifts);
    if (grown == NULL)
        return -1;
    shifts = grown;
    hr_shift *s = shifts[id];
    if (s == NULL && (s = shifts[id] = calloc(1, sizeof *s)) == NULL)
        return -1;
    s->id = id;
    s->agency_id = agency;
    s->starts = starts;
    s->ends = ends;
    if (set_str(&s->code, code))
        return -1;
    return index_put('s', agency, code, s);
}

int hr_set_roster(int shift_id, int64_t day, const hr_assignment *a, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < nassigns; i++)
        if (!(assigns[i].shift_id == shift_id && assigns[i].day == day))
            assigns[w++] = assigns[i];
    nassigns = w;
    if (nassigns + n > assigns_cap) {
        size_t ncap = assigns_cap ? assigns_cap : 256;
        while (ncap < nassigns + n)
            ncap *= 2;
        hr_assignment *na = realloc(assigns, ncap * sizeof *na);
        if (na == NULL)
            return -1;
        assigns = na;
        assigns_cap = ncap;
    }
    if (n)
        memcpy(assigns + nassigns, a, n * sizeof *a);
    nassigns += n;
    return 0;
}

const hr_unit *hr_unit_get(int agency, const char *callsign)
{
    return index_get('u', agency, callsign);
}

const hr_unit *hr_unit_by_id(int id)
{
    return id > 0 && (size_t)id < units_cap ? units[id] : NULL;
}

const hr_officer *hr_officer_get(int agency, const char *badge)
{
    return index_get('o', agency, badge);
}

const hr_officer *hr_officer_by_id(int id)
{
    return id > 0 && (size_t)id < officers_cap ? officers[id] : NULL;
}

const hr_shift *hr_shift_get(int agency, const char *code)
{
    return index_get('s', agency, code);
}

const hr_shift *hr_shift_by_id(int id)
{
    return id > 0 && (size_t)id < shifts_cap ? shifts[id] : NULL;
}

size_t hr_unit_max(void)
{
    return units_cap;
}

size_t hr_officer_max(void)
{
    return officers_cap;
}

const hr_shift *const *hr_shifts(size_t *n)
{
    *n = shifts_cap;
    return (const hr_shift *const *)shifts;
}

const hr_assignment *hr_assignments(size_t *n)
{
    *n = nassigns;
    return assigns;
}

static int cmp_shift(const void *a, const void *b)
{
    const hr_shift *x = *(const hr_shift *const *)a, *y = *(const hr_shift *const *)b;
    if (x->starts != y->starts)
        return x->starts < y->starts ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int hr_shift_table(int agency, const hr_shift *order[HR_MAX_SHIFTS], int8_t quarter[RT_QUARTERS])
{
    int n = 0;
    for (size_t i = 0; i < shifts_cap && n < HR_MAX_SHIFTS; i++)
        if (shifts[i] && shifts[i]->agency_id == agency)
            order[n++] = shifts[i];
    qsort(order, (size_t)n, sizeof *order, cmp_shift);
    for (int q = 0; q < RT_QUARTERS; q++) {
        int minute = q * 15, pick = n - 1; /* before the first start: the day's last tour */
        for (int i = 0; i < n; i++)
            if (order[i]->starts <= minute)
                pick = i;
        /* Tours sharing a start: the first of them (lowest id). */
        while (pick > 0 && order[pick - 1]->starts == order[pick]->starts)
            pick--;
        quarter[q] = (int8_t)pick;
    }
    return n;
}

void hr_format_minutes(int minutes, char buf[8])
{
    snprintf(buf, 8, "%02d:%02d", (minutes / 60) % 100, minutes % 60);
}

/* ------------------------------------------------------------ loading */

static int minutes_of(const char *hhmmss)
{
    int h = 0, m = 0;
    if (sscanf(hhmmss, "%d:%d", &h, &m) != 2)
        return 0;
    return h * 60 + m;
}

static int int_or_zero(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : atoi(PQgetvalue(res, row, col));
}

static const char *str_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static void on_load(void *arg, PGresult *res, const char *error)
{
    const char *what = arg;
    if (error) {
        log_error("hr", "loading %s failed: %s", what, error);
        return; /* the next reconnect loads again */
    }
    int n = PQntuples(res), bad = 0;
    if (strcmp(what, "assignments") == 0)
        nassigns = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(what, "units") == 0) {
            bad |= hr_put_unit(atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 1)),
                               PQgetvalue(res, i, 2), int_or_zero(res, i, 3),
                               str_or_null(res, i, 4), !PQgetisnull(res, i, 5));
        } else if (strcmp(what, "officers") == 0) {
            bad |= hr_put_officer(atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 1)),
                                  PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                                  str_or_null(res, i, 4), int_or_zero(res, i, 5));
        } else if (strcmp(what, "shifts") == 0) {
            bad |= hr_put_shift(atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 1)),
                                PQgetvalue(res, i, 2), minutes_of(PQgetvalue(res, i, 3)),
                                minutes_of(PQgetvalue(res, i, 4)));
        } else {
            hr_assignment a = {atoi(PQgetvalue(res, i, 0)), atoi(PQgetvalue(res, i, 2)),
                               int_or_zero(res, i, 3), strtoll(PQgetvalue(res, i, 1), NULL, 10)};
            if (nassigns == assigns_cap) {
                size_t ncap = assigns_cap ? assigns_cap * 2 : 256;
                hr_assignment *na = realloc(assigns, ncap * sizeof *na);
                if (na == NULL) {
                    bad = 1;
                    break;
                }
                assigns = na;
                assigns_cap = ncap;
            }
            assigns[nassigns++] = a;
        }
    }
    if (bad)
        log_error("hr", "out of memory loading %s", what);
    log_info("hr", "loaded %d %s", n, what);
    if (strcmp(what, "assignments") == 0)
        loaded = 1;
}

void hr_reload(db_conn *db)
{
    db_query(db, "SELECT id, agency_id, callsign, precinct_id, type, status FROM units ORDER BY id",
             0, NULL, on_load, "units");
    db_query(db,
             "SELECT id, agency_id, badge, name, rank, precinct_id FROM officers ORDER BY id", 0,
             NULL, on_load, "officers");
    db_query(db, "SELECT id, agency_id, code, starts, ends FROM shifts ORDER BY id", 0, NULL,
             on_load, "shifts");
    /* Days as numbers since 1970-01-01, the last: its arrival means all four are in. */
    db_query(db,
             "SELECT shift_id, day - date '1970-01-01', officer_id, unit_id FROM shift_assignments"
             " ORDER BY id",
             0, NULL, on_load, "assignments");
}

int hr_ready(void)
{
    return loaded;
}

void hr_free(void)
{
    for (size_t i = 0; i < units_cap; i++)
        if (units[i]) {
            free(units[i]->callsign);
            free(units[i]->type);
            free(units[i]);
        }
    for (size_t i = 0; i < officers_cap; i++)
        if (officers[i]) {
            free(officers[i]->badge);
            free(officers[i]->name);
            free(officers[i]->rank);
            free(officers[i]);
        }
    for (size_t i = 0; i < shifts_cap; i++)
        if (shifts[i]) {
            free(shifts[i]->code);
            free(shifts[i]);
        }
    free(units);
    free(officers);
    free(shifts);
    free(assigns);
    strmap_free(by_key);
    units = NULL;
    officers = NULL;
    shifts = NULL;
    assigns = NULL;
    by_key = NULL;
    units_cap = officers_cap = shifts_cap = nassigns = assigns_cap = 0;
    loaded = 0;
}
