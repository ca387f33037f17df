/*
 * lrumap.h -- a bounded string-keyed map that forgets the least recently
 * used entry.
 *
 * For state kept about what clients send (unknown tokens, addresses), which
 * must not grow with what a hostile client chooses to send: with a bound
 * (max > 0), putting a new key into a full map first evicts the entry used
 * least recently and hands its value back to the caller, who frees it.
 * Keys are copied; values are the caller's and never NULL. Entries can be
 * removed.
 *
 * Chained hashing on a seeded FNV-1a (the seed keeps a client from choosing
 * keys that collide, where keys come from clients), plus a doubly linked
 * list in order of use. Every operation is O(1) on average.
 */
#ifndef COMPSTAT_LRUMAP_H
#define COMPSTAT_LRUMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct lrumap lrumap;

/* max: most entries (0: unbounded). NULL when out of memory. */
lrumap *lrumap_new(size_t max, uint64_t seed);
/* Frees the map and its keys; free_value (may be NULL) is called on each value. */
void lrumap_free(lrumap *m, void (*free_value)(void *value));

/* The value for key (NULL: none), which becomes the most recently used. */
void *lrumap_get(lrumap *m, const char *key);
/* The same without touching the order of use. */
void *lrumap_peek(const lrumap *m, const char *key);

/*
 * Insert or replace key's value; the entry becomes the most recently used.
 * *old receives what the map no longer holds: the value replaced, or that of
 * the entry evicted to make room, else NULL (old may be NULL when the caller
 * knows there is nothing to free). Returns 0, or -1 when out of memory (map
 * unchanged, *old NULL).
 */
int lrumap_put(lrumap *m, const char *key, void *value, void **old);

/* Remove key; returns its value (NULL when absent). */
void *lrumap_remove(lrumap *m, const char *key);

/* Remove and return the least recently used entry's value (NULL: empty). */
void *lrumap_pop_oldest(lrumap *m);

size_t lrumap_count(const lrumap *m);
size_t lrumap_max(const lrumap *m);

#endif
