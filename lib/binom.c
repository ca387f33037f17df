/*
 * binom.c -- see binom.h.
 */
#include "binom.h"

#include <math.h>

/* log of Binomial(n, p)'s probability of k. */
static double log_pmf(double n, double k, double lp, double lq)
{
    return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * lp + (n - k) * lq;
}

/* P(X <= k) (down = 1) or P(X >= k) (down = 0), k on the tail's inner end. */
static double tail(double n, double k, double p, int down)
{
    if (p <= 0)
        return down ? 1.0 : (k <= 0 ? 1.0 : 0.0);
    if (p >= 1)
        return down ? (k >= n ? 1.0 : 0.0) : 1.0;
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
    return sum < 1 ? sum : 1.0;
}

double binom_lower(double n, double k, double p)
{
    return tail(n, k, p, 1);
}

double binom_upper(double n, double k, double p)
{
    return tail(n, k, p, 0);
}

double binom_two_sided(double n, double x, double p)
{
    if (n <= 0 || p <= 0 || p >= 1)
        return 1.0;
    double m = n * p, lp = log(p), lq = log1p(-p);
    double d = log_pmf(n, x, lp, lq) + log1p(1e-7); /* R's relErr, in logs */
    double pv;
    if (x == m)
        return 1.0;
    if (x < m) {
        /* The other side: the first k >= ceil(m) as unlikely as x (from
           ceil(m) on the probabilities only fall: a binary search). */
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
