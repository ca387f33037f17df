#!/usr/bin/env python3
"""The security review's hotspot findings (items 3, 6c, 6d).

3.  One hotspot question must not stall everyone: what a question may cost
    is bounded (hotspot_max_cells, hotspot_max_features: clear 422s naming
    the field, the limit and what was asked), and what is allowed is
    computed off the loop -- /healthz and a POST answer promptly while
    several of the largest allowed questions are being computed, and their
    answers equal SQL over the incidents committed before they were asked.
6c. Moving a precinct far (the agency's grid origin) rebuilds only that
    agency's grid: another agency posting all the while never gets a 503,
    and afterwards both agencies' hotspot counts equal SQL.
6d. A precinct too large for the cap is refused from its bounding box,
    before any of its cells is built (the daemon's memory does not grow).

Expected numbers come from SQL on the same database."""
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa

MAX_CELLS = 1000000      # the defaults of hotspot_max_cells and hotspot_max_features
MAX_FEATURES = 100000


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def preload(ci, agency, offense, precinct, n, box, seed, source):
    """n incidents of agency in precinct, uniformly inside box, over 2026, by SQL."""
    psql(ci, """
        SELECT setseed(%s);
        INSERT INTO incidents (source, external_id, agency_id, precinct_id, offense_id, status,
                               geom, occurred_at)
        SELECT '%s', g::text, a.id, p.id, o.id, 'cleared',
               ST_SetSRID(ST_MakePoint(%r + random() * %r, %r + random() * %r), 4326),
               timestamptz '2026-01-01 00:00:00+00' + random() * interval '300 days'
        FROM generate_series(1, %d) g, agencies a, precincts p, offenses o
        WHERE a.code = '%s' AND p.code = '%s' AND o.agency_id = a.id AND o.code = '%s'
        """ % (seed, source, box[0], box[2] - box[0], box[1], box[3] - box[1], n, agency,
               precinct, offense))


def err(body):
    """The error's field of an answer (None when it is no error)."""
    return body.get("error", {}).get("field") if isinstance(body, dict) else None


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def check_counts(d, ci, tok, agency, area, cell_m, exclude_ids=()):
    """method=count over area (bbox=... or precinct=...): every returned cell's
    count equals PostGIS counting the agency's crimes (of that precinct) in
    that rectangle; with a bbox the cells hold every such incident in it
    (the bbox must leave a margin around the incidents: a cell is in the
    study area when its centre is); with a precinct, no more than it holds
    (an edge cell whose centre lies outside is not in the study area)."""
    q = "/v1/hotspots?method=count&cell_m=%d&%s" % (cell_m, area)
    st, _, body = d.request("GET", q, None, tok)
    expect_eq(st, 200, q)
    excl = "AND i.id NOT IN (%s)" % ",".join(map(str, exclude_ids)) if exclude_ids else ""
    if area.startswith("bbox="):
        b = [float(x) for x in area[5:].split(",")]
        # unscoped token: the bbox counts every located crime of the agency there
        where_area = "TRUE"
    else:
        b = None
        where_area = "i.precinct_id IN (SELECT id FROM precincts WHERE code = '%s')" % area[9:]
    rows = []
    for f in body["features"]:
        ring = f["geometry"]["coordinates"][0]
        rows.append((ring[0][0], ring[0][1], ring[2][0], ring[2][1], f["properties"]["count"]))
    cond = """i.geom IS NOT NULL AND i.status NOT IN ('unfounded', 'cancelled')
        AND i.agency_id = (SELECT id FROM agencies WHERE code = '%s') AND %s %s""" % (
        agency, where_area, excl)
    base = "FROM incidents i WHERE " + cond
    if rows:
        values = ",".join("(%.17g,%.17g,%.17g,%.17g,%d)" % r for r in rows)
        # (the envelope lets the GiST index find the candidates; the exact,
        # half-open test decides)
        bad = psql(ci, """
            WITH c(w, s, e, n, got) AS (VALUES %s)
            SELECT c.w, c.s, c.got, k.n FROM c,
            LATERAL (SELECT count(*) AS n FROM incidents i
                     WHERE i.geom && ST_MakeEnvelope(c.w, c.s, c.e, c.n, 4326)
                       AND ST_X(i.geom) >= c.w AND ST_X(i.geom) < c.e
                       AND ST_Y(i.geom) >= c.s AND ST_Y(i.geom) < c.n AND %s) k
            WHERE k.n <> c.got""" % (values, cond))
        expect_eq(bad, [], "%s: cells whose count differs from PostGIS (w, s, got, postgis)" % q)
    total = sum(r[4] for r in rows)
    if b is None:
        want = int(scalar(ci, "SELECT count(*) " + base))
    else:
        # a cell belongs to the bbox's study area when its centre lies in it
        # (the cells of these tests lie well inside: the same count)
        want = int(scalar(ci, "SELECT count(*) %s AND ST_X(i.geom) >= %r AND ST_X(i.geom) <= %r"
                              " AND ST_Y(i.geom) >= %r AND ST_Y(i.geom) <= %r" % (
                                  base, b[0], b[2], b[1], b[3])))
    if b is None:
        expect(0 < total <= want, "%s: cells count no incident twice (%d of %d)" % (q, total, want))
    else:
        expect_eq(total, want, "%s: the cells hold every incident of the area" % q)
    return body


