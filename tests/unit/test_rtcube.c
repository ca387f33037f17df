/*
 * test_rtcube.c -- unit tests for lib/rtcube: the response-time cube.
 *
 * Hand-made cases pin the contract: unit ids, "by unit" counting (once per
 * unit attached, once under RT_NO_UNIT when none is, once per incident
 * otherwise), filters, window edges, local hour / ISO weekday / shift of the
 * quarter cell across Chicago's DST changes, a shift table starting at 07:30,
 * and removals of facts that are not there (-1, nothing changed).
 *
 * The randomized tests keep a brute-force model -- a plain array of facts --
 * and recount every question from it: local time with tz_local on the exact
 * received instant, the ISO weekday with rfc3339_civil_from_days and
 * Sakamoto's formula, grouping by sorting, exact nearest-rank percentiles
 * from sorted values. The cube must give the same groups and incident
 * counts, exact n, sum, min and max per interval, and percentiles equal to
 * the lower edge of the nearest-rank value's bucket clamped to min (the max
 * for the top rank), which is within value / 128 below it and exact below
 * 256 s. Removing facts and adding them back must give identical answers,
 * histogram counter for counter.
 *
 * test_remove_unit_subset: removing a fact whose units are a strict subset
 * of a held fact's fails (each record carries its incident's unit count).
 *
 * Hard-coded instants were computed with GNU date, `date -u -d '...' +%s`
 * (the command is in the comment next to each).
 */
#include "rfc3339.h"
#include "rtcube.h"
#include "tz.h"
#include "unit.h"
#include "unit_zone.h"
#include "unit_snap.h"

#include <stdint.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400

/* date -u -d '2023-01-01' +%s -> 1672531200; '2025-01-01' -> 1735689600 */
#define T2023 INT64_C(1672531200)
#define T2025 INT64_C(1735689600)
/* date -u -d '1960-01-01' +%s -> -315619200 */
#define T1960 INT64_C(-315619200)

/* Chicago's changes in 2023 and 2024:
   date -u -d '2023-03-12 08:00' +%s -> 1678608000 (02:00 CST -> 03:00 CDT)
   date -u -d '2023-11-05 07:00' +%s -> 1699167600 (02:00 CDT -> 01:00 CST)
   date -u -d '2024-03-10 08:00' +%s -> 1710057600
   date -u -d '2024-11-03 07:00' +%s -> 1730617200 */
