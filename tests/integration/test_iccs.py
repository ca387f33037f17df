#!/usr/bin/env python3
"""A common classification: UNODC ICCS (issue 18, item 3).

Checks that:
- migration 0010 and schema/compstat.sql hold exactly tools/iccs-sql's
  INSERT of data/iccs/iccs.csv, and the database exactly the CSV's rows;
- GET /v1/classifications/iccs (any role) answers the CSV, name_es null
  where the CSV has none, and level= keeps one level;
- PUT /v1/offenses/{code} takes "iccs": a code of the list or null (absent
  keeps it), refuses an unknown code with 422 field iccs, and offenses carry
  "iccs" in GET, also after a restart;
- the cube's by=iccs at every iccs_level (1-4, default 2), alone, beside
  other dimensions, beside by=offense and as CSV; iccs= prefix filters,
  alone and with offense= and category=; and the COMPSTAT sheet's
  rows=iccs, per period current and prior -- every expected number computed
  by SQL on the same rows: an offense without a code, or with a code above
  the level asked, counts under null, and calls that are not crimes nowhere;
- bad by, iccs, iccs_level and rows values are 422 naming the parameter."""
import csv
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa: E402

SQ = {"type": "Polygon", "coordinates": [[[0, 0], [0, 0.2], [0.2, 0.2], [0.2, 0], [0, 0]]]}
SQ2 = {"type": "Polygon", "coordinates": [[[1, 1], [1, 1.2], [1.2, 1.2], [1.2, 1], [1, 1]]]}
CSV = os.path.join(SRC, "data", "iccs", "iccs.csv")
LEN = {1: 2, 2: 4, 3: 5, 4: 6}
COUNTED = ("FROM incidents i JOIN offenses o ON o.id = i.offense_id"
           " WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled')")
# code, name, category, crime, ICCS code (None: not classified)
OFFENSES = [
    ("HOM", "Homicide", "murder", True, "0101"),
    ("ATT", "Attempted homicide", "felony_assault", True, "0102"),
    ("VEH", "Vehicular homicide", "other", True, "010321"),
    ("ASLT", "Serious assault", "felony_assault", True, "020111"),
    ("ROB", "Robbery", "robbery", True, "0401"),
    ("SEC", "Against life, unspecified", "other", True, "01"),
    ("MISC", "Miscellaneous", "other", True, None),
    ("ACC", "Traffic death (not a crime here)", "other", False, "010322"),
]


