/*
 * unitboard.c -- see unitboard.h.
 */
#include "unitboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "strmap.h"

/* "agency\x1fcallsign" -> struct unit_live. No deletions (strmap): a unit
   whose last incident closed keeps an empty entry. */
struct unitboard {
    strmap *units;
};

struct unit_live {
    int n, cap;
    struct {
        int64_t id;
        int status;
        int precinct; /* 0: none */
    } *inc;
};

unitboard *unitboard_new(void)
{
    unitboard *b = calloc(1, sizeof *b);
    if (b && (b->units = strmap_new()) == NULL) {
        free(b);
        return NULL;
    }
    return b;
}

static void free_unit_live(const char *key, void *value, void *arg)
{
    struct unit_live *u = value;
    free(u->inc);
    free(u);
}

void unitboard_free(unitboard *b)
{
    if (b == NULL)
        return;
    strmap_foreach(b->units, free_unit_live, NULL);
    strmap_free(b->units);
    free(b);
}

static int board_active(int status)
{
    return status == INC_OPEN || status == INC_DISPATCHED || status == INC_EN_ROUTE ||
           status == INC_ON_SCENE;
}

static void board_key(char *buf, size_t size, int agency, const char *callsign)
{
    snprintf(buf, size, "%d\x1f%s", agency, callsign);
}

int unitboard_move(unitboard *b, int agency, int64_t id, int status, int precinct,
                   char *const *units, size_t nunits, int delta)
{
    if (b == NULL || !board_active(status))
        return 0;
    for (size_t i = 0; i < nunits; i++) {
        char key[96];
        board_key(key, sizeof key, agency, units[i]);
        struct unit_live *u = strmap_get(b->units, key);
        if (delta < 0) {
            int k = 0;
            while (u && k < u->n && u->inc[k].id != id)
                k++;
            if (u == NULL || k == u->n)
                return -1;
            u->inc[k] = u->inc[--u->n];
            continue;
        }
        if (u == NULL) {
            if ((u = calloc(1, sizeof *u)) == NULL || strmap_put(b->units, key, u) != 0) {
                free(u);
                return -1;
            }
        }
        if (u->n == u->cap) {
            int ncap = u->cap ? u->cap * 2 : 2;
            void *ni = realloc(u->inc, (size_t)ncap * sizeof *u->inc);
            if (ni == NULL)
                return -1;
            u->inc = ni;
            u->cap = ncap;
        }
        u->inc[u->n].id = id;
        u->inc[u->n].status = status;
        u->inc[u->n].precinct = precinct;
        u->n++;
    }
    return 0;
}

static void fill_activity(const struct unit_live *u, const uint8_t *scope, int32_t nscope,
                          unit_activity *out)
{
    memset(out, 0, sizeof *out);
    out->status = -1;
    for (int i = 0; u && i < u->n; i++) {
        int st = u->inc[i].status == INC_OPEN ? INC_DISPATCHED : u->inc[i].status;
        if (st > out->status)
            out->status = st;
        int p = u->inc[i].precinct;
        if (scope && (p <= 0 || p >= nscope || !scope[p]))
            continue; /* the unit's status, but not the incident */
        out->total++;
        /* The newest (highest ids) first: the same answer whatever order
           the board was built in (a load, a replay, live updates). */
        int64_t id = u->inc[i].id;
        int k = out->n < UNIT_ACTIVITY_MAX ? out->n++ : UNIT_ACTIVITY_MAX;
        if (k == UNIT_ACTIVITY_MAX && id < out->incidents[k - 1])
            continue;
        if (k == UNIT_ACTIVITY_MAX)
            k--;
        while (k > 0 && out->incidents[k - 1] < id) {
            out->incidents[k] = out->incidents[k - 1];
            k--;
        }
        out->incidents[k] = id;
    }
}

void unitboard_activity(const unitboard *b, int agency, const char *callsign,
                        const uint8_t *scope, int32_t nscope, unit_activity *out)
{
    char key[96];
    board_key(key, sizeof key, agency, callsign);
    fill_activity(b ? strmap_get(b->units, key) : NULL, scope, nscope, out);
}

struct board_walk {
    int agency;
    void (*fn)(const char *callsign, const unit_activity *a, void *arg);
    void *arg;
};

static void walk_one(const char *key, void *value, void *arg)
{
    struct board_walk *w = arg;
    const char *sep = strchr(key, '\x1f');
    const struct unit_live *u = value;
    if (sep == NULL || atoi(key) != w->agency || u->n == 0)
        return;
    unit_activity a;
    fill_activity(u, NULL, 0, &a);
    w->fn(sep + 1, &a, w->arg);
}

void unitboard_foreach(const unitboard *b, int agency,
                       void (*fn)(const char *callsign, const unit_activity *a, void *arg),
                       void *arg)
{
    struct board_walk w = {agency, fn, arg};
    if (b)
        strmap_foreach(b->units, walk_one, &w);
}

static void save_entry(const char *key, void *value, void *arg)
{
    snap_out *out = arg;
    const struct unit_live *u = value;
    snap_str(out, key);
    snap_i32(out, u->n);
    for (int i = 0; i < u->n; i++) {
        snap_i64(out, u->inc[i].id);
        snap_i32(out, u->inc[i].status);
        snap_i32(out, u->inc[i].precinct);
    }
}

void unitboard_save(const unitboard *b, snap_out *out)
{
    if (b)
        strmap_foreach(b->units, save_entry, out);
    snap_str(out, ""); /* keys are never empty */
}

unitboard *unitboard_restore(snap_in *in)
{
    unitboard *b = unitboard_new();
    for (;;) {
        char *key = snap_get_str(in, 95);
        if (b == NULL || key == NULL || key[0] == '\0') {
            free(key);
            break;
        }
        int32_t n = snap_get_i32(in);
        struct unit_live *u = calloc(1, sizeof *u);
        /* An entry's incidents take 16 bytes each: no count allocates more
           than the bytes left could hold. */
        if (u == NULL || n < 0 || n > (in->end - in->p) / 16 || strmap_get(b->units, key) ||
            (n && (u->inc = calloc((size_t)n, sizeof *u->inc)) == NULL) ||
            strmap_put(b->units, key, u) != 0) {
            free(key);
            if (u)
                free(u->inc);
            free(u);
            snap_fail(in);
            break;
        }
        free(key);
        u->n = u->cap = n;
        for (int32_t i = 0; i < n; i++) {
            u->inc[i].id = snap_get_i64(in);
            u->inc[i].status = snap_get_i32(in);
            u->inc[i].precinct = snap_get_i32(in);
        }
    }
    if (b == NULL)
        snap_fail(in);
    if (in->failed) {
        unitboard_free(b);
        return NULL;
    }
    return b;
}
