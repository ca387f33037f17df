/*
 * hotspot.c -- Getis-Ord Gi* on a lattice study area; see hotspot.h.
 *
 * The work is three linear passes over the cells (bounding box and sum;
 * index and squared deviations; 3x3 sums and the statistic), so the cost is
 * set by n and by memory traffic.  The 3x3 sums read a padded dense grid of
 * centred values (x - xbar, 0 where there is no cell) and a parallel grid of
 * presence bytes: nine loads each, no branches, no bounds checks.  When the
 * bounding box is much larger than n (a long thin diagonal area, cells far
 * apart) the grid would cost more than it saves, and an open-addressing hash
 * keyed on (ix, iy) answers instead.
 */
#include "hotspot.h"

#include "binom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HS_SQRT1_2 0.70710678118654752440

double hs_p_two_sided(double z)
{
    return erfc(fabs(z) * HS_SQRT1_2);
}

int hs_classify(double z, double p)
{
    /* !(p < t) rather than p >= t, so that a NaN p is "none" too. */
    if (z > 0) {
        if (p < 0.01)
            return HS_HOT_99;
        if (p < 0.05)
            return HS_HOT_95;
        if (p < 0.10)
            return HS_HOT_90;
    } else if (z < 0) {
        if (p < 0.01)
            return HS_COLD_99;
        if (p < 0.05)
            return HS_COLD_95;
        if (p < 0.10)
            return HS_COLD_90;
    }
    return HS_NONE;
}

const char *hs_class_name(int cls)
{
    switch (cls) {
    case HS_NONE: return "none";
    case HS_HOT_90: return "hot_90";
    case HS_HOT_95: return "hot_95";
    case HS_HOT_99: return "hot_99";
    case HS_COLD_90: return "cold_90";
    case HS_COLD_95: return "cold_95";
    case HS_COLD_99: return "cold_99";
    default: return NULL;
    }
}

/* ---- hash index (the fallback for sparse bounding boxes) ----------------- */

/* One slot: coordinates and index + 1 of the cell (0 = empty slot). */
typedef struct hs_slot {
    int32_t ix, iy;
    uint32_t idx1;
} hs_slot;

typedef struct hs_hash {
    hs_slot *slots;
    size_t mask;
    unsigned shift; /* 64 - log2(capacity) */
} hs_hash;

/* Fibonacci hashing of the packed key after a splitmix64-style mix: the
 * neighbours of a cell differ in both halves of the key, and a plain
 * multiplicative hash of such keys clusters. */
static size_t hs_hash_slot(const hs_hash *h, int32_t ix, int32_t iy)
{
    uint64_t k = ((uint64_t)(uint32_t)ix << 32) | (uint32_t)iy;
    k ^= k >> 31;
    k *= UINT64_C(0xbf58476d1ce4e5b9);
    k ^= k >> 27;
    return (size_t)((k * UINT64_C(0x9e3779b97f4a7c15)) >> h->shift);
}

static int hs_hash_init(hs_hash *h, size_t n)
{
    size_t cap = 16;
    unsigned bits = 4;
    while (cap < 2 * n) {
        cap <<= 1;
        bits++;
    }
    h->slots = calloc(cap, sizeof *h->slots);
    if (h->slots == NULL)
        return HS_ENOMEM;
    h->mask = cap - 1;
    h->shift = 64 - bits;
    return HS_OK;
}

/* Insert cell idx; HS_EDUP if its coordinates are already present. */
static int hs_hash_put(hs_hash *h, int32_t ix, int32_t iy, size_t idx)
{
    size_t s = hs_hash_slot(h, ix, iy);
    for (;;) {
        hs_slot *sl = &h->slots[s];
        if (sl->idx1 == 0) {
            sl->ix = ix;
            sl->iy = iy;
            sl->idx1 = (uint32_t)(idx + 1);
            return HS_OK;
        }
        if (sl->ix == ix && sl->iy == iy)
            return HS_EDUP;
        s = (s + 1) & h->mask;
    }
}

/* Index + 1 of the cell at (ix, iy), 0 if none. */
static uint32_t hs_hash_get(const hs_hash *h, int32_t ix, int32_t iy)
{
    size_t s = hs_hash_slot(h, ix, iy);
    for (;;) {
        const hs_slot *sl = &h->slots[s];
        if (sl->idx1 == 0 || (sl->ix == ix && sl->iy == iy))
            return sl->idx1;
        s = (s + 1) & h->mask;
    }
}

/* ---- Gi* ----------------------------------------------------------------- */

/*
 * Compensated summation (Knuth's branch-free TwoSum): *sum + *comp carries
 * the running total with about twice the precision of a double, so sums
 * over 100,000 cells come out as good as correctly rounded and independent
 * of the cells' order.  R sums in long double; with plain double sums z
 * drifted from spdep's by up to 5e-13 on 3,000 cells, with these by an ulp
 * or two.  Needs IEEE arithmetic as written (no -ffast-math).
 */
