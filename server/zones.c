/*
 * zones.c -- see zones.h.
 */
#include "zones.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "app.h"
#include "log.h"
#include "strmap.h"

static strmap *zones; /* name -> tz_zone */

/* A zone name that stays inside the zoneinfo directory. */
static int zone_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > 64 || name[0] == '/' || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

/* Where the zone files are: $TZDIR as glibc reads it, else Debian's (the
   directory PostgreSQL's packages read too). */
static const char *zoneinfo_dir(void)
{
    const char *d = getenv("TZDIR");
    return d && d[0] ? d : "/usr/share/zoneinfo";
}

const tz_zone *zone_get(const char *name)
{
    if (zones == NULL && (zones = strmap_new()) == NULL)
        return NULL;
    tz_zone *z = strmap_get(zones, name);
    if (z)
        return z;
    if (!zone_name_ok(name))
        return NULL;
    if (strcmp(name, "UTC") == 0) {
        z = tz_fixed(0);
    } else {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            return NULL;
        unsigned char buf[65536];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (tz_parse(buf, len, &z) != 0) {
            log_warn("tz", "cannot parse %s", path);
            return NULL;
        }
    }
    if (z == NULL || strmap_put(zones, name, z) != 0) {
        tz_free(z);
        return NULL;
    }
    return z;
}

const tz_zone *zone_of_agency(int agency_id)
{
    const ref_agency *a = ref_agency_by_id(app.ref, agency_id);
    const tz_zone *z = a ? zone_get(a->time_zone) : NULL;
    return z ? z : zone_get("UTC");
}


/* SHA-256 (hex) of the time-zone files of every agency, in id order: the
   grid counts by local day, so new zone rules make a snapshot stale. */
void zones_digest(char out[72])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    out[0] = '\0';
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return;
    }
    for (int id = 1; id < ref_agency_max(app.ref); id++) {
        const ref_agency *a = ref_agency_by_id(app.ref, id);
        if (a == NULL)
            continue;
        char path[4200];
        unsigned char buf[65536];
        size_t len = 0;
        FILE *f = NULL;
        if (zone_name_ok(a->time_zone) &&
            (size_t)snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), a->time_zone) <
                sizeof path &&
            (f = fopen(path, "rb")) != NULL) {
            len = fread(buf, 1, sizeof buf, f);
            fclose(f);
        }
        EVP_DigestUpdate(md, a->time_zone, strlen(a->time_zone) + 1);
        EVP_DigestUpdate(md, buf, len);
    }
    if (EVP_DigestFinal_ex(md, d, &n) == 1)
        for (unsigned i = 0; i < n && i < 32; i++)
            snprintf(out + 2 * i, 3, "%02x", d[i]);
    EVP_MD_CTX_free(md);
}

static void free_zone(const char *key, void *value, void *arg)
{
    tz_free(value);
}

void zones_free(void)
{
    if (zones == NULL)
        return;
    strmap_foreach(zones, free_zone, NULL);
    strmap_free(zones);
    zones = NULL;
}
