/*
 * routes_rt.c -- response times and the workload report (API.md
 * "Response times", "Units, officers, shifts"), answered from the
 * response-time cube (lib/rtcube.h) and the rosters in memory (hr.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "app.h"
#include "areas.h"
#include "filters.h"
#include "hr.h"
#include "rfc3339.h"
#include "routes.h"
#include "zones.h"

#define MAX_PCTS 8

/* What every question of this file reads from the query string. */
struct rtq {
    rt_question q;
    uint8_t *pmask, *umask;
    const hr_shift *order[HR_MAX_SHIFTS];
    int nshifts;
    int8_t quarter[RT_QUARTERS];
    uint32_t pct[MAX_PCTS];
    char pct_name[MAX_PCTS][12];
    int npct;
    int32_t *pgroup; /* by=area: precinct id -> its area at area_level (0: none) */
};

static void rtq_free(struct rtq *x)
{
    free(x->pmask);
    free(x->umask);
    free(x->pgroup);
}

/*
 * May the token see call sign cs's answers per unit? A token for the whole
 * agency sees every call sign; one limited to precincts only the registered
 * units of its precincts (a unit belongs to its precinct, whichever
 * precinct's calls it answered).
 */
static int unit_visible(const http_req *r, const char *cs)
{
    if (r->who.nprecincts < 0)
        return 1;
    const hr_unit *u = cs ? hr_unit_get(r->who.agency_id, cs) : NULL;
    const ref_precinct *p = u && u->precinct_id ? ref_precinct_by_id(app.ref, u->precinct_id)
                                                : NULL;
    return p && p->agency_id == r->who.agency_id && principal_allows(&r->who, p->code);
}

/*
 * A question read per unit (by=unit, or unit=) by a token limited to
 * precincts: only its precincts' units, and the calls without a unit, so
 * that it gets the whole agency's answer restricted to its scope. 0, or -1
 * after replying.
 */
