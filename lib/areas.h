/*
 * areas.h -- an agency's precincts arranged in a tree of named areas.
 *
 * An area has a name, a level label of the agency's own ("Dirección
 * Regional", "province", "district"), and at most one parent area of the
 * same agency. A precinct is listed in at most one area; an area holds the
 * precincts listed in it and in its descendants. The tree has no cycles:
 * areas_would_cycle says whether a new parent would make one (the database
 * refuses one too: migrations/0012_areas.sql).
 *
 * Records are indexed by database id (a dense array) and by code (codes
 * are unique across agencies, as precinct codes are). Pure: no I/O.
 * Ownership: the tree owns every record and string; a pointer returned
 * stays valid until the tree is freed (records are updated in place; their
 * string fields are replaced).
 */
#ifndef COMPSTAT_AREAS_H
#define COMPSTAT_AREAS_H

#include <stdint.h>

typedef struct area_node {
    int id;
    int agency_id;
    int parent_id; /* 0: none */
    char *code;
    char *name;
    char *level;
} area_node;

typedef struct area_tree area_tree;

area_tree *areas_new(void);
void areas_free(area_tree *t);

/* Insert or replace by id (strings copied). 0, or -1 out of memory. */
int areas_put(area_tree *t, int id, int agency_id, const char *code, const char *name,
              const char *level, int parent_id);
/* List precinct_id in area_id (0: in none). 0, or -1 out of memory. */
int areas_set_precinct(area_tree *t, int precinct_id, int area_id);

const area_node *areas_by_id(const area_tree *t, int id);
const area_node *areas_by_code(const area_tree *t, const char *code);
/* Largest area id in use + 1 (iterate 1..max-1; gaps are NULL). */
int areas_max(const area_tree *t);
/* The area listing precinct_id, 0 when none. */
int areas_of_precinct(const area_tree *t, int precinct_id);

/* 1 when area_id is ancestor_id or lies below it. */
int areas_below(const area_tree *t, int area_id, int ancestor_id);
/* 1 when giving area_id the parent parent_id would make a cycle. */
int areas_would_cycle(const area_tree *t, int area_id, int parent_id);

/*
 * Set mask[p] = 1 for every precinct p < n the area holds (listed in it or
 * in a descendant). Returns how many it set.
 */
int areas_cover(const area_tree *t, int area_id, uint8_t *mask, int32_t n);

/* The area at level the precinct lies in (its own area or an ancestor), 0 when none. */
int areas_at_level(const area_tree *t, int precinct_id, const char *level);

#endif
