/*
 * test_rfc3339.c -- unit tests for lib/rfc3339: RFC 3339 parsing and
 * formatting, civil-date arithmetic.
 *
 * The epoch values below were computed independently with GNU date
 * (`date -u -d '<time>' +%s`) and are facts about the calendar.
 */
#include <stdio.h>
#include <string.h>

#include "rfc3339.h"
#include "unit.h"

#include <stdint.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

static void parse_is(const char *s, int64_t want, int line)
{
    int64_t got = 12345;
    int rc = rfc3339_parse(s, &got);
    if (rc != 0 || got != want) {
        fprintf(stderr, "%s:%d: rfc3339_parse(\"%s\") -> rc %d, %lld; expected %lld\n",
                __FILE__, line, s, rc, (long long)got, (long long)want);
        unit_failures_++;
    }
}

static void parse_rejects(const char *s, int line)
{
    int64_t got = 12345;
    int rc = rfc3339_parse(s, &got);
    if (rc != -1 || got != 12345) {
        fprintf(stderr, "%s:%d: rfc3339_parse(\"%s\") accepted (rc %d, %lld)\n", __FILE__,
                line, s ? s : "(null)", rc, (long long)got);
        unit_failures_++;
    }
}

#define PARSE_IS(s, want) parse_is((s), (want), __LINE__)
#define PARSE_REJECTS(s) parse_rejects((s), __LINE__)

/* ---- parse: accepted forms ---------------------------------------------- */

static void test_parse_known_epochs(void)
{
    PARSE_IS("1970-01-01T00:00:00Z", 0);
    PARSE_IS("1969-12-31T23:59:59Z", -1);
    PARSE_IS("2026-11-27T14:03:00-06:00", 1795809780);
    PARSE_IS("2026-11-27T20:03:00Z", 1795809780);
    PARSE_IS("2026-11-28T01:33:00+05:30", 1795809780);
    PARSE_IS("2024-02-29T12:00:00Z", 1709208000);
    PARSE_IS("2000-03-01T00:00:00Z", 951868800);
    PARSE_IS("1900-03-01T00:00:00Z", -2203891200LL);
    PARSE_IS("2100-03-01T00:00:00Z", 4107542400LL);
    PARSE_IS("2038-01-19T03:14:08Z", 2147483648LL);
    PARSE_IS("1969-07-20T20:17:40Z", -14182940);
    PARSE_IS("1950-06-15T08:30:00+05:30", -616885200LL);
    PARSE_IS("1901-01-01T00:00:00+01:00", -2177456400LL);
    /* -00:00 is accepted as UTC (RFC 3339 "unknown local offset"). */
    PARSE_IS("2026-11-27T20:03:00-00:00", 1795809780);
    PARSE_IS("2026-11-27T20:03:00+00:00", 1795809780);
    /* The largest offsets allowed. */
    PARSE_IS("2026-11-28T20:02:00+23:59", 1795809780);
    PARSE_IS("2026-11-26T20:04:00-23:59", 1795809780);
}

static void test_parse_variants(void)
{
    PARSE_IS("2026-11-27T20:03:00z", 1795809780);
    PARSE_IS("2026-11-27t20:03:00Z", 1795809780);
    PARSE_IS("2026-11-27 20:03:00Z", 1795809780);
    PARSE_IS("2026-11-27 14:03:00-06:00", 1795809780);
    PARSE_IS("2026-11-27t14:03:00-06:00", 1795809780);
}

static void test_parse_fraction_truncated(void)
{
    PARSE_IS("2026-11-27T20:03:00.0Z", 1795809780);
    PARSE_IS("2026-11-27T20:03:00.5Z", 1795809780);
    PARSE_IS("2026-11-27T20:03:00.999Z", 1795809780);
    PARSE_IS("2026-11-27T14:03:00.123456-06:00", 1795809780);
    PARSE_IS("2026-03-15T23:59:59.999999999Z", 1773619199);
    /* Truncation is towards the earlier instant also before 1970. */
    PARSE_IS("1969-12-31T23:59:59.9Z", -1);
    /* A '.' must be followed by at least one digit. */
    PARSE_REJECTS("2026-11-27T20:03:00.Z");
    PARSE_REJECTS("2026-11-27T20:03:00.-06:00");
    PARSE_REJECTS("2026-11-27T20:03:00,5Z");
}

