/*
 * routes_hotspots.c -- GET /v1/hotspots (API.md "Hotspots"), from memory,
 * computed off the loop.
 *
 * On the loop (O(days in the window + chosen precincts), no cell is
 * touched): read and check the question; bound what it may cost before
 * anything is built -- a bbox, or each chosen precinct's bounding box, may
 * span at most hotspot_max_cells cells of cell_m (422 naming `bbox`,
 * `precinct` or `cell_m`, with the limit and the cells asked); freeze what
 * it reads -- a view of the agency's grid days (lib/spatial.h: the counts
 * as of now, whatever commits next), the precinct and offense masks, the
 * boundaries (copies kept per precinct version), the study areas already
 * cached -- and hand it to a worker thread (workq.h; at most
 * hotspot_max_queue questions on or waiting for one, 429 beyond).
 *
 * On the worker: count the window, build the study area that was not
 * cached (cells whose centre lies inside the precincts or bbox), Gi* and
 * its classes (lib/hotspot.h), keep what is shown, check its size (at most
 * hotspot_max_features cells: 422 asking for limit=, a larger cell_m or a
 * smaller area), rank, and write the GeoJSON.
 *
 * Back on the loop: the study areas built go into the caches and the
 * answer is sent. The caches live on the loop only; an entry is reference
 * counted (by the loop alone), so one a worker reads outlives its eviction
 * until the job ends. Cached: each precinct's cells per cell size, grid
 * origin and boundary version (at most 2 x hotspot_max_cells cells in
 * all), and up to 8 whole study areas (as many cells). Nothing over the
 * cap is ever built.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "analytics.h"
#include "app.h"
#include "cellindex.h"
#include "clock.h"
#include "filters.h"
#include "hotspot.h"
#include "log.h"
#include "rfc3339.h"
#include "routes.h"
#include "sbuf.h"
#include "sharing.h"
#include "strmap.h"
#include "workq.h"
#include "zones.h"

/* ------------------------------------------------------------ caches (loop only) */

/* The cells (cx, cy pairs) of size k whose centre lies in one precinct. */
struct area {
    int32_t *xy;
    size_t n;
    int refs;
};

/* A whole study area: its cells and their index. */
struct whole {
    int32_t *xy;
    size_t n;
    cellindex map;
    int refs;
};

/* A copy of a precinct's boundary, for the workers. */
struct bound {
    geo_multipolygon *mp;
    unsigned version;
    int refs;
};

#define WHOLE_CACHE_MAX 8

static strmap *areas; /* "id:k:version:lat0:lon0" -> struct area */
static size_t area_cells;
static strmap *wholes; /* study-area key -> struct whole */
static int nwholes;
static size_t whole_cells;
static struct bound **bounds; /* by precinct id: the newest version's copy */
static int nbounds;
static workq *wq;

static void area_unref(struct area *a)
{
    if (a && --a->refs == 0) {
        free(a->xy);
        free(a);
    }
}

static void whole_unref(struct whole *w)
{
    if (w && --w->refs == 0) {
        free(w->xy);
        cellindex_free(&w->map);
        free(w);
    }
}

static void bound_unref(struct bound *b)
{
    if (b && --b->refs == 0) {
        geo_free(b->mp);
        free(b);
    }
}

static void unref_area_entry(const char *key, void *value, void *arg)
{
    area_unref(value);
}

static void unref_whole_entry(const char *key, void *value, void *arg)
{
    whole_unref(value);
}

static size_t cache_budget(void)
{
    return 2 * (size_t)app.cfg.hotspot_max_cells;
}

/* Keep a (the caller's reference becomes the cache's) unless key is taken. */
static void area_cache_put(const char *key, struct area *a)
{
    if (areas == NULL && (areas = strmap_new()) == NULL) {
        area_unref(a);
        return;
    }
    if (strmap_get(areas, key)) {
        area_unref(a);
        return;
    }
    if (area_cells + a->n > cache_budget()) { /* a simple bound: start afresh */
        strmap_foreach(areas, unref_area_entry, NULL);
        strmap_clear(areas);
        area_cells = 0;
    }
    if (strmap_put(areas, key, a) != 0) {
        area_unref(a);
        return;
    }
    area_cells += a->n;
}

