/* tests/unit/test_spatial.c -- lib/spatial.h against a brute-force recount. */
#include <stdlib.h>

#include "spatial.h"
#include "unit.h"
#include "unit_snap.h"

struct inc {
    int32_t agency, precinct, offense;
    int64_t day;
    double lon, lat;
    int live;
};

#define N 20000
static struct inc incs[N];

static uint64_t brute(const grid *g, const sp_question *q, int32_t cx, int32_t cy)
{
    uint64_t n = 0;
    for (int i = 0; i < N; i++) {
        const struct inc *c = &incs[i];
        if (!c->live || c->agency != q->agency || c->day < q->day_from || c->day >= q->day_to)
            continue;
        if (q->precincts && !q->precincts[c->precinct])
            continue;
        if (q->offenses && !q->offenses[c->offense])
            continue;
        int32_t ix, iy;
        grid_cell(g, c->lon, c->lat, &ix, &iy);
        if (grid_coarse(ix, q->k) == cx && grid_coarse(iy, q->k) == cy)
            n++;
    }
    return n;
}

static uint64_t brute_total(const sp_question *q)
{
    uint64_t n = 0;
    for (int i = 0; i < N; i++) {
        const struct inc *c = &incs[i];
        if (c->live && c->agency == q->agency && c->day >= q->day_from && c->day < q->day_to &&
            (!q->precincts || q->precincts[c->precinct]) &&
            (!q->offenses || q->offenses[c->offense]))
            n++;
    }
    return n;
}

static void check(sp_store *s, const grid *g, const sp_question *q)
{
    sp_cell *cells;
    size_t n;
    CHECK_INT(sp_count(s, q, &cells, &n), 0);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += cells[i].count;
        if (i < 50)
            CHECK_INT(cells[i].count, brute(g, q, cells[i].cx, cells[i].cy));
    }
    CHECK_INT(total, brute_total(q));
    free(cells);
}

static void test_add_remove_load(void)
{
    grid g;
    grid_init(&g, 42, -88, 100);
    sp_store *a = sp_new(), *b = sp_new();
    CHECK_INT(sp_add(a, 1, 1, 1, 0, -88, 42, 1), -1); /* no grid yet */
    sp_set_grid(a, 1, &g);
    sp_set_grid(b, 1, &g);
    srand(11);
    for (int i = 0; i < N; i++) {
        struct inc *c = &incs[i];
        c->agency = 1;
        c->precinct = rand() % 5;
        c->offense = 1 + rand() % 4;
        c->day = 19000 + rand() % 400;
        c->lon = -88.05 + 0.03 * rand() / RAND_MAX;
        c->lat = 41.98 + 0.03 * rand() / RAND_MAX;
        c->live = 1;
        CHECK_INT(sp_add(a, 1, c->precinct, c->offense, c->day, c->lon, c->lat, 1), 0);
        CHECK_INT(sp_load(b, 1, c->precinct, c->offense, c->day, c->lon, c->lat), 0);
    }
    while (sp_load_finish(b, 1000) == 0)
        ;
    for (int i = 0; i < N; i += 3) { /* remove a third from both */
        struct inc *c = &incs[i];
        c->live = 0;
        CHECK_INT(sp_add(a, 1, c->precinct, c->offense, c->day, c->lon, c->lat, -1), 0);
        CHECK_INT(sp_add(b, 1, c->precinct, c->offense, c->day, c->lon, c->lat, -1), 0);
    }
    struct inc *c = &incs[0];
    CHECK_INT(sp_add(a, 1, c->precinct, c->offense, c->day, c->lon, c->lat, -1), -1);
    CHECK_INT(sp_entries(a), sp_entries(b));
    uint8_t pm[5] = {1, 0, 1, 0, 1}, om[5] = {0, 1, 0, 0, 1};
    sp_question q = {1, NULL, 0, NULL, 0, 19000, 19400, 1};
    check(a, &g, &q);
    check(b, &g, &q);
    q.day_from = 19100;
    q.day_to = 19128;
    q.precincts = pm;
    q.nprecincts = 5;
    check(a, &g, &q);
    q.offenses = om;
    q.noffenses = 5;
    q.k = 3;
    check(b, &g, &q);
    q.agency = 2; /* another agency: nothing */
    sp_cell *cells;
    size_t n;
    CHECK_INT(sp_count(a, &q, &cells, &n), 0);
    CHECK_INT(n, 0);
    free(cells);

    /* A snapshot restores to a store that counts the same and takes more. */
    membuf buf = {0};
    snap_out out = membuf_out(&buf);
    CHECK_INT(sp_save(b, &out), 0);
    snap_in in;
    snap_in_init(&in, buf.p, buf.n);
    sp_store *r = sp_restore(&in);
    CHECK(r != NULL && in.p == in.end);
    if (r) {
        CHECK_INT(sp_entries(r), sp_entries(b));
        CHECK(sp_grid(r, 1) != NULL && sp_grid(r, 2) == NULL);
        sp_question all = {1, NULL, 0, NULL, 0, 19000, 19400, 1};
        check(r, &g, &all);
        q.agency = 1;
        check(r, &g, &q);
        for (int i = 1; i < N; i += 3) { /* another third goes */
            struct inc *x = &incs[i];
            x->live = 0;
            CHECK_INT(sp_add(r, 1, x->precinct, x->offense, x->day, x->lon, x->lat, -1), 0);
        }
        CHECK_INT(sp_add(r, 1, 2, 2, 18000, -88.0, 42.0, 1), 0); /* a day before any */
        incs[0] = (struct inc){1, 2, 2, 18000, -88.0, 42.0, 1};
        all.day_from = 17000;
        check(r, &g, &all);
        sp_free(r);
    }
    CHECK_DAMAGED_RESTORES(buf, sp_restore, sp_free, rand);
    free(buf.p);
    sp_free(a);
    sp_free(b);
}

