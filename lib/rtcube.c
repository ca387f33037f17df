/*
 * rtcube.c -- see rtcube.h.
 *
 * Layout: agencies (a short array) -> blocks of 16 UTC days (sorted array
 * of pointers; called days below) -> leaves (an array per block, found
 * through a small open-addressing hash) -> records (one per fact: its
 * quarter hour in the block, its interval mask, its number of units and
 * values). A leaf's unit is RT_ALL for the once-per-incident copy; a call
 * without units has no other copy (questions per unit read it there).
 */
#include "rtcube.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define RT_ALL (-2) /* leaf of the once-per-incident copies */
#define DAY 86400
#define BLOCK (16 * DAY) /* a leaf's span of time: 1,536 quarter hours */

typedef struct rt_rec {
    uint32_t v[RT_NINT];
    uint16_t quarter; /* of the block */
    uint8_t mask;
    uint8_t nunits; /* units attached to the incident: a removal must name them all */
} rt_rec;

typedef struct rt_leaf {
    int32_t precinct, unit;
    int8_t priority;
    uint32_t n, cap;
    rt_rec *recs;
} rt_leaf;

typedef struct rt_day {
    int64_t day; /* days since 1970-01-01, UTC */
    uint32_t nleaves, lcap;
    rt_leaf *leaves;
    uint32_t *hash; /* leaf index + 1, 0 empty */
    uint32_t hcap;  /* power of two */
} rt_day;

typedef struct rt_agency {
    int32_t id;
    rt_day **days;
    size_t ndays, cap;
} rt_agency;

/* A fact queued by rt_load: one per leaf it goes to (the call, each unit). */
typedef struct rt_pend {
    int64_t day;
    int32_t agency, precinct, unit;
    int8_t priority;
    rt_rec r;
} rt_pend;

struct rt_cube {
    rt_agency *agencies;
    size_t nagencies;
    rt_pend *pend; /* rt_load's queue */
    size_t npend, pcap, chunk;
    strmap *unit_ids; /* "agency\x1f" callsign -> id + 1 */
    char **unit_names;
    int32_t nunits, ucap;
    size_t facts;
    size_t bytes;
};

