/*
 * spatial.c -- see spatial.h.
 *
 * Each day is a sorted array of entries (ix, iy, precinct, offense,
 * count); updates binary-search it, a window walks the days in it.
 *
 * Views: a view holds the entry arrays of a range of days through a
 * `struct share` (the array, its length and a holder count: the store,
 * when it still uses the array, and each view). The store never writes an
 * array a view holds: before it changes such a day it gives the day a
 * copy of its own (own_day) and leaves the shared one to the views; the
 * last holder to let go frees it. Holder counts change only on the
 * store's thread (sp_view_new, own_day, sp_view_free), so they need no
 * atomics; the arrays a view holds are never written again, so any thread
 * may read them.
 */
#include "spatial.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    int32_t ix, iy, precinct, offense;
    uint32_t count;
};

/* An entry array held by views (and by its day, until the day changes). */
struct share {
    struct entry *e;
    uint32_t n;
    uint32_t holders;
};

struct day {
    struct entry *e;
    uint32_t n, cap;
    struct entry *pend; /* bulk load, unsorted, count 1 each */
    uint32_t np, pcap;
    struct share *sh; /* non-NULL: e is also held by views (sh->e == e) */
};

struct agency {
    int has_grid;
    grid g;
    int64_t day0; /* days[i] is day day0 + i */
    struct day *days;
    int64_t ndays;
};

struct sp_store {
    struct agency *agencies;
    int32_t nagencies;
    size_t nentries;
    int32_t finish_agency;
    int64_t finish_day;
};

sp_store *sp_new(void)
{
    return calloc(1, sizeof(sp_store));
}

/* One holder lets go of sh; the last frees the array. */
static void share_release(struct share *sh)
{
    if (--sh->holders == 0) {
        free(sh->e);
        free(sh);
    }
}

/* The day lets go of its entry array (freed unless views hold it). */
static void day_release(struct day *d)
{
    if (d->sh)
        share_release(d->sh);
    else
        free(d->e);
    d->sh = NULL;
    d->e = NULL;
    d->n = d->cap = 0;
    free(d->pend);
    d->pend = NULL;
    d->np = d->pcap = 0;
}

/*
 * Before the day's entries change: when views hold its array, the day
 * takes a copy of its own (the views keep theirs). 0, or -1 out of memory
 * (nothing changed).
 */
static int own_day(struct day *d)
{
    if (d->sh == NULL)
        return 0;
    if (d->sh->holders > 1) {
        struct entry *c = malloc((size_t)(d->cap ? d->cap : 1) * sizeof *c);
        if (c == NULL)
            return -1;
        memcpy(c, d->e, (size_t)d->n * sizeof *c);
        d->sh->holders--;
        d->e = c;
    } else {
        free(d->sh); /* only the day held it: the array stays the day's */
    }
    d->sh = NULL;
    return 0;
}

static void agency_release(struct agency *ag)
{
    for (int64_t d = 0; d < ag->ndays; d++)
        day_release(&ag->days[d]);
    free(ag->days);
    memset(ag, 0, sizeof *ag);
}

void sp_free(sp_store *s)
{
    if (s == NULL)
        return;
    for (int32_t a = 0; a < s->nagencies; a++)
        agency_release(&s->agencies[a]);
    free(s->agencies);
    free(s);
}

static struct agency *agency_get(sp_store *s, int32_t id, int create)
{
    if (id < 0)
        return NULL;
    if (id >= s->nagencies) {
        if (!create)
            return NULL;
        int32_t n = s->nagencies ? s->nagencies : 8;
        while (n <= id)
            n *= 2;
        struct agency *na = realloc(s->agencies, (size_t)n * sizeof *na);
        if (na == NULL)
            return NULL;
        memset(na + s->nagencies, 0, (size_t)(n - s->nagencies) * sizeof *na);
        s->agencies = na;
        s->nagencies = n;
    }
    return &s->agencies[id];
}

int sp_set_grid(sp_store *s, int32_t agency, const grid *g)
{
    struct agency *ag = agency_get(s, agency, 1);
    if (ag == NULL)
        return -1;
    ag->g = *g;
    ag->has_grid = 1;
    return 0;
}

const grid *sp_grid(const sp_store *s, int32_t agency)
{
    if (agency < 0 || agency >= s->nagencies || !s->agencies[agency].has_grid)
        return NULL;
    return &s->agencies[agency].g;
}

