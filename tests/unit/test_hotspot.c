/*
 * test_hotspot.c -- unit tests for lib/hotspot: Gi*, p-values, classes, BH.
 *
 * Small lattices worked by hand (the arithmetic is in the comments) pin the
 * formula, the edges and corners, irregular shapes and the degenerate cases;
 * randomized areas, dense and sparse (the hash path), are compared with a
 * brute-force O(n^2) evaluation of the DESIGN.md formula in long double, and
 * hs_fdr() with a sort-based Benjamini-Hochberg.  The 100,000-cell timings
 * are printed, never asserted: machines are shared and noisy.
 */
#include "hotspot.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EPS 1e-12

/* ---- helpers ------------------------------------------------------------ */

static hs_cell cell(int32_t ix, int32_t iy, double x)
{
    hs_cell c = { ix, iy, x, -99, -99, -99, 0, 0 };
    return c;
}

/* The cell at (ix, iy); NULL (and a failed check) if absent. */
static const hs_cell *at(const hs_cell *c, size_t n, int32_t ix, int32_t iy)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].ix == ix && c[i].iy == iy)
            return &c[i];
    CHECK(!"cell not found");
    return NULL;
}

static void check_z(const hs_cell *c, size_t n, int32_t ix, int32_t iy, double z)
{
    const hs_cell *k = at(c, n, ix, iy);
    if (k == NULL)
        return;
    CHECK_NEAR(k->z, z, EPS);
    CHECK_NEAR(k->p, erfc(fabs(z) / sqrt(2.0)), EPS);
    CHECK_INT(k->cls, hs_classify(k->z, k->p));
}

static void check_degenerate(const hs_cell *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CHECK(c[i].z == 0);
        CHECK(c[i].p == 1);
        CHECK_INT(c[i].cls, HS_NONE);
    }
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double urand(void)
{
    return (double)(rng() >> 11) * 0x1p-53;
}

/* Poisson(lambda) by Knuth's product method (small lambda). */
static double poisson(double lambda)
{
    double l = exp(-lambda), p = 1;
    int k = 0;
    do {
        k++;
        p *= urand();
    } while (p > l);
    return k - 1;
}

/* DESIGN.md's formula, literally, by brute force in long double. */
static void reference(const hs_cell *c, size_t n, double *z)
{
    long double sx = 0, sxx = 0;
    for (size_t i = 0; i < n; i++) {
        sx += c[i].x;
        sxx += (long double)c[i].x * c[i].x;
    }
    long double nd = (long double)n, mean = sx / nd;
    long double s = sqrtl(sxx / nd - mean * mean);
    for (size_t i = 0; i < n; i++) {
        long double sum = 0, w = 0;
        for (size_t j = 0; j < n; j++) {
            int64_t dx = (int64_t)c[j].ix - c[i].ix, dy = (int64_t)c[j].iy - c[i].iy;
            if (dx >= -1 && dx <= 1 && dy >= -1 && dy <= 1) {
                sum += c[j].x;
                w += 1;
            }
        }
        long double den = s * sqrtl((nd * w - w * w) / (nd - 1));
        z[i] = den > 0 ? (double)((sum - mean * w) / den) : 0;
    }
}

static void compare_reference(hs_cell *c, size_t n)
{
    double *z = malloc(n * sizeof *z);
    CHECK(z != NULL);
    if (z == NULL)
        return;
    reference(c, n, z);
    CHECK_INT(hs_gistar(c, n), HS_OK);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(c[i].z - z[i]);
        worst = d > worst ? d : worst;
        CHECK(c[i].p == hs_p_two_sided(c[i].z));
        CHECK_INT(c[i].cls, hs_classify(c[i].z, c[i].p));
    }
    CHECK_NEAR(worst, 0, 1e-9);
    free(z);
}

/* Shuffle so that no test relies on the cells' order. */
static void shuffle(hs_cell *c, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng() % i);
        hs_cell t = c[i - 1];
        c[i - 1] = c[j];
        c[j] = t;
    }
}

/* ---- hand-worked lattices ----------------------------------------------- */

/*
 * 3x3 block, 9 at the centre, 0 elsewhere.  n = 9, xbar = 1,
 * s^2 = 81/9 - 1 = 8, s = 2 sqrt 2.
 *  corner (0,0): W = 4, sum 9, num = 9 - 4 = 5,
 *      den = 2 sqrt2 sqrt((36 - 16)/8) = 2 sqrt2 sqrt2.5 = 2 sqrt5,
 *      z = 5 / (2 sqrt5) = sqrt5 / 2 = 1.1180339887.
 *  edge (1,0): W = 6, sum 9, num = 3, den = 2 sqrt2 sqrt((54 - 36)/8)
 *      = 2 sqrt2 * 1.5 = 3 sqrt2, z = 1 / sqrt2 = 0.7071067812.
 *  centre: W = 9 = n, denominator 0: z = 0, p = 1, none.
 * (spdep's localG agrees on the eight outer cells and answers NaN at the
 * centre.)
 */
