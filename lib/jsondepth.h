/*
 * jsondepth.h -- how deeply a JSON text nests, measured before parsing.
 *
 * cJSON parses recursively up to 1,000 levels; compstatd's documents need
 * a handful. Measuring first lets the server refuse absurd nesting with a
 * clear 400 before any tree is built. A linear scan of the bytes; strings
 * (with their escapes) are skipped; malformed text is the parser's to
 * reject, not this function's.
 */
#ifndef COMPSTAT_JSONDEPTH_H
#define COMPSTAT_JSONDEPTH_H

#include <stddef.h>

/* JSON nesting allowed in request bodies. */
#define JSON_MAX_DEPTH 32

/* The deepest nesting of arrays and objects in s[0..len). */
int json_depth(const char *s, size_t len);

#endif
