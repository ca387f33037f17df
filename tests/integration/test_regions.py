#!/usr/bin/env python3
"""Regions and sharing agreements (issue 18, items 5 and 6).

Three agencies and a region. CR shares incident rows of ICCS 04 and 05 with
the region at 500 m; HN shares counts of its robberies at 1000 m; GT shares
nothing. A region reader (compstat-admin token create --region RCA --role
analyst) reads with agency= or across the region: in every route and format
it never sees GT, an unshared offense, an incident row from HN, an exact
location, an address or a unit; cube answers equal SQL over the shared rows
(populations summed in SQL); a revoked or narrowed agreement holds from the
very next request; every read is in the audit trail with the region and the
agencies it returned, and each agency's admin lists who read its data."""
import csv
import io
import math
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN, SSE, Daemon, expect, expect_eq, fresh_db, psql, run, scalar,  # noqa: E402
                     token)

R = 6371008.8


def square(lon, lat, d=0.02):
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d],
                                                [lon, lat + d], [lon, lat]]]}


def admin_cli(ci, *args):
    return subprocess.run([ADMIN, *args, "--database", ci], capture_output=True, text=True)


def region_token(ci, region, role="analyst"):
    out = admin_cli(ci, "token", "create", "--region", region, "--role", role)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return out.stdout.strip()


AGENCIES = {
    # code: (zone, origin, offenses {code: (category, iccs)})
    "CR": ("America/Costa_Rica", (-84.10, 9.92),
           {"ROB": ("robbery", "0401"), "HUR": ("theft", "0502"), "HOM": ("homicide", "0101")}),
    "HN": ("America/Tegucigalpa", (-87.22, 14.08),
           {"ROB": ("robbery", "0401"), "ASL": ("assault", "0201")}),
    "GT": ("America/Guatemala", (-90.52, 14.62), {"ROB": ("robbery", "0401")}),
}
SHARED = {"CR": {"ROB", "HUR"}, "HN": {"ROB"}}
COUNTED = ("SELECT count(*) FROM incidents i JOIN offenses o ON o.id = i.offense_id"
           " JOIN agencies a ON a.id = i.agency_id"
           " WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled') AND a.code = :'p1'"
           " AND o.code = ANY(:'p2'::text[])")


def setup():
    ci = fresh_db("regions")
    d = Daemon(ci)
    d.wait_ready()
    ctx = {"ci": ci, "d": d, "admin": {}, "exact": {}}
    for code, (zone, (lon, lat), offenses) in AGENCIES.items():
        adm = token(ci, "admin", code)
        ctx["admin"][code] = adm
        expect_eq(d.request("PUT", "/v1/agencies/" + code, {"name": code, "time_zone": zone},
                            adm)[0], 200)
        for i in (1, 2):
            expect_eq(d.request("PUT", "/v1/precincts/%s-%d" % (code, i),
                                {"name": "%s %d" % (code, i),
                                 "boundary": square(lon + (i - 1) * 0.02, lat),
                                 "populations": {"2026": 50000 * i + 7}}, adm)[0], 201)
        for oc, (cat, iccs) in offenses.items():
            expect_eq(d.request("PUT", "/v1/offenses/" + oc,
                                {"name": oc, "category": cat, "iccs": iccs}, adm)[0], 201)
        rnd = random.Random(code)
        incs = []
        for n in range(120):
            x, y = lon + rnd.random() * 0.04, lat + rnd.random() * 0.02
            incs.append({"source": "rg-" + code, "external_id": "%s-%d" % (code, n),
                         "offense": rnd.choice(sorted(offenses)), "address": "Calle %d" % n,
                         "location": {"lon": x, "lat": y}, "units": ["U%d" % (n % 3)],
                         "received_at": "2026-11-%02dT%02d:%02d:00Z" % (1 + n % 28, n % 24, n % 60),
                         "dispatched_at": "2026-11-%02dT%02d:%02d:30Z" % (1 + n % 28, n % 24, n % 60)})
        st, _, resp = d.request("POST", "/v1/incidents", incs, adm)
        expect_eq((st, resp["accepted"]), (200, len(incs)), resp)
        ctx["exact"][code] = {(i["location"]["lat"], i["location"]["lon"]) for i in incs}
    for args in (("region", "create", "RCA", "--name", "Red regional"),
                 ("region", "create", "OTRA", "--name", "Otra región")):
        out = admin_cli(ci, *args)
        expect_eq(out.returncode, 0, out.stderr)
    st, _, body = d.request("PUT", "/v1/sharing/RCA",
                            {"level": "incidents", "iccs": ["04", "05"], "location_precision_m": 500},
                            ctx["admin"]["CR"])
    expect_eq(st, 201, body)
    st, _, body = d.request("PUT", "/v1/sharing/RCA",
                            {"level": "counts", "categories": ["robbery"],
                             "location_precision_m": 1000}, ctx["admin"]["HN"])
    expect_eq(st, 201, body)
    ctx["reader"] = region_token(ci, "RCA")
    ctx["outsider"] = region_token(ci, "OTRA")
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def get(ctx, path, tok=None, raw=False):
    return ctx["d"].request("GET", path, None, tok or ctx["reader"], raw=raw)


