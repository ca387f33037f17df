/*
 * store.c -- see store.h.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "rfc3339.h"

static char *dup_col(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

int store_from_row(const PGresult *res, int row, int col, stored *out)
{
    memset(out, 0, sizeof *out);
    out->inc.priority = -1;
    out->inc.status = -1;
    if (PQgetisnull(res, row, col))
        return -1;
    const char *v;
#define COL(i) PQgetvalue(res, row, col + (i))
#define NUL(i) PQgetisnull(res, row, col + (i))
    out->id = strtoll(COL(0), NULL, 10);
    out->version = atoi(COL(1));
    out->agency_id = atoi(COL(2));
    out->precinct_id = NUL(3) ? 0 : atoi(COL(3));
    out->offense_id = atoi(COL(4));
    inc_incident *in = &out->inc;
    in->priority = NUL(5) ? -1 : atoi(COL(5));
    in->status = inc_status_parse(COL(6));
    if (!NUL(7)) {
        in->has_location = 1;
        in->lon = strtod(COL(7), NULL);
        in->lat = strtod(COL(8), NULL);
    }
    in->address = dup_col(res, row, col + 9);
    for (int t = 0; t < INC_T_COUNT; t++) {
        if (NUL(10 + t))
            continue;
        in->times_set |= 1u << t;
        in->times[t] = strtoll(COL(10 + t), NULL, 10);
    }
    v = COL(16);
    cJSON *units = cJSON_Parse(v);
    const cJSON *u;
    cJSON_ArrayForEach(u, units)
    {
        if (cJSON_IsString(u) && in->nunits < INC_MAX_UNITS)
            in->units[in->nunits++] = strdup(u->valuestring);
    }
    cJSON_Delete(units);
    out->created_ms = strtoll(COL(17), NULL, 10);
    out->updated_ms = strtoll(COL(18), NULL, 10);
    in->source = dup_col(res, row, col + 19);
    in->external_id = dup_col(res, row, col + 20);
    in->self_initiated = COL(21)[0] == 't';
#undef COL
#undef NUL
    const ref_offense *o = ref_offense_by_id(app.ref, out->offense_id);
    const ref_precinct *p = out->precinct_id ? ref_precinct_by_id(app.ref, out->precinct_id) : NULL;
    in->offense = o ? strdup(o->code) : NULL;
    in->precinct = p ? strdup(p->code) : NULL;
    in->present = ~0u;
    return 0;
}

void store_clear(stored *s)
{
    inc_clear(&s->inc);
}

cJSON *store_to_json(const stored *s)
{
    char buf[RFC3339_BUFSZ];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddNumberToObject(o, "id", (double)s->id);
    const ref_agency *a = ref_agency_by_id(app.ref, s->agency_id);
    cJSON_AddStringToObject(o, "agency", a ? a->code : "");
    if (inc_to_json(&s->inc, o) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    const ref_offense *off = ref_offense_by_id(app.ref, s->offense_id);
    if (off)
        cJSON_AddStringToObject(o, "category", off->category);
    else
        cJSON_AddNullToObject(o, "category");
    cJSON_AddNumberToObject(o, "version", s->version);
    cJSON_AddStringToObject(o, "created_at", rfc3339_format_ms(s->created_ms, 0, buf));
    cJSON_AddStringToObject(o, "updated_at", rfc3339_format_ms(s->updated_ms, 0, buf));
    return o;
}

int store_counted(const stored *s)
{
    if (s->inc.status == INC_UNFOUNDED || s->inc.status == INC_CANCELLED)
        return 0;
    const ref_offense *o = ref_offense_by_id(app.ref, s->offense_id);
    return o == NULL || o->crime;
}

int64_t store_counted_at(const stored *s)
{
    const inc_incident *in = &s->inc;
    return (in->times_set & (1u << INC_T_OCCURRED)) ? in->times[INC_T_OCCURRED]
                                                     : in->times[INC_T_RECEIVED];
}
