#!/usr/bin/env python3
"""Response times against SQL, on the same rows.

Every interval rule of API.md ("Response times") on hand-made incidents,
lifecycle times that go backwards (422 naming the field, nothing written),
a lifecycle PATCHed out of order, units reassigned. Then a randomized
differential test: ~1,500 incidents with random lifecycles, priorities,
precincts and units in an agency on America/Chicago time with overlapping
tours, reposted and PATCHed (times moved, units reassigned, precincts and
priorities changed, some unfounded), and many random questions to
GET /v1/response-times compared group by group with PostgreSQL on the
incidents table: incidents, n, min and max exactly, mean to 1e-6, and every
percentile against percentile_disc (nearest rank) within the stated bound
(never above the exact value, at most 1/128 below it, exact under 256 s).
Again after a restart, when the response-time cube was rebuilt from PostGIS.

COMPSTAT_TEST_SEED=n reproduces a run.
"""
import datetime as dt
import os
import random
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, expect, expect_eq, fresh_db, psql, run, token  # noqa: E402

SEED = int(os.environ.get("COMPSTAT_TEST_SEED", random.randrange(1 << 30)))
N = int(os.environ.get("COMPSTAT_TEST_INCIDENTS", 1500))
ZONE = "America/Chicago"
AG = "RT"
UNITS = ["1A10", "1A11", "2B20", "2B21", "K9-3", 'Q"\\x']  # the last one tests escaping
SHIFTS = [("N", "23:00", "07:00"), ("D", "07:00", "15:00"), ("E", "15:00", "23:00"),
          ("X", "10:30", "20:30")]
INTERVALS = ["queue", "travel", "response", "on_scene", "committed"]
T0 = dt.datetime(2025, 10, 20, tzinfo=dt.timezone.utc)  # spans the 2025-11-02 DST change


def iso(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def setup():
    ci = fresh_db("rt")
    admin = token(ci, "admin", AG)
    d = Daemon(ci)
    d.wait_ready()
    expect_eq(d.request("PUT", "/v1/agencies/" + AG, {"name": AG, "time_zone": ZONE}, admin)[0],
              200)
    for i in range(3):
        lo = -87.7 + i * 0.1
        poly = {"type": "Polygon", "coordinates": [[[lo, 41.8], [lo + 0.1, 41.8],
                                                    [lo + 0.1, 41.9], [lo, 41.9], [lo, 41.8]]]}
        expect_eq(d.request("PUT", "/v1/precincts/RT-%d" % i,
                            {"name": "P%d" % i, "boundary": poly}, admin)[0], 201)
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "Robbery", "category": "robbery"},
                        admin)[0], 201)
    sup = token(ci, "supervisor", AG)
    for code, a, b in SHIFTS:
        expect_eq(d.request("PUT", "/v1/shifts/" + code, {"starts": a, "ends": b}, sup)[0], 201)
    return {"ci": ci, "d": d, "admin": admin, "dispatch": token(ci, "dispatch", AG),
            "cmd": token(ci, "commander", AG), "sup": sup,
            "scoped": token(ci, "commander", AG, "RT-1")}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def rt(ctx, tok=None, **params):
    st, _, body = ctx["d"].request("GET", "/v1/response-times?" + urllib.parse.urlencode(params),
                                   tok=tok or ctx["cmd"])
    expect_eq(st, 200, "response-times %r: %r" % (params, body))
    return body


def post(ctx, inc):
    return ctx["d"].request("POST", "/v1/incidents", inc, ctx["dispatch"])


def patch(ctx, src, ext, body):
    return ctx["d"].request("PATCH", "/v1/incidents/%s/%s" % (src, ext), body, ctx["dispatch"])


def base(ext, **kw):
    inc = {"source": "t-rules", "external_id": ext, "offense": "ROB", "precinct": "RT-0",
           "priority": 1}
    inc.update(kw)
    return inc


