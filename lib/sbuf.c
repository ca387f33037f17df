/*
 * sbuf.c -- see sbuf.h.
 */
#include "sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(sbuf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void sbuf_free(sbuf *b)
{
    free(b->data);
    sbuf_init(b);
}

void sbuf_reset(sbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int reserve(sbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1)
        ncap *= 2;
    char *n = realloc(b->data, ncap);
    if (n == NULL) {
        b->failed = 1;
        return -1;
    }
    b->data = n;
    b->cap = ncap;
    return 0;
}

void sbuf_append(sbuf *b, const char *s, size_t len)
{
    if (reserve(b, len) != 0)
        return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void sbuf_puts(sbuf *b, const char *s)
{
    sbuf_append(b, s, strlen(s));
}

void sbuf_putc(sbuf *b, char c)
{
    sbuf_append(b, &c, 1);
}

void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int sbuf_failed(const sbuf *b)
{
    return b->failed;
}

const char *sbuf_str(sbuf *b)
{
    return b->data && !b->failed ? b->data : "";
}

static void array_sep(sbuf *b)
{
    if (b->len > 0 && b->data[b->len - 1] != '{')
        sbuf_putc(b, ',');
}

void sbuf_array_begin(sbuf *b)
{
    sbuf_putc(b, '{');
}

void sbuf_array_str(sbuf *b, const char *s)
{
    if (s == NULL) {
        sbuf_array_null(b);
        return;
    }
    array_sep(b);
    sbuf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sbuf_putc(b, '\\');
        sbuf_putc(b, *s);
    }
    sbuf_putc(b, '"');
}

void sbuf_array_raw(sbuf *b, const char *tok)
{
    array_sep(b);
    sbuf_puts(b, tok);
}

void sbuf_array_null(sbuf *b)
{
    array_sep(b);
    sbuf_puts(b, "NULL");
}

void sbuf_array_end(sbuf *b)
{
    sbuf_putc(b, '}');
}

void sbuf_csv_field(sbuf *b, const char *s)
{
    if (s == NULL)
        return;
    /* A spreadsheet runs a cell that starts with one of these as a
       formula: a quote first makes it text (OWASP, "CSV Injection"). */
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                  s[0] == '\r';
    if (strpbrk(s, ",\"\r\n") == NULL) {
        if (formula)
            sbuf_putc(b, '\'');
        sbuf_puts(b, s);
        return;
    }
    sbuf_putc(b, '"');
    if (formula)
        sbuf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '"')
            sbuf_putc(b, '"');
        sbuf_putc(b, *s);
    }
    sbuf_putc(b, '"');
}

void sbuf_json_str(sbuf *b, const char *s)
{
    if (s == NULL) {
        sbuf_puts(b, "null");
        return;
    }
    sbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sbuf_puts(b, "\\\""); break;
        case '\\': sbuf_puts(b, "\\\\"); break;
        case '\n': sbuf_puts(b, "\\n"); break;
        case '\r': sbuf_puts(b, "\\r"); break;
        case '\t': sbuf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                sbuf_printf(b, "\\u%04x", *p);
            else
                sbuf_putc(b, (char)*p);
        }
    }
    sbuf_putc(b, '"');
}

void sbuf_uint(sbuf *b, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sbuf_append(b, tmp + sizeof tmp - n, (size_t)n);
}

void sbuf_int(sbuf *b, int64_t v)
{
    if (v < 0) {
        sbuf_putc(b, '-');
        sbuf_uint(b, (uint64_t)0 - (uint64_t)v);
    } else {
        sbuf_uint(b, (uint64_t)v);
    }
}

void sbuf_fixed(sbuf *b, double v, int decimals)
{
    static const long double scale[] = {1.0L, 10.0L, 100.0L, 1000.0L};
    /* v * 10^decimals is exact in long double (64-bit significand or more:
       53 + 10 bits), so rounding it to an integer in the current rounding
       mode -- ties to even by default -- is exactly what printf does. */
    long double s = (long double)v * scale[decimals < 0 ? 0 : decimals > 3 ? 3 : decimals];
    if (decimals < 1 || decimals > 3 || !isfinite(v) || fabsl(s) >= 4.0e18L) {
        sbuf_printf(b, "%.*f", decimals, v);
        return;
    }
    long long n = llrintl(s);
    uint64_t a = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    if (signbit(v))
        sbuf_putc(b, '-'); /* printf writes -0.00 too */
    uint64_t p = decimals == 1 ? 10 : decimals == 2 ? 100 : 1000;
    sbuf_uint(b, a / p);
    char frac[4];
    uint64_t f = a % p;
    for (int i = decimals - 1; i >= 0; i--, f /= 10)
        frac[i] = (char)('0' + f % 10);
    sbuf_putc(b, '.');
    sbuf_append(b, frac, (size_t)decimals);
}
