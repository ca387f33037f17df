/*
 * filters.h -- the query parameters every route reads, one function per
 * kind, each answering the client itself when the value is wrong.
 *
 * The rule of each kind is lib/params.h's; these read the parameter from
 * the query string (or take its value), and reply 422 naming it (the
 * field) with the message clients have always had. Reference data: comma
 * lists of precinct codes, offense codes and category names are read into
 * a mask indexed by id (mask[id] = 1), within the token's agency; an
 * unknown name is a 422, a precinct outside the token's precincts a 403.
 * Offenses outside the principal's offense scope (what a region reader's
 * agency shares, sharing.h) are unknown: never in a mask, and a code or a
 * category naming only them is a 422.
 *
 * The bbox rule, decided once: a box is west <= east and south <= north
 * (in range, no antimeridian). A zero-width box -- a line or a point -- is
 * valid and selects what lies on it (the incident list). A route that
 * needs an area, such as the hotspots, which cut the box into cells,
 * checks that after parsing, as its own rule, with its own message
 * (FILTER_BBOX_MESSAGE with "below").
 *
 * Unless said otherwise each returns 0, or -1 after replying, and leaves
 * *out untouched when the parameter is absent (the caller's default).
 */
#ifndef COMPSTAT_FILTERS_H
#define COMPSTAT_FILTERS_H

#include <stdint.h>

#include "http.h"
#include "params.h"
#include "tz.h"

/* mask has n entries (ids >= n are ignored). */
int filter_precincts(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);
int filter_offenses(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);
/* Category names -> the mask of the agency's offenses in those categories. */
int filter_categories(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);

/*
 * ICCS codes of the list (GET /v1/classifications/iccs), read as prefixes:
 * the mask of the agency's offenses whose code starts with one of them.
 * An unknown code, or a list without any, is a 422.
 */
int filter_iccs(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);

/*
 * Area codes (lib/areas.h) -> every precinct the areas hold (listed in
 * them or in their descendants), as they are now: a precinct added to an
 * area is in its next answer. An unknown area, or another agency's, is a
 * 422. A token limited to precincts gets the area's precincts within its
 * own (filter_scope), not a 403: an area is a way to name many precincts.
 */
int filter_areas(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n);

/*
 * A region reader's program= (sharing.h): the program's precincts of the
 * agency it reads now. An unknown program is a 422 naming program.
 */
int filter_program(http_req *r, const char *code, uint8_t *mask, int32_t n);

/*
 * The geography of a reading route: precinct= (codes) or area= (codes),
 * or for a region reader program= (filter_program), only one of them (422,
 * field area or program). 1 when one was given (mask set), 0 when
 * neither, -1 after replying. filter_scope comes after, as always.
 */
int filter_geography(http_req *r, uint8_t *mask, int32_t n);

/*
 * filter_geography, then filter_scope: the precincts a reading route may
 * count. 1 when mask restricts the question (a filter was given or the
 * token is limited to precincts), 0 when it asks for every precinct and
 * the unassigned (mask untouched), -1 after replying.
 */
int filter_precinct_mask(http_req *r, uint8_t *mask, int32_t n);

/*
 * by=area's area_level= (required; one of the levels of the agency's areas,
 * else 422 naming area_level): *group[p] is the id of the area precinct p
 * lies in at that level, 0 when none (the unassigned, 0, too), for p < *n
 * (caller frees). 0, or -1 after replying.
 */
int filter_area_level(http_req *r, int32_t **group, int32_t *n);

/*
 * A from/to bound as written (params_time_parse): 1 and *out, 0 when
 * absent, or -1 after replying.
 */
int filter_time(http_req *r, const char *name, params_time *out);

/*
 * A from/to bound as an instant: a date is the start of that day in zone.
 * It must fall on a multiple of `quantum` seconds (what explains it goes in
 * the 422: `why`).
 */
int filter_bound(http_req *r, const char *name, const tz_zone *zone, int64_t quantum,
                 const char *why, int64_t *out);

/*
 * A from/to bound as a whole day (days since 1970-01-01, local): a date,
 * or an instant at local midnight in zone.
 */
int filter_day(http_req *r, const char *name, const tz_zone *zone, int64_t *day);

/*
 * Restrict a precinct mask to the token's precincts: with had_filter the
 * mask keeps only allowed ids, without it the mask becomes the allowed set.
 * A token for every precinct leaves the mask alone.
 */
void filter_scope(const http_req *r, uint8_t *mask, int32_t n, int had_filter);

/*
 * Restrict an offense mask to the offenses the principal may count (a
 * region reader: what its agency shares; filters.c already leaves the
 * others out of any list it reads, where a code outside them is unknown).
 * With had_filter the mask keeps only those, without it the mask becomes
 * them. 1 when the mask now restricts the question, 0 when it does not
 * (had_filter 0 and every offense allowed: mask untouched).
 */
int filter_offense_scope(const http_req *r, uint8_t *mask, int32_t n, int had_filter);

/* The 422's message for a bbox, naming the parameter (%s) and the rule (%s). */
#define FILTER_BBOX_MESSAGE                                                                    \
    "%s must be minlon,minlat,maxlon,maxlat: four finite numbers in WGS84 (longitudes "       \
    "-180..180, latitudes -90..90), minimum %s maximum"

/*
 * A bbox (params_bbox; a zero-width box is valid): 1 and out[4], 0 when
 * absent, or -1 after replying.
 */
int filter_bbox(http_req *r, const char *name, double out[4]);

/* true or false. */
int filter_bool(http_req *r, const char *name, int *out);

/* An integer from lo to hi (params_int). */
int filter_int(http_req *r, const char *name, long lo, long hi, long *out);

/*
 * A positive integer id written canonically: ASCII digits only, no sign,
 * no leading zero, no spaces, at most 18 digits. 1 and *out, or 0.
 */
int filter_id(const char *s, long long *out);

/* A comma list of priorities 0..9 into bits (p + 1); absent: 0. */
int filter_priorities(http_req *r, const char *param, unsigned *bits);

#endif
