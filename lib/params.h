/*
 * params.h -- the pure reading of query parameters, one function per kind.
 *
 * Each route's parameters are of a few kinds: a time bound, a bbox, a
 * bool, a bounded integer, a comma list, a list of priorities. The rule of
 * each kind lives here once; server/filters.h wraps each in a function that
 * replies 422 naming the parameter. These only say yes or no: 0 and the
 * value, or -1 and nothing written (the message is the caller's, which
 * knows the parameter and the route).
 *
 * Pure: no I/O, no global state, thread-safe.
 */
#ifndef COMPSTAT_PARAMS_H
#define COMPSTAT_PARAMS_H

#include <stddef.h>
#include <stdint.h>

/* A from/to bound as written: an instant, or a local calendar date. */
typedef struct params_time {
    int is_date;
    int64_t t;   /* is_date == 0: the instant (lib/rfc3339.h's range) */
    int64_t day; /* is_date: days since 1970-01-01 of the date */
    int y, m, d; /* is_date: the date */
} params_time;

/*
 * An RFC 3339 time with offset, or a date YYYY-MM-DD (lib/rfc3339.h: years
 * 1900 to 2199 either way). Which zone a date's midnight is in is the
 * caller's. 0, or -1.
 */
int params_time_parse(const char *v, params_time *out);

/*
 * A bbox "west,south,east,north" (minlon,minlat,maxlon,maxlat): exactly
 * four plain decimals (digits, '.', sign, exponent; no spaces, no "nan",
 * "inf" or hex, which strtod alone would take), finite, longitudes in
 * -180..180 and latitudes in -90..90, with west <= east and south <= north.
 * A zero-width box (west == east or south == north) is a line or a point
 * and is a box: it selects what lies on it. A route that needs an area
 * checks that itself. No box crosses the antimeridian (west > east is
 * refused). 0 and out[4], or -1.
 */
int params_bbox(const char *v, double out[4]);

/* "true" or "false", exactly: 0 and *out (1 or 0), or -1. */
int params_bool(const char *v, int *out);

/*
 * A decimal integer from lo to hi, as strtol reads it: leading whitespace
 * and a sign allowed, at least one digit, nothing after the digits. 0 and
 * *out, or -1.
 */
int params_int(const char *v, long lo, long hi, long *out);

/*
 * The next item of a comma list s, from *at (0 to begin): empty items are
 * skipped (",a,,b," holds a and b), nothing is trimmed. The item is
 * terminated in place (its comma becomes NUL) and *at moves past it.
 * The item, or NULL at the end of the list.
 */
char *params_list_next(char *s, size_t *at);

/*
 * A comma list of priorities, each one digit 0..9 ("1,2"; no empty item,
 * no spaces): bit (p + 1) set in *bits for each p (the empty set is 0).
 * 0, or -1.
 */
int params_priorities(const char *v, unsigned *bits);

#endif