def counted(ctx, agency, offenses):
    return int(scalar(ctx["ci"], COUNTED, agency, "{" + ",".join(sorted(offenses)) + "}"))


def test_admin_cli(ctx):
    ci = ctx["ci"]
    out = admin_cli(ci, "token", "create", "--region", "RCA", "--role", "analyst", "--agency", "CR")
    expect(out.returncode != 0 and "--agency" in out.stderr, "a region token has no agency", out.stderr)
    out = admin_cli(ci, "token", "create", "--region", "RCA", "--role", "admin")
    expect(out.returncode != 0 and "analyst" in out.stderr, "a region token is an analyst", out.stderr)
    out = admin_cli(ci, "token", "create", "--region", "NOPE", "--role", "analyst")
    expect(out.returncode != 0 and "NOPE" in out.stderr, "unknown region named", out.stderr)
    out = admin_cli(ci, "token", "create", "--agency", "CR", "--role", "analyst")
    expect(out.returncode != 0 and "--region" in out.stderr, "analyst needs --region", out.stderr)
    out = admin_cli(ci, "region", "create", "bad code!", "--name", "x")
    expect(out.returncode != 0, "a bad region code is refused")
    out = admin_cli(ci, "region", "list")
    expect_eq(out.returncode, 0, out.stderr)
    rows = {line.split("\t")[0]: line.split("\t") for line in out.stdout.strip().split("\n")[1:]}
    expect_eq(rows["RCA"][2], "CR:incidents,HN:counts", "region list: who shares")
    st, _, who = get(ctx, "/v1/whoami")
    expect_eq((st, who["role"], who["region"]["code"]), (200, "analyst", "RCA"), who)
    expect_eq([(s["agency"], s["level"]) for s in who["sharing"]],
              [("CR", "incidents"), ("HN", "counts")])


