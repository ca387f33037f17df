/*
 * test_geo.c -- unit tests for lib/geo: GeoJSON parsing and ST_Covers-exact
 * point-in-polygon.
 *
 * Hand-made shapes pin the boundary rules (edges, vertices, hole rings,
 * horizontal edges, rays through vertices); the randomized tests compare
 * geo_covers() with an independent brute-force winding number (the quadrant
 * method, no side-of-segment predicate and no index) on many points.
 */
#include "geo.h"
#include "unit.h"

#include <stdint.h>

/* ---- helpers ------------------------------------------------------------ */

/* Parse JSON text and then the geometry; the cJSON tree is deleted before
 * returning, which also checks that geo_parse() keeps no reference to it. */
static geo_multipolygon *parse_ok(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    geo_multipolygon *mp = NULL;
    char err[160] = "(not run)";

    CHECK(j != NULL);
    if (j == NULL)
        return NULL;
    CHECK_INT(geo_parse(j, &mp, err, sizeof err), 0);
    CHECK_STR(err, "");
    cJSON_Delete(j);
    CHECK(mp != NULL);
    return mp;
}

static void parse_fails(const char *json, const char *want)
{
    cJSON *j = cJSON_Parse(json);
    geo_multipolygon *mp = (geo_multipolygon *)&mp; /* must be reset */
    char err[160];

    CHECK(j != NULL);
    if (j == NULL)
        return;
    memset(err, 'x', sizeof err);
    CHECK_INT(geo_parse(j, &mp, err, sizeof err), -1);
    CHECK(mp == NULL);
    CHECK_STR(err, want);
    cJSON_Delete(j);
}

struct pt_case {
    double lon, lat;
    int want;
};

static void check_points(const geo_multipolygon *mp, const struct pt_case *c,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = geo_covers(mp, c[i].lon, c[i].lat);

        if (got != c[i].want) {
            fprintf(stderr, "  point %zu (%.17g, %.17g): got %d want %d\n", i,
                    c[i].lon, c[i].lat, got, c[i].want);
            unit_failures_++;
        }
    }
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: small, deterministic, good enough for test geometry. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* Round to a grid of 1e-6 degrees, like the six decimals of real data; it
 * makes equal latitudes (horizontal edges, rays through vertices) common. */
static double q6(double v)
{
    return round(v * 1e6) / 1e6;
}

/* ---- brute force reference, independent of lib/geo ---------------------- */

/* A ring for the reference: n closed vertices (xy[2n-2..] == xy[0..]). */
struct ref_ring {
    double *xy;
    size_t n;
};

static int quadrant(double dx, double dy)
{
    if (dx >= 0)
        return dy >= 0 ? 0 : 3;
    return dy >= 0 ? 1 : 2;
}

/*
 * Winding number of the ring around p by the quadrant method: sum the
 * quarter turns the vector (vertex - p) makes along the ring; a jump to the
 * opposite quadrant is resolved by the sign of the cross product.  Only valid
 * when p is not on the ring, which the callers ensure.
 */
static int ref_winding(const struct ref_ring *r, double px, double py)
{
    int quarters = 0;

    for (size_t i = 0; i + 1 < r->n; i++) {
        double ax = r->xy[2 * i] - px, ay = r->xy[2 * i + 1] - py;
        double bx = r->xy[2 * i + 2] - px, by = r->xy[2 * i + 3] - py;
        int d = (quadrant(bx, by) - quadrant(ax, ay) + 4) % 4;

        if (d == 1)
            quarters++;
        else if (d == 3)
            quarters--;
        else if (d == 2)
            quarters += (ax * by - ay * bx) > 0 ? 2 : -2;
    }
    return quarters / 4;
}

