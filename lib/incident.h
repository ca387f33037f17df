/*
 * incident.h -- the incident record: JSON in, validation, JSON out.
 *
 * Every rule of API.md's "Incidents" section that can be checked without the
 * database lives here, so each is answered with a status code and the name
 * of the field at fault before anything is written. Rules that need
 * reference data (does the offense code exist? may this token write to that
 * precinct?) are the caller's.
 *
 * Limits (hostile input is bounded): strings are valid UTF-8; source and
 * external_id 1..128 bytes, offense and precinct codes 1..64, address up to
 * 500, at most 32 units of 1..32 bytes each.
 *
 * Ownership: inc_parse fills a caller-provided struct whose strings it
 * allocates; inc_clear frees them. inc_copy makes an independent deep copy.
 */
#ifndef COMPSTAT_INCIDENT_H
#define COMPSTAT_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum inc_status {
    INC_OPEN,
    INC_DISPATCHED,
    INC_EN_ROUTE,
    INC_ON_SCENE,
    INC_CLEARED,
    INC_UNFOUNDED,
    INC_CANCELLED,
    INC_STATUS_COUNT
};

/* Instants of an incident, in lifecycle order after OCCURRED. */
enum inc_time {
    INC_T_OCCURRED,
    INC_T_RECEIVED,
    INC_T_DISPATCHED,
    INC_T_EN_ROUTE,
    INC_T_ON_SCENE,
    INC_T_CLEARED,
    INC_T_COUNT
};

/* Which fields the input carried (with a value or an explicit null). */
enum inc_field {
    INC_F_SOURCE = 1u << 0,
    INC_F_EXTERNAL_ID = 1u << 1,
    INC_F_OFFENSE = 1u << 2,
    INC_F_PRIORITY = 1u << 3,
    INC_F_PRECINCT = 1u << 4,
    INC_F_LOCATION = 1u << 5,
    INC_F_ADDRESS = 1u << 6,
    INC_F_STATUS = 1u << 7,
    INC_F_UNITS = 1u << 8,
    INC_F_TIME0 = 1u << 9, /* INC_F_TIME0 << t for enum inc_time t */
    INC_F_SELF_INITIATED = 1u << 15
};

#define INC_MAX_UNITS 32

typedef struct inc_incident {
    char *source;      /* identity, never NULL once parsed in full mode */
    char *external_id;
    char *offense;     /* offense code in the agency's penal code */
    char *precinct;    /* precinct code, NULL = to be assigned / unassigned */
    char *address;     /* NULL = none */
    int priority;      /* 0..9, -1 = none */
    int status;        /* enum inc_status, -1 = not given */
    int has_location;
    double lat, lon;
    unsigned times_set;          /* bit t: times[t] holds a value */
    int64_t times[INC_T_COUNT];  /* seconds since the epoch */
    size_t nunits;
    char *units[INC_MAX_UNITS];
    int self_initiated; /* 1: an officer started the call (no caller waited) */
    unsigned present;  /* enum inc_field bits */
} inc_incident;

typedef struct inc_error {
    int status;        /* 400 or 422 */
    char code[32];     /* "invalid_field", "missing_field", "malformed" */
    char field[48];    /* "location.lat"; "" when no single field */
    char message[256];
} inc_error;

/* Parse modes. */
#define INC_PARSE_FULL 0  /* POST: a whole incident, required fields enforced */
#define INC_PARSE_PATCH 1 /* PATCH: only the fields present */

/*
 * Read obj (must be a JSON object) into *out (which is overwritten; call
 * inc_clear on it afterwards whatever the result). Unknown fields are
 * ignored. In FULL mode the required fields of API.md are enforced and the
 * lifecycle order is checked; in PATCH mode each present field is checked
 * alone (the caller merges with inc_merge, then calls inc_check).
 * Returns 0, or -1 with *err filled.
 */
int inc_parse(const cJSON *obj, int mode, inc_incident *out, inc_error *err);

/*
 * Whole-record rules: required fields and lifecycle order
 * (received <= dispatched <= en_route <= on_scene <= cleared, for those
 * present). A place is required: a location or a precinct, or else an
 * explicit "precinct": null (INC_F_PRECINCT in present with precinct NULL)
 * and no location -- an incident whose place the source does not know,
 * kept unassigned and unlocated. Returns 0, or -1 with *err filled.
 */
int inc_check(const inc_incident *in, inc_error *err);

/* 1 when the incident has neither a location nor a precinct (its place is
   not known: unassigned and unlocated), else 0. */
int inc_unplaced(const inc_incident *in);

/*
 * Apply the fields present in patch to base (in place). Identity fields are
 * not changed. Returns 0, or -1 when out of memory.
 */
int inc_merge(inc_incident *base, const inc_incident *patch);

/*
 * When no status was given: the furthest lifecycle step whose time is
 * present (cleared, on_scene, en_route, dispatched), else open. A status
 * given in the input is kept as it is.
 */
int inc_derived_status(const inc_incident *in);

int inc_copy(inc_incident *dst, const inc_incident *src);
void inc_clear(inc_incident *in);

const char *inc_status_name(int status);
int inc_status_parse(const char *name); /* -1 when unknown */
const char *inc_time_name(int t);       /* "occurred_at", ... */

/*
 * 1 when a and b hold the same stored values (what an idempotent repost
 * compares), else 0.
 */
int inc_equal(const inc_incident *a, const inc_incident *b);

/*
 * Add the incident's API fields to the JSON object obj ("source", ...,
 * "units"); times in UTC ("...Z"), location as {"lat","lon"} or null.
 * Returns 0, or -1 when out of memory.
 */
int inc_to_json(const inc_incident *in, cJSON *obj);

#endif
