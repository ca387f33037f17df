#!/usr/bin/env python3
"""Real data through the import path: the New Orleans districts and calls
for service (data/demo/new_orleans, see PROVENANCE.md) are loaded with
tools/import, and the precinct compstatd assigned to each located call is
the one PostGIS ST_Covers picks on the same stored boundaries."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa

DEMO = os.path.join(SRC, "data", "demo", "new_orleans")


def setup():
    ci = fresh_db("demo")
    admin = token(ci, "admin", "NOPD")
    d = Daemon(ci)
    d.wait_ready()
    return {"ci": ci, "d": d, "admin": admin}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def imp(ctx, *args):
    env = dict(os.environ, COMPSTATD_URL="http://127.0.0.1:%d" % ctx["d"].port,
               COMPSTATD_TOKEN=ctx["admin"])
    out = subprocess.run([os.path.join(SRC, "tools", "import"), *args], capture_output=True,
                         text=True, env=env, timeout=600)
    expect_eq(out.returncode, 0, "tools/import %s: %s %s" % (args[0], out.stdout, out.stderr))
    return out


def test_import_and_assignment(ctx):
    imp(ctx, "agency", "NOPD", "--name", "New Orleans Police Department", "--time-zone",
        "America/Chicago")
    imp(ctx, "precincts", os.path.join(DEMO, "nopd_police_districts_wgs84.geojson"), "--agency",
        "NOPD", "--code-property", "District", "--code-prefix", "NOPD-")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM precincts"), "8", "eight districts")
    out = imp(ctx, "nola-calls",
              os.path.join(DEMO, "rtcc_dump_2022_merged_w_calls_for_service_2022.csv"))
    accepted = [l for l in (out.stdout + out.stderr).splitlines() if "accepted:" in l]
    expect(accepted, "import summary printed")
    n = int(accepted[0].split()[-1])
    expect_eq(int(scalar(ctx["ci"], "SELECT count(*) FROM incidents")), n,
              "every accepted call is in the database")
    # Located calls were posted without a precinct: compstatd assigned it.
    rows = psql(ctx["ci"], """
        SELECT count(*),
               count(*) FILTER (WHERE i.precinct_id IS NOT DISTINCT FROM
                   (SELECT p.id FROM precincts p WHERE p.agency_id = i.agency_id
                      AND ST_Covers(p.boundary, i.geom) ORDER BY p.id LIMIT 1)),
               count(*) FILTER (WHERE i.precinct_id IS NULL)
        FROM incidents i WHERE i.geom IS NOT NULL""")
    total, agree, unassigned = map(int, rows[0])
    expect(total > 6000, "thousands of located calls", total)
    expect_eq(agree, total, "assignment equals ST_Covers for every call")
    # Reposting the whole file changes nothing.
    imp(ctx, "nola-calls",
        os.path.join(DEMO, "rtcc_dump_2022_merged_w_calls_for_service_2022.csv"))
    expect_eq(scalar(ctx["ci"], "SELECT max(version) FROM incidents"), "1",
              "an identical re-import commits no new versions")


def test_response_times_equal_sql(ctx):
    """The response-time report by district and priority on the imported calls
    equals exact nearest-rank percentiles computed by PostgreSQL
    (percentile_disc) on the same rows, within the stated bound: never above
    the exact value, at most 1/128 below it, exact under 256 s."""
    import urllib.parse
    cmd = token(ctx["ci"], "commander", "NOPD")
    # Officer-initiated calls (self_initiated) had no waiting caller: no
    # queue, travel or response time (their on-scene time stands).
    intervals = [("queue", "CASE WHEN NOT self_initiated THEN dispatched_at - received_at END"),
                 ("travel", "CASE WHEN NOT self_initiated"
                            " THEN on_scene_at - coalesce(en_route_at, dispatched_at) END"),
                 ("response", "CASE WHEN NOT self_initiated THEN on_scene_at - received_at END"),
                 ("on_scene", "cleared_at - on_scene_at")]
    stats = ", ".join(
        "count(x.%s), avg(x.%s), max(x.%s), percentile_disc(0.5) WITHIN GROUP (ORDER BY x.%s),"
        " percentile_disc(0.9) WITHIN GROUP (ORDER BY x.%s)" % ((name,) * 5)
        for name, _ in intervals)
    secs = ", ".join("extract(epoch FROM %s)::bigint AS %s" % (e, name) for name, e in intervals)
    for window in [{}, {"from": "2022-03-01", "to": "2022-09-01"}]:
        where = "i.received_at IS NOT NULL"
        if window:
            where += (" AND i.received_at >= '%s'::timestamp AT TIME ZONE 'America/Chicago'"
                      " AND i.received_at < '%s'::timestamp AT TIME ZONE 'America/Chicago'"
                      % (window["from"], window["to"]))
        want = {}
        for row in psql(ctx["ci"], """
                SELECT p.code, i.priority, count(*), %s
                FROM incidents i LEFT JOIN precincts p ON p.id = i.precinct_id,
                     LATERAL (SELECT %s) x
                WHERE %s GROUP BY 1, 2""" % (stats, secs, where)):
            key = (row[0] or None, int(row[1]) if row[1] else None)
            want[key] = (int(row[2]), row[3:])
        q = dict(window, by="precinct,priority")
        st, _, got = ctx["d"].request("GET", "/v1/response-times?" + urllib.parse.urlencode(q),
                                      tok=cmd)
        expect_eq(st, 200)
        rows = {(r["precinct"], r["priority"]): r for r in got["rows"]}
        expect_eq(sorted(rows, key=repr), sorted(want, key=repr), "groups %r" % window)
        expect(sum(r["response"]["n"] for r in rows.values()) > 1000,
               "thousands of response times")
        for key, (incidents, cols) in want.items():
            g = rows[key]
            expect_eq(g["incidents"], incidents, "%r incidents" % (key,))
            for k, (name, _) in enumerate(intervals):
                n, avg, mx, p50, p90 = cols[5 * k: 5 * k + 5]
                gi = g[name]
                expect_eq((gi["n"], gi["max"]), (int(n), int(mx) if mx else None),
                          "%r %s n, max" % (key, name))
                if int(n):
                    expect(abs(gi["mean"] - float(avg)) < 1e-6, "%r %s mean" % (key, name))
                for p, exact in (("p50", p50), ("p90", p90)):
                    exact = int(exact) if exact else None
                    got_p = gi[p]
                    ok = (got_p is None) if exact is None else (
                        got_p is not None and got_p <= exact and
                        (got_p == exact if exact < 256 else exact - got_p <= exact / 128))
                    expect(ok, "%r %s %s: got %r, exact %r" % (key, name, p, got_p, exact))


if __name__ == "__main__":
    run([test_import_and_assignment, test_response_times_equal_sql], setup, teardown)
