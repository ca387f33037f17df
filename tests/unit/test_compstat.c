/*
 * test_compstat.c -- unit tests for lib/compstat: the COMPSTAT sheet's
 * calendar (prior-year dates, weeks ending Sunday, the three periods) and
 * its arithmetic (% change rounded as NYPD prints it, the Poisson z).
 *
 * Day numbers are days since 1970-01-01, computed with GNU date:
 * `echo $(( $(date -u -d YYYY-MM-DD +%s) / 86400 ))`; weekdays with
 * `date -u -d YYYY-MM-DD +%a`. The prior-year rule is PostgreSQL's
 * `date - interval '1 year'` (29 February -> 28 February).
 */
#include "compstat.h"
#include "rfc3339.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

static void range_is(const compstat_range *r, int64_t first, int64_t last, int64_t prior_first,
                     int64_t prior_last, const char *what, int line)
{
    if (r->first != first || r->last != last || r->prior_first != prior_first ||
        r->prior_last != prior_last) {
        fprintf(stderr,
                "%s:%d: %s: %lld..%lld prior %lld..%lld, expected %lld..%lld prior "
                "%lld..%lld\n",
                __FILE__, line, what, (long long)r->first, (long long)r->last,
                (long long)r->prior_first, (long long)r->prior_last, (long long)first,
                (long long)last, (long long)prior_first, (long long)prior_last);
        unit_failures_++;
    }
}
#define RANGE_IS(r, f, l, pf, pl, what) range_is((r), (f), (l), (pf), (pl), (what), __LINE__)

static void pct_is(uint64_t current, uint64_t prior, int64_t want, int line)
{
    int64_t tenths = 12345;
    int rc = compstat_pct_change(current, prior, &tenths);
    if (rc != 0 || tenths != want) {
        fprintf(stderr, "%s:%d: compstat_pct_change(%llu, %llu) -> rc %d, %lld; expected %lld\n",
                __FILE__, line, (unsigned long long)current, (unsigned long long)prior, rc,
                (long long)tenths, (long long)want);
        unit_failures_++;
    }
}
#define PCT_IS(c, p, want) pct_is((c), (p), (want), __LINE__)

/* ---- calendar ------------------------------------------------------------- */

static void test_prior_day(void)
{
    /* 2024-02-29 19782 -> 2023-02-28 19416 (29 February -> 28 February) */
    CHECK_INT(compstat_prior_day(19782), 19416);
    /* 2025-03-01 20148 -> 2024-03-01 19783 (not 29 February) */
    CHECK_INT(compstat_prior_day(20148), 19783);
    /* 2026-01-01 20454 -> 2025-01-01 20089 */
    CHECK_INT(compstat_prior_day(20454), 20089);
    /* 2024-03-01 19783 -> 2023-03-01 19417 */
    CHECK_INT(compstat_prior_day(19783), 19417);
    /* 2024-02-28 19781 -> 2023-02-28 19416: two days share a prior day */
    CHECK_INT(compstat_prior_day(19781), 19416);
    /* 2025-02-28 20147 -> 2024-02-28 19781: nothing maps to 29 February */
    CHECK_INT(compstat_prior_day(20147), 19781);
    /* 2024-12-31 20088 -> 2023-12-31 19722 */
    CHECK_INT(compstat_prior_day(20088), 19722);
    /* 2000-02-29 11016 -> 1999-02-28 10650 (2000 is a leap year) */
    CHECK_INT(compstat_prior_day(11016), 10650);
    /* Before 1970: 1970-01-01 0 -> 1969-01-01 -365;
       1900-03-01 -25508 -> 1899-03-01 -25873 */
    CHECK_INT(compstat_prior_day(0), -365);
    CHECK_INT(compstat_prior_day(-25508), -25873);
}

/* Every day 1900..2100: one year back, the same month and day, or
   28 February for 29 February; never moves forward in the year. */
static void test_prior_day_every_day(void)
{
    int bad = 0;
    int64_t first = rfc3339_days_from_civil(1900, 1, 1);
    int64_t last = rfc3339_days_from_civil(2100, 12, 31);
    for (int64_t d = first; d <= last && bad < 5; d++) {
        int64_t y, py;
        int m, dd, pm, pdd;
        rfc3339_civil_from_days(d, &y, &m, &dd);
        int64_t p = compstat_prior_day(d);
        rfc3339_civil_from_days(p, &py, &pm, &pdd);
        int want_d = (m == 2 && dd == 29) ? 28 : dd;
        if (py != y - 1 || pm != m || pdd != want_d) {
            fprintf(stderr, "%s:%d: prior of %lld-%02d-%02d is %lld-%02d-%02d\n", __FILE__,
                    __LINE__, (long long)y, m, dd, (long long)py, pm, pdd);
            unit_failures_++;
            bad++;
        }
    }
}

