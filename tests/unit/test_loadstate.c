/*
 * test_loadstate.c -- unit tests for lib/loadstate: the load's states, the
 * events that move it, and the events that cannot happen.
 */
#include "loadstate.h"
#include "unit.h"

/* Walk events from s; every step must be allowed. The state reached. */
static int walk(load_state s, const load_event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        int to = load_next(s, ev[i]);
        if (to < 0) {
            fprintf(stderr, "%s refused in %s\n", load_event_name(ev[i]), load_state_name(s));
            return -1;
        }
        s = (load_state)to;
    }
    return (int)s;
}

#define WALK(from, ...)                                                                    \
    walk((from), (const load_event[]){__VA_ARGS__},                                        \
         (int)(sizeof((const load_event[]){__VA_ARGS__}) / sizeof(load_event)))

static void test_names(void)
{
    CHECK_STR(load_state_name(LOAD_NONE), "none");
    CHECK_STR(load_state_name(LOAD_READING_STATE), "reading_state");
    CHECK_STR(load_state_name(LOAD_COUNTS_READY), "counts_ready");
    CHECK_STR(load_state_name(LOAD_READY), "ready");
    CHECK_STR(load_state_name(LOAD_STATE_COUNT), "?");
    CHECK_STR(load_state_name((load_state)-1), "?");
    CHECK_STR(load_event_name(LOAD_EV_COUNTS_COPIED), "counts_copied");
    CHECK_STR(load_event_name(LOAD_EV_COUNT), "?");
    /* Every state and event has a name of its own. */
    for (int i = 0; i < LOAD_STATE_COUNT; i++) {
        CHECK(load_state_name((load_state)i)[0] != '?');
        for (int j = 0; j < i; j++)
            CHECK(strcmp(load_state_name((load_state)i), load_state_name((load_state)j)) != 0);
    }
    for (int i = 0; i < LOAD_EV_COUNT; i++)
        CHECK(load_event_name((load_event)i)[0] != '?');
}

static void test_from_database(void)
{
    /* COPY of the counts, then the response times behind them. */
    CHECK_INT(WALK(LOAD_NONE, LOAD_EV_START, LOAD_EV_FROM_DATABASE), LOAD_COPYING);
    CHECK_INT(WALK(LOAD_COPYING, LOAD_EV_COUNTS_COPIED), LOAD_INDEXING);
    /* The counts answer before everything does. */
    CHECK_INT(WALK(LOAD_INDEXING, LOAD_EV_INDEXED), LOAD_COUNTS_READY);
    CHECK(load_counts_answer(LOAD_COUNTS_READY));
    CHECK(!load_all_answer(LOAD_COUNTS_READY));
    CHECK_INT(WALK(LOAD_COUNTS_READY, LOAD_EV_RT_COPIED), LOAD_READY);
    CHECK(load_counts_answer(LOAD_READY));
    CHECK(load_all_answer(LOAD_READY));
    /* The response times may be in before the counts are indexed. */
    CHECK_INT(WALK(LOAD_NONE, LOAD_EV_START, LOAD_EV_FROM_DATABASE, LOAD_EV_COUNTS_COPIED,
                   LOAD_EV_RT_COPIED),
              LOAD_INDEXING_RT_IN);
    CHECK(!load_counts_answer(LOAD_INDEXING_RT_IN));
    CHECK_INT(WALK(LOAD_INDEXING_RT_IN, LOAD_EV_INDEXED), LOAD_READY);
}

static void test_from_snapshot(void)
{
    CHECK_INT(WALK(LOAD_NONE, LOAD_EV_START, LOAD_EV_FROM_SNAPSHOT), LOAD_REPLAYING);
    CHECK_INT(WALK(LOAD_REPLAYING, LOAD_EV_COUNTS_COPIED, LOAD_EV_INDEXED, LOAD_EV_RT_COPIED),
              LOAD_READY);
}

static void test_replay_misfit(void)
{
    /* A replayed change that does not fit: the load reads to the end, never
       answers, and starts over (from the database). */
    CHECK_INT(WALK(LOAD_REPLAYING, LOAD_EV_MISFIT), LOAD_MISFIT);
    CHECK_INT(WALK(LOAD_MISFIT, LOAD_EV_MISFIT, LOAD_EV_COUNTS_COPIED), LOAD_MISFIT);
    CHECK(!load_counts_answer(LOAD_MISFIT));
    CHECK_INT(load_next(LOAD_MISFIT, LOAD_EV_INDEXED), -1);
    CHECK_INT(load_next(LOAD_MISFIT, LOAD_EV_RT_COPIED), -1);
    CHECK_INT(WALK(LOAD_MISFIT, LOAD_EV_START, LOAD_EV_FROM_DATABASE), LOAD_COPYING);
    /* ... in the response times too, before or after the counts answer. */
    CHECK_INT(WALK(LOAD_INDEXING, LOAD_EV_MISFIT), LOAD_MISFIT);
    CHECK_INT(WALK(LOAD_COUNTS_READY, LOAD_EV_MISFIT), LOAD_MISFIT);
    /* A database load has nothing to replay. */
    CHECK_INT(load_next(LOAD_COPYING, LOAD_EV_MISFIT), -1);
}