static void test_block3_centre(void)
{
    hs_cell c[9];
    size_t n = 0;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
            c[n++] = cell(x, y, x == 1 && y == 1 ? 9 : 0);
    CHECK_INT(hs_gistar(c, n), HS_OK);
    check_z(c, n, 0, 0, sqrt(5.0) / 2);
    check_z(c, n, 2, 0, sqrt(5.0) / 2);
    check_z(c, n, 0, 2, sqrt(5.0) / 2);
    check_z(c, n, 2, 2, sqrt(5.0) / 2);
    check_z(c, n, 1, 0, 1 / sqrt(2.0));
    check_z(c, n, 0, 1, 1 / sqrt(2.0));
    check_z(c, n, 2, 1, 1 / sqrt(2.0));
    check_z(c, n, 1, 2, 1 / sqrt(2.0));
    const hs_cell *m = at(c, n, 1, 1);
    CHECK(m->z == 0);
    CHECK(m->p == 1);
    CHECK_INT(m->cls, HS_NONE);
    CHECK_NEAR(c[0].p, 0.26355248, 1e-8); /* erfc(1.1180340 / sqrt2) */
    CHECK_INT(c[0].cls, HS_NONE);
}

/*
 * 1x5 strip, x = 0 0 5 0 0.  n = 5, xbar = 1, s^2 = 25/5 - 1 = 4, s = 2.
 * Ends: W = 2; inside: W = 3.  den(W=2) = 2 sqrt((10 - 4)/4) = sqrt6,
 * den(W=3) = 2 sqrt((15 - 9)/4) = sqrt6.
 *  ix 0: sum 0, num = 0 - 2 = -2, z = -2/sqrt6 = -0.8164965809
 *  ix 1: sum 5, num = 5 - 3 = 2,   z =  2/sqrt6
 *  ix 2: sum 5, num = 2,           z =  2/sqrt6
 *  ix 3, ix 4: mirror images of ix 1, ix 0.
 */
static void test_strip(void)
{
    hs_cell c[5];
    for (int i = 0; i < 5; i++)
        c[i] = cell(i, 7, i == 2 ? 5 : 0);
    CHECK_INT(hs_gistar(c, 5), HS_OK);
    double a = 2 / sqrt(6.0);
    check_z(c, 5, 0, 7, -a);
    check_z(c, 5, 1, 7, a);
    check_z(c, 5, 2, 7, a);
    check_z(c, 5, 3, 7, a);
    check_z(c, 5, 4, 7, -a);

    /* The same strip standing upright, at negative coordinates. */
    for (int i = 0; i < 5; i++)
        c[i] = cell(-1000, -3 - i, i == 2 ? 5 : 0);
    CHECK_INT(hs_gistar(c, 5), HS_OK);
    check_z(c, 5, -1000, -3, -a);
    check_z(c, 5, -1000, -5, a);
    check_z(c, 5, -1000, -7, -a);
}

/*
 * 5x5 block, 25 at the centre (2,2), 0 elsewhere: a single non-zero cell.
 * n = 25, xbar = 1, s^2 = 625/25 - 1 = 24, s = 2 sqrt6.
 *  interior cells (1..3, 1..3): W = 9, sum 25, num = 16,
 *      den = 2 sqrt6 sqrt((225 - 81)/24) = 2 sqrt6 sqrt6 = 12, z = 4/3.
 *  corner (0,0): W = 4, sum 0, num = -4,
 *      den = 2 sqrt6 sqrt((100 - 16)/24) = 2 sqrt6 sqrt3.5 = 2 sqrt21,
 *      z = -2/sqrt21 = -0.4364357805.
 *  edge (2,0): W = 6, its block (1..3, -1..1) misses the centre: sum 0,
 *      num = -6, den = 2 sqrt6 sqrt((150 - 36)/24) = 2 sqrt28.5,
 *      z = -3/sqrt28.5 = -0.5619514070.
 *  edge (1,0): W = 6, block (0..2, -1..1) misses it too: same z.
 */
static void test_single_nonzero(void)
{
    hs_cell c[25];
    size_t n = 0;
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            c[n++] = cell(x, y, x == 2 && y == 2 ? 25 : 0);
    shuffle(c, n);
    CHECK_INT(hs_gistar(c, n), HS_OK);
    for (int y = 1; y <= 3; y++)
        for (int x = 1; x <= 3; x++)
            check_z(c, n, x, y, 4.0 / 3);
    check_z(c, n, 0, 0, -2 / sqrt(21.0));
    check_z(c, n, 4, 4, -2 / sqrt(21.0));
    check_z(c, n, 2, 0, -3 / sqrt(28.5));
    check_z(c, n, 1, 0, -3 / sqrt(28.5));
    check_z(c, n, 4, 2, -3 / sqrt(28.5));
}

