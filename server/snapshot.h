/*
 * snapshot.h -- the cube snapshot file: what makes a restart at millions of
 * incidents take seconds instead of a full read of the incidents table.
 *
 * Layout (host byte order; the build that wrote it reads it):
 *
 *   header   "CSTATSNP", format version, byte-order mark, the mark below
 *   payload  whatever the writer's callback produced (analytics_snapshot.c: the
 *            categories, cube, grid, response-time cube and unit board)
 *   trailer  payload length, SHA-256 of everything before the digest
 *
 * The mark says which database state the payload is: the database's
 * instance id, the fingerprint of the reference data, the counters of
 * changes made outside compstatd, the highest incident id and the number
 * of incidents, and its generation (migrations/0004_cube_dirty.sql: the
 * first old row of every incident updated since is kept in cube_dirty).
 * analytics_snapshot.c decides from it whether the snapshot is exact, exact after
 * replaying what changed since, or stale.
 *
 * snapshot_write writes "<path>.tmp", fsyncs it and renames it over path
 * (then fsyncs the directory): a reader sees the old file or the new one.
 * snapshot_open maps the file and checks everything but the payload's
 * meaning: magic, version, byte order, length, digest.
 */
#ifndef COMPSTAT_SNAPSHOT_H
#define COMPSTAT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

#define SNAPSHOT_FORMAT 3 /* 2: the generation; 3: the unit board's precincts */

typedef struct snapshot_mark {
    int64_t written_ms; /* when, for the log */
    int64_t max_id;     /* highest incident id in the payload */
    int64_t rows;       /* incidents with id <= max_id */
    int64_t changes;    /* sequence cube_outside_changes when written */
    int64_t inserts;    /* sequence cube_outside_inserts when written */
    int64_t generation; /* sequence cube_generation taken for it: changes
                           recorded in cube_dirty at or after it are not in it */
    char instance[40];    /* cube_state.instance (a uuid) */
    char fingerprint[40]; /* md5 of the reference data */
    char zones[72];       /* SHA-256 of the agencies' time-zone files */
} snapshot_mark;

/* 0, or -1 with why (errno-style text) filled; no file is left behind. */
int snapshot_write(const char *path, const snapshot_mark *mark,
                   int (*payload)(snap_out *out, void *arg), void *arg, char *why,
                   size_t whylen);

typedef struct snapshot_file {
    void *map;
    size_t size;
    snapshot_mark mark;
    const unsigned char *payload;
    size_t payload_len;
} snapshot_file;

/* 1 opened and verified; 0 no file; -1 unusable (why says, e.g. "checksum mismatch"). */
int snapshot_open(const char *path, snapshot_file *f, char *why, size_t whylen);
void snapshot_close(snapshot_file *f);

#endif
