/*
 * routes_cube.c -- GET /v1/cube and GET /v1/compstat (API.md "The cube",
 * "COMPSTAT report"), answered from memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "app.h"
#include "areas.h"
#include "compstat.h"
#include "filters.h"
#include "iccs.h"
#include "rfc3339.h"
#include "routes.h"
#include "sbuf.h"
#include "sharing.h"
#include "words.h"
#include "zones.h"

/* The categories of an agency's offenses (ids of analytics_category_id). */
struct categories {
    int *ids;
    int n;
    int max; /* largest id + 1 */
};

static void categories_free(struct categories *c)
{
    free(c->ids);
    memset(c, 0, sizeof *c);
}

static int categories_build(struct categories *c, int agency)
{
    memset(c, 0, sizeof *c);
    int nof = ref_offense_max(app.ref);
    c->ids = malloc(((size_t)nof + 1) * sizeof *c->ids);
    if (c->ids == NULL)
        return -1;
    for (int id = 1; id < nof; id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o == NULL || o->agency_id != agency)
            continue;
        int cat = analytics_category_id(o->category), seen = 0;
        if (cat < 0)
            return -1;
        for (int k = 0; k < c->n; k++)
            seen |= c->ids[k] == cat;
        if (!seen)
            c->ids[c->n++] = cat;
        if (cat + 1 > c->max)
            c->max = cat + 1;
    }
    return 0;
}

static const char *category_name(int id)
{
    const char *n = analytics_category_name(id);
    return n ? n : "";
}

/* A from/to bound of the cube: on a quarter hour. */
static int parse_bound(http_req *r, const char *name, const tz_zone *zone, int64_t *out)
{
    return filter_bound(r, name, zone, CUBE_SLOT,
                        "a quarter hour (the cube counts in 15-minute cells)", out);
}