def test_agreement_validation(ctx):
    d, cr = ctx["d"], ctx["admin"]["CR"]
    before = psql(ctx["ci"], "SELECT * FROM sharing_agreements ORDER BY region_id, agency_id")
    cases = [
        ({"location_precision_m": 500}, 422, "level"),
        ({"level": "all", "location_precision_m": 500}, 422, "level"),
        ({"level": "counts"}, 422, "location_precision_m"),
        ({"level": "counts", "location_precision_m": 0}, 422, "location_precision_m"),
        ({"level": "counts", "location_precision_m": 2.5}, 422, "location_precision_m"),
        ({"level": "counts", "location_precision_m": 500, "iccs": ["04"],
          "categories": ["robbery"]}, 422, "categories"),
        ({"level": "counts", "location_precision_m": 500, "iccs": ["99"]}, 422, "iccs"),
        ({"level": "counts", "location_precision_m": 500, "iccs": []}, 422, "iccs"),
        ({"level": "counts", "location_precision_m": 500, "categories": ["arson"]}, 422,
         "categories"),
        ({"level": "counts", "location_precision_m": 500, "address": "yes"}, 422, "address"),
    ]
    for body, want, field in cases:
        st, _, resp = d.request("PUT", "/v1/sharing/OTRA", body, cr)
        expect_eq((st, resp["error"]["field"]), (want, field), body)
    st, _, resp = d.request("PUT", "/v1/sharing/NOPE", {"level": "counts",
                                                         "location_precision_m": 500}, cr)
    expect_eq(st, 404, resp)
    st, _, resp = d.request("GET", "/v1/sharing/OTRA", None, cr)
    expect_eq(st, 404, "no agreement yet")
    for tok, want in ((token(ctx["ci"], "commander", "CR"), 403), (ctx["reader"], 403),
                      (token(ctx["ci"], "admin", "CR", "CR-1"), 403)):
        st, _, resp = d.request("PUT", "/v1/sharing/OTRA",
                                {"level": "counts", "location_precision_m": 500}, tok)
        expect_eq(st, want, resp)
    expect_eq(psql(ctx["ci"], "SELECT * FROM sharing_agreements ORDER BY region_id, agency_id"),
              before, "nothing written")
    st, _, body = d.request("GET", "/v1/sharing/RCA", None, cr)
    expect_eq((st, body["level"], body["iccs"], body["location_precision_m"], body["address"]),
              (200, "incidents", ["04", "05"], 500, False), body)
    st, _, body = d.request("GET", "/v1/sharing", None, ctx["admin"]["GT"])
    expect_eq([(g["code"], g["agreement"]) for g in body["regions"]],
              [("OTRA", None), ("RCA", None)], body)


def dist_m(a, b):
    dy = (a[0] - b[0]) * math.pi / 180 * R
    dx = (a[1] - b[1]) * math.pi / 180 * R * math.cos(a[0] * math.pi / 180)
    return math.hypot(dx, dy)


def check_rows(ctx, rows, label):
    """Rows from CR: shared offenses only, no address, no units, no exact place."""
    exact = ctx["exact"]["CR"]
    expect(rows, label + ": some rows")
    for row in rows:
        expect(row["offense"] in SHARED["CR"], label + ": unshared offense", row)
        expect(not row.get("address"), label + ": an address", row)
        expect(not row.get("units"), label + ": units", row)
        loc = (row["lat"], row["lon"])
        expect(loc not in exact, label + ": an exact location", row)
        near = min(dist_m(loc, e) for e in exact)
        expect(near <= 500 / math.sqrt(2) + 1, label + ": moved further than its cell", row, near)


def test_rows_from_incidents_agreement(ctx):
    st, _, body = get(ctx, "/v1/incidents?agency=CR&limit=1000")
    expect_eq(st, 200, body)
    want = counted(ctx, "CR", SHARED["CR"])
    expect_eq(len(body["incidents"]), int(scalar(
        ctx["ci"], "SELECT count(*) FROM incidents i JOIN offenses o ON o.id = i.offense_id"
        " JOIN agencies a ON a.id = i.agency_id WHERE a.code = 'CR' AND o.code IN ('ROB', 'HUR')")),
        "every shared row, and only those")
    expect(want > 0)
    check_rows(ctx, [dict(x, lat=x["location"]["lat"], lon=x["location"]["lon"])
                     for x in body["incidents"]], "JSON")
    st, _, gj = get(ctx, "/v1/incidents?agency=CR&limit=1000&format=geojson")
    check_rows(ctx, [dict(f["properties"], lon=f["geometry"]["coordinates"][0],
                          lat=f["geometry"]["coordinates"][1]) for f in gj["features"]], "GeoJSON")
    st, _, raw = get(ctx, "/v1/incidents?agency=CR&limit=1000&format=csv", raw=True)
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    check_rows(ctx, [dict(r, lat=float(r["lat"]), lon=float(r["lon"]), units=r["units"])
                     for r in rows], "CSV")
    one = body["incidents"][0]
    st, _, inc = get(ctx, "/v1/incidents/%d?agency=CR" % one["id"])
    expect_eq(st, 200, inc)
    check_rows(ctx, [dict(inc, lat=inc["location"]["lat"], lon=inc["location"]["lon"])], "by id")
    hom = scalar(ctx["ci"], "SELECT i.id FROM incidents i JOIN offenses o ON o.id = i.offense_id"
                 " JOIN agencies a ON a.id = i.agency_id WHERE a.code = 'CR' AND o.code = 'HOM'"
                 " LIMIT 1")
    st, _, _ = get(ctx, "/v1/incidents/%s?agency=CR" % hom)
    expect_eq(st, 404, "an unshared offense's incident does not exist for the reader")
    for q, field in (("offense=HOM", "offense"), ("category=homicide", "category"),
                     ("bbox=-85,9,-83,11", "bbox")):
        st, _, resp = get(ctx, "/v1/incidents?agency=CR&" + q)
        expect_eq((st, resp["error"]["field"]), (422, field), q)
    st, _, body = get(ctx, "/v1/offenses?agency=CR")
    expect_eq(sorted(o["code"] for o in body["offenses"]), sorted(SHARED["CR"]))


