/*
 * app.h -- the daemon's one process-wide state.
 *
 * compstatd is one process around one libevent loop (DESIGN.md "The
 * shape"); what every part shares -- the configuration, the database
 * connections, the reference data, whether it is draining -- hangs off
 * `app`. Only code on the loop thread touches it.
 */
#ifndef COMPSTAT_APP_H
#define COMPSTAT_APP_H

#include <event2/event.h>
#include <event2/http.h>

#include "areas.h"
#include "config.h"
#include "db.h"
#include "refdata.h"

struct ingest;

struct app {
    struct event_base *base;
    struct evhttp *http;
    config cfg;
    ref_data *ref;
    area_tree *areas; /* the agencies' areas (routes_areas.c) */
    db_conn *writer; /* incident and reference writes (group commit) */
    db_conn *reader; /* token look-ups and database reads */
    struct ingest *ingest;
    int ref_loaded;  /* reference data loaded at least once */
    int draining;    /* SIGTERM: finishing in-flight work */
    int64_t started; /* unix seconds */
};

extern struct app app;

#endif