static void test_week_ending(void)
{
    /* Monday 2025-12-29 (20451) .. Sunday 2026-01-04 (20457) -> 20457 */
    for (int64_t d = 20451; d <= 20457; d++)
        CHECK_INT(compstat_week_ending(d), 20457);
    /* Monday 2026-01-05 (20458) starts the next week, ending 2026-01-11
       (20464). */
    CHECK_INT(compstat_week_ending(20458), 20464);
    CHECK_INT(compstat_week_ending(20464), 20464);
    /* Thursday 2024-02-29 (19782) -> Sunday 2024-03-03 (19785) */
    CHECK_INT(compstat_week_ending(19782), 19785);
    /* Across 1970: Monday 1969-12-29 (-3) .. Sunday 1970-01-04 (3) */
    for (int64_t d = -3; d <= 3; d++)
        CHECK_INT(compstat_week_ending(d), 3);
    CHECK_INT(compstat_week_ending(-4), -4); /* Sunday 1969-12-28 */

    /* Everywhere: a Sunday (Sunday 2026-01-04 is 20457), within 0..6 days. */
    int bad = 0;
    for (int64_t d = -30000; d < 60000 && bad < 5; d++) {
        int64_t s = compstat_week_ending(d);
        int64_t r = (s - 20457) % 7;
        if (s < d || s > d + 6 || r != 0) {
            fprintf(stderr, "%s:%d: week ending of %lld is %lld\n", __FILE__, __LINE__,
                    (long long)d, (long long)s);
            unit_failures_++;
            bad++;
        }
    }
}

static void test_periods_2026_01_04(void)
{
    compstat_range r[COMPSTAT_NPERIODS];
    compstat_periods(20457, r); /* Sunday 2026-01-04 */
    /* Week 2025-12-29 (20451) .. 2026-01-04 (20457);
       prior 2024-12-29 (20086) .. 2025-01-04 (20092). */
    RANGE_IS(&r[COMPSTAT_WEEK], 20451, 20457, 20086, 20092, "week");
    /* 28 days from 2025-12-08 (20430); prior from 2024-12-08 (20065). */
    RANGE_IS(&r[COMPSTAT_D28], 20430, 20457, 20065, 20092, "28 days");
    /* Year to date 2026-01-01 (20454) .. 2026-01-04;
       prior 2025-01-01 (20089) .. 2025-01-04 (20092). */
    RANGE_IS(&r[COMPSTAT_YTD], 20454, 20457, 20089, 20092, "ytd");
}

static void test_periods_2024_03_03(void)
{
    compstat_range r[COMPSTAT_NPERIODS];
    compstat_periods(19785, r); /* Sunday 2024-03-03 */
    /* Week 2024-02-26 (19779) .. 2024-03-03 (19785), which holds 29 Feb;
       prior 2023-02-26 (19414) .. 2023-03-03 (19419): each bound moved back
       a year, so the prior week has six days. */
    RANGE_IS(&r[COMPSTAT_WEEK], 19779, 19785, 19414, 19419, "week");
    CHECK_INT(r[COMPSTAT_WEEK].prior_last - r[COMPSTAT_WEEK].prior_first + 1, 6);
    /* 28 days from 2024-02-05 (19758); prior 2023-02-05 (19393). */
    RANGE_IS(&r[COMPSTAT_D28], 19758, 19785, 19393, 19419, "28 days");
    /* Year to date from 2024-01-01 (19723); prior 2023-01-01 (19358). */
    RANGE_IS(&r[COMPSTAT_YTD], 19723, 19785, 19358, 19419, "ytd");
}

static void test_periods_2025_03_02(void)
{
    compstat_range r[COMPSTAT_NPERIODS];
    compstat_periods(20149, r); /* Sunday 2025-03-02 */
    /* Week 2025-02-24 (20143) .. 2025-03-02 (20149);
       prior 2024-02-24 (19777) .. 2024-03-02 (19784): eight days, 29
       February 2024 included. */
    RANGE_IS(&r[COMPSTAT_WEEK], 20143, 20149, 19777, 19784, "week");
    CHECK_INT(r[COMPSTAT_WEEK].prior_last - r[COMPSTAT_WEEK].prior_first + 1, 8);
    /* 28 days from 2025-02-03 (20122); prior from 2024-02-03 (19756). */
    RANGE_IS(&r[COMPSTAT_D28], 20122, 20149, 19756, 19784, "28 days");
    /* Year to date 2025-01-01 (20089); prior 2024-01-01 (19723) .. 2024-03-02. */
    RANGE_IS(&r[COMPSTAT_YTD], 20089, 20149, 19723, 19784, "ytd");
}

