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


if __name__ == "__main__":
    run([test_import_and_assignment], setup, teardown)
