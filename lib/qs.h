/*
 * qs.h -- query strings and percent-decoding.
 *
 * Parses "a=1&b=x%20y" into decoded key/value pairs. '+' means space in a
 * query string (HTML form encoding), but not in a path segment. Decoded
 * strings are checked to be valid UTF-8 without NUL bytes, so everything
 * handed on is safe to store and print.
 *
 * Ownership: qs_parse allocates; qs_free releases everything.
 */
#ifndef COMPSTAT_QS_H
#define COMPSTAT_QS_H

#include <stddef.h>

#define QS_MAX_PARAMS 64

typedef struct qs_param {
    char *key;
    char *value;
} qs_param;

typedef struct qs {
    size_t n;
    qs_param p[QS_MAX_PARAMS];
} qs;

/*
 * Parse query (may be NULL or empty) into q. Returns 0, or -1 with q empty
 * when the string has bad percent-escapes, invalid UTF-8 or more than
 * QS_MAX_PARAMS parameters. Empty pieces ("a=1&&b=2") are skipped; a key
 * without '=' gets the value "".
 */
int qs_parse(const char *query, qs *q);

/* Value of the first parameter named key, or NULL. */
const char *qs_get(const qs *q, const char *key);

/* The first key of q not in the NULL-terminated list allowed, or NULL. */
const char *qs_unknown(const qs *q, const char *const *allowed);

void qs_free(qs *q);

/*
 * Percent-decode len bytes of in into out (at least len + 1 bytes), with
 * '+' as space when plus_is_space. Returns the decoded length, or -1 on a
 * bad escape, a NUL byte or invalid UTF-8.
 */
long qs_decode(const char *in, size_t len, int plus_is_space, char *out);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates), else 0. */
int qs_utf8_valid(const char *s, size_t len);

#endif
