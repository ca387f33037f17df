/*
 * test_cube.c -- unit tests for lib/cube: the in-memory OLAP cube.
 *
 * Hand-made cases pin the contract (add/remove, failed removals leave the
 * cube unchanged, empty cells disappear, filters, categories declared with
 * cube_set_category and moved between, open ranges, as_of, bucket starts,
 * ISO weekdays). The randomized tests keep a brute-force
 * model -- a plain array of (key, instant) -- and recount every question
 * from it with tz_local and the civil-date functions of rfc3339.h, grouping
 * by sorting, with no slots, no cumulative counts and no hashing; the cube
 * must give exactly the same cells, totals and as_of. Bulk loading
 * (cube_load + cube_load_finish in small steps) must give the same answers
 * as adding one by one, also when categories are declared or changed while
 * the load is pending.
 *
 * Hard-coded instants were computed with GNU date, `date -u -d '...' +%s`
 * (the command is in the comment next to each).
 */
#include "cube.h"
#include "rfc3339.h"
#include "tz.h"
#include "unit_snap.h"
#include "unit.h"
#include "unit_zone.h"

#include <stdint.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* date -u -d '2015-01-01' +%s -> 1420070400; '2028-01-01' -> 1830297600 */
#define T2015 INT64_C(1420070400)
#define T2028 INT64_C(1830297600)

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

static int64_t fmod_(int64_t a, int64_t b)
{
    return a - fdiv(a, b) * b;
}

static cube_key key_of(int32_t agency, int32_t precinct, int32_t offense, int32_t priority)
{
    cube_key k = {agency, precinct, offense, priority};
    return k;
}

/* A question with no filters, no grouping, the whole of time. */
static cube_question question(int32_t agency)
{
    cube_question q;
    memset(&q, 0, sizeof q);
    q.agency = agency;
    q.from = INT64_MIN;
    q.to = INT64_MAX;
    return q;
}

static uint64_t total_of(const cube *c, const cube_question *q)
{
    cube_result r;
    if (cube_query(c, q, &r) != 0) {
        fprintf(stderr, "%s:%d: cube_query failed\n", __FILE__, __LINE__);
        unit_failures_++;
        return UINT64_MAX;
    }
    uint64_t t = r.total, sum = 0;
    for (size_t i = 0; i < r.n; i++)
        sum += r.cells[i].count;
    if (sum != t) {
        fprintf(stderr, "%s:%d: cells sum to %llu, total %llu\n", __FILE__, __LINE__,
                (unsigned long long)sum, (unsigned long long)t);
        unit_failures_++;
    }
    cube_result_free(&r);
    return t;
}

/* The count of the one cell of r matching the given dimensions (CUBE_ANY
   where not grouped); 0 when there is none. */
static uint64_t cell_count(const cube_result *r, int32_t precinct, int32_t offense,
                           int32_t category, int32_t priority, int32_t hour, int32_t dow,
                           int64_t bucket)
{
    for (size_t i = 0; i < r->n; i++) {
        const cube_cell *c = &r->cells[i];
        if (c->precinct == precinct && c->offense == offense && c->category == category &&
            c->priority == priority && c->hour_of_day == hour && c->day_of_week == dow &&
            c->bucket == bucket)
            return c->count;
    }
    return 0;
}

/* ---- the brute-force model -------------------------------------------- */

struct rec {
    cube_key key;
    int64_t t;
};

struct seen {
    cube_key key;
    int64_t as_of;
};

#define MAXAG 8   /* agency ids of the model: 0..7 */
#define MAXOFF 16 /* offense ids of the model: 0..15 */

struct model {
    struct rec *r;
    size_t n, cap;
    struct seen *keys; /* every key ever added, with its newest commit */
    size_t nkeys, kcap;
    int64_t as_of;
    int32_t category[MAXAG][MAXOFF]; /* as declared; -1: never */
    int recategorized; /* an offense moved between categories */
};

static void model_init(struct model *m)
{
    memset(m, 0, sizeof *m);
    for (int a = 0; a < MAXAG; a++)
        for (int o = 0; o < MAXOFF; o++)
            m->category[a][o] = -1;
}

static int32_t model_category(const struct model *m, int32_t agency, int32_t offense)
{
    return m->category[agency][offense];
}

/* cube_set_category on the cube and the model. */
static void set_category(cube *c, struct model *m, int32_t agency, int32_t offense,
                         int32_t category)
{
    CHECK_INT(cube_set_category(c, agency, offense, category), 0);
    if (m->category[agency][offense] != -1 && m->category[agency][offense] != category)
        m->recategorized = 1;
    m->category[agency][offense] = category;
}

static int same_key(const cube_key *a, const cube_key *b)
{
    return a->agency == b->agency && a->precinct == b->precinct && a->offense == b->offense &&
           a->priority == b->priority;
}

static void model_touch(struct model *m, const cube_key *k, int64_t commit_ms)
{
    size_t i = 0;
    while (i < m->nkeys && !same_key(&m->keys[i].key, k))
        i++;
    if (i == m->nkeys) {
        if (m->nkeys == m->kcap) {
            m->kcap = m->kcap ? m->kcap * 2 : 64;
            m->keys = realloc(m->keys, m->kcap * sizeof *m->keys);
        }
        m->keys[m->nkeys].key = *k;
        m->keys[m->nkeys].as_of = 0;
        m->nkeys++;
    }
    if (commit_ms > m->keys[i].as_of)
        m->keys[i].as_of = commit_ms;
    if (commit_ms > m->as_of)
        m->as_of = commit_ms;
}

static void model_add(struct model *m, const cube_key *k, int64_t t, int64_t commit_ms)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 1024;
        m->r = realloc(m->r, m->cap * sizeof *m->r);
    }
    m->r[m->n].key = *k;
    m->r[m->n].t = t;
    m->n++;
    model_touch(m, k, commit_ms);
}

static void model_remove(struct model *m, size_t i, int64_t commit_ms)
{
    cube_key k = m->r[i].key;
    m->r[i] = m->r[--m->n];
    model_touch(m, &k, commit_ms);
}

/* Is there an incident of key in the same 15-minute cell as t? */
static int model_has(const struct model *m, const cube_key *k, int64_t t)
{
    for (size_t i = 0; i < m->n; i++)
        if (same_key(&m->r[i].key, k) && fdiv(m->r[i].t, 900) == fdiv(t, 900))
            return 1;
    return 0;
}

static void model_free(struct model *m)
{
    free(m->r);
    free(m->keys);
    memset(m, 0, sizeof *m);
}

struct level_cell {
    int64_t v[6]; /* level, agency, precinct, offense or category, priority, slot */
};

static int cmp_level_cell(const void *a, const void *b)
{
    const struct level_cell *x = a, *y = b;
    for (int i = 0; i < 6; i++)
        if (x->v[i] != y->v[i])
            return x->v[i] < y->v[i] ? -1 : 1;
    return 0;
}

/* The cells the cube's layout (cube.h) holds: distinct 15-minute cells of
   the four levels (precinct, offense, priority), (precinct, offense),
   (precinct, category) and (precinct), per agency. */
static size_t model_cells(const struct model *m)
{
    if (m->n == 0)
        return 0;
    struct level_cell *c = malloc(4 * m->n * sizeof *c);
    for (size_t i = 0; i < m->n; i++) {
        const cube_key *k = &m->r[i].key;
        int64_t slot = fdiv(m->r[i].t, 900);
        const int64_t rows[4][6] = {
            {0, k->agency, k->precinct, k->offense, k->priority, slot},
            {1, k->agency, k->precinct, k->offense, 0, slot},
            {2, k->agency, k->precinct, model_category(m, k->agency, k->offense), 0, slot},
            {3, k->agency, k->precinct, 0, 0, slot},
        };
        for (int l = 0; l < 4; l++)
            memcpy(c[4 * i + (size_t)l].v, rows[l], sizeof rows[l]);
    }
    qsort(c, 4 * m->n, sizeof *c, cmp_level_cell);
    size_t d = 1;
    for (size_t i = 1; i < 4 * m->n; i++)
        d += cmp_level_cell(&c[i - 1], &c[i]) != 0;
    free(c);
    return d;
}

static int key_matches(const struct model *m, const cube_question *q, const cube_key *k)
{
    if (k->agency != q->agency)
        return 0;
    if (q->precincts != NULL &&
        !(k->precinct >= 0 && k->precinct < q->nprecincts && q->precincts[k->precinct]))
        return 0;
    if (q->offenses != NULL &&
        !(k->offense >= 0 && k->offense < q->noffenses && q->offenses[k->offense]))
        return 0;
    if (q->priorities != 0 && !((q->priorities >> (k->priority + 1)) & 1u))
        return 0;
    if (q->categories != NULL) {
        int32_t cat = model_category(m, k->agency, k->offense);
        if (!(cat >= 0 && cat < q->ncategories && q->categories[cat]))
            return 0;
    }
    return 1;
}

