/*
 * test_refdata.c -- unit tests for lib/refdata (agencies, precincts,
 * offenses in memory) and its use of lib/geo for precinct assignment.
 *
 * Boundaries are axis-aligned squares, so "on the edge" is exact in double
 * arithmetic and ST_Covers semantics (edges and vertices covered) can be
 * pinned without any floating-point doubt.
 */
#include "refdata.h"
#include "unit.h"

#include <math.h>

/* Squares, lon then lat. P3 and P5 share the edge lon = 10. */
static const char SQ_0_0_10_10[] =
    "{\"type\": \"Polygon\", \"coordinates\": "
    "[[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}";
static const char SQ_10_0_20_10[] =
    "{\"type\": \"Polygon\", \"coordinates\": "
    "[[[10, 0], [20, 0], [20, 10], [10, 10], [10, 0]]]}";
/* Overlaps P5 on [15, 20] x [5, 10]. */
static const char SQ_15_5_25_15[] =
    "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
    "\"coordinates\": [[[15, 5], [25, 5], [25, 15], [15, 15], [15, 5]]]}}";
/* Inside the overlap of P5 and P7. */
static const char SQ_18_6_19_7[] =
    "{\"type\": \"Polygon\", \"coordinates\": "
    "[[[18, 6], [18, 7], [19, 7], [19, 6], [18, 6]]]}";
/* Two islands with a hole in the first. */
static const char MULTI_30_40[] =
    "{\"type\": \"MultiPolygon\", \"coordinates\": ["
    "[[[30, 0], [34, 0], [34, 4], [30, 4], [30, 0]],"
    " [[31, 1], [33, 1], [33, 3], [31, 3], [31, 1]]],"
    "[[[40, 0], [41, 0], [41, 1], [40, 1], [40, 0]]]]}";
/* A real-looking shape in New Orleans coordinates. */
static const char NOLA[] =
    "{\"type\": \"Polygon\", \"coordinates\": "
    "[[[-90.1, 29.9], [-90.0, 29.9], [-90.0, 30.0], [-90.1, 30.0], [-90.1, 29.9]]]}";

static geo_multipolygon *geom(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    geo_multipolygon *mp = NULL;
    char err[160];
    CHECK(j != NULL);
    if (geo_parse(j, &mp, err, sizeof err) != 0) {
        fprintf(stderr, "%s:%d: geo_parse: %s\n", __FILE__, __LINE__, err);
        unit_failures_++;
    }
    cJSON_Delete(j);
    return mp;
}

static int put_precinct(ref_data *r, int id, int agency, const char *code, const char *json)
{
    char name[64];
    snprintf(name, sizeof name, "Precinct %s", code);
    return ref_put_precinct(r, id, agency, code, name, 1000 + id, json ? geom(json) : NULL,
                            json);
}

/* Code of the precinct assigned to (lon, lat), "" for none. */
static const char *assigned(const ref_data *r, int agency, double lon, double lat)
{
    const ref_precinct *p = ref_assign_precinct(r, agency, lon, lat);
    return p ? p->code : "";
}

/* ---- agencies ----------------------------------------------------------- */

