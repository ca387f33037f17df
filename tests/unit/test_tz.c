/*
 * test_tz.c -- unit tests for lib/tz: TZif parsing, offsets, transitions,
 * local -> UTC with PostgreSQL's rules for skipped and repeated times.
 *
 * Real zones are read from /usr/share/zoneinfo (Debian's tzdata); the
 * library does no I/O, the test reads the bytes and calls tz_parse.
 *
 * Every hard-coded instant is a calendar fact computed independently with
 * GNU date, `date -u -d '<UTC time>' +%s` (the command is in the comment
 * next to it); the transition times themselves were read with zdump -v.
 * Local times are "local seconds", i.e. the same command applied to the
 * wall-clock reading.
 *
 * Besides the fixed facts, glibc's localtime_r (an independent TZif reader
 * of the same files) cross-checks tz_offset on many instants, and tz_utc is
 * checked against its defining property on every quarter hour around each
 * transition of several zones.
 */
#include "tz.h"
#include "unit.h"

#include <stdint.h>
#include <time.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

/* Read a whole file; NULL when it cannot be read. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(b, cap);
            if (nb == NULL) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return b;
}

static unsigned char *zone_bytes(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    unsigned char *b = slurp(path, len);
    if (b == NULL) {
        fprintf(stderr, "%s:%d: cannot read %s\n", __FILE__, __LINE__, path);
        unit_failures_++;
    }
    return b;
}

static tz_zone *load(const char *name)
{
    size_t len = 0;
    unsigned char *b = zone_bytes(name, &len);
    if (b == NULL)
        return NULL;
    tz_zone *z = NULL;
    int rc = tz_parse(b, len, &z);
    free(b);
    if (rc != 0 || z == NULL) {
        fprintf(stderr, "%s:%d: tz_parse(%s) failed\n", __FILE__, __LINE__, name);
        unit_failures_++;
        return NULL;
    }
    return z;
}

/* The offset before and at a transition instant, and tz_next_change from
   the second before, from the start of the day and from the transition. */
static void transition_is(const tz_zone *z, int64_t at, int before, int after, int line)
{
    int ob = tz_offset(z, at - 1), oa = tz_offset(z, at);
    int64_t n1 = tz_next_change(z, at - 1), n2 = tz_next_change(z, at - 86400);
    if (ob != before || oa != after || n1 != at || n2 != at ||
        tz_local(z, at - 1) != at - 1 + before || tz_local(z, at) != at + after) {
        fprintf(stderr,
                "%s:%d: transition at %lld: offsets %d/%d (want %d/%d), next_change %lld/%lld\n",
                __FILE__, line, (long long)at, ob, oa, before, after, (long long)n1,
                (long long)n2);
        unit_failures_++;
    }
}
#define TRANSITION_IS(z, at, b, a) transition_is((z), (at), (b), (a), __LINE__)

/* ---- a TZif writer for synthetic data ----------------------------------- */

static size_t put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

/* One data block (header + body) with 4- or 8-byte times. */
static size_t put_block(unsigned char *b, char version, int tsize, size_t ntimes,
                        const int64_t *times, const unsigned char *idx, size_t ntypes,
                        const int32_t *offs)
{
    size_t n = 0;
    memcpy(b, "TZif", 4);
    b[4] = (unsigned char)version;
    memset(b + 5, 0, 15);
    n = 20;
    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    n += put32(b + n, 0);
    n += put32(b + n, 0);
    n += put32(b + n, 0);
    n += put32(b + n, (uint32_t)ntimes);
    n += put32(b + n, (uint32_t)ntypes);
    n += put32(b + n, 4);
    for (size_t i = 0; i < ntimes; i++) {
        if (tsize == 8) {
            n += put32(b + n, (uint32_t)((uint64_t)times[i] >> 32));
            n += put32(b + n, (uint32_t)(uint64_t)times[i]);
        } else {
            n += put32(b + n, (uint32_t)(int32_t)times[i]);
        }
    }
    for (size_t i = 0; i < ntimes; i++)
        b[n++] = idx[i];
    for (size_t i = 0; i < ntypes; i++) {
        n += put32(b + n, (uint32_t)offs[i]);
        b[n++] = 0; /* isdst */
        b[n++] = 0; /* desigidx */
    }
    memcpy(b + n, "XYZ", 4);
    n += 4;
    return n;
}

/* A whole file: version 0 (v1 only) or '2'..'4' (v1 block, v2 block and
   the footer line, when footer is not NULL). Returns its length. */
static size_t build_tzif(unsigned char *b, char version, size_t ntimes, const int64_t *times,
                         const unsigned char *idx, size_t ntypes, const int32_t *offs,
                         const char *footer)
{
    size_t n = put_block(b, version, 4, ntimes, times, idx, ntypes, offs);
    if (version == 0)
        return n;
    n += put_block(b + n, version, 8, ntimes, times, idx, ntypes, offs);
    if (footer != NULL) {
        b[n++] = '\n';
        memcpy(b + n, footer, strlen(footer));
        n += strlen(footer);
        b[n++] = '\n';
    }
    return n;
}

/* A zone with no transitions and the given footer. */
static int footer_zone(const char *footer, tz_zone **out)
{
    unsigned char b[512];
    int32_t off = 0;
    size_t len = build_tzif(b, '2', 0, NULL, NULL, 1, &off, footer);
    return tz_parse(b, len, out);
}

/* ---- America/Chicago ------------------------------------------------------ */

