/*
 * auth.c -- see auth.h.
 */
#include "auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "areas.h"
#include "authn.h"
#include "log.h"
#include "lrumap.h"
#include "secret.h"
#include "sharing.h"
#include "strmap.h"

/* What a principal is, as the look-ups read it (columns 0-11). */
#define PRINCIPAL_COLS                                                                         \
    "t.id, t.role, coalesce(t.agency_id, 0), a.code, a.name, a.time_zone, "                   \
    "array_to_json(t.precincts)::text, array_to_json(t.areas)::text, "                        \
    "coalesce(t.region_id, 0), g.code, "                                                       \
    "(SELECT json_agg(json_build_object('agency', s.agency_id, 'level', s.level, "             \
    "  'iccs', s.iccs, 'categories', s.categories, "                                          \
    "  'location_precision_m', s.location_precision_m, 'address', s.address))"                \
    " FROM sharing_agreements s WHERE s.region_id = t.region_id)::text, "                     \
    "(SELECT json_agg(json_build_object('code', p.code, 'name', p.name, "                      \
    "  'precincts', (SELECT coalesce(json_agg(pp.precinct_id), '[]'::json)"                   \
    "   FROM program_precincts pp WHERE pp.program_id = p.id)) ORDER BY p.code)"              \
    " FROM programs p WHERE p.region_id = t.region_id)::text "
#define PRINCIPAL_JOINS                                                                        \
    " LEFT JOIN agencies a ON a.id = t.agency_id LEFT JOIN regions g ON g.id = t.region_id "

/* A bearer token. A user's own principal row is never one: its secret is nobody's. */
#define TOKEN_LOOKUP                                                                           \
    "SELECT " PRINCIPAL_COLS "FROM api_tokens t" PRINCIPAL_JOINS                              \
    "WHERE t.token_hash = $1 AND t.revoked_at IS NULL"

/* A session (columns 12-18 beyond the principal): open, of a user not
   disabled. Its limits are checked by session_ok, which says "expired"
   (an ended or disabled one is just not there). */
#define SESSION_LOOKUP                                                                         \
    "SELECT " PRINCIPAL_COLS ", x.id, extract(epoch FROM x.expires_at)::bigint, "             \
    "extract(epoch FROM x.last_seen_at)::bigint, x.csrf_hash, u.id, u.login, u.name, "       \
    "x.enrol_only "         \
    "FROM sessions x JOIN users u ON u.id = x.user_id JOIN api_tokens t ON t.id = u.token_id" \
    PRINCIPAL_JOINS                                                                            \
    "WHERE x.token_hash = $1 AND x.ended_at IS NULL "                                        \
    "AND u.disabled_at IS NULL AND t.revoked_at IS NULL"

struct cached {
    int known;          /* 0: no such (active) token */
    time_t fetched;
    int token_id, role, agency_id;
    int nprecincts, nareas; /* -1: none given (both -1: the whole agency) */
    char **precincts, **areas;
    /* A region reader: its region, and the agreements as read with the
       token (looked up again at each request: never served from here). */
    int region_id;
    char *region, *agreements, *programs;
    unsigned long sharing_gen; /* sharing_gen when looked up */
    /* A person's session (cookie): its row, its user, its limits. */
    long long session_id;
    int user_id;
    time_t expires, last_seen, written; /* absolute end; last use; last_seen_at written */
    char csrf[SECRET_HASH_LEN + 1];     /* SHA-256 of the CSRF token */
    char *login, *user_name;
    int enrol_only; /* may only enrol its second factor (ROUTE_ENROL) */
};

/* Tokens that exist (or existed: a revoked one stays, known = 0). Bounded
   by the tokens in api_tokens, not by what clients send. */
static strmap *cache;
static void (*changed_hook)(void);
/* Moves on every change of an agreement or a program (auth_sharing_changed,
   or a compstat_sharing notification): a region reader's cached answer of
   an older generation is looked up again. */
static unsigned long sharing_gen;

void auth_sharing_changed(void)
{
    sharing_gen++;
}

void auth_on_tokens_changed(void (*fn)(void))
{
    changed_hook = fn;
}