rt_cube *rt_new(void)
{
    rt_cube *c = calloc(1, sizeof *c);
    if (c && (c->unit_ids = strmap_new()) == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

static void day_free(rt_day *d)
{
    for (uint32_t i = 0; i < d->nleaves; i++)
        free(d->leaves[i].recs);
    free(d->leaves);
    free(d->hash);
    free(d);
}

void rt_free(rt_cube *c)
{
    if (c == NULL)
        return;
    for (size_t a = 0; a < c->nagencies; a++) {
        for (size_t i = 0; i < c->agencies[a].ndays; i++)
            day_free(c->agencies[a].days[i]);
        free(c->agencies[a].days);
    }
    free(c->agencies);
    for (int32_t i = 0; i < c->nunits; i++)
        free(c->unit_names[i]);
    free(c->unit_names);
    strmap_free(c->unit_ids);
    free(c->pend);
    free(c);
}

size_t rt_facts(const rt_cube *c)
{
    return c->facts;
}

size_t rt_bytes(const rt_cube *c)
{
    return c->bytes;
}

/* ------------------------------------------------------------ units */

static void unit_key(char *buf, size_t size, int32_t agency, const char *callsign)
{
    snprintf(buf, size, "%d\x1f%s", (int)agency, callsign);
}

int32_t rt_unit_id(const rt_cube *c, int32_t agency, const char *callsign)
{
    char key[96];
    unit_key(key, sizeof key, agency, callsign);
    intptr_t v = (intptr_t)strmap_get(c->unit_ids, key);
    return v ? (int32_t)(v - 1) : -1;
}

static int32_t unit_intern(rt_cube *c, int32_t agency, const char *callsign)
{
    int32_t id = rt_unit_id(c, agency, callsign);
    if (id >= 0)
        return id;
    if (c->nunits == c->ucap) {
        int32_t ncap = c->ucap ? c->ucap * 2 : 64;
        char **nn = realloc(c->unit_names, (size_t)ncap * sizeof *nn);
        if (nn == NULL)
            return -1;
        c->unit_names = nn;
        c->ucap = ncap;
    }
    char key[96];
    unit_key(key, sizeof key, agency, callsign);
    char *name = strdup(callsign);
    if (name == NULL || strmap_put(c->unit_ids, key, (void *)(intptr_t)(c->nunits + 1)) != 0) {
        free(name);
        return -1;
    }
    c->unit_names[c->nunits] = name;
    c->bytes += strlen(key) + 48;
    return c->nunits++;
}

const char *rt_unit_name(const rt_cube *c, int32_t unit)
{
    return unit >= 0 && unit < c->nunits ? c->unit_names[unit] : NULL;
}

int32_t rt_unit_count(const rt_cube *c)
{
    return c->nunits;
}

/* ------------------------------------------------------------ lookup */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static rt_agency *agency_find(const rt_cube *c, int32_t id)
{
    for (size_t i = 0; i < c->nagencies; i++)
        if (c->agencies[i].id == id)
            return &c->agencies[i];
    return NULL;
}

static rt_agency *agency_get(rt_cube *c, int32_t id)
{
    rt_agency *a = agency_find(c, id);
    if (a)
        return a;
    rt_agency *na = realloc(c->agencies, (c->nagencies + 1) * sizeof *na);
    if (na == NULL)
        return NULL;
    c->agencies = na;
    a = &na[c->nagencies++];
    memset(a, 0, sizeof *a);
    a->id = id;
    return a;
}

/* Index of the first day >= day. */
static size_t day_lower_bound(const rt_agency *a, int64_t day)
{
    size_t lo = 0, hi = a->ndays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->days[mid]->day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static rt_day *day_get(rt_cube *c, rt_agency *a, int64_t day, int create)
{
    size_t i = day_lower_bound(a, day);
    if (i < a->ndays && a->days[i]->day == day)
        return a->days[i];
    if (!create)
        return NULL;
    if (a->ndays == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        rt_day **nd = realloc(a->days, ncap * sizeof *nd);
        if (nd == NULL)
            return NULL;
        a->days = nd;
        a->cap = ncap;
    }
    rt_day *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->day = day;
    memmove(&a->days[i + 1], &a->days[i], (a->ndays - i) * sizeof *a->days);
    a->days[i] = d;
    a->ndays++;
    c->bytes += sizeof *d + sizeof d;
    return d;
}

static uint32_t leaf_hash(int32_t precinct, int32_t unit, int priority)
{
    uint64_t h = (uint64_t)(uint32_t)precinct * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)(uint32_t)(unit + 2) * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)(uint32_t)(priority + 1) * 0x165667B19E3779F9ULL;
    return (uint32_t)(h ^ (h >> 29));
}

static int rehash(rt_day *d, uint32_t ncap)
{
    uint32_t *nh = calloc(ncap, sizeof *nh);
    if (nh == NULL)
        return -1;
    for (uint32_t i = 0; i < d->nleaves; i++) {
        const rt_leaf *l = &d->leaves[i];
        uint32_t j = leaf_hash(l->precinct, l->unit, l->priority) & (ncap - 1);
        while (nh[j])
            j = (j + 1) & (ncap - 1);
        nh[j] = i + 1;
    }
    free(d->hash);
    d->hash = nh;
    d->hcap = ncap;
    return 0;
}

static rt_leaf *leaf_get(rt_cube *c, rt_day *d, int32_t precinct, int32_t unit, int priority,
                         int create)
{
    if (d->hcap) {
        uint32_t j = leaf_hash(precinct, unit, priority) & (d->hcap - 1);
        for (; d->hash[j]; j = (j + 1) & (d->hcap - 1)) {
            rt_leaf *l = &d->leaves[d->hash[j] - 1];
            if (l->precinct == precinct && l->unit == unit && l->priority == priority)
                return l;
        }
    }
    if (!create)
        return NULL;
    if (d->nleaves == d->lcap) {
        uint32_t ncap = d->lcap ? d->lcap * 2 : 4;
        rt_leaf *nl = realloc(d->leaves, ncap * sizeof *nl);
        if (nl == NULL)
            return NULL;
        d->leaves = nl;
        c->bytes += (ncap - d->lcap) * sizeof *nl;
        d->lcap = ncap;
    }
    if ((d->nleaves + 1) * 2 > d->hcap) {
        uint32_t ncap = d->hcap ? d->hcap * 2 : 8;
        if (rehash(d, ncap) != 0)
            return NULL;
        c->bytes += ncap / 2 * sizeof(uint32_t);
    }
    rt_leaf *l = &d->leaves[d->nleaves];
    memset(l, 0, sizeof *l);
    l->precinct = precinct;
    l->unit = unit;
    l->priority = (int8_t)priority;
    uint32_t j = leaf_hash(precinct, unit, priority) & (d->hcap - 1);
    while (d->hash[j])
        j = (j + 1) & (d->hcap - 1);
    d->hash[j] = ++d->nleaves;
    return l;
}

/* ------------------------------------------------------------ updates */

/* Room for ncap records in l (ncap > l->cap). 0, or -1 out of memory. */
static int leaf_grow(rt_cube *c, rt_leaf *l, uint32_t ncap)
{
    rt_rec *nr = realloc(l->recs, ncap * sizeof *nr);
    if (nr == NULL)
        return -1;
    l->recs = nr;
    c->bytes += (ncap - l->cap) * sizeof *nr;
    l->cap = ncap;
    return 0;
}

static int leaf_add(rt_cube *c, rt_leaf *l, const rt_rec *r)
{
    if (l->n == l->cap && leaf_grow(c, l, l->cap ? l->cap * 2 : 2) != 0)
        return -1;
    l->recs[l->n++] = *r;
    return 0;
}

static int leaf_remove(rt_leaf *l, const rt_rec *r)
{
    for (uint32_t i = l->n; i-- > 0;) {
        const rt_rec *x = &l->recs[i];
        if (x->quarter == r->quarter && x->mask == r->mask && x->nunits == r->nunits &&
            memcmp(x->v, r->v, sizeof x->v) == 0) {
            l->recs[i] = l->recs[--l->n];
            return 0;
        }
    }
    return -1;
}

static int put(rt_cube *c, rt_day *d, const rt_fact *f, int32_t unit, const rt_rec *r,
               int delta)
{
    rt_leaf *l = leaf_get(c, d, f->precinct, unit, f->priority, delta > 0);
    if (l == NULL)
        return -1;
    return delta > 0 ? leaf_add(c, l, r) : leaf_remove(l, r);
}

/* A fact's record in its block `day`: quarter, mask, unit count, values. */
static rt_rec rec_of(const rt_fact *f, int64_t day)
{
    rt_rec r;
    memset(&r, 0, sizeof r);
    r.quarter = (uint16_t)((f->received - day * BLOCK) / RT_SLOT);
    r.mask = (uint8_t)(f->mask & ((1u << RT_NINT) - 1));
    r.nunits = (uint8_t)(f->nunits < 64 ? f->nunits : 64);
    for (int k = 0; k < RT_NINT; k++)
        r.v[k] = (r.mask & (1u << k)) ? f->v[k] : 0;
    return r;
}

int rt_add(rt_cube *c, const rt_fact *f, int delta)
{
    if (f->priority < -1 || f->priority > 9 || f->precinct < 0)
        return -1;
    rt_agency *a = delta > 0 ? agency_get(c, f->agency) : agency_find(c, f->agency);
    if (a == NULL)
        return -1;
    int64_t day = floor_div(f->received, BLOCK);
    rt_day *d = day_get(c, a, day, delta > 0);
    if (d == NULL)
        return -1;
    rt_rec r = rec_of(f, day);

    /* Resolve every unit first, so that a failure changes nothing. */
    int32_t ids[64];
    size_t nu = f->nunits < 64 ? f->nunits : 64;
    for (size_t i = 0; i < nu; i++) {
        ids[i] = delta > 0 ? unit_intern(c, f->agency, f->units[i])
                           : rt_unit_id(c, f->agency, f->units[i]);
        if (ids[i] < 0)
            return -1;
    }
    if (put(c, d, f, RT_ALL, &r, delta) != 0)
        return -1;
    size_t done = 0;
    int rc = 0;
    for (size_t i = 0; i < nu && rc == 0; i++)
        if ((rc = put(c, d, f, ids[i], &r, delta)) == 0)
            done++;
    if (rc != 0) {
        /* Undo what was done (removing what was just added cannot fail;
           re-adding what was just removed may, and then the cube is
           inconsistent: the caller reloads anyway). */
        put(c, d, f, RT_ALL, &r, -delta);
        for (size_t i = 0; i < done; i++)
            put(c, d, f, ids[i], &r, -delta);
        return -1;
    }
    if (delta > 0)
        c->facts++;
    else
        c->facts--;
    return 0;
}

/* ------------------------------------------------------------ bulk load */

#define RT_LOAD_CHUNK ((size_t)1 << 20) /* queued entries per sorted batch: 48 MiB */

static int pend_cmp(const void *pa, const void *pb)
{
    const rt_pend *a = pa, *b = pb;
    if (a->agency != b->agency)
        return a->agency < b->agency ? -1 : 1;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    if (a->precinct != b->precinct)
        return a->precinct < b->precinct ? -1 : 1;
    if (a->unit != b->unit)
        return a->unit < b->unit ? -1 : 1;
    return a->priority - b->priority;
}

static int same_leaf(const rt_pend *a, const rt_pend *b)
{
    return a->agency == b->agency && a->day == b->day && a->precinct == b->precinct &&
           a->unit == b->unit && a->priority == b->priority;
}

/*
 * Add the queued entries leaf by leaf: sorted, each leaf is found once and
 * its records grow once, instead of a hash probe and a cache miss per fact
 * (rows arrive in no useful order).
 */
static int load_flush(rt_cube *c)
{
    if (c->npend == 0)
        return 0;
    qsort(c->pend, c->npend, sizeof *c->pend, pend_cmp);
    for (size_t i = 0; i < c->npend;) {
        const rt_pend *p = &c->pend[i];
        size_t run = 1;
        while (i + run < c->npend && same_leaf(p, &c->pend[i + run]))
            run++;
        rt_agency *a = agency_get(c, p->agency);
        rt_day *d = a ? day_get(c, a, p->day, 1) : NULL;
        rt_leaf *l = d ? leaf_get(c, d, p->precinct, p->unit, p->priority, 1) : NULL;
        if (l == NULL)
            return -1;
        if (l->n + run > l->cap && leaf_grow(c, l, (uint32_t)(l->n + run)) != 0)
            return -1;
        for (size_t k = 0; k < run; k++)
            l->recs[l->n++] = c->pend[i + k].r;
        i += run;
    }
    c->npend = 0;
    return 0;
}

static int pend_push(rt_cube *c, const rt_fact *f, int64_t day, int32_t unit, const rt_rec *r)
{
    if (c->npend == c->pcap) {
        size_t ncap = c->pcap ? c->pcap * 2 : 4096;
        rt_pend *np = realloc(c->pend, ncap * sizeof *np);
        if (np == NULL)
            return -1;
        c->pend = np;
        c->pcap = ncap;
    }
    rt_pend *p = &c->pend[c->npend++];
    p->day = day;
    p->agency = f->agency;
    p->precinct = f->precinct;
    p->unit = unit;
    p->priority = (int8_t)f->priority;
    p->r = *r;
    return 0;
}

void rt_set_load_chunk(rt_cube *c, size_t entries)
{
    c->chunk = entries;
}

int rt_load(rt_cube *c, const rt_fact *f)
{
    if (f->priority < -1 || f->priority > 9 || f->precinct < 0)
        return -1;
    int64_t day = floor_div(f->received, BLOCK);
    rt_rec r = rec_of(f, day);
    size_t nu = f->nunits < 64 ? f->nunits : 64;
    /* Units are named now, in arrival order, as rt_add would name them. */
    if (pend_push(c, f, day, RT_ALL, &r) != 0)
        return -1;
    for (size_t i = 0; i < nu; i++) {
        int32_t id = unit_intern(c, f->agency, f->units[i]);
        if (id < 0 || pend_push(c, f, day, id, &r) != 0)
            return -1;
    }
    c->facts++;
    if (c->npend >= (c->chunk ? c->chunk : RT_LOAD_CHUNK))
        return load_flush(c);
    return 0;
}

int rt_load_finish(rt_cube *c)
{
    int rc = load_flush(c);
    free(c->pend);
    c->pend = NULL;
    c->npend = c->pcap = 0;
    return rc;
}

/* ------------------------------------------------------------ questions */

typedef struct gkey {
    int32_t precinct, unit;
    int8_t priority, shift, hour, dow;
} gkey;

static uint32_t gkey_hash(const gkey *k)
{
    uint64_t h = (uint64_t)(uint32_t)k->precinct * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)(uint32_t)(k->unit + 2) * 0xC2B2AE3D27D4EB4FULL;
    h ^= ((uint64_t)(uint8_t)k->priority | (uint64_t)(uint8_t)k->shift << 8 |
          (uint64_t)(uint8_t)k->hour << 16 | (uint64_t)(uint8_t)k->dow << 24) *
         0x165667B19E3779F9ULL;
    return (uint32_t)(h ^ (h >> 31));
}

