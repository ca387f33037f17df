#!/usr/bin/env python3
"""The Central American demo: OIJ Costa Rica 2023 through `tools/import costa-rica`.

The whole file (data/demo/costa_rica, 49,609 rows: about 17 s under ASan on
the 2-core machine, so no subset is needed) is imported into a fresh
daemon. Then every number is checked against figures computed here,
independently of the importer: from the CSV itself (Python csv + gzip), its
canton names mapped to IGN canton codes through the crosswalk file
(cr_oij_area_to_ign.csv), its Delito x SubDelito mapped to offense codes
through data/demo/costa_rica/iccs_map.csv; and against SQL on the incidents
table.

- GET /v1/cube by=precinct,offense over 2023 equals the CSV's count per
  canton and offense, the rows without a canton under "precinct": null; its
  unassigned count equals the CSV's unplaced rows and the importer's report;
  by hour of day it equals the start hours of the CSV's 3-hour bands;
- by=area&area_level=provincia equals SQL on the incidents table;
- rates=true: every population and rate (by precinct, by province, the
  agency) equals SQL sums over the precincts' populations, which are INEC's;
- precincts, areas and offenses are the files' (names with accents, ICCS
  codes of the list); no incident has a location, and hotspots show none;
- the COMPSTAT sheet of the agency counts the unassigned, a canton's does not;
- an incident with "precinct": null and no location is accepted and counted
  unassigned; with neither field it is 422 naming location;
- after a restart (cubes rebuilt from PostGIS) the cube still equals the CSV;
  re-importing a part of the file changes nothing.
"""
import csv
import gzip
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, Daemon, expect, expect_eq, fresh_db, psql, run, token  # noqa: E402

DIR = os.path.join(SRC, "data", "demo", "costa_rica")
ZONE = "America/Costa_Rica"
YEAR = {"from": "2023-01-01", "to": "2024-01-01"}


def read_csv(name, gz=False):
    path = os.path.join(DIR, name)
    f = gzip.open(path, "rt", encoding="utf-8", newline="") if gz else \
        open(path, encoding="utf-8", newline="")
    with f:
        return list(csv.DictReader(f))


def expected_from_csv():
    """Counts per (precinct code or None, offense code), per hour, and the
    unplaced rows per (Provincia, Canton), from the files alone."""
    crosswalk = {(r["Provincia"], r["Canton"], r["Distrito"]): r["ign2020_cod_canton_82"]
                 for r in read_csv("cr_oij_area_to_ign.csv")}
    offense = {(r["delito"], r["subdelito"]): r["offense"] for r in read_csv("iccs_map.csv")}
    cells, hours, unplaced = Counter(), Counter(), Counter()
    rows = read_csv("estadisticaspoliciales2023.csv.gz", gz=True)
    for r in rows:
        canton = crosswalk[(r["Provincia"], r["Canton"], r["Distrito"])]
        precinct = "CR-" + canton if canton else None
        if precinct is None:
            unplaced[(r["Provincia"], r["Canton"])] += 1
        cells[(precinct, offense[(r["Delito"], r["SubDelito"])])] += 1
        hours[int(r["Hora"][:2])] += 1
    return len(rows), cells, hours, unplaced


def setup():
    ci = fresh_db("demo_cr")
    admin = token(ci, "admin", "OIJ")
    d = Daemon(ci)
    d.wait_ready()
    ctx = {"ci": ci, "d": d, "admin": admin}
    ctx["rows"], ctx["cells"], ctx["hours"], ctx["unplaced"] = expected_from_csv()
    t0 = time.time()
    out = imp(ctx)
    ctx["import_s"] = time.time() - t0
    ctx["report"] = out.stdout
    print("import of %d rows: %.1f s" % (ctx["rows"], ctx["import_s"]), flush=True)
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def imp(ctx, *extra):
    env = dict(os.environ, COMPSTATD_URL="http://127.0.0.1:%d" % ctx["d"].port,
               COMPSTATD_TOKEN=ctx["admin"])
    out = subprocess.run([os.path.join(SRC, "tools", "import"), "costa-rica", DIR, *extra],
                         capture_output=True, text=True, env=env, timeout=600)
    expect_eq(out.returncode, 0, "tools/import costa-rica: %s %s" % (out.stdout, out.stderr))
    return out


def get(ctx, path, **q):
    st, _, body = ctx["d"].request("GET", path + ("?" + urlencode(q) if q else ""),
                                   tok=ctx["admin"])
    expect_eq(st, 200, "%s %r: %r" % (path, q, body))
    return body


def sql(ctx, text):
    return psql(ctx["ci"], text)


def agency_filter():
    return ("i.agency_id = (SELECT id FROM agencies WHERE code = 'OIJ')"
            " AND i.counted_at >= '2023-01-01'::timestamp AT TIME ZONE '%s'"
            " AND i.counted_at < '2024-01-01'::timestamp AT TIME ZONE '%s'"
            " AND i.status NOT IN ('unfounded', 'cancelled')" % (ZONE, ZONE))


