/*
 * tz.c -- see tz.h.
 *
 * The transitions of the file are kept as they are (sorted instants, each
 * with the offset that starts then). Beyond the last one, the footer rule
 * is evaluated per year: two transitions a year at most.
 */
#include "tz.h"

#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

/* A POSIX TZ date rule: Mm.w.d, Jn (1..365, no Feb 29) or n (0..365). */
struct rule_date {
    char kind; /* 'M', 'J' or 'D' */
    int m, w, d, n;
    int32_t time; /* seconds after local midnight, may be negative or > 24 h */
};

struct tz_zone {
    size_t n;         /* transitions */
    int64_t *at;      /* transition instants, ascending */
    int32_t *off;     /* offset from at[i] on */
    int32_t first;    /* offset before at[0] (or always, when n == 0) */
    int has_rule;     /* footer: std/dst with rules */
    int has_footer;   /* footer present at all */
    int32_t std_off, dst_off;
    struct rule_date start, end;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---------------------------------------------------------- POSIX TZ */

static const char *parse_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e ? e + 1 : NULL;
    }
    const char *b = s;
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
        s++;
    return s - b >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]] -> seconds; NULL on error. */
static const char *parse_hms(const char *s, int32_t *out)
{
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    int v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (*s < '0' || *s > '9')
            return NULL; /* no number after the sign or a ':' */
        int x = 0;
        while (*s >= '0' && *s <= '9')
            if ((x = x * 10 + (*s++ - '0')) > 999)
                return NULL;
        v[i] = x;
        if (*s != ':' || i == 2)
            break;
        s++;
    }
    if (v[0] > 167 || v[1] > 59 || v[2] > 59) /* RFC 8536: hours -167..167 */
        return NULL;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return s;
}

static int parse_int(const char **s, int *out)
{
    if (**s < '0' || **s > '9')
        return -1;
    int x = 0;
    while (**s >= '0' && **s <= '9')
        if ((x = x * 10 + (*(*s)++ - '0')) > 99999)
            return -1;
    *out = x;
    return 0;
}

static const char *parse_rule_date(const char *s, struct rule_date *r)
{
    if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (parse_int(&s, &r->m) || *s++ != '.' || parse_int(&s, &r->w) || *s++ != '.' ||
            parse_int(&s, &r->d))
            return NULL;
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d > 6)
            return NULL;
    } else if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (parse_int(&s, &r->n) || r->n < 1 || r->n > 365)
            return NULL;
    } else {
        r->kind = 'D';
        if (parse_int(&s, &r->n) || r->n > 365)
            return NULL;
    }
    r->time = 7200;
    if (*s == '/') {
        s = parse_hms(s + 1, &r->time);
        if (s == NULL)
            return NULL;
    }
    return s;
}

/* Parse the footer; 0 on success (including an empty footer). */
static int parse_footer(tz_zone *z, const char *s)
{
    if (*s == '\0')
        return 0;
    int32_t std, dst;
    if ((s = parse_name(s)) == NULL || (s = parse_hms(s, &std)) == NULL)
        return -1;
    z->has_footer = 1;
    z->std_off = -std; /* POSIX offsets are positive west of Greenwich */
    z->dst_off = z->std_off;
    if (*s == '\0')
        return 0;
    if ((s = parse_name(s)) == NULL)
        return -1;
    z->dst_off = z->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if ((s = parse_hms(s, &dst)) == NULL)
            return -1;
        z->dst_off = -dst;
    }
    if (*s != ',')
        return -1; /* a DST name without rules: not produced by zic */
    if ((s = parse_rule_date(s + 1, &z->start)) == NULL || *s != ',' ||
        (s = parse_rule_date(s + 1, &z->end)) == NULL || *s != '\0')
        return -1;
    z->has_rule = 1;
    return 0;
}

/* Local midnight (local seconds) of the rule's day in year y. */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
    int leap = rfc3339_days_in_month(y, 2) == 29;
    int64_t jan1 = rfc3339_days_from_civil(y, 1, 1);
    int64_t day;
    if (r->kind == 'J') {
        day = jan1 + r->n - 1 + (leap && r->n >= 60);
    } else if (r->kind == 'D') {
        day = jan1 + r->n;
    } else {
        int64_t first = rfc3339_days_from_civil(y, r->m, 1);
        int dow = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int64_t d = first + ((r->d - dow + 7) % 7) + 7 * (r->w - 1);
        int dim = rfc3339_days_in_month(y, r->m);
        while (d >= first + dim)
            d -= 7;
        day = d;
    }
    return day * 86400;
}

/* The two rule transitions of year y, as instants. */
static void rule_transitions(const tz_zone *z, int64_t y, int64_t *to_dst, int64_t *to_std)
{
    *to_dst = rule_day(&z->start, y) + z->start.time - z->std_off;
    *to_std = rule_day(&z->end, y) + z->end.time - z->dst_off;
}

static int64_t year_of(int64_t utc)
{
    int64_t y;
    int m, d;
    int64_t days = utc >= 0 ? utc / 86400 : -((-utc + 86399) / 86400);
    rfc3339_civil_from_days(days, &y, &m, &d);
    return y;
}

static int rule_offset(const tz_zone *z, int64_t utc)
{
    if (!z->has_rule)
        return z->std_off;
    int64_t a, b;
    rule_transitions(z, year_of(utc), &a, &b);
    if (a < b) /* northern hemisphere: DST inside the year */
        return (utc >= a && utc < b) ? z->dst_off : z->std_off;
    return (utc >= b && utc < a) ? z->std_off : z->dst_off;
}