static int cell_cmp(const void *a, const void *b)
{
    const sp_cell *x = a, *y = b;
    if (x->cx != y->cx)
        return x->cx < y->cx ? -1 : 1;
    if (x->cy != y->cy)
        return x->cy < y->cy ? -1 : 1;
    return 0;
}

/* 1 when the two answers hold the same cells and counts (in any order). */
static int same_cells(sp_cell *a, size_t na, sp_cell *b, size_t nb)
{
    if (na != nb)
        return 0;
    qsort(a, na, sizeof *a, cell_cmp);
    qsort(b, nb, sizeof *b, cell_cmp);
    for (size_t i = 0; i < na; i++)
        if (a[i].cx != b[i].cx || a[i].cy != b[i].cy || a[i].count != b[i].count)
            return 0;
    return 1;
}

/* A view keeps counting what the store held when it was taken, while the
   store changes (copy on write) and after the store is gone. */
static void test_views(void)
{
    grid g;
    grid_init(&g, 42, -88, 100);
    sp_store *s = sp_new();
    sp_set_grid(s, 1, &g);
    srand(5);
    for (int i = 0; i < N; i++) {
        struct inc *c = &incs[i];
        *c = (struct inc){1, rand() % 3, 1 + rand() % 2, 19000 + rand() % 60,
                          -88.02 + 0.02 * rand() / RAND_MAX, 41.99 + 0.02 * rand() / RAND_MAX,
                          1};
        CHECK_INT(sp_add(s, 1, c->precinct, c->offense, c->day, c->lon, c->lat, 1), 0);
    }
    uint8_t pm[3] = {1, 0, 1};
    sp_question q = {1, pm, 3, NULL, 0, 19010, 19040, 2};
    sp_cell *before, *cells;
    size_t nbefore, n;
    CHECK_INT(sp_count(s, &q, &before, &nbefore), 0);
    sp_view *v = sp_view_new(s, 1, 19010, 19040);
    sp_view *v2 = sp_view_new(s, 1, INT64_MIN, INT64_MAX); /* two views share days */
    sp_view *none = sp_view_new(s, 7, INT64_MIN, INT64_MAX); /* an agency without data */
    CHECK(v && v2 && none);
    CHECK(sp_view_grid(v) && sp_view_grid(v)->lat0 == 42 && sp_view_grid(none) == NULL);
    CHECK_INT(sp_view_count(none, &q, &cells, &n), 0);
    CHECK_INT(n, 0);
    free(cells);
    /* The store changes under the views: removals, additions, a new day. */
    for (int i = 0; i < N; i += 2) {
        struct inc *c = &incs[i];
        c->live = 0;
        CHECK_INT(sp_add(s, 1, c->precinct, c->offense, c->day, c->lon, c->lat, -1), 0);
    }
    for (int i = 0; i < N; i += 4) {
        struct inc *c = &incs[i];
        c->live = 1;
        c->day = 19000 + (c->day + 7) % 70;
        CHECK_INT(sp_add(s, 1, c->precinct, c->offense, c->day, c->lon, c->lat, 1), 0);
    }
    check(s, &g, &q); /* the store answers as it is now */
    CHECK_INT(sp_view_count(v, &q, &cells, &n), 0);
    CHECK(same_cells(before, nbefore, cells, n)); /* the view as it was */
    free(cells);
    /* The view's own window bounds it: a wider question counts no more. */
    sp_question wide = q;
    wide.day_from = INT64_MIN;
    wide.day_to = INT64_MAX;
    CHECK_INT(sp_view_count(v, &wide, &cells, &n), 0);
    CHECK(same_cells(before, nbefore, cells, n));
    free(cells);
    sp_view_free(v2);
    /* Replacing the agency and freeing the store leave the view intact. */
    sp_store *fresh = sp_new();
    grid g2;
    grid_init(&g2, 41, -87, 100);
    sp_set_grid(fresh, 1, &g2);
    CHECK_INT(sp_add(fresh, 1, 0, 1, 19020, -88.0, 42.0, 1), 0);
    size_t other = sp_entries(s);
    CHECK_INT(sp_move_agency(s, fresh, 1), 0);
    CHECK(other > 1 && sp_entries(s) == 1 && sp_entries(fresh) == 0);
    CHECK(sp_grid(s, 1) && sp_grid(s, 1)->lat0 == 41 && sp_grid(fresh, 1) == NULL);
    sp_free(s);
    sp_free(fresh);
    CHECK_INT(sp_view_count(v, &q, &cells, &n), 0);
    CHECK(same_cells(before, nbefore, cells, n));
    free(cells);
    free(before);
    sp_view_free(v);
    sp_view_free(none);
}

UNIT_MAIN(UNIT(test_add_remove_load), UNIT(test_views))