/*
 * L-shaped area: (0,0)=3, (1,0)=1, (2,0)=0, (0,1)=1, (0,2)=0.
 * n = 5, sum 5, xbar = 1, sum x^2 = 11, s^2 = 11/5 - 1 = 1.2.
 * den(W=2) = sqrt1.2 sqrt((10-4)/4) = sqrt1.8; den(W=3) = sqrt1.2
 * sqrt((15-9)/4) = sqrt1.8; den(W=4) = sqrt1.2 sqrt((20-16)/4) = sqrt1.2.
 *  (0,0): N = (0,0),(1,0),(0,1) [(1,1) is outside]: W 3, sum 5, num 2,
 *         z = 2/sqrt1.8 = 1.4907119850
 *  (1,0): N = (0,0),(1,0),(2,0),(0,1): W 4, sum 5, num 1, z = 1/sqrt1.2
 *  (2,0): N = (1,0),(2,0): W 2, sum 1, num -1, z = -1/sqrt1.8
 *  (0,1): N = (0,0),(1,0),(0,1),(0,2): W 4, sum 5, num 1, z = 1/sqrt1.2
 *  (0,2): N = (0,1),(0,2): W 2, sum 1, num -1, z = -1/sqrt1.8
 */
static void test_l_shape(void)
{
    hs_cell c[5] = { cell(0, 2, 0), cell(2, 0, 0), cell(0, 0, 3),
                     cell(0, 1, 1), cell(1, 0, 1) };
    CHECK_INT(hs_gistar(c, 5), HS_OK);
    check_z(c, 5, 0, 0, 2 / sqrt(1.8));
    check_z(c, 5, 1, 0, 1 / sqrt(1.2));
    check_z(c, 5, 2, 0, -1 / sqrt(1.8));
    check_z(c, 5, 0, 1, 1 / sqrt(1.2));
    check_z(c, 5, 0, 2, -1 / sqrt(1.8));
}

/*
 * A hot 3x3 patch of 10s in a 12x12 field of 0s: the patch centre (5,5)
 * has W = 9, sum 90; n = 144, xbar = 90/144 = 0.625,
 * s^2 = 900/144 - 0.625^2 = 6.25 - 0.390625 = 5.859375,
 * num = 90 - 9 * 0.625 = 84.375,
 * den = sqrt(5.859375) sqrt((144*9 - 81)/143) = 2.4206 * 2.9149 = 7.0558,
 * z = 11.958, p < 0.01: hot_99.  A far corner, (11,11): W = 4, sum 0,
 * num = -2.5, den = 2.4206 sqrt((576 - 16)/143) = 4.7902, z = -0.5219:
 * none.  (A far W = 9 block of zeros: z = -5.625/7.0558 = -0.797, none.)
 */
static void test_classes_in_area(void)
{
    hs_cell c[144];
    size_t n = 0;
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 12; x++)
            c[n++] = cell(x, y, x >= 4 && x <= 6 && y >= 4 && y <= 6 ? 10 : 0);
    CHECK_INT(hs_gistar(c, n), HS_OK);
    double s = sqrt(5.859375);
    double zc = 84.375 / (s * sqrt((144.0 * 9 - 81) / 143));
    double zk = -2.5 / (s * sqrt((144.0 * 4 - 16) / 143));
    check_z(c, n, 5, 5, zc);
    check_z(c, n, 11, 11, zk);
    CHECK_INT(at(c, n, 5, 5)->cls, HS_HOT_99);
    CHECK_INT(at(c, n, 11, 11)->cls, HS_NONE);
    CHECK_STR(hs_class_name(at(c, n, 5, 5)->cls), "hot_99");
    CHECK_NEAR(zc, 11.958, 1e-3);
    CHECK_NEAR(zk, -0.5219, 1e-4);
    /* Every class follows from z and p; no cell is cold. */
    int hot = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(c[i].cls, hs_classify(c[i].z, c[i].p));
        hot += c[i].cls == HS_HOT_99;
        CHECK(c[i].z > 0 || c[i].cls == HS_NONE);
    }
    CHECK(hot >= 9);
    compare_reference(c, n);
}

/* ---- degenerate cases and errors ------------------------------------------ */

static void test_all_zero(void)
{
    hs_cell c[30];
    for (int i = 0; i < 30; i++)
        c[i] = cell(i % 6, i / 6, 0);
    CHECK_INT(hs_gistar(c, 30), HS_OK);
    check_degenerate(c, 30);

    /* All equal and not representable: 0.1 x 30 sums with rounding, so a
     * variance computed from sums could come out a hair above 0. */
    for (int i = 0; i < 30; i++)
        c[i] = cell(i % 6, i / 6, 0.1);
    CHECK_INT(hs_gistar(c, 30), HS_OK);
    check_degenerate(c, 30);

    /* Sparse (hash path) too. */
    for (int i = 0; i < 30; i++)
        c[i] = cell(i * 100000, -i * 77777, 7);
    CHECK_INT(hs_gistar(c, 30), HS_OK);
    check_degenerate(c, 30);
}

