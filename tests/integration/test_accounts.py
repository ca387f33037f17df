#!/usr/bin/env python3
"""Accounts for people (issue 19, items 1 and 2).

compstat-admin user create prints a one-time set-password link (24 h) or
takes --password-stdin; POST /v1/password spends the link once; POST
/v1/sessions signs in (Argon2id on a worker) and answers the cookie
(HttpOnly, SameSite=Strict) and a CSRF token that every cookie request that
changes something must echo; a wrong password and an unknown login get the
same 401; failures slow the login and the address down (429, a growing
Retry-After); a disabled user's session ends at once; an expired or idle
session is refused; sessions survive a restart; TOTP (checked here against
an independent RFC 6238 implementation) with enrolment, recovery codes once
each, and an agency that requires it; every sign-in, failure, sign-out,
password and MFA change is in the audit log with the address."""
import base64
import hashlib
import hmac
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN, Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa: E402

PW = "correct horse battery staple"


def admin(ci, *args, stdin=None):
    return subprocess.run([ADMIN, *args, "--database", ci], capture_output=True, text=True,
                          input=stdin)


def totp(secret_b32, t):
    """RFC 6238 (SHA-1, 30 s, 6 digits), written here from the RFC."""
    key = base64.b32decode(secret_b32)
    mac = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


class Browser:
    """A cookie jar over the harness's requests: what a page holds."""

    def __init__(self, d):
        self.d, self.cookie, self.csrf = d, None, None

    def request(self, method, path, body=None, csrf=True):
        h = {}
        if self.cookie:
            h["Cookie"] = "compstat_session=" + self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        st, hd, resp = self.d.request(method, path, body, None, headers=h)
        return st, hd, resp

    def sign_in(self, login, password, otp=None):
        body = {"login": login, "password": password}
        if otp is not None:
            body["otp"] = otp
        st, hd, resp = self.d.request("POST", "/v1/sessions", body)
        if st == 201:
            m = re.match(r"compstat_session=([^;]+);", hd.get("Set-Cookie", ""))
            self.cookie, self.csrf = m.group(1), resp["csrf_token"]
        return st, hd, resp


def setup():
    ci = fresh_db("accounts")
    adm = token(ci, "admin", "CR")
    d = Daemon(ci)
    d.wait_ready()
    st, _, _ = d.request("PUT", "/v1/agencies/CR", {"name": "Costa Rica",
                                                    "time_zone": "America/Costa_Rica"}, adm)
    expect_eq(st, 200)
    out = admin(ci, "user", "create", "--agency", "CR", "--role", "commander", "--login",
                "ana.mora", "--name", "Ana Mora", "--password-stdin", stdin=PW + "\n")
    expect_eq(out.returncode, 0, out.stderr)
    return {"ci": ci, "d": d, "admin": adm}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def test_link_sets_the_password_once(ctx):
    ci, d = ctx["ci"], ctx["d"]
    out = admin(ci, "user", "create", "--agency", "CR", "--role", "supervisor", "--login", "luis",
                "--name", "Luis Vargas Solano", "--url", "https://compstat.example/")
    expect_eq(out.returncode, 0, out.stderr)
    m = re.match(r"https://compstat\.example/#set-password=(\S+)$", out.stdout.strip())
    expect(m, "a link on stdout", out.stdout)
    link = m.group(1)
    expect_eq(scalar(ci, "SELECT count(*) FROM user_links WHERE token_hash = :'p1'",
                     hashlib.sha256(link.encode()).hexdigest()), "1", "stored hashed")
    b = Browser(d)
    expect_eq(b.sign_in("luis", "anything at all here")[0], 401, "no password yet")
    for pw, why in (("short", "12"), ("LUIS", "12"), ("luis vargas solano", "login or the name"),
                    ("LUIS VARGAS SOLANO", "login or the name")):
        st, _, resp = d.request("POST", "/v1/password", {"link": link, "password": pw})
        expect_eq((st, resp["error"]["field"]), (422, "password"), pw)
        expect(why in resp["error"]["message"], str(resp))
    st, _, resp = d.request("POST", "/v1/password", {"link": link, "password": PW})
    expect_eq((st, resp["login"]), (200, "luis"), resp)
    st, _, resp = d.request("POST", "/v1/password", {"link": link, "password": PW + "!"})
    expect_eq((st, resp["error"]["field"]), (422, "link"), "a link works once")
    expect_eq(b.sign_in("luis", PW)[0], 201)
    # A late link: reset gives a new one; expired in SQL, it is refused.
    out = admin(ci, "user", "reset", "--login", "luis")
    expect_eq(out.returncode, 0, out.stderr)
    late = out.stdout.strip().split("#set-password=")[1]
    expect_eq(b.request("GET", "/v1/whoami")[0], 401, "a reset ends the sessions")
    psql(ci, "UPDATE user_links SET expires_at = now() - interval '1 second'"
             " WHERE token_hash = :'p1'", hashlib.sha256(late.encode()).hexdigest())
    st, _, resp = d.request("POST", "/v1/password", {"link": late, "password": PW})
    expect_eq((st, resp["error"]["field"]), (422, "link"), "a late link")
    out = admin(ci, "user", "create", "--agency", "CR", "--role", "commander", "--login", "luis",
                "--name", "Otro")
    expect(out.returncode != 0 and "taken" in out.stderr, "a login once", out.stderr)
    out = admin(ci, "user", "create", "--agency", "CR", "--role", "commander", "--login", "x",
                "--name", "X", "--password-stdin", stdin="tooshort\n")
    expect(out.returncode == 2 and "12" in out.stderr, "the rule at the command line too")
    expect_eq(scalar(ci, "SELECT count(*) FROM users WHERE login = 'x'"), "0")


