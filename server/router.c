/*
 * router.c -- see router.h.
 */
#include "router.h"

#include <stddef.h>

#include "analytics.h"
#include "app.h"
#include "auth.h"
#include "hr.h"
#include "http.h"
#include "routes.h"
#include "sharing.h"
#include "stream.h"
#include "web.h"

#define GET EVHTTP_REQ_GET
#define PUT EVHTTP_REQ_PUT
#define POST EVHTTP_REQ_POST
#define PATCH EVHTTP_REQ_PATCH
#define DELETE EVHTTP_REQ_DELETE
#define NOTHING HTTP_NEED_NOTHING
#define COUNTS HTTP_NEED_COUNTS
#define ALL HTTP_NEED_ALL
/* Open to region readers (sharing.h): with agency=, across the region's
   agencies, or as incident rows (only from agencies sharing incidents). The
   stream is not: its events are rendered once for every reader of the
   agency, exact. */
#define AN ROLE_ANALYST
#define AN_ACROSS (ROLE_ANALYST | ROUTE_ACROSS)
#define AN_ROWS (ROLE_ANALYST | ROUTE_ROWS)
/* Whoever signed in, also before enrolling a second factor the agency requires. */
#define PERSON (ROLE_ANY | AN_ACROSS | ROUTE_ENROL)

/*
 * While the cubes load, reads that need only the counts (the cube,
 * COMPSTAT, hotspots, incidents, reference data, streams, the HR tables)
 * answer as soon as the count cube is in; writes, response times and the
 * unit board wait for all of it (a write moves every cube: it must not
 * run before they are all in).
 */
