/*
 * routes_ops.c -- /healthz, /readyz, /metrics (API.md "Operations").
 * No token needed: bind them to a private interface in production.
 */
#include "analytics.h"
#include "app.h"
#include "audit.h"
#include "hr.h"
#include "metrics.h"
#include "routes.h"
#include "sbuf.h"

void h_healthz(http_req *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    http_reply_json(r, 200, o);
}

void h_readyz(http_req *r)
{
    /* With audit_sync on, reads of incident data wait for the audit
       connection: while it is down they are 503, so the daemon is not ready. */
    const db_conn *audit = audit_conn();
    int db = db_is_up(app.writer) && db_is_up(app.reader) &&
             (!app.cfg.audit_sync || audit == NULL || db_is_up(audit));
    int ready = db && app.ref_loaded && hr_ready() && analytics_ready() && !app.draining;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", ready ? "ready" : "not_ready");
    cJSON_AddBoolToObject(o, "database", db);
    cJSON_AddBoolToObject(o, "reference_data_loaded", app.ref_loaded);
    cJSON_AddBoolToObject(o, "cube_loaded", analytics_ready());
    cJSON_AddBoolToObject(o, "counts_loaded", analytics_counts_ready());
    cJSON_AddStringToObject(o, "load_state", analytics_load_state());
    if (analytics_loaded_from())
        cJSON_AddStringToObject(o, "loaded_from", analytics_loaded_from());
    else
        cJSON_AddNullToObject(o, "loaded_from");
    cJSON_AddBoolToObject(o, "draining", app.draining);
    http_reply_json(r, ready ? 200 : 503, o);
}

void h_metrics(http_req *r)
{
    sbuf b;
    sbuf_init(&b);
    metrics_render(&b);
    if (sbuf_failed(&b))
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    else
        http_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", sbuf_str(&b), b.len);
    sbuf_free(&b);
}
