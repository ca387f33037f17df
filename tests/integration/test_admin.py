#!/usr/bin/env python3
"""The admin page's routes, and an agency's languages and words (issue 19,
items 3 and 4), against the real daemon and SQL.

An agency's admin sets its language, its words for its levels and whether a
second factor is required (PUT /v1/agencies/{code}); names its categories in
Spanish and English (PUT /v1/categories/{code}; the COMPSTAT sheet shows
them); creates people (POST /v1/users answers a one-time set-password link
that POST /v1/password spends), disables, enables and resets them (their
sessions end at once), lists and revokes machine tokens (refused at once).
Every change is in the audit log, written by the same statement; nothing of
another agency is seen or touched; a precinct-limited admin and a commander
get 403; bad input is a 4xx naming the field and writes nothing."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa: E402
from test_accounts import PW, Browser  # noqa: E402

BOX = {"type": "Polygon", "coordinates": [[[-84.1, 9.9], [-84.0, 9.9], [-84.0, 10.0],
                                          [-84.1, 10.0], [-84.1, 9.9]]]}


def setup():
    ci = fresh_db("admin")
    adm = token(ci, "admin", "CR")
    other = token(ci, "admin", "GT")
    d = Daemon(ci)
    d.wait_ready()
    for code, tz, tok in (("CR", "America/Costa_Rica", adm), ("GT", "America/Guatemala", other)):
        st, _, resp = d.request("PUT", "/v1/agencies/" + code, {"name": code, "time_zone": tz}, tok)
        expect_eq(st, 200, resp)
    for code in ("SJ-01", "SJ-02"):
        st, _, resp = d.request("PUT", "/v1/precincts/" + code, {"name": code, "boundary": BOX},
                                adm)
        expect(st in (200, 201), resp)
    st, _, resp = d.request("PUT", "/v1/precincts/GT-01", {"name": "Zona 1", "boundary": BOX},
                            other)
    expect(st in (200, 201), resp)
    for code, cat in (("ROB", "robbery"), ("HUR", "hurto")):
        st, _, resp = d.request("PUT", "/v1/offenses/" + code, {"name": code, "category": cat},
                                adm)
        expect(st in (200, 201), resp)
    st, _, resp = d.request("PUT", "/v1/offenses/ROBO", {"name": "Robo", "category": "robbery"},
                            other)
    expect(st in (200, 201), resp)
    limited = token(ci, "admin", "CR", precincts="SJ-01")
    commander = token(ci, "commander", "CR")
    return {"ci": ci, "d": d, "admin": adm, "other": other, "limited": limited,
            "commander": commander}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def audit_count(ci, action, target):
    return int(scalar(ci, "SELECT count(*) FROM audit_log WHERE action = :'p1'"
                          " AND target = :'p2'", action, target))


def test_agency_language_and_words(ctx):
    d, adm, ci = ctx["d"], ctx["admin"], ctx["ci"]
    st, _, a = d.request("GET", "/v1/agencies/CR", None, adm)
    expect_eq((st, a["language"], a["words"], a["mfa_required"]), (200, None, {}, False),
              "defaults: no language (the browser's decides)")
    words = {"precinct": {"es": "Delegación", "en": "Canton"},
             "area_levels": {"provincia": {"es": "Provincia", "en": "Province"},
                             "region": {"es": "Dirección Regional"}}}
    body = {"name": "Fuerza Pública", "time_zone": "America/Costa_Rica", "language": "es",
            "words": words}
    st, _, a = d.request("PUT", "/v1/agencies/CR", body, adm)
    expect_eq((st, a["language"], a["words"]), (200, "es", words), a)
    expect_eq(scalar(ci, "SELECT language || ' ' || (words = :'p1'::jsonb)::text FROM agencies"
                         " WHERE code = 'CR'", __import__("json").dumps(words)), "es true")
    # Absent: unchanged. whoami carries them for the dashboard.
    st, _, a = d.request("PUT", "/v1/agencies/CR", {"name": "Fuerza Pública",
                                                    "time_zone": "America/Costa_Rica"}, adm)
    expect_eq((st, a["language"], a["words"]), (200, "es", words))
    st, _, who = d.request("GET", "/v1/whoami", None, ctx["commander"])
    expect_eq((who["agency"]["language"], who["agency"]["words"]), ("es", words))
    # Restarted, the daemon loads them from the database.
    d.stop()
    d2 = Daemon(ci)
    d2.wait_ready()
    ctx["d"] = d = d2
    st, _, a = d.request("GET", "/v1/agencies/CR", None, adm)
    expect_eq((a["language"], a["words"]), ("es", words), "kept across a restart")
    st, _, a = d.request("PUT", "/v1/agencies/CR", {**body, "language": None}, adm)
    expect_eq((st, a["language"]), (200, None), "null: none again")
    st, _, a = d.request("PUT", "/v1/agencies/CR", body, adm)
    expect_eq((st, a["language"]), (200, "es"))
    bad = [({"language": "fr"}, "language"), ({"language": 1}, "language"),
           ({"words": []}, "words"), ({"words": {"beat": {"es": "x"}}}, "words.beat"),
           ({"words": {"precinct": {"de": "Revier"}}}, "words.precinct.de"),
           ({"words": {"precinct": {"es": ""}}}, "words.precinct.es"),
           ({"words": {"precinct": {"es": "x" * 65}}}, "words.precinct.es"),
           ({"words": {"precinct": {"es": "a\u0007b"}}}, "words.precinct.es"),
           ({"words": {"area_levels": {"provincia": "Provincia"}}}, "words.area_levels.provincia"),
           ({"mfa_required": "yes"}, "mfa_required")]
    for extra, field in bad:
        b = {"name": "Otro nombre", "time_zone": "America/Costa_Rica", **extra}
        st, _, resp = d.request("PUT", "/v1/agencies/CR", b, adm)
        expect_eq((st, resp["error"]["field"]), (422, field), extra)
    expect_eq(scalar(ci, "SELECT name FROM agencies WHERE code = 'CR'"), "Fuerza Pública",
              "a refused PUT writes nothing")
    st, _, resp = d.request("PUT", "/v1/agencies/CR", {**body, "language": "en"}, ctx["limited"])
    expect_eq(st, 403, "a precinct-limited admin")
    st, _, resp = d.request("PUT", "/v1/agencies/CR", {**body, "language": "en"},
                            ctx["commander"])
    expect_eq(st, 403, "a commander")


def test_category_names_reach_the_sheet(ctx):
    d, adm, ci = ctx["d"], ctx["admin"], ctx["ci"]
    names = {"es": "Robo", "en": "Robbery"}
    st, _, resp = d.request("PUT", "/v1/categories/robbery", {"names": names}, adm)
    expect_eq((st, resp), (200, {"code": "robbery", "names": names}))
    expect_eq(audit_count(ci, "category.names", "robbery"), 1, "audited")
    st, _, cats = d.request("GET", "/v1/categories", None, ctx["commander"])
    got = {c["code"]: c["names"] for c in cats["categories"]}
    want = {r[0]: None for r in psql(ci, "SELECT DISTINCT category FROM offenses o"
                                         " JOIN agencies a ON a.id = o.agency_id"
                                         " WHERE a.code = 'CR'")}
    want["robbery"] = names
    expect_eq(got, want, "every category of the agency's offenses, named or not")
    st, _, sheet = d.request("GET", "/v1/compstat?week_ending=2026-11-29", None, ctx["commander"])
    rows = {r["category"]: r.get("names") for r in sheet["rows"]}
    expect_eq((rows["robbery"], rows["hurto"], rows["total"]), (names, None, None), rows)
    # Another agency's category of the same code keeps its own (none).
    st, _, sheet = d.request("GET", "/v1/compstat?week_ending=2026-11-29", None, ctx["other"])
    expect_eq([r.get("names") for r in sheet["rows"]], [None, None], "GT names nothing")
    for body, field in (({"names": {"fr": "Vol"}}, "names.fr"), ({"names": "Robo"}, "names"),
                        ({"names": {"es": 3}}, "names.es"), ({}, "names")):
        st, _, resp = d.request("PUT", "/v1/categories/robbery", body, adm)
        expect_eq((st, resp["error"]["field"]), (422, field), body)
    st, _, resp = d.request("PUT", "/v1/categories/arson", {"names": names}, adm)
    expect_eq((st, resp["error"]["code"]), (404, "not_found"), "not a category of the agency")
    st, _, resp = d.request("PUT", "/v1/categories/robbery", {"names": names}, ctx["limited"])
    expect_eq(st, 403)
    st, _, resp = d.request("PUT", "/v1/categories/robbery", {"names": None}, adm)
    expect_eq((st, resp["names"]), (200, None), "removed")
    expect_eq(scalar(ci, "SELECT count(*) FROM category_names"), "0")
    st, _, resp = d.request("PUT", "/v1/categories/robbery", {"names": names}, adm)
    expect_eq(st, 200)


def set_password(d, path):
    m = re.match(r"^/#set-password=(cst_\S+)$", path)
    expect(m, "a set-password path", path)
    return d.request("POST", "/v1/password", {"link": m.group(1), "password": PW})


def test_people_created_disabled_reset(ctx):
    d, adm, ci = ctx["d"], ctx["admin"], ctx["ci"]
    st, _, resp = d.request("POST", "/v1/users", {"login": "maria.solis", "name": "María Solís",
                                                  "role": "commander", "precincts": ["SJ-01"]},
                            adm)
    expect_eq(st, 201, resp)
    u = resp["user"]
    expect_eq((u["login"], u["role"], u["precincts"], u["password_set"], u["disabled"]),
              ("maria.solis", "commander", ["SJ-01"], False, False))
    expect(resp["link_expires_at"].endswith("Z"), resp)
    expect_eq(scalar(ci, "SELECT round(extract(epoch FROM expires_at - now()) / 3600)"
                         " FROM user_links l JOIN users u ON u.id = l.user_id"
                         " WHERE u.login = 'maria.solis'"), "24")
    st, _, resp2 = set_password(d, resp["set_password_path"])
    expect_eq(st, 200, resp2)
    st, _, resp2 = set_password(d, resp["set_password_path"])
    expect_eq(st, 422, "the link works once")
    b = Browser(d)
    expect_eq(b.sign_in("maria.solis", PW)[0], 201)
    st, _, who = b.request("GET", "/v1/whoami")
    expect_eq((who["role"], who["precincts"], who["user"]["name"]),
              ("commander", ["SJ-01"], "María Solís"))
    # Refused: taken, unknown precincts and areas, roles, another agency's precinct.
    for body, status, field in (
            ({"login": "maria.solis", "name": "Otra", "role": "commander"}, 409, "login"),
            ({"login": "x", "name": "X", "role": "commander", "precincts": ["NOPE"]}, 422,
             "precincts"),
            ({"login": "x", "name": "X", "role": "commander", "precincts": ["GT-01"]}, 422,
             "precincts"),
            ({"login": "x", "name": "X", "role": "commander", "areas": ["NOPE"]}, 422, "areas"),
            ({"login": "x", "name": "X", "role": "dispatch"}, 422, "role"),
            ({"login": "x", "name": "X", "role": "analyst"}, 422, "role"),
            ({"login": "-x", "name": "X", "role": "commander"}, 422, "login"),
            ({"login": "x", "role": "commander"}, 422, "name"),
            ({"login": "x", "name": "X", "role": "commander", "precincts": "SJ-01"}, 422,
             "precincts")):
        st, _, r = d.request("POST", "/v1/users", body, adm)
        expect_eq((st, r["error"]["field"]), (status, field), body)
    expect_eq(scalar(ci, "SELECT count(*) FROM users WHERE login = 'x'"), "0", "nothing written")
    expect_eq(scalar(ci, "SELECT count(*) FROM api_tokens WHERE label = 'user:x'"), "0")
    # The list: the agency's people, never a hash, never another agency's.
    st, _, other_user = d.request("POST", "/v1/users", {"login": "gt.user", "name": "G",
                                                        "role": "admin"}, ctx["other"])
    expect_eq(st, 201)
    st, hd, listing = d.request("GET", "/v1/users", None, adm)
    logins = [x["login"] for x in listing["users"]]
    want = [r[0] for r in psql(ci, "SELECT u.login FROM users u JOIN api_tokens t"
                                   " ON t.id = u.token_id JOIN agencies a ON a.id = t.agency_id"
                                   " WHERE a.code = 'CR' ORDER BY u.login")]
    expect_eq(logins, want)
    expect("gt.user" not in logins and "$argon2" not in str(listing), listing)
    me = [x for x in listing["users"] if x["login"] == "maria.solis"][0]
    expect(me["password_set"] and me["last_sign_in"], me)
    for tok in (ctx["limited"], ctx["commander"]):
        expect_eq(d.request("GET", "/v1/users", None, tok)[0], 403)
    st, _, r = d.request("POST", "/v1/users/gt.user/disable", None, adm)
    expect_eq(st, 404, "another agency's person is not found")
    expect_eq(scalar(ci, "SELECT disabled_at IS NULL FROM users WHERE login = 'gt.user'"), "t")
    # Disabled: the open session ends at once, sign-ins refused; enabled again.
    st, _, r = d.request("POST", "/v1/users/maria.solis/disable", None, adm)
    expect_eq((st, r["user"]["disabled"]), (200, True), r)
    expect_eq(b.request("GET", "/v1/whoami")[0], 401, "the open session ends")
    expect_eq(Browser(d).sign_in("maria.solis", PW)[0], 401)
    expect_eq(audit_count(ci, "user.disable", "maria.solis"), 1)
    st, _, r = d.request("POST", "/v1/users/maria.solis/enable", None, adm)
    expect_eq((st, r["user"]["disabled"]), (200, False))
    expect_eq(b.sign_in("maria.solis", PW)[0], 201)
    # Reset password: a new link, the sessions end, the old password is gone.
    st, _, r = d.request("POST", "/v1/users/maria.solis/reset-password", None, adm)
    expect_eq((st, r["user"]["password_set"]), (200, False), r)
    expect_eq(b.request("GET", "/v1/whoami")[0], 401)
    expect_eq(Browser(d).sign_in("maria.solis", PW)[0], 401, "no password until the link")
    expect_eq(set_password(d, r["set_password_path"])[0], 200)
    expect_eq(b.sign_in("maria.solis", PW)[0], 201)
    # Reset MFA: the second factor and recovery codes go.
    st, _, enrol = b.request("POST", "/v1/sessions/current/mfa")
    expect_eq(st, 200, enrol)
    psql(ci, "UPDATE users SET totp_enabled_at = now() WHERE login = 'maria.solis'")
    st, _, r = d.request("POST", "/v1/users/maria.solis/reset-mfa", None, adm)
    expect_eq((st, r["user"]["mfa_enrolled"]), (200, False), r)
    expect_eq(scalar(ci, "SELECT totp_secret IS NULL FROM users WHERE login = 'maria.solis'"), "t")
    for action in ("user.create", "user.enable", "user.reset", "user.reset_mfa"):
        expect_eq(audit_count(ci, action, "maria.solis"), 1, action)
    expect_eq(scalar(ci, "SELECT detail->>'address' FROM audit_log WHERE action = 'user.create'"
                         " AND target = 'maria.solis'"), "127.0.0.1")
    st, _, r = d.request("POST", "/v1/users/maria.solis/promote", None, adm)
    expect_eq(st, 404, "no such action")
    st, _, r = d.request("POST", "/v1/users/nobody/disable", None, adm)
    expect_eq((st, r["error"]["field"]), (404, "login"))


def test_an_admin_cannot_disable_itself(ctx):
    d, adm = ctx["d"], ctx["admin"]
    st, _, resp = d.request("POST", "/v1/users", {"login": "jefa", "name": "La Jefa",
                                                  "role": "admin"}, adm)
    expect_eq(st, 201, resp)
    expect_eq(set_password(d, resp["set_password_path"])[0], 200)
    b = Browser(d)
    expect_eq(b.sign_in("jefa", PW)[0], 201)
    st, _, r = b.request("POST", "/v1/users/jefa/disable")
    expect_eq((st, r["error"]["field"]), (422, "login"), r)
    st, _, r = b.request("POST", "/v1/users/jefa/disable", csrf=False)
    expect_eq(st, 403, "a cookie request without the CSRF header")
    # A person admin manages people too (through the cookie, with the header).
    st, _, r = b.request("POST", "/v1/users", {"login": "pedro", "name": "Pedro",
                                               "role": "supervisor"})
    expect_eq(st, 201, r)
    expect_eq(scalar(ctx["ci"], "SELECT detail->>'user' FROM audit_log WHERE action ="
                                " 'user.create' AND target = 'pedro'"), "jefa")


def test_tokens_listed_and_revoked(ctx):
    d, adm, ci = ctx["d"], ctx["admin"], ctx["ci"]
    machine = token(ci, "dispatch", "CR")
    expect_eq(d.request("GET", "/v1/whoami", None, machine)[0], 200)
    st, _, resp = d.request("GET", "/v1/tokens", None, adm)
    expect_eq(st, 200)
    ids = [t["id"] for t in resp["tokens"]]
    want = [int(r[0]) for r in psql(ci, "SELECT t.id FROM api_tokens t JOIN agencies a"
                                        " ON a.id = t.agency_id WHERE a.code = 'CR' AND NOT"
                                        " EXISTS (SELECT 1 FROM users u WHERE u.token_id = t.id)"
                                        " ORDER BY t.id")]
    expect_eq(ids, want, "the agency's machine tokens, not its people's principals")
    expect("token_hash" not in str(resp) and "cst_" not in str(resp), "never a secret")
    mid = int(scalar(ci, "SELECT max(id) FROM api_tokens WHERE role = 'dispatch'"))
    st, _, r = d.request("DELETE", "/v1/tokens/%d" % mid, None, adm)
    expect_eq((st, r["id"], r["revoked_at"] is not None), (200, mid, True), r)
    expect_eq(d.request("GET", "/v1/whoami", None, machine)[0], 401, "refused at once")
    expect_eq(audit_count(ci, "token.revoke", str(mid)), 1)
    gt = int(scalar(ci, "SELECT t.id FROM api_tokens t JOIN agencies a ON a.id = t.agency_id"
                        " WHERE a.code = 'GT' ORDER BY t.id LIMIT 1"))
    st, _, r = d.request("DELETE", "/v1/tokens/%d" % gt, None, adm)
    expect_eq(st, 404, "another agency's token")
    expect_eq(d.request("GET", "/v1/whoami", None, ctx["other"])[0], 200)
    person = int(scalar(ci, "SELECT token_id FROM users WHERE login = 'maria.solis'"))
    expect_eq(d.request("DELETE", "/v1/tokens/%d" % person, None, adm)[0], 404,
              "a person's principal is disabled as a user, not revoked as a token")
    for bad in ("x", "0", "-1", "99999999999"):
        st, _, r = d.request("DELETE", "/v1/tokens/" + bad, None, adm)
        expect_eq((st, r["error"]["field"]), (422, "id"), bad)
    expect_eq(d.request("GET", "/v1/tokens", None, ctx["commander"])[0], 403)


if __name__ == "__main__":
    run([test_agency_language_and_words, test_category_names_reach_the_sheet,
         test_people_created_disabled_reset, test_an_admin_cannot_disable_itself,
         test_tokens_listed_and_revoked], setup, teardown)
