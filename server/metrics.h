/*
 * metrics.h -- the request and commit counters and histograms served at
 * /metrics.
 *
 * Prometheus text exposition (version 0.0.4). Counters and histograms are
 * recorded here as events happen. This module knows no other: the gauges
 * (queue depths, connection state, the cubes) and each module's own
 * counters are rendered by /metrics (routes_ops.c) from their owners'
 * accessors.
 */
#ifndef COMPSTAT_METRICS_H
#define COMPSTAT_METRICS_H

#include <stddef.h>

#include "sbuf.h"

/* route_names[i] labels route i; the table must outlive the process. */
void metrics_init(int nroutes, const char *const *route_names);
/* route -1: no route matched. */
void metrics_request(int route, int status, double seconds);
/* One group commit of n incidents, ok or failed, taking seconds. */
void metrics_commit(size_t n, double seconds, int ok);
/* Append the exposition of these counters to out. */
void metrics_render(sbuf *out);

#endif
