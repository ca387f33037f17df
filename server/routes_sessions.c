/*
 * routes_sessions.c -- people signing in and out, setting their password,
 * and enrolling a second factor (docs/API.md, "Accounts and sessions").
 *
 *   POST   /v1/sessions                   {"login", "password", "otp"?} -> 201, the cookie
 *   DELETE /v1/sessions/current           sign out
 *   POST   /v1/password                   {"link", "password"}: a set-password link
 *   POST   /v1/sessions/current/mfa       a new TOTP secret (pending), its URI and QR code
 *   POST   /v1/sessions/current/mfa/confirm {"otp"}: enrolled; ten recovery codes, once
 *
 * Passwords are verified and hashed on accounts.c's workers; everything
 * else is a query on the writer connection. Sign-ins, failures, sign-outs,
 * password and second-factor changes are audit records with the address.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qrencode.h>
#include <sodium.h>

#include "accounts.h"
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "authn.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reqbody.h"
#include "routes.h"
#include "sbuf.h"
#include "secret.h"

#define RECOVERY_CODES 10

static int cookie_secure(void)
{
    const char *v = app.cfg.cookie_secure;
    if (strcmp(v, "on") == 0)
        return 1;
    if (strcmp(v, "off") == 0)
        return 0;
    return app.cfg.tls_cert && app.cfg.tls_cert[0] != '\0';
}

/* An audit record of an account event: who (token of the user, 0 unknown), what, the address. */
static void audit_account(http_req *r, int token_id, const char *action, const char *login,
                          const char *outcome)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "address", r->peer);
    if (outcome)
        cJSON_AddStringToObject(d, "outcome", outcome);
    char *text = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    audit_record(token_id, r->id, action, login, text);
    cJSON_free(text);
}

static void set_cookie(http_req *r, const char *value, long max_age)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
             AUTH_COOKIE, value, max_age, cookie_secure() ? "; Secure" : "");
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Set-Cookie", buf);
}

/* The cache key of r's session cookie ("s:" + its hash). 0, or -1 when none. */
static int session_key(http_req *r, char key[SECRET_HASH_LEN + 3])
{
    const char *cookies = http_header(r, "Cookie");
    char v[300];
    if (cookies == NULL || authn_cookie(cookies, AUTH_COOKIE, v, sizeof v) != 0 ||
        secret_hash(v, strlen(v), key + 2) != 0)
        return -1;
    memcpy(key, "s:", 2);
    return 0;
}

/* ------------------------------------------------------------ sign-in */

struct signin {
    http_req *r;
    char login[72], name[208], role[16];
    char *password, *otp;
    int user_id, token_id, known, mfa_on, mfa_required;
    char totp[AUTHN_TOTP_B32 + 1];
    long long last_step, step;
    int used_recovery; /* the otp was a recovery code */
    char secret[SECRET_TOKEN_LEN + 1], csrf[SECRET_TOKEN_LEN + 1];
};

static void signin_free(void *arg)
{
    struct signin *s = arg;
    if (s->password) {
        sodium_memzero(s->password, strlen(s->password));
        free(s->password);
    }
    free(s->otp);
    sodium_memzero(s, sizeof *s);
    free(s);
}

static void refuse(struct signin *s, const char *outcome)
{
    http_req *r = s->r;
    accounts_failed(s->login, r->peer);
    audit_account(r, s->token_id, "session.fail", s->login, outcome);
    if (strcmp(outcome, "otp") == 0)
        http_reply_error(r, 401, "unauthorized", "otp", "wrong one-time code");
    else
        http_reply_error(r, 401, "unauthorized", NULL, "wrong login or password");
}

