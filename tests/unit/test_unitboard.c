/*
 * test_unitboard.c -- unit tests for lib/unitboard: which open incidents
 * each call sign is attached to, as analytics_unit_activity promises.
 */
#include "incident.h"
#include "unit.h"
#include "unit_snap.h"
#include "unitboard.h"

static char *u_a[] = {"A1"};
static char *u_ab[] = {"A1", "B2"};

static unit_activity activity(const unitboard *b, int agency, const char *callsign)
{
    unit_activity a;
    unitboard_activity(b, agency, callsign, NULL, 0, &a);
    return a;
}

static void test_furthest_status(void)
{
    unitboard *b = unitboard_new();
    CHECK(b != NULL);
    unit_activity a = activity(b, 1, "A1");
    CHECK_INT(a.status, -1);
    CHECK_INT(a.total, 0);
    CHECK_INT(a.n, 0);

    /* An open incident the unit is attached to counts as dispatched. */
    CHECK_INT(unitboard_move(b, 1, 10, INC_OPEN, 3, u_a, 1, +1), 0);
    a = activity(b, 1, "A1");
    CHECK_INT(a.status, INC_DISPATCHED);
    CHECK_INT(a.total, 1);
    CHECK_INT(a.n, 1);
    CHECK_INT(a.incidents[0], 10);

    CHECK_INT(unitboard_move(b, 1, 11, INC_ON_SCENE, 3, u_a, 1, +1), 0);
    CHECK_INT(unitboard_move(b, 1, 12, INC_EN_ROUTE, 3, u_a, 1, +1), 0);
    a = activity(b, 1, "A1");
    CHECK_INT(a.status, INC_ON_SCENE); /* the furthest, not the newest */
    CHECK_INT(a.total, 3);

    /* Another agency's unit of the same call sign is another unit. */
    a = activity(b, 2, "A1");
    CHECK_INT(a.status, -1);
    CHECK_INT(a.total, 0);
    unitboard_free(b);
}

static void test_newest_first(void)
{
    unitboard *b = unitboard_new();
    /* Out of order, more than UNIT_ACTIVITY_MAX: the highest ids, highest first. */
    int64_t ids[] = {5, 40, 12, 3, 99, 7, 60, 1, 25, 8, 77, 30};
    int nids = (int)(sizeof ids / sizeof ids[0]);
    for (int i = 0; i < nids; i++)
        CHECK_INT(unitboard_move(b, 1, ids[i], INC_DISPATCHED, 1, u_a, 1, +1), 0);
    unit_activity a = activity(b, 1, "A1");
    CHECK_INT(a.total, nids);
    CHECK_INT(a.n, UNIT_ACTIVITY_MAX);
    int64_t want[UNIT_ACTIVITY_MAX] = {99, 77, 60, 40, 30, 25, 12, 8};
    for (int i = 0; i < UNIT_ACTIVITY_MAX; i++)
        CHECK_INT(a.incidents[i], want[i]);
    unitboard_free(b);
}

static void test_scope(void)
{
    unitboard *b = unitboard_new();
    CHECK_INT(unitboard_move(b, 1, 1, INC_ON_SCENE, 2, u_a, 1, +1), 0);
    CHECK_INT(unitboard_move(b, 1, 2, INC_DISPATCHED, 3, u_a, 1, +1), 0);
    CHECK_INT(unitboard_move(b, 1, 3, INC_DISPATCHED, 0, u_a, 1, +1), 0); /* no precinct */
    CHECK_INT(unitboard_move(b, 1, 4, INC_EN_ROUTE, 9, u_a, 1, +1), 0);   /* past the mask */
    uint8_t scope[5] = {0, 0, 0, 1, 0};                                    /* precinct 3 */
    unit_activity a;
    unitboard_activity(b, 1, "A1", scope, 5, &a);
    /* Total and incidents: precinct 3's alone; the status is the unit's own. */
    CHECK_INT(a.total, 1);
    CHECK_INT(a.n, 1);
    CHECK_INT(a.incidents[0], 2);
    CHECK_INT(a.status, INC_ON_SCENE);
    uint8_t none[5] = {0};
    unitboard_activity(b, 1, "A1", none, 5, &a);
    CHECK_INT(a.total, 0);
    CHECK_INT(a.n, 0);
    CHECK_INT(a.status, INC_ON_SCENE);
    unitboard_free(b);
}

struct seen {
    int n;
    char names[4][8];
    int totals[4];
};

static void collect(const char *callsign, const unit_activity *a, void *arg)
{
    struct seen *s = arg;
    if (s->n < 4) {
        snprintf(s->names[s->n], sizeof s->names[0], "%s", callsign);
        s->totals[s->n] = a->total;
    }
    s->n++;
}

static int seen_total(const struct seen *s, const char *name)
{
    for (int i = 0; i < s->n && i < 4; i++)
        if (strcmp(s->names[i], name) == 0)
            return s->totals[i];
    return -1;
}

