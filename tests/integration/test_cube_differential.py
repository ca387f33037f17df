#!/usr/bin/env python3
"""The cube against SQL, on the same rows.

Posts thousands of random incidents for three agencies in different zones
(America/Guatemala without DST, America/Chicago with it, Asia/Kolkata at
+05:30), then reposts, PATCHes, reclassifies, unfounds and reinstates some,
moves some across precincts and years (late reports), some of it from
concurrent clients so group commits mix old and new rows. Then asks many
random cube and COMPSTAT questions and compares each answer with the same
aggregate computed by PostgreSQL on the database -- again after a restart,
when the cube was rebuilt from PostGIS.

COMPSTAT_TEST_SEED=n reproduces a run.
"""
import datetime as dt
import json
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, expect, expect_eq, fresh_db, psql, run, token  # noqa: E402

SEED = int(os.environ.get("COMPSTAT_TEST_SEED", random.randrange(1 << 30)))
N_INCIDENTS = int(os.environ.get("COMPSTAT_TEST_INCIDENTS", 4000))
AGENCIES = [("GT", "America/Guatemala", 14.6, -90.5), ("CH", "America/Chicago", 41.8, -87.7),
            ("IN", "Asia/Kolkata", 28.6, 77.2)]
CATEGORIES = ["murder", "robbery", "felony_assault", "burglary", "grand_larceny", "other"]
DIMS = ["precinct", "offense", "category", "priority", "hour_of_day", "day_of_week"]
GRANS = ["none", "hour", "day", "week", "month", "year"]


def rnd_time(r, zone_name):
    """A random instant 2018-2026, biased towards the edges that break code."""
    kind = r.random()
    if kind < 0.25:  # around a DST change or a year boundary, in local time
        y = r.randint(2018, 2026)
        month, day = r.choice([(3, 8), (3, 10), (3, 12), (3, 14), (11, 1), (11, 3), (11, 5),
                               (12, 31), (1, 1), (2, 28), (2, 29), (3, 1)])
        try:
            base = dt.datetime(y, month, day, tzinfo=dt.timezone.utc)
        except ValueError:
            base = dt.datetime(y, 3, 1, tzinfo=dt.timezone.utc)
        t = base + dt.timedelta(minutes=r.randint(-36 * 60, 36 * 60))
    else:
        start = dt.datetime(2018, 1, 1, tzinfo=dt.timezone.utc).timestamp()
        end = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc).timestamp()
        t = dt.datetime.fromtimestamp(r.uniform(start, end), dt.timezone.utc)
    t = t.replace(microsecond=0, second=r.choice([0, 0, 59, r.randint(0, 59)]))
    off = dt.timedelta(hours=r.choice([0, -6, -5, 5, 1]), minutes=r.choice([0, 0, 30]))
    return t.astimezone(dt.timezone(off)).isoformat()


class World:
    def __init__(self, d, ci, r):
        self.d, self.ci, self.r = d, ci, r
        self.agencies = {}

    def setup_agency(self, code, zone, lat0, lon0):
        admin = token(self.ci, "admin", code)
        d = self.d
        expect_eq(d.request("PUT", "/v1/agencies/" + code, {"name": code, "time_zone": zone},
                            admin)[0], 200)
        precincts = []
        for i in range(2):
            for j in range(2):
                pc = "%s-%d%d" % (code, i, j)
                la, lo = lat0 + i * 0.1, lon0 + j * 0.1
                poly = {"type": "Polygon", "coordinates": [[[lo, la], [lo + 0.1, la],
                                                            [lo + 0.1, la + 0.1], [lo, la + 0.1],
                                                            [lo, la]]]}
                st, _, _ = d.request("PUT", "/v1/precincts/" + pc, {"name": pc, "boundary": poly},
                                     admin)
                expect_eq(st, 201)
                precincts.append(pc)
        offenses = []
        for k, cat in enumerate(CATEGORIES):
            for v in range(2):
                oc = "%s%d" % (cat[:3].upper(), v)
                expect_eq(d.request("PUT", "/v1/offenses/" + oc, {"name": oc, "category": cat},
                                    admin)[0], 201)
                offenses.append(oc)
        self.agencies[code] = {"zone": zone, "lat0": lat0, "lon0": lon0, "admin": admin,
                               "dispatch": token(self.ci, "dispatch", code),
                               "commander": token(self.ci, "commander", code),
                               "precincts": precincts, "offenses": offenses, "incidents": {}}

    def random_incident(self, code, ext):
        a, r = self.agencies[code], self.r
        inc = {"source": "cad-" + code.lower(), "external_id": ext,
               "offense": r.choice(a["offenses"])}
        if r.random() < 0.85:
            inc["priority"] = r.randint(0, 9)
        where = r.random()
        if where < 0.1:
            inc["precinct"] = r.choice(a["precincts"])  # unlocated
        elif where < 0.18:  # outside every precinct: unassigned
            inc["location"] = {"lat": a["lat0"] - 0.5, "lon": a["lon0"] - r.random()}
        else:
            inc["location"] = {"lat": a["lat0"] + r.random() * 0.2,
                               "lon": a["lon0"] + r.random() * 0.2}
        t = rnd_time(r, a["zone"])
        if r.random() < 0.7:
            inc["occurred_at"] = t
            if r.random() < 0.5:
                inc["received_at"] = t
        else:
            inc["received_at"] = t
        status = r.random()
        if status < 0.06:
            inc["status"] = "unfounded"
        elif status < 0.1:
            inc["status"] = "cancelled"
        return inc