/*
 * Unknown tokens, by hash: when each was last looked up. A client chooses
 * these, so they are bounded (auth_unknown_cache, the least recently seen
 * forgotten first).
 */
static lrumap *unknown;
#define UNKNOWN_TTL 5
#define KNOWN_TTL 60

/*
 * Unknown tokens per client address (http_req.peer). After auth_fail_limit
 * in a minute the address is blocked for 1 s; each unknown token after a
 * block blocks it again for twice as long (at most BLOCK_MAX_S), until it
 * has sent none for FORGIVE_S. While blocked, a token that is not already
 * known gets 429 without a database query. At most FAIL_ADDRESSES are
 * tracked (the least recently seen forgotten first).
 */
struct failures {
    int64_t window_ms;  /* start of the counting minute */
    int64_t last_ms;    /* last unknown token */
    int64_t blocked_ms; /* blocked until */
    long count;         /* unknown tokens in the window */
    int strikes;        /* blocks so far */
};
static lrumap *fails;
#define FAIL_ADDRESSES 16384
#define FAIL_WINDOW_MS 60000
#define BLOCK_MAX_S 300
#define FORGIVE_S 600

static unsigned long long throttled, lookups;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
}

struct pending {
    http_req *r;
    int roles;
    void (*proceed)(http_req *r);
    char hash[SECRET_HASH_LEN + 3]; /* the cache key: a token's hash, or "s:" + a session's */
};

static void cached_free(struct cached *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->nprecincts; i++)
        free(c->precincts[i]);
    free(c->precincts);
    for (int i = 0; i < c->nareas; i++)
        free(c->areas[i]);
    free(c->areas);
    free(c->region);
    free(c->agreements);
    free(c->programs);
    free(c->login);
    free(c->user_name);
    free(c);
}

static void free_entry(const char *key, void *value, void *arg)
{
    cached_free(value);
}

void auth_free_cache(void)
{
    lrumap_free(unknown, free);
    unknown = NULL;
    if (cache == NULL)
        return;
    strmap_foreach(cache, free_entry, NULL);
    strmap_free(cache);
    cache = NULL;
}

void auth_free(void)
{
    auth_free_cache();
    lrumap_free(fails, free);
    fails = NULL;
}

/* An unknown token from peer: count it, and block the address when it is too many. */
static void note_failure(const char *peer)
{
    if (peer == NULL || *peer == '\0')
        return;
    if (fails == NULL && (fails = lrumap_new(FAIL_ADDRESSES, seed())) == NULL)
        return;
    int64_t now = now_ms();
    struct failures *f = lrumap_get(fails, peer);
    if (f == NULL) {
        if ((f = calloc(1, sizeof *f)) == NULL)
            return;
        void *old = NULL;
        if (lrumap_put(fails, peer, f, &old) != 0) {
            free(f);
            return;
        }
        free(old);
        f->window_ms = now;
    }
    if (f->strikes && now - f->last_ms > FORGIVE_S * 1000)
        f->strikes = 0; /* quiet long enough: forgiven */
    if (now - f->window_ms >= FAIL_WINDOW_MS) {
        f->window_ms = now;
        f->count = 0;
    }
    f->last_ms = now;
    f->count++;
    if (f->strikes == 0 && f->count < app.cfg.auth_fail_limit)
        return;
    /* Over the limit, or the first unknown token after a block. */
    int64_t secs = f->strikes >= 9 ? BLOCK_MAX_S : (int64_t)1 << f->strikes;
    if (secs > BLOCK_MAX_S)
        secs = BLOCK_MAX_S;
    f->strikes++;
    f->blocked_ms = now + secs * 1000;
    if (f->strikes == 1 || f->strikes % 10 == 0)
        log_warn("auth", "%s: %ld unknown tokens in %lld s: answering 429 for %lld s", peer,
                 f->count, (long long)((now - f->window_ms) / 1000), (long long)secs);
}

/* Seconds peer must still wait (0: not blocked). */
static long blocked_for(const char *peer)
{
    if (fails == NULL || peer == NULL || *peer == '\0')
        return 0;
    const struct failures *f = lrumap_peek(fails, peer);
    int64_t left = f ? f->blocked_ms - now_ms() : 0;
    return left > 0 ? (long)((left + 999) / 1000) : 0;
}

