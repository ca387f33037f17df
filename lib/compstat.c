/*
 * compstat.c -- see compstat.h.
 */
#include "compstat.h"

#include <math.h>

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

double compstat_z(uint64_t current, uint64_t prior)
{
    return round(2.0 * (sqrt((double)current) - sqrt((double)prior)) * 100.0) / 100.0;
}

/* log of Binomial(n, p)'s probability of k. */
static double log_pmf(double n, double k, double lp, double lq)
{
    return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * lp + (n - k) * lq;
}

/*
 * P(X <= k) (down = 1) or P(X >= k) (down = 0): from k outward, each term
 * from the last by the ratio of consecutive probabilities, until a term no
 * longer changes the sum.
 */
static double tail(double n, double k, double p, int down)
{
    double lp = log(p), lq = log1p(-p);
    double t = exp(log_pmf(n, k, lp, lq)), sum = 0;
    double odds = p / (1 - p);
    for (double j = k; t > 0 && (down ? j >= 0 : j <= n);) {
        double before = sum;
        sum += t;
        if (sum == before)
            break;
        if (down) {
            t *= j / (n - j + 1) / odds; /* P(j - 1) / P(j) */
            j--;
        } else {
            t *= (n - j) / (j + 1) * odds; /* P(j + 1) / P(j) */
            j++;
        }
    }
    return sum;
}

double compstat_p_value(uint64_t current, uint64_t prior, double current_days,
                        double prior_days)
{
    double n = (double)current + (double)prior, x = (double)current;
    if (n == 0 || !(current_days > 0) || !(prior_days > 0))
        return 1.0;
    double p = current_days / (current_days + prior_days);
    double m = n * p, lp = log(p), lq = log1p(-p);
    double d = log_pmf(n, x, lp, lq) + log1p(1e-7); /* R's relErr, in logs */
    double pv;
    if (x == m)
        return 1.0;
    if (x < m) {
        /* The other side: the first k >= ceil(m) as unlikely as x (the
           probabilities fall from the mode on, so a binary search). */
        double lo = ceil(m), hi = n + 1;
        while (lo < hi) {
            double mid = floor((lo + hi) / 2);
            if (log_pmf(n, mid, lp, lq) <= d)
                hi = mid;
            else
                lo = mid + 1;
        }
        pv = tail(n, x, p, 1) + (lo <= n ? tail(n, lo, p, 0) : 0);
    } else {
        /* the last k <= floor(m) as unlikely as x */
        double lo = -1, hi = floor(m);
        while (lo < hi) {
            double mid = ceil((lo + hi) / 2);
            if (log_pmf(n, mid, lp, lq) <= d)
                lo = mid;
            else
                hi = mid - 1;
        }
        pv = (lo >= 0 ? tail(n, lo, p, 1) : 0) + tail(n, x, p, 0);
    }
    return pv < 1 ? pv : 1.0;
}
