/*
 * authn.c -- see authn.h.
 */
#include "authn.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int authn_cookie(const char *header, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            while (vlen > 0 && (p[nlen + 1 + vlen - 1] == ' ' || p[nlen + 1 + vlen - 1] == '\t'))
                vlen--;
            if (vlen == 0 || vlen + 1 > size)
                return -1;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = end;
    }
    return -1;
}

/* Code points of valid UTF-8 without controls, or -1. */
static long utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned c = *p;
        int k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                             : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (k < 0 || (k == 1 && c < 0xC2) || (k == 3 && c > 0xF4))
            return -1;
        if (k == 0 && (c < 0x20 || c == 0x7F))
            return -1;
        unsigned cp = k == 0 ? c : c & (0x3F >> k);
        for (int i = 1; i <= k; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return -1;
        p += k + 1;
        n++;
    }
    return n;
}

static int same_ignoring_case(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return 0;
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

int authn_password_ok(const char *password, const char *login, const char *name, char *why,
                      size_t why_size)
{
    long n = utf8_chars(password);
    const char *msg = NULL;
    if (n < 0)
        msg = "the password must be text (UTF-8) without control characters";
    else if (n < 12)
        msg = "the password must have at least 12 characters (a few words make a good one)";
    else if (n > 256)
        msg = "the password may have at most 256 characters";
    else if (same_ignoring_case(password, login) || same_ignoring_case(password, name))
        msg = "the password may not be the login or the name";
    if (msg == NULL)
        return 0;
    if (why_size)
        snprintf(why, why_size, "%s", msg);
    return -1;
}

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void authn_base32(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i + 5 <= n; i += 5) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++)
            v = (v << 8) | in[i + (size_t)k];
        for (int k = 7; k >= 0; k--)
            out[o++] = B32[(v >> (5 * k)) & 31];
    }
    out[o] = '\0';
}

int authn_base32_decode(const char *in, uint8_t *out, size_t size)
{
    size_t len = strlen(in), o = 0;
    if (len % 8 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++) {
            const char *c = strchr(B32, in[i + (size_t)k]);
            if (c == NULL || *c == '\0')
                return -1;
            v = (v << 5) | (uint64_t)(c - B32);
        }
        if (o + 5 > size)
            return -1;
        for (int k = 4; k >= 0; k--)
            out[o++] = (uint8_t)(v >> (8 * k));
    }
    return (int)o;
}

int authn_totp(const uint8_t *key, size_t keylen, int64_t t)
{
    uint64_t step = (uint64_t)(t / 30);
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)(step & 0xFF);
        step >>= 8;
    }
    unsigned maclen = 0;
    if (HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, mac, &maclen) == NULL || maclen < 20)
        return -1;
    int off = mac[maclen - 1] & 0x0F;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7F) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    return (int)(bin % 1000000);
}

int64_t authn_totp_check(const uint8_t *key, size_t keylen, const char *code, int64_t t)
{
    if (code == NULL || strlen(code) != 6 || strspn(code, "0123456789") != 6)
        return -1;
    int want = (code[0] - '0') * 100000 + (code[1] - '0') * 10000 + (code[2] - '0') * 1000 +
               (code[3] - '0') * 100 + (code[4] - '0') * 10 + (code[5] - '0');
    for (int d = -1; d <= 1; d++) {
        int64_t at = t + d * 30;
        if (authn_totp(key, keylen, at) == want)
            return at / 30;
    }
    return -1;
}