static void on_session_made(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct signin *s = r->state;
    if (req_write_failed(r, res, error, "session"))
        return;
    if (PQntuples(res) != 1) {
        /* The recovery code or the TOTP step was used meanwhile. */
        refuse(s, "otp");
        return;
    }
    accounts_succeeded(s->login);
    audit_account(r, s->token_id, "session.create", s->login,
                  s->used_recovery ? "recovery code" : s->mfa_on ? "totp" : "password");
    set_cookie(r, s->secret, app.cfg.session_max_age);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "csrf_token", s->csrf);
    cJSON *u = cJSON_AddObjectToObject(o, "user");
    cJSON_AddStringToObject(u, "login", s->login);
    cJSON_AddStringToObject(u, "name", s->name);
    cJSON_AddStringToObject(u, "role", s->role);
    cJSON_AddStringToObject(o, "expires_at", PQgetvalue(res, 0, 0));
    cJSON_AddNumberToObject(o, "idle_timeout_s", (double)app.cfg.session_idle_timeout);
    cJSON *m = cJSON_AddObjectToObject(o, "mfa");
    cJSON_AddBoolToObject(m, "enrolled", s->mfa_on);
    cJSON_AddBoolToObject(m, "required", s->mfa_required);
    cJSON_AddBoolToObject(o, "enrol_only", s->mfa_required && !s->mfa_on);
    sodium_memzero(s->secret, sizeof s->secret);
    http_reply_json(r, 201, o);
}