static void test_tiny_areas(void)
{
    hs_cell c[3];
    CHECK_INT(hs_gistar(c, 0), HS_OK); /* nothing to do, nothing read */

    c[0] = cell(4, 4, 12);
    CHECK_INT(hs_gistar(c, 1), HS_OK); /* n == 1 */
    check_degenerate(c, 1);

    /* Two adjacent cells: W = 2 = n for both. */
    c[0] = cell(0, 0, 1);
    c[1] = cell(1, 1, 5);
    CHECK_INT(hs_gistar(c, 2), HS_OK);
    check_degenerate(c, 2);

    /*
     * Two cells apart: W = 1 each, n = 2, xbar = 3, s^2 = 26/2 - 9 = 4,
     * den = 2 sqrt((2 - 1)/1) = 2; z = (1 - 3)/2 = -1 and (5 - 3)/2 = 1.
     */
    c[1] = cell(2, 0, 5);
    CHECK_INT(hs_gistar(c, 2), HS_OK);
    check_z(c, 2, 0, 0, -1);
    check_z(c, 2, 2, 0, 1);

    /*
     * Three in a row, 1 2 6: the middle cell has W = 3 = n (z = 0); the ends
     * have W = 2.  xbar = 3, s^2 = 41/3 - 9 = 14/3,
     * den = sqrt(14/3) sqrt((6 - 4)/2) = sqrt(14/3);
     * left: num = 3 - 6 = -3; right: num = 8 - 6 = 2.
     */
    c[0] = cell(0, 0, 1);
    c[1] = cell(1, 0, 2);
    c[2] = cell(2, 0, 6);
    CHECK_INT(hs_gistar(c, 3), HS_OK);
    check_z(c, 3, 0, 0, -3 / sqrt(14.0 / 3));
    check_z(c, 3, 2, 0, 2 / sqrt(14.0 / 3));
    check_degenerate(&c[1], 1);
}

static void test_errors(void)
{
    hs_cell c[4] = { cell(0, 0, 1), cell(1, 0, 2), cell(0, 1, 3), cell(1, 0, 4) };
    CHECK_INT(hs_gistar(c, 4), HS_EDUP);

    /* Duplicates on the hash path (a box far larger than n). */
    hs_cell d[4] = { cell(INT32_MIN, 0, 1), cell(INT32_MAX, INT32_MAX, 2),
                     cell(0, INT32_MIN, 3), cell(INT32_MAX, INT32_MAX, 4) };
    CHECK_INT(hs_gistar(d, 4), HS_EDUP);

    /* Duplicates in an all-equal area are still duplicates. */
    hs_cell e[3] = { cell(5, 5, 0), cell(6, 5, 0), cell(5, 5, 0) };
    CHECK_INT(hs_gistar(e, 3), HS_EDUP);

    hs_cell f[3] = { cell(0, 0, 1), cell(1, 0, NAN), cell(2, 0, 1) };
    CHECK_INT(hs_gistar(f, 3), HS_EINVAL);
    f[1].x = INFINITY;
    CHECK_INT(hs_gistar(f, 3), HS_EINVAL);
    f[1].x = 1e308; /* finite, but the sum overflows */
    f[2].x = 1e308;
    CHECK_INT(hs_gistar(f, 3), HS_EINVAL);
}

/* Cells at the edges of the int32 range, dense and hashed: no overflow, and
 * the 3x3 block does not wrap around. */
static void test_coordinate_extremes(void)
{
    hs_cell c[64];
    size_t n = 0;
    rng_state = 7;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            c[n++] = cell(INT32_MAX - x, INT32_MIN + y, poisson(2));
    compare_reference(c, n); /* dense, box at the corner of the range */

    n = 0;
    for (int k = 0; k < 4; k++) {
        int32_t bx = k & 1 ? INT32_MAX - 2 : INT32_MIN;
        int32_t by = k & 2 ? INT32_MAX - 2 : INT32_MIN;
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
                c[n++] = cell(bx + x, by + y, poisson(1.5));
    }
    compare_reference(c, n); /* hashed: four blocks at the four corners */
}

/* Random areas, against the brute-force formula. */
static void test_random_vs_reference(void)
{
    enum { MAXN = 900 };
    hs_cell *c = malloc(MAXN * sizeof *c);
    CHECK(c != NULL);
    if (c == NULL)
        return;
    rng_state = 12345;
    for (int round = 0; round < 60; round++) {
        size_t n = 0;
        int w = 3 + (int)(rng() % 28), h = 1 + (int)(rng() % 30);
        double fill = round % 3 == 0 ? 1.0 : 0.3 + 0.7 * urand();
        double lambda = 0.2 + 3 * urand();
        int sparse = round % 4 == 3; /* spread out: the hash path */
        int32_t ox = (int32_t)(rng() % 2000) - 1000, oy = (int32_t)(rng() % 2000) - 1000;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                if (urand() >= fill || n >= MAXN)
                    continue;
                int32_t ix = ox + x, iy = oy + y;
                if (sparse && x % 4 == 3) /* blocks of three columns, far apart */
                    continue;
                if (sparse)
                    ix = ox + (x / 4) * 1000003 + x % 4;
                c[n++] = cell(ix, iy, poisson(lambda));
            }
        if (n < 2)
            continue;
        shuffle(c, n);
        compare_reference(c, n);
    }
    free(c);
}

/* ---- p-values and classes -------------------------------------------------- */

