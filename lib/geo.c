/*
 * geo.c -- GeoJSON (Multi)Polygon parsing and PostGIS-exact point-in-polygon.
 *
 * Parsing makes two passes over the cJSON tree.  The first validates and
 * counts, touching no memory of ours, so a bad or oversized geometry costs no
 * allocation; the second copies each ring and builds its index.
 *
 * Each ring keeps its vertices with consecutive duplicates dropped (PostGIS
 * ignores zero-length segments; dropping them up front is the same thing),
 * so edge k runs from vertex k to vertex k + 1.  The ring's latitude range is
 * cut into equal bands and every band lists the edges whose latitude span
 * meets it.  A query looks at the edges of one band: any edge it skips has a
 * latitude span that misses the point, and such an edge can neither hold the
 * point nor change the winding number, so skipping it changes no answer.
 * That needs the band of a latitude to be a monotone function of it, which
 * ring_band() is, and the build and the query to use that one function.
 *
 * The ring test itself is PostGIS's point_in_ring()
 * (postgis/lwgeom_functions_analytic.c), including its operand order, so both
 * round the same way.  We use its winding number rather than a crossing-number
 * parity because that is what PostGIS does; the two agree on every simple
 * ring and differ only on self-intersecting ones, where matching PostGIS is
 * the point.  (PostGIS's R-tree-cached variant, used from the second call in
 * one statement on, also ignores segments shorter than 1e-12 degrees; no real
 * boundary has those, and we follow the uncached variant.)
 */
#include "geo.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The side-of-segment expression must round like PostGIS's, so it must not be
 * fused into an FMA.  Clang fuses within an expression by default; this
 * pragma stops it.  GCC ignores (and warns about) the pragma, but does not
 * fuse under -std=c11, which is how CMake builds us; it would under -std=gnu11
 * on an FMA-capable target.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__GNUC__)
#define GEO_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GEO_PRINTF(f, a)
#endif

/*
 * One ring and its band index.  xy holds npts vertices (x0, y0, x1, y1, ...),
 * closed (last == first) and without consecutive duplicates, so there are
 * npts - 1 edges, none of zero length.  Band b covers latitudes whose
 * ring_band() is b; its edges are band_edge[band_off[b] .. band_off[b + 1]),
 * each an edge number k in ascending order.
 */
typedef struct geo_ring {
    double xmin, ymin, xmax, ymax; /* bounding box of the vertices */
    double band_scale;             /* nbands / (ymax - ymin); 0 for one band */
    double *xy;                    /* 2 * npts doubles */
    uint32_t npts;                 /* vertices, closing vertex included */
    uint32_t nbands;               /* >= 1 */
    uint32_t *band_off;            /* nbands + 1 offsets into band_edge */
    uint32_t *band_edge;           /* edge numbers, grouped by band */
} geo_ring;

/* rings[ring0] is the shell, the next nrings - 1 are its holes. */
typedef struct geo_polygon {
    size_t ring0;
    size_t nrings;
} geo_polygon;

struct geo_multipolygon {
    double bbox[4];       /* minlon, minlat, maxlon, maxlat of all positions */
    size_t npoints;       /* positions as parsed */
    size_t npolys;
    size_t nrings;
    geo_polygon *polys;   /* npolys */
    geo_ring *rings;      /* nrings, polygon by polygon */
};

/* What the validating pass learns about the geometry. */
typedef struct geo_counts {
    size_t npolys;
    size_t nrings;
    size_t npoints;
    size_t maxring; /* positions in the longest ring */
} geo_counts;

/*
 * A band's edges are listed once per band they span, so long edges over many
 * narrow bands could blow up the index (think of a comb).  Halve the band count
 * until the entries stay within this many per edge.
 */
#define GEO_BAND_ENTRIES_PER_EDGE 4

GEO_PRINTF(3, 4)
static void geo_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/*
 * Read one position into xy[0] (lon), xy[1] (lat).  Returns NULL when it is
 * acceptable, else the tail of an error message.
 */