static void test_moves_and_leaving(void)
{
    unitboard *b = unitboard_new();
    /* Incident 7 dispatched with A1 and B2, then en route with B2 alone. */
    CHECK_INT(unitboard_move(b, 1, 7, INC_DISPATCHED, 1, u_ab, 2, +1), 0);
    CHECK_INT(unitboard_move(b, 1, 8, INC_OPEN, 1, u_a, 1, +1), 0);
    CHECK_INT(unitboard_move(b, 2, 9, INC_OPEN, 1, u_a, 1, +1), 0);
    struct seen s = {0};
    unitboard_foreach(b, 1, collect, &s);
    CHECK_INT(s.n, 2);
    CHECK_INT(seen_total(&s, "A1"), 2);
    CHECK_INT(seen_total(&s, "B2"), 1);

    CHECK_INT(unitboard_move(b, 1, 7, INC_DISPATCHED, 1, u_ab, 2, -1), 0);
    CHECK_INT(unitboard_move(b, 1, 7, INC_EN_ROUTE, 1, u_ab + 1, 1, +1), 0);
    unit_activity a = activity(b, 1, "A1");
    CHECK_INT(a.total, 1);
    CHECK_INT(a.incidents[0], 8);
    a = activity(b, 1, "B2");
    CHECK_INT(a.status, INC_EN_ROUTE);
    CHECK_INT(a.incidents[0], 7);

    /* Incident 7 clears: the old version moves out, the cleared one moves
       nothing in; B2's last incident is gone, so it leaves the board. */
    CHECK_INT(unitboard_move(b, 1, 7, INC_EN_ROUTE, 1, u_ab + 1, 1, -1), 0);
    CHECK_INT(unitboard_move(b, 1, 7, INC_CLEARED, 1, u_ab + 1, 1, +1), 0);
    a = activity(b, 1, "B2");
    CHECK_INT(a.status, -1);
    CHECK_INT(a.total, 0);
    memset(&s, 0, sizeof s);
    unitboard_foreach(b, 1, collect, &s);
    CHECK_INT(s.n, 1);
    CHECK_INT(seen_total(&s, "A1"), 1);

    /* A detach the board never saw: it disagrees. */
    CHECK_INT(unitboard_move(b, 1, 1234, INC_OPEN, 1, u_a, 1, -1), -1);
    CHECK_INT(unitboard_move(b, 1, 1234, INC_OPEN, 1, u_ab + 1, 1, -1), -1);
    /* A closed incident moves nothing, either way; a NULL board neither. */
    CHECK_INT(unitboard_move(b, 1, 1234, INC_UNFOUNDED, 1, u_a, 1, -1), 0);
    CHECK_INT(unitboard_move(NULL, 1, 1, INC_OPEN, 1, u_a, 1, +1), 0);
    a = activity(NULL, 1, "A1");
    CHECK_INT(a.status, -1);
    unitboard_free(b);
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void *restore_any(snap_in *in)
{
    return unitboard_restore(in);
}

static void free_any(void *b)
{
    unitboard_free(b);
}

static void test_save_restore(void)
{
    unitboard *b = unitboard_new();
    for (int64_t id = 1; id <= 30; id++)
        CHECK_INT(unitboard_move(b, (int)(id % 3) + 1, id, (int)(id % 4), (int)(id % 5), u_ab,
                                 1 + (size_t)(id % 2), +1), 0);
    membuf buf = {0};
    snap_out out = membuf_out(&buf);
    unitboard_save(b, &out);
    CHECK(!out.failed);
    snap_in in;
    snap_in_init(&in, buf.p, buf.n);
    unitboard *r = unitboard_restore(&in);
    CHECK(r != NULL);
    CHECK(!in.failed);
    CHECK(in.p == in.end);
    for (int ag = 1; ag <= 3; ag++) {
        const char *names[] = {"A1", "B2"};
        for (int k = 0; k < 2; k++) {
            unit_activity x = activity(b, ag, names[k]), y = activity(r, ag, names[k]);
            CHECK(memcmp(&x, &y, sizeof x) == 0);
        }
    }
    /* The same bytes again (the entries' order is the map's). */
    membuf again = {0};
    snap_out out2 = membuf_out(&again);
    unitboard_save(r, &out2);
    CHECK_INT(again.n, buf.n);

    /* An empty board is its terminator alone. */
    membuf empty = {0};
    snap_out out3 = membuf_out(&empty);
    unitboard_save(NULL, &out3);
    snap_in_init(&in, empty.p, empty.n);
    unitboard *e = unitboard_restore(&in);
    CHECK(e != NULL);
    CHECK_INT(activity(e, 1, "A1").status, -1);
    unitboard_free(e);

    CHECK_DAMAGED_RESTORES(buf, restore_any, free_any, rnd);
    free(buf.p);
    free(again.p);
    free(empty.p);
    unitboard_free(r);
    unitboard_free(b);
}

UNIT_MAIN(UNIT(test_furthest_status), UNIT(test_newest_first), UNIT(test_scope),
          UNIT(test_moves_and_leaving), UNIT(test_save_restore))