static void test_chicago_2026_transitions(void)
{
    tz_zone *z = load("America/Chicago");
    if (z == NULL)
        return;
    /* date -u -d '2026-03-08 08:00:00' +%s -> 1772956800 (02:00 CST -> 03:00 CDT) */
    const int64_t spring = 1772956800;
    /* date -u -d '2026-11-01 07:00:00' +%s -> 1793516400 (02:00 CDT -> 01:00 CST) */
    const int64_t fall = 1793516400;
    /* date -u -d '2027-03-14 08:00:00' +%s -> 1805011200 */
    const int64_t spring27 = 1805011200;

    CHECK_INT(tz_offset(z, spring - 1), -6 * 3600);
    CHECK_INT(tz_offset(z, spring), -5 * 3600);
    CHECK_INT(tz_offset(z, fall - 1), -5 * 3600);
    CHECK_INT(tz_offset(z, fall), -6 * 3600);
    TRANSITION_IS(z, spring, -21600, -18000);
    TRANSITION_IS(z, fall, -18000, -21600);
    TRANSITION_IS(z, spring27, -21600, -18000);

    /* date -u -d '2026-01-15 12:00:00' +%s -> 1768478400 */
    CHECK_INT(tz_next_change(z, 1768478400), spring);
    CHECK_INT(tz_next_change(z, spring - 1), spring);
    /* From the transition itself: the next one, strictly later. */
    CHECK_INT(tz_next_change(z, spring), fall);
    CHECK_INT(tz_next_change(z, fall - 1), fall);
    CHECK_INT(tz_next_change(z, fall), spring27);

    /* Wall clock: 01:59:59 CST then 03:00:00 CDT.
       date -u -d '2026-03-08 01:59:59' +%s -> 1772935199
       date -u -d '2026-03-08 03:00:00' +%s -> 1772938800 */
    CHECK_INT(tz_local(z, spring - 1), 1772935199);
    CHECK_INT(tz_local(z, spring), 1772938800);
    /* 01:59:59 CDT then 01:00:00 CST.
       date -u -d '2026-11-01 01:59:59' +%s -> 1793498399
       date -u -d '2026-11-01 01:00:00' +%s -> 1793494800 */
    CHECK_INT(tz_local(z, fall - 1), 1793498399);
    CHECK_INT(tz_local(z, fall), 1793494800);
    tz_free(z);
}

static void test_chicago_gap_and_overlap(void)
{
    tz_zone *z = load("America/Chicago");
    if (z == NULL)
        return;
    /* Spring forward: 02:30 does not exist on 2026-03-08. PostgreSQL reads
       it with the offset in force before the jump (CST, -06:00).
       date -u -d '2026-03-08 02:30:00' +%s -> 1772937000 (local seconds)
       date -u -d '2026-03-08 08:30:00' +%s -> 1772958600 */
    CHECK_INT(tz_utc(z, 1772937000), 1772958600);
    /* The edges of the gap: 02:00:00 is skipped (-> 08:00Z), 01:59:59 CST
       and 03:00:00 CDT exist.
       date -u -d '2026-03-08 02:00:00' +%s -> 1772935200
       date -u -d '2026-03-08 01:59:59' +%s -> 1772935199
       date -u -d '2026-03-08 07:59:59' +%s -> 1772956799
       date -u -d '2026-03-08 03:00:00' +%s -> 1772938800 */
    CHECK_INT(tz_utc(z, 1772935200), 1772956800);
    CHECK_INT(tz_utc(z, 1772935199), 1772956799);
    CHECK_INT(tz_utc(z, 1772938800), 1772956800);
    CHECK_INT(tz_utc(z, 1772938799), 1772960399); /* 02:59:59 -> 08:59:59Z */

    /* Fall back: 01:30 on 2026-11-01 happens twice (06:30Z CDT and 07:30Z
       CST); PostgreSQL takes the later instant.
       date -u -d '2026-11-01 01:30:00' +%s -> 1793496600 (local seconds)
       date -u -d '2026-11-01 07:30:00' +%s -> 1793518200
       date -u -d '2026-11-01 06:30:00' +%s -> 1793514600 */
    CHECK_INT(tz_utc(z, 1793496600), 1793518200);
    CHECK_INT(tz_local(z, 1793514600), 1793496600);
    CHECK_INT(tz_local(z, 1793518200), 1793496600);
    /* Edges: 00:59:59 only in CDT; 01:00:00 and 01:59:59 twice; 02:00 once.
       date -u -d '2026-11-01 00:59:59' +%s -> 1793494799
       date -u -d '2026-11-01 05:59:59' +%s -> 1793512799
       date -u -d '2026-11-01 01:00:00' +%s -> 1793494800
       date -u -d '2026-11-01 07:00:00' +%s -> 1793516400
       date -u -d '2026-11-01 01:59:59' +%s -> 1793498399
       date -u -d '2026-11-01 07:59:59' +%s -> 1793519999
       date -u -d '2026-11-01 02:00:00' +%s -> 1793498400
       date -u -d '2026-11-01 08:00:00' +%s -> 1793520000 */
    CHECK_INT(tz_utc(z, 1793494799), 1793512799);
    CHECK_INT(tz_utc(z, 1793494800), 1793516400);
    CHECK_INT(tz_utc(z, 1793498399), 1793519999);
    CHECK_INT(tz_utc(z, 1793498400), 1793520000);

    /* Ordinary times: midnight of both transition days (CST).
       date -u -d '2026-03-08 00:00:00' +%s -> 1772928000, +6 h = 1772949600
       date -u -d '2026-11-01 00:00:00' +%s -> 1793491200, +5 h = 1793509200 */
    CHECK_INT(tz_utc(z, 1772928000), 1772949600);
    CHECK_INT(tz_utc(z, 1793491200), 1793509200);
    tz_free(z);
}