static void test_periods_starting_feb_29(void)
{
    compstat_range r[COMPSTAT_NPERIODS];
    /* Sunday 2016-03-06 (16866): the week starts Monday 2016-02-29 (16860),
       whose prior day is 2015-02-28 (16494); prior last 2015-03-06 (16500). */
    compstat_periods(16866, r);
    RANGE_IS(&r[COMPSTAT_WEEK], 16860, 16866, 16494, 16500, "week from 29 Feb");
    /* Sunday 2016-03-27 (16887): the 28 days start on 2016-02-29. Prior
       2015-02-28 .. 2015-03-27 (16521). */
    compstat_periods(16887, r);
    RANGE_IS(&r[COMPSTAT_D28], 16860, 16887, 16494, 16521, "28 days from 29 Feb");
}

/* Every Sunday 1990..2060: the shapes of the three periods. */
static void test_periods_every_sunday(void)
{
    int bad = 0;
    /* Sunday 1989-12-31 is 7304: echo $(( $(date -u -d 1989-12-31 +%s) / 86400 )) */
    for (int64_t s = 7304; s < rfc3339_days_from_civil(2060, 1, 1) && bad < 5; s += 7) {
        compstat_range r[COMPSTAT_NPERIODS];
        compstat_periods(s, r);
        int64_t y;
        int m, d;
        rfc3339_civil_from_days(s, &y, &m, &d);
        int ok = r[COMPSTAT_WEEK].first == s - 6 && r[COMPSTAT_D28].first == s - 27 &&
                 r[COMPSTAT_YTD].first == rfc3339_days_from_civil(y, 1, 1);
        for (int p = 0; p < COMPSTAT_NPERIODS; p++)
            ok = ok && r[p].last == s && r[p].prior_first == compstat_prior_day(r[p].first) &&
                 r[p].prior_last == compstat_prior_day(s) &&
                 r[p].prior_first <= r[p].prior_last;
        ok = ok && r[COMPSTAT_YTD].prior_first == rfc3339_days_from_civil(y - 1, 1, 1);
        if (!ok) {
            fprintf(stderr, "%s:%d: periods of Sunday %lld\n", __FILE__, __LINE__,
                    (long long)s);
            unit_failures_++;
            bad++;
        }
    }
}

/* ---- arithmetic ----------------------------------------------------------- */

static void test_pct_change_ties(void)
{
    /* +12.25 % rounds half away from zero to +12.3, -12.25 % to -12.3. */
    PCT_IS(449, 400, 123);
    PCT_IS(351, 400, -123);
    /* Just either side of the tie. */
    PCT_IS(4489, 4000, 122); /* 12.225 */
    PCT_IS(4491, 4000, 123); /* 12.275 */
    PCT_IS(3511, 4000, -122);
    PCT_IS(3509, 4000, -123);
    /* 0.05 % -> 0.1; 0.005 % -> 0.0 */
    PCT_IS(2001, 2000, 1);
    PCT_IS(1999, 2000, -1);
    PCT_IS(20001, 20000, 0);
    PCT_IS(19999, 20000, 0);
    /* 1/3 and 2/3 */
    PCT_IS(4, 3, 333);
    PCT_IS(2, 3, -333);
    PCT_IS(5, 3, 667);
    PCT_IS(1, 3, -667);
    /* 0.35 % exactly: 2007 vs 2000 -> 3.5 tenths -> 4 */
    PCT_IS(2007, 2000, 4);
    PCT_IS(1993, 2000, -4);
}

static void test_pct_change_edges(void)
{
    int64_t tenths = 777;
    /* No prior: undefined. */
    CHECK_INT(compstat_pct_change(5, 0, &tenths), -1);
    CHECK_INT(compstat_pct_change(0, 0, &tenths), -1);
    /* No current: -100 %. */
    PCT_IS(0, 400, -1000);
    PCT_IS(0, 1, -1000);
    /* Unchanged, doubled, tripled. */
    PCT_IS(400, 400, 0);
    PCT_IS(1, 1, 0);
    PCT_IS(800, 400, 1000);
    PCT_IS(3, 1, 2000);
    PCT_IS(1000, 1, 999000);
    PCT_IS(1, 8, -875);
}

static void test_pct_change_large(void)
{
    /* Beyond 32 bits. */
    PCT_IS(3000000000ULL, 2000000000ULL, 500);
    PCT_IS(4294967296ULL, 2147483648ULL, 1000);
    PCT_IS(2147483648ULL, 4294967296ULL, -500);
    /* A tie at 10^15: +0.05 % -> +0.1, and -0.05 % -> -0.1. */
    PCT_IS(1000500000000000ULL, 1000000000000000ULL, 1);
    PCT_IS(999500000000000ULL, 1000000000000000ULL, -1);
    /* Just below the tie: no rounding up through floating point. */
    PCT_IS(1000499999999999ULL, 1000000000000000ULL, 0);
    /* 9 x 10^15 vs 3 x 10^15: +200 %. */
    PCT_IS(9000000000000000ULL, 3000000000000000ULL, 2000);
    PCT_IS(3000000000000000ULL, 9000000000000000ULL, -667);
}

