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

UNIT_MAIN(UNIT(test_add_remove_load))