static void test_chicago_round_trip_hourly(void)
{
    tz_zone *z = load("America/Chicago");
    if (z == NULL)
        return;
    /* date -u -d '2018-01-01' +%s -> 1514764800
       date -u -d '2029-01-01' +%s -> 1861920000 */
    int repeated = 0, bad = 0;
    for (int64_t t = 1514764800; t < 1861920000; t += 3600) {
        int64_t local = tz_local(z, t);
        int64_t want = t;
        /* The first of two hours with the same wall clock (CDT 01:xx on the
           fall-back day): the later one, an hour on, is the answer. */
        if (tz_local(z, t + 3600) == local) {
            want = t + 3600;
            repeated++;
        }
        int64_t got = tz_utc(z, local);
        if (got != want && bad++ < 5) {
            fprintf(stderr, "%s:%d: tz_utc(tz_local(%lld)) == %lld, expected %lld\n", __FILE__,
                    __LINE__, (long long)t, (long long)got, (long long)want);
            unit_failures_++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(repeated, 11); /* one fall-back a year, 2018..2028 */
    tz_free(z);
}

static void test_chicago_footer_2090(void)
{
    tz_zone *z = load("America/Chicago");
    if (z == NULL)
        return;
    /* Debian's files list transitions up to 2037; 2090 comes from the
       footer "CST6CDT,M3.2.0,M11.1.0".
       date -u -d '2090-07-15 12:00:00' +%s -> 3803803200
       date -u -d '2090-01-15 12:00:00' +%s -> 3788164800 */
    CHECK_INT(tz_offset(z, 3803803200LL), -5 * 3600);
    CHECK_INT(tz_offset(z, 3788164800LL), -6 * 3600);
    CHECK_INT(tz_local(z, 3803803200LL), 3803803200LL - 18000);
    /* Second Sunday of March and first Sunday of November 2090:
       date -u -d '2090-03-12 08:00:00' +%s -> 3792988800
       date -u -d '2090-11-05 07:00:00' +%s -> 3813548400 */
    TRANSITION_IS(z, 3792988800LL, -21600, -18000);
    TRANSITION_IS(z, 3813548400LL, -18000, -21600);
    CHECK_INT(tz_next_change(z, 3788164800LL), 3792988800LL);
    CHECK_INT(tz_next_change(z, 3792988800LL), 3813548400LL);
    /* The gap and the overlap follow the same rules as in 2026.
       date -u -d '2090-03-12 02:30:00' +%s -> 3792969000 (local) -> +6 h
       date -u -d '2090-11-05 01:30:00' +%s -> 3813528600 (local) -> +6 h */
    CHECK_INT(tz_utc(z, 3792969000LL), 3792969000LL + 21600);
    CHECK_INT(tz_utc(z, 3813528600LL), 3813528600LL + 21600);
    /* Across the end of the explicit transitions (2037) the offsets go on.
       date -u -d '2037-12-31 23:59:59' +%s -> 2145916799 */
    CHECK_INT(tz_offset(z, 2145916799LL), -6 * 3600);
    CHECK_INT(tz_offset(z, 2145916799LL + 86400 * 200), -5 * 3600); /* July 2038 */
    tz_free(z);
}

/* ---- other zones ---------------------------------------------------------- */

static void test_guatemala(void)
{
    tz_zone *z = load("America/Guatemala");
    if (z == NULL)
        return;
    /* Recent: CST all year. date -u -d '2026-01-15 12:00:00' +%s -> 1768478400,
       date -u -d '2026-07-15 12:00:00' +%s -> 1784116800 */
    CHECK_INT(tz_offset(z, 1768478400), -6 * 3600);
    CHECK_INT(tz_offset(z, 1784116800), -6 * 3600);
    CHECK_INT(tz_local(z, 1784116800), 1784116800 - 21600);
    CHECK_INT(tz_utc(z, 1784116800 - 21600), 1784116800);
    /* No change after the last one (2006). */
    CHECK_INT(tz_next_change(z, 1768478400), INT64_MAX);
    /* DST of 2006: date -u -d '2006-04-30 06:00:00' +%s -> 1146376800,
       date -u -d '2006-10-01 05:00:00' +%s -> 1159678800 */
    TRANSITION_IS(z, 1146376800, -21600, -18000);
    TRANSITION_IS(z, 1159678800, -18000, -21600);
    CHECK_INT(tz_next_change(z, 1146376800), 1159678800);
    CHECK_INT(tz_next_change(z, 1159678800), INT64_MAX);
    /* date -u -d '2006-07-15 12:00:00' +%s -> 1152964800 */
    CHECK_INT(tz_offset(z, 1152964800), -5 * 3600);
    /* DST of 1991: date -u -d '1991-03-23 06:00:00' +%s -> 669708000,
       date -u -d '1991-09-07 05:00:00' +%s -> 684219600 */
    TRANSITION_IS(z, 669708000, -21600, -18000);
    TRANSITION_IS(z, 684219600, -18000, -21600);
    tz_free(z);
}

static void test_kolkata(void)
{
    tz_zone *z = load("Asia/Kolkata");
    if (z == NULL)
        return;
    /* date -u -d '2026-06-15 12:00:00' +%s -> 1781524800 */
    CHECK_INT(tz_offset(z, 1781524800), 5 * 3600 + 1800);
    CHECK_INT(tz_local(z, 1781524800), 1781524800 + 19800);
    CHECK_INT(tz_utc(z, 1781524800 + 19800), 1781524800);
    CHECK_INT(tz_next_change(z, 1781524800), INT64_MAX);
    /* 2090 via the footer "IST-5:30" */
    CHECK_INT(tz_offset(z, 3803803200LL), 19800);
    tz_free(z);
}

static void test_chatham(void)
{
    tz_zone *z = load("Pacific/Chatham");
    if (z == NULL)
        return;
    /* Southern summer +13:45, winter +12:45.
       date -u -d '2026-01-15 12:00:00' +%s -> 1768478400
       date -u -d '2026-07-15 12:00:00' +%s -> 1784116800 */
    CHECK_INT(tz_offset(z, 1768478400), 13 * 3600 + 45 * 60);
    CHECK_INT(tz_offset(z, 1784116800), 12 * 3600 + 45 * 60);
    /* date -u -d '2026-04-04 14:00:00' +%s -> 1775311200 (03:45 -> 02:45)
       date -u -d '2026-09-26 14:00:00' +%s -> 1790431200 (02:45 -> 03:45) */
    TRANSITION_IS(z, 1775311200, 49500, 45900);
    TRANSITION_IS(z, 1790431200, 45900, 49500);
    /* Gap: 2026-09-27 03:00 local does not exist; read with +12:45.
       date -u -d '2026-09-27 03:00:00' +%s -> 1790478000 (local)
       date -u -d '2026-09-26 14:15:00' +%s -> 1790432100 */
    CHECK_INT(tz_utc(z, 1790478000), 1790432100);
    /* Overlap: 2026-04-05 03:15 local twice; the later is +12:45.
       date -u -d '2026-04-05 03:15:00' +%s -> 1775358900 (local)
       date -u -d '2026-04-04 14:30:00' +%s -> 1775313000 */
    CHECK_INT(tz_utc(z, 1775358900), 1775313000);
    /* 2090 from the footer "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45":
       date -u -d '2090-04-01 14:00:00' +%s -> 3794738400
       date -u -d '2090-09-23 14:00:00' +%s -> 3809858400 */
    TRANSITION_IS(z, 3794738400LL, 49500, 45900);
    TRANSITION_IS(z, 3809858400LL, 45900, 49500);
    tz_free(z);
}

static void test_sydney_2090(void)
{
    tz_zone *z = load("Australia/Sydney");
    if (z == NULL)
        return;
    /* Footer "AEST-10AEDT,M10.1.0,M4.1.0/3": DST spans the new year.
       date -u -d '2090-01-15 12:00:00' +%s -> 3788164800
       date -u -d '2090-07-15 12:00:00' +%s -> 3803803200 */
    CHECK_INT(tz_offset(z, 3788164800LL), 11 * 3600);
    CHECK_INT(tz_offset(z, 3803803200LL), 10 * 3600);
    /* date -u -d '2090-04-01 16:00:00' +%s -> 3794745600 (03:00 AEDT -> 02:00 AEST)
       date -u -d '2090-09-30 16:00:00' +%s -> 3810470400 (02:00 AEST -> 03:00 AEDT)
       date -u -d '2091-03-31 16:00:00' +%s -> 3826195200 */
    TRANSITION_IS(z, 3794745600LL, 39600, 36000);
    TRANSITION_IS(z, 3810470400LL, 36000, 39600);
    TRANSITION_IS(z, 3826195200LL, 39600, 36000);
    CHECK_INT(tz_next_change(z, 3788164800LL), 3794745600LL);
    CHECK_INT(tz_next_change(z, 3794745600LL), 3810470400LL);
    CHECK_INT(tz_next_change(z, 3810470400LL), 3826195200LL);
    /* Across the UTC new year, which is already 2091 in Sydney:
       date -u -d '2090-12-31 20:00:00' +%s -> 3818433600 */
    CHECK_INT(tz_offset(z, 3818433600LL), 11 * 3600);
    CHECK_INT(tz_next_change(z, 3818433600LL), 3826195200LL);
    /* Gap: 2090-10-01 02:30 local -> read with +10.
       date -u -d '2090-10-01 02:30:00' +%s -> 3810508200 (local)
       date -u -d '2090-09-30 16:30:00' +%s -> 3810472200 */
    CHECK_INT(tz_utc(z, 3810508200LL), 3810472200LL);
    /* Overlap: 2090-04-02 02:30 local twice -> the later, +10.
       date -u -d '2090-04-02 02:30:00' +%s -> 3794783400 (local)
       date -u -d '2090-04-01 16:30:00' +%s -> 3794747400 */
    CHECK_INT(tz_utc(z, 3794783400LL), 3794747400LL);
    tz_free(z);
}

static void test_apia_skipped_day(void)
{
    tz_zone *z = load("Pacific/Apia");
    if (z == NULL)
        return;
    /* Samoa skipped 2011-12-30: 23:59:59 -10 on the 29th, then 00:00 +14 on
       the 31st. date -u -d '2011-12-30 10:00:00' +%s -> 1325239200 */
    TRANSITION_IS(z, 1325239200, -36000, 50400);
    /* Noon of the missing day, read with -10: 2011-12-30T22:00Z.
       date -u -d '2011-12-30 12:00:00' +%s -> 1325246400 (local)
       date -u -d '2011-12-30 22:00:00' +%s -> 1325282400 */
    CHECK_INT(tz_utc(z, 1325246400), 1325282400);
    /* date -u -d '2011-12-31 00:00:00' +%s -> 1325289600 (local): exists. */
    CHECK_INT(tz_utc(z, 1325289600), 1325239200);
    tz_free(z);
}

static void test_fixed(void)
{
    tz_zone *u = tz_fixed(0), *m3 = tz_fixed(-3 * 3600);
    CHECK(u != NULL && m3 != NULL);
    if (u == NULL || m3 == NULL) {
        tz_free(u);
        tz_free(m3);
        return;
    }
    const int64_t ts[] = {INT64_MIN / 2, -2208988800LL, -1, 0, 1, 1772956800, 3803803200LL,
                          INT64_MAX / 2};
    for (size_t i = 0; i < NCASES(ts); i++) {
        CHECK_INT(tz_offset(u, ts[i]), 0);
        CHECK_INT(tz_local(u, ts[i]), ts[i]);
        CHECK_INT(tz_utc(u, ts[i]), ts[i]);
        CHECK_INT(tz_next_change(u, ts[i]), INT64_MAX);
        CHECK_INT(tz_offset(m3, ts[i]), -10800);
        CHECK_INT(tz_local(m3, ts[i]), ts[i] - 10800);
        CHECK_INT(tz_utc(m3, ts[i]), ts[i] + 10800);
        CHECK_INT(tz_next_change(m3, ts[i]), INT64_MAX);
    }
    tz_free(u);
    tz_free(m3);
    tz_free(NULL);
}

/* ---- cross-checks ----------------------------------------------------------- */

static const char *const cross_zones[] = {
    "America/Chicago", "America/Guatemala", "Asia/Kolkata",     "Pacific/Chatham",
    "Australia/Sydney", "America/New_York", "Europe/London",    "America/Nuuk",
    "Pacific/Apia",     "America/Santiago", "Africa/Casablanca", "Asia/Tehran",
};

/* tz_offset against glibc's localtime_r on the same file, 1900..2100. */
static void test_offsets_match_glibc(void)
{
    char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    for (size_t zi = 0; zi < NCASES(cross_zones); zi++) {
        tz_zone *z = load(cross_zones[zi]);
        if (z == NULL)
            continue;
        setenv("TZ", cross_zones[zi], 1);
        tzset();
        int bad = 0;
        /* date -u -d '1900-01-01' +%s -> -2208988800; '2100-01-01' -> 4102444800 */
        for (int64_t t = -2208988800LL; t < 4102444800LL; t += 6 * 3600 + 977) {
            time_t tt = (time_t)t;
            struct tm tm;
            if (localtime_r(&tt, &tm) == NULL)
                continue;
            int got = tz_offset(z, t);
            if (got != tm.tm_gmtoff && bad++ < 3) {
                fprintf(stderr, "%s:%d: %s at %lld: tz_offset %d, glibc %ld\n", __FILE__,
                        __LINE__, cross_zones[zi], (long long)t, got, (long)tm.tm_gmtoff);
                unit_failures_++;
            }
        }
        tz_free(z);
    }
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

/* tz_next_change finds every change of tz_offset, exactly, and nothing
   changes in between: a 15-minute scan (every offset since 1972 is a whole
   number of quarter hours, and so is every transition). */
static void next_change_scan(const tz_zone *z, const char *name, int64_t from, int64_t to)
{
    int bad = 0;
    int64_t next = tz_next_change(z, from);
    int off = tz_offset(z, from);
    CHECK(next > from);
    for (int64_t t = from + 900; t < to && bad < 3; t += 900) {
        int o = tz_offset(z, t);
        if (t < next && o != off) {
            fprintf(stderr, "%s:%d: %s: offset changes at %lld before next_change %lld\n",
                    __FILE__, __LINE__, name, (long long)t, (long long)next);
            unit_failures_++;
            bad++;
        }
        if (t >= next) {
            /* The change is exact to the second, and next_change moves on. */
            if (tz_offset(z, next - 1) != off || tz_offset(z, next) != o ||
                tz_next_change(z, next - 1) != next || tz_next_change(z, next) <= t) {
                fprintf(stderr, "%s:%d: %s: bad next_change %lld\n", __FILE__, __LINE__, name,
                        (long long)next);
                unit_failures_++;
                bad++;
            }
            next = tz_next_change(z, t);
            CHECK(next > t);
        }
        off = o;
    }
}

static void test_next_change_is_exact(void)
{
    for (size_t zi = 0; zi < NCASES(cross_zones); zi++) {
        tz_zone *z = load(cross_zones[zi]);
        if (z == NULL)
            continue;
        if (strcmp(cross_zones[zi], "America/Chicago") == 0) {
            /* date -u -d '1990-01-01' +%s -> 631152000; '2100-01-01' -> 4102444800 */
            next_change_scan(z, cross_zones[zi], 631152000, 4102444800LL);
        } else {
            /* date -u -d '2015-01-01' +%s -> 1420070400; '2030-01-01' -> 1893456000 */
            next_change_scan(z, cross_zones[zi], 1420070400, 1893456000);
        }
        /* The footer era: date -u -d '2089-01-01' +%s -> 3755376000,
           date -u -d '2092-01-01' +%s -> 3849984000 */
        next_change_scan(z, cross_zones[zi], 3755376000LL, 3849984000LL);
        tz_free(z);
    }
}

/* tz_utc(local) is the latest instant showing local, or, when none does,
   local read with the offset in force just before the jump over it.
   Checked on every quarter hour within 26 hours of each transition. */
static void utc_rule_holds(const tz_zone *z, const char *name, int64_t local, int *bad)
{
    int64_t u = tz_utc(z, local);
    /* Every offset in force within +-30 h of local (test_next_change_is_exact
       checks that tz_next_change misses no change). */
    int offs[64], noffs = 0;
    for (int64_t t = local - 30 * 3600; t <= local + 30 * 3600; t = tz_next_change(z, t)) {
        int o = tz_offset(z, t), seen = 0;
        for (int i = 0; i < noffs; i++)
            seen |= offs[i] == o;
        if (!seen && noffs < 64)
            offs[noffs++] = o;
    }
    int64_t latest = INT64_MIN;
    for (int i = 0; i < noffs; i++) {
        int64_t cand = local - offs[i];
        if (tz_offset(z, cand) == offs[i] && cand > latest)
            latest = cand;
    }
    int ok;
    if (latest != INT64_MIN) {
        ok = u == latest;
    } else {
        /* Skipped: u = local - before, with `before` in force just before a
           transition at or before u, and the wall clock jumping over local. */
        int before = (int)(local - u), after = tz_offset(z, u);
        ok = after > before && tz_offset(z, u - (after - before)) == before &&
             tz_local(z, u - (after - before)) < local && tz_local(z, u) > local;
    }
    if (!ok && (*bad)++ < 3) {
        fprintf(stderr, "%s:%d: %s: tz_utc(%lld) == %lld (latest valid %lld)\n", __FILE__,
                __LINE__, name, (long long)local, (long long)u, (long long)latest);
        unit_failures_++;
    }
}

static void test_utc_rule_around_transitions(void)
{
    for (size_t zi = 0; zi < NCASES(cross_zones); zi++) {
        tz_zone *z = load(cross_zones[zi]);
        if (z == NULL)
            continue;
        int bad = 0, transitions = 0;
        /* date -u -d '2005-01-01' +%s -> 1104537600; '2031-01-01' -> 1924992000 */
        for (int64_t t = tz_next_change(z, 1104537600); t < 1924992000;
             t = tz_next_change(z, t)) {
            transitions++;
            int64_t mid = tz_local(z, t);
            for (int64_t l = mid - 26 * 3600; l <= mid + 26 * 3600; l += 900)
                utc_rule_holds(z, cross_zones[zi], l, &bad);
            /* And a second either side of the wall-clock jump. */
            utc_rule_holds(z, cross_zones[zi], t - 1 + tz_offset(z, t - 1), &bad);
            utc_rule_holds(z, cross_zones[zi], t + tz_offset(z, t - 1), &bad);
            utc_rule_holds(z, cross_zones[zi], t + tz_offset(z, t), &bad);
            utc_rule_holds(z, cross_zones[zi], t - 1 + tz_offset(z, t), &bad);
        }
        /* Also the footer era, 2088..2092.
           date -u -d '2088-01-01' +%s -> 3723753600; '2092-01-01' -> 3849984000 */
        for (int64_t t = tz_next_change(z, 3723753600LL); t < 3849984000LL;
             t = tz_next_change(z, t)) {
            int64_t mid = tz_local(z, t);
            for (int64_t l = mid - 7200; l <= mid + 7200; l += 900)
                utc_rule_holds(z, cross_zones[zi], l, &bad);
        }
        CHECK_INT(bad, 0);
        if (strcmp(cross_zones[zi], "America/Chicago") == 0)
            CHECK_INT(transitions, 52); /* two a year, 2005..2030 */
        tz_free(z);
    }
}

/* ---- synthetic TZif data ---------------------------------------------------- */

static void test_parse_v1_only(void)
{
    unsigned char b[512];
    const int64_t times[] = {1000, 5000};
    const unsigned char idx[] = {1, 0};
    const int32_t offs[] = {3600, 7200};
    size_t len = build_tzif(b, 0, 2, times, idx, 2, offs, NULL);
    tz_zone *z = NULL;
    CHECK_INT(tz_parse(b, len, &z), 0);
    if (z == NULL)
        return;
    CHECK_INT(tz_offset(z, -1000000), 3600); /* type 0 before the first */
    CHECK_INT(tz_offset(z, 999), 3600);
    CHECK_INT(tz_offset(z, 1000), 7200);
    CHECK_INT(tz_offset(z, 4999), 7200);
    CHECK_INT(tz_offset(z, 5000), 3600);
    CHECK_INT(tz_offset(z, 4000000000LL), 3600); /* no footer: the last type */
    CHECK_INT(tz_next_change(z, 0), 1000);
    CHECK_INT(tz_next_change(z, 1000), 5000);
    CHECK_INT(tz_next_change(z, 5000), INT64_MAX);
    tz_free(z);
}

static void test_parse_versions_3_and_4(void)
{
    size_t len = 0;
    unsigned char *b = zone_bytes("America/Chicago", &len);
    if (b == NULL)
        return;
    /* The two version bytes (v1 header, v2+ header). */
    uint32_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = (uint32_t)b[20 + 4 * i] << 24 | (uint32_t)b[21 + 4 * i] << 16 |
                 (uint32_t)b[22 + 4 * i] << 8 | b[23 + 4 * i];
    size_t v1 = 44 + cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
    CHECK(v1 + 44 < len && memcmp(b + v1, "TZif", 4) == 0);
    for (char v = '3'; v <= '4'; v++) {
        b[4] = b[v1 + 4] = (unsigned char)v;
        tz_zone *z = NULL;
        CHECK_INT(tz_parse(b, len, &z), 0);
        if (z) {
            CHECK_INT(tz_offset(z, 1772956800), -18000);
            CHECK_INT(tz_offset(z, 3803803200LL), -18000);
        }
        tz_free(z);
    }
    free(b);
}

static void test_footer_rule_forms(void)
{
    tz_zone *z = NULL;
    /* Jn: day n of 1..365, Feb 29 never counted: J60 is March 1 even in a
       leap year, J300 is October 27. n: zero-based, counting Feb 29: 59 is
       Feb 29 in 2024 and March 1 in 2023. (Checked with zdump on the TZ
       strings themselves.)
       date -u -d '2023-03-01 05:00:00' +%s -> 1677646800
       date -u -d '2023-10-27 04:00:00' +%s -> 1698379200
       date -u -d '2024-03-01 05:00:00' +%s -> 1709269200
       date -u -d '2024-10-27 04:00:00' +%s -> 1730001600
       date -u -d '2024-02-29 05:00:00' +%s -> 1709182800
       date -u -d '2024-10-26 04:00:00' +%s -> 1729915200 */
    CHECK_INT(footer_zone("AAA3BBB,J60/2,J300/2", &z), 0);
    if (z) {
        TRANSITION_IS(z, 1677646800, -10800, -7200);
        TRANSITION_IS(z, 1698379200, -7200, -10800);
        TRANSITION_IS(z, 1709269200, -10800, -7200);
        TRANSITION_IS(z, 1730001600, -7200, -10800);
        tz_free(z);
    }
    CHECK_INT(footer_zone("AAA3BBB,59/2,299/2", &z), 0);
    if (z) {
        TRANSITION_IS(z, 1677646800, -10800, -7200);
        TRANSITION_IS(z, 1698379200, -7200, -10800);
        TRANSITION_IS(z, 1709182800, -10800, -7200);
        TRANSITION_IS(z, 1729915200, -7200, -10800);
        tz_free(z);
    }
    /* Only a footer, no rule. */
    CHECK_INT(footer_zone("<-03>3", &z), 0);
    if (z) {
        CHECK_INT(tz_offset(z, 1709182800), -10800);
        CHECK_INT(tz_next_change(z, 1709182800), INT64_MAX);
        tz_free(z);
    }
    /* An empty footer line: no footer. */
    CHECK_INT(footer_zone("", &z), 0);
    if (z) {
        CHECK_INT(tz_offset(z, 1709182800), 0);
        tz_free(z);
    }
}

static void parse_rejects(const unsigned char *b, size_t len, int line)
{
    tz_zone *z = (tz_zone *)&z; /* must be reset to NULL */
    int rc = tz_parse(b, len, &z);
    if (rc != -1 || z != NULL) {
        fprintf(stderr, "%s:%d: tz_parse accepted %zu bytes (rc %d)\n", __FILE__, line, len,
                rc);
        unit_failures_++;
        if (rc == 0)
            tz_free(z);
    }
}
#define PARSE_REJECTS(b, len) parse_rejects((b), (len), __LINE__)

static void test_parse_rejects(void)
{
    static const unsigned char garbage[] =
        "This is not a time zone file, just some text long enough to pass the size test.";
    PARSE_REJECTS(garbage, sizeof garbage);
    PARSE_REJECTS(garbage, 0);

    size_t len = 0;
    unsigned char *b = zone_bytes("America/Chicago", &len);
    if (b == NULL)
        return;
    unsigned char *m = malloc(len);
    /* Truncated: the first 30 bytes (each prefix is its own allocation, so
       the sanitizer sees any read past it). */
    memcpy(m, b, 30);
    PARSE_REJECTS(m, 30);
    /* Every prefix that stops before the footer, and every prefix that
       stops inside it (no closing newline). */
    size_t fstart = len - 2;
    while (fstart > 0 && b[fstart] != '\n')
        fstart--;
    CHECK(fstart > 44 && b[len - 1] == '\n');
    for (size_t n = 0; n < len; n++) {
        if (n == fstart || n == fstart + 1)
            continue; /* the data blocks are complete: a zone without footer */
        unsigned char *p = malloc(n ? n : 1);
        memcpy(p, b, n);
        PARSE_REJECTS(p, n);
        free(p);
    }
    /* Wrong magic, in the first header and in the second. */
    memcpy(m, b, len);
    m[3] = 'F';
    PARSE_REJECTS(m, len);
    memcpy(m, b, len);
    memcpy(m, "TZjf", 4);
    PARSE_REJECTS(m, len);
    memcpy(m, b, len);
    const unsigned char *second = NULL;
    for (size_t i = 4; i + 4 < len && second == NULL; i++)
        if (memcmp(b + i, "TZif", 4) == 0)
            second = b + i;
    CHECK(second != NULL);
    if (second) {
        m[second - b] = 'X';
        PARSE_REJECTS(m, len);
    }
    /* A footer line that is not a TZ string. */
    memcpy(m, b, len);
    m[fstart + 1] = '#';
    PARSE_REJECTS(m, len);
    /* The untouched file is fine. */
    tz_zone *z = NULL;
    memcpy(m, b, len);
    CHECK_INT(tz_parse(m, len, &z), 0);
    tz_free(z);
    free(m);
    free(b);

    unsigned char s[512];
    const int32_t offs[] = {0, 3600};
    /* No types at all. */
    len = build_tzif(s, '2', 0, NULL, NULL, 0, offs, "UTC0");
    PARSE_REJECTS(s, len);
    /* Transitions out of order, or repeated. */
    const int64_t down[] = {5000, 1000}, same[] = {1000, 1000};
    const unsigned char idx[] = {1, 0}, badidx[] = {1, 2};
    len = build_tzif(s, '2', 2, down, idx, 2, offs, "UTC0");
    PARSE_REJECTS(s, len);
    len = build_tzif(s, '2', 2, same, idx, 2, offs, "UTC0");
    PARSE_REJECTS(s, len);
    /* A transition to a type that does not exist. */
    const int64_t up[] = {1000, 5000};
    len = build_tzif(s, '2', 2, up, badidx, 2, offs, "UTC0");
    PARSE_REJECTS(s, len);
    len = build_tzif(s, 0, 2, up, badidx, 2, offs, NULL);
    PARSE_REJECTS(s, len);
    /* Sanity: the same with a valid index parses. */
    len = build_tzif(s, '2', 2, up, idx, 2, offs, "UTC0");
    CHECK_INT(tz_parse(s, len, &z), 0);
    tz_free(z);
}

static void test_parse_rejects_bad_footers(void)
{
    static const char *const bad[] = {
        "A3",                         /* name too short */
        "AAA",                        /* no offset */
        "AAA3BBB",                    /* DST without rules */
        "<A3",                        /* unterminated <name> */
        "AAA3BBB,M3.2.0",             /* one rule only */
        "AAA3BBB,M13.2.0,M11.1.0",    /* month 13 */
        "AAA3BBB,M3.6.0,M11.1.0",     /* week 6 */
        "AAA3BBB,M3.2.7,M11.1.0",     /* day 7 */
        "AAA3BBB,J0,J300",            /* J is 1-based */
        "AAA3BBB,J366,J300",
        "AAA3BBB,366,300",            /* n is 0..365 */
        "AAA3BBB,M3.2.0,M11.1.0junk", /* trailing characters */
        /* Numbers that do not fit an int: malformed, not undefined. */
        "AAA99999999999",
        "AAA3BBB,M3.2.0/99999999,M11.1.0",
        "AAA3BBB,M3.2.0/2:99999999999,M11.1.0",
        "AAA3BBB,M99999999999.2.0,M11.1.0",
        "AAA3BBB,J99999999999,J300",
        "AAA3BBB,M3.2.0/168,M11.1.0", /* RFC 8536: rule hours -167..167 */
        "AAA3:60",                    /* minutes 0..59 */
        "AAA3:00:60",                 /* seconds 0..59 */
        /* A ':' must be followed by a number (else the offset is unset). */
        "AAA3:",
        "AAA3:BBB,M3.2.0,M11.1.0",
        "AAA3BBB,M3.2.0/2:,M11.1.0",
        "AAA3BBB-:30,M3.2.0,M11.1.0",
    };
    for (size_t i = 0; i < NCASES(bad); i++) {
        tz_zone *z = (tz_zone *)&z;
        int rc = footer_zone(bad[i], &z);
        if (rc != -1 || z != NULL) {
            fprintf(stderr, "%s:%d: footer \"%s\" accepted\n", __FILE__, __LINE__, bad[i]);
            unit_failures_++;
            if (rc == 0)
                tz_free(z);
        }
    }
    /* The extremes that are allowed: rule times -167..167 hours. */
    tz_zone *z = NULL;
    CHECK_INT(footer_zone("AAA3BBB,M3.2.0/-167,M11.1.0/167", &z), 0);
    tz_free(z);
    CHECK_INT(footer_zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", &z), 0);
    tz_free(z);
}

/* Random corruption of real files: tz_parse must reject or accept without
   reading out of bounds, and the zones it accepts must answer. */
static void test_parse_corrupted(void)
{
    static const char *const names[] = {"America/Chicago", "Pacific/Chatham", "Asia/Kolkata"};
    uint64_t rng = 0x2545F4914F6CDD1DULL;
    for (size_t zi = 0; zi < NCASES(names); zi++) {
        size_t len = 0;
        unsigned char *b = zone_bytes(names[zi], &len);
        if (b == NULL)
            continue;
        for (int it = 0; it < 1500; it++) {
            unsigned char *m = malloc(len);
            memcpy(m, b, len);
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            int k = 1 + (int)(rng % 4);
            for (int j = 0; j < k; j++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                size_t pos = (rng >> 8) % len;
                if (rng & 1) /* often in the footer */
                    pos = len - 1 - (rng >> 8) % 40;
                m[pos] = (unsigned char)"0123456789,.:/-+<>MJ\n\xff"[(rng >> 40) % 22];
            }
            tz_zone *z = NULL;
            if (tz_parse(m, len, &z) == 0) {
                for (int64_t t = -2208988800LL; t < 4102444800LL; t += 86400 * 367 + 3) {
                    (void)tz_offset(z, t);
                    (void)tz_next_change(z, t);
                    (void)tz_utc(z, t);
                }
                tz_free(z);
            } else {
                CHECK(z == NULL);
            }
            free(m);
        }
        free(b);
    }
}

UNIT_MAIN(UNIT(test_chicago_2026_transitions), UNIT(test_chicago_gap_and_overlap),
          UNIT(test_chicago_round_trip_hourly), UNIT(test_chicago_footer_2090),
          UNIT(test_guatemala), UNIT(test_kolkata), UNIT(test_chatham), UNIT(test_sydney_2090),
          UNIT(test_apia_skipped_day), UNIT(test_fixed), UNIT(test_offsets_match_glibc),
          UNIT(test_next_change_is_exact), UNIT(test_utc_rule_around_transitions),
          UNIT(test_parse_v1_only), UNIT(test_parse_versions_3_and_4),
          UNIT(test_footer_rule_forms), UNIT(test_parse_rejects),
          UNIT(test_parse_rejects_bad_footers), UNIT(test_parse_corrupted))
