/*
 * fuzz_ndjson.c -- libFuzzer target: the lines of an NDJSON body
 * (lib/ndjson). Invariants: the lines and the LFs between them partition
 * the input (each line starts where the last one's LF ended, holds no LF,
 * and ends at an LF or at the end); offsets increase; line numbers count
 * 1, 2, 3, ..., one more than the LFs before the line; blank means only
 * space, tab or CR; ndjson_count agrees. The input is copied to a buffer
 * of its exact size, so ASan catches a read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    ndjson_iter it;
    ndjson_line line;
    size_t at = 0, lfs = 0, nonblank = 0, lines = 0;
    ndjson_begin(&it, buf, size);
    while (ndjson_next(&it, &line)) {
        lines++;
        if (line.offset != at || line.text != buf + at || line.len > size - at ||
            line.number != lines || line.number != lfs + 1)
            abort();
        int blank = 1;
        for (size_t i = 0; i < line.len; i++) {
            char c = line.text[i];
            if (c == '\n')
                abort();
            if (c != ' ' && c != '\t' && c != '\r')
                blank = 0;
        }
        if (blank != line.blank)
            abort();
        nonblank += !line.blank;
        at += line.len;
        if (at < size) {
            if (buf[at] != '\n')
                abort();
            at++;
            lfs++;
        }
    }
    if (at != size || ndjson_next(&it, &line) != 0 || ndjson_count(buf, size) != nonblank)
        abort();
    free(buf);
    return 0;
}
