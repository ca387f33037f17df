#!/usr/bin/env python3
"""The database stopped and started again, under load: writes get 503 with
Retry-After, reads that need no database keep working, the daemon
reconnects by itself, and every acknowledged incident is in the database.
Uses its own PostGIS cluster (it stops it), not the shared one."""
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SRC, Daemon, expect, expect_eq, migrate, psql, run, scalar,  # noqa: E402
                     token, with_db)

PGCLUSTER = os.path.join(SRC, "tools", "pgcluster")


def cluster(cmd, d):
    out = subprocess.run([PGCLUSTER, cmd, d], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("pgcluster %s: %s" % (cmd, out.stderr))
    return out.stdout.strip()


def setup():
    if not os.environ.get("COMPSTAT_TEST_PG"):
        print("COMPSTAT_TEST_PG is not set (run through tools/test): skipped")
        sys.exit(77)
    d = tempfile.mkdtemp(prefix="compstat-fault-pg.", dir="/tmp")
    base = cluster("start", d)
    psql(base, "CREATE DATABASE faults")
    ci = with_db(base, "faults")
    migrate(ci)
    admin = token(ci, "admin", "GT")
    daemon = Daemon(ci, ["--retry-after", "3"])
    daemon.wait_ready()
    sq = {"type": "Polygon", "coordinates": [[[-91, 14], [-90, 14], [-90, 15], [-91, 15],
                                              [-91, 14]]]}
    expect_eq(daemon.request("PUT", "/v1/precincts/F1", {"name": "f", "boundary": sq}, admin)[0],
              201)
    expect_eq(daemon.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                             admin)[0], 201)
    return {"dir": d, "ci": ci, "d": daemon, "admin": admin,
            "dispatch": token(ci, "dispatch", "GT")}


def teardown(ctx):
    try:
        expect_eq(ctx["d"].stop(), 0, "exit code")
    finally:
        cluster("stop", ctx["dir"])
        subprocess.run(["rm", "-rf", ctx["dir"]])


def incident(ext):
    return {"source": "fault", "external_id": ext, "offense": "ROB",
            "location": {"lat": 14.5, "lon": -90.5}, "received_at": "2026-11-27T10:00:00Z"}


def test_database_down_and_back(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    expect_eq(d.request("POST", "/v1/incidents", incident("before"), tok)[0], 201)

    # Load from a second connection while the database goes away and comes back.
    acked, statuses, stop = [], {}, threading.Event()

    def writer():
        w = Daemon.__new__(Daemon)
        w.port, w.conn = d.port, None
        i = 0
        while not stop.is_set():
            i += 1
            try:
                st, h, body = w.request("POST", "/v1/incidents", incident("load-%d" % i), tok)
            except (OSError, http.client.HTTPException):
                continue
            statuses[st] = statuses.get(st, 0) + 1
            if st in (200, 201):
                acked.append(body["external_id"])
            elif st == 503:
                expect(h.get("Retry-After") == "3", "503 carries Retry-After", h)
                time.sleep(0.01)
    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.5)
    cluster("stop", ctx["dir"])

    st, h, body = d.request("POST", "/v1/incidents", incident("during"), tok)
    expect_eq(st, 503, "write while the database is down")
    expect_eq(h.get("Retry-After"), "3")
    expect_eq(body["error"]["code"], "database_unavailable")
    deadline = time.time() + 10
    while d.request("GET", "/readyz")[0] != 503 and time.time() < deadline:
        time.sleep(0.05)
    expect_eq(d.request("GET", "/readyz")[0], 503, "not ready without a database")
    expect_eq(d.request("GET", "/healthz")[0], 200, "alive")
    st, _, body = d.request("GET", "/v1/precincts", None, ctx["admin"])
    expect_eq(st, 200, "reference reads are served from memory")
    time.sleep(1.0)

    cluster("start", ctx["dir"])
    deadline = time.time() + 20
    st = None
    while time.time() < deadline:
        st = d.request("POST", "/v1/incidents", incident("after"), tok)[0]
        if st == 201:
            break
        time.sleep(0.2)
    expect_eq(st, 201, "the daemon reconnected by itself")
    time.sleep(0.5)
    stop.set()
    t.join()
    expect(statuses.get(503, 0) > 0, "the load saw the outage", statuses)
    expect(statuses.get(201, 0) > 0, "the load got through", statuses)
    # A 2xx means committed: every acknowledged incident is in the database.
    stored = {r[0] for r in psql(ctx["ci"], "SELECT external_id FROM incidents")}
    missing = [e for e in acked if e not in stored]
    expect_eq(missing, [], "acknowledged but not stored")
    expect_eq(d.request("GET", "/readyz")[0], 200, "ready again")


def test_start_without_database(ctx):
    cluster("stop", ctx["dir"])
    d2 = Daemon(ctx["ci"])
    try:
        time.sleep(0.5)
        st, _, body = d2.request("GET", "/readyz")
        expect_eq(st, 503, "not ready while the database is down")
        expect_eq(d2.request("POST", "/v1/incidents", incident("x"), ctx["dispatch"])[0], 503)
        cluster("start", ctx["dir"])
        d2.wait_ready(20)
        expect_eq(d2.request("POST", "/v1/incidents", incident("late-start"),
                             ctx["dispatch"])[0], 201)
    finally:
        expect_eq(d2.stop(), 0)
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE external_id='late-start'"),
              "1")


def test_snapshot_kept_through_a_start_without_database(ctx):
    """A daemon that never reached its database must not throw away the
    snapshot the previous one wrote: nothing was written past it."""
    path = os.path.join(ctx["dir"], "cube.snap")
    d3 = Daemon(ctx["ci"], ["--snapshot-path", path])
    d3.wait_ready(20)
    expect_eq(d3.request("POST", "/v1/incidents", incident("before-snap"), ctx["dispatch"])[0], 201)
    expect_eq(d3.stop(), 0)
    expect(os.path.exists(path), "shutdown writes the snapshot")
    cluster("stop", ctx["dir"])
    d4 = Daemon(ctx["ci"], ["--snapshot-path", path])
    try:
        time.sleep(0.5)
        expect_eq(d4.request("GET", "/readyz")[0], 503, "not ready while the database is down")
    finally:
        expect_eq(d4.stop(), 0)
    expect("no snapshot written" in d4.log(), d4.log())
    expect(os.path.exists(path), "the snapshot survives a start that never loaded")
    cluster("start", ctx["dir"])
    d5 = Daemon(ctx["ci"], ["--snapshot-path", path])
    try:
        d5.wait_ready(20)
        expect("restored the snapshot" in d5.log(), d5.log())
        expect_eq(d5.request("POST", "/v1/incidents", incident("after-snap"),
                             ctx["dispatch"])[0], 201)
        st, _, cube = d5.request("GET", "/v1/cube", None, ctx["admin"])
        expect_eq(cube["total"], int(scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE"
                                                       " status NOT IN ('unfounded', 'cancelled')")),
                  "the restored cube counts what SQL counts")
    finally:
        expect_eq(d5.stop(), 0)


if __name__ == "__main__":
    run([test_database_down_and_back, test_start_without_database,
         test_snapshot_kept_through_a_start_without_database], setup, teardown)
