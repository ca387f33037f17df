/*
 * ndjson.c -- see ndjson.h.
 */
#include "ndjson.h"

#include <string.h>

#include "jsonin.h"

void ndjson_begin(ndjson_iter *it, const char *buf, size_t len)
{
    it->buf = buf;
    it->len = len;
    it->at = 0;
    it->number = 0;
}

int ndjson_next(ndjson_iter *it, ndjson_line *line)
{
    if (it->at >= it->len)
        return 0;
    const char *s = it->buf + it->at;
    const char *nl = memchr(s, '\n', it->len - it->at);
    size_t n = nl ? (size_t)(nl - s) : it->len - it->at;
    line->text = s;
    line->len = n;
    line->offset = it->at;
    line->number = ++it->number;
    line->blank = 1;
    for (size_t i = 0; i < n && line->blank; i++)
        line->blank = json_in_space(s[i]);
    it->at += n + 1; /* past the LF, or past the end */
    return 1;
}

size_t ndjson_count(const char *buf, size_t len)
{
    ndjson_iter it;
    ndjson_line line;
    size_t n = 0;
    ndjson_begin(&it, buf, len);
    while (ndjson_next(&it, &line))
        n += !line.blank;
    return n;
}