static const int64_t dst_edges[] = {1678608000, 1699167600, 1710057600, 1730617200};

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Uniform in lo..hi inclusive. */
static int64_t rnd_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* Log-uniform in 0..max. */
static uint32_t rnd_log(uint32_t max)
{
    for (;;) {
        int bits = (int)rnd_in(0, 32);
        uint64_t v = bits == 0 ? 0
                               : (uint64_t)rnd_in(INT64_C(1) << (bits - 1),
                                                  (INT64_C(1) << bits) - 1);
        if (v <= max)
            return (uint32_t)v;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* ISO weekday (1 = Monday) of a civil date, by Sakamoto's method. */
static int iso_dow(int64_t y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    int64_t w = (y + fdiv(y, 4) - fdiv(y, 100) + fdiv(y, 400) + t[m - 1] + d) % 7;
    if (w < 0)
        w += 7;
    return w == 0 ? 7 : (int)w; /* Sakamoto: 0 = Sunday */
}

/* Shift tables: three tours 00-08, 08-16, 16-24; three tours starting at
   07:30; and two short tours with gaps (-1) in between. */
static int8_t shifts_8h[RT_QUARTERS], shifts_0730[RT_QUARTERS], shifts_gaps[RT_QUARTERS];

static void init_shift_tables(void)
{
    for (int q = 0; q < RT_QUARTERS; q++) {
        shifts_8h[q] = (int8_t)(q / 32);
        shifts_0730[q] = (int8_t)(((q - 30 + RT_QUARTERS) % RT_QUARTERS) / 32);
        shifts_gaps[q] = q >= 28 && q < 44 ? 5 : q >= 72 && q < 80 ? 0 : -1;
    }
}

/* A question with no filters, no grouping, the whole of time. */
static rt_question question(int32_t agency, const tz_zone *zone)
{
    rt_question q;
    memset(&q, 0, sizeof q);
    q.agency = agency;
    q.from = INT64_MIN;
    q.to = INT64_MAX;
    q.zone = zone;
    return q;
}

/* ---- group keys --------------------------------------------------------- */

struct gk {
    int32_t precinct, unit;
    int priority, shift, hour, dow;
};

static int cmp_gk(const struct gk *a, const struct gk *b)
{
    const int32_t x[6] = {a->precinct, a->unit, a->priority, a->shift, a->hour, a->dow};
    const int32_t y[6] = {b->precinct, b->unit, b->priority, b->shift, b->hour, b->dow};
    for (int i = 0; i < 6; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

static struct gk key_of_group(const rt_group *g)
{
    struct gk k = {g->precinct, g->unit, g->priority, g->shift, g->hour, g->dow};
    return k;
}

struct gref {
    struct gk k;
    size_t i;
};

static int cmp_gref(const void *a, const void *b)
{
    const struct gref *x = a, *y = b;
    int c = cmp_gk(&x->k, &y->k);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The groups of r sorted by key (caller frees). Duplicate keys are an error. */
static struct gref *sorted_groups(const rt_result *r)
{
    struct gref *s = malloc((r->n + 1) * sizeof *s);
    for (size_t i = 0; i < r->n; i++) {
        s[i].k = key_of_group(&r->groups[i]);
        s[i].i = i;
    }
    qsort(s, r->n, sizeof *s, cmp_gref);
    for (size_t i = 1; i < r->n; i++)
        if (cmp_gk(&s[i - 1].k, &s[i].k) == 0) {
            fprintf(stderr, "%s:%d: duplicate group key\n", __FILE__, __LINE__);
            unit_failures_++;
        }
    return s;
}

/* The group of r with key k, NULL when none. */
static const rt_group *find_group(const rt_result *r, int32_t precinct, int32_t unit,
                                  int priority, int shift, int hour, int dow)
{
    struct gk k = {precinct, unit, priority, shift, hour, dow};
    for (size_t i = 0; i < r->n; i++) {
        struct gk g = key_of_group(&r->groups[i]);
        if (cmp_gk(&g, &k) == 0)
            return &r->groups[i];
    }
    return NULL;
}

static uint64_t incidents_of(const rt_result *r, int32_t precinct, int32_t unit, int priority,
                             int shift, int hour, int dow)
{
    const rt_group *g = find_group(r, precinct, unit, priority, shift, hour, dow);
    return g ? g->incidents : 0;
}

static uint64_t total_incidents(const rt_cube *c, const rt_question *q)
{
    rt_result r = {0};
    CHECK_INT(rt_query(c, q, &r), 0);
    uint64_t t = 0;
    for (size_t i = 0; i < r.n; i++)
        t += r.groups[i].incidents;
    rt_result_free(&r);
    return t;
}

/* Are two results the same, group for group and counter for counter? */
static int same_result(const rt_result *a, const rt_result *b)
{
    if (a->n != b->n)
        return 0;
    struct gref *sa = sorted_groups(a), *sb = sorted_groups(b);
    int same = 1;
    for (size_t i = 0; i < a->n && same; i++) {
        const rt_group *x = &a->groups[sa[i].i], *y = &b->groups[sb[i].i];
        if (cmp_gk(&sa[i].k, &sb[i].k) != 0 || x->incidents != y->incidents)
            same = 0;
        for (int k = 0; k < RT_NINT && same; k++) {
            const rt_hist *hx = &x->h[k], *hy = &y->h[k];
            if (hx->n != hy->n || hx->sum != hy->sum ||
                (hx->n && (hx->min != hy->min || hx->max != hy->max)))
                same = 0;
            for (int bl = 0; bl < RT_HIST_BLOCKS && same; bl++)
                for (int j = 0; j < RT_HIST_SUB && same; j++) {
                    uint32_t cx = hx->block[bl] ? hx->block[bl][j] : 0;
                    uint32_t cy = hy->block[bl] ? hy->block[bl][j] : 0;
                    same = cx == cy;
                }
        }
    }
    free(sa);
    free(sb);
    return same;
}

/* ---- facts -------------------------------------------------------------- */

#define NPOOL 7
static char pool[NPOOL][12] = {"1A12", "1A13", "2B7", "ENG4", "K9-1", "MEDIC22", "L3"};

static const int32_t agencies[] = {3, 7, 1000};
#define NAG ((int)NCASES(agencies))

struct mf {
    int32_t agency, precinct;
    int priority;
    int64_t received;
    unsigned mask;
    uint32_t v[RT_NINT];
    int nunits;
    int u[4];        /* indexes into pool */
    char *units[4];  /* pool[u[i]] */
};

static rt_fact fact_of(const struct mf *m)
{
    rt_fact f;
    memset(&f, 0, sizeof f);
    f.agency = m->agency;
    f.precinct = m->precinct;
    f.priority = m->priority;
    f.received = m->received;
    f.mask = m->mask;
    memcpy(f.v, m->v, sizeof f.v);
    f.nunits = (size_t)m->nunits;
    f.units = m->units;
    return f;
}

static int fact_add(rt_cube *c, const struct mf *m, int delta)
{
    rt_fact f = fact_of(m);
    return rt_add(c, &f, delta);
}

/* A hand-made fact; units is a NULL-terminated list of pool indexes. */
static struct mf mk(int32_t agency, int32_t precinct, int priority, int64_t received,
                    unsigned mask, uint32_t queue, uint32_t travel, uint32_t response,
                    const int *units)
{
    struct mf m;
    memset(&m, 0, sizeof m);
    m.agency = agency;
    m.precinct = precinct;
    m.priority = priority;
    m.received = received;
    m.mask = mask;
    m.v[RT_QUEUE] = queue;
    m.v[RT_TRAVEL] = travel;
    m.v[RT_RESPONSE] = response;
    m.v[RT_ON_SCENE] = queue + travel;
    m.v[RT_COMMITTED] = queue + response;
    for (int i = 0; units && units[i] >= 0; i++) {
        m.u[i] = units[i];
        m.units[i] = pool[units[i]];
        m.nunits++;
    }
    return m;
}

#define QR ((1u << RT_QUEUE) | (1u << RT_RESPONSE))
#define ALLI ((1u << RT_NINT) - 1)

/* ---- the brute-force model -------------------------------------------- */

#define MAXF 6000

struct model {
    struct mf f[MAXF];
    size_t n;
    int32_t uid[NAG][NPOOL]; /* unit ids in order of first use; -1: never */
    int32_t next_uid;
};

static int ag_index(int32_t agency)
{
    for (int a = 0; a < NAG; a++)
        if (agencies[a] == agency)
            return a;
    return -1;
}

static void model_init(struct model *m)
{
    m->n = 0;
    m->next_uid = 0;
    for (int a = 0; a < NAG; a++)
        for (int u = 0; u < NPOOL; u++)
            m->uid[a][u] = -1;
}

static void model_add(struct model *m, const struct mf *f)
{
    m->f[m->n++] = *f;
    struct mf *x = &m->f[m->n - 1];
    for (int i = 0; i < x->nunits; i++)
        x->units[i] = pool[x->u[i]];
    int a = ag_index(f->agency);
    for (int i = 0; i < f->nunits; i++)
        if (m->uid[a][f->u[i]] < 0)
            m->uid[a][f->u[i]] = m->next_uid++;
}

/* (units[] point into pool, so copies stay valid.) */
static void model_remove(struct model *m, size_t i)
{
    m->f[i] = m->f[--m->n];
}

/* Same cell and measures (what the cube can tell apart), units aside. */
static int weak_match(const struct mf *a, const struct mf *b)
{
    if (a->agency != b->agency || a->precinct != b->precinct || a->priority != b->priority ||
        fdiv(a->received, RT_SLOT) != fdiv(b->received, RT_SLOT) || a->mask != b->mask)
        return 0;
    for (int k = 0; k < RT_NINT; k++)
        if (((a->mask >> k) & 1) && a->v[k] != b->v[k])
            return 0;
    return 1;
}

/* Is every unit of a among those of b (no units: both have none)? */
static int units_subset(const struct mf *a, const struct mf *b)
{
    if (a->nunits == 0 || b->nunits == 0)
        return a->nunits == b->nunits;
    for (int i = 0; i < a->nunits; i++) {
        int found = 0;
        for (int j = 0; j < b->nunits; j++)
            found |= a->u[i] == b->u[j];
        if (!found)
            return 0;
    }
    return 1;
}

/* One counted row of a question: a key and the fact it counts. */
struct ent {
    struct gk k;
    const struct mf *f;
};

static int cmp_ent(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    int c = cmp_gk(&x->k, &y->k);
    if (c)
        return c;
    return (x->f > y->f) - (x->f < y->f);
}

static const uint32_t check_p[] = {1, 1000, 50000, 90000, 99900, 100000};

/* Compare one interval's histogram with the sorted exact values. */
static void check_interval(const rt_hist *h, uint32_t *v, size_t n, const char *ctx, int k)
{
    qsort(v, n, sizeof *v, cmp_u32);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    if (h->n != n || h->sum != sum || (n && (h->min != v[0] || h->max != v[n - 1]))) {
        fprintf(stderr,
                "%s:%d: %s %s: n %llu sum %llu min %lu max %lu; expected %zu %llu %lu %lu\n",
                __FILE__, __LINE__, ctx, rt_interval_name(k), (unsigned long long)h->n,
                (unsigned long long)h->sum, (unsigned long)h->min, (unsigned long)h->max, n,
                (unsigned long long)sum, n ? (unsigned long)v[0] : 0UL,
                n ? (unsigned long)v[n - 1] : 0UL);
        unit_failures_++;
        return;
    }
    for (size_t i = 0; i < NCASES(check_p) + 2; i++) {
        uint32_t p = i < NCASES(check_p) ? check_p[i] : (uint32_t)rnd_in(1, 100000);
        uint32_t got = rt_hist_percentile(h, p);
        if (n == 0) {
            if (got != 0) {
                fprintf(stderr, "%s:%d: %s: empty percentile %lu\n", __FILE__, __LINE__, ctx,
                        (unsigned long)got);
                unit_failures_++;
            }
            continue;
        }
        uint64_t rank = ((uint64_t)p * n + 99999) / 100000;
        if (rank < 1)
            rank = 1;
        uint32_t x = v[rank - 1];
        uint32_t want = rt_hist_lower(rt_hist_bucket(x));
        if (want < v[0])
            want = v[0];
        if (rank >= n)
            want = v[n - 1];
        if (got > x || x - got > x / 128 || (x < 256 && got != x) || got != want) {
            fprintf(stderr, "%s:%d: %s %s p %lu: got %lu, nearest-rank %lu (n %zu)\n", __FILE__,
                    __LINE__, ctx, rt_interval_name(k), (unsigned long)p, (unsigned long)got,
                    (unsigned long)x, n);
            unit_failures_++;
        }
    }
}

/* Ask q of the cube and of the model; every group must agree. */
static void check_question(const rt_cube *c, const struct model *m, const rt_question *q,
                           const char *ctx)
{
    int before = unit_failures_;
    rt_result r = {0};
    if (rt_query(c, q, &r) != 0) {
        fprintf(stderr, "%s:%d: %s: rt_query failed\n", __FILE__, __LINE__, ctx);
        unit_failures_++;
        return;
    }
    int per_unit = (q->by & RT_BY_UNIT) || q->units != NULL;
    int a = ag_index(q->agency);
    struct ent *e = malloc((m->n * 4 + 1) * sizeof *e);
    size_t ne = 0;
    for (size_t i = 0; i < m->n && a >= 0; i++) {
        const struct mf *f = &m->f[i];
        if (f->agency != q->agency || f->received < q->from || f->received >= q->to)
            continue;
        if (q->precincts && (f->precinct >= q->nprecincts || !q->precincts[f->precinct]))
            continue;
        if (q->priorities && !((q->priorities >> (f->priority + 1)) & 1))
            continue;
        int64_t local = tz_local(q->zone, f->received);
        int64_t lday = fdiv(local, DAY);
        int sod = (int)(local - lday * DAY);
        int64_t y;
        int mo, d;
        rfc3339_civil_from_days(lday, &y, &mo, &d);
        int shift = q->shift_of_quarter ? q->shift_of_quarter[sod / RT_SLOT] : -1;
        if (q->shifts && !((q->shifts >> (shift + 1)) & 1))
            continue;
        struct gk k = {(q->by & RT_BY_PRECINCT) ? f->precinct : -1, -1,
                       (q->by & RT_BY_PRIORITY) ? f->priority : -1,
                       (q->by & RT_BY_SHIFT) ? shift : -1,
                       (q->by & RT_BY_HOUR) ? sod / 3600 : -1,
                       (q->by & RT_BY_DOW) ? iso_dow(y, mo, d) : -1};
        if (!per_unit) {
            e[ne].k = k;
            e[ne++].f = f;
            continue;
        }
        int nu = f->nunits ? f->nunits : 1;
        for (int j = 0; j < nu; j++) {
            int32_t id = f->nunits ? m->uid[a][f->u[j]] : RT_NO_UNIT;
            if (q->units && (id + 1 >= q->nunits || !q->units[id + 1]))
                continue;
            e[ne].k = k;
            if (q->by & RT_BY_UNIT)
                e[ne].k.unit = id;
            e[ne++].f = f;
        }
    }
    qsort(e, ne, sizeof *e, cmp_ent);

    struct gref *s = sorted_groups(&r);
    uint32_t *vals = malloc((ne + 1) * sizeof *vals);
    size_t gi = 0, ngroups = 0;
    char gctx[256];
    for (size_t i = 0; i < ne && unit_failures_ - before < 20;) {
        size_t j = i;
        while (j < ne && cmp_gk(&e[j].k, &e[i].k) == 0)
            j++;
        ngroups++;
        const struct gk *k = &e[i].k;
        snprintf(gctx, sizeof gctx,
                 "%s [precinct %d unit %d priority %d shift %d hour %d dow %d]", ctx,
                 (int)k->precinct, (int)k->unit, k->priority, k->shift, k->hour, k->dow);
        while (gi < r.n && cmp_gk(&s[gi].k, k) < 0) {
            fprintf(stderr, "%s:%d: %s: unexpected group [precinct %d unit %d ...]\n", __FILE__,
                    __LINE__, ctx, (int)s[gi].k.precinct, (int)s[gi].k.unit);
            unit_failures_++;
            gi++;
        }
        if (gi == r.n || cmp_gk(&s[gi].k, k) != 0) {
            fprintf(stderr, "%s:%d: %s: group missing (%zu incidents)\n", __FILE__, __LINE__,
                    gctx, j - i);
            unit_failures_++;
            i = j;
            continue;
        }
        const rt_group *g = &r.groups[s[gi++].i];
        if (g->incidents != j - i) {
            fprintf(stderr, "%s:%d: %s: %llu incidents, expected %zu\n", __FILE__, __LINE__,
                    gctx, (unsigned long long)g->incidents, j - i);
            unit_failures_++;
        }
        for (int iv = 0; iv < RT_NINT; iv++) {
            size_t nv = 0;
            for (size_t x = i; x < j; x++)
                if ((e[x].f->mask >> iv) & 1)
                    vals[nv++] = e[x].f->v[iv];
            check_interval(&g->h[iv], vals, nv, gctx, iv);
        }
        i = j;
    }
    if (unit_failures_ == before && r.n != ngroups) {
        fprintf(stderr, "%s:%d: %s: %zu groups, expected %zu\n", __FILE__, __LINE__, ctx, r.n,
                ngroups);
        unit_failures_++;
    }
    free(vals);
    free(s);
    free(e);
    rt_result_free(&r);
}

/* ---- hand-made cases ---------------------------------------------------- */

static void test_empty(void)
{
    rt_cube *c = rt_new();
    CHECK(c != NULL);
    CHECK_INT(rt_facts(c), 0);
    CHECK_INT(rt_unit_count(c), 0);
    CHECK(rt_unit_name(c, 0) == NULL);
    CHECK_INT(rt_unit_id(c, 1, "1A12"), -1);
    tz_zone *utc = tz_fixed(0);
    rt_question q = question(1, utc);
    q.by = RT_BY_PRECINCT | RT_BY_UNIT | RT_BY_HOUR;
    rt_result r = {0};
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 0);
    rt_result_free(&r);
    /* Removing from an empty cube. */
    struct mf f = mk(1, 0, -1, T2023, QR, 10, 0, 20, NULL);
    CHECK_INT(fact_add(c, &f, -1), -1);
    CHECK_INT(rt_facts(c), 0);
    rt_free(c);
    rt_free(NULL);
    tz_free(utc);
}

static void test_units(void)
{
    rt_cube *c = rt_new();
    /* "1A12" and "2B7" for agency 3, then "2B7" and "ENG4" for agency 7. */
    static const int u1[] = {0, 2, -1}, u2[] = {2, 3, -1}, u3[] = {0, -1};
    struct mf a = mk(3, 1, 2, T2023, QR, 30, 0, 300, u1);
    struct mf b = mk(7, 1, 2, T2023, QR, 30, 0, 300, u2);
    struct mf d = mk(3, 4, 0, T2023 + DAY, QR, 40, 0, 500, u3);
    CHECK_INT(fact_add(c, &a, +1), 0);
    CHECK_INT(fact_add(c, &b, +1), 0);
    CHECK_INT(fact_add(c, &d, +1), 0);
    CHECK_INT(rt_facts(c), 3);
    CHECK_INT(rt_unit_count(c), 4);
    CHECK_INT(rt_unit_id(c, 3, "1A12"), 0);
    CHECK_INT(rt_unit_id(c, 3, "2B7"), 1);
    CHECK_INT(rt_unit_id(c, 7, "2B7"), 2); /* per agency */
    CHECK_INT(rt_unit_id(c, 7, "ENG4"), 3);
    CHECK_STR(rt_unit_name(c, 0), "1A12");
    CHECK_STR(rt_unit_name(c, 1), "2B7");
    CHECK_STR(rt_unit_name(c, 2), "2B7");
    CHECK_STR(rt_unit_name(c, 3), "ENG4");
    /* Unknown. */
    CHECK_INT(rt_unit_id(c, 7, "1A12"), -1);
    CHECK_INT(rt_unit_id(c, 3, "ENG4"), -1);
    CHECK_INT(rt_unit_id(c, 99, "1A12"), -1);
    CHECK_INT(rt_unit_id(c, 3, "1A1"), -1);
    CHECK_INT(rt_unit_id(c, 3, "1A123"), -1);
    CHECK_INT(rt_unit_id(c, 3, ""), -1);
    CHECK(rt_unit_name(c, 4) == NULL);
    CHECK(rt_unit_name(c, -1) == NULL);
    CHECK(rt_unit_name(c, -2) == NULL);
    CHECK(rt_unit_name(c, INT32_MAX) == NULL);
    /* Removing every fact keeps the ids; a failed removal assigns none. */
    CHECK_INT(fact_add(c, &a, -1), 0);
    CHECK_INT(fact_add(c, &b, -1), 0);
    CHECK_INT(fact_add(c, &d, -1), 0);
    CHECK_INT(rt_facts(c), 0);
    static const int u4[] = {6, -1};
    struct mf e = mk(3, 1, 2, T2023, QR, 30, 0, 300, u4);
    CHECK_INT(fact_add(c, &e, -1), -1);
    CHECK_INT(rt_unit_count(c), 4);
    CHECK_INT(rt_unit_id(c, 3, "L3"), -1);
    CHECK_INT(fact_add(c, &e, +1), 0);
    CHECK_INT(rt_unit_id(c, 3, "L3"), 4);
    CHECK_STR(rt_unit_name(c, 4), "L3");
    CHECK_INT(rt_unit_id(c, 3, "1A12"), 0);
    CHECK(rt_bytes(c) > 0);
    rt_free(c);
}

/* By unit: once per unit attached, once under RT_NO_UNIT when none is. */
static void test_unit_counting(void)
{
    rt_cube *c = rt_new();
    tz_zone *utc = tz_fixed(0);
    static const int ab[] = {0, 1, -1}, ub[] = {1, -1};
    /* date -u -d '2024-01-01' +%s -> 1704067200 */
    const int64_t t = 1704067200;
    struct mf f1 = mk(1, 2, 1, t, QR, 30, 0, 400, ab);
    struct mf f2 = mk(1, 2, 1, t + 60, 1u << RT_QUEUE, 90, 0, 0, NULL);
    struct mf f3 = mk(1, 3, -1, t + 3600, 1u << RT_RESPONSE, 0, 0, 700, ub);
    CHECK_INT(fact_add(c, &f1, +1), 0);
    CHECK_INT(fact_add(c, &f2, +1), 0);
    CHECK_INT(fact_add(c, &f3, +1), 0);
    int32_t A = rt_unit_id(c, 1, "1A12"), B = rt_unit_id(c, 1, "1A13");
    CHECK_INT(A, 0);
    CHECK_INT(B, 1);

    rt_question q = question(1, utc);
    rt_result r = {0};
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 1);
    if (r.n == 1) {
        const rt_group *g = &r.groups[0];
        CHECK_INT(g->precinct, -1);
        CHECK_INT(g->unit, -1);
        CHECK_INT(g->priority, -1);
        CHECK_INT(g->shift, -1);
        CHECK_INT(g->hour, -1);
        CHECK_INT(g->dow, -1);
        CHECK_INT(g->incidents, 3);
        CHECK_INT(g->h[RT_QUEUE].n, 2);
        CHECK_INT(g->h[RT_QUEUE].sum, 120);
        CHECK_INT(g->h[RT_QUEUE].min, 30);
        CHECK_INT(g->h[RT_QUEUE].max, 90);
        CHECK_INT(g->h[RT_RESPONSE].n, 2);
        CHECK_INT(g->h[RT_RESPONSE].sum, 1100);
        CHECK_INT(g->h[RT_TRAVEL].n, 0);
        CHECK_INT(rt_hist_percentile(&g->h[RT_RESPONSE], 50000), 400);
        CHECK_INT(rt_hist_percentile(&g->h[RT_RESPONSE], 50001), 700);
    }
    rt_result_free(&r);

    q.by = RT_BY_UNIT;
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 3);
    CHECK_INT(incidents_of(&r, -1, A, -1, -1, -1, -1), 1);
    CHECK_INT(incidents_of(&r, -1, B, -1, -1, -1, -1), 2);
    CHECK_INT(incidents_of(&r, -1, RT_NO_UNIT, -1, -1, -1, -1), 1);
    const rt_group *gb = find_group(&r, -1, B, -1, -1, -1, -1);
    if (gb) {
        CHECK_INT(gb->h[RT_QUEUE].n, 1);
        CHECK_INT(gb->h[RT_RESPONSE].n, 2);
        CHECK_INT(gb->h[RT_RESPONSE].sum, 1100);
    }
    rt_result_free(&r);

    q.by = RT_BY_PRECINCT | RT_BY_UNIT;
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 4);
    CHECK_INT(incidents_of(&r, 2, A, -1, -1, -1, -1), 1);
    CHECK_INT(incidents_of(&r, 2, B, -1, -1, -1, -1), 1);
    CHECK_INT(incidents_of(&r, 2, RT_NO_UNIT, -1, -1, -1, -1), 1);
    CHECK_INT(incidents_of(&r, 3, B, -1, -1, -1, -1), 1);
    rt_result_free(&r);

    q.by = RT_BY_PRECINCT | RT_BY_PRIORITY;
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 2);
    CHECK_INT(incidents_of(&r, 2, -1, 1, -1, -1, -1), 2);
    CHECK_INT(incidents_of(&r, 3, -1, -1, -1, -1, -1), 1); /* priority none */
    rt_result_free(&r);

    /* Unit filters: "no unit" only; A only; B only. */
    static const uint8_t only_none[] = {1}, only_a[] = {0, 1}, only_b[] = {0, 0, 1};
    q.by = 0;
    q.units = only_none;
    q.nunits = 1;
    CHECK_INT(total_incidents(c, &q), 1);
    q.units = only_a;
    q.nunits = 2;
    CHECK_INT(total_incidents(c, &q), 1);
    q.units = only_b;
    q.nunits = 3;
    CHECK_INT(total_incidents(c, &q), 2);
    q.nunits = 2; /* B's entry lies beyond nunits: excluded */
    CHECK_INT(total_incidents(c, &q), 0);
    q.units = NULL;
    q.nunits = 0;

    /* Precinct filters, id 0 being "unassigned". */
    static const uint8_t p2[] = {0, 0, 1}, p3[] = {0, 0, 0, 1}, p0[] = {1, 0, 0, 0};
    q.precincts = p2;
    q.nprecincts = 3;
    CHECK_INT(total_incidents(c, &q), 2);
    q.precincts = p3;
    q.nprecincts = 4;
    CHECK_INT(total_incidents(c, &q), 1);
    q.nprecincts = 3; /* precinct 3 beyond nprecincts */
    CHECK_INT(total_incidents(c, &q), 0);
    q.precincts = p0;
    q.nprecincts = 4;
    CHECK_INT(total_incidents(c, &q), 0);
    q.precincts = NULL;
    q.nprecincts = 0;

    /* Priority filters: bit p + 1. */
    q.priorities = 1u << 0; /* none */
    CHECK_INT(total_incidents(c, &q), 1);
    q.priorities = 1u << 2; /* priority 1 */
    CHECK_INT(total_incidents(c, &q), 2);
    q.priorities = 1u << 3;
    CHECK_INT(total_incidents(c, &q), 0);
    q.priorities = 0;

    /* Another agency sees nothing. */
    q.agency = 2;
    CHECK_INT(total_incidents(c, &q), 0);

    /* A precinct-0 fact, then unassigned only. */
    struct mf f4 = mk(1, 0, 9, t + 7200, 0, 0, 0, 0, NULL);
    CHECK_INT(fact_add(c, &f4, +1), 0);
    q.agency = 1;
    q.precincts = p0;
    q.nprecincts = 4;
    q.by = RT_BY_PRIORITY;
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 1);
    CHECK_INT(incidents_of(&r, -1, -1, 9, -1, -1, -1), 1);
    if (r.n == 1)
        for (int k = 0; k < RT_NINT; k++)
            CHECK_INT(r.groups[0].h[k].n, 0); /* counted, without intervals */
    rt_result_free(&r);

    rt_free(c);
    tz_free(utc);
}