def test_route_matrix(ctx):
    """Every route x agency for the region reader: what answers, what is refused."""
    cid = scalar(ctx["ci"], "SELECT i.id FROM incidents i JOIN agencies a ON a.id = i.agency_id"
                 " JOIN offenses o ON o.id = i.offense_id WHERE a.code = 'HN' AND o.code = 'ROB'"
                 " LIMIT 1")
    reads = ["/v1/cube", "/v1/cube?format=csv", "/v1/compstat", "/v1/hotspots",
             "/v1/response-times?by=precinct", "/v1/precincts", "/v1/offenses",
             "/v1/areas", "/v1/whoami"]
    rows = ["/v1/incidents", "/v1/incidents?format=csv", "/v1/incidents?format=geojson",
            "/v1/incidents/%s" % cid]
    never = ["/v1/reports/workload", "/v1/units", "/v1/officers", "/v1/shifts", "/v1/sharing",
             "/v1/audit"]
    failures = []

    def check(method, path, body, tok, want):
        st, _, resp = ctx["d"].request(method, path, body, tok)
        if st != want:
            failures.append((method, path, st, want, resp))

    def q(path, agency):
        return path + ("&" if "?" in path else "?") + "agency=" + agency

    for p in reads:
        # HN shares some offenses: response times (over every call) are refused.
        check("GET", q(p, "CR"), None, ctx["reader"], 403 if "response" in p else 200)
        check("GET", q(p, "HN"), None, ctx["reader"], 403 if "response" in p else 200)
        check("GET", q(p, "GT"), None, ctx["reader"], 403)
        check("GET", q(p, "XX"), None, ctx["reader"], 403)
        check("GET", q(p, "CR"), None, ctx["outsider"], 403)
    for p in rows:
        check("GET", q(p, "HN"), None, ctx["reader"], 403)  # counts: no row in any format
        check("GET", q(p, "GT"), None, ctx["reader"], 403)
    for p in never:
        check("GET", q(p, "CR"), None, ctx["reader"], 403)
    check("GET", "/v1/incidents", None, ctx["reader"], 422)   # which agency?
    check("GET", "/v1/compstat", None, ctx["reader"], 422)
    check("GET", "/v1/cube", None, ctx["reader"], 200)        # across the region
    check("GET", "/v1/agencies/CR", None, ctx["reader"], 200)
    check("GET", "/v1/agencies/GT", None, ctx["reader"], 404)
    inc = {"source": "x", "external_id": "1", "offense": "ROB", "precinct": "CR-1",
           "occurred_at": "2026-11-21T10:00:00Z"}
    check("POST", "/v1/incidents?agency=CR", inc, ctx["reader"], 403)
    check("PUT", "/v1/offenses/NEW?agency=CR", {"name": "n", "category": "x"}, ctx["reader"], 403)
    check("PUT", "/v1/sharing/RCA?agency=CR", {"level": "counts", "location_precision_m": 1},
          ctx["reader"], 403)
    check("PUT", "/v1/units/U9?agency=CR", {"type": "car"}, ctx["reader"], 403)
    expect_eq(failures, [], "region reader outcomes")
    s = SSE(ctx["d"].port, "/v1/stream?agency=CR", ctx["reader"])
    expect_eq(s.status, 403, "no live stream for region readers")
    s.close()