static const http_route routes[] = {
    /* method, pattern, roles, needs, handler, metric name, audit action */
    /* The dashboard: "" matches "/" alone; its other files are found by
       web_fallback when no route matches, and counted as this route. Keep
       it first. */
    {GET, "", 0, NOTHING, h_web_asset, "web", NULL},
    {GET, "/dashboard/config.json", 0, NOTHING, h_web_config, "web_config", NULL},
    {GET, "/healthz", 0, NOTHING, h_healthz, "healthz", NULL},
    {GET, "/v1/whoami", ROLE_ANY | AN_ACROSS | ROUTE_ENROL, COUNTS, h_whoami, "whoami", NULL},
    /* People: sign-in and a set-password link need no principal (they make
       one); the rest are a session's own. */
    {POST, "/v1/sessions", 0, NOTHING, h_session_create, "session_create", NULL},
    {DELETE, "/v1/sessions/current", PERSON, NOTHING, h_session_delete, "session_delete", NULL},
    {POST, "/v1/sessions/current/mfa", PERSON, NOTHING, h_mfa_begin, "mfa_begin", NULL},
    {POST, "/v1/sessions/current/mfa/confirm", PERSON, NOTHING, h_mfa_confirm, "mfa_confirm",
     NULL},
    {POST, "/v1/password", 0, NOTHING, h_password_set, "password_set", NULL},
    {GET, "/readyz", 0, NOTHING, h_readyz, "readyz", NULL},
    {GET, "/metrics", 0, NOTHING, h_metrics, "metrics", NULL},
    {GET, "/v1/agencies/*", ROLE_ANY | AN_ACROSS, COUNTS, h_agency_get, "agency_get", NULL},
    {PUT, "/v1/agencies/*", ROLE_ADMIN, ALL, h_agency_put, "agency_put", NULL},
    {GET, "/v1/precincts", ROLE_ANY | AN, COUNTS, h_precincts_get, "precincts_get", NULL},
    {PUT, "/v1/precincts/*", ROLE_ADMIN, ALL, h_precinct_put, "precinct_put", NULL},
    {GET, "/v1/offenses", ROLE_ANY | AN, COUNTS, h_offenses_get, "offenses_get", NULL},
    {PUT, "/v1/offenses/*", ROLE_ADMIN, ALL, h_offense_put, "offense_put", NULL},
    {GET, "/v1/areas", ROLE_ANY | AN, COUNTS, h_areas_get, "areas_get", NULL},
    {GET, "/v1/areas/*", ROLE_ANY | AN, COUNTS, h_area_get, "area_get", NULL},
    {PUT, "/v1/areas/*", ROLE_ADMIN, ALL, h_area_put, "area_put", NULL},
    {GET, "/v1/categories", ROLE_ANY | AN, COUNTS, h_categories_get, "categories_get", NULL},
    {PUT, "/v1/categories/*", ROLE_ADMIN, COUNTS, h_category_put, "category_put", NULL},
    {GET, "/v1/users", ROLE_ADMIN, NOTHING, h_users_get, "users_get", NULL},
    {POST, "/v1/users", ROLE_ADMIN, NOTHING, h_user_create, "user_create", NULL},
    {POST, "/v1/users/*/*", ROLE_ADMIN, NOTHING, h_user_change, "user_change", NULL},
    {GET, "/v1/tokens", ROLE_ADMIN, NOTHING, h_tokens_get, "tokens_get", NULL},
    {DELETE, "/v1/tokens/*", ROLE_ADMIN, NOTHING, h_token_revoke, "token_revoke", NULL},
    {GET, "/v1/sharing", ROLE_ADMIN, COUNTS, h_sharing_list, "sharing_list", NULL},
    {GET, "/v1/sharing/*", ROLE_ADMIN, COUNTS, h_sharing_get, "sharing_get", NULL},
    {PUT, "/v1/sharing/*", ROLE_ADMIN, COUNTS, h_sharing_put, "sharing_put", NULL},
    {DELETE, "/v1/sharing/*", ROLE_ADMIN, COUNTS, h_sharing_delete, "sharing_delete", NULL},
    {GET, "/v1/programs", ROLE_ANY | AN_ACROSS, COUNTS, h_programs_get, "programs_get", NULL},
    {PUT, "/v1/programs/*", ROLE_ADMIN, COUNTS, h_program_put, "program_put", NULL},
    {GET, "/v1/audit", ROLE_ADMIN, COUNTS, h_audit_get, "audit_get", NULL},
    {GET, "/v1/classifications/iccs", ROLE_ANY | AN_ACROSS, COUNTS, h_iccs_get, "iccs_get", NULL},
    {POST, "/v1/incidents", ROLE_DISPATCH | ROLE_ADMIN, ALL, h_incidents_post, "incidents_post",
     NULL},
    {GET, "/v1/incidents", ROLE_READ | AN_ROWS, COUNTS, h_incidents_list, "incidents_list",
     "incident.list"},
    {GET, "/v1/incidents/*", ROLE_READ | AN_ROWS, COUNTS, h_incident_get, "incident_get", "incident.read"},
    {GET, "/v1/cube", ROLE_READ | AN_ACROSS, COUNTS, h_cube, "cube", "cube.read"},
    {GET, "/v1/compstat", ROLE_READ | AN, COUNTS, h_compstat, "compstat", "compstat.read"},
    {GET, "/v1/hotspots", ROLE_READ | AN, COUNTS, h_hotspots, "hotspots", "hotspots.read"},
    {PATCH, "/v1/incidents/*/*", ROLE_DISPATCH | ROLE_ADMIN, ALL, h_incident_patch,
     "incident_patch", NULL},
    {GET, "/v1/stream", ROLE_READ, COUNTS, h_stream, "stream", "stream.open"},
    {GET, "/v1/response-times", ROLE_READ | AN, ALL, h_response_times, "response_times",
     "response_times.read"},
    {GET, "/v1/reports/workload", ROLE_READ, ALL, h_workload, "workload", "workload.read"},
    {GET, "/v1/units", ROLE_READ, ALL, h_units_get, "units_get", "units.read"},
    {GET, "/v1/units/*", ROLE_READ, ALL, h_unit_get, "unit_get", "units.read"},
    {PUT, "/v1/units/*", ROLE_HR, ALL, h_unit_put, "unit_put", "unit.write"},
    {PUT, "/v1/units/*/status", ROLE_DISPATCH | ROLE_HR, ALL, h_unit_status_put,
     "unit_status_put", "unit_status.write"},
    {GET, "/v1/officers", ROLE_HR, COUNTS, h_officers_get, "officers_get", "officers.read"},
    {PUT, "/v1/officers/*", ROLE_HR, ALL, h_officer_put, "officer_put", "officer.write"},
    {GET, "/v1/shifts", ROLE_READ, COUNTS, h_shifts_get, "shifts_get", NULL},
    {PUT, "/v1/shifts/*", ROLE_HR, ALL, h_shift_put, "shift_put", NULL},
    {GET, "/v1/shifts/*/roster/*", ROLE_HR, COUNTS, h_roster_get, "roster_get", "roster.read"},
    {PUT, "/v1/shifts/*/roster/*", ROLE_HR, ALL, h_roster_put, "roster_put", "roster.write"},
};

/* Every route with roles needs the reference data and the HR tables first. */
static int ready(enum http_need need)
{
    if (need == HTTP_NEED_NOTHING)
        return 1;
    if (!app.ref_loaded || !hr_ready())
        return 0;
    return analytics_ready() || (need == HTTP_NEED_COUNTS && analytics_counts_ready());
}

static void (*web_fallback(const char *path))(http_req *r)
{
    return web_find(path) ? h_web_asset : NULL;
}

static const http_hooks hooks = {
    .ready = ready,
    .authenticate = auth_check,
    .fallback = web_fallback,
    .release = auth_release,
    .audit_who = auth_audit_who,
};

void router_setup(struct evhttp *http)
{
    http_setup(http, routes, (int)(sizeof routes / sizeof routes[0]), &hooks);
}
