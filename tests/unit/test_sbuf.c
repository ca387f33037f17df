/*
 * test_sbuf.c -- unit tests for lib/sbuf: the growable text buffer,
 * PostgreSQL array literals and CSV fields.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sbuf.h"
#include "unit.h"

static void test_empty(void)
{
    sbuf b;
    sbuf_init(&b);
    CHECK_STR(sbuf_str(&b), "");
    CHECK_INT(b.len, 0);
    CHECK_INT(sbuf_failed(&b), 0);
    sbuf_reset(&b); /* with no allocation */
    CHECK_STR(sbuf_str(&b), "");
    sbuf_free(&b);
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
    sbuf_free(&b); /* twice is fine */

    /* An empty append still yields a NUL-terminated buffer. */
    sbuf_init(&b);
    sbuf_append(&b, "", 0);
    CHECK(b.data != NULL);
    CHECK_STR(b.data, "");
    CHECK_STR(sbuf_str(&b), "");
    sbuf_free(&b);
}

static void test_append_growth(void)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "hello");
    sbuf_putc(&b, ',');
    sbuf_putc(&b, ' ');
    sbuf_append(&b, "world!!!", 5);
    CHECK_STR(sbuf_str(&b), "hello, world");
    CHECK_INT(b.len, 12);

    /* Grow well past the first allocation, one byte at a time and in
       chunks; check every byte afterwards. */
    sbuf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(sbuf_str(&b), "");
    for (int i = 0; i < 100000; i++)
        sbuf_putc(&b, (char)('a' + i % 26));
    CHECK_INT(b.len, 100000);
    CHECK(b.cap > b.len);
    int bad = 0;
    for (int i = 0; i < 100000; i++)
        bad += b.data[i] != (char)('a' + i % 26);
    CHECK_INT(bad, 0);
    CHECK(b.data[b.len] == '\0');

    char chunk[3000];
    memset(chunk, 'x', sizeof chunk);
    sbuf_reset(&b);
    for (int i = 0; i < 100; i++)
        sbuf_append(&b, chunk, sizeof chunk);
    CHECK_INT(b.len, 300000);
    CHECK_INT(strlen(sbuf_str(&b)), 300000);
    CHECK_INT(sbuf_failed(&b), 0);

    /* One append much larger than the buffer. */
    sbuf_free(&b);
    static char big[1 << 20];
    memset(big, 'y', sizeof big - 1);
    sbuf_append(&b, "ab", 2);
    sbuf_puts(&b, big);
    CHECK_INT(b.len, 2 + sizeof big - 1);
    CHECK(b.data[0] == 'a' && b.data[1] == 'b' && b.data[2] == 'y');
    CHECK(b.data[b.len - 1] == 'y' && b.data[b.len] == '\0');

    /* Embedded NUL bytes are kept (len counts them). */
    sbuf_reset(&b);
    sbuf_append(&b, "a\0b", 3);
    CHECK_INT(b.len, 3);
    CHECK(memcmp(b.data, "a\0b", 4) == 0);
    sbuf_free(&b);
}

static void test_printf(void)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "%d-%s-%.2f", 42, "x", 1.5);
    CHECK_STR(sbuf_str(&b), "42-x-1.50");
    sbuf_printf(&b, "%s", "");
    CHECK_STR(sbuf_str(&b), "42-x-1.50");
    sbuf_printf(&b, "|%05lld|", -12LL);
    CHECK_STR(sbuf_str(&b), "42-x-1.50|-0012|");
    CHECK_INT(b.len, strlen("42-x-1.50|-0012|"));

    /* Output longer than the current capacity, then many appends. */
    sbuf_reset(&b);
    sbuf_printf(&b, "%1000d", 7);
    CHECK_INT(b.len, 1000);
    CHECK(b.data[998] == ' ' && b.data[999] == '7' && b.data[1000] == '\0');
    sbuf_reset(&b);
    for (int i = 0; i < 20000; i++)
        sbuf_printf(&b, "%d,", i % 10);
    CHECK_INT(b.len, 40000);
    CHECK(strncmp(sbuf_str(&b), "0,1,2,3,4,5,6,7,8,9,0,", 22) == 0);
    CHECK(strcmp(sbuf_str(&b) + 39980, "0,1,2,3,4,5,6,7,8,9,") == 0);

    /* printf into a fresh buffer with empty output still terminates. */
    sbuf_free(&b);
    sbuf_printf(&b, "%s", "");
    CHECK_INT(b.len, 0);
    CHECK_STR(sbuf_str(&b), "");
    sbuf_free(&b);
}

/* Build an array of strings (NULL elements allowed) and return it. */
static const char *str_array(sbuf *b, const char *const *elems, size_t n)
{
    sbuf_reset(b);
    sbuf_array_begin(b);
    for (size_t i = 0; i < n; i++)
        sbuf_array_str(b, elems[i]);
    sbuf_array_end(b);
    return sbuf_str(b);
}