H_BOX = (-91.0, 14.0, -90.1, 14.9)   # 0.9 x 0.9 degrees: ~970,000 cells of 100 m


def setup():
    ci = fresh_db("review_hotspots")
    d = Daemon(ci)
    d.wait_ready()
    admin = token(ci, "admin", "H")
    expect_eq(d.request("PUT", "/v1/agencies/H", {"name": "h", "time_zone": "America/Guatemala"},
                        admin)[0], 200)
    expect_eq(d.request("PUT", "/v1/precincts/H-1", {"name": "h1", "boundary": square(*H_BOX)},
                        admin)[0], 201)
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "rob", "category": "robbery"},
                        admin)[0], 201)
    preload(ci, "H", "ROB", "H-1", 20000, H_BOX, 0.3, "pre")
    d.stop()
    d = Daemon(ci)  # the cubes load the preloaded incidents
    d.wait_ready(120)
    return {"ci": ci, "d": d, "admin": admin, "commander": token(ci, "commander", "H"),
            "dispatch": token(ci, "dispatch", "H")}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def test_large_questions_do_not_stall_the_loop(ctx):
    """Twelve of the largest allowed questions (Gi* over ~970,000 cells each,
    distinct study areas) at once; meanwhile /healthz and POSTs, one after
    the other, each answer promptly. Computed on the loop, each question
    held it for about a second (the ASan build), the twelve for many."""
    d, ci, cm = ctx["d"], ctx["ci"], ctx["commander"]
    nq = 12
    results = [None] * nq

    def ask(i):
        c = Daemon.__new__(Daemon)  # a connection of its own
        c.port, c.conn = d.port, None
        q = "/v1/hotspots?method=gi&limit=20&bbox=%r,%r,%r,%r" % (
            H_BOX[0], H_BOX[1], H_BOX[2] - 0.0005 * i, H_BOX[3])
        t0 = time.time()
        st, _, body = c.request("GET", q, None, cm)
        results[i] = (st, body, time.time() - t0, q)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(nq)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # the questions are in
    took, posted = [], []
    t_all = time.time()
    for k in range(3):
        t0 = time.time()
        st, _, _ = d.request("GET", "/healthz")
        took.append(("healthz", time.time() - t0))
        expect_eq(st, 200)
        inc = {"source": "stall", "external_id": str(k), "offense": "ROB", "precinct": "H-1",
               "location": {"lat": 14.45, "lon": -90.55 + 0.01 * k},
               "occurred_at": "2026-03-03T10:00:00Z"}
        t0 = time.time()
        st, _, body = d.request("POST", "/v1/incidents", inc, ctx["dispatch"])
        took.append(("POST", time.time() - t0))
        expect_eq(st, 201, "POST while hotspots are computed")
        posted.append(body["id"])
    t_all = time.time() - t_all
    for t in threads:
        t.join(600)
    slowest = max(r[2] for r in results)
    print("while %d questions took up to %.1f s: %s, %.2f s in all" % (
        nq, slowest, ", ".join("%s %.3f s" % t for t in took), t_all))
    expect(max(t for _, t in took) < 2.0 and t_all < 3.0,
           "healthz and POSTs answer promptly while questions are computed "
           "(the questions took up to %.1f s)" % slowest, took)
    for st, body, _, q in results:
        expect_eq(st, 200, q)
        expect_eq(len(body["features"]), 20, q)
        expect(body["study_area_cells"] > 900000, "the largest allowed study area", q)
    # Each answer is the counts as they were when it was asked: the incident
    # posted meanwhile is in none of them (or, had the POST overtaken a
    # question, in it), and every cell equals PostGIS.
    ids = ",".join(map(str, posted))
    for st, body, _, q in results:
        rows = [(f["geometry"]["coordinates"][0], f["properties"]["count"])
                for f in body["features"]]
        values = ",".join("(%.17g,%.17g,%.17g,%.17g,%d)" % (r[0][0], r[0][1], r[2][0], r[2][1], c)
                          for r, c in rows)
        got = psql(ci, """
            WITH c(w, s, e, n, got) AS (VALUES %s)
            SELECT sum(CASE WHEN k.without = c.got THEN 1 ELSE 0 END),
                   sum(CASE WHEN k.with_it = c.got THEN 1 ELSE 0 END) FROM c,
            LATERAL (SELECT count(*) FILTER (WHERE i.id NOT IN (%s)) AS without,
                            count(*) AS with_it
                     FROM incidents i WHERE i.status NOT IN ('unfounded', 'cancelled')
                       AND ST_X(i.geom) >= c.w AND ST_X(i.geom) < c.e
                       AND ST_Y(i.geom) >= c.s AND ST_Y(i.geom) < c.n) k""" % (values, ids))[0]
        expect(int(got[0]) == len(rows) or int(got[1]) == len(rows),
               "every cell equals PostGIS before (or after) the concurrent POSTs", q, got)