/* Distance from p to segment ab. */
static double seg_dist(double px, double py, double ax, double ay, double bx,
                       double by)
{
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy, t = 0;

    if (len2 > 0) {
        t = ((px - ax) * dx + (py - ay) * dy) / len2;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
    }
    return hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/*
 * Classify p against one ring: 2 when p is on the ring in a way that is exact
 * in doubles (a vertex, or a horizontal or vertical edge), 3 when it is within
 * 1e-12 of an edge otherwise (too close to decide robustly), else 0 outside
 * or 1 inside by the winding number.
 */
static int ref_ring_classify(const struct ref_ring *r, double px, double py)
{
    const double eps = 1e-12;
    int near = 0;

    for (size_t i = 0; i + 1 < r->n; i++) {
        double ax = r->xy[2 * i], ay = r->xy[2 * i + 1];
        double bx = r->xy[2 * i + 2], by = r->xy[2 * i + 3];

        if (px < fmin(ax, bx) - eps || px > fmax(ax, bx) + eps ||
            py < fmin(ay, by) - eps || py > fmax(ay, by) + eps)
            continue;
        if ((px == ax && py == ay) ||
            (ay == by && py == ay && px >= fmin(ax, bx) && px <= fmax(ax, bx)) ||
            (ax == bx && px == ax && py >= fmin(ay, by) && py <= fmax(ay, by)))
            return 2;
        if (seg_dist(px, py, ax, ay, bx, by) < eps)
            near = 1;
    }
    if (near)
        return 3;
    return ref_winding(r, px, py) != 0;
}

/* Polygons as lists of rings (shell first); at most REF_MAX_RINGS rings. */
#define REF_MAX_RINGS 8
struct ref_mpoly {
    struct ref_ring *rings;
    size_t *first; /* npolys + 1: polygon p is rings[first[p] .. first[p+1]) */
    size_t npolys;
};

/*
 * Reference answer for p: 1 covered, 0 not, -1 too close to a boundary to
 * decide robustly (within 1e-12 of an edge without being exactly on one).
 * Covered: on some ring, or inside some shell and inside none of its holes.
 */
static int ref_covers(const struct ref_mpoly *m, double px, double py)
{
    size_t nr = m->first[m->npolys];
    int cls[REF_MAX_RINGS] = { 0 }, undecided = 0;

    for (size_t i = 0; i < nr; i++) {
        cls[i] = ref_ring_classify(&m->rings[i], px, py);
        if (cls[i] == 2)
            return 1;
        if (cls[i] == 3)
            undecided = 1;
    }
    if (undecided)
        return -1;
    for (size_t p = 0; p < m->npolys; p++) {
        int in = cls[m->first[p]];

        for (size_t h = m->first[p] + 1; in && h < m->first[p + 1]; h++)
            if (cls[h])
                in = 0;
        if (in)
            return 1;
    }
    return 0;
}

/* GeoJSON for a reference multipolygon, built through the cJSON API. */
static cJSON *ref_to_geojson(const struct ref_mpoly *m)
{
    cJSON *g = cJSON_CreateObject(), *coords = cJSON_CreateArray();

    cJSON_AddStringToObject(g, "type", "MultiPolygon");
    cJSON_AddItemToObject(g, "coordinates", coords);
    for (size_t p = 0; p < m->npolys; p++) {
        cJSON *poly = cJSON_CreateArray();

        cJSON_AddItemToArray(coords, poly);
        for (size_t i = m->first[p]; i < m->first[p + 1]; i++) {
            cJSON *ring = cJSON_CreateArray();

            cJSON_AddItemToArray(poly, ring);
            for (size_t k = 0; k < m->rings[i].n; k++)
                cJSON_AddItemToArray(ring, cJSON_CreateDoubleArray(
                                               m->rings[i].xy + 2 * k, 2));
        }
    }
    return g;
}

/*
 * A star-shaped ring around (cx, cy): n vertices at increasing angles with
 * radii in [rmin, rmax], rounded to 1e-6 degrees like real data.  Sorted
 * angles and rounding far below the vertex spacing keep it simple; random
 * radii make it very concave.  Every 7th vertex is slid along its ray onto
 * the previous vertex's latitude when that keeps its radius in range, giving
 * horizontal edges as street-following boundaries have.
 */
static struct ref_ring make_star(double cx, double cy, size_t n, double rmin,
                                 double rmax, int clockwise)
{
    struct ref_ring r;

    r.n = n + 1;
    r.xy = malloc(2 * r.n * sizeof *r.xy);
    for (size_t i = 0; i < n; i++) {
        double a = 2 * M_PI * ((double)i + 0.3 * rng_unit()) / (double)n;
        double rad = rmin + (rmax - rmin) * rng_unit();

        r.xy[2 * i] = q6(cx + rad * cos(a));
        r.xy[2 * i + 1] = q6(cy + rad * sin(a));
        if (i % 7 == 6) {
            double want = (r.xy[2 * i - 1] - cy) / sin(a);

            if (want >= rmin && want <= rmax) {
                r.xy[2 * i] = q6(cx + want * cos(a));
                r.xy[2 * i + 1] = r.xy[2 * i - 1];
            }
        }
    }
    if (clockwise) {
        for (size_t i = 0, j = n - 1; i < j; i++, j--) {
            double tx = r.xy[2 * i], ty = r.xy[2 * i + 1];

            r.xy[2 * i] = r.xy[2 * j];
            r.xy[2 * i + 1] = r.xy[2 * j + 1];
            r.xy[2 * j] = tx;
            r.xy[2 * j + 1] = ty;
        }
    }
    r.xy[2 * n] = r.xy[0];
    r.xy[2 * n + 1] = r.xy[1];
    return r;
}

/*
 * Compare geo_covers() with ref_covers() on `npts` points: uniform random
 * points in the (slightly grown) bounding box, half of them rounded to the
 * 1e-6 grid of the vertices; every vertex (must be covered); and a point
 * 1e-9 degrees to each side of every edge's midpoint.
 */
static void compare_with_reference(const struct ref_mpoly *m, size_t npts,
                                   double grid)
{
    cJSON *g = ref_to_geojson(m);
    geo_multipolygon *mp = NULL;
    char err[160];
    double bb[4];
    size_t compared = 0, skipped = 0, mismatches = 0, nr = m->first[m->npolys];

    CHECK(nr <= REF_MAX_RINGS);
    CHECK_INT(geo_parse(g, &mp, err, sizeof err), 0);
    cJSON_Delete(g);
    if (mp == NULL || nr > REF_MAX_RINGS) {
        geo_free(mp);
        return;
    }
    geo_bbox(mp, bb);

    for (size_t i = 0; i < npts; i++) {
        double w = bb[2] - bb[0], h = bb[3] - bb[1];
        double x = bb[0] - 0.05 * w + 1.1 * w * rng_unit();
        double y = bb[1] - 0.05 * h + 1.1 * h * rng_unit();
        int want;

        if (i % 2) {
            x = round(x / grid) * grid;
            y = round(y / grid) * grid;
        }
        want = ref_covers(m, x, y);
        if (want < 0) {
            skipped++;
            continue;
        }
        compared++;
        if (geo_covers(mp, x, y) != want && mismatches++ < 10)
            fprintf(stderr, "  random point (%.17g, %.17g): want %d\n", x, y,
                    want);
    }
    for (size_t r = 0; r < nr; r++) {
        const struct ref_ring *ring = &m->rings[r];

        for (size_t k = 0; k + 1 < ring->n; k++) {
            double ax = ring->xy[2 * k], ay = ring->xy[2 * k + 1];
            double bx = ring->xy[2 * k + 2], by = ring->xy[2 * k + 3];
            double len = hypot(bx - ax, by - ay);
            double nx = -(by - ay) / len * 1e-9, ny = (bx - ax) / len * 1e-9;
            double mx = (ax + bx) / 2, my = (ay + by) / 2;

            if (geo_covers(mp, ax, ay) != 1 && mismatches++ < 10)
                fprintf(stderr, "  vertex (%.17g, %.17g) not covered\n", ax, ay);
            for (int side = -1; side <= 1; side += 2) {
                double x = mx + side * nx, y = my + side * ny;
                int want = ref_covers(m, x, y);

                if (want < 0) {
                    skipped++;
                    continue;
                }
                compared++;
                if (geo_covers(mp, x, y) != want && mismatches++ < 10)
                    fprintf(stderr, "  near-edge point (%.17g, %.17g): want %d\n",
                            x, y, want);
            }
        }
    }
    CHECK_INT(mismatches, 0);
    /* the skip rule must not have swallowed the test */
    CHECK(skipped * 100 < compared);
    geo_free(mp);
}

/* ---- hand-made shapes --------------------------------------------------- */

static void test_square(void)
{
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":"
        "[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}");
    const struct pt_case c[] = {
        { 5, 5, 1 },   { 0.5, 9.5, 1 }, /* inside */
        { 11, 5, 0 },  { -1, 5, 0 },  { 5, -1, 0 },  { 5, 11, 0 },
        { 0, 5, 1 },   { 10, 5, 1 },  { 5, 0, 1 },   { 5, 10, 1 }, /* edges */
        { 0, 0, 1 },   { 10, 0, 1 },  { 10, 10, 1 }, { 0, 10, 1 }, /* vertices */
        { 12, 0, 0 },  { -3, 10, 0 }, { 0, -2, 0 },  { 10, 12, 0 }, /* edge lines */
        { 10.5, 10.5, 0 },
        { nextafter(10, 11), 5, 0 }, { 5, nextafter(0, -1), 0 },
        { nextafter(10, 0), 5, 1 },  { 5, nextafter(10, 0), 1 },
        { nextafter(0, -1), nextafter(0, -1), 0 },
    };

    check_points(mp, c, NCASES(c));
    CHECK_INT(geo_npoints(mp), 5);
    CHECK_INT(geo_npolygons(mp), 1);
    geo_free(mp);
}

