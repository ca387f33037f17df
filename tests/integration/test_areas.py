#!/usr/bin/env python3
"""Areas (issue 18, item 1): an agency's precincts in a tree.

PUT /v1/areas/{code} builds the tree; every refusal (unknown parent, a
cycle, unknown or another agency's precincts, another agency's code, a
scoped token) is a 4xx naming the field and writes nothing. GET lists each
area with the precincts listed in it and all those below it, checked
against a recursive query in SQL. area= on the cube, the incident list,
hotspots and the COMPSTAT sheet counts what SQL counts for the precincts
below the area; on response times, workload and the unit list it answers
exactly what the equivalent precinct list answers; a live stream of an
area carries only its precincts' incidents. by=area&area_level= groups the
cube (and its rates: populations summed in SQL), response times and
workload by area. A precinct moved to another area is in the new area's
next answer; a scoped token sees an area's precincts within its own; a
token given areas (compstat-admin token create --areas) sees the precincts
below them as they are at each request; a restart reloads the tree; the
database refuses a cycle written by hand."""
import os
import random
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import SSE, Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa: E402


def square(i):
    x = i * 0.1
    return {"type": "Polygon",
            "coordinates": [[[x, 0], [x + 0.1, 0], [x + 0.1, 0.1], [x, 0.1], [x, 0]]]}


# Below: the precincts each area holds, by a recursive query.
HELD = ("WITH RECURSIVE below (id, root) AS ("
        " SELECT id, id FROM areas UNION ALL"
        " SELECT a.id, b.root FROM areas a JOIN below b ON a.parent_id = b.id)"
        " SELECT p.code FROM below b JOIN precincts p ON p.area_id = b.id"
        " JOIN areas r ON r.id = b.root WHERE r.code = :'p1' ORDER BY p.code")
COUNT = ("SELECT count(*) FROM incidents i JOIN offenses o ON o.id = i.offense_id"
         " JOIN precincts p ON p.id = i.precinct_id"
         " WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled') AND p.code = ANY(:'p1'::text[])")


def held(ctx, code):
    return [row[0] for row in psql(ctx["ci"], HELD, code)]


def sql_list(codes):
    return "{" + ",".join(codes) + "}"


def put(ctx, code, body, tok=None):
    return ctx["d"].request("PUT", "/v1/areas/" + code, body, tok or ctx["admin"])


def get(ctx, path, tok=None):
    st, _, body = ctx["d"].request("GET", path, None, tok or ctx["admin"])
    expect_eq(st, 200, "%s: %r" % (path, body))
    return body


