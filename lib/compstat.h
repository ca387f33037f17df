/*
 * compstat.h -- the COMPSTAT sheet's calendar and arithmetic.
 *
 * Days are day numbers (days since 1970-01-01) of local calendar dates in
 * the agency's zone; the caller turns them into instants with tz_utc.
 * Weeks run Monday to Sunday. Each period is compared with the same
 * calendar dates one year earlier: a date moves back one year, and
 * 29 February becomes 28 February -- what PostgreSQL's
 * `date - interval '1 year'` does, so the sheet agrees with SQL.
 */
#ifndef COMPSTAT_COMPSTAT_H
#define COMPSTAT_COMPSTAT_H

#include <stdint.h>

enum compstat_period { COMPSTAT_WEEK, COMPSTAT_D28, COMPSTAT_YTD, COMPSTAT_NPERIODS };

/* A period's days, first and last inclusive, now and a year earlier. */
typedef struct compstat_range {
    int64_t first, last;
    int64_t prior_first, prior_last;
} compstat_range;

/* The same calendar date one year earlier (29 February -> 28 February). */
int64_t compstat_prior_day(int64_t day);

/* The Sunday that ends the week holding day. */
int64_t compstat_week_ending(int64_t day);

/* The week, the 28 days and the year to date ending with sunday. */
void compstat_periods(int64_t sunday, compstat_range out[COMPSTAT_NPERIODS]);

/*
 * % change as NYPD prints it: (current - prior) / prior x 100 rounded to
 * one decimal, half away from zero, computed exactly in integers. Returns
 * 0 and sets *tenths (the result x 10), or -1 when prior is 0 (undefined).
 */
int compstat_pct_change(uint64_t current, uint64_t prior, int64_t *tenths);

/* The Poisson z, 2 (sqrt(current) - sqrt(prior)), rounded to 0.01. */
double compstat_z(uint64_t current, uint64_t prior);

/*
 * Is the change from prior to current more than chance? Two Poisson
 * counts over current_days and prior_days: given their sum n, current is
 * Binomial(n, current_days / (current_days + prior_days)) when the rate is
 * the same in both periods, so the conditional binomial test is exact
 * (Przyborowski and Wilenski 1940). The two-sided p-value is computed as
 * R's binom.test does: the probability of every outcome no more likely
 * than the one observed (relative tolerance 1e-7; lib/binom.h). 1 when both
 * are 0. O(sqrt(n)) steps: well under a millisecond at any count a sheet
 * holds.
 */
double compstat_p_value(uint64_t current, uint64_t prior, double current_days,
                        double prior_days);

/*
 * A rate per 100,000 inhabitants, scaled by num / den (1 / 1 for the plain
 * rate; 365 / the period's days for the annual one): count x 100,000 x num
 * / (population x den) rounded to 0.01, half up, exactly in integers at any
 * count a sheet or a cube cell holds. Returns 0 and sets *hundredths (the
 * rate x 100), or -1 when population is not positive (unknown or nobody:
 * no rate) or den is 0.
 */
int compstat_rate(uint64_t count, long long population, uint64_t num, uint64_t den,
                  uint64_t *hundredths);

/* The sheet's significance level: a change is highlighted when p < this. */
#define COMPSTAT_ALPHA 0.05

#endif
