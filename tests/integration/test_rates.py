#!/usr/bin/env python3
"""Populations by year and rates per 100,000, against SQL on the same rows.

Six cantons of San José (Costa Rica) become precincts with their INEC 2022
population (tests/integration/data/costa_rica, real published figures) and
other years derived from it; one has only the single `population` of old
and one has none at all. Random incidents from 2018 to 2025, some
unassigned, some unfounded. Every population and rate of the cube
(`rates=true`, JSON and CSV) and of the COMPSTAT sheet is compared with the
same figure computed by PostgreSQL: populations summed in SQL with the
nearest-year rule, rates rounded by numeric round(). Then the population
of the last precinct is given, and everything again after a restart
(populations loaded from the database).

COMPSTAT_TEST_SEED=n reproduces a run.
"""
import csv
import datetime as dt
import json
import os
import random
import sys
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, expect, expect_eq, fresh_db, psql, run, token  # noqa: E402

SEED = int(os.environ.get("COMPSTAT_TEST_SEED", random.randrange(1 << 30)))
ZONE = "America/Costa_Rica"
DATA = os.path.join(os.path.dirname(__file__), "data", "costa_rica",
                    "poblacion-cantones-2022.csv")
OFFENSES = [("ROBO", "robbery"), ("HURTO", "grand_larceny"), ("HOMICIDIO", "murder")]


def inec_2022():
    with open(DATA, encoding="utf-8") as f:
        return {row["cod_canton"]: (row["canton"], int(row["poblacion"]))
                for row in csv.DictReader(f)}


def square(i):
    lo, la = -84.2 + 0.05 * i, 9.9
    return {"type": "Polygon", "coordinates": [[[lo, la], [lo + 0.05, la], [lo + 0.05, la + 0.05],
                                                [lo, la + 0.05], [lo, la]]]}


class World:
    pass


