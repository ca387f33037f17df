/*
 * routes_ops.c -- /healthz, /readyz, /metrics (API.md "Operations").
 * No token needed: bind them to a private interface in production.
 */
#include "analytics.h"
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "hr.h"
#include "http.h"
#include "ingest.h"
#include "metrics.h"
#include "routes.h"
#include "sbuf.h"
#include "stream.h"

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

/* The gauges, read from their owners, and each module's own counters. */
static void render_gauges(sbuf *out)
{
    sbuf_printf(out,
                "# HELP compstatd_ingest_queue_depth Incidents waiting for a group commit.\n"
                "# TYPE compstatd_ingest_queue_depth gauge\n"
                "compstatd_ingest_queue_depth %zu\n"
                "# HELP compstatd_db_up 1 when the database connection is open.\n"
                "# TYPE compstatd_db_up gauge\n"
                "compstatd_db_up{conn=\"writer\"} %d\n"
                "compstatd_db_up{conn=\"reader\"} %d\n"
                "compstatd_db_up{conn=\"audit\"} %d\n"
                "# HELP compstatd_db_queue_depth Statements queued or in flight.\n"
                "# TYPE compstatd_db_queue_depth gauge\n"
                "compstatd_db_queue_depth{conn=\"writer\"} %zu\n"
                "compstatd_db_queue_depth{conn=\"reader\"} %zu\n"
                "compstatd_db_queue_depth{conn=\"audit\"} %zu\n"
                "# HELP compstatd_http_inflight Requests received and not yet answered.\n"
                "# TYPE compstatd_http_inflight gauge\n"
                "compstatd_http_inflight %ld\n"
                "# HELP compstatd_start_time_seconds Unix time the daemon started.\n"
                "# TYPE compstatd_start_time_seconds gauge\n"
                "compstatd_start_time_seconds %lld\n",
                ingest_depth(app.ingest), db_is_up(app.writer), db_is_up(app.reader),
                audit_conn() ? db_is_up(audit_conn()) : 0, db_depth(app.writer),
                db_depth(app.reader), audit_conn() ? db_depth(audit_conn()) : (size_t)0,
                http_inflight(),
                (long long)app.started);
    const cube *c = analytics_cube();
    const rt_cube *rt = analytics_rt();
    sbuf_printf(out,
                "# HELP compstatd_cube_loaded 1 when the cubes are loaded and current.\n"
                "# TYPE compstatd_cube_loaded gauge\n"
                "compstatd_cube_loaded %d\n"
                "# HELP compstatd_cube_incidents Incidents counted in the cube.\n"
                "# TYPE compstatd_cube_incidents gauge\n"
                "compstatd_cube_incidents %llu\n"
                "# HELP compstatd_cube_cells Time cells held by the cube.\n"
                "# TYPE compstatd_cube_cells gauge\n"
                "compstatd_cube_cells %zu\n"
                "# HELP compstatd_cube_bytes Memory held by the cube (approximate).\n"
                "# TYPE compstatd_cube_bytes gauge\n"
                "compstatd_cube_bytes{cube=\"counts\"} %zu\n"
                "compstatd_cube_bytes{cube=\"response_times\"} %zu\n"
                "# HELP compstatd_response_time_facts Incidents held by the response-time cube.\n"
                "# TYPE compstatd_response_time_facts gauge\n"
                "compstatd_response_time_facts %zu\n",
                analytics_ready(), c ? (unsigned long long)cube_total(c) : 0ULL,
                c ? cube_cells(c) : (size_t)0, c ? cube_bytes(c) : (size_t)0,
                rt ? rt_bytes(rt) : (size_t)0, rt ? rt_facts(rt) : (size_t)0);
    if (analytics_loaded_from())
        sbuf_printf(out,
                    "# HELP compstatd_cube_load_seconds The last load of the cubes, start to "
                    "ready, by where they came from (snapshot or database).\n"
                    "# TYPE compstatd_cube_load_seconds gauge\n"
                    "compstatd_cube_load_seconds{source=\"%s\"} %.3f\n",
                    analytics_loaded_from(), analytics_load_seconds());
    sbuf_printf(out,
                "# HELP compstatd_streams Open live streams (GET /v1/stream).\n"
                "# TYPE compstatd_streams gauge\n"
                "compstatd_streams %zu\n"
                "# HELP compstatd_stream_events_total Events published to live streams.\n"
                "# TYPE compstatd_stream_events_total counter\n"
                "compstatd_stream_events_total %llu\n"
                "# HELP compstatd_stream_dropped_total Streams dropped for falling too far "
                "behind.\n"
                "# TYPE compstatd_stream_dropped_total counter\n"
                "compstatd_stream_dropped_total %llu\n"
                "# HELP compstatd_stream_bytes Bytes held for live streams: queued for "
                "clients, and the backlog kept for resuming.\n"
                "# TYPE compstatd_stream_bytes gauge\n"
                "compstatd_stream_bytes{held=\"queued\"} %zu\n"
                "compstatd_stream_bytes{held=\"backlog\"} %zu\n",
                stream_count(), (unsigned long long)stream_events(),
                (unsigned long long)stream_dropped(), stream_buffered(),
                stream_backlog_bytes());
    sbuf_printf(out,
                "# HELP compstatd_stream_ended_total Streams the server ended: their token "
                "was revoked, or another agency took its fair share of the slots.\n"
                "# TYPE compstatd_stream_ended_total counter\n"
                "compstatd_stream_ended_total{why=\"revoked\"} %llu\n"
                "compstatd_stream_ended_total{why=\"fair_share\"} %llu\n",
                (unsigned long long)stream_revoked(), (unsigned long long)stream_evicted());
    http_metrics(out);
    auth_metrics(out);
    audit_metrics(out);
}

void h_metrics(http_req *r)
{
    sbuf b;
    sbuf_init(&b);
    metrics_render(&b);
    render_gauges(&b);
    if (sbuf_failed(&b))
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    else
        http_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", sbuf_str(&b), b.len);
    sbuf_free(&b);
}
