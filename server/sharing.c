/*
 * sharing.c -- see sharing.h.
 */
#include "sharing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "grid.h"
#include "iccs.h"

struct program {
    char *code, *name;
    int n, *precincts; /* precinct ids */
};

struct region_scope {
    int nprograms;
    struct program *programs;
    int region_id;
    char code[40];
    int n;
    share_terms *terms;     /* by agency code */
    const share_terms *cur; /* the agency read now */
    uint8_t *offenses;      /* cur's offense scope (NULL: every offense) */
    int32_t noffenses;
    int nread, *read;       /* agencies read, in the order entered */
};

static void terms_clear(share_terms *t)
{
    for (int i = 0; i < t->ncodes; i++)
        free(t->codes[i]);
    free(t->codes);
}

void sharing_scope_free(region_scope *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->n; i++)
        terms_clear(&s->terms[i]);
    free(s->terms);
    for (int i = 0; i < s->nprograms; i++) {
        free(s->programs[i].code);
        free(s->programs[i].name);
        free(s->programs[i].precincts);
    }
    free(s->programs);
    free(s->offenses);
    free(s->read);
    free(s);
}

static const char *agency_code(int id)
{
    const ref_agency *a = ref_agency_by_id(app.ref, id);
    return a ? a->code : "";
}

static int cmp_terms(const void *pa, const void *pb)
{
    const share_terms *a = pa, *b = pb;
    return strcmp(agency_code(a->agency_id), agency_code(b->agency_id));
}

/* A JSON array of strings into t's codes. 0, or -1 out of memory. */
static int read_codes(const cJSON *arr, share_terms *t)
{
    int n = cJSON_GetArraySize(arr);
    if ((t->codes = calloc((size_t)(n ? n : 1), sizeof *t->codes)) == NULL)
        return -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && (t->codes[t->ncodes] = strdup(e->valuestring)) != NULL)
            t->ncodes++;
        else if (cJSON_IsString(e))
            return -1;
    }
    return 0;
}

/* The programs' JSON into s. 0, or -1 out of memory. */
static int read_programs(region_scope *s, const char *json)
{
    cJSON *arr = json ? cJSON_Parse(json) : NULL;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n > 0 && (s->programs = calloc((size_t)n, sizeof *s->programs)) == NULL) {
        cJSON_Delete(arr);
        return -1;
    }
    const cJSON *e, *list = n > 0 ? arr : NULL;
    int rc = 0;
    cJSON_ArrayForEach(e, list)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(e, "precincts");
        if (!cJSON_IsString(c) || !cJSON_IsString(nm))
            continue;
        struct program *p = &s->programs[s->nprograms++];
        int np = cJSON_GetArraySize(ps);
        p->code = strdup(c->valuestring);
        p->name = strdup(nm->valuestring);
        p->precincts = calloc((size_t)(np ? np : 1), sizeof *p->precincts);
        if (p->code == NULL || p->name == NULL || p->precincts == NULL) {
            rc = -1;
            break;
        }
        const cJSON *id;
        cJSON_ArrayForEach(id, ps)
        {
            if (cJSON_IsNumber(id))
                p->precincts[p->n++] = id->valueint;
        }
    }
    cJSON_Delete(arr);
    return rc;
}

region_scope *sharing_scope_new(int region_id, const char *code, const char *agreements,
                                const char *programs)
{
    region_scope *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->region_id = region_id;
    snprintf(s->code, sizeof s->code, "%s", code ? code : "");
    cJSON *arr = agreements ? cJSON_Parse(agreements) : NULL;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n > 0 && (s->terms = calloc((size_t)n, sizeof *s->terms)) == NULL) {
        cJSON_Delete(arr);
        free(s);
        return NULL;
    }
    const cJSON *e;
    int failed = 0;
    const cJSON *list = n > 0 ? arr : NULL;
    cJSON_ArrayForEach(e, list)
    {
        share_terms *t = &s->terms[s->n];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "agency");
        if (!cJSON_IsNumber(v) || ref_agency_by_id(app.ref, v->valueint) == NULL)
            continue; /* an agency this daemon does not know yet reads as none */
        t->agency_id = v->valueint;
        v = cJSON_GetObjectItemCaseSensitive(e, "level");
        t->incidents = cJSON_IsString(v) && strcmp(v->valuestring, "incidents") == 0;
        v = cJSON_GetObjectItemCaseSensitive(e, "location_precision_m");
        t->precision_m = cJSON_IsNumber(v) && v->valueint > 0 ? v->valueint : 100000;
        t->address = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "address"));
        const cJSON *iccs = cJSON_GetObjectItemCaseSensitive(e, "iccs");
        const cJSON *cats = cJSON_GetObjectItemCaseSensitive(e, "categories");
        t->kind = cJSON_IsArray(iccs) ? SHARE_ICCS : cJSON_IsArray(cats) ? SHARE_CATEGORIES
                                                                         : SHARE_ALL;
        s->n++;
        if (t->kind != SHARE_ALL && read_codes(t->kind == SHARE_ICCS ? iccs : cats, t) != 0)
            failed = 1;
    }
    cJSON_Delete(arr);
    if (failed || read_programs(s, programs) != 0) {
        sharing_scope_free(s);
        return NULL;
    }
    if (s->n > 1)
        qsort(s->terms, (size_t)s->n, sizeof *s->terms, cmp_terms);
    return s;
}

