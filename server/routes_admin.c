/*
 * routes_admin.c -- what an agency's admin manages from the dashboard's
 * admin page (docs/API.md, "The admin page's routes"):
 *
 *   GET    /v1/users                        the agency's people
 *   POST   /v1/users                        {"login", "name", "role", "precincts"?, "areas"?}
 *                                           -> 201 and a set-password link (24 h, once)
 *   POST   /v1/users/{login}/disable|enable|reset-password|reset-mfa
 *   GET    /v1/tokens                       the agency's machine tokens (never a secret)
 *   DELETE /v1/tokens/{id}                  revoked at once, in every daemon
 *   GET    /v1/categories                   the agency's categories and their names
 *   PUT    /v1/categories/{code}            {"names": {"es", "en"}} (null or {}: removed)
 *
 * All of it is the whole agency's (a precinct-limited admin gets 403), and
 * of the admin's own agency only. Every change is one statement that also
 * writes its audit record, so neither is ever without the other; a change
 * to a principal is NOTIFYed on compstat_tokens, so every running daemon
 * looks its cached principals up again (a disabled user's open pages end).
 * compstat-admin does the same from the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "reqbody.h"
#include "routes.h"
#include "secret.h"
#include "words.h"

/* Its audit detail: the address, and the person acting when one is. */
#define AUDIT_DETAIL "jsonb_strip_nulls(jsonb_build_object('address', $A::text, 'user', $U::text))"

static int agency_admin(http_req *r, const char *what)
{
    return req_agency_wide(r, what);
}

/* As users.login's check: a letter or digit, then also '_', '.', '@', '-'; 1..64. */
static int login_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (i == 0 || !strchr("_.@-", c)))
            return 0;
    }
    return 1;
}

static void agency_param(http_req *r, char out[16])
{
    snprintf(out, 16, "%d", r->who.agency_id);
}

/* Replace $A and $U in sql by $a and $u (their numbers in this statement). */
static char *audit_sql(const char *sql, int a, int u)
{
    size_t n = strlen(sql) + 64;
    char *out = malloc(n), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *s = sql; *s;) {
        if (s[0] == '$' && (s[1] == 'A' || s[1] == 'U')) {
            o += sprintf(o, "$%d", s[1] == 'A' ? a : u);
            s += 2;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* db_query with the audit detail's parameters appended ($A, $U). */
static int admin_query(http_req *r, const char *sql, int n, const char **params,
                       void (*cb)(void *, PGresult *, const char *))
{
    const char *all[16];
    if (n > 13)
        return -1;
    memcpy(all, params, (size_t)n * sizeof *all);
    all[n] = r->peer;
    all[n + 1] = r->who.login;
    char *text = audit_sql(sql, n + 1, n + 2);
    int rc = text ? db_query(app.writer, text, n + 2, all, cb, r) : -1;
    free(text);
    return rc;
}

static void principals_changed(void)
{
    auth_free_cache(); /* here at once; the NOTIFY tells the other daemons */
}

/* ------------------------------------------------------------ users */

#define USER_JSON                                                                        \
    "json_build_object('login', u.login, 'name', u.name, 'role', t.role,"               \
    " 'precincts', t.precincts, 'areas', t.areas, 'disabled', u.disabled_at IS NOT NULL," \
    " 'password_set', u.password_hash IS NOT NULL,"                                     \
    " 'mfa_enrolled', u.totp_enabled_at IS NOT NULL, 'created_at', u.created_at,"        \
    " 'last_sign_in', (SELECT max(s.created_at) FROM sessions s WHERE s.user_id = u.id))"

/* A set-password link in an answer: its path and when it stops working. */
static void add_link(cJSON *o, const char *secret, const char *expires_at)
{
    char path[SECRET_TOKEN_LEN + 32];
    snprintf(path, sizeof path, "/#set-password=%s", secret);
    cJSON_AddStringToObject(o, "set_password_path", path);
    cJSON_AddStringToObject(o, "link_expires_at", expires_at);
}

static void on_users(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "users"))
        return;
    const char *body = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "{\"users\":[]}";
    http_reply_raw(r, 200, "application/json", body, strlen(body));
}