/* The window is [from, to) on received; a day boundary in between. */
static void test_window(void)
{
    rt_cube *c = rt_new();
    tz_zone *utc = tz_fixed(0);
    /* date -u -d '2024-01-01' +%s -> 1704067200 */
    const int64_t w = 1704067200;
    const int64_t at[] = {w - 1, w, w + 899, w + 900, w + 1799, w + DAY - 1, w + DAY};
    for (size_t i = 0; i < NCASES(at); i++) {
        struct mf f = mk(5, 1, 1, at[i], 1u << RT_QUEUE, (uint32_t)i, 0, 0, NULL);
        CHECK_INT(fact_add(c, &f, +1), 0);
    }
    rt_question q = question(5, utc);
    CHECK_INT(total_incidents(c, &q), 7);
    q.from = w;
    q.to = w + 900;
    CHECK_INT(total_incidents(c, &q), 2);
    q.to = w + 1800;
    CHECK_INT(total_incidents(c, &q), 4);
    q.to = w;
    CHECK_INT(total_incidents(c, &q), 0);
    q.from = INT64_MIN;
    CHECK_INT(total_incidents(c, &q), 1);
    q.from = w + 900;
    q.to = INT64_MAX;
    CHECK_INT(total_incidents(c, &q), 4);
    q.from = w - 900;
    q.to = w + DAY;
    CHECK_INT(total_incidents(c, &q), 6);
    q.from = w + DAY;
    q.to = w + DAY + 900;
    CHECK_INT(total_incidents(c, &q), 1);
    q.from = w + DAY - 900;
    q.to = w + DAY;
    CHECK_INT(total_incidents(c, &q), 1);
    q.from = w + 900;
    q.to = w; /* empty */
    CHECK_INT(total_incidents(c, &q), 0);
    /* Values are counted by window: queue 1 and 2 in the first quarter. */
    q.from = w;
    q.to = w + 900;
    rt_result r = {0};
    CHECK_INT(rt_query(c, &q, &r), 0);
    if (r.n == 1) {
        CHECK_INT(r.groups[0].h[RT_QUEUE].sum, 3);
        CHECK_INT(r.groups[0].h[RT_QUEUE].min, 1);
        CHECK_INT(r.groups[0].h[RT_QUEUE].max, 2);
    } else {
        CHECK_INT(r.n, 1);
    }
    rt_result_free(&r);
    rt_free(c);
    tz_free(utc);
}