static int cmp_cell(const void *a, const void *b)
{
    const cube_cell *x = a, *y = b;
    const int64_t kx[7] = {x->precinct, x->offense,     x->category, x->priority,
                           x->hour_of_day, x->day_of_week, x->bucket};
    const int64_t ky[7] = {y->precinct, y->offense,     y->category, y->priority,
                           y->hour_of_day, y->day_of_week, y->bucket};
    for (int i = 0; i < 7; i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    return 0;
}

/* The answer to q, recounted from the incidents. */
static void model_query(const struct model *m, const cube_question *q, cube_result *out)
{
    memset(out, 0, sizeof *out);
    cube_cell *cells = malloc((m->n ? m->n : 1) * sizeof *cells);
    size_t n = 0;
    /* 2024-01-01 was a Monday: `date -u -d 2024-01-01 +%u` -> 1 */
    const int64_t monday = rfc3339_days_from_civil(2024, 1, 1);
    for (size_t i = 0; i < m->n; i++) {
        const struct rec *r = &m->r[i];
        if (!key_matches(m, q, &r->key))
            continue;
        if (q->from != INT64_MIN && r->t < q->from)
            continue;
        if (q->to != INT64_MAX && r->t >= q->to)
            continue;
        cube_cell c;
        c.precinct = (q->by & CUBE_BY_PRECINCT) ? r->key.precinct : CUBE_ANY;
        c.offense = (q->by & CUBE_BY_OFFENSE) ? r->key.offense : CUBE_ANY;
        c.category = CUBE_ANY;
        if (q->by & CUBE_BY_CATEGORY)
            c.category = model_category(m, r->key.agency, r->key.offense);
        c.priority = (q->by & CUBE_BY_PRIORITY) ? r->key.priority : CUBE_ANY;
        int64_t local = q->zone ? tz_local(q->zone, r->t) : r->t;
        int64_t day = fdiv(local, 86400);
        int dow = (int)fmod_(day - monday, 7) + 1;
        c.hour_of_day = (q->by & CUBE_BY_HOUR_OF_DAY) ? (int32_t)fmod_(fdiv(local, 3600), 24)
                                                      : CUBE_ANY;
        c.day_of_week = (q->by & CUBE_BY_DAY_OF_WEEK) ? dow : CUBE_ANY;
        int64_t y;
        int mo, d;
        rfc3339_civil_from_days(day, &y, &mo, &d);
        switch (q->granularity) {
        case CUBE_HOUR:
            c.bucket = fdiv(local, 3600) * 3600;
            break;
        case CUBE_DAY:
            c.bucket = day * 86400;
            break;
        case CUBE_WEEK:
            c.bucket = (day - (dow - 1)) * 86400;
            break;
        case CUBE_MONTH:
            c.bucket = rfc3339_days_from_civil(y, mo, 1) * 86400;
            break;
        case CUBE_YEAR:
            c.bucket = rfc3339_days_from_civil(y, 1, 1) * 86400;
            break;
        default:
            c.bucket = 0;
        }
        c.count = 1;
        cells[n++] = c;
        out->total++;
    }
    qsort(cells, n, sizeof *cells, cmp_cell);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && cmp_cell(&cells[w - 1], &cells[i]) == 0)
            cells[w - 1].count++;
        else
            cells[w++] = cells[i];
    }
    out->cells = cells;
    out->n = w;
    for (size_t i = 0; i < m->nkeys; i++)
        if (key_matches(m, q, &m->keys[i].key) && m->keys[i].as_of > out->as_of)
            out->as_of = m->keys[i].as_of;
    if (out->as_of == 0) /* no series answers: the cube's own as_of */
        out->as_of = m->as_of;
}

static void describe(const cube_question *q)
{
    fprintf(stderr,
            "    question: agency %d, precincts %s/%d, offenses %s/%d, priorities 0x%x, "
            "categories %s/%d, from %lld to %lld, by 0x%x, granularity %d, zone %s\n",
            q->agency, q->precincts ? "mask" : "-", q->nprecincts, q->offenses ? "mask" : "-",
            q->noffenses, q->priorities, q->categories ? "mask" : "-", q->ncategories,
            (long long)q->from, (long long)q->to, q->by, q->granularity,
            q->zone ? "yes" : "none");
}

/* The cube's answer equals the model's; returns 1 when it does. */
static int answer_matches(const cube *c, const struct model *m, const cube_question *q,
                          int line)
{
    cube_result got, want;
    if (cube_query(c, q, &got) != 0) {
        fprintf(stderr, "%s:%d: cube_query failed\n", __FILE__, line);
        unit_failures_++;
        return 0;
    }
    model_query(m, q, &want);
    if (got.n > 0)
        qsort(got.cells, got.n, sizeof *got.cells, cmp_cell);
    /* After an offense moved between categories, a category's series may
       keep the newer as_of of incidents that moved away: as_of is then
       only compared where the cube does not read the category level. */
    int category_level = !(q->by & (CUBE_BY_PRIORITY | CUBE_BY_OFFENSE)) && !q->priorities &&
                         !q->offenses && ((q->by & CUBE_BY_CATEGORY) || q->categories);
    int as_of_ok = got.as_of == want.as_of || (m->recategorized && category_level);
    int ok = got.total == want.total && got.n == want.n && as_of_ok;
    size_t bad = 0;
    for (size_t i = 0; ok && i < got.n; i++) {
        if (cmp_cell(&got.cells[i], &want.cells[i]) != 0 ||
            got.cells[i].count != want.cells[i].count) {
            ok = 0;
            bad = i;
        }
    }
    if (!ok) {
        fprintf(stderr,
                "%s:%d: cube answer differs: total %llu/%llu, cells %zu/%zu, as_of %lld/%lld\n",
                __FILE__, line, (unsigned long long)got.total, (unsigned long long)want.total,
                got.n, want.n, (long long)got.as_of, (long long)want.as_of);
        if (bad < got.n && bad < want.n) {
            const cube_cell *g = &got.cells[bad], *w = &want.cells[bad];
            fprintf(stderr,
                    "    cell %zu: got p%d o%d c%d pr%d h%d d%d b%lld n%llu, "
                    "want p%d o%d c%d pr%d h%d d%d b%lld n%llu\n",
                    bad, g->precinct, g->offense, g->category, g->priority, g->hour_of_day,
                    g->day_of_week, (long long)g->bucket, (unsigned long long)g->count,
                    w->precinct, w->offense, w->category, w->priority, w->hour_of_day,
                    w->day_of_week, (long long)w->bucket, (unsigned long long)w->count);
        }
        describe(q);
        unit_failures_++;
    }
    cube_result_free(&got);
    free(want.cells);
    return ok;
}

/* Whole-cube counters against the model. Series are never dropped, and
   there are more than keys (four levels), so only a bound is checked. */
static void counters_match(const cube *c, const struct model *m, int line)
{
    size_t cells = model_cells(m);
    if (cube_total(c) != m->n || cube_cells(c) != cells || cube_series(c) < m->nkeys ||
        cube_as_of(c) != m->as_of) {
        fprintf(stderr,
                "%s:%d: counters: total %llu/%zu, cells %zu/%zu, series %zu/%zu, "
                "as_of %lld/%lld\n",
                __FILE__, line, (unsigned long long)cube_total(c), m->n, cube_cells(c), cells,
                cube_series(c), m->nkeys, (long long)cube_as_of(c), (long long)m->as_of);
        unit_failures_++;
    }
}

/* ---- random data and questions ------------------------------------------ */

/* Agencies with gaps between the ids; agency 3 stays empty. */
static const int32_t agencies[] = {0, 1, 5};
#define NPRECINCTS 5 /* 0 (unassigned) .. 4 */
#define NOFFENSES 7  /* 1 .. 6 used; 0 never */

static cube_key random_key(void)
{
    return key_of(agencies[rnd() % NCASES(agencies)], (int32_t)(rnd() % NPRECINCTS),
                  (int32_t)(1 + rnd() % (NOFFENSES - 1)), (int32_t)rnd_in(-1, 3));
}

/* Instants of interest besides the uniform ones. */
static const int64_t special_instants[] = {
    -1, 0, 899, 900, -900, -901, 1, 86399, 86400,
    /* date -u -d '2026-03-08 08:00:00' +%s -> 1772956800 (Chicago spring forward) */
    1772956800, 1772956799, 1772956800 - 900, 1772956800 + 900,
    /* date -u -d '2026-11-01 07:00:00' +%s -> 1793516400 (Chicago fall back) */
    1793516400, 1793516399,
    /* date -u -d '2026-11-01 06:00:00' +%s -> 1793512800 (first 01:00 CDT) */
    1793512800,
    /* date -u -d '2024-02-29 06:00:00' +%s -> 1709186400 (Feb 29 midnight CST) */
    1709186400, 1709186399,
    /* date -u -d '2026-01-05 06:00:00' +%s -> 1767592800 (Monday 00:00 CST) */
    1767592800, 1767592799,
    /* date -u -d '2027-01-01 06:00:00' +%s -> 1798783200 (new year, CST) */
    1798783200, 1798783199,
    /* date -u -d '1969-12-29 06:00:00' +%s -> -237600 (Monday 00:00 CST, 1969) */
    -237600, -237601,
};

