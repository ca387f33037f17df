/*
 * strmap.h -- a string-keyed hash map (open addressing, linear probing).
 *
 * Maps NUL-terminated keys (copied into the map) to void * values the map
 * does not own. Used for code -> reference-data lookups and for the
 * per-batch identity sets of the group commit. No deletions: the maps it
 * serves only grow or are dropped whole.
 */
#ifndef COMPSTAT_STRMAP_H
#define COMPSTAT_STRMAP_H

#include <stddef.h>

typedef struct strmap strmap;

/* NULL when out of memory. */
strmap *strmap_new(void);
/* Frees the map and its key copies, not the values. NULL is allowed. */
void strmap_free(strmap *m);
/* Value for key, or NULL. */
void *strmap_get(const strmap *m, const char *key);
/* Insert or replace. Returns 0, or -1 when out of memory (map unchanged). */
int strmap_put(strmap *m, const char *key, void *value);
size_t strmap_count(const strmap *m);
/* Call fn for every entry, in no particular order. */
void strmap_foreach(const strmap *m, void (*fn)(const char *key, void *value, void *arg),
                    void *arg);
/* Remove every entry, keeping the allocation. */
void strmap_clear(strmap *m);

#endif