static void hs_add(double *sum, double *comp, double v)
{
    double t = *sum + v;
    double bv = t - *sum;
    *comp += (*sum - (t - bv)) + (v - bv);
    *sum = t;
}

/*
 * erfc() is the most expensive step (about 10 ns a cell), and with counts
 * the same z comes back again and again: z is a function of the 3x3 sum
 * and W only, and most cells of a city grid have small sums.  A small
 * direct-mapped memo keyed on z's bits answers those; a miss costs one
 * comparison.  Exact: equal z, equal p.
 */
#define HS_MEMO_BITS 10

typedef struct hs_memo {
    double z[1 << HS_MEMO_BITS];
    double p[1 << HS_MEMO_BITS];
} hs_memo;

static void hs_memo_init(hs_memo *m)
{
    for (size_t i = 0; i < (size_t)1 << HS_MEMO_BITS; i++)
        m->z[i] = NAN; /* equal to nothing */
}

static double hs_memo_p(hs_memo *m, double z)
{
    uint64_t b;
    memcpy(&b, &z, sizeof b);
    size_t i = (size_t)((b * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - HS_MEMO_BITS));
    if (m->z[i] != z) {
        m->z[i] = z;
        m->p[i] = hs_p_two_sided(z);
    }
    return m->p[i];
}

/* The statistic of one cell from its 3x3 sum and W. */
static void hs_finish(hs_cell *c, double sum, unsigned w, double mean,
                      const double den[10], hs_memo *memo)
{
    c->sum = sum;
    c->w = den[w] > 0 ? (int32_t)w : 0;
    if (den[w] > 0) {
        double z = (sum - mean * (double)w) / den[w];
        double p = hs_memo_p(memo, z);
        c->z = z;
        c->p = p;
        c->cls = hs_classify(z, p);
    } else {
        c->z = 0;
        c->p = 1;
        c->cls = HS_NONE;
    }
}

