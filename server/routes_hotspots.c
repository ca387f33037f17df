/*
 * routes_hotspots.c -- GET /v1/hotspots (API.md "Hotspots"), from memory.
 *
 * The study area is every cell whose centre lies inside the chosen
 * precincts (or the bbox); its cell lists are computed once per precinct,
 * cell size and boundary version, and kept. Counts come from the grid
 * store (lib/spatial.h) for whole local days; Gi* and its classes from
 * lib/hotspot.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "app.h"
#include "cellindex.h"
#include "filters.h"
#include "hotspot.h"
#include "rfc3339.h"
#include "sbuf.h"
#include "strmap.h"

#define MAX_STUDY_CELLS 4000000

struct area {
    int32_t *xy; /* cx, cy pairs */
    size_t n;
};

static strmap *areas; /* "precinct:k:version" -> struct area */
static strmap *wholes; /* study-area key -> struct whole (below) */
static int nwholes;
static void free_whole(const char *key, void *value, void *arg);

static void free_area(const char *key, void *value, void *arg)
{
    struct area *a = value;
    free(a->xy);
    free(a);
}

void hotspots_free(void)
{
    if (wholes) {
        strmap_foreach(wholes, free_whole, NULL);
        strmap_free(wholes);
        wholes = NULL;
        nwholes = 0;
    }
    if (areas) {
        strmap_foreach(areas, free_area, NULL);
        strmap_free(areas);
        areas = NULL;
    }
}

/* The cells of size k whose centre lies inside precinct p (cached). */
static const struct area *precinct_area(const grid *g, const ref_precinct *p, int32_t k)
{
    char key[64];
    snprintf(key, sizeof key, "%d:%d:%u", p->id, k, p->version);
    if (areas == NULL && (areas = strmap_new()) == NULL)
        return NULL;
    struct area *a = strmap_get(areas, key);
    if (a)
        return a;
    if ((a = calloc(1, sizeof *a)) == NULL)
        return NULL;
    if (p->boundary) {
        int32_t x0, y0, x1, y1;
        grid_cell(g, p->bbox[0], p->bbox[1], &x0, &y0);
        grid_cell(g, p->bbox[2], p->bbox[3], &x1, &y1);
        x0 = grid_coarse(x0, k);
        y0 = grid_coarse(y0, k);
        x1 = grid_coarse(x1, k);
        y1 = grid_coarse(y1, k);
        size_t cap = 0;
        for (int32_t cy = y0; cy <= y1; cy++) {
            for (int32_t cx = x0; cx <= x1; cx++) {
                double lon, lat;
                grid_center(g, cx, cy, k, &lon, &lat);
                if (!geo_covers(p->boundary, lon, lat))
                    continue;
                if (a->n == cap) {
                    cap = cap ? cap * 2 : 1024;
                    int32_t *nx = realloc(a->xy, cap * 2 * sizeof *nx);
                    if (nx == NULL) {
                        free(a->xy);
                        free(a);
                        return NULL;
                    }
                    a->xy = nx;
                }
                a->xy[2 * a->n] = cx;
                a->xy[2 * a->n + 1] = cy;
                a->n++;
            }
        }
    }
    if (strmap_put(areas, key, a) != 0) {
        free(a->xy);
        free(a);
        return NULL;
    }
    return a;
}

/* A day bound: a local date, or an instant at local midnight. */
static int day_bound(http_req *r, const char *name, const tz_zone *zone, int64_t *day)
{
    const char *v = qs_get(&r->query, name);
    int y, m, d;
    int64_t t;
    if (v == NULL)
        return 0;
    if (rfc3339_parse_date(v, &y, &m, &d) == 0) {
        *day = rfc3339_days_from_civil(y, m, d);
        return 0;
    }
    if (rfc3339_parse(v, &t) == 0) {
        int64_t local = tz_local(zone, t);
        if (local % 86400 == 0) {
            *day = local / 86400;
            return 0;
        }
    }
    http_reply_error(r, 422, "invalid_field", name,
                     "%s must be a date YYYY-MM-DD or a local midnight (hotspots count whole "
                     "days)",
                     name);
    return -1;
}

