/* tests/unit/test_grid.c -- lib/grid.h */
#include <stdlib.h>
#include <math.h>

#include "grid.h"
#include "unit.h"

static void test_cell_size_in_metres(void)
{
    grid g;
    grid_init(&g, 42, -88, 100);
    /* At the origin latitude a base cell spans 100 m both ways: on the
       sphere of grid.h, 1 degree of latitude is R * pi / 180 m. */
    CHECK_NEAR(g.dlat * GRID_EARTH_RADIUS * M_PI / 180, 100, 1e-9);
    CHECK_NEAR(g.dlon * GRID_EARTH_RADIUS * M_PI / 180 * cos(42 * M_PI / 180), 100, 1e-9);
}

static void test_cell_and_bounds_agree(void)
{
    grid g;
    grid_init(&g, 42, -88, 100);
    srand(3);
    for (int i = 0; i < 200000; i++) {
        double lon = -88.3 + 0.6 * rand() / RAND_MAX, lat = 41.6 + 0.6 * rand() / RAND_MAX;
        int32_t ix, iy;
        grid_cell(&g, lon, lat, &ix, &iy);
        double b[4];
        grid_bounds(&g, ix, iy, 1, b);
        /* west/south edges in, east/north edges out */
        if (!(b[0] <= lon && lon < b[2] && b[1] <= lat && lat < b[3])) {
            CHECK(0);
            break;
        }
        /* coarse cells nest the base cells */
        for (int32_t k = 2; k <= 10; k += 4) {
            grid_bounds(&g, grid_coarse(ix, k), grid_coarse(iy, k), k, b);
            if (!(b[0] <= lon && lon < b[2] && b[1] <= lat && lat < b[3])) {
                CHECK(0);
                break;
            }
        }
    }
}

static void test_points_on_edges(void)
{
    grid g;
    grid_init(&g, 0, 0, 100);
    double b[4];
    grid_bounds(&g, 3, -2, 1, b);
    int32_t ix, iy;
    grid_cell(&g, b[0], b[1], &ix, &iy); /* the south-west corner belongs to the cell */
    CHECK_INT(ix, 3);
    CHECK_INT(iy, -2);
    grid_cell(&g, b[2], b[3], &ix, &iy); /* the north-east one to the next */
    CHECK_INT(ix, 4);
    CHECK_INT(iy, -1);
}

static void test_coarse_floor(void)
{
    CHECK_INT(grid_coarse(0, 3), 0);
    CHECK_INT(grid_coarse(2, 3), 0);
    CHECK_INT(grid_coarse(3, 3), 1);
    CHECK_INT(grid_coarse(-1, 3), -1);
    CHECK_INT(grid_coarse(-3, 3), -1);
    CHECK_INT(grid_coarse(-4, 3), -2);
}

static void test_center(void)
{
    grid g;
    grid_init(&g, 14, -90, 100);
    double lon, lat, b[4];
    grid_center(&g, 5, 7, 3, &lon, &lat);
    grid_bounds(&g, 5, 7, 3, b);
    CHECK_NEAR(lon, (b[0] + b[2]) / 2, 1e-12);
    CHECK_NEAR(lat, (b[1] + b[3]) / 2, 1e-12);
}

/* Points of one snap cell share its centre; the centre is within the cell's
   half-diagonal of every point; points a cell apart land in different cells. */
static void test_snap(void)
{
    const double m = 500, R = GRID_EARTH_RADIUS, deg = M_PI / 180;
    double lon0, lat0, lon1, lat1;
    grid_snap(-84.0907, 9.9281, m, &lon0, &lat0); /* San José */
    grid_snap(lon0, lat0, m, &lon1, &lat1);
    CHECK_NEAR(lon1, lon0, 1e-12); /* a centre snaps to itself */
    CHECK_NEAR(lat1, lat0, 1e-12);
    unsigned seed = 7;
    int moved = 0;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        double lat = -60 + 120.0 * (seed >> 8) / (1u << 24);
        seed = seed * 1103515245u + 12345u;
        double lon = -179.9 + 359.8 * (seed >> 8) / (1u << 24);
        grid_snap(lon, lat, m, &lon1, &lat1);
        double dy = (lat1 - lat) * deg * R, dx = (lon1 - lon) * deg * R * cos(lat1 * deg);
        CHECK(fabs(dy) <= m / 2 + 1e-6);
        CHECK(fabs(dx) <= m / 2 + 1e-6);
        double lon2, lat2; /* the snapped point is the centre of its own cell */
        grid_snap(lon1, lat1, m, &lon2, &lat2);
        CHECK_NEAR(lon2, lon1, 1e-9);
        CHECK_NEAR(lat2, lat1, 1e-9);
        moved += lon1 != lon || lat1 != lat;
    }
    CHECK_INT(moved, 20000);
    /* Two points 600 m apart north-south are in different rows. */
    double step = 600 / R / deg;
    grid_snap(-84.09, 9.93, m, &lon0, &lat0);
    grid_snap(-84.09, 9.93 + step, m, &lon1, &lat1);
    CHECK(lat1 > lat0);
}

UNIT_MAIN(UNIT(test_snap), UNIT(test_cell_size_in_metres), UNIT(test_cell_and_bounds_agree),
          UNIT(test_points_on_edges), UNIT(test_coarse_floor), UNIT(test_center))
