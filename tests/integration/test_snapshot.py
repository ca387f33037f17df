#!/usr/bin/env python3
"""The cube snapshot (snapshot_path): written at shutdown and in the
background while running, read at start-up when the database says it is
exact after replaying what changed since, and never trusted otherwise.

The reference for every answer is twofold: SQL over the same rows (the cube
by precinct, offense and priority must equal a GROUP BY), and a daemon that
rebuilt everything from the database (every answer -- cube, COMPSTAT,
response times by precinct, priority and unit, hotspots, the unit board --
must be identical, generated_at and as_of aside).

- exact: stop writes the snapshot; a start restores it (and keeps it),
  answers as before, and takes writes: a PATCH to an incident from before
  the snapshot and new posts, after which it equals a rebuild;
- replay: incidents inserted outside compstatd after the snapshot (a plain
  SQL INSERT) are read past the high-water mark;
- stale: an UPDATE outside compstatd, a changed offense category, a row
  added below the high-water mark -- each is named in the log and the
  daemon rebuilds from the database;
- damaged: a flipped byte (checksum), a truncated file, another format
  version, a file that is not a snapshot -- each rejected and rebuilt;
- a change outside compstatd while it runs means no snapshot at shutdown;
- crash: a daemon killed after the background snapshot, with reclassified,
  unfounded, moved, re-unit-ed, cleared and new incidents since (some
  changed twice, one new and then changed), restarts from that snapshot,
  takes away the old rows cube_dirty kept, adds the rows as they are, and
  answers exactly as before the kill and as a rebuild; older generations'
  rows are pruned once a newer snapshot is on disk;
- misfit: an old row in cube_dirty that the snapshot never held is noticed
  during the replay, and the daemon rebuilds from the database;
- cube_dirty holds rows only for a daemon that writes snapshots: not for
  one without snapshot_path (which deletes what is there), nor for writers
  outside compstatd.
"""
import time
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, bench_sql, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa

N = 20000


def setup():
    ci = fresh_db("snapshot")
    admin = token(ci, "admin", "BENCH")  # creates the agency the SQL below fills
    bench_sql(ci, "bench-setup.sql")
    bench_sql(ci, "bench-data.sql", off=0, cnt=N)
    tmp = tempfile.mkdtemp(prefix="compstat-snap.")
    ctx = {"ci": ci, "admin": admin, "dir": tmp,
           "path": os.path.join(tmp, "cube.snap"), "seq": 0}
    return ctx


def teardown(ctx):
    if ctx.get("d"):
        ctx["d"].stop()


def start(ctx, snapshot=True, interval=None):
    args = ["--snapshot-path", ctx["path"]] if snapshot else []
    if interval is not None:
        args += ["--snapshot-interval", str(interval)]
    d = Daemon(ctx["ci"], args)
    d.wait_ready(120)
    ctx["d"] = d
    return d


def stop(ctx):
    d = ctx.pop("d")
    expect_eq(d.stop(), 0)
    return d.log()


def get(ctx, path):
    st, _, body = ctx["d"].request("GET", path, None, ctx["admin"])
    expect_eq(st, 200, path + " " + repr(body)[:300])
    return body


def scrub(x):
    """Drop the fields that say when an answer was made."""
    if isinstance(x, dict):
        return {k: scrub(v) for k, v in x.items() if k not in ("generated_at", "as_of")}
    if isinstance(x, list):
        return [scrub(v) for v in x]
    return x


QUESTIONS = [
    "/v1/cube?by=precinct,offense,priority",
    "/v1/cube?by=category&granularity=month",
    "/v1/compstat",
    "/v1/compstat?precinct=B-007",
    "/v1/response-times?by=precinct,priority",
    "/v1/response-times?by=unit",
    "/v1/hotspots?method=count",
    "/v1/units",
]


def answers(ctx):
    return {q: scrub(get(ctx, q)) for q in QUESTIONS}


def sql_cube(ctx):
    rows = psql(ctx["ci"], "SELECT p.code, o.code, coalesce(i.priority, -1), count(*)"
                           " FROM incidents i JOIN offenses o ON o.id = i.offense_id"
                           " LEFT JOIN precincts p ON p.id = i.precinct_id"
                           " WHERE i.status NOT IN ('unfounded', 'cancelled') GROUP BY 1, 2, 3")
    want = {}
    for r in rows:
        want[(r[0] or None, r[1], int(r[2]))] = int(r[3])
    return want


