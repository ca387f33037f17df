/*
 * cube.c -- see cube.h.
 *
 * series: slot[i] ascending, distinct; cum[i] = count of cells 0..i. The
 * count of cell i is cum[i] - cum[i - 1]. A cell whose count drops to 0 is
 * removed, so cells are exactly the (series, slot) pairs holding incidents.
 */
#include "cube.h"

#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

struct series {
    cube_key key;
    int32_t *slot;
    uint32_t *cum;
    uint32_t n, cap;
    int64_t as_of;
    int32_t *pending; /* bulk load: slots not yet indexed */
    uint32_t npending, pcap;
};

struct agency {
    struct series **list;
    size_t n, cap;
};

struct cube {
    struct series **table; /* open addressing by key */
    size_t tcap, nseries;
    struct agency *agencies; /* by agency id */
    int32_t nagencies;
    size_t ncells;
    uint64_t total;
    int64_t as_of;
    size_t finish_pos; /* cube_load_finish progress over `table` */
};

static uint64_t key_hash(const cube_key *k)
{
    uint64_t h = (uint64_t)(uint32_t)k->agency * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)(uint32_t)k->precinct * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)(uint32_t)k->offense * 0x165667B19E3779F9ULL;
    h ^= (uint64_t)(uint32_t)(k->priority + 1) * 0x27D4EB2F165667C5ULL;
    return h ^ (h >> 31);
}

static int key_eq(const cube_key *a, const cube_key *b)
{
    return a->agency == b->agency && a->precinct == b->precinct && a->offense == b->offense &&
           a->priority == b->priority;
}

