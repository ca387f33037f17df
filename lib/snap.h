/*
 * snap.h -- writing and reading the bytes of a snapshot of in-memory
 * structures (the cube, the grid, the response-time cube).
 *
 * No I/O here: a snap_out hands every byte to the caller's write callback,
 * a snap_in reads from a buffer the caller holds (server/snapshot.c maps a
 * file). Values are in this machine's byte order and layout: a snapshot is
 * read back by the build that wrote it (its file header says which).
 *
 * Both sides latch failure: after the first failed write or short read,
 * every later call does nothing (reads yield zeros) and `failed` stays set,
 * so a caller checks once at the end. Reads never go past the buffer, and
 * no count read from it allocates more than the bytes left could hold.
 */
#ifndef COMPSTAT_SNAP_H
#define COMPSTAT_SNAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct snap_out {
    int (*write)(void *arg, const void *p, size_t n); /* 0, or -1 failed */
    void *arg;
    int failed;
} snap_out;

void snap_put(snap_out *o, const void *p, size_t n);
void snap_u32(snap_out *o, uint32_t v);
void snap_i32(snap_out *o, int32_t v);
void snap_i64(snap_out *o, int64_t v);
void snap_u64(snap_out *o, uint64_t v);
void snap_f64(snap_out *o, double v);
void snap_str(snap_out *o, const char *s); /* length, then the bytes */

typedef struct snap_in {
    const unsigned char *p, *end;
    int failed;
} snap_in;

void snap_in_init(snap_in *in, const void *buf, size_t n);
int snap_get(snap_in *in, void *p, size_t n); /* 0, or -1 (p zeroed) */
uint32_t snap_get_u32(snap_in *in);
int32_t snap_get_i32(snap_in *in);
int64_t snap_get_i64(snap_in *in);
uint64_t snap_get_u64(snap_in *in);
double snap_get_f64(snap_in *in);
/* A string of at most max bytes, malloc'd and NUL-terminated; NULL on failure. */
char *snap_get_str(snap_in *in, size_t max);
/* count elements of size bytes, malloc'd (at least one byte); NULL on failure. */
void *snap_get_array(snap_in *in, size_t count, size_t size);
/* Mark the input failed (a value read is out of range). */
void snap_fail(snap_in *in);

#endif
