/*
 * cellindex.c -- see cellindex.h.
 */
#include "cellindex.h"

#include <stdlib.h>

static uint64_t key_of(int32_t x, int32_t y)
{
    return (uint64_t)(uint32_t)x << 32 | (uint32_t)y;
}

static size_t probe(const cellindex *m, uint64_t k)
{
    uint64_t h = k * 0x9E3779B97F4A7C15ULL;
    size_t i = (h ^ (h >> 29)) & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

int cellindex_init(cellindex *m, size_t n)
{
    m->cap = 1024;
    while (m->cap < n * 2)
        m->cap *= 2;
    m->keys = malloc(m->cap * sizeof *m->keys);
    m->vals = calloc(m->cap, sizeof *m->vals);
    if (m->keys && m->vals)
        return 0;
    cellindex_free(m);
    return -1;
}

void cellindex_free(cellindex *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = 0;
}

uint32_t *cellindex_slot(cellindex *m, int32_t ix, int32_t iy)
{
    uint64_t k = key_of(ix, iy);
    size_t i = probe(m, k);
    m->keys[i] = k;
    return &m->vals[i];
}

uint32_t cellindex_find(const cellindex *m, int32_t ix, int32_t iy)
{
    return m->cap ? m->vals[probe(m, key_of(ix, iy))] : 0;
}
