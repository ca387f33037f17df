/*
 * cellindex.h -- grid cells (ix, iy) to a 1-based index: the look-up that
 * puts a count of the hotspot grid into its cell of a study area. Open
 * addressing, sized when made for the cells it will hold (at most half
 * full). Pure C: no I/O, no globals.
 */
#ifndef COMPSTAT_CELLINDEX_H
#define COMPSTAT_CELLINDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct cellindex {
    uint64_t *keys;
    uint32_t *vals; /* the index, 1-based; 0: empty */
    size_t cap;
} cellindex;

/* Room for n cells. 0, or -1 out of memory (nothing to free then). */
int cellindex_init(cellindex *m, size_t n);
void cellindex_free(cellindex *m);

/* The value slot of (ix, iy), claimed for it: 0 in it when the cell is new
   (store its index there). At most the n cells of cellindex_init. */
uint32_t *cellindex_slot(cellindex *m, int32_t ix, int32_t iy);

/* The index stored for (ix, iy), or 0. */
uint32_t cellindex_find(const cellindex *m, int32_t ix, int32_t iy);

#endif