static int64_t random_instant(void)
{
    switch (rnd() % 8) {
    case 0: /* exactly on a 15-minute boundary */
        return rnd_in(T2015 / 900, T2028 / 900 - 1) * 900;
    case 1: /* the last second of a slot */
        return rnd_in(T2015 / 900, T2028 / 900 - 1) * 900 + 899;
    case 2:
        return special_instants[rnd() % NCASES(special_instants)];
    default:
        return rnd_in(T2015, T2028 - 1);
    }
}

struct qbuf {
    uint8_t precincts[8];
    uint8_t offenses[10];
    uint8_t categories[8];
};

static int64_t random_bound(void)
{
    /* date -u -d '1969-06-01' +%s -> -18489600 */
    if (rnd() % 3 == 0)
        return special_instants[rnd() % NCASES(special_instants)] / 900 * 900;
    return rnd_in(-18489600 / 900, T2028 / 900 + 100) * 900;
}

static void random_question(cube_question *q, struct qbuf *b, const tz_zone *zone,
                            const tz_zone *other)
{
    memset(q, 0, sizeof *q);
    uint64_t a = rnd() % 10;
    q->agency = a < 8 ? agencies[a % NCASES(agencies)] : a == 8 ? 3 : 99;
    if (rnd() % 3 == 0) {
        q->nprecincts = (int32_t)rnd_in(1, 6); /* sometimes shorter than the ids */
        for (int i = 0; i < q->nprecincts; i++)
            b->precincts[i] = (uint8_t)(rnd() % 2);
        q->precincts = b->precincts;
    }
    if (rnd() % 3 == 0) {
        q->noffenses = (int32_t)rnd_in(1, 8);
        for (int i = 0; i < q->noffenses; i++)
            b->offenses[i] = (uint8_t)(rnd() % 2);
        q->offenses = b->offenses;
    }
    if (rnd() % 3 == 0)
        q->priorities = (unsigned)(rnd() & 0x7ff);
    q->from = rnd() % 4 == 0 ? INT64_MIN : random_bound();
    q->to = rnd() % 4 == 0 ? INT64_MAX : random_bound();
    if (q->from != INT64_MIN && q->to != INT64_MAX && q->from > q->to && rnd() % 4 != 0) {
        int64_t t = q->from; /* mostly ordered; sometimes empty */
        q->from = q->to;
        q->to = t;
    }
    q->by = (unsigned)(rnd() & 63);
    q->granularity = (int)(rnd() % 6);
    uint64_t z = rnd() % 10;
    q->zone = z < 8 ? zone : z == 8 ? other : NULL;
    if (rnd() % 4 == 0) {
        q->ncategories = (int32_t)rnd_in(1, 4); /* sometimes shorter than the ids */
        for (int i = 0; i < q->ncategories; i++)
            b->categories[i] = (uint8_t)(rnd() % 2);
        q->categories = b->categories;
    }
}

/* A fixed set of questions every check asks, plus `nrandom` random ones. */
static void questions_match(const cube *c, const struct model *m, const tz_zone *zone,
                            const tz_zone *other, int nrandom, int line)
{
    int bad = 0;
    for (size_t ai = 0; ai < NCASES(agencies); ai++) {
        cube_question q = question(agencies[ai]);
        bad += !answer_matches(c, m, &q, line);
        q.by = CUBE_BY_PRECINCT | CUBE_BY_OFFENSE | CUBE_BY_PRIORITY;
        bad += !answer_matches(c, m, &q, line);
        q.zone = zone;
        for (int g = CUBE_NONE; g <= CUBE_YEAR; g++) {
            q.by = 0;
            q.granularity = g;
            bad += !answer_matches(c, m, &q, line);
        }
        q.granularity = CUBE_NONE;
        q.by = CUBE_BY_HOUR_OF_DAY | CUBE_BY_DAY_OF_WEEK;
        bad += !answer_matches(c, m, &q, line);
        /* date -u -d '2026-01-01 06:00:00' +%s -> 1767247200;
           date -u -d '2027-01-01 06:00:00' +%s -> 1798783200 */
        q.from = 1767247200;
        q.to = 1798783200;
        q.granularity = CUBE_WEEK;
        q.by = CUBE_BY_PRIORITY;
        bad += !answer_matches(c, m, &q, line);
    }
    struct qbuf b;
    for (int i = 0; i < nrandom && bad < 5; i++) {
        cube_question q;
        random_question(&q, &b, zone, other);
        bad += !answer_matches(c, m, &q, line);
    }
}

/* ---- hand-made cases ---------------------------------------------------- */

static void test_add_remove_totals(void)
{
    cube *c = cube_new();
    CHECK(c != NULL);
    if (c == NULL)
        return;
    CHECK_INT(cube_total(c), 0);
    CHECK_INT(cube_cells(c), 0);
    CHECK_INT(cube_series(c), 0);
    CHECK_INT(cube_as_of(c), 0);
    CHECK(cube_bytes(c) > 0);

    cube_key a = key_of(1, 2, 3, 1), b = key_of(1, 0, 3, -1), other = key_of(2, 2, 3, 1);
    /* date -u -d '2026-06-01' +%s -> 1780272000 */
    const int64_t t = 1780272000;
    CHECK_INT(cube_add(c, &a, t, 1, 10), 0);
    CHECK_INT(cube_add(c, &a, t + 899, 1, 11), 0); /* same 15-minute cell */
    CHECK_INT(cube_add(c, &a, t + 900, 1, 12), 0); /* the next one */
    CHECK_INT(cube_add(c, &b, t - 1, 1, 13), 0);   /* the previous one */
    CHECK_INT(cube_add(c, &other, t, 1, 14), 0);
    /* Each incident is counted at four levels of detail (cube.h): a cell
       and a series per level. */
    CHECK_INT(cube_total(c), 5);
    CHECK_INT(cube_cells(c), 4 * 4);
    CHECK_INT(cube_series(c), 3 * 4);
    CHECK_INT(cube_as_of(c), 14);

    cube_question q = question(1);
    CHECK_INT(total_of(c, &q), 4);
    q.agency = 2;
    CHECK_INT(total_of(c, &q), 1);
    q.agency = 0;
    CHECK_INT(total_of(c, &q), 0);
    q.agency = 1000;
    CHECK_INT(total_of(c, &q), 0);
    q.agency = -1;
    CHECK_INT(total_of(c, &q), 0);

    /* Ranges are half-open, [from, to). */
    q = question(1);
    q.from = t;
    q.to = t + 900;
    CHECK_INT(total_of(c, &q), 2);
    q.to = t + 1800;
    CHECK_INT(total_of(c, &q), 3);
    q.from = t - 900;
    q.to = t;
    CHECK_INT(total_of(c, &q), 1);
    q.from = q.to = t;
    CHECK_INT(total_of(c, &q), 0);
    q.from = t + 900;
    q.to = t; /* reversed: empty */
    CHECK_INT(total_of(c, &q), 0);

    /* Removal by instant: any second of the cell removes from it. */
    CHECK_INT(cube_add(c, &a, t + 450, -1, 15), 0);
    CHECK_INT(cube_total(c), 4);
    CHECK_INT(cube_cells(c), 4 * 4);
    CHECK_INT(cube_add(c, &a, t + 1, -1, 16), 0);
    CHECK_INT(cube_total(c), 3);
    CHECK_INT(cube_cells(c), 3 * 4); /* the cell is gone, at every level */
    CHECK_INT(cube_series(c), 3 * 4); /* series stay */
    CHECK_INT(cube_as_of(c), 16);
    q = question(1);
    q.from = t;
    q.to = t + 900;
    CHECK_INT(total_of(c, &q), 0);
    q.from = INT64_MIN;
    q.to = INT64_MAX;
    CHECK_INT(total_of(c, &q), 2);
    cube_free(c);
    cube_free(NULL);
}

static void test_remove_missing_leaves_cube_unchanged(void)
{
    cube *c = cube_new();
    if (c == NULL)
        return;
    cube_key a = key_of(1, 2, 3, 1), b = key_of(1, 2, 3, 2);
    const int64_t t = 1780272000; /* date -u -d '2026-06-01' +%s */

    /* From an empty cube. */
    CHECK_INT(cube_add(c, &a, t, -1, 100), -1);
    CHECK_INT(cube_total(c), 0);
    CHECK_INT(cube_cells(c), 0);
    CHECK_INT(cube_series(c), 0);
    CHECK_INT(cube_as_of(c), 0);

    CHECK_INT(cube_add(c, &a, t, 1, 5), 0);
    size_t bytes = cube_bytes(c);
    /* Another key, another cell of the key, a cell after and before it,
       another agency, deltas other than +-1: all refused. */
    const cube_key other_agency = key_of(7, 2, 3, 1);
    CHECK_INT(cube_add(c, &b, t, -1, 100), -1);
    CHECK_INT(cube_add(c, &a, t + 900, -1, 100), -1);
    CHECK_INT(cube_add(c, &a, t - 1, -1, 100), -1);
    CHECK_INT(cube_add(c, &a, t + 86400 * 365, -1, 100), -1);
    CHECK_INT(cube_add(c, &a, 0, -1, 100), -1);
    CHECK_INT(cube_add(c, &other_agency, t, -1, 100), -1);
    CHECK_INT(cube_add(c, &a, t, 0, 100), -1);
    CHECK_INT(cube_add(c, &a, t, 2, 100), -1);
    CHECK_INT(cube_add(c, &a, t, -2, 100), -1);
    CHECK_INT(cube_total(c), 1);
    CHECK_INT(cube_cells(c), 4);
    CHECK_INT(cube_series(c), 4);
    CHECK_INT(cube_as_of(c), 5);
    CHECK_INT(cube_bytes(c), bytes);
    cube_question q = question(1);
    q.priorities = 1u << 2;
    cube_result r;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.total, 1);
    CHECK_INT(r.as_of, 5);
    cube_result_free(&r);

    /* Remove it, then once more: the second is refused. */
    CHECK_INT(cube_add(c, &a, t, -1, 6), 0);
    CHECK_INT(cube_add(c, &a, t, -1, 100), -1);
    CHECK_INT(cube_total(c), 0);
    CHECK_INT(cube_cells(c), 0);
    CHECK_INT(cube_as_of(c), 6);
    CHECK_INT(total_of(c, &q), 0);
    cube_free(c);
}

