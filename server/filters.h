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
#include "tz.h"

/* Each returns 0, or -1 after replying. mask has n entries (ids >= n are ignored). */
int filter_precincts(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);
int filter_offenses(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);
/* Category names -> the mask of the agency's offenses in those categories. */
int filter_categories(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);

/*
 * A from/to bound: RFC 3339 or a local date YYYY-MM-DD (the start of that
 * day in zone), which must fall on a multiple of `quantum` seconds (what
 * explains it goes in the 422: `why`). Absent: *out untouched. 0, or -1
 * after replying.
 */
int filter_bound(http_req *r, const char *name, const tz_zone *zone, int64_t quantum,
                 const char *why, int64_t *out);

/*
 * Restrict a precinct mask to the token's precincts: with had_filter the
 * mask keeps only allowed ids, without it the mask becomes the allowed set.
 * A token for every precinct leaves the mask alone.
 */
void filter_scope(const http_req *r, uint8_t *mask, int32_t n, int had_filter);

/*
 * A bbox "minlon,minlat,maxlon,maxlat": four finite decimal numbers in
 * WGS84 range with min <= max (min < max unless zero_width_ok). 0, or -1
 * after replying 422 naming param. (strtod alone would take "nan", "inf"
 * and hex floats, and NaN passes every range comparison.)
 */
int filter_bbox(http_req *r, const char *param, const char *v, int zero_width_ok,
                double out[4]);

/*
 * A positive integer id written canonically: ASCII digits only, no sign,
 * no leading zero, no spaces, at most 18 digits. 1 and *out, or 0.
 */
int filter_id(const char *s, long long *out);

/* A comma list of priorities 0..9 into bits (p + 1). 0, or -1 after replying. */
int filter_priorities(http_req *r, const char *param, unsigned *bits);

#endif
