/*
 * test_rtime.c -- unit tests for lib/rtime: response-time intervals, the
 * log-linear histogram and percentile parsing.
 *
 * Intervals are checked against an independent restatement of the rules of
 * rtime.h over every subset of lifecycle instants present, with times in
 * random order (so that negative spans occur) and at the UINT32_MAX edge.
 * The bucket function is checked exhaustively below 256, at every bucket
 * edge above, and on random values. Percentiles are compared with the exact
 * nearest-rank value of a sorted copy of the values: the histogram must
 * report the lower edge of that value's bucket, clamped to the exact min,
 * which is at most value / 128 below it and equal to it below 256; n, sum,
 * min and max must be exact. Merging must give the histogram of the union,
 * counter for counter.
 */
#include "incident.h"
#include "rtime.h"
#include "unit.h"

#include <stdint.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

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
static uint64_t rnd_in(uint64_t lo, uint64_t hi)
{
    if (hi - lo == UINT64_MAX)
        return rnd();
    return lo + rnd() % (hi - lo + 1);
}

/* Log-uniform in 0..max: a random bit length, then a random value of it. */
static uint32_t rnd_log(uint32_t max)
{
    for (;;) {
        int bits = (int)rnd_in(0, 32);
        uint64_t v = bits == 0 ? 0 : rnd_in(UINT64_C(1) << (bits - 1), (UINT64_C(1) << bits) - 1);
        if (v <= max)
            return (uint32_t)v;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The counter of bucket b, 0 when its block was never allocated. */
static uint32_t count_of(const rt_hist *h, int b)
{
    const uint32_t *blk = h->block[b / RT_HIST_SUB];
    return blk ? blk[b % RT_HIST_SUB] : 0;
}

/* ---- intervals ---------------------------------------------------------- */

static void test_interval_names(void)
{
    CHECK_STR(rt_interval_name(RT_QUEUE), "queue");
    CHECK_STR(rt_interval_name(RT_TRAVEL), "travel");
    CHECK_STR(rt_interval_name(RT_RESPONSE), "response");
    CHECK_STR(rt_interval_name(RT_ON_SCENE), "on_scene");
    CHECK_STR(rt_interval_name(RT_COMMITTED), "committed");
    CHECK_INT(RT_NINT, 5);
}

/* A typical call: every instant present, in order. */
static void test_intervals_full(void)
{
    int64_t t[INC_T_COUNT];
    /* date -u -d '2024-05-01 14:00:00' +%s -> 1714572000 */
    t[INC_T_OCCURRED] = 1714572000 - 600;
    t[INC_T_RECEIVED] = 1714572000;
    t[INC_T_DISPATCHED] = 1714572000 + 90;
    t[INC_T_EN_ROUTE] = 1714572000 + 150;
    t[INC_T_ON_SCENE] = 1714572000 + 600;
    t[INC_T_CLEARED] = 1714572000 + 3000;
    uint32_t out[RT_NINT];
    unsigned all = (1u << INC_T_COUNT) - 1;
    CHECK_INT(rt_intervals(t, all, out), (1u << RT_NINT) - 1);
    CHECK_INT(out[RT_QUEUE], 90);
    CHECK_INT(out[RT_TRAVEL], 450);    /* en_route -> on_scene */
    CHECK_INT(out[RT_RESPONSE], 600);
    CHECK_INT(out[RT_ON_SCENE], 2400);
    CHECK_INT(out[RT_COMMITTED], 2910); /* dispatched -> cleared */

    /* Without en_route, travel runs from dispatched. */
    unsigned m = rt_intervals(t, all & ~(1u << INC_T_EN_ROUTE), out);
    CHECK_INT(m, (1u << RT_NINT) - 1);
    CHECK_INT(out[RT_TRAVEL], 510);
    CHECK_INT(out[RT_COMMITTED], 2910);

    /* Without dispatched: no queue; committed runs from en_route. */
    m = rt_intervals(t, all & ~(1u << INC_T_DISPATCHED), out);
    CHECK_INT(m, (1u << RT_NINT) - 1 - (1u << RT_QUEUE));
    CHECK_INT(out[RT_TRAVEL], 450);
    CHECK_INT(out[RT_COMMITTED], 2850);

    /* Only on_scene and cleared of the unit's instants: committed from on_scene. */
    m = rt_intervals(t, (1u << INC_T_RECEIVED) | (1u << INC_T_ON_SCENE) | (1u << INC_T_CLEARED),
                     out);
    CHECK_INT(m, (1u << RT_RESPONSE) | (1u << RT_ON_SCENE) | (1u << RT_COMMITTED));
    CHECK_INT(out[RT_RESPONSE], 600);
    CHECK_INT(out[RT_ON_SCENE], 2400);
    CHECK_INT(out[RT_COMMITTED], 2400);

    /* Only received: nothing. Nothing: nothing. */
    CHECK_INT(rt_intervals(t, 1u << INC_T_RECEIVED, out), 0);
    CHECK_INT(rt_intervals(t, 0, out), 0);

    /* Zero-length intervals are intervals. */
    for (int i = 0; i < INC_T_COUNT; i++)
        t[i] = 1714572000;
    CHECK_INT(rt_intervals(t, all, out), (1u << RT_NINT) - 1);
    for (int k = 0; k < RT_NINT; k++)
        CHECK_INT(out[k], 0);
}

/* Negative spans and spans beyond UINT32_MAX give no interval; UINT32_MAX does. */
static void test_intervals_edges(void)
{
    int64_t t[INC_T_COUNT] = {0};
    uint32_t out[RT_NINT];
    unsigned rd = (1u << INC_T_RECEIVED) | (1u << INC_T_DISPATCHED);

    t[INC_T_RECEIVED] = 1000;
    t[INC_T_DISPATCHED] = 999;
    CHECK_INT(rt_intervals(t, rd, out), 0);
    t[INC_T_DISPATCHED] = 1000 + (int64_t)UINT32_MAX;
    CHECK_INT(rt_intervals(t, rd, out), 1u << RT_QUEUE);
    CHECK_INT(out[RT_QUEUE], UINT32_MAX);
    t[INC_T_DISPATCHED] = 1001 + (int64_t)UINT32_MAX;
    CHECK_INT(rt_intervals(t, rd, out), 0);

    /* Negative epoch values work like any other. */
    /* date -u -d '1969-07-20 20:17' +%s -> -14182980 */
    t[INC_T_RECEIVED] = -14182980;
    t[INC_T_DISPATCHED] = -14182980 + 45;
    CHECK_INT(rt_intervals(t, rd, out), 1u << RT_QUEUE);
    CHECK_INT(out[RT_QUEUE], 45);

    /* en_route after on_scene: no travel (no fallback to dispatched). */
    unsigned deo = (1u << INC_T_DISPATCHED) | (1u << INC_T_EN_ROUTE) | (1u << INC_T_ON_SCENE);
    t[INC_T_DISPATCHED] = 100;
    t[INC_T_EN_ROUTE] = 300;
    t[INC_T_ON_SCENE] = 200;
    CHECK_INT(rt_intervals(t, deo, out) & (1u << RT_TRAVEL), 0);

    /* The first present unit instant after cleared: no committed (no fallback). */
    unsigned dc = (1u << INC_T_DISPATCHED) | (1u << INC_T_ON_SCENE) | (1u << INC_T_CLEARED);
    t[INC_T_DISPATCHED] = 500;
    t[INC_T_ON_SCENE] = 100;
    t[INC_T_CLEARED] = 400;
    unsigned m = rt_intervals(t, dc, out);
    CHECK_INT(m & (1u << RT_COMMITTED), 0);
    CHECK_INT(m & (1u << RT_ON_SCENE), 1u << RT_ON_SCENE);
    CHECK_INT(out[RT_ON_SCENE], 300);
}

/* The rules of rtime.h restated: b - a when both present and 0..UINT32_MAX. */
static int model_span(const int64_t *t, unsigned set, int a, int b, uint32_t *v)
{
    if (!((set >> a) & 1) || !((set >> b) & 1))
        return 0;
    if (t[b] < t[a] || t[b] - t[a] > (int64_t)UINT32_MAX)
        return 0;
    *v = (uint32_t)(t[b] - t[a]);
    return 1;
}

static void test_intervals_random(void)
{
    for (int iter = 0; iter < 4000; iter++) {
        int64_t t[INC_T_COUNT];
        int64_t base = (int64_t)rnd_in(0, 2000000000);
        for (int i = 0; i < INC_T_COUNT; i++) {
            switch (rnd() % 4) {
            case 0: t[i] = base; break;                                  /* ties */
            case 1: t[i] = base + (int64_t)rnd_in(0, 20) - 10; break;    /* small */
            case 2: t[i] = base + (int64_t)rnd_in(0, 20000); break;      /* minutes */
            default: t[i] = base + (int64_t)rnd_in(0, UINT64_C(1) << 33) - (INT64_C(1) << 32);
            }
        }
        if (iter % 3 == 0) /* often in lifecycle order */
            qsort(t, INC_T_COUNT, sizeof t[0], cmp_i64);
        for (unsigned set = 0; set < (1u << INC_T_COUNT); set++) {
            uint32_t want[RT_NINT] = {0}, got[RT_NINT];
            unsigned wmask = 0;
            if (model_span(t, set, INC_T_RECEIVED, INC_T_DISPATCHED, &want[RT_QUEUE]))
                wmask |= 1u << RT_QUEUE;
            int from = ((set >> INC_T_EN_ROUTE) & 1) ? INC_T_EN_ROUTE : INC_T_DISPATCHED;
            if (model_span(t, set, from, INC_T_ON_SCENE, &want[RT_TRAVEL]))
                wmask |= 1u << RT_TRAVEL;
            if (model_span(t, set, INC_T_RECEIVED, INC_T_ON_SCENE, &want[RT_RESPONSE]))
                wmask |= 1u << RT_RESPONSE;
            if (model_span(t, set, INC_T_ON_SCENE, INC_T_CLEARED, &want[RT_ON_SCENE]))
                wmask |= 1u << RT_ON_SCENE;
            int first = ((set >> INC_T_DISPATCHED) & 1)  ? INC_T_DISPATCHED
                        : ((set >> INC_T_EN_ROUTE) & 1) ? INC_T_EN_ROUTE
                                                        : INC_T_ON_SCENE;
            if (model_span(t, set, first, INC_T_CLEARED, &want[RT_COMMITTED]))
                wmask |= 1u << RT_COMMITTED;
            unsigned gmask = rt_intervals(t, set, got);
            CHECK_INT(gmask, wmask);
            for (int k = 0; k < RT_NINT; k++)
                if ((wmask >> k) & 1)
                    CHECK_INT(got[k], want[k]);
        }
    }
}

/* ---- buckets ------------------------------------------------------------ */

/* The bound of rtime.h for one value. */
static void check_bucket_of(uint32_t v)
{
    int b = rt_hist_bucket(v);
    uint32_t lo = rt_hist_lower(b);
    if (b < 0 || b >= RT_HIST_BUCKETS || lo > v || v - lo >= lo / 128 + 1 ||
        (v < 256 && (b != (int)v || lo != v))) {
        fprintf(stderr, "%s:%d: bucket(%lu) = %d, lower %lu\n", __FILE__, __LINE__,
                (unsigned long)v, b, (unsigned long)lo);
        unit_failures_++;
    }
}

static void test_bucket_small(void)
{
    for (uint32_t v = 0; v < 256; v++) {
        CHECK_INT(rt_hist_bucket(v), v);
        CHECK_INT(rt_hist_lower((int)v), v);
    }
    CHECK_INT(rt_hist_bucket(256), 256);
    CHECK_INT(rt_hist_lower(256), 256);
    CHECK_INT(rt_hist_bucket(257), 256); /* 256..257 share a bucket */
    CHECK_INT(rt_hist_bucket(258), 257);
    CHECK_INT(rt_hist_lower(257), 258);
    CHECK_INT(rt_hist_bucket(511), 383);
    CHECK_INT(rt_hist_bucket(512), 384);
    CHECK_INT(rt_hist_bucket(0), 0);
    CHECK_INT(rt_hist_bucket(UINT32_MAX), RT_HIST_BUCKETS - 1);
    CHECK_INT(rt_hist_lower(RT_HIST_BUCKETS - 1), UINT32_C(255) << 24);
}

/* Every bucket: edges increase, map back to the bucket, and widths obey the bound. */
static void test_bucket_edges(void)
{
    uint64_t prev = 0;
    for (int b = 0; b < RT_HIST_BUCKETS; b++) {
        uint64_t lo = rt_hist_lower(b);
        uint64_t hi = b + 1 < RT_HIST_BUCKETS ? rt_hist_lower(b + 1) : UINT64_C(1) << 32;
        if (b > 0)
            CHECK(lo > prev);
        prev = lo;
        CHECK(hi > lo);
        if (lo < 256)
            CHECK_INT(hi - lo, 1);
        else
            CHECK(hi - lo <= lo / 128);
        CHECK_INT(rt_hist_bucket((uint32_t)lo), b);
        CHECK_INT(rt_hist_bucket((uint32_t)(hi - 1)), b);
        if (b > 0)
            CHECK_INT(rt_hist_bucket((uint32_t)(lo - 1)), b - 1);
        if (hi - lo > 2)
            CHECK_INT(rt_hist_bucket((uint32_t)(lo + (hi - lo) / 2)), b);
    }

    static const uint32_t edge[] = {0, 1, 2, 127, 128, 129, 254, 255, 256, 257, 258, 300,
                                    1000, 86400, 1000000, UINT32_MAX - 1, UINT32_MAX};
    for (size_t i = 0; i < NCASES(edge); i++)
        check_bucket_of(edge[i]);
    for (int k = 1; k < 32; k++) {
        uint32_t p = UINT32_C(1) << k;
        check_bucket_of(p - 1);
        check_bucket_of(p);
        check_bucket_of(p + 1);
        CHECK(rt_hist_bucket(p - 1) < rt_hist_bucket(p));
        if (k >= 8)
            CHECK_INT(rt_hist_lower(rt_hist_bucket(p)), p);
    }
}

static void test_bucket_random(void)
{
    for (int i = 0; i < 200000; i++) {
        uint32_t a = (i & 1) ? (uint32_t)rnd() : rnd_log(UINT32_MAX);
        uint32_t b = (i & 2) ? (uint32_t)rnd() : rnd_log(UINT32_MAX);
        check_bucket_of(a);
        if (a > b) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        CHECK(rt_hist_bucket(a) <= rt_hist_bucket(b));
        if (a < UINT32_MAX) {
            int d = rt_hist_bucket(a + 1) - rt_hist_bucket(a);
            CHECK(d == 0 || d == 1);
        }
    }
}

/* ---- histograms --------------------------------------------------------- */

/* The reported percentile for sorted values v[0..n-1], as rtime.h defines it. */
static uint32_t exact_rank_value(const uint32_t *v, size_t n, uint32_t p)
{
    uint64_t rank = ((uint64_t)p * n + 99999) / 100000;
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

static const uint32_t fixed_p[] = {1, 100, 1000, 10000, 25000, 50000, 75000,
                                   90000, 95000, 99000, 99900, 99999, 100000};

/* h must hold exactly the n values of v (sorted here). */
static void check_hist(const rt_hist *h, uint32_t *v, size_t n, const char *what)
{
    qsort(v, n, sizeof *v, cmp_u32);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    int before = unit_failures_;
    CHECK_INT(h->n, n);
    CHECK(h->sum == sum);
    if (n == 0) {
        CHECK_INT(rt_hist_percentile(h, 50000), 0);
        CHECK_INT(rt_hist_percentile(h, 100000), 0);
        return;
    }
    CHECK_INT(h->min, v[0]);
    CHECK_INT(h->max, v[n - 1]);
    /* The counters add up to n and each one counts its bucket exactly. */
    uint64_t total = 0;
    size_t j = 0;
    for (int b = 0; b < RT_HIST_BUCKETS; b++) {
        uint64_t want = 0;
        while (j < n && rt_hist_bucket(v[j]) == b) {
            want++;
            j++;
        }
        if (count_of(h, b) != want) {
            fprintf(stderr, "%s:%d: %s: bucket %d holds %lu, expected %lu\n", __FILE__,
                    __LINE__, what, b, (unsigned long)count_of(h, b), (unsigned long)want);
            unit_failures_++;
            break;
        }
        total += want;
    }
    CHECK_INT(total, n);
    for (size_t i = 0; i < NCASES(fixed_p) + 40; i++) {
        uint32_t p = i < NCASES(fixed_p) ? fixed_p[i] : (uint32_t)rnd_in(1, 100000);
        uint32_t x = exact_rank_value(v, n, p);
        uint32_t got = rt_hist_percentile(h, p);
        /* The lower edge of x's bucket, clamped to min; the top rank is the
           exact max (rtime.c returns max for rank n, which is within the bound). */
        uint32_t want = rt_hist_lower(rt_hist_bucket(x));
        if (want < v[0])
            want = v[0];
        if (((uint64_t)p * n + 99999) / 100000 >= n)
            want = v[n - 1];
        if (got > x || x - got > x / 128 || (x < 256 && got != x) || got != want) {
            fprintf(stderr, "%s:%d: %s: n %lu p %lu: got %lu, nearest-rank %lu, expected %lu\n",
                    __FILE__, __LINE__, what, (unsigned long)n, (unsigned long)p,
                    (unsigned long)got, (unsigned long)x, (unsigned long)want);
            unit_failures_++;
        }
        if (unit_failures_ - before > 10)
            return;
    }
}

enum dist { D_SMALL, D_LOG, D_DUPS, D_EDGES, D_CONST, D_NDIST };

/* Fill h and v with n values of the distribution (v must hold n). */
static void fill(rt_hist *h, uint32_t *v, size_t n, int dist)
{
    uint32_t pool[4];
    for (int i = 0; i < 4; i++)
        pool[i] = i == 0 ? (uint32_t)rnd_in(0, 300) : rnd_log(1000000);
    size_t i = 0;
    while (i < n) {
        uint32_t x, count = 1;
        switch (dist) {
        case D_SMALL: x = (uint32_t)rnd_in(0, 300); break;
        case D_LOG: x = rnd_log(1000000); break;
        case D_DUPS:
            x = pool[rnd() % 4];
            count = (uint32_t)rnd_in(1, 40);
            if (count > n - i)
                count = (uint32_t)(n - i);
            break;
        case D_EDGES: {
            static const uint32_t e[] = {0, 255, 256, 257, 511, 512, 513, 65535, 65536,
                                         UINT32_MAX - 1, UINT32_MAX, UINT32_C(1) << 31};
            x = e[rnd() % NCASES(e)];
            if (rnd() % 3 == 0)
                x = (uint32_t)rnd();
            break;
        }
        default: x = pool[1]; break;
        }
        CHECK_INT(rt_hist_add(h, x, count), 0);
        for (uint32_t k = 0; k < count; k++)
            v[i++] = x;
    }
}

static void test_hist_empty(void)
{
    rt_hist h;
    memset(&h, 0, sizeof h);
    CHECK_INT(rt_hist_percentile(&h, 1), 0);
    CHECK_INT(rt_hist_percentile(&h, 100000), 0);
    CHECK_INT(rt_hist_add(&h, 77, 0), 0); /* count 0 adds nothing */
    CHECK_INT(h.n, 0);
    CHECK_INT(h.sum, 0);
    CHECK_INT(rt_hist_add(&h, 900, 1), 0);
    CHECK_INT(h.min, 900);
    CHECK_INT(h.max, 900);
    CHECK_INT(rt_hist_percentile(&h, 1), 900);
    CHECK_INT(rt_hist_percentile(&h, 100000), 900);
    rt_hist_clear(&h);
    CHECK_INT(h.n, 0);
    for (int b = 0; b < RT_HIST_BLOCKS; b++)
        CHECK(h.block[b] == NULL);
    CHECK_INT(rt_hist_percentile(&h, 50000), 0);
    rt_hist_clear(&h); /* twice is fine */

    /* A single value far from bucket edges is reported exactly (min = max). */
    CHECK_INT(rt_hist_add(&h, 1000003, 5), 0);
    CHECK_INT(h.n, 5);
    CHECK(h.sum == 5000015);
    CHECK_INT(rt_hist_percentile(&h, 50000), 1000003);
    rt_hist_clear(&h);
}

/* Hand-made nearest-rank cases. */
static void test_hist_small_cases(void)
{
    rt_hist h;
    memset(&h, 0, sizeof h);
    /* 1..10: p50 is the 5th, p90 the 9th, p90.001 the 10th, p0.001 the 1st. */
    for (uint32_t v = 10; v >= 1; v--)
        CHECK_INT(rt_hist_add(&h, v, 1), 0);
    CHECK_INT(rt_hist_percentile(&h, 50000), 5);
    CHECK_INT(rt_hist_percentile(&h, 50001), 6);
    CHECK_INT(rt_hist_percentile(&h, 90000), 9);
    CHECK_INT(rt_hist_percentile(&h, 90001), 10);
    CHECK_INT(rt_hist_percentile(&h, 1), 1);
    CHECK_INT(rt_hist_percentile(&h, 10000), 1);
    CHECK_INT(rt_hist_percentile(&h, 10001), 2);
    CHECK_INT(rt_hist_percentile(&h, 100000), 10);
    CHECK(h.sum == 55);
    rt_hist_clear(&h);

    /* 2003 and 2007 share bucket [2000, 2008) (width 8 in 1024..2047): the 2nd
       of 4 is reported as its lower edge 2000, lifted to the minimum 2003. */
    CHECK_INT(rt_hist_bucket(2000), rt_hist_bucket(2007));
    CHECK_INT(rt_hist_lower(rt_hist_bucket(2007)), 2000);
    CHECK_INT(rt_hist_bucket(2008), rt_hist_bucket(2007) + 1);
    CHECK_INT(rt_hist_add(&h, 2003, 1), 0);
    CHECK_INT(rt_hist_add(&h, 2007, 2), 0);
    CHECK_INT(rt_hist_add(&h, 5000, 1), 0);
    CHECK_INT(rt_hist_percentile(&h, 50000), 2003);
    CHECK_INT(rt_hist_percentile(&h, 25000), 2003);
    CHECK_INT(rt_hist_percentile(&h, 100000), 5000);
    CHECK_INT(rt_hist_percentile(&h, 75001), 5000);
    rt_hist_clear(&h);
    /* With the minimum below the bucket, the lower edge itself is reported:
       2007 is the 2nd of 1, 2007, 2007, 9000 -> 2000. */
    CHECK_INT(rt_hist_add(&h, 1, 1), 0);
    CHECK_INT(rt_hist_add(&h, 2007, 2), 0);
    CHECK_INT(rt_hist_add(&h, 9000, 1), 0);
    CHECK_INT(rt_hist_percentile(&h, 50000), 2000);
    CHECK_INT(rt_hist_percentile(&h, 75000), 2000);
    CHECK_INT(rt_hist_percentile(&h, 25000), 1);
    rt_hist_clear(&h);

    /* A large maximum is reported exactly (clamped to max). */
    CHECK_INT(rt_hist_add(&h, 3, 1), 0);
    CHECK_INT(rt_hist_add(&h, UINT32_MAX, 1), 0);
    CHECK_INT(rt_hist_percentile(&h, 100000), UINT32_MAX);
    CHECK_INT(rt_hist_percentile(&h, 50000), 3);
    CHECK(h.sum == (uint64_t)UINT32_MAX + 3);
    rt_hist_clear(&h);
}

static void test_hist_add_count(void)
{
    rt_hist a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 300; i++) {
        uint32_t v = rnd_log(UINT32_MAX);
        uint32_t count = (uint32_t)rnd_in(1, 9);
        CHECK_INT(rt_hist_add(&a, v, count), 0);
        for (uint32_t k = 0; k < count; k++)
            CHECK_INT(rt_hist_add(&b, v, 1), 0);
    }
    CHECK(a.n == b.n && a.sum == b.sum && a.min == b.min && a.max == b.max);
    for (int bk = 0; bk < RT_HIST_BUCKETS; bk++)
        if (count_of(&a, bk) != count_of(&b, bk)) {
            CHECK_INT(count_of(&a, bk), count_of(&b, bk));
            break;
        }
    rt_hist_clear(&a);
    rt_hist_clear(&b);
}

static void test_hist_percentiles_random(void)
{
    static const size_t sizes[] = {1, 2, 3, 7, 10, 99, 100, 101, 1000, 4999};
    static uint32_t v[5000];
    char what[64];
    for (int dist = 0; dist < D_NDIST; dist++)
        for (size_t si = 0; si < NCASES(sizes); si++)
            for (int rep = 0; rep < 3; rep++) {
                rt_hist h;
                memset(&h, 0, sizeof h);
                fill(&h, v, sizes[si], dist);
                snprintf(what, sizeof what, "dist %d size %zu rep %d", dist, sizes[si], rep);
                check_hist(&h, v, sizes[si], what);
                rt_hist_clear(&h);
            }
}

static void test_hist_merge(void)
{
    static uint32_t va[3000], vb[3000], vu[6000];
    char what[64];
    for (int iter = 0; iter < 40; iter++) {
        size_t na = iter % 7 == 0 ? 0 : (size_t)rnd_in(1, 3000);
        size_t nb = iter % 5 == 0 ? 0 : (size_t)rnd_in(1, 3000);
        rt_hist a, b, u;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        memset(&u, 0, sizeof u);
        fill(&a, va, na, (int)(rnd() % D_NDIST));
        fill(&b, vb, nb, (int)(rnd() % D_NDIST));
        for (size_t i = 0; i < na; i++)
            CHECK_INT(rt_hist_add(&u, va[i], 1), 0);
        for (size_t i = 0; i < nb; i++)
            CHECK_INT(rt_hist_add(&u, vb[i], 1), 0);
        memcpy(vu, va, na * sizeof *va);
        memcpy(vu + na, vb, nb * sizeof *vb);

        CHECK_INT(rt_hist_merge(&a, &b), 0);
        CHECK(a.n == u.n && a.sum == u.sum);
        if (u.n > 0)
            CHECK(a.min == u.min && a.max == u.max);
        for (int bk = 0; bk < RT_HIST_BUCKETS; bk++)
            if (count_of(&a, bk) != count_of(&u, bk)) {
                CHECK_INT(count_of(&a, bk), count_of(&u, bk));
                break;
            }
        snprintf(what, sizeof what, "merge %d (%zu + %zu)", iter, na, nb);
        check_hist(&a, vu, na + nb, what);
        /* src is unchanged */
        check_hist(&b, vb, nb, "merge source");
        rt_hist_clear(&a);
        rt_hist_clear(&b);
        rt_hist_clear(&u);
    }

    /* Merging many small histograms, as a query does. */
    rt_hist total;
    memset(&total, 0, sizeof total);
    size_t n = 0;
    for (int part = 0; part < 200; part++) {
        rt_hist p;
        memset(&p, 0, sizeof p);
        size_t k = (size_t)rnd_in(0, 12);
        fill(&p, vu + n, k, (int)(rnd() % D_NDIST));
        n += k;
        CHECK_INT(rt_hist_merge(&total, &p), 0);
        rt_hist_clear(&p);
    }
    check_hist(&total, vu, n, "merge of parts");
    rt_hist_clear(&total);
}

/* ---- percentile parsing ------------------------------------------------- */

static void test_percentile_parse(void)
{
    static const struct {
        const char *s;
        uint32_t p;
    } ok[] = {
        {"50", 50000},     {"90", 90000},      {"99.9", 99900},  {"100", 100000},
        {"0.001", 1},      {"50.125", 50125},  {"1", 1000},      {"99.99", 99990},
        {"99.999", 99999}, {"100.0", 100000},  {"100.000", 100000}, {"1.5", 1500},
        {"0.5", 500},      {"12.340", 12340},  {"0.010", 10},
    };
    for (size_t i = 0; i < NCASES(ok); i++) {
        uint32_t p = 0;
        int rc = rt_percentile_parse(ok[i].s, &p);
        if (rc != 0 || p != ok[i].p) {
            fprintf(stderr, "%s:%d: rt_percentile_parse(\"%s\") = %d, %lu; expected 0, %lu\n",
                    __FILE__, __LINE__, ok[i].s, rc, (unsigned long)p,
                    (unsigned long)ok[i].p);
            unit_failures_++;
        }
    }
    static const char *const bad[] = {
        "",    "0",      "101",  "100.001", "1.2345", "abc", "-5",   "5.",    ".5",
        "1e2", "0.000",  "0.0",  "0.0001",  " 50",    "50 ", "+50",  "50%",   "1000",
        "200", "100.01", "9 0",  "5..5",    "5.5.5",  ".",   "-0.5", "0x10",  "50,5",
    };
    for (size_t i = 0; i < NCASES(bad); i++) {
        uint32_t p = 12345;
        int rc = rt_percentile_parse(bad[i], &p);
        if (rc != -1) {
            fprintf(stderr, "%s:%d: rt_percentile_parse(\"%s\") = %d, %lu; expected -1\n",
                    __FILE__, __LINE__, bad[i], rc, (unsigned long)p);
            unit_failures_++;
        }
    }
    /* Every value with three decimals round-trips. */
    for (uint32_t p = 1; p <= 100000; p += (p < 2000 ? 1 : 97)) {
        char s[32];
        snprintf(s, sizeof s, "%lu.%03lu", (unsigned long)(p / 1000), (unsigned long)(p % 1000));
        uint32_t got = 0;
        CHECK_INT(rt_percentile_parse(s, &got), 0);
        CHECK_INT(got, p);
    }
}

UNIT_MAIN(UNIT(test_interval_names), UNIT(test_intervals_full), UNIT(test_intervals_edges),
          UNIT(test_intervals_random), UNIT(test_bucket_small), UNIT(test_bucket_edges),
          UNIT(test_bucket_random), UNIT(test_hist_empty), UNIT(test_hist_small_cases),
          UNIT(test_hist_add_count), UNIT(test_hist_percentiles_random), UNIT(test_hist_merge),
          UNIT(test_percentile_parse))