/* Local hour and ISO weekday across Chicago's 2024 changes. */
static void test_local_chicago(void)
{
    tz_zone *chi = load_zone("America/Chicago");
    tz_zone *m930 = tz_fixed(-(9 * 3600 + 1800));
    init_shift_tables();
    if (chi == NULL || m930 == NULL)
        return;
    rt_cube *c = rt_new();
    const int64_t at[] = {
        1710056700, /* date -u -d '2024-03-10 07:45' +%s: 01:45 CST, Sunday */
        1710057600, /* date -u -d '2024-03-10 08:00' +%s: 03:00 CDT, Sunday */
        1710050399, /* date -u -d '2024-03-10 05:59:59' +%s: Sat 23:59:59 CST */
        1730615400, /* date -u -d '2024-11-03 06:30' +%s: 01:30 CDT, Sunday */
        1730619000, /* date -u -d '2024-11-03 07:30' +%s: 01:30 CST, Sunday */
        1730617200, /* date -u -d '2024-11-03 07:00' +%s: 01:00 CST, Sunday */
    };
    for (size_t i = 0; i < NCASES(at); i++) {
        struct mf f = mk(1, 1, 1, at[i], 1u << RT_QUEUE, 10, 0, 0, NULL);
        CHECK_INT(fact_add(c, &f, +1), 0);
    }
    rt_question q = question(1, chi);
    q.by = RT_BY_HOUR | RT_BY_DOW;
    rt_result r = {0};
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 3);
    CHECK_INT(incidents_of(&r, -1, -1, -1, -1, 1, 7), 4);
    CHECK_INT(incidents_of(&r, -1, -1, -1, -1, 3, 7), 1);
    CHECK_INT(incidents_of(&r, -1, -1, -1, -1, 23, 6), 1);
    rt_result_free(&r);

    /* -09:30: every one falls on the Saturday before. 06:30 and 07:00 UTC
       (Nov) are 21:00 and 21:30; 07:30 (Nov), 07:45 and 08:00 (Mar) are
       22:00, 22:15 and 22:30; 05:59:59 is 20:29:59. */
    q.zone = m930;
    q.by = RT_BY_HOUR | RT_BY_DOW;
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 3);
    CHECK_INT(incidents_of(&r, -1, -1, -1, -1, 21, 6), 2);
    CHECK_INT(incidents_of(&r, -1, -1, -1, -1, 22, 6), 3);
    CHECK_INT(incidents_of(&r, -1, -1, -1, -1, 20, 6), 1);
    rt_result_free(&r);

    /* Shifts 00-08 / 08-16 / 16-24: all in shift 0 but Saturday 23:59 (2). */
    q.zone = chi;
    q.by = RT_BY_SHIFT;
    q.shift_of_quarter = shifts_8h;
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 2);
    CHECK_INT(incidents_of(&r, -1, -1, -1, 0, -1, -1), 5);
    CHECK_INT(incidents_of(&r, -1, -1, -1, 2, -1, -1), 1);
    rt_result_free(&r);
    /* No table: every quarter is shift -1 ("none"). */
    q.shift_of_quarter = NULL;
    CHECK_INT(rt_query(c, &q, &r), 0);
    CHECK_INT(r.n, 1);
    CHECK_INT(incidents_of(&r, -1, -1, -1, -1, -1, -1), 6);
    rt_result_free(&r);
    q.by = 0;
    q.shifts = 1u << 0; /* shift none */
    CHECK_INT(total_incidents(c, &q), 6);
    q.shifts = 1u << 1;
    CHECK_INT(total_incidents(c, &q), 0);
    rt_free(c);
    tz_free(chi);
    tz_free(m930);
}