static void test_parse_leap_second(void)
{
    /* 23:59:60 folds into the next second, the start of 2017. */
    PARSE_IS("2016-12-31T23:59:60Z", 1483228800);
    PARSE_IS("2016-12-31T17:59:60-06:00", 1483228800);
    PARSE_IS("2016-12-31T23:59:60.5Z", 1483228800);
    PARSE_REJECTS("2016-12-31T23:59:61Z");
    PARSE_REJECTS("2016-12-31T23:59:99Z");
}

static void test_parse_range_limits(void)
{
    PARSE_IS("1900-01-01T00:00:00Z", RFC3339_MIN);
    PARSE_IS("1900-01-01T00:00:00Z", -2208988800LL);
    PARSE_IS("2199-12-31T23:59:59Z", RFC3339_MAX);
    PARSE_IS("2199-12-31T23:59:59Z", 7258118399LL);
    PARSE_IS("1899-12-31T23:00:00-01:00", RFC3339_MIN);
    PARSE_IS("2199-12-31T23:00:00-00:59", 7258118340LL);
    /* Outside the range, whether by the date or by the offset. */
    PARSE_REJECTS("1899-12-31T23:59:59Z");
    PARSE_REJECTS("1899-06-01T00:00:00Z");
    PARSE_REJECTS("2200-01-01T00:00:00Z");
    PARSE_REJECTS("2200-06-01T00:00:00Z");
    PARSE_REJECTS("1900-01-01T00:30:00+01:00");
    PARSE_REJECTS("2199-12-31T23:30:00-01:00");
    PARSE_REJECTS("2199-12-31T23:59:60Z");
    PARSE_REJECTS("0000-01-01T00:00:00Z");
    PARSE_REJECTS("9999-12-31T23:59:59Z");
}

/* ---- parse: rejected forms ---------------------------------------------- */

static void test_parse_rejects_syntax(void)
{
    PARSE_REJECTS(NULL);
    PARSE_REJECTS("");
    PARSE_REJECTS("2026-11-27T14:03:00");       /* no offset */
    PARSE_REJECTS("2026-11-27T14:03:00.5");     /* no offset after fraction */
    PARSE_REJECTS("2026-11-27");                /* date only */
    PARSE_REJECTS("2026-11-27T14:03Z");         /* no seconds */
    PARSE_REJECTS("2026-11-27T14:03:00-06:00 "); /* trailing junk */
    PARSE_REJECTS("2026-11-27T14:03:00-06:00x");
    PARSE_REJECTS("2026-11-27T14:03:00ZZ");
    PARSE_REJECTS("2026-11-27T14:03:00Z\n");
    PARSE_REJECTS(" 2026-11-27T14:03:00Z");     /* leading junk */
    PARSE_REJECTS("2026-11-27X14:03:00Z");      /* bad separator */
    PARSE_REJECTS("2026-11-27_14:03:00Z");
    PARSE_REJECTS("2026-11-2714:03:00Z");
    PARSE_REJECTS("2026/11/27T14:03:00Z");
    PARSE_REJECTS("26-11-27T14:03:00Z");
    PARSE_REJECTS("+2026-11-27T14:03:00Z");
    PARSE_REJECTS("2026-1-27T14:03:00Z");
    PARSE_REJECTS("2026-11-7T14:03:00Z");
    PARSE_REJECTS("2026-11-27T4:03:00Z");
    PARSE_REJECTS("2026-11-27T14:3:00Z");
    PARSE_REJECTS("2026-11-27T14:03:0Z");
    PARSE_REJECTS("2026-11-27T14.03.00Z");
    PARSE_REJECTS("2026-11-27T14:03:00-0600");  /* offset without colon */
    PARSE_REJECTS("2026-11-27T14:03:00-06");
    PARSE_REJECTS("2026-11-27T14:03:00-6:00");
    PARSE_REJECTS("2026-11-27T14:03:00-06:0");
    PARSE_REJECTS("2026-11-27T14:03:00UTC");
    PARSE_REJECTS("2026-11-27T14:03:00 Z");
    PARSE_REJECTS("2026-11-27T14:03:00+");
    PARSE_REJECTS("2026-11-27T14:03:00-");
    PARSE_REJECTS("2026-11-27T");
    PARSE_REJECTS("2026-11-27T14:");
    PARSE_REJECTS("2026-11-27T14:03:");
    PARSE_REJECTS("T14:03:00Z");
    PARSE_REJECTS("2026-1a-27T14:03:00Z");
}

