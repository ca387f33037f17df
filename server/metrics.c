/*
 * metrics.c -- see metrics.h.
 */
#include "metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "ingest.h"
#include "stream.h"

static const double lat_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                    5,      10};
#define NLAT (sizeof lat_bounds / sizeof lat_bounds[0])
static const double batch_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
#define NBATCH (sizeof batch_bounds / sizeof batch_bounds[0])

struct hist {
    uint64_t bucket[NLAT + 1]; /* last: +Inf; large enough for NBATCH too */
    uint64_t count;
    double sum;
};

static void hist_add(struct hist *h, const double *bounds, size_t n, double v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}

static void hist_render(sbuf *out, const char *name, const char *labels, const struct hist *h,
                        const double *bounds, size_t n)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (size_t i = 0; i < n; i++) {
        cum += h->bucket[i];
        sbuf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
                    (unsigned long long)cum);
    }
    cum += h->bucket[n];
    sbuf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                (unsigned long long)cum);
    if (labels[0])
        sbuf_printf(out, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, h->sum, name,
                    labels, (unsigned long long)h->count);
    else
        sbuf_printf(out, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
                    (unsigned long long)h->count);
}

#define MAX_STATUS 600

static int nroutes;
static const char *const *names;
static uint64_t (*status_count)[MAX_STATUS]; /* [route + 1][status] */
static struct hist *latency;                 /* [route + 1] */
static struct hist batch_sizes, commit_latency;
static uint64_t commits_ok, commits_failed, incidents_committed;

void metrics_init(int n, const char *const *route_names)
{
    nroutes = n;
    names = route_names;
    status_count = calloc((size_t)n + 1, sizeof *status_count);
    latency = calloc((size_t)n + 1, sizeof *latency);
    if (status_count == NULL || latency == NULL)
        abort(); /* start-up only: nothing to serve without them */
}

void metrics_request(int route, int status, double seconds)
{
    int i = route + 1;
    if (i < 0 || i > nroutes || status < 0 || status >= MAX_STATUS)
        return;
    status_count[i][status]++;
    hist_add(&latency[i], lat_bounds, NLAT, seconds);
}

void metrics_commit(size_t n, double seconds, int ok)
{
    if (ok) {
        commits_ok++;
        incidents_committed += n;
    } else {
        commits_failed++;
    }
    hist_add(&batch_sizes, batch_bounds, NBATCH, (double)n);
    hist_add(&commit_latency, lat_bounds, NLAT, seconds);
}

static const char *route_name(int i)
{
    return i == 0 ? "unmatched" : names[i - 1];
}

void metrics_render(sbuf *out)
{
    char labels[160];
    sbuf_puts(out, "# HELP compstatd_http_requests_total HTTP requests answered, by route "
                   "and status.\n# TYPE compstatd_http_requests_total counter\n");
    for (int i = 0; i <= nroutes; i++)
        for (int s = 0; s < MAX_STATUS; s++)
            if (status_count[i][s])
                sbuf_printf(out, "compstatd_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                            route_name(i), s, (unsigned long long)status_count[i][s]);
    sbuf_puts(out, "# HELP compstatd_http_request_duration_seconds Time from request "
                   "received to reply sent.\n"
                   "# TYPE compstatd_http_request_duration_seconds histogram\n");
    for (int i = 0; i <= nroutes; i++) {
        if (latency[i].count == 0)
            continue;
        snprintf(labels, sizeof labels, "route=\"%s\"", route_name(i));
        hist_render(out, "compstatd_http_request_duration_seconds", labels, &latency[i],
                    lat_bounds, NLAT);
    }
    sbuf_printf(out,
                "# HELP compstatd_commits_total Group commits, by outcome.\n"
                "# TYPE compstatd_commits_total counter\n"
                "compstatd_commits_total{outcome=\"ok\"} %llu\n"
                "compstatd_commits_total{outcome=\"failed\"} %llu\n"
                "# HELP compstatd_incidents_committed_total Incident writes committed.\n"
                "# TYPE compstatd_incidents_committed_total counter\n"
                "compstatd_incidents_committed_total %llu\n",
                (unsigned long long)commits_ok, (unsigned long long)commits_failed,
                (unsigned long long)incidents_committed);
    sbuf_puts(out, "# HELP compstatd_commit_batch_size Incidents per group commit.\n"
                   "# TYPE compstatd_commit_batch_size histogram\n");
    hist_render(out, "compstatd_commit_batch_size", "", &batch_sizes, batch_bounds, NBATCH);
    sbuf_puts(out, "# HELP compstatd_commit_duration_seconds Group commit round trip.\n"
                   "# TYPE compstatd_commit_duration_seconds histogram\n");
    hist_render(out, "compstatd_commit_duration_seconds", "", &commit_latency, lat_bounds, NLAT);
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
