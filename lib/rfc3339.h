/*
 * rfc3339.h -- RFC 3339 timestamps and civil-date arithmetic.
 *
 * compstatd keeps every instant as seconds since the Unix epoch (UTC) in an
 * int64_t. Clients speak RFC 3339 with an explicit offset ("Z" or +hh:mm);
 * a timestamp without an offset is ambiguous and is refused. Fractional
 * seconds are accepted and truncated: the API counts durations in whole
 * seconds, so instants are kept to the second.
 *
 * Pure functions: no I/O, no global state, no locale, thread-safe.
 */
#ifndef COMPSTAT_RFC3339_H
#define COMPSTAT_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Earliest and latest instants accepted: 1900-01-01 .. 2199-12-31 (UTC). */
#define RFC3339_MIN ((int64_t)-2208988800LL)
#define RFC3339_MAX ((int64_t)7258118399LL)

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12). */
int64_t rfc3339_days_from_civil(int64_t y, int m, int d);

/* Inverse of rfc3339_days_from_civil. */
void rfc3339_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Days in month m (1..12) of year y. */
int rfc3339_days_in_month(int64_t y, int m);

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" (the 'T' may be 't' or
 * a space, 'Z' may be 'z'). The whole string must be consumed. Rejects
 * impossible dates (2026-02-30), hours > 23, minutes > 59, seconds > 60 (a
 * leap second 60 is folded into the next second), offsets beyond +-23:59,
 * and instants outside RFC3339_MIN..RFC3339_MAX.
 * Returns 0 and sets *out, or -1.
 */
int rfc3339_parse(const char *s, int64_t *out);

/*
 * Parse a local calendar date "YYYY-MM-DD" of the years 1900..2199 (those
 * of RFC3339_MIN..RFC3339_MAX). Returns 0 and sets y, m, d, or -1 when the
 * string is not exactly such a valid date.
 */
int rfc3339_parse_date(const char *s, int *y, int *m, int *d);

/* Buffer size that always fits rfc3339_format's output. */
#define RFC3339_BUFSZ 32

/*
 * Format t as RFC 3339 in the given UTC offset (seconds east of UTC, a
 * whole number of minutes). offset 0 prints "Z", otherwise "+hh:mm".
 * Returns buf.
 */
char *rfc3339_format(int64_t t, int offset_s, char buf[RFC3339_BUFSZ]);

/*
 * Like rfc3339_format, for milliseconds since the epoch: the fraction is
 * printed as ".mmm" (always three digits).
 */
char *rfc3339_format_ms(int64_t ms, int offset_s, char buf[RFC3339_BUFSZ]);

#endif
