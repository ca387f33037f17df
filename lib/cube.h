/*
 * cube.h -- the in-memory OLAP cube of incident counts.
 *
 * Dimensions: agency, precinct (0 = unassigned), offense (and its
 * category, a mapping the caller declares), priority (-1 = none) and
 * time. Measure: incident count. The cube holds only what the caller adds:
 * the server adds committed incidents that are crimes (not unfounded or
 * cancelled) and removes the old contribution of each changed incident, so
 * every answer equals the same count in SQL.
 *
 * Layout. A series is a sorted array of time cells with cumulative
 * counts, so a range sum is two binary searches and memory grows with the
 * cells touched, never with the span of time. Each incident is counted in
 * four series, one per level of detail:
 *   level 0  (precinct, offense, priority)
 *   level 1  (precinct, offense)            priority rolled up
 *   level 2  (precinct, category)           offenses rolled up
 *   level 3  (precinct)                     everything rolled up
 * and a question reads the coarsest level that still holds what it asks
 * for, through per-precinct lists, so "this precinct, by category" touches
 * a handful of series whatever the size of the agency. Categories are the
 * cube's own mapping (cube_set_category); changing an offense's category
 * rebuilds level 2 of its agency from level 1, exactly. A cell is CUBE_SLOT seconds of UTC
 * (15 minutes): every zone offset in use since 1972 is a multiple of 15
 * minutes and changes on a 15-minute boundary, so a cell lies inside one
 * local hour of every zone, and local hours, days, weeks, months and years
 * are exact unions of cells. Ranges are given as instants that are
 * multiples of CUBE_SLOT.
 *
 * Updates: O(cells in the series) in the worst case (a late report
 * inserted in the middle shifts the cumulative counts after it); appends
 * at the end -- the common case -- are O(1). Bulk loading appends
 * unsorted and sorts once (cube_load_finish), in steps, so a caller on an
 * event loop can spread the work.
 *
 * Pure C: no I/O, no globals. Not thread-safe: one writer, readers on the
 * same thread.
 */
#ifndef COMPSTAT_CUBE_H
#define COMPSTAT_CUBE_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"
#include "tz.h"

#define CUBE_SLOT 900
#define CUBE_ANY (-2) /* in a result cell: this dimension is not grouped */

typedef struct cube cube;

typedef struct cube_key {
    int32_t agency;
    int32_t precinct; /* 0: unassigned */
    int32_t offense;
    int32_t priority; /* -1: none */
} cube_key;

cube *cube_new(void);
void cube_free(cube *c);

/*
 * Add delta (+1 or -1) incidents at instant t (seconds since the epoch)
 * to key; commit_ms is the commit time of the change (for as_of).
 * Returns 0, or -1 when removing what is not there (the cube and the
 * caller disagree) or out of memory; the cube is unchanged then.
 */
int cube_add(cube *c, const cube_key *key, int64_t t, int delta, int64_t commit_ms);

/*
 * Declare that offense (of agency) belongs to category (a small
 * non-negative id chosen by the caller). Call it for every offense before
 * adding its incidents; calling it again with another category moves the
 * offense's counts between categories. Offenses never declared count under
 * category -1. Returns 0, or -1 out of memory.
 */
int cube_set_category(cube *c, int32_t agency, int32_t offense, int32_t category);

/* Bulk load: record one incident, unsorted. 0, or -1 out of memory. */
int cube_load(cube *c, const cube_key *key, int64_t t, int64_t commit_ms);
/*
 * Sort and index what cube_load recorded, doing about `budget` incidents'
 * worth of work per call. Returns 1 when everything is indexed, 0 when
 * more calls are needed, -1 out of memory. Queries are valid only after
 * it returned 1.
 */
int cube_load_finish(cube *c, size_t budget);

/*
 * Snapshots (snap.h): cube_save writes every series as it stands (not
 * during a bulk load: -1); cube_restore reads one back into a new cube,
 * which answers exactly as the saved one did. NULL when the bytes do not
 * hold a well-formed cube (the input is marked failed) or out of memory.
 */
int cube_save(const cube *c, snap_out *out);
cube *cube_restore(snap_in *in);

size_t cube_series(const cube *c);
size_t cube_cells(const cube *c);
uint64_t cube_total(const cube *c); /* incidents counted */
size_t cube_bytes(const cube *c);   /* memory held, approximately */
int64_t cube_as_of(const cube *c);  /* newest commit_ms added, 0 when none */

/* What to group by (bits). */
enum cube_by {
    CUBE_BY_PRECINCT = 1,
    CUBE_BY_OFFENSE = 2,
    CUBE_BY_CATEGORY = 4,
    CUBE_BY_PRIORITY = 8,
    CUBE_BY_HOUR_OF_DAY = 16,
    CUBE_BY_DAY_OF_WEEK = 32,
};

enum cube_granularity { CUBE_NONE, CUBE_HOUR, CUBE_DAY, CUBE_WEEK, CUBE_MONTH, CUBE_YEAR };

typedef struct cube_question {
    int32_t agency;
    /* Filters; NULL / 0 means no filter. A filter array is indexed by id
       (precinct 0 = unassigned) and has n entries; ids >= n do not match. */
    const uint8_t *precincts;
    int32_t nprecincts;
    const uint8_t *offenses;
    int32_t noffenses;
    unsigned priorities; /* bit (p + 1) for priority p in -1..9; 0: all */
    int64_t from, to;    /* instants, multiples of CUBE_SLOT; INT64_MIN/MAX: open */
    unsigned by;         /* enum cube_by bits */
    int granularity;     /* enum cube_granularity */
    const uint8_t *categories; /* category filter, indexed by category id */
    int32_t ncategories;
    const tz_zone *zone; /* the agency's zone, for local time dimensions */
    /* By precinct, grouped: when set, a cell's precinct is
       precinct_group[p] (0 for p >= ngroup) -- e.g. the id of the area p
       lies in at some level -- so precincts of one group count together. */
    const int32_t *precinct_group;
    int32_t ngroup;
} cube_question;

typedef struct cube_cell {
    int32_t precinct, offense, category, priority; /* CUBE_ANY when not grouped */
    int32_t hour_of_day;  /* 0..23, or CUBE_ANY */
    int32_t day_of_week;  /* ISO 1 = Monday .. 7, or CUBE_ANY */
    int64_t bucket;       /* local seconds of the bucket start; 0 without granularity */
    uint64_t count;
} cube_cell;

typedef struct cube_result {
    cube_cell *cells; /* count > 0 only, in no particular order */
    size_t n;
    uint64_t total;
    int64_t as_of; /* newest commit_ms of the series that answer the question */
} cube_result;

/*
 * Answer q. Returns 0 with *out filled (free with cube_result_free), or -1
 * out of memory. Cost: O(series of the agency x log cells) without local
 * time dimensions; O(cells in range) with them.
 */
int cube_query(const cube *c, const cube_question *q, cube_result *out);
void cube_result_free(cube_result *r);

/* ISO day of week (1 = Monday) of a day number (days since 1970-01-01). */
int cube_iso_dow(int64_t day);

/* Start (local seconds) of the bucket of granularity g holding local. */
int64_t cube_bucket_start(int64_t local, int g);

#endif
