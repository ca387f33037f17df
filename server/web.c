/*
 * web.c -- see web.h.
 */
#include "web.h"

#include <string.h>

#include <event2/http.h>

#include "app.h"

const web_asset *web_find(const char *path)
{
    for (int i = 0; i < web_nassets; i++)
        if (strcmp(web_assets[i].path, path) == 0)
            return &web_assets[i];
    return NULL;
}

void h_web_asset(http_req *r)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const web_asset *a = web_find(path && *path ? path : "/");
    if (a == NULL) {
        http_reply_error(r, 404, "not_found", NULL, "no such file");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    if (strncmp(a->content_type, "text/html", 9) == 0) {
        /* Scripts and data from here only; map tiles (images) from anywhere
           the operator configures; no framing. */
        evhttp_add_header(h, "Content-Security-Policy",
                          "default-src 'self'; script-src 'self'; connect-src 'self'; "
                          "img-src 'self' data: https: http:; style-src 'self' "
                          "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
        evhttp_add_header(h, "X-Frame-Options", "DENY");
    }
    http_reply_raw(r, 200, a->content_type, (const char *)a->data, a->len);
}

void h_web_config(http_req *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tile_url", app.cfg.web_tile_url);
    cJSON_AddStringToObject(o, "tile_attribution", app.cfg.web_tile_attribution);
    http_reply_json(r, 200, o);
}