def test_limits(ctx):
    """Over-limit questions get a 422 naming the field, the limit and what was asked."""
    d, cm = ctx["d"], ctx["commander"]
    # a bbox of 1.5 x 1.5 degrees: ~2.7 M cells of 100 m (under the old 4 M cap)
    q = "/v1/hotspots?method=gi&limit=10&bbox=-91.5,13.5,-90.0,15.0"
    t0 = time.time()
    st, _, body = d.request("GET", q, None, cm)
    expect_eq((st, err(body)), (422, "bbox"), q)
    msg = body["error"]["message"]
    asked = int(re.search(r"spans (\d+) cells", msg).group(1))
    expect(asked > MAX_CELLS and "hotspot_max_cells" in msg and str(MAX_CELLS) in msg, msg)
    expect(time.time() - t0 < 5, "refused before anything is built")
    # the same area in larger cells is answered
    st, _, body = d.request("GET", q + "&cell_m=200", None, cm)
    expect_eq(st, 200, q + "&cell_m=200")
    # every cell of a ~970,000-cell area is more than an answer may hold
    for q, field in (("/v1/hotspots?precinct=H-1&include_empty=true", "include_empty"),
                     ("/v1/hotspots?precinct=H-1&method=count&include_empty=true",
                      "include_empty")):
        st, _, body = d.request("GET", q, None, cm)
        expect_eq((st, err(body)), (422, field), q)
        msg = body["error"]["message"]
        expect("hotspot_max_features" in msg and str(MAX_FEATURES) in msg and "limit=" in msg
               and int(re.search(r"hold (\d+) cells", msg).group(1)) > 900000, msg)
    # ... unless limited, or in larger cells
    st, _, body = d.request("GET", "/v1/hotspots?precinct=H-1&include_empty=true&limit=500",
                            None, cm)
    expect_eq((st, len(body["features"])), (200, 500))
    expect(body["study_area_cells"] > 900000, "the study area is still the whole precinct")
    st, _, body = d.request("GET", "/v1/hotspots?precinct=H-1&include_empty=true&cell_m=1000",
                            None, cm)
    expect_eq(st, 200)
    expect_eq(len(body["features"]), body["study_area_cells"], "include_empty in 1 km cells")
    # counting without empty cells over the whole precinct equals SQL
    check_counts(d, ctx["ci"], cm, "H", "precinct=H-1", 5000)