void h_users_get(http_req *r)
{
    if (agency_admin(r, "the agency's users") != 0)
        return;
    char agency[16];
    agency_param(r, agency);
    const char *params[1] = {agency};
    if (db_query(app.reader,
                 "SELECT json_build_object('users', coalesce(json_agg(" USER_JSON
                 " ORDER BY u.login), '[]'))::text"
                 " FROM users u JOIN api_tokens t ON t.id = u.token_id"
                 " WHERE t.agency_id = $1::int",
                 1, params, on_users, r) != 0)
        http_reply_db_down(r);
}

/* A code list member (precincts, areas): an array of codes, or absent/null. */
static int code_array(http_req *r, cJSON *doc, const char *name, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > 1000) {
        http_reply_error(r, 422, "invalid_field", name,
                         "%s must be a list of 1 to 1000 codes, or absent for the whole agency",
                         name);
        return -1;
    }
    size_t cap = 2;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e) || !req_code_ok(e->valuestring, 64)) {
            http_reply_error(r, 422, "invalid_field", name, "%s: not a code: each is 1 to 64 "
                             "letters, digits, '-', '_' or '.'", name);
            return -1;
        }
        cap += strlen(e->valuestring) + 3;
    }
    char *s = malloc(cap), *o = s;
    if (s == NULL) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    *o++ = '{';
    cJSON_ArrayForEach(e, v)
        o += sprintf(o, "%s\"%s\"", o == s + 1 ? "" : ",", e->valuestring);
    *o++ = '}';
    *o = '\0';
    *out = s;
    return 0;
}

struct user_create {
    char login[72];
    char secret[SECRET_TOKEN_LEN + 1];
    char *precincts, *areas;
};

static void user_create_free(void *arg)
{
    struct user_create *u = arg;
    free(u->precincts);
    free(u->areas);
    free(u);
}

static void on_user_created(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct user_create *u = r->state;
    if (req_write_failed(r, res, error, "user create"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 500, "internal", NULL, "user create: no answer");
        return;
    }
    if (atoi(PQgetvalue(res, 0, 0)) > 0) {
        http_reply_error(r, 409, "conflict", "login", "login %s is taken", u->login);
        return;
    }
    if (!PQgetisnull(res, 0, 1)) {
        http_reply_error(r, 422, "invalid_field", "precincts",
                         "precincts: not precincts of this agency: %s", PQgetvalue(res, 0, 1));
        return;
    }
    if (!PQgetisnull(res, 0, 2)) {
        http_reply_error(r, 422, "invalid_field", "areas",
                         "areas: not areas of this agency: %s", PQgetvalue(res, 0, 2));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "user", cJSON_Parse(PQgetvalue(res, 0, 3)));
    add_link(o, u->secret, PQgetvalue(res, 0, 4));
    http_reply_json(r, 201, o);
}