static void test_cells_disappear_at_zero(void)
{
    cube *c = cube_new();
    if (c == NULL)
        return;
    cube_key a = key_of(0, 0, 1, -1);
    const int64_t t = 1780272000; /* date -u -d '2026-06-01' +%s */
    /* Three cells, the middle one with 3 incidents; cube_cells counts each
       at the four levels of detail. */
    CHECK_INT(cube_add(c, &a, t - 900, 1, 1), 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT(cube_add(c, &a, t + i * 100, 1, 1), 0);
    CHECK_INT(cube_add(c, &a, t + 900, 1, 1), 0);
    CHECK_INT(cube_cells(c), 3 * 4);
    for (int i = 0; i < 2; i++)
        CHECK_INT(cube_add(c, &a, t, -1, 2), 0);
    CHECK_INT(cube_cells(c), 3 * 4);
    CHECK_INT(cube_add(c, &a, t, -1, 2), 0);
    CHECK_INT(cube_cells(c), 2 * 4);
    CHECK_INT(cube_add(c, &a, t, -1, 2), -1);
    /* The neighbours keep their counts (cumulative counts stay right). */
    cube_question q = question(0);
    q.from = t - 900;
    q.to = t;
    CHECK_INT(total_of(c, &q), 1);
    q.from = t;
    q.to = t + 900;
    CHECK_INT(total_of(c, &q), 0);
    q.to = t + 1800;
    CHECK_INT(total_of(c, &q), 1);
    q.from = t - 900;
    CHECK_INT(total_of(c, &q), 2);
    /* Grouped by hour: no cell with count 0 is reported. */
    q = question(0);
    q.granularity = CUBE_HOUR;
    cube_result r;
    CHECK_INT(cube_query(c, &q, &r), 0);
    for (size_t i = 0; i < r.n; i++)
        CHECK(r.cells[i].count > 0);
    CHECK_INT(r.total, 2);
    cube_result_free(&r);
    /* Empty the series: no cells, and the series itself stays. */
    CHECK_INT(cube_add(c, &a, t - 900, -1, 3), 0);
    CHECK_INT(cube_add(c, &a, t + 900, -1, 3), 0);
    CHECK_INT(cube_cells(c), 0);
    CHECK_INT(cube_total(c), 0);
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 0);
    CHECK_INT(r.total, 0);
    cube_result_free(&r);
    /* And it can be filled again, also in the middle. */
    CHECK_INT(cube_add(c, &a, t + 900, 1, 4), 0);
    CHECK_INT(cube_add(c, &a, t - 900, 1, 4), 0);
    CHECK_INT(cube_add(c, &a, t, 1, 4), 0);
    CHECK_INT(cube_cells(c), 3 * 4);
    q = question(0);
    q.from = t;
    q.to = t + 900;
    CHECK_INT(total_of(c, &q), 1);
    cube_free(c);
}