def test_counts_and_hotspots(ctx):
    st, _, body = get(ctx, "/v1/cube?agency=HN&by=category")
    expect_eq(st, 200, body)
    expect_eq([c["category"] for c in body["cells"]], ["robbery"], "HN's shared category only")
    expect_eq(body["total"], counted(ctx, "HN", SHARED["HN"]))
    st, _, sheet = get(ctx, "/v1/compstat?agency=HN&week_ending=2026-11-29")
    expect_eq(st, 200, sheet)
    expect_eq([r["category"] for r in sheet["rows"]], ["robbery", "total"], "sheet rows")
    st, _, hs = get(ctx, "/v1/hotspots?agency=HN&method=count&from=2026-10-01&to=2026-12-31")
    expect_eq(st, 200, hs)
    expect(hs["cell_m"] >= 1000, "cells no finer than the agreed 1000 m", hs["cell_m"])
    # The same cells as the agency's own question about its shared offense.
    st, _, own = ctx["d"].request("GET", "/v1/hotspots?method=count&from=2026-10-01&to=2026-12-31"
                                  "&offense=ROB&cell_m=%d" % hs["cell_m"], None, ctx["admin"]["HN"])
    expect_eq(st, 200, own)
    expect_eq(hs["features"], own["features"], "hotspots of the shared offense only")
    expect(sum(f["properties"]["count"] for f in hs["features"]) > 0)
    st, _, resp = get(ctx, "/v1/hotspots?agency=HN&cell_m=150")
    expect_eq((st, resp["error"]["field"]), (422, "cell_m"))
    st, _, resp = get(ctx, "/v1/cube?agency=HN&offense=ASL")
    expect_eq((st, resp["error"]["field"]), (422, "offense"), "an unshared code is unknown")


def test_cube_across_the_region(ctx):
    st, _, body = get(ctx, "/v1/cube?by=agency,category&rates=true")
    expect_eq(st, 200, body)
    expect_eq(body["agencies"], ["CR", "HN"])
    got = {(c["agency"], c["category"]): c["count"] for c in body["cells"]}
    want = {}
    for a, offs in SHARED.items():
        for oc in offs:
            cat = AGENCIES[a][2][oc][0]
            want[(a, cat)] = want.get((a, cat), 0) + counted(ctx, a, {oc})
    expect_eq(got, {k: v for k, v in want.items() if v}, "by agency and category = SQL")
    pops = {a: int(scalar(ctx["ci"], "SELECT sum(y.population) FROM precinct_populations y"
                                     " JOIN precincts p ON p.id = y.precinct_id"
                                     " JOIN agencies a ON a.id = p.agency_id"
                                     " WHERE a.code = :'p1' AND y.year = 2026", a)) for a in SHARED}
    for c in body["cells"]:
        expect_eq(c["population"], pops[c["agency"]], "agency population = SQL")
        expect_eq(c["rate_per_100k"], round(c["count"] / pops[c["agency"]] * 1e5 + 1e-9, 2))
    st, _, body = get(ctx, "/v1/cube?by=iccs&iccs_level=1&rates=true")
    expect_eq(st, 200, body)
    cr04 = counted(ctx, "CR", {"ROB"}) + counted(ctx, "HN", {"ROB"})
    got = {c["iccs"]: c for c in body["cells"]}
    expect_eq(got["04"]["count"], cr04, "regional ICCS 04 = the sum of both agencies")
    expect_eq(got["05"]["count"], counted(ctx, "CR", {"HUR"}))
    expect_eq(set(got), {"04", "05"}, "nothing unshared across the region")
    expect_eq(got["04"]["population"], sum(pops.values()), "regional population = SQL sum")
    expect_eq(body["total"], cr04 + counted(ctx, "CR", {"HUR"}))
    st, _, body = get(ctx, "/v1/cube?by=agency,precinct")
    expect_eq(st, 200, body)
    expect(all(c["precinct"].startswith(c["agency"]) for c in body["cells"]), "precincts by agency")
    for q, field in (("by=precinct", "by"), ("by=offense", "by"), ("precinct=CR-1", "precinct"),
                     ("category=robbery", "category"), ("offense=ROB", "offense")):
        st, _, resp = get(ctx, "/v1/cube?" + q)
        expect_eq((st, resp["error"]["field"]), (422, field), q)
    st, _, raw = get(ctx, "/v1/cube?by=agency,iccs&format=csv", raw=True)
    lines = raw.decode().strip().split("\r\n")
    expect_eq(lines[0], "agency,iccs,count")
    expect_eq({l.split(",")[0] for l in lines[1:]}, {"CR", "HN"})
    st, _, body = get(ctx, "/v1/cube?by=agency", ctx["outsider"])
    expect_eq(st, 403, "a region nobody shares with")