cube *cube_new(void)
{
    cube *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->tcap = 1024;
    c->table = calloc(c->tcap, sizeof *c->table);
    if (c->table == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void cube_free(cube *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->tcap; i++) {
        struct series *s = c->table[i];
        if (s == NULL)
            continue;
        free(s->slot);
        free(s->cum);
        free(s->pending);
        free(s);
    }
    for (int32_t a = 0; a < c->nagencies; a++)
        free(c->agencies[a].list);
    free(c->agencies);
    free(c->table);
    free(c);
}

static int grow_table(cube *c)
{
    size_t ncap = c->tcap * 2;
    struct series **nt = calloc(ncap, sizeof *nt);
    if (nt == NULL)
        return -1;
    for (size_t i = 0; i < c->tcap; i++) {
        struct series *s = c->table[i];
        if (s == NULL)
            continue;
        size_t j = key_hash(&s->key) & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = s;
    }
    free(c->table);
    c->table = nt;
    c->tcap = ncap;
    return 0;
}

/* The series of key, created when create is set. NULL: absent or OOM. */
static struct series *series_get(cube *c, const cube_key *key, int create)
{
    size_t i = key_hash(key) & (c->tcap - 1);
    for (;;) {
        struct series *s = c->table[i];
        if (s == NULL)
            break;
        if (key_eq(&s->key, key))
            return s;
        i = (i + 1) & (c->tcap - 1);
    }
    if (!create || key->agency < 0)
        return NULL;
    if ((c->nseries + 1) * 10 > c->tcap * 7) {
        if (grow_table(c) != 0)
            return NULL;
        return series_get(c, key, create);
    }
    if (key->agency >= c->nagencies) {
        int32_t n = c->nagencies ? c->nagencies : 8;
        while (n <= key->agency)
            n *= 2;
        struct agency *na = realloc(c->agencies, (size_t)n * sizeof *na);
        if (na == NULL)
            return NULL;
        memset(na + c->nagencies, 0, (size_t)(n - c->nagencies) * sizeof *na);
        c->agencies = na;
        c->nagencies = n;
    }
    struct agency *ag = &c->agencies[key->agency];
    if (ag->n == ag->cap) {
        size_t ncap = ag->cap ? ag->cap * 2 : 64;
        struct series **nl = realloc(ag->list, ncap * sizeof *nl);
        if (nl == NULL)
            return NULL;
        ag->list = nl;
        ag->cap = ncap;
    }
    struct series *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->key = *key;
    c->table[i] = s;
    c->nseries++;
    ag->list[ag->n++] = s;
    return s;
}

static int32_t slot_of(int64_t t)
{
    int64_t q = t / CUBE_SLOT;
    if (t % CUBE_SLOT < 0)
        q--;
    return (int32_t)q;
}

/* First index with slot[i] >= v. */
static uint32_t lower_bound(const struct series *s, int64_t v)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->slot[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int series_reserve(struct series *s, uint32_t need)
{
    if (need <= s->cap)
        return 0;
    uint32_t ncap = s->cap ? s->cap : 4;
    while (ncap < need)
        ncap *= 2;
    int32_t *ns = realloc(s->slot, (size_t)ncap * sizeof *ns);
    if (ns == NULL)
        return -1;
    s->slot = ns;
    uint32_t *nc = realloc(s->cum, (size_t)ncap * sizeof *nc);
    if (nc == NULL)
        return -1;
    s->cum = nc;
    s->cap = ncap;
    return 0;
}

int cube_add(cube *c, const cube_key *key, int64_t t, int delta, int64_t commit_ms)
{
    if (delta != 1 && delta != -1)
        return -1;
    struct series *s = series_get(c, key, delta > 0);
    if (s == NULL)
        return -1;
    int32_t slot = slot_of(t);
    uint32_t i = lower_bound(s, slot);
    int present = i < s->n && s->slot[i] == slot;
    if (delta > 0) {
        if (!present) {
            if (series_reserve(s, s->n + 1) != 0)
                return -1;
            memmove(s->slot + i + 1, s->slot + i, (size_t)(s->n - i) * sizeof *s->slot);
            memmove(s->cum + i + 1, s->cum + i, (size_t)(s->n - i) * sizeof *s->cum);
            s->slot[i] = slot;
            s->cum[i] = i ? s->cum[i - 1] : 0;
            s->n++;
            c->ncells++;
        }
        for (uint32_t k = i; k < s->n; k++)
            s->cum[k]++;
        c->total++;
    } else {
        if (!present)
            return -1;
        uint32_t count = s->cum[i] - (i ? s->cum[i - 1] : 0);
        for (uint32_t k = i; k < s->n; k++)
            s->cum[k]--;
        if (count == 1) {
            memmove(s->slot + i, s->slot + i + 1, (size_t)(s->n - i - 1) * sizeof *s->slot);
            memmove(s->cum + i, s->cum + i + 1, (size_t)(s->n - i - 1) * sizeof *s->cum);
            s->n--;
            c->ncells--;
        }
        c->total--;
    }
    if (commit_ms > s->as_of)
        s->as_of = commit_ms;
    if (commit_ms > c->as_of)
        c->as_of = commit_ms;
    return 0;
}

int cube_load(cube *c, const cube_key *key, int64_t t, int64_t commit_ms)
{
    struct series *s = series_get(c, key, 1);
    if (s == NULL)
        return -1;
    if (s->npending == s->pcap) {
        uint32_t ncap = s->pcap ? s->pcap * 2 : 8;
        int32_t *np = realloc(s->pending, (size_t)ncap * sizeof *np);
        if (np == NULL)
            return -1;
        s->pending = np;
        s->pcap = ncap;
    }
    s->pending[s->npending++] = slot_of(t);
    if (commit_ms > s->as_of)
        s->as_of = commit_ms;
    if (commit_ms > c->as_of)
        c->as_of = commit_ms;
    c->finish_pos = 0;
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Merge a series' pending slots into its cells. */
static int index_pending(cube *c, struct series *s)
{
    if (s->npending == 0)
        return 0;
    qsort(s->pending, s->npending, sizeof *s->pending, cmp_i32);
    /* Count distinct pending slots to size the merged arrays. */
    uint32_t distinct = 0;
    for (uint32_t k = 0; k < s->npending; k++)
        if (k == 0 || s->pending[k] != s->pending[k - 1])
            distinct++;
    uint32_t cap = s->n + distinct;
    int32_t *slot = malloc((size_t)cap * sizeof *slot);
    uint32_t *cum = malloc((size_t)cap * sizeof *cum);
    if (slot == NULL || cum == NULL) {
        free(slot);
        free(cum);
        return -1;
    }
    uint32_t i = 0, k = 0, n = 0, run = 0;
    while (i < s->n || k < s->npending) {
        int32_t v;
        uint32_t cnt = 0;
        if (k >= s->npending || (i < s->n && s->slot[i] <= s->pending[k])) {
            v = s->slot[i];
            cnt = s->cum[i] - (i ? s->cum[i - 1] : 0);
            i++;
        } else {
            v = s->pending[k];
        }
        while (k < s->npending && s->pending[k] == v) {
            cnt++;
            k++;
        }
        if (n > 0 && slot[n - 1] == v) {
            run += cnt;
            cum[n - 1] = run;
            continue;
        }
        run += cnt;
        slot[n] = v;
        cum[n] = run;
        n++;
    }
    c->ncells += n - s->n;
    c->total += s->npending;
    free(s->slot);
    free(s->cum);
    free(s->pending);
    s->slot = slot;
    s->cum = cum;
    s->n = s->cap = n;
    s->pending = NULL;
    s->npending = s->pcap = 0;
    return 0;
}

int cube_load_finish(cube *c, size_t budget)
{
    size_t done = 0;
    while (c->finish_pos < c->tcap) {
        struct series *s = c->table[c->finish_pos];
        if (s && s->npending) {
            if (done > 0 && done + s->npending > budget)
                return 0;
            done += s->npending;
            if (index_pending(c, s) != 0)
                return -1;
        }
        c->finish_pos++;
    }
    return 1;
}

size_t cube_series(const cube *c)
{
    return c->nseries;
}

size_t cube_cells(const cube *c)
{
    return c->ncells;
}

uint64_t cube_total(const cube *c)
{
    return c->total;
}

int64_t cube_as_of(const cube *c)
{
    return c->as_of;
}

size_t cube_bytes(const cube *c)
{
    size_t b = sizeof *c + c->tcap * sizeof *c->table;
    for (size_t i = 0; i < c->tcap; i++) {
        const struct series *s = c->table[i];
        if (s)
            b += sizeof *s + (size_t)s->cap * (sizeof *s->slot + sizeof *s->cum) +
                 (size_t)s->pcap * sizeof *s->pending;
    }
    for (int32_t a = 0; a < c->nagencies; a++)
        b += c->agencies[a].cap * sizeof(struct series *);
    return b;
}

/* ------------------------------------------------------------ queries */

int cube_iso_dow(int64_t day)
{
    int64_t r = (day + 3) % 7; /* 1970-01-01 was a Thursday */
    if (r < 0)
        r += 7;
    return (int)r + 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t cube_bucket_start(int64_t local, int g)
{
    int64_t day = floor_div(local, 86400);
    int64_t y;
    int m, d;
    switch (g) {
    case CUBE_HOUR:
        return floor_div(local, 3600) * 3600;
    case CUBE_DAY:
        return day * 86400;
    case CUBE_WEEK:
        return (day - (cube_iso_dow(day) - 1)) * 86400;
    case CUBE_MONTH:
        rfc3339_civil_from_days(day, &y, &m, &d);
        return rfc3339_days_from_civil(y, m, 1) * 86400;
    case CUBE_YEAR:
        rfc3339_civil_from_days(day, &y, &m, &d);
        return rfc3339_days_from_civil(y, 1, 1) * 86400;
    default:
        return 0;
    }
}

/* The grouping table of a query: open addressing on the cell's key. */
struct groups {
    cube_cell *cells;
    size_t n, cap;
    uint32_t *index; /* 1-based cell index, 0 empty; icap slots */
    size_t icap;
};

static uint64_t cell_hash(const cube_cell *k)
{
    uint64_t h = (uint64_t)(uint32_t)k->precinct * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)(uint32_t)k->offense * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)(uint32_t)k->category * 0x165667B19E3779F9ULL;
    h ^= (uint64_t)(uint32_t)(k->priority + 3) * 0x27D4EB2F165667C5ULL;
    h ^= (uint64_t)(uint32_t)(k->hour_of_day + 3) * 0x94D049BB133111EBULL;
    h ^= (uint64_t)(uint32_t)(k->day_of_week + 3) * 0xBF58476D1CE4E5B9ULL;
    h ^= (uint64_t)k->bucket * 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 29);
}

static int cell_key_eq(const cube_cell *a, const cube_cell *b)
{
    return a->precinct == b->precinct && a->offense == b->offense &&
           a->category == b->category && a->priority == b->priority &&
           a->hour_of_day == b->hour_of_day && a->day_of_week == b->day_of_week &&
           a->bucket == b->bucket;
}

static int groups_rehash(struct groups *g, size_t icap)
{
    uint32_t *ni = calloc(icap, sizeof *ni);
    if (ni == NULL)
        return -1;
    for (size_t k = 0; k < g->n; k++) {
        size_t j = cell_hash(&g->cells[k]) & (icap - 1);
        while (ni[j])
            j = (j + 1) & (icap - 1);
        ni[j] = (uint32_t)(k + 1);
    }
    free(g->index);
    g->index = ni;
    g->icap = icap;
    return 0;
}

static int groups_add(struct groups *g, const cube_cell *key, uint64_t count)
{
    if (count == 0)
        return 0;
    if ((g->n + 1) * 2 > g->icap && groups_rehash(g, g->icap ? g->icap * 2 : 64) != 0)
        return -1;
    size_t j = cell_hash(key) & (g->icap - 1);
    while (g->index[j]) {
        cube_cell *c = &g->cells[g->index[j] - 1];
        if (cell_key_eq(c, key)) {
            c->count += count;
            return 0;
        }
        j = (j + 1) & (g->icap - 1);
    }
    if (g->n == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 32;
        cube_cell *nc = realloc(g->cells, ncap * sizeof *nc);
        if (nc == NULL)
            return -1;
        g->cells = nc;
        g->cap = ncap;
    }
    g->cells[g->n] = *key;
    g->cells[g->n].count = count;
    g->n++;
    g->index[j] = (uint32_t)g->n;
    return 0;
}

static int matches(const cube_question *q, const struct series *s)
{
    const cube_key *k = &s->key;
    if (q->precincts && (k->precinct >= q->nprecincts || !q->precincts[k->precinct]))
        return 0;
    if (q->offenses && (k->offense >= q->noffenses || !q->offenses[k->offense]))
        return 0;
    if (q->priorities && !(q->priorities & (1u << (k->priority + 1))))
        return 0;
    return 1;
}

int cube_query(const cube *c, const cube_question *q, cube_result *out)
{
    memset(out, 0, sizeof *out);
    out->as_of = 0;
    struct groups g = {0};
    int local_dims = (q->by & (CUBE_BY_HOUR_OF_DAY | CUBE_BY_DAY_OF_WEEK)) ||
                     q->granularity != CUBE_NONE;
    int64_t from_slot = q->from == INT64_MIN ? INT64_MIN : floor_div(q->from, CUBE_SLOT);
    int64_t to_slot = q->to == INT64_MAX ? INT64_MAX : floor_div(q->to, CUBE_SLOT);
    const struct agency *ag =
        q->agency >= 0 && q->agency < c->nagencies ? &c->agencies[q->agency] : NULL;

    for (size_t si = 0; ag && si < ag->n; si++) {
        const struct series *s = ag->list[si];
        if (!matches(q, s))
            continue;
        if (s->as_of > out->as_of)
            out->as_of = s->as_of;
        cube_cell key;
        key.precinct = (q->by & CUBE_BY_PRECINCT) ? s->key.precinct : CUBE_ANY;
        key.offense = (q->by & CUBE_BY_OFFENSE) ? s->key.offense : CUBE_ANY;
        key.category = CUBE_ANY;
        if (q->by & CUBE_BY_CATEGORY)
            key.category = s->key.offense < q->ncategory_of ? q->category_of[s->key.offense] : -1;
        key.priority = (q->by & CUBE_BY_PRIORITY) ? s->key.priority : CUBE_ANY;
        key.hour_of_day = key.day_of_week = CUBE_ANY;
        key.bucket = 0;

        uint32_t i = from_slot == INT64_MIN ? 0 : lower_bound(s, from_slot);
        uint32_t j = to_slot == INT64_MAX ? s->n : lower_bound(s, to_slot);
        if (j <= i)
            continue;
        if (!local_dims) {
            uint64_t n = s->cum[j - 1] - (i ? s->cum[i - 1] : 0);
            out->total += n;
            if (groups_add(&g, &key, n) != 0)
                goto oom;
            continue;
        }
        /* Walk the cells in order, looking the zone offset up once per
           stretch between transitions. */
        int64_t next_change = INT64_MIN;
        int off = 0;
        for (uint32_t k = i; k < j; k++) {
            int64_t t = (int64_t)s->slot[k] * CUBE_SLOT;
            if (q->zone && (next_change == INT64_MIN || t >= next_change)) {
                off = tz_offset(q->zone, t);
                next_change = tz_next_change(q->zone, t);
            }
            int64_t local = t + off;
            uint64_t n = s->cum[k] - (k ? s->cum[k - 1] : 0);
            if (q->by & CUBE_BY_HOUR_OF_DAY)
                key.hour_of_day = (int32_t)(floor_div(local, 3600) % 24 + 24) % 24;
            if (q->by & CUBE_BY_DAY_OF_WEEK)
                key.day_of_week = cube_iso_dow(floor_div(local, 86400));
            if (q->granularity != CUBE_NONE)
                key.bucket = cube_bucket_start(local, q->granularity);
            out->total += n;
            if (groups_add(&g, &key, n) != 0)
                goto oom;
        }
    }
    free(g.index);
    out->cells = g.cells;
    out->n = g.n;
    if (out->as_of == 0)
        out->as_of = c->as_of;
    return 0;
oom:
    free(g.index);
    free(g.cells);
    memset(out, 0, sizeof *out);
    return -1;
}

void cube_result_free(cube_result *r)
{
    free(r->cells);
    memset(r, 0, sizeof *r);
}