static int gkey_eq(const rt_group *g, const gkey *k)
{
    return g->precinct == k->precinct && g->unit == k->unit && g->priority == k->priority &&
           g->shift == k->shift && g->hour == k->hour && g->dow == k->dow;
}

static int result_grow_index(rt_result *r)
{
    size_t ncap = r->icap ? r->icap * 2 : 64;
    uint32_t *ni = calloc(ncap, sizeof *ni);
    if (ni == NULL)
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        gkey k = {r->groups[i].precinct, r->groups[i].unit, r->groups[i].priority,
                  r->groups[i].shift, r->groups[i].hour, r->groups[i].dow};
        size_t j = gkey_hash(&k) & (ncap - 1);
        while (ni[j])
            j = (j + 1) & (ncap - 1);
        ni[j] = (uint32_t)i + 1;
    }
    free(r->index);
    r->index = ni;
    r->icap = ncap;
    return 0;
}

static rt_group *group_get(rt_result *r, const gkey *k)
{
    if (r->icap) {
        size_t j = gkey_hash(k) & (r->icap - 1);
        for (; r->index[j]; j = (j + 1) & (r->icap - 1))
            if (gkey_eq(&r->groups[r->index[j] - 1], k))
                return &r->groups[r->index[j] - 1];
    }
    if ((r->n + 1) * 2 > r->icap && result_grow_index(r) != 0)
        return NULL;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        rt_group *ng = realloc(r->groups, ncap * sizeof *ng);
        if (ng == NULL)
            return NULL;
        r->groups = ng;
        r->cap = ncap;
    }
    rt_group *g = &r->groups[r->n];
    memset(g, 0, sizeof *g);
    g->precinct = k->precinct;
    g->unit = k->unit;
    g->priority = k->priority;
    g->shift = k->shift;
    g->hour = k->hour;
    g->dow = k->dow;
    size_t j = gkey_hash(k) & (r->icap - 1);
    while (r->index[j])
        j = (j + 1) & (r->icap - 1);
    r->index[j] = (uint32_t)++r->n;
    return g;
}