static const char *read_position(const cJSON *pos, double xy[2])
{
    const cJSON *lon, *lat;

    if (!cJSON_IsArray(pos))
        return "is not an array of at least 2 numbers";
    lon = pos->child;
    lat = lon ? lon->next : NULL;
    if (!cJSON_IsNumber(lon) || !cJSON_IsNumber(lat))
        return "is not an array of at least 2 numbers";
    xy[0] = lon->valuedouble;
    xy[1] = lat->valuedouble;
    if (!isfinite(xy[0]) || !isfinite(xy[1]))
        return "is not finite";
    if (xy[0] < -180.0 || xy[0] > 180.0)
        return "has longitude outside [-180, 180]";
    if (xy[1] < -90.0 || xy[1] > 90.0)
        return "has latitude outside [-90, 90]";
    return NULL;
}

/* First pass over one polygon (an array of rings): validate and count. */
static int check_polygon(const cJSON *poly, size_t pi, geo_counts *c,
                         char *err, size_t errlen)
{
    const cJSON *ring, *pos;
    size_t ri = 0;

    if (!cJSON_IsArray(poly)) {
        geo_errf(err, errlen, "polygon %zu is not an array of rings", pi);
        return -1;
    }
    if (poly->child == NULL) {
        geo_errf(err, errlen, "polygon %zu has no rings", pi);
        return -1;
    }
    cJSON_ArrayForEach(ring, poly) {
        double first[2] = { 0, 0 }, last[2] = { 0, 0 };
        size_t n = 0;

        if (!cJSON_IsArray(ring)) {
            geo_errf(err, errlen,
                     "ring %zu of polygon %zu is not an array of positions",
                     ri, pi);
            return -1;
        }
        cJSON_ArrayForEach(pos, ring) {
            const char *why;

            if (++c->npoints > GEO_MAX_POSITIONS) {
                geo_errf(err, errlen, "too many positions (limit %d)",
                         GEO_MAX_POSITIONS);
                return -1;
            }
            why = read_position(pos, last);
            if (why != NULL) {
                geo_errf(err, errlen, "position %zu of ring %zu of polygon %zu %s",
                         n, ri, pi, why);
                return -1;
            }
            if (n == 0) {
                first[0] = last[0];
                first[1] = last[1];
            }
            n++;
        }
        if (n < 4) {
            geo_errf(err, errlen,
                     "ring %zu of polygon %zu has %zu positions (need at least 4)",
                     ri, pi, n);
            return -1;
        }
        if (first[0] != last[0] || first[1] != last[1]) {
            geo_errf(err, errlen, "ring %zu of polygon %zu is not closed", ri, pi);
            return -1;
        }
        if (n > c->maxring)
            c->maxring = n;
        c->nrings++;
        ri++;
    }
    c->npolys++;
    return 0;
}

/*
 * The band of latitude y.  Monotone non-decreasing in y (a subtraction, a
 * product with a non-negative constant and a truncation, each monotone under
 * rounding), which is what makes the band index exact: an edge spanning
 * [lo, hi] is listed in bands ring_band(lo) .. ring_band(hi), and any y in
 * [lo, hi] falls in one of them.
 */
static uint32_t ring_band(const geo_ring *r, double y)
{
    double t = (y - r->ymin) * r->band_scale;

    if (!(t > 0.0))
        return 0;
    if (t >= (double)r->nbands)
        return r->nbands - 1;
    return (uint32_t)t;
}

static void edge_bands(const geo_ring *r, uint32_t k, uint32_t *b0, uint32_t *b1)
{
    double ay = r->xy[2 * k + 1], by = r->xy[2 * k + 3];

    *b0 = ring_band(r, ay < by ? ay : by);
    *b1 = ring_band(r, ay < by ? by : ay);
}