static void test_filters(void)
{
    cube *c = cube_new();
    if (c == NULL)
        return;
    const int64_t t = 1780272000; /* date -u -d '2026-06-01' +%s */
    /* precinct, offense, priority */
    const int32_t rows[][3] = {
        {0, 1, -1}, {0, 1, -1}, {1, 1, 1}, {2, 2, 2}, {3, 3, -1}, {4, 2, 9}, {1, 5, 0},
    };
    /* Offenses 1 and 2 are category 1, offense 3 category 2; offense 5 is
       never declared (category -1). */
    CHECK_INT(cube_set_category(c, 4, 1, 1), 0);
    CHECK_INT(cube_set_category(c, 4, 2, 1), 0);
    CHECK_INT(cube_set_category(c, 4, 3, 2), 0);
    for (size_t i = 0; i < NCASES(rows); i++) {
        cube_key k = key_of(4, rows[i][0], rows[i][1], rows[i][2]);
        CHECK_INT(cube_add(c, &k, t + (int64_t)i * 3600, 1, 1), 0);
    }
    cube_question q = question(4);
    CHECK_INT(total_of(c, &q), 7);

    /* Precinct 0 is "unassigned" and can be selected; ids beyond the mask
       do not match. */
    const uint8_t only0[] = {1};
    q.precincts = only0;
    q.nprecincts = 1;
    CHECK_INT(total_of(c, &q), 2);
    const uint8_t p02[] = {1, 0, 1};
    q.precincts = p02;
    q.nprecincts = 3;
    CHECK_INT(total_of(c, &q), 3);
    const uint8_t none[] = {0, 0, 0, 0, 0};
    q.precincts = none;
    q.nprecincts = 5;
    CHECK_INT(total_of(c, &q), 0);
    q.precincts = NULL;
    q.nprecincts = 0;

    const uint8_t off12[] = {0, 1, 1};
    q.offenses = off12;
    q.noffenses = 3;
    CHECK_INT(total_of(c, &q), 5);
    q.precincts = p02;
    q.nprecincts = 3;
    CHECK_INT(total_of(c, &q), 3); /* precincts 0, 2 and offenses 1, 2 */
    q.precincts = NULL;
    q.nprecincts = 0;
    q.offenses = NULL;
    q.noffenses = 0;

    /* Priorities: bit p + 1; bit 0 is "none" (-1). */
    q.priorities = 1u << 0;
    CHECK_INT(total_of(c, &q), 3);
    q.priorities = 1u << 1; /* priority 0 */
    CHECK_INT(total_of(c, &q), 1);
    q.priorities = 1u << 10; /* priority 9 */
    CHECK_INT(total_of(c, &q), 1);
    q.priorities = (1u << 2) | (1u << 3);
    CHECK_INT(total_of(c, &q), 2);
    q.priorities = 1u << 5; /* priority 4: nobody */
    CHECK_INT(total_of(c, &q), 0);
    q.priorities = 0x7ff;
    CHECK_INT(total_of(c, &q), 7);

    /* Categories: a filter indexed by category id; undeclared offenses
       (-1) never match one. At every level of detail the cube may read. */
    q = question(4);
    const uint8_t cat1[] = {0, 1}, cat2[] = {0, 0, 1}, cat012[] = {1, 1, 1};
    q.categories = cat1;
    q.ncategories = 2;
    CHECK_INT(total_of(c, &q), 5);
    q.categories = cat2;
    q.ncategories = 3;
    CHECK_INT(total_of(c, &q), 1);
    q.categories = cat012;
    CHECK_INT(total_of(c, &q), 6);
    q.categories = cat1;
    q.ncategories = 2;
    q.priorities = 1u << 0; /* and priority none */
    CHECK_INT(total_of(c, &q), 2);
    q.priorities = 0;
    const uint8_t off2[] = {0, 0, 1}, off3[] = {0, 0, 0, 1};
    q.offenses = off2; /* and offense 2 */
    q.noffenses = 3;
    CHECK_INT(total_of(c, &q), 2);
    q.offenses = off3; /* offense 3 is not category 1 */
    q.noffenses = 4;
    CHECK_INT(total_of(c, &q), 0);
    q.offenses = NULL;
    q.noffenses = 0;
    q.precincts = p02;
    q.nprecincts = 3;
    CHECK_INT(total_of(c, &q), 3);

    /* Grouping by precinct, and by category. */
    q = question(4);
    q.by = CUBE_BY_PRECINCT;
    cube_result r;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 5);
    CHECK_INT(cell_count(&r, 0, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 2);
    CHECK_INT(cell_count(&r, 1, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 2);
    CHECK_INT(cell_count(&r, 4, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 1);
    cube_result_free(&r);
    q.categories = cat1;
    q.ncategories = 2;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 4);
    CHECK_INT(cell_count(&r, 0, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 2);
    CHECK_INT(cell_count(&r, 1, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 1);
    CHECK_INT(cell_count(&r, 2, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 1);
    CHECK_INT(cell_count(&r, 4, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 1);
    cube_result_free(&r);
    q = question(4);
    q.by = CUBE_BY_CATEGORY;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 3);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, 1, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 5);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, 2, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 1);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, -1, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 1);
    cube_result_free(&r);
    q.by = CUBE_BY_CATEGORY | CUBE_BY_PRIORITY;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, 1, -1, CUBE_ANY, CUBE_ANY, 0), 2);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, 1, 9, CUBE_ANY, CUBE_ANY, 0), 1);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, -1, 0, CUBE_ANY, CUBE_ANY, 0), 1);
    cube_result_free(&r);
    q.by = CUBE_BY_CATEGORY | CUBE_BY_OFFENSE;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 4);
    CHECK_INT(cell_count(&r, CUBE_ANY, 1, 1, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 3);
    CHECK_INT(cell_count(&r, CUBE_ANY, 2, 1, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 2);
    CHECK_INT(cell_count(&r, CUBE_ANY, 5, -1, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0), 1);
    cube_result_free(&r);
    cube_free(c);
}

/* The total of one category (by category, everything else open). */
static uint64_t category_total(const cube *c, int32_t agency, int32_t category)
{
    cube_question q = question(agency);
    q.by = CUBE_BY_CATEGORY;
    cube_result r;
    if (cube_query(c, &q, &r) != 0)
        return UINT64_MAX;
    uint64_t n = cell_count(&r, CUBE_ANY, CUBE_ANY, category, CUBE_ANY, CUBE_ANY, CUBE_ANY, 0);
    cube_result_free(&r);
    return n;
}

static void test_recategorize(void)
{
    cube *c = cube_new();
    if (c == NULL)
        return;
    const int64_t t = 1780272000; /* date -u -d '2026-06-01' +%s */
    cube_key k5 = key_of(1, 1, 5, 2), k6 = key_of(1, 2, 6, -1), k7 = key_of(1, 1, 7, 0);
    CHECK_INT(cube_set_category(c, 1, 5, 0), 0);
    CHECK_INT(cube_set_category(c, 1, 6, 0), 0);
    CHECK_INT(cube_add(c, &k5, t, 1, 1), 0);
    CHECK_INT(cube_series(c), 4); /* one series per level */
    CHECK_INT(cube_cells(c), 4);
    CHECK_INT(cube_add(c, &k5, t + 10, 1, 1), 0);
    CHECK_INT(cube_add(c, &k5, t + 900, 1, 1), 0);
    CHECK_INT(cube_add(c, &k6, t, 1, 1), 0);
    CHECK_INT(cube_add(c, &k6, t + 1, 1, 1), 0);
    CHECK_INT(category_total(c, 1, 0), 5);
    CHECK_INT(cube_cells(c), 12); /* 3 cells at each of the 4 levels */

    /* Offense 5 moves to category 1 with its counts. */
    CHECK_INT(cube_set_category(c, 1, 5, 1), 0);
    CHECK_INT(category_total(c, 1, 0), 2);
    CHECK_INT(category_total(c, 1, 1), 3);
    CHECK_INT(cube_total(c), 5);
    CHECK_INT(cube_cells(c), 12);
    const uint8_t only1[] = {0, 1};
    cube_question q = question(1);
    q.categories = only1;
    q.ncategories = 2;
    CHECK_INT(total_of(c, &q), 3);
    q.from = t + 900;
    CHECK_INT(total_of(c, &q), 1);
    q.from = INT64_MIN;
    q.by = CUBE_BY_OFFENSE; /* read from another level: the same */
    CHECK_INT(total_of(c, &q), 3);
    q.by = 0;
    q.granularity = CUBE_DAY; /* the local-time walk over the moved cells */
    CHECK_INT(total_of(c, &q), 3);
    /* Setting the same category again changes nothing. */
    CHECK_INT(cube_set_category(c, 1, 5, 1), 0);
    CHECK_INT(category_total(c, 1, 1), 3);
    CHECK_INT(cube_cells(c), 12);

    /* The moved incidents can be removed, and new ones land in the new
       category. */
    CHECK_INT(cube_add(c, &k5, t + 900, -1, 2), 0);
    CHECK_INT(category_total(c, 1, 1), 2);
    CHECK_INT(cube_cells(c), 8);
    CHECK_INT(cube_add(c, &k5, t + 900, -1, 2), -1);
    CHECK_INT(cube_add(c, &k5, t + 1800, 1, 3), 0);
    CHECK_INT(category_total(c, 1, 1), 3);
    CHECK_INT(category_total(c, 1, 0), 2);

    /* Incidents of an offense never declared count under -1 until it is. */
    CHECK_INT(cube_add(c, &k7, t, 1, 4), 0);
    CHECK_INT(cube_add(c, &k7, t + 3600, 1, 4), 0);
    CHECK_INT(category_total(c, 1, -1), 2);
    CHECK_INT(cube_set_category(c, 1, 7, 2), 0);
    CHECK_INT(category_total(c, 1, -1), 0);
    CHECK_INT(category_total(c, 1, 2), 2);
    /* Categories are per agency: another agency's offense 7 is unaffected. */
    cube_key other = key_of(2, 1, 7, 0);
    CHECK_INT(cube_add(c, &other, t, 1, 5), 0);
    CHECK_INT(category_total(c, 2, -1), 1);
    CHECK_INT(category_total(c, 2, 2), 0);
    /* And back: offense 5 to category 0. */
    CHECK_INT(cube_set_category(c, 1, 5, 0), 0);
    CHECK_INT(category_total(c, 1, 0), 5);
    CHECK_INT(category_total(c, 1, 1), 0);
    CHECK_INT(cube_total(c), 8);
    cube_free(c);
}

static void test_open_ranges(void)
{
    cube *c = cube_new();
    tz_zone *chicago = load_zone("America/Chicago");
    if (c == NULL || chicago == NULL) {
        cube_free(c);
        tz_free(chicago);
        return;
    }
    cube_key k = key_of(2, 1, 1, 1);
    /* date -u -d '1900-01-01' +%s -> -2208988800
       date -u -d '1969-12-31 23:59:59' +%s -> -1
       date -u -d '2199-12-31 23:59:59' +%s -> 7258118399 */
    const int64_t ts[] = {-2208988800LL, -1, 0, 1780272000, 7258118399LL};
    for (size_t i = 0; i < NCASES(ts); i++)
        CHECK_INT(cube_add(c, &k, ts[i], 1, 1), 0);
    cube_question q = question(2);
    CHECK_INT(total_of(c, &q), 5);
    q.to = 0;
    CHECK_INT(total_of(c, &q), 2);
    q.to = -900;
    CHECK_INT(total_of(c, &q), 1);
    q.to = INT64_MAX;
    q.from = 0;
    CHECK_INT(total_of(c, &q), 3);
    q.from = 7258118400LL - 900;
    CHECK_INT(total_of(c, &q), 1);
    q.from = 7258118400LL;
    CHECK_INT(total_of(c, &q), 0);
    q.from = INT64_MIN;
    q.to = -2208988800LL;
    CHECK_INT(total_of(c, &q), 0);
    q.to = -2208988800LL + 900;
    CHECK_INT(total_of(c, &q), 1);

    /* Open ranges with local-time grouping: years in Chicago.
       1900-01-01 00:00Z is 1899-12-31 18:00 CST; 1969-12-31 23:59:59Z and
       1970-01-01 00:00Z are 1969 in Chicago; 2199-12-31 23:59:59Z is 2199.
       date -u -d '1899-01-01' +%s -> -2240524800
       date -u -d '1969-01-01' +%s -> -31536000
       date -u -d '2026-01-01' +%s -> 1767225600
       date -u -d '2199-01-01' +%s -> 7226582400 */
    q = question(2);
    q.zone = chicago;
    q.granularity = CUBE_YEAR;
    cube_result r;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 4);
    CHECK_INT(r.total, 5);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         -2240524800LL),
              1);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         -31536000),
              2);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         1767225600),
              1);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         7226582400LL),
              1);
    cube_result_free(&r);
    cube_free(c);
    tz_free(chicago);
}

static void test_local_time_dimensions(void)
{
    cube *c = cube_new();
    tz_zone *chicago = load_zone("America/Chicago");
    if (c == NULL || chicago == NULL) {
        cube_free(c);
        tz_free(chicago);
        return;
    }
    cube_key k = key_of(1, 1, 1, 1);
    /* Fall back: 06:30Z (01:30 CDT) and 07:30Z (01:30 CST), both 01:xx.
       date -u -d '2026-11-01 06:30:00' +%s -> 1793514600
       date -u -d '2026-11-01 07:30:00' +%s -> 1793518200
       Spring forward: 07:59:59Z is 01:59:59 CST, 08:00Z is 03:00 CDT.
       date -u -d '2026-03-08 07:59:59' +%s -> 1772956799
       date -u -d '2026-03-08 08:00:00' +%s -> 1772956800
       Late Sunday evening CDT, already Monday in UTC:
       date -u -d '2026-03-09 04:30:00' +%s -> 1773030600 (23:30 CDT Sunday) */
    const int64_t ts[] = {1793514600, 1793518200, 1772956799, 1772956800, 1773030600};
    for (size_t i = 0; i < NCASES(ts); i++)
        CHECK_INT(cube_add(c, &k, ts[i], 1, 1), 0);
    cube_question q = question(1);
    q.zone = chicago;
    q.by = CUBE_BY_HOUR_OF_DAY;
    cube_result r;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 3);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 1, CUBE_ANY, 0), 3);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 3, CUBE_ANY, 0), 1);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 23, CUBE_ANY, 0), 1);
    cube_result_free(&r);

    /* All five are on Sundays in Chicago (ISO 7). */
    q.by = CUBE_BY_DAY_OF_WEEK;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 1);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, 7, 0), 5);
    cube_result_free(&r);

    /* Days: the 23:30 CDT one belongs to March 8, local.
       date -u -d '2026-03-08' +%s -> 1772928000
       date -u -d '2026-11-01' +%s -> 1793491200 */
    q.by = 0;
    q.granularity = CUBE_DAY;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 2);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         1772928000),
              3);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         1793491200),
              2);
    cube_result_free(&r);

    /* Without a zone the dimensions are UTC: 04:30Z Monday March 9.
       date -u -d '2026-03-09' +%s -> 1773014400 */
    q.zone = NULL;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         1773014400),
              1);
    cube_result_free(&r);

    /* Weeks: the local Sunday evening stays in the week of Monday March 2.
       date -u -d '2026-03-02' +%s -> 1772409600
       date -u -d '2026-10-26' +%s -> 1792972800 */
    q.zone = chicago;
    q.granularity = CUBE_WEEK;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 2);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         1772409600),
              3);
    CHECK_INT(cell_count(&r, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY, CUBE_ANY,
                         1792972800),
              2);
    cube_result_free(&r);
    cube_free(c);
    tz_free(chicago);
}