def populations_of(code, pop2022):
    """What each precinct is given: 2022 is INEC's; other years derived from it."""
    return {
        "101": {"populations": {"2022": pop2022, "2018": pop2022 * 96 // 100,
                                "2024": pop2022 * 101 // 100}},
        "102": {"populations": {"2022": pop2022}},
        "103": {"populations": {"2020": pop2022 * 98 // 100, "2022": pop2022}},
        "104": {"population": pop2022},  # the single figure of old, no years
        "105": {"populations": {"2019": pop2022 * 97 // 100, "2021": pop2022 * 99 // 100}},
        "106": {},  # nothing: unknown
    }[code]


def setup():
    w = World()
    w.ci = fresh_db("rates")
    w.d = Daemon(w.ci)
    w.d.wait_ready()
    r = random.Random(SEED)
    print("seed", SEED, flush=True)
    w.admin = token(w.ci, "admin", "CR")
    w.commander = token(w.ci, "commander", "CR")
    expect_eq(w.d.request("PUT", "/v1/agencies/CR", {"name": "Costa Rica", "time_zone": ZONE},
                          w.admin)[0], 200)
    inec = inec_2022()
    w.precincts = []
    for i, cod in enumerate(["101", "102", "103", "104", "105", "106"]):
        name, pop = inec[cod]
        body = {"name": name, "boundary": square(i)}
        body.update(populations_of(cod, pop))
        st, _, res = w.d.request("PUT", "/v1/precincts/CR-" + cod, body, w.admin)
        expect_eq(st, 201, res)
        want = {k: v for k, v in body.get("populations", {}).items()}
        expect_eq(res["populations"], dict(sorted(want.items())), "PUT answers its populations")
        w.precincts.append("CR-" + cod)
    for code, cat in OFFENSES:
        expect_eq(w.d.request("PUT", "/v1/offenses/" + code, {"name": code, "category": cat},
                              w.admin)[0], 201)
    start = dt.datetime(2018, 12, 1, tzinfo=dt.timezone.utc).timestamp()
    end = dt.datetime(2025, 2, 1, tzinfo=dt.timezone.utc).timestamp()
    incidents = []
    for k in range(2500):
        t = dt.datetime.fromtimestamp(r.uniform(start, end), dt.timezone.utc).replace(
            microsecond=0, second=0)
        if r.random() < 0.2:  # around New Year, local time (UTC-6)
            y = r.randint(2019, 2025)
            t = dt.datetime(y, 1, 1, 6, tzinfo=dt.timezone.utc) + dt.timedelta(
                minutes=r.randint(-5 * 1440, 5 * 1440))
        inc = {"source": "oij", "external_id": "e%d" % k, "offense": r.choice(OFFENSES)[0],
               "occurred_at": t.isoformat(), "received_at": t.isoformat()}
        if r.random() < 0.08:  # outside every canton: unassigned
            inc["location"] = {"lat": 9.5, "lon": -84.0 - r.random()}
        else:
            i = r.randrange(6)
            inc["location"] = {"lat": 9.9 + 0.05 * r.random(), "lon": -84.2 + 0.05 * (i + r.random())}
        if r.random() < 0.05:
            inc["status"] = "unfounded"
        incidents.append(inc)
    for i in range(0, len(incidents), 500):
        body = "\n".join(json.dumps(x) for x in incidents[i:i + 500])
        st, _, res = w.d.request("POST", "/v1/incidents", body, w.admin,
                                 ctype="application/x-ndjson")
        expect_eq(st, 200)
        expect_eq([x for x in res["results"] if "error" in x], [], "every incident valid")
    return w


def teardown(w):
    expect_eq(w.d.stop(), 0)


# ------------------------------------------------------------ SQL

def pop_sql(codes, year):
    """The population of a set of precincts in year, in SQL: each precinct's
    nearest year (ties: the earlier), else its single figure; NULL when any
    is unknown. `codes` is an SQL expression matched against p.code."""
    return ("(SELECT CASE WHEN bool_and(v IS NOT NULL) THEN sum(v) END FROM ("
            " SELECT coalesce((SELECT pp.population FROM precinct_populations pp"
            "   WHERE pp.precinct_id = p.id ORDER BY abs(pp.year - (%s)), pp.year LIMIT 1),"
            "  p.population) AS v"
            " FROM precincts p JOIN agencies a ON a.id = p.agency_id AND a.code = 'CR'"
            " WHERE p.code IN (%s)) s)" % (year, codes))


def codes_sql(codes):
    return ",".join("'%s'" % c for c in codes)


def cube_sql(w, q, scope=None):
    """The cube's cells with their populations and rates, computed by PostgreSQL."""
    local = "(i.counted_at AT TIME ZONE '%s')" % ZONE
    dims = q.get("by", "").split(",") if q.get("by") else []
    cols = {"precinct": "p.code", "offense": "o.code", "category": "o.category"}
    sel = ["%s AS %s" % (cols[x], x) for x in dims]
    gran = q.get("granularity", "none")
    to_local = "'%s'::timestamp" % q["to"] if "to" in q else None
    if gran != "none":
        sel.append("extract(epoch FROM (date_trunc('%s', %s) AT TIME ZONE '%s'))::bigint AS b"
                   % (gran, local, ZONE))
        end = "(date_trunc('%s', %s) + interval '1 %s')" % (gran, local, gran)
        if to_local:
            end = "least(%s, %s)" % (end, to_local)
        sel.append("extract(year FROM %s - interval '1 second')::int AS y" % end)
    elif to_local:
        sel.append("extract(year FROM %s - interval '1 second')::int AS y" % to_local)
    else:
        sel.append("extract(year FROM now() AT TIME ZONE '%s')::int AS y" % ZONE)
    where = ["a.code = 'CR'", "i.status NOT IN ('unfounded', 'cancelled')"]
    if "from" in q:
        where.append("i.counted_at >= ('%s'::timestamp AT TIME ZONE '%s')" % (q["from"], ZONE))
    if "to" in q:
        where.append("i.counted_at < ('%s'::timestamp AT TIME ZONE '%s')" % (q["to"], ZONE))
    geo = None  # the precincts the question covers; None: the whole agency
    if "precinct" in q:
        geo = q["precinct"].split(",")
    if scope:
        geo = [c for c in (geo or w.precincts) if c in scope]
    if geo is not None:
        where.append("p.code IN (%s)" % codes_sql(geo))
    if "precinct" in dims:
        pop = pop_sql("c.precinct", "c.y")
    else:
        pop = pop_sql(codes_sql(geo) if geo is not None else "SELECT code FROM precincts", "c.y")
    inner = ("SELECT %s, count(*) AS n FROM incidents i JOIN agencies a ON a.id = i.agency_id"
             " JOIN offenses o ON o.id = i.offense_id LEFT JOIN precincts p ON p.id = i.precinct_id"
             " WHERE %s GROUP BY %s"
             % (", ".join(sel), " AND ".join(where), ",".join(str(k + 1) for k in range(len(sel)))))
    return ("SELECT coalesce(json_agg(row_to_json(x)), '[]') FROM ("
            " SELECT c.*, %s AS pop FROM (%s) c) x0,"
            " LATERAL (SELECT x0.*, round(x0.n * 100000.0 / nullif(x0.pop, 0), 2) AS rate) x;"
            % (pop, inner))


def cell_key(q, cell):
    dims = q.get("by", "").split(",") if q.get("by") else []
    key = tuple(cell[x] for x in dims)
    if q.get("granularity", "none") != "none":
        key += (int(dt.datetime.fromisoformat(cell["bucket"]).timestamp()),)
    return key


QUESTIONS = [
    {"by": "precinct", "granularity": "year"},
    {"granularity": "year"},
    {"granularity": "year", "precinct": "CR-101,CR-102,CR-105"},
    {"by": "category", "granularity": "month", "from": "2019-11-01", "to": "2020-03-01",
     "precinct": "CR-103,CR-104"},
    {"by": "precinct", "granularity": "week", "from": "2019-12-02", "to": "2020-01-27",
     "precinct": "CR-101,CR-105"},
    {"by": "offense", "from": "2020-01-01", "to": "2021-01-01", "precinct": "CR-101,CR-105"},
    {"to": "2022-07-01", "precinct": "CR-102"},
    {"by": "precinct", "granularity": "day", "from": "2020-12-30", "to": "2021-01-03"},
    {"by": "precinct,offense", "granularity": "year", "to": "2021-06-01"},
    {"by": "category"},
    {"granularity": "week", "from": "2024-12-02", "to": "2025-01-06"},
]


def check_cube(w, questions=QUESTIONS, tok=None, scope=None):
    rows = psql(w.ci, "".join(cube_sql(w, q, scope) for q in questions))
    expect_eq(len(rows), len(questions))
    nulls = rates = 0
    for q, row in zip(questions, rows):
        want = {}
        for x in json.loads(row[0]):
            dims = q.get("by", "").split(",") if q.get("by") else []
            key = tuple(x[d] for d in dims) + ((x["b"],) if "b" in x else ())
            want[key] = (x["n"], x["pop"], x["rate"])
        qq = dict(q, rates="true")
        st, _, body = w.d.request("GET", "/v1/cube?" + urlencode(qq), None, tok or w.commander)
        expect_eq(st, 200, "cube %r -> %r" % (qq, body))
        got = {cell_key(q, c): (c["count"], c["population"], c["rate_per_100k"])
               for c in body["cells"]}
        if got != want:
            diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                    if got.get(k) != want.get(k)}
            raise AssertionError("cube %r differs from SQL (got, want): %r"
                                 % (qq, dict(list(diff.items())[:8])))
        for c in body["cells"]:
            nulls += c["population"] is None
            rates += c["rate_per_100k"] is not None
            if "precinct" in c and c["precinct"] is None:
                expect_eq((c["population"], c["rate_per_100k"]), (None, None), "unassigned")
        # The same in CSV.
        st, _, raw = w.d.request("GET", "/v1/cube?" + urlencode(dict(qq, format="csv")), None,
                                 tok or w.commander, raw=True)
        expect_eq(st, 200)
        lines = list(csv.DictReader(raw.decode().splitlines()))
        expect_eq(len(lines), len(body["cells"]))
        for line, c in zip(lines, body["cells"]):
            expect_eq(line["count"], str(c["count"]))
            expect_eq(line["population"], "" if c["population"] is None else str(c["population"]))
            rate = c["rate_per_100k"]
            expect_eq(line["rate_per_100k"], "" if rate is None else "%.2f" % rate)
    return nulls, rates


def sheet_sql(sunday, precinct):
    d = "'%s'::date" % sunday
    periods = {"week": "%s - 6" % d, "d28": "%s - 27" % d,
               "ytd": "date_trunc('year', %s)::date" % d}
    geo = "'%s'" % precinct if precinct else "SELECT code FROM precincts"
    parts = []
    for name, start in periods.items():
        for prior in (0, 1):
            s = "(%s - interval '1 year')::date" % start if prior else start
            e = "(%s - interval '1 year')::date" % d if prior else d
            parts.append(
                "SELECT '%s' AS period, %d AS prior, coalesce(o.category, 'total') AS category,"
                " count(i.id) AS n, %s AS pop, (%s) - (%s) + 1 AS days"
                " FROM offenses o JOIN agencies a ON a.id = o.agency_id AND a.code = 'CR'"
                " LEFT JOIN incidents i ON i.offense_id = o.id"
                "  AND i.status NOT IN ('unfounded', 'cancelled')"
                "  AND i.counted_at >= ((%s)::timestamp AT TIME ZONE '%s')"
                "  AND i.counted_at < (((%s) + 1)::timestamp AT TIME ZONE '%s')%s"
                " GROUP BY ROLLUP (o.category)"
                % (name, prior, pop_sql(geo, "extract(year FROM %s)::int" % e), e, s,
                   s, ZONE, e, ZONE,
                   " AND i.precinct_id = (SELECT id FROM precincts WHERE code = '%s')" % precinct
                   if precinct else ""))
    return ("SELECT coalesce(json_agg(row_to_json(x)), '[]') FROM ("
            " SELECT y.*, round(y.n * 100000.0 / nullif(y.pop, 0), 2) AS rate,"
            "  round(y.n * 100000.0 * 365 / (nullif(y.pop, 0) * y.days), 2) AS annual"
            " FROM (%s) y) x;" % " UNION ALL ".join(parts))


SHEETS = [("2020-01-05", None), ("2020-01-05", "CR-101"), ("2021-03-07", "CR-105"),
          ("2023-12-31", None), ("2024-03-03", "CR-103"), ("2019-01-06", "CR-104"),
          ("2022-06-05", "CR-106"), ("2025-01-05", "CR-102")]


def check_sheets(w):
    rows = psql(w.ci, "".join(sheet_sql(s, p) for s, p in SHEETS))
    known = unknown = 0
    for (sunday, precinct), row in zip(SHEETS, rows):
        want = {(x["category"], x["period"], x["prior"]): x for x in json.loads(row[0])}
        url = "/v1/compstat?" + urlencode(dict({"week_ending": sunday},
                                               **({"precinct": precinct} if precinct else {})))
        st, _, body = w.d.request("GET", url, None, w.commander)
        expect_eq(st, 200, url)
        for r_ in body["rows"]:
            for period in ("week", "d28", "ytd"):
                cur, pri = want[(r_["category"], period, 0)], want[(r_["category"], period, 1)]
                got = r_[period]
                what = "%s %s %s" % (url, r_["category"], period)
                expect_eq((got["current"], got["prior"]), (cur["n"], pri["n"]), what)
                expect_eq(got["rate"], cur["rate"], what + " rate")
                expect_eq(got["rate_prior"], pri["rate"], what + " rate_prior")
                expect_eq(got["rate_annual"], cur["annual"], what + " rate_annual")
                known += got["rate"] is not None
                unknown += got["rate"] is None
    return known, unknown


# ------------------------------------------------------------ tests

def check_precincts(w):
    st, _, body = w.d.request("GET", "/v1/precincts", None, w.commander)
    expect_eq(st, 200)
    got = {p["code"]: (p["population"], p["populations"]) for p in body["precincts"]}
    rows = psql(w.ci, "SELECT p.code, p.population, (SELECT coalesce(json_object_agg(year,"
                      " population ORDER BY year), '{}') FROM precinct_populations"
                      " WHERE precinct_id = p.id) FROM precincts p ORDER BY p.code")
    want = {c: (int(n) if n else None, json.loads(j)) for c, n, j in rows}
    expect_eq(got, want)
    return got


def test_precincts_show_populations(w):
    got = check_precincts(w)
    expect_eq(got["CR-106"], (None, {}), "none: an empty object")
    expect_eq(got["CR-101"][1]["2022"], inec_2022()["101"][1], "INEC's 2022 figure")


def test_cube_rates_equal_sql(w):
    nulls, rates = check_cube(w)
    expect(nulls > 0 and rates > 0, "both null and known cells were checked (%d, %d)"
           % (nulls, rates))
    # The whole agency: CR-106 has no population, so no agency-wide rate.
    st, _, body = w.d.request("GET", "/v1/cube?granularity=year&rates=true", None, w.commander)
    expect(body["cells"] and all(c["population"] is None for c in body["cells"]), body)


def test_scoped_token_rates(w):
    scope = ["CR-101", "CR-102"]
    tok = token(w.ci, "commander", "CR", ",".join(scope))
    check_cube(w, [{"granularity": "year"}, {"by": "precinct", "granularity": "month",
                                             "from": "2021-11-01", "to": "2022-02-01"},
                   {"precinct": "CR-101"}], tok, scope)


def test_sheet_rates_equal_sql(w):
    known, unknown = check_sheets(w)
    expect(known > 0 and unknown > 0, "known and unknown sheets (%d, %d)" % (known, unknown))


def test_bad_populations_are_422(w):
    before = psql(w.ci, "SELECT precinct_id, year, population FROM precinct_populations"
                        " ORDER BY 1, 2")
    base = {"name": "Tarrazú", "boundary": square(4)}
    for bad in ("352381", [1], {"20x2": 5}, {"1899": 5}, {"2200": 5}, {"+202": 5},
                {"2022": -1}, {"2022": 1.5}, {"2022": "100"}, {"2022": None}, {"2022": 1e11},
                {"2022": True}):
        st, _, res = w.d.request("PUT", "/v1/precincts/CR-105", dict(base, populations=bad),
                                 w.admin)
        expect_eq(st, 422, "populations %r -> %r" % (bad, res))
        expect_eq(res["error"]["field"], "populations", res)
    raw = '{"name": "x", "boundary": %s, "populations": {"2022": 1, "2022": 2}}' % json.dumps(
        square(4))
    st, _, res = w.d.request("PUT", "/v1/precincts/CR-105", raw, w.admin)
    expect_eq((st, res["error"]["field"]), (422, "populations"), res)
    expect("twice" in res["error"]["message"], res)
    st, _, res = w.d.request("GET", "/v1/cube?rates=maybe", None, w.commander)
    expect_eq((st, res["error"]["field"]), (422, "rates"), res)
    after = psql(w.ci, "SELECT precinct_id, year, population FROM precinct_populations"
                       " ORDER BY 1, 2")
    expect_eq(after, before, "nothing written by a refused PUT")
    # A precinct-scoped token may not write populations (the whole agency's).
    scoped = token(w.ci, "admin", "CR", "CR-105")
    st, _, _ = w.d.request("PUT", "/v1/precincts/CR-105", dict(base, populations={"2022": 1}),
                           scoped)
    expect_eq(st, 403)


def test_put_keeps_replaces_and_clears(w):
    def years(code):
        return psql(w.ci, "SELECT pp.year, pp.population FROM precinct_populations pp JOIN precincts p"
                          " ON p.id = pp.precinct_id WHERE p.code = '%s' ORDER BY year" % code)
    keep = years("CR-103")
    # Absent: the years stay.
    st, _, res = w.d.request("PUT", "/v1/precincts/CR-103",
                             {"name": "Desamparados", "boundary": square(2)}, w.admin)
    expect_eq(st, 200)
    expect_eq(years("CR-103"), keep)
    expect_eq(res["populations"], {y: int(n) for y, n in keep})
    # Given: replaced, the years not given go.
    st, _, res = w.d.request("PUT", "/v1/precincts/CR-103",
                             {"name": "Desamparados", "boundary": square(2),
                              "populations": {"2023": 230000, "2022": int(keep[-1][1])}}, w.admin)
    expect_eq(st, 200)
    expect_eq(years("CR-103"), [["2022", keep[-1][1]], ["2023", "230000"]])
    expect_eq(res["populations"], {"2022": int(keep[-1][1]), "2023": 230000})
    # {} and null: none.
    for none in ({}, None):
        st, _, res = w.d.request("PUT", "/v1/precincts/CR-102",
                                 {"name": "Escazú", "boundary": square(1), "populations": none},
                                 w.admin)
        expect_eq((st, res["populations"]), (200, {}))
        expect_eq(years("CR-102"), [])
    inec = inec_2022()
    st, _, res = w.d.request("PUT", "/v1/precincts/CR-102",
                             {"name": "Escazú", "boundary": square(1),
                              "populations": {"2022": inec["102"][1]}}, w.admin)
    expect_eq(st, 200)
    check_cube(w)


def test_whole_agency_once_every_precinct_has_one(w):
    inec = inec_2022()
    st, _, _ = w.d.request("PUT", "/v1/precincts/CR-106",
                           {"name": inec["106"][0], "boundary": square(5),
                            "populations": {"2022": inec["106"][1]}}, w.admin)
    expect_eq(st, 200)
    st, _, body = w.d.request("GET", "/v1/cube?granularity=year&rates=true", None, w.commander)
    expect(body["cells"] and all(c["rate_per_100k"] is not None for c in body["cells"]), body)
    check_cube(w)
    check_sheets(w)


def test_restart_loads_populations(w):
    expect_eq(w.d.stop(), 0)
    w.d = Daemon(w.ci)
    w.d.wait_ready()
    check_precincts(w)
    check_cube(w)
    check_sheets(w)


if __name__ == "__main__":
    run([test_precincts_show_populations, test_cube_rates_equal_sql, test_scoped_token_rates,
         test_sheet_rates_equal_sql, test_bad_populations_are_422,
         test_put_keeps_replaces_and_clears, test_whole_agency_once_every_precinct_has_one,
         test_restart_loads_populations], setup, teardown)
