/*
 * test_pgbin.c -- unit tests for lib/pgbin against bytes PostgreSQL 15
 * wrote itself:
 *
 *   COPY (SELECT 7::int4, -2::int8, NULL::int8, -87.65::float8, 'a\tb'::text,
 *                (-3)::int2
 *         UNION ALL SELECT -1, 1732790000000, 5, 41.9, '', 0) TO STDOUT (FORMAT binary)
 *
 * (UNION ALL makes the last column int4), then malformed tuples built from
 * them: every truncation, wrong lengths, a field too many.
 */
#include <string.h>

#include "pgbin.h"
#include "unit.h"

#define HEADER 19
#define TUPLE1 (HEADER)
#define TUPLE1_LEN 54
#define TUPLE2 (TUPLE1 + TUPLE1_LEN)
#define TUPLE2_LEN 58

static const unsigned char copy[HEADER + TUPLE1_LEN + TUPLE2_LEN + 2] = {
    0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, /* header: signature, flags, extension length 0 */
    0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x08,
    0xc0, 0x55, 0xe9, 0x99, 0x99, 0x99, 0x99, 0x9a, 0x00, 0x00, 0x00, 0x04, 0x61, 0x5c, 0x74,
    0x62, 0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xfd, /* tuple 1 */
    0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x08, 0x00,
    0x00, 0x01, 0x93, 0x72, 0x55, 0x19, 0x80, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x08, 0x40, 0x44, 0xf3, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, /* tuple 2 */
    0xff, 0xff, /* trailer */
};

static void test_header_and_trailer(void)
{
    CHECK_INT(pgbin_header(copy, sizeof copy), HEADER);
    CHECK_INT(pgbin_header(copy, HEADER - 1), 0);
    CHECK_INT(pgbin_header(copy + 1, sizeof copy - 1), 0);
    unsigned char ext[HEADER + 4];
    memcpy(ext, copy, HEADER);
    ext[18] = 4; /* a 4-byte header extension */
    CHECK_INT(pgbin_header(ext, sizeof ext), HEADER + 4);
    CHECK_INT(pgbin_header(ext, sizeof ext - 1), 0); /* extension cut short */
    CHECK_INT(pgbin_is_trailer(copy + sizeof copy - 2, 2), 1);
    CHECK_INT(pgbin_is_trailer(copy + TUPLE1, 2), 0);
    pgbin b;
    CHECK_INT(pgbin_begin(&b, copy + sizeof copy - 2, 2), -1); /* the trailer is no tuple */
}

static void test_tuples(void)
{
    pgbin b;
    int32_t i4 = 0;
    int64_t i8 = 0, untouched = 42;
    double f = 0;
    const char *s = NULL;
    size_t n = 99;

    CHECK_INT(pgbin_begin(&b, copy + TUPLE1, TUPLE1_LEN), 6);
    CHECK_INT(pgbin_int4(&b, &i4), 1);
    CHECK_INT(i4, 7);
    CHECK_INT(pgbin_int8(&b, &i8), 1);
    CHECK_INT(i8, -2);
    CHECK_INT(pgbin_int8(&b, &untouched), 0); /* NULL */
    CHECK_INT(untouched, 42);
    CHECK_INT(pgbin_float8(&b, &f), 1);
    CHECK(f == -87.65);
    CHECK_INT(pgbin_bytes(&b, &s, &n), 1);
    CHECK_INT(n, 4);
    CHECK(memcmp(s, "a\\tb", 4) == 0);
    CHECK_INT(pgbin_int4(&b, &i4), 1);
    CHECK_INT(i4, -3);
    CHECK_INT(pgbin_int4(&b, &i4), -1); /* no seventh field */
    CHECK(b.p == copy + TUPLE2);        /* exactly the tuple was read */

    CHECK_INT(pgbin_begin(&b, copy + TUPLE2, TUPLE2_LEN), 6);
    CHECK_INT(pgbin_int4(&b, &i4), 1);
    CHECK_INT(i4, -1);
    CHECK_INT(pgbin_int8(&b, &i8), 1);
    CHECK(i8 == 1732790000000LL);
    CHECK_INT(pgbin_int8(&b, &i8), 1);
    CHECK_INT(i8, 5);
    CHECK_INT(pgbin_float8(&b, &f), 1);
    CHECK(f == 41.9);
    CHECK_INT(pgbin_bytes(&b, &s, &n), 1);
    CHECK_INT(n, 0);
    CHECK_INT(pgbin_int4(&b, &i4), 1);
    CHECK_INT(i4, 0);
}

static void test_wrong_types(void)
{
    pgbin b;
    int16_t i2;
    int64_t i8;
    double f;
    pgbin_begin(&b, copy + TUPLE1, TUPLE1_LEN);
    CHECK_INT(pgbin_int8(&b, &i8), -1); /* a 4-byte field read as int8 */
    pgbin_begin(&b, copy + TUPLE1, TUPLE1_LEN);
    CHECK_INT(pgbin_int2(&b, &i2), -1);
    pgbin_begin(&b, copy + TUPLE1, TUPLE1_LEN);
    int32_t i4;
    pgbin_int4(&b, &i4);
    CHECK_INT(pgbin_float8(&b, &f), 1); /* 8 bytes are 8 bytes: the caller knows its columns */
}