def setup():
    ci = fresh_db("areas")
    admin = token(ci, "admin", "AR")
    other = token(ci, "admin", "OT")
    d = Daemon(ci)
    d.wait_ready()
    ctx = {"ci": ci, "d": d, "admin": admin, "other": other}
    for i in range(1, 6):
        expect_eq(d.request("PUT", "/v1/precincts/A%d" % i,
                            {"name": "Cantón %d" % i, "boundary": square(i),
                             "populations": {"2026": 10000 * i + 17, "2020": 9000 * i}},
                            admin)[0], 201)
    expect_eq(d.request("PUT", "/v1/precincts/O1", {"name": "Otra", "boundary": square(8)},
                        other)[0], 201)
    for code, cat in (("ROB", "robbery"), ("ASL", "assault")):
        expect_eq(d.request("PUT", "/v1/offenses/" + code, {"name": code, "category": cat},
                            admin)[0], 201)
    ctx["scoped"] = token(ci, "commander", "AR", "A1")
    ctx["commander"] = token(ci, "commander", "AR")
    # Incidents in every precinct, one unassigned, with response times and units.
    rnd = random.Random(18)
    incs = []
    for n in range(240):
        p = 1 + n % 5
        inc = {"source": "ar", "external_id": "i%d" % n, "offense": rnd.choice(["ROB", "ASL"]),
               "location": {"lon": p * 0.1 + 0.05, "lat": 0.05},
               "received_at": "2026-11-%02dT%02d:%02d:00Z" % (1 + n % 28, n % 24, n % 60),
               "dispatched_at": "2026-11-%02dT%02d:%02d:30Z" % (1 + n % 28, n % 24, n % 60),
               "units": ["U%d" % p]}
        if n % 3 == 0:
            inc["on_scene_at"] = "2026-11-%02dT%02d:59:00Z" % (1 + n % 28, n % 24)
        incs.append(inc)
    incs.append({"source": "ar", "external_id": "nowhere", "offense": "ROB",  # in no precinct
                 "location": {"lon": 5, "lat": 5}, "occurred_at": "2026-11-05T10:00:00Z"})
    st, _, resp = d.request("POST", "/v1/incidents", incs, admin)
    expect_eq((st, resp["accepted"]), (200, len(incs)), resp)
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def test_build_the_tree(ctx):
    st, _, a = put(ctx, "CR", {"name": "Costa Rica", "level": "país", "precincts": ["A4"]})
    expect_eq(st, 201, a)
    expect_eq((a["code"], a["level"], a["parent"], a["precincts"]), ("CR", "país", None, ["A4"]))
    st, _, a = put(ctx, "SJ", {"name": "San José", "level": "provincia", "parent": "CR",
                               "precincts": ["A1", "A2"]})
    expect_eq((st, a["parent"], a["all_precincts"]), (201, "CR", ["A1", "A2"]))
    expect_eq(put(ctx, "AL", {"name": "Alajuela", "level": "provincia", "parent": "CR",
                              "precincts": ["A3"]})[0], 201)
    expect_eq(put(ctx, "VACIA", {"name": "Vacía", "level": "región"})[0], 201)
    st, _, a = put(ctx, "SJ", {"name": "San José", "level": "provincia", "parent": "CR"})
    expect_eq((st, a["precincts"]), (200, ["A1", "A2"]), "precincts absent: kept")
    expect_eq(put(ctx, "OA", {"name": "Otra área", "level": "x", "precincts": ["O1"]},
                  ctx["other"])[0], 201)


def test_refusals_write_nothing(ctx):
    before = psql(ctx["ci"], "SELECT code, name, level, parent_id FROM areas ORDER BY code") + \
        psql(ctx["ci"], "SELECT code, area_id FROM precincts ORDER BY code")
    cases = [
        ("SJ", {"level": "provincia"}, 422, "name"),
        ("SJ", {"name": "x"}, 422, "level"),
        ("SJ", {"name": "x", "level": "p", "parent": "NOPE"}, 422, "parent"),
        ("SJ", {"name": "x", "level": "p", "parent": "OA"}, 422, "parent"),  # another agency's
        ("CR", {"name": "x", "level": "p", "parent": "SJ"}, 422, "parent"),  # a cycle
        ("SJ", {"name": "x", "level": "p", "parent": "SJ"}, 422, "parent"),  # its own parent
        ("SJ", {"name": "x", "level": "p", "precincts": ["A1", "NOPE"]}, 422, "precincts"),
        ("SJ", {"name": "x", "level": "p", "precincts": ["O1"]}, 422, "precincts"),
        ("SJ", {"name": "x", "level": "p", "precincts": "A1"}, 422, "precincts"),
        ("SJ", {"name": "x", "level": "p", "precincts": [1]}, 422, "precincts"),
        ("OA", {"name": "x", "level": "p"}, 409, "code"),
        ("bad code!", {"name": "x", "level": "p"}, 422, "code"),
    ]
    for code, body, status, field in cases:
        st, _, e = put(ctx, urllib.parse.quote(code), body)
        expect_eq((st, e["error"]["field"]), (status, field), "%s %r" % (code, body))
    st, _, e = put(ctx, "SJ", {"name": "x", "level": "p"}, ctx["scoped"])
    expect_eq(st, 403, "a commander may not write areas")
    after = psql(ctx["ci"], "SELECT code, name, level, parent_id FROM areas ORDER BY code") + \
        psql(ctx["ci"], "SELECT code, area_id FROM precincts ORDER BY code")
    expect_eq(after, before, "no refusal wrote anything")


def test_list_matches_sql(ctx):
    got = {a["code"]: a for a in get(ctx, "/v1/areas")["areas"]}
    expect_eq(sorted(got), ["AL", "CR", "SJ", "VACIA"], "only the agency's own areas")
    for code, a in got.items():
        expect_eq(a["all_precincts"], held(ctx, code), "all_precincts of " + code)
    expect_eq(get(ctx, "/v1/areas/CR")["all_precincts"], ["A1", "A2", "A3", "A4"])
    st, _, _ = ctx["d"].request("GET", "/v1/areas/OA", None, ctx["admin"])
    expect_eq(st, 404, "another agency's area is not there")