/* The password was right: check the second factor, then open the session. */
static void open_session(struct signin *s)
{
    http_req *r = s->r;
    char recovery_hash[SECRET_HASH_LEN + 1] = "";
    if (s->mfa_on) {
        if (s->otp == NULL) {
            http_reply_error(r, 401, "otp_required", "otp",
                             "this account signs in with a one-time code too: send otp");
            return;
        }
        uint8_t key[AUTHN_TOTP_BYTES];
        int n = authn_base32_decode(s->totp, key, sizeof key);
        s->step = n > 0 ? authn_totp_check(key, (size_t)n, s->otp, (int64_t)time(NULL)) : -1;
        sodium_memzero(key, sizeof key);
        if (s->step >= 0 && s->step <= s->last_step) {
            refuse(s, "otp"); /* a code already used: never twice */
            return;
        }
        if (s->step < 0) {
            /* A recovery code, once. */
            if (secret_hash(s->otp, strlen(s->otp), recovery_hash) != 0) {
                http_reply_error(r, 500, "internal", NULL, "cannot hash");
                return;
            }
            s->used_recovery = 1;
        }
    }
    char hash[SECRET_HASH_LEN + 1], csrf_hash[SECRET_HASH_LEN + 1];
    if (secret_new_token(s->secret) != 0 || secret_new_token(s->csrf) != 0 ||
        secret_hash(s->secret, strlen(s->secret), hash) != 0 ||
        secret_hash(s->csrf, strlen(s->csrf), csrf_hash) != 0) {
        http_reply_error(r, 500, "internal", NULL, "cannot make a session");
        return;
    }
    char uid[16], age[24], step[24];
    snprintf(uid, sizeof uid, "%d", s->user_id);
    snprintf(age, sizeof age, "%ld", app.cfg.session_max_age);
    snprintf(step, sizeof step, "%lld", s->step);
    const char *params[8] = {hash,
                             csrf_hash,
                             uid,
                             r->peer,
                             age,
                             s->mfa_required && !s->mfa_on ? "true" : "false",
                             s->mfa_on && !s->used_recovery ? step : NULL,
                             s->used_recovery ? recovery_hash : NULL};
    /* One statement: the second factor spent (a TOTP step moves forward
       only; a recovery code is used once), then the session. No row: it was
       spent meanwhile. */
    if (db_query(app.writer,
                 "WITH f AS (UPDATE users SET totp_last_step = $7::bigint WHERE id = $3::int"
                 "  AND $7::bigint IS NOT NULL AND coalesce(totp_last_step, -1) < $7::bigint"
                 "  RETURNING id),"
                 " c AS (UPDATE user_recovery_codes SET used_at = now() WHERE user_id = $3::int"
                 "  AND code_hash = $8 AND used_at IS NULL RETURNING user_id),"
                 " ok AS (SELECT 1 WHERE ($7::bigint IS NULL AND $8::text IS NULL)"
                 "  OR EXISTS (SELECT 1 FROM f) OR EXISTS (SELECT 1 FROM c))"
                 " INSERT INTO sessions (token_hash, csrf_hash, user_id, address, expires_at,"
                 "  enrol_only)"
                 " SELECT $1, $2, $3::int, $4, now() + make_interval(secs => $5::int),"
                 "  $6::boolean FROM ok"
                 " RETURNING to_char(expires_at AT TIME ZONE 'UTC',"
                 "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                 8, params, on_session_made, r) != 0)
        http_reply_db_down(r);
}

static void on_verified(void *arg, int ok)
{
    http_req *r = arg;
    struct signin *s = r->state;
    if (!ok) {
        refuse(s, "password");
        return;
    }
    open_session(s);
}

static void on_user(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct signin *s = r->state;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else
            http_reply_error(r, 500, "internal", NULL, "cannot read the account");
        return;
    }
    const char *hash = NULL;
    if (PQntuples(res) == 1) {
        /* Disabled, or without a password yet: verified against nothing, alike. */
        if (PQgetvalue(res, 0, 2)[0] == 't' && !PQgetisnull(res, 0, 1))
            hash = PQgetvalue(res, 0, 1);
        s->user_id = atoi(PQgetvalue(res, 0, 0));
        s->token_id = atoi(PQgetvalue(res, 0, 6));
        snprintf(s->name, sizeof s->name, "%s", PQgetvalue(res, 0, 7));
        snprintf(s->role, sizeof s->role, "%s", PQgetvalue(res, 0, 8));
        s->mfa_on = PQgetvalue(res, 0, 4)[0] == 't';
        s->mfa_required = PQgetvalue(res, 0, 5)[0] == 't';
        if (s->mfa_on)
            snprintf(s->totp, sizeof s->totp, "%s", PQgetvalue(res, 0, 3));
        s->last_step = PQgetisnull(res, 0, 9) ? -1 : atoll(PQgetvalue(res, 0, 9));
    }
    if (accounts_verify(hash, s->password, on_verified, r) != 0)
        http_reply_error(r, 503, "unavailable", NULL, "cannot check passwords now");
}

static long retry_after(http_req *r, long wait)
{
    char ra[24];
    snprintf(ra, sizeof ra, "%ld", wait);
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", ra);
    return wait;
}

void h_session_create(http_req *r)
{
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *login = req_str_member(r, doc, "login", 1, 64, &bad);
    const char *password = req_str_member(r, doc, "password", 1, 1024, &bad);
    const char *otp = req_str_member(r, doc, "otp", 0, 32, &bad);
    struct signin *s = bad ? NULL : http_state_new(r, sizeof *s, signin_free);
    if (s == NULL) {
        cJSON_Delete(doc);
        return;
    }
    s->r = r;
    snprintf(s->login, sizeof s->login, "%s", login);
    s->password = strdup(password);
    s->otp = otp ? strdup(otp) : NULL;
    cJSON_Delete(doc);
    if (s->password == NULL || (otp && s->otp == NULL)) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    long wait = accounts_blocked(s->login, r->peer);
    if (wait > 0) {
        retry_after(r, wait);
        http_reply_error(r, 429, "too_many_requests", NULL,
                         "too many failed sign-ins; retry in %ld s", wait);
        return;
    }
    const char *params[1] = {s->login};
    if (db_query(app.writer,
                 "SELECT u.id, u.password_hash,"
                 " (u.disabled_at IS NULL AND t.revoked_at IS NULL),"
                 " u.totp_secret, (u.totp_enabled_at IS NOT NULL),"
                 " coalesce(a.mfa_required, false), t.id, u.name, t.role, u.totp_last_step"
                 " FROM users u JOIN api_tokens t ON t.id = u.token_id"
                 " LEFT JOIN agencies a ON a.id = t.agency_id WHERE u.login = $1",
                 1, params, on_user, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ sign-out */

static void on_ended(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    if (req_write_failed(r, res, error, "sign-out"))
        return;
    char key[SECRET_HASH_LEN + 3];
    if (session_key(r, key) == 0)
        auth_forget(key);
    audit_account(r, r->who.token_id, "session.end", r->who.login, NULL);
    set_cookie(r, "", 0);
    http_reply_raw(r, 204, "application/json", "", 0);
}

void h_session_delete(http_req *r)
{
    if (r->who.session_id == 0) {
        http_reply_error(r, 400, "not_a_session", NULL,
                         "this request carries a token, not a session: there is nothing to "
                         "sign out of");
        return;
    }
    char id[24], key[SECRET_HASH_LEN + 3];
    snprintf(id, sizeof id, "%lld", r->who.session_id);
    if (session_key(r, key) != 0)
        key[0] = '\0';
    const char *params[2] = {id, key[0] ? key : ""};
    /* Ended here, and every daemon forgets it (compstat_tokens). */
    if (db_query(app.writer,
                 "WITH e AS (UPDATE sessions SET ended_at = now() WHERE id = $1::bigint"
                 "  AND ended_at IS NULL RETURNING id)"
                 " SELECT pg_notify('compstat_tokens', $2) FROM e",
                 2, params, on_ended, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ set a password */

struct setpw {
    http_req *r;
    char link_hash[SECRET_HASH_LEN + 1];
    char *password;
    int token_id;
    char login[72];
};

static void setpw_free(void *arg)
{
    struct setpw *p = arg;
    if (p->password) {
        sodium_memzero(p->password, strlen(p->password));
        free(p->password);
    }
    free(p);
}

static void link_refused(http_req *r)
{
    http_reply_error(r, 422, "invalid_field", "link",
                     "this link has been used, has expired or was replaced by a newer one: ask "
                     "your administrator for a new one");
}

static void on_password_set(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct setpw *p = r->state;
    if (req_write_failed(r, res, error, "password"))
        return;
    if (PQntuples(res) != 1) {
        link_refused(r); /* used meanwhile */
        return;
    }
    audit_account(r, p->token_id, "password.set", p->login, "link");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "login", p->login);
    cJSON_AddBoolToObject(o, "password_set", 1);
    http_reply_json(r, 200, o);
}

static void on_hashed(void *arg, const char *hash)
{
    http_req *r = arg;
    struct setpw *p = r->state;
    if (hash == NULL) {
        http_reply_error(r, 500, "internal", NULL, "cannot hash the password");
        return;
    }
    const char *params[2] = {p->link_hash, hash};
    /* One statement: the link spent, the password set, the old sessions ended. */
    if (db_query(app.writer,
                 "WITH l AS (UPDATE user_links SET used_at = now() WHERE token_hash = $1"
                 "  AND used_at IS NULL AND expires_at > now() RETURNING user_id),"
                 " u AS (UPDATE users SET password_hash = $2, password_set_at = now(),"
                 "  updated_at = now() FROM l WHERE users.id = l.user_id RETURNING users.id),"
                 " s AS (UPDATE sessions SET ended_at = now() FROM u"
                 "  WHERE sessions.user_id = u.id AND ended_at IS NULL)"
                 " SELECT id FROM u",
                 2, params, on_password_set, r) != 0)
        http_reply_db_down(r);
}

static void on_link(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct setpw *p = r->state;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else
            http_reply_error(r, 500, "internal", NULL, "cannot read the link");
        return;
    }
    if (PQntuples(res) != 1) {
        link_refused(r);
        return;
    }
    snprintf(p->login, sizeof p->login, "%s", PQgetvalue(res, 0, 0));
    p->token_id = atoi(PQgetvalue(res, 0, 2));
    char why[160];
    if (authn_password_ok(p->password, p->login, PQgetvalue(res, 0, 1), why, sizeof why) != 0) {
        http_reply_error(r, 422, "invalid_field", "password", "%s", why);
        return;
    }
    if (accounts_hash(p->password, on_hashed, r) != 0)
        http_reply_error(r, 503, "unavailable", NULL, "cannot hash passwords now");
}

void h_password_set(http_req *r)
{
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *link = req_str_member(r, doc, "link", 1, 256, &bad);
    const char *password = req_str_member(r, doc, "password", 1, 1024, &bad);
    struct setpw *p = bad ? NULL : http_state_new(r, sizeof *p, setpw_free);
    if (p == NULL) {
        cJSON_Delete(doc);
        return;
    }
    p->r = r;
    p->password = strdup(password);
    int hashed = secret_hash(link, strlen(link), p->link_hash);
    cJSON_Delete(doc);
    if (p->password == NULL || hashed != 0) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    long wait = accounts_blocked(NULL, r->peer);
    if (wait > 0) {
        retry_after(r, wait);
        http_reply_error(r, 429, "too_many_requests", NULL, "too many tries; retry in %ld s",
                         wait);
        return;
    }
    const char *params[1] = {p->link_hash};
    if (db_query(app.writer,
                 "SELECT u.login, u.name, u.token_id FROM user_links l"
                 " JOIN users u ON u.id = l.user_id"
                 " WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now()"
                 "  AND u.disabled_at IS NULL",
                 1, params, on_link, r) != 0)
        http_reply_db_down(r);
}

/* ------------------------------------------------------------ second factor */

/* An SVG of the QR code of text (libqrencode), into b. 0, or -1. */
static int qr_svg(sbuf *b, const char *text)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (q == NULL)
        return -1;
    int w = q->width, m = 4; /* the quiet zone */
    sbuf_printf(b,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                "<path fill=\"#000\" d=\"",
                w + 2 * m, w + 2 * m, w + 2 * m, w + 2 * m);
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if (q->data[y * w + x] & 1)
                sbuf_printf(b, "M%d %dh1v1h-1z", x + m, y + m);
    sbuf_puts(b, "\"/></svg>");
    QRcode_free(q);
    return 0;
}

struct mfa {
    char secret[AUTHN_TOTP_B32 + 1];
    char codes[RECOVERY_CODES][16];
};

static void on_mfa_begun(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct mfa *m = r->state;
    if (req_write_failed(r, res, error, "second factor"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 409, "conflict", NULL,
                         "a second factor is enrolled already: an administrator resets it "
                         "(compstat-admin user reset --mfa)");
        return;
    }
    /* otpauth://totp/compstatd:LOGIN?secret=..&issuer=compstatd (Key Uri Format). */
    sbuf uri, svg;
    sbuf_init(&uri);
    sbuf_init(&svg);
    sbuf_printf(&uri, "otpauth://totp/compstatd:%s?secret=%s&issuer=compstatd&digits=6&period=30",
                r->who.login, m->secret);
    cJSON *o = cJSON_CreateObject();
    if (!sbuf_failed(&uri) && qr_svg(&svg, sbuf_str(&uri)) == 0 && !sbuf_failed(&svg)) {
        cJSON_AddStringToObject(o, "secret", m->secret);
        cJSON_AddStringToObject(o, "otpauth_uri", sbuf_str(&uri));
        cJSON_AddStringToObject(o, "qr_svg", sbuf_str(&svg));
        audit_account(r, r->who.token_id, "mfa.begin", r->who.login, NULL);
        http_reply_json(r, 200, o);
    } else {
        cJSON_Delete(o);
        http_reply_error(r, 500, "internal", NULL, "cannot draw the QR code");
    }
    sbuf_free(&uri);
    sbuf_free(&svg);
}

static void mfa_free(void *arg)
{
    sodium_memzero(arg, sizeof(struct mfa));
    free(arg);
}

void h_mfa_begin(http_req *r)
{
    if (r->who.session_id == 0) {
        http_reply_error(r, 400, "not_a_session", NULL, "a second factor is a person's: sign in");
        return;
    }
    struct mfa *m = http_state_new(r, sizeof *m, mfa_free);
    if (m == NULL)
        return;
    uint8_t key[AUTHN_TOTP_BYTES];
    randombytes_buf(key, sizeof key);
    authn_base32(key, sizeof key, m->secret);
    sodium_memzero(key, sizeof key);
    char uid[16];
    snprintf(uid, sizeof uid, "%d", r->who.user_id);
    const char *params[2] = {uid, m->secret};
    /* Pending until a code confirms it; a new begin replaces a pending one. */
    if (db_query(app.writer,
                 "UPDATE users SET totp_secret = $2, updated_at = now()"
                 " WHERE id = $1::int AND totp_enabled_at IS NULL RETURNING id",
                 2, params, on_mfa_begun, r) != 0)
        http_reply_db_down(r);
}

static void on_mfa_confirmed(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct mfa *m = r->state;
    if (req_write_failed(r, res, error, "second factor"))
        return;
    if (PQntuples(res) != 1) {
        http_reply_error(r, 409, "conflict", NULL, "enrolled meanwhile, or no enrolment begun");
        return;
    }
    char key[SECRET_HASH_LEN + 3];
    if (session_key(r, key) == 0)
        auth_refresh(key); /* an enrol-only session is a whole one now */
    audit_account(r, r->who.token_id, "mfa.enable", r->who.login, "totp");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "enrolled", 1);
    cJSON *list = cJSON_AddArrayToObject(o, "recovery_codes");
    for (int i = 0; i < RECOVERY_CODES; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(m->codes[i]));
    http_reply_json(r, 200, o);
}

static void on_pending(void *arg, PGresult *res, const char *error)
{
    http_req *r = arg;
    struct mfa *m = r->state;
    if (res == NULL || error) {
        if (res == NULL)
            http_reply_db_down(r);
        else
            http_reply_error(r, 500, "internal", NULL, "cannot read the second factor");
        return;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        http_reply_error(r, 409, "conflict", NULL,
                         "no enrolment pending: POST /v1/sessions/current/mfa first");
        return;
    }
    uint8_t key[AUTHN_TOTP_BYTES];
    int n = authn_base32_decode(PQgetvalue(res, 0, 0), key, sizeof key);
    int64_t step = n > 0 ? authn_totp_check(key, (size_t)n, m->secret, (int64_t)time(NULL)) : -1;
    sodium_memzero(key, sizeof key);
    if (step < 0) {
        accounts_failed(r->who.login, r->peer);
        http_reply_error(r, 422, "invalid_field", "otp",
                         "wrong code: check the device's clock, and type the code it shows now");
        return;
    }
    /* Ten recovery codes, shown once, stored hashed. */
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    sbuf arr;
    sbuf_init(&arr);
    sbuf_array_begin(&arr);
    for (int i = 0; i < RECOVERY_CODES; i++) {
        char *c = m->codes[i];
        for (int k = 0; k < 10; k++)
            c[k + (k >= 5)] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
        c[5] = '-';
        c[11] = '\0';
        char h[SECRET_HASH_LEN + 1];
        secret_hash(c, strlen(c), h);
        sbuf_array_str(&arr, h);
    }
    sbuf_array_end(&arr);
    char uid[16], st[24];
    snprintf(uid, sizeof uid, "%d", r->who.user_id);
    snprintf(st, sizeof st, "%lld", (long long)step);
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", r->who.session_id);
    const char *params[4] = {uid, sbuf_str(&arr), st, sid};
    if (sbuf_failed(&arr))
        http_reply_error(r, 500, "internal", NULL, "out of memory");
    else if (db_query(app.writer,
                      "WITH u AS (UPDATE users SET totp_enabled_at = now(),"
                      "  totp_last_step = $3::bigint, updated_at = now()"
                      "  WHERE id = $1::int AND totp_enabled_at IS NULL AND totp_secret IS NOT"
                      "  NULL RETURNING id),"
                      " d AS (DELETE FROM user_recovery_codes WHERE user_id IN (SELECT id FROM u)),"
                      " c AS (INSERT INTO user_recovery_codes (user_id, code_hash)"
                      "  SELECT u.id, h FROM u, unnest($2::text[]) AS h),"
                      " s AS (UPDATE sessions SET enrol_only = false WHERE id = $4::bigint"
                      "  AND EXISTS (SELECT 1 FROM u))"
                      " SELECT id FROM u",
                      4, params, on_mfa_confirmed, r) != 0)
        http_reply_db_down(r);
    sbuf_free(&arr);
}

void h_mfa_confirm(http_req *r)
{
    if (r->who.session_id == 0) {
        http_reply_error(r, 400, "not_a_session", NULL, "a second factor is a person's: sign in");
        return;
    }
    cJSON *doc = req_json_object(r);
    if (doc == NULL)
        return;
    int bad = 0;
    const char *otp = req_str_member(r, doc, "otp", 1, 16, &bad);
    struct mfa *m = bad ? NULL : http_state_new(r, sizeof *m, mfa_free);
    if (m)
        snprintf(m->secret, sizeof m->secret, "%s", otp); /* the code, until checked */
    cJSON_Delete(doc);
    if (m == NULL)
        return;
    char uid[16];
    snprintf(uid, sizeof uid, "%d", r->who.user_id);
    const char *params[1] = {uid};
    if (db_query(app.writer,
                 "SELECT totp_secret FROM users WHERE id = $1::int AND totp_enabled_at IS NULL",
                 1, params, on_pending, r) != 0)
        http_reply_db_down(r);
}