static void whole_cache_put(const char *key, struct whole *w)
{
    if (wholes == NULL && (wholes = strmap_new()) == NULL) {
        whole_unref(w);
        return;
    }
    if (strmap_get(wholes, key)) {
        whole_unref(w);
        return;
    }
    if (nwholes >= WHOLE_CACHE_MAX || whole_cells + w->n > cache_budget()) {
        strmap_foreach(wholes, unref_whole_entry, NULL);
        strmap_clear(wholes);
        nwholes = 0;
        whole_cells = 0;
    }
    if (strmap_put(wholes, key, w) != 0) {
        whole_unref(w);
        return;
    }
    nwholes++;
    whole_cells += w->n;
}

/* A reference to a copy of p's boundary as it is now; NULL out of memory. */
static struct bound *bound_get(const ref_precinct *p)
{
    if (p->id >= nbounds) {
        int n = nbounds ? nbounds : 64;
        while (n <= p->id)
            n *= 2;
        struct bound **nb = realloc(bounds, (size_t)n * sizeof *nb);
        if (nb == NULL)
            return NULL;
        memset(nb + nbounds, 0, (size_t)(n - nbounds) * sizeof *nb);
        bounds = nb;
        nbounds = n;
    }
    struct bound *b = bounds[p->id];
    if (b == NULL || b->version != p->version) {
        struct bound *fresh = calloc(1, sizeof *fresh);
        if (fresh == NULL || (fresh->mp = geo_clone(p->boundary)) == NULL) {
            free(fresh);
            return NULL;
        }
        fresh->version = p->version;
        fresh->refs = 1; /* the cache's */
        bound_unref(b);
        bounds[p->id] = b = fresh;
    }
    b->refs++;
    return b;
}

void hotspots_free(void)
{
    workq_free(wq); /* drops unanswered jobs (the loop has stopped) */
    wq = NULL;
    if (wholes) {
        strmap_foreach(wholes, unref_whole_entry, NULL);
        strmap_free(wholes);
        wholes = NULL;
        nwholes = 0;
        whole_cells = 0;
    }
    if (areas) {
        strmap_foreach(areas, unref_area_entry, NULL);
        strmap_free(areas);
        areas = NULL;
        area_cells = 0;
    }
    for (int i = 0; i < nbounds; i++)
        bound_unref(bounds[i]);
    free(bounds);
    bounds = NULL;
    nbounds = 0;
}

/* ------------------------------------------------------------ the job */

/* One chosen precinct, as the worker sees it. */
struct jprec {
    int id;
    double bbox[4];
    struct bound *b;    /* held; NULL when only the cached area is needed */
    struct area *area;  /* held: cached, or built by the worker */
    char key[96];       /* the area's cache key */
    int built;          /* area was built by the worker: cache it */
};

struct job {
    http_req *r;
    /* the question */
    int gi, include_empty, fdr, whole_area;
    long limit, cell_m, base;
    int32_t k;
    int has_bbox;
    double bbox[4];
    sp_question q;
    uint8_t *pmask, *omask;
    sp_view *view;
    struct jprec *prec;
    int nprec;
    struct whole *whole; /* held: cached, or built by the worker */
    char *whole_key;
    int whole_built;
    size_t max_cells, max_features;
    char as_of[RFC3339_BUFSZ];
    uint64_t loop_ns, work_ns; /* time spent on the loop before the hand-off, on the worker */
    /* the answer */
    int status;
    const char *field;
    char msg[400];
    sbuf body;
};

static void job_free(struct job *j)
{
    free(j->pmask);
    free(j->omask);
    sp_view_free(j->view);
    for (int i = 0; i < j->nprec; i++) {
        bound_unref(j->prec[i].b);
        area_unref(j->prec[i].area);
    }
    free(j->prec);
    whole_unref(j->whole);
    free(j->whole_key);
    sbuf_free(&j->body);
    free(j);
}

static void job_fail(struct job *j, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void job_fail(struct job *j, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->msg, sizeof j->msg, fmt, ap);
    va_end(ap);
    j->status = status;
    j->field = field;
}

