/*
 * grid.h -- the hotspot grid: square cells in a local projection.
 *
 * Projection: equirectangular (plate carrée) about the agency's origin
 * (lat0, lon0), on a sphere of radius R = 6,371,008.8 m (the IUGG mean
 * Earth radius):
 *
 *     x = R * cos(lat0) * (lon - lon0) * pi / 180      (metres east)
 *     y = R * (lat - lat0) * pi / 180                  (metres north)
 *
 * Cells of the base size b are ix = floor(x / b), iy = floor(y / b); a
 * cell of k * b metres holds the k x k base cells (floor(ix / k),
 * floor(iy / k)). Because x is proportional to longitude and y to
 * latitude, every cell is an exact longitude/latitude rectangle: a point
 * belongs to the cell whose west and south edges it lies on or east/north
 * of, and whose east and north edges it lies strictly west/south of.
 * At city scale (tens of km from lat0) cells are square to within 1% --
 * the origin is the agency's centre rounded to a whole degree.
 *
 * Pure arithmetic: no I/O, no state beyond the struct.
 */
#ifndef COMPSTAT_GRID_H
#define COMPSTAT_GRID_H

#include <stdint.h>

#define GRID_EARTH_RADIUS 6371008.8

typedef struct grid {
    double lat0, lon0; /* origin, degrees */
    double base_m;     /* base cell size, metres */
    double dlon, dlat; /* base cell size, degrees */
} grid;

/* Set up a grid about (lat0, lon0) with base cells of base_m metres. */
void grid_init(grid *g, double lat0, double lon0, double base_m);

/* The base cell holding (lon, lat). */
void grid_cell(const grid *g, double lon, double lat, int32_t *ix, int32_t *iy);

/* The cell of k base cells a side holding base cell i (floor division). */
int32_t grid_coarse(int32_t i, int32_t k);

/* Bounds of cell (cx, cy) of k base cells: west, south, east, north. */
void grid_bounds(const grid *g, int32_t cx, int32_t cy, int32_t k, double out[4]);

/* Centre of cell (cx, cy) of k base cells. */
void grid_center(const grid *g, int32_t cx, int32_t cy, int32_t k, double *lon, double *lat);

/*
 * The centre of the cell of about cell_m metres holding (lon, lat) on one
 * fixed grid for the whole globe, the same for every agency (a location
 * shared with a region to cell_m: sharing.h): rows of cell_m metres of
 * latitude counted from the south pole, each row cut into cells of cell_m
 * metres along its central latitude counted from longitude -180. Every
 * point of a cell moves to the same centre, so nothing finer than the cell
 * is left in the answer.
 */
void grid_snap(double lon, double lat, double cell_m, double *out_lon, double *out_lat);

#endif
