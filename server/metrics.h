/*
 * metrics.h -- counters and histograms served at /metrics.
 *
 * Prometheus text exposition (version 0.0.4). Counters and histograms are
 * recorded here as events happen; gauges (queue depths, connection state)
 * are read from their owners when /metrics is rendered.
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
/* Write the exposition into out. */
void metrics_render(sbuf *out);

#endif
