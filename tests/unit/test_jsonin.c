/* tests/unit/test_jsonin.c -- lib/jsonin.h */
#include "jsonin.h"
#include "unit.h"

/* 1 when s parses as exactly one value; *at gets the error offset. */
static int ok(const char *s, size_t len, size_t *at)
{
    json_in_error e = {0};
    cJSON *doc = json_in_parse(s, len, &e);
    if (doc == NULL && at)
        *at = e.offset;
    cJSON_Delete(doc);
    return doc != NULL;
}

static int ok_s(const char *s)
{
    return ok(s, strlen(s), NULL);
}

static void test_one_value(void)
{
    CHECK(ok_s("{}"));
    CHECK(ok_s("  \r\n\t{\"a\":[1,2]} \r\n\t "));
    CHECK(ok_s("[{},{}]"));
    CHECK(ok_s("\"text\""));
    CHECK(!ok_s(""));
    CHECK(!ok_s("   \n"));
    CHECK(!ok_s("{"));
}

static void test_more_after_the_value(void)
{
    size_t at = 0;
    CHECK(!ok("{\"a\":1}\n{\"b\":2}", 15, &at));
    CHECK_INT((int)at, 8); /* the second object */
    CHECK(!ok_s("{\"a\":1} garbage"));
    CHECK(!ok_s("{\"a\":1}\r{\"b\":2}\r"));          /* CR-only line ends */
    CHECK(!ok_s("{\"a\":1}\xe2\x80\xa8{\"b\":2}"));  /* U+2028 is not JSON whitespace */
    CHECK(!ok_s("{\"a\":1}{\"b\":2}"));              /* two on one line */
    CHECK(!ok_s("{}\f"));                            /* form feed is not JSON whitespace */
    CHECK(!ok_s("[1] ]"));
    CHECK(!ok_s("[\x03]")); /* cJSON skips it as whitespace; JSON does not */
    CHECK(!ok_s("{\"a\":\x01 1}"));
}

static void test_nul(void)
{
    size_t at = 0;
    CHECK(!ok("{\"a\":\"x\0y\"}", 11, &at)); /* a raw NUL byte */
    CHECK_INT((int)at, 7);
    CHECK(!ok("{} \0", 4, &at)); /* also outside the value */
    CHECK(!ok_s("{\"a\":\"x\\u0000y\"}"));
    CHECK(ok_s("{\"a\":\"x\\\\u0000y\"}")); /* an escaped backslash, then plain text */
    CHECK(ok_s("{\"a\":\"x\\u0001y\"}"));
    CHECK(!ok_s("{\"a\":\"\\\\\\u0000\"}")); /* \\ then \u0000 */
}

static void test_depth(void)
{
    char buf[2 * (JSON_MAX_DEPTH + 1) + 1];
    for (int i = 0; i <= JSON_MAX_DEPTH; i++) {
        buf[i] = '[';
        buf[2 * (JSON_MAX_DEPTH + 1) - 1 - i] = ']';
    }
    buf[2 * (JSON_MAX_DEPTH + 1)] = '\0';
    CHECK(!ok_s(buf));
    CHECK(ok_s(buf + 1) == 0); /* unbalanced now: still refused */
    buf[JSON_MAX_DEPTH] = ' ';
    buf[JSON_MAX_DEPTH + 1] = ' ';
    CHECK(ok_s(buf)); /* exactly JSON_MAX_DEPTH levels */
}

static size_t alen(const char *s)
{
    return json_in_array_length(s, strlen(s));
}

static void test_array_length(void)
{
    CHECK_INT((int)alen("[]"), 0);
    CHECK_INT((int)alen(" [ ] "), 0);
    CHECK_INT((int)alen("[{}]"), 1);
    CHECK_INT((int)alen("[{},{},{}]"), 3);
    CHECK_INT((int)alen("[{\"a\":[1,2,3],\"b\":\",,\"}, \"x,y\", [1,[2,3]]]"), 3);
    CHECK_INT((int)alen("{\"a\":[1,2]}"), 0); /* not an array */
    CHECK_INT((int)alen("[\"a\\\",\",1]"), 2); /* an escaped quote stays in its string */
    char big[30010];
    big[0] = '[';
    size_t n = 1;
    for (int i = 0; i < 10001; i++) {
        if (i)
            big[n++] = ',';
        big[n++] = '{';
        big[n++] = '}';
    }
    big[n++] = ']';
    big[n] = '\0';
    CHECK_INT((int)json_in_array_length(big, n), 10001);
}

UNIT_MAIN(UNIT(test_one_value), UNIT(test_array_length), UNIT(test_more_after_the_value), UNIT(test_nul),
          UNIT(test_depth))