int hs_gistar(hs_cell *cells, size_t n)
{
    if (n == 0)
        return HS_OK;
    if (n > HS_MAX_CELLS)
        return HS_EINVAL;

    /* Pass 1: bounding box, sum, range. */
    int32_t minx = cells[0].ix, maxx = minx, miny = cells[0].iy, maxy = miny;
    double total = 0, total_c = 0, lo = cells[0].x, hi = lo;
    for (size_t i = 0; i < n; i++) {
        const hs_cell *c = &cells[i];
        if (!isfinite(c->x))
            return HS_EINVAL;
        hs_add(&total, &total_c, c->x);
        lo = c->x < lo ? c->x : lo;
        hi = c->x > hi ? c->x : hi;
        minx = c->ix < minx ? c->ix : minx;
        maxx = c->ix > maxx ? c->ix : maxx;
        miny = c->iy < miny ? c->iy : miny;
        maxy = c->iy > maxy ? c->iy : maxy;
    }
    total += total_c;
    if (!isfinite(total))
        return HS_EINVAL;
    const double nd = (double)n;
    const double mean = total / nd;

    /* Padded box: one empty row/column on each side, so that every 3x3
     * block of a cell lies inside the grid.  Sizes in 64 bits: an int32
     * range is up to 2^32 wide. */
    const uint64_t bw = (uint64_t)((int64_t)maxx - minx + 3);
    const uint64_t bh = (uint64_t)((int64_t)maxy - miny + 3);
    const uint64_t limit = 4 * (uint64_t)n + 4096;
    const int dense = bw <= limit && bh <= limit && bw <= limit / bh;

    double *gx = NULL;        /* dense: x, 0 outside the study area */
    unsigned char *go = NULL; /* dense: 1 inside the study area */
    hs_hash hash = { NULL, 0, 0 };
    double ss = 0, ss_c = 0;
    int rc = HS_OK;

    /* Pass 2: index the cells (finding duplicates), squared deviations. */
    if (dense) {
        size_t area = (size_t)(bw * bh);
        gx = calloc(area, sizeof *gx);
        go = calloc(area, 1);
        if (gx == NULL || go == NULL) {
            rc = HS_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            const hs_cell *c = &cells[i];
            size_t at = (size_t)(c->iy - (int64_t)miny + 1) * (size_t)bw +
                        (size_t)(c->ix - (int64_t)minx + 1);
            if (go[at]) {
                rc = HS_EDUP;
                goto out;
            }
            double d = c->x - mean;
            go[at] = 1;
            gx[at] = c->x;
            hs_add(&ss, &ss_c, d * d);
        }
    } else {
        rc = hs_hash_init(&hash, n);
        if (rc != HS_OK)
            goto out;
        for (size_t i = 0; i < n; i++) {
            const hs_cell *c = &cells[i];
            rc = hs_hash_put(&hash, c->ix, c->iy, i);
            if (rc != HS_OK)
                goto out;
            double d = c->x - mean;
            hs_add(&ss, &ss_c, d * d);
        }
    }
    ss += ss_c;
    if (!isfinite(ss)) {
        rc = HS_EINVAL;
        goto out;
    }

    /* s = 0 exactly when all values are equal (lo == hi); a rounded ss may
     * be a hair above 0 then, so the range decides, not ss. */
    if (lo == hi || n == 1) {
        for (size_t i = 0; i < n; i++) {
            cells[i].z = 0;
            cells[i].p = 1;
            cells[i].cls = HS_NONE;
            cells[i].sum = 0;
            cells[i].w = 0;
        }
        goto out;
    }

    /* The denominator depends on W alone: nine values.  0 marks W >= n. */
    const double s = sqrt(ss / nd);
    double den[10];
    den[0] = 0;
    for (unsigned w = 1; w <= 9; w++) {
        double wd = (double)w;
        den[w] = wd < nd ? s * sqrt((nd * wd - wd * wd) / (nd - 1)) : 0;
    }

    /* Pass 3: 3x3 sums and the statistic. */
    hs_memo memo;
    hs_memo_init(&memo);
    if (dense) {
        const size_t row = (size_t)bw;
        for (size_t i = 0; i < n; i++) {
            hs_cell *c = &cells[i];
            size_t at = (size_t)(c->iy - (int64_t)miny + 1) * row +
                        (size_t)(c->ix - (int64_t)minx + 1);
            const double *a = gx + at - row, *b = gx + at, *d = gx + at + row;
            const unsigned char *oa = go + at - row, *ob = go + at,
                                *od = go + at + row;
            double sum = (a[-1] + a[0] + a[1]) + (b[-1] + b[0] + b[1]) +
                         (d[-1] + d[0] + d[1]);
            unsigned w = (unsigned)oa[-1] + oa[0] + oa[1] + ob[-1] + ob[0] +
                         ob[1] + od[-1] + od[0] + od[1];
            hs_finish(c, sum, w, mean, den, &memo);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            hs_cell *c = &cells[i];
            double sum = 0;
            unsigned w = 0;
            for (int dy = -1; dy <= 1; dy++) {
                int64_t y = (int64_t)c->iy + dy;
                if (y < INT32_MIN || y > INT32_MAX)
                    continue;
                for (int dx = -1; dx <= 1; dx++) {
                    int64_t x = (int64_t)c->ix + dx;
                    if (x < INT32_MIN || x > INT32_MAX)
                        continue;
                    uint32_t j1 = hs_hash_get(&hash, (int32_t)x, (int32_t)y);
                    if (j1 != 0) {
                        sum += cells[j1 - 1].x;
                        w++;
                    }
                }
            }
            hs_finish(c, sum, w, mean, den, &memo);
        }
    }

out:
    free(gx);
    free(go);
    free(hash.slots);
    return rc;
}

/* ---- exact p-values under complete spatial randomness ------------------- */

/*
 * The neighbourhood sum S of a cell is Binomial(N, W / n) under complete
 * spatial randomness given N incidents; p depends on (W, S) alone, and a
 * city grid holds few distinct pairs: a direct-mapped memo on them.
 */
#define HS_XMEMO_BITS 10

int hs_exact(hs_cell *cells, size_t n)
{
    if (n > HS_MAX_CELLS)
        return HS_EINVAL;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double x = cells[i].x;
        if (!(x >= 0) || x != floor(x) || x > 9007199254740992.0)
            return HS_EINVAL;
        total += x;
    }
    if (!(total <= 9007199254740992.0))
        return HS_EINVAL;
    struct {
        int32_t w;
        double sum, p;
    } memo[1 << HS_XMEMO_BITS];
    for (size_t i = 0; i < (size_t)1 << HS_XMEMO_BITS; i++)
        memo[i].w = 0;
    const double nd = (double)n;
    for (size_t i = 0; i < n; i++) {
        hs_cell *c = &cells[i];
        if (c->w <= 0 || total == 0) {
            c->p = 1;
            c->cls = HS_NONE;
            continue;
        }
        uint64_t key = ((uint64_t)c->sum << 4) | (uint64_t)c->w;
        size_t at = (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - HS_XMEMO_BITS));
        if (memo[at].w != c->w || memo[at].sum != c->sum) {
            double q = (double)c->w / nd;
            double up = binom_upper(total, c->sum, q), down = binom_lower(total, c->sum, q);
            double p = 2 * (up < down ? up : down);
            memo[at].w = c->w;
            memo[at].sum = c->sum;
            memo[at].p = p < 1 ? p : 1;
        }
        c->p = memo[at].p;
        c->cls = hs_classify(c->z, c->p);
    }
    return HS_OK;
}