def test_interval_rules(ctx):
    t = dt.datetime(2024, 1, 10, 12, 0, tzinfo=dt.timezone.utc)
    s = lambda sec: iso(t + dt.timedelta(seconds=sec))  # noqa: E731
    window = {"from": "2024-01-10T12:00:00Z", "to": "2024-01-10T12:15:00Z", "by": "priority"}
    # Every end present: each interval is its difference.
    expect_eq(post(ctx, base("all", received_at=s(0), dispatched_at=s(70), en_route_at=s(100),
                             on_scene_at=s(460), cleared_at=s(2260)))[0], 201)
    row = rt(ctx, **window)["rows"][0]
    expect_eq([row[k]["max"] for k in INTERVALS], [70, 360, 460, 1800, 2190], "intervals")
    expect_eq(row["incidents"], 1)
    # Without en_route, travel runs from dispatched.
    expect_eq(patch(ctx, "t-rules", "all", {"en_route_at": None})[0], 200)
    row = rt(ctx, **window)["rows"][0]
    expect_eq(row["travel"]["max"], 390, "travel from dispatched")
    expect_eq(row["committed"]["max"], 2190, "committed from dispatched")
    # Missing ends: no interval, n 0 and nulls.
    expect_eq(post(ctx, base("bare", priority=2, received_at=s(300)))[0], 201)
    rows = {r["priority"]: r for r in rt(ctx, **window)["rows"]}
    bare = rows[2]
    expect_eq(bare["incidents"], 1)
    for k in INTERVALS:
        expect_eq(bare[k], {"n": 0, "mean": None, "min": None, "p50": None, "p90": None,
                            "max": None}, k)
    # On scene without dispatch: response and on_scene only; committed from on scene.
    expect_eq(post(ctx, base("walkup", priority=3, received_at=s(10), on_scene_at=s(10),
                             cleared_at=s(610)))[0], 201)
    w = {r["priority"]: r for r in rt(ctx, **window)["rows"]}[3]
    expect_eq([w[k]["n"] for k in INTERVALS], [0, 0, 1, 1, 1])
    expect_eq((w["response"]["max"], w["on_scene"]["max"], w["committed"]["max"]), (0, 600, 600))
    # No received_at: not bucketed, not counted.
    expect_eq(post(ctx, base("norcv", priority=4, occurred_at=s(0), dispatched_at=s(5),
                             on_scene_at=s(50)))[0], 201)
    expect(4 not in {r["priority"] for r in rt(ctx, **window)["rows"]}, "no received_at")
    # Unfounded calls still count in response times.
    expect_eq(patch(ctx, "t-rules", "walkup", {"status": "unfounded"})[0], 200)
    expect_eq({r["priority"]: r for r in rt(ctx, **window)["rows"]}[3]["incidents"], 1)


def test_backwards_rejected(ctx):
    t = dt.datetime(2024, 2, 1, 8, 0, tzinfo=dt.timezone.utc)
    s = lambda sec: iso(t + dt.timedelta(seconds=sec))  # noqa: E731
    cases = [("dispatched_at", dict(received_at=s(100), dispatched_at=s(50))),
             ("en_route_at", dict(received_at=s(0), dispatched_at=s(100), en_route_at=s(90))),
             ("on_scene_at", dict(received_at=s(0), en_route_at=s(100), on_scene_at=s(99))),
             ("cleared_at", dict(received_at=s(0), on_scene_at=s(100), cleared_at=s(1)))]
    for i, (field, times) in enumerate(cases):
        st, _, body = post(ctx, base("back%d" % i, **times))
        expect_eq(st, 422, "backwards %s: %r" % (field, body))
        expect_eq(body["error"]["field"], field)
        expect_eq(psql(ctx["ci"], "SELECT count(*) FROM incidents WHERE external_id = 'back%d'"
                       % i), [["0"]], "nothing written")
    # PATCH that would put a time before an earlier one: 422, incident unchanged.
    expect_eq(post(ctx, base("pb", received_at=s(0), on_scene_at=s(600)))[0], 201)
    before = psql(ctx["ci"], "SELECT version, dispatched_at FROM incidents WHERE "
                  "external_id = 'pb'")
    st, _, body = patch(ctx, "t-rules", "pb", {"dispatched_at": s(700)})
    expect_eq(st, 422, "dispatched after on scene")
    expect_eq(body["error"]["field"], "on_scene_at")
    expect_eq(psql(ctx["ci"], "SELECT version, dispatched_at FROM incidents WHERE "
                   "external_id = 'pb'"), before, "unchanged")