static void test_agencies(void)
{
    ref_data *r = ref_new();
    CHECK(r != NULL);
    CHECK(ref_agency_by_id(r, 1) == NULL);
    CHECK(ref_agency_by_code(r, "NOPD") == NULL);
    CHECK(ref_agency_max(r) <= 1); /* nothing to iterate */

    CHECK_INT(ref_put_agency(r, 1, "NOPD", "New Orleans PD", "America/Chicago"), 0);
    CHECK_INT(ref_put_agency(r, 3, "PNC-GT", "PNC Guatemala", "America/Guatemala"), 0);
    const ref_agency *a = ref_agency_by_id(r, 1);
    CHECK(a != NULL);
    if (a == NULL) {
        ref_free(r);
        return;
    }
    CHECK_INT(a->id, 1);
    CHECK_STR(a->code, "NOPD");
    CHECK_STR(a->name, "New Orleans PD");
    CHECK_STR(a->time_zone, "America/Chicago");
    CHECK(ref_agency_by_code(r, "NOPD") == a);
    CHECK(ref_agency_by_code(r, "PNC-GT") == ref_agency_by_id(r, 3));
    CHECK_INT(ref_agency_by_id(r, 3)->id, 3);
    CHECK(ref_agency_by_code(r, "nopd") == NULL);
    CHECK(ref_agency_by_code(r, "") == NULL);
    /* Gaps and out-of-range ids. */
    CHECK(ref_agency_by_id(r, 2) == NULL);
    CHECK(ref_agency_by_id(r, 0) == NULL);
    CHECK(ref_agency_by_id(r, -1) == NULL);
    CHECK(ref_agency_by_id(r, 4) == NULL);
    CHECK(ref_agency_by_id(r, 1000000) == NULL);
    CHECK_INT(ref_agency_max(r), 4);

    /* Strings are copied. */
    char code[16] = "TMP", name[16] = "Temp";
    CHECK_INT(ref_put_agency(r, 2, code, name, "UTC"), 0);
    code[0] = 'X';
    name[0] = 'X';
    CHECK_STR(ref_agency_by_id(r, 2)->code, "TMP");
    CHECK_STR(ref_agency_by_id(r, 2)->name, "Temp");
    CHECK(ref_agency_by_code(r, "TMP") == ref_agency_by_id(r, 2));
    CHECK(ref_agency_by_code(r, "XMP") == NULL);

    /* Update in place: the record pointer stays, the fields change. */
    CHECK_INT(ref_put_agency(r, 1, "NOPD", "NOPD (renamed)", "America/New_York"), 0);
    CHECK(ref_agency_by_id(r, 1) == a);
    CHECK(ref_agency_by_code(r, "NOPD") == a);
    CHECK_STR(a->name, "NOPD (renamed)");
    CHECK_STR(a->time_zone, "America/New_York");

    /* A record whose code changes is found by its new code only. */
    CHECK_INT(ref_put_agency(r, 1, "NOLA", "NOLA PD", "America/Chicago"), 0);
    CHECK(ref_agency_by_id(r, 1) == a);
    CHECK(ref_agency_by_code(r, "NOLA") == a);
    CHECK(ref_agency_by_code(r, "NOPD") == NULL);
    /* ... and the old code can be taken by another record. */
    CHECK_INT(ref_put_agency(r, 2, "NOPD", "Other", "UTC"), 0);
    CHECK(ref_agency_by_code(r, "NOPD") == ref_agency_by_id(r, 2));
    CHECK(ref_agency_by_code(r, "TMP") == NULL);
    CHECK(ref_agency_by_code(r, "NOLA") == a);

    /* Pointers survive the id table growing; ids are positive. */
    for (int id = 10; id < 5000; id += 7) {
        char c[16];
        snprintf(c, sizeof c, "A%d", id);
        CHECK_INT(ref_put_agency(r, id, c, c, "UTC"), 0);
    }
    CHECK(ref_agency_by_id(r, 1) == a);
    CHECK_STR(a->code, "NOLA");
    CHECK_INT(ref_agency_max(r), 4995);
    CHECK_STR(ref_agency_by_code(r, "A4994")->code, "A4994");
    CHECK_INT(ref_agency_by_code(r, "A4994")->id, 4994);
    CHECK_INT(ref_put_agency(r, 0, "ZERO", "z", "UTC"), -1);
    CHECK_INT(ref_put_agency(r, -5, "NEG", "n", "UTC"), -1);
    CHECK(ref_agency_by_code(r, "ZERO") == NULL);
    CHECK(ref_agency_by_code(r, "NEG") == NULL);
    ref_free(r);
    ref_free(NULL);
}

/* ---- offenses ----------------------------------------------------------- */