void h_user_create(http_req *r)
{
    if (agency_admin(r, "the agency's users") != 0)
        return;
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *login = req_str_member(r, doc, "login", 1, 64, &bad);
    const char *name = req_str_member(r, doc, "name", 1, 200, &bad);
    const char *role = req_str_member(r, doc, "role", 1, 16, &bad);
    if (!bad && !login_ok(login)) {
        http_reply_error(r, 422, "invalid_field", "login",
                         "login must be 1 to 64 letters, digits, '.', '_', '@' or '-', a letter "
                         "or digit first");
        bad = 1;
    }
    if (!bad && strcmp(role, "commander") && strcmp(role, "supervisor") &&
        strcmp(role, "admin")) {
        http_reply_error(r, 422, "invalid_field", "role",
                         "a person's role is commander, supervisor or admin (dispatch is for "
                         "machines: tokens)");
        bad = 1;
    }
    struct user_create *u = bad ? NULL : http_state_new(r, sizeof *u, user_create_free);
    if (u == NULL || code_array(r, doc, "precincts", &u->precincts) != 0 ||
        code_array(r, doc, "areas", &u->areas) != 0) {
        cJSON_Delete(doc);
        return;
    }
    snprintf(u->login, sizeof u->login, "%s", login);
    char unused[SECRET_TOKEN_LEN + 1], phash[SECRET_HASH_LEN + 1], lhash[SECRET_HASH_LEN + 1];
    char agency[16], tok[16];
    agency_param(r, agency);
    snprintf(tok, sizeof tok, "%d", r->who.token_id);
    if (secret_new_token(unused) != 0 || secret_hash(unused, strlen(unused), phash) != 0 ||
        secret_new_token(u->secret) != 0 ||
        secret_hash(u->secret, strlen(u->secret), lhash) != 0) {
        cJSON_Delete(doc);
        http_reply_error(r, 500, "internal", NULL, "no randomness");
        return;
    }
    const char *params[10] = {phash,  role,        agency, u->precincts, u->areas, login,
                              name,   lhash,       tok,    r->id};
    /* One statement: the reasons it may not be made, and else the principal
       (a token row whose secret nobody holds), the user, its link and the
       audit record. */
    int rc = admin_query(
        r,
        "WITH chk AS (SELECT"
        "  (SELECT count(*) FROM users WHERE login = $6) AS taken,"
        "  (SELECT string_agg(c, ', ') FROM unnest($4::text[]) c WHERE NOT EXISTS ("
        "    SELECT 1 FROM precincts p WHERE p.agency_id = $3::int AND p.code = c)) AS bad_p,"
        "  (SELECT string_agg(c, ', ') FROM unnest($5::text[]) c WHERE NOT EXISTS ("
        "    SELECT 1 FROM areas x WHERE x.agency_id = $3::int AND x.code = c)) AS bad_a),"
        " t AS (INSERT INTO api_tokens (token_hash, role, agency_id, precincts, areas, label)"
        "  SELECT $1, $2, $3::int, $4::text[], $5::text[], 'user:' || $6 FROM chk"
        "  WHERE taken = 0 AND bad_p IS NULL AND bad_a IS NULL RETURNING *),"
        " u AS (INSERT INTO users (login, name, token_id) SELECT $6, $7, t.id FROM t"
        "  RETURNING *),"
        " l AS (INSERT INTO user_links (token_hash, user_id, purpose, expires_at)"
        "  SELECT $8, u.id, 'set_password', now() + interval '24 hours' FROM u"
        "  RETURNING expires_at),"
        " a AS (INSERT INTO audit_log (token_id, request_id, action, target, detail)"
        "  SELECT $9::int, $10, 'user.create', $6, " AUDIT_DETAIL " FROM u)"
        " SELECT chk.taken, chk.bad_p, chk.bad_a,"
        "  (SELECT " USER_JSON "::text FROM u, t),"
        "  (SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        "   FROM l)"
        " FROM chk",
        10, params, on_user_created);
    cJSON_Delete(doc);
    if (rc != 0)
        http_reply_db_down(r);
}

struct user_change {
    char action[24];
    char secret[SECRET_TOKEN_LEN + 1]; /* reset-password: the new link's */
};

static void on_user_changed(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct user_change *c = r->state;
    if (req_write_failed(r, res, error, "user change"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 404, "not_found", "login", "no user %s in this agency", r->seg[2]);
        return;
    }
    principals_changed();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "user", cJSON_Parse(PQgetvalue(res, 0, 0)));
    if (c->secret[0])
        add_link(o, c->secret, PQgetvalue(res, 0, 1));
    http_reply_json(r, 200, o);
}