/* A whole study area: its cells (counts 0) and their index. Cached. */
struct whole {
    hs_cell *cells;
    size_t n;
    cellindex map;
};

#define WHOLE_CACHE_MAX 8 /* at 100,000 cells an entry holds about 6 MB */

static void free_whole(const char *key, void *value, void *arg)
{
    struct whole *w = value;
    free(w->cells);
    cellindex_free(&w->map);
    free(w);
}

static const struct whole *whole_area_get(const char *key)
{
    return wholes ? strmap_get(wholes, key) : NULL;
}

/*
 * Build the study area -- cells whose centre lies in the bbox (when given)
 * or in the precincts of pmask -- index it and cache it under key.
 * Returns 0, -1 out of memory, or -2 after answering 422 (too large).
 */
static int build_whole(http_req *r, const grid *g, int32_t k, const double *bbox,
                       const uint8_t *pmask, int32_t np, const char *key,
                       const struct whole **out)
{
    struct whole *w = calloc(1, sizeof *w);
    size_t cap = 0, n = 0;
    if (w == NULL)
        return -1;
    if (bbox) {
        int32_t x0, y0, x1, y1;
        grid_cell(g, bbox[0], bbox[1], &x0, &y0);
        grid_cell(g, bbox[2], bbox[3], &x1, &y1);
        x0 = grid_coarse(x0, k);
        y0 = grid_coarse(y0, k);
        x1 = grid_coarse(x1, k);
        y1 = grid_coarse(y1, k);
        if ((double)(x1 - x0 + 1) * (double)(y1 - y0 + 1) > MAX_STUDY_CELLS) {
            free(w);
            http_reply_error(r, 422, "invalid_field", "bbox",
                             "the study area has more than %d cells: use a larger cell_m",
                             MAX_STUDY_CELLS);
            return -2;
        }
        cap = (size_t)(x1 - x0 + 1) * (size_t)(y1 - y0 + 1);
        if ((w->cells = malloc(cap * sizeof *w->cells)) == NULL)
            goto oom;
        for (int32_t cy = y0; cy <= y1; cy++) {
            for (int32_t cx = x0; cx <= x1; cx++) {
                double lon, lat;
                grid_center(g, cx, cy, k, &lon, &lat);
                if (lon < bbox[0] || lon > bbox[2] || lat < bbox[1] || lat > bbox[3])
                    continue;
                w->cells[n].ix = cx;
                w->cells[n].iy = cy;
                n++;
            }
        }
    } else {
        for (int32_t id = 1; id < np; id++) {
            if (!pmask[id])
                continue;
            const struct area *a = precinct_area(g, ref_precinct_by_id(app.ref, id), k);
            if (a == NULL)
                goto oom;
            cap += a->n;
        }
        if (cap > MAX_STUDY_CELLS) {
            free(w);
            http_reply_error(r, 422, "invalid_field", "cell_m",
                             "the study area has more than %d cells: use a larger cell_m",
                             MAX_STUDY_CELLS);
            return -2;
        }
        if ((w->cells = malloc((cap ? cap : 1) * sizeof *w->cells)) == NULL)
            goto oom;
        for (int32_t id = 1; id < np; id++) {
            if (!pmask[id])
                continue;
            const struct area *a = precinct_area(g, ref_precinct_by_id(app.ref, id), k);
            for (size_t i = 0; a && i < a->n; i++) {
                w->cells[n].ix = a->xy[2 * i];
                w->cells[n].iy = a->xy[2 * i + 1];
                n++;
            }
        }
    }
    /* Index it, dropping a cell that a shared edge put in twice. */
    if (cellindex_init(&w->map, n) != 0)
        goto oom;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t *slot = cellindex_slot(&w->map, w->cells[i].ix, w->cells[i].iy);
        if (*slot)
            continue;
        w->cells[kept] = w->cells[i];
        w->cells[kept].x = 0;
        w->cells[kept].z = w->cells[kept].p = 0;
        w->cells[kept].cls = 0;
        *slot = (uint32_t)(++kept);
    }
    w->n = kept;
    if (wholes == NULL && (wholes = strmap_new()) == NULL)
        goto oom;
    if (nwholes >= WHOLE_CACHE_MAX) { /* a simple bound: start the cache afresh */
        strmap_foreach(wholes, free_whole, NULL);
        strmap_clear(wholes);
        nwholes = 0;
    }
    if (strmap_put(wholes, key, w) != 0)
        goto oom;
    nwholes++;
    *out = w;
    return 0;