/* ---- Benjamini-Hochberg --------------------------------------------------- */

/* t(k) = k q / m, evaluated one way everywhere so that the counting below
 * and the definition agree bit for bit.  Non-decreasing in k. */
static double hs_bh_t(size_t k, double q, size_t m)
{
    return ((double)k * q) / (double)m;
}

/*
 * The BH cut at level q: returns t(k) for k = max { k : p_(k) <= t(k) },
 * or -1 when there is no such k (nothing significant).  Without sorting:
 * p_(k) <= t(k) iff C(k) = #{ p <= t(k) } >= k, so count each p in the
 * bucket of the smallest k with p <= t(k) and scan the running sum.  At the
 * maximal k, C(k) == k (else k' = C(k) would qualify too), so the rejected
 * set { p <= p_(k) } equals { p <= t(k) }.
 */
static double hs_bh_cut(const hs_cell *cells, size_t m, double q, uint32_t *cnt)
{
    memset(cnt, 0, (m + 1) * sizeof *cnt);
    const double tm = hs_bh_t(m, q, m);
    for (size_t i = 0; i < m; i++) {
        double p = cells[i].p;
        if (!(p <= tm)) /* NaN too */
            continue;
        double g = ceil(p * (double)m / q);
        size_t k = g < 1 ? 1 : g > (double)m ? m : (size_t)g;
        while (k > 1 && p <= hs_bh_t(k - 1, q, m))
            k--;
        while (k < m && p > hs_bh_t(k, q, m))
            k++;
        cnt[k]++;
    }
    size_t cum = 0, best = 0;
    for (size_t k = 1; k <= m; k++) {
        cum += cnt[k];
        if (cum >= k)
            best = k;
    }
    return best ? hs_bh_t(best, q, m) : -1;
}

int hs_fdr(hs_cell *cells, size_t n)
{
    if (n == 0)
        return HS_OK;
    if (n > HS_MAX_CELLS)
        return HS_EINVAL;
    uint32_t *cnt = malloc((n + 1) * sizeof *cnt);
    if (cnt == NULL)
        return HS_ENOMEM;
    double t99 = hs_bh_cut(cells, n, 0.01, cnt);
    double t95 = hs_bh_cut(cells, n, 0.05, cnt);
    double t90 = hs_bh_cut(cells, n, 0.10, cnt);
    free(cnt);

    for (size_t i = 0; i < n; i++) {
        hs_cell *c = &cells[i];
        int lvl = c->p <= t99 ? 3 : c->p <= t95 ? 2 : c->p <= t90 ? 1 : 0;
        if (c->z > 0)
            c->cls = lvl == 3 ? HS_HOT_99 : lvl == 2 ? HS_HOT_95
                   : lvl == 1 ? HS_HOT_90 : HS_NONE;
        else if (c->z < 0)
            c->cls = lvl == 3 ? HS_COLD_99 : lvl == 2 ? HS_COLD_95
                   : lvl == 1 ? HS_COLD_90 : HS_NONE;
        else
            c->cls = HS_NONE;
    }
    return HS_OK;
}

/* ------------------------------------------------------------ ranking */

int hs_cmp_count(const void *a, const void *b)
{
    const hs_cell *x = a, *y = b;
    if (x->x != y->x)
        return x->x < y->x ? 1 : -1;
    if (x->iy != y->iy)
        return x->iy < y->iy ? -1 : 1;
    return (x->ix > y->ix) - (x->ix < y->ix);
}

int hs_cmp_z(const void *a, const void *b)
{
    const hs_cell *x = a, *y = b;
    if (x->z != y->z)
        return x->z < y->z ? 1 : -1;
    if (x->iy != y->iy)
        return x->iy < y->iy ? -1 : 1;
    return (x->ix > y->ix) - (x->ix < y->ix);
}

void hs_select_top(hs_cell *a, size_t n, size_t k, int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n; /* the k-th element lies in [lo, hi) */
    while (hi - lo > 1 && k > lo && k < hi) {
        size_t mid = lo + (hi - lo) / 2;
        hs_cell pivot = a[mid], t;
        /* three-way partition: < pivot | == pivot | > pivot */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            int c = cmp(&a[i], &pivot);
            if (c < 0) {
                t = a[lt], a[lt] = a[i], a[i] = t;
                lt++, i++;
            } else if (c > 0) {
                gt--;
                t = a[gt], a[gt] = a[i], a[i] = t;
            } else {
                i++;
            }
        }
        if (k <= lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
}