/* COPY (SELECT true, false, NULL::bool) TO STDOUT (FORMAT binary): the
   tuple after the header, as PostgreSQL 15 wrote it. */
static void test_bool(void)
{
    static const unsigned char t[] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00,
                                      0x00, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff};
    pgbin b;
    int v = -7;
    CHECK_INT(pgbin_begin(&b, t, sizeof t), 3);
    CHECK_INT(pgbin_bool(&b, &v), 1);
    CHECK_INT(v, 1);
    CHECK_INT(pgbin_bool(&b, &v), 1);
    CHECK_INT(v, 0);
    CHECK_INT(pgbin_bool(&b, &v), 0); /* NULL */
    CHECK_INT(v, 0);
    CHECK_INT(pgbin_bool(&b, &v), -1); /* no fourth field */
    unsigned char bad[sizeof t];
    memcpy(bad, t, sizeof t);
    bad[6] = 2; /* not a boolean */
    CHECK_INT(pgbin_begin(&b, bad, sizeof bad), 3);
    CHECK_INT(pgbin_bool(&b, &v), -1);
    pgbin_begin(&b, copy + TUPLE1, TUPLE1_LEN);
    CHECK_INT(pgbin_bool(&b, &v), -1); /* a 4-byte field is not one */
}

static void test_truncated(void)
{
    /* Every prefix of a tuple: reading all six fields fails somewhere, never reads past. */
    for (size_t len = 0; len < TUPLE1_LEN; len++) {
        unsigned char buf[TUPLE1_LEN];
        memcpy(buf, copy + TUPLE1, len);
        pgbin b;
        int rc = pgbin_begin(&b, buf, len);
        if (len < 2) {
            CHECK_INT(rc, -1);
            continue;
        }
        int32_t i4;
        int64_t i8;
        double f;
        const char *s;
        size_t n;
        int bad = pgbin_int4(&b, &i4) < 0 || pgbin_int8(&b, &i8) < 0 || pgbin_int8(&b, &i8) < 0 ||
                  pgbin_float8(&b, &f) < 0 || pgbin_bytes(&b, &s, &n) < 0 ||
                  pgbin_int4(&b, &i4) < 0;
        CHECK_INT(bad, 1);
        CHECK(b.p <= buf + len);
    }
    /* A length that runs past the tuple, and a negative one other than -1. */
    unsigned char buf[TUPLE1_LEN];
    memcpy(buf, copy + TUPLE1, TUPLE1_LEN);
    buf[2 + 4 + 4 + 3] = 0x20; /* field 2 claims 32 bytes */
    buf[2 + 4 + 4 + 2] = 0x7f;
    pgbin b;
    int32_t i4;
    const char *s;
    size_t n;
    pgbin_begin(&b, buf, sizeof buf);
    CHECK_INT(pgbin_int4(&b, &i4), 1);
    CHECK_INT(pgbin_bytes(&b, &s, &n), -1);
    memcpy(buf, copy + TUPLE1, TUPLE1_LEN);
    buf[2] = 0xff, buf[3] = 0xff, buf[4] = 0xff, buf[5] = 0xfe; /* length -2 */
    pgbin_begin(&b, buf, sizeof buf);
    CHECK_INT(pgbin_int4(&b, &i4), -1);
}

/* timestamptz from PostgreSQL's own bytes, against date_part('epoch', t)::bigint:
   COPY (SELECT '2026-11-28 10:00:00+00'::timestamptz, '1999-12-31 23:59:59+00',
   '1969-07-20 20:17:40+00', '2026-01-01 00:00:00.5+00', '2026-01-01 00:00:01.5+00',
   NULL) TO STDOUT (FORMAT binary) -> 1795860000, 946684799, -14182940, 1767225600,
   1767225602, NULL. */
static void test_timestamptz(void)
{
    static const unsigned char row[] = {
        0x00, 0x06, 0x00, 0x00, 0x00, 0x08, 0x00, 0x03, 0x04, 0x52, 0x02, 0x25, 0xe8, 0x00,
        0x00, 0x00, 0x00, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0xbd, 0xc0, 0x00, 0x00,
        0x00, 0x08, 0xff, 0xfc, 0x96, 0x18, 0x8b, 0xae, 0x61, 0x00, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x02, 0xea, 0x47, 0x0a, 0xf0, 0x01, 0x20, 0x00, 0x00, 0x00, 0x08, 0x00, 0x02,
        0xea, 0x47, 0x0a, 0xff, 0x43, 0x60, 0xff, 0xff, 0xff, 0xff};
    static const int64_t want[] = {1795860000, 946684799, -14182940, 1767225600, 1767225602};
    pgbin b;
    CHECK_INT(pgbin_begin(&b, row, sizeof row), 6);
    for (int i = 0; i < 5; i++) {
        int64_t t = 0;
        CHECK_INT(pgbin_timestamptz(&b, &t), 1);
        CHECK(t == want[i]);
    }
    int64_t t = 42;
    CHECK_INT(pgbin_timestamptz(&b, &t), 0);
    CHECK(t == 42);
}

UNIT_MAIN(UNIT(test_timestamptz), UNIT(test_bool), UNIT(test_header_and_trailer), UNIT(test_tuples), UNIT(test_wrong_types),
          UNIT(test_truncated))
