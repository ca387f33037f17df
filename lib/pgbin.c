/*
 * pgbin.c -- see pgbin.h.
 */
#include "pgbin.h"

#include <string.h>

static const unsigned char signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int pgbin_begin(pgbin *b, const void *tuple, size_t len)
{
    b->p = tuple;
    b->end = b->p + len;
    b->left = 0;
    if (len < 2)
        return -1;
    int16_t n = (int16_t)((uint16_t)b->p[0] << 8 | b->p[1]);
    if (n < 0)
        return -1;
    b->p += 2;
    b->left = n;
    return n;
}

/* The next field: its bytes in *data, length in *n (-1: NULL). 0, or -1 when malformed. */
static int field(pgbin *b, const unsigned char **data, int32_t *n)
{
    if (b->left <= 0 || b->end - b->p < 4)
        return -1;
    *n = (int32_t)be32(b->p);
    b->p += 4;
    b->left--;
    if (*n < -1 || (*n > 0 && b->end - b->p < *n))
        return -1;
    *data = b->p;
    if (*n > 0)
        b->p += *n;
    return 0;
}

/* A fixed-size field: 1 with its bytes in *data, 0 NULL, -1 malformed or of another size. */
static int fixed(pgbin *b, int32_t size, const unsigned char **data)
{
    int32_t n;
    if (field(b, data, &n) != 0)
        return -1;
    if (n == -1)
        return 0;
    return n == size ? 1 : -1;
}

int pgbin_int2(pgbin *b, int16_t *out)
{
    const unsigned char *d;
    int rc = fixed(b, 2, &d);
    if (rc == 1)
        *out = (int16_t)((uint16_t)d[0] << 8 | d[1]);
    return rc;
}

int pgbin_int4(pgbin *b, int32_t *out)
{
    const unsigned char *d;
    int rc = fixed(b, 4, &d);
    if (rc == 1)
        *out = (int32_t)be32(d);
    return rc;
}

int pgbin_bool(pgbin *b, int *out)
{
    const unsigned char *d;
    int rc = fixed(b, 1, &d);
    if (rc == 1) {
        if (d[0] > 1)
            return -1;
        *out = d[0];
    }
    return rc;
}

int pgbin_int8(pgbin *b, int64_t *out)
{
    const unsigned char *d;
    int rc = fixed(b, 8, &d);
    if (rc == 1)
        *out = (int64_t)be64(d);
    return rc;
}

int pgbin_float8(pgbin *b, double *out)
{
    const unsigned char *d;
    int rc = fixed(b, 8, &d);
    if (rc == 1) {
        uint64_t u = be64(d);
        memcpy(out, &u, sizeof *out);
    }
    return rc;
}

int pgbin_timestamptz(pgbin *b, int64_t *unix_seconds)
{
    int64_t us;
    int rc = pgbin_int8(b, &us);
    if (rc != 1)
        return rc;
    int64_t s = us / 1000000, rem = us % 1000000;
    if (rem < 0) { /* floor */
        s--;
        rem += 1000000;
    }
    if (rem > 500000 || (rem == 500000 && (s & 1)))
        s++;
    *unix_seconds = s + 946684800; /* 2000-01-01 (an even number of seconds) */
    return 1;
}

int pgbin_bytes(pgbin *b, const char **s, size_t *len)
{
    const unsigned char *d;
    int32_t n;
    if (field(b, &d, &n) != 0)
        return -1;
    if (n == -1)
        return 0;
    *s = (const char *)d;
    *len = (size_t)n;
    return 1;
}

size_t pgbin_header(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len < 19 || memcmp(p, signature, sizeof signature) != 0)
        return 0;
    uint32_t ext = be32(p + 15);
    if (ext > len - 19)
        return 0;
    return 19 + ext;
}

int pgbin_is_trailer(const void *data, size_t len)
{
    const unsigned char *p = data;
    return len == 2 && p[0] == 0xff && p[1] == 0xff;
}
