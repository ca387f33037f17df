/*
 * auth.h -- bearer tokens to principals.
 *
 * The presented token is hashed (SHA-256) and looked up in api_tokens
 * through the reader connection; answers are cached for 60 s (unknown
 * tokens for 5 s, at most auth_unknown_cache of them: the least recently
 * seen are forgotten first, so random tokens cannot grow the daemon). An
 * address that sends auth_fail_limit unknown tokens within a minute is
 * answered 429 with Retry-After for 1 s, and each unknown token after that
 * blocks it for twice as long again (up to 5 min; forgiven after 10 quiet
 * minutes); while blocked, only tokens already cached as known are served
 * from it -- others get 429 without a query. compstat-admin NOTIFYs
 * compstat_tokens with the token's hash
 * when it revokes one, and that entry is dropped then (auth_watch), so a
 * revocation takes effect at once; the 60 s bound covers a revocation made
 * by hand in SQL. (A NOTIFY without payload drops the whole cache.) While the
 * database is down, cached principals keep working (reads are served from
 * memory) and unknown tokens get 503.
 */
#ifndef COMPSTAT_AUTH_H
#define COMPSTAT_AUTH_H

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"
#include "sbuf.h"

/* The session cookie's name. */
#define AUTH_COOKIE "compstat_session"

/*
 * Resolve r's Authorization header -- or, without one, its session cookie
 * (a person signed in: POST /v1/sessions) -- into r->who and check that its role is
 * one of roles. Then call proceed(r); otherwise reply 401, 403 or 503
 * itself. Either happens exactly once, possibly after a database round
 * trip.
 */
void auth_check(http_req *r, int roles, void (*proceed)(http_req *r));

/*
 * A sharing agreement or a program changed (committed): region readers'
 * cached answers, which hold their region's agreements and programs, are
 * looked up again at their next request. Other daemons hear of it by the
 * compstat_sharing notification the change sends (auth_watch listens); a
 * change made by hand in SQL holds within the cache's 60 s.
 */
void auth_sharing_changed(void);

/*
 * http_hooks.release and .audit_who (router.c): a person's login and name
 * freed with the request, and named in its audit records ("user"), beside
 * the agencies and region of sharing.h.
 */
void auth_release(principal *who);
void auth_audit_who(const principal *who, cJSON *detail);

/* The session with this cache key ("s:" + hash) ended: refused at once. */
void auth_forget(const char *key);
/* It changed (its second factor enrolled): looked up again at its next request. */
void auth_refresh(const char *key);

/* Forget every cached answer (tokens were revoked or created). */
void auth_free_cache(void);
/* At exit: the caches and the per-address failure counts. */
void auth_free(void);
/* Append the auth metrics (Prometheus text) to out. */
void auth_metrics(sbuf *out);

/*
 * Watch for token changes on db: LISTEN compstat_tokens (compstat-admin
 * notifies it), forget a revoked token on each notification, and drop the
 * cache whenever the connection reopens.
 */
void auth_watch(db_conn *db);

/*
 * fn runs after every token change auth_watch hears of, and whenever the
 * watch (re)connects: what holds a principal longer than a request (live
 * streams) re-validates it there. Set once at start-up.
 */
void auth_on_tokens_changed(void (*fn)(void));

#endif
