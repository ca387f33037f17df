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
 * A store is used from one thread (its thread); a view (sp_view_new) is a
 * frozen picture of one agency's days that any thread may count while the
 * store goes on changing. No I/O.
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

/*
 * Views. sp_view_new freezes agency's days [day_from, day_to)
 * (INT64_MIN / INT64_MAX: open) and its grid as they are now, in
 * O(days): the view holds the days' entry arrays, and the store copies a
 * day's array before it next changes that day (copy on write; one copy per
 * day changed while views hold it). A view is immutable: sp_view_grid and
 * sp_view_count may run on any thread, concurrently with anything the
 * store's thread does. Create and free views on the store's thread; a view
 * may outlive its store. NULL out of memory.
 */
typedef struct sp_view sp_view;
sp_view *sp_view_new(sp_store *s, int32_t agency, int64_t day_from, int64_t day_to);
/* The agency's grid when the view was taken, or NULL (none then). */
const grid *sp_view_grid(const sp_view *v);
/* As sp_count, over the view's days (q->agency is not read). */
int sp_view_count(const sp_view *v, const sp_question *q, sp_cell **cells, size_t *n);
void sp_view_free(sp_view *v);

/*
 * Replace agency's grid and days in dst by those in src (src keeps the
 * agency without grid or days; dst's old ones are freed, or left to the
 * views holding them). For a rebuild of one agency's grid. 0, or -1 out of
 * memory or while src's bulk load is unfinished (nothing changed).
 */
int sp_move_agency(sp_store *dst, sp_store *src, int32_t agency);

size_t sp_entries(const sp_store *s);
size_t sp_bytes(const sp_store *s);

#endif