static void refuse_unknown(http_req *r)
{
    note_failure(r->peer);
    if (r->by_cookie)
        http_reply_error(r, 401, "session_expired", NULL,
                         "no such session, or it has ended: sign in again");
    else
        http_reply_error(r, 401, "unauthorized", NULL, "unknown or revoked token");
}

static int role_bit(const char *name)
{
    if (strcmp(name, "dispatch") == 0)
        return ROLE_DISPATCH;
    if (strcmp(name, "commander") == 0)
        return ROLE_COMMANDER;
    if (strcmp(name, "supervisor") == 0)
        return ROLE_SUPERVISOR;
    if (strcmp(name, "admin") == 0)
        return ROLE_ADMIN;
    if (strcmp(name, "analyst") == 0)
        return ROLE_ANALYST;
    return 0;
}

/* Append a copy of code to who's precincts unless it is there. 0, or -1. */
static int add_precinct(principal *who, const char *code)
{
    for (int i = 0; i < who->nprecincts; i++)
        if (strcmp(who->precincts[i], code) == 0)
            return 0;
    char **grown = realloc(who->precincts, (size_t)(who->nprecincts + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    who->precincts = grown;
    if ((grown[who->nprecincts] = strdup(code)) == NULL)
        return -1;
    who->nprecincts++;
    return 0;
}

/*
 * The token's scope into who: every precinct (-1), or its precincts and
 * those below its areas as the areas are now -- a precinct added to one of
 * them is in this very request's scope. 0, or -1 out of memory.
 */
static int scope_of(const struct cached *c, principal *who)
{
    who->nprecincts = c->nprecincts < 0 && c->nareas < 0 ? -1 : 0;
    for (int i = 0; i < c->nprecincts; i++)
        if (add_precinct(who, c->precincts[i]) != 0)
            return -1;
    if (c->nareas <= 0)
        return 0;
    if ((who->areas = calloc((size_t)c->nareas, sizeof *who->areas)) == NULL)
        return -1;
    int32_t n = ref_precinct_max(app.ref);
    uint8_t *mask = calloc((size_t)n, 1);
    if (mask == NULL)
        return -1;
    for (int i = 0; i < c->nareas; i++) {
        if ((who->areas[i] = strdup(c->areas[i])) == NULL) {
            free(mask);
            return -1;
        }
        who->nareas = i + 1;
        const area_node *a = areas_by_code(app.areas, c->areas[i]);
        if (a && a->agency_id == c->agency_id)
            areas_cover(app.areas, a->id, mask, n);
    }
    int rc = 0;
    for (int32_t id = 1; id < n && rc == 0; id++) {
        const ref_precinct *p = mask[id] ? ref_precinct_by_id(app.ref, id) : NULL;
        if (p)
            rc = add_precinct(who, p->code);
    }
    free(mask);
    return rc;
}

/* Copy the cached principal into r and apply the role check. */
static void on_seen(void *arg, PGresult *res, const char *error)
{
    (void)arg, (void)res, (void)error; /* best effort: at worst the idle clock restarts late */
}

/*
 * A session's limits and its CSRF token: 0 to go on, -1 after replying.
 * The idle clock moves with each use, and is written to its row at most
 * once a minute (a restart loses at most that minute).
 */
static int session_ok(http_req *r, struct cached *c)
{
    time_t now = time(NULL);
    if (now >= c->expires || now - c->last_seen >= app.cfg.session_idle_timeout) {
        c->known = 0; /* ended: looked up again after the negative TTL, and still ended */
        c->fetched = now;
        http_reply_error(r, 401, "session_expired", NULL,
                         "the session has ended (%s): sign in again",
                         now >= c->expires ? "its time is up" : "unused too long");
        return -1;
    }
    if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
        /* A state change with the cookie: the page must echo its CSRF token. */
        const char *x = http_header(r, "X-CSRF-Token");
        char h[SECRET_HASH_LEN + 1];
        if (x == NULL || strlen(x) > 256 || secret_hash(x, strlen(x), h) != 0 ||
            sodium_memcmp(h, c->csrf, SECRET_HASH_LEN) != 0) {
            http_reply_error(r, 403, "csrf", "X-CSRF-Token",
                             "a request that changes something, made with the session cookie, "
                             "needs the X-CSRF-Token header its sign-in answered");
            return -1;
        }
    }
    c->last_seen = now;
    if (now - c->written >= 60) {
        c->written = now;
        char id[24];
        snprintf(id, sizeof id, "%lld", c->session_id);
        const char *params[1] = {id};
        db_query(app.writer, "UPDATE sessions SET last_seen_at = now() WHERE id = $1::bigint", 1,
                 params, on_seen, NULL);
    }
    return 0;
}

static void finish(http_req *r, struct cached *c, int roles, void (*proceed)(http_req *r))
{
    if (!c->known) {
        refuse_unknown(r);
        return;
    }
    if (c->session_id && session_ok(r, c) != 0)
        return;
    if (c->enrol_only && !(roles & ROUTE_ENROL)) {
        http_reply_error(r, 403, "mfa_required", NULL,
                         "this agency requires a second factor: enrol one first (POST "
                         "/v1/sessions/current/mfa)");
        return;
    }
    r->who.user_id = c->user_id;
    r->who.session_id = c->session_id;
    if (c->login && ((r->who.login = strdup(c->login)) == NULL ||
                     (r->who.user_name = strdup(c->user_name ? c->user_name : "")) == NULL)) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    r->who.token_id = c->token_id;
    r->who.role = c->role;
    r->who.agency_id = c->agency_id;
    if (scope_of(c, &r->who) != 0 ||
        (c->region_id &&
         (r->who.region = sharing_scope_new(c->region_id, c->region, c->agreements,
                                            c->programs)) == NULL)) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    if (!(c->role & roles)) {
        http_reply_error(r, 403, "forbidden", NULL,
                         c->region_id ? "a region reader may not do this (it reads what "
                                        "agencies share, and writes nothing)"
                                      : "this token's role may not do this");
        return;
    }
    if (c->region_id && sharing_admit(r, roles) != 0)
        return;
    proceed(r);
}

/* A text[] column sent as JSON into *out: its count, or -1 when NULL. */
static int read_codes(const PGresult *res, int col, char ***out)
{
    *out = NULL;
    if (PQgetisnull(res, 0, col))
        return -1;
    cJSON *arr = cJSON_Parse(PQgetvalue(res, 0, col));
    int n = cJSON_GetArraySize(arr), k = 0;
    *out = calloc((size_t)(n ? n : 1), sizeof(char *));
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && *out && ((*out)[k] = strdup(e->valuestring)) != NULL)
            k++;
    }
    cJSON_Delete(arr);
    return k;
}

