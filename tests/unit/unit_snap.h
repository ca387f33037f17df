/*
 * unit_snap.h -- a growing in-memory sink for lib/snap, and the checks
 * every structure's restore must pass on damaged bytes.
 */
#ifndef COMPSTAT_UNIT_SNAP_H
#define COMPSTAT_UNIT_SNAP_H

#include <stdlib.h>
#include <string.h>

#include "snap.h"

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
} membuf;

static int membuf_write(void *arg, const void *p, size_t n)
{
    membuf *b = arg;
    if (b->n + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->n + n)
            ncap *= 2;
        unsigned char *np = realloc(b->p, ncap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static snap_out membuf_out(membuf *b)
{
    snap_out o = {membuf_write, b, 0};
    return o;
}

/*
 * Every restore of a strict prefix must fail (NULL, input marked failed),
 * and restores of bytes with one byte changed must not crash (what they
 * give is not checked: the file's checksum is what catches those). restore
 * is called as restore(&in) and its result freed with release.
 */
#define CHECK_DAMAGED_RESTORES(buf, restore, release, rnd)                       \
    do {                                                                         \
        for (int k_ = 0; k_ < 300 && (buf).n > 0; k_++) {                        \
            size_t len_ = k_ == 0 ? (buf).n - 1 : (size_t)((rnd)() % (buf).n);   \
            snap_in in_;                                                         \
            snap_in_init(&in_, (buf).p, len_);                                   \
            void *r_ = restore(&in_);                                            \
            if (r_ != NULL || !in_.failed) {                                     \
                fprintf(stderr, "%s:%d: a %zu-byte prefix of %zu restored\n",    \
                        __FILE__, __LINE__, len_, (buf).n);                      \
                unit_failures_++;                                                \
            }                                                                    \
            release(r_);                                                         \
        }                                                                        \
        unsigned char *copy_ = malloc((buf).n);                                  \
        for (int k_ = 0; copy_ && k_ < 300; k_++) {                              \
            memcpy(copy_, (buf).p, (buf).n);                                     \
            copy_[(rnd)() % (buf).n] ^= (unsigned char)(1 + (rnd)() % 255);      \
            snap_in in_;                                                         \
            snap_in_init(&in_, copy_, (buf).n);                                  \
            release(restore(&in_));                                              \
        }                                                                        \
        free(copy_);                                                             \
    } while (0)

#endif