def csv_rows():
    with open(CSV, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def setup():
    ci = fresh_db("iccs")
    admin = token(ci, "admin", "IC")
    reader = token(ci, "dispatch", "IC")
    d = Daemon(ci)
    d.wait_ready()
    ctx = {"ci": ci, "d": d, "admin": admin, "reader": reader}
    for code, boundary in (("IC-1", SQ), ("IC-2", SQ2)):
        expect_eq(d.request("PUT", "/v1/precincts/" + code, {"name": code, "boundary": boundary},
                            admin)[0], 201)
    for code, name, cat, crime, iccs in OFFENSES:
        body = {"name": name, "category": cat, "crime": crime}
        if iccs is not None:
            body["iccs"] = iccs
        st, _, o = d.request("PUT", "/v1/offenses/" + code, body, admin)
        expect_eq((st, o["iccs"]), (201, iccs), "offense " + code)
    incs, n = [], 0
    # This year's Oct-Nov and last year's, so the sheet has current and prior.
    for year in (2025, 2026):
        for day in range(1, 61):
            for k, (code, *_rest) in enumerate(OFFENSES):
                if (day * 7 + k * 3 + year) % 5 == 0:
                    continue
                n += 1
                month, dom = (10, day) if day <= 31 else (11, day - 31)
                if month == 11 and dom > 29:
                    continue
                inc = {"source": "ic", "external_id": "i%d" % n, "offense": code,
                       "received_at": "%d-%02d-%02dT%02d:15:00Z" % (year, month, dom, (n * 5) % 24)}
                if n % 3:
                    inc["location"] = {"lat": 0.1, "lon": 0.1} if n % 2 else {"lat": 1.1,
                                                                               "lon": 1.1}
                else:
                    inc["precinct"] = "IC-1"
                if n % 17 == 0:
                    inc["status"] = "unfounded"
                incs.append(inc)
    for i in range(0, len(incs), 500):
        st, _, resp = d.request("POST", "/v1/incidents", incs[i:i + 500], admin)
        expect_eq((st, resp["accepted"]), (200, len(incs[i:i + 500])), "post")
    ctx["tz"] = scalar(ci, "SELECT time_zone FROM agencies WHERE code = 'IC'")
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def get(ctx, path, tok=None, want=200):
    st, _, body = ctx["d"].request("GET", path, None, tok or ctx["admin"])
    expect_eq(st, want, path + ": " + repr(body)[:300])
    return body


def group_sql(level):
    return "CASE WHEN length(o.iccs) >= %d THEN left(o.iccs, %d) END" % (LEN[level], LEN[level])


def sql_counts(ctx, keys, where=""):
    """{tuple of keys: count} from SQL; keys are SQL expressions."""
    sel = ", ".join(keys)
    rows = psql(ctx["ci"], "SELECT %s, count(*) %s %s GROUP BY %s" % (sel, COUNTED, where,
                                                                      ", ".join(
                                                                          str(i + 1) for i in
                                                                          range(len(keys)))))
    return {tuple(None if v == "" else v for v in r[:-1]): int(r[-1]) for r in rows}


def cube_counts(ctx, query, names):
    c = get(ctx, "/v1/cube?" + query)
    got = {}
    for cell in c["cells"]:
        key = tuple(cell[n] for n in names)
        expect(key not in got, "one cell per key", query, key)
        got[key] = cell["count"]
    return got, c


def test_migration_holds_the_csv(ctx):
    out = subprocess.run([os.path.join(SRC, "tools", "iccs-sql")], capture_output=True,
                         text=True, check=True).stdout
    for f in ("migrations/0010_iccs.sql", "schema/compstat.sql"):
        with open(os.path.join(SRC, f), encoding="utf-8") as fh:
            expect(out in fh.read(), f + " holds tools/iccs-sql's output verbatim")
    rows = psql(ctx["ci"], "SELECT code, level, coalesce(parent, ''), name_en,"
                " coalesce(name_es, '') FROM iccs_codes ORDER BY code COLLATE \"C\"")
    want = sorted([r["code"], r["level"], r["parent"], r["name_en"], r["name_es"]]
                  for r in csv_rows())
    expect_eq(sorted(rows), want, "iccs_codes is the CSV")
    # The CSV itself: codes of their level's length, under their parent.
    codes = {r["code"] for r in csv_rows()}
    for r in csv_rows():
        expect_eq(len(r["code"]), LEN[int(r["level"])], r["code"])
        if r["parent"]:
            expect(r["parent"] in codes and r["code"].startswith(r["parent"]), r["code"])


def test_classification_list(ctx):
    want = [{"code": r["code"], "level": int(r["level"]), "parent": r["parent"] or None,
             "name_en": r["name_en"], "name_es": r["name_es"] or None} for r in csv_rows()]
    want.sort(key=lambda c: c["code"])
    for tok in (ctx["admin"], ctx["reader"]):
        body = get(ctx, "/v1/classifications/iccs", tok)
        expect_eq(body["codes"], want, "the list is the CSV")
        expect("ICCS" in body["classification"], body["classification"])
    for level in (1, 2, 3, 4):
        body = get(ctx, "/v1/classifications/iccs?level=%d" % level)
        expect_eq(body["codes"], [c for c in want if c["level"] == level], "level %d" % level)
    expect_eq(len(get(ctx, "/v1/classifications/iccs?level=1")["codes"]), 11, "11 sections")
    for bad in ("0", "5", "x", ""):
        e = get(ctx, "/v1/classifications/iccs?level=" + bad, want=422)
        expect_eq(e["error"]["field"], "level")
    expect_eq(get(ctx, "/v1/classifications/iccs?lvl=1", want=400)["error"]["field"], "lvl")


def test_offense_iccs_field(ctx):
    d, admin = ctx["d"], ctx["admin"]
    st, _, o = d.request("PUT", "/v1/offenses/TMP", {"name": "t", "category": "other"}, admin)
    expect_eq((st, o["iccs"]), (201, None), "new offense without iccs: null")
    st, _, o = d.request("PUT", "/v1/offenses/TMP", {"name": "t", "category": "other",
                                                     "iccs": "0501"}, admin)
    expect_eq((st, o["iccs"]), (200, "0501"))
    st, _, o = d.request("PUT", "/v1/offenses/TMP", {"name": "t2", "category": "other"}, admin)
    expect_eq((st, o["iccs"]), (200, "0501"), "absent: unchanged")
    for bad in ("9999", "010", "", "0101 ", 101, True, ["0101"]):
        st, _, e = d.request("PUT", "/v1/offenses/TMP", {"name": "t", "category": "other",
                                                         "iccs": bad}, admin)
        expect_eq((st, e["error"]["field"]), (422, "iccs"), repr(bad))
    expect_eq(scalar(ctx["ci"], "SELECT iccs FROM offenses WHERE code = 'TMP'"), "0501",
              "a refused PUT changed nothing")
    st, _, o = d.request("PUT", "/v1/offenses/TMP", {"name": "t", "category": "other",
                                                     "iccs": None}, admin)
    expect_eq((st, o["iccs"]), (200, None), "null unclassifies")
    expect_eq(scalar(ctx["ci"], "SELECT iccs IS NULL FROM offenses WHERE code = 'TMP'"), "t")
    listed = {o["code"]: o["iccs"] for o in get(ctx, "/v1/offenses")["offenses"]}
    for code, *_rest, iccs in OFFENSES:
        expect_eq(listed[code], iccs, code)


def test_by_iccs_each_level(ctx):
    for level in (1, 2, 3, 4, None):
        lv = level or 2
        q = "by=iccs" + ("&iccs_level=%d" % level if level else "")
        got, c = cube_counts(ctx, q, ["iccs"])
        want = sql_counts(ctx, [group_sql(lv)])
        expect_eq(got, want, q)
        expect_eq(c["total"], sum(want.values()), q + " total")
        expect_eq(c["by"], ["iccs"])
    # by=iccs beside another dimension, and beside by=offense (no folding).
    got, _ = cube_counts(ctx, "by=precinct,iccs&iccs_level=1", ["precinct", "iccs"])
    want = sql_counts(ctx, ["(SELECT code FROM precincts p WHERE p.id = i.precinct_id)",
                            group_sql(1)])
    expect_eq(got, want, "by=precinct,iccs")
    got, _ = cube_counts(ctx, "by=iccs,offense&iccs_level=3", ["offense", "iccs"])
    expect_eq(got, sql_counts(ctx, ["o.code", group_sql(3)]), "by=iccs,offense")
    got, _ = cube_counts(ctx, "by=iccs&granularity=month&iccs_level=2", ["bucket", "iccs"])
    want = sql_counts(ctx, ["to_char(date_trunc('month', i.counted_at AT TIME ZONE '%s'),"
                            " 'YYYY-MM')" % ctx["tz"], group_sql(2)])
    expect_eq({(k[0][:7], k[1]): v for k, v in got.items()}, want, "by month and iccs")


def test_by_iccs_csv(ctx):
    st, h, body = ctx["d"].request("GET", "/v1/cube?by=iccs&iccs_level=2&format=csv", None,
                                   ctx["admin"], raw=True)
    expect_eq(st, 200)
    lines = body.decode().strip().split("\r\n")
    expect_eq(lines[0], "iccs,count")
    got = {}
    for line in lines[1:]:
        code, count = line.split(",")
        got[(code or None,)] = int(count)
    expect_eq(got, sql_counts(ctx, [group_sql(2)]), "csv")


def test_iccs_prefix_filter(ctx):
    cases = [
        ("iccs=01", "o.iccs LIKE '01%'"),
        ("iccs=0101", "o.iccs LIKE '0101%'"),
        ("iccs=0103,0401", "(o.iccs LIKE '0103%' OR o.iccs LIKE '0401%')"),
        ("iccs=02,,01", "(o.iccs LIKE '02%' OR o.iccs LIKE '01%')"),
        ("iccs=010321", "o.iccs LIKE '010321%'"),
        ("iccs=0501", "o.iccs LIKE '0501%'"),  # a code no offense carries: nothing
        ("iccs=01&offense=HOM,ROB,SEC", "o.iccs LIKE '01%' AND o.code IN ('HOM', 'ROB', 'SEC')"),
        ("iccs=01&category=felony_assault", "o.iccs LIKE '01%' AND o.category = 'felony_assault'"),
        ("iccs=01&precinct=IC-1", "o.iccs LIKE '01%' AND i.precinct_id ="
         " (SELECT id FROM precincts WHERE code = 'IC-1')"),
    ]
    for q, where in cases:
        got, c = cube_counts(ctx, "by=offense&" + q, ["offense"])
        want = sql_counts(ctx, ["o.code"], "AND " + where)
        expect_eq(got, want, q)
        expect_eq(c["total"], sum(want.values()), q + " total")
        got, _ = cube_counts(ctx, "by=iccs&iccs_level=4&" + q, ["iccs"])
        expect_eq(got, sql_counts(ctx, [group_sql(4)], "AND " + where), q + " by iccs")


def sheet_sql(ctx, rng, level, where=""):
    """{group: count} over the local dates rng = [first, last]."""
    return sql_counts(ctx, [group_sql(level)],
                      "AND (i.counted_at AT TIME ZONE '%s')::date BETWEEN '%s' AND '%s' %s"
                      % (ctx["tz"], rng[0], rng[1], where))


def check_sheet(ctx, q, level, where="", owhere=None):
    """The sheet of q against SQL (where: the incidents counted; owhere: the
    offenses an offense filter leaves, whose groups are the rows)."""
    s = get(ctx, "/v1/compstat?week_ending=2026-11-29&rows=iccs" + q)
    rows = s["rows"]
    expect_eq(rows[-1]["iccs"], "total", "the total last")
    groups = [r["iccs"] for r in rows[:-1]]
    # The groups of the agency's offenses the filter leaves, codes in order, null last.
    offs = [(o[0], o[4]) for o in OFFENSES] + [("TMP", None)]
    keep = {r[0] for r in psql(ctx["ci"], "SELECT o.code FROM offenses o WHERE " + owhere)} \
        if owhere else None
    want = {(iccs[:LEN[level]] if iccs and len(iccs) >= LEN[level] else None)
            for code, iccs in offs if keep is None or code in keep}
    expect_eq(groups, sorted(g for g in want if g) + ([None] if None in want else []), q)
    names = {r["code"]: r for r in csv_rows()}
    for r in rows[:-1]:
        if r["iccs"]:
            expect_eq((r["name_en"], r["name_es"]),
                      (names[r["iccs"]]["name_en"], names[r["iccs"]]["name_es"] or None))
        else:
            expect_eq((r["name_en"], r["name_es"]), (None, None))
    for p in ("week", "d28", "ytd"):
        cur = sheet_sql(ctx, s["periods"][p]["current"], level, where)
        prior = sheet_sql(ctx, s["periods"][p]["prior"], level, where)
        for r in rows:
            key = (r["iccs"],)
            if r["iccs"] == "total":
                expect_eq((r[p]["current"], r[p]["prior"]),
                          (sum(cur.values()), sum(prior.values())), q + " total " + p)
            else:
                expect_eq((r[p]["current"], r[p]["prior"]), (cur.get(key, 0), prior.get(key, 0)),
                          "%s %s %s" % (q, p, r["iccs"]))
    return s


def test_sheet_rows_iccs(ctx):
    for level in (1, 2, 3, 4):
        check_sheet(ctx, "&iccs_level=%d" % level, level)
    s = check_sheet(ctx, "", 2)
    expect(any(r[p]["current"] for r in s["rows"] for p in ("week", "d28", "ytd")),
           "the sheet counts something")
    check_sheet(ctx, "&iccs_level=1&precinct=IC-1", 1,
                "AND i.precinct_id = (SELECT id FROM precincts WHERE code = 'IC-1')")
    check_sheet(ctx, "&iccs=01", 2, "AND o.iccs LIKE '01%'", "o.iccs LIKE '01%'")
    check_sheet(ctx, "&category=felony_assault&iccs_level=1", 1,
                "AND o.category = 'felony_assault'", "o.category = 'felony_assault'")
    check_sheet(ctx, "&offense=HOM,MISC&iccs=01&iccs_level=2", 2,
                "AND o.code = 'HOM'", "o.code = 'HOM'")
    # rows=category is today's sheet.
    a = get(ctx, "/v1/compstat?week_ending=2026-11-29")
    b = get(ctx, "/v1/compstat?week_ending=2026-11-29&rows=category")
    expect_eq(a["rows"], b["rows"], "rows=category is the default")


def test_bad_values(ctx):
    cases = [
        ("/v1/cube?by=iccs&iccs_level=0", "iccs_level"),
        ("/v1/cube?by=iccs&iccs_level=5", "iccs_level"),
        ("/v1/cube?by=iccs&iccs_level=two", "iccs_level"),
        ("/v1/cube?iccs_level=2", "iccs_level"),
        ("/v1/cube?by=iccsx", "by"),
        ("/v1/cube?iccs=99", "iccs"),
        ("/v1/cube?iccs=010", "iccs"),
        ("/v1/cube?iccs=", "iccs"),
        ("/v1/cube?iccs=,", "iccs"),
        ("/v1/cube?iccs=01,9999", "iccs"),
        ("/v1/compstat?rows=offense", "rows"),
        ("/v1/compstat?rows=iccs&iccs_level=9", "iccs_level"),
        ("/v1/compstat?iccs_level=2", "iccs_level"),
        ("/v1/compstat?rows=iccs&iccs=5", "iccs"),
    ]
    for path, field in cases:
        e = get(ctx, path, want=422)
        expect_eq(e["error"]["field"], field, path)


def test_restart_keeps_codes(ctx):
    before = get(ctx, "/v1/cube?by=iccs&iccs_level=3")["cells"]
    expect_eq(ctx["d"].stop(), 0)
    ctx["d"] = Daemon(ctx["ci"])
    ctx["d"].wait_ready()
    listed = {o["code"]: o["iccs"] for o in get(ctx, "/v1/offenses")["offenses"]}
    for code, *_rest, iccs in OFFENSES:
        expect_eq(listed[code], iccs, code + " after a restart")
    expect_eq(get(ctx, "/v1/cube?by=iccs&iccs_level=3")["cells"], before, "the same cube")
    expect_eq(len(get(ctx, "/v1/classifications/iccs")["codes"]), len(csv_rows()))


if __name__ == "__main__":
    run([test_migration_holds_the_csv, test_classification_list, test_offense_iccs_field,
         test_by_iccs_each_level, test_by_iccs_csv, test_iccs_prefix_filter,
         test_sheet_rows_iccs, test_bad_values, test_restart_keeps_codes], setup, teardown)