static void test_concave(void)
{
    /* A U: legs x in [0,2] and [4,6], base y in [0,2], notch above (3, 2). */
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[6,0],[6,6],[4,6],[4,2],"
        "[2,2],[2,6],[0,6],[0,0]]]}");
    const struct pt_case c[] = {
        { 1, 4, 1 },  { 5, 4, 1 },  { 3, 1, 1 }, /* legs and base */
        { 3, 4, 0 },  { 3, 6, 0 },  { 3, 7, 0 }, /* notch */
        { 3, 2, 1 },  { 4, 4, 1 },  { 2, 4, 1 }, /* notch edges */
        { 4, 2, 1 },  { 2, 2, 1 },  { 2, 6, 1 }, { 4, 6, 1 }, /* reflex/notch vertices */
        { 1, 6, 1 },  { 5, 6, 1 },  { -1, 6, 0 }, { 7, 6, 0 },
        { 1, 2, 1 },  { 5, 2, 1 },  { -1, 2, 0 }, { 7, 2, 0 },
        { 3, nextafter(2, 3), 0 }, { 3, nextafter(2, 1), 1 },
    };
    check_points(mp, c, NCASES(c));
    geo_free(mp);

    /* A chevron with diagonal edges whose collinear points are exact. */
    mp = parse_ok("{\"type\":\"Polygon\",\"coordinates\":"
                  "[[[0,0],[4,2],[8,0],[4,8],[0,0]]]}");
    {
        const struct pt_case d[] = {
            { 4, 1, 0 }, { 3, 1, 0 }, { 5, 1, 0 }, /* under the reflex vertex */
            { 4, 2, 1 }, { 4, 3, 1 }, { 1, 1, 1 }, /* reflex vertex, inside */
            { 2, 1, 1 }, { 6, 1, 1 }, { 2, 4, 1 }, { 6, 4, 1 }, /* on edges */
            { 1, 3, 0 }, { 7, 3, 0 }, { 4, 9, 0 }, { 4, 8, 1 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);
}

static void test_hole(void)
{
    /* The hole is wound clockwise, the shell counter-clockwise. */
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":["
        "[[0,0],[10,0],[10,10],[0,10],[0,0]],"
        "[[3,3],[3,7],[7,7],[7,3],[3,3]]]}");
    const struct pt_case c[] = {
        { 1, 1, 1 },  { 2, 5, 1 },  { 8, 5, 1 },  { 5, 9, 1 },
        { 5, 5, 0 },  { 4, 4, 0 },  { 6.9, 3.1, 0 }, /* strictly in the hole */
        { 3, 5, 1 },  { 7, 5, 1 },  { 5, 3, 1 },  { 5, 7, 1 }, /* hole edges */
        { 3, 3, 1 },  { 7, 7, 1 },  { 3, 7, 1 },  { 7, 3, 1 }, /* hole vertices */
        { nextafter(3, 4), 5, 0 }, { nextafter(3, 2), 5, 1 },
        { 5, nextafter(7, 6), 0 }, { 5, nextafter(7, 8), 1 },
        { 0, 5, 1 },  { 11, 5, 0 },
    };
    check_points(mp, c, NCASES(c));
    geo_free(mp);

    /* Two holes; the point in the second one is out, between them is in. */
    mp = parse_ok("{\"type\":\"Polygon\",\"coordinates\":["
                  "[[0,0],[10,0],[10,10],[0,10],[0,0]],"
                  "[[1,1],[4,1],[4,4],[1,4],[1,1]],"
                  "[[6,6],[9,6],[9,9],[6,9],[6,6]]]}");
    {
        const struct pt_case d[] = {
            { 2, 2, 0 }, { 7, 7, 0 }, { 5, 5, 1 }, { 9, 7, 1 }, { 4, 2, 1 },
            { 2, 7, 1 }, { 7, 2, 1 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);
}

static void test_multipolygon(void)
{
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"MultiPolygon\",\"coordinates\":["
        "[[[0,0],[2,0],[2,2],[0,2],[0,0]]],"
        "[[[10,10],[20,10],[20,20],[10,20],[10,10]],"
        " [[12,12],[18,12],[18,18],[12,18],[12,12]]],"
        "[[[30,0],[40,0],[35,10],[30,0]]]]}");
    const struct pt_case c[] = {
        { 1, 1, 1 },   { 2, 2, 1 },   { 5, 5, 0 },   { 11, 11, 1 },
        { 15, 15, 0 }, { 12, 15, 1 }, { 18, 18, 1 }, { 20, 20, 1 },
        { 35, 5, 1 },  { 35, 0, 1 },  { 35, 10, 1 }, { 41, 0, 0 },
        { -1, -1, 0 }, { 25, 5, 0 },  { 31, 9, 0 },
    };
    double bb[4];

    check_points(mp, c, NCASES(c));
    CHECK_INT(geo_npolygons(mp), 3);
    CHECK_INT(geo_npoints(mp), 19);
    geo_bbox(mp, bb);
    CHECK(bb[0] == 0 && bb[1] == 0 && bb[2] == 40 && bb[3] == 20);
    geo_free(mp);

    /* Polygons sharing an edge: the shared edge is covered. */
    mp = parse_ok("{\"type\":\"MultiPolygon\",\"coordinates\":["
                  "[[[0,0],[1,0],[1,1],[0,1],[0,0]]],"
                  "[[[1,0],[2,0],[2,1],[1,1],[1,0]]]]}");
    {
        const struct pt_case d[] = {
            { 1, 0.5, 1 }, { 0.5, 0.5, 1 }, { 1.5, 0.5, 1 }, { 2.5, 0.5, 0 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);

    /* An island in a lake: polygon 1 sits in polygon 0's hole. */
    mp = parse_ok("{\"type\":\"MultiPolygon\",\"coordinates\":["
                  "[[[0,0],[10,0],[10,10],[0,10],[0,0]],"
                  " [[2,2],[8,2],[8,8],[2,8],[2,2]]],"
                  "[[[4,4],[6,4],[6,6],[4,6],[4,4]]]]}");
    {
        const struct pt_case d[] = {
            { 1, 1, 1 }, { 3, 3, 0 }, { 5, 5, 1 }, { 4, 5, 1 }, { 2, 5, 1 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);
}

/* A clone answers as the original, also after the original is freed. */
static void test_clone(void)
{
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"MultiPolygon\",\"coordinates\":["
        "[[[0,0],[2,0],[2,2],[0,2],[0,0]]],"
        "[[[10,10],[20,10],[20,20],[10,20],[10,10]],"
        " [[12,12],[18,12],[13,18],[12,18],[12,12]]]]}");
    geo_multipolygon *c = geo_clone(mp);
    CHECK(c != NULL && geo_clone(NULL) == NULL);
    int differ = 0;
    for (int i = 0; i < 20000; i++) {
        double lon = -1 + 22.0 * (i % 200) / 199, lat = -1 + 22.0 * (i / 200) / 99;
        differ += geo_covers(mp, lon, lat) != geo_covers(c, lon, lat);
    }
    CHECK_INT(differ, 0);
    CHECK_INT(geo_npoints(c), geo_npoints(mp));
    geo_free(mp);
    CHECK(geo_covers(c, 15, 11) == 1 && geo_covers(c, 14, 14) == 0 && geo_covers(c, 1, 1) == 1);
    geo_free(c);
}

static void test_horizontal_edges(void)
{
    /* A staircase: horizontal edges at y = 0, 1, 2, 3. */
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[3,0],[3,1],[2,1],"
        "[2,2],[1,2],[1,3],[0,3],[0,0]]]}");
    const struct pt_case c[] = {
        { 0.5, 1, 1 }, { 2.5, 1, 1 }, { 3, 1, 1 }, { 2, 1, 1 },
        { 3.5, 1, 0 }, { -0.5, 1, 0 },
        { 0.5, 2, 1 }, { 1.5, 2, 1 }, { 2, 2, 1 }, { 2.5, 2, 0 }, { 4, 2, 0 },
        { 0.5, 3, 1 }, { 1, 3, 1 },   { 1.5, 3, 0 }, { -1, 3, 0 },
        { 1.5, 0, 1 }, { 4, 0, 0 },   { -1, 0, 0 },
        { 2.5, 0.5, 1 }, { 2.5, 1.5, 0 }, { 1.5, 1.5, 1 }, { 1.5, 2.5, 0 },
    };
    check_points(mp, c, NCASES(c));
    geo_free(mp);
}

static void test_ray_through_vertex(void)
{
    /* A diamond: the ray to +x from (-0.5, 0) runs through vertex (1, 0). */
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":"
        "[[[0,-1],[1,0],[0,1],[-1,0],[0,-1]]]}");
    const struct pt_case c[] = {
        { -0.5, 0, 1 }, { 0, 0, 1 },    { 0.5, 0, 1 },  { -2, 0, 0 },
        { 2, 0, 0 },    { 1, 0, 1 },    { -1, 0, 1 },   { 0, 1, 1 },
        { 0, -1, 1 },   { 0, 2, 0 },    { 0.5, 0.5, 1 }, { 0.6, 0.6, 0 },
        { -2, 1, 0 },   { -2, -1, 0 },
    };
    check_points(mp, c, NCASES(c));
    geo_free(mp);

    /* A notch whose bottom vertex (2, 1) is a local minimum on the ray. */
    mp = parse_ok("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],"
                  "[3,4],[2,1],[1,4],[0,4],[0,0]]]}");
    {
        const struct pt_case d[] = {
            { 0.5, 1, 1 }, { 3.5, 1, 1 }, { 2, 1, 1 },   { 2, 2, 0 },
            { 2, 0.5, 1 }, { 5, 1, 0 },   { -1, 1, 0 },  { -1, 4, 0 },
            { 0.5, 4, 1 }, { 2, 4, 0 },   { 3.5, 4, 1 }, { 5, 4, 0 },
            { 1.5, 2.5, 1 }, { 2.5, 2.5, 1 }, /* on the notch's edges */
            { 1.7, 2.5, 0 }, { 2.3, 2.5, 0 }, { 3.5, 2.5, 1 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);

    /* A roof whose apex (2, 3) is a local maximum on the ray. */
    mp = parse_ok("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,2],"
                  "[2,3],[0,2],[0,0]]]}");
    {
        const struct pt_case d[] = {
            { 1, 3, 0 }, { 3, 3, 0 }, { 2, 3, 1 }, { -1, 3, 0 }, { 5, 3, 0 },
            { 2, 2.5, 1 }, { -1, 2, 0 }, { 1, 2, 1 }, { 4, 2, 1 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);
}

static void test_orientation_duplicates_degenerate(void)
{
    /* Clockwise shell, a hole wound the same way, a repeated vertex. */
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":["
        "[[0,0],[0,0],[0,10],[10,10],[10,10],[10,0],[0,0]],"
        "[[3,3],[3,7],[7,7],[7,3],[3,3]]]}");
    const struct pt_case c[] = {
        { 1, 1, 1 }, { 5, 5, 0 }, { 3, 5, 1 }, { 0, 0, 1 }, { 10, 10, 1 },
        { 0, 5, 1 }, { -1, 5, 0 }, { 11, 10, 0 },
    };
    check_points(mp, c, NCASES(c));
    CHECK_INT(geo_npoints(mp), 12); /* repeated positions still count */
    geo_free(mp);

    /* A self-intersecting pentagram: PostGIS uses the winding number, so the
     * centre (wound twice) is covered, where an even-odd rule would say no. */
    mp = parse_ok("{\"type\":\"Polygon\",\"coordinates\":[[[0,10],[5.9,-8.1],"
                  "[-9.5,3.1],[9.5,3.1],[-5.9,-8.1],[0,10]]]}");
    {
        const struct pt_case d[] = {
            { 0, 0, 1 }, { 0, 7, 1 }, { 7, 2, 1 }, { 7, 5, 0 }, { 0, -9, 0 },
            { 0, 3.1, 1 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);

    /* A ring collapsed to one point has no edge, so, as in PostGIS up to
     * 3.4, it covers nothing, not even that point (3.5 would cover it). */
    mp = parse_ok("{\"type\":\"Polygon\",\"coordinates\":"
                  "[[[1,1],[1,1],[1,1],[1,1]]]}");
    CHECK_INT(geo_covers(mp, 1, 1), 0);
    geo_free(mp);

    /* A bowtie: both lobes covered whatever their winding. */
    mp = parse_ok("{\"type\":\"Polygon\",\"coordinates\":"
                  "[[[0,0],[2,2],[2,0],[0,2],[0,0]]]}");
    {
        const struct pt_case d[] = {
            { 0.5, 1, 1 }, { 1.5, 1, 1 }, { 1, 1, 1 }, { 1, 0.5, 0 },
            { 1, 1.5, 0 },
        };
        check_points(mp, d, NCASES(d));
    }
    geo_free(mp);
}

static void test_nonfinite_queries(void)
{
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":"
        "[[[-180,-90],[180,-90],[180,90],[-180,90],[-180,-90]]]}");

    CHECK_INT(geo_covers(mp, 0, 0), 1);
    CHECK_INT(geo_covers(mp, -180, 90), 1);
    CHECK_INT(geo_covers(mp, (double)NAN, 0), 0);
    CHECK_INT(geo_covers(mp, 0, (double)NAN), 0);
    CHECK_INT(geo_covers(mp, (double)INFINITY, 0), 0);
    CHECK_INT(geo_covers(mp, 0, -(double)INFINITY), 0);
    CHECK_INT(geo_covers(mp, 1e300, 1e300), 0);
    CHECK_INT(geo_covers(NULL, 0, 0), 0);
    geo_free(mp);
    geo_free(NULL);
}

static void test_feature(void)
{
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Feature\",\"properties\":{\"district\":\"1\"},"
        "\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":"
        "[[[[-90.1,29.9],[-90.0,29.9],[-90.0,30.0],[-90.1,30.0],[-90.1,29.9]]]]}}");
    double bb[4];

    CHECK_INT(geo_covers(mp, -90.05, 29.95), 1);
    CHECK_INT(geo_covers(mp, -90.1, 29.95), 1);
    CHECK_INT(geo_covers(mp, -89.95, 29.95), 0);
    geo_bbox(mp, bb);
    CHECK(bb[0] == -90.1 && bb[1] == 29.9 && bb[2] == -90.0 && bb[3] == 30.0);
    geo_free(mp);

    mp = parse_ok("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
                  "\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}}");
    CHECK_INT(geo_covers(mp, 0.75, 0.25), 1);
    CHECK_INT(geo_covers(mp, 0.25, 0.75), 0);
    geo_free(mp);

    parse_fails("{\"type\":\"Feature\",\"geometry\":null}",
                "feature has no \"geometry\" object");
    parse_fails("{\"type\":\"Feature\"}", "feature has no \"geometry\" object");
    parse_fails("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
                "\"coordinates\":[0,0]}}",
                "geometry type must be \"Polygon\" or \"MultiPolygon\"");
    parse_fails("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Feature\","
                "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                "[[[0,0],[1,0],[1,1],[0,0]]]}}}",
                "geometry type must be \"Polygon\" or \"MultiPolygon\"");
    parse_fails("{\"type\":\"FeatureCollection\",\"features\":[]}",
                "geometry type must be \"Polygon\" or \"MultiPolygon\"");
}

static void test_positions(void)
{
    /* Extra ordinates are ignored; the limits themselves are accepted. */
    geo_multipolygon *mp = parse_ok(
        "{\"type\":\"Polygon\",\"coordinates\":[[[-180,-90,5],[180,-90,5,1],"
        "[180,90,\"z\"],[-180,-90,7]]]}");

    CHECK_INT(geo_npoints(mp), 4);
    CHECK_INT(geo_covers(mp, 0, -90), 1);
    CHECK_INT(geo_covers(mp, 0, 10), 0);
    geo_free(mp);
}

static void test_invalid(void)
{
    const char *sq = "[[0,0],[1,0],[1,1],[0,1],[0,0]]";
    char buf[512];

    parse_fails("[]", "geometry is not a JSON object");
    parse_fails("{\"coordinates\":[]}", "geometry has no \"type\" string");
    parse_fails("{\"type\":7,\"coordinates\":[]}",
                "geometry has no \"type\" string");
    parse_fails("{\"type\":\"Point\",\"coordinates\":[0,0]}",
                "geometry type must be \"Polygon\" or \"MultiPolygon\"");
    parse_fails("{\"type\":\"polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}",
                "geometry type must be \"Polygon\" or \"MultiPolygon\"");
    parse_fails("{\"type\":\"Polygon\"}", "geometry has no \"coordinates\" array");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":{}}",
                "geometry has no \"coordinates\" array");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[]}",
                "polygon 0 has no rings");
    parse_fails("{\"type\":\"MultiPolygon\",\"coordinates\":[]}",
                "multipolygon has no polygons");
    parse_fails("{\"type\":\"MultiPolygon\",\"coordinates\":[5]}",
                "polygon 0 is not an array of rings");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[5]}",
                "ring 0 of polygon 0 is not an array of positions");

    /* unclosed */
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}",
                "ring 0 of polygon 0 is not closed");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":"
                "[[[0,0],[1,0],[1,1],[0,1],[0,0.000001]]]}",
                "ring 0 of polygon 0 is not closed");
    snprintf(buf, sizeof buf,
             "{\"type\":\"MultiPolygon\",\"coordinates\":[[%s],[%s],[%s,"
             "[[0.1,0.1],[0.2,0.1],[0.2,0.2],[0.1,0.1]],"
             "[[0.3,0.3],[0.4,0.3],[0.4,0.4],[0.3,0.4]]]]}",
             sq, sq, sq);
    parse_fails(buf, "ring 2 of polygon 2 is not closed");

    /* too few positions */
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,0]]]}",
                "ring 0 of polygon 0 has 3 positions (need at least 4)");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[]]}",
                "ring 0 of polygon 0 has 0 positions (need at least 4)");

    /* out of range */
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,91],[0,0]]]}",
                "position 2 of ring 0 of polygon 0 has latitude outside [-90, 90]");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,-90.5],[0,0]]]}",
                "position 2 of ring 0 of polygon 0 has latitude outside [-90, 90]");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[-180.5,0],[1,1],[0,0]]]}",
                "position 1 of ring 0 of polygon 0 has longitude outside [-180, 180]");
    /* lat/lon swapped, a classic */
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":"
                "[[[29.9,-90.1],[29.9,-90.0],[30,-90.1],[29.9,-90.1]]]}",
                "position 0 of ring 0 of polygon 0 has latitude outside [-90, 90]");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1e400,0],[1,1],[0,0]]]}",
                "position 1 of ring 0 of polygon 0 is not finite");

    /* not numbers, not positions */
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":"
                "[[[\"0\",\"0\"],[1,0],[1,1],[0,0]]]}",
                "position 0 of ring 0 of polygon 0 is not an array of at least 2 numbers");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1],[1,1],[0,0]]]}",
                "position 1 of ring 0 of polygon 0 is not an array of at least 2 numbers");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,null],[1,1],[0,0]]]}",
                "position 1 of ring 0 of polygon 0 is not an array of at least 2 numbers");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],1,[1,1],[0,0]]]}",
                "position 1 of ring 0 of polygon 0 is not an array of at least 2 numbers");
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[0,0],[1,0],[1,1],[0,0]]}",
                "position 0 of ring 0 of polygon 0 is not an array of at least 2 numbers");
    /* Polygon coordinates under a MultiPolygon type: one level short */
    parse_fails("{\"type\":\"MultiPolygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}",
                "position 0 of ring 0 of polygon 0 is not an array of at least 2 numbers");
    /* MultiPolygon coordinates under a Polygon type: one level too deep */
    parse_fails("{\"type\":\"Polygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]]]}",
                "position 0 of ring 0 of polygon 0 is not an array of at least 2 numbers");
}