static void test_parse_rejects_values(void)
{
    /* Impossible dates. */
    PARSE_REJECTS("2026-02-30T10:00:00Z");
    PARSE_REJECTS("2026-02-29T10:00:00Z");
    PARSE_REJECTS("2025-02-29T10:00:00Z");
    PARSE_REJECTS("1900-02-29T10:00:00Z");
    PARSE_REJECTS("2100-02-29T10:00:00Z");
    PARSE_REJECTS("2026-04-31T10:00:00Z");
    PARSE_REJECTS("2026-06-31T10:00:00Z");
    PARSE_REJECTS("2026-09-31T10:00:00Z");
    PARSE_REJECTS("2026-11-31T10:00:00Z");
    PARSE_REJECTS("2026-01-32T10:00:00Z");
    PARSE_REJECTS("2026-00-10T10:00:00Z");
    PARSE_REJECTS("2026-13-10T10:00:00Z");
    PARSE_REJECTS("2026-11-00T10:00:00Z");
    /* Leap days that do exist. */
    PARSE_IS("2024-02-29T00:00:00Z", 1709164800);
    PARSE_IS("2000-02-29T00:00:00Z", 951782400);
    /* Clock fields. */
    PARSE_REJECTS("2026-11-27T24:00:00Z");
    PARSE_REJECTS("2026-11-27T25:00:00Z");
    PARSE_REJECTS("2026-11-27T14:60:00Z");
    PARSE_REJECTS("2026-11-27T14:99:00Z");
    /* Offsets. */
    PARSE_REJECTS("2026-11-27T14:03:00+24:00");
    PARSE_REJECTS("2026-11-27T14:03:00-24:00");
    PARSE_REJECTS("2026-11-27T14:03:00+05:60");
    PARSE_REJECTS("2026-11-27T14:03:00+99:00");
}

/* ---- format ------------------------------------------------------------- */

static void test_format_known(void)
{
    char buf[RFC3339_BUFSZ];
    CHECK_STR(rfc3339_format(0, 0, buf), "1970-01-01T00:00:00Z");
    CHECK_STR(rfc3339_format(-1, 0, buf), "1969-12-31T23:59:59Z");
    CHECK_STR(rfc3339_format(1795809780, 0, buf), "2026-11-27T20:03:00Z");
    CHECK_STR(rfc3339_format(1795809780, -6 * 3600, buf), "2026-11-27T14:03:00-06:00");
    CHECK_STR(rfc3339_format(1795809780, 5 * 3600 + 1800, buf), "2026-11-28T01:33:00+05:30");
    CHECK_STR(rfc3339_format(1795809780, -(9 * 3600 + 30 * 60), buf),
              "2026-11-27T10:33:00-09:30");
    CHECK_STR(rfc3339_format(-616885200LL, 5 * 3600 + 1800, buf), "1950-06-15T08:30:00+05:30");
    CHECK_STR(rfc3339_format(-14182940, 0, buf), "1969-07-20T20:17:40Z");
    CHECK_STR(rfc3339_format(RFC3339_MIN, 0, buf), "1900-01-01T00:00:00Z");
    CHECK_STR(rfc3339_format(RFC3339_MAX, 0, buf), "2199-12-31T23:59:59Z");
    CHECK_STR(rfc3339_format(RFC3339_MIN, -3600, buf), "1899-12-31T23:00:00-01:00");
    CHECK_STR(rfc3339_format(-86400, 0, buf), "1969-12-31T00:00:00Z");
    CHECK_STR(rfc3339_format(-86401, 0, buf), "1969-12-30T23:59:59Z");
    CHECK_STR(rfc3339_format(1709208000, 0, buf), "2024-02-29T12:00:00Z");
    /* The return value is the buffer. */
    CHECK(rfc3339_format(0, 0, buf) == buf);
}