static void test_as_of(void)
{
    cube *c = cube_new();
    if (c == NULL)
        return;
    const int64_t t = 1780272000; /* date -u -d '2026-06-01' +%s */
    cube_key a = key_of(1, 1, 1, 1), b = key_of(1, 2, 1, 1), x = key_of(2, 1, 1, 1);
    CHECK_INT(cube_add(c, &a, t, 1, 100), 0);
    CHECK_INT(cube_add(c, &b, t, 1, 300), 0);
    CHECK_INT(cube_add(c, &a, t + 900, 1, 150), 0); /* an older commit after a newer one */
    CHECK_INT(cube_add(c, &x, t, 1, 999), 0);       /* another agency */
    CHECK_INT(cube_as_of(c), 999);

    cube_question q = question(1);
    cube_result r;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.as_of, 300);
    cube_result_free(&r);
    const uint8_t p1[] = {0, 1};
    q.precincts = p1;
    q.nprecincts = 2;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.as_of, 150);
    cube_result_free(&r);
    /* The time range does not matter: the series answers the question. */
    q.from = t + 86400;
    q.to = t + 2 * 86400;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.total, 0);
    CHECK_INT(r.as_of, 150);
    cube_result_free(&r);
    /* A removal is a change too. */
    CHECK_INT(cube_add(c, &a, t, -1, 200), 0);
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.as_of, 200);
    cube_result_free(&r);
    /* A refused removal is not. */
    CHECK_INT(cube_add(c, &a, t, -1, 5000), -1);
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.as_of, 200);
    cube_result_free(&r);
    CHECK_INT(cube_as_of(c), 999);
    /* No series answers: the cube's own as_of (what the cube has seen). */
    q = question(3);
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.total, 0);
    CHECK_INT(r.n, 0);
    CHECK_INT(r.as_of, 999);
    cube_result_free(&r);
    cube_free(c);
}

static void test_bucket_start(void)
{
    /* Week: Sunday 2026-03-08 23:59 -> Monday 2026-03-02; Monday 00:00 is
       its own start.
       date -u -d '2026-03-08 23:59:00' +%s -> 1773014340
       date -u -d '2026-03-02' +%s -> 1772409600
       date -u -d '2026-03-09' +%s -> 1773014400
       date -u -d '2026-03-15 23:59:59' +%s -> 1773619199 */
    CHECK_INT(cube_bucket_start(1773014340, CUBE_WEEK), 1772409600);
    CHECK_INT(cube_bucket_start(1773014400, CUBE_WEEK), 1773014400);
    CHECK_INT(cube_bucket_start(1773014399, CUBE_WEEK), 1772409600);
    CHECK_INT(cube_bucket_start(1773619199, CUBE_WEEK), 1773014400);
    CHECK_INT(cube_bucket_start(1772409600, CUBE_WEEK), 1772409600);
    /* A week across the new year: date -u -d '2027-01-03 23:59:59' +%s ->
       1799020799, date -u -d '2026-12-28' +%s -> 1798416000 */
    CHECK_INT(cube_bucket_start(1799020799, CUBE_WEEK), 1798416000);
    CHECK_INT(cube_bucket_start(1799020799, CUBE_YEAR), 1798761600); /* 2027-01-01 */

    /* 29 Feb 2024 (a Thursday).
       date -u -d '2024-02-29 12:00:00' +%s -> 1709208000
       date -u -d '2024-02-29 23:59:59' +%s -> 1709251199
       date -u -d '2024-02-29' +%s -> 1709164800
       date -u -d '2024-02-26' +%s -> 1708905600
       date -u -d '2024-02-01' +%s -> 1706745600
       date -u -d '2024-03-01' +%s -> 1709251200
       date -u -d '2024-01-01' +%s -> 1704067200 */
    CHECK_INT(cube_bucket_start(1709208000, CUBE_HOUR), 1709208000);
    CHECK_INT(cube_bucket_start(1709208000 + 3599, CUBE_HOUR), 1709208000);
    CHECK_INT(cube_bucket_start(1709208000, CUBE_DAY), 1709164800);
    CHECK_INT(cube_bucket_start(1709208000, CUBE_WEEK), 1708905600);
    CHECK_INT(cube_bucket_start(1709208000, CUBE_MONTH), 1706745600);
    CHECK_INT(cube_bucket_start(1709251199, CUBE_MONTH), 1706745600);
    CHECK_INT(cube_bucket_start(1709251200, CUBE_MONTH), 1709251200);
    CHECK_INT(cube_bucket_start(1709208000, CUBE_YEAR), 1704067200);
    /* Year boundary: date -u -d '2024-12-31 23:59:59' +%s -> 1735689599,
       date -u -d '2025-01-01' +%s -> 1735689600 */
    CHECK_INT(cube_bucket_start(1735689599, CUBE_YEAR), 1704067200);
    CHECK_INT(cube_bucket_start(1735689599, CUBE_MONTH), 1735689599 - 31 * 86400 + 1);
    CHECK_INT(cube_bucket_start(1735689600, CUBE_YEAR), 1735689600);
    CHECK_INT(cube_bucket_start(1735689600, CUBE_MONTH), 1735689600);
    CHECK_INT(cube_bucket_start(1735689600, CUBE_DAY), 1735689600);

    /* Before 1970.
       date -u -d '1969-12-31 23:59:59' +%s -> -1
       date -u -d '1969-12-31 23:00:00' +%s -> -3600
       date -u -d '1969-12-31' +%s -> -86400
       date -u -d '1969-12-29' +%s -> -259200 (a Monday)
       date -u -d '1969-12-01' +%s -> -2678400
       date -u -d '1969-01-01' +%s -> -31536000 */
    CHECK_INT(cube_bucket_start(-1, CUBE_HOUR), -3600);
    CHECK_INT(cube_bucket_start(-1, CUBE_DAY), -86400);
    CHECK_INT(cube_bucket_start(-1, CUBE_WEEK), -259200);
    CHECK_INT(cube_bucket_start(-1, CUBE_MONTH), -2678400);
    CHECK_INT(cube_bucket_start(-1, CUBE_YEAR), -31536000);
    CHECK_INT(cube_bucket_start(-86400, CUBE_DAY), -86400);
    CHECK_INT(cube_bucket_start(-3600, CUBE_HOUR), -3600);
    CHECK_INT(cube_bucket_start(0, CUBE_WEEK), -259200); /* Thursday 1970-01-01 */
    CHECK_INT(cube_bucket_start(0, CUBE_YEAR), 0);
    /* date -u -d '1965-06-15 12:00:00' +%s -> -143467200 (a Tuesday)
       date -u -d '1965-06-14' +%s -> -143596800
       date -u -d '1965-06-01' +%s -> -144720000
       date -u -d '1965-01-01' +%s -> -157766400 */
    CHECK_INT(cube_bucket_start(-143467200, CUBE_WEEK), -143596800);
    CHECK_INT(cube_bucket_start(-143467200, CUBE_MONTH), -144720000);
    CHECK_INT(cube_bucket_start(-143467200, CUBE_YEAR), -157766400);
    CHECK_INT(cube_bucket_start(-143467200, CUBE_DAY), -143467200 - 12 * 3600);
    /* 1900 is not a leap year, 2000 is.
       date -u -d '1900-02-28 10:00:00' +%s -> -2203941600
       date -u -d '1900-02-01' +%s -> -2206310400
       date -u -d '1900-03-01' +%s -> -2203891200
       date -u -d '1900-01-01' +%s -> -2208988800 (a Monday)
       date -u -d '2000-02-29' +%s -> 951782400
       date -u -d '2000-02-28' +%s -> 951696000 (a Monday)
       date -u -d '2000-02-01' +%s -> 949363200 */
    CHECK_INT(cube_bucket_start(-2203941600LL, CUBE_MONTH), -2206310400LL);
    CHECK_INT(cube_bucket_start(-2203891200LL, CUBE_MONTH), -2203891200LL);
    CHECK_INT(cube_bucket_start(-2203891200LL - 1, CUBE_MONTH), -2206310400LL);
    CHECK_INT(cube_bucket_start(-2208988800LL + 5 * 86400, CUBE_WEEK), -2208988800LL);
    CHECK_INT(cube_bucket_start(951782400 + 86399, CUBE_MONTH), 949363200);
    CHECK_INT(cube_bucket_start(951782400 + 86399, CUBE_WEEK), 951696000);
    CHECK_INT(cube_bucket_start(951782400 + 86399, CUBE_DAY), 951782400);

    /* No granularity: 0. */
    CHECK_INT(cube_bucket_start(1709208000, CUBE_NONE), 0);
}