def test_sign_in_cookie_and_whoami(ctx):
    d = ctx["d"]
    b = Browser(d)
    st, hd, resp = b.sign_in("ana.mora", PW)
    expect_eq(st, 201, resp)
    cookie = hd["Set-Cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        expect(flag in cookie, "cookie has " + flag, cookie)
    expect("Secure" not in cookie, "no Secure without TLS (cookie_secure=auto)", cookie)
    expect_eq((resp["user"]["login"], resp["user"]["role"], resp["idle_timeout_s"]),
              ("ana.mora", "commander", 1800))
    st, _, who = b.request("GET", "/v1/whoami")
    expect_eq((st, who["role"], who["user"]), (200, "commander",
                                               {"login": "ana.mora", "name": "Ana Mora",
                                                "idle_timeout_s": 1800}))
    expect_eq(who["agency"]["code"], "CR")
    st, _, cube = b.request("GET", "/v1/cube")
    expect_eq(st, 200, "a commander's reads")
    ctx["ana"] = b
    # The session is stored hashed, the password as Argon2id.
    h = scalar(ctx["ci"], "SELECT password_hash FROM users WHERE login = 'ana.mora'")
    expect(h.startswith("$argon2id$"), h)
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM sessions WHERE token_hash = :'p1'",
                     hashlib.sha256(b.cookie.encode()).hexdigest()), "1")


def test_wrong_password_and_unknown_login_alike(ctx):
    d = ctx["d"]
    a = d.request("POST", "/v1/sessions", {"login": "ana.mora", "password": "wrong " * 3})
    b = d.request("POST", "/v1/sessions", {"login": "nobody.here", "password": "wrong " * 3})
    expect_eq((a[0], b[0]), (401, 401))
    expect_eq(a[2]["error"]["message"], b[2]["error"]["message"])
    expect_eq(a[2]["error"]["code"], b[2]["error"]["code"])
    for body, field in (({"password": "x"}, "login"), ({"login": "a"}, "password"),
                        ({"login": "a", "password": 5}, "password")):
        st, _, resp = d.request("POST", "/v1/sessions", body)
        expect_eq((st, resp["error"]["field"]), (422, field), body)


def test_csrf_and_sign_out(ctx):
    d, ci = ctx["d"], ctx["ci"]
    b = Browser(d)
    expect_eq(b.sign_in("ana.mora", PW)[0], 201)
    st, _, resp = b.request("DELETE", "/v1/sessions/current", csrf=False)
    expect_eq((st, resp["error"]["code"], resp["error"]["field"]), (403, "csrf", "X-CSRF-Token"))
    real = b.csrf
    b.csrf = "cst_" + "A" * 43
    expect_eq(b.request("DELETE", "/v1/sessions/current")[0], 403, "a wrong CSRF token")
    b.csrf = real
    expect_eq(b.request("GET", "/v1/whoami")[0], 200, "still signed in")
    st, hd, _ = b.request("DELETE", "/v1/sessions/current")
    expect_eq(st, 204)
    expect("Max-Age=0" in hd.get("Set-Cookie", ""), "the cookie is cleared")
    st, _, resp = b.request("GET", "/v1/whoami")
    expect_eq((st, resp["error"]["code"]), (401, "session_expired"), "signed out: refused")
    # A token cannot be signed out of.
    st, _, resp = d.request("DELETE", "/v1/sessions/current", None, ctx["admin"])
    expect_eq(st, 400, resp)


