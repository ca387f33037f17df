/*
 * test_areas.c -- unit tests for lib/areas: the tree of areas, what each
 * holds, levels, and the cycle check.
 */
#include "areas.h"
#include "unit.h"

/* Costa Rica's shape: a country, provinces under it, cantons (precincts)
   listed in the provinces; one canton listed in the country itself. */
static area_tree *sample(void)
{
    area_tree *t = areas_new();
    CHECK(t != NULL);
    CHECK_INT(areas_put(t, 1, 7, "CR", "Costa Rica", "país", 0), 0);
    CHECK_INT(areas_put(t, 2, 7, "SJ", "San José", "provincia", 1), 0);
    CHECK_INT(areas_put(t, 3, 7, "AL", "Alajuela", "provincia", 1), 0);
    CHECK_INT(areas_put(t, 5, 7, "GAM", "Gran Área", "región", 0), 0); /* a gap at id 4 */
    CHECK_INT(areas_set_precinct(t, 10, 2), 0);
    CHECK_INT(areas_set_precinct(t, 11, 2), 0);
    CHECK_INT(areas_set_precinct(t, 12, 3), 0);
    CHECK_INT(areas_set_precinct(t, 13, 1), 0);
    return t;
}

static void test_lookup(void)
{
    area_tree *t = sample();
    CHECK_STR(areas_by_code(t, "SJ")->name, "San José");
    CHECK(areas_by_code(t, "XX") == NULL);
    CHECK(areas_by_id(t, 4) == NULL);
    CHECK(areas_by_id(t, 0) == NULL);
    CHECK(areas_by_id(t, 99) == NULL);
    CHECK_INT(areas_max(t), 6);
    CHECK_INT(areas_of_precinct(t, 12), 3);
    CHECK_INT(areas_of_precinct(t, 14), 0);
    /* Replaced in place: the pointer stays, the strings change. */
    const area_node *sj = areas_by_code(t, "SJ");
    CHECK_INT(areas_put(t, 2, 7, "SJ", "San José (provincia)", "provincia", 1), 0);
    CHECK(areas_by_code(t, "SJ") == sj);
    CHECK_STR(sj->name, "San José (provincia)");
    areas_free(t);
    areas_free(NULL);
}

static void test_cover(void)
{
    area_tree *t = sample();
    uint8_t mask[20] = {0};
    CHECK_INT(areas_cover(t, 2, mask, 20), 2);
    CHECK(mask[10] && mask[11] && !mask[12] && !mask[13]);
    memset(mask, 0, sizeof mask);
    CHECK_INT(areas_cover(t, 1, mask, 20), 4); /* its own canton and its provinces' */
    CHECK(mask[10] && mask[11] && mask[12] && mask[13]);
    CHECK_INT(areas_cover(t, 3, mask, 20), 0); /* already set: counted once */
    memset(mask, 0, sizeof mask);
    CHECK_INT(areas_cover(t, 5, mask, 20), 0); /* an empty area holds nothing */
    CHECK_INT(areas_cover(t, 1, mask, 12), 2); /* ids >= n are ignored */
    /* A precinct moves: it leaves the old area's cover at once. */
    CHECK_INT(areas_set_precinct(t, 11, 3), 0);
    memset(mask, 0, sizeof mask);
    CHECK_INT(areas_cover(t, 2, mask, 20), 1);
    CHECK_INT(areas_set_precinct(t, 11, 0), 0);
    memset(mask, 0, sizeof mask);
    CHECK_INT(areas_cover(t, 1, mask, 20), 3);
    CHECK(!mask[11]);
    CHECK_INT(areas_set_precinct(t, 500, 0), 0); /* never listed: nothing to clear */
    areas_free(t);
}

static void test_levels(void)
{
    area_tree *t = sample();
    CHECK_INT(areas_at_level(t, 10, "provincia"), 2);
    CHECK_INT(areas_at_level(t, 10, "país"), 1);
    CHECK_INT(areas_at_level(t, 13, "provincia"), 0); /* listed above that level */
    CHECK_INT(areas_at_level(t, 13, "país"), 1);
    CHECK_INT(areas_at_level(t, 14, "país"), 0); /* in no area */
    CHECK_INT(areas_at_level(t, 10, "región"), 0);
    areas_free(t);
}

static void test_cycles(void)
{
    area_tree *t = sample();
    CHECK_INT(areas_below(t, 2, 1), 1);
    CHECK_INT(areas_below(t, 2, 2), 1);
    CHECK_INT(areas_below(t, 1, 2), 0);
    CHECK_INT(areas_would_cycle(t, 1, 2), 1); /* the country under its province */
    CHECK_INT(areas_would_cycle(t, 1, 1), 1); /* its own parent */
    CHECK_INT(areas_would_cycle(t, 2, 3), 0); /* a province under a sibling */
    CHECK_INT(areas_would_cycle(t, 1, 5), 0);
    CHECK_INT(areas_would_cycle(t, 1, 0), 0);
    /* Were a cycle ever stored, the walks still end. */
    CHECK_INT(areas_put(t, 1, 7, "CR", "Costa Rica", "país", 2), 0);
    CHECK_INT(areas_below(t, 3, 5), 0);
    CHECK_INT(areas_at_level(t, 12, "región"), 0);
    areas_free(t);
}

UNIT_MAIN(UNIT(test_lookup), UNIT(test_cover), UNIT(test_levels), UNIT(test_cycles))
