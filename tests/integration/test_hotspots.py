#!/usr/bin/env python3
"""Hotspots end to end: the study area is the cells whose centre PostGIS
says lies inside the chosen precincts, each returned cell's count equals
PostGIS counting the same incidents inside the same cell polygon, and Gi*
follows DESIGN.md's formula on the returned lattice. First on synthetic
data, then on the real Chicago aggravated assaults and district boundaries
loaded through tools/import (data/demo/chicago, see PROVENANCE.md)."""
import json
import math
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa

CHICAGO = os.path.join(SRC, "data", "demo", "chicago")


def setup():
    ci = fresh_db("hotspots")
    d = Daemon(ci)
    d.wait_ready()
    return {"ci": ci, "d": d}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def gi_reference(cells):
    """DESIGN.md's Gi* on the returned lattice: {(ix, iy): x} -> {(ix, iy): z}."""
    n = len(cells)
    xs = list(cells.values())
    mean = sum(xs) / n
    s = math.sqrt(max(sum(x * x for x in xs) / n - mean * mean, 0.0))
    out = {}
    for (ix, iy) in cells:
        nb = [cells[(ix + dx, iy + dy)] for dx in (-1, 0, 1) for dy in (-1, 0, 1)
              if (ix + dx, iy + dy) in cells]
        w = len(nb)
        den = s * math.sqrt((n * w - w * w) / (n - 1)) if n > 1 else 0
        out[(ix, iy)] = (sum(nb) - mean * w) / den if den > 0 else 0.0
    return out


def check_area_and_counts(ctx, tok, precincts, frm, to, extra="", sql_extra=""):
    d, ci = ctx["d"], ctx["ci"]
    q = "/v1/hotspots?method=gi&include_empty=true&precinct=%s&from=%s&to=%s%s" % (
        ",".join(precincts), frm, to, extra)
    st, _, body = d.request("GET", q, None, tok)
    expect_eq(st, 200, q)
    expect_eq(body["type"], "FeatureCollection")
    feats = body["features"]
    expect_eq(len(feats), body["study_area_cells"], "include_empty returns the whole area")
    cells, rows = {}, []
    for f in feats:
        ring = f["geometry"]["coordinates"][0]
        w, s_, e, n = ring[0][0], ring[0][1], ring[2][0], ring[2][1]
        ix, iy = map(int, f["properties"]["cell"].split(","))
        cells[(ix, iy)] = f["properties"]["count"]
        rows.append((ix, iy, w, s_, e, n, f["properties"]["count"]))
    # Counts: PostGIS counts the same incidents (chosen precincts, window,
    # crimes only) in each cell rectangle, west/south edges in, east/north out.
    values = ",".join("(%d,%d,%.17g,%.17g,%.17g,%.17g,%d)" % r for r in rows)
    bad = psql(ci, """
        WITH c(ix, iy, w, s, e, n, got) AS (VALUES %s)
        SELECT c.ix, c.iy, c.got, count(i.id) FROM c
        LEFT JOIN incidents i ON i.geom IS NOT NULL
          AND ST_X(i.geom) >= c.w AND ST_X(i.geom) < c.e
          AND ST_Y(i.geom) >= c.s AND ST_Y(i.geom) < c.n
          AND i.status NOT IN ('unfounded', 'cancelled')
          AND i.precinct_id IN (SELECT id FROM precincts WHERE code IN (%s))
          AND i.counted_at >= ('%s'::timestamp AT TIME ZONE 'America/Chicago')
          AND i.counted_at < ('%s'::timestamp AT TIME ZONE 'America/Chicago') %s
        GROUP BY c.ix, c.iy, c.got HAVING count(i.id) <> c.got""" % (
        values, ",".join("'%s'" % p for p in precincts), frm, to, sql_extra))
    expect_eq(bad, [], "cells whose count differs from PostGIS (ix, iy, got, postgis)")
    # Study area: every cell whose centre PostGIS covers with a chosen precinct.
    outside = psql(ci, """
        WITH c(ix, iy, w, s, e, n, got) AS (VALUES %s)
        SELECT c.ix, c.iy FROM c WHERE NOT EXISTS (SELECT 1 FROM precincts p
          WHERE p.code IN (%s) AND ST_Covers(p.boundary,
                ST_SetSRID(ST_MakePoint((c.w + c.e) / 2, (c.s + c.n) / 2), 4326)))""" % (
        values, ",".join("'%s'" % p for p in precincts)))
    expect_eq(outside, [], "returned cells whose centre lies outside the chosen precincts")
    total = sum(cells.values())
    want_total = int(scalar(ci, """SELECT count(*) FROM incidents i
        WHERE i.geom IS NOT NULL AND i.status NOT IN ('unfounded', 'cancelled')
          AND i.precinct_id IN (SELECT id FROM precincts WHERE code IN (%s))
          AND i.counted_at >= ('%s'::timestamp AT TIME ZONE 'America/Chicago')
          AND i.counted_at < ('%s'::timestamp AT TIME ZONE 'America/Chicago')""" % (
        ",".join("'%s'" % p for p in precincts), frm, to)))
    expect(total <= want_total, "cells count no incident twice")
    ref = gi_reference(cells)
    worst = max((abs(f["properties"]["z"] - ref[tuple(map(int, f["properties"]["cell"].split(",")))])
                 for f in feats), default=0)
    expect(worst < 1e-9, "Gi* differs from the formula by %g" % worst)
    return body