/* Build the band index of r, whose xy, npts and bounding box are set. */
static int ring_index(geo_ring *r)
{
    uint32_t ne = r->npts - 1, nb, k, b, b0, b1;
    double height = r->ymax - r->ymin;
    uint64_t total;

    /* About one band per edge: a band then holds the few edges that cross
     * its latitude plus one or two that end in it. */
    nb = ne > 1 ? ne : 1;
    for (;;) {
        r->nbands = nb;
        r->band_scale = nb > 1 ? (double)nb / height : 0.0;
        if (!(r->band_scale > 0.0) || !isfinite(r->band_scale)) {
            r->nbands = nb = 1; /* flat or degenerate ring */
            r->band_scale = 0.0;
        }
        total = 0;
        for (k = 0; k < ne; k++) {
            edge_bands(r, k, &b0, &b1);
            total += (uint64_t)(b1 - b0) + 1;
        }
        if (nb == 1 || total <= (uint64_t)GEO_BAND_ENTRIES_PER_EDGE * ne)
            break;
        nb /= 2;
    }

    r->band_off = calloc((size_t)nb + 1, sizeof *r->band_off);
    r->band_edge = malloc((size_t)(total ? total : 1) * sizeof *r->band_edge);
    if (r->band_off == NULL || r->band_edge == NULL)
        return -1;

    /* Counting sort: count, turn counts into band ends, then fill each band
     * from its end walking the edges backwards, which leaves band_off[b] at
     * the band's start and each band in ascending edge order. */
    for (k = 0; k < ne; k++) {
        edge_bands(r, k, &b0, &b1);
        for (b = b0; b <= b1; b++)
            r->band_off[b]++;
    }
    for (b = 0, total = 0; b < nb; b++) {
        total += r->band_off[b];
        r->band_off[b] = (uint32_t)total;
    }
    r->band_off[nb] = (uint32_t)total;
    for (k = ne; k-- > 0;) {
        edge_bands(r, k, &b0, &b1);
        for (b = b0; b <= b1; b++)
            r->band_edge[--r->band_off[b]] = k;
    }
    return 0;
}

/* Second pass over one ring, already validated: copy, then index. */
static int build_ring(geo_ring *r, const cJSON *ring)
{
    const cJSON *pos;
    size_t n = 0, cap = 0;

    cJSON_ArrayForEach(pos, ring)
        cap++;
    r->xy = malloc(2 * cap * sizeof *r->xy);
    if (r->xy == NULL)
        return -1;
    cJSON_ArrayForEach(pos, ring) {
        double p[2] = {0, 0};

        (void)read_position(pos, p); /* validated by check_polygon() */
        if (n > 0 && p[0] == r->xy[2 * n - 2] && p[1] == r->xy[2 * n - 1])
            continue;
        r->xy[2 * n] = p[0];
        r->xy[2 * n + 1] = p[1];
        if (n == 0) {
            r->xmin = r->xmax = p[0];
            r->ymin = r->ymax = p[1];
        } else {
            r->xmin = p[0] < r->xmin ? p[0] : r->xmin;
            r->xmax = p[0] > r->xmax ? p[0] : r->xmax;
            r->ymin = p[1] < r->ymin ? p[1] : r->ymin;
            r->ymax = p[1] > r->ymax ? p[1] : r->ymax;
        }
        n++;
    }
    r->npts = (uint32_t)n;
    return ring_index(r);
}

static int build_polygon(geo_multipolygon *mp, const cJSON *poly)
{
    geo_polygon *p = &mp->polys[mp->npolys];
    const cJSON *ring;

    p->ring0 = mp->nrings;
    p->nrings = 0;
    mp->npolys++;
    cJSON_ArrayForEach(ring, poly) {
        if (build_ring(&mp->rings[mp->nrings++], ring) != 0)
            return -1;
        p->nrings++;
    }
    return 0;
}