def expect_cube_is_sql(ctx, label):
    got = {}
    for c in get(ctx, "/v1/cube?by=precinct,offense,priority")["cells"]:
        pr = c["priority"] if c["priority"] is not None else -1
        got[(c["precinct"], c["offense"], pr)] = c["count"]
    want = sql_cube(ctx)
    expect(got == want, "%s: the cube differs from SQL in %d cells" % (
        label, len(set(got.items()) ^ set(want.items()))))


def post(ctx, n, status="dispatched", units=("1A10", "2B20")):
    """n new incidents through the API, some with units on the board."""
    for _ in range(n):
        ctx["seq"] += 1
        k = ctx["seq"]
        inc = {"source": "snap", "external_id": "s%d" % k, "offense": "O%d" % (1 + k % 50),
               "priority": k % 4, "status": status, "location": {"lon": -87.89, "lat": 41.71},
               "occurred_at": "2026-11-%02dT10:%02d:00Z" % (1 + k % 20, k % 60),
               "received_at": "2026-11-%02dT10:%02d:30Z" % (1 + k % 20, k % 60),
               "dispatched_at": "2026-11-%02dT10:%02d:50Z" % (1 + k % 20, k % 60),
               "units": list(units[: 1 + k % len(units)])}
        st, _, body = ctx["d"].request("POST", "/v1/incidents", inc, ctx["admin"])
        expect(st in (200, 201), "post %d: %r" % (st, body))


def patch_old(ctx, ext, body):
    """PATCH an incident of the generated set (made before any snapshot)."""
    path = "/v1/incidents/bench/" + ext
    st, _, out = ctx["d"].request("PATCH", path, body, ctx["admin"])
    expect_eq(st, 200, "patch %r" % out)


def rebuilt_answers(ctx):
    """What a daemon that read everything from the database says."""
    keep = os.path.exists(ctx["path"])
    if keep:
        os.rename(ctx["path"], ctx["path"] + ".aside")
    start(ctx, snapshot=False)
    a = answers(ctx)
    stop(ctx)
    if keep:
        os.rename(ctx["path"] + ".aside", ctx["path"])
    return a


def expect_same(got, want, label):
    for q in QUESTIONS:
        expect(got[q] == want[q], "%s: %s differs" % (label, q), str(got[q])[:400],
               str(want[q])[:400])


def test_exact_restore(ctx):
    for cs, p in (("1A10", "B-000"), ("2B20", "B-001")):
        psql(ctx["ci"], "INSERT INTO units (agency_id, callsign, precinct_id, type)"
                        " SELECT a.id, :'p1', p.id, 'patrol' FROM agencies a, precincts p"
                        " WHERE a.code = 'BENCH' AND p.code = :'p2'", cs, p)
    start(ctx)
    expect("no snapshot at" in ctx["d"].log(), ctx["d"].log())
    expect_eq(ctx["d"].request("GET", "/readyz")[2]["loaded_from"], "database", "/readyz")
    post(ctx, 30)
    before = answers(ctx)
    expect(before["/v1/units"]["units"], "the board has units")
    expect_cube_is_sql(ctx, "before")
    log = stop(ctx)
    expect("snapshot %s written" % ctx["path"] in log, log)
    expect_eq(os.stat(ctx["path"]).st_mode & 0o777, 0o600, "the snapshot is private")

    start(ctx)
    log = ctx["d"].log()
    expect("restored the snapshot" in log and "replaying 0 newer" in log, log)
    expect(os.path.exists(ctx["path"]), "a snapshot stays when used (cube_dirty keeps it exact)")
    _, _, ready = ctx["d"].request("GET", "/readyz")
    expect_eq(ready["loaded_from"], "snapshot", "/readyz")
    _, _, metrics = ctx["d"].request("GET", "/metrics")
    expect('compstatd_cube_load_seconds{source="snapshot"}' in metrics, "metrics")
    expect_same(answers(ctx), before, "restored")
    # Writes onto the restored cubes: an old incident moves and is cleared,
    # another is unfounded, new ones arrive.
    patch_old(ctx, "17", {"offense": "O3", "priority": 1, "status": "cleared",
                          "cleared_at": "2026-11-02T10:00:00Z"})
    patch_old(ctx, "18", {"status": "unfounded"})
    post(ctx, 20, status="on_scene")
    expect_cube_is_sql(ctx, "restored, then written")
    after = answers(ctx)
    stop(ctx)
    expect_same(rebuilt_answers(ctx), after, "restored and written vs rebuilt")


