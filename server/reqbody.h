/*
 * reqbody.h -- reading JSON request bodies of the reference-data and
 * human-resources writes, answering the client on every fault.
 */
#ifndef COMPSTAT_REQBODY_H
#define COMPSTAT_REQBODY_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "http.h"

/* The body as a JSON object, or NULL after replying 415 / 400. */
cJSON *req_json_object(http_req *r);

/*
 * A string member: required or optional, 1..maxlen bytes of UTF-8. Returns
 * the string, NULL when absent (or null) and optional; otherwise replies
 * 422 naming the member and sets *bad. Does nothing once *bad is set, so a
 * handler can read every member and check *bad once.
 */
const char *req_str_member(http_req *r, cJSON *doc, const char *name, int required,
                           size_t maxlen, int *bad);

/*
 * The code a PUT names in its path (/v1/<things>/{code}: 1..64 of
 * [A-Za-z0-9], then also '-', '_', '.'), or NULL after replying 422 naming
 * code; what says whose ("a precinct code").
 */
const char *req_path_code(http_req *r, const char *what);

/* A code: 1..maxlen of [A-Za-z0-9], then also '-', '_', '.'. */
int req_code_ok(const char *s, size_t maxlen);

/*
 * The agency, its offenses, its precincts' boundaries and its areas are
 * the whole agency's: a token limited to precincts reads them but may not
 * change them (a redrawn precinct would take the incidents of the others).
 * 0 when r's token covers the whole agency, else -1 after replying 403
 * saying that `what` belong to the whole agency.
 */
int req_agency_wide(http_req *r, const char *what);

/*
 * The common end of a write's callback: 503 (with Retry-After) when the
 * database went away (res NULL), a logged 500 when the statement failed.
 * Returns 1 after replying, 0 when the write succeeded.
 */
int req_write_failed(http_req *r, PGresult *res, const char *error, const char *what);

#endif