/* A table whose tours start at 07:30, in Chicago's summer (CDT, -05:00). */
static void test_shift_0730(void)
{
    tz_zone *chi = load_zone("America/Chicago");
    init_shift_tables();
    if (chi == NULL)
        return;
    rt_cube *c = rt_new();
    const struct {
        int64_t t;
        int shift, hour;
    } at[] = {
        {1717590540, 2, 7},  /* date -u -d '2024-06-05 12:29' +%s: 07:29 CDT */
        {1717590600, 0, 7},  /* date -u -d '2024-06-05 12:30' +%s: 07:30 */
        {1717619400, 1, 15}, /* date -u -d '2024-06-05 20:30' +%s: 15:30 */
        {1717619399, 0, 15}, /* 15:29:59 */
        {1717648200, 2, 23}, /* date -u -d '2024-06-06 04:30' +%s: 23:30 */
        {1717648199, 1, 23}, /* 23:29:59 */
    };
    for (size_t i = 0; i < NCASES(at); i++) {
        struct mf f = mk(1, 1, 1, at[i].t, 1u << RT_QUEUE, (uint32_t)(100 + i), 0, 0, NULL);
        CHECK_INT(fact_add(c, &f, +1), 0);
    }
    rt_question q = question(1, chi);
    q.shift_of_quarter = shifts_0730;
    for (size_t i = 0; i < NCASES(at); i++) {
        /* The fact of at[i] alone: its minute's quarter, in its shift. */
        q.from = fdiv(at[i].t, RT_SLOT) * RT_SLOT;
        q.to = q.from + RT_SLOT;
        q.by = RT_BY_SHIFT | RT_BY_HOUR | RT_BY_DOW;
        rt_result r = {0};
        CHECK_INT(rt_query(c, &q, &r), 0);
        CHECK_INT(r.n, 1);
        CHECK_INT(incidents_of(&r, -1, -1, -1, at[i].shift, at[i].hour, 3), 1); /* Wednesday */
        rt_result_free(&r);
    }
    q.from = INT64_MIN;
    q.to = INT64_MAX;
    q.by = 0;
    for (int s = 0; s < 3; s++) {
        q.shifts = 1ull << (s + 1);
        CHECK_INT(total_incidents(c, &q), 2);
    }
    q.shifts = (1ull << 1) | (1ull << 3);
    CHECK_INT(total_incidents(c, &q), 4);
    q.shifts = 1ull << 0; /* none: every quarter has a shift */
    CHECK_INT(total_incidents(c, &q), 0);
    q.shift_of_quarter = shifts_gaps; /* 07:00-11:00 is 5, 18:00-20:00 is 0, else -1 */
    q.shifts = 1ull << 0;
    CHECK_INT(total_incidents(c, &q), 4);
    q.shifts = 1ull << 6;
    CHECK_INT(total_incidents(c, &q), 2);
    rt_free(c);
    tz_free(chi);
}