static void store(const char *hash, struct cached *c)
{
    if (cache == NULL && (cache = strmap_new()) == NULL) {
        cached_free(c);
        return;
    }
    struct cached *old = strmap_get(cache, hash);
    if (strmap_put(cache, hash, c) != 0) {
        cached_free(c);
        return;
    }
    cached_free(old);
}

static void on_lookup(void *arg, PGresult *res, const char *error)
{
    struct pending *p = arg;
    http_req *r = p->r;
    struct cached *stale = cache ? strmap_get(cache, p->hash) : NULL;

    if (error) {
        if (stale && stale->known && !stale->region_id) {
            finish(r, stale, p->roles, p->proceed); /* database down: keep serving */
        } else {
            log_warn(r->id, "token look-up failed: %s", error);
            http_reply_db_down(r);
        }
        free(p);
        return;
    }
    if (PQntuples(res) != 1 && stale == NULL) {
        /* No such token: remembered for a moment, in the bounded map. */
        if (unknown == NULL)
            unknown = lrumap_new((size_t)app.cfg.auth_unknown_cache, seed());
        time_t *t = unknown ? lrumap_peek(unknown, p->hash) : NULL;
        if (t == NULL && unknown && (t = malloc(sizeof *t)) != NULL) {
            void *old = NULL;
            if (lrumap_put(unknown, p->hash, t, &old) != 0) {
                free(t);
                t = NULL;
            }
            free(old);
        }
        if (t)
            *t = time(NULL);
        refuse_unknown(r);
        free(p);
        return;
    }
    struct cached *c = calloc(1, sizeof *c);
    if (c == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        free(p);
        return;
    }
    c->fetched = time(NULL);
    if (PQntuples(res) == 1) {
        c->known = 1;
        c->token_id = atoi(PQgetvalue(res, 0, 0));
        c->role = role_bit(PQgetvalue(res, 0, 1));
        c->agency_id = atoi(PQgetvalue(res, 0, 2));
        c->nprecincts = read_codes(res, 6, &c->precincts);
        c->nareas = read_codes(res, 7, &c->areas);
        c->region_id = atoi(PQgetvalue(res, 0, 8));
        c->sharing_gen = sharing_gen;
        if (PQnfields(res) > 12 && !PQgetisnull(res, 0, 12)) {
            /* A session: its row, limits and user. */
            c->session_id = atoll(PQgetvalue(res, 0, 12));
            c->expires = (time_t)atoll(PQgetvalue(res, 0, 13));
            c->last_seen = c->written = (time_t)atoll(PQgetvalue(res, 0, 14));
            snprintf(c->csrf, sizeof c->csrf, "%s", PQgetvalue(res, 0, 15));
            c->user_id = atoi(PQgetvalue(res, 0, 16));
            c->login = strdup(PQgetvalue(res, 0, 17));
            c->user_name = strdup(PQgetvalue(res, 0, 18));
            c->enrol_only = PQgetvalue(res, 0, 19)[0] == 't';
            if (c->login == NULL || c->user_name == NULL) {
                cached_free(c);
                http_reply_error(r, 500, "internal", NULL, "out of memory");
                free(p);
                return;
            }
        }
        if (c->region_id && ((c->region = strdup(PQgetvalue(res, 0, 9))) == NULL ||
                             (c->agreements = strdup(PQgetvalue(res, 0, 10))) == NULL ||
                             (c->programs = strdup(PQgetvalue(res, 0, 11))) == NULL)) {
            cached_free(c);
            http_reply_error(r, 500, "internal", NULL, "out of memory");
            free(p);
            return;
        }
        /* A token may name an agency created after start-up (token create
           bootstraps agencies): learn it. */
        if (c->agency_id > 0 && ref_agency_by_id(app.ref, c->agency_id) == NULL)
            ref_put_agency(app.ref, c->agency_id, PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
                           PQgetvalue(res, 0, 5));
    }
    store(p->hash, c);
    finish(r, c, p->roles, p->proceed);
    free(p);
}