void h_user_change(http_req *r)
{
    if (agency_admin(r, "the agency's users") != 0)
        return;
    static const char *const actions[][2] = {
        {"disable", "user.disable"},
        {"enable", "user.enable"},
        {"reset-password", "user.reset"},
        {"reset-mfa", "user.reset_mfa"},
    };
    int k = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(r->seg[3], actions[i][0]) == 0)
            k = i;
    if (k < 0) {
        http_reply_error(r, 404, "not_found", NULL,
                         "no such action: disable, enable, reset-password or reset-mfa");
        return;
    }
    if (k == 0 && r->who.login && strcmp(r->who.login, r->seg[2]) == 0) {
        http_reply_error(r, 422, "invalid_field", "login",
                         "you cannot disable your own account (another admin can)");
        return;
    }
    struct user_change *c = http_state_new(r, sizeof *c, free);
    if (c == NULL)
        return;
    snprintf(c->action, sizeof c->action, "%s", actions[k][1]);
    char lhash[SECRET_HASH_LEN + 1] = "", agency[16], tok[16];
    if (k == 2 && (secret_new_token(c->secret) != 0 ||
                   secret_hash(c->secret, strlen(c->secret), lhash) != 0)) {
        http_reply_error(r, 500, "internal", NULL, "no randomness");
        return;
    }
    agency_param(r, agency);
    snprintf(tok, sizeof tok, "%d", r->who.token_id);
    /* What each action changes of the user (u) and of its principal, its
       sessions and its links; then the audit record and the notification. */
    static const char *const change[] = {
        /* disable */
        " ch AS (UPDATE users SET disabled_at = coalesce(disabled_at, now()), updated_at = now()"
        "  FROM me WHERE users.id = me.id RETURNING users.*),"
        " tk AS (UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) FROM me"
        "  WHERE api_tokens.id = me.token_id),"
        " se AS (UPDATE sessions SET ended_at = now() FROM me"
        "  WHERE sessions.user_id = me.id AND ended_at IS NULL),"
        " li AS (SELECT NULL::timestamptz AS expires_at),",
        /* enable */
        " ch AS (UPDATE users SET disabled_at = NULL, updated_at = now() FROM me"
        "  WHERE users.id = me.id RETURNING users.*),"
        " tk AS (UPDATE api_tokens SET revoked_at = NULL FROM me WHERE api_tokens.id = me.token_id),"
        " li AS (SELECT NULL::timestamptz AS expires_at),",
        /* reset-password: the password taken away, a new link (older ones spent) */
        " ch AS (UPDATE users SET password_hash = NULL, password_set_at = NULL, updated_at = now()"
        "  FROM me WHERE users.id = me.id RETURNING users.*),"
        " se AS (UPDATE sessions SET ended_at = now() FROM me"
        "  WHERE sessions.user_id = me.id AND ended_at IS NULL),"
        " old AS (UPDATE user_links SET used_at = now() FROM me"
        "  WHERE user_links.user_id = me.id AND used_at IS NULL),"
        " li AS (INSERT INTO user_links (token_hash, user_id, purpose, expires_at)"
        "  SELECT $4, me.id, 'set_password', now() + interval '24 hours' FROM me"
        "  RETURNING expires_at),",
        /* reset-mfa: the second factor and its recovery codes taken away */
        " ch AS (UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, updated_at = now()"
        "  FROM me WHERE users.id = me.id RETURNING users.*),"
        " rc AS (DELETE FROM user_recovery_codes USING me WHERE user_id = me.id),"
        " se AS (UPDATE sessions SET ended_at = now() FROM me"
        "  WHERE sessions.user_id = me.id AND ended_at IS NULL),"
        " li AS (SELECT NULL::timestamptz AS expires_at),",
    };
    char sql[4096];
    snprintf(sql, sizeof sql,
             "WITH me AS (SELECT u.id, u.token_id FROM users u"
             "  JOIN api_tokens t ON t.id = u.token_id"
             "  WHERE u.login = $1 AND t.agency_id = $2::int),"
             "%s"
             " au AS (INSERT INTO audit_log (token_id, request_id, action, target, detail)"
             "  SELECT $3::int, $5, $6, $1, " AUDIT_DETAIL " FROM me)"
             " SELECT " USER_JSON "::text,"
             "  (SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
             "   FROM li),"
             "  pg_notify('compstat_tokens', ''), $4::text IS NULL"
             " FROM ch u JOIN api_tokens t ON t.id = u.token_id",
             change[k]);
    const char *params[6] = {r->seg[2], agency, tok, k == 2 ? lhash : NULL, r->id, c->action};
    if (admin_query(r, sql, 6, params, on_user_changed) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ tokens */

void h_tokens_get(http_req *r)
{
    if (agency_admin(r, "the agency's tokens") != 0)
        return;
    char agency[16];
    agency_param(r, agency);
    const char *params[1] = {agency};
    /* The machines' tokens: a person's principal is listed with the users. */
    if (db_query(app.reader,
                 "SELECT json_build_object('tokens', coalesce(json_agg(json_build_object("
                 "  'id', t.id, 'label', t.label, 'role', t.role, 'precincts', t.precincts,"
                 "  'areas', t.areas, 'created_at', t.created_at, 'revoked_at', t.revoked_at)"
                 "  ORDER BY t.id), '[]'))::text"
                 " FROM api_tokens t WHERE t.agency_id = $1::int"
                 "  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.token_id = t.id)",
                 1, params, on_users, r) != 0)
        http_reply_db_down(r);
}

static void on_token_revoked(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "token revoke"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 404, "not_found", "id", "no token %s of this agency's machines",
                         r->seg[2]);
        return;
    }
    principals_changed();
    const char *body = PQgetvalue(res, 0, 0);
    http_reply_raw(r, 200, "application/json", body, strlen(body));
}