static void test_p_values(void)
{
    CHECK_NEAR(hs_p_two_sided(1.644854), 0.10, 1e-6);
    CHECK_NEAR(hs_p_two_sided(-1.644854), 0.10, 1e-6);
    CHECK_NEAR(hs_p_two_sided(1.959964), 0.05, 1e-6);
    CHECK_NEAR(hs_p_two_sided(-1.959964), 0.05, 1e-6);
    CHECK_NEAR(hs_p_two_sided(2.575829), 0.01, 1e-6);
    CHECK_NEAR(hs_p_two_sided(3.290527), 0.001, 1e-7);
    CHECK(hs_p_two_sided(0) == 1);
    CHECK(hs_p_two_sided(-0.0) == 1);
    CHECK(hs_p_two_sided(INFINITY) == 0);
    CHECK(isnan(hs_p_two_sided(NAN)));
    CHECK_NEAR(hs_p_two_sided(1), 0.31731050786291404, 1e-15);
    /* Far tail: erfc keeps relative precision where 1 - erf would be 0. */
    CHECK(hs_p_two_sided(10) > 1.5e-23 && hs_p_two_sided(10) < 1.6e-23);
}

static void test_classes(void)
{
    /* Strict thresholds: p == 0.01 is hot_95, a hair below is hot_99. */
    CHECK_INT(hs_classify(3, nextafter(0.01, 0)), HS_HOT_99);
    CHECK_INT(hs_classify(3, 0.01), HS_HOT_95);
    CHECK_INT(hs_classify(2, nextafter(0.05, 0)), HS_HOT_95);
    CHECK_INT(hs_classify(2, 0.05), HS_HOT_90);
    CHECK_INT(hs_classify(1.7, nextafter(0.10, 0)), HS_HOT_90);
    CHECK_INT(hs_classify(1.7, 0.10), HS_NONE);
    CHECK_INT(hs_classify(-3, nextafter(0.01, 0)), HS_COLD_99);
    CHECK_INT(hs_classify(-3, 0.01), HS_COLD_95);
    CHECK_INT(hs_classify(-2, nextafter(0.05, 0)), HS_COLD_95);
    CHECK_INT(hs_classify(-2, 0.05), HS_COLD_90);
    CHECK_INT(hs_classify(-1.7, nextafter(0.10, 0)), HS_COLD_90);
    CHECK_INT(hs_classify(-1.7, 0.10), HS_NONE);
    CHECK_INT(hs_classify(0, 0), HS_NONE);
    CHECK_INT(hs_classify(1, NAN), HS_NONE);
    CHECK_INT(hs_classify(NAN, 0), HS_NONE);

    /* Through z: the textbook critical values sit just above the cut. */
    CHECK_INT(hs_classify(2.5758, hs_p_two_sided(2.5758)), HS_HOT_95);
    CHECK_INT(hs_classify(2.5759, hs_p_two_sided(2.5759)), HS_HOT_99);
    CHECK_INT(hs_classify(-1.9599, hs_p_two_sided(-1.9599)), HS_COLD_90);
    CHECK_INT(hs_classify(-1.9600, hs_p_two_sided(-1.9600)), HS_COLD_95);
    CHECK_INT(hs_classify(1.6448, hs_p_two_sided(1.6448)), HS_NONE);
    CHECK_INT(hs_classify(1.6449, hs_p_two_sided(1.6449)), HS_HOT_90);

    CHECK_STR(hs_class_name(HS_NONE), "none");
    CHECK_STR(hs_class_name(HS_HOT_90), "hot_90");
    CHECK_STR(hs_class_name(HS_HOT_95), "hot_95");
    CHECK_STR(hs_class_name(HS_HOT_99), "hot_99");
    CHECK_STR(hs_class_name(HS_COLD_90), "cold_90");
    CHECK_STR(hs_class_name(HS_COLD_95), "cold_95");
    CHECK_STR(hs_class_name(HS_COLD_99), "cold_99");
    CHECK(hs_class_name(7) == NULL);
    CHECK(hs_class_name(-1) == NULL);
}

/* ---- Benjamini-Hochberg ---------------------------------------------------- */

static hs_cell pz(double z, double p)
{
    hs_cell c = { 0, 0, 0, z, p, -99, 0, 0 };
    return c;
}

/*
 * m = 10, sorted p: .0005 .004 .006 .012 .02 .029 .045 .2 .5 .9
 *  q = .01, k q/m = .001k: only k = 1 (.0005 <= .001); .004 > .002,
 *     .006 > .003, ... all fail -> T = .0005.
 *  q = .05, .005k: k = 6: .029 <= .03; k = 7: .045 > .035, and
 *     .2 > .04, .5 > .045, .9 > .05 -> T = .029.
 *  q = .10, .01k: k = 7: .045 <= .07; .2 > .08, .5 > .09, .9 > .1
 *     -> T = .045.
 * So .0005 is 99; .004 .006 .012 .02 .029 are 95; .045 is 90; the rest
 * none (unadjusted, .004 and .006 would be 99 and .045 95).  Signs of z
 * choose hot or cold; the cells are not in p order.
 */