def expect_area_answers(ctx, why):
    for code in ("CR", "SJ", "AL", "VACIA"):
        codes = held(ctx, code)
        want = int(scalar(ctx["ci"], COUNT, sql_list(codes)))
        expect_eq(get(ctx, "/v1/cube?area=" + code)["total"], want, "cube %s %s" % (code, why))
        rows = get(ctx, "/v1/incidents?limit=1000&area=" + code)["incidents"]
        expect_eq(sorted({x["precinct"] for x in rows}) if rows else [],
                  sorted({c for c in codes if int(scalar(ctx["ci"], COUNT, sql_list([c])))}),
                  "incident list %s %s" % (code, why))
        fc = get(ctx, "/v1/hotspots?from=2026-11-01&to=2026-12-01&method=count&area=" + code)
        want_geo = int(scalar(ctx["ci"], COUNT + " AND i.counted_at >= '2026-11-01'"
                              " AND i.counted_at < '2026-12-01'", sql_list(codes)))
        expect_eq(sum(f["properties"]["count"] for f in fc["features"]), want_geo,
                  "hotspots %s %s" % (code, why))
        s = get(ctx, "/v1/compstat?week_ending=2026-11-29&area=" + code)
        expect_eq((s["area"], s["precinct"]), (code, None))
        for per in ("week", "d28", "ytd"):
            a, b = s["periods"][per]["current"]
            want_per = scalar(ctx["ci"], COUNT.replace(":'p1'", ":'p3'") +
                              " AND i.counted_at >= (:'p1'::date)::timestamp AT TIME ZONE 'UTC'"
                              " AND i.counted_at < (:'p2'::date + 1)::timestamp AT TIME ZONE 'UTC'",
                              a, b, sql_list(codes))
            expect_eq(s["rows"][-1][per]["current"], int(want_per),
                      "compstat %s %s %s" % (code, per, why))
        if codes:
            # Response times, workload and units: exactly the precinct list's answer.
            plist = ",".join(codes)
            for path in ("/v1/response-times?from=2026-11-01&to=2026-12-01&by=priority",
                         "/v1/reports/workload?from=2026-11-01&to=2026-12-01",
                         "/v1/units"):
                sep = "&" if "?" in path else "?"
                a = get(ctx, path + sep + "area=" + code)
                p = get(ctx, path + sep + "precinct=" + plist)
                for k in ("as_of", "generated_at"):
                    a.pop(k, None), p.pop(k, None)
                expect_eq(a, p, "%s area=%s %s" % (path, code, why))


def test_area_filters(ctx):
    expect_area_answers(ctx, "as built")
    st, _, e = ctx["d"].request("GET", "/v1/cube?area=NOPE", None, ctx["admin"])
    expect_eq((st, e["error"]["field"]), (422, "area"))
    st, _, e = ctx["d"].request("GET", "/v1/cube?area=OA", None, ctx["admin"])
    expect_eq((st, e["error"]["field"]), (422, "area"), "another agency's area is unknown here")
    for path in ("/v1/cube", "/v1/incidents", "/v1/units", "/v1/compstat"):
        st, _, e = ctx["d"].request("GET", path + "?area=SJ&precinct=A1", None, ctx["admin"])
        expect_eq((st, e["error"]["field"]), (422, "area"), path + ": precinct and area")
    for path in ("/v1/compstat", "/v1/hotspots", "/v1/response-times", "/v1/stream"):
        st, _, e = ctx["d"].request("GET", path + "?area=NOPE", None, ctx["admin"])
        expect_eq((st, e["error"]["field"]), (422, "area"), path + ": an unknown area")
    st, _, e = ctx["d"].request("GET", "/v1/hotspots?area=SJ&bbox=0,0,1,1", None, ctx["admin"])
    expect_eq((st, e["error"]["field"]), (422, "bbox"))


