/*
 * geo.h -- precinct boundaries: GeoJSON polygons and point-in-polygon.
 *
 * A geo_multipolygon is a precinct boundary parsed from a GeoJSON "Polygon"
 * or "MultiPolygon" geometry (or a "Feature" wrapping one).  Its one verb,
 * geo_covers(), answers exactly what PostGIS answers for
 * ST_Covers(boundary, ST_Point(lon, lat)): a point on an edge or a vertex is
 * covered, a point strictly inside a hole is not, a point on a hole's ring is.
 *
 * "Exactly" is meant literally.  geo_covers() is the point-in-polygon short
 * circuit that ST_Covers runs for a polygon and a point -- winding number,
 * the same side-of-segment expression in the same double arithmetic, shells
 * then holes in the same order (point_in_multipolygon in
 * postgis/lwgeom_functions_analytic.c up to 3.4; 3.5's interval tree computes
 * the same, except that it covers the one point of a ring collapsed to a
 * single point, which we, like 3.4, cover nowhere).  So "on the boundary"
 * means that expression is exactly 0.0: the midpoint of a diagonal edge,
 * computed in floating point, may land a hair to either side and is answered
 * accordingly, as PostGIS does.  Bounding-box and latitude-band short cuts
 * skip only edges that cannot change the answer.  Checked against PostGIS
 * 3.3 on x86-64: no difference over millions of points, tens of thousands of
 * them on boundaries.
 *
 * Two conditions for that exactness:
 *  - Same doubles on both sides.  Build boundaries from what PostGIS stores,
 *    read with ST_AsGeoJSON(boundary, 30) (PostGIS >= 3.1 then prints the
 *    shortest exact form; the default of 9 decimals rounds), not from the file
 *    they were imported from: ST_GeomFromGeoJSON does not always round
 *    17-digit numbers to the nearest double, cJSON does.
 *  - No FMA contraction of the expression, here (see geo.c) or in the PostGIS
 *    build (true of x86-64 packages).
 *
 * Guarantees:
 *  - geo_parse() never crashes on a hostile cJSON tree: every member and
 *    every position is type-checked, and the whole geometry is limited to
 *    GEO_MAX_POSITIONS positions (1,000,000).
 *  - Coordinates are longitude/latitude in degrees (EPSG:4326), checked to lie
 *    in [-180, 180] x [-90, 90]; a third or fourth ordinate is ignored.
 *  - A parsed geo_multipolygon is immutable, so any number of threads may
 *    call geo_covers(), geo_bbox() and geo_npoints() on it at once.
 *  - No I/O, no globals; memory comes from malloc and is released by
 *    geo_free().  The cJSON tree is not referenced after geo_parse() returns.
 *
 * Cost: geo_parse() is O(n log n) in the number of positions n and keeps 16
 * bytes per position plus a band index of at most 20 more.  geo_covers()
 * rejects on the bounding box first, then for each candidate ring looks only
 * at the edges in the latitude band of the point -- typically a handful,
 * whatever the size of the ring.  Measured (x86-64, -O2): 8 ns a call on the
 * eight New Orleans police districts, 16 ns on 25 polygons of 3,000 vertices.
 */
#ifndef COMPSTAT_GEO_H
#define COMPSTAT_GEO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#if defined(__GNUC__)
#define GEO_MUSTCHECK __attribute__((warn_unused_result))
#else
#define GEO_MUSTCHECK
#endif

/* Upper bound on positions (closing positions included) in one geometry. */
#define GEO_MAX_POSITIONS 1000000

/* A parsed (Multi)Polygon with its point-in-polygon index.  Opaque. */
typedef struct geo_multipolygon geo_multipolygon;

/*
 * Parse a GeoJSON geometry into *out.
 *
 * Accepts an object {"type": "Polygon" | "MultiPolygon", "coordinates": ...}
 * or a {"type": "Feature", "geometry": <one of those>} (member names and type
 * names are case-sensitive, as RFC 7946 says).  Validates the nesting, that
 * every position is an array of >= 2 finite numbers, lon in [-180, 180] and
 * lat in [-90, 90], that every ring has >= 4 positions and is closed (first
 * and last position equal in lon and lat), that there is at least one
 * polygon and every polygon has a shell, and that there are at most
 * GEO_MAX_POSITIONS positions in all.  Ring orientation is not checked (either
 * winding gives the same answers) and neither is OGC validity (self-
 * intersection, holes outside their shell): such geometries are answered as
 * PostGIS answers them.
 *
 * Returns 0 and sets *out to a new geo_multipolygon that the caller frees with
 * geo_free().  On failure returns -1, sets *out to NULL and writes a short
 * message naming the problem, e.g. "ring 0 of polygon 2 is not closed"
 * (polygons and rings counted from 0; a Polygon is polygon 0), into err.  err
 * receives at most errlen bytes and is always NUL-terminated when errlen > 0;
 * err may be NULL when errlen is 0.  Out of memory is reported the same way
 * ("out of memory").  out must not be NULL; geometry may be (an error).
 */
GEO_MUSTCHECK int geo_parse(const cJSON *geometry, geo_multipolygon **out,
                            char *err, size_t errlen);

/*
 * A deep copy of mp, answering exactly as mp does, that the caller frees
 * with geo_free(): for a thread that must keep a boundary the loop may
 * replace.  NULL when mp is NULL or out of memory.  O(size of mp).
 */
geo_multipolygon *geo_clone(const geo_multipolygon *mp);

/* Release mp and everything it owns.  NULL is a no-op. */
void geo_free(geo_multipolygon *mp);

/*
 * 1 when (lon, lat) lies inside mp or on its boundary (any edge or vertex of
 * any shell or hole), 0 otherwise -- exactly PostGIS's
 * ST_Covers(mp, ST_Point(lon, lat)).  A NaN or infinite coordinate is never
 * covered, and a NULL mp covers nothing.  Does not allocate; safe to call
 * concurrently.
 */
int geo_covers(const geo_multipolygon *mp, double lon, double lat);

/*
 * The bounding box of every position of mp (holes included):
 * out[0] = min lon, out[1] = min lat, out[2] = max lon, out[3] = max lat.
 * A point outside it is never covered.  A NULL mp gives four zeros.
 */
void geo_bbox(const geo_multipolygon *mp, double out[4]);

/*
 * Number of positions mp was parsed from, as they appeared in the GeoJSON
 * (closing positions and repeated positions included).
 */
size_t geo_npoints(const geo_multipolygon *mp);

/* Number of polygons in mp: 1 for a Polygon.  Both counts are 0 for NULL. */
size_t geo_npolygons(const geo_multipolygon *mp);

#endif
