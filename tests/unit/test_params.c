/*
 * test_params.c -- unit tests for lib/params: each parameter kind's rule.
 */
#include "params.h"
#include "rfc3339.h"
#include "unit.h"

static void test_time(void)
{
    params_time t;
    CHECK_INT(params_time_parse("2026-03-08", &t), 0);
    CHECK_INT(t.is_date, 1);
    CHECK_INT(t.day, rfc3339_days_from_civil(2026, 3, 8));
    CHECK_INT(t.y, 2026);
    CHECK_INT(t.m, 3);
    CHECK_INT(t.d, 8);
    CHECK_INT(params_time_parse("2026-03-08T10:15:00Z", &t), 0);
    CHECK_INT(t.is_date, 0);
    CHECK_INT(t.t, rfc3339_days_from_civil(2026, 3, 8) * 86400 + 36900);
    CHECK_INT(params_time_parse("2026-03-08T10:15:00+01:00", &t), 0);
    CHECK_INT(t.t, rfc3339_days_from_civil(2026, 3, 8) * 86400 + 33300);
    /* refused: no offset, impossible dates, outside 1900..2199, junk */
    static const char *const bad[] = {"2026-03-08T10:15:00", "2026-02-30", "1899-12-31",
                                      "2200-01-01", "2026-3-8", "", "yesterday",
                                      "2026-03-08 ", " 2026-03-08"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t.t = 42;
        CHECK_INT(params_time_parse(bad[i], &t), -1);
        CHECK_INT(t.t, 42); /* nothing written */
    }
}

static void test_bbox(void)
{
    double b[4] = {0};
    CHECK_INT(params_bbox("-74.1,40.6,-73.9,40.8", b), 0);
    CHECK_NEAR(b[0], -74.1, 0);
    CHECK_NEAR(b[1], 40.6, 0);
    CHECK_NEAR(b[2], -73.9, 0);
    CHECK_NEAR(b[3], 40.8, 0);
    CHECK_INT(params_bbox("-180,-90,180,90", b), 0);
    CHECK_INT(params_bbox("1e1,+2,1.5E1,3.", b), 0);
    CHECK_NEAR(b[0], 10, 0);
    CHECK_NEAR(b[2], 15, 0);
    /* zero width: a line or a point is a box */
    CHECK_INT(params_bbox("-74,40.6,-74,40.8", b), 0);
    CHECK_INT(params_bbox("-74,40.7,-73.9,40.7", b), 0);
    CHECK_INT(params_bbox("-74,40.7,-74,40.7", b), 0);
    CHECK_NEAR(b[0], b[2], 0);
    static const char *const bad[] = {
        "-73.9,40.6,-74.1,40.8", /* west > east: no antimeridian boxes */
        "-74,40.8,-73.9,40.6",   /* south > north */
        "-181,40,-73,41",        "-74,-91,-73,41", "-74,40,181,41", "-74,40,-73,90.5",
        "nan,40,-73,41",         "-74,inf,-73,41", "0x1p3,40,50,41", "1e999,40,50,41",
        "-74,40,-73",            "-74,40,-73,41,",  "-74,40,-73,41,0", ",40,-73,41",
        "-74, 40,-73,41",        "-74,40,-73,41 ", "",              "-74,,-73,41",
        "1-2,40,50,41",
        "0.00000000000000000000000000000000000000000000000000000000000000001,0,1,1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double o[4] = {7, 7, 7, 7};
        if (params_bbox(bad[i], o) != -1) {
            fprintf(stderr, "%s:%d: params_bbox(\"%s\") accepted\n", __FILE__, __LINE__, bad[i]);
            unit_failures_++;
        }
        CHECK_NEAR(o[0] + o[1] + o[2] + o[3], 28, 0); /* nothing written */
    }
}

static void test_bool(void)
{
    int v = 7;
    CHECK_INT(params_bool("true", &v), 0);
    CHECK_INT(v, 1);
    CHECK_INT(params_bool("false", &v), 0);
    CHECK_INT(v, 0);
    v = 7;
    CHECK_INT(params_bool("TRUE", &v), -1);
    CHECK_INT(params_bool("1", &v), -1);
    CHECK_INT(params_bool("", &v), -1);
    CHECK_INT(params_bool("true ", &v), -1);
    CHECK_INT(v, 7);
}

static void test_int(void)
{
    long v = 0;
    CHECK_INT(params_int("1", 1, 1000, &v), 0);
    CHECK_INT(v, 1);
    CHECK_INT(params_int("1000", 1, 1000, &v), 0);
    CHECK_INT(v, 1000);
    /* as strtol reads it: leading spaces and a sign */
    CHECK_INT(params_int(" 25", 1, 1000, &v), 0);
    CHECK_INT(v, 25);
    CHECK_INT(params_int("+7", 1, 1000, &v), 0);
    CHECK_INT(v, 7);
    v = 99;
    static const char *const bad[] = {"0", "1001", "-1", "", " ", "+", "12x", "1.5", "25 ",
                                      "0x10", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(params_int(bad[i], 1, 1000, &v), -1);
    CHECK_INT(v, 99);
    CHECK_INT(params_int("-5", -10, -1, &v), 0);
    CHECK_INT(v, -5);
}

static void test_list(void)
{
    char s[] = ",a,,bc,d,";
    size_t at = 0;
    CHECK_STR(params_list_next(s, &at), "a");
    CHECK_STR(params_list_next(s, &at), "bc");
    CHECK_STR(params_list_next(s, &at), "d");
    CHECK(params_list_next(s, &at) == NULL);
    CHECK(params_list_next(s, &at) == NULL); /* stays at the end */
    char one[] = "x y";
    at = 0;
    CHECK_STR(params_list_next(one, &at), "x y"); /* nothing trimmed */
    CHECK(params_list_next(one, &at) == NULL);
    char none[] = ",,,";
    at = 0;
    CHECK(params_list_next(none, &at) == NULL);
    char empty[] = "";
    at = 0;
    CHECK(params_list_next(empty, &at) == NULL);
}

static void test_priorities(void)
{
    unsigned b = 0;
    CHECK_INT(params_priorities("0", &b), 0);
    CHECK_INT(b, 1u << 1);
    CHECK_INT(params_priorities("1,2,9", &b), 0);
    CHECK_INT(b, (1u << 2) | (1u << 3) | (1u << 10));
    CHECK_INT(params_priorities("3,3", &b), 0);
    CHECK_INT(b, 1u << 4);
    b = 5;
    static const char *const bad[] = {"", "10", "1,", ",1", "1,,2", "a", "1 ,2", "-1", "1;2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(params_priorities(bad[i], &b), -1);
    CHECK_INT(b, 5);
}

UNIT_MAIN(UNIT(test_time), UNIT(test_bbox), UNIT(test_bool), UNIT(test_int), UNIT(test_list),
          UNIT(test_priorities))
