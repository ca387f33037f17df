/*
 * compstat-grow -- how the in-memory structures grow with the number of
 * incidents, without PostgreSQL: N synthetic incidents generated in C with
 * the distribution of tools/bench-data.sql (agency BENCH of
 * tools/bench-setup.sql), loaded into the count cube, the hotspot grid and
 * the response-time cube through their bulk paths exactly as
 * server/analytics_load.c loads a row of its COPYs, then resident memory and the
 * in-process part of the benchmark questions (those of tools/compstat-bench
 * plus the hotspot and response-time questions it asks over HTTP), timed
 * over many iterations. Used by `tools/bench growth`, one process per size.
 *
 *   compstat-grow --size N [--seed S] [--runs R] [--iterations I]
 *                 [--budget SECONDS] [--now EPOCH]
 *
 * --runs R times, each question is answered up to I times (default 1,000)
 * but no more than about --budget seconds' worth (default 2; at least 5
 * answers); p50 and p99 are nearest-rank within a run, and the median run
 * is reported (the lower of two).
 *
 * Prints progress and a readable summary on stderr and one line
 * "GROW key=value ..." on stdout. Exits 1 when a consistency check fails
 * (the cube's and grid's totals and four answers against counts the
 * generator kept itself).
 *
 * What differs from the daemon's load (all of it outside lib/): no COPY,
 * no binary tuple parsing, no PostgreSQL producing rows; ids are those a
 * fresh cluster gives tools/bench-setup.sql (agency 1, precincts 1..141,
 * offenses 1..50); updated_at is one instant (the generator's "now") for
 * every row instead of one per 1 M-row transaction; no unit board (the
 * synthetic incidents have no units and are all closed, so the daemon's is
 * empty too). A tool, so I/O is fine here.
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "cellindex.h"
#include "compstat.h"
#include "cube.h"
#include "grid.h"
#include "hotspot.h"
#include "incident.h"
#include "rfc3339.h"
#include "rtcube.h"
#include "rtime.h"
#include "spatial.h"
#include "tz.h"

/* ------------------------------------------------------------ the bench agency */

#define AGENCY 1
#define NPRECINCTS 141 /* ids 1..141: B-000 .. B-140 */
#define NOFFENSES 50   /* ids 1..50: O1 .. O50 */
#define ZONE "America/Chicago"
#define GRID_BASE_M 100 /* the daemon's default grid_base_m */
#define CHUNK 1000000   /* tools/bench-data.sql is run per million rows */

/* tools/bench-setup.sql: offense g is in category (1 + g % 8) of this list. */
static const char *const category_names[8] = {"murder",        "rape",
                                              "robbery",       "felony_assault",
                                              "burglary",      "grand_larceny",
                                              "grand_larceny_auto", "other"};
/* The daemon numbers categories on first use (analytics_category_id), and
   declare_categories walks offenses in id order: offense 1 ("rape") gets 0. */
static int category_of_offense[NOFFENSES + 1];
static const char *category_by_id[8];

static void number_categories(void)
{
    int n = 0;
    for (int id = 1; id <= NOFFENSES; id++) {
        const char *name = category_names[id % 8];
        int found = -1;
        for (int k = 0; k < n; k++)
            if (strcmp(category_by_id[k], name) == 0)
                found = k;
        if (found < 0) {
            category_by_id[n] = name;
            found = n++;
        }
        category_of_offense[id] = found;
    }
}

/* ------------------------------------------------------------ generator */

/* splitmix64: one state per 1 M-row chunk, so a size's incidents are the
   first ones of every larger size, as with tools/bench-data.sql's setseed. */
static uint64_t sm_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double sm_double(uint64_t *s) /* [0, 1), like random() */
{
    return (double)(sm_next(s) >> 11) * 0x1.0p-53;
}

struct gen {
    uint64_t seed, state;
    int64_t now_us; /* now(), microseconds since the epoch */
    int64_t i;      /* incidents made so far */
};

struct incident {
    int32_t precinct, offense, priority;
    int unfounded;
    double lon, lat;
    int64_t times[INC_T_COUNT]; /* seconds since the epoch */
    unsigned set;
};

