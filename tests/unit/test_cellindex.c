/*
 * test_cellindex.c -- unit tests for lib/cellindex: grid cells to indexes,
 * against a brute-force list.
 */
#include "cellindex.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

static uint64_t seed = 0x243F6A8885A308D3ULL;
static uint32_t rnd(void)
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(seed >> 33);
}

static void test_empty_and_negative(void)
{
    cellindex m = {0};
    CHECK_INT((int)cellindex_find(&m, 0, 0), 0); /* never made: nothing */
    CHECK_INT(cellindex_init(&m, 4), 0);
    CHECK_INT((int)cellindex_find(&m, 0, 0), 0);
    /* Negative coordinates (west of and south of the origin) are cells too,
       distinct from their positive twins. */
    *cellindex_slot(&m, -1, -1) = 1;
    *cellindex_slot(&m, 1, 1) = 2;
    *cellindex_slot(&m, -1, 1) = 3;
    *cellindex_slot(&m, INT32_MIN, INT32_MAX) = 4;
    CHECK_INT((int)cellindex_find(&m, -1, -1), 1);
    CHECK_INT((int)cellindex_find(&m, 1, 1), 2);
    CHECK_INT((int)cellindex_find(&m, -1, 1), 3);
    CHECK_INT((int)cellindex_find(&m, INT32_MIN, INT32_MAX), 4);
    CHECK_INT((int)cellindex_find(&m, 1, -1), 0);
    /* Claiming a cell again finds its value. */
    CHECK_INT((int)*cellindex_slot(&m, 1, 1), 2);
    cellindex_free(&m);
    CHECK_INT((int)cellindex_find(&m, 1, 1), 0);
    cellindex_free(&m); /* twice is harmless */
}

static void test_against_a_list(void)
{
    enum { N = 20000 };
    static int32_t xs[N], ys[N];
    cellindex m;
    CHECK_INT(cellindex_init(&m, N), 0);
    int n = 0, dup = 0;
    for (int i = 0; i < N; i++) {
        /* A 300 x 300 patch around the origin: many repeats. */
        int32_t x = (int32_t)(rnd() % 300) - 150, y = (int32_t)(rnd() % 300) - 150;
        uint32_t *slot = cellindex_slot(&m, x, y);
        int known = 0;
        for (int k = 0; k < n && !known; k++)
            known = xs[k] == x && ys[k] == y ? k + 1 : 0;
        if (known) {
            dup++;
            CHECK_INT((int)*slot, known);
            continue;
        }
        CHECK_INT((int)*slot, 0);
        xs[n] = x;
        ys[n] = y;
        *slot = (uint32_t)++n;
    }
    CHECK(dup > 0);
    for (int k = 0; k < n; k++)
        CHECK_INT((int)cellindex_find(&m, xs[k], ys[k]), k + 1);
    int absent = 0;
    for (int i = 0; i < 2000; i++) {
        int32_t x = (int32_t)(rnd() % 600) - 300, y = (int32_t)(rnd() % 600) - 300;
        int known = 0;
        for (int k = 0; k < n && !known; k++)
            known = xs[k] == x && ys[k] == y ? k + 1 : 0;
        CHECK_INT((int)cellindex_find(&m, x, y), known);
        absent += !known;
    }
    CHECK(absent > 0);
    cellindex_free(&m);
}

UNIT_MAIN(UNIT(test_empty_and_negative), UNIT(test_against_a_list))
