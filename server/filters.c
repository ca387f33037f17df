/*
 * filters.c -- see filters.h.
 */
#include "filters.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"

enum kind { PRECINCTS, OFFENSES, CATEGORIES };

static int read_list(http_req *r, enum kind kind, const char *param, const char *list,
                     uint8_t *mask, int32_t n)
{
    char *copy = strdup(list), *save = NULL;
    if (copy == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    int agency = r->who.agency_id;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        if (kind == PRECINCTS) {
            const ref_precinct *p = ref_precinct_by_code(app.ref, tok);
            if (p && p->agency_id == agency) {
                if (!principal_allows(&r->who, p->code)) {
                    http_reply_error(r, 403, "forbidden", param,
                                     "this token may not read precinct %s", p->code);
                    free(copy);
                    return -1;
                }
                if (p->id < n)
                    mask[p->id] = 1;
                found = 1;
            }
        } else if (kind == OFFENSES) {
            const ref_offense *o = ref_offense_by_code(app.ref, agency, tok);
            if (o) {
                if (o->id < n)
                    mask[o->id] = 1;
                found = 1;
            }
        } else {
            for (int id = 1; id < ref_offense_max(app.ref); id++) {
                const ref_offense *o = ref_offense_by_id(app.ref, id);
                if (o && o->agency_id == agency && strcmp(o->category, tok) == 0) {
                    if (id < n)
                        mask[id] = 1;
                    found = 1;
                }
            }
        }
        if (!found) {
            static const char *const what[] = {"precinct", "offense", "category"};
            http_reply_error(r, 422, "invalid_field", param, "unknown %s \"%.64s\"", what[kind],
                             tok);
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

int filter_precincts(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    return read_list(r, PRECINCTS, param, list, mask, n);
}

int filter_offenses(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    return read_list(r, OFFENSES, param, list, mask, n);
}

int filter_categories(http_req *r, const char *param, const char *list, uint8_t *mask, int32_t n)
{
    return read_list(r, CATEGORIES, param, list, mask, n);
}
