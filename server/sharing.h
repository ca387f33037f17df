/*
 * sharing.h -- what agencies share with a region, applied to the requests
 * of the region's readers.
 *
 * A region reader is a token of a region (role analyst, no agency). Each
 * agency's admin decides what it shares with a region (PUT
 * /v1/sharing/{region}, routes_sharing.c): a level -- counts, or incident
 * rows too -- the offenses (ICCS prefixes, or the agency's categories, or
 * all), a location precision in metres and whether rows keep their
 * address. The token's look-up (auth.c) reads the agreements and programs
 * of its region with the token; a change through the API moves auth's
 * sharing generation before it is answered, so a revoked or narrowed
 * agreement holds from the reader's very next request (other daemons: on
 * the compstat_sharing notification; a change by hand in SQL: within the
 * token cache's 60 s). A region reader whose answer must be looked up again
 * while the database is down gets 503.
 *
 * A request of a region reader reads one agency at a time: agency=CODE
 * names it (sharing_admit), or a route open across the region (ROUTE_ACROSS)
 * enters each sharing agency in turn (sharing_enter). In an agency, the
 * principal's agency_id is that agency, its precincts are all of them,
 * and its offense scope is the shared offenses: the filters
 * (filters.h) never see another, and a code outside them is unknown.
 * What it may not see:
 *  - agencies that share nothing with the region (403 naming agency);
 *  - incident rows from an agency sharing counts (routes marked ROUTE_ROWS:
 *    403 naming agency);
 *  - an incident's address, unless agreed, its units, and its exact place:
 *    sharing_redact moves the location to the centre of its cell of the
 *    agreed precision (grid_snap) and drops the rest; a bbox on rows is
 *    refused (it would find the exact place by bisection);
 *  - hotspot cells finer than the agreed precision (sharing_min_cell_m).
 *
 * Every read of a region reader is audited with the region and the
 * agencies whose data it returned (sharing_audit_who).
 */
#ifndef COMPSTAT_SHARING_H
#define COMPSTAT_SHARING_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "incident.h"

typedef struct region_scope region_scope;

/* What one agency shares with the region. */
typedef struct share_terms {
    int agency_id;
    int incidents;   /* 1: incident rows too; 0: counts only */
    int precision_m; /* locations and hotspot cells no finer than this */
    int address;     /* rows keep their address */
    int kind;        /* SHARE_ALL, SHARE_ICCS or SHARE_CATEGORIES */
    int ncodes;
    char **codes;    /* the ICCS prefixes or category names */
} share_terms;

enum { SHARE_ALL = 0, SHARE_ICCS = 1, SHARE_CATEGORIES = 2 };

/*
 * A region reader's scope from its look-up: the region, its agreements as
 * JSON, [{"agency": id, "level", "iccs", "categories",
 * "location_precision_m", "address"}], and its programs, [{"code", "name",
 * "precincts": [ids]}] (NULL or "null": none). NULL out of memory.
 */
region_scope *sharing_scope_new(int region_id, const char *code, const char *agreements,
                                const char *programs);
void sharing_scope_free(region_scope *s);

/* The region's code. */
const char *sharing_region_code(const region_scope *s);

/*
 * For a region reader, after its role was checked against the route's
 * roles: agency= names the agency it reads (entered at once); without it, a
 * route must be ROUTE_ACROSS (422 naming agency). 0 to go on, -1 after
 * replying.
 */
int sharing_admit(http_req *r, int roles);

/*
 * Read agency_id now: its terms, its offense scope, all its precincts; the
 * agency is recorded among those read (audit). 0, or -1 when it shares
 * nothing with the region (nothing changed) or out of memory.
 */
int sharing_enter(http_req *r, int agency_id);

/* The agencies sharing with r's region, in code order, at most max: how many. */
int sharing_agencies(const http_req *r, int *ids, int max);

/*
 * Programs (the model-precinct program): a region's named sets of
 * precincts from several agencies, as they are at this request.
 * sharing_program_mask marks in mask the program's precincts of the agency
 * r reads now (0), or returns -1 when the region has no such program.
 * sharing_program_agencies: 1 when the program holds a precinct of agency.
 * sharing_programs_json: the region's programs, each with the precincts of
 * the agencies sharing with it ({"agency", "precinct"}).
 */
int sharing_program_mask(const http_req *r, const char *code, uint8_t *mask, int32_t n);
int sharing_program_has_agency(const http_req *r, const char *code, int agency_id);
cJSON *sharing_programs_json(const http_req *r);

/* The terms of the agency r reads now; NULL for an agency's own token. */
const share_terms *sharing_terms(const http_req *r);

/* The smallest hotspot cell r may ask for, in metres (0: any). */
int sharing_min_cell_m(const http_req *r);

/* Remove from an incident row what r may not see (nothing for an agency's token). */
void sharing_redact(const http_req *r, inc_incident *in);

/*
 * Add a region reader's region and agreements to o (whoami):
 * "region": {"code"}, "sharing": [{"agency", "level", "iccs" | "categories",
 * "location_precision_m", "address"}].
 */
void sharing_describe(const http_req *r, cJSON *o);

/* http_hooks.release and .audit_who (router.c). */
void sharing_release(principal *who);
void sharing_audit_who(const principal *who, cJSON *detail);

#endif