def report_number(ctx, label):
    lines = [l for l in ctx["report"].splitlines() if l.strip().startswith(label)]
    expect(lines, "the importer's report has %r:\n%s" % (label, ctx["report"]))
    return int(lines[0].split(label, 1)[1].split()[0])


def test_reference_data(ctx):
    pops = {r["cod_canton"]: int(r["poblacion"]) for r in read_csv("poblacion-cantones-2022.csv")}
    with open(os.path.join(DIR, "cantones_ign_2020_82_wgs84.geojson"), encoding="utf-8") as f:
        layer = {str(x["properties"]["cod_canton"]): x["properties"]
                 for x in json.load(f)["features"]}
    got = {p["code"]: p for p in get(ctx, "/v1/precincts")["precincts"]}
    expect_eq(sorted(got), sorted("CR-" + c for c in layer), "the 82 cantons")
    for code, props in layer.items():
        p = got["CR-" + code]
        expect_eq((p["name"], p["population"], p["populations"]),
                  (props["canton"], pops[code], {"2022": pops[code]}), code)
    expect_eq(got["CR-101"]["name"], "San José", "names keep their accents")
    areas = get(ctx, "/v1/areas")["areas"]
    want = {}
    for code, props in layer.items():
        want.setdefault("CR-%d" % props["cod_provin"], (props["provincia"], []))[1].append(
            "CR-" + code)
    expect_eq({a["code"]: (a["name"], sorted(a["all_precincts"])) for a in areas},
              {k: (n, sorted(v)) for k, (n, v) in want.items()}, "the 7 provinces")
    expect_eq({a["level"] for a in areas}, {"provincia"})
    iccs = {c["code"] for c in get(ctx, "/v1/classifications/iccs")["codes"]}
    offenses = {o["code"]: o for o in get(ctx, "/v1/offenses")["offenses"]}
    mapping = read_csv("iccs_map.csv")
    expect_eq(sorted(offenses), sorted(r["offense"] for r in mapping), "offenses")
    for r in mapping:
        o = offenses[r["offense"]]
        expect_eq((o["category"], o["iccs"]), (r["category"], r["iccs"]), r["offense"])
        expect(o["iccs"] in iccs, "%s: ICCS %s is in the list" % (r["offense"], o["iccs"]))
        expect(r["reason"].strip(), "%s has a reason" % r["offense"])


def test_cube_equals_csv(ctx):
    cube = get(ctx, "/v1/cube", by="precinct,offense", **YEAR)
    got = Counter({(c["precinct"], c["offense"]): c["count"] for c in cube["cells"]})
    expect_eq(len(cube["cells"]), len(got), "one cell per canton and offense")
    expect_eq(dict(got), dict(ctx["cells"]), "the cube per canton and offense against the CSV")
    expect_eq(cube["total"], ctx["rows"], "every row counted")
    by_hour = get(ctx, "/v1/cube", by="hour_of_day", **YEAR)
    expect_eq({c["hour_of_day"]: c["count"] for c in by_hour["cells"]}, dict(ctx["hours"]),
              "each row at the start of its 3-hour band, local time")


def test_unassigned(ctx):
    want = sum(ctx["unplaced"].values())
    expect(want > 0, "the file has rows without a canton")
    cube = get(ctx, "/v1/cube", by="precinct", **YEAR)
    got = [c["count"] for c in cube["cells"] if c["precinct"] is None]
    expect_eq(got, [want], "the unassigned cell equals the CSV's unplaced rows")
    expect_eq(report_number(ctx, "unassigned:"), want, "the importer reports them")
    expect_eq(report_number(ctx, "placed in a canton:"), ctx["rows"] - want)
    # ... and says why, by Provincia / Canton: "  SAN JOSE / DESCONOCIDO   54  why".
    said = Counter()
    for line in ctx["report"].splitlines():
        m = re.match(r"^\s+(\S.*?) / (\S.*?)\s+(\d+)  \S", line)
        if m:
            said[(m.group(1), m.group(2))] += int(m.group(3))
    expect_eq(dict(said), dict(ctx["unplaced"]), "the report's unplaced rows by place")
    rows = sql(ctx, "SELECT count(*), count(*) FILTER (WHERE precinct_id IS NULL AND geom IS NULL"
                    " AND unplaced), count(*) FILTER (WHERE geom IS NOT NULL) FROM incidents"
                    " WHERE source = 'oij-2023'")
    expect_eq(rows, [[str(ctx["rows"]), str(want), "0"]],
              "stored: every row, the unplaced as such, not one with a location")


def test_areas_equal_sql(ctx):
    cube = get(ctx, "/v1/cube", by="area", area_level="provincia", **YEAR)
    got = {c["area"]: c["count"] for c in cube["cells"]}
    want = {(a or None): int(n) for a, n in sql(ctx, """
        SELECT coalesce(a.code, ''), count(*) FROM incidents i
        LEFT JOIN precincts p ON p.id = i.precinct_id LEFT JOIN areas a ON a.id = p.area_id
        WHERE %s GROUP BY 1""" % agency_filter())}
    expect_eq(got, want, "per-province totals against SQL")
    expect_eq(len([a for a in got if a]), 7, "seven provinces")


