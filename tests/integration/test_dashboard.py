#!/usr/bin/env python3
"""The dashboard, in a real browser, against a daemon with real data.

New Orleans districts and 2022 calls for service (data/demo/new_orleans,
PROVENANCE.md there) are imported through tools/import; then
tests/browser/dashboard.mjs drives Debian's chromium headless with
playwright-core (installed by tools/deps and tools/test) and checks the page
against the API's own answers: no console errors, the COMPSTAT sheet equals
/v1/compstat (highlights only where its test is significant, "no data" where
prior_data is false, the legend naming the test), the map's cells are
/v1/hotspots' with the false-discovery-rate correction on by default and a
toggle, the offense filter moves the sheet, trend and map and every panel's
caption says what it shows, response times refresh on live events in one
duration format with n, the feed shows local dates and offense names,
tooltips read as English, the week picker steps Sunday to Sunday (buttons and
arrow keys), empty map and feed say so, a bookmark naming a precinct the
token may not see says so, a posted incident reaches the live feed and moves
the counts without a reload, the tablet layout fits (issue 16). Screenshots
are kept in $COMPSTAT_ARTIFACTS (default build-test/artifacts).

Also here, without a browser: the files are served with their types and a
content security policy, and /dashboard/config.json carries the tile
settings."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, Daemon, expect, expect_eq, fresh_db, run, scalar, token  # noqa: E402

DEMO = os.path.join(SRC, "data", "demo", "new_orleans")
BROWSER = os.path.join(SRC, "tests", "browser")
ARTIFACTS = os.environ.get("COMPSTAT_ARTIFACTS", os.path.join(SRC, "build-test", "artifacts"))


def setup():
    ci = fresh_db("dashboard")
    admin = token(ci, "admin", "NOPD")
    d = Daemon(ci)
    d.wait_ready()
    ctx = {"ci": ci, "d": d, "admin": admin}
    imp(ctx, "agency", "NOPD", "--name", "New Orleans Police Department", "--time-zone",
        "America/Chicago")
    imp(ctx, "precincts", os.path.join(DEMO, "nopd_police_districts_wgs84.geojson"), "--agency",
        "NOPD", "--code-property", "District", "--code-prefix", "NOPD-")
    imp(ctx, "nola-calls", os.path.join(DEMO, "rtcc_dump_2022_merged_w_calls_for_service_2022.csv"))
    # Populations for the rate map (a figure of our own, not the census's: the
    # test checks the map against the API's rates, whatever they are), but for
    # one district, which has none.
    st, _, ps = d.request("GET", "/v1/precincts", None, admin)
    for i, p in enumerate(sorted(ps["precincts"], key=lambda p: p["code"])[1:]):
        st, _, resp = d.request("PUT", "/v1/precincts/" + p["code"],
                                {"name": p["name"], "boundary": p["boundary"],
                                 "population": 40000 + 7919 * i}, admin)
        expect_eq(st, 200, resp)
    # An area of three districts (the rate map by area, the packet).
    codes = sorted(p["code"] for p in ps["precincts"])[:3]
    st, _, resp = d.request("PUT", "/v1/areas/CENTRO", {"name": "Centro", "level": "zona",
                                                        "precincts": codes}, admin)
    expect(st in (200, 201), resp)
    return ctx


def imp(ctx, *args):
    env = dict(os.environ, COMPSTATD_URL="http://127.0.0.1:%d" % ctx["d"].port,
               COMPSTATD_TOKEN=ctx["admin"])
    out = subprocess.run([os.path.join(SRC, "tools", "import"), *args], capture_output=True,
                         text=True, env=env, timeout=600)
    expect_eq(out.returncode, 0, "tools/import %s: %s %s" % (args[0], out.stdout, out.stderr))


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def test_files_and_config(ctx):
    d = ctx["d"]
    st, h, body = d.request("GET", "/", raw=True)
    expect_eq(st, 200, "/")
    expect(h["Content-Type"].startswith("text/html"), "html", h)
    expect("script-src 'self'" in h.get("Content-Security-Policy", ""), "CSP", h)
    expect(b"/app.js" in body, "the page loads app.js")
    for path, ctype in (("/app.js", "text/javascript"), ("/app.css", "text/css"),
                        ("/vendor/leaflet/leaflet.js", "text/javascript"),
                        ("/vendor/leaflet/leaflet.css", "text/css"),
                        ("/vendor/leaflet/LICENSE", "text/plain")):
        st, h, body = d.request("GET", path, raw=True)
        expect_eq((st, h["Content-Type"].split(";")[0]), (200, ctype), path)
        expect(len(body) > 100, path + " has content")
    st, _, body = d.request("GET", "/vendor/leaflet/LICENSE", raw=True)
    expect(b"BSD" in body and b"Agafonkin" in body, "Leaflet's licence is served")
    st, _, cfg = d.request("GET", "/dashboard/config.json")
    expect_eq(cfg, {"tile_url": "", "tile_attribution": ""}, "no tiles by default (offline)")
    tiles = Daemon(ctx["ci"], ["--web-tile-url", "https://tiles.example.org/{z}/{x}/{y}.png",
                               "--web-tile-attribution", "example tiles"])
    try:
        tiles.wait_ready()
        st, _, cfg = tiles.request("GET", "/dashboard/config.json")
        expect_eq(cfg, {"tile_url": "https://tiles.example.org/{z}/{x}/{y}.png",
                        "tile_attribution": "example tiles"}, "tile settings")
    finally:
        expect_eq(tiles.stop(), 0, "second daemon")
    for path in ("/app.js/x", "/nope.html", "/vendor/leaflet/"):
        expect_eq(d.request("GET", path)[0], 404, path)
    expect_eq(d.request("POST", "/app.js", b"x", ctype="text/plain")[0], 404, "POST to a file")
    st, _, me = d.request("GET", "/v1/whoami", None, ctx["admin"])
    expect_eq((st, me["role"], me["agency"]["code"], me["precincts"]), (200, "admin", "NOPD", None),
              "whoami")
    scoped = token(ctx["ci"], "commander", "NOPD", "NOPD-1,NOPD-2")
    st, _, me = d.request("GET", "/v1/whoami", None, scoped)
    expect_eq(me["precincts"], ["NOPD-1", "NOPD-2"], "whoami of a scoped token")
    expect_eq(d.request("GET", "/v1/whoami")[0], 401, "whoami needs a token")


def test_in_chromium(ctx):
    if os.environ.get("COMPSTAT_SKIP_BROWSER") == "1":
        print("COMPSTAT_SKIP_BROWSER=1: browser test not run")
        return
    expect(os.path.exists("/usr/bin/chromium"), "chromium is installed (tools/deps)")
    expect(os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")),
           "playwright-core is installed (tools/test runs npm ci in tests/browser)")
    # The week to look at: the one with most incidents (a Sunday, local).
    week = scalar(ctx["ci"], """
        SELECT (date_trunc('week', (counted_at AT TIME ZONE 'America/Chicago'))::date + 6)::text
        FROM incidents GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""")
    os.makedirs(ARTIFACTS, exist_ok=True)
    env = dict(os.environ, COMPSTATD_URL="http://127.0.0.1:%d" % ctx["d"].port,
               READ_TOKEN=token(ctx["ci"], "commander", "NOPD"),
               DISPATCH_TOKEN=token(ctx["ci"], "dispatch", "NOPD"), WEEK=week,
               SCOPED_TOKEN=token(ctx["ci"], "commander", "NOPD", "NOPD-3"),
               SCOPED_PRECINCT="NOPD-3", OTHER_PRECINCT="NOPD-1",
               ARTIFACTS=ARTIFACTS)
    out = subprocess.run(["node", os.path.join(BROWSER, "dashboard.mjs")], env=env,
                         capture_output=True, text=True, timeout=300)
    print(out.stdout)
    expect_eq(out.returncode, 0, "the browser checks (stderr: %s)" % out.stderr[-3000:])
    for shot in ("dashboard.png", "dashboard-tablet.png", "dashboard-prior-year.png"):
        expect(os.path.getsize(os.path.join(ARTIFACTS, shot)) > 10000, shot + " kept")


def test_packet_in_chromium(ctx):
    """The weekly packet (issue 19, item 7): tests/browser/packet.mjs prints
    an area's packet to PDF on A4 and Letter and checks its pages and
    numbers against the API, and the packet in Spanish."""
    if os.environ.get("COMPSTAT_SKIP_BROWSER") == "1":
        print("COMPSTAT_SKIP_BROWSER=1: browser test not run")
        return
    d = ctx["d"]
    week = scalar(ctx["ci"], """
        SELECT (date_trunc('week', (counted_at AT TIME ZONE 'America/Chicago'))::date + 6)::text
        FROM incidents GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""")
    os.makedirs(ARTIFACTS, exist_ok=True)
    env = dict(os.environ, COMPSTATD_URL="http://127.0.0.1:%d" % d.port,
               READ_TOKEN=token(ctx["ci"], "commander", "NOPD"), WEEK=week, AREA="CENTRO",
               ARTIFACTS=ARTIFACTS)
    out = subprocess.run(["node", os.path.join(BROWSER, "packet.mjs")], env=env,
                         capture_output=True, text=True, timeout=400)
    print(out.stdout)
    expect_eq(out.returncode, 0, "the packet's checks (stderr: %s)" % out.stderr[-3000:])


if __name__ == "__main__":
    run([test_files_and_config, test_in_chromium, test_packet_in_chromium], setup, teardown)
