/*
 * hotspot.h -- Getis-Ord Gi* over a study area of square lattice cells,
 * two-sided p-values, hot/cold classes, and an optional Benjamini-Hochberg
 * false-discovery-rate correction.
 *
 * The statistic (DESIGN.md, "Hotspots").  The study area is the given set
 * of n cells; cell i sits at integer lattice coordinates (ix, iy) and has a
 * value x (an incident count; any finite double is accepted).  N(i) is the
 * set of study-area cells in the 3x3 block centred on i -- queen contiguity,
 * i itself included -- and W_i = |N(i)| (1..9).  Over the study area,
 *     xbar = sum(x) / n,    s^2 = sum(x^2) / n - xbar^2,    s = sqrt(s^2),
 * and
 *     Gi*_i = (sum_{j in N(i)} x_j - xbar W_i)
 *             / (s * sqrt((n W_i - W_i^2) / (n - 1))).
 * This is spdep's localG() with binary weights on a neighbour list that
 * includes self (include.self(), style "B"); tests/integration/
 * test_gi_vs_spdep.py checks every cell against R to 1e-9.  As in spdep,
 * s^2 is computed as sum((x - xbar)^2) / n (the same quantity, without the
 * cancellation of the textbook form) and the numerator as the 3x3 sum minus
 * xbar W_i, so z depends only on (3x3 sum, W_i): equal inputs, equal z.
 *
 * p = erfc(|z| / sqrt(2)), the two-sided normal tail.  Classes (unadjusted):
 * z > 0 and p < 0.01 / 0.05 / 0.10 -> HS_HOT_99 / HS_HOT_95 / HS_HOT_90;
 * z < 0 likewise HS_COLD_*; otherwise HS_NONE.  The thresholds are strict.
 *
 * Degenerate cases (decided here; each yields z = 0, p = 1, HS_NONE):
 *  - s = 0: every cell of the study area has the same value (all zero, for
 *    instance).  Detected exactly (minimum == maximum), not by comparing a
 *    rounded variance with 0, so equal non-integer values are degenerate too.
 *  - n == 1 (which is also the next case).
 *  - W_i == n: the cell's 3x3 block holds the whole study area, so the
 *    variance of its sum is 0.  Happens only when n <= 9.
 * spdep answers NaN (0/0) in these cases; we answer "no evidence".
 *
 * Guarantees and costs:
 *  - Sums over the study area are compensated (twice double precision), so
 *    results do not depend on the cells' order and agree with spdep to an
 *    ulp or two; this needs IEEE arithmetic (no -ffast-math).
 *  - No I/O, no globals; the functions are reentrant and may run on any
 *    thread (on disjoint arrays).  Memory is taken from malloc and released
 *    before returning; nothing is kept.
 *  - hs_gistar() is O(n): one pass for the bounding box, sum and range, one
 *    to index the cells (finding duplicates) and sum the squared deviations,
 *    one for the 3x3 sums, z, p and class.  Neighbours are found through a
 *    dense grid over the bounding box (9 bytes per box cell) when the box,
 *    padded by one cell on each side, has at most 4n + 4096 cells, else
 *    through an open-addressing hash (12 bytes per slot, load <= 1/2).
 *    erfc() is memoized on z (16 KB of stack), since z repeats a lot with
 *    counts.  Measured on the 2-core reference machine (-O2, a benchmark
 *    running alongside): about 1.6 ms for a 316 x 316 block of sparse
 *    counts, 2.3 ms for an irregular 96,000-cell area given in random
 *    order, 13 ms when the same cells are spread so far apart that the
 *    hash is used; test_hotspot prints these.
 *  - hs_fdr() is O(n) as well (no sort: a counting pass per level).
 *  - Cells may be in any order; the order is not changed.
 */
#ifndef COMPSTAT_HOTSPOT_H
#define COMPSTAT_HOTSPOT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define HS_MUSTCHECK __attribute__((warn_unused_result))
#else
#define HS_MUSTCHECK
#endif

/* Classes; hs_class_name() gives the API's spelling. */
enum hs_class {
    HS_NONE,
    HS_HOT_90,
    HS_HOT_95,
    HS_HOT_99,
    HS_COLD_90,
    HS_COLD_95,
    HS_COLD_99
};

/* Results of hs_gistar() / hs_fdr().  All failures are negative, so callers
 * that only care about success may test "< 0".  On failure the z, p and cls
 * fields are unspecified (partly written or untouched). */
#define HS_OK 0
#define HS_ENOMEM (-1) /* out of memory */
#define HS_EDUP (-2)   /* two cells share the same (ix, iy) */
#define HS_EINVAL (-3) /* an x is not finite, sums overflow, or n > HS_MAX_CELLS */