static void test_invalid_nan_and_errbuf(void)
{
    cJSON *g = cJSON_Parse("{\"type\":\"Polygon\",\"coordinates\":"
                           "[[[0,0],[1,0],[1,1],[0,0]]]}");
    cJSON *pos = g->child->next->child->child->next; /* position 1 */
    geo_multipolygon *mp = NULL;
    char err[8];

    /* NaN cannot be written in JSON but can be put into a cJSON tree. */
    pos->child->valuedouble = (double)NAN;
    CHECK_INT(geo_parse(g, &mp, err, sizeof err), -1);
    CHECK(mp == NULL);
    CHECK_STR(err, "positio"); /* truncated, NUL-terminated */
    CHECK_INT(geo_parse(g, &mp, NULL, 0), -1);
    CHECK(mp == NULL);
    CHECK_INT(geo_parse(NULL, &mp, err, sizeof err), -1);
    CHECK(mp == NULL);
    cJSON_Delete(g);
}

/* Exactly GEO_MAX_POSITIONS positions parse; one ring more does not.  The
 * 1000 rings share one list of positions through cJSON references, so the
 * test stays small. */
static void test_position_limit(void)
{
    cJSON *owner = cJSON_CreateArray(), *g = cJSON_CreateObject();
    cJSON *coords = cJSON_CreateArray(), *poly = cJSON_CreateArray();
    geo_multipolygon *mp = NULL;
    char err[160];

    for (int i = 0; i < 999; i++) { /* 999 points around a circle, closed */
        double p[2] = { 10 * cos(2 * M_PI * i / 999), 10 * sin(2 * M_PI * i / 999) };

        cJSON_AddItemToArray(owner, cJSON_CreateDoubleArray(p, 2));
    }
    {
        double p[2] = { 10, 0 };

        cJSON_AddItemToArray(owner, cJSON_CreateDoubleArray(p, 2));
    }
    cJSON_AddStringToObject(g, "type", "MultiPolygon");
    cJSON_AddItemToObject(g, "coordinates", coords);
    cJSON_AddItemToArray(coords, poly);
    for (int r = 0; r < 1000; r++)
        cJSON_AddItemToArray(poly, cJSON_CreateArrayReference(owner->child));
    CHECK_INT(GEO_MAX_POSITIONS, 1000000);
    CHECK_INT(geo_parse(g, &mp, err, sizeof err), 0);
    CHECK_INT(geo_npoints(mp), 1000000);
    /* 999 identical holes cover the shell's interior; the ring is covered */
    CHECK_INT(geo_covers(mp, 0, 0), 0);
    CHECK_INT(geo_covers(mp, 10, 0), 1);
    geo_free(mp);

    cJSON_AddItemToArray(poly, cJSON_Parse("[[0,0],[1,0],[1,1],[0,0]]"));
    CHECK_INT(geo_parse(g, &mp, err, sizeof err), -1);
    CHECK(mp == NULL);
    CHECK_STR(err, "too many positions (limit 1000000)");
    cJSON_Delete(g); /* leaves the referenced positions alone */
    cJSON_Delete(owner);
}