static void test_iso_dow(void)
{
    /* Day numbers: date -u -d '<date>' +%s / 86400; weekday: +%u */
    CHECK_INT(cube_iso_dow(0), 4);                    /* 1970-01-01 Thu */
    CHECK_INT(cube_iso_dow(4), 1);                    /* 1970-01-05 Mon */
    CHECK_INT(cube_iso_dow(-1), 3);                   /* 1969-12-31 Wed */
    CHECK_INT(cube_iso_dow(-3), 1);                   /* 1969-12-29 Mon */
    CHECK_INT(cube_iso_dow(-4), 7);                   /* 1969-12-28 Sun */
    CHECK_INT(cube_iso_dow(1704067200 / 86400), 1);   /* 2024-01-01 Mon */
    CHECK_INT(cube_iso_dow(1709164800 / 86400), 4);   /* 2024-02-29 Thu */
    CHECK_INT(cube_iso_dow(1772928000 / 86400), 7);   /* 2026-03-08 Sun */
    CHECK_INT(cube_iso_dow(1767225600 / 86400), 4);   /* 2026-01-01 Thu */
    CHECK_INT(cube_iso_dow(1798761600 / 86400), 5);   /* 2027-01-01 Fri */
    CHECK_INT(cube_iso_dow(-2208988800LL / 86400), 1); /* 1900-01-01 Mon */
    CHECK_INT(cube_iso_dow(951782400 / 86400), 2);    /* 2000-02-29 Tue */
    CHECK_INT(cube_iso_dow(-157766400 / 86400), 5);   /* 1965-01-01 Fri */
    /* Seven consecutive days cover 1..7 in order. */
    for (int64_t d = -20; d < 20; d++)
        CHECK_INT(cube_iso_dow(d + 1), cube_iso_dow(d) % 7 + 1);
}

/* ---- randomized against the model ----------------------------------------- */

static void test_random_against_model(void)
{
    tz_zone *chicago = load_zone("America/Chicago");
    tz_zone *fixed = tz_fixed(-3 * 3600);
    cube *c = cube_new();
    if (chicago == NULL || fixed == NULL || c == NULL) {
        tz_free(chicago);
        tz_free(fixed);
        cube_free(c);
        return;
    }
    rng = 0x9E3779B97F4A7C15ULL;
    struct model m;
    model_init(&m);
    /* Offenses 1..5 in categories 0..2; offense 6 never declared. */
    for (size_t a = 0; a < NCASES(agencies); a++)
        for (int32_t o = 1; o <= 5; o++)
            set_category(c, &m, agencies[a], o, (int32_t)(rnd() % 3));
    int64_t clock = 1000;
    int refused = 0;
    for (int op = 0; op < 20000; op++) {
        int64_t commit = ++clock;
        if (rnd() % 8 == 0)
            commit -= (int64_t)(rnd() % 500); /* commits seen out of order */
        if (m.n > 0 && rnd() % 4 == 0) {
            if (rnd() % 10 == 0) {
                /* Removing what is not there. */
                cube_key k = random_key();
                int64_t t = random_instant();
                if (model_has(&m, &k, t))
                    continue;
                uint64_t total = cube_total(c);
                size_t cells = cube_cells(c), series = cube_series(c);
                int64_t as_of = cube_as_of(c);
                CHECK_INT(cube_add(c, &k, t, -1, commit + 1000000), -1);
                CHECK(cube_total(c) == total && cube_cells(c) == cells &&
                      cube_series(c) == series && cube_as_of(c) == as_of);
                refused++;
                continue;
            }
            size_t i = (size_t)(rnd() % m.n);
            /* Any second of the same 15-minute cell names the incident. */
            int64_t t = fdiv(m.r[i].t, 900) * 900 + (int64_t)(rnd() % 900);
            cube_key k = m.r[i].key;
            CHECK_INT(cube_add(c, &k, t, -1, commit), 0);
            model_remove(&m, i, commit);
        } else {
            cube_key k = random_key();
            int64_t t = random_instant();
            CHECK_INT(cube_add(c, &k, t, 1, commit), 0);
            model_add(&m, &k, t, commit);
        }
        if ((op + 1) % 5000 == 0) {
            counters_match(c, &m, __LINE__);
            questions_match(c, &m, chicago, fixed, 60, __LINE__);
        }
        if (op == 12000) {
            /* Offenses change category: their counts move. */
            set_category(c, &m, 0, 1, (model_category(&m, 0, 1) + 1) % 3);
            set_category(c, &m, 5, 6, 2);
            set_category(c, &m, 1, 3, 7);
            counters_match(c, &m, __LINE__);
            questions_match(c, &m, chicago, fixed, 60, __LINE__);
        }
    }
    CHECK(refused > 50);
    CHECK(m.n > 10000);

    /* A snapshot of it restores to a cube that answers the same and takes
       further changes like the original. */
    membuf buf = {0};
    snap_out out = membuf_out(&buf);
    CHECK_INT(cube_save(c, &out), 0);
    snap_in in;
    snap_in_init(&in, buf.p, buf.n);
    cube *r = cube_restore(&in);
    CHECK(r != NULL && in.p == in.end);
    if (r) {
        counters_match(r, &m, __LINE__);
        questions_match(r, &m, chicago, fixed, 60, __LINE__);
        for (int op = 0; op < 3000; op++) {
            int64_t commit = ++clock;
            if (m.n > 0 && rnd() % 2) {
                size_t i = (size_t)(rnd() % m.n);
                cube_key k = m.r[i].key;
                CHECK_INT(cube_add(r, &k, m.r[i].t, -1, commit), 0);
                model_remove(&m, i, commit);
            } else {
                cube_key k = random_key();
                int64_t t = random_instant();
                CHECK_INT(cube_add(r, &k, t, 1, commit), 0);
                model_add(&m, &k, t, commit);
            }
        }
        set_category(r, &m, 5, 2, (model_category(&m, 5, 2) + 1) % 3);
        counters_match(r, &m, __LINE__);
        questions_match(r, &m, chicago, fixed, 60, __LINE__);
        cube_free(r);
    }
    CHECK_DAMAGED_RESTORES(buf, cube_restore, cube_free, rnd);
    free(buf.p);
    /* Not while a bulk load is unfinished. */
    cube *bulk = cube_new();
    cube_key k0 = key_of(1, 1, 1, 1);
    CHECK_INT(cube_load(bulk, &k0, 0, 1), 0);
    snap_out none = membuf_out(&buf);
    buf.p = NULL, buf.n = buf.cap = 0;
    CHECK_INT(cube_save(bulk, &none), -1);
    free(buf.p);
    cube_free(bulk);

    cube_free(c);
    model_free(&m);
    tz_free(chicago);
    tz_free(fixed);
}

/* Finish a bulk load in steps of `budget`; the number of calls. */
static int finish(cube *c, size_t budget)
{
    int calls = 0, rc;
    do {
        rc = cube_load_finish(c, budget);
        calls++;
    } while (rc == 0 && calls < 1000000);
    CHECK_INT(rc, 1);
    return calls;
}

struct incident {
    cube_key key;
    int64_t t, commit;
};

