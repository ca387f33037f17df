/*
 * pgbin.h -- reading one tuple of PostgreSQL's binary COPY format.
 *
 * A tuple is a 16-bit field count, then per field a 32-bit length (-1 for
 * NULL) and that many bytes, all big-endian (PostgreSQL's documentation,
 * "COPY", "Binary Format"). The daemon loads its cubes with
 * COPY ... (FORMAT binary): no number is printed by PostgreSQL or parsed
 * back here. The readers check each field's length against its type and
 * never read past the tuple.
 */
#ifndef COMPSTAT_PGBIN_H
#define COMPSTAT_PGBIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgbin {
    const unsigned char *p, *end;
    int left; /* fields not read yet */
} pgbin;

/* Start reading a tuple of len bytes. Returns its field count, or -1 when malformed. */
int pgbin_begin(pgbin *b, const void *tuple, size_t len);

/*
 * Read the next field as the given type. Each returns 1 with the value,
 * 0 for NULL (*out untouched), -1 when the field is missing, of the wrong
 * length, or runs past the tuple.
 */
int pgbin_int2(pgbin *b, int16_t *out);
int pgbin_int4(pgbin *b, int32_t *out);
int pgbin_int8(pgbin *b, int64_t *out);
int pgbin_float8(pgbin *b, double *out);
/* A boolean (one byte, 0 or 1): *out 0 or 1; any other byte is -1. */
int pgbin_bool(pgbin *b, int *out);
/*
 * A timestamptz (microseconds since 2000-01-01 UTC) as whole seconds since
 * the Unix epoch, rounded as date_part('epoch', t)::bigint rounds: to the
 * nearest second, halves to even.
 */
int pgbin_timestamptz(pgbin *b, int64_t *unix_seconds);
/* Text (or any bytes): *s points into the tuple, not NUL-terminated. */
int pgbin_bytes(pgbin *b, const char **s, size_t *len);

/* The binary COPY file header: its length when data starts with one, else 0. */
size_t pgbin_header(const void *data, size_t len);
/* 1 when data is the file trailer (a field count of -1). */
int pgbin_is_trailer(const void *data, size_t len);

#endif
