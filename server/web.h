/*
 * web.h -- the dashboard: static files compiled into the daemon.
 *
 * cmake/embed.cmake turns server/web/MANIFEST into web_assets[] at build
 * time, so a bare compstatd binary serves its own dashboard at /, offline
 * (Leaflet included, from Debian's libjs-leaflet, with its licence at
 * /vendor/leaflet/LICENSE). The page then talks to the API with the token
 * its user signs in with; the files themselves need no token.
 */
#ifndef COMPSTAT_WEB_H
#define COMPSTAT_WEB_H

#include <stddef.h>

#include "http.h"

typedef struct web_asset {
    const char *path; /* URL path, "/" for the page */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} web_asset;

extern const web_asset web_assets[];
extern const int web_nassets;

/* The asset served at path, or NULL. */
const web_asset *web_find(const char *path);

/* Serve the asset at r's path (the router found it with web_find). */
void h_web_asset(http_req *r);
/* GET /dashboard/config.json: the map's tile URL and attribution (settings). */
void h_web_config(http_req *r);

#endif