static void test_fdr_by_hand(void)
{
    hs_cell c[10] = { pz(1, 0.2),      pz(-1, 0.006), pz(4, 0.0005),
                      pz(2, 0.029),    pz(1, 0.9),    pz(-2, 0.045),
                      pz(3, 0.004),    pz(2, 0.012),  pz(-1, 0.5),
                      pz(-2, 0.02) };
    int want[10] = { HS_NONE,   HS_COLD_95, HS_HOT_99, HS_HOT_95,  HS_NONE,
                     HS_COLD_90, HS_HOT_95, HS_HOT_95, HS_NONE,    HS_COLD_95 };
    CHECK_INT(hs_fdr(c, 10), HS_OK);
    for (int i = 0; i < 10; i++)
        CHECK_INT(c[i].cls, want[i]);

    /*
     * Step-up, not step-down: m = 4, p = .01 .03 .035 .04.
     *  q = .05, .0125k: k = 1 ok, k = 2 fails (.03 > .025), k = 3 ok
     *     (.035 <= .0375), k = 4 ok (.04 <= .05): the largest k is 4, so
     *     all four are significant at .05 although p_(2) alone fails.
     *  q = .01, .0025k: .01 > .0025, .03 > .005, .035 > .0075, .04 > .01:
     *     none.  So all four are 95.
     */
    hs_cell d[4] = { pz(1, 0.04), pz(-1, 0.01), pz(1, 0.035), pz(1, 0.03) };
    CHECK_INT(hs_fdr(d, 4), HS_OK);
    CHECK_INT(d[0].cls, HS_HOT_95);
    CHECK_INT(d[1].cls, HS_COLD_95);
    CHECK_INT(d[2].cls, HS_HOT_95);
    CHECK_INT(d[3].cls, HS_HOT_95);

    /* Nothing significant, and z == 0 is never classed. */
    hs_cell e[3] = { pz(0, 0.0), pz(1, 0.5), pz(-1, 0.7) };
    CHECK_INT(hs_fdr(e, 3), HS_OK);
    CHECK_INT(e[0].cls, HS_NONE);
    CHECK_INT(e[1].cls, HS_NONE);
    CHECK_INT(e[2].cls, HS_NONE);

    /* One test: BH is the unadjusted test with "<=". */
    hs_cell f[1] = { pz(-2, 0.05) };
    CHECK_INT(hs_fdr(f, 1), HS_OK);
    CHECK_INT(f[0].cls, HS_COLD_95);
    CHECK_INT(hs_fdr(f, 0), HS_OK);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* BH by the book: sort, find the largest k, threshold p_(k). */
static double bh_sorted(const double *sorted, size_t m, double q)
{
    for (size_t k = m; k >= 1; k--)
        if (sorted[k - 1] <= ((double)k * q) / (double)m)
            return sorted[k - 1];
    return -1;
}

static void test_fdr_vs_sort(void)
{
    enum { M = 2000 };
    hs_cell *c = malloc(M * sizeof *c);
    double *s = malloc(M * sizeof *s);
    CHECK(c != NULL && s != NULL);
    if (c == NULL || s == NULL) {
        free(c);
        free(s);
        return;
    }
    rng_state = 99;
    for (int round = 0; round < 200; round++) {
        size_t m = 1 + (size_t)(rng() % M);
        double scale = round % 5 == 0 ? 0.001 : round % 5 == 1 ? 0.05 : 1;
        for (size_t i = 0; i < m; i++) {
            double p = urand() * urand() * scale;
            if (rng() % 8 == 0) /* ties, and exact grid points k q / m */
                p = ((double)(1 + rng() % m) * 0.05) / (double)m;
            if (rng() % 50 == 0)
                p = 1;
            double z = rng() % 2 ? 1 : -1;
            c[i] = pz(z, p);
            s[i] = p;
        }
        qsort(s, m, sizeof *s, cmp_double);
        double t99 = bh_sorted(s, m, 0.01), t95 = bh_sorted(s, m, 0.05),
               t90 = bh_sorted(s, m, 0.10);
        CHECK_INT(hs_fdr(c, m), HS_OK);
        for (size_t i = 0; i < m; i++) {
            double p = c[i].p;
            int lvl = p <= t99 ? 3 : p <= t95 ? 2 : p <= t90 ? 1 : 0;
            int want = lvl == 0 ? HS_NONE
                       : c[i].z > 0 ? (lvl == 3 ? HS_HOT_99 : lvl == 2 ? HS_HOT_95 : HS_HOT_90)
                                    : (lvl == 3 ? HS_COLD_99 : lvl == 2 ? HS_COLD_95 : HS_COLD_90);
            CHECK_INT(c[i].cls, want);
        }
    }
    free(c);
    free(s);
}

/* hs_fdr() on hs_gistar() output never upgrades a class. */
static void test_fdr_after_gistar(void)
{
    hs_cell c[400];
    size_t n = 0;
    rng_state = 5;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 20; x++)
            c[n++] = cell(x, y, poisson(x >= 8 && x < 12 && y >= 8 && y < 12 ? 6 : 1));
    CHECK_INT(hs_gistar(c, n), HS_OK);
    int raw[400], strong = 0;
    for (size_t i = 0; i < n; i++)
        raw[i] = c[i].cls;
    CHECK_INT(hs_fdr(c, n), HS_OK);
    for (size_t i = 0; i < n; i++) {
        int lvl_raw = raw[i] == HS_NONE ? 0 : (raw[i] - 1) % 3 + 1;
        int lvl = c[i].cls == HS_NONE ? 0 : (c[i].cls - 1) % 3 + 1;
        CHECK(lvl <= lvl_raw);
        strong += c[i].cls == HS_HOT_99;
    }
    CHECK(strong > 0); /* the planted patch survives the correction */
}