oom:
    free_whole(NULL, w, NULL);
    return -1;
}

void h_hotspots(http_req *r)
{
    static const char *const allowed[] = {"from",   "to",     "precinct",      "bbox", "offense",
                                          "category", "cell_m", "method", "include_empty",
                                          "fdr",    "limit",  NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    int agency = r->who.agency_id;
    const tz_zone *zone = zone_of_agency(agency);
    const sp_store *st = analytics_spatial();
    const grid *g = st ? sp_grid(st, agency) : NULL;
    const char *v;

    int gi = 1, include_empty = 0, fdr = 0;
    long limit = -1;
    if ((v = qs_get(&r->query, "method")) != NULL) {
        if (strcmp(v, "count") == 0)
            gi = 0;
        else if (strcmp(v, "gi") != 0) {
            http_reply_error(r, 422, "invalid_field", "method", "method must be gi or count");
            return;
        }
    }
    if ((v = qs_get(&r->query, "include_empty")) != NULL) {
        if (strcmp(v, "true") && strcmp(v, "false")) {
            http_reply_error(r, 422, "invalid_field", "include_empty", "true or false");
            return;
        }
        include_empty = strcmp(v, "true") == 0;
    }
    if ((v = qs_get(&r->query, "fdr")) != NULL) {
        if (strcmp(v, "true") && strcmp(v, "false")) {
            http_reply_error(r, 422, "invalid_field", "fdr", "true or false");
            return;
        }
        fdr = strcmp(v, "true") == 0;
    }
    if ((v = qs_get(&r->query, "limit")) != NULL) {
        char *end;
        limit = strtol(v, &end, 10);
        if (*end || end == v || limit < 1 || limit > 1000000) {
            http_reply_error(r, 422, "invalid_field", "limit", "limit must be from 1 to 1000000");
            return;
        }
    }
    long base = app.cfg.grid_base_m, cell_m = base;
    if ((v = qs_get(&r->query, "cell_m")) != NULL) {
        char *end;
        cell_m = strtol(v, &end, 10);
        if (*end || end == v || cell_m < base || cell_m % base != 0 || cell_m > base * 1000) {
            http_reply_error(r, 422, "invalid_field", "cell_m",
                             "cell_m must be a multiple of the base cell (%ld m)", base);
            return;
        }
    }
    int32_t k = (int32_t)(cell_m / base);
    sp_question q;
    memset(&q, 0, sizeof q);
    q.agency = agency;
    q.k = k;
    q.day_from = INT64_MIN;
    q.day_to = INT64_MAX;
    if (day_bound(r, "from", zone, &q.day_from) || day_bound(r, "to", zone, &q.day_to))
        return;
    const char *pv = qs_get(&r->query, "precinct"), *bv = qs_get(&r->query, "bbox");
    if (pv && bv) {
        http_reply_error(r, 422, "invalid_field", "bbox", "give precinct or bbox, not both");
        return;
    }
    double bbox[4];
    if (bv && filter_bbox(r, "bbox", bv, 0, bbox) != 0)
        return;

    /* Precincts: chosen (or all the token sees), as a mask for the counts. */
    int32_t np = ref_precinct_max(app.ref) + 1, no = ref_offense_max(app.ref) + 1;
    uint8_t *pmask = calloc((size_t)np, 1), *omask = NULL, *cmask = NULL;
    hs_cell *cells = NULL;
    sp_cell *counts = NULL;
    size_t ncounts = 0, ncells = 0;
    sbuf b;
    sbuf_init(&b);
    if (pmask == NULL)
        goto oom;
    if (pv) {
        if (filter_precincts(r, "precinct", pv, pmask, np) != 0)
            goto out;
    } else {
        for (int32_t id = 1; id < np; id++) {
            const ref_precinct *p = ref_precinct_by_id(app.ref, id);
            if (p && p->agency_id == agency && principal_allows(&r->who, p->code))
                pmask[id] = 1;
        }
        if (bv && r->who.nprecincts < 0)
            pmask[0] = 1; /* a bbox of an unscoped token counts the unassigned too */
    }
    q.precincts = pmask;
    q.nprecincts = np;
    const char *ov = qs_get(&r->query, "offense"), *cv = qs_get(&r->query, "category");
    if (ov || cv) {
        omask = calloc((size_t)no, 1);
        cmask = calloc((size_t)no, 1);
        if (omask == NULL || cmask == NULL)
            goto oom;
        if ((ov && filter_offenses(r, "offense", ov, omask, no) != 0) ||
            (cv && filter_categories(r, "category", cv, cmask, no) != 0))
            goto out;
        for (int32_t id = 0; id < no; id++)
            omask[id] = (uint8_t)((ov ? omask[id] : 1) && (cv ? cmask[id] : 1));
        q.offenses = omask;
        q.noffenses = no;
    }

    /* The study area. Counting without empty cells needs only the counted
       cells that lie in it (a centre test each), not the whole area. */
    int whole_area = gi || include_empty;
    if (g != NULL && !whole_area) {
        if (sp_count(st, &q, &counts, &ncounts) != 0 ||
            (cells = malloc((ncounts ? ncounts : 1) * sizeof *cells)) == NULL)
            goto oom;
        for (size_t i = 0; i < ncounts; i++) {
            double lon, lat;
            int in = 0;
            grid_center(g, counts[i].cx, counts[i].cy, k, &lon, &lat);
            if (bv) {
                in = lon >= bbox[0] && lon <= bbox[2] && lat >= bbox[1] && lat <= bbox[3];
            } else {
                for (int32_t id = 1; id < np && !in; id++) {
                    const ref_precinct *p = pmask[id] ? ref_precinct_by_id(app.ref, id) : NULL;
                    in = p && p->boundary && lon >= p->bbox[0] && lon <= p->bbox[2] &&
                         lat >= p->bbox[1] && lat <= p->bbox[3] &&
                         geo_covers(p->boundary, lon, lat);
                }
            }
            if (in) {
                cells[ncells].ix = counts[i].cx;
                cells[ncells].iy = counts[i].cy;
                cells[ncells].x = (double)counts[i].count;
                ncells++;
            }
        }
    } else if (g != NULL) {
        /* The whole study area, from the cache when the same area was asked
           before (the same bbox, or the same precincts at the same versions). */
        sbuf key;
        sbuf_init(&key);
        sbuf_printf(&key, "%d:%d:%.17g:%.17g:", agency, k, g->lat0, g->lon0);
        if (bv) {
            sbuf_printf(&key, "b%.17g,%.17g,%.17g,%.17g", bbox[0], bbox[1], bbox[2], bbox[3]);
        } else {
            for (int32_t id = 1; id < np; id++)
                if (pmask[id])
                    sbuf_printf(&key, "p%d.%u", id, ref_precinct_by_id(app.ref, id)->version);
        }
        const struct whole *wa = sbuf_failed(&key) ? NULL : whole_area_get(sbuf_str(&key));
        if (wa == NULL) {
            int rc = build_whole(r, g, k, bv ? bbox : NULL, pmask, np, sbuf_str(&key), &wa);
            if (rc != 0) {
                sbuf_free(&key);
                if (rc == -2)
                    goto out; /* answered (area too large) */
                goto oom;
            }
        }
        sbuf_free(&key);
        ncells = wa->n;
        if ((cells = malloc((ncells ? ncells : 1) * sizeof *cells)) == NULL)
            goto oom;
        memcpy(cells, wa->cells, ncells * sizeof *cells);
        if (sp_count(st, &q, &counts, &ncounts) != 0)
            goto oom;
        for (size_t i = 0; i < ncounts; i++) {
            uint32_t at = cellindex_find(&wa->map, counts[i].cx, counts[i].cy);
            if (at) /* else outside the study area: not counted */
                cells[at - 1].x = (double)counts[i].count;
        }
    }

    if (gi && ncells > 0) {
        if (hs_gistar(cells, ncells) != 0 || (fdr && hs_fdr(cells, ncells) != 0))
            goto oom;
    }
    /* Keep what is shown, then order only that (and only the first
       `limit` of it). */
    size_t nkept = 0;
    for (size_t i = 0; i < ncells; i++)
        if (include_empty || cells[i].x > 0 || (gi && fabs(cells[i].z) >= 1.645))
            cells[nkept++] = cells[i];
    if (limit > 0 && (size_t)limit < nkept) {
        hs_select_top(cells, nkept, (size_t)limit, gi ? hs_cmp_z : hs_cmp_count);
        nkept = (size_t)limit;
    }
    if (nkept > 1)
        qsort(cells, nkept, sizeof *cells, gi ? hs_cmp_z : hs_cmp_count);
    char buf[RFC3339_BUFSZ];
    sbuf_printf(&b, "{\"type\":\"FeatureCollection\",\"method\":\"%s\",\"cell_m\":%ld,",
                gi ? "gi" : "count", cell_m);
    if (whole_area)
        sbuf_printf(&b, "\"study_area_cells\":%zu,", ncells);
    else
        sbuf_puts(&b, "\"study_area_cells\":null,"); /* not computed for counted cells only */
    sbuf_printf(&b, "\"fdr\":%s,", fdr ? "true" : "false");
    if (g)
        sbuf_printf(&b, "\"grid\":{\"origin\":[%.17g,%.17g],\"base_m\":%ld,\"projection\":"
                        "\"equirectangular\"},",
                    g->lon0, g->lat0, base);
    sbuf_printf(&b, "\"as_of\":\"%s\",\"features\":[",
                rfc3339_format_ms(cube_as_of(analytics_cube()), 0, buf));
    long out = 0;
    for (size_t i = 0; i < nkept; i++) {
        const hs_cell *c = &cells[i];
        double bd[4];
        grid_bounds(g, c->ix, c->iy, k, bd);
        sbuf_printf(&b,
                    "%s{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                    "[[[%.17g,%.17g],[%.17g,%.17g],[%.17g,%.17g],[%.17g,%.17g],[%.17g,%.17g]]]},"
                    "\"properties\":{\"cell\":\"%d,%d\",\"count\":%.0f",
                    out ? "," : "", bd[0], bd[1], bd[2], bd[1], bd[2], bd[3], bd[0], bd[3],
                    bd[0], bd[1], c->ix, c->iy, c->x);
        if (gi)
            sbuf_printf(&b, ",\"z\":%.17g,\"p\":%.17g,\"class\":\"%s\"", c->z, c->p,
                        hs_class_name(c->cls));
        sbuf_puts(&b, "}}");
        out++;
    }
    sbuf_puts(&b, "]}\n");
    if (sbuf_failed(&b))
        goto oom;
    http_reply_raw(r, 200, "application/geo+json", sbuf_str(&b), b.len);
    goto out;
oom:
    http_reply_error(r, 500, "internal", NULL, "out of memory");
out:
    sbuf_free(&b);
    free(pmask);
    free(omask);
    free(cmask);
    free(cells);
    free(counts);
}