void auth_check(http_req *r, int roles, void (*proceed)(http_req *r))
{
    const char *h = http_header(r, "Authorization");
    const char *cookies = http_header(r, "Cookie");
    char session[300];
    const char *tok;
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        tok = h + 7; /* a machine's token (or a person's API token) */
        while (*tok == ' ')
            tok++;
    } else if (cookies && authn_cookie(cookies, AUTH_COOKIE, session, sizeof session) == 0) {
        tok = session; /* a person's session */
        r->by_cookie = 1;
    } else {
        http_reply_error(r, 401, "unauthorized", NULL,
                         "an Authorization: Bearer <token> header, or a session (POST "
                         "/v1/sessions), is required");
        return;
    }
    size_t len = strlen(tok);
    if (len == 0 || len > 256) {
        http_reply_error(r, 401, "unauthorized", NULL, "malformed bearer token");
        return;
    }
    /* The cache key: the token's hash, or "s:" and the session's. */
    char hash[SECRET_HASH_LEN + 3];
    if (secret_hash(tok, len, hash + (r->by_cookie ? 2 : 0)) != 0) {
        http_reply_error(r, 500, "internal", NULL, "cannot hash token");
        return;
    }
    if (r->by_cookie)
        memcpy(hash, "s:", 2);
    struct cached *c = cache ? strmap_get(cache, hash) : NULL;
    time_t now = time(NULL);
    /* A region reader's answer holds its agreements: not once they changed. */
    if (c && (!c->region_id || c->sharing_gen == sharing_gen) &&
        now - c->fetched < (c->known ? KNOWN_TTL : UNKNOWN_TTL)) {
        finish(r, c, roles, proceed);
        return;
    }
    long wait = blocked_for(r->peer);
    if (wait > 0) {
        /* Too many unknown tokens from this address: no look-up for it now. */
        throttled++;
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", wait);
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", ra);
        http_reply_error(r, 429, "too_many_requests", "Authorization",
                         "too many unknown tokens from this address; retry in %ld s", wait);
        return;
    }
    const time_t *seen = unknown && c == NULL ? lrumap_get(unknown, hash) : NULL;
    if (seen && now - *seen < UNKNOWN_TTL) {
        refuse_unknown(r);
        return;
    }
    lookups++;
    struct pending *p = calloc(1, sizeof *p);
    if (p == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    p->r = r;
    p->roles = roles;
    p->proceed = proceed;
    memcpy(p->hash, hash, sizeof hash);
    const char *params[1] = {r->by_cookie ? hash + 2 : hash};
    if (db_query(app.reader, r->by_cookie ? SESSION_LOOKUP : TOKEN_LOOKUP, 1, params, on_lookup,
                 p) != 0) {
        free(p);
        if (c && c->known && !c->region_id && !c->session_id)
            finish(r, c, roles, proceed);
        else
            http_reply_db_down(r);
    }
}