/* The day record, growing the range when create is set. */
static struct day *day_get(struct agency *ag, int64_t day, int create)
{
    if (ag->ndays == 0) {
        if (!create)
            return NULL;
        ag->days = calloc(1, sizeof *ag->days);
        if (ag->days == NULL)
            return NULL;
        ag->day0 = day;
        ag->ndays = 1;
    }
    if (day < ag->day0 || day >= ag->day0 + ag->ndays) {
        if (!create)
            return NULL;
        int64_t lo = day < ag->day0 ? day - 365 : ag->day0;
        int64_t hi = day >= ag->day0 + ag->ndays ? day + 366 : ag->day0 + ag->ndays;
        struct day *nd = calloc((size_t)(hi - lo), sizeof *nd);
        if (nd == NULL)
            return NULL;
        memcpy(nd + (ag->day0 - lo), ag->days, (size_t)ag->ndays * sizeof *nd);
        free(ag->days);
        ag->days = nd;
        ag->day0 = lo;
        ag->ndays = hi - lo;
    }
    return &ag->days[day - ag->day0];
}

/* Grow an entry array to hold need entries (doubling). 0, or -1 out of memory. */
static int reserve(struct entry **a, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    struct entry *n = realloc(*a, (size_t)ncap * sizeof *n);
    if (n == NULL)
        return -1;
    *a = n;
    *cap = ncap;
    return 0;
}

static int entry_cmp(const struct entry *a, const struct entry *b)
{
    if (a->ix != b->ix)
        return a->ix < b->ix ? -1 : 1;
    if (a->iy != b->iy)
        return a->iy < b->iy ? -1 : 1;
    if (a->precinct != b->precinct)
        return a->precinct < b->precinct ? -1 : 1;
    if (a->offense != b->offense)
        return a->offense < b->offense ? -1 : 1;
    return 0;
}

