/*
 * authn.h -- the pure parts of people's sign-in: reading a cookie from a
 * Cookie header, the password rule, and TOTP (RFC 6238) with its base32
 * secrets. No I/O; HMAC-SHA1 comes from OpenSSL's libcrypto.
 */
#ifndef COMPSTAT_AUTHN_H
#define COMPSTAT_AUTHN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The value of cookie name in a Cookie header ("a=1; name=v; b=2"), copied
 * into out (size bytes, NUL-terminated). 0, or -1 when absent, empty or
 * too long. Cookie names match exactly; the first one wins.
 */
int authn_cookie(const char *header, const char *name, char *out, size_t size);

/*
 * The password rule (NIST SP 800-63B, as the CJIS Security Policy takes it):
 * valid UTF-8 without control characters, at least 12 characters (code
 * points) and at most 256, and not the login or the name (ignoring ASCII
 * case). No composition rules. 0, or -1 with a message in why (English).
 */
int authn_password_ok(const char *password, const char *login, const char *name, char *why,
                      size_t why_size);

/* TOTP secrets: 20 bytes, written as 32 base32 characters (RFC 4648, no padding). */
#define AUTHN_TOTP_BYTES 20
#define AUTHN_TOTP_B32 32

/* Base32 of n bytes into out (8 characters per 5 bytes, n a multiple of 5). */
void authn_base32(const uint8_t *in, size_t n, char *out);
/* Decode base32 (upper case, no padding) into out: the byte count, or -1. */
int authn_base32_decode(const char *in, uint8_t *out, size_t size);

/* The 6-digit TOTP code of key at time t: 30 s steps from the epoch, HMAC-SHA1. */
int authn_totp(const uint8_t *key, size_t keylen, int64_t t);

/*
 * Does code (6 digits) match key at time t, one step either side allowed
 * (clock drift)? Returns the matching step (t / 30 + -1..1), or -1. A
 * caller refuses a step not later than the last one accepted (no replay).
 */
int64_t authn_totp_check(const uint8_t *key, size_t keylen, const char *code, int64_t t);

#endif