def test_replay_inserted_outside(ctx):
    expect(os.path.exists(ctx["path"]), "the previous test left a snapshot")
    bench_sql(ctx["ci"], "bench-data.sql", off=N, cnt=700)
    start(ctx)
    log = ctx["d"].log()
    expect("restored the snapshot" in log and "replaying 700 newer" in log, log)
    expect_cube_is_sql(ctx, "replayed")
    got = answers(ctx)
    stop(ctx)
    expect_same(got, rebuilt_answers(ctx), "replayed vs rebuilt")


def stale_case(ctx, change, why):
    expect(os.path.exists(ctx["path"]), "a snapshot to test with")
    st = os.stat(ctx["path"])
    stale = (st.st_ino, st.st_mtime_ns)
    change()
    start(ctx)
    log = ctx["d"].log()
    expect("is stale: " + why in log or "is unusable: " + why in log, "want %r in:\n%s" % (why, log))
    expect("restored the snapshot" not in log, log)
    # Removed; the load from the database then writes a fresh one (a new
    # file, renamed into place), which on a busy machine may already be there.
    expect(not os.path.exists(ctx["path"]) or
           (os.stat(ctx["path"]).st_ino, os.stat(ctx["path"]).st_mtime_ns) != stale,
           "a stale snapshot is removed")
    expect_cube_is_sql(ctx, why)
    stop(ctx)  # writes a fresh snapshot for the next case
    expect(os.path.exists(ctx["path"]), "shutdown writes a fresh snapshot")


def test_stale_snapshots_rebuild(ctx):
    ci = ctx["ci"]
    # As a role that may update incidents and nothing else: counting the
    # change must not need grants on the counters.
    role = "snap_analyst_%d" % os.getpid()
    psql(ci, "CREATE ROLE %s; GRANT SELECT, UPDATE ON incidents TO %s" % (role, role))
    stale_case(ctx, lambda: psql(ci, "SET ROLE %s;"
                                     " UPDATE incidents SET priority = 9 WHERE external_id = '5'"
                                     % role),
               "incidents were updated or deleted outside compstatd")
    stale_case(ctx, lambda: psql(ci, "DELETE FROM incidents WHERE external_id = '6'"),
               "incidents were updated or deleted outside compstatd")
    stale_case(ctx, lambda: psql(ci, "UPDATE offenses SET category = 'other' WHERE code = 'O4'"),
               "agencies, precincts or offenses changed")
    # A row that slips in below the high-water mark (a transaction that took
    # its id early and committed late looks like this).
    stale_case(ctx, lambda: psql(ci, "INSERT INTO incidents (id, source, external_id, agency_id,"
                                     " offense_id, status, occurred_at, received_at, geom) OVERRIDING SYSTEM VALUE"
                                     " SELECT -1, 'late', '1', a.id, o.id, 'open', now(), now(),"
                                     " ST_SetSRID(ST_MakePoint(-87.89, 41.71), 4326)"
                                     " FROM agencies a, offenses o WHERE o.agency_id = a.id"
                                     " AND o.code = 'O1'"),
               "incidents at or below its high-water mark were added")


def damage(path, fn):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data = fn(data)
    with open(path, "wb") as f:
        f.write(data)


