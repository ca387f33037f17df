/*
 * lrumap.c -- see lrumap.h.
 */
#include "lrumap.h"

#include <stdlib.h>
#include <string.h>

struct node {
    struct node *chain;      /* next in the bucket */
    struct node *newer, *older; /* order of use */
    void *value;
    uint64_t hash;
    char key[]; /* NUL-terminated */
};

struct lrumap {
    struct node **buckets;
    size_t nbuckets; /* power of two */
    size_t count, max;
    uint64_t seed;
    struct node *newest, *oldest;
};

static uint64_t hash_key(const lrumap *m, const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ m->seed; /* FNV-1a 64, seeded */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

lrumap *lrumap_new(size_t max, uint64_t seed)
{
    lrumap *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->nbuckets = 16;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (m->buckets == NULL) {
        free(m);
        return NULL;
    }
    m->max = max;
    m->seed = seed;
    return m;
}

void lrumap_free(lrumap *m, void (*free_value)(void *value))
{
    if (m == NULL)
        return;
    struct node *n = m->newest;
    while (n) {
        struct node *next = n->older;
        if (free_value)
            free_value(n->value);
        free(n);
        n = next;
    }
    free(m->buckets);
    free(m);
}

static struct node **slot_of(const lrumap *m, const char *key, uint64_t h)
{
    struct node **p = &m->buckets[h & (m->nbuckets - 1)];
    while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
        p = &(*p)->chain;
    return p;
}

static void unlink_use(lrumap *m, struct node *n)
{
    if (n->newer)
        n->newer->older = n->older;
    else
        m->newest = n->older;
    if (n->older)
        n->older->newer = n->newer;
    else
        m->oldest = n->newer;
    n->newer = n->older = NULL;
}

static void push_newest(lrumap *m, struct node *n)
{
    n->newer = NULL;
    n->older = m->newest;
    if (m->newest)
        m->newest->newer = n;
    m->newest = n;
    if (m->oldest == NULL)
        m->oldest = n;
}

void *lrumap_peek(const lrumap *m, const char *key)
{
    struct node *n = *slot_of(m, key, hash_key(m, key));
    return n ? n->value : NULL;
}

void *lrumap_get(lrumap *m, const char *key)
{
    struct node *n = *slot_of(m, key, hash_key(m, key));
    if (n == NULL)
        return NULL;
    if (m->newest != n) {
        unlink_use(m, n);
        push_newest(m, n);
    }
    return n->value;
}

/* Take n out of its bucket and the order of use, and free it; its value is returned. */
static void *drop(lrumap *m, struct node *n)
{
    struct node **p = slot_of(m, n->key, n->hash);
    *p = n->chain;
    unlink_use(m, n);
    void *v = n->value;
    free(n);
    m->count--;
    return v;
}

static void grow(lrumap *m)
{
    size_t nb = m->nbuckets * 2;
    struct node **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->chain;
            size_t j = n->hash & (nb - 1);
            n->chain = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

int lrumap_put(lrumap *m, const char *key, void *value, void **old)
{
    if (old)
        *old = NULL;
    uint64_t h = hash_key(m, key);
    struct node **p = slot_of(m, key, h);
    if (*p) {
        struct node *n = *p;
        if (old)
            *old = n->value;
        n->value = value;
        if (m->newest != n) {
            unlink_use(m, n);
            push_newest(m, n);
        }
        return 0;
    }
    size_t len = strlen(key);
    struct node *n = malloc(sizeof *n + len + 1);
    if (n == NULL)
        return -1;
    memcpy(n->key, key, len + 1);
    n->hash = h;
    n->value = value;
    if (m->max && m->count >= m->max) {
        void *evicted = drop(m, m->oldest);
        if (old)
            *old = evicted;
    }
    if (m->count >= m->nbuckets)
        grow(m);
    p = slot_of(m, key, h); /* the buckets may have moved */
    n->chain = NULL;
    *p = n;
    push_newest(m, n);
    m->count++;
    return 0;
}

void *lrumap_remove(lrumap *m, const char *key)
{
    struct node *n = *slot_of(m, key, hash_key(m, key));
    return n ? drop(m, n) : NULL;
}

void *lrumap_pop_oldest(lrumap *m)
{
    return m->oldest ? drop(m, m->oldest) : NULL;
}

size_t lrumap_count(const lrumap *m)
{
    return m->count;
}

size_t lrumap_max(const lrumap *m)
{
    return m->max;
}