/* Mark the ids named in a comma list; -1 after replying. */
static int parse_codes(http_req *r, const char *name, uint8_t *mask, int32_t n,
                       const struct categories *cats)
{
    const char *v = qs_get(&r->query, name);
    if (v == NULL)
        return 1; /* no filter */
    if (strcmp(name, "offense") == 0)
        return filter_offenses(r, name, v, mask, n);
    /* category: the cube's category ids */
    char *copy = strdup(v), *tok;
    if (copy == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    for (size_t at = 0; (tok = params_list_next(copy, &at)) != NULL;) {
        int found = 0;
        for (int k = 0; k < cats->n; k++) {
            if (strcmp(category_name(cats->ids[k]), tok) == 0 && cats->ids[k] < n) {
                mask[cats->ids[k]] = 1;
                found = 1;
            }
        }
        if (!found) {
            http_reply_error(r, 422, "invalid_field", name, "unknown %s \"%.64s\"", name, tok);
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

/* An area's code (by=area: the precinct dimension holds area ids), NULL for none. */
static const char *area_code(int32_t id)
{
    const area_node *a = areas_by_id(app.areas, id);
    return a ? a->code : NULL;
}

static const char *precinct_code(int32_t id)
{
    const ref_precinct *p = id > 0 ? ref_precinct_by_id(app.ref, id) : NULL;
    return p ? p->code : NULL;
}

static const char *offense_code(int32_t id)
{
    const ref_offense *o = ref_offense_by_id(app.ref, id);
    return o ? o->code : "";
}

/* Output order: bucket, then the dimensions' ids (cheap, and stable). */
static int cmp_cells(const void *pa, const void *pb)
{
    const cube_cell *a = pa, *b = pb;
    if (a->bucket != b->bucket)
        return a->bucket < b->bucket ? -1 : 1;
    if (a->precinct != b->precinct)
        return a->precinct - b->precinct;
    if (a->offense != b->offense)
        return a->offense - b->offense;
    if (a->category != b->category)
        return a->category - b->category;
    if (a->priority != b->priority)
        return a->priority - b->priority;
    if (a->day_of_week != b->day_of_week)
        return a->day_of_week - b->day_of_week;
    return a->hour_of_day - b->hour_of_day;
}

static void format_bucket(const tz_zone *zone, int64_t local, char buf[RFC3339_BUFSZ])
{
    if (zone == NULL) {
        /* Across agencies: each one's local time, so no one offset. */
        int64_t y, day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
        int m, d;
        int64_t sec = local - day * 86400;
        rfc3339_civil_from_days(day, &y, &m, &d);
        snprintf(buf, RFC3339_BUFSZ, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, m, d,
                 (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
        return;
    }
    /* Fast path: no transition within a day and a quarter, one offset. */
    int64_t utc;
    if (tz_next_change(zone, local - 30 * 3600) > local + 30 * 3600)
        utc = local - tz_offset(zone, local);
    else
        utc = tz_utc(zone, local);
    rfc3339_format(utc, (int)(local - utc), buf);
}

static const char *const granularities[] = {"none", "hour", "day", "week", "month", "year"};

/* ------------------------------------------------------------ rates */

/* A rate in hundredths as a decimal with two places. */
static void put_hundredths(sbuf *b, uint64_t h)
{
    sbuf_uint(b, h / 100);
    sbuf_putc(b, '.');
    sbuf_putc(b, (char)('0' + h / 10 % 10));
    sbuf_putc(b, (char)('0' + h % 10));
}

/* The day number of a local instant (seconds). */
static int64_t local_day(int64_t local)
{
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

/* The year a cell's period ends in: its bucket's last second, or the
   question's (now when `to` is open); a bucket cut short by `to` ends there. */
static int cell_year(const cube_question *q, const cube_cell *c)
{
    int64_t end = q->to != INT64_MAX ? tz_local(q->zone, q->to) : tz_local(q->zone, time(NULL));
    int64_t y;
    int m, d;
    if (q->granularity != CUBE_NONE) {
        int64_t next = c->bucket + (q->granularity == CUBE_HOUR  ? 3600
                                    : q->granularity == CUBE_DAY ? 86400
                                                                 : 7 * 86400);
        if (q->granularity >= CUBE_MONTH) {
            rfc3339_civil_from_days(local_day(c->bucket), &y, &m, &d);
            if (q->granularity == CUBE_YEAR || m == 12)
                next = rfc3339_days_from_civil(y + 1, 1, 1) * 86400;
            else
                next = rfc3339_days_from_civil(y, m + 1, 1) * 86400;
        }
        if (q->to == INT64_MAX || next < end)
            end = next;
    }
    rfc3339_civil_from_days(local_day(end - 1), &y, &m, &d);
    return (int)y;
}

/* The population of a cell, -1 when unknown: its precinct's, or that of
   the precincts the question covers (the last year's answer kept: cells
   come in bucket order). */
struct popcache {
    int year;
    long long pop;
};

/* by=area: the population of the precincts of area `group` the question
   covers; the null group (precincts in no area at the level, and the
   unassigned) has none. */
static long long group_population(const cube_question *q, int32_t group, int year)
{
    if (group <= 0)
        return -1;
    uint8_t *mask = calloc((size_t)q->ngroup, 1);
    if (mask == NULL)
        return -1;
    for (int32_t p = 1; p < q->ngroup; p++)
        mask[p] = q->precinct_group[p] == group &&
                  (!q->precincts || (p < q->nprecincts && q->precincts[p]));
    long long pop = ref_population(app.ref, q->agency, mask, q->ngroup, year);
    free(mask);
    return pop;
}

static long long cell_population(const cube_question *q, const cube_cell *c,
                                 struct popcache *cache)
{
    int year = cell_year(q, c);
    if ((q->by & CUBE_BY_PRECINCT) && q->precinct_group)
        return group_population(q, c->precinct, year);
    if (q->by & CUBE_BY_PRECINCT) {
        const ref_precinct *p = c->precinct > 0 ? ref_precinct_by_id(app.ref, c->precinct) : NULL;
        return p ? ref_precinct_population(p, year) : -1; /* the unassigned: none */
    }
    if (cache->year != year) {
        cache->year = year;
        cache->pop = ref_population(app.ref, q->agency, q->precincts, q->nprecincts, year);
    }
    return cache->pop;
}

/* ,"population":n,"rate_per_100k":r (JSON) or ,n,r (CSV); null / empty when unknown. */
static void put_rate(sbuf *b, uint64_t count, long long pop, int csv)
{
    uint64_t h;
    sbuf_puts(b, csv ? "," : ",\"population\":");
    if (pop >= 0)
        sbuf_int(b, pop);
    else if (!csv)
        sbuf_puts(b, "null");
    sbuf_puts(b, csv ? "," : ",\"rate_per_100k\":");
    if (compstat_rate(count, pop, 1, 1, &h) == 0)
        put_hundredths(b, h);
    else if (!csv)
        sbuf_puts(b, "null");
}

/* by=iccs: not a dimension of the cube but of its offenses (their ICCS
   groups), so a bit above the cube's own. */
#define BY_ICCS 0x100u

struct dims {
    unsigned by; /* enum cube_by bits, and BY_ICCS */
    const char *names[7];
    int n;
    int area; /* by=area: the precinct dimension holds area ids (area_level) */
    int iccs_level;  /* by=iccs: the level of the groups */
    int iccs_folded; /* by=iccs without by=offense: cell.offense holds the group */
    int by_agency;   /* a region reader's by=agency: a cell per agency (h_cube_across) */
};

static int parse_by(http_req *r, struct dims *d)
{
    static const struct {
        const char *name;
        unsigned bit;
    } all[] = {
        {"precinct", CUBE_BY_PRECINCT},       {"offense", CUBE_BY_OFFENSE},
        {"category", CUBE_BY_CATEGORY},       {"priority", CUBE_BY_PRIORITY},
        {"hour_of_day", CUBE_BY_HOUR_OF_DAY}, {"day_of_week", CUBE_BY_DAY_OF_WEEK},
        {"iccs", BY_ICCS},
    };
    memset(d, 0, sizeof *d);
    const char *v = qs_get(&r->query, "by");
    if (v == NULL || *v == '\0')
        return 0;
    char *copy = strdup(v), *tok;
    if (copy == NULL)
        return -1;
    for (size_t at = 0; (tok = params_list_next(copy, &at)) != NULL;) {
        size_t k = 0;
        if (strcmp(tok, "agency") == 0 && r->who.region) {
            d->by_agency = 1;
            continue;
        }
        if (strcmp(tok, "area") == 0 || strcmp(tok, "precinct") == 0) {
            /* Both group the precincts: one or the other. */
            int area = tok[0] == 'a';
            if ((d->by & CUBE_BY_PRECINCT) && d->area != area) {
                http_reply_error(r, 422, "invalid_field", "by",
                                 "by takes precinct or area, not both");
                free(copy);
                return -1;
            }
            if (!(d->by & CUBE_BY_PRECINCT)) {
                d->by |= CUBE_BY_PRECINCT;
                d->area = area;
                d->names[d->n++] = area ? "area" : "precinct";
            }
            continue;
        }
        while (k < 7 && strcmp(all[k].name, tok) != 0)
            k++;
        if (k == 7) {
            http_reply_error(r, 422, "invalid_field", "by",
                             "by takes precinct, area, offense, category, priority, "
                             "hour_of_day, day_of_week, iccs; not \"%.32s\"",
                             tok);
            free(copy);
            return -1;
        }
        if (!(d->by & all[k].bit)) {
            d->by |= all[k].bit;
            d->names[d->n++] = all[k].name;
        }
    }
    free(copy);
    return 0;
}

/* ------------------------------------------------------------ ICCS */

/* An offense's ICCS group at level (iccs_group): -1 when it has none there. */
static long offense_iccs_group(int32_t id, int level)
{
    const ref_offense *o = ref_offense_by_id(app.ref, id);
    return iccs_group(o ? o->iccs : NULL, level);
}

/* A cell's ICCS code at the question's level into code, or NULL (none). */
static const char *cell_iccs(const cube_cell *c, const struct dims *d,
                             char code[ICCS_CODE_MAX])
{
    long g = d->iccs_folded ? c->offense : offense_iccs_group(c->offense, d->iccs_level);
    return g < 0 ? NULL : iccs_group_code(g, d->iccs_level, code);
}

/*
 * Narrow the offense filter by iccs= (orc: parse_codes' answer for
 * offense=, the mask omask of n entries): both given, an offense must pass
 * both. Returns 0 when the offense mask is now a filter, 1 when there is
 * none, -1 after replying.
 */
static int apply_iccs_filter(http_req *r, uint8_t *omask, int32_t n, int orc)
{
    uint8_t *imask = calloc((size_t)n, 1);
    if (imask == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    const char *v = qs_get(&r->query, "iccs");
    int irc = v == NULL ? 1 : filter_iccs(r, "iccs", v, imask, n) == 0 ? 0 : -1;
    if (irc == 0)
        for (int32_t id = 0; id < n; id++)
            omask[id] = (orc == 0 ? omask[id] : 1) & imask[id];
    free(imask);
    return irc < 0 ? -1 : irc == 0 ? 0 : orc;
}

/*
 * iccs_level= (1..4, default 2), which only a question by ICCS takes
 * (by_iccs). 0 and *level, or -1 after replying.
 */
static int parse_iccs_level(http_req *r, int by_iccs, const char *needs, int *level)
{
    long v = 2;
    if (filter_int(r, "iccs_level", 1, 4, &v) != 0)
        return -1;
    if (!by_iccs && qs_get(&r->query, "iccs_level")) {
        http_reply_error(r, 422, "invalid_field", "iccs_level", "iccs_level applies to %s",
                         needs);
        return -1;
    }
    *level = (int)v;
    return 0;
}

static int cmp_cells(const void *pa, const void *pb);

/*
 * by=iccs without by=offense: the cube was asked by offense; each cell's
 * offense becomes its ICCS group (cell.offense holds the group from here
 * on, -1 for none) and the cells of one group become one.
 */
static void iccs_fold(cube_result *res, int level)
{
    for (size_t i = 0; i < res->n; i++)
        res->cells[i].offense = (int32_t)offense_iccs_group(res->cells[i].offense, level);
    if (res->n > 1)
        qsort(res->cells, res->n, sizeof *res->cells, cmp_cells);
    size_t w = 0;
    for (size_t i = 0; i < res->n; i++) {
        if (w > 0 && cmp_cells(&res->cells[w - 1], &res->cells[i]) == 0)
            res->cells[w - 1].count += res->cells[i].count;
        else
            res->cells[w++] = res->cells[i];
    }
    res->n = w;
}

/* One cell as JSON, written straight into b (thousands of cells per answer). */
static void json_cell(sbuf *b, const cube_cell *c, const struct dims *d, int gran,
                      const tz_zone *zone, int rates, long long pop, const char *agency)
{
    char buf[RFC3339_BUFSZ];
    sbuf_putc(b, '{');
    if (agency) {
        sbuf_puts(b, "\"agency\":");
        sbuf_json_str(b, agency);
        sbuf_putc(b, ',');
    }
    if (d->by & CUBE_BY_PRECINCT) {
        sbuf_puts(b, d->area ? "\"area\":" : "\"precinct\":");
        sbuf_json_str(b, d->area ? area_code(c->precinct) : precinct_code(c->precinct));
        sbuf_putc(b, ',');
    }
    if (d->by & CUBE_BY_OFFENSE) {
        sbuf_puts(b, "\"offense\":");
        sbuf_json_str(b, offense_code(c->offense));
        sbuf_putc(b, ',');
    }
    if (d->by & CUBE_BY_CATEGORY) {
        sbuf_puts(b, "\"category\":");
        sbuf_json_str(b, category_name(c->category));
        sbuf_putc(b, ',');
    }
    if (d->by & CUBE_BY_PRIORITY) {
        if (c->priority >= 0)
            sbuf_printf(b, "\"priority\":%d,", c->priority);
        else
            sbuf_puts(b, "\"priority\":null,");
    }
    if (d->by & CUBE_BY_HOUR_OF_DAY) {
        sbuf_puts(b, "\"hour_of_day\":");
        sbuf_int(b, c->hour_of_day);
        sbuf_putc(b, ',');
    }
    if (d->by & CUBE_BY_DAY_OF_WEEK) {
        sbuf_puts(b, "\"day_of_week\":");
        sbuf_int(b, c->day_of_week);
        sbuf_putc(b, ',');
    }
    if (d->by & BY_ICCS) {
        char code[ICCS_CODE_MAX];
        sbuf_puts(b, "\"iccs\":");
        sbuf_json_str(b, cell_iccs(c, d, code));
        sbuf_putc(b, ',');
    }
    if (gran != CUBE_NONE) {
        format_bucket(zone, c->bucket, buf);
        sbuf_puts(b, "\"bucket\":\"");
        sbuf_puts(b, buf);
        sbuf_puts(b, "\",");
    }
    sbuf_puts(b, "\"count\":");
    sbuf_uint(b, c->count);
    if (rates)
        put_rate(b, c->count, pop, 0);
    sbuf_putc(b, '}');
}

static void csv_cell(sbuf *b, const cube_cell *c, const struct dims *d, int gran,
                     const tz_zone *zone, int rates, long long pop, const char *agency)
{
    char buf[RFC3339_BUFSZ];
    if (agency) {
        sbuf_csv_field(b, agency);
        sbuf_putc(b, ',');
    }
    if (gran != CUBE_NONE) {
        format_bucket(zone, c->bucket, buf);
        sbuf_printf(b, "%s,", buf);
    }
    for (int i = 0; i < d->n; i++) {
        const char *n = d->names[i];
        if (strcmp(n, "precinct") == 0)
            sbuf_csv_field(b, precinct_code(c->precinct));
        else if (strcmp(n, "area") == 0)
            sbuf_csv_field(b, area_code(c->precinct));
        else if (strcmp(n, "offense") == 0)
            sbuf_csv_field(b, offense_code(c->offense));
        else if (strcmp(n, "category") == 0)
            sbuf_csv_field(b, category_name(c->category));
        else if (strcmp(n, "priority") == 0) {
            if (c->priority >= 0)
                sbuf_printf(b, "%d", c->priority);
        } else if (strcmp(n, "hour_of_day") == 0) {
            sbuf_printf(b, "%d", c->hour_of_day);
        } else if (strcmp(n, "iccs") == 0) {
            char code[ICCS_CODE_MAX];
            const char *v = cell_iccs(c, d, code);
            if (v)
                sbuf_csv_field(b, v);
        } else
            sbuf_printf(b, "%d", c->day_of_week);
        sbuf_putc(b, ',');
    }
    sbuf_uint(b, c->count);
    if (rates)
        put_rate(b, c->count, pop, 1);
    sbuf_puts(b, "\r\n");
}

/* What a cube question asks. */
struct cubeq {
    cube_question q;
    struct dims d;
    struct categories cats;
    uint8_t *pmask, *omask, *cmask;
    int32_t *pgroup; /* by=area: precinct -> its area at area_level */
    int csv;
    int rates; /* rates=true: each cell's population and rate per 100,000 */
};

static void cubeq_free(struct cubeq *x)
{
    free(x->pgroup);
    free(x->pmask);
    free(x->omask);
    free(x->cmask);
    categories_free(&x->cats);
}

/* Read and check the question into x (zeroed first). 0, or -1 after replying. */
static int read_cube_question(http_req *r, struct cubeq *x)
{
    static const char *const allowed[] = {"from",        "to",         "by",       "precinct",
                                          "area",        "area_level", "offense",  "category",
                                          "priority",    "granularity", "format",  "rates",
                                          "iccs",        "iccs_level", "program",  NULL};
    memset(x, 0, sizeof *x);
    if (http_check_params(r, allowed) != 0)
        return -1;
    cube_question *q = &x->q;
    q->agency = r->who.agency_id;
    q->from = INT64_MIN;
    q->to = INT64_MAX;
    q->zone = zone_of_agency(r->who.agency_id);
    int32_t np = ref_precinct_max(app.ref) + 1, no = ref_offense_max(app.ref) + 1;
    if (categories_build(&x->cats, q->agency) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    const char *v = qs_get(&r->query, "format");
    if (v && strcmp(v, "csv") == 0)
        x->csv = 1;
    else if (v && strcmp(v, "json") != 0) {
        http_reply_error(r, 422, "invalid_field", "format", "format must be json or csv");
        return -1;
    }
    if (parse_bound(r, "from", q->zone, &q->from) || parse_bound(r, "to", q->zone, &q->to) ||
        parse_by(r, &x->d) || filter_bool(r, "rates", &x->rates))
        return -1;
    if (x->d.area) {
        if (filter_area_level(r, &x->pgroup, &q->ngroup) != 0)
            return -1;
        q->precinct_group = x->pgroup;
    }
    v = qs_get(&r->query, "granularity");
    if (v) {
        int g = 0;
        while (g < 6 && strcmp(granularities[g], v) != 0)
            g++;
        if (g == 6) {
            http_reply_error(r, 422, "invalid_field", "granularity",
                             "granularity must be none, hour, day, week, month or year");
            return -1;
        }
        q->granularity = g;
    }
    x->pmask = calloc((size_t)np, 1);
    x->omask = calloc((size_t)no, 1);
    if (!x->pmask || !x->omask) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    int restricts = filter_precinct_mask(r, x->pmask, np);
    if (restricts < 0)
        return -1;
    if (restricts) {
        q->precincts = x->pmask;
        q->nprecincts = np;
    }
    int orc = parse_codes(r, "offense", x->omask, no, &x->cats);
    if (orc >= 0)
        orc = apply_iccs_filter(r, x->omask, no, orc);
    if (orc < 0)
        return -1;
    if (filter_offense_scope(r, x->omask, no, orc == 0))
        orc = 0; /* a region reader: what its agency shares */
    if (orc == 0) {
        q->offenses = x->omask;
        q->noffenses = no;
    }
    x->cmask = calloc((size_t)x->cats.max + 1, 1);
    int crc = x->cmask ? parse_codes(r, "category", x->cmask, x->cats.max, &x->cats) : -1;
    if (crc < 0)
        return -1;
    if (crc == 0) {
        q->categories = x->cmask;
        q->ncategories = x->cats.max;
    }
    if (filter_priorities(r, "priority", &q->priorities) != 0)
        return -1;
    if (parse_iccs_level(r, x->d.by & BY_ICCS, "by=iccs", &x->d.iccs_level) != 0)
        return -1;
    q->by = x->d.by & ~BY_ICCS;
    if (x->d.by & BY_ICCS) {
        /* Counted by offense, then each offense under its group. */
        x->d.iccs_folded = !(q->by & CUBE_BY_OFFENSE);
        q->by |= CUBE_BY_OFFENSE;
    }
    return 0;
}

static void render_cube_csv(sbuf *b, const struct cubeq *x, const cube_result *res)
{
    if (x->q.granularity != CUBE_NONE)
        sbuf_puts(b, "bucket,");
    for (int i = 0; i < x->d.n; i++)
        sbuf_printf(b, "%s,", x->d.names[i]);
    sbuf_puts(b, x->rates ? "count,population,rate_per_100k\r\n" : "count\r\n");
    struct popcache cache = {INT32_MIN, -1};
    for (size_t i = 0; i < res->n; i++)
        csv_cell(b, &res->cells[i], &x->d, x->q.granularity, x->q.zone, x->rates,
                 x->rates ? cell_population(&x->q, &res->cells[i], &cache) : -1, NULL);
}

static void render_cube_json(sbuf *b, const struct cubeq *x, const cube_result *res)
{
    const cube_question *q = &x->q;
    char buf[RFC3339_BUFSZ];
    sbuf_puts(b, "{\"from\":");
    if (q->from != INT64_MIN)
        sbuf_printf(b, "\"%s\"", rfc3339_format(q->from, tz_offset(q->zone, q->from), buf));
    else
        sbuf_puts(b, "null");
    sbuf_puts(b, ",\"to\":");
    if (q->to != INT64_MAX)
        sbuf_printf(b, "\"%s\"", rfc3339_format(q->to, tz_offset(q->zone, q->to), buf));
    else
        sbuf_puts(b, "null");
    sbuf_puts(b, ",\"by\":[");
    for (int i = 0; i < x->d.n; i++)
        sbuf_printf(b, "%s\"%s\"", i ? "," : "", x->d.names[i]);
    sbuf_printf(b, "],\"granularity\":\"%s\",\"cells\":[", granularities[q->granularity]);
    struct popcache cache = {INT32_MIN, -1};
    for (size_t i = 0; i < res->n; i++) {
        if (i)
            sbuf_putc(b, ',');
        json_cell(b, &res->cells[i], &x->d, q->granularity, q->zone, x->rates,
                  x->rates ? cell_population(q, &res->cells[i], &cache) : -1, NULL);
    }
    sbuf_printf(b, "],\"total\":%llu,\"as_of\":\"%s\"}\n", (unsigned long long)res->total,
                rfc3339_format_ms(res->as_of, 0, buf));
}

/* ------------------------------------------------------------ across agencies */

/* One agency's part of a regional question. */
struct part {
    struct cubeq x;
    cube_result res;
    int agency;
    struct popcache cache;
};

/* A cell of the merged answer: which part it came from. */
struct xcell {
    cube_cell c;
    int part;
};

static int cmp_xcells(const void *pa, const void *pb)
{
    return cmp_cells(&((const struct xcell *)pa)->c, &((const struct xcell *)pb)->c);
}

static const char *part_agency(const struct part *p)
{
    const ref_agency *a = ref_agency_by_id(app.ref, p->agency);
    return a ? a->code : "";
}

/* A merged cell's population: the sum of every part's (unknown if any is). */
static long long merged_population(struct part *parts, int n, const cube_cell *c)
{
    long long sum = 0;
    for (int i = 0; i < n; i++) {
        long long pop = cell_population(&parts[i].x.q, c, &parts[i].cache);
        if (pop < 0)
            return -1;
        sum += pop;
    }
    return sum;
}

static void render_across(http_req *r, sbuf *b, struct part *parts, int n, const struct xcell *cells,
                          size_t ncells, int merged)
{
    const struct cubeq *x0 = &parts[0].x;
    const struct dims *d = &x0->d;
    int gran = x0->q.granularity;
    uint64_t total = 0;
    int64_t as_of = 0;
    for (int i = 0; i < n; i++) {
        total += parts[i].res.total;
        if (parts[i].res.as_of > as_of)
            as_of = parts[i].res.as_of;
    }
    char buf[RFC3339_BUFSZ];
    if (x0->csv) {
        if (d->by_agency)
            sbuf_puts(b, "agency,");
        if (gran != CUBE_NONE)
            sbuf_puts(b, "bucket,");
        for (int i = 0; i < d->n; i++)
            sbuf_printf(b, "%s,", d->names[i]);
        sbuf_puts(b, x0->rates ? "count,population,rate_per_100k\r\n" : "count\r\n");
    } else {
        /* from and to as asked: each agency reads them in its own zone. */
        const char *bound[2] = {qs_get(&r->query, "from"), qs_get(&r->query, "to")};
        for (int i = 0; i < 2; i++) {
            sbuf_puts(b, i ? ",\"to\":" : "{\"from\":");
            if (bound[i])
                sbuf_json_str(b, bound[i]);
            else
                sbuf_puts(b, "null");
        }
        sbuf_puts(b, ",\"agencies\":[");
        for (int i = 0; i < n; i++) {
            if (i)
                sbuf_putc(b, ',');
            sbuf_json_str(b, part_agency(&parts[i]));
        }
        sbuf_puts(b, "],\"by\":[");
        int k = 0;
        if (d->by_agency)
            sbuf_puts(b, k++ ? ",\"agency\"" : "\"agency\"");
        for (int i = 0; i < d->n; i++)
            sbuf_printf(b, "%s\"%s\"", k++ ? "," : "", d->names[i]);
        sbuf_printf(b, "],\"granularity\":\"%s\",\"cells\":[", granularities[gran]);
    }
    for (size_t i = 0; i < ncells; i++) {
        struct part *p = &parts[cells[i].part];
        long long pop = !x0->rates ? -1
                        : merged   ? merged_population(parts, n, &cells[i].c)
                                   : cell_population(&p->x.q, &cells[i].c, &p->cache);
        const tz_zone *zone = merged ? NULL : p->x.q.zone;
        const char *agency = d->by_agency ? part_agency(p) : NULL;
        if (x0->csv) {
            csv_cell(b, &cells[i].c, d, gran, zone, x0->rates, pop, agency);
        } else {
            if (i)
                sbuf_putc(b, ',');
            json_cell(b, &cells[i].c, d, gran, zone, x0->rates, pop, agency);
        }
    }
    if (!x0->csv)
        sbuf_printf(b, "],\"total\":%llu,\"as_of\":\"%s\"}\n", (unsigned long long)total,
                    rfc3339_format_ms(as_of, 0, buf));
}

/*
 * A region reader's cube without agency= (every agency sharing with its
 * region), or with by=agency: each agency's cube asked in its own time zone
 * with its own terms, then the cells side by side (by=agency) or summed
 * (a regional "week" is then each agency's local week). Without by=agency,
 * what is each agency's own -- precincts, areas, offense codes, categories
 * as filters -- cannot be asked across agencies.
 */
static void h_cube_across(http_req *r)
{
    int ids[256];
    int n = r->who.agency_id ? 1 : sharing_agencies(r, ids, 256);
    if (r->who.agency_id)
        ids[0] = r->who.agency_id;
    if (n == 0) {
        http_reply_error(r, 403, "forbidden", "agency",
                         "no agency shares anything with your region yet");
        return;
    }
    static const char *const own[] = {"precinct", "area", "area_level", "offense", "category",
                                      NULL};
    for (int i = 0; !r->who.agency_id && own[i]; i++) {
        if (qs_get(&r->query, own[i])) {
            http_reply_error(r, 422, "invalid_field", own[i],
                             "%s is each agency's own: name the agency with agency=CODE (or "
                             "filter by iccs= across agencies)",
                             own[i]);
            return;
        }
    }
    const char *program = qs_get(&r->query, "program");
    if (program && !r->who.agency_id) {
        /* A program: the agencies with precincts in it. */
        int k = 0;
        for (int i = 0; i < n; i++)
            if (sharing_program_has_agency(r, program, ids[i]))
                ids[k++] = ids[i];
        if (k == 0) {
            uint8_t none = 0;
            if (filter_program(r, program, &none, 0) != 0)
                return; /* no such program */
            k = n > 0 ? 1 : 0; /* a program of nothing shared: count nothing in the first */
            n = k;
        } else {
            n = k;
        }
    }
    struct part *parts = calloc((size_t)n, sizeof *parts);
    if (parts == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    int done = 0, failed = 0;
    size_t ncells = 0;
    for (; done < n && !failed; done++) {
        struct part *p = &parts[done];
        p->agency = ids[done];
        p->cache.year = INT32_MIN;
        p->cache.pop = -1;
        if (sharing_enter(r, ids[done]) != 0) {
            http_reply_error(r, 500, "internal", NULL, "out of memory");
            failed = 1;
        } else if (read_cube_question(r, &p->x) != 0) {
            failed = 1;
        } else if (cube_query(analytics_cube(), &p->x.q, &p->res) != 0) {
            http_reply_error(r, 500, "internal", NULL, "out of memory");
            failed = 1;
        } else if (p->x.d.iccs_folded) {
            iccs_fold(&p->res, p->x.d.iccs_level);
        }
        ncells += failed ? 0 : p->res.n;
    }
    const struct dims *d = &parts[0].x.d;
    int merged = !failed && !d->by_agency && n > 1;
    if (merged && ((d->by & CUBE_BY_PRECINCT) || ((d->by & CUBE_BY_OFFENSE) && !d->iccs_folded))) {
        http_reply_error(r, 422, "invalid_field", "by",
                         "precincts, areas and offenses are each agency's own: add agency to by "
                         "(by=agency,...) or name the agency with agency=CODE");
        failed = 1;
    }
    struct xcell *cells = failed ? NULL : calloc(ncells ? ncells : 1, sizeof *cells);
    if (!failed && cells == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        failed = 1;
    }
    if (!failed) {
        size_t k = 0;
        for (int i = 0; i < n; i++)
            for (size_t j = 0; j < parts[i].res.n; j++) {
                cells[k].c = parts[i].res.cells[j];
                cells[k++].part = i;
            }
        if (merged) {
            /* The same cell of several agencies summed. */
            qsort(cells, ncells, sizeof *cells, cmp_xcells);
            size_t w = 0;
            for (size_t i = 0; i < ncells; i++) {
                if (w > 0 && cmp_cells(&cells[w - 1].c, &cells[i].c) == 0)
                    cells[w - 1].c.count += cells[i].c.count;
                else
                    cells[w++] = cells[i];
            }
            ncells = w;
        } else {
            /* By agency (code order), each agency's cells in cube order. */
            size_t start = 0;
            for (int i = 0; i < n; i++) {
                if (!parts[i].x.d.iccs_folded && parts[i].res.n > 1)
                    qsort(cells + start, parts[i].res.n, sizeof *cells, cmp_xcells);
                start += parts[i].res.n;
            }
        }
        sbuf b;
        sbuf_init(&b);
        render_across(r, &b, parts, n, cells, ncells, merged);
        if (sbuf_failed(&b))
            http_reply_error(r, 500, "internal", NULL, "out of memory");
        else
            http_reply_raw(r, 200, parts[0].x.csv ? "text/csv; charset=utf-8" : "application/json",
                           sbuf_str(&b), b.len);
        sbuf_free(&b);
    }
    free(cells);
    for (int i = 0; i < n; i++) {
        if (i < done)
            cube_result_free(&parts[i].res);
        cubeq_free(&parts[i].x);
    }
    free(parts);
}

void h_cube(http_req *r)
{
    struct cubeq x;
    cube_result res;
    if (r->who.region) {
        /* A region reader: across agencies, or with an agency column. */
        const char *by = qs_get(&r->query, "by");
        int by_agency = 0;
        char *copy = by ? strdup(by) : NULL, *tok;
        for (size_t at = 0; copy && (tok = params_list_next(copy, &at)) != NULL;)
            by_agency |= strcmp(tok, "agency") == 0;
        free(copy);
        if (r->who.agency_id == 0 || by_agency) {
            h_cube_across(r);
            return;
        }
    }
    if (read_cube_question(r, &x) != 0) {
        cubeq_free(&x);
        return;
    }
    if (cube_query(analytics_cube(), &x.q, &res) != 0) {
        cubeq_free(&x);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    if (x.d.iccs_folded)
        iccs_fold(&res, x.d.iccs_level);
    else if (res.n > 1)
        qsort(res.cells, res.n, sizeof *res.cells, cmp_cells);
    sbuf b;
    sbuf_init(&b);
    if (x.csv) {
        char buf[RFC3339_BUFSZ];
        render_cube_csv(&b, &x, &res);
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "X-As-Of",
                          rfc3339_format_ms(res.as_of, 0, buf));
    } else {
        render_cube_json(&b, &x, &res);
    }
    if (sbuf_failed(&b))
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    else if (x.csv)
        http_reply_raw(r, 200, "text/csv; charset=utf-8", sbuf_str(&b), b.len);
    else
        http_reply_raw(r, 200, "application/json", sbuf_str(&b), b.len);
    sbuf_free(&b);
    cube_result_free(&res);
    cubeq_free(&x);
}

/* ------------------------------------------------------------ COMPSTAT */

/* ,"rate":..,"rate_prior":..,"rate_annual":.. per 100,000 of pop[0] (the
   population the period ends in) and pop[1] (its prior's); null unknown. */
static void put_sheet_rates(sbuf *b, uint64_t cur, uint64_t prior, const compstat_range *range,
                            const long long pop[2])
{
    uint64_t h;
    uint64_t days = (uint64_t)(range->last - range->first + 1);
    const char *const keys[3] = {",\"rate\":", ",\"rate_prior\":", ",\"rate_annual\":"};
    for (int k = 0; k < 3; k++) {
        sbuf_puts(b, keys[k]);
        if (compstat_rate(k == 1 ? prior : cur, pop[k == 1], k == 2 ? 365 : 1, k == 2 ? days : 1,
                          &h) == 0)
            put_hundredths(b, h);
        else
            sbuf_puts(b, "null");
    }
}

/* "name":{"current":..,"prior":..,"pct_change":..,"z":..} -- by hand, not
   printf: a sheet has 27 of these, and formatting them with printf was two
   thirds of the request's instructions (BENCHMARKS.md, tools/bench profile). */
static void put_period(sbuf *b, const char *name, uint64_t cur, uint64_t prior,
                       const compstat_range *range, const long long pop[2])
{
    int64_t tenths;
    sbuf_putc(b, '"');
    sbuf_puts(b, name);
    sbuf_puts(b, "\":{\"current\":");
    sbuf_uint(b, cur);
    sbuf_puts(b, ",\"prior\":");
    sbuf_uint(b, prior);
    sbuf_puts(b, ",\"pct_change\":");
    if (compstat_pct_change(cur, prior, &tenths) != 0) {
        sbuf_puts(b, "null");
    } else {
        uint64_t a = tenths < 0 ? (uint64_t)-tenths : (uint64_t)tenths;
        if (tenths < 0)
            sbuf_putc(b, '-');
        sbuf_uint(b, a / 10);
        sbuf_putc(b, '.');
        sbuf_putc(b, (char)('0' + a % 10));
    }
    sbuf_puts(b, ",\"z\":");
    sbuf_fixed(b, compstat_z(cur, prior), 2);
    /* The exact test of the two counts, over the periods' own lengths
       (a year to date holding 29 February is a day longer). */
    double pv = compstat_p_value(cur, prior, (double)(range->last - range->first + 1),
                                 (double)(range->prior_last - range->prior_first + 1));
    sbuf_puts(b, ",\"p\":");
    if (pv > 0 && pv < 1e-4) {
        char num[32];
        snprintf(num, sizeof num, "%.3e", pv);
        sbuf_puts(b, num);
    } else {
        sbuf_fixed(b, pv, 4);
    }
    sbuf_puts(b, pv < COMPSTAT_ALPHA ? ",\"significant\":true" : ",\"significant\":false");
    put_sheet_rates(b, cur, prior, range, pop);
    sbuf_putc(b, '}');
}

/* "YYYY-MM-DD" of a day number (days since 1970-01-01). */
static void put_date(sbuf *b, int64_t days)
{
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        sbuf_printf(b, "%04lld-%02d-%02d", (long long)y, m, d);
        return;
    }
    char s[10] = {(char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
                  (char)('0' + y % 10),   '-', (char)('0' + m / 10), (char)('0' + m % 10),
                  '-', (char)('0' + d / 10), (char)('0' + d % 10)};
    sbuf_append(b, s, sizeof s);
}

static int category_rank(const char *name)
{
    static const char *const order[] = {"murder",        "rape",          "robbery",
                                        "felony_assault", "burglary",      "grand_larceny",
                                        "grand_larceny_auto"};
    for (int i = 0; i < 7; i++)
        if (strcmp(order[i], name) == 0)
            return i;
    return 7;
}

static int cmp_cat(const void *a, const void *b)
{
    const char *x = category_name(*(const int *)a), *y = category_name(*(const int *)b);
    int rx = category_rank(x), ry = category_rank(y);
    if (rx != ry)
        return rx - ry;
    return strcmp(x, y);
}

static const char *const pnames[3] = {"week", "d28", "ytd"};

/* What a COMPSTAT sheet asks, and what is gathered for it. */
struct sheet {
    const ref_precinct *prec; /* NULL: the whole agency, or the area */
    const area_node *area;    /* the sheet of an area's precincts (within the token's) */
    const char *program;      /* a region reader's program: its precincts of the agency */
    int64_t wday;             /* the week's Sunday, a day number */
    compstat_range ranges[COMPSTAT_NPERIODS];
    struct categories cats;
    int32_t no;
    uint8_t *pmask, *omask, *cmask;
    int orc, crc; /* parse_codes: 0 when an offense or category filter was given */
    const uint8_t *scope; /* a region reader's shared offenses (x->no of them), else NULL */
    cube_question q;
    /* rows=iccs: the level, with each of the agency's offenses' row (groups,
       by offense id) and the rows' groups (keys, -1: no code there); 0 for
       rows by category */
    int iccs_level;
    int *groups;
    long *keys;
    int nrows;
    /* gathered: per row (category, or ICCS group; the last: the total) six
       counts, period by period, current then prior */
    uint64_t *counts;
    int prior_data[3]; /* -1: not known (the prior count failed) */
    long long pop[3][2]; /* the geography's population, period by period; -1 unknown */
    int64_t as_of;
};

static void sheet_free(struct sheet *x)
{
    free(x->pmask);
    free(x->omask);
    free(x->cmask);
    free(x->counts);
    free(x->groups);
    free(x->keys);
    categories_free(&x->cats);
}

static int cmp_key(const void *pa, const void *pb)
{
    long a = *(const long *)pa, b = *(const long *)pb;
    if (a < 0 || b < 0) /* none: last */
        return (a < 0) - (b < 0);
    return a < b ? -1 : a > b;
}

/*
 * rows=iccs: one row per ICCS group of the agency's offenses at x's level,
 * in code order and the unclassified last (x->keys), and each offense's
 * row (x->groups). 0, or -1 out of memory.
 */
static int sheet_iccs_rows(struct sheet *x)
{
    x->groups = malloc((size_t)x->no * sizeof *x->groups);
    x->keys = malloc((size_t)x->no * sizeof *x->keys);
    if (!x->groups || !x->keys)
        return -1;
    x->nrows = 0;
    for (int32_t id = 0; id < x->no; id++) {
        const ref_offense *o = id ? ref_offense_by_id(app.ref, id) : NULL;
        x->groups[id] = -1;
        if (o == NULL || o->agency_id != x->q.agency)
            continue;
        long g = iccs_group(o->iccs, x->iccs_level);
        int k = 0;
        while (k < x->nrows && x->keys[k] != g)
            k++;
        if (k == x->nrows)
            x->keys[x->nrows++] = g;
    }
    if (x->nrows > 1)
        qsort(x->keys, (size_t)x->nrows, sizeof *x->keys, cmp_key);
    for (int32_t id = 1; id < x->no; id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o == NULL || o->agency_id != x->q.agency)
            continue;
        long g = iccs_group(o->iccs, x->iccs_level);
        int k = 0;
        while (x->keys[k] != g)
            k++;
        x->groups[id] = k;
    }
    return 0;
}

/* The precinct, week and filters of the sheet into x (zeroed first). 0, or -1 after replying. */
static int read_sheet_question(http_req *r, struct sheet *x)
{
    static const char *const allowed[] = {"precinct", "area", "week_ending", "offense",
                                          "category", "rows", "iccs_level",  "iccs",
                                          "program",  NULL};
    memset(x, 0, sizeof *x);
    if (http_check_params(r, allowed) != 0)
        return -1;
    const tz_zone *zone = zone_of_agency(r->who.agency_id);
    const char *pc = qs_get(&r->query, "precinct"), *av = qs_get(&r->query, "area");
    if (pc && av) {
        http_reply_error(r, 422, "invalid_field", "area", "give precinct or area, not both");
        return -1;
    }
    x->program = qs_get(&r->query, "program");
    if (x->program && (pc || av || r->who.region == NULL)) {
        http_reply_error(r, 422, "invalid_field", "program",
                         r->who.region ? "give program, precinct or area, not two of them"
                                       : "program= is for region readers: an agency names its "
                                         "precincts or areas");
        return -1;
    }
    if (x->program) {
        /* A region's program: its precincts of this agency (filled below). */
    } else if (av) {
        x->area = areas_by_code(app.areas, av);
        if (x->area == NULL || x->area->agency_id != r->who.agency_id) {
            http_reply_error(r, 422, "invalid_field", "area", "unknown area \"%.64s\"", av);
            return -1;
        }
    } else if (pc) {
        x->prec = ref_precinct_by_code(app.ref, pc);
        if (x->prec == NULL || x->prec->agency_id != r->who.agency_id) {
            http_reply_error(r, 422, "invalid_field", "precinct", "unknown precinct \"%.64s\"", pc);
            return -1;
        }
        if (!principal_allows(&r->who, x->prec->code)) {
            http_reply_error(r, 403, "forbidden", "precinct", "this token may not read precinct %s",
                             x->prec->code);
            return -1;
        }
    } else if (r->who.nprecincts >= 0) {
        http_reply_error(r, 403, "forbidden", "precinct",
                         "this token is limited to some precincts: name one with precinct=");
        return -1;
    }
    const char *we = qs_get(&r->query, "week_ending");
    if (we) {
        int y, m, d;
        if (rfc3339_parse_date(we, &y, &m, &d) != 0) {
            http_reply_error(r, 422, "invalid_field", "week_ending",
                             "week_ending must be a date YYYY-MM-DD, years 1900 to 2199");
            return -1;
        }
        x->wday = rfc3339_days_from_civil(y, m, d);
        if (cube_iso_dow(x->wday) != 7) {
            http_reply_error(r, 422, "invalid_field", "week_ending",
                             "week_ending must be a Sunday (weeks run Monday to Sunday)");
            return -1;
        }
    } else {
        int64_t today = tz_local(zone, (int64_t)time(NULL));
        today = today >= 0 ? today / 86400 : -((-today + 86399) / 86400);
        x->wday = compstat_week_ending(today);
    }
    compstat_periods(x->wday, x->ranges);
    const char *rows = qs_get(&r->query, "rows");
    if (rows && strcmp(rows, "iccs") != 0 && strcmp(rows, "category") != 0) {
        http_reply_error(r, 422, "invalid_field", "rows", "rows must be category or iccs");
        return -1;
    }
    int by_iccs = rows && strcmp(rows, "iccs") == 0;
    if (parse_iccs_level(r, by_iccs, "rows=iccs", &x->iccs_level) != 0)
        return -1;
    if (!by_iccs)
        x->iccs_level = 0;
    if (categories_build(&x->cats, r->who.agency_id) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    int32_t np = ref_precinct_max(app.ref) + 1;
    x->no = ref_offense_max(app.ref) + 1;
    x->pmask = calloc((size_t)np, 1);
    x->omask = calloc((size_t)x->no, 1);
    x->cmask = calloc((size_t)x->cats.max + 1, 1);
    cube_question *q = &x->q;
    q->agency = r->who.agency_id;
    x->nrows = x->cats.max;
    if (x->iccs_level && sheet_iccs_rows(x) != 0)
        x->nrows = -1;
    x->counts = x->nrows >= 0 ? calloc((size_t)(x->nrows + 1) * 6, sizeof *x->counts) : NULL;
    if (!x->pmask || !x->omask || !x->cmask || !x->counts) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    q->zone = zone;
    q->by = x->iccs_level ? CUBE_BY_OFFENSE : CUBE_BY_CATEGORY;
    if (x->prec || x->area || x->program) {
        if (x->prec)
            x->pmask[x->prec->id] = 1;
        else if (x->program && filter_program(r, x->program, x->pmask, np) != 0)
            return -1;
        else if (x->area)
            areas_cover(app.areas, x->area->id, x->pmask, np);
        filter_scope(r, x->pmask, np, 1);
        q->precincts = x->pmask;
        q->nprecincts = np;
    }
    /* The sheet of some offenses or categories: its rows are still
       categories, or ICCS groups (those the filter leaves), and the total
       theirs. iccs= is an offense filter. */
    x->orc = parse_codes(r, "offense", x->omask, x->no, &x->cats);
    if (x->orc >= 0)
        x->orc = apply_iccs_filter(r, x->omask, x->no, x->orc);
    x->crc = x->orc < 0 ? -1 : parse_codes(r, "category", x->cmask, x->cats.max, &x->cats);
    if (x->orc < 0 || x->crc < 0)
        return -1;
    if (filter_offense_scope(r, x->omask, x->no, x->orc == 0)) {
        x->orc = 0; /* a region reader: what its agency shares, in the rows it leaves */
        x->scope = r->who.offense_scope;
    }
    if (x->orc == 0) {
        q->offenses = x->omask;
        q->noffenses = x->no;
    }
    if (x->crc == 0) {
        q->categories = x->cmask;
        q->ncategories = x->cats.max;
    }
    return 0;
}

/* The sheet's geography's population for the year each period (and its
   prior) ends in. */
static void sheet_populations(struct sheet *x)
{
    for (int p = 0; p < 3; p++) {
        for (int prior = 0; prior < 2; prior++) {
            int64_t y;
            int m, d;
            rfc3339_civil_from_days(prior ? x->ranges[p].prior_last : x->ranges[p].last, &y, &m,
                                    &d);
            x->pop[p][prior] = x->prec   ? ref_precinct_population(x->prec, (int)y)
                               : x->area || x->program
                                   ? ref_population(app.ref, x->q.agency, x->q.precincts,
                                                          x->q.nprecincts, (int)y)
                                         : ref_population(app.ref, x->q.agency, NULL, 0, (int)y);
        }
    }
}

/* rows=iccs: the row of an offense of the sheet's cells, or -1. */
static int sheet_row_of_offense(const struct sheet *x, int32_t id)
{
    return id > 0 && id < x->no ? x->groups[id] : -1;
}

/* The counts of each period, current and prior, per row and in all. */
static void gather_sheet(struct sheet *x)
{
    const tz_zone *zone = x->q.zone;
    int cmax = x->nrows;
    /* Whether the agency holds any incident at all in each prior period:
       a sheet whose prior column is 0 because the data does not reach back
       that far says so (prior_data: false), rather than look counted. */
    cube_question whole;
    memset(&whole, 0, sizeof whole);
    whole.agency = x->q.agency;
    whole.zone = zone;
    if (x->scope) { /* a region reader: whether the agency had data it shares */
        whole.offenses = x->scope;
        whole.noffenses = x->no;
    }
    for (int p = 0; p < 3; p++) {
        x->prior_data[p] = -1;
        for (int prior = 0; prior < 2; prior++) {
            const compstat_range *rg = &x->ranges[p];
            int64_t s = prior ? rg->prior_first : rg->first;
            int64_t e = prior ? rg->prior_last : rg->last; /* inclusive */
            x->q.from = tz_utc(zone, s * 86400);
            x->q.to = tz_utc(zone, (e + 1) * 86400);
            cube_result res;
            if (cube_query(analytics_cube(), &x->q, &res) != 0)
                continue;
            for (size_t i = 0; i < res.n; i++) {
                int c = x->iccs_level ? sheet_row_of_offense(x, res.cells[i].offense)
                                      : res.cells[i].category;
                if (c >= 0 && c < cmax)
                    x->counts[(size_t)c * 6 + (size_t)(p * 2 + prior)] += res.cells[i].count;
                x->counts[(size_t)cmax * 6 + (size_t)(p * 2 + prior)] += res.cells[i].count;
            }
            if (res.as_of > x->as_of)
                x->as_of = res.as_of;
            cube_result_free(&res);
            if (prior) {
                /* The whole agency's sheet has the answer in its total; a
                   precinct's or a filtered one asks the agency's. */
                uint64_t total = x->counts[(size_t)cmax * 6 + (size_t)(p * 2 + 1)];
                int held = total > 0;
                cube_result any;
                whole.from = x->q.from;
                whole.to = x->q.to;
                if (!held && (x->prec || x->area || x->program || x->orc == 0 || x->crc == 0) &&
                    cube_query(analytics_cube(), &whole, &any) == 0) {
                    held = any.n > 0 && any.cells[0].count > 0;
                    cube_result_free(&any);
                }
                x->prior_data[p] = held;
            }
        }
    }
}

/* "periods":{"week":{"current":[first,last],"prior":[..],"prior_data":..},..} */
static void render_periods(sbuf *b, const struct sheet *x)
{
    sbuf_putc(b, '{');
    for (int p = 0; p < 3; p++) {
        const compstat_range *rg = &x->ranges[p];
        sbuf_puts(b, p ? ",\"" : "\"");
        sbuf_puts(b, pnames[p]);
        sbuf_puts(b, "\":{\"current\":[\"");
        put_date(b, rg->first);
        sbuf_puts(b, "\",\"");
        put_date(b, rg->last);
        sbuf_puts(b, "\"],\"prior\":[\"");
        put_date(b, rg->prior_first);
        sbuf_puts(b, "\",\"");
        put_date(b, rg->prior_last);
        sbuf_puts(b, "\"]");
        if (x->prior_data[p] >= 0)
            sbuf_puts(b, x->prior_data[p] ? ",\"prior_data\":true" : ",\"prior_data\":false");
        sbuf_putc(b, '}');
    }
    sbuf_putc(b, '}');
}

/* The three periods of row c of the sheet: ,"week":{..},"d28":{..},"ytd":{..} */
static void put_row_periods(sbuf *b, const struct sheet *x, int c)
{
    for (int p = 0; p < 3; p++) {
        sbuf_putc(b, ',');
        put_period(b, pnames[p], x->counts[(size_t)c * 6 + (size_t)p * 2],
                   x->counts[(size_t)c * 6 + (size_t)p * 2 + 1], &x->ranges[p], x->pop[p]);
    }
}

/* What follows the rows: ],"as_of":"..."} */
static void put_sheet_end(sbuf *b, const struct sheet *x)
{
    char buf[RFC3339_BUFSZ];
    sbuf_puts(b, "],\"as_of\":\"");
    sbuf_puts(b, rfc3339_format_ms(x->as_of, 0, buf));
    sbuf_puts(b, "\"}\n");
}

/*
 * rows=iccs: a row per ICCS group ({"iccs": code, "name_en", "name_es"},
 * null for the offenses without a code at that level), then the total
 * ({"iccs": "total"}). With an offense, category or iccs filter, the rows
 * are the groups of the offenses it leaves. 0, or -1 out of memory.
 */
static int render_iccs_rows(sbuf *b, const struct sheet *x)
{
    uint8_t *shown = calloc((size_t)x->nrows + 1, 1);
    if (shown == NULL)
        return -1;
    for (int32_t id = 1; id < x->no; id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o == NULL || x->groups[id] < 0 || (x->orc == 0 && !x->omask[id]))
            continue;
        int cat = analytics_category_id(o->category);
        if (x->crc == 0 && !(cat >= 0 && cat < x->cats.max && x->cmask[cat]))
            continue;
        shown[x->groups[id]] = 1;
    }
    int rows = 0;
    for (int k = 0; k <= x->nrows; k++) {
        if (k < x->nrows && !shown[k])
            continue;
        sbuf_puts(b, rows++ ? ",{\"iccs\":" : "{\"iccs\":");
        if (k == x->nrows) {
            sbuf_puts(b, "\"total\"");
        } else {
            char code[ICCS_CODE_MAX];
            const ref_iccs *c =
                x->keys[k] < 0
                    ? NULL
                    : ref_iccs_by_code(app.ref, iccs_group_code(x->keys[k], x->iccs_level, code));
            sbuf_json_str(b, c ? c->code : NULL);
            sbuf_puts(b, ",\"name_en\":");
            sbuf_json_str(b, c ? c->name_en : NULL);
            sbuf_puts(b, ",\"name_es\":");
            sbuf_json_str(b, c ? c->name_es : NULL);
        }
        put_row_periods(b, x, k);
        sbuf_putc(b, '}');
    }
    free(shown);
    return 0;
}

/* The sheet as JSON. 0, or -1 out of memory. */
static int render_sheet(sbuf *b, struct sheet *x)
{
    const ref_agency *ag = ref_agency_by_id(app.ref, x->q.agency);
    const struct categories *cats = &x->cats;
    sbuf_puts(b, "{\"agency\":");
    sbuf_json_str(b, ag ? ag->code : "");
    sbuf_puts(b, ",\"precinct\":");
    sbuf_json_str(b, x->prec ? x->prec->code : NULL);
    if (x->area) {
        sbuf_puts(b, ",\"area\":");
        sbuf_json_str(b, x->area->code);
    }
    if (x->program) {
        sbuf_puts(b, ",\"program\":");
        sbuf_json_str(b, x->program);
    }
    sbuf_puts(b, ",\"week_ending\":\"");
    put_date(b, x->wday);
    sbuf_puts(b, "\",\"test\":{\"name\":\"exact conditional binomial test of the two "
                 "counts, two-sided\",\"alpha\":0.05},\"periods\":");
    render_periods(b, x);
    sbuf_puts(b, ",\"rows\":[");
    if (x->iccs_level) {
        int failed = render_iccs_rows(b, x);
        put_sheet_end(b, x);
        return failed;
    }
    int *order = malloc(((size_t)cats->n + 1) * sizeof *order);
    for (int i = 0; order && i < cats->n; i++)
        order[i] = cats->ids[i];
    if (order && cats->n > 1)
        qsort(order, (size_t)cats->n, sizeof *order, cmp_cat);
    /* With an offense or category filter, the rows are the categories it
       leaves (and the total). */
    for (int id = 1; x->orc == 0 && id < x->no; id++) {
        const ref_offense *o = x->omask[id] ? ref_offense_by_id(app.ref, id) : NULL;
        int cat = o ? analytics_category_id(o->category) : -1;
        if (cat >= 0 && cat < cats->max && x->crc != 0)
            x->cmask[cat] = 1;
    }
    int rows = 0;
    for (int k = 0; order && k <= cats->n; k++) {
        int c = k < cats->n ? order[k] : cats->max; /* cats->max: the total */
        if (k < cats->n && (x->orc == 0 || x->crc == 0) && !x->cmask[c])
            continue;
        sbuf_puts(b, rows++ ? ",{\"category\":" : "{\"category\":");
        sbuf_json_str(b, k < cats->n ? category_name(c) : "total");
        /* The agency's display names of the category (PUT /v1/categories). */
        const char *names = words_category_names(x->q.agency, k < cats->n ? category_name(c)
                                                                         : "total");
        if (names) {
            sbuf_puts(b, ",\"names\":");
            sbuf_puts(b, names);
        }
        put_row_periods(b, x, c);
        sbuf_putc(b, '}');
    }
    put_sheet_end(b, x);
    int failed = order == NULL;
    free(order);
    return failed ? -1 : 0;
}

void h_compstat(http_req *r)
{
    struct sheet x;
    if (read_sheet_question(r, &x) != 0) {
        sheet_free(&x);
        return;
    }
    gather_sheet(&x);
    sheet_populations(&x);
    /* Written with sbuf, not cJSON: a sheet is ~140 values, and allocating
       a node for each was most of the request's cost (BENCHMARKS.md). */
    sbuf b;
    sbuf_init(&b);
    int failed = render_sheet(&b, &x) != 0 || sbuf_failed(&b);
    sheet_free(&x);
    if (failed)
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    else
        http_reply_raw(r, 200, "application/json", sbuf_str(&b), b.len);
    sbuf_free(&b);
}
