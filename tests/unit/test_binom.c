/* tests/unit/test_binom.c -- lib/binom.h against enumeration */
#include "binom.h"
#include "unit.h"

#include <math.h>

/* Binomial(n, p) probabilities by the product formula (small n). */
static void pmf(int n, double p, double *out)
{
    for (int k = 0; k <= n; k++) {
        double c = 1;
        for (int j = 1; j <= k; j++)
            c = c * (n - k + j) / j;
        out[k] = c * pow(p, k) * pow(1 - p, n - k);
    }
}

static void test_tails_by_enumeration(void)
{
    static const double ps[] = {0.5, 9.0 / 1600, 0.3, 0.91, 1.0 / 3};
    double f[121];
    for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++)
        for (int n = 0; n <= 120; n += (n < 20 ? 1 : 17)) {
            pmf(n, ps[q], f);
            for (int k = 0; k <= n; k++) {
                double lo = 0, up = 0;
                for (int j = 0; j <= k; j++)
                    lo += f[j];
                for (int j = k; j <= n; j++)
                    up += f[j];
                lo = lo < 1 ? lo : 1;
                up = up < 1 ? up : 1;
                double glo = binom_lower(n, k, ps[q]), gup = binom_upper(n, k, ps[q]);
                if (fabs(glo - lo) > 1e-12 * lo + 1e-300 || fabs(gup - up) > 1e-12 * up + 1e-300) {
                    CHECK_NEAR(glo, lo, 1e-12 * lo);
                    CHECK_NEAR(gup, up, 1e-12 * up);
                    return;
                }
            }
        }
}

static void test_edges(void)
{
    CHECK_NEAR(binom_upper(0, 0, 0.5), 1.0, 0.0);
    CHECK_NEAR(binom_lower(10, 10, 0.2), 1.0, 1e-15);
    CHECK_NEAR(binom_upper(10, 0, 0.2), 1.0, 1e-15);
    CHECK_NEAR(binom_upper(5, 1, 9.0 / 1600), 1 - pow(1 - 9.0 / 1600, 5), 1e-15);
    CHECK(binom_upper(100000, 99000, 0.5) == 0.0); /* far beyond double range: 0 */
    CHECK_NEAR(binom_two_sided(10, 5, 0.5), 1.0, 0.0);
    CHECK_NEAR(binom_two_sided(5, 5, 0.5), 0.0625, 1e-15);
}

UNIT_MAIN(UNIT(test_tails_by_enumeration), UNIT(test_edges))
