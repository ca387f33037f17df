/*
 * secret.c -- see secret.h.
 */
#include "secret.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

int secret_new_token(char *out)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33];
    if (RAND_bytes(raw, 32) != 1)
        return -1;
    raw[32] = 0;
    char *p = out;
    *p++ = 'c', *p++ = 's', *p++ = 't', *p++ = '_';
    /* 256 bits -> 43 base64 digits (the last carries 4 bits). */
    for (int i = 0; i < 33; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)(i + 1 < 33 ? raw[i + 1] : 0) << 8 |
                     (unsigned)(i + 2 < 33 ? raw[i + 2] : 0);
        for (int k = 0; k < 4 && p - out < SECRET_TOKEN_LEN; k++)
            *p++ = b64[(v >> (18 - 6 * k)) & 63];
    }
    *p = '\0';
    return 0;
}

int secret_hash(const char *s, size_t len, char *out)
{
    /* Fetched and allocated once: EVP_Digest fetches the algorithm and
       allocates a context on every call, and this runs on every request. */
    static EVP_MD *sha256;
    static EVP_MD_CTX *ctx;
    if (sha256 == NULL)
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (ctx == NULL)
        ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (sha256 == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, sha256, NULL) != 1 ||
        EVP_DigestUpdate(ctx, s, len) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
        mdlen != 32)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}