int geo_parse(const cJSON *geometry, geo_multipolygon **out, char *err,
              size_t errlen)
{
    const cJSON *type, *coords, *poly;
    geo_multipolygon *mp = NULL;
    geo_counts c = { 0, 0, 0, 0 };
    int multi;
    size_t i, pi = 0;

    *out = NULL;
    if (errlen > 0 && err != NULL)
        err[0] = '\0';

    if (!cJSON_IsObject(geometry)) {
        geo_errf(err, errlen, "geometry is not a JSON object");
        return -1;
    }
    type = cJSON_GetObjectItemCaseSensitive(geometry, "type");
    if (!cJSON_IsString(type)) {
        geo_errf(err, errlen, "geometry has no \"type\" string");
        return -1;
    }
    if (strcmp(type->valuestring, "Feature") == 0) {
        geometry = cJSON_GetObjectItemCaseSensitive(geometry, "geometry");
        if (!cJSON_IsObject(geometry)) {
            geo_errf(err, errlen, "feature has no \"geometry\" object");
            return -1;
        }
        type = cJSON_GetObjectItemCaseSensitive(geometry, "type");
        if (!cJSON_IsString(type)) {
            geo_errf(err, errlen, "geometry has no \"type\" string");
            return -1;
        }
    }
    if (strcmp(type->valuestring, "Polygon") == 0) {
        multi = 0;
    } else if (strcmp(type->valuestring, "MultiPolygon") == 0) {
        multi = 1;
    } else {
        /* The type is not echoed: it is untrusted input bound for logs. */
        geo_errf(err, errlen,
                 "geometry type must be \"Polygon\" or \"MultiPolygon\"");
        return -1;
    }
    coords = cJSON_GetObjectItemCaseSensitive(geometry, "coordinates");
    if (!cJSON_IsArray(coords)) {
        geo_errf(err, errlen, "geometry has no \"coordinates\" array");
        return -1;
    }

    /* Pass 1: validate and count. */
    if (multi) {
        if (coords->child == NULL) {
            geo_errf(err, errlen, "multipolygon has no polygons");
            return -1;
        }
        cJSON_ArrayForEach(poly, coords) {
            if (check_polygon(poly, pi++, &c, err, errlen) != 0)
                return -1;
        }
    } else if (check_polygon(coords, 0, &c, err, errlen) != 0) {
        return -1;
    }

    /* Pass 2: copy and index.  calloc, so geo_free() copes with a partial
     * build. */
    mp = calloc(1, sizeof *mp);
    if (mp == NULL)
        goto oom;
    mp->polys = calloc(c.npolys, sizeof *mp->polys);
    mp->rings = calloc(c.nrings, sizeof *mp->rings);
    if (mp->polys == NULL || mp->rings == NULL)
        goto oom;
    if (multi) {
        cJSON_ArrayForEach(poly, coords) {
            if (build_polygon(mp, poly) != 0)
                goto oom;
        }
    } else if (build_polygon(mp, coords) != 0) {
        goto oom;
    }
    mp->npoints = c.npoints;
    mp->bbox[0] = mp->rings[0].xmin;
    mp->bbox[1] = mp->rings[0].ymin;
    mp->bbox[2] = mp->rings[0].xmax;
    mp->bbox[3] = mp->rings[0].ymax;
    for (i = 1; i < mp->nrings; i++) {
        const geo_ring *r = &mp->rings[i];

        mp->bbox[0] = r->xmin < mp->bbox[0] ? r->xmin : mp->bbox[0];
        mp->bbox[1] = r->ymin < mp->bbox[1] ? r->ymin : mp->bbox[1];
        mp->bbox[2] = r->xmax > mp->bbox[2] ? r->xmax : mp->bbox[2];
        mp->bbox[3] = r->ymax > mp->bbox[3] ? r->ymax : mp->bbox[3];
    }
    *out = mp;
    return 0;

oom:
    geo_free(mp);
    geo_errf(err, errlen, "out of memory");
    return -1;
}

/* A copy of n bytes of p (NULL when p is NULL or out of memory). */
static void *dup_bytes(const void *p, size_t n)
{
    void *c = p ? malloc(n ? n : 1) : NULL;
    if (c)
        memcpy(c, p, n);
    return c;
}

geo_multipolygon *geo_clone(const geo_multipolygon *mp)
{
    if (mp == NULL)
        return NULL;
    geo_multipolygon *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    *c = *mp;
    c->polys = dup_bytes(mp->polys, mp->npolys * sizeof *mp->polys);
    c->rings = calloc(mp->nrings ? mp->nrings : 1, sizeof *c->rings);
    if (c->polys == NULL || c->rings == NULL) {
        c->nrings = 0;
        geo_free(c);
        return NULL;
    }
    for (size_t i = 0; i < mp->nrings; i++) {
        const geo_ring *r = &mp->rings[i];
        geo_ring *d = &c->rings[i];
        *d = *r;
        d->xy = dup_bytes(r->xy, 2 * (size_t)r->npts * sizeof *r->xy);
        d->band_off = dup_bytes(r->band_off, ((size_t)r->nbands + 1) * sizeof *r->band_off);
        d->band_edge = dup_bytes(r->band_edge,
                                 (size_t)r->band_off[r->nbands] * sizeof *r->band_edge);
        if (d->xy == NULL || d->band_off == NULL || d->band_edge == NULL) {
            geo_free(c); /* rings past i are zeroed: free(NULL) */
            return NULL;
        }
    }
    return c;
}

