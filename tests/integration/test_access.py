#!/usr/bin/env python3
"""Access control, table-driven: every route x every kind of token (none,
unknown, each role, a precinct-scoped token, another agency's admin) gets
401, 403 or an answer as API.md's role table says; and the answers a
limited token gets never include other precincts' or agencies' incidents,
not even in totals."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import subprocess

from harness import ADMIN as ADMIN_BIN  # noqa: E402
from harness import SSE, Daemon, expect, expect_eq, fresh_db, run, token  # noqa: E402

SQ1 = {"type": "Polygon", "coordinates": [[[-90.52, 14.62], [-90.50, 14.62], [-90.50, 14.64],
                                           [-90.52, 14.64], [-90.52, 14.62]]]}
SQ2 = {"type": "Polygon", "coordinates": [[[-90.50, 14.62], [-90.48, 14.62], [-90.48, 14.64],
                                           [-90.50, 14.64], [-90.50, 14.62]]]}


def setup():
    ci = fresh_db("access")
    # Every route is tried with an unknown token: more than auth_fail_limit's
    # default allows an address within a minute (test_review_http tests that).
    d = Daemon(ci, ["--auth-fail-limit", "1000"])
    d.wait_ready()
    admin = token(ci, "admin", "GT")
    d.request("PUT", "/v1/agencies/GT", {"name": "GT", "time_zone": "America/Guatemala"}, admin)
    for code, poly in (("A-1", SQ1), ("A-2", SQ2)):
        expect_eq(d.request("PUT", "/v1/precincts/" + code, {"name": code, "boundary": poly},
                            admin)[0], 201)
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                        admin)[0], 201)
    incs = [{"source": "acc", "external_id": "%s-%d" % (p, i), "offense": "ROB",
             "location": {"lat": 14.63, "lon": lon}, "occurred_at": "2026-11-2%dT10:00:00Z" % i}
            for p, lon in (("p1", -90.51), ("p2", -90.49)) for i in range(1, 4)]
    incs.append({"source": "acc", "external_id": "nowhere", "offense": "ROB",
                 "location": {"lat": 10.0, "lon": -80.0}, "occurred_at": "2026-11-21T10:00:00Z"})
    st, _, body = d.request("POST", "/v1/incidents", incs, admin)
    expect_eq((st, body["accepted"]), (200, 7))
    toks = {"none": None, "unknown": "cst_" + "x" * 43, "admin": admin}
    for role in ("dispatch", "commander", "supervisor"):
        toks[role] = token(ci, role, "GT")
    toks["commander_p1"] = token(ci, "commander", "GT", "A-1")
    toks["other_admin"] = token(ci, "admin", "SV")
    first_id = body["results"][0]["id"]
    # Region readers (issue 18): GT shares counts with RCA; nobody with R2.
    region = {}
    for code in ("RCA", "R2"):
        for args in (["region", "create", code, "--name", code],
                     ["token", "create", "--region", code, "--role", "analyst"]):
            out = subprocess.run([ADMIN_BIN, *args, "--database", ci], capture_output=True,
                                 text=True)
            expect_eq(out.returncode, 0, out.stderr)
        region[code] = out.stdout.strip()
    st, _, resp = d.request("PUT", "/v1/sharing/RCA", {"level": "counts",
                                                       "location_precision_m": 500}, admin)
    expect_eq(st, 201, resp)
    return {"ci": ci, "d": d, "t": toks, "id": first_id, "region": region}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


READ = {"commander", "supervisor", "admin", "commander_p1", "other_admin"}
WRITE = {"dispatch", "admin", "other_admin"}
ANY = READ | {"dispatch"}
ADMIN = {"admin", "other_admin"}
HR = {"supervisor", "admin", "other_admin"}


def routes(ctx):
    inc = {"source": "acc2", "external_id": "x", "offense": "ROB",
           "location": {"lat": 14.63, "lon": -90.51}, "occurred_at": "2026-11-21T10:00:00Z"}
    return [
        ("GET", "/v1/incidents", None, READ),
        ("GET", "/v1/incidents/%d" % ctx["id"], None, READ),
        ("POST", "/v1/incidents", inc, WRITE),
        ("PATCH", "/v1/incidents/acc/p1-1", {"priority": 3}, WRITE),
        ("GET", "/v1/cube", None, READ),
        ("GET", "/v1/compstat?precinct=A-1", None, READ),
        ("GET", "/v1/hotspots?precinct=A-1", None, READ),
        ("GET", "/v1/precincts", None, ANY),
        ("GET", "/v1/offenses", None, ANY),
        ("GET", "/v1/agencies/GT", None, ANY),
        ("PUT", "/v1/offenses/NEW", {"name": "n", "category": "other"}, ADMIN),
        ("PUT", "/v1/precincts/A-9", {"name": "n", "boundary": SQ1}, ADMIN),
        ("PUT", "/v1/agencies/GT", {"name": "GT", "time_zone": "America/Guatemala"}, ADMIN),
        ("GET", "/v1/response-times?by=precinct", None, READ),
        ("GET", "/v1/reports/workload?by=precinct", None, READ),
        ("GET", "/v1/units", None, READ),
        ("GET", "/v1/officers", None, HR),
        ("GET", "/v1/shifts", None, READ),
        ("STREAM", "/v1/stream", None, READ),
        ("GET", "/v1/categories", None, ANY),
        ("PUT", "/v1/categories/robbery", {"names": {"es": "Robo"}}, ADMIN),
        ("GET", "/v1/users", None, ADMIN),
        ("POST", "/v1/users", {"login": "acc.user", "name": "A", "role": "commander"}, ADMIN),
        ("POST", "/v1/users/acc.user/enable", None, ADMIN),
        ("GET", "/v1/tokens", None, ADMIN),
        ("DELETE", "/v1/tokens/999999", None, ADMIN),
    ]


def outcome(d, method, path, body, tok):
    """The status of a request; a stream is opened, its status read, and closed."""
    if method != "STREAM":
        st, _, resp = d.request(method, path, body, tok)
        return st, resp
    s = SSE(d.port, path, tok)
    st, resp = s.status, s.body
    s.close()
    return st, resp


def test_route_role_matrix(ctx):
    d = ctx["d"]
    failures = []
    for method, path, body, allowed in routes(ctx):
        for who, tok in ctx["t"].items():
            st, resp = outcome(d, method, path, body, tok)
            if who in ("none", "unknown"):
                want = "401"
            elif who not in allowed:
                want = "403"
            else:
                want = "ok"
            got = "401" if st == 401 else "403" if st == 403 else "ok"
            # An allowed token may still be refused for its data (another agency,
            # another precinct), but never with 401, and never let into another's.
            if want == "ok" and got == "403" and who in ("commander_p1", "other_admin"):
                continue
            if got != want:
                failures.append((method, path, who, st, resp))
    expect_eq(failures, [], "route x token outcomes that differ from API.md's role table")


# What a region reader of a region GT shares counts with may read of GT
# (agency=GT): the counting routes; never incident rows, writes, HR or units.
REGION_OK = ("/v1/cube", "/v1/compstat", "/v1/hotspots", "/v1/precincts", "/v1/offenses",
             "/v1/agencies/GT", "/v1/response-times", "/v1/categories")


def test_region_reader_matrix(ctx):
    d = ctx["d"]
    failures = []
    for method, path, body, _ in routes(ctx):
        with_agency = path + ("&" if "?" in path else "?") + "agency=GT"
        ok = method == "GET" and path.split("?")[0] in REGION_OK
        for who, want in (("RCA", "ok" if ok else "403"), ("R2", "403")):
            st, resp = outcome(d, method, with_agency, body, ctx["region"][who])
            got = "401" if st == 401 else "403" if st == 403 else "ok" if st < 300 else str(st)
            if got != want:
                failures.append((who, method, with_agency, st, resp))
        # Without agency=: only the cube reads across the region; the others
        # ask which agency (422) or refuse the route (403).
        st, resp = outcome(d, method, path, body, ctx["region"]["RCA"])
        rows = method == "GET" and path.startswith("/v1/incidents")
        want = (200,) if method == "GET" and path in ("/v1/cube", "/v1/agencies/GT") else \
            (422,) if ok or rows else (403,)
        if st not in want:
            failures.append(("RCA, no agency", method, path, st, resp))
    expect_eq(failures, [], "region reader outcomes")
    # What it reads is GT's, counted the same as GT's own answer.
    st, _, mine = d.request("GET", "/v1/cube?by=precinct", None, ctx["t"]["admin"])
    st, _, theirs = d.request("GET", "/v1/cube?by=precinct&agency=GT", None, ctx["region"]["RCA"])
    expect_eq((st, theirs["cells"]), (200, mine["cells"]))


def test_stream_no_leaks(ctx):
    """Live streams: the scoped token's stream carries only A-1, another
    agency's admin's stream nothing of this agency."""
    d, t = ctx["d"], ctx["t"]
    scoped = SSE(d.port, "/v1/stream", t["commander_p1"])
    other = SSE(d.port, "/v1/stream", t["other_admin"])
    for s in (scoped, other):
        expect_eq(s.status, 200, "stream opens")
        s.until("ready")
    incs = [{"source": "acc3", "external_id": "s%d" % i, "offense": "ROB",
             "location": {"lat": lat, "lon": lon}, "occurred_at": "2026-11-22T10:00:00Z"}
            for i, (lat, lon) in enumerate(((14.63, -90.49), (10.0, -80.0), (14.63, -90.51)))]
    st, _, body = d.request("POST", "/v1/incidents", incs, t["admin"])
    expect_eq((st, body["accepted"]), (200, 3))
    seen = []
    while True:
        kind, data, _ = scoped.next()
        seen.append((kind, data.get("precinct") if kind == "cube" else
                     data["incident"]["precinct"]))
        if kind == "cube" and len([x for x in seen if x[0] == "cube"]) == 1:
            break
    expect_eq(seen, [("incident", "A-1"), ("cube", "A-1")], "scoped stream: A-1 only")
    try:
        ev = other.next(timeout=1.0)
    except TimeoutError:
        ev = None
    expect_eq(ev, None, "another agency's stream stays silent")
    scoped.close()
    other.close()


def test_no_leaks(ctx):
    d, t = ctx["d"], ctx["t"]
    # The scoped token: only A-1, never A-2 or the unassigned, in every answer.
    st, _, body = d.request("GET", "/v1/incidents?limit=1000", None, t["commander_p1"])
    expect_eq({x["precinct"] for x in body["incidents"]}, {"A-1"})
    st, _, body = d.request("GET", "/v1/cube", None, t["commander_p1"])
    st2, _, full = d.request("GET", "/v1/cube?by=precinct", None, t["admin"])
    p1 = sum(c["count"] for c in full["cells"] if c["precinct"] == "A-1")
    expect_eq(body["total"], p1, "the scoped total counts only its precinct")
    st, _, body = d.request("GET", "/v1/hotspots?method=count", None, t["commander_p1"])
    expect_eq(sum(f["properties"]["count"] for f in body["features"]), p1, "hotspots too")
    st, _, body = d.request("GET", "/v1/precincts", None, t["commander_p1"])
    expect_eq([p["code"] for p in body["precincts"]], ["A-1"])
    # Exports too.
    st, _, raw = d.request("GET", "/v1/incidents?format=csv&limit=1000", None, t["commander_p1"],
                           raw=True)
    rows = [line.split(",") for line in raw.decode().strip().split("\r\n")[1:]]
    expect_eq({r[7] for r in rows}, {"A-1"}, "CSV export of a scoped token")
    st, _, body = d.request("GET", "/v1/incidents?format=geojson&limit=1000", None,
                            t["commander_p1"])
    expect_eq({f["properties"]["precinct"] for f in body["features"]}, {"A-1"}, "GeoJSON export")
    st, _, raw = d.request("GET", "/v1/cube?by=precinct&format=csv", None, t["commander_p1"],
                           raw=True)
    lines = raw.decode().strip().split("\r\n")
    expect_eq([l.split(",")[0] for l in lines[1:]], ["A-1"], "cube CSV of a scoped token")
    # Another agency sees nothing of this one.
    oa = t["other_admin"]
    st, _, body = d.request("GET", "/v1/incidents?limit=1000", None, oa)
    expect_eq(body["incidents"], [], "other agency's list")
    st, _, raw = d.request("GET", "/v1/incidents?format=csv", None, oa, raw=True)
    expect_eq(len(raw.decode().strip().split("\r\n")), 1, "other agency's CSV: the header only")
    st, _, body = d.request("GET", "/v1/cube", None, oa)
    expect_eq(body["total"], 0, "other agency's cube total")
    st, _, body = d.request("GET", "/v1/precincts", None, oa)
    expect_eq(body["precincts"], [], "other agency's precincts")
    st, _, body = d.request("GET", "/v1/compstat", None, oa)
    expect_eq(st, 200)
    expect(all(r["week"]["current"] == 0 and r["ytd"]["current"] == 0 for r in body["rows"]),
           "other agency's COMPSTAT")
    st, _, _ = d.request("GET", "/v1/incidents/%d" % ctx["id"], None, oa)
    expect_eq(st, 404, "another agency's incident by id")
    st, _, _ = d.request("PATCH", "/v1/incidents/acc/p1-1", {"priority": 1}, oa)
    expect_eq(st, 404, "another agency cannot patch")


if __name__ == "__main__":
    run([test_route_role_matrix, test_region_reader_matrix, test_stream_no_leaks, test_no_leaks],
        setup, teardown)