/* Cells of size k spanned by a lon/lat rectangle (a double: it may be huge). */
static double span_cells(const grid *g, const double *bb, int32_t k, int32_t out[4])
{
    grid_cell(g, bb[0], bb[1], &out[0], &out[1]);
    grid_cell(g, bb[2], bb[3], &out[2], &out[3]);
    for (int i = 0; i < 4; i++)
        out[i] = grid_coarse(out[i], k);
    return ((double)out[2] - out[0] + 1) * ((double)out[3] - out[1] + 1);
}

/* Worker: the cells of size k whose centre lies in precinct p. */
static struct area *build_area(const grid *g, const struct jprec *p, int32_t k)
{
    struct area *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->refs = 1;
    int32_t s[4];
    span_cells(g, p->bbox, k, s); /* checked against the cap on the loop */
    size_t cap = 0;
    for (int32_t cy = s[1]; cy <= s[3]; cy++) {
        for (int32_t cx = s[0]; cx <= s[2]; cx++) {
            double lon, lat;
            grid_center(g, cx, cy, k, &lon, &lat);
            if (!geo_covers(p->b->mp, lon, lat))
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
    return a;
}

/*
 * Worker: the whole study area -- cells whose centre lies in the bbox, or
 * in the chosen precincts -- indexed, a cell that a shared edge put in
 * twice kept once. 0, -1 out of memory, -2 too large (j->status set).
 */
static int build_whole(struct job *j, const grid *g)
{
    struct whole *w = calloc(1, sizeof *w);
    size_t n = 0, cap = 0;
    if (w == NULL)
        return -1;
    w->refs = 1;
    if (j->has_bbox) {
        int32_t s[4];
        cap = (size_t)span_cells(g, j->bbox, j->k, s); /* <= the cap (loop) */
        if ((w->xy = malloc((cap ? cap : 1) * 2 * sizeof *w->xy)) == NULL)
            goto oom;
        for (int32_t cy = s[1]; cy <= s[3]; cy++) {
            for (int32_t cx = s[0]; cx <= s[2]; cx++) {
                double lon, lat;
                grid_center(g, cx, cy, j->k, &lon, &lat);
                if (lon < j->bbox[0] || lon > j->bbox[2] || lat < j->bbox[1] || lat > j->bbox[3])
                    continue;
                w->xy[2 * n] = cx;
                w->xy[2 * n + 1] = cy;
                n++;
            }
        }
    } else {
        for (int i = 0; i < j->nprec; i++) {
            struct jprec *p = &j->prec[i];
            if (p->area == NULL) {
                if ((p->area = build_area(g, p, j->k)) == NULL)
                    goto oom;
                p->built = 1;
            }
            cap += p->area->n;
        }
        if (cap > j->max_cells) {
            free(w);
            job_fail(j, 422, j->field ? j->field : "cell_m",
                     "the study area holds %zu cells of %ld m, more than hotspot_max_cells "
                     "(%zu): use a larger cell_m or fewer precincts",
                     cap, j->cell_m, j->max_cells);
            return -2;
        }
        if ((w->xy = malloc((cap ? cap : 1) * 2 * sizeof *w->xy)) == NULL)
            goto oom;
        for (int i = 0; i < j->nprec; i++) {
            const struct area *a = j->prec[i].area;
            memcpy(w->xy + 2 * n, a->xy, a->n * 2 * sizeof *a->xy);
            n += a->n;
        }
    }
    if (cellindex_init(&w->map, n) != 0)
        goto oom;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t *slot = cellindex_slot(&w->map, w->xy[2 * i], w->xy[2 * i + 1]);
        if (*slot)
            continue;
        w->xy[2 * kept] = w->xy[2 * i];
        w->xy[2 * kept + 1] = w->xy[2 * i + 1];
        *slot = (uint32_t)(++kept);
    }
    w->n = kept;
    j->whole = w;
    j->whole_built = 1;
    return 0;
oom:
    whole_unref(w);
    return -1;
}

/* Worker: 1 when the centre of counted cell (cx, cy) lies in the study area. */
static int centre_inside(const struct job *j, const grid *g, int32_t cx, int32_t cy)
{
    double lon, lat;
    grid_center(g, cx, cy, j->k, &lon, &lat);
    if (j->has_bbox)
        return lon >= j->bbox[0] && lon <= j->bbox[2] && lat >= j->bbox[1] && lat <= j->bbox[3];
    for (int i = 0; i < j->nprec; i++) {
        const struct jprec *p = &j->prec[i];
        if (lon >= p->bbox[0] && lon <= p->bbox[2] && lat >= p->bbox[1] && lat <= p->bbox[3] &&
            geo_covers(p->b->mp, lon, lat))
            return 1;
    }
    return 0;
}

/*
 * Worker: the cells of the study area with their counts -- only those
 * counted when empty cells are neither tested nor shown. 0, -1 out of
 * memory, -2 too large (j->status set).
 */
static int study_cells(struct job *j, const grid *g, const sp_cell *counts, size_t ncounts,
                       hs_cell **out, size_t *nout)
{
    hs_cell *cells;
    size_t ncells = 0;
    if (!j->whole_area) {
        /* Counting without empty cells needs only the counted cells that
           lie in the study area (a centre test each), not the whole area. */
        if ((cells = malloc((ncounts ? ncounts : 1) * sizeof *cells)) == NULL)
            return -1;
        for (size_t i = 0; i < ncounts; i++) {
            if (!centre_inside(j, g, counts[i].cx, counts[i].cy))
                continue;
            memset(&cells[ncells], 0, sizeof cells[ncells]);
            cells[ncells].ix = counts[i].cx;
            cells[ncells].iy = counts[i].cy;
            cells[ncells].x = (double)counts[i].count;
            ncells++;
        }
    } else {
        if (j->whole == NULL) {
            int rc = build_whole(j, g);
            if (rc != 0)
                return rc;
        }
        const struct whole *w = j->whole;
        ncells = w->n;
        if ((cells = calloc(ncells ? ncells : 1, sizeof *cells)) == NULL)
            return -1;
        for (size_t i = 0; i < ncells; i++) {
            cells[i].ix = w->xy[2 * i];
            cells[i].iy = w->xy[2 * i + 1];
        }
        for (size_t i = 0; i < ncounts; i++) {
            uint32_t at = cellindex_find(&w->map, counts[i].cx, counts[i].cy);
            if (at) /* else outside the study area: not counted */
                cells[at - 1].x = (double)counts[i].count;
        }
    }
    *out = cells;
    *nout = ncells;
    return 0;
}

/* Worker: the GeoJSON of the cells shown, in order, into j->body. */
static void render(struct job *j, const grid *g, const hs_cell *cells, size_t nkept,
                   size_t ncells)
{
    sbuf *b = &j->body;
    sbuf_printf(b, "{\"type\":\"FeatureCollection\",\"method\":\"%s\",\"cell_m\":%ld,",
                j->gi ? "gi" : "count", j->cell_m);
    if (j->whole_area)
        sbuf_printf(b, "\"study_area_cells\":%zu,", ncells);
    else
        sbuf_puts(b, "\"study_area_cells\":null,"); /* not computed for counted cells only */
    sbuf_printf(b, "\"fdr\":%s,", j->fdr ? "true" : "false");
    if (g)
        sbuf_printf(b, "\"grid\":{\"origin\":[%.17g,%.17g],\"base_m\":%ld,\"projection\":"
                       "\"equirectangular\"},",
                    g->lon0, g->lat0, j->base);
    sbuf_printf(b, "\"as_of\":\"%s\",\"features\":[", j->as_of);
    for (size_t i = 0; i < nkept; i++) {
        const hs_cell *c = &cells[i];
        double bd[4];
        grid_bounds(g, c->ix, c->iy, j->k, bd);
        sbuf_printf(b,
                    "%s{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                    "[[[%.17g,%.17g],[%.17g,%.17g],[%.17g,%.17g],[%.17g,%.17g],[%.17g,%.17g]]]},"
                    "\"properties\":{\"cell\":\"%d,%d\",\"count\":%.0f",
                    i ? "," : "", bd[0], bd[1], bd[2], bd[1], bd[2], bd[3], bd[0], bd[3],
                    bd[0], bd[1], c->ix, c->iy, c->x);
        if (j->gi)
            sbuf_printf(b, ",\"z\":%.17g,\"p\":%.17g,\"class\":\"%s\"", c->z, c->p,
                        hs_class_name(c->cls));
        sbuf_puts(b, "}}");
    }
    sbuf_puts(b, "]}\n");
}

