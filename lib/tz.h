/*
 * tz.h -- IANA time zones from TZif data (RFC 8536), without I/O.
 *
 * The server reads /usr/share/zoneinfo/<Zone> and hands the bytes here;
 * PostgreSQL on Debian reads the same files (it is built with the system
 * tzdata), so local times computed here agree with SQL's AT TIME ZONE.
 * Instants past the file's last transition follow its POSIX TZ footer
 * ("CST6CDT,M3.2.0,M11.1.0"), as RFC 8536 and PostgreSQL do.
 *
 * Local time is expressed as "local seconds": the seconds since
 * 1970-01-01T00:00 of the wall clock, so civil-date arithmetic (rfc3339.h)
 * applies to it directly.
 *
 * Ownership: tz_parse and tz_fixed allocate; tz_free releases. A zone is
 * never modified after creation, so it may be shared freely.
 */
#ifndef COMPSTAT_TZ_H
#define COMPSTAT_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz_zone tz_zone;

/* Parse TZif data (version 1, 2, 3 or 4). Returns 0, or -1 when malformed. */
int tz_parse(const unsigned char *data, size_t len, tz_zone **out);

/* A zone with a fixed offset (seconds east of UTC), e.g. 0 for UTC. */
tz_zone *tz_fixed(int offset);

void tz_free(tz_zone *z);

/* Offset from UTC (seconds east) in effect at the instant utc. */
int tz_offset(const tz_zone *z, int64_t utc);

/* The wall-clock time at utc, as local seconds. */
int64_t tz_local(const tz_zone *z, int64_t utc);

/*
 * The instant at which the wall clock shows local. When the wall clock
 * skips that time (spring forward) or shows it twice (fall back), the
 * later instant is chosen -- the rule PostgreSQL documents in "Handling of
 * Invalid or Ambiguous Timestamps", so that a local date converts to the
 * same instant here and in SQL.
 */
int64_t tz_utc(const tz_zone *z, int64_t local);

/*
 * The first instant after utc at which the offset may change, or INT64_MAX
 * when it never does. Lets a caller walking instants in order look the
 * offset up once per stretch.
 */
int64_t tz_next_change(const tz_zone *z, int64_t utc);

#endif