def population_sql(group):
    """SQL: (key, population) of each group of precincts, each precinct's
    population for 2023 by the nearest-year rule (only 2022 is given)."""
    return """
        WITH pop AS (
          SELECT DISTINCT ON (p.id) p.id, pp.population FROM precincts p
          JOIN precinct_populations pp ON pp.precinct_id = p.id
          WHERE p.agency_id = (SELECT id FROM agencies WHERE code = 'OIJ')
          ORDER BY p.id, abs(pp.year - 2023), pp.year)
        SELECT %s, sum(pop.population) FROM pop JOIN precincts p ON p.id = pop.id
        LEFT JOIN areas a ON a.id = p.area_id GROUP BY 1""" % group


def rate_sql(ctx, count, population):
    """PostgreSQL's numeric round: half away from zero, i.e. half up here."""
    return sql(ctx, "SELECT round(%d * 100000.0 / %d, 2)" % (count, population))[0][0]


def test_rates_equal_sql(ctx):
    for by, key, group in (("precinct", "precinct", "p.code"), ("area", "area", "a.code"),
                           ("", None, "'agency'")):
        q = dict(YEAR, rates="true")
        if by:
            q["by"] = by
        if by == "area":
            q["area_level"] = "provincia"
        cube = get(ctx, "/v1/cube", **q)
        pops = {k: int(v) for k, v in sql(ctx, population_sql(group))}
        expect(cube["cells"], "cells")
        for c in cube["cells"]:
            k = c[key] if key else "agency"
            if k is None:
                expect_eq((c["population"], c["rate_per_100k"]), (None, None),
                          "the unassigned have no population")
                continue
            expect_eq(c["population"], pops[k], "population of %s" % k)
            expect_eq(c["rate_per_100k"], float(rate_sql(ctx, c["count"], pops[k])), "rate of %s" % k)
        if not by:
            expect_eq(cube["cells"][0]["count"], ctx["rows"], "the agency counts the unassigned")
            expect_eq(pops["agency"], sum(int(r["poblacion"]) for r in
                                          read_csv("poblacion-cantones-2022.csv")), "INEC total")


def test_sheet_and_hotspots(ctx):
    sheet = get(ctx, "/v1/compstat", week_ending="2023-12-31")
    total = [r for r in sheet["rows"] if r["category"] == "total"][0]
    expect_eq(total["ytd"]["current"], ctx["rows"], "the agency's year to date counts every row")
    one = get(ctx, "/v1/compstat", precinct="CR-101", week_ending="2023-12-31")
    total = [r for r in one["rows"] if r["category"] == "total"][0]
    expect_eq(total["ytd"]["current"],
              sum(n for (p, _), n in ctx["cells"].items() if p == "CR-101"), "San José's sheet")
    hs = get(ctx, "/v1/hotspots", bbox="-86,8,-82.5,11.3", cell_m=5000, method="count", **YEAR)
    expect_eq(hs.get("features"), [], "no incident has a point: no hotspot")


def test_unplaced_post(ctx):
    d, admin = ctx["d"], ctx["admin"]
    before = [c["count"] for c in get(ctx, "/v1/cube", by="precinct", **YEAR)["cells"]
              if c["precinct"] is None][0]
    inc = {"source": "test", "external_id": "sin-lugar", "offense": "HURTO.CARTERISTA",
           "occurred_at": "2023-06-01T10:00:00-06:00", "precinct": None}
    st, _, body = d.request("POST", "/v1/incidents", inc, admin)
    expect_eq((st, body["precinct"], body["location"]), (201, None, None), body)
    after = [c["count"] for c in get(ctx, "/v1/cube", by="precinct", **YEAR)["cells"]
             if c["precinct"] is None][0]
    expect_eq(after, before + 1, "counted unassigned")
    del inc["precinct"]
    inc["external_id"] = "sin-nada"
    st, _, body = d.request("POST", "/v1/incidents", inc, admin)
    expect_eq((st, body["error"]["code"], body["error"]["field"]),
              (422, "missing_field", "location"), "neither field: 422 naming location")
    # Put the counts back as the CSV has them for the tests that follow.
    st, _, body = d.request("PATCH", "/v1/incidents/test/sin-lugar", {"status": "cancelled"},
                            admin)
    expect_eq((st, body["status"]), (200, "cancelled"))


def test_restart_and_reimport(ctx):
    ctx["d"].stop()
    ctx["d"] = Daemon(ctx["ci"])
    ctx["d"].wait_ready(120)
    test_cube_equals_csv(ctx)
    test_unassigned(ctx)
    imp(ctx, "--every", "50")
    expect_eq(sql(ctx, "SELECT max(version) FROM incidents WHERE source = 'oij-2023'"), [["1"]],
              "re-importing rows changes nothing")


if __name__ == "__main__":
    run([test_reference_data, test_cube_equals_csv, test_unassigned, test_areas_equal_sql,
         test_rates_equal_sql, test_sheet_and_hotspots, test_unplaced_post,
         test_restart_and_reimport], setup, teardown)