/* ---- randomized comparison with the reference --------------------------- */

static void test_random_concave(void)
{
    struct ref_ring rings[4];
    size_t first[3] = { 0, 2, 4 };
    struct ref_mpoly m = { rings, first, 2 };

    rng_state = 20240611;
    /* Polygon 0: a spiky 1500-vertex star near New Orleans with a 300-vertex
     * star-shaped hole (hole radius < shell's smallest, so it is inside). */
    rings[0] = make_star(-90.07, 29.97, 1500, 0.02, 0.1, 0);
    rings[1] = make_star(-90.07, 29.97, 300, 0.002, 0.015, 1);
    /* Polygon 1: another star, clockwise, with a hole wound the same way. */
    rings[2] = make_star(-89.80, 29.99, 800, 0.01, 0.08, 1);
    rings[3] = make_star(-89.80, 29.99, 100, 0.001, 0.009, 1);

    compare_with_reference(&m, 100000, 1e-6);
    for (size_t i = 0; i < 4; i++)
        free(rings[i].xy);
}

/*
 * A comb: 300 teeth, so about a thousand edges that each span 90% of the
 * latitude range.  One band per edge would list each tooth edge in most
 * bands, so the index must fall back to fewer bands; answers must not care.
 * Half the points are on a 1/16 grid, many exactly on edges and vertices.
 */
