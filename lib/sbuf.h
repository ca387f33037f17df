/*
 * sbuf.h -- a growable byte buffer for building text (SQL array literals,
 * CSV, Prometheus exposition).
 *
 * Out-of-memory is sticky: once an append fails, sbuf_failed() is true and
 * further appends do nothing, so callers check once at the end.
 */
#ifndef COMPSTAT_SBUF_H
#define COMPSTAT_SBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sbuf {
    char *data; /* NUL-terminated when len > 0 or after any append */
    size_t len, cap;
    int failed;
} sbuf;

#if defined(__GNUC__)
#define SBUF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SBUF_PRINTF(a, b)
#endif

void sbuf_init(sbuf *b);
void sbuf_free(sbuf *b);
void sbuf_reset(sbuf *b); /* len = 0, keeps the allocation */
void sbuf_append(sbuf *b, const char *s, size_t len);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_putc(sbuf *b, char c);
void sbuf_printf(sbuf *b, const char *fmt, ...) SBUF_PRINTF(2, 3);
/* A decimal integer (what sbuf_printf("%llu"/"%lld") writes, without printf). */
void sbuf_uint(sbuf *b, uint64_t v);
void sbuf_int(sbuf *b, int64_t v);
/* v with 1..3 decimals, the very characters printf("%.*f") writes. */
void sbuf_fixed(sbuf *b, double v, int decimals);
int sbuf_failed(const sbuf *b);
/* Contents as a C string ("" when empty). */
const char *sbuf_str(sbuf *b);

/*
 * PostgreSQL array literals, built element by element:
 * sbuf_array_begin, then sbuf_array_str / sbuf_array_raw / sbuf_array_null
 * for each element, then sbuf_array_end. Strings are double-quoted with '"'
 * and '\' escaped, so any text round-trips.
 */
void sbuf_array_begin(sbuf *b);
void sbuf_array_str(sbuf *b, const char *s);   /* NULL -> NULL */
void sbuf_array_raw(sbuf *b, const char *tok); /* a number, unquoted */
void sbuf_array_null(sbuf *b);
void sbuf_array_end(sbuf *b);

/* A JSON string literal (quoted, escaped); NULL -> null. */
void sbuf_json_str(sbuf *b, const char *s);

/*
 * CSV field (RFC 4180): quoted when it holds ',', '"', CR or LF. A field
 * that begins with '=', '+', '-', '@', tab or CR gets a "'" first, so that
 * spreadsheets show it as text instead of running it as a formula (OWASP's
 * advice on CSV injection). Numbers meant as numbers are not written
 * through here.
 */
void sbuf_csv_field(sbuf *b, const char *s);

#endif
