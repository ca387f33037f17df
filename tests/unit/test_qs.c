/*
 * test_qs.c -- unit tests for lib/qs: query-string parsing, percent-decoding
 * and UTF-8 validation.
 */
#include "qs.h"
#include "unit.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* qs_parse must fail and leave q empty. */
static void parse_fails(const char *query, int line)
{
    qs q;
    q.n = 99;
    int rc = qs_parse(query, &q);
    if (rc != -1 || q.n != 0) {
        fprintf(stderr, "%s:%d: qs_parse(\"%s\") -> rc %d, n %zu; expected -1, 0\n",
                __FILE__, line, query, rc, q.n);
        unit_failures_++;
    }
    if (rc == 0)
        qs_free(&q);
}

#define PARSE_FAILS(s) parse_fails((s), __LINE__)

/* Decode a C string; returns the decoded length or -1. */
static long decode(const char *in, int plus, char *out)
{
    return qs_decode(in, strlen(in), plus, out);
}

/* ---- parse / get / unknown ---------------------------------------------- */

static void test_parse_basic(void)
{
    qs q;
    CHECK_INT(qs_parse("a=1&b=x%20y&precinct=P-17", &q), 0);
    CHECK_INT(q.n, 3);
    CHECK_STR(q.p[0].key, "a");
    CHECK_STR(q.p[0].value, "1");
    CHECK_STR(q.p[1].key, "b");
    CHECK_STR(q.p[1].value, "x y");
    CHECK_STR(q.p[2].key, "precinct");
    CHECK_STR(q.p[2].value, "P-17");
    CHECK_STR(qs_get(&q, "a"), "1");
    CHECK_STR(qs_get(&q, "b"), "x y");
    CHECK_STR(qs_get(&q, "precinct"), "P-17");
    CHECK(qs_get(&q, "c") == NULL);
    CHECK(qs_get(&q, "A") == NULL); /* keys are case-sensitive */
    CHECK(qs_get(&q, "") == NULL);
    qs_free(&q);
    CHECK_INT(q.n, 0);
}

static void test_parse_null_and_empty(void)
{
    qs q;
    q.n = 7;
    CHECK_INT(qs_parse(NULL, &q), 0);
    CHECK_INT(q.n, 0);
    CHECK(qs_get(&q, "a") == NULL);
    qs_free(&q);
    q.n = 7;
    CHECK_INT(qs_parse("", &q), 0);
    CHECK_INT(q.n, 0);
    qs_free(&q);
    CHECK_INT(qs_parse("&&&", &q), 0);
    CHECK_INT(q.n, 0);
    qs_free(&q);
}

static void test_parse_first_wins(void)
{
    qs q;
    CHECK_INT(qs_parse("a=1&a=2&b=3", &q), 0);
    CHECK_INT(q.n, 3);
    CHECK_STR(qs_get(&q, "a"), "1");
    CHECK_STR(q.p[1].value, "2");
    qs_free(&q);
}

static void test_parse_empty_pieces_and_bare_keys(void)
{
    qs q;
    CHECK_INT(qs_parse("&a=1&&b=2&", &q), 0);
    CHECK_INT(q.n, 2);
    CHECK_STR(qs_get(&q, "a"), "1");
    CHECK_STR(qs_get(&q, "b"), "2");
    qs_free(&q);

    CHECK_INT(qs_parse("flag&a=1&other", &q), 0);
    CHECK_INT(q.n, 3);
    CHECK_STR(q.p[0].key, "flag");
    CHECK_STR(q.p[0].value, "");
    CHECK_STR(qs_get(&q, "flag"), "");
    CHECK_STR(qs_get(&q, "other"), "");
    CHECK_STR(qs_get(&q, "a"), "1");
    qs_free(&q);

    /* An empty value and an empty key are pieces, not skipped. */
    CHECK_INT(qs_parse("a=&=b", &q), 0);
    CHECK_INT(q.n, 2);
    CHECK_STR(qs_get(&q, "a"), "");
    CHECK_STR(q.p[1].key, "");
    CHECK_STR(q.p[1].value, "b");
    qs_free(&q);

    /* Only the first '=' separates; later ones belong to the value. */
    CHECK_INT(qs_parse("cursor=abc==&x==", &q), 0);
    CHECK_INT(q.n, 2);
    CHECK_STR(qs_get(&q, "cursor"), "abc==");
    CHECK_STR(qs_get(&q, "x"), "=");
    qs_free(&q);
}