/* Removing what is not there: -1, and nothing changes. */
static void test_remove_not_there(void)
{
    rt_cube *c = rt_new();
    tz_zone *utc = tz_fixed(0);
    /* date -u -d '2024-01-01' +%s -> 1704067200 */
    const int64_t t = 1704067200 + 10 * 3600;
    static const int a[] = {0, -1}, ab[] = {0, 1, -1}, b[] = {1, -1}, zz[] = {5, -1},
                     ba[] = {1, 0, -1};
    struct mf f = mk(1, 2, 3, t, ALLI, 60, 300, 360, a);
    struct mf g = mk(1, 2, 3, t + 2 * RT_SLOT, ALLI, 60, 300, 360, ab);
    struct mf h = mk(1, 2, 3, t + 4 * RT_SLOT, ALLI, 60, 300, 360, NULL);
    struct mf other = mk(2, 2, 3, t, ALLI, 60, 300, 360, zz); /* agency 2 knows "K9-1" */
    CHECK_INT(fact_add(c, &f, +1), 0);
    CHECK_INT(fact_add(c, &g, +1), 0);
    CHECK_INT(fact_add(c, &h, +1), 0);
    CHECK_INT(fact_add(c, &other, +1), 0);

    rt_question q1 = question(1, utc), q2 = question(1, utc);
    q2.by = RT_BY_PRECINCT | RT_BY_PRIORITY | RT_BY_UNIT | RT_BY_HOUR;
    rt_result before1 = {0}, before2 = {0};
    CHECK_INT(rt_query(c, &q1, &before1), 0);
    CHECK_INT(rt_query(c, &q2, &before2), 0);
    CHECK_INT(before1.n, 1);
    CHECK_INT(before2.n, 3); /* (A, 10h): f, g; (B, 10h): g; (none, 11h): h */

    /* Each variant is tried on a fresh copy of the cube, so that one
       failure does not hide or cause another. */
    struct mf v[24];
    const char *what[24];
    int nv = 0;
#define VARIANT(desc, stmt) (v[nv] = f, stmt, what[nv++] = desc)
    VARIANT("unknown agency", v[nv].agency = 99);
    VARIANT("a day not held", v[nv].received = t + DAY);
    VARIANT("the day before", v[nv].received = t - DAY);
    VARIANT("the next quarter", v[nv].received = t + RT_SLOT);
    VARIANT("the previous quarter", v[nv].received = t - 1);
    VARIANT("another precinct", v[nv].precinct = 3);
    VARIANT("unassigned precinct", v[nv].precinct = 0);
    VARIANT("another priority", v[nv].priority = 4);
    VARIANT("no priority", v[nv].priority = -1);
    VARIANT("an interval less", v[nv].mask = ALLI & ~(1u << RT_TRAVEL));
    VARIANT("another queue time", v[nv].v[RT_QUEUE] = 61);
    VARIANT("another committed time", v[nv].v[RT_COMMITTED] = 0);
    VARIANT("a unit unknown to the agency", v[nv] = mk(1, 2, 3, t, ALLI, 60, 300, 360, zz));
    VARIANT("a known unit, not f's", v[nv] = mk(1, 2, 3, t, ALLI, 60, 300, 360, b));
    VARIANT("a unit more than f", v[nv] = mk(1, 2, 3, t, ALLI, 60, 300, 360, ab));
    VARIANT("a unit more than f, first", v[nv] = mk(1, 2, 3, t, ALLI, 60, 300, 360, ba));
    VARIANT("no unit where f has one", v[nv] = mk(1, 2, 3, t, ALLI, 60, 300, 360, NULL));
    VARIANT("a unit where h has none",
            v[nv] = mk(1, 2, 3, t + 4 * RT_SLOT, ALLI, 60, 300, 360, a));
    VARIANT("g with another response time", (v[nv] = g, v[nv].v[RT_RESPONSE] = 361));
#undef VARIANT
    for (int i = 0; i < nv; i++) {
        for (int k = 0; k < v[i].nunits; k++)
            v[i].units[k] = pool[v[i].u[k]];
        rt_cube *c2 = rt_new();
        CHECK_INT(fact_add(c2, &f, +1), 0);
        CHECK_INT(fact_add(c2, &g, +1), 0);
        CHECK_INT(fact_add(c2, &h, +1), 0);
        CHECK_INT(fact_add(c2, &other, +1), 0);
        if (fact_add(c2, &v[i], -1) != -1) {
            fprintf(stderr, "%s:%d: removing f with %s succeeded\n", __FILE__, __LINE__,
                    what[i]);
            unit_failures_++;
        }
        CHECK_INT(rt_facts(c2), 4);
        CHECK_INT(rt_unit_count(c2), 3);
        rt_result after = {0};
        CHECK_INT(rt_query(c2, &q1, &after), 0);
        if (!same_result(&before1, &after)) {
            fprintf(stderr, "%s:%d: removing f with %s changed the totals\n", __FILE__,
                    __LINE__, what[i]);
            unit_failures_++;
        }
        rt_result_free(&after);
        CHECK_INT(rt_query(c2, &q2, &after), 0);
        if (!same_result(&before2, &after)) {
            fprintf(stderr, "%s:%d: removing f with %s changed the groups by unit\n",
                    __FILE__, __LINE__, what[i]);
            unit_failures_++;
        }
        rt_result_free(&after);
        rt_free(c2);
    }
    CHECK_INT(rt_unit_count(c), 3);

    /* The received second inside the quarter does not matter (the cell does). */
    struct mf f2 = f;
    f2.received = t + 899;
    /* Garbage in the values of absent intervals does not matter either. */
    struct mf h2 = h;
    h2.mask = 0;
    h2.v[RT_QUEUE] = 12345;
    struct mf h3 = h;
    h3.mask = 0;
    CHECK_INT(fact_add(c, &h3, +1), 0);
    CHECK_INT(fact_add(c, &h2, -1), 0);

    /* Remove for real, in another order of units for g; twice fails. */
    struct mf g2 = mk(1, 2, 3, t + 2 * RT_SLOT, ALLI, 60, 300, 360, ba);
    CHECK_INT(fact_add(c, &f2, -1), 0);
    CHECK_INT(fact_add(c, &f, -1), -1);
    CHECK_INT(fact_add(c, &g2, -1), 0);
    CHECK_INT(fact_add(c, &g, -1), -1);
    CHECK_INT(rt_facts(c), 2);
    CHECK_INT(total_incidents(c, &q1), 1);
    CHECK_INT(fact_add(c, &h, -1), 0);
    CHECK_INT(fact_add(c, &h, -1), -1);
    CHECK_INT(rt_facts(c), 1);
    CHECK_INT(total_incidents(c, &q1), 0);
    q2.by = RT_BY_UNIT;
    CHECK_INT(total_incidents(c, &q2), 0);

    /* Adding everything back gives the first answers again. */
    CHECK_INT(fact_add(c, &h, +1), 0);
    CHECK_INT(fact_add(c, &g2, +1), 0);
    CHECK_INT(fact_add(c, &f, +1), 0);
    q2.by = RT_BY_PRECINCT | RT_BY_PRIORITY | RT_BY_UNIT | RT_BY_HOUR;
    rt_result after = {0};
    CHECK_INT(rt_query(c, &q1, &after), 0);
    CHECK(same_result(&before1, &after));
    rt_result_free(&after);
    CHECK_INT(rt_query(c, &q2, &after), 0);
    CHECK(same_result(&before2, &after));
    rt_result_free(&after);

    rt_result_free(&before1);
    rt_result_free(&before2);
    rt_free(c);
    tz_free(utc);
}

/*
 * Removing a fact whose units are a strict subset of a held fact's (same
 * cell and values) must fail and change nothing: otherwise the other
 * units' copies would stay, and "by unit" answers would keep an incident
 * the other answers no longer count.
 */
static void test_remove_unit_subset(void)
{
    rt_cube *c = rt_new();
    tz_zone *utc = tz_fixed(0);
    static const int a[] = {0, -1}, ab[] = {0, 1, -1};
    struct mf g = mk(1, 2, 3, T2023, ALLI, 60, 300, 360, ab);
    struct mf f = mk(1, 2, 3, T2023, ALLI, 60, 300, 360, a);
    CHECK_INT(fact_add(c, &g, +1), 0);
    CHECK_INT(fact_add(c, &f, -1), -1); /* f is not there */
    CHECK_INT(rt_facts(c), 1);
    rt_question q = question(1, utc);
    CHECK_INT(total_incidents(c, &q), 1);
    q.by = RT_BY_UNIT;
    CHECK_INT(total_incidents(c, &q), 2);
    rt_free(c);
    tz_free(utc);
}