/* Worker: everything between the frozen question and the answer's bytes. */
static void job_run(void *arg)
{
    struct job *j = arg;
    uint64_t t0 = clock_now_ns();
    const grid *g = sp_view_grid(j->view);
    hs_cell *cells = NULL;
    sp_cell *counts = NULL;
    size_t ncounts = 0, ncells = 0;
    if (g) {
        if (sp_view_count(j->view, &j->q, &counts, &ncounts) != 0)
            goto oom;
        int rc = study_cells(j, g, counts, ncounts, &cells, &ncells);
        if (rc == -2)
            goto out;
        if (rc != 0)
            goto oom;
    }
    if (j->gi && ncells > 0) {
        /* z as Getis and Ord define it; p and class from the exact
           distribution of the neighbourhood count (lib/hotspot.h). */
        if (hs_gistar(cells, ncells) != 0 || hs_exact(cells, ncells) != 0 ||
            (j->fdr && hs_fdr(cells, ncells) != 0))
            goto oom;
    }
    /* Keep what is shown, then order only that (and only the first
       `limit` of it). */
    size_t nkept = 0;
    for (size_t i = 0; i < ncells; i++)
        if (j->include_empty || cells[i].x > 0 || (j->gi && fabs(cells[i].z) >= 1.645))
            cells[nkept++] = cells[i];
    size_t shown = j->limit > 0 && (size_t)j->limit < nkept ? (size_t)j->limit : nkept;
    if (shown > j->max_features) {
        job_fail(j, 422, j->include_empty ? "include_empty" : "limit",
                 "the answer would hold %zu cells, more than hotspot_max_features (%zu): ask for "
                 "the first ones with limit= (at most %zu), or use a larger cell_m or a smaller "
                 "area%s",
                 shown, j->max_features, j->max_features,
                 j->include_empty ? ", or leave out include_empty" : "");
        goto out;
    }
    if (shown < nkept)
        hs_select_top(cells, nkept, shown, j->gi ? hs_cmp_z : hs_cmp_count);
    nkept = shown;
    if (nkept > 1)
        qsort(cells, nkept, sizeof *cells, j->gi ? hs_cmp_z : hs_cmp_count);
    render(j, g, cells, nkept, ncells);
    if (sbuf_failed(&j->body))
        goto oom;
    j->status = 200;
    goto out;
oom:
    job_fail(j, 500, NULL, "out of memory");
out:
    free(cells);
    free(counts);
    j->work_ns = clock_now_ns() - t0;
}

