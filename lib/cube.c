/*
 * cube.c -- see cube.h.
 *
 * series: slot[i] ascending, distinct; cum[i] = count of cells 0..i. The
 * count of cell i is cum[i] - cum[i - 1]. A cell whose count drops to 0 is
 * removed, so cells are exactly the (series, slot) pairs holding incidents.
 *
 * Every series is in the hash table (by level and key) and in its agency's
 * list for its level and precinct; series are never freed before the cube.
 */
#include "cube.h"

#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

#define NLEVELS 4
#define ALL (-3) /* a rolled-up dimension inside a series key */

struct skey {
    int32_t level, agency, precinct, what, priority; /* what: offense or category */
};

struct series {
    struct skey key;
    int32_t *slot;
    uint32_t *cum;
    uint32_t n, cap;
    int64_t as_of;
    int32_t *pending; /* bulk load: slots not yet indexed */
    uint32_t npending, pcap;
};

struct vec {
    struct series **s;
    uint32_t n, cap;
};

struct agency {
    struct vec *lists[NLEVELS]; /* by precinct id */
    int32_t nprecincts;
    int32_t *category; /* offense id -> category, -1 unknown */
    int32_t noffenses;
    int dirty; /* categories changed during a bulk load: rebuild level 2 after */
};

struct cube {
    struct series **table; /* open addressing by key */
    size_t tcap, nseries;
    struct agency *agencies; /* by agency id */
    int32_t nagencies;
    size_t ncells;
    uint64_t total;
    int64_t as_of;
    int bulk;          /* cube_load called, cube_load_finish not done */
    int finish_level;  /* cube_load_finish: the level being indexed */
    size_t finish_pos; /* ... and the progress over `table` */
};

static uint64_t key_hash(const struct skey *k)
{
    uint64_t h = (uint64_t)(uint32_t)k->level * 0xD6E8FEB86659FD93ULL;
    h ^= (uint64_t)(uint32_t)k->agency * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)(uint32_t)k->precinct * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)(uint32_t)k->what * 0x165667B19E3779F9ULL;
    h ^= (uint64_t)(uint32_t)(k->priority + 4) * 0x27D4EB2F165667C5ULL;
    return h ^ (h >> 31);
}

static int key_eq(const struct skey *a, const struct skey *b)
{
    return a->level == b->level && a->agency == b->agency && a->precinct == b->precinct &&
           a->what == b->what && a->priority == b->priority;
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
    for (int32_t a = 0; a < c->nagencies; a++) {
        struct agency *ag = &c->agencies[a];
        for (int l = 0; l < NLEVELS; l++) {
            for (int32_t p = 0; ag->lists[l] && p < ag->nprecincts; p++)
                free(ag->lists[l][p].s);
            free(ag->lists[l]);
        }
        free(ag->category);
    }
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

static struct agency *agency_get(cube *c, int32_t id)
{
    if (id < 0)
        return NULL;
    if (id >= c->nagencies) {
        int32_t n = c->nagencies ? c->nagencies : 8;
        while (n <= id)
            n *= 2;
        struct agency *na = realloc(c->agencies, (size_t)n * sizeof *na);
        if (na == NULL)
            return NULL;
        memset(na + c->nagencies, 0, (size_t)(n - c->nagencies) * sizeof *na);
        c->agencies = na;
        c->nagencies = n;
    }
    return &c->agencies[id];
}

static int agency_reserve_precinct(struct agency *ag, int32_t p)
{
    if (p < ag->nprecincts)
        return 0;
    int32_t n = ag->nprecincts ? ag->nprecincts : 16;
    while (n <= p)
        n *= 2;
    for (int l = 0; l < NLEVELS; l++) {
        struct vec *nl = realloc(ag->lists[l], (size_t)n * sizeof *nl);
        if (nl == NULL)
            return -1;
        memset(nl + ag->nprecincts, 0, (size_t)(n - ag->nprecincts) * sizeof *nl);
        ag->lists[l] = nl;
    }
    ag->nprecincts = n;
    return 0;
}

static int vec_push(struct vec *v, struct series *s)
{
    if (v->n == v->cap) {
        uint32_t ncap = v->cap ? v->cap * 2 : 8;
        struct series **ns = realloc(v->s, (size_t)ncap * sizeof *ns);
        if (ns == NULL)
            return -1;
        v->s = ns;
        v->cap = ncap;
    }
    v->s[v->n++] = s;
    return 0;
}

/* The series of key, created when create is set. NULL: absent or OOM. */
static struct series *series_get(cube *c, const struct skey *key, int create)
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
    if (!create || key->agency < 0 || key->precinct < 0)
        return NULL;
    if ((c->nseries + 1) * 10 > c->tcap * 7) {
        if (grow_table(c) != 0)
            return NULL;
        return series_get(c, key, create);
    }
    struct agency *ag = agency_get(c, key->agency);
    if (ag == NULL || agency_reserve_precinct(ag, key->precinct) != 0)
        return NULL;
    struct series *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    if (vec_push(&ag->lists[key->level][key->precinct], s) != 0) {
        free(s);
        return NULL;
    }
    s->key = *key;
    c->table[i] = s;
    c->nseries++;
    return s;
}

