/*
 * app.h -- the daemon's one process-wide state, and the route handlers.
 *
 * compstatd is one process around one libevent loop (DESIGN.md "The
 * shape"); everything the handlers share hangs off `app`. Only code on the
 * loop thread touches it.
 */
#ifndef COMPSTAT_APP_H
#define COMPSTAT_APP_H

#include <event2/event.h>
#include <event2/http.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "refdata.h"

struct ingest;

struct app {
    struct event_base *base;
    struct evhttp *http;
    config cfg;
    ref_data *ref;
    db_conn *writer; /* incident and reference writes (group commit) */
    db_conn *reader; /* token look-ups and database reads */
    struct ingest *ingest;
    int ref_loaded;  /* reference data loaded at least once */
    int draining;    /* SIGTERM: finishing in-flight work */
    int64_t started; /* unix seconds */
};

extern struct app app;

/* Route handlers (routes_*.c). Each replies exactly once. */
void h_healthz(http_req *r);
void h_readyz(http_req *r);
void h_metrics(http_req *r);

void h_whoami(http_req *r);
void h_agency_get(http_req *r);
void h_agency_put(http_req *r);
void h_precincts_get(http_req *r);
void h_precinct_put(http_req *r);
void h_offenses_get(http_req *r);
void h_offense_put(http_req *r);

void h_incidents_post(http_req *r);
void h_incident_patch(http_req *r);
void h_incident_get(http_req *r);
void h_incidents_list(http_req *r);

void h_cube(http_req *r);
void h_compstat(http_req *r);
void h_hotspots(http_req *r);
void h_response_times(http_req *r);
void h_workload(http_req *r);

void h_units_get(http_req *r);
void h_unit_get(http_req *r);
void h_unit_put(http_req *r);
void h_unit_status_put(http_req *r);
void h_officers_get(http_req *r);
void h_officer_put(http_req *r);
void h_shifts_get(http_req *r);
void h_shift_put(http_req *r);
void h_roster_get(http_req *r);
void h_roster_put(http_req *r);

/* Free the hotspot study-area cache (at exit). */
void hotspots_free(void);

/* Load (or reload) agencies, precincts and offenses from the database. */
void refdata_reload(db_conn *db);

/* 503 with Retry-After, the answer whenever the database is needed but down. */
void reply_db_down(http_req *r);

#endif