const char *sharing_region_code(const region_scope *s)
{
    return s ? s->code : NULL;
}

static const share_terms *terms_of(const region_scope *s, int agency_id)
{
    for (int i = 0; s && i < s->n; i++)
        if (s->terms[i].agency_id == agency_id)
            return &s->terms[i];
    return NULL;
}

/* Is offense o among what t shares? */
static int shared(const share_terms *t, const ref_offense *o)
{
    if (t->kind == SHARE_ALL)
        return 1;
    for (int i = 0; i < t->ncodes; i++) {
        if (t->kind == SHARE_ICCS ? iccs_has_prefix(o->iccs, t->codes[i])
                                  : strcmp(o->category, t->codes[i]) == 0)
            return 1;
    }
    return 0;
}

int sharing_enter(http_req *r, int agency_id)
{
    region_scope *s = r->who.region;
    const share_terms *t = terms_of(s, agency_id);
    if (t == NULL)
        return -1;
    uint8_t *mask = NULL;
    int32_t n = ref_offense_max(app.ref) + 1;
    if (t->kind != SHARE_ALL) {
        if ((mask = calloc((size_t)n, 1)) == NULL)
            return -1;
        for (int32_t id = 1; id < n; id++) {
            const ref_offense *o = ref_offense_by_id(app.ref, id);
            mask[id] = o && o->agency_id == agency_id && shared(t, o);
        }
    }
    int known = 0;
    for (int i = 0; i < s->nread && !known; i++)
        known = s->read[i] == agency_id;
    if (!known) {
        int *grown = realloc(s->read, (size_t)(s->nread + 1) * sizeof *grown);
        if (grown == NULL) {
            free(mask);
            return -1;
        }
        s->read = grown;
        s->read[s->nread++] = agency_id;
    }
    free(s->offenses);
    s->offenses = mask;
    s->noffenses = mask ? n : 0;
    s->cur = t;
    r->who.agency_id = agency_id;
    r->who.offense_scope = mask;
    r->who.noffense_scope = mask ? n : 0;
    return 0;
}

