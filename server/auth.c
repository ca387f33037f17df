/*
 * auth.c -- see auth.h.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "log.h"
#include "secret.h"
#include "strmap.h"

struct cached {
    int known;          /* 0: no such (active) token */
    time_t fetched;
    int token_id, role, agency_id, nprecincts;
    char **precincts;
};

static strmap *cache;
static void (*changed_hook)(void);

void auth_on_tokens_changed(void (*fn)(void))
{
    changed_hook = fn;
}

struct pending {
    http_req *r;
    int roles;
    void (*proceed)(http_req *r);
    char hash[SECRET_HASH_LEN + 1];
};

static void cached_free(struct cached *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->nprecincts; i++)
        free(c->precincts[i]);
    free(c->precincts);
    free(c);
}

static void free_entry(const char *key, void *value, void *arg)
{
    cached_free(value);
}

void auth_free_cache(void)
{
    if (cache == NULL)
        return;
    strmap_foreach(cache, free_entry, NULL);
    strmap_free(cache);
    cache = NULL;
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
    return 0;
}

/* Copy the cached principal into r and apply the role check. */
static void finish(http_req *r, const struct cached *c, int roles, void (*proceed)(http_req *r))
{
    if (!c->known) {
        http_reply_error(r, 401, "unauthorized", NULL, "unknown or revoked token");
        return;
    }
    r->who.token_id = c->token_id;
    r->who.role = c->role;
    r->who.agency_id = c->agency_id;
    r->who.nprecincts = c->nprecincts < 0 ? -1 : 0;
    if (c->nprecincts > 0) {
        r->who.precincts = calloc((size_t)c->nprecincts, sizeof(char *));
        for (int i = 0; r->who.precincts && i < c->nprecincts; i++) {
            if ((r->who.precincts[i] = strdup(c->precincts[i])) == NULL)
                break;
            r->who.nprecincts = i + 1;
        }
        if (r->who.nprecincts != c->nprecincts) {
            http_reply_error(r, 500, "internal", NULL, "out of memory");
            return;
        }
    }
    if (!(c->role & roles)) {
        http_reply_error(r, 403, "forbidden", NULL, "this token's role may not do this");
        return;
    }
    proceed(r);
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
        if (stale && stale->known) {
            finish(r, stale, p->roles, p->proceed); /* database down: keep serving */
        } else {
            log_warn(r->id, "token look-up failed: %s", error);
            reply_db_down(r);
        }
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
        c->nprecincts = -1;
        if (!PQgetisnull(res, 0, 6)) {
            cJSON *arr = cJSON_Parse(PQgetvalue(res, 0, 6));
            int n = cJSON_GetArraySize(arr);
            c->precincts = calloc((size_t)(n ? n : 1), sizeof(char *));
            c->nprecincts = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, arr)
            {
                if (cJSON_IsString(e) && c->precincts)
                    c->precincts[c->nprecincts++] = strdup(e->valuestring);
            }
            cJSON_Delete(arr);
        }
        /* A token may name an agency created after start-up (token create
           bootstraps agencies): learn it. */
        if (ref_agency_by_id(app.ref, c->agency_id) == NULL)
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
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        http_reply_error(r, 401, "unauthorized", NULL,
                         "an Authorization: Bearer <token> header is required");
        return;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    if (len == 0 || len > 256) {
        http_reply_error(r, 401, "unauthorized", NULL, "malformed bearer token");
        return;
    }
    char hash[SECRET_HASH_LEN + 1];
    if (secret_hash(tok, len, hash) != 0) {
        http_reply_error(r, 500, "internal", NULL, "cannot hash token");
        return;
    }
    struct cached *c = cache ? strmap_get(cache, hash) : NULL;
    time_t now = time(NULL);
    if (c && now - c->fetched < (c->known ? 60 : 5)) {
        finish(r, c, roles, proceed);
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (p == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    p->r = r;
    p->roles = roles;
    p->proceed = proceed;
    memcpy(p->hash, hash, sizeof hash);
    const char *params[1] = {hash};
    if (db_query(app.reader,
                 "SELECT t.id, t.role, t.agency_id, a.code, a.name, a.time_zone, "
                 "array_to_json(t.precincts)::text "
                 "FROM api_tokens t JOIN agencies a ON a.id = t.agency_id "
                 "WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
                 1, params, on_lookup, p) != 0) {
        free(p);
        if (c && c->known)
            finish(r, c, roles, proceed);
        else
            reply_db_down(r);
    }
}

/* payload: the hash of a revoked token (forget that one), or "" (forget all). */
static void on_tokens_changed(void *arg, const char *channel, const char *payload)
{
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
    if (changed_hook)
        changed_hook();
}
