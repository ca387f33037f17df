/*
 * filters.h -- query filters naming reference data, read into id masks.
 *
 * The list endpoints, the cube and the hotspots all take comma lists of
 * precinct codes, offense codes and category names. These read one into a
 * mask indexed by id (mask[id] = 1), within the token's agency, and answer
 * the client themselves when a name is unknown (422, naming the parameter)
 * or a precinct lies outside the token's precincts (403).
 */
#ifndef COMPSTAT_FILTERS_H
#define COMPSTAT_FILTERS_H

#include <stdint.h>

#include "http.h"

/* Each returns 0, or -1 after replying. mask has n entries (ids >= n are ignored). */
int filter_precincts(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);
int filter_offenses(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);
/* Category names -> the mask of the agency's offenses in those categories. */
int filter_categories(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);

#endif