/* ---- timing (printed only) ------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double best_of(hs_cell *c, size_t n, int fdr)
{
    double best = 1e9;
    for (int r = 0; r < 7; r++) {
        double t0 = now_ms();
        int rc = fdr ? hs_fdr(c, n) : hs_gistar(c, n);
        double t = now_ms() - t0;
        CHECK_INT(rc, HS_OK);
        best = t < best ? t : best;
    }
    return best;
}

static void test_timing_100k(void)
{
    enum { SIDE = 316 };
    size_t cap = 200000;
    hs_cell *c = malloc(cap * sizeof *c);
    CHECK(c != NULL);
    if (c == NULL)
        return;
    rng_state = 2024;

    /* A full 316 x 316 block: 99,856 cells, sparse counts. */
    size_t n = 0;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            c[n++] = cell(x + 5000, y - 3000, poisson(x < 40 && y < 40 ? 4 : 0.3));
    double block = best_of(c, n, 0);
    double fdr = best_of(c, n, 1);

    /* An irregular "city": a wobbly disc with a river and holes,
     * ~100,000 cells in a 420 x 420 box, in shuffled order. */
    n = 0;
    for (int y = -210; y < 210; y++)
        for (int x = -210; x < 210; x++) {
            double r = sqrt((double)x * x + (double)y * y);
            double edge = 178 + 12 * sin(atan2(y, x) * 5);
            if (r > edge || (y > 20 * sin(x / 30.0) && y < 20 * sin(x / 30.0) + 6) ||
                (x % 50 == 0 && y % 40 < 10))
                continue;
            if (n < cap)
                c[n++] = cell(x, y, poisson(0.5 + (r < 40 ? 3 : 0)));
        }
    size_t city_n = n;
    shuffle(c, n);
    double city = best_of(c, n, 0);

    /* The same shape scattered by a stride that defeats the dense grid. */
    for (size_t i = 0; i < n; i++) {
        c[i].ix = c[i].ix * 3;
        c[i].iy = c[i].iy * 7919;
    }
    double hashed = best_of(c, n, 0);

    printf("hs_gistar, best of 7: 316x316 block %zu cells %.3f ms (hs_fdr %.3f ms); "
           "irregular city %zu cells %.3f ms; same cells via hash %.3f ms\n",
           (size_t)SIDE * SIDE, block, fdr, city_n, city, hashed);
    free(c);
}

/* hs_select_top puts exactly the k first cells of a full sort in front,
   for both rankings, with ties in the key (broken by iy, ix). */
static void test_select_top_vs_sort(void)
{
    enum { N = 700 };
    static hs_cell a[N], sorted[N], front[N];
    uint64_t st = 99;
    for (int round = 0; round < 40; round++) {
        size_t n = (size_t)(round == 0 ? 0 : round == 1 ? 1 : 2 + (round * 37) % (N - 2));
        for (size_t i = 0; i < n; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            memset(&a[i], 0, sizeof a[i]);
            a[i].ix = (int32_t)(i % 29) - 14;
            a[i].iy = (int32_t)(i / 29);
            a[i].x = (double)((st >> 40) % 7);          /* many ties */
            a[i].z = (double)((int)((st >> 20) % 9) - 4) / 2.0;
        }
        for (int by = 0; by < 2; by++) {
            int (*cmp)(const void *, const void *) = by ? hs_cmp_z : hs_cmp_count;
            memcpy(sorted, a, n * sizeof *a);
            qsort(sorted, n, sizeof *a, cmp);
            size_t ks[] = {0, 1, 5, 20, n ? n - 1 : 0, n, n + 3};
            for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
                size_t k = ks[t], m = k < n ? k : n;
                memcpy(front, a, n * sizeof *a);
                hs_select_top(front, n, k, cmp);
                qsort(front, m, sizeof *a, cmp);
                int same = 1;
                for (size_t i = 0; i < m; i++)
                    same &= front[i].ix == sorted[i].ix && front[i].iy == sorted[i].iy;
                CHECK(same);
            }
        }
    }
}

/*
 * Calibration under complete spatial randomness: N incidents dropped
 * uniformly on a 30 x 30 study area, many times, at densities from 5 to
 * 50,000 incidents. A cell's class at level a (hot_99 for a = 0.01, hot_99
 * or hot_95 for 0.05, any hot for 0.10) must come up at most a/2 of the
 * time (plus Monte Carlo noise) at every density -- the normal p of Gi*'s
 * z does not: with 5 incidents every one of them makes its 3x3 block hot
 * -- and near a/2 once counts are large (the exact test is conservative
 * when counts are small, as any exact test of discrete data is).
 */