static void test_parse_plus_and_escapes(void)
{
    qs q;
    CHECK_INT(qs_parse("q=a+b+%2B&k%20ey=v%3d1%26w&bbox=-90.1%2C14.6", &q), 0);
    CHECK_INT(q.n, 3);
    CHECK_STR(qs_get(&q, "q"), "a b +");
    CHECK_STR(qs_get(&q, "k ey"), "v=1&w");
    CHECK_STR(qs_get(&q, "bbox"), "-90.1,14.6");
    qs_free(&q);

    /* '+' in keys too; upper- and lower-case hex. */
    CHECK_INT(qs_parse("a+b=%41%62%7e%7E", &q), 0);
    CHECK_STR(qs_get(&q, "a b"), "Ab~~");
    qs_free(&q);

    /* Encoded '&' and '=' do not split. */
    CHECK_INT(qs_parse("from=2026-11-27T14%3A03%3A00-06%3A00", &q), 0);
    CHECK_INT(q.n, 1);
    CHECK_STR(qs_get(&q, "from"), "2026-11-27T14:03:00-06:00");
    qs_free(&q);
    CHECK_INT(qs_parse("from=2026-11-27T14:03:00%2B05:30", &q), 0);
    CHECK_STR(qs_get(&q, "from"), "2026-11-27T14:03:00+05:30");
    qs_free(&q);
}

static void test_parse_bad_escapes(void)
{
    PARSE_FAILS("a=%zz");
    PARSE_FAILS("a=%4");
    PARSE_FAILS("a=%");
    PARSE_FAILS("a=1&b=%4&c=3");
    PARSE_FAILS("a=%4g");
    PARSE_FAILS("a=%g4");
    PARSE_FAILS("%zz=1");
    PARSE_FAILS("a%=1");
    PARSE_FAILS("ok=1&a=%");
    /* A bad escape in a later parameter also empties q. */
    PARSE_FAILS("a=1&b=2&c=3&d=%xx");
}

static void test_parse_nul_rejected(void)
{
    PARSE_FAILS("a=%00");
    PARSE_FAILS("a=x%00y");
    PARSE_FAILS("%00=1");
    PARSE_FAILS("%00");
}

static void test_parse_utf8(void)
{
    qs q;
    /* Valid multi-byte: 2 (é), 3 (€, 東), 4 (U+1F600) bytes, raw and escaped. */
    CHECK_INT(qs_parse("name=Jos%C3%A9&cur=%E2%82%AC&emo=%F0%9F%98%80&raw=\xC3\xA9\xE6\x9D\xB1",
                       &q),
              0);
    CHECK_INT(q.n, 4);
    CHECK_STR(qs_get(&q, "name"), "Jos\xC3\xA9");
    CHECK_STR(qs_get(&q, "cur"), "\xE2\x82\xAC");
    CHECK_STR(qs_get(&q, "emo"), "\xF0\x9F\x98\x80");
    CHECK_STR(qs_get(&q, "raw"), "\xC3\xA9\xE6\x9D\xB1");
    qs_free(&q);
    /* The extremes: U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF,
       U+D7FF and U+E000 (either side of the surrogates). */
    CHECK_INT(qs_parse("a=%C2%80%DF%BF%E0%A0%80%EF%BF%BF%F0%90%80%80%F4%8F%BF%BF"
                       "%ED%9F%BF%EE%80%80",
                       &q),
              0);
    CHECK_STR(qs_get(&q, "a"), "\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
                               "\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80");
    qs_free(&q);

    PARSE_FAILS("a=%C0%80");          /* overlong NUL */
    PARSE_FAILS("a=%C1%BF");          /* overlong */
    PARSE_FAILS("a=%E0%80%80");       /* overlong 3-byte */
    PARSE_FAILS("a=%E0%9F%BF");       /* overlong 3-byte, U+07FF */
    PARSE_FAILS("a=%F0%80%80%80");    /* overlong 4-byte */
    PARSE_FAILS("a=%F0%8F%BF%BF");    /* overlong 4-byte, U+FFFF */
    PARSE_FAILS("a=%ED%A0%80");       /* surrogate U+D800 */
    PARSE_FAILS("a=%ED%BF%BF");       /* surrogate U+DFFF */
    PARSE_FAILS("a=%F4%90%80%80");    /* U+110000 */
    PARSE_FAILS("a=%F5%80%80%80");    /* F5 never appears */
    PARSE_FAILS("a=%F8%88%80%80%80"); /* 5-byte form */
    PARSE_FAILS("a=%FE");
    PARSE_FAILS("a=%FF");
    PARSE_FAILS("a=%80");             /* lone continuation */
    PARSE_FAILS("a=x%BFy");
    PARSE_FAILS("a=%C3");             /* truncated 2-byte */
    PARSE_FAILS("a=%C3x");            /* continuation missing */
    PARSE_FAILS("a=%E2%82");          /* truncated 3-byte */
    PARSE_FAILS("a=%E2%82&b=%AC");    /* split across parameters */
    PARSE_FAILS("a=%F0%9F%98");       /* truncated 4-byte */
    PARSE_FAILS("a=%F0%9F%98x");
    PARSE_FAILS("%C3=1");             /* in a key */
    PARSE_FAILS("a=\xC0\x80");        /* raw bytes too */
    PARSE_FAILS("a=\xED\xA0\x80");
    PARSE_FAILS("a=\xE2\x82");
}

