/*
 * fuzz_snapshot.c -- libFuzzer target: restoring the cube, the grid, the
 * response-time cube and the unit board from snapshot bytes (lib/cube,
 * lib/spatial, lib/rtcube, lib/unitboard over lib/snap). The first byte picks the structure, the rest
 * are its bytes. Invariants: no crash, no leak, no read past the input;
 * whatever restores answers questions over all of it and takes an update
 * without failing the sanitizers; a failed restore marks the input failed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cube.h"
#include "rtcube.h"
#include "spatial.h"
#include "tz.h"
#include "unitboard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise_cube(cube *c, tz_zone *utc)
{
    cube_question q = {0};
    q.from = INT64_MIN;
    q.to = INT64_MAX;
    q.zone = utc;
    for (int32_t agency = 0; agency < 4; agency++) {
        q.agency = agency;
        q.by = CUBE_BY_PRECINCT | CUBE_BY_CATEGORY | CUBE_BY_HOUR_OF_DAY;
        q.granularity = CUBE_MONTH;
        cube_result r;
        if (cube_query(c, &q, &r) == 0)
            cube_result_free(&r);
    }
    cube_key k = {1, 1, 1, 1};
    cube_add(c, &k, 3600, +1, 1);
    cube_add(c, &k, 3600, -1, 2);
}

static void exercise_sp(sp_store *s)
{
    for (int32_t agency = 0; agency < 4; agency++) {
        sp_question q = {agency, NULL, 0, NULL, 0, INT64_MIN, INT64_MAX, 2};
        sp_cell *cells = NULL;
        size_t n = 0;
        if (sp_count(s, &q, &cells, &n) == 0)
            free(cells);
    }
}

static void exercise_rt(rt_cube *c, tz_zone *utc)
{
    for (int32_t agency = 0; agency < 4; agency++) {
        rt_question q = {0};
        q.agency = agency;
        q.from = INT64_MIN;
        q.to = INT64_MAX;
        q.by = RT_BY_PRECINCT | RT_BY_UNIT | RT_BY_PRIORITY;
        q.zone = utc;
        rt_result r = {0};
        if (rt_query(c, &q, &r) == 0)
            rt_result_free(&r);
    }
}

static void count_unit(const char *callsign, const unit_activity *a, void *arg)
{
    *(int *)arg += a->total;
}

static void exercise_board(unitboard *b)
{
    static char *units[] = {"A1", "B2"};
    uint8_t scope[4] = {0, 1, 0, 1};
    for (int agency = 0; agency < 4; agency++) {
        unit_activity a;
        unitboard_activity(b, agency, "A1", scope, 4, &a);
        int total = 0;
        unitboard_foreach(b, agency, count_unit, &total);
    }
    if (unitboard_move(b, 1, 7, 0, 1, units, 2, +1) == 0)
        unitboard_move(b, 1, 7, 0, 1, units, 2, -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    tz_zone *utc = tz_fixed(0);
    snap_in in;
    snap_in_init(&in, data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: {
        cube *c = cube_restore(&in);
        if ((c == NULL) != (in.failed != 0))
            abort();
        if (c)
            exercise_cube(c, utc);
        cube_free(c);
        break;
    }
    case 1: {
        sp_store *s = sp_restore(&in);
        if ((s == NULL) != (in.failed != 0))
            abort();
        if (s)
            exercise_sp(s);
        sp_free(s);
        break;
    }
    case 2: {
        rt_cube *c = rt_restore(&in);
        if ((c == NULL) != (in.failed != 0))
            abort();
        if (c)
            exercise_rt(c, utc);
        rt_free(c);
        break;
    }
    default: {
        unitboard *b = unitboard_restore(&in);
        if ((b == NULL) != (in.failed != 0))
            abort();
        if (b)
            exercise_board(b);
        unitboard_free(b);
        break;
    }
    }
    tz_free(utc);
    return 0;
}
