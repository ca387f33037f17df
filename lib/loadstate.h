/*
 * loadstate.h -- the life of the cubes' load, as one state machine.
 *
 * analytics (server/analytics_load.c) loads the cubes from a snapshot or
 * from the database whenever the writer connection opens; this module says
 * which states that load passes through and which events move it, so the
 * rules live in one table and every path can be tested without a daemon:
 *
 *   none --start--> reading_state --from_database--> copying ----+
 *                         |                                       |
 *                         +--from_snapshot--> replaying ----------+--counts_copied--> indexing
 *                                                 |                                      |
 *                                              misfit (read to the end; then start again)
 *
 *   indexing --indexed--> counts_ready --rt_copied--> ready --stale--> stale
 *   indexing --rt_copied--> indexing_rt_in --indexed--> ready
 *
 * The counts (the count cube and the hotspot grid) answer in counts_ready,
 * ready and counts_only; everything (response times and the unit board,
 * and writes) in ready alone. A link failure (fail) drops a load under way
 * to none -- the reconnect starts the next -- or, once the counts answer,
 * to counts_only: they stay, exact, until then. start goes from any state.
 *
 * Pure C: no I/O, no globals.
 */
#ifndef COMPSTAT_LOADSTATE_H
#define COMPSTAT_LOADSTATE_H

typedef enum load_state {
    LOAD_NONE,            /* nothing loaded, no load under way */
    LOAD_READING_STATE,   /* the database's state asked (the snapshot, if any, open) */
    LOAD_COPYING,         /* the incidents coming from the database */
    LOAD_REPLAYING,       /* the snapshot restored; the changes since coming in */
    LOAD_MISFIT,          /* what came in does not fit: read to the end, then start again */
    LOAD_INDEXING,        /* counts in, being indexed; response times still coming */
    LOAD_INDEXING_RT_IN,  /* counts being indexed; response times in */
    LOAD_COUNTS_READY,    /* counts answer; response times still coming */
    LOAD_READY,           /* everything answers; writes go */
    LOAD_COUNTS_ONLY,     /* counts answer; the load failed before the response times */
    LOAD_STALE,           /* the cubes disagree with the database: nothing answers */
    LOAD_STATE_COUNT
} load_state;

typedef enum load_event {
    LOAD_EV_START,         /* a load begins (it replaces any under way) */
    LOAD_EV_FROM_DATABASE, /* the state read: the incidents come from the database */
    LOAD_EV_FROM_SNAPSHOT, /* the state read and the snapshot restored: replay */
    LOAD_EV_COUNTS_COPIED, /* the counts' COPY ended */
    LOAD_EV_RT_COPIED,     /* the response times' COPY ended (and they are indexed) */
    LOAD_EV_INDEXED,       /* the counts are indexed */
    LOAD_EV_MISFIT,        /* a replayed change does not fit the snapshot */
    LOAD_EV_FAIL,          /* the link failed, or memory ran out */
    LOAD_EV_STALE,         /* an update did not fit the cubes that answer */
    LOAD_EV_COUNT
} load_event;

/* The state's name as /readyz and the log show it ("counts_ready"); "?" out of range. */
const char *load_state_name(load_state s);
/* The event's name ("counts_copied"); "?" out of range. */
const char *load_event_name(load_event e);

/*
 * The state ev moves s to, or -1 when ev cannot happen in s (the caller
 * then leaves everything as it is). An event that changes nothing where it
 * comes -- a stale update of the old cubes while a load runs, more misfits
 * -- answers s itself.
 */
int load_next(load_state s, load_event ev);

/* The count cube and the grid answer in s. */
int load_counts_answer(load_state s);
/* Everything answers (and writes may go) in s. */
int load_all_answer(load_state s);

#endif