/* Upper bound on n (indices are kept in 32 bits). */
#define HS_MAX_CELLS ((size_t)UINT32_MAX - 1)

/* One cell of the study area.  The caller fills ix, iy and x; hs_gistar()
 * fills z, p and cls (an enum hs_class value). */
typedef struct hs_cell {
    int32_t ix, iy; /* lattice coordinates (any int32, negatives included) */
    double x;       /* value, usually the incident count */
    double z;       /* Gi* z-score */
    double p;       /* two-sided p-value of z (or hs_exact's) */
    int cls;        /* enum hs_class */
    double sum;     /* hs_gistar: the 3x3 sum (the neighbourhood count) */
    int32_t w;      /* hs_gistar: W_i; 0 where z is 0 by a degenerate case */
} hs_cell;

/*
 * Compute Gi*, p and the unadjusted class of every cell of the study area
 * cells[0..n-1].  n == 0 is allowed (nothing to do).
 * Returns HS_OK, HS_ENOMEM, HS_EDUP (duplicate coordinates) or HS_EINVAL.
 */
HS_MUSTCHECK int hs_gistar(hs_cell *cells, size_t n);

/*
 * Exact p-values and classes for counts, under complete spatial randomness
 * (CSR), to run after hs_gistar() and before hs_fdr(). z stays as Getis
 * and Ord define it; its normal p is far from right when counts are sparse
 * (one incident makes its whole 3x3 block "hot_99"). Given the N incidents
 * of the study area, CSR puts each one in any of the n (equal) cells alike,
 * so a cell's neighbourhood count S_i (its 3x3 sum) is Binomial(N, W_i/n)
 * -- exactly, whatever N. p = min(1, 2 min(P(S >= s), P(S <= s))), the
 * two-sided "central" exact p-value, and the class is hs_classify(z, p):
 * a cell is hot_99 when P(S >= s) < 0.005. Under CSR a cell is hot_99 (or
 * cold_99) at most 0.5 % of the time at any density, close to it when
 * counts are large (tests/unit/test_hotspot.c simulates it). Cells whose z
 * hs_gistar() set to 0 by a degenerate case keep p = 1.
 * The values must be counts: non-negative whole numbers (HS_EINVAL
 * otherwise, cells untouched). O(n) plus one binomial tail per distinct
 * (W, S) pair. Returns HS_OK or HS_EINVAL.
 */
HS_MUSTCHECK int hs_exact(hs_cell *cells, size_t n);

/*
 * Re-derive cls of cells[0..n-1] with the Benjamini-Hochberg procedure,
 * taking the z and p that hs_gistar() left there, m = n tests.
 * For q in {0.01, 0.05, 0.10}: with p_(1) <= ... <= p_(m) the sorted
 * p-values, k(q) = max { k : p_(k) <= k q / m } and the BH threshold
 * T(q) = p_(k(q)) (no cell is significant at q when no such k exists).
 * A cell is HS_HOT_99 when z > 0 and p <= T(0.01), else HS_HOT_95 when
 * p <= T(0.05), else HS_HOT_90 when p <= T(0.10); cold alike for z < 0;
 * HS_NONE otherwise (always for z == 0).  Note "<=" here, as BH is
 * defined, against "<" for the unadjusted classes.  k q / m is evaluated
 * as ((double)k * q) / (double)m.
 * Returns HS_OK, HS_ENOMEM or HS_EINVAL (n > HS_MAX_CELLS); cls is
 * untouched on failure.
 */
HS_MUSTCHECK int hs_fdr(hs_cell *cells, size_t n);

/* erfc(|z| / sqrt(2)): the two-sided p-value of a standard normal z;
 * 1 for z == 0, NaN for NaN. */
double hs_p_two_sided(double z);

/* The unadjusted class of a (z, p) pair, as hs_gistar() assigns it. */
int hs_classify(double z, double p);

/* "hot_99", "hot_95", "hot_90", "cold_90", "cold_95", "cold_99", "none";
 * NULL for a value that is not an enum hs_class. */
const char *hs_class_name(int cls);

/*
 * Ranking a study area. hs_cmp_count: by x descending; hs_cmp_z: by z
 * descending; ties by iy, then ix, ascending (qsort comparators).
 * hs_select_top puts the k first cells in cmp order at the front of
 * a[0..n-1] (in any order): quickselect, O(n) on average, so "the top 20
 * of 100,000 cells" costs one pass, not a sort.
 */
int hs_cmp_count(const void *a, const void *b);
int hs_cmp_z(const void *a, const void *b);
void hs_select_top(hs_cell *a, size_t n, size_t k, int (*cmp)(const void *, const void *));

#endif
