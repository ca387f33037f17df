/*
 * params.c -- see params.h.
 */
#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

int params_time_parse(const char *v, params_time *out)
{
    int y, m, d;
    int64_t t;
    if (rfc3339_parse_date(v, &y, &m, &d) == 0) {
        memset(out, 0, sizeof *out);
        out->is_date = 1;
        out->day = rfc3339_days_from_civil(y, m, d);
        out->y = y;
        out->m = m;
        out->d = d;
        return 0;
    }
    if (rfc3339_parse(v, &t) == 0) {
        memset(out, 0, sizeof *out);
        out->t = t;
        return 0;
    }
    return -1;
}

/* One number of a bbox: a plain decimal (digits, '.', sign, exponent). */
static int bbox_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '+' ||
              s[i] == 'e' || s[i] == 'E'))
            return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return *end == '\0' && errno == 0 && isfinite(*out) ? 0 : -1;
}

int params_bbox(const char *v, double out[4])
{
    double b[4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (bbox_number(p, n, &b[i]) != 0 || (i < 3) != (comma != NULL))
            return -1;
        p = comma ? comma + 1 : p + n;
    }
    if (!(b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90 && b[0] <= b[2] &&
          b[1] <= b[3]))
        return -1;
    memcpy(out, b, sizeof b);
    return 0;
}

int params_bool(const char *v, int *out)
{
    if (strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int params_int(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*end || end == v || errno == ERANGE || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

char *params_list_next(char *s, size_t *at)
{
    size_t i = *at;
    while (s[i] == ',')
        i++;
    if (s[i] == '\0') {
        *at = i;
        return NULL;
    }
    char *item = s + i;
    size_t n = strcspn(item, ",");
    *at = i + n + (item[n] == ',');
    item[n] = '\0';
    return item;
}

int params_priorities(const char *v, unsigned *bits)
{
    unsigned b = 0;
    for (const char *p = v;; p += 2) {
        if (p[0] < '0' || p[0] > '9' || (p[1] != ',' && p[1] != '\0'))
            return -1;
        b |= 1u << (p[0] - '0' + 1);
        if (p[1] == '\0') {
            *bits = b;
            return 0;
        }
    }
}
