/*
 * ndjson.h -- the lines of an application/x-ndjson body.
 *
 * The rules, exactly those of POST /v1/incidents:
 *   - a line ends at LF; the LF belongs to no line. A CR is not a line end:
 *     one before the LF (CRLF) or anywhere else stays in the line, where
 *     JSON reads it as whitespace -- so CRLF bodies read as LF bodies, and
 *     a body of CR-separated values is one line holding several;
 *   - a body that ends in LF has no empty line after it; a last line
 *     without LF is a line; an empty body has no lines;
 *   - a line of only JSON whitespace (space, tab, CR) or nothing is blank:
 *     the caller skips it, and it still counts in the line numbers;
 *   - nothing else is judged here: a NUL byte or anything not JSON is the
 *     line's parser's to refuse (lib/jsonin.h), with offsets in the line.
 * The lines and the LFs partition the body.
 *
 * Pure: no I/O, no allocation, reads only buf[0..len).
 */
#ifndef COMPSTAT_NDJSON_H
#define COMPSTAT_NDJSON_H

#include <stddef.h>

typedef struct ndjson_line {
    const char *text; /* the line's bytes, without the LF (not NUL-terminated) */
    size_t len;
    size_t number; /* 1-based */
    size_t offset; /* of text in the body */
    int blank;
} ndjson_line;

typedef struct ndjson_iter {
    const char *buf;
    size_t len, at, number;
} ndjson_iter;

/* Start reading the lines of buf[0..len). */
void ndjson_begin(ndjson_iter *it, const char *buf, size_t len);

/* The next line into *line: 1, or 0 when there is none. */
int ndjson_next(ndjson_iter *it, ndjson_line *line);

/* How many lines of buf[0..len) are not blank. */
size_t ndjson_count(const char *buf, size_t len);

#endif
