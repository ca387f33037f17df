/*
 * strmap.c -- see strmap.h.
 */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char *key; /* NULL: empty */
    void *value;
    uint64_t hash;
};

struct strmap {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

strmap *strmap_new(void)
{
    strmap *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_clear(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        m->slots[i].key = NULL;
    }
    m->count = 0;
}

void strmap_free(strmap *m)
{
    if (m == NULL)
        return;
    strmap_clear(m);
    free(m->slots);
    free(m);
}

static struct slot *find(const strmap *m, const char *key, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    for (;;) {
        struct slot *s = &m->slots[i];
        if (s->key == NULL || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

void *strmap_get(const strmap *m, const char *key)
{
    struct slot *s = find(m, key, hash_str(key));
    return s->key ? s->value : NULL;
}

static int grow(strmap *m)
{
    size_t ncap = m->cap * 2;
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int strmap_put(strmap *m, const char *key, void *value)
{
    if ((m->count + 1) * 10 > m->cap * 7 && grow(m) != 0)
        return -1;
    uint64_t h = hash_str(key);
    struct slot *s = find(m, key, h);
    if (s->key == NULL) {
        s->key = strdup(key);
        if (s->key == NULL)
            return -1;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return 0;
}

size_t strmap_count(const strmap *m)
{
    return m->count;
}

void strmap_foreach(const strmap *m, void (*fn)(const char *key, void *value, void *arg),
                    void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            fn(m->slots[i].key, m->slots[i].value, arg);
}
