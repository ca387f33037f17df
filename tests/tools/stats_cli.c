/*
 * stats_cli.c -- test-only driver for lib/compstat's significance test
 * (not installed).
 *
 * Reads lines "current prior current_days prior_days" from stdin and
 * prints compstat_p_value() for each, as %.17g, one per line.
 * tests/integration/test_sheet_significance.py compares them with R's
 * binom.test. Exit status: 0 ok, 1 bad input.
 */
#include "compstat.h"

#include <stdio.h>

int main(void)
{
    unsigned long long cur, prior;
    double dc, dp;
    int rc;
    while ((rc = scanf("%llu %llu %lf %lf", &cur, &prior, &dc, &dp)) == 4)
        printf("%.17g\n", compstat_p_value(cur, prior, dc, dp));
    return rc == EOF ? 0 : 1;
}
