/*
 * areas.c -- see areas.h.
 */
#include "areas.h"

#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct area_tree {
    area_node **by_id; /* [id] */
    int nid;
    strmap *by_code;
    int *precinct_area; /* [precinct id] -> area id, 0: none */
    int nprecinct;
};

area_tree *areas_new(void)
{
    area_tree *t = calloc(1, sizeof *t);
    if (t && (t->by_code = strmap_new()) == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

static void area_strings_free(area_node *a)
{
    free(a->code);
    free(a->name);
    free(a->level);
}

void areas_free(area_tree *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->nid; i++) {
        if (t->by_id[i]) {
            area_strings_free(t->by_id[i]);
            free(t->by_id[i]);
        }
    }
    free(t->by_id);
    free(t->precinct_area);
    strmap_free(t->by_code);
    free(t);
}

/* Grow *arr (of *n ints or pointers, elem bytes each) to hold index i. */
static int grow(void **arr, int *n, int i, size_t elem)
{
    if (i < *n)
        return 0;
    int m = *n ? *n : 16;
    while (m <= i)
        m *= 2;
    char *p = realloc(*arr, (size_t)m * elem);
    if (p == NULL)
        return -1;
    memset(p + (size_t)*n * elem, 0, (size_t)(m - *n) * elem);
    *arr = p;
    *n = m;
    return 0;
}

int areas_put(area_tree *t, int id, int agency_id, const char *code, const char *name,
              const char *level, int parent_id)
{
    if (id <= 0 || grow((void **)&t->by_id, &t->nid, id, sizeof *t->by_id) != 0)
        return -1;
    char *c = strdup(code), *nm = strdup(name), *lv = strdup(level);
    area_node *a = t->by_id[id] ? t->by_id[id] : calloc(1, sizeof *a);
    if (c == NULL || nm == NULL || lv == NULL || a == NULL ||
        strmap_put(t->by_code, code, a) != 0) {
        free(c), free(nm), free(lv);
        if (a != t->by_id[id])
            free(a);
        return -1;
    }
    area_strings_free(a); /* the code does not change: the map keeps its key */
    *a = (area_node){.id = id, .agency_id = agency_id, .parent_id = parent_id, .code = c,
                .name = nm, .level = lv};
    t->by_id[id] = a;
    return 0;
}

int areas_set_precinct(area_tree *t, int precinct_id, int area_id)
{
    if (precinct_id <= 0)
        return -1;
    if (area_id == 0 && precinct_id >= t->nprecinct)
        return 0;
    if (grow((void **)&t->precinct_area, &t->nprecinct, precinct_id, sizeof(int)) != 0)
        return -1;
    t->precinct_area[precinct_id] = area_id;
    return 0;
}

const area_node *areas_by_id(const area_tree *t, int id)
{
    return id > 0 && id < t->nid ? t->by_id[id] : NULL;
}

const area_node *areas_by_code(const area_tree *t, const char *code)
{
    return strmap_get(t->by_code, code);
}

int areas_max(const area_tree *t)
{
    int m = t->nid;
    while (m > 1 && t->by_id[m - 1] == NULL)
        m--;
    return m > 0 ? m : 1;
}

int areas_of_precinct(const area_tree *t, int precinct_id)
{
    return precinct_id > 0 && precinct_id < t->nprecinct ? t->precinct_area[precinct_id] : 0;
}

int areas_below(const area_tree *t, int area_id, int ancestor_id)
{
    /* Bounded by the number of areas: a cycle (never stored) cannot hang it. */
    for (int steps = 0; area_id > 0 && steps <= t->nid; steps++) {
        if (area_id == ancestor_id)
            return 1;
        const area_node *a = areas_by_id(t, area_id);
        area_id = a ? a->parent_id : 0;
    }
    return 0;
}

int areas_would_cycle(const area_tree *t, int area_id, int parent_id)
{
    return parent_id > 0 && areas_below(t, parent_id, area_id);
}

int areas_cover(const area_tree *t, int area_id, uint8_t *mask, int32_t n)
{
    int set = 0;
    for (int p = 1; p < t->nprecinct && p < n; p++) {
        if (t->precinct_area[p] && areas_below(t, t->precinct_area[p], area_id)) {
            set += !mask[p];
            mask[p] = 1;
        }
    }
    return set;
}

int areas_at_level(const area_tree *t, int precinct_id, const char *level)
{
    int id = areas_of_precinct(t, precinct_id);
    for (int steps = 0; id > 0 && steps <= t->nid; steps++) {
        const area_node *a = areas_by_id(t, id);
        if (a == NULL)
            return 0;
        if (strcmp(a->level, level) == 0)
            return id;
        id = a->parent_id;
    }
    return 0;
}