/* "A, B and C" of the sharing agencies' codes, for messages. */
static void list_agencies(const region_scope *s, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n && at + 1 < size; i++) {
        int w = snprintf(buf + at, size - at, "%s%s", i ? ", " : "",
                         agency_code(s->terms[i].agency_id));
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

int sharing_admit(http_req *r, int roles)
{
    region_scope *s = r->who.region;
    const char *code = qs_get(&r->query, "agency");
    char names[512];
    if (code == NULL) {
        if (roles & ROUTE_ACROSS)
            return 0;
        list_agencies(s, names, sizeof names);
        if (s->n == 0)
            http_reply_error(r, 403, "forbidden", "agency",
                             "no agency shares anything with region %s yet", s->code);
        else
            http_reply_error(r, 422, "missing_field", "agency",
                             "a region reader names the agency it reads: agency=CODE, one of %s",
                             names);
        return -1;
    }
    const ref_agency *a = ref_agency_by_code(app.ref, code);
    const share_terms *t = a ? terms_of(s, a->id) : NULL;
    if (t == NULL) {
        http_reply_error(r, 403, "forbidden", "agency",
                         "agency %.32s shares nothing with region %s", code, s->code);
        return -1;
    }
    if ((roles & ROUTE_ROWS) && !t->incidents) {
        http_reply_error(r, 403, "forbidden", "agency",
                         "agency %s shares counts with region %s, not incident rows", a->code,
                         s->code);
        return -1;
    }
    if (sharing_enter(r, a->id) != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    return 0;
}

int sharing_agencies(const http_req *r, int *ids, int max)
{
    const region_scope *s = r->who.region;
    int k = 0;
    for (int i = 0; s && i < s->n && k < max; i++)
        ids[k++] = s->terms[i].agency_id;
    return k;
}

const share_terms *sharing_terms(const http_req *r)
{
    return r->who.region ? r->who.region->cur : NULL;
}

int sharing_min_cell_m(const http_req *r)
{
    const share_terms *t = sharing_terms(r);
    return t ? t->precision_m : 0;
}

void sharing_redact(const http_req *r, inc_incident *in)
{
    const share_terms *t = sharing_terms(r);
    if (r->who.region == NULL)
        return;
    if (t == NULL || !t->address) {
        free(in->address);
        in->address = NULL;
    }
    for (size_t i = 0; i < in->nunits; i++)
        free(in->units[i]);
    in->nunits = 0; /* the agency's own resources */
    if (in->has_location)
        grid_snap(in->lon, in->lat, t ? t->precision_m : 100000, &in->lon, &in->lat);
}

void sharing_release(principal *who)
{
    sharing_scope_free(who->region);
    who->region = NULL;
    who->offense_scope = NULL;
    who->noffense_scope = 0;
}

void sharing_audit_who(const principal *who, cJSON *detail)
{
    cJSON *list = cJSON_AddArrayToObject(detail, "agencies");
    if (who->region == NULL) {
        if (list && who->agency_id > 0)
            cJSON_AddItemToArray(list, cJSON_CreateString(agency_code(who->agency_id)));
        return;
    }
    for (int i = 0; list && i < who->region->nread; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(agency_code(who->region->read[i])));
    cJSON_AddStringToObject(detail, "region", who->region->code);
}

void sharing_describe(const http_req *r, cJSON *o)
{
    const region_scope *s = r->who.region;
    if (s == NULL)
        return;
    cJSON *g = cJSON_AddObjectToObject(o, "region");
    if (g)
        cJSON_AddStringToObject(g, "code", s->code);
    cJSON *list = cJSON_AddArrayToObject(o, "sharing");
    for (int i = 0; list && i < s->n; i++) {
        const share_terms *t = &s->terms[i];
        cJSON *e = cJSON_CreateObject();
        if (e == NULL || !cJSON_AddItemToArray(list, e)) {
            cJSON_Delete(e);
            return;
        }
        cJSON_AddStringToObject(e, "agency", agency_code(t->agency_id));
        cJSON_AddStringToObject(e, "level", t->incidents ? "incidents" : "counts");
        if (t->kind != SHARE_ALL) {
            cJSON *codes = cJSON_AddArrayToObject(e, t->kind == SHARE_ICCS ? "iccs" : "categories");
            for (int k = 0; codes && k < t->ncodes; k++)
                cJSON_AddItemToArray(codes, cJSON_CreateString(t->codes[k]));
        }
        cJSON_AddNumberToObject(e, "location_precision_m", t->precision_m);
        cJSON_AddBoolToObject(e, "address", t->address);
    }
}

static const struct program *program_of(const region_scope *s, const char *code)
{
    for (int i = 0; s && i < s->nprograms; i++)
        if (strcmp(s->programs[i].code, code) == 0)
            return &s->programs[i];
    return NULL;
}

int sharing_program_mask(const http_req *r, const char *code, uint8_t *mask, int32_t n)
{
    const struct program *p = program_of(r->who.region, code);
    if (p == NULL)
        return -1;
    for (int i = 0; i < p->n; i++) {
        const ref_precinct *pr = ref_precinct_by_id(app.ref, p->precincts[i]);
        if (pr && pr->agency_id == r->who.agency_id && pr->id < n)
            mask[pr->id] = 1;
    }
    return 0;
}

int sharing_program_has_agency(const http_req *r, const char *code, int agency_id)
{
    const struct program *p = program_of(r->who.region, code);
    for (int i = 0; p && i < p->n; i++) {
        const ref_precinct *pr = ref_precinct_by_id(app.ref, p->precincts[i]);
        if (pr && pr->agency_id == agency_id)
            return 1;
    }
    return 0;
}

cJSON *sharing_programs_json(const http_req *r)
{
    const region_scope *s = r->who.region;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; s && arr && i < s->nprograms; i++) {
        const struct program *p = &s->programs[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
        cJSON_AddStringToObject(o, "code", p->code);
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON *list = cJSON_AddArrayToObject(o, "precincts");
        for (int k = 0; list && k < p->n; k++) {
            const ref_precinct *pr = ref_precinct_by_id(app.ref, p->precincts[k]);
            if (pr == NULL || terms_of(s, pr->agency_id) == NULL)
                continue; /* an agency not sharing with the region: not shown */
            cJSON *e = cJSON_CreateObject();
            if (e && cJSON_AddItemToArray(list, e)) {
                cJSON_AddStringToObject(e, "agency", agency_code(pr->agency_id));
                cJSON_AddStringToObject(e, "precinct", pr->code);
            } else {
                cJSON_Delete(e);
            }
        }
    }
    return arr;
}