def test_damaged_snapshots_rebuild(ctx):
    p = ctx["path"]

    def flip(d):
        d[len(d) // 2] ^= 0x40
        return d

    def version(d):
        d[8] += 1  # the format version follows the 8-byte magic
        return d

    for fn, why in ((flip, "checksum mismatch"), (lambda d: d[:-100], "truncated"),
                    (version, "format 4 (this build reads 3)"),
                    (lambda d: b"hello" * 100, "not a compstatd snapshot"),
                    (lambda d: d[:100], "too short")):
        stale_case(ctx, lambda: damage(p, fn), why)


def test_no_snapshot_after_outside_change(ctx):
    start(ctx)
    psql(ctx["ci"], "UPDATE incidents SET address = 'x' WHERE external_id = '7'")
    log = stop(ctx)
    expect("no snapshot written: incidents were changed outside compstatd" in log, log)
    expect(not os.path.exists(ctx["path"]))
    start(ctx)
    expect("no snapshot at" in ctx["d"].log())
    expect_cube_is_sql(ctx, "after a change while running")
    stop(ctx)
    expect(os.path.exists(ctx["path"]))


def wait_log(ctx, text, timeout=60):
    end = time.time() + timeout
    while text not in ctx["d"].log():
        expect(time.time() < end, "waited for %r in:\n%s" % (text, ctx["d"].log()))
        time.sleep(0.05)


def generation_of_background_snapshot(log):
    """The generation named by the last 'written in the background' line."""
    lines = [ln for ln in log.splitlines() if "written in the background" in ln]
    expect(lines, log)
    return int(lines[-1].rsplit("generation ", 1)[1])


def kill(ctx):
    d = ctx.pop("d")
    d.proc.kill()
    d.proc.wait()


def test_crash_restart_replays_changes(ctx):
    ci = ctx["ci"]
    # A load from the database writes a snapshot in the background at once.
    os.remove(ctx["path"])
    start(ctx, interval=3600)
    wait_log(ctx, "written in the background")
    gen = generation_of_background_snapshot(ctx["d"].log())
    # Changes after it: incidents from before it reclassified, unfounded,
    # moved, their units and status changed (the board), some twice; new
    # ones, one of which changes again.
    patch_old(ctx, "21", {"offense": "O9", "priority": 2})
    patch_old(ctx, "21", {"offense": "O10", "status": "cleared",
                          "cleared_at": "2026-11-02T10:00:00Z"})
    patch_old(ctx, "22", {"status": "unfounded"})
    patch_old(ctx, "23", {"location": {"lon": -87.61, "lat": 41.89}})
    patch_old(ctx, "24", {"status": "on_scene", "units": ["1A10"]})
    before = ctx["seq"]
    post(ctx, 15, status="on_scene")
    st, _, out = ctx["d"].request("PATCH", "/v1/incidents/snap/s%d" % (before + 1),
                                  {"status": "cleared", "units": ["2B20"]}, ctx["admin"])
    expect_eq(st, 200, repr(out))
    st, _, out = ctx["d"].request("PATCH", "/v1/incidents/snap/s1",
                                  {"offense": "O33", "status": "cleared"}, ctx["admin"])
    expect_eq(st, 200, repr(out))
    expect_cube_is_sql(ctx, "before the crash")
    before_crash = answers(ctx)
    dirty = int(scalar(ci, "SELECT count(*) FROM cube_dirty WHERE generation >= %d" % gen))
    expect(dirty >= 6, "cube_dirty keeps the first old row of each changed incident: %d" % dirty)
    kill(ctx)
    expect(os.path.exists(ctx["path"]), "the background snapshot is there after the crash")

    start(ctx, interval=3600)
    log = ctx["d"].log()
    expect("restored the snapshot" in log and "replaying 15 newer and those updated since"
           " generation %d" % gen in log, log)
    expect_eq(ctx["d"].request("GET", "/readyz")[2]["loaded_from"], "snapshot", "/readyz")
    expect_cube_is_sql(ctx, "restarted after the crash")
    expect_same(answers(ctx), before_crash, "restarted vs before the crash")
    # The replay wrote a newer snapshot; older generations' rows go.
    wait_log(ctx, "written in the background")
    newer = generation_of_background_snapshot(ctx["d"].log())
    expect(newer > gen, "a newer generation: %d > %d" % (newer, gen))
    end = time.time() + 30
    while int(scalar(ci, "SELECT count(*) FROM cube_dirty WHERE generation < %d" % newer)):
        expect(time.time() < end, "cube_dirty pruned below generation %d" % newer)
        time.sleep(0.05)
    patch_old(ctx, "25", {"priority": 7})
    after = answers(ctx)
    kill(ctx)
    # A second crash: the newer snapshot and the one change since.
    start(ctx)
    expect("replaying 0 newer and those updated since generation %d" % newer
           in ctx["d"].log(), ctx["d"].log())
    expect_cube_is_sql(ctx, "second restart")
    expect_same(answers(ctx), after, "second restart vs before")
    log = stop(ctx)
    expect(int(scalar(ci, "SELECT count(*) FROM cube_dirty")) == 0,
           "a clean stop's snapshot holds every change: cube_dirty is empty")
    expect_same(rebuilt_answers(ctx), after, "restarted after crashes vs rebuilt")


def test_replay_misfit_rebuilds(ctx):
    """An old row the snapshot never held (a counting time in 2001, which
    no series of the snapshot has) cannot be taken away: rebuild."""
    ci = ctx["ci"]
    expect(os.path.exists(ctx["path"]), "a snapshot to test with")
    psql(ci, "INSERT INTO cube_dirty SELECT (SELECT last_value FROM cube_generation), id,"
             " agency_id, precinct_id, offense_id, priority, 'open', geom,"
             " '2001-01-01T00:00:00Z', received_at, dispatched_at, en_route_at, on_scene_at,"
             " cleared_at, units, updated_at FROM incidents"
             " WHERE source = 'bench' AND external_id = '30'")
    start(ctx)
    log = ctx["d"].log()
    expect("does not match the database; rebuilding" in log, log)
    expect_eq(ctx["d"].request("GET", "/readyz")[2]["loaded_from"], "database", "/readyz")
    expect_cube_is_sql(ctx, "after a misfit")
    stop(ctx)
    psql(ci, "DELETE FROM cube_dirty")


def test_no_dirty_rows_without_snapshots(ctx):
    ci = ctx["ci"]
    psql(ci, "INSERT INTO cube_dirty SELECT 0, id, agency_id, precinct_id, offense_id, priority,"
             " status, geom, counted_at, received_at, dispatched_at, en_route_at, on_scene_at,"
             " cleared_at, units, updated_at FROM incidents WHERE external_id = '31'")
    start(ctx, snapshot=False)
    end = time.time() + 30
    while int(scalar(ci, "SELECT count(*) FROM cube_dirty")):
        expect(time.time() < end, "a daemon without snapshots deletes cube_dirty's rows")
        time.sleep(0.05)
    patch_old(ctx, "32", {"priority": 3})
    psql(ci, "UPDATE incidents SET address = 'outside' WHERE external_id = '33'")
    expect_eq(int(scalar(ci, "SELECT count(*) FROM cube_dirty")), 0,
              "no rows for updates without snapshots, or from outside compstatd")
    stop(ctx)


def test_zone_rules_change(ctx):
    """The grid counts by local day: new zoneinfo files make a snapshot stale.
    TZDIR points the daemon at a copy of the rules that the test can edit."""
    import shutil
    expect(os.path.exists(ctx["path"]), "a snapshot to test with")
    zi = os.path.join(ctx["dir"], "zoneinfo")
    os.makedirs(os.path.join(zi, "America"), exist_ok=True)
    shutil.copyfile("/usr/share/zoneinfo/America/Chicago", os.path.join(zi, "America", "Chicago"))
    env = {"TZDIR": zi}
    d = Daemon(ctx["ci"], ["--snapshot-path", ctx["path"]], env=env)
    d.wait_ready(120)
    expect("restored the snapshot" in d.log(), "the same rules, copied: " + d.log())
    expect_eq(d.stop(), 0)
    # New rules for the agency's zone (another zone's file under its name).
    shutil.copyfile("/usr/share/zoneinfo/America/New_York", os.path.join(zi, "America", "Chicago"))
    d = Daemon(ctx["ci"], ["--snapshot-path", ctx["path"]], env=env)
    d.wait_ready(120)
    ctx["d"] = d
    expect("is stale: the time-zone rules" in d.log(), d.log())
    expect_cube_is_sql(ctx, "after new zone rules")
    stop(ctx)


if __name__ == "__main__":
    run([test_exact_restore, test_replay_inserted_outside, test_stale_snapshots_rebuild,
         test_damaged_snapshots_rebuild, test_no_snapshot_after_outside_change,
         test_crash_restart_replays_changes, test_replay_misfit_rebuilds, test_zone_rules_change,
         test_no_dirty_rows_without_snapshots],
        setup, teardown)
