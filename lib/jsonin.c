/*
 * jsonin.c -- see jsonin.h.
 */
#include "jsonin.h"

#include <stdio.h>
#include <string.h>

int json_in_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static cJSON *fail(json_in_error *e, size_t at, const char *msg)
{
    e->offset = at;
    snprintf(e->message, sizeof e->message, "%s at byte %zu", msg, at);
    return NULL;
}

/* The faults a byte scan finds: NUL bytes, \u0000 escapes, deep nesting. */
static int scan(const char *s, size_t len, json_in_error *e)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\0') {
            fail(e, i, "a NUL byte");
            return -1;
        }
        if (in_string) {
            if (c == '"') {
                in_string = 0;
            } else if (c == '\\' && i + 1 < len) {
                if (s[i + 1] == 'u' && len - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0) {
                    fail(e, i, "the escape \\u0000 (NUL), which text fields cannot hold,");
                    return -1;
                }
                i++; /* the escaped character cannot end the string */
                if (s[i] == '\0') {
                    fail(e, i, "a NUL byte");
                    return -1;
                }
            }
            continue;
        }
        if ((unsigned char)c < 0x20 && !json_in_space(c)) {
            /* cJSON would skip it as whitespace; JSON does not allow it */
            fail(e, i, "a control character outside a string");
            return -1;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > JSON_MAX_DEPTH) {
                char msg[80];
                snprintf(msg, sizeof msg, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
                fail(e, i, msg);
                return -1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

size_t json_in_array_length(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && json_in_space(s[i]))
        i++;
    if (i == len || s[i] != '[')
        return 0;
    size_t commas = 0;
    int depth = 0, in_string = 0, any = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (depth == 1 && !json_in_space(c) && c != ']' && c != ',')
            any = 1;
        if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (--depth == 0)
                break;
        } else if (c == ',' && depth == 1) {
            commas++;
        }
    }
    return any ? commas + 1 : 0;
}

cJSON *json_in_parse(const char *s, size_t len, json_in_error *e)
{
    if (scan(s, len, e) != 0)
        return NULL;
    size_t lead = 0;
    while (lead < len && json_in_space(s[lead]))
        lead++;
    if (lead == len)
        return fail(e, lead, "no JSON value");
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (doc == NULL) {
        size_t at = end && end >= s && end <= s + len ? (size_t)(end - s) : 0;
        return fail(e, at, "invalid JSON");
    }
    size_t at = (size_t)(end - s);
    while (at < len && json_in_space(s[at]))
        at++;
    if (at < len) {
        cJSON_Delete(doc);
        return fail(e, at,
                    "more after the JSON value (one value per body or NDJSON line; send an "
                    "array or one incident per line for several)");
    }
    return doc;
}