def test_huge_precinct_refused_before_building(ctx):
    """6d: a 3 x 3 degree precinct spans ~10.7 M cells of 100 m: refused from
    its bounding box, nothing built or cached (the daemon's memory stays)."""
    d, ci = ctx["d"], ctx["ci"]
    admin = token(ci, "admin", "H2")
    expect_eq(d.request("PUT", "/v1/precincts/BIG", {"name": "big",
                                                     "boundary": square(-88, 13, -85, 16)},
                        admin)[0], 201)
    # (an agency's grid begins with its first located incident)
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "rob", "category": "robbery"},
                        admin)[0], 201)
    expect_eq(d.request("POST", "/v1/incidents", {
        "source": "big", "external_id": "1", "offense": "ROB", "location": {"lat": 14.1,
                                                                          "lon": -86.2},
        "occurred_at": "2026-03-03T10:00:00Z"}, admin)[0], 201)
    cm = token(ci, "commander", "H2")
    before = rss_kb(d.proc.pid)
    st, _, body = d.request("GET", "/v1/hotspots?precinct=BIG", None, cm)
    grown = rss_kb(d.proc.pid) - before
    expect(grown < 40 * 1024, "nothing over the cap is built or cached (RSS grew %d KiB)" % grown)
    for q in ("/v1/hotspots?precinct=BIG", "/v1/hotspots?precinct=BIG&method=count",
              "/v1/hotspots?precinct=BIG&include_empty=true&cell_m=200",
              "/v1/hotspots?precinct=BIG&method=gi&limit=5&cell_m=300"):
        t0 = time.time()
        st, _, body = d.request("GET", q, None, cm)
        expect_eq((st, err(body)), (422, "precinct"), q)
        msg = body["error"]["message"]
        expect("BIG" in msg and "hotspot_max_cells" in msg and
               int(re.search(r"spans (\d+) cells", msg).group(1)) > MAX_CELLS, msg)
        expect(time.time() - t0 < 5, "refused at once", q)
    # without precinct= the study area is every precinct of the token: cell_m is at fault
    st, _, body = d.request("GET", "/v1/hotspots", None, cm)
    expect_eq((st, err(body)), (422, "cell_m"))
    grown = rss_kb(d.proc.pid) - before
    expect(grown < 40 * 1024, "nothing over the cap is built or cached (RSS grew %d KiB)" % grown)
    # in cells large enough it is answered
    st, _, body = d.request("GET", "/v1/hotspots?precinct=BIG&cell_m=1000&include_empty=true"
                                   "&limit=10", None, cm)
    expect_eq(st, 200)
    expect(100000 < body["study_area_cells"] <= MAX_CELLS, body["study_area_cells"])


