/*
 * metrics.c -- see metrics.h.
 */
#include "metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
}