static void free_body(const void *data, size_t len, void *arg)
{
    free(arg);
}

/* Loop: the worker is done. Cache what it built, answer, let go. */
static void job_done(void *arg)
{
    struct job *j = arg;
    uint64_t t0 = clock_now_ns();
    for (int i = 0; i < j->nprec; i++) {
        struct jprec *p = &j->prec[i];
        if (p->built && p->area) {
            p->area->refs++;
            area_cache_put(p->key, p->area);
        }
    }
    if (j->whole_built && j->whole && j->whole_key) {
        j->whole->refs++;
        whole_cache_put(j->whole_key, j->whole);
    }
    size_t bytes = j->body.len;
    struct evbuffer *eb = j->status == 200 ? evbuffer_new() : NULL;
    if (eb && evbuffer_add_reference(eb, j->body.data, bytes, free_body, j->body.data) == 0) {
        /* The answer's bytes go out as they are, no copy on the loop, and
           are freed once written. */
        sbuf_init(&j->body);
        http_reply_buffer(j->r, 200, "application/geo+json", eb);
    } else if (j->status == 200) {
        http_reply_raw(j->r, 200, "application/geo+json", sbuf_str(&j->body), bytes);
    } else {
        http_reply_error(j->r, j->status, j->status == 500 ? "internal" : "invalid_field",
                         j->field, "%s", j->msg);
    }
    if (eb)
        evbuffer_free(eb);
    int status = j->status;
    uint64_t loop_ns = j->loop_ns, work_ns = j->work_ns;
    job_free(j);
    log_debug("hotspots", "%d, %zu bytes: %.3f ms on the loop before the worker, %.3f ms on "
              "the worker, %.3f ms on the loop after", status, bytes, (double)loop_ns / 1e6,
              (double)work_ns / 1e6, (double)(clock_now_ns() - t0) / 1e6);
}