static void test_bulk_load_equals_adds(void)
{
    tz_zone *chicago = load_zone("America/Chicago");
    tz_zone *fixed = tz_fixed(0);
    if (chicago == NULL || fixed == NULL) {
        tz_free(chicago);
        tz_free(fixed);
        return;
    }
    rng = 0xD1B54A32D192ED03ULL;
    enum { N = 8000, NCUBES = 7 };
    struct incident *inc = malloc(N * sizeof *inc);
    struct model m;
    model_init(&m);
    /* The categories (offense 6 never declared) */
    int32_t cat[MAXAG][MAXOFF];
    for (size_t a = 0; a < NCASES(agencies); a++)
        for (int32_t o = 1; o <= 5; o++)
            cat[agencies[a]][o] = m.category[agencies[a]][o] = (int32_t)(rnd() % 3);
    for (int i = 0; i < N; i++) {
        inc[i].key = random_key();
        inc[i].t = random_instant();
        inc[i].commit = 1000 + (int64_t)(rnd() % 100000);
        model_add(&m, &inc[i].key, inc[i].t, inc[i].commit);
    }

    /* 0: one by one. 1: all bulk, budget 50. 2: first half added, second
       half bulk, budget 0 (a series per call). 3: a third bulk, finished,
       a third bulk again, finished, a third added. 4: bulk, each offense
       declared just before its first incident. 5: bulk with a wrong
       category for one offense, corrected between two finishing steps.
       6: the same, corrected before finishing. */
    cube *cs[NCUBES];
    for (int k = 0; k < NCUBES; k++) {
        cs[k] = cube_new();
        for (size_t a = 0; k != 4 && a < NCASES(agencies); a++)
            for (int32_t o = 1; o <= 5; o++) {
                int32_t want = cat[agencies[a]][o];
                if ((k == 5 || k == 6) && a == 0 && o == 2)
                    want = (want + 1) % 3; /* wrong, for now */
                CHECK_INT(cube_set_category(cs[k], agencies[a], o, want), 0);
            }
    }
    for (int i = 0; i < N; i++)
        CHECK_INT(cube_add(cs[0], &inc[i].key, inc[i].t, 1, inc[i].commit), 0);
    for (int i = 0; i < N; i++)
        CHECK_INT(cube_load(cs[1], &inc[i].key, inc[i].t, inc[i].commit), 0);
    CHECK(finish(cs[1], 50) > N / 50);
    CHECK_INT(cube_load_finish(cs[1], 50), 1); /* nothing left */
    for (int i = 0; i < N / 2; i++)
        CHECK_INT(cube_add(cs[2], &inc[i].key, inc[i].t, 1, inc[i].commit), 0);
    for (int i = N / 2; i < N; i++)
        CHECK_INT(cube_load(cs[2], &inc[i].key, inc[i].t, inc[i].commit), 0);
    CHECK(finish(cs[2], 0) > 100);
    for (int i = 0; i < N / 3; i++)
        CHECK_INT(cube_load(cs[3], &inc[i].key, inc[i].t, inc[i].commit), 0);
    finish(cs[3], 1000);
    for (int i = N / 3; i < 2 * N / 3; i++)
        CHECK_INT(cube_load(cs[3], &inc[i].key, inc[i].t, inc[i].commit), 0);
    finish(cs[3], 7);
    for (int i = 2 * N / 3; i < N; i++)
        CHECK_INT(cube_add(cs[3], &inc[i].key, inc[i].t, 1, inc[i].commit), 0);
    uint8_t declared[MAXAG][MAXOFF] = {{0}};
    for (int i = 0; i < N; i++) {
        const cube_key *k = &inc[i].key;
        if (!declared[k->agency][k->offense] && k->offense <= 5)
            CHECK_INT(cube_set_category(cs[4], k->agency, k->offense,
                                        cat[k->agency][k->offense]),
                      0);
        declared[k->agency][k->offense] = 1;
        CHECK_INT(cube_load(cs[4], k, inc[i].t, inc[i].commit), 0);
    }
    finish(cs[4], 100);
    for (int k = 5; k <= 6; k++)
        for (int i = 0; i < N; i++)
            CHECK_INT(cube_load(cs[k], &inc[i].key, inc[i].t, inc[i].commit), 0);
    CHECK_INT(cube_load_finish(cs[5], 2000), 0);
    CHECK_INT(cube_set_category(cs[5], agencies[0], 2, cat[agencies[0]][2]), 0);
    finish(cs[5], 2000);
    CHECK_INT(cube_set_category(cs[6], agencies[0], 2, cat[agencies[0]][2]), 0);
    finish(cs[6], 2000);
    m.recategorized = 1; /* cubes 5 and 6 */

    for (int k = 0; k < NCUBES; k++) {
        int before = unit_failures_;
        counters_match(cs[k], &m, __LINE__);
        questions_match(cs[k], &m, chicago, fixed, 40, __LINE__);
        if (unit_failures_ != before)
            fprintf(stderr, "    (bulk-loaded cube %d)\n", k);
    }

    /* The same later changes to every cube: they stay equal. */
    int64_t clock = 200000;
    for (int op = 0; op < 3000; op++) {
        int64_t commit = ++clock;
        if (m.n > 0 && rnd() % 3 == 0) {
            size_t i = (size_t)(rnd() % m.n);
            for (int k = 0; k < NCUBES; k++)
                CHECK_INT(cube_add(cs[k], &m.r[i].key, m.r[i].t, -1, commit), 0);
            model_remove(&m, i, commit);
        } else {
            cube_key key = random_key();
            int64_t t = random_instant();
            for (int k = 0; k < NCUBES; k++)
                CHECK_INT(cube_add(cs[k], &key, t, 1, commit), 0);
            model_add(&m, &key, t, commit);
        }
    }
    for (int k = 0; k < NCUBES; k++) {
        int before = unit_failures_;
        counters_match(cs[k], &m, __LINE__);
        questions_match(cs[k], &m, chicago, fixed, 40, __LINE__);
        if (unit_failures_ != before)
            fprintf(stderr, "    (bulk-loaded cube %d, after changes)\n", k);
        cube_free(cs[k]);
    }
    free(inc);
    model_free(&m);
    tz_free(chicago);
    tz_free(fixed);
}

/* A bulk load of one series with many incidents in few cells, finished
   with a budget smaller than the series. */
static void test_bulk_load_one_big_series(void)
{
    cube *c = cube_new(), *d = cube_new();
    if (c == NULL || d == NULL) {
        cube_free(c);
        cube_free(d);
        return;
    }
    cube_key k = key_of(0, 0, 1, -1);
    const int64_t t = 1780272000; /* date -u -d '2026-06-01' +%s */
    for (int i = 0; i < 1000; i++) {
        int64_t when = t + (int64_t)(i % 10) * 900 + i % 900;
        CHECK_INT(cube_load(c, &k, when, i), 0);
        CHECK_INT(cube_add(d, &k, when, 1, i), 0);
    }
    /* Four series (one per level) of 1000 each: one call per series. */
    CHECK_INT(finish(c, 10), 4);
    CHECK_INT(cube_total(c), 1000);
    CHECK_INT(cube_cells(c), 10 * 4);
    CHECK_INT(cube_as_of(c), 999);
    for (int i = 0; i <= 10; i++) {
        cube_question q = question(0);
        q.from = t + i * 900;
        CHECK_INT(total_of(c, &q), total_of(d, &q));
        CHECK_INT(total_of(c, &q), 1000 - 100 * i);
    }
    /* And removing them all empties it. */
    for (int i = 0; i < 1000; i++)
        CHECK_INT(cube_add(c, &k, t + (int64_t)(i % 10) * 900, -1, 2000), 0);
    CHECK_INT(cube_total(c), 0);
    CHECK_INT(cube_cells(c), 0);
    CHECK_INT(cube_add(c, &k, t, -1, 2000), -1);
    cube_free(c);
    cube_free(d);
}

/* By precinct, grouped (by=area): each cell sums its group's precincts. */
static void test_precinct_groups(void)
{
    cube *c = cube_new();
    uint64_t per[6] = {0};
    for (int i = 0; i < 300; i++) {
        cube_key k = {1, i % 6, 1 + (i / 6) % 3, -1}; /* precincts 0 (unassigned) .. 5 */
        CHECK_INT(cube_add(c, &k, 1700000000 + (int64_t)i * 900, 1, 1), 0);
        per[i % 6]++;
    }
    cube_key other = {2, 1, 1, -1}; /* another agency: never counted */
    CHECK_INT(cube_add(c, &other, 1700000000, 1, 1), 0);
    /* 1, 2 -> 7; 3 -> 9; 4 -> none; 5 beyond the map -> none; 0 -> none. */
    const int32_t group[5] = {0, 7, 7, 9, 0};
    cube_question q = question(1);
    q.by = CUBE_BY_PRECINCT | CUBE_BY_OFFENSE;
    q.precinct_group = group;
    q.ngroup = 5;
    cube_result r;
    CHECK_INT(cube_query(c, &q, &r), 0);
    uint64_t got[10] = {0};
    int bad = 0;
    for (size_t i = 0; i < r.n; i++) {
        bad += r.cells[i].precinct != 0 && r.cells[i].precinct != 7 && r.cells[i].precinct != 9;
        got[r.cells[i].precinct] += r.cells[i].count;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(got[7], per[1] + per[2]);
    CHECK_INT(got[9], per[3]);
    CHECK_INT(got[0], per[0] + per[4] + per[5]);
    CHECK_INT(r.total, 300);
    size_t ncells = r.n;
    cube_result_free(&r);
    CHECK_INT(ncells, 9); /* 3 groups x 3 offenses: a group's precincts merged */
    /* Not grouped by precinct: the map changes nothing. */
    q.by = CUBE_BY_OFFENSE;
    CHECK_INT(cube_query(c, &q, &r), 0);
    CHECK_INT(r.n, 3);
    cube_result_free(&r);
    cube_free(c);
}

UNIT_MAIN(UNIT(test_add_remove_totals), UNIT(test_precinct_groups), UNIT(test_remove_missing_leaves_cube_unchanged),
          UNIT(test_cells_disappear_at_zero), UNIT(test_filters), UNIT(test_recategorize),
          UNIT(test_open_ranges),
          UNIT(test_local_time_dimensions), UNIT(test_as_of), UNIT(test_bucket_start),
          UNIT(test_iso_dow), UNIT(test_random_against_model),
          UNIT(test_bulk_load_equals_adds), UNIT(test_bulk_load_one_big_series))