def test_a_move_is_in_the_next_answer(ctx):
    st, _, a = put(ctx, "AL", {"name": "Alajuela", "level": "provincia", "parent": "CR",
                               "precincts": ["A3", "A2"]})
    expect_eq((st, a["precincts"]), (200, ["A2", "A3"]))
    expect_eq(get(ctx, "/v1/areas/SJ")["precincts"], ["A1"], "A2 left San José")
    expect_area_answers(ctx, "after A2 moved")
    st, _, a = put(ctx, "AL", {"name": "Alajuela", "level": "provincia", "parent": "CR",
                               "precincts": []})
    expect_eq((st, a["all_precincts"]), (200, []), "an empty list empties the area")
    expect_eq(scalar(ctx["ci"], "SELECT string_agg(code, ',' ORDER BY code) FROM precincts"
                                " WHERE area_id IS NULL"), "A2,A3,A5", "in no area now")
    expect_area_answers(ctx, "after Alajuela emptied")


def test_scoped_token_sees_its_own(ctx):
    want = int(scalar(ctx["ci"], COUNT, "{A1}"))
    expect_eq(get(ctx, "/v1/cube?area=CR", ctx["scoped"])["total"], want,
              "a token for A1 asking the country counts A1")
    rows = get(ctx, "/v1/incidents?limit=1000&area=CR", ctx["scoped"])["incidents"]
    expect_eq({x["precinct"] for x in rows}, {"A1"})
    expect_eq(get(ctx, "/v1/cube?area=VACIA", ctx["scoped"])["total"], 0)
    s = get(ctx, "/v1/compstat?week_ending=2026-11-29&area=CR", ctx["scoped"])
    mine = get(ctx, "/v1/compstat?week_ending=2026-11-29&precinct=A1", ctx["scoped"])
    expect_eq(s["rows"], mine["rows"], "the country's sheet for a token of A1 is A1's")


def test_token_of_areas(ctx):
    tok = token(ctx["ci"], "commander", "AR", areas="SJ")
    who = get(ctx, "/v1/whoami", tok)
    expect_eq((who["precincts"], who["areas"]), (held(ctx, "SJ"), ["SJ"]))
    expect_eq(get(ctx, "/v1/cube", tok)["total"],
              int(scalar(ctx["ci"], COUNT, sql_list(held(ctx, "SJ")))))
    # A precinct added to the area is in the token's scope at the very next request.
    st, _, a = put(ctx, "SJ", {"name": "San José", "level": "provincia", "parent": "CR",
                               "precincts": ["A1", "A5"]})
    expect_eq((st, a["precincts"]), (200, ["A1", "A5"]))
    expect_eq(get(ctx, "/v1/whoami", tok)["precincts"], ["A1", "A5"])
    expect_eq(get(ctx, "/v1/cube", tok)["total"],
              int(scalar(ctx["ci"], COUNT, "{A1,A5}")), "the scope follows the area")
    rows = get(ctx, "/v1/incidents?limit=1000", tok)["incidents"]
    expect_eq({x["precinct"] for x in rows}, {"A1", "A5"})
    st, _, e = ctx["d"].request("GET", "/v1/cube?precinct=A4", None, tok)
    expect_eq(st, 403, "a precinct outside its areas")
    st, _, e = put(ctx, "SJ", {"name": "x", "level": "p"}, tok)
    expect_eq(st, 403, "a token of areas writes no areas")
    # Both: a token of a precinct and an area sees either's.
    both = token(ctx["ci"], "commander", "AR", precincts="A4", areas="SJ")
    expect_eq(get(ctx, "/v1/whoami", both)["precincts"], ["A4", "A1", "A5"])
    for areas, what in (("NOPE", "not an area of agency AR: NOPE"), ("OA", "OA"),
                        ("bad!", "is not an area code")):
        out = subprocess.run([os.environ["COMPSTAT_ADMIN_BIN"], "token", "create", "--database",
                              ctx["ci"], "--role", "commander", "--agency", "AR", "--areas",
                              areas], capture_output=True, text=True)
        expect((out.returncode != 0 and what in out.stderr and out.stdout == ""),
               "--areas %s: %r" % (areas, out))
    out = subprocess.run([os.environ["COMPSTAT_ADMIN_BIN"], "token", "list", "--database",
                          ctx["ci"], "--agency", "AR"], capture_output=True, text=True)
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    col = lines[0].index("areas")
    expect_eq(sorted(line[col] for line in lines[1:] if line[col]), ["SJ", "SJ"])