static void job_drop(void *arg)
{
    job_free(arg);
}

/* ------------------------------------------------------------ the route */

/*
 * Loop: the study area, bounded before anything is built, and what the
 * worker needs of it. 0, -1 out of memory, -2 answered (too large).
 */
static int prepare_area(http_req *r, struct job *j, const grid *g, int32_t np, const char *pv)
{
    if (j->has_bbox) {
        int32_t s[4];
        double cells = span_cells(g, j->bbox, j->k, s);
        if (cells > (double)j->max_cells) {
            http_reply_error(r, 422, "invalid_field", "bbox",
                             "the bbox spans %.0f cells of %ld m, more than hotspot_max_cells "
                             "(%zu): use a larger cell_m or a smaller bbox",
                             cells, j->cell_m, j->max_cells);
            return -2;
        }
    } else {
        if ((j->prec = calloc((size_t)np, sizeof *j->prec)) == NULL)
            return -1;
        for (int32_t id = 1; id < np; id++) {
            const ref_precinct *p = j->pmask[id] ? ref_precinct_by_id(app.ref, id) : NULL;
            if (p == NULL || p->boundary == NULL)
                continue;
            struct jprec *jp = &j->prec[j->nprec];
            jp->id = id;
            memcpy(jp->bbox, p->bbox, sizeof jp->bbox);
            snprintf(jp->key, sizeof jp->key, "%d:%d:%u:%.17g:%.17g", id, j->k, p->version,
                     g->lat0, g->lon0);
            struct area *a = areas ? strmap_get(areas, jp->key) : NULL;
            if (a == NULL) {
                /* Not built yet: its bounding box bounds it, before a cell is made. */
                int32_t s[4];
                double cells = span_cells(g, p->bbox, j->k, s);
                if (cells > (double)j->max_cells) {
                    http_reply_error(r, 422, "invalid_field", pv ? "precinct" : "cell_m",
                                     "precinct %s spans %.0f cells of %ld m (its bounding box), "
                                     "more than hotspot_max_cells (%zu): use a larger cell_m",
                                     p->code, cells, j->cell_m, j->max_cells);
                    return -2;
                }
            } else {
                a->refs++;
                jp->area = a;
            }
            j->nprec++;
            /* The boundary: for the centre tests of counted cells, or to
               build the area. */
            if ((!j->whole_area || jp->area == NULL) && (jp->b = bound_get(p)) == NULL)
                return -1;
        }
        j->field = pv ? "precinct" : NULL;
    }
    if (!j->whole_area)
        return 0;
    /* The whole study area, from the cache when the same area was asked
       before (the same bbox, or the same precincts at the same versions,
       on the same grid). */
    sbuf key;
    sbuf_init(&key);
    sbuf_printf(&key, "%d:%d:%.17g:%.17g:", j->q.agency, j->k, g->lat0, g->lon0);
    if (j->has_bbox) {
        sbuf_printf(&key, "b%.17g,%.17g,%.17g,%.17g", j->bbox[0], j->bbox[1], j->bbox[2],
                    j->bbox[3]);
    } else {
        for (int32_t id = 1; id < np; id++)
            if (j->pmask[id])
                sbuf_printf(&key, "p%d.%u", id, ref_precinct_by_id(app.ref, id)->version);
    }
    if (sbuf_failed(&key) || (j->whole_key = strdup(sbuf_str(&key))) == NULL) {
        sbuf_free(&key);
        return -1;
    }
    sbuf_free(&key);
    struct whole *w = wholes ? strmap_get(wholes, j->whole_key) : NULL;
    if (w) {
        w->refs++;
        j->whole = w;
    }
    return 0;
}

/*
 * Loop: the days, the study area and the offenses of the question, as
 * masks for the counts. 0, -1 out of memory, -2 answered.
 */
