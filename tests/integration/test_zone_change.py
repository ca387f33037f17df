#!/usr/bin/env python3
"""An agency's time zone changes: its hotspot grid, which counts local days,
is rebuilt for the new zone while every other agency goes on; until then its
hotspots answer 503, never the old zone's days. Counts come from SQL."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, expect, expect_eq, fresh_db, run, scalar, token  # noqa: E402

SQ = {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0]]]}


def setup():
    ci = fresh_db("zone_change")
    ctx = {"ci": ci, "n": 0,
           "snap": ["--snapshot-path", os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                    "zc-%d.snap" % os.getpid())]}
    d = Daemon(ci, ctx["snap"])
    d.wait_ready()
    ctx["d"] = d
    for ag, zone in (("ZA", "America/Chicago"), ("ZB", "America/Guatemala")):
        ctx[ag] = token(ci, "admin", ag)
        expect_eq(d.request("PUT", "/v1/agencies/" + ag, {"name": ag, "time_zone": zone},
                            ctx[ag])[0], 200)
        expect_eq(d.request("PUT", "/v1/precincts/%s-1" % ag, {"name": ag, "boundary": SQ},
                            ctx[ag])[0], 201)
        st, _, _ = d.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                             ctx[ag])
        expect(st in (200, 201))
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def incs(ctx, n, when):
    out = []
    for i in range(n):
        ctx["n"] += 1
        out.append({"source": "zc", "external_id": "z%d" % ctx["n"], "offense": "ROB",
                    "location": {"lat": 0.01 + (i % 9) * 0.009, "lon": 0.01 + (i % 7) * 0.012},
                    "occurred_at": when})
    return out


def hotspot_count(ctx, day, nextday):
    st, _, fc = ctx["d"].request("GET", "/v1/hotspots?from=%s&to=%s&precinct=ZA-1&method=count"
                                 % (day, nextday), None, ctx["ZA"])
    return st, (sum(f["properties"]["count"] for f in fc["features"]) if st == 200 else None)


def sql_count(ctx, day, zone):
    return int(scalar(ctx["ci"], """
        SELECT count(*) FROM incidents i JOIN agencies a ON a.id = i.agency_id
        WHERE a.code = 'ZA' AND i.counted_at >= (:'p1'::date)::timestamp AT TIME ZONE :'p2'
          AND i.counted_at < (:'p1'::date + 1)::timestamp AT TIME ZONE :'p2'""", day, zone))


def test_zone_change_rebuilds_that_agency_alone(ctx):
    d = ctx["d"]
    # Late evening in Chicago is the next day in UTC.
    for body in (incs(ctx, 30, "2026-11-20T23:30:00-06:00"), incs(ctx, 20, "2026-11-20T12:00:00-06:00")):
        st, _, r = d.request("POST", "/v1/incidents", body, ctx["ZA"])
        expect_eq((st, r["accepted"]), (200, len(body)))
    expect_eq(hotspot_count(ctx, "2026-11-20", "2026-11-21"),
              (200, sql_count(ctx, "2026-11-20", "America/Chicago")), "Chicago's 20 November")
    stop, codes = threading.Event(), []

    def other_agency():
        while not stop.is_set():
            c = d.connect()
            import json
            c.request("POST", "/v1/incidents", body=json.dumps(incs(ctx, 3, "2026-11-21T10:00:00Z")),
                      headers={"Authorization": "Bearer " + ctx["ZB"],
                               "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            c.close()
            codes.append(r.status)

    t = threading.Thread(target=other_agency)
    t.start()
    try:
        expect_eq(d.request("PUT", "/v1/agencies/ZA", {"name": "ZA", "time_zone": "UTC"},
                            ctx["ZA"])[0], 200)
        # A change while the grid is rebuilt is in it afterwards.
        st, _, r = d.request("POST", "/v1/incidents", incs(ctx, 5, "2026-11-21T00:30:00Z"),
                             ctx["ZA"])
        expect_eq((st, r["accepted"]), (200, 5))
        deadline = time.time() + 60
        while True:
            st, got = hotspot_count(ctx, "2026-11-21", "2026-11-22")
            if st == 200 or time.time() > deadline:
                break
            expect_eq(st, 503, "while rebuilding: 503, never the old zone's days")
            time.sleep(0.05)
    finally:
        stop.set()
        t.join()
    expect_eq(st, 200, "rebuilt")
    expect_eq(got, sql_count(ctx, "2026-11-21", "UTC"), "UTC's 21 November after the change")
    expect_eq(hotspot_count(ctx, "2026-11-20", "2026-11-21"),
              (200, sql_count(ctx, "2026-11-20", "UTC")), "UTC's 20 November")
    expect(codes and all(c == 200 for c in codes), "the other agency's posts: %r" % set(codes))
    st, _, fc = d.request("GET", "/v1/hotspots?from=2026-11-21&to=2026-11-22&precinct=ZB-1"
                          "&method=count", None, ctx["ZB"])
    expect_eq(st, 200)
    expect_eq(sum(f["properties"]["count"] for f in fc["features"]),
              int(scalar(ctx["ci"], "SELECT count(*) FROM incidents i JOIN agencies a ON a.id ="
                                    " i.agency_id WHERE a.code = 'ZB'")),
              "the other agency's hotspots")
    expect("time zone changed" in d.log(), d.log()[-2000:])
    # A restart (from the snapshot written at the stop) has the new zone's days too.
    expect_eq(d.stop(), 0)
    ctx["d"] = d = Daemon(ctx["ci"], ctx["snap"])
    d.wait_ready()
    expect_eq(hotspot_count(ctx, "2026-11-21", "2026-11-22"),
              (200, sql_count(ctx, "2026-11-21", "UTC")), "after a restart")


if __name__ == "__main__":
    run([test_zone_change_rebuilds_that_agency_alone], setup, teardown)