static void test_link_failure(void)
{
    /* Mid-load: back to none; the reconnect starts again. */
    load_state mid[] = {LOAD_READING_STATE, LOAD_COPYING, LOAD_REPLAYING, LOAD_MISFIT,
                        LOAD_INDEXING, LOAD_INDEXING_RT_IN};
    for (size_t i = 0; i < sizeof mid / sizeof mid[0]; i++) {
        CHECK_INT(load_next(mid[i], LOAD_EV_FAIL), LOAD_NONE);
        CHECK_INT(WALK(mid[i], LOAD_EV_FAIL, LOAD_EV_START), LOAD_READING_STATE);
    }
    /* Once the counts answer they stay, until the next load. */
    CHECK_INT(load_next(LOAD_COUNTS_READY, LOAD_EV_FAIL), LOAD_COUNTS_ONLY);
    CHECK(load_counts_answer(LOAD_COUNTS_ONLY));
    CHECK(!load_all_answer(LOAD_COUNTS_ONLY));
    CHECK_INT(WALK(LOAD_COUNTS_ONLY, LOAD_EV_START, LOAD_EV_FROM_SNAPSHOT), LOAD_REPLAYING);
    /* Nothing under way: nothing to fail. */
    CHECK_INT(load_next(LOAD_NONE, LOAD_EV_FAIL), -1);
    CHECK_INT(load_next(LOAD_READY, LOAD_EV_FAIL), -1);
}

static void test_stale(void)
{
    CHECK_INT(load_next(LOAD_READY, LOAD_EV_STALE), LOAD_STALE);
    CHECK_INT(load_next(LOAD_COUNTS_ONLY, LOAD_EV_STALE), LOAD_STALE);
    CHECK(!load_counts_answer(LOAD_STALE));
    CHECK_INT(WALK(LOAD_STALE, LOAD_EV_STALE, LOAD_EV_START, LOAD_EV_FROM_DATABASE), LOAD_COPYING);
    /* The new counts, answering, are wrong: finish reading, then again. */
    CHECK_INT(load_next(LOAD_COUNTS_READY, LOAD_EV_STALE), LOAD_MISFIT);
    /* Before the new counts answer, a stale update is of the old cubes. */
    load_state before[] = {LOAD_NONE, LOAD_READING_STATE, LOAD_COPYING, LOAD_REPLAYING,
                           LOAD_MISFIT, LOAD_INDEXING, LOAD_INDEXING_RT_IN};
    for (size_t i = 0; i < sizeof before / sizeof before[0]; i++)
        CHECK_INT(load_next(before[i], LOAD_EV_STALE), before[i]);
}

static void test_start_anywhere(void)
{
    for (int s = 0; s < LOAD_STATE_COUNT; s++)
        CHECK_INT(load_next((load_state)s, LOAD_EV_START), LOAD_READING_STATE);
}

static void test_refused(void)
{
    /* Only reading_state reads the state. */
    for (int s = 0; s < LOAD_STATE_COUNT; s++) {
        if (s == LOAD_READING_STATE)
            continue;
        CHECK_INT(load_next((load_state)s, LOAD_EV_FROM_DATABASE), -1);
        CHECK_INT(load_next((load_state)s, LOAD_EV_FROM_SNAPSHOT), -1);
    }
    /* Nothing ends that did not begin. */
    load_state idle[] = {LOAD_NONE, LOAD_READY, LOAD_COUNTS_ONLY, LOAD_STALE};
    load_event ends[] = {LOAD_EV_COUNTS_COPIED, LOAD_EV_RT_COPIED, LOAD_EV_INDEXED,
                         LOAD_EV_MISFIT};
    for (size_t i = 0; i < sizeof idle / sizeof idle[0]; i++)
        for (size_t j = 0; j < sizeof ends / sizeof ends[0]; j++)
            CHECK_INT(load_next(idle[i], ends[j]), -1);
    CHECK_INT(load_next(LOAD_READING_STATE, LOAD_EV_COUNTS_COPIED), -1);
    CHECK_INT(load_next(LOAD_COPYING, LOAD_EV_INDEXED), -1);
    CHECK_INT(load_next(LOAD_COPYING, LOAD_EV_RT_COPIED), -1); /* queued behind the counts */
    CHECK_INT(load_next(LOAD_INDEXING, LOAD_EV_COUNTS_COPIED), -1);
    CHECK_INT(load_next(LOAD_COUNTS_READY, LOAD_EV_INDEXED), -1);
    CHECK_INT(load_next(LOAD_INDEXING_RT_IN, LOAD_EV_RT_COPIED), -1);
    CHECK_INT(load_next(LOAD_INDEXING_RT_IN, LOAD_EV_MISFIT), -1);
    /* Out of range. */
    CHECK_INT(load_next(LOAD_STATE_COUNT, LOAD_EV_START), -1);
    CHECK_INT(load_next(LOAD_READY, LOAD_EV_COUNT), -1);
    /* Every answer is a state, or -1. */
    for (int s = 0; s < LOAD_STATE_COUNT; s++)
        for (int e = 0; e < LOAD_EV_COUNT; e++) {
            int to = load_next((load_state)s, (load_event)e);
            CHECK(to >= -1 && to < LOAD_STATE_COUNT);
        }
}

UNIT_MAIN(UNIT(test_names), UNIT(test_from_database), UNIT(test_from_snapshot),
          UNIT(test_replay_misfit), UNIT(test_link_failure), UNIT(test_stale),
          UNIT(test_start_anywhere), UNIT(test_refused))