static void test_offenses(void)
{
    ref_data *r = ref_new();
    CHECK(ref_offense_max(r) <= 1);
    CHECK_INT(ref_put_offense(r, 1, 1, "ROB", "Robbery", "violent", 1, NULL), 0);
    CHECK_INT(ref_put_offense(r, 2, 2, "ROB", "Robo", "violent", 1, NULL), 0);
    CHECK_INT(ref_put_offense(r, 4, 1, "THEFT", "Theft", "property", 1, NULL), 0);
    /* Agency ids whose digits run into the code must not collide. */
    CHECK_INT(ref_put_offense(r, 5, 11, "X", "Eleven X", "other", 1, NULL), 0);
    CHECK_INT(ref_put_offense(r, 6, 1, "1X", "One 1X", "other", 1, NULL), 0);

    const ref_offense *o1 = ref_offense_by_code(r, 1, "ROB");
    const ref_offense *o2 = ref_offense_by_code(r, 2, "ROB");
    CHECK(o1 != NULL && o2 != NULL && o1 != o2);
    if (o1 == NULL || o2 == NULL) {
        ref_free(r);
        return;
    }
    CHECK_INT(o1->id, 1);
    CHECK_INT(o1->agency_id, 1);
    CHECK_STR(o1->name, "Robbery");
    CHECK_STR(o1->category, "violent");
    CHECK_INT(o2->id, 2);
    CHECK_INT(o2->agency_id, 2);
    CHECK_STR(o2->name, "Robo");
    CHECK(ref_offense_by_id(r, 1) == o1);
    CHECK(ref_offense_by_id(r, 2) == o2);
    CHECK(ref_offense_by_code(r, 3, "ROB") == NULL);
    CHECK(ref_offense_by_code(r, 2, "THEFT") == NULL);
    CHECK(ref_offense_by_code(r, 1, "rob") == NULL);
    CHECK_INT(ref_offense_by_code(r, 1, "THEFT")->id, 4);
    CHECK_INT(ref_offense_by_code(r, 11, "X")->id, 5);
    CHECK_INT(ref_offense_by_code(r, 1, "1X")->id, 6);
    CHECK(ref_offense_by_code(r, 1, "X") == NULL);
    CHECK(ref_offense_by_code(r, 11, "1X") == NULL);
    CHECK(ref_offense_by_id(r, 3) == NULL);
    CHECK(ref_offense_by_id(r, 0) == NULL);
    CHECK_INT(ref_offense_max(r), 7);

    /* A long code is simply not found (codes are at most 64 bytes). */
    char longcode[300];
    memset(longcode, 'R', sizeof longcode - 1);
    longcode[sizeof longcode - 1] = '\0';
    CHECK(ref_offense_by_code(r, 1, longcode) == NULL);
    char code64[65];
    memset(code64, 'C', 64);
    code64[64] = '\0';
    CHECK_INT(ref_put_offense(r, 7, 1, code64, "Long", "other", 1, NULL), 0);
    CHECK_INT(ref_offense_by_code(r, 1, code64)->id, 7);
    CHECK_INT(ref_put_offense(r, 8, 2147483647, code64, "Long, big agency", "other", 1, NULL), 0);
    CHECK_INT(ref_offense_by_code(r, 2147483647, code64)->id, 8);

    /* Update in place. */
    CHECK_INT(ref_put_offense(r, 1, 1, "ROB", "Armed robbery", "violent", 1, NULL), 0);
    CHECK(ref_offense_by_id(r, 1) == o1);
    CHECK(ref_offense_by_code(r, 1, "ROB") == o1);
    CHECK_STR(o1->name, "Armed robbery");
    /* Reclassified under a new code: the old code no longer finds it. */
    CHECK_INT(ref_put_offense(r, 1, 1, "ROB1", "Armed robbery", "violent", 1, NULL), 0);
    CHECK(ref_offense_by_code(r, 1, "ROB1") == o1);
    CHECK(ref_offense_by_code(r, 1, "ROB") == NULL);
    CHECK(ref_offense_by_code(r, 2, "ROB") == o2);
    /* Moved to another agency: found there only. */
    CHECK_INT(ref_put_offense(r, 2, 3, "ROB", "Robo", "violent", 1, NULL), 0);
    CHECK(ref_offense_by_id(r, 2) == o2);
    CHECK(ref_offense_by_code(r, 3, "ROB") == o2);
    CHECK(ref_offense_by_code(r, 2, "ROB") == NULL);
    CHECK_INT(ref_put_offense(r, 0, 1, "Z", "z", "z", 1, NULL), -1);
    ref_free(r);
}

/* ---- precincts ---------------------------------------------------------- */

