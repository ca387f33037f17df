/*
 * grid.c -- see grid.h.
 */
#include "grid.h"

#include <math.h>

void grid_init(grid *g, double lat0, double lon0, double base_m)
{
    const double deg = 180.0 / M_PI;
    g->lat0 = lat0;
    g->lon0 = lon0;
    g->base_m = base_m;
    g->dlat = base_m / GRID_EARTH_RADIUS * deg;
    g->dlon = base_m / (GRID_EARTH_RADIUS * cos(lat0 / deg)) * deg;
}

static int32_t cell_index(double v, double origin, double step)
{
    double q = floor((v - origin) / step);
    /* Edges are computed as origin + i * step (grid_bounds): settle a point
       that rounding puts on the wrong side of its edge. */
    if (origin + (q + 1) * step <= v)
        q += 1;
    else if (origin + q * step > v)
        q -= 1;
    return (int32_t)q;
}

void grid_cell(const grid *g, double lon, double lat, int32_t *ix, int32_t *iy)
{
    *ix = cell_index(lon, g->lon0, g->dlon);
    *iy = cell_index(lat, g->lat0, g->dlat);
}

int32_t grid_coarse(int32_t i, int32_t k)
{
    int32_t q = i / k;
    if (i % k != 0 && i < 0)
        q--;
    return q;
}

void grid_bounds(const grid *g, int32_t cx, int32_t cy, int32_t k, double out[4])
{
    out[0] = g->lon0 + (double)cx * k * g->dlon;
    out[1] = g->lat0 + (double)cy * k * g->dlat;
    out[2] = g->lon0 + (double)(cx + 1) * k * g->dlon;
    out[3] = g->lat0 + (double)(cy + 1) * k * g->dlat;
}

void grid_center(const grid *g, int32_t cx, int32_t cy, int32_t k, double *lon, double *lat)
{
    *lon = g->lon0 + ((double)cx + 0.5) * k * g->dlon;
    *lat = g->lat0 + ((double)cy + 0.5) * k * g->dlat;
}

void grid_snap(double lon, double lat, double cell_m, double *out_lon, double *out_lat)
{
    const double deg = 180.0 / M_PI;
    double dlat = cell_m / GRID_EARTH_RADIUS * deg;
    double row = floor((lat + 90.0) / dlat);
    double lat_c = -90.0 + (row + 0.5) * dlat;
    if (lat_c > 90.0) /* the last, partial row: its centre inside the globe */
        lat_c = (-90.0 + row * dlat + 90.0) / 2;
    double c = cos(lat_c / deg);
    double dlon = c > 1e-9 ? cell_m / (GRID_EARTH_RADIUS * c) * deg : 360.0;
    if (dlon > 360.0)
        dlon = 360.0;
    double col = floor((lon + 180.0) / dlon);
    double lon_c = -180.0 + (col + 0.5) * dlon;
    if (lon_c > 180.0)
        lon_c = (-180.0 + col * dlon + 180.0) / 2;
    *out_lat = lat_c;
    *out_lon = lon_c;
}