def test_out_of_order_lifecycle(ctx):
    """Lifecycle steps arriving in any order end in the same intervals."""
    t = dt.datetime(2024, 3, 5, 14, 0, tzinfo=dt.timezone.utc)
    s = lambda sec: iso(t + dt.timedelta(seconds=sec))  # noqa: E731
    steps = [{"cleared_at": s(3000)}, {"on_scene_at": s(900), "units": ["1A10"]},
             {"dispatched_at": s(120)}, {"en_route_at": s(200), "units": ["1A10", "2B20"]}]
    expect_eq(post(ctx, base("ooo", precinct="RT-2", priority=5, received_at=s(0)))[0], 201)
    for step in steps:
        st, _, body = patch(ctx, "t-rules", "ooo", step)
        expect_eq(st, 200, "step %r: %r" % (step, body))
    expect_eq(body["status"], "cleared", "status follows the furthest time")
    window = {"from": "2024-03-05", "to": "2024-03-06", "precinct": "RT-2"}
    row = rt(ctx, **window)["rows"][0]
    expect_eq([row[k]["max"] for k in INTERVALS], [120, 700, 900, 2100, 2880])
    by_unit = {r["unit"]: r["incidents"] for r in rt(ctx, by="unit", **window)["rows"]}
    expect_eq(by_unit, {"1A10": 1, "2B20": 1}, "one call under each of its units")
    # Reassigning moves the call between units.
    expect_eq(patch(ctx, "t-rules", "ooo", {"units": ["K9-3"]})[0], 200)
    by_unit = {r["unit"]: r["incidents"] for r in rt(ctx, by="unit", **window)["rows"]}
    expect_eq(by_unit, {"K9-3": 1}, "reassigned")
    expect_eq(patch(ctx, "t-rules", "ooo", {"units": []})[0], 200)
    by_unit = {r["unit"]: r["incidents"] for r in rt(ctx, by="unit", **window)["rows"]}
    expect_eq(by_unit, {None: 1}, "no unit")


def test_parameters(ctx):
    bad = [({"from": "2024-01-01T00:07:00Z"}, "from"), ({"by": "offense"}, "by"),
           ({"p": "0"}, "p"), ({"p": "101"}, "p"), ({"p": "99.9999"}, "p"),
           ({"priority": "10"}, "priority"), ({"precinct": "NOPE"}, "precinct"),
           ({"unit": "NOPE"}, "unit"), ({"shift": "Z"}, "shift"), ({"bogus": "1"}, "bogus")]
    for params, field in bad:
        st, _, body = ctx["d"].request("GET", "/v1/response-times?" +
                                       urllib.parse.urlencode(params), tok=ctx["cmd"])
        expect(st in (400, 422), "%r: %d" % (params, st))
        expect_eq(body["error"].get("field"), field, "%r" % params)
    expect_eq(ctx["d"].request("GET", "/v1/response-times", tok=ctx["dispatch"])[0], 403)
    expect_eq(ctx["d"].request("GET", "/v1/response-times")[0], 401)
    # A token limited to a precinct sees only that precinct.
    rows = rt(ctx, tok=ctx["scoped"], by="precinct")["rows"]
    expect({r["precinct"] for r in rows} <= {"RT-1"}, "scoped", rows)
    st, _, _ = ctx["d"].request("GET", "/v1/response-times?precinct=RT-0", tok=ctx["scoped"])
    expect_eq(st, 403)


# ------------------------------------------------------------ differential