def test_by_area(ctx):
    # The tree now: CR (país) lists A4 and holds SJ (A1, A5) and AL (empty), both provincias.
    for level in ("provincia", "país"):
        lv = urllib.parse.quote(level)
        c = get(ctx, "/v1/cube?by=area&area_level=" + lv)
        expect_eq(c["by"], ["area"])
        got = {cell["area"]: cell["count"] for cell in c["cells"]}
        areas = [a["code"] for a in get(ctx, "/v1/areas")["areas"] if a["level"] == level]
        want, covered = {}, []
        for code in areas:
            n = int(scalar(ctx["ci"], COUNT, sql_list(held(ctx, code))))
            if n:
                want[code] = n
            covered += held(ctx, code)
        rest = int(scalar(ctx["ci"], "SELECT count(*) FROM incidents i JOIN offenses o"
                                     " ON o.id = i.offense_id LEFT JOIN precincts p"
                                     " ON p.id = i.precinct_id WHERE o.crime"
                                     " AND i.status NOT IN ('unfounded', 'cancelled')"
                                     " AND (p.code IS NULL OR p.code <> ALL(:'p1'::text[]))",
                          sql_list(covered)))
        if rest:
            want[None] = rest  # precincts with no area at that level, and the unassigned
        expect_eq(got, want, "by=area at " + level)
        csv = ctx["d"].request("GET", "/v1/cube?by=area&area_level=%s&format=csv" % lv,
                               None, ctx["admin"], raw=True)[2].decode()
        lines = csv.strip().split("\r\n")
        expect_eq(lines[0].split(",")[0], "area")
        expect_eq({(l.split(",")[0] or None): int(l.split(",")[-1]) for l in lines[1:]}, want,
                  "CSV by=area at " + level)
    # Rates: an area's population is its precincts' (summed in SQL), for 2026.
    c = get(ctx, "/v1/cube?from=2026-11-01&to=2026-12-01&by=area&area_level=provincia"
                 "&rates=true")
    for cell in c["cells"]:
        if cell["area"] is None:
            expect_eq((cell["population"], cell["rate_per_100k"]), (None, None), "null: no area")
            continue
        pop = int(scalar(ctx["ci"], "SELECT sum(pp.population) FROM precinct_populations pp"
                                    " JOIN precincts p ON p.id = pp.precinct_id"
                                    " WHERE pp.year = 2026 AND p.code = ANY(:'p1'::text[])",
                         sql_list(held(ctx, cell["area"]))))
        rate = float(scalar(ctx["ci"], "SELECT round(:'p1'::numeric * 100000 / :'p2', 2)",
                            cell["count"], pop))
        expect_eq((cell["population"], cell["rate_per_100k"]), (pop, rate),
                  "rate of " + cell["area"])
    s = get(ctx, "/v1/compstat?week_ending=2026-11-29&area=CR")
    pop = int(scalar(ctx["ci"], "SELECT sum(pp.population) FROM precinct_populations pp"
                                " JOIN precincts p ON p.id = pp.precinct_id"
                                " WHERE pp.year = 2026 AND p.code = ANY(:'p1'::text[])",
                     sql_list(held(ctx, "CR"))))
    d28 = s["rows"][-1]["d28"]
    expect_eq(d28["rate"], float(scalar(ctx["ci"], "SELECT round(:'p1'::numeric * 100000 / :'p2', 2)",
                                        s["rows"][-1]["d28"]["current"], pop)), "the area's sheet rate")
    # Response times and workload: an area's row is the area's own answer.
    rt = get(ctx, "/v1/response-times?from=2026-11-01&to=2026-12-01&by=area&area_level=provincia")
    expect_eq(rt["by"], ["area"])
    for row in rt["rows"]:
        if row["area"] is None:
            continue
        one = get(ctx, "/v1/response-times?from=2026-11-01&to=2026-12-01&area=" + row["area"])
        expect_eq({k: v for k, v in row.items() if k != "area"}, one["rows"][0],
                  "response times of " + row["area"])
    wl = get(ctx, "/v1/reports/workload?from=2026-11-01&to=2026-12-01&by=area"
                  "&area_level=provincia")
    expect_eq(wl["by"], "area")
    for row in wl["rows"]:
        if row["area"] is None:
            continue
        per = get(ctx, "/v1/reports/workload?from=2026-11-01&to=2026-12-01&by=precinct&area=" +
                  row["area"])
        expect_eq(row["incidents"], sum(r["incidents"] for r in per["rows"]),
                  "workload of " + row["area"])
    for path in ("/v1/cube?by=area", "/v1/cube?by=area&area_level=nivel",
                 "/v1/response-times?by=area", "/v1/reports/workload?by=area&area_level=x"):
        st, _, e = ctx["d"].request("GET", path, None, ctx["admin"])
        expect_eq((st, e["error"]["field"]), (422, "area_level"), path)
    for path in ("/v1/cube?by=area,precinct&area_level=provincia",
                 "/v1/response-times?by=precinct,area&area_level=provincia"):
        st, _, e = ctx["d"].request("GET", path, None, ctx["admin"])
        expect_eq((st, e["error"]["field"]), (422, "by"), path)