/* ---- randomized against the model --------------------------------------- */

static struct model M;

static tz_zone *zones[4]; /* Chicago, +05:45, -09:30, UTC */

/* A random fact received in [lo, hi), sometimes in the cell of a held one
   or next to one of Chicago's changes. */
static struct mf random_fact(const struct model *m, int64_t lo, int64_t hi)
{
    struct mf f;
    memset(&f, 0, sizeof f);
    f.agency = agencies[rnd() % NAG];
    f.precinct = (int32_t)rnd_in(0, 5);
    f.priority = (int)rnd_in(-1, 9);
    int r = (int)(rnd() % 20);
    if (r < 2 && m->n > 0) {
        const struct mf *o = &m->f[rnd() % m->n];
        f.received = fdiv(o->received, RT_SLOT) * RT_SLOT + rnd_in(0, RT_SLOT - 1);
        if (rnd() % 2) {
            f.agency = o->agency;
            f.precinct = o->precinct;
            f.priority = o->priority;
        }
    } else if (r < 5 && lo <= dst_edges[0] && dst_edges[NCASES(dst_edges) - 1] < hi) {
        f.received = dst_edges[rnd() % NCASES(dst_edges)] + rnd_in(-36 * 3600, 36 * 3600);
    } else {
        f.received = rnd_in(lo, hi - 1);
    }
    f.mask = (unsigned)(rnd() % 32);
    for (int k = 0; k < RT_NINT; k++) {
        if (!((f.mask >> k) & 1)) {
            f.v[k] = (uint32_t)rnd(); /* absent: must be ignored */
            continue;
        }
        int d = (int)(rnd() % 10);
        static const uint32_t common[] = {0, 60, 255, 256, 257, 3600};
        f.v[k] = d < 4   ? (uint32_t)rnd_in(0, 300)
                 : d < 9 ? rnd_log(1000000)
                         : common[rnd() % NCASES(common)];
        if (rnd() % 500 == 0)
            f.v[k] = UINT32_MAX - (uint32_t)(rnd() % 3);
    }
    int nu = (int)(rnd() % 8);
    f.nunits = nu < 2 ? 0 : nu < 5 ? 1 : nu < 7 ? 2 : 3;
    for (int i = 0; i < f.nunits; i++) {
        int u, dup;
        do {
            u = (int)(rnd() % NPOOL);
            dup = 0;
            for (int j = 0; j < i; j++)
                dup |= f.u[j] == u;
        } while (dup);
        f.u[i] = u;
        f.units[i] = pool[u];
    }
    return f;
}

static void random_question(rt_question *q, int64_t lo, int64_t hi, uint8_t *precincts,
                            uint8_t *units)
{
    static const int8_t *const tables[] = {NULL, shifts_8h, shifts_0730, shifts_gaps};
    memset(q, 0, sizeof *q);
    q->agency = rnd() % 25 == 0 ? 555 : agencies[rnd() % NAG];
    q->zone = zones[rnd() % 4];
    int w = (int)(rnd() % 6);
    q->from = w == 0 ? INT64_MIN : fdiv(rnd_in(lo - 10 * DAY, hi + 10 * DAY), RT_SLOT) * RT_SLOT;
    if (w == 1 || rnd() % 5 == 0)
        q->to = INT64_MAX;
    else if (w == 2 && q->from != INT64_MIN)
        q->to = q->from + RT_SLOT * rnd_in(1, 400);
    else
        q->to = fdiv(rnd_in(lo - 10 * DAY, hi + 10 * DAY), RT_SLOT) * RT_SLOT;
    if (rnd() % 2) {
        q->nprecincts = (int32_t)rnd_in(0, 7);
        for (int i = 0; i < q->nprecincts; i++)
            precincts[i] = rnd() % 3 != 0;
        q->precincts = precincts;
    }
    if (rnd() % 2)
        q->priorities = (unsigned)(rnd() & 0x7FF);
    if (rnd() % 3 == 0) {
        q->nunits = (int32_t)rnd_in(0, M.next_uid + 2);
        for (int i = 0; i < q->nunits; i++)
            units[i] = rnd() % 2;
        q->units = units;
    }
    q->shift_of_quarter = tables[rnd() % 4];
    if (rnd() % 3 == 0)
        q->shifts = rnd() & 0x7F;
    q->by = (unsigned)(rnd() & 63);
}

/* Remove a variant of held fact f that is not there: -1, nothing changes
   (checked by the questions that follow). */
static void remove_variant(rt_cube *c, const struct model *m, const struct mf *f)
{
    struct mf v = *f;
    for (int i = 0; i < v.nunits; i++)
        v.units[i] = pool[v.u[i]];
    int units_changed = 0;
    switch (rnd() % 9) {
    case 0: v.precinct = (v.precinct + 1 + (int32_t)(rnd() % 5)) % 6; break;
    case 1: v.priority = v.priority == 9 ? -1 : v.priority + 1; break;
    case 2: v.received += rnd() % 2 ? RT_SLOT : -RT_SLOT; break;
    case 3: v.mask ^= 1u << (rnd() % RT_NINT); break;
    case 4:
        if (v.mask == 0)
            return;
        for (int k = 0; k < RT_NINT; k++)
            if ((v.mask >> k) & 1) {
                v.v[k] ^= 1u << (rnd() % 12);
                break;
            }
        break;
    case 5: v.agency = 4242; break;
    case 6: v.received += DAY * (rnd() % 2 ? 400 : -400); break;
    default: /* other units */
        units_changed = 1;
        if (v.nunits == 0 || (v.nunits < 3 && rnd() % 2)) {
            int u = (int)(rnd() % NPOOL), dup = 0;
            for (int j = 0; j < v.nunits; j++)
                dup |= v.u[j] == u;
            if (dup)
                return;
            v.u[v.nunits] = u;
            v.units[v.nunits++] = pool[u];
        } else if (rnd() % 2) {
            v.nunits = 0;
        } else {
            int u = (int)(rnd() % NPOOL), dup = 0;
            for (int j = 0; j < v.nunits; j++)
                dup |= v.u[j] == u;
            if (dup)
                return;
            v.u[0] = u;
            v.units[0] = pool[u];
        }
        break;
    }
    if (units_changed && units_subset(&v, f))
        return;
    /* Skip when anything held could stand for it. */
    for (size_t i = 0; i < m->n; i++)
        if (weak_match(&v, &m->f[i]) && (&m->f[i] != f || !units_changed))
            return;
    size_t facts = rt_facts(c);
    int32_t nunits = rt_unit_count(c);
    if (fact_add(c, &v, -1) != -1) {
        fprintf(stderr, "%s:%d: removing a fact not held succeeded\n", __FILE__, __LINE__);
        unit_failures_++;
    }
    CHECK_INT(rt_facts(c), facts);
    CHECK_INT(rt_unit_count(c), nunits);
}

static void check_units(const rt_cube *c, const struct model *m)
{
    CHECK_INT(rt_unit_count(c), m->next_uid);
    for (int a = 0; a < NAG; a++)
        for (int u = 0; u < NPOOL; u++) {
            CHECK_INT(rt_unit_id(c, agencies[a], pool[u]), m->uid[a][u]);
            if (m->uid[a][u] >= 0)
                CHECK_STR(rt_unit_name(c, m->uid[a][u]), pool[u]);
        }
}

static void ask_many(const rt_cube *c, int nq, int64_t lo, int64_t hi, const char *what)
{
    uint8_t precincts[8], units[64];
    char ctx[160];
    for (int i = 0; i < nq; i++) {
        rt_question q;
        random_question(&q, lo, hi, precincts, units);
        snprintf(ctx, sizeof ctx, "%.96s question %d (by %u)", what, i, q.by);
        int before = unit_failures_;
        check_question(c, &M, &q, ctx);
        if (unit_failures_ - before > 0 && unit_failures_ > 50)
            return;
    }
}