static void test_pg_array(void)
{
    sbuf b;
    sbuf_init(&b);

    /* Empty array. */
    sbuf_array_begin(&b);
    sbuf_array_end(&b);
    CHECK_STR(sbuf_str(&b), "{}");

    {
        const char *e[] = {"2A12"};
        CHECK_STR(str_array(&b, e, 1), "{\"2A12\"}");
    }
    {
        const char *e[] = {"a", "b c", ""};
        CHECK_STR(str_array(&b, e, 3), "{\"a\",\"b c\",\"\"}");
    }
    {
        /* Quotes and backslashes escaped; commas, braces and spaces are
           safe inside the quotes. */
        const char *e[] = {"say \"hi\"", "back\\slash", "{x,y}", "\\\"", " lead"};
        CHECK_STR(str_array(&b, e, 5),
                  "{\"say \\\"hi\\\"\",\"back\\\\slash\",\"{x,y}\",\"\\\\\\\"\",\" lead\"}");
    }
    {
        /* NULL elements, and the string "NULL" (quoted, so distinct). */
        const char *e[] = {NULL, "NULL", NULL};
        CHECK_STR(str_array(&b, e, 3), "{NULL,\"NULL\",NULL}");
    }
    {
        /* UTF-8 passes through untouched. */
        const char *e[] = {"Zona 1 \xC3\xB1", "\xE2\x82\xAC"};
        CHECK_STR(str_array(&b, e, 2), "{\"Zona 1 \xC3\xB1\",\"\xE2\x82\xAC\"}");
    }

    /* Numbers unquoted, mixed with NULL. */
    sbuf_reset(&b);
    sbuf_array_begin(&b);
    sbuf_array_raw(&b, "1");
    sbuf_array_null(&b);
    sbuf_array_raw(&b, "-2.5");
    sbuf_array_raw(&b, "1e-07");
    sbuf_array_end(&b);
    CHECK_STR(sbuf_str(&b), "{1,NULL,-2.5,1e-07}");

    /* A lone NULL. */
    sbuf_reset(&b);
    sbuf_array_begin(&b);
    sbuf_array_null(&b);
    sbuf_array_end(&b);
    CHECK_STR(sbuf_str(&b), "{NULL}");

    /* Arrays built after other text in the same buffer (a list of
       literals, as a multi-parameter statement might). */
    sbuf_reset(&b);
    sbuf_puts(&b, "x=");
    sbuf_array_begin(&b);
    sbuf_array_raw(&b, "1");
    sbuf_array_raw(&b, "2");
    sbuf_array_end(&b);
    sbuf_puts(&b, " y=");
    sbuf_array_begin(&b);
    sbuf_array_str(&b, "a");
    sbuf_array_end(&b);
    sbuf_puts(&b, " z=");
    sbuf_array_begin(&b);
    sbuf_array_end(&b);
    CHECK_STR(sbuf_str(&b), "x={1,2} y={\"a\"} z={}");

    /* Many elements force growth mid-array. */
    sbuf_reset(&b);
    sbuf_array_begin(&b);
    for (int i = 0; i < 5000; i++)
        sbuf_array_str(&b, i % 2 ? "q\"" : "w");
    sbuf_array_end(&b);
    /* 2500 * ("w" quoted = 3) + 2500 * ("q\"" escaped+quoted = 5) + 4999 commas + 2 */
    CHECK_INT(b.len, 2500 * 3 + 2500 * 5 + 4999 + 2);
    CHECK(strncmp(sbuf_str(&b), "{\"w\",\"q\\\"\",\"w\"", 14) == 0);
    CHECK(b.data[b.len - 1] == '}');
    sbuf_free(&b);
}