static void test_precincts(void)
{
    ref_data *r = ref_new();
    CHECK(ref_precinct_max(r) <= 1);
    CHECK_INT(put_precinct(r, 3, 1, "P-3", SQ_0_0_10_10), 0);
    CHECK_INT(put_precinct(r, 5, 1, "P-5", SQ_10_0_20_10), 0);
    CHECK_INT(ref_put_precinct(r, 6, 1, "P-6", "No boundary", -1, NULL, NULL), 0);

    const ref_precinct *p3 = ref_precinct_by_id(r, 3);
    CHECK(p3 != NULL);
    if (p3 == NULL) {
        ref_free(r);
        return;
    }
    CHECK_INT(p3->id, 3);
    CHECK_INT(p3->agency_id, 1);
    CHECK_STR(p3->code, "P-3");
    CHECK_STR(p3->name, "Precinct P-3");
    CHECK_INT(p3->population, 1003);
    CHECK_STR(p3->boundary_geojson, SQ_0_0_10_10);
    CHECK(p3->boundary_geojson != SQ_0_0_10_10); /* copied */
    CHECK(p3->boundary != NULL);
    CHECK(p3->bbox[0] == 0 && p3->bbox[1] == 0 && p3->bbox[2] == 10 && p3->bbox[3] == 10);
    CHECK(ref_precinct_by_code(r, "P-3") == p3);
    CHECK_INT(ref_precinct_by_code(r, "P-5")->id, 5);
    CHECK(ref_precinct_by_code(r, "P-4") == NULL);
    CHECK(ref_precinct_by_id(r, 4) == NULL);
    CHECK(ref_precinct_by_id(r, 0) == NULL);
    const ref_precinct *p6 = ref_precinct_by_code(r, "P-6");
    CHECK(p6 != NULL && p6->boundary == NULL && p6->boundary_geojson == NULL);
    CHECK(p6 != NULL && p6->population == -1);
    CHECK(p6 != NULL && p6->bbox[0] == 0 && p6->bbox[2] == 0);
    CHECK_INT(ref_precinct_max(r), 7);

    /* Update in place: new boundary, name and population. */
    CHECK_INT(ref_put_precinct(r, 3, 1, "P-3", "Third", 42, geom(NOLA), NOLA), 0);
    CHECK(ref_precinct_by_id(r, 3) == p3);
    CHECK(ref_precinct_by_code(r, "P-3") == p3);
    CHECK_STR(p3->name, "Third");
    CHECK_INT(p3->population, 42);
    CHECK_STR(p3->boundary_geojson, NOLA);
    CHECK(p3->bbox[0] == -90.1 && p3->bbox[1] == 29.9 && p3->bbox[2] == -90.0 &&
          p3->bbox[3] == 30.0);
    CHECK_STR(assigned(r, 1, -90.05, 29.95), "P-3");
    CHECK_STR(assigned(r, 1, 5, 5), "");
    /* ... and back to having no boundary. */
    CHECK_INT(ref_put_precinct(r, 3, 1, "P-3", "Third", 42, NULL, NULL), 0);
    CHECK(p3->boundary == NULL && p3->boundary_geojson == NULL);
    CHECK_STR(assigned(r, 1, -90.05, 29.95), "");

    /* Renamed code: found by the new one only. */
    CHECK_INT(put_precinct(r, 5, 1, "P-5b", SQ_10_0_20_10), 0);
    CHECK_INT(ref_precinct_by_code(r, "P-5b")->id, 5);
    CHECK(ref_precinct_by_code(r, "P-5") == NULL);

    /* A failed put (id 0) still takes over the boundary (ASan checks that
       it is freed) and adds nothing. */
    CHECK_INT(ref_put_precinct(r, 0, 1, "P-0", "Zero", 0, geom(SQ_0_0_10_10), SQ_0_0_10_10),
              -1);
    CHECK(ref_precinct_by_code(r, "P-0") == NULL);
    ref_free(r);
}

/* ---- assignment --------------------------------------------------------- */

