/*
 * reqbody.c -- see reqbody.h.
 */
#include "reqbody.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "jsonin.h"
#include "log.h"
#include "qs.h"
#include "refdata.h"

/* Parse the JSON object body, or reply 400/415 and return NULL. */
cJSON *req_json_object(http_req *r)
{
    if (!http_content_type_is(r, "application/json")) {
        http_reply_error(r, 415, "unsupported_media_type", NULL, "send application/json");
        return NULL;
    }
    size_t len;
    char *body = http_body(r, &len);
    if (body == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    json_in_error je;
    cJSON *doc = json_in_parse(body, len, &je);
    free(body);
    if (doc == NULL || !cJSON_IsObject(doc)) {
        if (doc == NULL)
            http_reply_error(r, 400, "malformed_json", NULL, "the body holds %s", je.message);
        else
            http_reply_error(r, 400, "malformed_json", NULL, "the body must be a JSON object");
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/*
 * A string member: required or optional, 1..maxlen bytes of UTF-8. Returns
 * the string, NULL when absent and optional; replies 422 and sets *bad.
 */
const char *req_str_member(http_req *r, cJSON *doc, const char *name, int required,
                           size_t maxlen, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    if (*bad)
        return NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        if (required) {
            http_reply_error(r, 422, "missing_field", name, "%s is required", name);
            *bad = 1;
        }
        return NULL;
    }
    size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    if (!cJSON_IsString(v) || len < 1 || len > maxlen || !qs_utf8_valid(v->valuestring, len)) {
        http_reply_error(r, 422, "invalid_field", name, "%s must be a string of 1 to %zu bytes",
                         name, maxlen);
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

int req_code_ok(const char *s, size_t maxlen)
{
    return ref_code_ok(s, strlen(s), maxlen);
}


const char *req_path_code(http_req *r, const char *what)
{
    const char *code = r->nseg > 2 ? r->seg[2] : "";
    if (req_code_ok(code, 64))
        return code;
    http_reply_error(r, 422, "invalid_field", "code",
                     "%s is 1 to 64 letters, digits, '-', '_' or '.'", what);
    return NULL;
}

int req_agency_wide(http_req *r, const char *what)
{
    if (r->who.nprecincts < 0)
        return 0;
    http_reply_error(r, 403, "forbidden", NULL,
                     "%s belong to the whole agency: a token limited to precincts may not "
                     "change them",
                     what);
    return -1;
}

int req_write_failed(http_req *r, PGresult *res, const char *error, const char *what)
{
    if (res == NULL) {
        http_reply_db_down(r);
        return 1;
    }
    if (error) {
        log_error(r->id, "%s failed: %s", what, error);
        http_reply_error(r, 500, "internal", NULL, "%s failed", what);
        return 1;
    }
    return 0;
}