static void gen_init(struct gen *g, uint64_t seed, int64_t now_us)
{
    memset(g, 0, sizeof *g);
    g->seed = seed;
    g->now_us = now_us;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The next incident, as tools/bench-data.sql makes row g. */
static void gen_next(struct gen *g, struct incident *in)
{
    if (g->i % CHUNK == 0) {
        g->state = g->seed ^ ((uint64_t)(g->i / CHUNK) * 0xD1B54A32D192ED03ULL);
        (void)sm_next(&g->state);
    }
    g->i++;
    int pi = (int)floor(sm_double(&g->state) * NPRECINCTS);
    int oi = (int)floor(sm_double(&g->state) * NOFFENSES);
    double r = sm_double(&g->state);
    double u = sm_double(&g->state), x = sm_double(&g->state), y = sm_double(&g->state);
    /* now() - random() * interval '3652 days' (the cluster's zone is UTC,
       so a day is 86,400 s), then date_trunc('minute', ...). */
    int64_t t_us = g->now_us - llround(r * 3652.0 * 86400e6);
    int64_t occurred = floor_div(t_us, 60000000) * 60;
    in->precinct = 1 + pi;
    in->offense = 1 + oi;
    /* CASE WHEN u < 0.1 THEN NULL ELSE (u * 10)::int % 10 END; ::int is rint() */
    in->priority = u < 0.1 ? -1 : (int)rint(u * 10) % 10;
    in->unfounded = u > 0.95;
    in->lon = -87.9 + (pi % 12 + x) * 0.025;
    in->lat = 41.7 + (pi / 12 + y) * 0.018;
    int64_t fx = (int64_t)floor(x * 900), fy = (int64_t)floor(y * y * 3600);
    int64_t fu = (int64_t)floor(u * 7200);
    in->times[INC_T_OCCURRED] = occurred;
    in->times[INC_T_RECEIVED] = occurred + 180;
    in->times[INC_T_DISPATCHED] = occurred + 180 + fx;
    in->times[INC_T_EN_ROUTE] = 0;
    in->times[INC_T_ON_SCENE] = occurred + 180 + fx + fy;
    in->times[INC_T_CLEARED] = occurred + 180 + fx + fy + fu;
    in->set = 1u << INC_T_OCCURRED | 1u << INC_T_RECEIVED | 1u << INC_T_DISPATCHED |
              1u << INC_T_ON_SCENE | 1u << INC_T_CLEARED;
}

/* ------------------------------------------------------------ helpers */

/* VmRSS / VmHWM of this process, MiB. */
static double proc_mib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = atof(line + n + 1);
    if (f)
        fclose(f);
    return kb / 1024.0;
}

static tz_zone *read_zone(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    static unsigned char buf[65536];
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    tz_zone *z = NULL;
    return tz_parse(buf, len, &z) == 0 ? z : NULL;
}