def test_synthetic(ctx):
    d, ci = ctx["d"], ctx["ci"]
    admin = token(ci, "admin", "SYN")
    expect_eq(d.request("PUT", "/v1/agencies/SYN", {"name": "syn", "time_zone": "America/Chicago"},
                        admin)[0], 200)
    # Two precincts, one a concave L, side by side.
    l_shape = {"type": "Polygon", "coordinates": [[[-87.70, 41.80], [-87.66, 41.80], [-87.66, 41.82],
                                                   [-87.68, 41.82], [-87.68, 41.84],
                                                   [-87.70, 41.84], [-87.70, 41.80]]]}
    square = {"type": "Polygon", "coordinates": [[[-87.66, 41.80], [-87.63, 41.80], [-87.63, 41.83],
                                                  [-87.66, 41.83], [-87.66, 41.80]]]}
    for code, poly in (("S-1", l_shape), ("S-2", square)):
        expect_eq(d.request("PUT", "/v1/precincts/" + code, {"name": code, "boundary": poly},
                            admin)[0], 201)
    for oc, cat in (("AA", "felony_assault"), ("RB", "robbery")):
        expect_eq(d.request("PUT", "/v1/offenses/" + oc, {"name": oc, "category": cat}, admin)[0],
                  201)
    r = random.Random(7)
    batch = []
    for i in range(3000):
        # A hot cluster in S-1 plus background noise over both.
        if i % 3 == 0:
            lat, lon = 41.805 + r.gauss(0, 0.002), -87.695 + r.gauss(0, 0.002)
        else:
            lat, lon = 41.80 + r.random() * 0.04, -87.70 + r.random() * 0.07
        batch.append({"source": "syn", "external_id": str(i), "offense": r.choice(["AA", "RB"]),
                      "location": {"lat": lat, "lon": lon},
                      "occurred_at": "2026-%02d-%02dT%02d:00:00-06:00" % (
                          r.randint(1, 10), r.randint(1, 28), r.randint(0, 23)),
                      "status": "unfounded" if i % 17 == 0 else "cleared"})
    st, _, body = d.request("POST", "/v1/incidents", batch, admin)
    expect_eq((st, body["rejected"]), (200, 0))
    commander = token(ci, "commander", "SYN")
    body = check_area_and_counts(ctx, commander, ["S-1"], "2026-01-01", "2026-07-01")
    hot = [f for f in body["features"] if f["properties"]["class"].startswith("hot")]
    expect(hot, "the planted cluster is a hotspot")
    check_area_and_counts(ctx, commander, ["S-1", "S-2"], "2026-03-01", "2026-11-01",
                          "&cell_m=300")
    check_area_and_counts(ctx, commander, ["S-2"], "2026-01-01", "2027-01-01",
                          "&category=robbery",
                          "AND i.offense_id IN (SELECT id FROM offenses WHERE category = 'robbery')")
    # The count method (counted cells only) agrees with the whole-area answer.
    for area in ("precinct=S-1,S-2", "bbox=-87.69,41.805,-87.64,41.835"):
        q = "/v1/hotspots?%s&from=2026-02-01&to=2026-09-01" % area
        st, _, whole = d.request("GET", q + "&method=gi&include_empty=true", None, commander)
        st2, _, counted = d.request("GET", q + "&method=count", None, commander)
        expect_eq((st, st2), (200, 200), q)
        want = {f["properties"]["cell"]: f["properties"]["count"] for f in whole["features"]
                if f["properties"]["count"] > 0}
        got = {f["properties"]["cell"]: f["properties"]["count"] for f in counted["features"]}
        expect_eq(got, want, "method=count on " + area)
    # count method, limit, filters, errors
    st, _, body = d.request("GET", "/v1/hotspots?method=count&limit=5&precinct=S-1", None,
                            commander)
    counts = [f["properties"]["count"] for f in body["features"]]
    expect_eq(counts, sorted(counts, reverse=True), "top cells first")
    expect(len(counts) == 5 and "z" not in body["features"][0]["properties"], "count method")
    st, _, fdr = d.request("GET", "/v1/hotspots?precinct=S-1&fdr=true&include_empty=true", None,
                           commander)
    st2, _, raw = d.request("GET", "/v1/hotspots?precinct=S-1&include_empty=true", None, commander)
    sig = lambda b: sum(1 for f in b["features"] if f["properties"]["class"] != "none")  # noqa
    expect(sig(fdr) <= sig(raw), "FDR correction never adds significant cells")
    for q, field in (("cell_m=150", "cell_m"), ("method=kde", "method"),
                     ("from=2026-01-01T10:00:00Z", "from"), ("precinct=NOPE", "precinct"),
                     ("bbox=1,2,3", "bbox"), ("precinct=S-1&bbox=-88,41,-87,42", "bbox"),
                     ("include_empty=yes", "include_empty")):
        st, _, body = d.request("GET", "/v1/hotspots?" + q, None, commander)
        expect_eq((st, body["error"]["field"]), (422, field), q)
    scoped = token(ci, "commander", "SYN", "S-2")
    st, _, _ = d.request("GET", "/v1/hotspots?precinct=S-1", None, scoped)
    expect_eq(st, 403)
    st, _, body = d.request("GET", "/v1/hotspots?method=count&include_empty=true", None, scoped)
    expect_eq(st, 200)
    # bbox study area
    st, _, body = d.request("GET", "/v1/hotspots?bbox=-87.69,41.81,-87.67,41.83&method=count",
                            None, commander)
    expect_eq(st, 200)
    for f in body["features"]:
        ring = f["geometry"]["coordinates"][0]
        cx, cy = (ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2
        expect(-87.69 <= cx <= -87.67 and 41.81 <= cy <= 41.83, "bbox study area")


def test_chicago_real_data(ctx):
    d, ci = ctx["d"], ctx["ci"]
    admin = token(ci, "admin", "CPD")
    env = dict(os.environ, COMPSTATD_URL="http://127.0.0.1:%d" % d.port, COMPSTATD_TOKEN=admin)
    tool = os.path.join(SRC, "tools", "import")

    def imp(*args):
        out = subprocess.run([tool, *args], capture_output=True, text=True, env=env, timeout=900)
        expect_eq(out.returncode, 0, "tools/import %s: %s" % (args[0], out.stderr[-2000:]))
    imp("agency", "CPD", "--name", "Chicago Police Department", "--time-zone", "America/Chicago")
    imp("precincts", os.path.join(CHICAGO, "police_districts.zip.geojson"), "--agency", "CPD",
        "--code-property", "dist_num", "--code-prefix", "CPD-")
    imp("chicago-assaults", os.path.join(CHICAGO, "chicago_aggravated_assaults.csv.gz"),
        "--limit", os.environ.get("COMPSTAT_TEST_CHICAGO_ROWS", "40000"))
    districts = [r[0] for r in psql(ci, "SELECT code FROM precincts WHERE code LIKE 'CPD-%'"
                                        " ORDER BY code")]
    expect(len(districts) >= 20, "Chicago districts loaded", districts)
    span = psql(ci, "SELECT min(counted_at)::date, max(counted_at)::date FROM incidents"
                    " WHERE source = 'cpd'")[0]
    frm = span[0]
    commander = token(ci, "commander", "CPD")
    body = check_area_and_counts(ctx, commander, districts[:3], frm, "2020-01-01")
    expect(any(f["properties"]["count"] > 0 for f in body["features"]), "assaults counted")


if __name__ == "__main__":
    run([test_synthetic, test_chicago_real_data], setup, teardown)