static void test_assign(void)
{
    ref_data *r = ref_new();
    /* Agency 2 has a precinct with the lowest id covering the same ground
       as agency 1's P-3: it must never be chosen for agency 1. */
    CHECK_INT(put_precinct(r, 2, 2, "Q-2", SQ_0_0_10_10), 0);
    /* Inserted out of id order on purpose. */
    CHECK_INT(put_precinct(r, 7, 1, "P-7", SQ_15_5_25_15), 0);
    CHECK_INT(put_precinct(r, 5, 1, "P-5", SQ_10_0_20_10), 0);
    CHECK_INT(put_precinct(r, 3, 1, "P-3", SQ_0_0_10_10), 0);
    CHECK_INT(put_precinct(r, 9, 1, "P-9", MULTI_30_40), 0);
    CHECK_INT(ref_put_precinct(r, 4, 1, "P-4", "No boundary", -1, NULL, NULL), 0);

    /* Interiors. */
    CHECK_STR(assigned(r, 1, 5, 5), "P-3");
    CHECK_STR(assigned(r, 1, 12, 2), "P-5");
    CHECK_STR(assigned(r, 1, 22, 12), "P-7");
    CHECK_STR(assigned(r, 2, 5, 5), "Q-2");
    CHECK_STR(assigned(r, 2, 12, 2), "");

    /* Overlap of P-5 and P-7: the lower id. */
    CHECK_STR(assigned(r, 1, 17, 7), "P-5");
    CHECK_STR(assigned(r, 1, 19.999, 9.999), "P-5");
    /* Shared edge lon = 10 of P-3 and P-5 (ST_Covers: both cover it). */
    CHECK_STR(assigned(r, 1, 10, 2), "P-3");
    CHECK_STR(assigned(r, 1, 10, 0), "P-3");  /* shared vertex */
    CHECK_STR(assigned(r, 1, 10, 10), "P-3"); /* shared vertex */
    CHECK_STR(assigned(r, 1, 10.000000000000002, 2), "P-5");
    CHECK_STR(assigned(r, 1, 9.9999999999999982, 2), "P-3");
    /* Outer edges and vertices are covered. */
    CHECK_STR(assigned(r, 1, 0, 0), "P-3");
    CHECK_STR(assigned(r, 1, 0, 5), "P-3");
    CHECK_STR(assigned(r, 1, 5, 10), "P-3");
    CHECK_STR(assigned(r, 1, 20, 2), "P-5");
    CHECK_STR(assigned(r, 1, 20, 5), "P-5"); /* P-5's edge inside... */
    CHECK_STR(assigned(r, 1, 15, 5), "P-5"); /* ...and P-7's corner on P-5 */
    CHECK_STR(assigned(r, 1, 25, 15), "P-7");
    CHECK_STR(assigned(r, 1, 20, 10), "P-5");
    CHECK_STR(assigned(r, 1, 20.5, 10), "P-7");
    /* Just outside. */
    CHECK_STR(assigned(r, 1, -0.000001, 5), "");
    CHECK_STR(assigned(r, 1, 5, -1e-300), "");
    CHECK_STR(assigned(r, 1, 25.0000001, 15), "");
    CHECK_STR(assigned(r, 1, 20.000001, 2), "");
    /* Outside all; an unknown agency; non-finite coordinates. */
    CHECK_STR(assigned(r, 1, -90, 30), "");
    CHECK_STR(assigned(r, 1, 100, 50), "");
    CHECK_STR(assigned(r, 3, 5, 5), "");
    CHECK_STR(assigned(r, 0, 5, 5), "");
    CHECK_STR(assigned(r, 1, NAN, 5), "");
    CHECK_STR(assigned(r, 1, 5, NAN), "");
    CHECK_STR(assigned(r, 1, INFINITY, 5), "");

    /* MultiPolygon with a hole: inside the hole is not covered, the hole's
       ring is; the second island is; between the islands (inside the bbox)
       is not. */
    CHECK_STR(assigned(r, 1, 30.5, 0.5), "P-9");
    CHECK_STR(assigned(r, 1, 32, 2), "");
    CHECK_STR(assigned(r, 1, 31, 2), "P-9");
    CHECK_STR(assigned(r, 1, 33, 3), "P-9");
    CHECK_STR(assigned(r, 1, 40.5, 0.5), "P-9");
    CHECK_STR(assigned(r, 1, 41, 1), "P-9");
    CHECK_STR(assigned(r, 1, 37, 0.5), "");

    /* A lower id inserted later, inside the overlap, wins there. */
    CHECK_INT(put_precinct(r, 1, 1, "P-1", SQ_18_6_19_7), 0);
    CHECK_STR(assigned(r, 1, 18.5, 6.5), "P-1");
    CHECK_STR(assigned(r, 1, 18, 6), "P-1");
    CHECK_STR(assigned(r, 1, 17, 7), "P-5");

    /* Moving a precinct to another agency takes it out of the first's
       assignment; shrinking a boundary frees the ground it left. */
    const ref_precinct *p5 = ref_precinct_by_id(r, 5);
    CHECK_INT(put_precinct(r, 5, 2, "P-5", SQ_10_0_20_10), 0);
    CHECK(ref_precinct_by_id(r, 5) == p5);
    CHECK_STR(assigned(r, 1, 12, 2), "");
    CHECK_STR(assigned(r, 1, 17, 7), "P-7");
    CHECK_STR(assigned(r, 2, 12, 2), "P-5");
    CHECK_STR(assigned(r, 1, 10, 2), "P-3");
    CHECK_INT(put_precinct(r, 3, 1, "P-3", SQ_18_6_19_7), 0);
    CHECK_STR(assigned(r, 1, 5, 5), "");
    CHECK_STR(assigned(r, 2, 5, 5), "Q-2");

    CHECK_INT(ref_precinct_max(r), 10);
    ref_free(r);
}

