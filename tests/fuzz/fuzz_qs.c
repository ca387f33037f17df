/*
 * fuzz_qs.c -- libFuzzer target: query strings and percent-decoding
 * (lib/qs). Invariants: no crash; every decoded key and value is valid
 * UTF-8 without NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    qs q;
    if (qs_parse(s, &q) == 0) {
        for (size_t i = 0; i < q.n; i++) {
            if (!qs_utf8_valid(q.p[i].key, strlen(q.p[i].key)) ||
                !qs_utf8_valid(q.p[i].value, strlen(q.p[i].value)))
                abort();
            (void)qs_get(&q, q.p[i].key);
        }
        qs_free(&q);
    }
    char *out = malloc(size + 1);
    if (out) {
        long n = qs_decode((const char *)data, size, 0, out);
        if (n >= 0 && (size_t)n > size)
            abort();
        free(out);
    }
    free(s);
    return 0;
}