/* ---------------------------------------------------------- TZif */

int tz_parse(const unsigned char *data, size_t len, tz_zone **out)
{
    *out = NULL;
    if (len < 44 || memcmp(data, "TZif", 4) != 0)
        return -1;
    int version = data[4] ? data[4] - '0' : 1;
    const unsigned char *p = data;
    size_t tsize = 4;
    uint32_t cnt[6];
    for (int pass = 0;; pass++) {
        if ((size_t)(p - data) + 44 > len || memcmp(p, "TZif", 4) != 0)
            return -1;
        for (int i = 0; i < 6; i++)
            cnt[i] = be32(p + 20 + 4 * i);
        /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
        size_t body = (size_t)cnt[3] * tsize + cnt[3] + (size_t)cnt[4] * 6 + cnt[5] +
                      (size_t)cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
        if (cnt[4] == 0 || cnt[4] > 256 || (size_t)(p - data) + 44 + body > len)
            return -1;
        if (version >= 2 && pass == 0) {
            p += 44 + body; /* skip the 32-bit block */
            tsize = 8;
            continue;
        }
        break;
    }
    const unsigned char *times = p + 44;
    const unsigned char *idx = times + (size_t)cnt[3] * tsize;
    const unsigned char *types = idx + cnt[3];
    size_t timecnt = cnt[3], typecnt = cnt[4];

    tz_zone *z = calloc(1, sizeof *z);
    if (z == NULL)
        return -1;
    z->n = timecnt;
    z->at = malloc((timecnt ? timecnt : 1) * sizeof *z->at);
    z->off = malloc((timecnt ? timecnt : 1) * sizeof *z->off);
    if (z->at == NULL || z->off == NULL) {
        tz_free(z);
        return -1;
    }
    for (size_t i = 0; i < timecnt; i++) {
        z->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= typecnt || (i > 0 && z->at[i] <= z->at[i - 1])) {
            tz_free(z);
            return -1;
        }
        z->off[i] = (int32_t)be32(types + 6 * idx[i]);
    }
    z->first = (int32_t)be32(types); /* type 0 before the first transition */

    if (version >= 2) {
        const unsigned char *f = types + typecnt * 6 + cnt[5] + (size_t)cnt[2] * (tsize + 4) +
                                 cnt[1] + cnt[0];
        size_t rest = len - (size_t)(f - data);
        if (rest >= 2 && f[0] == '\n') {
            const unsigned char *nl = memchr(f + 1, '\n', rest - 1);
            size_t flen = nl ? (size_t)(nl - f - 1) : 0;
            char footer[128];
            if (nl == NULL || flen >= sizeof footer) {
                tz_free(z);
                return -1;
            }
            memcpy(footer, f + 1, flen);
            footer[flen] = '\0';
            if (parse_footer(z, footer) != 0) {
                tz_free(z);
                return -1;
            }
        }
    }
    *out = z;
    return 0;
}

tz_zone *tz_fixed(int offset)
{
    tz_zone *z = calloc(1, sizeof *z);
    if (z == NULL)
        return NULL;
    z->first = offset;
    z->std_off = z->dst_off = offset;
    return z;
}

void tz_free(tz_zone *z)
{
    if (z == NULL)
        return;
    free(z->at);
    free(z->off);
    free(z);
}

int tz_offset(const tz_zone *z, int64_t utc)
{
    if (z->n == 0 || utc < z->at[0])
        return z->n == 0 && z->has_footer ? rule_offset(z, utc) : z->first;
    if (utc >= z->at[z->n - 1] && z->has_footer)
        return rule_offset(z, utc);
    size_t lo = 0, hi = z->n; /* last i with at[i] <= utc */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (z->at[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

int64_t tz_local(const tz_zone *z, int64_t utc)
{
    return utc + tz_offset(z, utc);
}

int64_t tz_utc(const tz_zone *z, int64_t local)
{
    /* Offsets lie within +-26 h, so every instant the wall clock could
       show `local` at is within 30 h of it: try each offset in force in
       that window. */
    const int64_t w = 30 * 3600;
    int64_t t = local - w, best = INT64_MIN;
    for (;;) {
        int off = tz_offset(z, t);
        int64_t cand = local - off;
        if (tz_offset(z, cand) == off && cand > best)
            best = cand; /* shown twice (fall back): the later instant */
        t = tz_next_change(z, t);
        if (t == INT64_MAX || t > local + w)
            break;
    }
    if (best != INT64_MIN)
        return best;
    /* Skipped (spring forward): read it with the offset before the jump. */
    for (t = tz_next_change(z, local - w); t != INT64_MAX && t <= local + w;
         t = tz_next_change(z, t)) {
        int before = tz_offset(z, t - 1), after = tz_offset(z, t);
        if (before < after && local >= t + before && local < t + after)
            return local - before;
    }
    return local - tz_offset(z, local);
}

int64_t tz_next_change(const tz_zone *z, int64_t utc)
{
    if (z->n > 0 && utc < z->at[z->n - 1]) {
        if (utc < z->at[0])
            return z->at[0];
        size_t lo = 0, hi = z->n - 1; /* first at[i] > utc */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (z->at[mid] > utc)
                hi = mid;
            else
                lo = mid + 1;
        }
        return z->at[lo];
    }
    if (!z->has_rule)
        return INT64_MAX;
    int64_t y = year_of(utc);
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t a, b;
        rule_transitions(z, yy, &a, &b);
        int64_t first = a < b ? a : b, second = a < b ? b : a;
        if (first > utc)
            return first;
        if (second > utc)
            return second;
    }
    return INT64_MAX;
}
