/*
 * zones.h -- the agencies' time zones, read from the zoneinfo files.
 *
 * A zone is read from $TZDIR (else /usr/share/zoneinfo) once and cached
 * until zones_free: reading it parses a file, so the cache is what lets
 * every request ask. Loop thread only.
 */
#ifndef COMPSTAT_ZONES_H
#define COMPSTAT_ZONES_H

#include "tz.h"

/* The zone of an IANA name; NULL when the name is not a zone there. */
const tz_zone *zone_get(const char *name);

/* The zone of an agency (UTC when its zone cannot be read). */
const tz_zone *zone_of_agency(int agency_id);

/*
 * SHA-256 (hex, NUL-terminated; empty when it cannot be computed) of the
 * zone names and files of every agency, in id order: what a snapshot of
 * counts by local day was made with (new zone rules make it stale). Reads
 * the files afresh, not the cache.
 */
void zones_digest(char out[72]);

/* Free the cache (at exit). */
void zones_free(void);

#endif