static void test_format_roundtrip(void)
{
    static const int offsets[] = {0, -6 * 3600, 5 * 3600 + 30 * 60, -(3 * 3600 + 30 * 60),
                                  23 * 3600 + 59 * 60, -(23 * 3600 + 59 * 60), 60, -60};
    static const int64_t instants[] = {
        0, -1, 1, 59, 60, 86399, 86400, -86399, -86400, -86401,
        1795809780, 1709208000, 951868800, 2147483647LL, 2147483648LL,
        -14182940, -616885200LL, -2203891200LL, -2208988800LL + 86400 * 2,
        -1000000000LL, -1234567891LL, 4107542400LL, 7258118399LL - 86400 * 2,
        1483228799, 1483228800,
    };
    char buf[RFC3339_BUFSZ];
    for (size_t o = 0; o < NCASES(offsets); o++) {
        for (size_t i = 0; i < NCASES(instants); i++) {
            int64_t back = 0;
            rfc3339_format(instants[i], offsets[o], buf);
            CHECK(strlen(buf) < RFC3339_BUFSZ);
            if (rfc3339_parse(buf, &back) != 0 || back != instants[i]) {
                fprintf(stderr, "%s:%d: round trip %lld offset %d -> \"%s\" -> %lld\n",
                        __FILE__, __LINE__, (long long)instants[i], offsets[o], buf,
                        (long long)back);
                unit_failures_++;
            }
        }
    }
    /* A stride through the whole range, every offset, including seconds
       that are not multiples of a minute. */
    for (int64_t t = RFC3339_MIN + 2 * 86400; t < RFC3339_MAX - 2 * 86400; t += 7777777) {
        for (size_t o = 0; o < NCASES(offsets); o++) {
            int64_t back = 0;
            rfc3339_format(t, offsets[o], buf);
            if (rfc3339_parse(buf, &back) != 0 || back != t) {
                fprintf(stderr, "%s:%d: round trip %lld offset %d -> \"%s\" -> %lld\n",
                        __FILE__, __LINE__, (long long)t, offsets[o], buf, (long long)back);
                unit_failures_++;
            }
        }
    }
}

/* ---- civil-date arithmetic ---------------------------------------------- */

