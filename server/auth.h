/*
 * auth.h -- bearer tokens to principals.
 *
 * The presented token is hashed (SHA-256) and looked up in api_tokens
 * through the reader connection; answers are cached for 60 s (unknown
 * tokens for 5 s), so a revoked token stops working within a minute and a
 * flood of bad tokens does not become a flood of queries. While the
 * database is down, cached principals keep working (reads are served from
 * memory) and unknown tokens get 503.
 */
#ifndef COMPSTAT_AUTH_H
#define COMPSTAT_AUTH_H

#include "http.h"

/*
 * Resolve r's Authorization header into r->who and check that its role is
 * one of roles. Then call proceed(r); otherwise reply 401, 403 or 503
 * itself. Either happens exactly once, possibly after a database round
 * trip.
 */
void auth_check(http_req *r, int roles, void (*proceed)(http_req *r));

void auth_free_cache(void);

#endif
