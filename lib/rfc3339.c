/*
 * rfc3339.c -- see rfc3339.h.
 *
 * The civil-date conversions are Howard Hinnant's days_from_civil algorithm
 * (public domain description, "chrono-Compatible Low-Level Date Algorithms"),
 * written out here; they are exact for every proleptic Gregorian date.
 */
#include "rfc3339.h"

#include <stdio.h>
#include <string.h>

int64_t rfc3339_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                 /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void rfc3339_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int rfc3339_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* Read exactly n decimal digits at *p; advance *p. -1 on a non-digit. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int parse_ymd(const char **p, int *y, int *m, int *d)
{
    *y = digits(p, 4);
    if (*y < 0 || **p != '-')
        return -1;
    (*p)++;
    *m = digits(p, 2);
    if (*m < 1 || *m > 12 || **p != '-')
        return -1;
    (*p)++;
    *d = digits(p, 2);
    if (*d < 1 || *d > rfc3339_days_in_month(*y, *m))
        return -1;
    return 0;
}

int rfc3339_parse_date(const char *s, int *y, int *m, int *d)
{
    const char *p = s;
    if (s == NULL || parse_ymd(&p, y, m, d) != 0 || *p != '\0')
        return -1;
    if (*y < 1900 || *y > 2199)
        return -1; /* the years rfc3339_parse accepts */
    return 0;
}

int rfc3339_parse(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, hh, mi, ss, off = 0;

    if (s == NULL || parse_ymd(&p, &y, &mo, &d) != 0)
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if ((hh = digits(&p, 2)) < 0 || hh > 23 || *p++ != ':')
        return -1;
    if ((mi = digits(&p, 2)) < 0 || mi > 59 || *p++ != ':')
        return -1;
    if ((ss = digits(&p, 2)) < 0 || ss > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            p++;
            if (++n > 9)
                return -1;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = digits(&p, 2);
        if (oh < 0 || oh > 23 || *p++ != ':')
            return -1;
        int om = digits(&p, 2);
        if (om < 0 || om > 59)
            return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;

    int64_t t = rfc3339_days_from_civil(y, mo, d) * 86400 + hh * 3600 +
                mi * 60 + ss - off;
    if (t < RFC3339_MIN || t > RFC3339_MAX)
        return -1;
    *out = t;
    return 0;
}

static char *two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

char *rfc3339_format(int64_t t, int offset_s, char buf[RFC3339_BUFSZ])
{
    int64_t local = t + offset_s;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t secs = local - days * 86400;
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(days, &y, &m, &d);
    int hh = (int)(secs / 3600), mi = (int)(secs / 60 % 60), ss = (int)(secs % 60);
    int a = offset_s < 0 ? -offset_s : offset_s;
    if (y >= 0 && y <= 9999 && a < 100 * 3600) {
        /* The common case by hand: snprintf was most of the cost of a
           10-year weekly answer (522 buckets). */
        char *p = buf;
        p = two(p, (int)(y / 100));
        p = two(p, (int)(y % 100));
        *p++ = '-';
        p = two(p, m);
        *p++ = '-';
        p = two(p, d);
        *p++ = 'T';
        p = two(p, hh);
        *p++ = ':';
        p = two(p, mi);
        *p++ = ':';
        p = two(p, ss);
        if (offset_s == 0) {
            *p++ = 'Z';
        } else {
            *p++ = offset_s < 0 ? '-' : '+';
            p = two(p, a / 3600);
            *p++ = ':';
            p = two(p, a / 60 % 60);
        }
        *p = '\0';
        return buf;
    }
    /* Format wide, then copy: the compiler cannot see that every field is
       two digits, and -Wformat-truncation would object. */
    char tmp[160];
    if (offset_s == 0) {
        snprintf(tmp, sizeof tmp, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, hh, mi,
                 ss);
    } else {
        snprintf(tmp, sizeof tmp, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)y, m,
                 d, hh, mi, ss, offset_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    }
    size_t n = strlen(tmp);
    if (n >= RFC3339_BUFSZ)
        n = RFC3339_BUFSZ - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return buf;
}

char *rfc3339_format_ms(int64_t ms, int offset_s, char buf[RFC3339_BUFSZ])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int frac = (int)(ms - secs * 1000);
    char base[RFC3339_BUFSZ];
    rfc3339_format(secs, offset_s, base);
    /* Insert ".mmm" after the seconds (position 19). */
    size_t n = strlen(base);
    if (n < 19 || n + 4 >= RFC3339_BUFSZ) {
        memcpy(buf, base, n + 1);
        return buf;
    }
    memcpy(buf, base, 19);
    buf[19] = '.';
    buf[20] = (char)('0' + frac / 100);
    buf[21] = (char)('0' + frac / 10 % 10);
    buf[22] = (char)('0' + frac % 10);
    memcpy(buf + 23, base + 19, n - 19 + 1);
    return buf;
}