static void test_days_known(void)
{
    CHECK_INT(rfc3339_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(rfc3339_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(rfc3339_days_from_civil(1970, 1, 2), 1);
    CHECK_INT(rfc3339_days_from_civil(1900, 1, 1), -25567);
    CHECK_INT(rfc3339_days_from_civil(2199, 12, 31), 84005);
    CHECK_INT(rfc3339_days_from_civil(2000, 3, 1), 951868800 / 86400);
    CHECK_INT(rfc3339_days_from_civil(2024, 2, 29), 1709164800 / 86400);
    CHECK_INT(rfc3339_days_from_civil(2100, 3, 1), 4107542400LL / 86400);
    CHECK_INT(rfc3339_days_from_civil(1900, 3, 1), -2203891200LL / 86400);

    int64_t y;
    int m, d;
    rfc3339_civil_from_days(0, &y, &m, &d);
    CHECK_INT(y, 1970);
    CHECK_INT(m, 1);
    CHECK_INT(d, 1);
    rfc3339_civil_from_days(-1, &y, &m, &d);
    CHECK_INT(y, 1969);
    CHECK_INT(m, 12);
    CHECK_INT(d, 31);
    rfc3339_civil_from_days(-25567, &y, &m, &d);
    CHECK_INT(y, 1900);
    CHECK_INT(m, 1);
    CHECK_INT(d, 1);
    rfc3339_civil_from_days(84005, &y, &m, &d);
    CHECK_INT(y, 2199);
    CHECK_INT(m, 12);
    CHECK_INT(d, 31);
}

/*
 * Walk every day from 1900-01-01 to 2199-12-31: the day number goes up by
 * one per calendar day (the calendar walk is done here with days_in_month),
 * and civil_from_days inverts days_from_civil.
 */
static void test_days_roundtrip_every_day(void)
{
    int64_t expect = rfc3339_days_from_civil(1900, 1, 1);
    int64_t count = 0;
    int bad = 0;
    for (int64_t y = 1900; y <= 2199; y++) {
        for (int m = 1; m <= 12; m++) {
            int dim = rfc3339_days_in_month(y, m);
            for (int d = 1; d <= dim; d++) {
                int64_t n = rfc3339_days_from_civil(y, m, d);
                int64_t y2;
                int m2, d2;
                rfc3339_civil_from_days(n, &y2, &m2, &d2);
                if (n != expect || y2 != y || m2 != m || d2 != d) {
                    if (bad++ < 10)
                        fprintf(stderr,
                                "%s:%d: %04lld-%02d-%02d -> %lld (expected %lld) -> "
                                "%04lld-%02d-%02d\n",
                                __FILE__, __LINE__, (long long)y, m, d, (long long)n,
                                (long long)expect, (long long)y2, m2, d2);
                }
                expect++;
                count++;
            }
        }
    }
    if (bad)
        unit_failures_++;
    /* 300 years: 300 * 365 + leap days (73 = 75 multiples of 4, minus 1900,
       2100, plus nothing for 2000 which is a multiple of 400 and of 4). */
    CHECK_INT(count, 300 * 365 + 73);
    CHECK_INT(expect - 1, 84005);
}

static void test_days_in_month(void)
{
    static const int common[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int m = 1; m <= 12; m++) {
        CHECK_INT(rfc3339_days_in_month(2026, m), common[m - 1]);
        CHECK_INT(rfc3339_days_in_month(2024, m), m == 2 ? 29 : common[m - 1]);
    }
    CHECK_INT(rfc3339_days_in_month(1900, 2), 28); /* divisible by 100 */
    CHECK_INT(rfc3339_days_in_month(2100, 2), 28);
    CHECK_INT(rfc3339_days_in_month(2000, 2), 29); /* divisible by 400 */
    CHECK_INT(rfc3339_days_in_month(1904, 2), 29);
    CHECK_INT(rfc3339_days_in_month(2025, 2), 28);
    CHECK_INT(rfc3339_days_in_month(2199, 2), 28);
    CHECK_INT(rfc3339_days_in_month(2196, 2), 29);
}

/* ---- parse_date --------------------------------------------------------- */

static void test_parse_date(void)
{
    int y = -1, m = -1, d = -1;
    CHECK_INT(rfc3339_parse_date("2026-11-27", &y, &m, &d), 0);
    CHECK_INT(y, 2026);
    CHECK_INT(m, 11);
    CHECK_INT(d, 27);
    CHECK_INT(rfc3339_parse_date("2024-02-29", &y, &m, &d), 0);
    CHECK_INT(y, 2024);
    CHECK_INT(m, 2);
    CHECK_INT(d, 29);
    CHECK_INT(rfc3339_parse_date("2000-02-29", &y, &m, &d), 0);
    CHECK_INT(rfc3339_parse_date("1900-01-01", &y, &m, &d), 0);
    CHECK_INT(y, 1900);
    CHECK_INT(rfc3339_parse_date("2199-12-31", &y, &m, &d), 0);
    CHECK_INT(y, 2199);
    CHECK_INT(m, 12);
    CHECK_INT(d, 31);

    CHECK_INT(rfc3339_parse_date(NULL, &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2025-02-29", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("1900-02-29", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-02-30", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-04-31", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-13-01", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-00-01", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-01-00", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-1-01", &y, &m, &d), -1);
    /* outside the years instants may have (a query bound of year 0 once
       reached PostgreSQL, which refuses it: 500) */
    CHECK_INT(rfc3339_parse_date("0000-01-01", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("0000-01-02", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("1899-12-31", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2200-01-01", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-01-1", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026/01/01", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-01-01T00:00:00Z", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("2026-01-01 ", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date(" 2026-01-01", &y, &m, &d), -1);
    CHECK_INT(rfc3339_parse_date("20260101", &y, &m, &d), -1);
}

/* The hand-written formatter against snprintf, the reference, over years
   0..9999 and every offset form. */
static void test_format_matches_snprintf(void)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    const int offsets[] = {0, 3600, -3600, 19800, -34200, 20700, 50400, -43200, 60, -60};
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* 0000-01-01 .. 9999-12-31 */
        int64_t t = -62167219200LL + (int64_t)(x % 315537897600ULL);
        int off = offsets[i % 10];
        int64_t local = t + off;
        if (local < -62167219200LL || local >= 253402300800LL)
            continue;
        char got[RFC3339_BUFSZ], want[160];
        rfc3339_format(t, off, got);
        int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
        int64_t secs = local - days * 86400, y;
        int m, d, a = off < 0 ? -off : off;
        rfc3339_civil_from_days(days, &y, &m, &d);
        if (off == 0)
            snprintf(want, sizeof want, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
        else
            snprintf(want, sizeof want, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
                     (long long)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
                     (int)(secs % 60), off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
        if (strcmp(got, want) != 0) {
            CHECK_STR(got, want);
            return;
        }
    }
}

UNIT_MAIN(UNIT(test_format_matches_snprintf), UNIT(test_parse_known_epochs), UNIT(test_parse_variants),
          UNIT(test_parse_fraction_truncated), UNIT(test_parse_leap_second),
          UNIT(test_parse_range_limits), UNIT(test_parse_rejects_syntax),
          UNIT(test_parse_rejects_values), UNIT(test_format_known),
          UNIT(test_format_roundtrip), UNIT(test_days_known),
          UNIT(test_days_roundtrip_every_day), UNIT(test_days_in_month),
          UNIT(test_parse_date))
