/* Populations by year (refdata.h) and rates per 100,000 (compstat.h). */
#include <stdint.h>

#include "compstat.h"
#include "refdata.h"
#include "unit.h"

static ref_data *three_precincts(void)
{
    ref_data *r = ref_new();
    ref_put_agency(r, 1, "A", "A", "UTC");
    ref_put_agency(r, 2, "B", "B", "UTC");
    ref_put_precinct(r, 1, 1, "A-1", "One", -1, NULL, NULL);
    ref_put_precinct(r, 2, 1, "A-2", "Two", 500, NULL, NULL);
    ref_put_precinct(r, 4, 1, "A-4", "Four", -1, NULL, NULL);
    ref_put_precinct(r, 3, 2, "B-3", "Other agency", -1, NULL, NULL);
    return r;
}

static void test_nearest_year(void)
{
    ref_data *r = three_precincts();
    const ref_pop_year pops[] = {{2022, 2200}, {2010, 1000}, {2018, 1800}};
    CHECK_INT(ref_set_populations(r, 1, pops, 3), 0);
    const ref_precinct *p = ref_precinct_by_id(r, 1);
    CHECK_INT(p->npopulations, 3);
    CHECK_INT(p->populations[0].year, 2010); /* sorted */
    CHECK_INT(ref_precinct_population(p, 2018), 1800);
    CHECK_INT(ref_precinct_population(p, 2023), 2200); /* after the last */
    CHECK_INT(ref_precinct_population(p, 1950), 1000); /* before the first */
    CHECK_INT(ref_precinct_population(p, 2019), 1800);
    CHECK_INT(ref_precinct_population(p, 2021), 2200);
    CHECK_INT(ref_precinct_population(p, 2020), 1800); /* a tie: the earlier year */
    CHECK_INT(ref_precinct_population(p, 2014), 1000);
    CHECK_INT(ref_precinct_population(p, 2015), 1800);
    /* Without years: the single figure, or unknown. */
    CHECK_INT(ref_precinct_population(ref_precinct_by_id(r, 2), 2020), 500);
    CHECK_INT(ref_precinct_population(ref_precinct_by_id(r, 4), 2020), -1);
    ref_free(r);
}

static void test_replace(void)
{
    ref_data *r = three_precincts();
    const ref_pop_year a[] = {{2020, 10}, {2021, 11}, {2020, 12}};
    CHECK_INT(ref_set_populations(r, 2, a, 3), 0);
    const ref_precinct *p = ref_precinct_by_id(r, 2);
    CHECK_INT(p->npopulations, 2);
    CHECK_INT(ref_precinct_population(p, 2020), 12); /* given twice: the last */
    /* Years outlive a redrawn precinct, and go when replaced by none. */
    CHECK_INT(ref_put_precinct(r, 2, 1, "A-2", "Two again", 600, NULL, NULL), 0);
    CHECK_INT(ref_precinct_population(p, 2021), 11);
    CHECK_INT(ref_set_populations(r, 2, NULL, 0), 0);
    CHECK_INT(ref_precinct_population(p, 2021), 600);
    CHECK_INT(ref_set_populations(r, 9, a, 1), -1); /* no such precinct */
    ref_free(r);
}

static void test_set_of_precincts(void)
{
    ref_data *r = three_precincts();
    const ref_pop_year one[] = {{2022, 2200}};
    const ref_pop_year four[] = {{2000, 40}, {2030, 70}};
    /* Precinct 1 and 4 unknown: the agency is unknown, precinct 2 alone is not. */
    CHECK_INT(ref_population(r, 1, NULL, 0, 2022), -1);
    uint8_t mask[5] = {1, 0, 1, 0, 0}; /* the unassigned (0) is no precinct */
    CHECK_INT(ref_population(r, 1, mask, 5, 2022), 500);
    ref_set_populations(r, 1, one, 1);
    ref_set_populations(r, 4, four, 2);
    CHECK_INT(ref_population(r, 1, NULL, 0, 2015), 2200 + 500 + 40);
    CHECK_INT(ref_population(r, 1, NULL, 0, 2016), 2200 + 500 + 70);
    mask[4] = 1;
    CHECK_INT(ref_population(r, 1, mask, 5, 2016), 500 + 70);
    CHECK_INT(ref_population(r, 1, mask, 4, 2016), 500); /* ids >= n are not in */
    /* Another agency's precinct in the mask counts for nothing. */
    uint8_t other[4] = {0, 0, 0, 1};
    CHECK_INT(ref_population(r, 1, other, 4, 2016), 0);
    CHECK_INT(ref_population(r, 2, other, 4, 2016), -1);
    CHECK_INT(ref_population(r, 3, NULL, 0, 2016), 0); /* no precincts at all */
    ref_free(r);
}

static void test_rate(void)
{
    uint64_t h = 0;
    CHECK_INT(compstat_rate(7, 352381, 1, 1, &h), 0);
    CHECK_INT(h, 199); /* 1.98648... */
    CHECK_INT(compstat_rate(1, 200000, 1, 1, &h), 0);
    CHECK_INT(h, 50); /* exactly 0.5 */
    CHECK_INT(compstat_rate(1, 20000000, 1, 1, &h), 0);
    CHECK_INT(h, 1); /* 0.005: the half rounds up */
    CHECK_INT(compstat_rate(1, 20000001, 1, 1, &h), 0);
    CHECK_INT(h, 0);
    CHECK_INT(compstat_rate(0, 5, 1, 1, &h), 0);
    CHECK_INT(h, 0);
    CHECK_INT(compstat_rate(3, 0, 1, 1, &h), -1);
    CHECK_INT(compstat_rate(3, -1, 1, 1, &h), -1);
    /* Annual: 7 in a week over 352,381 = 1.986.. x 365 / 7 = 103.58 */
    CHECK_INT(compstat_rate(7, 352381, 365, 7, &h), 0);
    CHECK_INT(h, 10358);
    CHECK_INT(compstat_rate(1, 1, 365, 0, &h), -1);
    /* Counts past the exact range still answer. */
    CHECK_INT(compstat_rate(UINT64_C(4000000000000), 1000, 365, 7, &h), 0);
    CHECK(h > UINT64_C(2080000000000000000) && h < UINT64_C(2090000000000000000));
}

UNIT_MAIN(UNIT(test_nearest_year), UNIT(test_replace), UNIT(test_set_of_precincts),
          UNIT(test_rate))
