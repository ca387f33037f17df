/*
 * secret.h -- API tokens: generation and hashing (OpenSSL libcrypto).
 *
 * A token is "cst_" followed by 43 URL-safe base64 characters (256 random
 * bits from the OS CSPRNG). Only its SHA-256, as 64 lowercase hex digits, is
 * ever stored; the daemon hashes the presented bearer token and looks the
 * hash up.
 */
#ifndef COMPSTAT_SECRET_H
#define COMPSTAT_SECRET_H

#include <stddef.h>

#define SECRET_TOKEN_LEN 47 /* "cst_" + 43 */
#define SECRET_HASH_LEN 64

/* Fill out (SECRET_TOKEN_LEN + 1 bytes) with a new token. 0, or -1. */
int secret_new_token(char *out);

/* out (SECRET_HASH_LEN + 1 bytes) = hex SHA-256 of s[0..len). 0, or -1. */
int secret_hash(const char *s, size_t len, char *out);

#endif
