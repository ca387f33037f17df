/*
 * refdata.h -- reference data held in memory: agencies, precincts, offenses,
 * and the ICCS code list (the common classification offenses may carry).
 *
 * The daemon validates and enriches every incident against these tables
 * without a database round trip: an offense code must exist in the token's
 * agency, a precinct code must exist, and an incident posted with a location
 * but no precinct is assigned the first precinct (lowest id) of its agency
 * whose boundary covers the point (ST_Covers semantics, see geo.h), or none.
 *
 * The database stays the source of truth: the server loads these tables at
 * start-up and applies each change after it commits. Records are indexed by
 * their database id (small serial integers, so a dense array) and by code.
 *
 * Populations: a precinct carries its population year by year (any years
 * given) beside the single figure of old; ref_population answers the one
 * question rates ask -- the population of a set of precincts for a year.
 *
 * Ownership: the ref_data owns every record, string and boundary handed to
 * it; pointers returned stay valid until the record is replaced or the
 * ref_data is freed (records are updated in place, so pointers to them stay
 * valid across updates; their string fields do not).
 */
#ifndef COMPSTAT_REFDATA_H
#define COMPSTAT_REFDATA_H

#include <stddef.h>
#include <stdint.h>

#include "geo.h"
#include "iccs.h"

typedef struct ref_agency {
    int id;
    char *code;
    char *name;
    char *time_zone; /* IANA name */
} ref_agency;

typedef struct ref_pop_year {
    int year;
    long long population;
} ref_pop_year;

typedef struct ref_precinct {
    int id;
    int agency_id;
    char *code;
    char *name;
    long long population;   /* -1: unknown */
    geo_multipolygon *boundary;
    char *boundary_geojson; /* the boundary as stored, GeoJSON text */
    double bbox[4];         /* minlon, minlat, maxlon, maxlat */
    unsigned version;       /* changes whenever the record is replaced */
    ref_pop_year *populations; /* by year, ascending (ref_set_populations) */
    int npopulations;
} ref_precinct;

typedef struct ref_offense {
    int id;
    int agency_id;
    char *code;
    char *name;
    char *category;
    int crime; /* 0: a call that is not a crime (counted in no crime count) */
    char *iccs; /* its ICCS code, NULL when not classified */
} ref_offense;

/* One code of the ICCS list (iccs.h for the shape of codes). */
typedef struct ref_iccs {
    char code[ICCS_CODE_MAX];
    int level;                  /* 1..4 */
    char parent[ICCS_CODE_MAX]; /* "" at level 1 */
    char *name_en;
    char *name_es; /* NULL: no published Spanish name (data/iccs/PROVENANCE.md) */
} ref_iccs;

typedef struct ref_data ref_data;

ref_data *ref_new(void);
void ref_free(ref_data *r);

/* Insert or replace by id. Strings are copied. 0, or -1 out of memory. */
int ref_put_agency(ref_data *r, int id, const char *code, const char *name,
                   const char *time_zone);
/* boundary is taken over (freed on failure too); geojson is copied. An
   existing precinct keeps its populations by year. */
int ref_put_precinct(ref_data *r, int id, int agency_id, const char *code,
                     const char *name, long long population,
                     geo_multipolygon *boundary, const char *geojson);
/* iccs: NULL or "" when not classified. */
int ref_put_offense(ref_data *r, int id, int agency_id, const char *code,
                    const char *name, const char *category, int crime, const char *iccs);
/*
 * Insert or replace an ICCS code by its code (its level is the code's,
 * iccs_level). parent: "" or NULL at level 1; name_es NULL or "" when none
 * was published. 0, or -1 when code or parent is not a code, or out of
 * memory. The list keeps the order of first insertion.
 */
int ref_put_iccs(ref_data *r, const char *code, const char *parent, const char *name_en,
                 const char *name_es);

/*
 * Replace the populations by year of precinct id with the n of pops (any
 * order; a year given twice keeps the last). 0, or -1 when there is no such
 * precinct or out of memory (the precinct is unchanged then).
 */
int ref_set_populations(ref_data *r, int id, const ref_pop_year *pops, int n);

/*
 * The population of p in year: that year's, else the nearest year's given
 * (equally near: the earlier year), else p->population; -1 when unknown.
 */
long long ref_precinct_population(const ref_precinct *p, int year);

/*
 * The population of a set of precincts in year: the sum of
 * ref_precinct_population over the precincts of agency_id whose id is set
 * in mask (n entries; id 0, the unassigned, is no precinct; NULL: every
 * precinct of the agency). -1 when any of them is unknown -- never a sum
 * over part of the territory; 0 for a set without precincts.
 */
long long ref_population(const ref_data *r, int agency_id, const uint8_t *mask, int32_t n,
                         int year);

const ref_agency *ref_agency_by_id(const ref_data *r, int id);
const ref_agency *ref_agency_by_code(const ref_data *r, const char *code);
const ref_precinct *ref_precinct_by_id(const ref_data *r, int id);
const ref_precinct *ref_precinct_by_code(const ref_data *r, const char *code);
const ref_offense *ref_offense_by_id(const ref_data *r, int id);
const ref_offense *ref_offense_by_code(const ref_data *r, int agency_id, const char *code);
/* The ICCS code, or NULL when the list holds none such. */
const ref_iccs *ref_iccs_by_code(const ref_data *r, const char *code);
/* The ICCS list: ref_iccs_at(r, 0 .. ref_iccs_count(r) - 1). */
int ref_iccs_count(const ref_data *r);
const ref_iccs *ref_iccs_at(const ref_data *r, int i);

/*
 * A code as the schema has it (precincts, badges, tours): 1..maxlen bytes
 * of s[0..n), [A-Za-z0-9] first, then also '-', '_', '.'. 1 or 0.
 */
int ref_code_ok(const char *s, size_t n, size_t maxlen);

/* Largest id in use + 1 for each table (iterate ids 1..max-1; gaps are NULL). */
int ref_agency_max(const ref_data *r);
int ref_precinct_max(const ref_data *r);
int ref_offense_max(const ref_data *r);

/*
 * The precinct of agency_id covering (lon, lat), the lowest id when
 * boundaries overlap, or NULL when none does.
 */
const ref_precinct *ref_assign_precinct(const ref_data *r, int agency_id, double lon,
                                        double lat);

#endif