static int read_where(http_req *r, struct job *j)
{
    int agency = j->q.agency;
    const tz_zone *zone = zone_of_agency(agency);
    sp_question *q = &j->q;
    if (filter_day(r, "from", zone, &q->day_from) || filter_day(r, "to", zone, &q->day_to))
        return -2;
    const char *pv = qs_get(&r->query, "precinct"), *bv = qs_get(&r->query, "bbox");
    const char *av = qs_get(&r->query, "area"), *gv = qs_get(&r->query, "program");
    if ((pv || av || gv) && bv) {
        http_reply_error(r, 422, "invalid_field", "bbox", "give %s or bbox, not both",
                         pv ? "precinct" : av ? "area" : "program");
        return -2;
    }
    if (bv) {
        /* Cells need an area: a zero-width box, which the incident list
           takes as a line or a point, is refused here. */
        if (params_bbox(bv, j->bbox) != 0 || j->bbox[0] >= j->bbox[2] ||
            j->bbox[1] >= j->bbox[3]) {
            http_reply_error(r, 422, "invalid_field", "bbox", FILTER_BBOX_MESSAGE, "bbox",
                             "below");
            return -2;
        }
        j->has_bbox = 1;
    }
    /* Precincts: chosen (or all the token sees), as a mask for the counts. */
    int32_t np = ref_precinct_max(app.ref) + 1, no = ref_offense_max(app.ref) + 1;
    if ((j->pmask = calloc((size_t)np, 1)) == NULL)
        return -1;
    if (pv || av || gv) {
        if (filter_geography(r, j->pmask, np) < 0)
            return -2;
        filter_scope(r, j->pmask, np, 1); /* an area's precincts within the token's */
    } else {
        for (int32_t id = 1; id < np; id++) {
            const ref_precinct *p = ref_precinct_by_id(app.ref, id);
            if (p && p->agency_id == agency && principal_allows(&r->who, p->code))
                j->pmask[id] = 1;
        }
        if (bv && r->who.nprecincts < 0)
            j->pmask[0] = 1; /* a bbox of an unscoped token counts the unassigned too */
    }
    q->precincts = j->pmask;
    q->nprecincts = np;
    const char *ov = qs_get(&r->query, "offense"), *cv = qs_get(&r->query, "category");
    if (ov == NULL && cv == NULL) {
        if (r->who.offense_scope == NULL)
            return 0;
        if ((j->omask = calloc((size_t)no, 1)) == NULL)
            return -1;
        filter_offense_scope(r, j->omask, no, 0); /* a region reader: what is shared */
        q->offenses = j->omask;
        q->noffenses = no;
        return 0;
    }
    uint8_t *cmask = calloc((size_t)no, 1);
    if ((j->omask = calloc((size_t)no, 1)) == NULL || cmask == NULL) {
        free(cmask);
        return -1;
    }
    if ((ov && filter_offenses(r, "offense", ov, j->omask, no) != 0) ||
        (cv && filter_categories(r, "category", cv, cmask, no) != 0)) {
        free(cmask);
        return -2;
    }
    for (int32_t id = 0; id < no; id++)
        j->omask[id] = (uint8_t)((ov ? j->omask[id] : 1) && (cv ? cmask[id] : 1));
    free(cmask);
    q->offenses = j->omask;
    q->noffenses = no;
    return 0;
}

/*
 * Loop: read and check the question into a new job: the method and its
 * options, the days, the study area (precincts or a bbox) and the
 * offenses. NULL after replying.
 */
