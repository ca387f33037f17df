/*
 * routes.h -- the route handlers (routes_*.c), for the route table
 * (router.c) and main.c.
 *
 * Each handler replies exactly once (http.h). Which route a request takes,
 * who may call it, whether it may answer while the cubes load, its audit
 * action and its metric name are the route table's (router.c), one row a
 * route.
 */
#ifndef COMPSTAT_ROUTES_H
#define COMPSTAT_ROUTES_H

#include "db.h"
#include "http.h"

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
void h_areas_get(http_req *r);
void h_area_get(http_req *r);
void h_area_put(http_req *r);
void h_iccs_get(http_req *r);

/* routes_sessions.c: people signing in and out, passwords, the second factor */
void h_session_create(http_req *r);
void h_session_delete(http_req *r);
void h_password_set(http_req *r);
void h_mfa_begin(http_req *r);
void h_mfa_confirm(http_req *r);

/* routes_admin.c: an agency's people, tokens and categories' names (the admin page) */
void h_users_get(http_req *r);
void h_user_create(http_req *r);
void h_user_change(http_req *r);
void h_tokens_get(http_req *r);
void h_token_revoke(http_req *r);
void h_categories_get(http_req *r);
void h_category_put(http_req *r);

/* routes_sharing.c: regions, sharing agreements, programs, the audit trail */
void h_sharing_list(http_req *r);
void h_sharing_get(http_req *r);
void h_sharing_put(http_req *r);
void h_sharing_delete(http_req *r);
void h_programs_get(http_req *r);
void h_program_put(http_req *r);
void h_audit_get(http_req *r);

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

/* Load (or reload) the areas and the precincts they list into app.areas;
   queue before refdata_reload, whose completion marks the reference data loaded. */
void areas_reload(db_conn *db);
/* Free a load of the areas still under way (at exit). */
void areas_free_all(void);

#endif
