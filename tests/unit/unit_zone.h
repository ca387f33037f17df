/*
 * unit_zone.h -- helpers shared by the unit tests that need real time
 * zones: read one from /usr/share/zoneinfo (Debian's tzdata; the library
 * does no I/O, so the test reads the bytes and calls tz_parse), and floor
 * division for the brute-force models. Include after unit.h.
 */
#ifndef COMPSTAT_UNIT_ZONE_H
#define COMPSTAT_UNIT_ZONE_H

#include <stdint.h>
#include <stdio.h>

#include "tz.h"

/* The zone, or NULL after counting a failure. */
static tz_zone *load_zone(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s:%d: cannot read %s\n", __FILE__, __LINE__, path);
        unit_failures_++;
        return NULL;
    }
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    tz_zone *z = NULL;
    if (tz_parse(buf, n, &z) != 0) {
        fprintf(stderr, "%s:%d: tz_parse(%s) failed\n", __FILE__, __LINE__, name);
        unit_failures_++;
        return NULL;
    }
    return z;
}

/* a / b rounded towards minus infinity. */
static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

#endif