static void test_z(void)
{
    CHECK_NEAR(compstat_z(9, 4), 2.00, 1e-12);
    CHECK_NEAR(compstat_z(4, 9), -2.00, 1e-12);
    CHECK_NEAR(compstat_z(0, 0), 0.0, 0.0);
    CHECK_NEAR(compstat_z(7, 7), 0.0, 0.0);
    CHECK_NEAR(compstat_z(1, 0), 2.00, 1e-12);
    CHECK_NEAR(compstat_z(0, 1), -2.00, 1e-12);
    CHECK_NEAR(compstat_z(100, 81), 2.00, 1e-12);
    CHECK_NEAR(compstat_z(25, 0), 10.00, 1e-12);
    /* 2 (sqrt 2 - 1) = 0.8284... -> 0.83 */
    CHECK_NEAR(compstat_z(2, 1), 0.83, 1e-12);
    CHECK_NEAR(compstat_z(1, 2), -0.83, 1e-12);
    /* 2 (sqrt 10 - sqrt 5) = 1.8524... -> 1.85 */
    CHECK_NEAR(compstat_z(10, 5), 1.85, 1e-12);
    /* 2 (sqrt 3 - 1) = 1.4641... -> 1.46 */
    CHECK_NEAR(compstat_z(3, 1), 1.46, 1e-12);
    /* Large counts: perfect squares 10^12 and (10^6 - 1)^2. */
    CHECK_NEAR(compstat_z(1000000000000ULL, 999998000001ULL), 2.00, 1e-12);
    /* 2 (sqrt 1000 - sqrt 900) = 3.2455... -> 3.25 */
    CHECK_NEAR(compstat_z(1000, 900), 3.25, 1e-12);
    /* Symmetric. */
    for (uint64_t a = 0; a < 50; a++)
        for (uint64_t b = 0; b < 50; b++)
            CHECK(compstat_z(a, b) == -compstat_z(b, a) || (a == b && compstat_z(a, b) == 0));
}

/* R's binom.test two-sided p by enumerating every outcome (small n). */
static double p_by_enumeration(int x, int n, double p)
{
    double pmf[201], total = 0;
    for (int k = 0; k <= n; k++) {
        double c = 1;
        for (int j = 1; j <= k; j++)
            c = c * (n - k + j) / j;
        pmf[k] = c * pow(p, k) * pow(1 - p, n - k);
    }
    for (int k = 0; k <= n; k++)
        if (pmf[k] <= pmf[x] * (1 + 1e-7))
            total += pmf[k];
    return total < 1 ? total : 1;
}

static void test_p_value(void)
{
    CHECK_NEAR(compstat_p_value(0, 0, 7, 7), 1.0, 0.0);
    CHECK_NEAR(compstat_p_value(1, 0, 7, 7), 1.0, 0.0); /* z = 2, and no evidence at all */
    CHECK_NEAR(compstat_p_value(5, 0, 7, 7), 0.0625, 1e-15);
    CHECK(compstat_p_value(20, 5, 7, 7) < COMPSTAT_ALPHA);
    CHECK_NEAR(compstat_p_value(7, 9, 7, 7), compstat_p_value(9, 7, 7, 7), 1e-15);
    for (int n = 0; n <= 60; n++)
        for (int x = 0; x <= n; x++)
            for (int e = 0; e < 3; e++) {
                double dc = e == 0 ? 7 : e == 1 ? 60 : 59, dp = e == 0 ? 7 : e == 1 ? 59 : 60;
                double want = n == 0 ? 1 : p_by_enumeration(x, n, dc / (dc + dp));
                double got = compstat_p_value((uint64_t)x, (uint64_t)(n - x), dc, dp);
                if (fabs(got - want) > 1e-12 * (want > 1e-300 ? want : 1) + 1e-300) {
                    CHECK_NEAR(got, want, 1e-12);
                    return;
                }
            }
}

UNIT_MAIN(UNIT(test_prior_day), UNIT(test_prior_day_every_day), UNIT(test_week_ending),
          UNIT(test_periods_2026_01_04), UNIT(test_periods_2024_03_03),
          UNIT(test_periods_2025_03_02), UNIT(test_periods_starting_feb_29),
          UNIT(test_periods_every_sunday), UNIT(test_pct_change_ties),
          UNIT(test_pct_change_edges), UNIT(test_pct_change_large), UNIT(test_z), UNIT(test_p_value))