void geo_free(geo_multipolygon *mp)
{
    size_t i;

    if (mp == NULL)
        return;
    if (mp->rings != NULL) {
        /* A partial build leaves later rings zeroed: free(NULL) is fine. */
        for (i = 0; i < mp->nrings; i++) {
            free(mp->rings[i].xy);
            free(mp->rings[i].band_off);
            free(mp->rings[i].band_edge);
        }
    }
    free(mp->rings);
    free(mp->polys);
    free(mp);
}

/*
 * PostGIS's point_in_ring(): -1 outside, 0 on the ring, 1 inside.  The caller
 * has checked that (px, py) is finite.
 *
 * The bounding-box rejection is exact, not a heuristic: for px right of every
 * vertex, rounding is monotone, so the side expression of a rising edge is
 * <= 0 and of a falling edge >= 0 and no edge counts; the same holds on the
 * left, and a latitude outside the ring meets no edge's span.
 */
static int ring_locate(const geo_ring *r, double px, double py)
{
    const double *xy = r->xy;
    uint32_t b, i, end;
    int wn = 0;

    if (!(px >= r->xmin && px <= r->xmax && py >= r->ymin && py <= r->ymax))
        return -1;
    b = ring_band(r, py);
    end = r->band_off[b + 1];
    for (i = r->band_off[b]; i < end; i++) {
        const double *e = xy + 2 * (size_t)r->band_edge[i];
        double ax = e[0], ay = e[1], bx = e[2], by = e[3], side;

        /* Edges sharing the band but not this latitude: nothing to do. */
        if ((py < ay && py < by) || (py > ay && py > by))
            continue;
        /* determineSide() of PostGIS, same operands, same order. */
        side = (bx - ax) * (py - ay) - (px - ax) * (by - ay);
        if (side == 0.0 && px >= (ax < bx ? ax : bx) &&
            px <= (ax < bx ? bx : ax))
            return 0;
        if (ay <= py && py < by && side > 0)
            wn++;
        else if (by <= py && py < ay && side < 0)
            wn--;
    }
    return wn == 0 ? -1 : 1;
}

int geo_covers(const geo_multipolygon *mp, double lon, double lat)
{
    size_t p, h;

    if (mp == NULL)
        return 0;
    /* Also rejects NaN, which must never reach ring_band(). */
    if (!(lon >= mp->bbox[0] && lon <= mp->bbox[2] && lat >= mp->bbox[1] &&
          lat <= mp->bbox[3]))
        return 0;
    /* PostGIS's point_in_multipolygon(): the first polygon whose shell holds
     * the point decides, unless a hole takes the point out of it; a point on
     * any ring examined is on the boundary, hence covered. */
    for (p = 0; p < mp->npolys; p++) {
        const geo_ring *ring = &mp->rings[mp->polys[p].ring0];
        int where = ring_locate(ring, lon, lat), in_hole = 0;

        if (where < 0)
            continue;
        if (where == 0)
            return 1;
        for (h = 1; h < mp->polys[p].nrings; h++) {
            where = ring_locate(ring + h, lon, lat);
            if (where == 0)
                return 1;
            if (where > 0) {
                in_hole = 1;
                break;
            }
        }
        if (!in_hole)
            return 1;
    }
    return 0;
}

void geo_bbox(const geo_multipolygon *mp, double out[4])
{
    if (mp == NULL) {
        out[0] = out[1] = out[2] = out[3] = 0.0;
        return;
    }
    memcpy(out, mp->bbox, sizeof mp->bbox);
}

size_t geo_npoints(const geo_multipolygon *mp)
{
    return mp ? mp->npoints : 0;
}

size_t geo_npolygons(const geo_multipolygon *mp)
{
    return mp ? mp->npolys : 0;
}