def test_disabled_user_thrown_out_at_once(ctx):
    d, ci = ctx["d"], ctx["ci"]
    out = admin(ci, "user", "create", "--agency", "CR", "--role", "commander", "--login",
                "pedro", "--name", "Pedro", "--password-stdin", stdin=PW + "\n")
    expect_eq(out.returncode, 0, out.stderr)
    b = Browser(d)
    expect_eq(b.sign_in("pedro", PW)[0], 201)
    expect_eq(b.request("GET", "/v1/cube")[0], 200)
    out = admin(ci, "user", "disable", "--login", "pedro")
    expect_eq(out.returncode, 0, out.stderr)
    deadline, st = time.time() + 5, 200
    while st == 200 and time.time() < deadline:
        st = b.request("GET", "/v1/cube")[0]
    expect_eq(st, 401, "the open page is refused at its next request")
    st, _, resp = Browser(d).sign_in("pedro", PW)
    expect_eq((st, resp["error"]["message"]), (401, "wrong login or password"))
    out = admin(ci, "user", "enable", "--login", "pedro")
    expect_eq(out.returncode, 0, out.stderr)
    expect_eq(Browser(d).sign_in("pedro", PW)[0], 201, "enabled again")
    out = admin(ci, "user", "list", "--agency", "CR")
    rows = {l.split("\t")[0]: l.split("\t") for l in out.stdout.strip().split("\n")}
    head = rows.pop("login")
    expect_eq(rows["pedro"][head.index("password")], "set")
    expect_eq(rows["luis"][head.index("role")], "supervisor")
    expect("$argon2" not in out.stdout, "no hash in the list")


def test_expired_and_idle_sessions(ctx):
    d, ci = ctx["d"], ctx["ci"]
    for column, value, why in (("expires_at", "now() - interval '1 second'", "time is up"),
                               ("last_seen_at", "now() - interval '2 hours'", "unused")):
        b = Browser(d)
        expect_eq(b.sign_in("ana.mora", PW)[0], 201)
        expect_eq(b.request("GET", "/v1/whoami")[0], 200)
        psql(ci, "UPDATE sessions SET %s = %s WHERE token_hash = :'p1'" % (column, value),
             hashlib.sha256(b.cookie.encode()).hexdigest())
        psql(ci, "SELECT pg_notify('compstat_tokens', '')")  # the daemon's cache is dropped
        deadline, st = time.time() + 5, 200
        while st == 200 and time.time() < deadline:
            st, _, resp = b.request("GET", "/v1/whoami")
        expect_eq((st, resp["error"]["code"]), (401, "session_expired"), why)


def test_sessions_survive_a_restart(ctx):
    ci = ctx["ci"]
    b = Browser(ctx["d"])
    expect_eq(b.sign_in("ana.mora", PW)[0], 201)
    expect_eq(ctx["d"].stop(), 0)
    ctx["d"] = Daemon(ci)
    ctx["d"].wait_ready()
    b.d = ctx["d"]
    st, _, who = b.request("GET", "/v1/whoami")
    expect_eq((st, who["user"]["login"]), (200, "ana.mora"), "the same session after a restart")