def test_settings(ctx):
    """hotspot_max_cells, hotspot_max_features and hotspot_max_queue as set;
    a bbox that is not numbers is refused (NaN compares false with every bound)."""
    d, ci, cm = ctx["d"], ctx["ci"], ctx["commander"]
    for bad in ("nan,14,-90.5,14.5", "-91,14,inf,14.5", "-91,nan,-90.5,nan"):
        st, _, body = d.request("GET", "/v1/hotspots?bbox=" + bad, None, cm)
        expect_eq((st, err(body)), (422, "bbox"), bad)
    e = Daemon(ci, ["--hotspot-max-cells", "5000", "--hotspot-max-features", "30",
                    "--hotspot-max-queue", "1"])
    try:
        e.wait_ready(120)
        st, _, body = e.request("GET", "/v1/hotspots?bbox=-90.6,14.4,-90.5,14.5", None, cm)
        expect_eq((st, err(body)), (422, "bbox"), "about 11,000 cells against 5,000")
        expect("5000" in body["error"]["message"], body)
        st, _, body = e.request("GET", "/v1/hotspots?bbox=-90.6,14.4,-90.55,14.45&method=count",
                                None, cm)
        expect_eq((st, err(body)), (422, "limit"), "more than 30 counted cells")
        st, _, body = e.request("GET", "/v1/hotspots?bbox=-90.6,14.4,-90.55,14.45&method=count"
                                       "&limit=30", None, cm)
        expect_eq((st, len(body["features"])), (200, 30))
        # one question at a time: of several at once, some get 429 with Retry-After
        got = []

        def ask(i):
            c = Daemon.__new__(Daemon)
            c.port, c.conn = e.port, None
            st, h, body = c.request("GET", "/v1/hotspots?cell_m=%d&bbox=-90.6,14.4,-90.55,14.45"
                                           "&limit=5" % (100 * (1 + i % 2)), None, cm)
            got.append((st, h.get("Retry-After"), err(body) if st != 200 else None))

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        expect(all(st == 200 or (st == 429 and ra) for st, ra, _ in got), got)
        expect(any(st == 200 for st, _, _ in got), got)
    finally:
        expect_eq(e.stop(), 0)


# ------------------------------------------------------------ 6c

A1 = (-90.60, 14.55, -90.45, 14.70)
A2 = (-90.45, 14.55, -90.30, 14.70)   # origin of RA: (-90, 15)
A2_FAR = (-70.15, -0.15, -70.00, 0.00)  # origin of RA then: (-80, 7)
B1 = (-84.20, 9.85, -84.00, 10.05)