/*
 * Does the question read leaf l? Per unit, it reads the unit copies and,
 * for the calls without a unit, the once-per-incident leaves (their
 * records with nunits 0), as unit RT_NO_UNIT.
 */
static int leaf_selected(const rt_question *q, const rt_leaf *l, int per_unit)
{
    if (!per_unit && l->unit != RT_ALL)
        return 0;
    int32_t unit = l->unit == RT_ALL ? RT_NO_UNIT : l->unit;
    if (q->precincts &&
        (l->precinct >= q->nprecincts || q->precincts[l->precinct] == 0))
        return 0;
    if (q->priorities && !(q->priorities & (1u << (l->priority + 1))))
        return 0;
    if (per_unit && q->units && (unit + 1 >= q->nunits || q->units[unit + 1] == 0))
        return 0;
    return 1;
}

int rt_query(const rt_cube *c, const rt_question *q, rt_result *out)
{
    const rt_agency *a = agency_find(c, q->agency);
    if (a == NULL)
        return 0;
    int per_unit = (q->by & RT_BY_UNIT) || q->units != NULL;
    int need_local = (q->by & (RT_BY_SHIFT | RT_BY_HOUR | RT_BY_DOW)) || q->shifts;
    int64_t first = q->from == INT64_MIN ? INT64_MIN : floor_div(q->from, BLOCK);
    for (size_t di = first == INT64_MIN ? 0 : day_lower_bound(a, first); di < a->ndays; di++) {
        const rt_day *d = a->days[di];
        int64_t start = d->day * BLOCK;
        if (q->to != INT64_MAX && start >= q->to)
            break;
        /* The zone's offset, constant over the day unless it changes inside. */
        int off = 0, constant = 1;
        if (need_local && q->zone) {
            off = tz_offset(q->zone, start);
            constant = tz_next_change(q->zone, start) >= start + BLOCK;
        }
        for (uint32_t li = 0; li < d->nleaves; li++) {
            const rt_leaf *l = &d->leaves[li];
            if (l->n == 0 || !leaf_selected(q, l, per_unit))
                continue;
            /* Per unit, a once-per-incident leaf stands for the calls without a unit. */
            int no_unit_only = per_unit && l->unit == RT_ALL;
            int32_t precinct = !q->precinct_group      ? l->precinct
                               : l->precinct < q->ngroup ? q->precinct_group[l->precinct]
                                                         : 0;
            gkey k = {(q->by & RT_BY_PRECINCT) ? precinct : -1,
                      (q->by & RT_BY_UNIT) ? (no_unit_only ? RT_NO_UNIT : l->unit) : -1,
                      (q->by & RT_BY_PRIORITY) ? l->priority : (int8_t)-1, -1, -1, -1};
            rt_group *g = NULL;
            for (uint32_t ri = 0; ri < l->n; ri++) {
                const rt_rec *r = &l->recs[ri];
                int64_t t = start + (int64_t)r->quarter * RT_SLOT;
                if (t < q->from || (q->to != INT64_MAX && t >= q->to) ||
                    (no_unit_only && r->nunits != 0))
                    continue;
                if (need_local) {
                    int o = constant || q->zone == NULL ? off : tz_offset(q->zone, t);
                    int64_t local = t + o;
                    int64_t lday = floor_div(local, DAY);
                    int lq = (int)((local - lday * DAY) / RT_SLOT);
                    int8_t shift = q->shift_of_quarter ? q->shift_of_quarter[lq] : -1;
                    if (q->shifts && !(q->shifts & (1ull << (shift + 1))))
                        continue;
                    gkey k2 = k;
                    if (q->by & RT_BY_SHIFT)
                        k2.shift = shift;
                    if (q->by & RT_BY_HOUR)
                        k2.hour = (int8_t)(lq / 4);
                    if (q->by & RT_BY_DOW)
                        k2.dow = (int8_t)((((lday + 3) % 7) + 7) % 7 + 1);
                    g = group_get(out, &k2);
                } else if (g == NULL) {
                    g = group_get(out, &k);
                }
                if (g == NULL)
                    return -1;
                g->incidents++;
                for (int iv = 0; iv < RT_NINT; iv++)
                    if ((r->mask & (1u << iv)) && rt_hist_add(&g->h[iv], r->v[iv], 1) != 0)
                        return -1;
                if (need_local)
                    g = NULL;
            }
        }
    }
    return 0;
}

