#!/usr/bin/env python3
"""Calls that are not crimes, and calls no caller made (issue 16, items 4-5).

An offense with "crime": false (a traffic accident, a complaint) keeps its
calls in response times, workload and the unit board, and out of every crime
count: the cube, the COMPSTAT sheet, hotspots and the cube events of the
stream. Changing the flag moves every incident of the offense in or out at
once -- also while other calls are being posted -- and a restart agrees.
A self-initiated call leaves the queue, travel and response intervals and
keeps on scene and committed time. Every expected number comes from SQL."""
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import SSE, Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa: E402

SQ = {"type": "Polygon", "coordinates": [[[0, 0], [0.2, 0], [0.2, 0.2], [0, 0.2], [0, 0]]]}
CRIMES = ("SELECT count(*) FROM incidents i JOIN offenses o ON o.id = i.offense_id"
          " WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled')")


def setup():
    ci = fresh_db("not_crimes")
    admin = token(ci, "admin", "NC")
    d = Daemon(ci, ["--snapshot-path", os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                     "nc-%d.snap" % os.getpid())])
    d.wait_ready()
    ctx = {"ci": ci, "d": d, "admin": admin, "n": 0}
    expect_eq(d.request("PUT", "/v1/precincts/NC-1", {"name": "One", "boundary": SQ}, admin)[0], 201)
    st, _, o = d.request("PUT", "/v1/offenses/ROB", {"name": "Robbery", "category": "robbery"},
                         admin)
    expect_eq((st, o["crime"]), (201, True), "an offense is a crime by default")
    st, _, o = d.request("PUT", "/v1/offenses/ACC", {"name": "Auto accident", "category": "other",
                                                     "crime": False}, admin)
    expect_eq((st, o["crime"]), (201, False), "a call type that is not a crime")
    st, _, o = d.request("PUT", "/v1/offenses/ACC", {"name": "Auto accident", "category": "other"},
                         admin)
    expect_eq((st, o["crime"]), (200, False), "absent: the flag stays")
    st, _, e = d.request("PUT", "/v1/offenses/ACC", {"name": "x", "category": "other",
                                                     "crime": "no"}, admin)
    expect_eq((st, e["error"]["field"]), (422, "crime"))
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def call(ctx, offense, **kw):
    ctx["n"] += 1
    inc = {"source": "nc", "external_id": "c%d" % ctx["n"], "offense": offense,
           "location": {"lat": 0.1 + (ctx["n"] % 7) * 0.01, "lon": 0.1 + (ctx["n"] % 5) * 0.01},
           "received_at": "2026-11-24T10:%02d:00Z" % (ctx["n"] % 60),
           "dispatched_at": "2026-11-24T11:00:00Z", "en_route_at": "2026-11-24T11:02:00Z",
           "on_scene_at": "2026-11-24T11:10:00Z", "cleared_at": "2026-11-24T11:40:00Z",
           "units": ["U%d" % (ctx["n"] % 3)]}
    inc.update(kw)
    return inc


def post(ctx, incs):
    st, _, resp = ctx["d"].request("POST", "/v1/incidents", incs, ctx["admin"])
    expect_eq((st, resp["accepted"]), (200, len(incs)), "post")
    return resp


def cube_total(ctx):
    st, _, c = ctx["d"].request("GET", "/v1/cube", None, ctx["admin"])
    expect_eq(st, 200)
    return c["total"]


def hotspot_total(ctx):
    st, _, fc = ctx["d"].request("GET", "/v1/hotspots?from=2026-11-01&to=2026-12-01&precinct=NC-1"
                                 "&method=count", None, ctx["admin"])
    expect_eq(st, 200)
    return sum(f["properties"]["count"] for f in fc["features"])


def expect_counts_are_sql(ctx, why):
    want = int(scalar(ctx["ci"], CRIMES))
    expect_eq(cube_total(ctx), want, "cube total " + why)
    expect_eq(hotspot_total(ctx), int(scalar(ctx["ci"], CRIMES + " AND i.geom IS NOT NULL"
                                                              " AND i.counted_at >= '2026-11-01'"
                                                              " AND i.counted_at < '2026-12-01'")),
              "hotspot counts " + why)
    st, _, s = ctx["d"].request("GET", "/v1/compstat?week_ending=2026-11-29", None, ctx["admin"])
    expect_eq(st, 200)
    expect_eq(s["rows"][-1]["week"]["current"],
              int(scalar(ctx["ci"], CRIMES + " AND i.counted_at >= '2026-11-23'"
                                             " AND i.counted_at < '2026-11-30'")),
              "the sheet's week " + why)


