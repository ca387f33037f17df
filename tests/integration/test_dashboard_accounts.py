#!/usr/bin/env python3
"""People signing in to the dashboard, in a real browser (issue 19).

tests/browser/accounts.mjs drives Debian's chromium headless against a
daemon on a database made here: an agency with a user who has a password
(--password-stdin), one with a set-password link and one with a late link,
and an agency that requires a second factor with its user. It checks the
sign-in with and without a second factor (enrolment, recovery codes, TOTP
against its own RFC 6238), a wrong password said alike for an unknown login
and slowed down, a disabled user thrown out of an open page, an idle and an
expired session, a cookie request without the CSRF header refused, and
set-password links used twice or late refused. Screenshots go to
$COMPSTAT_ARTIFACTS (default build-test/artifacts)."""
import datetime
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN, PSQL, SRC, Daemon, expect, expect_eq, fresh_db, psql, run, token  # noqa: E402

BROWSER = os.path.join(SRC, "tests", "browser")
ARTIFACTS = os.environ.get("COMPSTAT_ARTIFACTS", os.path.join(SRC, "build-test", "artifacts"))
PW = "la contraseña de todos los lunes"
BOX = {"type": "Polygon", "coordinates": [[[-84.1, 9.9], [-84.0, 9.9], [-84.0, 10.0],
                                          [-84.1, 10.0], [-84.1, 9.9]]]}
BOX2 = {"type": "Polygon", "coordinates": [[[-84.0, 9.9], [-83.9, 9.9], [-83.9, 10.0],
                                           [-84.0, 10.0], [-84.0, 9.9]]]}


def admin(ci, *args, stdin=None):
    out = subprocess.run([ADMIN, *args, "--database", ci], capture_output=True, text=True,
                         input=stdin)
    expect_eq(out.returncode, 0, "compstat-admin %s: %s" % (" ".join(args), out.stderr))
    return out.stdout.strip()


def link_of(out):
    m = re.search(r"#set-password=(cst_\S+)$", out)
    expect(m, "a set-password link", out)
    return m.group(1)


def setup():
    ci = fresh_db("dash_accounts")
    adm = token(ci, "admin", "CR")
    mfa_adm = token(ci, "admin", "MFA")
    # Every failure counts against the address too: the test's own refusals
    # come from one address, so the limit is above them (the last step
    # reaches it on purpose).
    d = Daemon(ci, ["--signin-fail-limit", "10"])
    d.wait_ready()
    for code, tok in (("CR", adm), ("MFA", mfa_adm)):
        st, _, resp = d.request("PUT", "/v1/agencies/" + code,
                                {"name": "Fuerza Pública " + code, "time_zone": "America/Costa_Rica",
                                 "mfa_required": code == "MFA"}, tok)
        expect_eq(st, 200, resp)
        st, _, resp = d.request("PUT", "/v1/precincts/%s-1" % code, {"name": "Central",
                                                                      "boundary": BOX}, tok)
        expect(st in (200, 201), resp)
        st, _, resp = d.request("PUT", "/v1/offenses/ROB", {"name": "Asalto", "category": "robbery"},
                                tok)
        expect(st in (200, 201), resp)
    # CR's incidents have no coordinates (as OIJ's): counts by canton, a map of
    # rates; a second canton without a population.
    st, _, resp = d.request("PUT", "/v1/precincts/CR-1", {"name": "Central", "boundary": BOX,
                                                          "population": 52000}, adm)
    expect_eq(st, 200, resp)
    st, _, resp = d.request("PUT", "/v1/precincts/CR-2", {"name": "Escazú", "boundary": BOX2}, adm)
    expect(st in (200, 201), resp)
    st, _, resp = d.request("PUT", "/v1/areas/SJ", {"name": "San José", "level": "provincia",
                                                    "precincts": ["CR-1"]}, adm)
    expect(st in (200, 201), resp)
    now = datetime.datetime.now(datetime.timezone.utc)
    incs = [{"source": "oij", "external_id": str(i), "offense": "ROB",
             "precinct": "CR-1" if i % 3 else "CR-2",
             "occurred_at": (now - datetime.timedelta(hours=1 + i)).isoformat()} for i in range(15)]
    st, _, resp = d.request("POST", "/v1/incidents", incs, adm)
    expect_eq((st, resp["accepted"]), (200, 15), resp)
    admin(ci, "user", "create", "--agency", "CR", "--role", "commander", "--login", "ana.mora",
          "--name", "Ana Mora", "--password-stdin", stdin=PW + "\n")
    admin(ci, "user", "create", "--agency", "CR", "--role", "admin", "--login", "jefa",
          "--name", "Marta Jiménez", "--password-stdin", stdin=PW + "\n")
    admin(ci, "user", "create", "--agency", "MFA", "--role", "commander", "--login", "sofia",
          "--name", "Sofía Quesada", "--password-stdin", stdin=PW + "\n")
    link = link_of(admin(ci, "user", "create", "--agency", "CR", "--role", "supervisor",
                         "--login", "luis", "--name", "Luis Vargas"))
    late = link_of(admin(ci, "user", "create", "--agency", "CR", "--role", "supervisor",
                         "--login", "tarde", "--name", "Llega Tarde"))
    psql(ci, "UPDATE user_links SET expires_at = now() - interval '1 second' WHERE user_id ="
             " (SELECT id FROM users WHERE login = 'tarde')")
    return {"ci": ci, "d": d, "link": link, "late": late, "dispatch": token(ci, "dispatch", "CR")}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def test_in_chromium(ctx):
    if os.environ.get("COMPSTAT_SKIP_BROWSER") == "1":
        print("COMPSTAT_SKIP_BROWSER=1: browser test not run")
        return
    expect(os.path.exists("/usr/bin/chromium"), "chromium is installed (tools/deps)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    env = dict(os.environ, COMPSTATD_URL="http://127.0.0.1:%d" % ctx["d"].port,
               ADMIN_BIN=ADMIN, DATABASE=ctx["ci"], PSQL=PSQL, PASSWORD=PW, LINK=ctx["link"],
               LATE_LINK=ctx["late"], DISPATCH_TOKEN=ctx["dispatch"], ARTIFACTS=ARTIFACTS)
    out = subprocess.run(["node", os.path.join(BROWSER, "accounts.mjs")], env=env,
                         capture_output=True, text=True, timeout=300)
    print(out.stdout)
    if out.returncode != 0:  # what the daemon said, for the report
        print("\n".join(ctx["d"].log().splitlines()[-60:]))
    expect_eq(out.returncode, 0, "the browser checks (stderr: %s)" % out.stderr[-3000:])


if __name__ == "__main__":
    run([test_in_chromium], setup, teardown)
