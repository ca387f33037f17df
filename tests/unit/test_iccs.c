/* test_iccs.c -- lib/iccs: levels, groups at a level, prefixes. */
#include "iccs.h"
#include "unit.h"

static void test_levels(void)
{
    CHECK_INT(iccs_level("01"), 1);
    CHECK_INT(iccs_level("0101"), 2);
    CHECK_INT(iccs_level("01031"), 3);
    CHECK_INT(iccs_level("010321"), 4);
    CHECK_INT(iccs_level(""), 0);
    CHECK_INT(iccs_level("1"), 0);
    CHECK_INT(iccs_level("010"), 0);
    CHECK_INT(iccs_level("0103211"), 0);
    CHECK_INT(iccs_level("01a1"), 0);
    CHECK_INT(iccs_level(" 0101"), 0);
    CHECK_INT(iccs_level(NULL), 0);
    CHECK_INT(iccs_level_len(0), 0);
    CHECK_INT(iccs_level_len(5), 0);
    CHECK_INT(iccs_level_len(3), 5);
}

static void test_groups(void)
{
    char buf[ICCS_CODE_MAX];
    CHECK_INT(iccs_group("010321", 1), 1);
    CHECK_INT(iccs_group("010321", 2), 103);
    CHECK_INT(iccs_group("010321", 3), 1032);
    CHECK_INT(iccs_group("010321", 4), 10321);
    /* above the level asked: no group */
    CHECK_INT(iccs_group("0101", 3), -1);
    CHECK_INT(iccs_group("01", 2), -1);
    CHECK_INT(iccs_group(NULL, 2), -1);
    CHECK_INT(iccs_group("xx", 1), -1);
    CHECK_INT(iccs_group("0101", 0), -1);
    CHECK_STR(iccs_group_code(103, 2, buf), "0103");
    CHECK_STR(iccs_group_code(1, 1, buf), "01");
    CHECK_STR(iccs_group_code(10321, 4, buf), "010321");
    CHECK_STR(iccs_group_code(11, 1, buf), "11");
    CHECK_STR(iccs_group_code(100, 1, buf), "");
    CHECK_STR(iccs_group_code(-1, 2, buf), "");
    CHECK_STR(iccs_group_code(1, 7, buf), "");
    /* codes of one level sort as their groups do */
    CHECK(iccs_group("0109", 2) > iccs_group("0107", 2));
    CHECK(iccs_group("0201", 2) > iccs_group("0109", 2));
}

static void test_prefix(void)
{
    CHECK(iccs_has_prefix("0101", "01"));
    CHECK(iccs_has_prefix("0101", "0101"));
    CHECK(!iccs_has_prefix("0101", "01011"));
    CHECK(!iccs_has_prefix("0201", "01"));
    CHECK(!iccs_has_prefix(NULL, "01"));
    CHECK(iccs_has_prefix("0101", ""));
}

UNIT_MAIN(UNIT(test_levels), UNIT(test_groups), UNIT(test_prefix))