/* The daemon's local_day(). */
static int64_t local_day(const tz_zone *z, int64_t t)
{
    int64_t local = tz_local(z, t);
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

/* ------------------------------------------------------------ hotspots, as routes_hotspots.c */

/* The study area of a bbox (cells whose centre lies in it), indexed: what
   the daemon builds once and caches. */
struct whole {
    hs_cell *cells;
    size_t n;
    cellindex map;
};

static int whole_build(const grid *g, const double bbox[4], struct whole *w)
{
    int32_t x0, y0, x1, y1;
    memset(w, 0, sizeof *w);
    grid_cell(g, bbox[0], bbox[1], &x0, &y0);
    grid_cell(g, bbox[2], bbox[3], &x1, &y1);
    size_t cap = (size_t)(x1 - x0 + 1) * (size_t)(y1 - y0 + 1);
    w->cells = calloc(cap, sizeof *w->cells);
    if (w->cells == NULL || cellindex_init(&w->map, cap) != 0)
        return -1;
    for (int32_t cy = y0; cy <= y1; cy++) {
        for (int32_t cx = x0; cx <= x1; cx++) {
            double lon, lat;
            grid_center(g, cx, cy, 1, &lon, &lat);
            if (lon < bbox[0] || lon > bbox[2] || lat < bbox[1] || lat > bbox[3])
                continue;
            uint32_t *slot = cellindex_slot(&w->map, cx, cy);
            if (*slot)
                continue;
            w->cells[w->n].ix = cx;
            w->cells[w->n].iy = cy;
            *slot = (uint32_t)++w->n;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ the questions */

enum { Q_YTD, Q_D28, Q_TREND, Q_HOURDOW, Q_SHEET, Q_GI, Q_TOPCOUNT, Q_RT, NQ };

static const char *const q_key[NQ] = {"ytd", "d28", "trend", "hourdow",
                                      "sheet", "gi", "topcount", "rt"};
static const char *const q_name[NQ] = {
    "YTD by precinct x offense",
    "28 days by category, one precinct",
    "10-year weekly trend, precinct x offense",
    "a year by hour of day x day of week, one precinct",
    "COMPSTAT sheet, one precinct (6 windows)",
    "hotspots: Gi* over the ~100k-cell bbox, one year, top 20",
    "hotspots: top 20 cells by count, 28 days",
    "response times by precinct x priority, one year (p50, p90 of 5 intervals)",
};

struct ctx {
    const cube *c;
    const sp_store *sp;
    const rt_cube *rt;
    const tz_zone *zone;
    const grid *g;
    cube_question cq[NQ];
    cube_question sheet[6];
    uint8_t pmask[NPRECINCTS + 1], omask[NOFFENSES + 1], allp[NPRECINCTS + 1];
    sp_question gi, top;
    struct whole wa;
    double bbox[4];
    rt_question rq;
    int8_t quarters[RT_QUARTERS];
    uint64_t sink; /* keeps the work observable */
};

static int cmp_groups(const void *pa, const void *pb)
{
    const rt_group *a = pa, *b = pb;
    if (a->precinct != b->precinct)
        return a->precinct < b->precinct ? -1 : 1;
    return (a->priority > b->priority) - (a->priority < b->priority);
}

/* One answer of question q, the daemon's work short of writing JSON. 0 or -1. */
static int ask(struct ctx *x, int q)
{
    if (q <= Q_HOURDOW) {
        cube_result res;
        if (cube_query(x->c, &x->cq[q], &res) != 0)
            return -1;
        x->sink += res.total + res.n;
        cube_result_free(&res);
        return 0;
    }
    if (q == Q_SHEET) {
        uint64_t counts[9 * 6] = {0};
        for (int w = 0; w < 6; w++) {
            cube_result res;
            if (cube_query(x->c, &x->sheet[w], &res) != 0)
                return -1;
            for (size_t i = 0; i < res.n; i++) {
                int c = res.cells[i].category;
                if (c >= 0 && c < 8)
                    counts[c * 6 + w] += res.cells[i].count;
                counts[8 * 6 + w] += res.cells[i].count;
            }
            cube_result_free(&res);
        }
        int64_t tenths = 0;
        for (int c = 0; c < 9; c++)
            for (int p = 0; p < 3; p++) {
                uint64_t now = counts[c * 6 + p * 2], before = counts[c * 6 + p * 2 + 1];
                compstat_pct_change(now, before, &tenths);
                x->sink += (uint64_t)tenths + (uint64_t)(compstat_z(now, before) * 100);
            }
        return 0;
    }
    if (q == Q_GI) {
        /* The cached study area copied, counted, Gi*, kept, the top 20. */
        size_t n = x->wa.n, ncounts = 0;
        hs_cell *cells = malloc(n * sizeof *cells);
        sp_cell *counts = NULL;
        if (cells == NULL || sp_count(x->sp, &x->gi, &counts, &ncounts) != 0) {
            free(cells);
            return -1;
        }
        memcpy(cells, x->wa.cells, n * sizeof *cells);
        for (size_t i = 0; i < ncounts; i++) {
            uint32_t at = cellindex_find(&x->wa.map, counts[i].cx, counts[i].cy);
            if (at)
                cells[at - 1].x = (double)counts[i].count;
        }
        free(counts);
        if (hs_gistar(cells, n) != 0) {
            free(cells);
            return -1;
        }
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (cells[i].x > 0 || fabs(cells[i].z) >= 1.645)
                cells[kept++] = cells[i];
        if (kept > 20) {
            hs_select_top(cells, kept, 20, hs_cmp_z);
            kept = 20;
        }
        qsort(cells, kept, sizeof *cells, hs_cmp_z);
        x->sink += kept ? (uint64_t)(cells[0].z * 1000) : 0;
        free(cells);
        return 0;
    }
    if (q == Q_TOPCOUNT) {
        /* Counted cells only, each tested against the bbox, the top 20. */
        size_t ncounts = 0, n = 0;
        sp_cell *counts = NULL;
        if (sp_count(x->sp, &x->top, &counts, &ncounts) != 0)
            return -1;
        hs_cell *cells = malloc((ncounts ? ncounts : 1) * sizeof *cells);
        if (cells == NULL) {
            free(counts);
            return -1;
        }
        for (size_t i = 0; i < ncounts; i++) {
            double lon, lat;
            grid_center(x->g, counts[i].cx, counts[i].cy, 1, &lon, &lat);
            if (lon >= x->bbox[0] && lon <= x->bbox[2] && lat >= x->bbox[1] && lat <= x->bbox[3]) {
                cells[n].ix = counts[i].cx;
                cells[n].iy = counts[i].cy;
                cells[n].x = (double)counts[i].count;
                n++;
            }
        }
        free(counts);
        if (n > 20) {
            hs_select_top(cells, n, 20, hs_cmp_count);
            n = 20;
        }
        qsort(cells, n, sizeof *cells, hs_cmp_count);
        x->sink += n ? (uint64_t)cells[0].x : 0;
        free(cells);
        return 0;
    }
    /* Q_RT: the groups, sorted, and per group and interval n, mean, min,
       p50, p90, max, sum (what the daemon then hands to cJSON). */
    rt_result res = {0};
    if (rt_query(x->rt, &x->rq, &res) != 0) {
        rt_result_free(&res);
        return -1;
    }
    if (res.n > 1)
        qsort(res.groups, res.n, sizeof *res.groups, cmp_groups);
    for (size_t i = 0; i < res.n; i++)
        for (int k = 0; k < RT_NINT; k++) {
            const rt_hist *h = &res.groups[i].h[k];
            if (h->n == 0)
                continue;
            x->sink += h->sum / h->n + h->min + h->max + rt_hist_percentile(h, 50000) +
                       rt_hist_percentile(h, 90000);
        }
    rt_result_free(&res);
    return 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    const char *size_s = opt(argc, argv, "--size", NULL);
    if (size_s == NULL || atoll(size_s) < 1) {
        fprintf(stderr, "usage: compstat-grow --size N [--seed S] [--runs R] [--iterations I]"
                        " [--budget SECONDS] [--now EPOCH]\n");
        return 2;
    }
    int64_t size = atoll(size_s);
    uint64_t seed = strtoull(opt(argc, argv, "--seed", "1"), NULL, 10);
    int runs = atoi(opt(argc, argv, "--runs", "3"));
    int iters = atoi(opt(argc, argv, "--iterations", "1000"));
    double budget = atof(opt(argc, argv, "--budget", "2"));
    int64_t now = atoll(opt(argc, argv, "--now", "0"));
    if (runs < 1)
        runs = 1;
    if (iters < 1)
        iters = 1;
    if (now <= 0)
        now = (int64_t)time(NULL);
    int64_t now_us = now * 1000000, now_ms = now * 1000;
    double rss0 = proc_mib("VmRSS");

    number_categories();
    tz_zone *zone = read_zone(ZONE);
    if (zone == NULL) {
        fprintf(stderr, "compstat-grow: cannot read the zone %s\n", ZONE);
        return 1;
    }

    /* The grid, as ensure_grid(): the centre of the precincts' bounding
       boxes (tools/bench-setup.sql's squares), rounded to a whole degree. */
    double b[4] = {1e9, 1e9, -1e9, -1e9};
    for (int gi = 0; gi < NPRECINCTS; gi++) {
        double w = -87.9 + (gi % 12) * 0.025, s = 41.7 + (gi / 12) * 0.018;
        double e = -87.9 + (gi % 12 + 1) * 0.025, n = 41.7 + (gi / 12 + 1) * 0.018;
        b[0] = w < b[0] ? w : b[0];
        b[1] = s < b[1] ? s : b[1];
        b[2] = e > b[2] ? e : b[2];
        b[3] = n > b[3] ? n : b[3];
    }
    grid g;
    grid_init(&g, round((b[1] + b[3]) / 2), round((b[0] + b[2]) / 2), GRID_BASE_M);

    /* The day the questions end on, and their windows, as compstat-bench
       (its "today" is the newest incident's date: now, here). */
    int64_t today = local_day(zone, now);
    int64_t yy;
    int mm, dd;
    rfc3339_civil_from_days(today, &yy, &mm, &dd);
    int64_t jan1 = rfc3339_days_from_civil(yy, 1, 1);
    int64_t tenyears = rfc3339_days_from_civil(yy - 10, mm, dd);
#define BOUND(day) tz_utc(zone, (day) * 86400)

    /* The narrow questions' precinct and offense: those of incident 1, as
       compstat-bench takes those of the smallest id. */
    struct gen gen;
    struct incident in;
    gen_init(&gen, seed, now_us);
    gen_next(&gen, &in);
    int32_t P = in.precinct, O = in.offense;

    /* Pass 0: the generator alone, also counting what the checks compare. */
    int64_t d28_from = BOUND(today - 27), d28_to = BOUND(today + 1);
    int64_t y10_from = BOUND(tenyears), y1_from = BOUND(today - 364);
    uint64_t counted = 0, chk_d28[8] = {0}, chk_trend = 0, chk_rt_year = 0, chk_gi_year = 0;
    double t0 = now_s();
    gen_init(&gen, seed, now_us);
    for (int64_t i = 0; i < size; i++) {
        gen_next(&gen, &in);
        int64_t t = in.times[INC_T_OCCURRED], rcv = in.times[INC_T_RECEIVED];
        if (rcv >= y1_from && rcv < d28_to)
            chk_rt_year++;
        if (in.unfounded)
            continue;
        counted++;
        if (in.precinct == P && t >= d28_from && t < d28_to)
            chk_d28[category_of_offense[in.offense]]++;
        if (in.precinct == P && in.offense == O && t >= y10_from && t < d28_to)
            chk_trend++;
        /* a year of local days, in the bbox (every point is) */
        if (t >= y1_from - 2 * 86400 && t < d28_to + 2 * 86400) {
            int64_t day = local_day(zone, t);
            chk_gi_year += day >= today - 364 && day < today + 1;
        }
    }
    double gen_s = now_s() - t0;
    fprintf(stderr, "compstat-grow: %lld incidents (seed %llu, now %lld): generator pass %.2f s\n",
            (long long)size, (unsigned long long)seed, (long long)now, gen_s);

    /* Pass 1: the first COPY (counted incidents -> cube and grid). */
    cube *c = cube_new();
    sp_store *sp = sp_new();
    rt_cube *rt = rt_new();
    if (!c || !sp || !rt || sp_set_grid(sp, AGENCY, &g) != 0) {
        fprintf(stderr, "compstat-grow: out of memory\n");
        return 1;
    }
    t0 = now_s();
    for (int id = 1; id <= NOFFENSES; id++)
        cube_set_category(c, AGENCY, id, category_of_offense[id]);
    gen_init(&gen, seed, now_us);
    for (int64_t i = 0; i < size; i++) {
        gen_next(&gen, &in);
        if (in.unfounded)
            continue;
        cube_key k = {AGENCY, in.precinct, in.offense, in.priority};
        int64_t t = in.times[INC_T_OCCURRED];
        if (cube_load(c, &k, t, now_ms) != 0 ||
            sp_load(sp, AGENCY, k.precinct, k.offense, local_day(zone, t), in.lon, in.lat) != 0) {
            fprintf(stderr, "compstat-grow: out of memory loading\n");
            return 1;
        }
    }
    double t1 = now_s();
    int rc;
    while ((rc = cube_load_finish(c, 200000)) == 0)
        ;
    if (rc == 1) /* then the grid, as on_finish_step */
        while ((rc = sp_load_finish(sp, 200000)) == 0)
            ;
    if (rc != 1) {
        fprintf(stderr, "compstat-grow: out of memory indexing\n");
        return 1;
    }
    double t2 = now_s();
    /* Pass 2: the second COPY (every incident with a received_at -> rt). */
    gen_init(&gen, seed, now_us);
    for (int64_t i = 0; i < size; i++) {
        gen_next(&gen, &in);
        rt_fact f;
        memset(&f, 0, sizeof f);
        f.agency = AGENCY;
        f.precinct = in.precinct;
        f.priority = in.priority;
        f.received = in.times[INC_T_RECEIVED];
        /* on_rt_row's set: received .. cleared, those not NULL */
        f.mask = rt_intervals(in.times, in.set & ~(1u << INC_T_OCCURRED), f.v);
        if (rt_load(rt, &f) != 0) {
            fprintf(stderr, "compstat-grow: out of memory loading response times\n");
            return 1;
        }
    }
    if (rt_load_finish(rt) != 0) {
        fprintf(stderr, "compstat-grow: out of memory indexing response times\n");
        return 1;
    }
    double t3 = now_s();
    double rss = proc_mib("VmRSS"), hwm = proc_mib("VmHWM");
    malloc_trim(0);
    double rss_trim = proc_mib("VmRSS");
    double cube_mib = (double)cube_bytes(c) / 1048576.0, sp_mib = (double)sp_bytes(sp) / 1048576.0,
           rt_mib = (double)rt_bytes(rt) / 1048576.0;
    fprintf(stderr,
            "loaded: counts %.2f s + index %.2f s, response times %.2f s, total %.2f s\n"
            "resident %.0f MiB (peak %.0f MiB; %.0f MiB after malloc_trim; %.1f MiB at start)\n"
            "cube %.1f MiB (%llu incidents, %zu series, %zu cells); grid %.1f MiB (%zu entries);"
            " response times %.1f MiB (%zu facts)\n",
            t1 - t0, t2 - t1, t3 - t2, t3 - t0, rss, hwm, rss_trim, rss0, cube_mib,
            (unsigned long long)cube_total(c), cube_series(c), cube_cells(c), sp_mib,
            sp_entries(sp), rt_mib, rt_facts(rt));

    /* The questions. */
    static struct ctx x;
    x.c = c;
    x.sp = sp;
    x.rt = rt;
    x.zone = zone;
    x.g = sp_grid(sp, AGENCY);
    x.pmask[P] = 1;
    x.omask[O] = 1;
    memset(x.allp, 1, sizeof x.allp); /* a bbox, unscoped token: the unassigned too */
    for (int q = 0; q <= Q_HOURDOW; q++) {
        x.cq[q].agency = AGENCY;
        x.cq[q].zone = zone;
        x.cq[q].to = BOUND(today + 1);
    }
    x.cq[Q_YTD].by = CUBE_BY_PRECINCT | CUBE_BY_OFFENSE;
    x.cq[Q_YTD].from = BOUND(jan1);
    x.cq[Q_D28].by = CUBE_BY_CATEGORY;
    x.cq[Q_D28].from = d28_from;
    x.cq[Q_TREND].granularity = CUBE_WEEK;
    x.cq[Q_TREND].offenses = x.omask;
    x.cq[Q_TREND].noffenses = NOFFENSES + 1;
    x.cq[Q_TREND].from = y10_from;
    x.cq[Q_HOURDOW].by = CUBE_BY_HOUR_OF_DAY | CUBE_BY_DAY_OF_WEEK;
    x.cq[Q_HOURDOW].from = y1_from;
    for (int q = Q_D28; q <= Q_HOURDOW; q++) {
        x.cq[q].precincts = x.pmask;
        x.cq[q].nprecincts = NPRECINCTS + 1;
    }
    /* The sheet: h_compstat's six windows for the last full week. */
    compstat_range ranges[COMPSTAT_NPERIODS];
    compstat_periods(today + (7 - cube_iso_dow(today)) - 7, ranges);
    for (int w = 0; w < 6; w++) {
        const compstat_range *r = &ranges[w / 2];
        cube_question *q = &x.sheet[w];
        q->agency = AGENCY;
        q->zone = zone;
        q->by = CUBE_BY_CATEGORY;
        q->precincts = x.pmask;
        q->nprecincts = NPRECINCTS + 1;
        q->from = BOUND(w % 2 ? r->prior_first : r->first);
        q->to = BOUND((w % 2 ? r->prior_last : r->last) + 1);
    }
    /* Hotspots: compstat-bench's bbox (99,600 cells of 100 m). */
    x.bbox[0] = -87.95, x.bbox[1] = 41.65, x.bbox[2] = -87.55, x.bbox[3] = 41.92;
    if (whole_build(x.g, x.bbox, &x.wa) != 0) {
        fprintf(stderr, "compstat-grow: out of memory\n");
        return 1;
    }
    x.gi.agency = x.top.agency = AGENCY;
    x.gi.precincts = x.top.precincts = x.allp;
    x.gi.nprecincts = x.top.nprecincts = NPRECINCTS + 1;
    x.gi.k = x.top.k = 1;
    x.gi.day_from = today - 364;
    x.top.day_from = today - 27;
    x.gi.day_to = x.top.day_to = today + 1;
    /* Response times: no shifts defined for the bench agency. */
    memset(x.quarters, -1, sizeof x.quarters);
    x.rq.agency = AGENCY;
    x.rq.from = y1_from;
    x.rq.to = d28_to;
    x.rq.by = RT_BY_PRECINCT | RT_BY_PRIORITY;
    x.rq.zone = zone;
    x.rq.shift_of_quarter = x.quarters;

    /* Checks: totals, and answers against the generator's own counts. */
    int bad = 0;
#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "CHECK FAILED: " __VA_ARGS__);                                  \
            bad = 1;                                                                        \
        }                                                                                   \
    } while (0)
    {
        CHECK(cube_total(c) == counted, "cube_total %llu != %llu counted\n",
              (unsigned long long)cube_total(c), (unsigned long long)counted);
        CHECK(rt_facts(rt) == (size_t)size, "rt_facts %zu != %lld\n", rt_facts(rt),
              (long long)size);
        sp_question all = {0};
        all.agency = AGENCY;
        all.k = 1;
        all.day_from = INT64_MIN;
        all.day_to = INT64_MAX;
        sp_cell *cells = NULL;
        size_t n = 0;
        uint64_t sum = 0;
        if (sp_count(sp, &all, &cells, &n) == 0)
            for (size_t i = 0; i < n; i++)
                sum += cells[i].count;
        free(cells);
        CHECK(sum == counted, "grid total %llu != %llu counted\n", (unsigned long long)sum,
              (unsigned long long)counted);
        sum = 0;
        if (sp_count(sp, &x.gi, &cells, &n) == 0)
            for (size_t i = 0; i < n; i++)
                sum += cells[i].count;
        free(cells);
        CHECK(sum == chk_gi_year, "grid, a year: %llu != %llu\n", (unsigned long long)sum,
              (unsigned long long)chk_gi_year);
        cube_result res;
        uint64_t got[8] = {0};
        if (cube_query(c, &x.cq[Q_D28], &res) == 0)
            for (size_t i = 0; i < res.n; i++)
                if (res.cells[i].category >= 0 && res.cells[i].category < 8)
                    got[res.cells[i].category] += res.cells[i].count;
        cube_result_free(&res);
        CHECK(memcmp(got, chk_d28, sizeof got) == 0, "28 days by category differ\n");
        uint64_t tr = 0;
        if (cube_query(c, &x.cq[Q_TREND], &res) == 0)
            tr = res.total;
        cube_result_free(&res);
        CHECK(tr == chk_trend, "10-year trend total %llu != %llu\n", (unsigned long long)tr,
              (unsigned long long)chk_trend);
        rt_result rr = {0};
        uint64_t calls = 0;
        if (rt_query(rt, &x.rq, &rr) == 0)
            for (size_t i = 0; i < rr.n; i++)
                calls += rr.groups[i].incidents;
        rt_result_free(&rr);
        CHECK(calls == chk_rt_year, "response times, a year: %llu calls != %llu\n",
              (unsigned long long)calls, (unsigned long long)chk_rt_year);
        fprintf(stderr,
                "checks %s: cube_total = %llu counted of %lld; grid total; 28 days (%llu), "
                "trend (%llu), a year of grid days (%llu) and of calls (%llu) as generated\n",
                bad ? "FAILED" : "ok", (unsigned long long)counted, (long long)size,
                (unsigned long long)(chk_d28[0] + chk_d28[1] + chk_d28[2] + chk_d28[3] +
                                     chk_d28[4] + chk_d28[5] + chk_d28[6] + chk_d28[7]),
                (unsigned long long)chk_trend, (unsigned long long)chk_gi_year,
                (unsigned long long)chk_rt_year);
    }

    /* Timing: per run and question, up to `iters` answers but no more than
       about `budget` seconds' worth (at least 5), nearest-rank p50 / p99;
       the median over runs is reported. */
    double *lat = malloc((size_t)iters * sizeof *lat);
    static double rm[NQ][2][64];
    int used[NQ] = {0};
    if (runs > 64)
        runs = 64;
    for (int r = 0; r < runs; r++) {
        for (int q = 0; q < NQ; q++) {
            double a = now_s();
            if (ask(&x, q) != 0) { /* warm-up, and the estimate */
                fprintf(stderr, "compstat-grow: out of memory answering\n");
                return 1;
            }
            double one = now_s() - a;
            int n = iters;
            if (one > 0 && budget / one < n)
                n = (int)(budget / one);
            if (n < 5)
                n = 5;
            if (n > iters)
                n = iters;
            for (int k = 0; k < n; k++) {
                a = now_s();
                ask(&x, q);
                lat[k] = now_s() - a;
            }
            rm[q][0][r] = pct(lat, n, 0.5);
            rm[q][1][r] = pct(lat, n, 0.99);
            used[q] += n;
            fprintf(stderr, "run %d %-72s p50 %9.4f ms  p99 %9.4f ms  (%d answers)\n", r + 1,
                    q_name[q], rm[q][0][r] * 1e3, rm[q][1][r] * 1e3, n);
        }
    }
    free(lat);

    printf("GROW size=%lld counted=%llu seed=%llu now=%lld runs=%d gen_s=%.3f count_s=%.3f "
           "index_s=%.3f rt_s=%.3f load_s=%.3f rss_mib=%.1f hwm_mib=%.1f trim_mib=%.1f "
           "start_mib=%.1f cube_mib=%.1f sp_mib=%.1f rt_mib=%.1f series=%zu cells=%zu "
           "sp_entries=%zu rt_facts=%zu check=%s",
           (long long)size, (unsigned long long)counted, (unsigned long long)seed,
           (long long)now, runs, gen_s, t1 - t0, t2 - t1, t3 - t2, t3 - t0, rss, hwm, rss_trim,
           rss0, cube_mib, sp_mib, rt_mib, cube_series(c), cube_cells(c), sp_entries(sp),
           rt_facts(rt), bad ? "FAILED" : "ok");
    for (int q = 0; q < NQ; q++)
        printf(" %s_p50_ms=%.5f %s_p99_ms=%.5f %s_n=%d", q_key[q], pct(rm[q][0], runs, 0.5) * 1e3,
               q_key[q], pct(rm[q][1], runs, 0.5) * 1e3, q_key[q], used[q] / runs);
    printf(" sink=%llu\n", (unsigned long long)(x.sink & 1));
    fflush(stdout);

    free(x.wa.cells);
    cellindex_free(&x.wa.map);
    cube_free(c);
    sp_free(sp);
    rt_free(rt);
    tz_free(zone);
    return bad;
}