def random_lifecycle(r, received):
    times = {"received_at": iso(received)}
    t = received
    steps = [("dispatched_at", 0.85, lambda: r.choice([0, 5, 30, r.randint(0, 900),
                                                        r.randint(0, 20000)])),
             ("en_route_at", 0.6, lambda: r.choice([0, r.randint(0, 300)])),
             ("on_scene_at", 0.75, lambda: int(r.lognormvariate(6, 1.2))),
             ("cleared_at", 0.7, lambda: int(r.lognormvariate(7.5, 1.0)))]
    for name, p, gap in steps:
        if r.random() < p:
            t = t + dt.timedelta(seconds=gap())
            times[name] = iso(t)
    return times


def random_incident(r, k):
    received = T0 + dt.timedelta(seconds=r.randint(0, 40 * 86400))
    if r.random() < 0.05:  # bunch some on a quarter-hour boundary
        received = received.replace(minute=r.choice([0, 15, 30, 45]), second=0)
    inc = {"source": "diff", "external_id": "d%05d" % k, "offense": "ROB",
           "precinct": r.choice(["RT-0", "RT-1", "RT-2"]),
           "units": r.sample(UNITS, r.choice([0, 0, 1, 1, 1, 2, 3]))}
    if r.random() < 0.9:
        inc["priority"] = r.randint(0, 9)
    if r.random() < 0.1:
        del inc["precinct"]
        inc["location"] = {"lat": 10.0, "lon": 10.0}  # outside every precinct: unassigned
    inc.update(random_lifecycle(r, received))
    if r.random() < 0.05:
        inc["status"] = r.choice(["unfounded", "cancelled"])
    return inc


def sql_reference(ci, by, q):
    """The same question, in SQL: {key tuple: {"incidents", interval: stats}}."""
    where = ["i.agency_id = (SELECT id FROM agencies WHERE code = '%s')" % AG,
             "i.received_at IS NOT NULL"]
    if "from" in q:
        where.append("i.received_at >= %s" % bound_sql(q["from"]))
    if "to" in q:
        where.append("i.received_at < %s" % bound_sql(q["to"]))
    if "precinct" in q:
        where.append("p.code IN (%s)" % ",".join("'%s'" % c for c in q["precinct"].split(",")))
    if "priority" in q:
        where.append("i.priority IN (%s)" % q["priority"])
    keys = {"precinct": "p.code", "priority": "i.priority", "shift": "shift",
            "unit": "unit", "hour_of_day": "extract(hour FROM local)::int",
            "day_of_week": "extract(isodow FROM local)::int"}
    cols = [keys[b] for b in by]
    per_unit = "unit" in by or "unit" in q
    if "unit" in q:
        where.append("unit IN (%s)" % ",".join("'%s'" % u for u in q["unit"].split(",")))
    if "shift" in q:
        where.append("shift IN (%s)" % ",".join("'%s'" % u for u in q["shift"].split(",")))
    stats = []
    for name, expr in [("queue", "dispatched_at - received_at"),
                       ("travel", "on_scene_at - coalesce(en_route_at, dispatched_at)"),
                       ("response", "on_scene_at - received_at"),
                       ("on_scene", "cleared_at - on_scene_at"),
                       ("committed", "cleared_at - coalesce(dispatched_at, en_route_at, "
                                     "on_scene_at)")]:
        x = "extract(epoch FROM %s)::bigint" % expr
        stats.append("count(%s), avg(%s), min(%s), max(%s), "
                     "percentile_disc(0.5) WITHIN GROUP (ORDER BY %s), "
                     "percentile_disc(0.9) WITHIN GROUP (ORDER BY %s), "
                     "percentile_disc(0.99) WITHIN GROUP (ORDER BY %s)" % ((x,) * 7))
    unit_src = ("unnest(CASE WHEN i.units = '{}' THEN ARRAY[NULL::text] ELSE i.units END)"
                if per_unit else "NULL::text")
    sql = """
        SELECT %s count(*), %s
        FROM incidents i LEFT JOIN precincts p ON p.id = i.precinct_id,
             LATERAL (SELECT i.received_at AT TIME ZONE '%s' AS local) l,
             LATERAL (SELECT s.code AS shift FROM shifts s WHERE s.agency_id = i.agency_id
                      ORDER BY (s.starts <= l.local::time) DESC, s.starts DESC, s.id
                      LIMIT 1) sh,
             LATERAL (SELECT %s AS unit) un
        WHERE %s
        %s""" % ("".join(c + ", " for c in cols), ", ".join(stats), ZONE, unit_src,
                 " AND ".join(where),
                 ("GROUP BY " + ", ".join(str(k + 1) for k in range(len(cols)))) if cols else "")
    out = {}
    for row in psql(ci, sql):
        key = tuple(convert_key(b, v) for b, v in zip(by, row))
        rest = row[len(cols):]
        entry = {"incidents": int(rest[0])}
        for k, name in enumerate(INTERVALS):
            n, avg, mn, mx, p50, p90, p99 = rest[1 + 7 * k: 8 + 7 * k]
            entry[name] = {"n": int(n), "mean": float(avg) if avg else None,
                           "min": int(mn) if mn else None, "max": int(mx) if mx else None,
                           "p50": int(p50) if p50 else None, "p90": int(p90) if p90 else None,
                           "p99": int(p99) if p99 else None}
        out[key] = entry
    return out