/* Save c, restore it: the copy answers as the model says, takes further
   adds and removes like the original, and damaged bytes are refused. */
static void snapshot_round_trip(const rt_cube *c, int64_t lo, int64_t hi, int nq,
                                const char *what)
{
    membuf buf = {0};
    snap_out out = membuf_out(&buf);
    CHECK_INT(rt_save(c, &out), 0);
    snap_in in;
    snap_in_init(&in, buf.p, buf.n);
    rt_cube *r = rt_restore(&in);
    CHECK(r != NULL);
    CHECK(in.p == in.end);
    char ctx[96];
    if (r) {
        CHECK_INT(rt_facts(r), M.n);
        check_units(r, &M);
        snprintf(ctx, sizeof ctx, "%s restored", what);
        ask_many(r, nq / 5, lo, hi, ctx);
        for (int op = 0; op < 400; op++) {
            if (M.n > 0 && rnd() % 2) {
                size_t i = rnd() % M.n;
                CHECK_INT(fact_add(r, &M.f[i], -1), 0);
                model_remove(&M, i);
            } else if (M.n < MAXF) {
                struct mf f = random_fact(&M, lo, hi);
                CHECK_INT(fact_add(r, &f, +1), 0);
                model_add(&M, &f);
            }
        }
        CHECK_INT(rt_facts(r), M.n);
        check_units(r, &M);
        snprintf(ctx, sizeof ctx, "%s restored, then changed", what);
        ask_many(r, nq / 5, lo, hi, ctx);
        rt_free(r);
    }
    CHECK_DAMAGED_RESTORES(buf, rt_restore, rt_free, rnd);
    free(buf.p);
}

/* Random adds and removes over [lo, hi), questions at checkpoints. */
static void run_random(int64_t lo, int64_t hi, int nops, int nq, const char *what)
{
    rt_cube *c = rt_new();
    model_init(&M);
    char ctx[64];
    for (int op = 1; op <= nops; op++) {
        if (M.n > 0 && rnd() % 10 < 3) {
            size_t i = rnd() % M.n;
            CHECK_INT(fact_add(c, &M.f[i], -1), 0);
            model_remove(&M, i);
        } else if (M.n < MAXF) {
            struct mf f = random_fact(&M, lo, hi);
            CHECK_INT(fact_add(c, &f, +1), 0);
            model_add(&M, &f);
        }
        if (M.n > 0 && rnd() % 20 == 0)
            remove_variant(c, &M, &M.f[rnd() % M.n]);
        if (rt_facts(c) != M.n) {
            CHECK_INT(rt_facts(c), M.n);
            break;
        }
        if (op == nops / 10 || op == nops / 2 || op == nops) {
            snprintf(ctx, sizeof ctx, "%s op %d", what, op);
            check_units(c, &M);
            ask_many(c, op == nops ? nq : nq / 5, lo, hi, ctx);
        }
        if (unit_failures_ > 50)
            break;
    }

    /* Remove a few hundred facts and add them back in another order: the
       same answers, counter for counter. */
    enum { NSNAP = 30 };
    rt_question qs[NSNAP];
    rt_result before[NSNAP];
    static uint8_t precincts[NSNAP][8], units[NSNAP][64];
    for (int i = 0; i < NSNAP; i++) {
        random_question(&qs[i], lo, hi, precincts[i], units[i]);
        memset(&before[i], 0, sizeof before[i]);
        CHECK_INT(rt_query(c, &qs[i], &before[i]), 0);
    }
    size_t nrm = M.n < 300 ? M.n : 300;
    static struct mf removed[300];
    for (size_t i = 0; i < nrm; i++) {
        size_t j = rnd() % M.n;
        removed[i] = M.f[j];
        CHECK_INT(fact_add(c, &M.f[j], -1), 0);
        model_remove(&M, j);
    }
    CHECK_INT(rt_facts(c), M.n);
    snprintf(ctx, sizeof ctx, "%s after removals", what);
    ask_many(c, nq / 5, lo, hi, ctx);
    for (size_t i = nrm; i-- > 0;) {
        CHECK_INT(fact_add(c, &removed[i], +1), 0);
        model_add(&M, &removed[i]);
    }
    CHECK_INT(rt_facts(c), M.n);
    for (int i = 0; i < NSNAP; i++) {
        rt_result after = {0};
        CHECK_INT(rt_query(c, &qs[i], &after), 0);
        if (!same_result(&before[i], &after)) {
            fprintf(stderr, "%s:%d: %s: question %d changed by remove + re-add (by %u)\n",
                    __FILE__, __LINE__, what, i, qs[i].by);
            unit_failures_++;
        }
        rt_result_free(&after);
        rt_result_free(&before[i]);
    }
    snprintf(ctx, sizeof ctx, "%s after re-adding", what);
    ask_many(c, nq / 5, lo, hi, ctx);
    snapshot_round_trip(c, lo, hi, nq, what);
    rt_free(c);
}

static int load_zones(void)
{
    init_shift_tables();
    zones[0] = load_zone("America/Chicago");
    zones[1] = tz_fixed(5 * 3600 + 45 * 60);
    zones[2] = tz_fixed(-(9 * 3600 + 30 * 60));
    zones[3] = tz_fixed(0);
    return zones[0] && zones[1] && zones[2] && zones[3];
}

static void free_zones(void)
{
    for (int i = 0; i < 4; i++) {
        tz_free(zones[i]);
        zones[i] = NULL;
    }
}

/* Two years of calls, incidents near Chicago's changes. */
/* rt_load and rt_load_finish build the same cube as rt_add, across several
   sorted batches: questions against the brute-force model, then every fact
   removed again with rt_add(-1). */
static void test_bulk_load(void)
{
    if (!load_zones()) {
        free_zones();
        return;
    }
    rt_cube *e = rt_new(); /* nothing loaded: finishing is a no-op */
    CHECK_INT(rt_load_finish(e), 0);
    CHECK_INT(rt_facts(e), 0);
    rt_free(e);
    rt_cube *c = rt_new();
    rt_set_load_chunk(c, 500);
    model_init(&M);
    for (int i = 0; i < 3000; i++) {
        struct mf f = random_fact(&M, T2023, T2025);
        rt_fact x = fact_of(&f);
        CHECK_INT(rt_load(c, &x), 0);
        model_add(&M, &f);
    }
    CHECK_INT(rt_load_finish(c), 0);
    CHECK_INT(rt_facts(c), M.n);
    check_units(c, &M);
    ask_many(c, 150, T2023, T2025, "bulk load");
    while (M.n > 0) {
        size_t i = rnd() % M.n;
        if (fact_add(c, &M.f[i], -1) != 0) {
            CHECK_INT(fact_add(c, &M.f[i], -1), 0);
            break;
        }
        model_remove(&M, i);
    }
    CHECK_INT(rt_facts(c), 0);
    rt_free(c);
    free_zones();
}

static void test_random_2023_2024(void)
{
    if (load_zones())
        run_random(T2023, T2025, 4000, 300, "2023-2024");
    free_zones();
}

/* The first days of the epoch (UTC day 0 and on; local days before it). */
static void test_random_epoch(void)
{
    if (load_zones())
        run_random(0, 5 * DAY, 800, 60, "epoch");
    free_zones();
}

/* Before the epoch: negative instants, floor division of days. */
static void test_random_pre_epoch(void)
{
    if (load_zones())
        run_random(T1960, DAY, 800, 60, "1960s");
    free_zones();
}

UNIT_MAIN(UNIT(test_empty), UNIT(test_units), UNIT(test_unit_counting), UNIT(test_window),
          UNIT(test_local_chicago), UNIT(test_shift_0730), UNIT(test_remove_not_there),
          UNIT(test_remove_unit_subset), UNIT(test_bulk_load), UNIT(test_random_2023_2024), UNIT(test_random_epoch), UNIT(test_random_pre_epoch))