def test_precinct_move_rebuilds_one_agency(ctx):
    t0 = time.time()
    phase = lambda what: print("%6.1f s %s" % (time.time() - t0, what), flush=True)  # noqa
    ci = fresh_db("review_hotspots_move")
    d = Daemon(ci)
    try:
        d.wait_ready()
        ta, tb = token(ci, "admin", "RA"), token(ci, "admin", "RB")
        for code, tz, tok in (("RA", "America/Guatemala", ta), ("RB", "America/Costa_Rica", tb)):
            expect_eq(d.request("PUT", "/v1/agencies/" + code, {"name": code, "time_zone": tz},
                                tok)[0], 200)
            expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "rob",
                                                            "category": "robbery"}, tok)[0], 201)
        for code, box, tok in (("RA-1", A1, ta), ("RA-2", A2, ta), ("RB-1", B1, tb)):
            expect_eq(d.request("PUT", "/v1/precincts/" + code,
                                {"name": code, "boundary": square(*box)}, tok)[0], 201)
        # enough incidents that a reload of every cube takes a while
        preload(ci, "RB", "ROB", "RB-1", 80000, B1, 0.1, "preb")
        preload(ci, "RA", "ROB", "RA-1", 20000, A1, 0.2, "prea")
        phase("preloaded")
        d.stop()
        d = Daemon(ci)
        d.wait_ready(120)
        phase("loaded")
        ca, cb = token(ci, "commander", "RA"), token(ci, "commander", "RB")
        da, db = token(ci, "dispatch", "RA"), token(ci, "dispatch", "RB")
        origin = lambda: d.request("GET", "/v1/hotspots?method=count&limit=1&bbox=%r,%r,%r,%r"  # noqa
                                   % A1, None, ca)[2]["grid"]["origin"]
        expect_eq(origin(), [-90, 15])

        stop = threading.Event()
        statuses = {"b": {}, "a": {}, "a_read": {}}

        def client():
            c = Daemon.__new__(Daemon)
            c.port, c.conn = d.port, None
            return c

        def post_b():
            c, n = client(), 0
            while not stop.is_set():
                n += 1
                inc = {"source": "live-b", "external_id": str(n), "offense": "ROB",
                       "precinct": "RB-1", "occurred_at": "2026-%02d-10T12:00:00Z" % (1 + n % 9),
                       "location": {"lat": 9.9 + (n % 97) * 0.001, "lon": -84.15 + (n % 89) * 0.001}}
                st = c.request("POST", "/v1/incidents", inc, db)[0]
                statuses["b"][st] = statuses["b"].get(st, 0) + 1

        def post_a():
            # new incidents, and reposts that move them (place, day, precinct) or unfound them
            c, n = client(), 0
            while not stop.is_set():
                n += 1
                k = n if n % 3 else n // 3
                far = n % 3 == 0
                box = A2 if far else A1
                inc = {"source": "live-a", "external_id": str(k), "offense": "ROB",
                       "precinct": "RA-2" if far else "RA-1",
                       "occurred_at": "2026-%02d-%02dT08:00:00Z" % (1 + n % 9, 1 + n % 27),
                       "location": {"lat": box[1] + 0.01 + (n % 13) * 0.01,
                                    "lon": box[0] + 0.01 + (n % 11) * 0.01}}
                if n % 7 == 0:
                    inc["status"] = "unfounded"
                st = c.request("POST", "/v1/incidents", inc, da)[0]
                statuses["a"][st] = statuses["a"].get(st, 0) + 1

        def read_a():
            c = client()
            while not stop.is_set():
                st = c.request("GET", "/v1/hotspots?precinct=RA-1&cell_m=500", None, ca)[0]
                statuses["a_read"][st] = statuses["a_read"].get(st, 0) + 1
                time.sleep(0.05)

        threads = [threading.Thread(target=f) for f in (post_b, post_a, read_a)]
        for t in threads:
            t.start()
        time.sleep(1)
        for i in range(10):
            for box in (A2_FAR, A2):
                st, _, _ = d.request("PUT", "/v1/precincts/RA-2",
                                     {"name": "RA-2", "boundary": square(*box)}, ta)
                expect_eq(st, 200, "precinct RA-2 moved (flip %d)" % i)
                time.sleep(0.4)
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join(60)
        phase("flipped")
        print("statuses during the flips:", statuses)
        expect(statuses["b"].get(201, 0) > 50, "agency B kept posting", statuses)
        expect_eq(sorted(statuses["b"]), [201], "agency B's posts while A's precinct moved")
        expect_eq(sorted(statuses["a"]), [200, 201], "agency A's own posts went on too")
        expect_eq(sorted(statuses["a_read"]), [200], "agency A's hotspots kept answering")
        deadline = time.time() + 60
        while origin() != [-90, 15] and time.time() < deadline:
            time.sleep(0.2)
        expect_eq(origin(), [-90, 15], "A's grid is back about its origin")
        log = d.log()
        rebuilt = [line for line in log.split("\n") if "hotspot grid rebuilt" in line]
        print("\n".join(rebuilt))
        expect(rebuilt, "A's grid was rebuilt, not every cube reloaded")
        expect("reloading" not in log, "no cube was reloaded", log[-3000:])
        phase("rebuilt")
        # the counts equal SQL, for both agencies, over areas and precincts
        margin = lambda b: "bbox=%r,%r,%r,%r" % (b[0] - 0.05, b[1] - 0.05, b[2] + 0.05,  # noqa
                                                 b[3] + 0.05)
        for tok, agency, area in ((ca, "RA", margin((A1[0], A1[1], A2[2], A2[3]))),
                                  (ca, "RA", "precinct=RA-1"), (ca, "RA", "precinct=RA-2"),
                                  (cb, "RB", margin(B1)), (cb, "RB", "precinct=RB-1")):
            check_counts(d, ci, tok, agency, area, 2000)
        # at the base cell too: every incident of A in its cells
        check_counts(d, ci, ca, "RA", "precinct=RA-2", 100)
        phase("checked")
    finally:
        expect_eq(d.stop(), 0)


if __name__ == "__main__":
    run([test_large_questions_do_not_stall_the_loop, test_limits,
         test_huge_precinct_refused_before_building, test_settings,
         test_precinct_move_rebuilds_one_agency],
        setup, teardown)
