/*
 * jsonin.h -- a request body (or one NDJSON line) as exactly one JSON value.
 *
 * cJSON stops after the first value it reads: "{...} garbage" and two
 * objects one after another would parse as the first alone, and whatever
 * followed would be silently dropped under a 2xx. json_in_parse takes
 * exactly one value: JSON whitespace (space, tab, LF, CR) may surround it,
 * anything else after it is an error. It also refuses, before building any
 * tree, what compstatd cannot store faithfully:
 *   - a NUL byte anywhere (cJSON ends a string there);
 *   - the escape \u0000 inside a string (text columns cannot hold NUL, and
 *     cJSON would cut the string there: two identities would collide);
 *     an escaped backslash followed by "u0000" is ordinary text;
 *   - a control character outside strings other than the four whitespace
 *     bytes (cJSON would skip it as whitespace: "[\x03]" is not JSON);
 *   - nesting deeper than JSON_MAX_DEPTH.
 * Errors say what and at which byte (0-based), for the client's message.
 *
 * Pure: no I/O, no global state of its own (cJSON's error pointer is not
 * used), thread-safe as cJSON's parser is.
 */
#ifndef COMPSTAT_JSONIN_H
#define COMPSTAT_JSONIN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "jsondepth.h"

typedef struct json_in_error {
    size_t offset;     /* byte where the fault is */
    char message[160]; /* "the body ..." is the caller's; this says what */
} json_in_error;

/*
 * The one JSON value in s[0..len), or NULL with *e filled. The caller frees
 * the tree with cJSON_Delete.
 */
cJSON *json_in_parse(const char *s, size_t len, json_in_error *e);

/*
 * When s[0..len) is (or starts as) a JSON array: how many elements its top
 * level holds, counted from the commas outside strings and deeper values,
 * without building anything; 0 otherwise. Lets a caller refuse an array too
 * long before cJSON allocates a node for each element (malformed text is
 * json_in_parse's to refuse; the count is then only an upper bound).
 */
size_t json_in_array_length(const char *s, size_t len);

/* 1 for the four bytes JSON counts as whitespace. */
int json_in_space(char c);

#endif
