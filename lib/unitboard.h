/*
 * unitboard.h -- the unit board: which open incidents each call sign is
 * attached to.
 *
 * An entry per (agency, call sign) lists the incidents the unit is
 * attached to while they are open, dispatched, en route or on scene, each
 * with its status and precinct (so a token limited to precincts sees only
 * its precincts' ids). Incidents come and go as their committed versions
 * do: the old version moves out (-1), the new one in (+1); a closed status
 * moves nothing, so an incident leaves the board when it closes.
 *
 * Pure C: no I/O, no globals. Not thread-safe.
 */
#ifndef COMPSTAT_UNITBOARD_H
#define COMPSTAT_UNITBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

typedef struct unitboard unitboard;

/*
 * What the board says of one unit. status is the furthest of its
 * incidents' statuses (enum inc_status; an open incident with the unit
 * attached counts as dispatched), -1 when none; incidents lists the
 * UNIT_ACTIVITY_MAX highest ids of total, highest (newest) first, whatever
 * order the board was built in.
 */
#define UNIT_ACTIVITY_MAX 8
typedef struct unit_activity {
    int status;
    int n, total;
    int64_t incidents[UNIT_ACTIVITY_MAX];
} unit_activity;

/* NULL when out of memory. */
unitboard *unitboard_new(void);
/* NULL is allowed. */
void unitboard_free(unitboard *b);

/*
 * Attach (delta +1) or detach (-1) incident id, of the agency, with status
 * and precinct (0: none), to or from each of its units. An incident that
 * is not open, dispatched, en route or on scene moves nothing; so does a
 * NULL board. Returns 0, or -1 when out of memory or when a detached
 * incident was not on a unit's entry (the board disagrees with what it
 * was given; the units before it have moved).
 */
int unitboard_move(unitboard *b, int agency, int64_t id, int status, int precinct,
                   char *const *units, size_t nunits, int delta);

/*
 * The activity of one unit. With scope (a mask of precinct ids, nscope
 * entries), total and incidents count only the incidents in those
 * precincts, while status stays the unit's own, from all of them; scope
 * NULL: all. A unit not on the board (or b NULL) has status -1, nothing.
 */
void unitboard_activity(const unitboard *b, int agency, const char *callsign,
                        const uint8_t *scope, int32_t nscope, unit_activity *out);

/* fn for every call sign of the agency attached to an open incident (no scope). */
void unitboard_foreach(const unitboard *b, int agency,
                       void (*fn)(const char *callsign, const unit_activity *a, void *arg),
                       void *arg);

/*
 * The board's bytes in a snapshot (snap.h): per entry its key, the count
 * and each incident's id, status and precinct; an empty key ends it.
 * unitboard_restore returns NULL (and marks in failed) on anything that
 * does not read back whole.
 */
void unitboard_save(const unitboard *b, snap_out *out);
unitboard *unitboard_restore(snap_in *in);

#endif