def test_non_crime_calls_leave_crime_counts_only(ctx):
    d = ctx["d"]
    s = SSE(d.port, "/v1/stream", ctx["admin"])
    s.until("ready")
    post(ctx, [call(ctx, "ROB") for _ in range(6)] + [call(ctx, "ACC") for _ in range(9)])
    expect_counts_are_sql(ctx, "with non-crime calls")
    expect_eq(cube_total(ctx), 6, "only the robberies")
    # The stream carries every call, and cube events only for crimes.
    kinds = {"incident": 0, "cube": 0}
    try:
        while True:
            ev = s.next(timeout=2 if kinds["incident"] >= 15 else 10)
            expect(ev is not None, "stream open")
            kinds[ev[0]] = kinds.get(ev[0], 0) + 1
    except TimeoutError:
        pass
    expect_eq(kinds["incident"], 15, "every call is an incident event")
    expect_eq(kinds["cube"], 6, "a cube event for each crime only")
    s.close()
    # Response times, workload and the unit board keep every call.
    st, _, rt = d.request("GET", "/v1/response-times?from=2026-11-24&to=2026-11-25", None,
                          ctx["admin"])
    expect_eq(st, 200)
    expect_eq(sum(r["incidents"] for r in rt["rows"]),
              int(scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE received_at IS NOT NULL")),
              "response times count every call")
    st, _, wl = d.request("GET", "/v1/reports/workload?from=2026-11-24&to=2026-11-25&by=unit",
                          None, ctx["admin"])
    expect_eq(st, 200)
    expect_eq(sum(r["incidents"] for r in wl["rows"] if r["unit"]),
              int(scalar(ctx["ci"], "SELECT count(*) FROM incidents i, unnest(i.units) u"
                                    " WHERE i.received_at IS NOT NULL")),
              "workload counts every call")


def test_changing_the_flag_moves_every_incident(ctx):
    d = ctx["d"]
    expect_counts_are_sql(ctx, "before")
    stop = threading.Event()
    errors = []

    def poster():
        k = 0
        while not stop.is_set():
            k += 1
            batch = [call(ctx, "ACC" if (k + i) % 2 else "ROB") for i in range(5)]
            conn = d.connect()
            conn.request("POST", "/v1/incidents", body=json.dumps(batch).encode(),
                         headers={"Authorization": "Bearer " + ctx["admin"],
                                  "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            conn.close()
            if r.status != 200:
                errors.append(r.status)

    t = threading.Thread(target=poster)
    t.start()
    try:
        for flip in range(6):
            crime = flip % 2 == 0
            st, _, o = d.request("PUT", "/v1/offenses/ACC", {"name": "Auto accident",
                                                             "category": "other", "crime": crime},
                                 ctx["admin"])
            expect_eq((st, o["crime"]), (200, crime), "flip %d" % flip)
            time.sleep(0.05)  # posts commit between the flips too
    finally:
        stop.set()
        t.join()
    expect_eq(errors, [], "posts during the flips")
    expect(ctx["n"] > 60, "calls were posted during the flips: %d" % ctx["n"])
    expect_counts_are_sql(ctx, "after six flips under load")
    # The flag is false again: true makes every accident count.
    n_acc = int(scalar(ctx["ci"], "SELECT count(*) FROM incidents i JOIN offenses o ON"
                                  " o.id = i.offense_id WHERE o.code = 'ACC'"))
    before = cube_total(ctx)
    st, _, _ = d.request("PUT", "/v1/offenses/ACC", {"name": "Auto accident", "category": "other",
                                                     "crime": True}, ctx["admin"])
    expect_eq(st, 200)
    expect_eq(cube_total(ctx), before + n_acc, "every accident counts at once")
    expect_counts_are_sql(ctx, "accidents as crimes")
    st, _, _ = d.request("PUT", "/v1/offenses/ACC", {"name": "Auto accident", "category": "other",
                                                     "crime": False}, ctx["admin"])
    expect_eq(cube_total(ctx), before, "and leave at once")


def test_a_restart_agrees(ctx):
    d = ctx["d"]
    expect_counts_are_sql(ctx, "before the restart")
    expect_eq(d.stop(), 0)
    ctx["d"] = d = Daemon(ctx["ci"], ["--snapshot-path", os.path.join(
        os.environ.get("TMPDIR", "/tmp"), "nc-%d.snap" % os.getpid())])
    d.wait_ready()
    expect_counts_are_sql(ctx, "after a restart from the snapshot")
    # The flag changed while it was down: the snapshot is stale, the rebuild agrees.
    expect_eq(d.stop(), 0)
    psql(ctx["ci"], "UPDATE offenses SET crime = true WHERE code = 'ACC'")
    ctx["d"] = d = Daemon(ctx["ci"], ["--snapshot-path", os.path.join(
        os.environ.get("TMPDIR", "/tmp"), "nc-%d.snap" % os.getpid())])
    d.wait_ready()
    expect("is stale" in d.log(), "a changed flag makes the snapshot stale", d.log())
    expect_counts_are_sql(ctx, "flag changed while down")
    st, _, _ = d.request("PUT", "/v1/offenses/ACC", {"name": "Auto accident", "category": "other",
                                                     "crime": False}, ctx["admin"])
    expect_eq(st, 200)
    expect_counts_are_sql(ctx, "flag back")


def test_self_initiated_calls(ctx):
    d = ctx["d"]
    day = dict(received_at="2026-11-25T10:00:00Z", dispatched_at="2026-11-25T10:01:00Z",
               en_route_at="2026-11-25T10:02:00Z", on_scene_at="2026-11-25T10:09:00Z",
               cleared_at="2026-11-25T10:30:00Z")
    a = call(ctx, "ROB", self_initiated=True, **day)
    b = call(ctx, "ROB", **day)
    resp = post(ctx, [a, b])
    expect_eq([r["self_initiated"] for r in resp["results"]], [True, False], "stored and shown")

    def check(why):
        st, _, rt = d.request("GET", "/v1/response-times?from=2026-11-25&to=2026-11-26", None,
                              ctx["admin"])
        expect_eq(st, 200)
        row = rt["rows"][0]
        for name, cond in (("queue", "NOT self_initiated AND dispatched_at IS NOT NULL"),
                           ("travel", "NOT self_initiated AND on_scene_at IS NOT NULL"),
                           ("response", "NOT self_initiated AND on_scene_at IS NOT NULL"),
                           ("on_scene", "cleared_at IS NOT NULL AND on_scene_at IS NOT NULL"),
                           ("committed", "cleared_at IS NOT NULL")):
            want = int(scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE received_at >="
                                         " '2026-11-25' AND received_at < '2026-11-26' AND " + cond))
            expect_eq(row[name]["n"], want, "%s n %s" % (name, why))
        expect_eq(row["incidents"], 2, "both calls " + why)

    check("with one self-initiated")
    st, _, p = d.request("PATCH", "/v1/incidents/nc/" + a["external_id"], {"self_initiated": False},
                         ctx["admin"])
    expect_eq((st, p["self_initiated"], p["version"]), (200, False, 2), "PATCH clears it")
    check("after the PATCH")
    st, _, e = d.request("POST", "/v1/incidents", call(ctx, "ROB", self_initiated="yes"),
                         ctx["admin"])
    expect_eq((st, e["error"]["field"]), (422, "self_initiated"))


def test_geojson_is_geo_json(ctx):
    for path in ("/v1/precincts?format=geojson", "/v1/incidents?format=geojson"):
        st, h, body = ctx["d"].request("GET", path, None, ctx["admin"])
        expect_eq((st, h.get("Content-Type")), (200, "application/geo+json"), path)
        expect_eq(body["type"], "FeatureCollection", path)
    st, h, _ = ctx["d"].request("GET", "/v1/precincts", None, ctx["admin"])
    expect_eq(h.get("Content-Type"), "application/json", "plain JSON stays JSON")


if __name__ == "__main__":
    run([test_non_crime_calls_leave_crime_counts_only, test_changing_the_flag_moves_every_incident,
         test_a_restart_agrees, test_self_initiated_calls, test_geojson_is_geo_json],
        setup, teardown)