void h_token_revoke(http_req *r)
{
    if (agency_admin(r, "the agency's tokens") != 0)
        return;
    char *end;
    long id = strtol(r->seg[2], &end, 10);
    if (*r->seg[2] == '\0' || *end != '\0' || id <= 0 || id > 2147483647L) {
        http_reply_error(r, 422, "invalid_field", "id", "a token's id is a positive integer");
        return;
    }
    char agency[16], tok[16], ids[16];
    agency_param(r, agency);
    snprintf(tok, sizeof tok, "%d", r->who.token_id);
    snprintf(ids, sizeof ids, "%ld", id);
    const char *params[4] = {ids, agency, tok, r->id};
    /* Revoked once (a second revoke keeps the first time); the hash goes to
       every daemon, which forgets that token's cached answer. */
    if (admin_query(r,
                    "WITH t AS (UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
                    "  WHERE id = $1::int AND agency_id = $2::int"
                    "  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.token_id = api_tokens.id)"
                    "  RETURNING *),"
                    " au AS (INSERT INTO audit_log (token_id, request_id, action, target, detail)"
                    "  SELECT $3::int, $4, 'token.revoke', t.id::text, " AUDIT_DETAIL " FROM t)"
                    " SELECT json_build_object('id', id, 'label', label, 'role', role,"
                    "  'precincts', precincts, 'areas', areas, 'created_at', created_at,"
                    "  'revoked_at', revoked_at)::text, pg_notify('compstat_tokens', token_hash)"
                    " FROM t",
                    4, params, on_token_revoked) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ categories */

/* 1 when the agency has an offense of category code that p may count. */
static int category_known(const principal *p, int agency_id, const char *code)
{
    for (int id = 1; id < ref_offense_max(app.ref); id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o && o->agency_id == agency_id && strcmp(o->category, code) == 0 &&
            principal_offense_ok(p, id))
            return 1;
    }
    return 0;
}

void h_categories_get(http_req *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "categories");
    for (int id = 1; id < ref_offense_max(app.ref); id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (!o || o->agency_id != r->who.agency_id || !principal_offense_ok(&r->who, id))
            continue;
        int seen = 0; /* a category once: the agency has tens of them */
        const cJSON *e;
        cJSON_ArrayForEach(e, arr)
        {
            seen |= strcmp(cJSON_GetObjectItemCaseSensitive(e, "code")->valuestring,
                           o->category) == 0;
        }
        if (seen)
            continue;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "code", o->category);
        const char *names = words_category_names(o->agency_id, o->category);
        cJSON *n = names ? cJSON_Parse(names) : NULL;
        cJSON_AddItemToObject(c, "names", n ? n : cJSON_CreateNull());
        cJSON_AddItemToArray(arr, c);
    }
    http_reply_json(r, 200, root);
}