static int32_t category_of(const cube *c, int32_t agency, int32_t offense)
{
    if (agency < 0 || agency >= c->nagencies)
        return -1;
    const struct agency *ag = &c->agencies[agency];
    return offense >= 0 && offense < ag->noffenses ? ag->category[offense] : -1;
}

/* The four series keys of an incident. */
static void level_keys(const cube *c, const cube_key *k, struct skey out[NLEVELS])
{
    for (int l = 0; l < NLEVELS; l++) {
        out[l].level = l;
        out[l].agency = k->agency;
        out[l].precinct = k->precinct;
    }
    out[0].what = k->offense;
    out[0].priority = k->priority;
    out[1].what = k->offense;
    out[1].priority = ALL;
    out[2].what = category_of(c, k->agency, k->offense);
    out[2].priority = ALL;
    out[3].what = ALL;
    out[3].priority = ALL;
}

static int32_t slot_of(int64_t t)
{
    int64_t q = t / CUBE_SLOT;
    if (t % CUBE_SLOT < 0)
        q--;
    return (int32_t)q;
}

/* The first index in [lo, hi) whose slot is >= v (hi when none). */
static uint32_t lower_bound_in(const struct series *s, uint32_t lo, uint32_t hi, int64_t v)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->slot[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index with slot[i] >= v. */
static uint32_t lower_bound(const struct series *s, int64_t v)
{
    return lower_bound_in(s, 0, s->n, v);
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

static uint32_t cell_count(const struct series *s, uint32_t i)
{
    return s->cum[i] - (i ? s->cum[i - 1] : 0);
}

/* Add count (> 0) at slot. 0, or -1 out of memory. */
static int series_inc(cube *c, struct series *s, int32_t slot, uint32_t count)
{
    uint32_t i = lower_bound(s, slot);
    if (!(i < s->n && s->slot[i] == slot)) {
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
        s->cum[k] += count;
    return 0;
}

/* Remove one at slot; the caller checked it is there. */
static void series_dec(cube *c, struct series *s, int32_t slot)
{
    uint32_t i = lower_bound(s, slot);
    uint32_t count = cell_count(s, i);
    for (uint32_t k = i; k < s->n; k++)
        s->cum[k]--;
    if (count == 1) {
        memmove(s->slot + i, s->slot + i + 1, (size_t)(s->n - i - 1) * sizeof *s->slot);
        memmove(s->cum + i, s->cum + i + 1, (size_t)(s->n - i - 1) * sizeof *s->cum);
        s->n--;
        c->ncells--;
    }
}

static int series_has(const struct series *s, int32_t slot)
{
    uint32_t i = lower_bound(s, slot);
    return i < s->n && s->slot[i] == slot;
}

int cube_add(cube *c, const cube_key *key, int64_t t, int delta, int64_t commit_ms)
{
    if (delta != 1 && delta != -1)
        return -1;
    struct skey keys[NLEVELS];
    struct series *s[NLEVELS];
    level_keys(c, key, keys);
    int32_t slot = slot_of(t);
    for (int l = 0; l < NLEVELS; l++) {
        s[l] = series_get(c, &keys[l], delta > 0);
        if (s[l] == NULL || (delta < 0 && !series_has(s[l], slot)))
            return -1; /* nothing changed yet */
    }
    for (int l = 0; l < NLEVELS; l++) {
        if (delta > 0) {
            if (series_inc(c, s[l], slot, 1) != 0) {
                while (l-- > 0) /* undo: the cube stays as it was */
                    series_dec(c, s[l], slot);
                return -1;
            }
        } else {
            series_dec(c, s[l], slot);
        }
        if (commit_ms > s[l]->as_of)
            s[l]->as_of = commit_ms;
    }
    c->total += (uint64_t)(int64_t)delta;
    if (commit_ms > c->as_of)
        c->as_of = commit_ms;
    return 0;
}

/* Record slot for indexing by cube_load_finish. 0, or -1 out of memory. */
static int pending_push(struct series *s, int32_t slot)
{
    if (s->npending == s->pcap) {
        uint32_t ncap = s->pcap ? s->pcap * 2 : 8;
        int32_t *np = realloc(s->pending, (size_t)ncap * sizeof *np);
        if (np == NULL)
            return -1;
        s->pending = np;
        s->pcap = ncap;
    }
    s->pending[s->npending++] = slot;
    return 0;
}

/* Merge src's cells into dst (both indexed). 0, or -1 out of memory. */
static int series_merge(cube *c, struct series *dst, const struct series *src)
{
    uint32_t cap = dst->n + src->n;
    int32_t *slot = malloc((size_t)(cap ? cap : 1) * sizeof *slot);
    uint32_t *cum = malloc((size_t)(cap ? cap : 1) * sizeof *cum);
    if (slot == NULL || cum == NULL) {
        free(slot);
        free(cum);
        return -1;
    }
    uint32_t i = 0, j = 0, n = 0, run = 0;
    while (i < dst->n || j < src->n) {
        int32_t v;
        if (j >= src->n || (i < dst->n && dst->slot[i] <= src->slot[j]))
            v = dst->slot[i];
        else
            v = src->slot[j];
        uint32_t cnt = 0;
        if (i < dst->n && dst->slot[i] == v)
            cnt += cell_count(dst, i++);
        if (j < src->n && src->slot[j] == v)
            cnt += cell_count(src, j++);
        run += cnt;
        slot[n] = v;
        cum[n] = run;
        n++;
    }
    c->ncells += n - dst->n;
    free(dst->slot);
    free(dst->cum);
    dst->slot = slot;
    dst->cum = cum;
    dst->n = dst->cap = n;
    if (src->as_of > dst->as_of)
        dst->as_of = src->as_of;
    return 0;
}

/* Rebuild level 2 of an agency from level 1 (no pending work anywhere). */
static int rebuild_categories(cube *c, int32_t agency)
{
    struct agency *ag = &c->agencies[agency];
    for (int32_t p = 0; p < ag->nprecincts; p++) {
        struct vec *v2 = &ag->lists[2][p];
        for (uint32_t k = 0; k < v2->n; k++) {
            c->ncells -= v2->s[k]->n;
            v2->s[k]->n = 0;
        }
    }
    for (int32_t p = 0; p < ag->nprecincts; p++) {
        struct vec *v1 = &ag->lists[1][p];
        for (uint32_t k = 0; k < v1->n; k++) {
            const struct series *src = v1->s[k];
            if (src->n == 0)
                continue;
            struct skey key = {2, agency, p, category_of(c, agency, src->key.what), ALL};
            struct series *dst = series_get(c, &key, 1);
            if (dst == NULL || series_merge(c, dst, src) != 0)
                return -1;
        }
    }
    ag->dirty = 0;
    return 0;
}

int cube_set_category(cube *c, int32_t agency, int32_t offense, int32_t category)
{
    struct agency *ag = agency_get(c, agency);
    if (ag == NULL || offense < 0)
        return -1;
    if (offense >= ag->noffenses) {
        int32_t n = ag->noffenses ? ag->noffenses : 64;
        while (n <= offense)
            n *= 2;
        int32_t *nc = realloc(ag->category, (size_t)n * sizeof *nc);
        if (nc == NULL)
            return -1;
        for (int32_t k = ag->noffenses; k < n; k++)
            nc[k] = -1;
        ag->category = nc;
        ag->noffenses = n;
    }
    if (ag->category[offense] == category)
        return 0;
    ag->category[offense] = category;
    if (c->bulk) { /* levels above 0 are built at the end of the load */
        ag->dirty = 1;
        return 0;
    }
    return rebuild_categories(c, agency);
}

int cube_load(cube *c, const cube_key *key, int64_t t, int64_t commit_ms)
{
    /* Only level 0 here (one hash look-up per incident): cube_load_finish
       carries the counts up to the other levels, a series at a time. */
    struct skey keys[NLEVELS];
    level_keys(c, key, keys);
    struct series *s = series_get(c, &keys[0], 1);
    if (s == NULL || pending_push(s, slot_of(t)) != 0)
        return -1;
    if (commit_ms > s->as_of)
        s->as_of = commit_ms;
    if (commit_ms > c->as_of)
        c->as_of = commit_ms;
    c->total++;
    c->bulk = 1;
    c->finish_level = 0;
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
    struct series tmp = {0};
    uint32_t distinct = 0;
    for (uint32_t k = 0; k < s->npending; k++)
        if (k == 0 || s->pending[k] != s->pending[k - 1])
            distinct++;
    tmp.slot = malloc((size_t)distinct * sizeof *tmp.slot);
    tmp.cum = malloc((size_t)distinct * sizeof *tmp.cum);
    if (tmp.slot == NULL || tmp.cum == NULL) {
        free(tmp.slot);
        free(tmp.cum);
        return -1;
    }
    for (uint32_t k = 0; k < s->npending; k++) {
        if (k == 0 || s->pending[k] != s->pending[k - 1]) {
            tmp.slot[tmp.n] = s->pending[k];
            tmp.cum[tmp.n] = tmp.n ? tmp.cum[tmp.n - 1] : 0;
            tmp.n++;
        }
        tmp.cum[tmp.n - 1]++;
    }
    free(s->pending);
    s->pending = NULL;
    s->npending = s->pcap = 0;
    int rc;
    if (s->n == 0) {
        free(s->slot);
        free(s->cum);
        s->slot = tmp.slot;
        s->cum = tmp.cum;
        s->n = s->cap = tmp.n;
        c->ncells += tmp.n;
        return 0;
    }
    rc = series_merge(c, s, &tmp);
    free(tmp.slot);
    free(tmp.cum);
    return rc;
}

/* The series one level up from s (created when needed). */
static struct series *parent_of(cube *c, const struct series *s)
{
    struct skey k = s->key;
    k.level++;
    if (k.level == 1)
        k.priority = ALL;
    else if (k.level == 2)
        k.what = category_of(c, k.agency, k.what);
    else
        k.what = ALL;
    return series_get(c, &k, 1);
}

int cube_load_finish(cube *c, size_t budget)
{
    size_t done = 0;
    /* Level by level: hand each series' new incidents to its parent, then
       index them; the parent is done when its level comes. */
    while (c->finish_level < NLEVELS) {
        while (c->finish_pos < c->tcap) {
            struct series *s = c->table[c->finish_pos];
            if (s && s->npending && s->key.level == c->finish_level) {
                if (done > 0 && done + s->npending > budget)
                    return 0;
                done += s->npending;
                size_t cap = c->tcap;
                if (s->key.level < NLEVELS - 1) {
                    struct series *up = parent_of(c, s);
                    if (up == NULL)
                        return -1;
                    for (uint32_t q = 0; q < s->npending; q++)
                        if (pending_push(up, s->pending[q]) != 0)
                            return -1;
                    if (s->as_of > up->as_of)
                        up->as_of = s->as_of;
                }
                if (index_pending(c, s) != 0)
                    return -1;
                if (c->tcap != cap) {
                    /* The table grew and reordered: scan this level again
                       (series already done have nothing pending). */
                    c->finish_pos = 0;
                    continue;
                }
            }
            c->finish_pos++;
        }
        c->finish_level++;
        c->finish_pos = 0;
    }
    c->bulk = 0;
    for (int32_t a = 0; a < c->nagencies; a++)
        if (c->agencies[a].dirty && rebuild_categories(c, a) != 0)
            return -1;
    return 1;
}

/* ------------------------------------------------------------ snapshots */

#define CUBE_SNAP_TAG 0x45425543u /* "CUBE" */

int cube_save(const cube *c, snap_out *out)
{
    if (c->bulk)
        return -1;
    snap_u32(out, CUBE_SNAP_TAG);
    snap_i32(out, c->nagencies);
    for (int32_t a = 0; a < c->nagencies; a++) {
        const struct agency *ag = &c->agencies[a];
        snap_i32(out, ag->noffenses);
        snap_put(out, ag->category, (size_t)ag->noffenses * sizeof *ag->category);
    }
    snap_u64(out, c->nseries);
    for (size_t i = 0; i < c->tcap; i++) {
        const struct series *s = c->table[i];
        if (s == NULL)
            continue;
        snap_put(out, &s->key, sizeof s->key);
        snap_u32(out, s->n);
        snap_i64(out, s->as_of);
        snap_put(out, s->slot, (size_t)s->n * sizeof *s->slot);
        snap_put(out, s->cum, (size_t)s->n * sizeof *s->cum);
    }
    snap_u64(out, c->ncells);
    snap_u64(out, c->total);
    snap_i64(out, c->as_of);
    return out->failed ? -1 : 0;
}

/* A restored series must be what the cube's own updates leave behind. */
static int key_valid(const struct skey *k)
{
    return k->level >= 0 && k->level < NLEVELS && k->agency >= 0 && k->agency < (1 << 20) &&
           k->precinct >= 0 && k->precinct < (1 << 20);
}

static int series_valid(const struct series *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (i > 0 && (s->slot[i] <= s->slot[i - 1] || s->cum[i] <= s->cum[i - 1]))
            return 0;
        if (i == 0 && s->cum[0] == 0)
            return 0;
    }
    return 1;
}

cube *cube_restore(snap_in *in)
{
    cube *c = cube_new();
    if (c == NULL || snap_get_u32(in) != CUBE_SNAP_TAG)
        goto fail;
    int32_t nagencies = snap_get_i32(in);
    if (nagencies < 0 || nagencies > (1 << 20))
        goto fail;
    for (int32_t a = 0; a < nagencies && !in->failed; a++) {
        int32_t noffenses = snap_get_i32(in);
        if (noffenses < 0)
            goto fail;
        if (noffenses == 0)
            continue;
        struct agency *ag = agency_get(c, a);
        int32_t *cat = snap_get_array(in, (size_t)noffenses, sizeof *cat);
        if (ag == NULL || cat == NULL) {
            free(cat);
            goto fail;
        }
        ag->category = cat;
        ag->noffenses = noffenses;
    }
    uint64_t nseries = snap_get_u64(in);
    for (uint64_t i = 0; i < nseries && !in->failed; i++) {
        struct skey key;
        snap_get(in, &key, sizeof key);
        uint32_t n = snap_get_u32(in);
        int64_t as_of = snap_get_i64(in);
        if (in->failed || !key_valid(&key) || series_get(c, &key, 0) != NULL)
            goto fail;
        struct series *s = series_get(c, &key, 1);
        if (s == NULL)
            goto fail;
        s->slot = snap_get_array(in, n, sizeof *s->slot);
        s->cum = snap_get_array(in, n, sizeof *s->cum);
        if (s->slot == NULL || s->cum == NULL)
            goto fail;
        s->n = s->cap = n;
        s->as_of = as_of;
        if (!series_valid(s))
            goto fail;
    }
    c->ncells = snap_get_u64(in);
    c->total = snap_get_u64(in);
    c->as_of = snap_get_i64(in);
    if (in->failed)
        goto fail;
    return c;
fail:
    snap_fail(in);
    cube_free(c);
    return NULL;
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
                 (size_t)s->pcap * sizeof *s->pending + sizeof(struct series *);
    }
    for (int32_t a = 0; a < c->nagencies; a++)
        b += (size_t)c->agencies[a].nprecincts * NLEVELS * sizeof(struct vec) +
             (size_t)c->agencies[a].noffenses * sizeof(int32_t);
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

/* The start of the bucket after the one starting at local (a bucket start). */
static int64_t bucket_next(int64_t start, int g)
{
    int64_t y;
    int m, d;
    switch (g) {
    case CUBE_HOUR:
        return start + 3600;
    case CUBE_DAY:
        return start + 86400;
    case CUBE_WEEK:
        return start + 7 * 86400;
    case CUBE_MONTH:
        rfc3339_civil_from_days(floor_div(start, 86400), &y, &m, &d);
        return rfc3339_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400;
    default: /* CUBE_YEAR */
        rfc3339_civil_from_days(floor_div(start, 86400), &y, &m, &d);
        return rfc3339_days_from_civil(y + 1, 1, 1) * 86400;
    }
}

/* The first index in [lo, hi) whose slot is >= v (hi when none), searched
   outwards from lo: O(log distance), so a short step costs a compare or two. */
static uint32_t gallop(const struct series *s, uint32_t lo, uint32_t hi, int64_t v)
{
    uint32_t step = 1, base = lo;
    while (base + step < hi && s->slot[base + step] < v) {
        base += step;
        step *= 2;
    }
    return lower_bound_in(s, base, base + step < hi ? base + step : hi, v);
}

/* The zone's offset at t, for instants visited in order: looked up again
   only past the stretch of the last look-up (*next_change starts at
   INT64_MIN). No zone: the offset stays 0. */
static void offset_at(const tz_zone *z, int64_t t, int *off, int64_t *next_change)
{
    if (z && (*next_change == INT64_MIN || t >= *next_change)) {
        *off = tz_offset(z, t);
        *next_change = tz_next_change(z, t);
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

/* Does series s (of the chosen level) pass q's filters? */
static int matches(const cube *c, const cube_question *q, const struct series *s)
{
    const struct skey *k = &s->key;
    if (k->level <= 1) {
        if (q->offenses && (k->what >= q->noffenses || !q->offenses[k->what]))
            return 0;
        if (q->categories) {
            int32_t cat = category_of(c, k->agency, k->what);
            if (cat < 0 || cat >= q->ncategories || !q->categories[cat])
                return 0;
        }
    } else if (k->level == 2 && q->categories) {
        if (k->what < 0 || k->what >= q->ncategories || !q->categories[k->what])
            return 0;
    }
    if (k->level == 0 && q->priorities && !(q->priorities & (1u << (k->priority + 1))))
        return 0;
    return 1;
}

/* Answer q from one series into g. */
static int visit(const cube *c, const cube_question *q, const struct series *s,
                 int64_t from_slot, int64_t to_slot, int local_dims, struct groups *g,
                 cube_result *out)
{
    if (s->as_of > out->as_of)
        out->as_of = s->as_of;
    cube_cell key;
    const struct skey *k = &s->key;
    key.precinct = !(q->by & CUBE_BY_PRECINCT) ? CUBE_ANY
                   : !q->precinct_group        ? k->precinct
                   : k->precinct < q->ngroup   ? q->precinct_group[k->precinct]
                                               : 0;
    key.offense = (q->by & CUBE_BY_OFFENSE) ? k->what : CUBE_ANY;
    key.category = CUBE_ANY;
    if (q->by & CUBE_BY_CATEGORY)
        key.category = k->level == 2 ? k->what : category_of(c, k->agency, k->what);
    key.priority = (q->by & CUBE_BY_PRIORITY) ? k->priority : CUBE_ANY;
    key.hour_of_day = key.day_of_week = CUBE_ANY;
    key.bucket = 0;

    uint32_t i = from_slot == INT64_MIN ? 0 : lower_bound(s, from_slot);
    uint32_t j = to_slot == INT64_MAX ? s->n : lower_bound(s, to_slot);
    if (j <= i)
        return 0;
    if (!local_dims) {
        uint64_t n = s->cum[j - 1] - (i ? s->cum[i - 1] : 0);
        out->total += n;
        return groups_add(g, &key, n);
    }
    int64_t next_change = INT64_MIN;
    int off = 0;
    if (!(q->by & (CUBE_BY_HOUR_OF_DAY | CUBE_BY_DAY_OF_WEEK))) {
        /* Time buckets only: each bucket's count is a difference of two
           cumulative counts, its end found by galloping -- O(buckets x
           log cells per bucket) rather than O(cells), so a ten-year weekly
           trend costs about the same at 100 M incidents as at 10 M. A
           stretch ends at the bucket's end or at a change of the zone's
           offset, whichever is first: every cell in it has the offset
           looked up at its first, so its local time is in the bucket. */
        uint32_t m = i;
        while (m < j) {
            int64_t t = (int64_t)s->slot[m] * CUBE_SLOT;
            offset_at(q->zone, t, &off, &next_change);
            key.bucket = cube_bucket_start(t + off, q->granularity);
            int64_t end = bucket_next(key.bucket, q->granularity) - off;
            if (q->zone && next_change < end)
                end = next_change;
            uint32_t e = gallop(s, m + 1, j, floor_div(end + CUBE_SLOT - 1, CUBE_SLOT));
            uint64_t n = s->cum[e - 1] - (m ? s->cum[m - 1] : 0);
            out->total += n;
            if (groups_add(g, &key, n) != 0)
                return -1;
            m = e;
        }
        return 0;
    }
    /* Walk the cells in order, looking the zone offset up once per
       stretch between transitions. */
    for (uint32_t m = i; m < j; m++) {
        int64_t t = (int64_t)s->slot[m] * CUBE_SLOT;
        offset_at(q->zone, t, &off, &next_change);
        int64_t local = t + off;
        uint64_t n = cell_count(s, m);
        if (q->by & CUBE_BY_HOUR_OF_DAY)
            key.hour_of_day = (int32_t)(floor_div(local, 3600) % 24 + 24) % 24;
        if (q->by & CUBE_BY_DAY_OF_WEEK)
            key.day_of_week = cube_iso_dow(floor_div(local, 86400));
        if (q->granularity != CUBE_NONE)
            key.bucket = cube_bucket_start(local, q->granularity);
        out->total += n;
        if (groups_add(g, &key, n) != 0)
            return -1;
    }
    return 0;
}

int cube_query(const cube *c, const cube_question *q, cube_result *out)
{
    memset(out, 0, sizeof *out);
    struct groups g = {0};
    int local_dims = (q->by & (CUBE_BY_HOUR_OF_DAY | CUBE_BY_DAY_OF_WEEK)) ||
                     q->granularity != CUBE_NONE;
    int64_t from_slot = q->from == INT64_MIN ? INT64_MIN : floor_div(q->from, CUBE_SLOT);
    int64_t to_slot = q->to == INT64_MAX ? INT64_MAX : floor_div(q->to, CUBE_SLOT);
    /* The coarsest level that still holds what is asked. */
    int level = 3;
    if ((q->by & CUBE_BY_PRIORITY) || q->priorities)
        level = 0;
    else if ((q->by & CUBE_BY_OFFENSE) || q->offenses)
        level = 1;
    else if ((q->by & CUBE_BY_CATEGORY) || q->categories)
        level = 2;
    const struct agency *ag =
        q->agency >= 0 && q->agency < c->nagencies ? &c->agencies[q->agency] : NULL;
    for (int32_t p = 0; ag && p < ag->nprecincts; p++) {
        if (q->precincts && (p >= q->nprecincts || !q->precincts[p]))
            continue;
        const struct vec *v = &ag->lists[level][p];
        for (uint32_t k = 0; k < v->n; k++) {
            const struct series *s = v->s[k];
            if (matches(c, q, s) &&
                visit(c, q, s, from_slot, to_slot, local_dims, &g, out) != 0) {
                free(g.index);
                free(g.cells);
                memset(out, 0, sizeof *out);
                return -1;
            }
        }
    }
    free(g.index);
    out->cells = g.cells;
    out->n = g.n;
    if (out->as_of == 0)
        out->as_of = c->as_of;
    return 0;
}

void cube_result_free(cube_result *r)
{
    free(r->cells);
    memset(r, 0, sizeof *r);
}