def test_revocation_on_the_next_request(ctx):
    d, cr = ctx["d"], ctx["admin"]["CR"]
    expect_eq(get(ctx, "/v1/incidents?agency=CR&limit=1")[0], 200)
    st, _, _ = d.request("DELETE", "/v1/sharing/RCA", None, cr)
    expect_eq(st, 204)
    st, _, resp = get(ctx, "/v1/incidents?agency=CR&limit=1")
    expect_eq((st, resp["error"]["field"]), (403, "agency"), "revoked: refused at once")
    st, _, body = get(ctx, "/v1/cube?by=agency")
    expect_eq(body["agencies"], ["HN"], "the region's cube leaves CR out at once")
    st, _, _ = d.request("DELETE", "/v1/sharing/RCA", None, cr)
    expect_eq(st, 404, "nothing left to revoke")
    # Shared again, narrower: counts only.
    st, _, body = d.request("PUT", "/v1/sharing/RCA", {"level": "counts", "iccs": ["04"],
                                                       "location_precision_m": 500}, cr)
    expect_eq(st, 201, body)
    expect_eq(get(ctx, "/v1/incidents?agency=CR&limit=1")[0], 403, "counts: no rows")
    st, _, body = get(ctx, "/v1/cube?agency=CR&by=offense")
    expect_eq([c["offense"] for c in body["cells"]], ["ROB"], "narrowed at once")
    st, _, body = d.request("PUT", "/v1/sharing/RCA", {"level": "incidents", "iccs": ["04", "05"],
                                                       "location_precision_m": 500}, cr)
    expect_eq(st, 200, body)


def test_revocation_reaches_another_daemon(ctx):
    """A second compstatd on the same database hears of the revocation (compstat_sharing)."""
    other = Daemon(ctx["ci"])
    try:
        other.wait_ready()
        path = "/v1/cube?agency=CR&by=offense"
        expect_eq(other.request("GET", path, None, ctx["reader"])[0], 200, "cached there now")
        st, _, _ = ctx["d"].request("DELETE", "/v1/sharing/RCA", None, ctx["admin"]["CR"])
        expect_eq(st, 204)
        deadline, st = time.time() + 5, 200
        while st == 200 and time.time() < deadline:
            st = other.request("GET", path, None, ctx["reader"])[0]
            time.sleep(0.02)
        expect_eq(st, 403, "the other daemon refuses within the notification's delay")
    finally:
        st, _, body = ctx["d"].request("PUT", "/v1/sharing/RCA",
                                       {"level": "incidents", "iccs": ["04", "05"],
                                        "location_precision_m": 500}, ctx["admin"]["CR"])
        expect_eq(st, 201, body)
        expect_eq(other.stop(), 0)