def bound_sql(v):
    if len(v) == 10:
        return "('%s'::date::timestamp AT TIME ZONE '%s')" % (v, ZONE)
    return "'%s'::timestamptz" % v


def convert_key(b, v):
    if v == "":
        return None
    return int(v) if b in ("priority", "hour_of_day", "day_of_week") else v


def close_enough(got, want):
    """The stated bound: never above, at most 1/128 below, exact under 256 s."""
    if want is None:
        return got is None
    if got is None or got > want:
        return False
    return got == want if want < 256 else want - got <= want / 128


def compare(ctx, by, q, label):
    params = dict(q)
    if by:
        params["by"] = ",".join(by)
    params["p"] = "99"
    got = rt(ctx, **params)
    want = sql_reference(ctx["ci"], by, q)
    rows = {tuple(r[b] for b in by): r for r in got["rows"]}
    expect_eq(sorted(rows, key=repr), sorted(want, key=repr), "%s %r: groups" % (label, params))
    for key, w in want.items():
        g = rows[key]
        expect_eq(g["incidents"], w["incidents"], "%s %r %r incidents" % (label, params, key))
        for name in INTERVALS:
            gi, wi = g[name], w[name]
            ctxt = "%s %r %r %s" % (label, params, key, name)
            expect_eq((gi["n"], gi["min"], gi["max"]), (wi["n"], wi["min"], wi["max"]), ctxt)
            if wi["n"]:
                expect(abs(gi["mean"] - wi["mean"]) < 1e-6, ctxt + " mean", gi, wi)
            for p in ("p50", "p90", "p99"):
                expect(close_enough(gi[p], wi[p]), "%s %s" % (ctxt, p), gi, wi)


def random_question(r):
    q = {}
    if r.random() < 0.8:
        start = T0 + dt.timedelta(minutes=15 * r.randint(-100, 40 * 96))
        end = start + dt.timedelta(minutes=15 * r.randint(1, 30 * 96))
        if r.random() < 0.3:
            q["from"] = (start - dt.timedelta(hours=6)).strftime("%Y-%m-%d")
            q["to"] = (end - dt.timedelta(hours=6)).strftime("%Y-%m-%d")
            if q["to"] <= q["from"]:
                del q["to"]
        else:
            q["from"] = iso(start)
            q["to"] = iso(end)
    if r.random() < 0.25:
        q["precinct"] = ",".join(r.sample(["RT-0", "RT-1", "RT-2"], r.randint(1, 2)))
    if r.random() < 0.2:
        q["priority"] = ",".join(str(p) for p in r.sample(range(10), r.randint(1, 4)))
    if r.random() < 0.15:
        q["unit"] = ",".join(r.sample(UNITS[:5], r.randint(1, 2)))
    if r.random() < 0.15:
        q["shift"] = ",".join(r.sample([s[0] for s in SHIFTS], r.randint(1, 2)))
    by = r.sample(["precinct", "priority", "shift", "unit", "hour_of_day", "day_of_week"],
                  r.choice([0, 1, 1, 2, 2, 3]))
    return by, q