static void test_parse_max_params(void)
{
    char buf[QS_MAX_PARAMS * 8 + 16];
    size_t o = 0;
    for (int i = 0; i < QS_MAX_PARAMS; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%sk%d=%d", i ? "&" : "", i, i);
    qs q;
    CHECK_INT(qs_parse(buf, &q), 0);
    CHECK_INT(q.n, QS_MAX_PARAMS);
    CHECK_STR(qs_get(&q, "k0"), "0");
    CHECK_STR(qs_get(&q, "k63"), "63");
    qs_free(&q);

    /* Empty pieces do not count against the limit. */
    char buf2[sizeof buf + 8];
    snprintf(buf2, sizeof buf2, "&&%s&&", buf);
    CHECK_INT(qs_parse(buf2, &q), 0);
    CHECK_INT(q.n, QS_MAX_PARAMS);
    qs_free(&q);

    /* One more is too many, even a bare key. */
    char buf3[sizeof buf + 8];
    snprintf(buf3, sizeof buf3, "%s&x", buf);
    PARSE_FAILS(buf3);
    snprintf(buf3, sizeof buf3, "%s&x=1", buf);
    PARSE_FAILS(buf3);
}

static void test_unknown(void)
{
    static const char *const allowed[] = {"precinct", "from", "to", "limit", NULL};
    static const char *const none[] = {NULL};
    qs q;
    CHECK_INT(qs_parse("precinct=P-1&from=2026-01-01&limit=5", &q), 0);
    CHECK(qs_unknown(&q, allowed) == NULL);
    CHECK_STR(qs_unknown(&q, none), "precinct");
    qs_free(&q);

    CHECK_INT(qs_parse("precinct=P-1&frm=2026-01-01&bogus=1", &q), 0);
    CHECK_STR(qs_unknown(&q, allowed), "frm"); /* the first unknown one */
    qs_free(&q);

    CHECK_INT(qs_parse("Precinct=1", &q), 0);
    CHECK_STR(qs_unknown(&q, allowed), "Precinct");
    qs_free(&q);

    CHECK_INT(qs_parse("", &q), 0);
    CHECK(qs_unknown(&q, none) == NULL);
    qs_free(&q);
}

/* ---- qs_decode ---------------------------------------------------------- */

static void test_decode(void)
{
    char out[64];
    CHECK_INT(decode("a+b%20c", 1, out), 5);
    CHECK_STR(out, "a b c");
    CHECK_INT(decode("a+b%20c", 0, out), 5);
    CHECK_STR(out, "a+b c");
    CHECK_INT(decode("%2B", 1, out), 1);
    CHECK_STR(out, "+");
    CHECK_INT(decode("", 1, out), 0);
    CHECK_STR(out, "");
    CHECK_INT(decode("%41%42%43", 0, out), 3);
    CHECK_STR(out, "ABC");
    CHECK_INT(decode("%E2%82%AC", 0, out), 3);
    CHECK_STR(out, "\xE2\x82\xAC");

    CHECK_INT(decode("%", 0, out), -1);
    CHECK_INT(decode("%4", 0, out), -1);
    CHECK_INT(decode("ab%4", 0, out), -1);
    CHECK_INT(decode("%zz", 0, out), -1);
    CHECK_INT(decode("%00", 0, out), -1);
    CHECK_INT(decode("%C0%80", 0, out), -1);
    CHECK_INT(decode("%ED%A0%80", 0, out), -1);
    CHECK_INT(decode("%F5%80%80%80", 0, out), -1);

    /* len bounds the input: an escape cut by len is bad, the rest ignored. */
    CHECK_INT(qs_decode("%41%42", 4, 0, out), -1);
    CHECK_INT(qs_decode("%41%42", 3, 0, out), 1);
    CHECK_STR(out, "A");
    CHECK_INT(qs_decode("abcdef", 2, 0, out), 2);
    CHECK_STR(out, "ab");
    /* A NUL within len is rejected, raw as well as escaped. */
    CHECK_INT(qs_decode("a\0b", 3, 0, out), -1);
}

static void test_utf8_valid(void)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"", 1},
        {"plain ascii", 1},
        {"\x7F", 1},
        {"\xC2\x80", 1},
        {"\xDF\xBF", 1},
        {"\xE0\xA0\x80", 1},
        {"\xED\x9F\xBF", 1},
        {"\xEE\x80\x80", 1},
        {"\xEF\xBF\xBF", 1},
        {"\xF0\x90\x80\x80", 1},
        {"\xF4\x8F\xBF\xBF", 1},
        {"Guatemala \xC3\x91o\xC3\xB1o \xE2\x82\xAC \xF0\x9F\x9A\x93", 1},
        {"\x80", 0},
        {"\xBF", 0},
        {"\xC0\x80", 0},
        {"\xC1\xBF", 0},
        {"\xC2", 0},
        {"\xC2\x41", 0},
        {"\xC2\xC2\x80", 0},
        {"\xE0\x80\x80", 0},
        {"\xE0\x9F\xBF", 0},
        {"\xE0\xA0", 0},
        {"\xED\xA0\x80", 0},
        {"\xED\xBF\xBF", 0},
        {"\xF0\x80\x80\x80", 0},
        {"\xF0\x8F\xBF\xBF", 0},
        {"\xF0\x90\x80", 0},
        {"\xF4\x90\x80\x80", 0},
        {"\xF5\x80\x80\x80", 0},
        {"\xF7\xBF\xBF\xBF", 0},
        {"\xF8\x88\x80\x80\x80", 0},
        {"\xFC\x84\x80\x80\x80\x80", 0},
        {"\xFE", 0},
        {"\xFF", 0},
        {"ok\xE2\x82", 0},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        int got = qs_utf8_valid(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want) {
            fprintf(stderr, "%s:%d: qs_utf8_valid case %zu -> %d, expected %d\n", __FILE__,
                    __LINE__, i, got, cases[i].want);
            unit_failures_++;
        }
    }
    /* len is honoured: a valid sequence cut short is invalid, trailing
       bytes beyond len are not looked at. */
    CHECK_INT(qs_utf8_valid("\xE2\x82\xAC", 2), 0);
    CHECK_INT(qs_utf8_valid("ab\xFF", 2), 1);
    /* Embedded NUL is valid UTF-8 (qs_decode rejects it separately). */
    CHECK_INT(qs_utf8_valid("a\0b", 3), 1);
}

UNIT_MAIN(UNIT(test_parse_basic), UNIT(test_parse_null_and_empty),
          UNIT(test_parse_first_wins), UNIT(test_parse_empty_pieces_and_bare_keys),
          UNIT(test_parse_plus_and_escapes), UNIT(test_parse_bad_escapes),
          UNIT(test_parse_nul_rejected), UNIT(test_parse_utf8),
          UNIT(test_parse_max_params), UNIT(test_unknown), UNIT(test_decode),
          UNIT(test_utf8_valid))
