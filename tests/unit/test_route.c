/*
 * test_route.c -- unit tests for lib/route: path splitting and route
 * patterns, the part of the router (server/http.c) that knows no request.
 */
#include "route.h"
#include "unit.h"

#define MAXS 8

static int split(const char *path, char **seg, int *n)
{
    return route_split(path, seg, MAXS, n);
}

static void test_split(void)
{
    char *seg[MAXS];
    int n = -1;
    CHECK_INT(split("/", seg, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(split("/v1/units/A%2012/status", seg, &n), 0);
    CHECK_INT(n, 4);
    CHECK_STR(seg[0], "v1");
    CHECK_STR(seg[2], "A 12");
    CHECK_STR(seg[3], "status");
    route_free_segs(seg, n);
    CHECK_INT(split("/v1/incidents/", seg, &n), 0); /* a trailing slash is ignored */
    CHECK_INT(n, 2);
    route_free_segs(seg, n);
    CHECK_INT(split("/a//b", seg, &n), 0); /* an empty segment in the middle is one */
    CHECK_INT(n, 3);
    CHECK_STR(seg[1], "");
    route_free_segs(seg, n);
    CHECK_INT(split("/a+b", seg, &n), 0); /* '+' is not a space in a path */
    CHECK_STR(seg[0], "a+b");
    route_free_segs(seg, n);
    CHECK_INT(split("/%C3%A9", seg, &n), 0);
    CHECK_STR(seg[0], "\xc3\xa9");
    route_free_segs(seg, n);
}

static void test_split_refuses(void)
{
    char *seg[MAXS];
    int n = -1;
    CHECK_INT(split("v1/units", seg, &n), -1); /* not from the root */
    CHECK_INT(n, 0);
    CHECK_INT(split("", seg, &n), -1);
    CHECK_INT(split("/a/%zz", seg, &n), -1); /* bad escape; the first segment is freed (ASan) */
    CHECK_INT(n, 0);
    CHECK_INT(split("/a/%00", seg, &n), -1); /* an encoded NUL */
    CHECK_INT(split("/%C3", seg, &n), -1);   /* invalid UTF-8 */
    CHECK_INT(split("/1/2/3/4/5/6/7/8", seg, &n), 0); /* max segments */
    CHECK_INT(n, 8);
    route_free_segs(seg, n);
    CHECK_INT(split("/1/2/3/4/5/6/7/8/9", seg, &n), -1); /* one too deep */
    CHECK_INT(n, 0);
    CHECK_INT(split("/1/2/3/4/5/6/7/8/", seg, &n), 0); /* the trailing slash is no segment */
    route_free_segs(seg, n);
}

static int matches(const char *pattern, const char *path)
{
    char *seg[MAXS];
    int n;
    if (split(path, seg, &n) != 0)
        return -1;
    int m = route_match(pattern, seg, n);
    route_free_segs(seg, n);
    return m;
}

static void test_match(void)
{
    CHECK_INT(matches("", "/"), 1); /* the dashboard's root */
    CHECK_INT(matches("", "/healthz"), 0);
    CHECK_INT(matches("/healthz", "/"), 0);
    CHECK_INT(matches("/healthz", "/healthz"), 1);
    CHECK_INT(matches("/healthz", "/healthz/"), 1);
    CHECK_INT(matches("/healthz", "/healthzz"), 0);
    CHECK_INT(matches("/healthz", "/health"), 0);
    CHECK_INT(matches("/v1/units/*", "/v1/units/A12"), 1);
    CHECK_INT(matches("/v1/units/*", "/v1/units"), 0);
    CHECK_INT(matches("/v1/units/*", "/v1/units/A12/status"), 0);
    CHECK_INT(matches("/v1/units/*/status", "/v1/units/A12/status"), 1);
    CHECK_INT(matches("/v1/units/*/status", "/v1/units//status"), 0); /* '*' is not empty */
    CHECK_INT(matches("/v1/shifts/*/roster/*", "/v1/shifts/d/roster/2026-12-02"), 1);
    CHECK_INT(matches("/v1/shifts/*/roster/*", "/v1/shifts/d/rosters/2026-12-02"), 0);
    CHECK_INT(matches("/v1/units/*", "/v1/units/%2A"), 1); /* an encoded '*' is a name */
    CHECK_INT(matches("/v1/units/x", "/v1/units/%78"), 1);  /* compared decoded */
}

UNIT_MAIN(UNIT(test_split), UNIT(test_split_refuses), UNIT(test_match))
