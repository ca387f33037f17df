/*
 * spatial.h -- per-day incident counts on the hotspot grid.
 *
 * For each agency: its grid (grid.h) and, for each local day, the base
 * cells that hold incidents, with counts by precinct and offense, so any
 * window of whole days, any precinct set and any offense (or category)
 * filter is counted without the database. Memory grows with the (day,
 * cell, precinct, offense) combinations touched, not with the grid.
 *
 * Like the cube, it holds what the caller adds: committed, located crimes.
 * Not thread-safe; no I/O.
 */
#ifndef COMPSTAT_SPATIAL_H
#define COMPSTAT_SPATIAL_H

#include <stddef.h>
#include <stdint.h>

#include "grid.h"
#include "snap.h"

typedef struct sp_store sp_store;

sp_store *sp_new(void);
void sp_free(sp_store *s);

/* Give agency its grid; before any incident of the agency is added. 0, -1 OOM. */
int sp_set_grid(sp_store *s, int32_t agency, const grid *g);
/* The agency's grid, or NULL. */
const grid *sp_grid(const sp_store *s, int32_t agency);

/*
 * Add delta (+1 or -1) incidents of (precinct, offense) at (lon, lat) on
 * local day number day. Returns 0; -1 when the agency has no grid, when
 * removing what is not there, or out of memory (nothing changed then).
 */
int sp_add(sp_store *s, int32_t agency, int32_t precinct, int32_t offense, int64_t day,
           double lon, double lat, int delta);

/* Bulk load: record one incident, unsorted; then sp_load_finish. */
int sp_load(sp_store *s, int32_t agency, int32_t precinct, int32_t offense, int64_t day,
            double lon, double lat);
/* Index what sp_load recorded, ~budget incidents a call: 1 done, 0 more, -1 OOM. */
int sp_load_finish(sp_store *s, size_t budget);

/* Snapshots (snap.h), as cube_save / cube_restore: not during a bulk load. */
int sp_save(const sp_store *s, snap_out *out);
sp_store *sp_restore(snap_in *in);

typedef struct sp_question {
    int32_t agency;
    const uint8_t *precincts; /* by precinct id (0 = unassigned); NULL: all */
    int32_t nprecincts;
    const uint8_t *offenses; /* by offense id; NULL: all */
    int32_t noffenses;
    int64_t day_from, day_to; /* local days, half-open; INT64_MIN / INT64_MAX: open */
    int32_t k;                /* cell size in base cells (>= 1) */
} sp_question;

typedef struct sp_cell {
    int32_t cx, cy; /* cell of k base cells */
    uint64_t count;
} sp_cell;

/*
 * Count q into cells (count > 0 only, in no particular order). Returns 0
 * and sets *cells (free()) and *n, or -1 out of memory.
 */
int sp_count(const sp_store *s, const sp_question *q, sp_cell **cells, size_t *n);

size_t sp_entries(const sp_store *s);
size_t sp_bytes(const sp_store *s);

#endif