static void csr_rates(int side, long incidents, int reps, int exact, double rate[3],
                      double cold[3])
{
    size_t n = (size_t)side * (size_t)side;
    hs_cell *c = calloc(n, sizeof *c);
    long hits[3] = {0, 0, 0}, colds[3] = {0, 0, 0};
    for (int r = 0; c && r < reps; r++) {
        for (size_t i = 0; i < n; i++) {
            c[i].ix = (int32_t)(i % (size_t)side);
            c[i].iy = (int32_t)(i / (size_t)side);
            c[i].x = 0;
        }
        for (long k = 0; k < incidents; k++)
            c[rng() % n].x += 1;
        if (hs_gistar(c, n) != HS_OK || (exact && hs_exact(c, n) != HS_OK)) {
            CHECK(0);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            int hot = c[i].cls == HS_HOT_99 ? 3 : c[i].cls == HS_HOT_95 ? 2
                      : c[i].cls == HS_HOT_90 ? 1 : 0;
            int cl = c[i].cls == HS_COLD_99 ? 3 : c[i].cls == HS_COLD_95 ? 2
                     : c[i].cls == HS_COLD_90 ? 1 : 0;
            for (int l = 0; l < 3; l++) {
                hits[l] += hot >= 3 - l;
                colds[l] += cl >= 3 - l;
            }
        }
    }
    for (int l = 0; l < 3; l++) {
        rate[l] = (double)hits[l] / ((double)n * reps);
        cold[l] = (double)colds[l] / ((double)n * reps);
    }
    free(c);
}

static void test_exact_classes_under_csr(void)
{
    static const double alpha[3] = {0.01, 0.05, 0.10};
    static const long densities[] = {5, 50, 500, 5000, 50000};
    rng_state = 2026;
    for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++) {
        int reps = densities[d] >= 50000 ? 30 : 150;
        double hot[3], cold[3], nhot[3], ncold[3];
        csr_rates(30, densities[d], reps, 1, hot, cold);
        csr_rates(30, densities[d], reps, 0, nhot, ncold);
        double trials = 900.0 * reps;
        for (int l = 0; l < 3; l++) {
            double want = alpha[l] / 2, noise = 5 * sqrt(want / trials) * 3; /* cells correlate */
            if (!(hot[l] <= want * 1.1 + noise) || !(cold[l] <= want * 1.1 + noise)) {
                fprintf(stderr, "N=%ld a=%.2f: hot %.5f cold %.5f, want at most %.5f\n",
                        densities[d], alpha[l], hot[l], cold[l], want);
                CHECK(0);
            }
            if (densities[d] >= 5000 && !(hot[l] >= want * 0.6 && cold[l] >= want * 0.6)) {
                fprintf(stderr, "N=%ld a=%.2f: hot %.5f cold %.5f, far below %.5f\n",
                        densities[d], alpha[l], hot[l], cold[l], want);
                CHECK(0);
            }
        }
        printf("CSR, 900 cells, N=%-6ld hot_99 %.4f%% (normal p: %.4f%%), any hot %.3f%% "
               "(normal: %.3f%%), cold_99 %.4f%% (normal: %.4f%%)\n",
               densities[d], 100 * hot[0], 100 * nhot[0], 100 * hot[2], 100 * nhot[2],
               100 * cold[0], 100 * ncold[0]);
        if (densities[d] == 5)
            CHECK(nhot[0] > 0.01); /* the defect the exact test removes */
    }
}

static void test_exact_by_hand(void)
{
    /* One incident in a 10 x 10 area: its 3x3 block has z = 3.0 but no
       evidence at all: P(S >= 1) = W/n = 0.09 for an inner cell. */
    hs_cell c[100];
    for (int i = 0; i < 100; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].ix = i % 10;
        c[i].iy = i / 10;
    }
    c[55].x = 1;
    CHECK_INT(hs_gistar(c, 100), HS_OK);
    CHECK(c[55].z > 2.9 && c[55].cls == HS_HOT_99); /* the normal p's verdict */
    CHECK_INT(hs_exact(c, 100), HS_OK);
    CHECK_NEAR(c[55].p, 2 * 0.09, 1e-15);
    CHECK_INT(c[55].cls, HS_NONE);
    CHECK_NEAR(c[0].p, 1.0, 0.0); /* S = 0 far away: P(S <= 0) = 0.96 -> p = 1 */
    c[3].x = 0.5;
    CHECK_INT(hs_exact(c, 100), HS_EINVAL); /* not a count */
}

UNIT_MAIN(UNIT(test_block3_centre), UNIT(test_strip), UNIT(test_single_nonzero),
          UNIT(test_l_shape), UNIT(test_classes_in_area), UNIT(test_all_zero),
          UNIT(test_tiny_areas), UNIT(test_errors), UNIT(test_coordinate_extremes),
          UNIT(test_random_vs_reference), UNIT(test_p_values), UNIT(test_classes),
          UNIT(test_fdr_by_hand), UNIT(test_fdr_vs_sort), UNIT(test_fdr_after_gistar),
          UNIT(test_timing_100k), UNIT(test_select_top_vs_sort),
          UNIT(test_exact_classes_under_csr), UNIT(test_exact_by_hand))
