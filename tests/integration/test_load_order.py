#!/usr/bin/env python3
"""Start-up in two halves: the count cube answers before the response-time
cube is in, and nothing is written until everything is.

300,000 synthetic incidents (tools/bench-setup.sql and tools/bench-data.sql,
the benchmarks' own generator) make the second half of the load last long
enough to watch. While the daemon starts we poll, every few milliseconds,
the cube (by category), response times and a POST, and check:

- the cube answers before response times do, and while only it answers its
  numbers equal SQL's (the load is complete for it);
- while response times are not in, every write gets 503 and /readyz says
  not ready (with counts_loaded true) -- a write then would be missing
  from the response-time cube;
- once everything is in, writes go through and response times equal SQL.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, bench_sql, expect, expect_eq, fresh_db, run, scalar, token  # noqa

N = 300000


def setup():
    ci = fresh_db("load_order")
    ctx = {"ci": ci, "commander": token(ci, "commander", "BENCH"),
           "dispatch": token(ci, "dispatch", "BENCH")}
    bench_sql(ci, "bench-setup.sql")
    bench_sql(ci, "bench-data.sql", off=0, cnt=N)
    return ctx


def teardown(ctx):
    if "d" in ctx:
        expect_eq(ctx["d"].stop(), 0)


def counts_by_category(ci):
    rows = scalar(ci, "SELECT json_object_agg(category, n) FROM (SELECT o.category, count(*) AS n"
                      " FROM incidents i JOIN offenses o ON o.id = i.offense_id"
                      " WHERE i.status NOT IN ('unfounded', 'cancelled') GROUP BY 1) x")
    import json
    return json.loads(rows)


def test_counts_answer_first_writes_wait(ctx):
    want = counts_by_category(ctx["ci"])
    d = Daemon(ctx["ci"])
    ctx["d"] = d
    # Each sample asks, in this order: /readyz, the cube, a write, response
    # times. Loading only moves forward, so a later answer may be further on
    # than an earlier one of the same sample, never behind.
    samples = []
    seq = 0
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            _, _, ready = d.request("GET", "/readyz")
            cst, _, cube = d.request("GET", "/v1/cube?by=category", None, ctx["commander"])
            seq += 1
            pst, _, _ = d.request("POST", "/v1/incidents",
                                  {"source": "order", "external_id": str(seq), "offense": "O1",
                                   "precinct": "B-001", "occurred_at": "2026-01-05T10:00:00Z"},
                                  ctx["dispatch"])
            rst, _, _ = d.request("GET", "/v1/response-times?by=priority", None,
                                  ctx["commander"])
        except OSError:
            continue
        samples.append((ready, cst, cube, pst, rst))
        if rst == 200 and pst in (200, 201):
            break
        time.sleep(0.005)
    expect(samples and samples[-1][4] == 200, "everything loaded in the end")
    window = [s for s in samples if s[1] == 200 and s[4] != 200]
    expect(window, "the cube answered while response times did not yet (%d samples)"
           % len(samples))
    for i, (ready, cst, cube, pst, rst) in enumerate(samples):
        if pst in (200, 201):
            expect_eq(rst, 200, "a write was accepted before response times were in")
        if ready["status"] == "ready":
            expect_eq((cst, rst), (200, 200), "ready means everything answers")
        if cst == 200 and rst != 200:
            expect_eq(ready["status"], "not_ready", "/readyz while response times load")
            got = {c["category"]: c["count"] for c in cube["cells"]}
            expect_eq(got, want, "the cube by category while response times load vs SQL")
        if rst == 200 and i + 1 < len(samples):
            expect_eq(samples[i + 1][1], 200, "the cube answers once response times do")
    _, _, ready = d.request("GET", "/readyz")
    expect_eq((ready["status"], ready["counts_loaded"], ready["cube_loaded"]),
              ("ready", True, True), "/readyz at the end")
    # Writes went through once everything was in, and response times equal SQL.
    posted = int(scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE source = 'order'"))
    expect(posted >= 1, "the write after the load committed")
    st, _, rt = d.request("GET", "/v1/response-times", None, ctx["commander"])
    n = int(scalar(ctx["ci"], "SELECT count(*) FROM incidents"
                              " WHERE received_at IS NOT NULL AND on_scene_at IS NOT NULL"))
    expect_eq((st, rt["rows"][0]["response"]["n"]), (200, n), "response times vs SQL")


if __name__ == "__main__":
    run([test_counts_answer_first_writes_wait], setup, teardown)