/* payload: the hash of a revoked token (forget that one), or "" (forget all). */
static void on_tokens_changed(void *arg, const char *channel, const char *payload)
{
    if (channel && strcmp(channel, "compstat_sharing") == 0) {
        sharing_gen++; /* an agreement or a program changed (maybe in another daemon) */
        return;
    }
    struct cached *c = cache && payload && *payload ? strmap_get(cache, payload) : NULL;
    if (c) {
        c->known = 0; /* refused now; looked up again after the negative TTL */
        c->fetched = time(NULL);
    } else if (payload == NULL || *payload == '\0') {
        auth_free_cache();
    }
    if (changed_hook)
        changed_hook(); /* e.g. the revoked token's open streams end */
}

static void on_listen(void *arg, PGresult *res, const char *error)
{
    if (error)
        log_warn("auth", "cannot listen for token changes: %s", error);
}

void auth_watch(db_conn *db)
{
    db_on_notify(db, on_tokens_changed, NULL);
    auth_free_cache(); /* whatever changed while the connection was down */
    db_query(db, "LISTEN compstat_tokens", 0, NULL, on_listen, NULL);
    db_query(db, "LISTEN compstat_sharing", 0, NULL, on_listen, NULL);
    if (changed_hook)
        changed_hook();
}

void auth_metrics(sbuf *out)
{
    sbuf_printf(out,
                "# HELP compstatd_auth_cache_entries Token answers cached: known tokens (and "
                "revoked ones), and unknown ones (bounded by auth_unknown_cache).\n"
                "# TYPE compstatd_auth_cache_entries gauge\n"
                "compstatd_auth_cache_entries{kind=\"known\"} %zu\n"
                "compstatd_auth_cache_entries{kind=\"unknown\"} %zu\n"
                "# HELP compstatd_auth_lookups_total Token look-ups in the database.\n"
                "# TYPE compstatd_auth_lookups_total counter\n"
                "compstatd_auth_lookups_total %llu\n"
                "# HELP compstatd_auth_throttled_total Requests answered 429 because their "
                "address sent too many unknown tokens.\n"
                "# TYPE compstatd_auth_throttled_total counter\n"
                "compstatd_auth_throttled_total %llu\n",
                cache ? strmap_count(cache) : (size_t)0,
                unknown ? lrumap_count(unknown) : (size_t)0, lookups, throttled);
}

void auth_release(principal *who)
{
    free(who->login);
    free(who->user_name);
    who->login = who->user_name = NULL;
    sharing_release(who);
}

void auth_audit_who(const principal *who, cJSON *detail)
{
    if (who->login)
        cJSON_AddStringToObject(detail, "user", who->login);
    sharing_audit_who(who, detail);
}

void auth_forget(const char *key)
{
    struct cached *c = cache ? strmap_get(cache, key) : NULL;
    if (c) {
        c->known = 0;
        c->fetched = time(NULL);
    }
}

void auth_refresh(const char *key)
{
    struct cached *c = cache ? strmap_get(cache, key) : NULL;
    if (c)
        c->fetched = 0; /* looked up again at its next request */
}