def test_second_factor(ctx):
    d, ci = ctx["d"], ctx["ci"]
    out = admin(ci, "user", "create", "--agency", "CR", "--role", "admin", "--login", "sofia",
                "--name", "Sofía", "--password-stdin", stdin=PW + "\n")
    expect_eq(out.returncode, 0, out.stderr)
    b = Browser(d)
    expect_eq(b.sign_in("sofia", PW)[0], 201)
    st, _, m = b.request("POST", "/v1/sessions/current/mfa", {})
    expect_eq(st, 200, m)
    secret = m["secret"]
    expect(re.fullmatch(r"[A-Z2-7]{32}", secret), secret)
    expect_eq(m["otpauth_uri"], "otpauth://totp/compstatd:sofia?secret=%s&issuer=compstatd"
                                "&digits=6&period=30" % secret)
    expect(m["qr_svg"].startswith("<svg") and "<path" in m["qr_svg"], "a QR code")
    st, _, resp = b.request("POST", "/v1/sessions/current/mfa/confirm", {"otp": "000000"
                            if totp(secret, time.time()) != "000000" else "111111"})
    expect_eq((st, resp["error"]["field"]), (422, "otp"), "a wrong code does not enrol")
    now = time.time()
    st, _, resp = b.request("POST", "/v1/sessions/current/mfa/confirm",
                            {"otp": totp(secret, now)})
    expect_eq(st, 200, resp)
    codes = resp["recovery_codes"]
    expect_eq((len(codes), len(set(codes))), (10, 10))
    expect_eq(scalar(ci, "SELECT count(*) FROM user_recovery_codes c JOIN users u"
                         " ON u.id = c.user_id WHERE u.login = 'sofia' AND c.code_hash = :'p1'",
                     hashlib.sha256(codes[0].encode()).hexdigest()), "1", "stored hashed")
    st, _, _ = b.request("POST", "/v1/sessions/current/mfa", {})
    expect_eq(st, 409, "enrolled: only an admin resets it")
    c = Browser(d)
    st, _, resp = c.sign_in("sofia", PW)
    expect_eq((st, resp["error"]["code"], resp["error"]["field"]), (401, "otp_required", "otp"))
    st, _, resp = c.sign_in("sofia", PW, totp(secret, now))
    expect_eq((st, resp["error"]["field"]), (401, "otp"), "the code used to enrol: not twice")
    st, _, resp = c.sign_in("sofia", PW, totp(secret, now + 30))
    expect_eq(st, 201, resp)
    expect_eq(resp["mfa"], {"enrolled": True, "required": False})
    e = Browser(d)
    expect_eq(e.sign_in("sofia", PW, codes[3])[0], 201, "a recovery code")
    expect_eq(Browser(d).sign_in("sofia", PW, codes[3])[0], 401, "once")
    # An agency that requires it: a user without one may only enrol.
    psql(ci, "UPDATE agencies SET mfa_required = true WHERE code = 'CR'")
    f = Browser(d)
    st, _, resp = f.sign_in("ana.mora", PW)
    expect_eq((st, resp["enrol_only"]), (201, True), resp)
    st, _, resp = f.request("GET", "/v1/cube")
    expect_eq((st, resp["error"]["code"]), (403, "mfa_required"))
    expect_eq(f.request("GET", "/v1/whoami")[0], 200)
    st, _, m = f.request("POST", "/v1/sessions/current/mfa", {})
    expect_eq(st, 200, m)
    st, _, _ = f.request("POST", "/v1/sessions/current/mfa/confirm",
                         {"otp": totp(m["secret"], time.time())})
    expect_eq(st, 200)
    expect_eq(f.request("GET", "/v1/cube")[0], 200, "enrolled: the whole session")
    psql(ci, "UPDATE agencies SET mfa_required = false WHERE code = 'CR'")
    out = admin(ci, "user", "reset", "--login", "ana.mora", "--mfa")
    expect_eq(out.returncode, 0, out.stderr)
    expect_eq(Browser(d).sign_in("ana.mora", PW)[0], 201, "reset: a password alone again")


def test_audit_of_accounts(ctx):
    rows = psql(ctx["ci"], "SELECT action, target, detail ->> 'address' FROM audit_log"
                           " WHERE action LIKE 'session.%' OR action LIKE 'password.%'"
                           " OR action LIKE 'mfa.%' OR action LIKE 'user.%' ORDER BY id")
    actions = {r[0] for r in rows}
    for a in ("session.create", "session.fail", "session.end", "password.set", "mfa.begin",
              "mfa.enable", "user.create", "user.disable", "user.enable", "user.reset",
              "user.reset_mfa"):
        expect(a in actions, a + " is audited", sorted(actions))
    expect(all(r[2] for r in rows if r[0].startswith(("session.", "password.", "mfa."))),
           "with the address")
    expect(any(r[0] == "session.fail" and r[1] == "nobody.here" for r in rows))


def test_failures_slow_down(ctx):
    """Last: it blocks this address (a daemon of its own, so others are not)."""
    d = Daemon(ctx["ci"])
    try:
        d.wait_ready()
        waits = []
        for i in range(8):
            st, hd, resp = d.request("POST", "/v1/sessions",
                                     {"login": "ana.mora", "password": "not the password"})
            if st == 429:
                waits.append(int(hd["Retry-After"]))
                time.sleep(waits[-1] + 0.1)
            else:
                expect_eq(st, 401)
        expect(len(waits) >= 2 and waits[-1] > waits[0], "429 with a growing Retry-After",
               waits)
        st, _, _ = d.request("POST", "/v1/sessions",
                             {"login": "ana.mora", "password": "not the password"})
        expect_eq(st, 401)
        st, hd, resp = d.request("POST", "/v1/sessions", {"login": "ana.mora", "password": PW})
        expect(st == 429 and int(hd["Retry-After"]) >= 1, "even the right password waits", st)
    finally:
        expect_eq(d.stop(), 0)


if __name__ == "__main__":
    run([test_link_sets_the_password_once, test_sign_in_cookie_and_whoami,
         test_wrong_password_and_unknown_login_alike, test_csrf_and_sign_out,
         test_disabled_user_thrown_out_at_once, test_expired_and_idle_sessions,
         test_sessions_survive_a_restart, test_second_factor, test_audit_of_accounts,
         test_failures_slow_down], setup, teardown)