def test_stream_of_an_area(ctx):
    s = SSE(ctx["d"].port, "/v1/stream?area=SJ", ctx["admin"])
    expect_eq(s.status, 200)
    s.until("ready")
    for n, p in ((1, 4), (2, 5)):  # A4 lies outside San José, A5 inside
        inc = {"source": "ar", "external_id": "live%d" % n, "offense": "ROB",
               "location": {"lon": p * 0.1 + 0.05, "lat": 0.05},
               "occurred_at": "2026-11-20T10:00:00Z"}
        expect_eq(ctx["d"].request("POST", "/v1/incidents", inc, ctx["admin"])[0], 201)
    incidents = [e for e in s.until("incident") if e[0] == "incident"]
    expect_eq(incidents[0][1]["incident"]["external_id"], "live2",
              "the stream of San José skips A4's")
    # A4 moves into San José: the stream ends, and resumes with it.
    st, _, a = put(ctx, "SJ", {"name": "San José", "level": "provincia", "parent": "CR",
                               "precincts": ["A1", "A4", "A5"]})
    expect_eq(st, 200, a)
    while True:
        ev = s.next(timeout=5)
        if ev is None:
            break
    last = s.last_id
    s.close()
    s = SSE(ctx["d"].port, "/v1/stream?area=SJ", ctx["admin"], last_id=last)
    expect_eq(s.status, 200)
    expect_eq(s.until("ready")[-1][1]["resumed"], True, "nothing missed")
    inc = {"source": "ar", "external_id": "live3", "offense": "ROB",
           "location": {"lon": 4 * 0.1 + 0.05, "lat": 0.05}, "occurred_at": "2026-11-20T11:00:00Z"}
    expect_eq(ctx["d"].request("POST", "/v1/incidents", inc, ctx["admin"])[0], 201)
    incidents = [e for e in s.until("incident") if e[0] == "incident"]
    expect_eq(incidents[0][1]["incident"]["external_id"], "live3", "A4's incidents now")
    s.close()
    st, _, a = put(ctx, "SJ", {"name": "San José", "level": "provincia", "parent": "CR",
                               "precincts": ["A1", "A5"]})
    expect_eq(st, 200, a)


def test_restart_reloads(ctx):
    before = get(ctx, "/v1/areas")
    expect_eq(ctx["d"].stop(), 0)
    ctx["d"] = Daemon(ctx["ci"])
    ctx["d"].wait_ready()
    expect_eq(get(ctx, "/v1/areas"), before)
    expect_area_answers(ctx, "after a restart")


def test_database_refuses_a_cycle(ctx):
    try:
        psql(ctx["ci"], "UPDATE areas SET parent_id = (SELECT id FROM areas WHERE code = 'SJ')"
                        " WHERE code = 'CR'")
        expect(False, "a cycle written by hand was accepted")
    except Exception as e:  # noqa: BLE001
        expect("own ancestor" in str(e), str(e))


if __name__ == "__main__":
    run([test_build_the_tree, test_refusals_write_nothing, test_list_matches_sql,
         test_area_filters, test_a_move_is_in_the_next_answer, test_scoped_token_sees_its_own,
         test_token_of_areas, test_by_area, test_stream_of_an_area, test_restart_reloads, test_database_refuses_a_cycle], setup, teardown)