def test_audit_across_the_border(ctx):
    d = ctx["d"]
    marker = "audit-%d" % random.randrange(1 << 30)
    st, _, _ = d.request("GET", "/v1/cube?agency=HN&by=category", None, ctx["reader"],
                         headers={"X-Request-Id": marker + "-hn"})
    expect_eq(st, 200)
    st, _, _ = d.request("GET", "/v1/cube?by=agency", None, ctx["reader"],
                         headers={"X-Request-Id": marker + "-all"})
    expect_eq(st, 200)
    st, _, _ = d.request("GET", "/v1/incidents?agency=CR&limit=2", None, ctx["reader"],
                         headers={"X-Request-Id": marker + "-cr"})
    expect_eq(st, 200)
    reader_id = int(scalar(ctx["ci"], "SELECT id FROM api_tokens WHERE token_hash = "
                                      "encode(sha256(convert_to(:'p1', 'UTF8')), 'hex')",
                           ctx["reader"]))

    def listed(agency, query=""):
        st, _, body = d.request("GET", "/v1/audit?limit=1000" + query, None, ctx["admin"][agency])
        expect_eq(st, 200, body)
        return {r["request_id"]: r for r in body["records"]
                if (r["request_id"] or "").startswith(marker)}

    hn = listed("HN")
    expect_eq(sorted(hn), [marker + "-all", marker + "-hn"], "HN sees the reads of its data")
    rec = hn[marker + "-hn"]
    expect_eq((rec["reader"]["region"], rec["reader"]["agency"], rec["agencies"], rec["status"]),
              ("RCA", None, ["HN"], 200), rec)
    expect_eq(hn[marker + "-all"]["agencies"], ["CR", "HN"])
    cr = listed("CR")
    expect_eq(sorted(cr), [marker + "-all", marker + "-cr"], "CR sees its own")
    expect_eq(listed("GT"), {}, "GT shared nothing: no region read of it")
    expect_eq(sorted(listed("HN", "&reader=%d" % reader_id)), sorted(hn), "reader= filter")
    expect_eq(listed("HN", "&reader=%d" % (reader_id + 1000)), {}, "another reader")
    expect_eq(listed("HN", "&from=2100-01-01"), {}, "from= in the future")
    # Agreed with SQL: the records naming HN.
    n = int(scalar(ctx["ci"], "SELECT count(*) FROM audit_log WHERE request_id LIKE :'p1'"
                              " AND detail -> 'agencies' ? 'HN'", marker + "%"))
    expect_eq(n, 2)
    for tok in (ctx["reader"], token(ctx["ci"], "commander", "HN")):
        expect_eq(d.request("GET", "/v1/audit", None, tok)[0], 403)
    st, _, resp = d.request("GET", "/v1/audit?reader=abc", None, ctx["admin"]["HN"])
    expect_eq((st, resp["error"]["field"]), (422, "reader"))


PROGRAM_SQL = ("SELECT a.code, p.code, count(*) FROM incidents i JOIN offenses o ON o.id = i.offense_id"
               " JOIN agencies a ON a.id = i.agency_id JOIN precincts p ON p.id = i.precinct_id"
               " JOIN program_precincts pp ON pp.precinct_id = p.id"
               " JOIN programs g ON g.id = pp.program_id"
               " WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled') AND g.code = 'MODEL'"
               " AND ((a.code = 'CR' AND o.code IN ('ROB', 'HUR')) OR (a.code = 'HN' AND o.code = 'ROB'))"
               " GROUP BY 1, 2 ORDER BY 1, 2")


