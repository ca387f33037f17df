#!/usr/bin/env python3
"""The incidents behind a count (issue 19, item 5): GET /v1/incidents with
counted=true lists exactly the rows the cube, the COMPSTAT sheet and the
hotspots count (crimes, neither unfounded nor cancelled, by counting time),
and cell=w,s,e,n exactly the rows of a hotspot cell (west and south edges
in, east and north out). Checked against SQL over the same rows and against
the counts the daemon answers, every period of the sheet and every cell of
the map."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, expect, expect_eq, fresh_db, run, scalar, token  # noqa: E402

W, S, E, N = -84.10, 9.90, -84.00, 10.00
BOX = {"type": "Polygon", "coordinates": [[[W, S], [E, S], [E, N], [W, N], [W, S]]]}
BOX2 = {"type": "Polygon", "coordinates": [[[E, S], [E + 0.1, S], [E + 0.1, N], [E, N], [E, S]]]}
WEEK = "2026-11-29"


def setup():
    ci = fresh_db("drilldown")
    adm = token(ci, "admin", "CR")
    d = Daemon(ci)
    d.wait_ready()
    st, _, r = d.request("PUT", "/v1/agencies/CR", {"name": "CR", "time_zone": "America/Costa_Rica"},
                         adm)
    expect_eq(st, 200, r)
    for code, box in (("CR-1", BOX), ("CR-2", BOX2)):
        st, _, r = d.request("PUT", "/v1/precincts/" + code, {"name": code, "boundary": box}, adm)
        expect(st in (200, 201), r)
    for code, cat, crime in (("ROB", "robbery", True), ("HUR", "theft", True),
                             ("ALARM", "other", False)):
        st, _, r = d.request("PUT", "/v1/offenses/" + code, {"name": code, "category": cat,
                                                              "crime": crime}, adm)
        expect(st in (200, 201), r)
    rnd = random.Random(19)
    incs = []
    for i in range(900):
        day = rnd.randrange(0, 400)
        lon = round(rnd.uniform(W, E + 0.1), 6)
        lat = round(rnd.uniform(S, N), 6)
        inc = {"source": "dd", "external_id": str(i), "offense": rnd.choice(["ROB", "HUR", "ALARM"]),
               "location": {"lat": lat, "lon": lon},
               "status": rnd.choice(["open", "cleared", "cleared", "unfounded", "cancelled"])}
        when = "2026-11-29T12:00:00-06:00"
        # Spread over 400 days before the week's Sunday, some by received time only.
        import datetime
        t = datetime.datetime(2026, 11, 29, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=-6)))
        when = (t - datetime.timedelta(days=day, hours=rnd.randrange(0, 24))).isoformat()
        inc["received_at" if i % 5 == 0 else "occurred_at"] = when
        incs.append(inc)
    st, _, r = d.request("POST", "/v1/incidents", incs, adm)
    expect_eq((st, r["accepted"]), (200, 900), r)
    return {"ci": ci, "d": d, "admin": adm, "reader": token(ci, "commander", "CR")}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def listed(d, tok, q):
    """Every row of a list, page by page (the cursor)."""
    rows, cursor = [], None
    while True:
        st, _, r = d.request("GET", "/v1/incidents?limit=1000&" + q +
                             ("&cursor=" + cursor if cursor else ""), None, tok)
        expect_eq(st, 200, r)
        rows += r["incidents"]
        cursor = r["next_cursor"]
        if not cursor:
            return rows


def test_the_sheet_counts_what_the_list_lists(ctx):
    d, tok, ci = ctx["d"], ctx["reader"], ctx["ci"]
    st, _, sheet = d.request("GET", "/v1/compstat?week_ending=" + WEEK, None, tok)
    expect_eq(st, 200, sheet)
    checked = 0
    for row in sheet["rows"]:
        for period in ("week", "d28", "ytd"):
            for side in ("current", "prior"):
                frm, to = sheet["periods"][period][side]
                end = scalar(ci, "SELECT (:'p1'::date + 1)::text", to)
                q = "counted=true&from=%s&to=%s" % (frm, end)
                if row["category"] != "total":
                    q += "&category=" + row["category"]
                rows = listed(d, tok, q)
                expect_eq(len(rows), row[period][side], (row["category"], period, side))
                sql = scalar(ci, """
                    SELECT count(*) || ' ' || coalesce(string_agg(i.id::text, ',' ORDER BY i.id), '')
                    FROM incidents i JOIN offenses o ON o.id = i.offense_id
                    WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled')
                      AND (o.category = :'p1' OR :'p1' = 'total')
                      AND i.counted_at >= (:'p2'::date::timestamp AT TIME ZONE 'America/Costa_Rica')
                      AND i.counted_at < (:'p3'::date::timestamp AT TIME ZONE 'America/Costa_Rica')""",
                             row["category"], frm, end)
                n, ids = (sql.split(" ") + [""])[:2]
                expect_eq(len(rows), int(n), "and SQL over the same rows")
                expect_eq(",".join(str(i) for i in sorted(x["id"] for x in rows)), ids,
                          "the very rows SQL finds")
                checked += row[period][side] > 0
    expect(checked >= 6, "some counts are not zero", checked)
    # Without counted=true the list keeps every row (the API as before).
    st, _, r = d.request("GET", "/v1/incidents?limit=1000&from=2020-01-01", None, tok)
    expect_eq(len(r["incidents"]), 900)
    for bad in ("yes", "1", ""):
        st, _, r = d.request("GET", "/v1/incidents?counted=" + bad, None, tok)
        expect_eq((st, r["error"]["field"]), (422, "counted"), bad)


def test_a_cell_lists_what_the_map_counts(ctx):
    d, tok = ctx["d"], ctx["reader"]
    frm, to = "2025-11-03", "2026-11-30"
    for precinct in ("CR-1", "CR-2"):
        st, _, fc = d.request("GET", "/v1/hotspots?method=count&cell_m=1000&precinct=%s&from=%s&to=%s"
                              % (precinct, frm, to), None, tok)
        expect_eq(st, 200, fc)
        cells = [f for f in fc["features"] if f["properties"]["count"] > 0]
        expect(len(cells) > 20, "cells to check", len(cells))
        for f in cells:
            ring = f["geometry"]["coordinates"][0]
            lons, lats = [p[0] for p in ring], [p[1] for p in ring]
            box = "%.17g,%.17g,%.17g,%.17g" % (min(lons), min(lats), max(lons), max(lats))
            rows = listed(d, tok, "counted=true&precinct=%s&from=%s&to=%s&cell=%s"
                          % (precinct, frm, to, box))
            expect_eq(len(rows), f["properties"]["count"], (precinct, box))
            for x in rows:
                lo, la = x["location"]["lon"], x["location"]["lat"]
                expect(min(lons) <= lo < max(lons) and min(lats) <= la < max(lats), (x, box))


def test_cell_edges(ctx):
    d, adm, tok = ctx["d"], ctx["admin"], ctx["reader"]
    incs = [{"source": "edge", "external_id": name, "offense": "ROB", "precinct": "CR-1",
             "location": {"lat": lat, "lon": lon}, "occurred_at": "2026-11-25T10:00:00-06:00"}
            for name, lon, lat in (("sw", -84.05, 9.95), ("e", -84.04, 9.955), ("n", -84.045, 9.96),
                                   ("in", -84.045, 9.955))]
    st, _, r = d.request("POST", "/v1/incidents", incs, adm)
    expect_eq(st, 200, r)
    rows = listed(d, tok, "cell=-84.05,9.95,-84.04,9.96&from=2026-11-25&to=2026-11-26")
    got = sorted(x["external_id"] for x in rows if x["external_id"] in ("sw", "e", "n", "in"))
    expect_eq(got, ["in", "sw"], "the west and south edges are in, the east and north out")
    for bad in ("1,2,3", "x,1,2,3", "-84,9.9,-85,10", "200,0,201,1"):
        st, _, r = d.request("GET", "/v1/incidents?cell=" + bad, None, tok)
        expect_eq((st, r["error"]["field"]), (422, "cell"), bad)


if __name__ == "__main__":
    run([test_the_sheet_counts_what_the_list_lists, test_a_cell_lists_what_the_map_counts,
         test_cell_edges], setup, teardown)