static struct job *read_question(http_req *r)
{
    static const char *const allowed[] = {"from",     "to",     "precinct", "area",
                                          "bbox",     "offense", "category", "cell_m",
                                          "method",   "include_empty", "fdr", "limit",
                                          "program",  NULL};
    if (http_check_params(r, allowed) != 0)
        return NULL;
    const char *v;
    int gi = 1, include_empty = 0, fdr = 0;
    long limit = -1;
    if ((v = qs_get(&r->query, "method")) != NULL) {
        if (strcmp(v, "count") == 0)
            gi = 0;
        else if (strcmp(v, "gi") != 0) {
            http_reply_error(r, 422, "invalid_field", "method", "method must be gi or count");
            return NULL;
        }
    }
    if (filter_bool(r, "include_empty", &include_empty) != 0 ||
        filter_bool(r, "fdr", &fdr) != 0 || filter_int(r, "limit", 1, 1000000, &limit) != 0)
        return NULL;
    long base = app.cfg.grid_base_m, cell_m = base;
    if ((v = qs_get(&r->query, "cell_m")) != NULL) {
        if (params_int(v, base, base * 1000, &cell_m) != 0 || cell_m % base != 0) {
            http_reply_error(r, 422, "invalid_field", "cell_m",
                             "cell_m must be a multiple of the base cell (%ld m)", base);
            return NULL;
        }
    }
    /* A region reader: no cell finer than the agency's agreed precision
       (by default the smallest base multiple that is not). */
    long finest = sharing_min_cell_m(r);
    if (finest > 0 && cell_m < finest) {
        if (v != NULL) {
            http_reply_error(r, 422, "invalid_field", "cell_m",
                             "this agency shares locations with your region to %ld m: cell_m "
                             "must be at least %ld",
                             finest, ((finest + base - 1) / base) * base);
            return NULL;
        }
        cell_m = ((finest + base - 1) / base) * base;
        if (cell_m > base * 1000)
            cell_m = base * 1000;
    }
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    sbuf_init(&j->body);
    j->r = r;
    j->gi = gi;
    j->include_empty = include_empty;
    j->fdr = fdr;
    j->whole_area = gi || include_empty;
    j->limit = limit;
    j->cell_m = cell_m;
    j->base = base;
    j->k = (int32_t)(cell_m / base);
    j->max_cells = (size_t)app.cfg.hotspot_max_cells;
    j->max_features = (size_t)app.cfg.hotspot_max_features;
    j->q.agency = r->who.agency_id;
    j->q.k = j->k;
    j->q.day_from = INT64_MIN;
    j->q.day_to = INT64_MAX;
    int rc = read_where(r, j);
    if (rc != 0) {
        if (rc == -1)
            http_reply_error(r, 500, "internal", NULL, "out of memory");
        job_free(j);
        return NULL;
    }
    return j;
}

/*
 * Loop: freeze what the worker reads -- the counts as they stand now
 * (later commits do not reach this answer) and the study area, bounded
 * before anything is built. 0, -1 out of memory, -2 answered.
 */
static int gather(http_req *r, struct job *j)
{
    int agency = j->q.agency;
    if (analytics_grid_stale(agency)) {
        /* Its days are the old zone's until the rebuild swaps in. */
        http_reply_error(r, 503, "rebuilding", NULL,
                         "the agency's hotspot grid is being rebuilt for its new time zone; "
                         "retry after the delay in Retry-After");
        return -2;
    }
    if ((j->view = analytics_grid_view(agency, j->q.day_from, j->q.day_to)) == NULL)
        return -1;
    rfc3339_format_ms(cube_as_of(analytics_cube()), 0, j->as_of);
    const grid *g = sp_view_grid(j->view);
    if (g == NULL)
        return 0;
    return prepare_area(r, j, g, j->q.nprecincts, qs_get(&r->query, "precinct"));
}

/* Loop: hand the job to a worker, unless too many wait. 0, -1, -2 as gather. */
static int submit(http_req *r, struct job *j)
{
    if (wq == NULL && (wq = workq_new(app.base, (int)app.cfg.hotspot_threads)) == NULL)
        return -1;
    if (workq_jobs(wq) >= (size_t)app.cfg.hotspot_max_queue) {
        char ra[16];
        snprintf(ra, sizeof ra, "%ld", app.cfg.retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", ra);
        http_reply_error(r, 429, "too_many_requests", NULL,
                         "%ld hotspot questions are being computed or waiting "
                         "(hotspot_max_queue): try again shortly",
                         app.cfg.hotspot_max_queue);
        return -2;
    }
    return workq_submit(wq, job_run, job_done, job_drop, j) != 0 ? -1 : 0;
}

void h_hotspots(http_req *r)
{
    uint64_t t0 = clock_now_ns();
    struct job *j = read_question(r);
    if (j == NULL)
        return;
    int rc = gather(r, j);
    j->loop_ns = clock_now_ns() - t0;
    if (rc == 0 && (rc = submit(r, j)) == 0)
        return; /* job_done answers */
    if (rc == -1)
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    job_free(j);
}