static void test_csv(void)
{
    sbuf b;
    sbuf_init(&b);
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"with space", "with space"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"\"", "\"\"\"\""},
        {"line\nbreak", "\"line\nbreak\""},
        {"cr\rhere", "\"cr\rhere\""},
        {"crlf\r\n", "\"crlf\r\n\""},
        {"semi;colon", "semi;colon"},
        {"back\\slash", "back\\slash"},
        {"'single'", "'single'"},
        {"6a Avenida 12-34, Zona 1", "\"6a Avenida 12-34, Zona 1\""},
        {"\xC3\xB1,\xE2\x82\xAC", "\"\xC3\xB1,\xE2\x82\xAC\""},
        /* formula injection: what a spreadsheet would run becomes text */
        {"=HYPERLINK(\"http://x.example/\",\"x\")", "\"'=HYPERLINK(\"\"http://x.example/\"\",\"\"x\"\")\""},
        {"@SUM(1+1)", "'@SUM(1+1)"},
        {"+1", "'+1"},
        {"-2+3", "'-2+3"},
        {"\tx", "'\tx"},
        {"\rx", "\"'\rx\""},
        {"a=b", "a=b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sbuf_reset(&b);
        sbuf_csv_field(&b, cases[i].in);
        CHECK_STR(sbuf_str(&b), cases[i].out);
    }

    /* NULL is an empty field (nothing appended). */
    sbuf_reset(&b);
    sbuf_puts(&b, "a,");
    sbuf_csv_field(&b, NULL);
    CHECK_STR(sbuf_str(&b), "a,");

    /* A whole record. */
    sbuf_reset(&b);
    const char *row[] = {"1", "ROB", NULL, "a \"b\", c", "x"};
    for (size_t i = 0; i < 5; i++) {
        if (i)
            sbuf_putc(&b, ',');
        sbuf_csv_field(&b, row[i]);
    }
    sbuf_puts(&b, "\r\n");
    CHECK_STR(sbuf_str(&b), "1,ROB,,\"a \"\"b\"\", c\",x\r\n");
    sbuf_free(&b);
}

/* sbuf_uint / sbuf_int against snprintf, at the edges and at random. */
static void test_integers(void)
{
    const int64_t edges[] = {0, 1, -1, 9, 10, -10, 99, 100, 2147483647, -2147483648LL,
                             INT64_MAX, INT64_MIN, INT64_MIN + 1};
    char want[32];
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        sbuf b;
        sbuf_init(&b);
        sbuf_int(&b, edges[i]);
        snprintf(want, sizeof want, "%lld", (long long)edges[i]);
        CHECK_STR(sbuf_str(&b), want);
        sbuf_reset(&b);
        sbuf_uint(&b, (uint64_t)edges[i]);
        snprintf(want, sizeof want, "%llu", (unsigned long long)(uint64_t)edges[i]);
        CHECK_STR(sbuf_str(&b), want);
        sbuf_free(&b);
    }
    uint64_t x = 88172645463325252ULL;
    sbuf b;
    sbuf_init(&b);
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t v = x >> (x % 64);
        sbuf_reset(&b);
        sbuf_uint(&b, v);
        snprintf(want, sizeof want, "%llu", (unsigned long long)v);
        if (strcmp(sbuf_str(&b), want) != 0) {
            CHECK_STR(sbuf_str(&b), want);
            break;
        }
    }
    sbuf_free(&b);
}


/* sbuf_fixed writes what printf("%.Nf") writes: random doubles over many
   magnitudes, exact binary ties (x.125, x.5 / 100 ...), values next to
   them, signed zeros, tiny negatives, the fallback range, NaN, infinity. */
static void check_fixed(double v, int d)
{
    char want[512];
    snprintf(want, sizeof want, "%.*f", d, v);
    sbuf b;
    sbuf_init(&b);
    sbuf_fixed(&b, v, d);
    if (strcmp(sbuf_str(&b), want) != 0) {
        fprintf(stderr, "%s:%d: sbuf_fixed(%.17g, %d) = %s, printf says %s\n", __FILE__,
                __LINE__, v, d, sbuf_str(&b), want);
        unit_failures_++;
    }
    sbuf_free(&b);
}

static void test_fixed(void)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int bad_before = unit_failures_;
    for (int i = 0; i < 300000 && unit_failures_ - bad_before < 20; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double mant = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
        int e = (int)(x % 40) - 12;
        double v = ldexp(mant, e) * ((x >> 7) & 1 ? -1 : 1);
        check_fixed(v, 1 + (int)(x % 3));
        /* ties: k / 8 and k / 2^n are exact, so x.125, x.375, x.0625 ... */
        double t = (double)(int64_t)(x % 200001 - 100000) / (double)(1 << (1 + x % 6));
        check_fixed(t, 1 + (int)((x >> 3) % 3));
        check_fixed(nextafter(t, 1e300), 2);
        check_fixed(nextafter(t, -1e300), 2);
    }
    const double special[] = {0.0, -0.0, 0.005, -0.005, 0.015, 0.025, 0.125, -0.125, 2.675,
                              1.005, -1e-9, 1e-9, 999999.995, 4.2e16, -4.2e16, 9.1e18, 1e300,
                              -1e300, 5e-324};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        for (int d = 1; d <= 3; d++)
            check_fixed(special[i], d);
    check_fixed(INFINITY, 2);
    check_fixed(-INFINITY, 2);
    check_fixed(NAN, 2);
}

UNIT_MAIN(UNIT(test_integers), UNIT(test_fixed), UNIT(test_empty), UNIT(test_append_growth), UNIT(test_printf),
          UNIT(test_pg_array), UNIT(test_csv))