def test_programs_across_agencies(ctx):
    d, ci = ctx["d"], ctx["ci"]
    out = admin_cli(ci, "program", "create", "MODEL", "--region", "RCA", "--name",
                    "Delegaciones modelo")
    expect_eq(out.returncode, 0, out.stderr)
    for agency, codes in (("CR", ["CR-1"]), ("HN", ["HN-2"]), ("GT", ["GT-1"])):
        st, _, body = d.request("PUT", "/v1/programs/MODEL", {"precincts": codes},
                                ctx["admin"][agency])
        expect_eq((st, body["precincts"]), (200, codes), body)
    for body, want, field in (({"precincts": ["HN-1"]}, 422, "precincts"),
                              ({"precincts": "CR-1"}, 422, "precincts")):
        st, _, resp = d.request("PUT", "/v1/programs/MODEL", body, ctx["admin"]["CR"])
        expect_eq((st, resp["error"]["field"]), (want, field), body)
    st, _, resp = d.request("PUT", "/v1/programs/NOPE", {"precincts": []}, ctx["admin"]["CR"])
    expect_eq(st, 404, resp)
    st, _, body = get(ctx, "/v1/programs")
    expect_eq([(p["code"], p["precincts"]) for p in body["programs"]],
              [("MODEL", [{"agency": "CR", "precinct": "CR-1"},
                          {"agency": "HN", "precinct": "HN-2"}])],
              "the program as the region sees it: GT shares nothing, so none of it")
    st, _, body = d.request("GET", "/v1/programs", None, ctx["admin"]["GT"])
    expect_eq([(p["code"], p["region"], p["precincts"]) for p in body["programs"]],
              [("MODEL", "RCA", ["GT-1"])], "an agency sees its own enrolment")
    want = {(a, p): int(n) for a, p, n in psql(ci, PROGRAM_SQL)}
    st, _, body = get(ctx, "/v1/cube?program=MODEL&by=agency,precinct")
    expect_eq(st, 200, body)
    expect_eq({(c["agency"], c["precinct"]): c["count"] for c in body["cells"]}, want,
              "one geography over two agencies = SQL")
    st, _, body = get(ctx, "/v1/cube?program=MODEL")
    expect_eq((body["total"], body["agencies"]), (sum(want.values()), ["CR", "HN"]))
    st, _, a = get(ctx, "/v1/cube?agency=CR&program=MODEL&by=offense")
    st, _, b = get(ctx, "/v1/cube?agency=CR&precinct=CR-1&by=offense")
    expect_eq(a["cells"], b["cells"], "program= within an agency = its precincts")
    st, _, rows = get(ctx, "/v1/incidents?agency=CR&program=MODEL&limit=1000")
    expect_eq({x["precinct"] for x in rows["incidents"]}, {"CR-1"})
    st, _, sheet = get(ctx, "/v1/compstat?agency=HN&program=MODEL&week_ending=2026-11-29")
    st2, _, same = get(ctx, "/v1/compstat?agency=HN&precinct=HN-2&week_ending=2026-11-29")
    expect_eq((st, sheet["program"]), (200, "MODEL"), sheet)
    expect_eq(sheet["rows"], same["rows"], "the sheet of a program = that of its precincts")
    st, _, resp = d.request("GET", "/v1/cube?program=MODEL", None, ctx["admin"]["CR"])
    expect_eq((st, resp["error"]["field"]), (422, "program"), "program= is for region readers")
    st, _, resp = get(ctx, "/v1/cube?agency=CR&program=NOPE")
    expect_eq((st, resp["error"]["field"]), (422, "program"))
    # A precinct enrolled now is in the very next answer.
    st, _, _ = d.request("PUT", "/v1/programs/MODEL", {"precincts": ["CR-1", "CR-2"]},
                         ctx["admin"]["CR"])
    expect_eq(st, 200)
    st, _, body = get(ctx, "/v1/cube?program=MODEL&by=agency,precinct")
    expect_eq({(c["agency"], c["precinct"]) for c in body["cells"]},
              {("CR", "CR-1"), ("CR", "CR-2"), ("HN", "HN-2")})


if __name__ == "__main__":
    run([test_admin_cli, test_programs_across_agencies, test_agreement_validation, test_rows_from_incidents_agreement,
         test_route_matrix, test_counts_and_hotspots, test_cube_across_the_region,
         test_revocation_on_the_next_request, test_revocation_reaches_another_daemon,
         test_audit_across_the_border], setup, teardown)
