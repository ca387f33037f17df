/*
 * rtcube.h -- the response-time cube.
 *
 * Dimensions: agency, precinct (0 = unassigned), priority (-1 = none),
 * unit, and the time the call was received, in cells of RT_SLOT seconds
 * of UTC (a quarter hour: every zone offset in use is a multiple of it, so
 * a cell lies inside one local hour, and local hours, days and shifts that
 * start on a quarter hour are exact unions of cells). Measures: the
 * intervals of rtime.h.
 *
 * Each fact (one incident) is kept once for the incident and once more per
 * unit attached to it, so "by unit" attributes a call to every unit that
 * answered it (a call without units to RT_NO_UNIT) while other groupings
 * count it once. A fact's intervals are kept exactly, in the leaf (agency,
 * 16 days of UTC, precinct, priority, unit) it belongs to, so
 * removing the old version of a changed incident takes away exactly what
 * adding it put there -- n, sum and max stay exact under updates. A
 * question merges the facts of every leaf in its window into one
 * histogram per group and interval (rtime.h: exact n, sum, min, max;
 * percentiles within 1/128 of the nearest-rank value, exact below 256 s).
 *
 * A unit filter without grouping by unit reads the per-unit copies: a call
 * counts once per listed unit attached to it.
 *
 * Shifts are a function of the local quarter hour of the day, given with
 * the question, so an agency redefining its tours changes every answer at
 * once without touching the facts. (Local time is that of the cell's
 * start: exact for every offset that is a multiple of 15 minutes, i.e.
 * every zone since 1972.) Histogram counters are 32-bit: a group holds at
 * most 2^32 - 1 values of one bucket.
 *
 * Pure C: no I/O, no globals. Not thread-safe.
 */
#ifndef COMPSTAT_RTCUBE_H
#define COMPSTAT_RTCUBE_H

#include "snap.h"
#include <stddef.h>
#include <stdint.h>

#include "rtime.h"
#include "tz.h"

#define RT_SLOT 900
#define RT_QUARTERS 96  /* quarter hours in a day */
#define RT_NO_UNIT (-1) /* the incident had no unit attached */

typedef struct rt_cube rt_cube;

typedef struct rt_fact {
    int32_t agency;
    int32_t precinct;  /* 0: unassigned */
    int priority;      /* 0..9, -1: none */
    int64_t received;  /* seconds since the epoch */
    unsigned mask;     /* intervals present, as from rt_intervals */
    uint32_t v[RT_NINT];
    size_t nunits;
    char *const *units; /* call signs */
} rt_fact;

rt_cube *rt_new(void);
void rt_free(rt_cube *c);

/*
 * Add (delta = +1) or remove (delta = -1) a fact. Returns 0; -1 when out
 * of memory or when the fact to remove is not there (the caller's copy and
 * the cube disagree: reload).
 */
int rt_add(rt_cube *c, const rt_fact *f, int delta);

/*
 * Bulk loading: rt_load queues a fact (its units are named now, as rt_add
 * would), and every million queued leaf entries -- and rt_load_finish at
 * the end -- are sorted and added leaf by leaf. The cube is then the same
 * as after rt_add(f, +1) for each; questions must wait for rt_load_finish.
 * Returns 0, or -1 out of memory (or for a fact rt_add would refuse).
 */
int rt_load(rt_cube *c, const rt_fact *f);
int rt_load_finish(rt_cube *c);
/* Entries per sorted batch (0: the default, 2^20); for tests. */
void rt_set_load_chunk(rt_cube *c, size_t entries);

/* Snapshots (snap.h), as cube_save / cube_restore: not during a bulk load. */
int rt_save(const rt_cube *c, snap_out *out);
rt_cube *rt_restore(snap_in *in);

/* Unit ids, dense, assigned on first use: -1 when the agency never used it. */
int32_t rt_unit_id(const rt_cube *c, int32_t agency, const char *callsign);
const char *rt_unit_name(const rt_cube *c, int32_t unit); /* NULL when unknown */
int32_t rt_unit_count(const rt_cube *c);

size_t rt_facts(const rt_cube *c); /* incidents held */
size_t rt_bytes(const rt_cube *c); /* memory, approximately */

enum {
    RT_BY_PRECINCT = 1,
    RT_BY_PRIORITY = 2,
    RT_BY_SHIFT = 4,
    RT_BY_UNIT = 8,
    RT_BY_HOUR = 16, /* local hour of day of received_at */
    RT_BY_DOW = 32,  /* local ISO day of week */
};

typedef struct rt_question {
    int32_t agency;
    int64_t from, to; /* [from, to), multiples of RT_SLOT (INT64_MIN / INT64_MAX: all) */
    /* Precinct filter: NULL for all (unassigned included); else include id
       when id < nprecincts and precincts[id] != 0 (id 0: unassigned). */
    const uint8_t *precincts;
    int32_t nprecincts;
    unsigned priorities; /* 0: all; else bit (p + 1) for priority p */
    /* Unit filter by unit id (index RT_NO_UNIT + 1 = 0 is "no unit"):
       NULL for all; else include unit u when units[u + 1] != 0. */
    const uint8_t *units;
    int32_t nunits;
    uint64_t shifts; /* 0: all; else bit (s + 1) for shift s (-1: none) */
    unsigned by;     /* RT_BY_* */
    const tz_zone *zone;           /* the agency's */
    const int8_t *shift_of_quarter; /* [RT_QUARTERS]: local quarter -> shift, -1 none; NULL: none */
    /* By precinct, grouped: when set, a group's precinct is
       precinct_group[p] (0 for p >= ngroup), e.g. the area p lies in. */
    const int32_t *precinct_group;
    int32_t ngroup;
} rt_question;

typedef struct rt_group {
    /* The keys grouped by; the others are -1 (precinct, unit, shift and
       priority also use -1 for "none": read them only when grouped by). */
    int32_t precinct, unit;
    int8_t priority, shift, hour, dow;
    uint64_t incidents; /* facts counted in the group */
    rt_hist h[RT_NINT];
} rt_group;

typedef struct rt_result {
    rt_group *groups;
    size_t n, cap;
    uint32_t *index; /* hash of groups (internal) */
    size_t icap;
} rt_result;

/* Answer q into *out (initialise it with {0}). 0, or -1 when out of memory. */
int rt_query(const rt_cube *c, const rt_question *q, rt_result *out);
void rt_result_free(rt_result *r);

#endif
