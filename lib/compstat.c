/*
 * compstat.c -- see compstat.h.
 */
#include "compstat.h"

#include <math.h>

#include "binom.h"
#include "cube.h"
#include "rfc3339.h"

int64_t compstat_prior_day(int64_t day)
{
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(day, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    return rfc3339_days_from_civil(y - 1, m, d);
}

int64_t compstat_week_ending(int64_t day)
{
    return day + (7 - cube_iso_dow(day));
}

void compstat_periods(int64_t sunday, compstat_range out[COMPSTAT_NPERIODS])
{
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(sunday, &y, &m, &d);
    int64_t first[COMPSTAT_NPERIODS] = {sunday - 6, sunday - 27, rfc3339_days_from_civil(y, 1, 1)};
    for (int p = 0; p < COMPSTAT_NPERIODS; p++) {
        out[p].first = first[p];
        out[p].last = sunday;
        out[p].prior_first = compstat_prior_day(first[p]);
        out[p].prior_last = compstat_prior_day(sunday);
    }
}

int compstat_pct_change(uint64_t current, uint64_t prior, int64_t *tenths)
{
    if (prior == 0)
        return -1;
    /* |current - prior| x 1000 / prior, rounded half up on the magnitude. */
    int neg = current < prior;
    uint64_t diff = neg ? prior - current : current - prior;
    uint64_t q = (diff * 2000 + prior) / (2 * prior);
    *tenths = neg ? -(int64_t)q : (int64_t)q;
    return 0;
}

int compstat_rate(uint64_t count, long long population, uint64_t num, uint64_t den,
                  uint64_t *hundredths)
{
    if (population <= 0 || den == 0)
        return -1;
    /* (2 N + D) / 2 D with N = count x 10^7 x num, D = population x den;
       beyond 2^63 (billions of incidents) in long double, which may differ
       from the exact rounding in the last place only. */
    uint64_t d = (uint64_t)population;
    if (num > 0 && num <= UINT64_MAX / 20000000 && count <= (UINT64_MAX / 4) / (num * 10000000) &&
        d <= (UINT64_MAX / 4) / den) {
        uint64_t n = count * 10000000 * num;
        d *= den;
        *hundredths = (2 * n + d) / (2 * d);
    } else {
        *hundredths = (uint64_t)floorl((long double)count * 1e7L * (long double)num /
                                           ((long double)population * (long double)den) +
                                       0.5L);
    }
    return 0;
}

double compstat_z(uint64_t current, uint64_t prior)
{
    return round(2.0 * (sqrt((double)current) - sqrt((double)prior)) * 100.0) / 100.0;
}

double compstat_p_value(uint64_t current, uint64_t prior, double current_days,
                        double prior_days)
{
    double n = (double)current + (double)prior;
    if (n == 0 || !(current_days > 0) || !(prior_days > 0))
        return 1.0;
    return binom_two_sided(n, (double)current, current_days / (current_days + prior_days));
}
