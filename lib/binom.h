/*
 * binom.h -- tails of the binomial distribution, and the exact tests built
 * on them (the COMPSTAT sheet's comparison of two counts, the hotspot
 * cells' neighbourhood counts under complete spatial randomness).
 *
 * n and k are whole numbers held in doubles (counts up to 2^53). Tails are
 * summed outward from their inner end, each term from the last by the
 * ratio of consecutive probabilities, until a term no longer changes the
 * sum; the first term comes from lgamma. A tail whose inner term
 * underflows is 0 (it is below 1e-300). Accuracy: about 1e-12 relative,
 * checked against R (tests/integration/test_sheet_significance.py) and by
 * enumeration (tests/unit/test_binom.c). Cost: O(sqrt(n p (1 - p))) terms
 * for a tail near the mode, fewer further out.
 *
 * Pure: no I/O, no state; lgamma may set the global signgam, which nothing
 * here reads.
 */
#ifndef COMPSTAT_BINOM_H
#define COMPSTAT_BINOM_H

/* P(X <= k) and P(X >= k) for X ~ Binomial(n, p), 0 < p < 1, 0 <= k <= n. */
double binom_lower(double n, double k, double p);
double binom_upper(double n, double k, double p);

/*
 * Two-sided p-value of x under Binomial(n, p), as R's binom.test computes
 * it: the probability of every outcome no more likely than x (relative
 * tolerance 1e-7). 1 when x is the mean.
 */
double binom_two_sided(double n, double x, double p);

#endif