static int scope_units(http_req *r, struct rtq *x)
{
    rt_question *q = &x->q;
    if (r->who.nprecincts < 0 || !((q->by & RT_BY_UNIT) || q->units))
        return 0;
    const rt_cube *c = analytics_rt();
    int32_t nu = rt_unit_count(c) + 1;
    uint8_t *m = calloc((size_t)nu, 1);
    if (m == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    for (int32_t i = 0; i < nu; i++) {
        int visible = i == 0 || unit_visible(r, rt_unit_name(c, i - 1));
        int asked = q->units == NULL || (i < q->nunits && q->units[i]);
        m[i] = (uint8_t)(visible && asked);
    }
    free(x->umask);
    x->umask = m;
    q->units = m;
    q->nunits = nu;
    return 0;
}

static const struct {
    const char *name;
    unsigned bit;
} by_names[] = {{"precinct", RT_BY_PRECINCT}, {"priority", RT_BY_PRIORITY},
                {"shift", RT_BY_SHIFT},       {"unit", RT_BY_UNIT},
                {"hour_of_day", RT_BY_HOUR},  {"day_of_week", RT_BY_DOW}};
#define NBY ((int)(sizeof by_names / sizeof by_names[0]))

/* by=area: the precincts grouped under their areas at area_level (filters.h). */
static int read_area_level(http_req *r, struct rtq *x)
{
    if (filter_area_level(r, &x->pgroup, &x->q.ngroup) != 0)
        return -1;
    x->q.precinct_group = x->pgroup;
    return 0;
}

/* by= into x->q.by ("area" groups precincts: read_area_level). 0, or -1 after replying. */
static int parse_by(http_req *r, struct rtq *x)
{
    const char *v = qs_get(&r->query, "by");
    unsigned *by = &x->q.by;
    int area = 0;
    *by = 0;
    if (v == NULL || *v == '\0')
        return 0;
    char *copy = strdup(v), *tok;
    for (size_t at = 0; copy && (tok = params_list_next(copy, &at)) != NULL;) {
        int k = 0;
        if (strcmp(tok, "area") == 0) {
            area = 1;
            continue;
        }
        while (k < NBY && strcmp(by_names[k].name, tok) != 0)
            k++;
        if (k == NBY) {
            http_reply_error(r, 422, "invalid_field", "by",
                             "by takes precinct, area, priority, shift, unit, hour_of_day, "
                             "day_of_week (a comma list)");
            free(copy);
            return -1;
        }
        *by |= by_names[k].bit;
    }
    free(copy);
    if (area && (*by & RT_BY_PRECINCT)) {
        http_reply_error(r, 422, "invalid_field", "by", "by takes precinct or area, not both");
        return -1;
    }
    if (area) {
        *by |= RT_BY_PRECINCT;
        return read_area_level(r, x);
    }
    return 0;
}

/* The query parameters shared by /v1/response-times and the workload. */
static int read_question(http_req *r, struct rtq *x)
{
    memset(x, 0, sizeof *x);
    rt_question *q = &x->q;
    q->agency = r->who.agency_id;
    q->from = INT64_MIN;
    q->to = INT64_MAX;
    q->zone = zone_of_agency(q->agency);
    x->nshifts = hr_shift_table(q->agency, x->order, x->quarter);
    q->shift_of_quarter = x->quarter;
    const char *why = "a quarter hour (response times are kept in 15-minute cells)";
    if (filter_bound(r, "from", q->zone, RT_SLOT, why, &q->from) ||
        filter_bound(r, "to", q->zone, RT_SLOT, why, &q->to))
        return -1;
    if (q->from != INT64_MIN && q->to != INT64_MAX && q->to < q->from) {
        http_reply_error(r, 422, "invalid_field", "to", "to must not be before from");
        return -1;
    }
    /* Precincts: the filter, limited to the token's. */
    int32_t np = ref_precinct_max(app.ref) + 1;
    if ((x->pmask = calloc((size_t)np, 1)) == NULL) {
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
    if (filter_priorities(r, "priority", &q->priorities) != 0)
        return -1;
    /* Units by call sign: a registered unit that never answered a call
       selects nothing; a call sign unknown everywhere is an error. */
    const rt_cube *c = analytics_rt();
    const char *v = qs_get(&r->query, "unit");
    if (v != NULL) {
        int32_t nu = rt_unit_count(c) + 1;
        if ((x->umask = calloc((size_t)nu, 1)) == NULL) {
            http_reply_error(r, 500, "internal", NULL, "out of memory");
            return -1;
        }
        char *copy = strdup(v), *tok;
        for (size_t at = 0; copy && (tok = params_list_next(copy, &at)) != NULL;) {
            int32_t id = rt_unit_id(c, q->agency, tok);
            /* Another precinct's unit is, to a token limited to precincts,
               as unknown as a unit that does not exist. */
            int known = unit_visible(r, tok) && (id >= 0 || hr_unit_get(q->agency, tok));
            if (known && id >= 0)
                x->umask[id + 1] = 1;
            else if (!known) {
                http_reply_error(r, 422, "invalid_field", "unit", "unknown unit \"%.64s\"", tok);
                free(copy);
                return -1;
            }
        }
        free(copy);
        q->units = x->umask;
        q->nunits = nu;
    }
    if ((v = qs_get(&r->query, "shift")) != NULL) {
        char *copy = strdup(v), *tok;
        for (size_t at = 0; copy && (tok = params_list_next(copy, &at)) != NULL;) {
            int k = 0;
            while (k < x->nshifts && strcmp(x->order[k]->code, tok) != 0)
                k++;
            if (k == x->nshifts) {
                http_reply_error(r, 422, "invalid_field", "shift", "unknown shift \"%.64s\"",
                                 tok);
                free(copy);
                return -1;
            }
            q->shifts |= 1ull << (k + 1);
        }
        free(copy);
    }
    return 0;
}

static int read_percentiles(http_req *r, struct rtq *x)
{
    static const char *const always[] = {"50", "90"};
    for (int i = 0; i < 2; i++) {
        rt_percentile_parse(always[i], &x->pct[i]);
        snprintf(x->pct_name[i], sizeof x->pct_name[i], "p%s", always[i]);
    }
    x->npct = 2;
    const char *v = qs_get(&r->query, "p");
    if (v == NULL)
        return 0;
    char *copy = strdup(v), *tok;
    for (size_t at = 0; copy && (tok = params_list_next(copy, &at)) != NULL;) {
        uint32_t pm;
        if (rt_percentile_parse(tok, &pm) != 0) {
            http_reply_error(r, 422, "invalid_field", "p",
                             "p takes percentiles above 0 and at most 100, with at most three "
                             "decimals (p=95,99.9)");
            free(copy);
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < x->npct; i++)
            dup |= x->pct[i] == pm;
        if (dup)
            continue;
        if (x->npct == MAX_PCTS) {
            http_reply_error(r, 422, "invalid_field", "p", "at most %d percentiles",
                             MAX_PCTS - 2);
            free(copy);
            return -1;
        }
        x->pct[x->npct] = pm;
        snprintf(x->pct_name[x->npct], sizeof x->pct_name[0], "p%s", tok);
        x->npct++;
    }
    free(copy);
    return 0;
}

/* Groups in a stable order: precinct, priority, shift, unit, hour, day. */
static int cmp_groups(const void *pa, const void *pb)
{
    const rt_group *a = pa, *b = pb;
    if (a->precinct != b->precinct)
        return a->precinct < b->precinct ? -1 : 1;
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    if (a->shift != b->shift)
        return a->shift < b->shift ? -1 : 1;
    if (a->unit != b->unit) {
        const char *x = rt_unit_name(analytics_rt(), a->unit);
        const char *y = rt_unit_name(analytics_rt(), b->unit);
        if (x == NULL || y == NULL)
            return x == NULL ? -1 : 1;
        return strcmp(x, y);
    }
    if (a->hour != b->hour)
        return a->hour < b->hour ? -1 : 1;
    return (a->dow > b->dow) - (a->dow < b->dow);
}

static void add_nullable_int(cJSON *o, const char *name, int v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static void add_keys(cJSON *row, const rt_group *g, const struct rtq *x)
{
    unsigned by = x->q.by;
    if ((by & RT_BY_PRECINCT) && x->pgroup) {
        const area_node *a = areas_by_id(app.areas, g->precinct);
        if (a)
            cJSON_AddStringToObject(row, "area", a->code);
        else
            cJSON_AddNullToObject(row, "area");
    } else if (by & RT_BY_PRECINCT) {
        const ref_precinct *p = g->precinct > 0 ? ref_precinct_by_id(app.ref, g->precinct) : NULL;
        if (p)
            cJSON_AddStringToObject(row, "precinct", p->code);
        else
            cJSON_AddNullToObject(row, "precinct");
    }
    if (by & RT_BY_PRIORITY)
        add_nullable_int(row, "priority", g->priority);
    if (by & RT_BY_SHIFT) {
        if (g->shift >= 0 && g->shift < x->nshifts)
            cJSON_AddStringToObject(row, "shift", x->order[g->shift]->code);
        else
            cJSON_AddNullToObject(row, "shift");
    }
    if (by & RT_BY_UNIT) {
        const char *u = rt_unit_name(analytics_rt(), g->unit);
        if (u)
            cJSON_AddStringToObject(row, "unit", u);
        else
            cJSON_AddNullToObject(row, "unit");
    }
    if (by & RT_BY_HOUR)
        cJSON_AddNumberToObject(row, "hour_of_day", g->hour);
    if (by & RT_BY_DOW)
        cJSON_AddNumberToObject(row, "day_of_week", g->dow);
}

static cJSON *interval_json(const rt_hist *h, const struct rtq *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)h->n);
    if (h->n == 0) {
        cJSON_AddNullToObject(o, "mean");
        cJSON_AddNullToObject(o, "min");
        for (int i = 0; i < x->npct; i++)
            cJSON_AddNullToObject(o, x->pct_name[i]);
        cJSON_AddNullToObject(o, "max");
        return o;
    }
    cJSON_AddNumberToObject(o, "mean", (double)h->sum / (double)h->n);
    cJSON_AddNumberToObject(o, "min", h->min);
    for (int i = 0; i < x->npct; i++)
        cJSON_AddNumberToObject(o, x->pct_name[i], rt_hist_percentile(h, x->pct[i]));
    cJSON_AddNumberToObject(o, "max", h->max);
    cJSON_AddNumberToObject(o, "sum", (double)h->sum);
    return o;
}

static void add_window(cJSON *root, const rt_question *q)
{
    char buf[RFC3339_BUFSZ];
    if (q->from != INT64_MIN)
        cJSON_AddStringToObject(root, "from",
                                rfc3339_format(q->from, tz_offset(q->zone, q->from), buf));
    else
        cJSON_AddNullToObject(root, "from");
    if (q->to != INT64_MAX)
        cJSON_AddStringToObject(root, "to", rfc3339_format(q->to, tz_offset(q->zone, q->to), buf));
    else
        cJSON_AddNullToObject(root, "to");
}

void h_response_times(http_req *r)
{
    static const char *const allowed[] = {"from", "to",   "by",    "precinct", "area",
                                          "area_level", "priority", "unit", "shift", "p",
                                          "program", NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    if (r->who.region && r->who.offense_scope) {
        /* Response times are over every call: they cannot keep to some offenses. */
        http_reply_error(r, 403, "forbidden", "agency",
                         "this agency shares some offenses with your region, and response "
                         "times cover all its calls");
        return;
    }
    const char *byv = qs_get(&r->query, "by");
    if (r->who.region && (qs_get(&r->query, "unit") || (byv && strstr(byv, "unit")))) {
        http_reply_error(r, 422, "invalid_field", qs_get(&r->query, "unit") ? "unit" : "by",
                         "units are the agency's own: a region reader reads response times by "
                         "precinct, area, priority or shift");
        return;
    }
    struct rtq x;
    rt_result res = {0};
    if (read_question(r, &x) != 0 || parse_by(r, &x) != 0 || read_percentiles(r, &x) != 0 ||
        scope_units(r, &x) != 0)
        goto out;
    if (rt_query(analytics_rt(), &x.q, &res) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (res.n > 1)
        qsort(res.groups, res.n, sizeof *res.groups, cmp_groups);
    cJSON *root = cJSON_CreateObject();
    add_window(root, &x.q);
    cJSON *by = cJSON_AddArrayToObject(root, "by");
    for (int k = 0; k < NBY; k++)
        if (x.q.by & by_names[k].bit)
            cJSON_AddItemToArray(by, cJSON_CreateString(by_names[k].bit == RT_BY_PRECINCT &&
                                                                x.pgroup
                                                            ? "area"
                                                            : by_names[k].name));
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    rt_group none; /* by nothing: one total row, even over no calls */
    memset(&none, 0, sizeof none);
    size_t nrows = res.n == 0 && x.q.by == 0 ? 1 : res.n;
    for (size_t i = 0; i < nrows; i++) {
        const rt_group *g = res.n ? &res.groups[i] : &none;
        cJSON *row = cJSON_CreateObject();
        add_keys(row, g, &x);
        cJSON_AddNumberToObject(row, "incidents", (double)g->incidents);
        for (int k = 0; k < RT_NINT; k++)
            cJSON_AddItemToObject(row, rt_interval_name(k), interval_json(&g->h[k], &x));
        cJSON_AddItemToArray(rows, row);
    }
    http_reply_json(r, 200, root);
out:
    rt_result_free(&res);
    rtq_free(&x);
}

/* ------------------------------------------------------------ workload */

/* Rosters in the window: officer tours and distinct tours per key. */
struct staffing {
    int64_t *officer_tours; /* by key id */
    int64_t *tours;
    size_t n;
};

/* Is the tour (shift s, local day) starting inside the window? */
static int tour_in_window(const hr_shift *s, int64_t day, const rt_question *q)
{
    int64_t start = tz_utc(q->zone, day * 86400 + (int64_t)s->starts * 60);
    return start >= q->from && (q->to == INT64_MAX || start < q->to);
}

static int cmp_assign(const void *pa, const void *pb)
{
    const hr_assignment *a = pa, *b = pb;
    if (a->shift_id != b->shift_id)
        return a->shift_id < b->shift_id ? -1 : 1;
    return (a->day > b->day) - (a->day < b->day);
}

/*
 * Count officer tours and tours per key: kind 's' by shift index, 'u' by
 * registered unit id (0: officers on no unit), 'p' by precinct id (the
 * unit's, else the officer's).
 */
static int staffing_count(const struct rtq *x, char kind, struct staffing *st)
{
    size_t na;
    const hr_assignment *all = hr_assignments(&na);
    hr_assignment *a = na ? malloc(na * sizeof *a) : NULL;
    if (na && a == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < na; i++) {
        const hr_shift *s = hr_shift_by_id(all[i].shift_id);
        if (s == NULL || s->agency_id != x->q.agency || !tour_in_window(s, all[i].day, &x->q))
            continue;
        /* Staff of the precincts asked for (and the token may see) only. */
        const hr_unit *u = hr_unit_by_id(all[i].unit_id);
        const hr_officer *o = hr_officer_by_id(all[i].officer_id);
        int p = u && u->precinct_id ? u->precinct_id : o ? o->precinct_id : 0;
        if (x->q.precincts && (p >= x->q.nprecincts || !x->q.precincts[p]))
            continue;
        a[n++] = all[i];
    }
    if (n > 1)
        qsort(a, n, sizeof *a, cmp_assign);
    st->n = kind == 's'   ? HR_MAX_SHIFTS
            : kind == 'u' ? hr_unit_max() + 1
            : x->pgroup   ? (size_t)areas_max(app.areas)
                          : (size_t)ref_precinct_max(app.ref) + 1;
    st->officer_tours = calloc(st->n, sizeof *st->officer_tours);
    st->tours = calloc(st->n, sizeof *st->tours);
    uint8_t *seen = calloc(st->n, 1);
    if (st->officer_tours == NULL || st->tours == NULL || seen == NULL) {
        free(a);
        free(seen);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || cmp_assign(&a[i - 1], &a[i]) != 0)
            memset(seen, 0, st->n); /* a new tour */
        const hr_shift *s = hr_shift_by_id(a[i].shift_id);
        const hr_unit *u = hr_unit_by_id(a[i].unit_id);
        const hr_officer *o = hr_officer_by_id(a[i].officer_id);
        long k = -1;
        if (kind == 's') {
            for (int j = 0; j < x->nshifts; j++)
                if (x->order[j] == s)
                    k = j;
        } else if (kind == 'u') {
            k = u ? u->id : 0;
        } else {
            k = u && u->precinct_id ? u->precinct_id : o ? o->precinct_id : 0;
            if (x->pgroup) /* by=area: the precinct's area at the level */
                k = k < x->q.ngroup ? x->pgroup[k] : 0;
        }
        if (k < 0 || (size_t)k >= st->n)
            continue;
        st->officer_tours[k]++;
        if (!seen[k]) {
            seen[k] = 1;
            st->tours[k]++;
        }
    }
    free(a);
    free(seen);
    return 0;
}

static void add_ratio(cJSON *o, const char *name, double num, double den)
{
    if (den > 0)
        cJSON_AddNumberToObject(o, name, num / den);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *workload_row(const rt_group *g, int64_t officer_tours, int64_t tours)
{
    cJSON *row = cJSON_CreateObject();
    uint64_t incidents = g ? g->incidents : 0;
    cJSON_AddNumberToObject(row, "incidents", (double)incidents);
    cJSON_AddNumberToObject(row, "committed_s", g ? (double)g->h[RT_COMMITTED].sum : 0);
    cJSON_AddNumberToObject(row, "on_scene_s", g ? (double)g->h[RT_ON_SCENE].sum : 0);
    add_ratio(row, "mean_committed_s", g ? (double)g->h[RT_COMMITTED].sum : 0,
              g ? (double)g->h[RT_COMMITTED].n : 0);
    cJSON_AddNumberToObject(row, "tours", (double)tours);
    cJSON_AddNumberToObject(row, "officer_tours", (double)officer_tours);
    add_ratio(row, "officers_per_tour", (double)officer_tours, (double)tours);
    add_ratio(row, "calls_per_tour", (double)incidents, (double)tours);
    add_ratio(row, "calls_per_officer_tour", (double)incidents, (double)officer_tours);
    return row;
}

/* The rows of keys with staff but no calls (not listed): tours, units that took no call. */
static void add_staffed_rows(cJSON *rows, const struct rtq *x, char kind,
                             const struct staffing *st, const uint8_t *listed)
{
    rt_group empty;
    memset(&empty, 0, sizeof empty);
    empty.precinct = empty.unit = -1;
    empty.priority = empty.shift = empty.hour = empty.dow = -1;
    if (kind == 's') {
        for (int k = 0; k < x->nshifts; k++) {
            if (listed[k] || (x->q.shifts && !(x->q.shifts & (1ull << (k + 1)))))
                continue;
            empty.shift = (int8_t)k;
            cJSON *row = workload_row(NULL, st->officer_tours[k], st->tours[k]);
            add_keys(row, &empty, x);
            cJSON_AddItemToArray(rows, row);
        }
    } else if (kind == 'p' && x->pgroup) {
        /* by=area: the areas of the level holding a precinct asked for. */
        for (size_t k = 1; k < st->n; k++) {
            int32_t p = 1;
            while (p < x->q.ngroup &&
                   (x->pgroup[p] != (int32_t)k ||
                    (x->q.precincts && (p >= x->q.nprecincts || !x->q.precincts[p]))))
                p++;
            if (listed[k] || p == x->q.ngroup)
                continue;
            empty.precinct = (int32_t)k;
            cJSON *row = workload_row(NULL, st->officer_tours[k], st->tours[k]);
            add_keys(row, &empty, x);
            cJSON_AddItemToArray(rows, row);
        }
    } else if (kind == 'p') {
        for (size_t k = 1; k < st->n; k++) {
            const ref_precinct *p = ref_precinct_by_id(app.ref, (int)k);
            if (listed[k] || p == NULL || p->agency_id != x->q.agency ||
                (x->q.precincts && !x->q.precincts[k]))
                continue;
            empty.precinct = (int32_t)k;
            cJSON *row = workload_row(NULL, st->officer_tours[k], st->tours[k]);
            add_keys(row, &empty, x);
            cJSON_AddItemToArray(rows, row);
        }
    } else {
        for (size_t id = 1; id < hr_unit_max(); id++) {
            const hr_unit *u = hr_unit_by_id((int)id);
            if (u == NULL || u->agency_id != x->q.agency ||
                (x->q.precincts && (u->precinct_id == 0 || u->precinct_id >= x->q.nprecincts ||
                                    !x->q.precincts[u->precinct_id])))
                continue;
            if (listed[id])
                continue;
            cJSON *row = workload_row(NULL, st->officer_tours[id], st->tours[id]);
            cJSON_AddStringToObject(row, "unit", u->callsign);
            cJSON_AddItemToArray(rows, row);
        }
    }
}

void h_workload(http_req *r)
{
    static const char *const allowed[] = {"from",     "to",         "by",      "precinct",
                                          "area",     "area_level", "priority", NULL};
    if (http_check_params(r, allowed) != 0)
        return;
    struct rtq x;
    rt_result res = {0};
    struct staffing st = {0};
    uint8_t *listed = NULL;
    if (read_question(r, &x) != 0)
        goto out;
    const char *by = qs_get(&r->query, "by");
    char kind;
    if (by == NULL || strcmp(by, "unit") == 0) {
        kind = 'u';
        x.q.by = RT_BY_UNIT;
    } else if (strcmp(by, "shift") == 0) {
        kind = 's';
        x.q.by = RT_BY_SHIFT;
    } else if (strcmp(by, "precinct") == 0 || strcmp(by, "area") == 0) {
        kind = 'p';
        x.q.by = RT_BY_PRECINCT;
        if (by[0] == 'a' && read_area_level(r, &x) != 0)
            goto out;
    } else {
        http_reply_error(r, 422, "invalid_field", "by", "by must be unit, shift, precinct or area");
        goto out;
    }
    if (scope_units(r, &x) != 0)
        goto out;
    if (rt_query(analytics_rt(), &x.q, &res) != 0 || staffing_count(&x, kind, &st) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (res.n > 1)
        qsort(res.groups, res.n, sizeof *res.groups, cmp_groups);
    if ((listed = calloc(st.n + 1, 1)) == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        goto out;
    }
    cJSON *root = cJSON_CreateObject();
    add_window(root, &x.q);
    cJSON_AddStringToObject(root, "by", kind == 'u'   ? "unit"
                                        : kind == 's' ? "shift"
                                        : x.pgroup    ? "area"
                                                      : "precinct");
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    for (size_t i = 0; i < res.n; i++) {
        const rt_group *g = &res.groups[i];
        long k = kind == 's' ? g->shift : g->precinct;
        if (kind == 'u') {
            const char *name = rt_unit_name(analytics_rt(), g->unit);
            const hr_unit *u = name ? hr_unit_get(x.q.agency, name) : NULL;
            k = u ? u->id : name ? -1 : 0;
        }
        int has = k >= 0 && (size_t)k < st.n;
        cJSON *row = workload_row(g, has ? st.officer_tours[k] : 0, has ? st.tours[k] : 0);
        if (has)
            listed[k] = 1;
        add_keys(row, g, &x);
        cJSON_AddItemToArray(rows, row);
    }
    add_staffed_rows(rows, &x, kind, &st, listed);
    http_reply_json(r, 200, root);
out:
    free(listed);
    free(st.officer_tours);
    free(st.tours);
    rt_result_free(&res);
    rtq_free(&x);
}