struct category_put {
    char code[72];
};

static void on_category_put(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct category_put *c = r->state;
    if (req_write_failed(r, res, error, "category names"))
        return;
    const char *names = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0)
                                                                      : NULL;
    words_set_category(r->who.agency_id, c->code, names);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", c->code);
    cJSON *n = names ? cJSON_Parse(names) : NULL;
    cJSON_AddItemToObject(o, "names", n ? n : cJSON_CreateNull());
    http_reply_json(r, 200, o);
}

void h_category_put(http_req *r)
{
    if (agency_admin(r, "the agency's categories") != 0)
        return;
    const char *code = req_path_code(r, "a category code");
    if (code == NULL)
        return;
    if (!category_known(&r->who, r->who.agency_id, code)) {
        http_reply_error(r, 404, "not_found", "code",
                         "no category %s among the agency's offenses (a category is named by "
                         "PUT /v1/offenses)",
                         code);
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(doc, "names");
    int remove = names == NULL || cJSON_IsNull(names) ||
                 (cJSON_IsObject(names) && cJSON_GetArraySize(names) == 0);
    char field[200], why[320];
    if (names == NULL) {
        http_reply_error(r, 422, "invalid_field", "names",
                         "names is required: {\"es\": \"Robo\", \"en\": \"Robbery\"}, or null to "
                         "remove them");
        cJSON_Delete(doc);
        return;
    }
    if (!remove && words_check_names(names, "names", field, sizeof field, why, sizeof why)) {
        http_reply_error(r, 422, "invalid_field", field, "%s", why);
        cJSON_Delete(doc);
        return;
    }
    struct category_put *c = http_state_new(r, sizeof *c, free);
    if (c == NULL) {
        cJSON_Delete(doc);
        return;
    }
    snprintf(c->code, sizeof c->code, "%s", code);
    char agency[16], tok[16];
    agency_param(r, agency);
    snprintf(tok, sizeof tok, "%d", r->who.token_id);
    char *text = remove ? NULL : cJSON_PrintUnformatted(names);
    const char *params[5] = {agency, code, text, tok, r->id};
    int rc = admin_query(
        r,
        remove ? "WITH d AS (DELETE FROM category_names WHERE agency_id = $1::int AND code = $2"
                 "  AND $3::jsonb IS NULL),"
                 " au AS (INSERT INTO audit_log (token_id, request_id, action, target, detail)"
                 "  VALUES ($4::int, $5, 'category.names', $2, " AUDIT_DETAIL "))"
                 " SELECT NULL::text"
               : "WITH w AS (INSERT INTO category_names (agency_id, code, names)"
                 "  VALUES ($1::int, $2, $3::jsonb) ON CONFLICT (agency_id, code)"
                 "  DO UPDATE SET names = EXCLUDED.names, updated_at = now() RETURNING names),"
                 " au AS (INSERT INTO audit_log (token_id, request_id, action, target, detail)"
                 "  VALUES ($4::int, $5, 'category.names', $2, " AUDIT_DETAIL "))"
                 " SELECT names::text FROM w",
        5, params, on_category_put);
    cJSON_free(text);
    cJSON_Delete(doc);
    if (rc != 0)
        http_reply_db_down(r);
}