def post_all(d, tok, incidents, batch=250):
    for i in range(0, len(incidents), batch):
        body = "\n".join(json.dumps(x) for x in incidents[i:i + batch])
        st, _, res = d.request("POST", "/v1/incidents", body, tok, ctype="application/x-ndjson")
        expect_eq(st, 200, "batch post")
        errors = [x for x in res["results"] if "error" in x]
        expect_eq(errors, [], "every generated incident is valid")


def setup():
    ci = fresh_db("cube_diff")
    d = Daemon(ci)
    d.wait_ready()
    r = random.Random(SEED)
    print("seed", SEED, flush=True)
    w = World(d, ci, r)
    for a in AGENCIES:
        w.setup_agency(*a)
    return w


def teardown(w):
    expect_eq(w.d.stop(), 0)


def test_load_and_mutate(w):
    r = w.r
    per_agency = N_INCIDENTS // len(AGENCIES)
    for code, a in w.agencies.items():
        incs = [w.random_incident(code, "%s-%d" % (code, i)) for i in range(per_agency)]
        for x in incs:
            a["incidents"][x["external_id"]] = x
        post_all(w.d, a["dispatch"], incs)

    # Mutations, from several clients at once (mixed group commits).
    def mutate(code, picks, seed):
        rr = random.Random(seed)
        a = w.agencies[code]
        c = Daemon.__new__(Daemon)
        c.port, c.conn = w.d.port, None
        for ext in picks:
            inc = a["incidents"][ext]
            url = "/v1/incidents/%s/%s" % (inc["source"], ext)
            op = rr.random()
            if op < 0.15:  # identical repost
                st, _, _ = c.request("POST", "/v1/incidents", inc, a["dispatch"])
                expect(st == 200, "identical repost", st)
            elif op < 0.3:  # changed repost: late report of another year
                new = dict(inc)
                new["occurred_at"] = rnd_time(rr, a["zone"])
                new.pop("received_at", None)
                new["offense"] = rr.choice(a["offenses"])
                st, _, _ = c.request("POST", "/v1/incidents", new, a["dispatch"])
                expect_eq(st, 200, "changed repost")
            elif op < 0.5:  # reclassify
                st, _, _ = c.request("PATCH", url, {"offense": rr.choice(a["offenses"])},
                                     a["dispatch"])
                expect_eq(st, 200, "reclassify")
            elif op < 0.62:  # unfound
                st, _, _ = c.request("PATCH", url, {"status": "unfounded"}, a["dispatch"])
                expect_eq(st, 200, "unfound")
            elif op < 0.7:  # reinstate
                st, _, _ = c.request("PATCH", url, {"status": "open"}, a["dispatch"])
                expect_eq(st, 200, "reinstate")
            elif op < 0.82:  # move: new location, so a new precinct (or none)
                loc = {"lat": a["lat0"] + rr.random() * 0.25, "lon": a["lon0"] + rr.random() * 0.2}
                st, _, _ = c.request("PATCH", url, {"location": loc}, a["dispatch"])
                expect_eq(st, 200, "move")
            elif op < 0.9:  # priority change, including to none
                st, _, _ = c.request("PATCH", url, {"priority": rr.choice([None, 0, 5, 9])},
                                     a["dispatch"])
                expect_eq(st, 200, "priority")
            else:  # the counting time moves across years (occurred_at wins over received_at)
                st, _, _ = c.request("PATCH", url, {"occurred_at": rnd_time(rr, a["zone"])},
                                     a["dispatch"])
                expect_eq(st, 200, "retime")

    threads = []
    for code, a in w.agencies.items():
        exts = list(a["incidents"])
        r.shuffle(exts)
        picks = exts[:len(exts) // 3]
        for k in range(2):
            threads.append(threading.Thread(target=mutate,
                                            args=(code, picks[k::2], r.randrange(1 << 30))))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # An offense reclassified into another category moves its counts.
    for code, a in w.agencies.items():
        st, _, body = w.d.request("PUT", "/v1/offenses/MUR0",
                                  {"name": "MUR0", "category": "robbery"}, a["admin"])
        expect_eq((st, body["category"]), (200, "robbery"), "reclassified offense")


# ------------------------------------------------------------------ questions

def random_bound(r, zone):
    if r.random() < 0.5:
        y, m = r.randint(2017, 2027), r.randint(1, 12)
        return "%04d-%02d-%02d" % (y, m, r.randint(1, 28))
    t = dt.datetime(r.randint(2017, 2027), r.randint(1, 12), r.randint(1, 28), r.randint(0, 23),
                    r.choice([0, 15, 30, 45]), tzinfo=dt.timezone.utc)
    return t.isoformat().replace("+00:00", "Z")


def random_question(r, a):
    q = {}
    if r.random() < 0.7:
        q["from"] = random_bound(r, a["zone"])
    if r.random() < 0.7:
        q["to"] = random_bound(r, a["zone"])
    dims = [x for x in DIMS if r.random() < 0.3]
    if dims:
        q["by"] = ",".join(dims)
    if r.random() < 0.5:
        q["granularity"] = r.choice(GRANS)
    if r.random() < 0.3:
        q["precinct"] = ",".join(r.sample(a["precincts"], r.randint(1, 2)))
    if r.random() < 0.2:
        q["offense"] = ",".join(r.sample(a["offenses"], r.randint(1, 3)))
    if r.random() < 0.2:
        q["category"] = ",".join(r.sample(CATEGORIES, r.randint(1, 2)))
    if r.random() < 0.2:
        q["priority"] = ",".join(str(x) for x in r.sample(range(10), r.randint(1, 3)))
    return q


def sql_bound(v, zone):
    if len(v) == 10:
        return "('%s'::timestamp AT TIME ZONE '%s')" % (v, zone)
    return "'%s'::timestamptz" % v


def sql_for(code, zone, q):
    local = "(i.counted_at AT TIME ZONE '%s')" % zone
    cols = {"precinct": "p.code", "offense": "o.code", "category": "o.category",
            "priority": "i.priority", "hour_of_day": "extract(hour FROM %s)::int" % local,
            "day_of_week": "extract(isodow FROM %s)::int" % local}
    dims = q.get("by", "").split(",") if q.get("by") else []
    sel = [cols[x] for x in dims]
    gran = q.get("granularity", "none")
    if gran != "none":
        sel.append("extract(epoch FROM (date_trunc('%s', %s) AT TIME ZONE '%s'))::bigint"
                   % (gran, local, zone))
    where = ["a.code = '%s'" % code, "i.status NOT IN ('unfounded', 'cancelled')"]
    if "from" in q:
        where.append("i.counted_at >= " + sql_bound(q["from"], zone))
    if "to" in q:
        where.append("i.counted_at < " + sql_bound(q["to"], zone))
    for key, col in (("precinct", "p.code"), ("offense", "o.code"), ("category", "o.category")):
        if key in q:
            where.append("%s IN (%s)" % (col, ",".join("'%s'" % x for x in q[key].split(","))))
    if "priority" in q:
        where.append("i.priority IN (%s)" % q["priority"])
    group = " GROUP BY " + ",".join(str(k + 1) for k in range(len(sel))) if sel else ""
    inner = ("SELECT %s count(*) AS n, max(i.updated_at) AS newest FROM incidents i"
             " JOIN agencies a ON a.id = i.agency_id JOIN offenses o ON o.id = i.offense_id"
             " LEFT JOIN precincts p ON p.id = i.precinct_id WHERE %s%s"
             % ("".join(s + " AS d%d, " % k for k, s in enumerate(sel)), " AND ".join(where),
                group))
    return "SELECT coalesce(json_agg(row_to_json(x)), '[]') FROM (%s) x;" % inner


def ask_cube(w, code, q, tok=None):
    a = w.agencies[code]
    from urllib.parse import urlencode
    st, _, body = w.d.request("GET", "/v1/cube?" + urlencode(q), None, tok or a["commander"])
    expect_eq(st, 200, "cube %r -> %r" % (q, body))
    return body


def cube_key(q, cell):
    dims = q.get("by", "").split(",") if q.get("by") else []
    key = tuple(cell[x] for x in dims)
    if q.get("granularity", "none") != "none":
        key += (int(dt.datetime.fromisoformat(cell["bucket"]).timestamp()),)
    return key


def check_questions(w, n, r):
    questions = []
    for _ in range(n):
        code = r.choice(list(w.agencies))
        questions.append((code, random_question(r, w.agencies[code])))
    sql = "".join(sql_for(code, w.agencies[code]["zone"], q) for code, q in questions)
    rows = psql(w.ci, sql)
    expect_eq(len(rows), len(questions))
    for (code, q), row in zip(questions, rows):
        want_rows = json.loads(row[0])
        ndims = len(q["by"].split(",")) if q.get("by") else 0
        ndims += 1 if q.get("granularity", "none") != "none" else 0
        want = {tuple(x["d%d" % k] for k in range(ndims)): x["n"] for x in want_rows if x["n"]}
        body = ask_cube(w, code, q)
        got = {cube_key(q, c): c["count"] for c in body["cells"]}
        if got != want:
            diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                    if got.get(k) != want.get(k)}
            raise AssertionError("cube %s %r differs from SQL (got, want): %r"
                                 % (code, q, dict(list(diff.items())[:10])))
        expect_eq(body["total"], sum(want.values()), "total of %r" % q)
        newest = [x["newest"] for x in want_rows if x["newest"]]
        if newest:
            as_of = dt.datetime.fromisoformat(body["as_of"].replace("Z", "+00:00"))
            top = max(dt.datetime.fromisoformat(x) for x in newest)
            expect(as_of >= top.replace(microsecond=top.microsecond // 1000 * 1000),
                   "as_of %s is not older than the newest counted commit %s" % (as_of, top))


def compstat_sql(code, zone, precinct, sunday):
    """The COMPSTAT sheet in SQL: counts per category for the 3 periods and their priors."""
    d = "'%s'::date" % sunday
    periods = {"week": "%s - 6" % d, "d28": "%s - 27" % d,
               "ytd": "date_trunc('year', %s)::date" % d}
    parts = []
    for name, start in periods.items():
        for prior in (0, 1):
            s = "(%s - interval '1 year')::date" % start if prior else start
            e = "(%s - interval '1 year')::date" % d if prior else d
            parts.append(
                "SELECT '%s' AS period, %d AS prior, o.category, count(i.id) AS n"
                " FROM offenses o JOIN agencies a ON a.id = o.agency_id AND a.code = '%s'"
                " LEFT JOIN incidents i ON i.offense_id = o.id"
                "  AND i.status NOT IN ('unfounded', 'cancelled')"
                "  AND i.counted_at >= ((%s)::timestamp AT TIME ZONE '%s')"
                "  AND i.counted_at < (((%s) + 1)::timestamp AT TIME ZONE '%s')%s"
                " GROUP BY o.category"
                % (name, prior, code, s, zone, e, zone,
                   " AND i.precinct_id = (SELECT id FROM precincts WHERE code = '%s')" % precinct
                   if precinct else ""))
    return ("SELECT coalesce(json_agg(row_to_json(x)), '[]') FROM (%s) x;"
            % " UNION ALL ".join(parts))


def check_compstat(w, n, r):
    questions = []
    for _ in range(n):
        code = r.choice(list(w.agencies))
        a = w.agencies[code]
        day = dt.date(r.randint(2018, 2027), 1, 1) + dt.timedelta(days=r.randint(0, 364))
        if r.random() < 0.2:
            day = r.choice([dt.date(2024, 3, 3), dt.date(2021, 2, 28), dt.date(2025, 3, 2),
                            dt.date(2020, 3, 1), dt.date(2025, 11, 2), dt.date(2026, 1, 4)])
        day += dt.timedelta(days=(6 - day.weekday()))  # the Sunday ending that week
        precinct = r.choice([None] + a["precincts"])
        questions.append((code, precinct, day.isoformat()))
    sql = "".join(compstat_sql(code, w.agencies[code]["zone"], p, s) for code, p, s in questions)
    rows = psql(w.ci, sql)
    for (code, precinct, sunday), row in zip(questions, rows):
        counts = {}
        for x in json.loads(row[0]):
            counts[(x["category"], x["period"], x["prior"])] = x["n"]
            key = ("total", x["period"], x["prior"])
            counts[key] = counts.get(key, 0) + x["n"]
        url = "/v1/compstat?week_ending=" + sunday + ("&precinct=" + precinct if precinct else "")
        st, _, body = w.d.request("GET", url, None, w.agencies[code]["commander"])
        expect_eq(st, 200, url)
        expect_eq(body["week_ending"], sunday)
        cats = [row["category"] for row in body["rows"]]
        expect_eq(cats[-1], "total", "total row last")
        expect_eq(sorted(cats[:-1]), sorted(CATEGORIES), "one row per category of the agency")
        for row_ in body["rows"]:
            for period in ("week", "d28", "ytd"):
                cur = counts.get((row_["category"], period, 0), 0)
                pri = counts.get((row_["category"], period, 1), 0)
                got = row_[period]
                expect_eq((got["current"], got["prior"]), (cur, pri),
                          "%s %s %s %s" % (url, code, row_["category"], period))
                if pri == 0:
                    expect_eq(got["pct_change"], None, "pct_change null when prior is 0")
                else:
                    # NYPD rounding: half away from zero, to 0.1 (exact integers).
                    num = (cur - pri) * 1000
                    q10 = (abs(num) * 2 + pri) // (2 * pri)
                    expect_eq(got["pct_change"], (q10 if num >= 0 else -q10) / 10.0,
                              "pct_change %d vs %d" % (cur, pri))
                z = 2 * (cur ** 0.5 - pri ** 0.5)
                expect(abs(got["z"] - z) <= 0.005 + 1e-9, "z %r vs %r" % (got["z"], z))


def test_cube_equals_sql(w):
    check_questions(w, 400, random.Random(SEED + 1))


def test_compstat_equals_sql(w):
    check_compstat(w, 60, random.Random(SEED + 2))


def test_scopes_and_errors(w):
    a = w.agencies["GT"]
    p1 = a["precincts"][0]
    scoped = token(w.ci, "commander", "GT", p1)
    body = ask_cube(w, "GT", {"by": "precinct"}, scoped)
    expect_eq({c["precinct"] for c in body["cells"]} <= {p1}, True, "scoped cube")
    st, _, _ = w.d.request("GET", "/v1/cube?precinct=" + a["precincts"][1], None, scoped)
    expect_eq(st, 403)
    st, _, _ = w.d.request("GET", "/v1/compstat", None, scoped)
    expect_eq(st, 403, "a scoped token names its precinct")
    st, _, _ = w.d.request("GET", "/v1/compstat?precinct=" + p1, None, scoped)
    expect_eq(st, 200)
    st, _, _ = w.d.request("GET", "/v1/cube", None, a["dispatch"])
    expect_eq(st, 403, "dispatch does not read the cube")
    for q, field in (("from=2026-01-01T10:07:00Z", "from"), ("by=colour", "by"),
                     ("granularity=fortnight", "granularity"), ("priority=12", "priority"),
                     ("offense=NOPE", "offense"), ("format=xml", "format")):
        st, _, body = w.d.request("GET", "/v1/cube?" + q, None, a["commander"])
        expect_eq((st, body["error"]["field"]), (422, field), q)
    st, _, body = w.d.request("GET", "/v1/compstat?week_ending=2026-11-25", None, a["commander"])
    expect_eq((st, body["error"]["field"]), (422, "week_ending"), "not a Sunday")
    st, _, body = w.d.request("GET", "/v1/compstat", None, a["commander"])
    expect_eq(st, 200, "default week")
    today = dt.datetime.now(dt.timezone.utc).date()
    we = dt.date.fromisoformat(body["week_ending"])
    expect(we.weekday() == 6 and 0 <= (we - today).days <= 7, "the current week", we)
    st, h, raw = w.d.request("GET", "/v1/cube?by=category&format=csv", None, a["commander"],
                             raw=True)
    lines = raw.decode().strip().split("\r\n")
    expect_eq(lines[0], "category,count")
    expect("X-As-Of" in h, "as_of travels in a header with CSV")


def test_restart_rebuilds_the_same_cube(w):
    expect_eq(w.d.stop(), 0)
    w.d = Daemon(w.ci)
    w.d.wait_ready()
    check_questions(w, 150, random.Random(SEED + 3))
    check_compstat(w, 20, random.Random(SEED + 4))


if __name__ == "__main__":
    run([test_load_and_mutate, test_cube_equals_sql, test_compstat_equals_sql,
         test_scopes_and_errors, test_restart_rebuilds_the_same_cube], setup, teardown)