void rt_result_free(rt_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        for (int k = 0; k < RT_NINT; k++)
            rt_hist_clear(&r->groups[i].h[k]);
    free(r->groups);
    free(r->index);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ snapshots */

#define RT_SNAP_TAG 0x42435452u /* "RTCB" */

static void save_unit(const char *key, void *value, void *arg)
{
    snap_out *out = arg;
    snap_i32(out, (int32_t)((intptr_t)value - 1));
    snap_str(out, key);
}

int rt_save(const rt_cube *c, snap_out *out)
{
    if (c->npend)
        return -1;
    snap_u32(out, RT_SNAP_TAG);
    snap_i32(out, c->nunits);
    strmap_foreach(c->unit_ids, save_unit, out);
    snap_u64(out, c->nagencies);
    for (size_t a = 0; a < c->nagencies; a++) {
        const rt_agency *ag = &c->agencies[a];
        snap_i32(out, ag->id);
        snap_u64(out, ag->ndays);
        for (size_t i = 0; i < ag->ndays; i++) {
            const rt_day *d = ag->days[i];
            snap_i64(out, d->day);
            snap_u32(out, d->nleaves);
            for (uint32_t k = 0; k < d->nleaves; k++) {
                const rt_leaf *l = &d->leaves[k];
                snap_i32(out, l->precinct);
                snap_i32(out, l->unit);
                snap_i32(out, l->priority);
                snap_u32(out, l->n);
                snap_put(out, l->recs, (size_t)l->n * sizeof *l->recs);
            }
        }
    }
    snap_u64(out, c->facts);
    return out->failed ? -1 : 0;
}

static int restore_units(rt_cube *c, snap_in *in)
{
    int32_t n = snap_get_i32(in);
    if (in->failed || n < 0 || n > (int32_t)((in->end - in->p) / 8))
        return -1;
    if (n > 0 && (c->unit_names = calloc((size_t)n, sizeof *c->unit_names)) == NULL)
        return -1;
    c->ucap = c->nunits = n;
    for (int32_t i = 0; i < n; i++) {
        int32_t id = snap_get_i32(in);
        char *key = snap_get_str(in, 95);
        const char *sep = key ? strchr(key, '\x1f') : NULL;
        int ok = sep && id >= 0 && id < n && c->unit_names[id] == NULL &&
                 (c->unit_names[id] = strdup(sep + 1)) != NULL &&
                 strmap_put(c->unit_ids, key, (void *)(intptr_t)(id + 1)) == 0;
        if (ok)
            c->bytes += strlen(key) + 48;
        free(key);
        if (!ok)
            return -1;
    }
    return 0;
}

static int restore_day(rt_cube *c, rt_day *d, snap_in *in)
{
    uint32_t nleaves = snap_get_u32(in);
    /* each leaf takes at least its 16 bytes */
    if (in->failed || nleaves > (in->end - in->p) / 16)
        return -1;
    if (nleaves > 0 && (d->leaves = calloc(nleaves, sizeof *d->leaves)) == NULL)
        return -1;
    d->lcap = nleaves;
    c->bytes += (size_t)nleaves * sizeof *d->leaves;
    for (uint32_t k = 0; k < nleaves; k++) {
        rt_leaf *l = &d->leaves[k];
        l->precinct = snap_get_i32(in);
        l->unit = snap_get_i32(in);
        int32_t priority = snap_get_i32(in);
        uint32_t n = snap_get_u32(in);
        if (in->failed || priority < -1 || priority > 9 || (l->unit != RT_ALL && l->unit < 0) ||
            l->unit >= c->nunits ||
            leaf_get(c, d, l->precinct, l->unit, priority, 0) != NULL)
            return -1;
        l->priority = (int8_t)priority;
        if ((l->recs = snap_get_array(in, n, sizeof *l->recs)) == NULL)
            return -1;
        l->n = l->cap = n;
        c->bytes += (size_t)n * sizeof *l->recs;
        /* leaves are findable as they come, so a duplicate is caught above */
        d->nleaves = k + 1; /* (and freed with the day from here on) */
        for (uint32_t i = 0; i < n; i++)
            if (l->recs[i].quarter >= BLOCK / RT_SLOT || l->recs[i].mask >= 1u << RT_NINT)
                return -1;
        if (d->nleaves * 2 > d->hcap) {
            uint32_t ncap = d->hcap ? d->hcap : 8;
            while (d->nleaves * 2 > ncap)
                ncap *= 2;
            if (rehash(d, ncap) != 0)
                return -1;
        } else {
            uint32_t j = leaf_hash(l->precinct, l->unit, l->priority) & (d->hcap - 1);
            while (d->hash[j])
                j = (j + 1) & (d->hcap - 1);
            d->hash[j] = d->nleaves;
        }
    }
    c->bytes += d->hcap * sizeof(uint32_t);
    return 0;
}

rt_cube *rt_restore(snap_in *in)
{
    rt_cube *c = rt_new();
    if (c == NULL || snap_get_u32(in) != RT_SNAP_TAG || restore_units(c, in) != 0)
        goto fail;
    uint64_t nagencies = snap_get_u64(in);
    if (in->failed || nagencies > (uint64_t)(in->end - in->p) / 12)
        goto fail;
    for (uint64_t a = 0; a < nagencies; a++) {
        int32_t id = snap_get_i32(in);
        uint64_t ndays = snap_get_u64(in);
        if (in->failed || agency_find(c, id) != NULL ||
            ndays > (uint64_t)(in->end - in->p) / 12)
            goto fail;
        rt_agency *ag = agency_get(c, id);
        if (ag == NULL || (ndays && (ag->days = calloc(ndays, sizeof *ag->days)) == NULL))
            goto fail;
        ag->cap = ndays;
        for (uint64_t i = 0; i < ndays; i++) {
            rt_day *d = calloc(1, sizeof *d);
            if (d == NULL)
                goto fail;
            ag->days[ag->ndays++] = d;
            c->bytes += sizeof *d + sizeof d;
            d->day = snap_get_i64(in);
            /* blocks of 16 days: this keeps every instant in them an int64 */
            if (in->failed || d->day < -(INT64_C(1) << 40) || d->day > INT64_C(1) << 40 ||
                (i > 0 && d->day <= ag->days[i - 1]->day) ||
                restore_day(c, d, in) != 0)
                goto fail;
        }
    }
    c->facts = snap_get_u64(in);
    if (in->failed)
        goto fail;
    return c;
fail:
    snap_fail(in);
    rt_free(c);
    return NULL;
}