/* Many precincts in a grid: every cell centre goes to its own precinct,
   every interior grid vertex to the lowest id of the four around it. */
static void test_assign_grid(void)
{
    enum { N = 20 };
    ref_data *r = ref_new();
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            char json[256], code[16];
            int x0 = -100 + i, y0 = 20 + j;
            snprintf(json, sizeof json,
                     "{\"type\": \"Polygon\", \"coordinates\": [[[%d, %d], [%d, %d], [%d, %d],"
                     " [%d, %d], [%d, %d]]]}",
                     x0, y0, x0 + 1, y0, x0 + 1, y0 + 1, x0, y0 + 1, x0, y0);
            /* Ids run backwards over the grid so the lowest id is not the
               first cell met in lon/lat order. */
            int id = N * N - (i * N + j);
            snprintf(code, sizeof code, "G%d", id);
            CHECK_INT(put_precinct(r, id, 1, code, json), 0);
        }
    }
    CHECK_INT(ref_precinct_max(r), N * N + 1);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            const ref_precinct *p = ref_assign_precinct(r, 1, -100 + i + 0.5, 20 + j + 0.5);
            if (p == NULL || p->id != N * N - (i * N + j))
                bad++;
            if (i > 0 && j > 0) {
                /* Vertex (i, j) touches cells (i-1..i, j-1..j); the lowest id
                   among them is cell (i, j). */
                p = ref_assign_precinct(r, 1, -100 + i, 20 + j);
                if (p == NULL || p->id != N * N - (i * N + j))
                    bad++;
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK(ref_assign_precinct(r, 1, -100 + N + 0.5, 20.5) == NULL);
    CHECK_INT(ref_assign_precinct(r, 1, -100 + N, 20.5)->id, N * N - ((N - 1) * N + 0));
    ref_free(r);
}

/* An offense's ICCS code, and the ICCS list: by code, in order, replaced in place. */
static void test_iccs(void)
{
    ref_data *r = ref_new();
    CHECK_INT(ref_put_offense(r, 1, 1, "HOM", "Homicide", "murder", 1, "0101"), 0);
    CHECK_INT(ref_put_offense(r, 2, 1, "MISC", "Other", "other", 1, ""), 0);
    CHECK_STR(ref_offense_by_id(r, 1)->iccs, "0101");
    CHECK(ref_offense_by_id(r, 2)->iccs == NULL);
    CHECK_INT(ref_put_offense(r, 1, 1, "HOM", "Homicide", "murder", 1, NULL), 0);
    CHECK(ref_offense_by_id(r, 1)->iccs == NULL);

    CHECK_INT(ref_put_iccs(r, "01", "", "Acts leading to death", "Actos"), 0);
    CHECK_INT(ref_put_iccs(r, "0101", "01", "Intentional homicide", NULL), 0);
    CHECK_INT(ref_put_iccs(r, "010", "01", "bad", NULL), -1);
    CHECK_INT(ref_put_iccs(r, "0102", "0x", "bad parent", NULL), -1);
    CHECK_INT(ref_iccs_count(r), 2);
    const ref_iccs *c = ref_iccs_by_code(r, "0101");
    CHECK(c != NULL && c->level == 2);
    CHECK_STR(c->parent, "01");
    CHECK(c->name_es == NULL);
    CHECK_STR(ref_iccs_at(r, 0)->code, "01");
    CHECK_STR(ref_iccs_at(r, 0)->name_es, "Actos");
    CHECK(ref_iccs_at(r, 2) == NULL);
    CHECK(ref_iccs_by_code(r, "0102") == NULL);
    CHECK(ref_iccs_by_code(r, "01010101") == NULL);
    /* a reload replaces in place */
    CHECK_INT(ref_put_iccs(r, "0101", "01", "Intentional homicide", "Homicidio intencional"), 0);
    CHECK_INT(ref_iccs_count(r), 2);
    CHECK_STR(ref_iccs_by_code(r, "0101")->name_es, "Homicidio intencional");
    ref_free(r);
}

UNIT_MAIN(UNIT(test_agencies), UNIT(test_offenses), UNIT(test_precincts), UNIT(test_assign),
          UNIT(test_assign_grid), UNIT(test_iccs))