def test_differential(ctx):
    r = random.Random(SEED)
    print("seed %d" % SEED)
    incs = [random_incident(r, k) for k in range(N)]
    body = "\n".join(__import__("json").dumps(i) for i in incs)
    st, _, res = ctx["d"].request("POST", "/v1/incidents", body, ctx["dispatch"],
                                  ctype="application/x-ndjson")
    expect_eq(st, 200)
    expect_eq(res["accepted"], N, "every incident accepted: %r" %
              [x for x in res["results"] if "error" in x][:3])
    # Changes: reposts with new lifecycles, PATCHes of times, units, precinct, priority.
    for _ in range(N // 3):
        k = r.randrange(N)
        ext = "d%05d" % k
        kind = r.random()
        if kind < 0.3:
            inc = random_incident(r, k)
            expect(post(ctx, inc)[0] in (200, 201), "repost")
        elif kind < 0.5:
            expect_eq(patch(ctx, "diff", ext, {"units": r.sample(UNITS, r.randint(0, 3))})[0],
                      200)
        elif kind < 0.65:
            expect_eq(patch(ctx, "diff", ext, {"precinct": r.choice(["RT-0", "RT-1", "RT-2"]),
                                               "priority": r.randint(0, 9)})[0], 200)
        elif kind < 0.8:
            rec = psql(ctx["ci"], "SELECT received_at, cleared_at IS NULL FROM incidents "
                       "WHERE external_id = '%s'" % ext)[0]
            if rec[1] == "t":
                received = dt.datetime.fromisoformat(rec[0].replace(" ", "T")
                                                     .replace("+00", "+00:00"))
                later = iso(received + dt.timedelta(days=1))
                expect_eq(patch(ctx, "diff", ext, {"cleared_at": later})[0], 200)
        elif kind < 0.9:
            st = patch(ctx, "diff", ext, {"status": r.choice(["unfounded", "cancelled"])})[0]
            expect_eq(st, 200)
        else:  # move received_at earlier (a late correction), keeping the order
            rec = psql(ctx["ci"], "SELECT received_at FROM incidents WHERE external_id = '%s'"
                       % ext)[0]
            received = dt.datetime.fromisoformat(rec[0].replace(" ", "T")
                                                 .replace("+00", "+00:00"))
            expect_eq(patch(ctx, "diff", ext,
                            {"received_at": iso(received - dt.timedelta(seconds=r.randint(
                                0, 7200)))})[0], 200)
    compare(ctx, [], {}, "all")
    compare(ctx, ["precinct", "priority"], {}, "by precinct, priority")
    compare(ctx, ["shift"], {}, "by shift")
    compare(ctx, ["unit"], {}, "by unit")
    for i in range(40):
        by, q = random_question(r)
        compare(ctx, by, q, "random %d" % i)
    ctx["questions"] = [random_question(r) for _ in range(10)]


def test_restart_rebuilds_the_same(ctx):
    ctx["d"].stop()
    ctx["d"] = Daemon(ctx["ci"])
    ctx["d"].wait_ready()
    compare(ctx, ["precinct", "priority", "unit"], {}, "after restart")
    compare(ctx, ["shift", "hour_of_day"], {}, "after restart")
    for i, (by, q) in enumerate(ctx.get("questions", [])):
        compare(ctx, by, q, "after restart %d" % i)


def test_shift_redefined(ctx):
    """Redefining a tour re-buckets every call at once."""
    expect_eq(ctx["d"].request("PUT", "/v1/shifts/X", {"starts": "12:00", "ends": "22:00"},
                               ctx["sup"])[0], 200)
    compare(ctx, ["shift"], {}, "after X moved")


if __name__ == "__main__":
    run([test_interval_rules, test_backwards_rejected, test_out_of_order_lifecycle,
         test_parameters, test_differential, test_restart_rebuilds_the_same,
         test_shift_redefined], setup, teardown)
