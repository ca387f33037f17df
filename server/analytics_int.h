/*
 * analytics_int.h -- private to analytics*.c: what the parts of the
 * analytics module share. Nothing else includes it; analytics.h is the
 * module's contract.
 *
 * The parts, by concern:
 *   analytics.c           category ids, the accessors, the ready callback, free
 *   analytics_load.c      the load: its state machine (lib/loadstate.h), the COPYs
 *   analytics_grid.c      grid origins and one agency's grid, rebuilt
 *   analytics_snapshot.c  the snapshot's payload, its checks, background children
 *   analytics_apply.c     live apply, the unit board's reads, the crime-flag recount
 *
 * Everything here runs on the loop thread.
 */
#ifndef COMPSTAT_ANALYTICS_INT_H
#define COMPSTAT_ANALYTICS_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "analytics.h"
#include "loadstate.h"
#include "snapshot.h"

/* One set of cubes: the count cube, the hotspot grid counts, the
   response-time cube and the unit board. */
struct an_cubes {
    cube *cube;
    sp_store *sp;
    rt_cube *rt;
    unitboard *board;
};

/* The cubes that answer (what load_counts_answer / load_all_answer of the
   load's state allow). */
extern struct an_cubes an_live;

/* The load: its state, and what belongs to it. */
struct an_load {
    load_state state;
    /* Being filled: cube, sp and the categories go live when the counts are
       indexed, rt and board when everything is in. */
    cube *cube;
    sp_store *sp;
    rt_cube *rt;
    unitboard *board;
    int categories_declared; /* in cube */
    int from_snapshot;       /* adds incidents onto a restored snapshot ... */
    int64_t replay_after;    /* ... those with a higher id, */
    int64_t replay_gen;      /* ... and those updated at or after this generation */
    int snapshot_tried;      /* only the process's first load reads a snapshot */
    int have_state;          /* cube_state was read when the load started ... */
    int64_t changes, inserts; /* ... and said this */
    snapshot_file snap;      /* the snapshot being considered */
    uint64_t started_ns;
    size_t rows;             /* rows the load's COPYs delivered, both kinds */
};
extern struct an_load an_load;

/* What the next snapshot's mark needs (analytics_snapshot.c). */
struct an_marks {
    /* The incidents table as far as the cubes know: from the load's state,
       plus the inserts applied since. */
    int64_t max_id, rows;
    uint64_t changed;   /* changes applied since the last generation taken */
    int due;            /* write one at the next chance, changes or not */
    int outside_logged; /* "changed outside" said once per load */
};
extern struct an_marks an_marks;

/* ---- analytics.c */

/* Declare every known offense's category to c. */
void an_declare_categories(cube *c);
/* The categories in id order, for the snapshot. */
int an_category_count(void);

/* ---- analytics_load.c */

/*
 * Move the load's state machine by ev (lib/loadstate.h), logging the
 * change ("load: A -> B (why)"). Returns the new state, or -1 when ev
 * cannot happen now (nothing changes).
 */
int an_load_event(load_event ev, const char *why);
/* Start a load (analytics_reload), saying why in the log. */
void an_reload(db_conn *db, const char *why);
/* A load is under way (its first half may already answer). */
int an_load_in_progress(void);
/* The cubes that answer disagree with the database (why): stop answering. */
void an_invalidate(const char *why);
/* Free what the load holds (nothing is filled any more). */
void an_discard_loading(void);
void an_load_free(void);

/* One row of ANALYTICS_LOAD_COLS. */
struct an_count_row {
    int32_t v[4]; /* agency, precinct, offense, priority */
    int64_t t, commit;
    double lon, lat;
    int located;
};
/* 0, or -1 when unreadable. */
int an_read_count_row(const char *row, int len, struct an_count_row *c);

/* An incident's response-time fact; 0 when it has none (no received_at). */
int an_fact_of(int agency, int precinct, int priority, const int64_t *times, unsigned set,
               int self_initiated, char *const *units, size_t nunits, rt_fact *f);

/* The database's state as STATE_SQL and BUMP_SQL read it. */
struct an_db_state {
    int64_t changes, inserts, max_id, rows, rows_above, generation;
    char instance[40], fingerprint[40];
};
/* 0, or -1 when res is not one such row. */
int an_read_state(const PGresult *res, struct an_db_state *st);

/* Everything a snapshot depends on besides the incidents: agencies (their
   zones), precincts (ids, the grid's origin), offenses (categories). */
#define REFDATA_FINGERPRINT                                                              \
    "md5(coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM agencies t), '')"  \
    " || '#' || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM precincts t), '')" \
    " || '#' || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM offenses t), ''))"

/* $1 a high-water mark (incident id), $2 the inserts counter, $3 the row
   count and $4 the changes counter at that mark: the count is only taken
   when rows at or below the mark may have come or gone since -- a
   statement outside compstatd (compstatd's own inserts take ids past any
   mark it wrote: one writer, one identity sequence); otherwise it is $3.
   Then the rows past the mark (an index range), and the
   generation -- the current one, or (BUMP_SQL) a new one, taken in order
   with the writer's statements. */
#define SEQ_VALUE(seq) "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM " seq ")"
#define STATE_SQL_WITH(generation)                                                         \
    "SELECT c.n, i.n, s.instance::text, " REFDATA_FINGERPRINT ", m.max_id,"               \
    " CASE WHEN i.n = $2::bigint AND c.n = $4::bigint THEN $3::bigint"                     \
    "  ELSE (SELECT count(*) FROM incidents WHERE id <= $1::bigint) END,"                  \
    " (SELECT count(*) FROM incidents WHERE id > $1::bigint), " generation                 \
    " FROM cube_state s, (SELECT coalesce(max(id), 0) AS max_id FROM incidents) m,"        \
    " (SELECT " SEQ_VALUE("cube_outside_inserts") " AS n) i,"                              \
    " (SELECT " SEQ_VALUE("cube_outside_changes") " AS n) c"
#define STATE_SQL STATE_SQL_WITH(SEQ_VALUE("cube_generation"))
#define BUMP_SQL STATE_SQL_WITH("nextval('cube_generation')")

/* ---- analytics_grid.c */

/* Make sure the agency has a grid in st; lon/lat: a fallback origin. */
const grid *an_ensure_grid(sp_store *st, int agency_id, double lon, double lat);
/* The agency's local day of t (unix seconds). */
int64_t an_local_day(int agency_id, int64_t t);
/* A committed change: logged when its agency's grid is being rebuilt. */
void an_grid_log(const stored *old, const stored *new_row);
/* Let go of the rebuild under way (a load builds every grid afresh). */
void an_grid_cancel(void);
/* The agency's grid being rebuilt read what it now must not: start it again. */
void an_grid_restart(int agency_id);
/* After a load: rebuild each grid whose origin moved. */
void an_grid_check_all(void);
/* An agency's grid still counts its old zone's days (analytics_zone_changed). */
int an_grid_any_stale(void);
void an_grid_free(void);

/* ---- analytics_snapshot.c */

/* Restore a snapshot's payload into the load's cubes. 0, or -1 (nothing changed). */
int an_restore_payload(const unsigned char *p, size_t n);
/* Why the snapshot (mark) cannot be used with the database as st says; NULL: it can. */
const char *an_snapshot_stale(const snapshot_mark *m, const struct an_db_state *st);
/* A stale snapshot goes: nothing could use it again. */
void an_remove_snapshot(void);
/* After a load, or when reference data moved: a snapshot soon. */
void an_snapshot_soon(void);
void an_snapshots_stop(void);

#endif