static uint32_t lower_bound(const struct day *d, const struct entry *k)
{
    uint32_t lo = 0, hi = d->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (entry_cmp(&d->e[mid], k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int sp_add(sp_store *s, int32_t agency, int32_t precinct, int32_t offense, int64_t day,
           double lon, double lat, int delta)
{
    struct agency *ag = agency_get(s, agency, 0);
    if (ag == NULL || !ag->has_grid || (delta != 1 && delta != -1))
        return -1;
    struct entry k = {0, 0, precinct, offense, 0};
    grid_cell(&ag->g, lon, lat, &k.ix, &k.iy);
    struct day *d = day_get(ag, day, delta > 0);
    if (d == NULL)
        return -1;
    uint32_t i = lower_bound(d, &k);
    int present = i < d->n && entry_cmp(&d->e[i], &k) == 0;
    if (delta < 0) {
        if (!present || own_day(d) != 0)
            return -1;
        if (--d->e[i].count == 0) {
            memmove(d->e + i, d->e + i + 1, (size_t)(d->n - i - 1) * sizeof *d->e);
            d->n--;
            s->nentries--;
        }
        return 0;
    }
    if (own_day(d) != 0)
        return -1;
    if (present) {
        d->e[i].count++;
        return 0;
    }
    if (reserve(&d->e, &d->cap, d->n + 1) != 0)
        return -1;
    memmove(d->e + i + 1, d->e + i, (size_t)(d->n - i) * sizeof *d->e);
    k.count = 1;
    d->e[i] = k;
    d->n++;
    s->nentries++;
    return 0;
}

int sp_load(sp_store *s, int32_t agency, int32_t precinct, int32_t offense, int64_t day,
            double lon, double lat)
{
    struct agency *ag = agency_get(s, agency, 0);
    if (ag == NULL || !ag->has_grid)
        return -1;
    struct day *d = day_get(ag, day, 1);
    if (d == NULL)
        return -1;
    if (reserve(&d->pend, &d->pcap, d->np + 1) != 0)
        return -1;
    struct entry *e = &d->pend[d->np++];
    grid_cell(&ag->g, lon, lat, &e->ix, &e->iy);
    e->precinct = precinct;
    e->offense = offense;
    e->count = 1;
    s->finish_agency = 0;
    s->finish_day = 0;
    return 0;
}

static int qcmp(const void *a, const void *b)
{
    return entry_cmp(a, b);
}

/* Merge a day's pending entries into its sorted ones. */
static int index_day(sp_store *s, struct day *d)
{
    qsort(d->pend, d->np, sizeof *d->pend, qcmp);
    uint32_t cap = d->n + d->np;
    struct entry *m = malloc((size_t)cap * sizeof *m);
    if (m == NULL)
        return -1;
    uint32_t i = 0, j = 0, n = 0;
    while (i < d->n || j < d->np) {
        const struct entry *next;
        if (j >= d->np || (i < d->n && entry_cmp(&d->e[i], &d->pend[j]) <= 0))
            next = &d->e[i++];
        else
            next = &d->pend[j++];
        if (n > 0 && entry_cmp(&m[n - 1], next) == 0)
            m[n - 1].count += next->count;
        else
            m[n++] = *next;
    }
    s->nentries += n - d->n;
    if (d->sh) {
        share_release(d->sh);
        d->sh = NULL;
    } else {
        free(d->e);
    }
    free(d->pend);
    d->e = m;
    d->n = d->cap = n;
    d->pend = NULL;
    d->np = d->pcap = 0;
    return 0;
}

int sp_load_finish(sp_store *s, size_t budget)
{
    size_t done = 0;
    for (; s->finish_agency < s->nagencies; s->finish_agency++, s->finish_day = 0) {
        struct agency *ag = &s->agencies[s->finish_agency];
        for (; s->finish_day < ag->ndays; s->finish_day++) {
            struct day *d = &ag->days[s->finish_day];
            if (d->np == 0)
                continue;
            if (done > 0 && done + d->np > budget)
                return 0;
            done += d->np;
            if (index_day(s, d) != 0)
                return -1;
        }
    }
    return 1;
}

/* Aggregation of a question: open addressing on (cx, cy). */
struct acc {
    sp_cell *cells;
    size_t n, cap;
    uint32_t *index; /* 1-based */
    size_t icap;
};

static uint64_t cell_hash(int32_t x, int32_t y)
{
    uint64_t h = (uint64_t)(uint32_t)x * 0x9E3779B97F4A7C15ULL ^
                 (uint64_t)(uint32_t)y * 0xC2B2AE3D27D4EB4FULL;
    return h ^ (h >> 29);
}

static int acc_rehash(struct acc *a, size_t icap)
{
    uint32_t *ni = calloc(icap, sizeof *ni);
    if (ni == NULL)
        return -1;
    for (size_t k = 0; k < a->n; k++) {
        size_t j = cell_hash(a->cells[k].cx, a->cells[k].cy) & (icap - 1);
        while (ni[j])
            j = (j + 1) & (icap - 1);
        ni[j] = (uint32_t)(k + 1);
    }
    free(a->index);
    a->index = ni;
    a->icap = icap;
    return 0;
}

static int acc_add(struct acc *a, int32_t cx, int32_t cy, uint32_t count)
{
    if ((a->n + 1) * 2 > a->icap && acc_rehash(a, a->icap ? a->icap * 2 : 1024) != 0)
        return -1;
    size_t j = cell_hash(cx, cy) & (a->icap - 1);
    while (a->index[j]) {
        sp_cell *c = &a->cells[a->index[j] - 1];
        if (c->cx == cx && c->cy == cy) {
            c->count += count;
            return 0;
        }
        j = (j + 1) & (a->icap - 1);
    }
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 256;
        sp_cell *nc = realloc(a->cells, ncap * sizeof *nc);
        if (nc == NULL)
            return -1;
        a->cells = nc;
        a->cap = ncap;
    }
    a->cells[a->n].cx = cx;
    a->cells[a->n].cy = cy;
    a->cells[a->n].count = count;
    a->n++;
    a->index[j] = (uint32_t)a->n;
    return 0;
}

/* Add a day's entries that q counts into a. 0, or -1 out of memory. */
static int count_entries(struct acc *a, const sp_question *q, const struct entry *es, uint32_t n)
{
    int32_t k = q->k > 0 ? q->k : 1;
    for (uint32_t i = 0; i < n; i++) {
        const struct entry *e = &es[i];
        if (q->precincts && (e->precinct >= q->nprecincts || !q->precincts[e->precinct]))
            continue;
        if (q->offenses && (e->offense >= q->noffenses || !q->offenses[e->offense]))
            continue;
        int32_t cx = k == 1 ? e->ix : grid_coarse(e->ix, k);
        int32_t cy = k == 1 ? e->iy : grid_coarse(e->iy, k);
        if (acc_add(a, cx, cy, e->count) != 0)
            return -1;
    }
    return 0;
}

/* The days of [day0, day0 + ndays) that q asks for: [*lo, *hi). */
static void clamp_days(const sp_question *q, int64_t day0, int64_t ndays, int64_t *lo,
                       int64_t *hi)
{
    *lo = q->day_from == INT64_MIN || q->day_from < day0 ? day0 : q->day_from;
    *hi = q->day_to == INT64_MAX || q->day_to > day0 + ndays ? day0 + ndays : q->day_to;
}

static int acc_done(struct acc *a, int rc, sp_cell **cells, size_t *n)
{
    free(a->index);
    if (rc != 0) {
        free(a->cells);
        return -1;
    }
    *cells = a->cells;
    *n = a->n;
    return 0;
}

int sp_count(const sp_store *s, const sp_question *q, sp_cell **cells, size_t *n)
{
    struct acc a = {0};
    int rc = 0;
    *cells = NULL;
    *n = 0;
    if (q->agency >= 0 && q->agency < s->nagencies) {
        const struct agency *ag = &s->agencies[q->agency];
        int64_t lo, hi;
        clamp_days(q, ag->day0, ag->ndays, &lo, &hi);
        for (int64_t day = lo; rc == 0 && day < hi; day++) {
            const struct day *d = &ag->days[day - ag->day0];
            rc = count_entries(&a, q, d->e, d->n);
        }
    }
    return acc_done(&a, rc, cells, n);
}

/* ------------------------------------------------------------ views */

struct sp_view {
    int has_grid;
    grid g;
    int64_t day0, ndays; /* days[i] is day day0 + i; NULL: no entries */
    struct share **days;
};

sp_view *sp_view_new(sp_store *s, int32_t agency, int64_t day_from, int64_t day_to)
{
    sp_view *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    struct agency *ag = agency_get(s, agency, 0);
    if (ag == NULL)
        return v;
    v->has_grid = ag->has_grid;
    v->g = ag->g;
    sp_question q = {.day_from = day_from, .day_to = day_to};
    int64_t lo, hi;
    clamp_days(&q, ag->day0, ag->ndays, &lo, &hi);
    if (hi <= lo)
        return v;
    if ((v->days = calloc((size_t)(hi - lo), sizeof *v->days)) == NULL) {
        free(v);
        return NULL;
    }
    /* Share first, count holders after: out of memory half-way leaves
       nothing held. */
    for (int64_t day = lo; day < hi; day++) {
        struct day *d = &ag->days[day - ag->day0];
        if (d->n == 0 || d->sh)
            continue;
        if ((d->sh = malloc(sizeof *d->sh)) == NULL) {
            free(v->days);
            free(v);
            return NULL;
        }
        d->sh->e = d->e;
        d->sh->n = d->n;
        d->sh->holders = 1; /* the day */
    }
    v->day0 = lo;
    v->ndays = hi - lo;
    for (int64_t day = lo; day < hi; day++) {
        struct day *d = &ag->days[day - ag->day0];
        if (d->n == 0)
            continue;
        d->sh->holders++;
        v->days[day - lo] = d->sh;
    }
    return v;
}

const grid *sp_view_grid(const sp_view *v)
{
    return v && v->has_grid ? &v->g : NULL;
}

int sp_view_count(const sp_view *v, const sp_question *q, sp_cell **cells, size_t *n)
{
    struct acc a = {0};
    int rc = 0;
    *cells = NULL;
    *n = 0;
    int64_t lo, hi;
    clamp_days(q, v->day0, v->ndays, &lo, &hi);
    for (int64_t day = lo; rc == 0 && day < hi; day++) {
        const struct share *sh = v->days[day - v->day0];
        if (sh)
            rc = count_entries(&a, q, sh->e, sh->n);
    }
    return acc_done(&a, rc, cells, n);
}

void sp_view_free(sp_view *v)
{
    if (v == NULL)
        return;
    for (int64_t i = 0; i < v->ndays; i++)
        if (v->days[i])
            share_release(v->days[i]);
    free(v->days);
    free(v);
}

/* ------------------------------------------------------------ agencies */

static size_t agency_entries(const struct agency *ag)
{
    size_t n = 0;
    for (int64_t d = 0; d < ag->ndays; d++)
        n += ag->days[d].n;
    return n;
}

int sp_move_agency(sp_store *dst, sp_store *src, int32_t agency)
{
    struct agency *from = agency_get(src, agency, 0);
    struct agency *to = agency_get(dst, agency, 1);
    if (to == NULL)
        return -1;
    for (int64_t d = 0; from && d < from->ndays; d++)
        if (from->days[d].np)
            return -1; /* a bulk load is not finished */
    dst->nentries -= agency_entries(to);
    agency_release(to);
    if (from) {
        size_t n = agency_entries(from);
        *to = *from;
        memset(from, 0, sizeof *from);
        src->nentries -= n;
        dst->nentries += n;
    }
    return 0;
}

/* ------------------------------------------------------------ snapshots */

#define SP_SNAP_TAG 0x44495247u /* "GRID" */

int sp_save(const sp_store *s, snap_out *out)
{
    snap_u32(out, SP_SNAP_TAG);
    snap_i32(out, s->nagencies);
    for (int32_t a = 0; a < s->nagencies; a++) {
        const struct agency *ag = &s->agencies[a];
        snap_i32(out, ag->has_grid);
        snap_f64(out, ag->g.lat0);
        snap_f64(out, ag->g.lon0);
        snap_f64(out, ag->g.base_m);
        snap_f64(out, ag->g.dlon);
        snap_f64(out, ag->g.dlat);
        snap_i64(out, ag->day0);
        snap_i64(out, ag->ndays);
        for (int64_t d = 0; d < ag->ndays; d++) {
            const struct day *dy = &ag->days[d];
            if (dy->np)
                return -1; /* a bulk load is not finished */
            snap_u32(out, dy->n);
            snap_put(out, dy->e, (size_t)dy->n * sizeof *dy->e);
        }
    }
    snap_u64(out, s->nentries);
    return out->failed ? -1 : 0;
}

sp_store *sp_restore(snap_in *in)
{
    sp_store *s = sp_new();
    if (s == NULL || snap_get_u32(in) != SP_SNAP_TAG)
        goto fail;
    int32_t nagencies = snap_get_i32(in);
    if (nagencies < 0 || nagencies > (1 << 20) ||
        (nagencies > 0 && agency_get(s, nagencies - 1, 1) == NULL))
        goto fail;
    for (int32_t a = 0; a < nagencies && !in->failed; a++) {
        struct agency *ag = &s->agencies[a];
        ag->has_grid = snap_get_i32(in) != 0;
        ag->g.lat0 = snap_get_f64(in);
        ag->g.lon0 = snap_get_f64(in);
        ag->g.base_m = snap_get_f64(in);
        ag->g.dlon = snap_get_f64(in);
        ag->g.dlat = snap_get_f64(in);
        ag->day0 = snap_get_i64(in);
        int64_t ndays = snap_get_i64(in);
        const grid *g = &ag->g;
        /* each day takes at least its 4-byte count; days and the grid stay
           in the ranges sp_add and grid_cell can compute with */
        if (in->failed || ndays < 0 || ndays > (int64_t)((in->end - in->p) / 4) ||
            ag->day0 < -(INT64_C(1) << 40) || ag->day0 > INT64_C(1) << 40 ||
            (ag->has_grid &&
             !(isfinite(g->lat0) && isfinite(g->lon0) && fabs(g->lat0) <= 90 &&
               fabs(g->lon0) <= 180 && g->base_m > 0 && g->dlon > 0 && g->dlat > 0 &&
               isfinite(g->base_m) && isfinite(g->dlon) && isfinite(g->dlat))))
            goto fail;
        if (ndays == 0)
            continue;
        if ((ag->days = calloc((size_t)ndays, sizeof *ag->days)) == NULL)
            goto fail;
        ag->ndays = ndays;
        for (int64_t d = 0; d < ndays && !in->failed; d++) {
            struct day *dy = &ag->days[d];
            uint32_t n = snap_get_u32(in);
            if (n == 0)
                continue;
            if ((dy->e = snap_get_array(in, n, sizeof *dy->e)) == NULL)
                goto fail;
            dy->n = dy->cap = n;
            for (uint32_t i = 0; i < n; i++)
                if (dy->e[i].count == 0 || (i > 0 && entry_cmp(&dy->e[i - 1], &dy->e[i]) >= 0))
                    goto fail;
        }
    }
    s->nentries = snap_get_u64(in);
    if (in->failed)
        goto fail;
    return s;
fail:
    snap_fail(in);
    sp_free(s);
    return NULL;
}

size_t sp_entries(const sp_store *s)
{
    return s->nentries;
}

size_t sp_bytes(const sp_store *s)
{
    size_t b = sizeof *s;
    for (int32_t a = 0; a < s->nagencies; a++) {
        const struct agency *ag = &s->agencies[a];
        b += sizeof *ag + (size_t)ag->ndays * sizeof(struct day);
        for (int64_t d = 0; d < ag->ndays; d++)
            b += ((size_t)ag->days[d].cap + ag->days[d].pcap) * sizeof(struct entry);
    }
    return b;
}
