/*
 * loadstate.c -- see loadstate.h.
 */
#include "loadstate.h"

static const char *const state_names[LOAD_STATE_COUNT] = {
    [LOAD_NONE] = "none",
    [LOAD_READING_STATE] = "reading_state",
    [LOAD_COPYING] = "copying",
    [LOAD_REPLAYING] = "replaying",
    [LOAD_MISFIT] = "misfit",
    [LOAD_INDEXING] = "indexing",
    [LOAD_INDEXING_RT_IN] = "indexing_rt_in",
    [LOAD_COUNTS_READY] = "counts_ready",
    [LOAD_READY] = "ready",
    [LOAD_COUNTS_ONLY] = "counts_only",
    [LOAD_STALE] = "stale",
};

static const char *const event_names[LOAD_EV_COUNT] = {
    [LOAD_EV_START] = "start",
    [LOAD_EV_FROM_DATABASE] = "from_database",
    [LOAD_EV_FROM_SNAPSHOT] = "from_snapshot",
    [LOAD_EV_COUNTS_COPIED] = "counts_copied",
    [LOAD_EV_RT_COPIED] = "rt_copied",
    [LOAD_EV_INDEXED] = "indexed",
    [LOAD_EV_MISFIT] = "misfit",
    [LOAD_EV_FAIL] = "fail",
    [LOAD_EV_STALE] = "stale",
};

/* next[state][event] + 1: 0 is "cannot happen" (designated initialisers
   leave every other entry 0). */
#define TO(s) ((signed char)((s) + 1))
static const signed char next[LOAD_STATE_COUNT][LOAD_EV_COUNT] = {
    [LOAD_NONE] = {
        [LOAD_EV_STALE] = TO(LOAD_NONE),
    },
    [LOAD_READING_STATE] = {
        [LOAD_EV_FROM_DATABASE] = TO(LOAD_COPYING),
        [LOAD_EV_FROM_SNAPSHOT] = TO(LOAD_REPLAYING),
        [LOAD_EV_FAIL] = TO(LOAD_NONE),
        [LOAD_EV_STALE] = TO(LOAD_READING_STATE),
    },
    [LOAD_COPYING] = {
        [LOAD_EV_COUNTS_COPIED] = TO(LOAD_INDEXING),
        [LOAD_EV_FAIL] = TO(LOAD_NONE),
        [LOAD_EV_STALE] = TO(LOAD_COPYING),
    },
    [LOAD_REPLAYING] = {
        [LOAD_EV_COUNTS_COPIED] = TO(LOAD_INDEXING),
        [LOAD_EV_MISFIT] = TO(LOAD_MISFIT),
        [LOAD_EV_FAIL] = TO(LOAD_NONE),
        [LOAD_EV_STALE] = TO(LOAD_REPLAYING),
    },
    [LOAD_MISFIT] = {
        [LOAD_EV_COUNTS_COPIED] = TO(LOAD_MISFIT), /* never indexed: the load starts over */
        [LOAD_EV_MISFIT] = TO(LOAD_MISFIT),
        [LOAD_EV_FAIL] = TO(LOAD_NONE),
        [LOAD_EV_STALE] = TO(LOAD_MISFIT),
    },
    [LOAD_INDEXING] = {
        [LOAD_EV_RT_COPIED] = TO(LOAD_INDEXING_RT_IN),
        [LOAD_EV_INDEXED] = TO(LOAD_COUNTS_READY),
        [LOAD_EV_MISFIT] = TO(LOAD_MISFIT),
        [LOAD_EV_FAIL] = TO(LOAD_NONE),
        [LOAD_EV_STALE] = TO(LOAD_INDEXING), /* of the old cubes: the new ones replace them */
    },
    [LOAD_INDEXING_RT_IN] = {
        [LOAD_EV_INDEXED] = TO(LOAD_READY),
        [LOAD_EV_FAIL] = TO(LOAD_NONE),
        [LOAD_EV_STALE] = TO(LOAD_INDEXING_RT_IN),
    },
    [LOAD_COUNTS_READY] = {
        [LOAD_EV_RT_COPIED] = TO(LOAD_READY),
        [LOAD_EV_MISFIT] = TO(LOAD_MISFIT),
        [LOAD_EV_FAIL] = TO(LOAD_COUNTS_ONLY),
        [LOAD_EV_STALE] = TO(LOAD_MISFIT), /* the new counts are wrong: finish, then again */
    },
    [LOAD_READY] = {
        [LOAD_EV_STALE] = TO(LOAD_STALE),
    },
    [LOAD_COUNTS_ONLY] = {
        [LOAD_EV_STALE] = TO(LOAD_STALE),
    },
    [LOAD_STALE] = {
        [LOAD_EV_STALE] = TO(LOAD_STALE),
    },
};

const char *load_state_name(load_state s)
{
    return (unsigned)s < LOAD_STATE_COUNT ? state_names[s] : "?";
}

const char *load_event_name(load_event e)
{
    return (unsigned)e < LOAD_EV_COUNT ? event_names[e] : "?";
}

int load_next(load_state s, load_event ev)
{
    if ((unsigned)s >= LOAD_STATE_COUNT || (unsigned)ev >= LOAD_EV_COUNT)
        return -1;
    if (ev == LOAD_EV_START)
        return LOAD_READING_STATE;
    return next[s][ev] - 1;
}

int load_counts_answer(load_state s)
{
    return s == LOAD_COUNTS_READY || s == LOAD_READY || s == LOAD_COUNTS_ONLY;
}

int load_all_answer(load_state s)
{
    return s == LOAD_READY;
}