static void test_comb(void)
{
    const int teeth = 300;
    const double u = 0.25; /* tooth width in degrees: x stays in [0, 150] */
    struct ref_ring ring;
    size_t first[2] = { 0, 1 }, n = 0;
    struct ref_mpoly m = { &ring, first, 1 };

    ring.xy = malloc(2 * (size_t)(4 * teeth + 6) * sizeof *ring.xy);
#define PUT(x, y) (ring.xy[2 * n] = (x) * u, ring.xy[2 * n + 1] = (y), n++)
    PUT(0, 0);
    PUT(2 * teeth, 0);
    PUT(2 * teeth, 10);
    for (int k = teeth - 1; k >= 0; k--) {
        PUT(2 * k + 1.5, 10);
        PUT(2 * k + 1.5, 1);
        PUT(2 * k + 0.5, 1);
        PUT(2 * k + 0.5, 10);
    }
    PUT(0, 10);
    PUT(0, 0);
#undef PUT
    ring.n = n;

    rng_state = 7;
    compare_with_reference(&m, 20000, 0.0625);
    free(ring.xy);
}

UNIT_MAIN(UNIT(test_square), UNIT(test_concave), UNIT(test_hole),
          UNIT(test_multipolygon), UNIT(test_clone), UNIT(test_horizontal_edges),
          UNIT(test_ray_through_vertex),
          UNIT(test_orientation_duplicates_degenerate),
          UNIT(test_nonfinite_queries), UNIT(test_feature),
          UNIT(test_positions), UNIT(test_invalid),
          UNIT(test_invalid_nan_and_errbuf), UNIT(test_position_limit),
          UNIT(test_random_concave), UNIT(test_comb))
