#!/usr/bin/env python3
"""Human resources end to end: units (PUT/GET, validation), the role table
and precinct scopes for units, officers, shifts and rosters, the live unit
board (status derived from the open incidents a call sign is attached to,
overridden by out_of_service, unregistered call signs, filters, rebuilt
after a restart), officers, tours of duty, rosters, and the workload report
(GET /v1/reports/workload by unit, shift and precinct) in a zone with a
daylight-saving change inside the window.

The reference is docs/API.md ("Units, officers, shifts", "Roles" and the
implementation notes) and the database itself: the board is compared with
the open incidents in the incidents table, rosters with shift_assignments,
and every workload row with SQL aggregates over incidents and
shift_assignments computed independently of the daemon.

The last three tests pin bugs found while writing this file: a status change
answered 201, staffing counted outside the precincts asked for, and the
report on an installation without rosters."""
import datetime
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Daemon, expect, expect_eq, fresh_db, psql, run, scalar,  # noqa: E402
                     token)

TZ = "America/Chicago"
# Three precincts in a row; C-3 never gets an incident nor an assignment.
SQUARES = {
    "C-1": (-87.70, 41.85, -87.65, 41.90),
    "C-2": (-87.65, 41.85, -87.60, 41.90),
    "C-3": (-87.60, 41.85, -87.55, 41.90),
}
TOURS = (("DAY", "08:00", "16:00"), ("EVE", "16:00", "24:00"), ("MID", "00:00", "08:00"))


def square(x0, y0, x1, y1):
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def setup():
    ci = fresh_db("hr")
    admin = token(ci, "admin", "CHI")
    d = Daemon(ci)
    d.wait_ready()
    st, _, _ = d.request("PUT", "/v1/agencies/CHI", {"name": "Chicago PD", "time_zone": TZ},
                         admin)
    expect_eq(st, 200, "agency put")
    for code, sq in SQUARES.items():
        st, _, _ = d.request("PUT", "/v1/precincts/" + code,
                             {"name": code, "boundary": square(*sq)}, admin)
        expect_eq(st, 201, "precinct put " + code)
    for code, cat in (("ROB", "robbery"), ("BURG", "burglary")):
        st, _, _ = d.request("PUT", "/v1/offenses/" + code, {"name": code, "category": cat},
                             admin)
        expect_eq(st, 201, "offense put " + code)
    ctx = {
        "ci": ci, "d": d, "admin": admin,
        "dispatch": token(ci, "dispatch", "CHI"),
        "commander": token(ci, "commander", "CHI"),
        "supervisor": token(ci, "supervisor", "CHI"),
        "supervisor_c1": token(ci, "supervisor", "CHI", "C-1"),
        "other_admin": token(ci, "admin", "OTH"),
    }
    ctx["agency"] = scalar(ci, "SELECT id FROM agencies WHERE code = 'CHI'")
    return ctx


def teardown(ctx):
    rc = ctx["d"].stop()
    expect_eq(rc, 0, "daemon exit code after SIGTERM")


def req(ctx, method, path, body=None, who="supervisor", **kw):
    st, _, b = ctx["d"].request(method, path, body, ctx[who] if who else None, **kw)
    return st, b


def err_field(body):
    return body["error"].get("field") if isinstance(body, dict) and "error" in body else None


def ensure_tours(ctx):
    for code, s, e in TOURS:
        st, body = req(ctx, "PUT", "/v1/shifts/" + code, {"starts": s, "ends": e})
        expect(st in (200, 201), "tour %s: %d" % (code, st), body)


def ensure_units(ctx, units):
    for cs, precinct, typ in units:
        st, body = req(ctx, "PUT", "/v1/units/" + cs, {"precinct": precinct, "type": typ})
        expect(st in (200, 201), "unit %s: %d" % (cs, st), body)


def ensure_officers(ctx, officers):
    for badge, precinct in officers:
        st, body = req(ctx, "PUT", "/v1/officers/" + badge,
                       {"name": "Officer " + badge, "rank": "PO", "precinct": precinct})
        expect(st in (200, 201), "officer %s: %d" % (badge, st), body)


def put_status(ctx, cs, status, who="dispatch"):
    """PUT /v1/units/{cs}/status: 200 (nothing is created)."""
    st, body = req(ctx, "PUT", "/v1/units/%s/status" % cs, {"status": status}, who)
    expect_eq(st, 200, "status %s of %s: %r" % (status, cs, body))
    return body


def utc(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ the board, from SQL

def board_from_sql(ctx, precinct=None, unregistered=True):
    """The unit board as API.md describes it, from the units and incidents tables:
    {callsign: {...}} with the open incident ids as a sorted list."""
    ci, ag = ctx["ci"], ctx["agency"]
    rank = {"open": 1, "dispatched": 1, "en_route": 2, "on_scene": 3}
    names = {0: "available", 1: "dispatched", 2: "en_route", 3: "on_scene"}
    open_by_cs = {}
    for cs, iid, status in psql(ci, "SELECT cs, i.id, i.status FROM incidents i,"
                                " unnest(i.units) AS cs WHERE i.agency_id = :'p1'"
                                " AND i.status IN ('open','dispatched','en_route','on_scene')",
                                ag):
        open_by_cs.setdefault(cs, []).append((int(iid), rank[status]))
    out = {}
    for cs, pcode, typ, st in psql(ci, "SELECT u.callsign, coalesce(p.code, '\\N'),"
                                   " coalesce(u.type, '\\N'), coalesce(u.status, '\\N')"
                                   " FROM units u LEFT JOIN precincts p ON p.id = u.precinct_id"
                                   " WHERE u.agency_id = :'p1'", ag):
        pcode = None if pcode == "\\N" else pcode
        if precinct is not None and pcode not in precinct:
            continue
        incs = open_by_cs.get(cs, [])
        derived = names[max([r for _, r in incs] or [0])]
        oos = st == "out_of_service"
        out[cs] = {"callsign": cs, "precinct": pcode, "type": None if typ == "\\N" else typ,
                   "status": "out_of_service" if oos else derived,
                   "status_source": "set" if oos else "incidents",
                   "incidents": sorted(i for i, _ in incs), "open_incidents": len(incs),
                   "registered": True}
    if unregistered and precinct is None:
        for cs, incs in open_by_cs.items():
            if cs in out:
                continue
            out[cs] = {"callsign": cs, "precinct": None, "type": None,
                       "status": names[max(r for _, r in incs)], "status_source": "incidents",
                       "incidents": sorted(i for i, _ in incs), "open_incidents": len(incs),
                       "registered": False}
    return out


def normalize_unit(u):
    u = dict(u)
    u["incidents"] = sorted(u["incidents"])
    return u


def check_unit(got, want, what):
    """A board entry against the SQL one: ids compared as sets (up to 8 listed)."""
    got = normalize_unit(got)
    if want["open_incidents"] > 8:
        expect_eq(len(got["incidents"]), 8, what + ": at most 8 ids listed")
        expect(set(got["incidents"]) <= set(want["incidents"]),
               what + ": listed ids are open incidents of the unit", got, want)
        got["incidents"] = want["incidents"]
    expect_eq(got, want, what)


def check_board(ctx, path="/v1/units", who="commander", **kw):
    st, body = req(ctx, "GET", path, None, who)
    expect_eq(st, 200, path)
    units = body["units"]
    calls = [u["callsign"] for u in units]
    expect_eq(calls, sorted(calls), path + ": listed by call sign")
    want = board_from_sql(ctx, **kw)
    expect_eq(calls, sorted(want), path + ": the units SQL says")
    for u in units:
        check_unit(u, want[u["callsign"]], path + " " + u["callsign"])
    return {u["callsign"]: u for u in units}


# ------------------------------------------------------------------ units

def unit_row(ctx, cs):
    return psql(ctx["ci"], "SELECT coalesce(p.code, ''), coalesce(u.type, ''),"
                " coalesce(u.status, '') FROM units u LEFT JOIN precincts p"
                " ON p.id = u.precinct_id WHERE u.agency_id = :'p1' AND u.callsign = :'p2'",
                ctx["agency"], cs)


def test_units(ctx):
    st, body = req(ctx, "PUT", "/v1/units/1A10", {"precinct": "C-1", "type": "patrol"})
    expect_eq(st, 201, "new unit")
    expect_eq(body, {"callsign": "1A10", "precinct": "C-1", "type": "patrol",
                     "status": "available", "status_source": "incidents", "incidents": [],
                     "open_incidents": 0, "registered": True}, "the unit as on the board")
    expect_eq(unit_row(ctx, "1A10"), [["C-1", "patrol", ""]], "stored row")
    st, again = req(ctx, "PUT", "/v1/units/1A10", {"precinct": "C-1", "type": "patrol"})
    expect_eq((st, again), (200, body), "repeat: 200, same unit")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM units WHERE callsign = '1A10'"), "1")
    st, body = req(ctx, "PUT", "/v1/units/1A10", {"precinct": "C-2", "type": "sergeant"})
    expect_eq((st, body["precinct"], body["type"]), (200, "C-2", "sergeant"), "update")
    expect_eq(unit_row(ctx, "1A10"), [["C-2", "sergeant", ""]], "stored row after update")
    st, body = req(ctx, "PUT", "/v1/units/0Z01", {})
    expect_eq((st, body["precinct"], body["type"]), (201, None, None),
              "precinct and type are optional")
    st, body = req(ctx, "PUT", "/v1/units/1A05", {"precinct": "C-1", "type": "patrol"},
                   who="admin")
    expect_eq(st, 201, "admin registers a unit")

    st, one = req(ctx, "GET", "/v1/units/1A10", None, "commander")
    expect_eq(st, 200)
    check_unit(one, board_from_sql(ctx)["1A10"], "GET /v1/units/1A10")
    st, body = req(ctx, "GET", "/v1/units/NOPE-1", None, "commander")
    expect_eq(st, 404, "unknown unit")
    st, body = req(ctx, "GET", "/v1/units", None, "commander")
    expect_eq(st, 200)
    registered = [u["callsign"] for u in body["units"] if u["registered"]]
    want = [r[0] for r in psql(ctx["ci"], "SELECT callsign FROM units WHERE agency_id = :'p1'"
                               " ORDER BY callsign COLLATE \"C\"", ctx["agency"])]
    expect_eq(registered, want, "every registered unit, by call sign")
    expect(want.index("0Z01") < want.index("1A05") < want.index("1A10"), "order", want)
    check_board(ctx)

    st, _ = req(ctx, "PUT", "/v1/precincts/O-1",
                {"name": "elsewhere", "boundary": square(10, 10, 11, 11)}, "other_admin")
    expect(st in (200, 201), "another agency's precinct", st)
    before = scalar(ctx["ci"], "SELECT count(*) FROM units")
    for what, body, status, field in (
            ("unknown precinct", {"precinct": "NOPE", "type": "patrol"}, 422, "precinct"),
            ("another agency's precinct", {"precinct": "O-1"}, 422, "precinct"),
            ("type too long", {"precinct": "C-1", "type": "t" * 65}, 422, "type"),
            ("type empty", {"type": ""}, 422, "type"),
            ("type not a string", {"type": 7}, 422, "type"),
            ("precinct not a string", {"precinct": 1}, 422, "precinct")):
        st, resp = req(ctx, "PUT", "/v1/units/BAD-1", body)
        expect_eq((st, err_field(resp)), (status, field), what)
    st, resp = req(ctx, "PUT", "/v1/units/BAD-1", {"type": "t" * 64})
    expect_eq(st, 201, "type of exactly 64 bytes")
    st, resp = req(ctx, "PUT", "/v1/units/" + "C" * 33, {"type": "x"})
    expect_eq((st, err_field(resp)), (422, "callsign"), "call sign over 32 bytes")
    st, resp = req(ctx, "PUT", "/v1/units/BAD-2", "{not json")
    expect_eq((st, resp["error"]["code"]), (400, "malformed_json"), "not JSON")
    st, resp = req(ctx, "PUT", "/v1/units/BAD-2", "[]")
    expect_eq(st, 400, "JSON but not an object")
    st, resp = req(ctx, "PUT", "/v1/units/BAD-2", '{"type": "x"}', ctype="text/plain")
    expect_eq(st, 415, "wrong content type")
    expect_eq(int(scalar(ctx["ci"], "SELECT count(*) FROM units")), int(before) + 1,
              "only the valid unit was written")
    expect_eq(unit_row(ctx, "1A10"), [["C-2", "sergeant", ""]], "refused writes change nothing")

    # Status: only out_of_service / in_service, only for registered units.
    st, resp = req(ctx, "PUT", "/v1/units/NOPE-1/status", {"status": "out_of_service"})
    expect_eq(st, 404, "status of an unregistered unit")
    st, resp = req(ctx, "PUT", "/v1/units/1A10/status", {"status": "on_scene"})
    expect_eq((st, err_field(resp)), (422, "status"), "a derived status cannot be set")
    st, resp = req(ctx, "PUT", "/v1/units/1A10/status", {})
    expect_eq((st, err_field(resp)), (422, "status"), "status missing")
    st, resp = req(ctx, "GET", "/v1/units?status=busy", None, "commander")
    expect_eq((st, err_field(resp)), (422, "status"), "unknown status filter")
    st, resp = req(ctx, "GET", "/v1/units?colour=red", None, "commander")
    expect_eq((st, err_field(resp)), (400, "colour"), "unknown parameter")
    st, resp = req(ctx, "GET", "/v1/units?precinct=NOPE", None, "commander")
    expect_eq((st, err_field(resp)), (422, "precinct"), "unknown precinct filter")
    st, body = req(ctx, "GET", "/v1/units?precinct=C-2", None, "commander")
    expect_eq([u["callsign"] for u in body["units"]],
              sorted(board_from_sql(ctx, precinct=("C-2",))), "precinct filter")


# ------------------------------------------------------------------ roles and scopes

def test_roles(ctx):
    ensure_units(ctx, [("RL-1", "C-1", "patrol")])
    ensure_officers(ctx, [("RL-9", "C-1")])
    ensure_tours(ctx)
    roster = {"assignments": [{"officer": "RL-9", "unit": "RL-1"}]}
    # (method, path, body, roles allowed)
    matrix = [
        ("PUT", "/v1/units/RL-2", {"precinct": "C-1"}, {"supervisor", "admin"}),
        ("PUT", "/v1/units/RL-1/status", {"status": "in_service"},
         {"dispatch", "supervisor", "admin"}),
        ("GET", "/v1/units", None, {"commander", "supervisor", "admin"}),
        ("GET", "/v1/units/RL-1", None, {"commander", "supervisor", "admin"}),
        ("PUT", "/v1/officers/RL-8", {"name": "n", "precinct": "C-1"}, {"supervisor", "admin"}),
        ("GET", "/v1/officers", None, {"supervisor", "admin"}),
        ("PUT", "/v1/shifts/DAY", {"starts": "08:00", "ends": "16:00"}, {"supervisor", "admin"}),
        ("GET", "/v1/shifts", None, {"commander", "supervisor", "admin"}),
        ("PUT", "/v1/shifts/DAY/roster/2026-01-15", roster, {"supervisor", "admin"}),
        ("GET", "/v1/shifts/DAY/roster/2026-01-15", None, {"supervisor", "admin"}),
        ("GET", "/v1/reports/workload", None, {"commander", "supervisor", "admin"}),
    ]
    failures = []
    for method, path, body, allowed in matrix:
        # Refused roles first, so nothing they send could have been written.
        for who in ("dispatch", "commander", "supervisor", "admin"):
            if who in allowed:
                continue
            st, resp = req(ctx, method, path, body, who)
            if st != 403:
                failures.append((method, path, who, st, resp))
        for who in sorted(allowed):
            st, resp = req(ctx, method, path, body, who)
            if st not in (200, 201):
                failures.append((method, path, who, st, resp))
        st, resp = req(ctx, method, path, body, None)
        if st != 401:
            failures.append((method, path, "no token", st, resp))
    expect_eq(failures, [], "route x role outcomes that differ from API.md's role table")

    # Commander and dispatch refused: nothing written by the refused requests.
    for who in ("commander", "dispatch"):
        st, _ = req(ctx, "PUT", "/v1/units/DENY-1", {"precinct": "C-1"}, who)
        expect_eq(st, 403, who + " may not register units")
        st, _ = req(ctx, "PUT", "/v1/officers/DENY-1", {"name": "x"}, who)
        expect_eq(st, 403, who + " may not write officers")
        st, _ = req(ctx, "PUT", "/v1/shifts/DENY", {"starts": "01:00", "ends": "02:00"}, who)
        expect_eq(st, 403, who + " may not write shifts")
        st, _ = req(ctx, "PUT", "/v1/shifts/DAY/roster/2026-01-16", roster, who)
        expect_eq(st, 403, who + " may not write rosters")
    st, _ = req(ctx, "PUT", "/v1/units/RL-1/status", {"status": "out_of_service"}, "commander")
    expect_eq(st, 403, "commander may not set a unit's status")
    expect_eq(psql(ctx["ci"], "SELECT (SELECT count(*) FROM units WHERE callsign LIKE 'DENY%'),"
                   " (SELECT count(*) FROM officers WHERE badge LIKE 'DENY%'),"
                   " (SELECT count(*) FROM shifts WHERE code = 'DENY'),"
                   " (SELECT count(*) FROM shift_assignments WHERE day = '2026-01-16'),"
                   " (SELECT count(*) FROM units WHERE callsign = 'RL-1' AND status IS NOT NULL)"),
              [["0", "0", "0", "0", "0"]], "refused requests wrote nothing")
    body = put_status(ctx, "RL-1", "out_of_service")
    expect_eq((body["status"], body["status_source"]), ("out_of_service", "set"),
              "dispatch sets a unit out of service")
    body = put_status(ctx, "RL-1", "in_service")
    expect_eq((body["status"], body["status_source"]), ("available", "incidents"))


def test_precinct_scope(ctx):
    sc = "supervisor_c1"
    ensure_units(ctx, [("SC-2", "C-2", "patrol"), ("SC-1", "C-1", "patrol")])
    ensure_officers(ctx, [("SC-O2", "C-2"), ("SC-O1", "C-1")])
    ensure_tours(ctx)
    st, body = req(ctx, "PUT", "/v1/units/SC-1b", {"precinct": "C-1", "type": "patrol"}, sc)
    expect_eq(st, 201, "a C-1 token registers a C-1 unit")
    st, body = req(ctx, "PUT", "/v1/units/SC-3", {"precinct": "C-2", "type": "patrol"}, sc)
    expect_eq((st, err_field(body)), (403, "precinct"), "a unit in another precinct")
    st, body = req(ctx, "PUT", "/v1/units/SC-4", {"type": "patrol"}, sc)
    expect_eq(st, 403, "a unit in no precinct")
    st, body = req(ctx, "PUT", "/v1/units/SC-2", {"precinct": "C-1"}, sc)
    expect_eq(st, 403, "taking over another precinct's unit")
    st, body = req(ctx, "PUT", "/v1/units/SC-1b", {"precinct": "C-2"}, sc)
    expect_eq(st, 403, "moving its unit to another precinct")
    st, body = req(ctx, "PUT", "/v1/units/SC-2/status", {"status": "out_of_service"}, sc)
    expect_eq(st, 403, "status of another precinct's unit")
    expect_eq(psql(ctx["ci"], "SELECT callsign, p.code, coalesce(u.status, '') FROM units u"
                   " JOIN precincts p ON p.id = u.precinct_id WHERE callsign LIKE 'SC-%'"
                   " ORDER BY callsign"),
              [["SC-1", "C-1", ""], ["SC-1b", "C-1", ""], ["SC-2", "C-2", ""]],
              "refused scoped writes changed nothing")
    st, body = req(ctx, "GET", "/v1/units", None, sc)
    expect_eq(st, 200)
    calls = [u["callsign"] for u in body["units"]]
    expect("SC-1" in calls and "SC-1b" in calls, "own precinct's units listed", calls)
    expect("SC-2" not in calls, "another precinct's unit not listed", calls)
    expect(all(u["precinct"] == "C-1" and u["registered"] for u in body["units"]),
           "only registered C-1 units", body)
    check_board(ctx, who=sc, precinct=("C-1",))
    st, body = req(ctx, "GET", "/v1/units/SC-2", None, sc)
    expect_eq(st, 404, "another precinct's unit by call sign")
    # Officers, tours and rosters.
    st, body = req(ctx, "PUT", "/v1/officers/SC-O3", {"name": "x", "precinct": "C-2"}, sc)
    expect_eq(st, 403, "an officer in another precinct")
    st, body = req(ctx, "GET", "/v1/officers", None, sc)
    expect_eq({o["precinct"] for o in body["officers"]}, {"C-1"}, "scoped officer list")
    st, body = req(ctx, "PUT", "/v1/shifts/DAY", {"starts": "08:00", "ends": "16:00"}, sc)
    expect_eq(st, 403, "tours are the agency's")
    st, body = req(ctx, "PUT", "/v1/shifts/DAY/roster/2026-01-20",
                   {"assignments": [{"officer": "SC-O1", "unit": "SC-1"},
                                    {"officer": "SC-O2", "unit": None}]}, sc)
    expect_eq((st, err_field(body)), (403, "assignments[1].officer"),
              "rostering another precinct's officer")
    st, body = req(ctx, "PUT", "/v1/shifts/DAY/roster/2026-01-20",
                   {"assignments": [{"officer": "SC-O1", "unit": "SC-2"}]}, sc)
    expect_eq((st, err_field(body)), (403, "assignments[0].unit"),
              "rostering onto another precinct's unit")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM shift_assignments WHERE day = '2026-01-20'"),
              "0")
    st, body = req(ctx, "PUT", "/v1/shifts/DAY/roster/2026-01-20",
                   {"assignments": [{"officer": "SC-O1", "unit": "SC-1"}]}, sc)
    expect_eq(st, 200, "rostering its own precinct")


# ------------------------------------------------------------------ unit board

def post(ctx, ext, source="board", **kw):
    inc = {"source": source, "external_id": ext, "offense": "ROB", "precinct": "C-1"}
    inc.update(kw)
    st, body = req(ctx, "POST", "/v1/incidents", inc, "dispatch")
    expect(st in (200, 201), "post %s: %d" % (ext, st), body)
    return body


def patch(ctx, ext, change, source="board"):
    st, body = req(ctx, "PATCH", "/v1/incidents/%s/%s" % (source, ext), change, "dispatch")
    expect_eq(st, 200, "patch %s %r: %r" % (ext, change, body))
    return body


def test_unit_board(ctx):
    ensure_units(ctx, [("B1", "C-1", "patrol"), ("B2", "C-1", "patrol"),
                       ("B3", "C-1", "patrol"), ("B4", "C-2", "k9")])
    t = "2026-05-02T10:%02d:00-05:00"
    ids = {}
    ids["b1"] = post(ctx, "b1", received_at=t % 0, dispatched_at=t % 1, units=["B1"])["id"]
    ids["b2"] = post(ctx, "b2", received_at=t % 2, dispatched_at=t % 3, en_route_at=t % 4,
                     on_scene_at=t % 9, units=["B1", "B2"])["id"]
    ids["b3"] = post(ctx, "b3", received_at=t % 5, units=["B2"])["id"]
    ids["b4"] = post(ctx, "b4", received_at=t % 6, units=["B3"])["id"]
    ids["b5"] = post(ctx, "b5", received_at=t % 7, dispatched_at=t % 8, en_route_at=t % 9,
                     precinct="C-2", units=["B4"])["id"]
    ids["b6"] = post(ctx, "b6", received_at=t % 7, dispatched_at=t % 8, en_route_at=t % 9,
                     units=["ZZ-9"])["id"]
    board = check_board(ctx)
    summary = {cs: (board[cs]["status"], sorted(board[cs]["incidents"]))
               for cs in ("B1", "B2", "B3", "B4", "ZZ-9")}
    expect_eq(summary, {"B1": ("on_scene", sorted([ids["b1"], ids["b2"]])),
                        "B2": ("on_scene", sorted([ids["b2"], ids["b3"]])),
                        "B3": ("dispatched", [ids["b4"]]),  # an open call counts as dispatched
                        "B4": ("en_route", [ids["b5"]]),
                        "ZZ-9": ("en_route", [ids["b6"]])},
              "status follows the furthest open incident")
    expect_eq((board["ZZ-9"]["registered"], board["ZZ-9"]["precinct"], board["ZZ-9"]["type"]),
              (False, None, None), "an unregistered call sign")
    expect_eq(board["B1"]["open_incidents"], 2)
    st, body = req(ctx, "GET", "/v1/units?status=on_scene", None, "commander")
    expect_eq(st, 200)
    want = sorted(cs for cs, u in board_from_sql(ctx).items() if u["status"] == "on_scene")
    expect_eq([u["callsign"] for u in body["units"]], want, "?status=on_scene")
    expect("B1" in want and "B2" in want, "B1 and B2 on scene", want)
    st, body = req(ctx, "GET", "/v1/units?status=en_route", None, "commander")
    calls = [u["callsign"] for u in body["units"]]
    expect("ZZ-9" in calls and "B4" in calls, "unregistered units are filtered too", calls)
    expect(all(u["status"] == "en_route" for u in body["units"]), "?status=en_route", body)

    # Clearing the on-scene call: B1 falls back to its dispatched call, B2 to its open one.
    patch(ctx, "b2", {"cleared_at": t % 30})
    board = check_board(ctx)
    expect_eq((board["B1"]["status"], board["B1"]["incidents"]), ("dispatched", [ids["b1"]]))
    expect_eq((board["B2"]["status"], board["B2"]["incidents"]), ("dispatched", [ids["b3"]]))
    # Reassigning a call moves it between units.
    patch(ctx, "b1", {"units": ["B3"]})
    board = check_board(ctx)
    expect_eq((board["B1"]["status"], board["B1"]["incidents"], board["B1"]["open_incidents"]),
              ("available", [], 0), "B1 lost its last call")
    expect_eq(sorted(board["B3"]["incidents"]), sorted([ids["b1"], ids["b4"]]),
              "B3 took it over")
    expect_eq(board["B3"]["status"], "dispatched")
    patch(ctx, "b4", {"dispatched_at": t % 10, "en_route_at": t % 11, "on_scene_at": t % 12})
    expect_eq(check_board(ctx)["B3"]["status"], "on_scene", "lifecycle times move the board")

    # out_of_service overrides; in_service returns to the derived status.
    body = put_status(ctx, "B3", "out_of_service")
    expect_eq((body["status"], body["status_source"], body["open_incidents"]),
              ("out_of_service", "set", 2))
    expect_eq(unit_row(ctx, "B3"), [["C-1", "patrol", "out_of_service"]], "stored")
    board = check_board(ctx)
    st, body = req(ctx, "GET", "/v1/units?status=out_of_service", None, "commander")
    expect("B3" in [u["callsign"] for u in body["units"]], "?status=out_of_service", body)
    st, body = req(ctx, "GET", "/v1/units?status=on_scene", None, "commander")
    expect("B3" not in [u["callsign"] for u in body["units"]], "B3 is not on_scene now", body)
    body = put_status(ctx, "B3", "in_service", "supervisor")
    expect_eq((body["status"], body["status_source"]), ("on_scene", "incidents"))
    expect_eq(unit_row(ctx, "B3"), [["C-1", "patrol", ""]], "status cleared in the database")
    # Re-registering the unit keeps what the board knows of it.
    st, body = req(ctx, "PUT", "/v1/units/B3", {"precinct": "C-1", "type": "patrol"})
    expect_eq((st, body["status"], body["open_incidents"]), (200, "on_scene", 2))

    # Cancelling the unregistered call sign's only call takes it off the board.
    patch(ctx, "b6", {"status": "cancelled"})
    board = check_board(ctx)
    expect("ZZ-9" not in board, "no open call, not registered: not listed")
    ids["b7"] = post(ctx, "b7", received_at=t % 13, units=["ZZ-8"])["id"]
    board = check_board(ctx)
    expect_eq((board["ZZ-8"]["registered"], board["ZZ-8"]["status"]), (False, "dispatched"))
    st, body = req(ctx, "GET", "/v1/units?precinct=C-1", None, "commander")
    expect("ZZ-8" not in [u["callsign"] for u in body["units"]],
           "unregistered call signs are not shown with precinct=", body)
    check_board(ctx, "/v1/units?precinct=C-1", precinct=("C-1",))

    # A call whose units are all taken off leaves the board.
    patch(ctx, "b5", {"units": []})
    board = check_board(ctx)
    expect_eq((board["B4"]["status"], board["B4"]["incidents"]), ("available", []))
    patch(ctx, "b5", {"units": ["B4"]})
    expect_eq(check_board(ctx)["B4"]["status"], "en_route")
    # More than 8 open calls: 8 ids listed, all counted.
    batch = [{"source": "board", "external_id": "many-%d" % i, "offense": "BURG",
              "precinct": "C-2", "received_at": t % (20 + i), "units": ["B4"]} for i in range(10)]
    st, body = req(ctx, "POST", "/v1/incidents", batch, "dispatch")
    expect_eq((st, body["accepted"]), (200, 10))
    board = check_board(ctx)
    expect_eq((board["B4"]["open_incidents"], len(board["B4"]["incidents"])), (11, 8))
    st, one = req(ctx, "GET", "/v1/units/B4", None, "commander")
    check_unit(one, board_from_sql(ctx)["B4"], "GET /v1/units/B4")


# ------------------------------------------------------------------ officers and tours

def test_officers(ctx):
    body = {"name": "Ana Ruiz", "rank": "Sergeant", "precinct": "C-1"}
    st, resp = req(ctx, "PUT", "/v1/officers/7001", body)
    expect_eq((st, resp), (201, {"badge": "7001", "name": "Ana Ruiz", "rank": "Sergeant",
                                 "precinct": "C-1"}), "new officer")
    st, resp = req(ctx, "PUT", "/v1/officers/7001", body)
    expect_eq(st, 200, "repeat")
    st, resp = req(ctx, "PUT", "/v1/officers/7001", {"name": "Ana Ruiz", "precinct": "C-2"})
    expect_eq((st, resp["rank"], resp["precinct"]), (200, None, "C-2"), "update (rank dropped)")
    expect_eq(psql(ctx["ci"], "SELECT o.name, coalesce(o.rank, ''), p.code FROM officers o"
                   " JOIN precincts p ON p.id = o.precinct_id WHERE badge = '7001'"),
              [["Ana Ruiz", "", "C-2"]], "stored officer")
    st, resp = req(ctx, "PUT", "/v1/officers/7002", {"name": "Bo Li", "rank": "PO"}, "admin")
    expect_eq((st, resp["precinct"]), (201, None), "precinct optional")
    before = scalar(ctx["ci"], "SELECT count(*) FROM officers")
    for what, badge, body, status, field in (
            ("name missing", "7100", {"rank": "PO", "precinct": "C-1"}, 422, "name"),
            ("name null", "7100", {"name": None}, 422, "name"),
            ("name empty", "7100", {"name": ""}, 422, "name"),
            ("name too long", "7100", {"name": "n" * 201}, 422, "name"),
            ("rank too long", "7100", {"name": "x", "rank": "r" * 65}, 422, "rank"),
            ("unknown precinct", "7100", {"name": "x", "precinct": "NOPE"}, 422, "precinct"),
            ("bad badge", "71%2000", {"name": "x"}, 422, "badge"),
            ("badge too long", "7" * 33, {"name": "x"}, 422, "badge")):
        st, resp = req(ctx, "PUT", "/v1/officers/" + badge, body)
        expect_eq((st, err_field(resp)), (status, field), what)
    st, resp = req(ctx, "PUT", "/v1/officers/7100", "nope")
    expect_eq(st, 400, "not JSON")
    st, resp = req(ctx, "PUT", "/v1/officers/7100", '{"name": "x"}', ctype="text/plain")
    expect_eq(st, 415, "wrong content type")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM officers"), before, "nothing written")
    want = psql(ctx["ci"], "SELECT o.badge, o.name, coalesce(o.rank, '\\N'),"
                " coalesce(p.code, '\\N') FROM officers o"
                " LEFT JOIN precincts p ON p.id = o.precinct_id"
                " WHERE o.agency_id = :'p1' ORDER BY o.id", ctx["agency"])
    want = [{"badge": b, "name": n, "rank": None if r == "\\N" else r,
             "precinct": None if p == "\\N" else p} for b, n, r, p in want]
    st, resp = req(ctx, "GET", "/v1/officers", None, "supervisor")
    expect_eq(st, 200)
    expect_eq(sorted(resp["officers"], key=lambda o: o["badge"]),
              sorted(want, key=lambda o: o["badge"]), "every officer, as stored")
    st, resp = req(ctx, "GET", "/v1/officers?precinct=C-2", None, "supervisor")
    expect_eq(sorted(o["badge"] for o in resp["officers"]),
              sorted(o["badge"] for o in want if o["precinct"] == "C-2"), "precinct filter")
    st, resp = req(ctx, "GET", "/v1/officers", None, "other_admin")
    expect_eq(resp["officers"], [], "another agency sees none")


def test_shifts(ctx):
    # Put out of order of start; the list is by start.
    for code, s, e in TOURS:
        st, body = req(ctx, "PUT", "/v1/shifts/" + code, {"starts": s, "ends": e})
        expect(st in (200, 201), "put " + code, st, body)
        expect_eq((body["code"], body["starts"], body["hours"]), (code, s, 8), code)
    st, body = req(ctx, "PUT", "/v1/shifts/DAY", {"starts": "08:00", "ends": "16:00"})
    expect_eq((st, body), (200, {"code": "DAY", "starts": "08:00", "ends": "16:00", "hours": 8}),
              "repeat")
    st, body = req(ctx, "PUT", "/v1/shifts/EVE", {"starts": "16:00", "ends": "24:00"})
    expect_eq((st, body["hours"]), (200, 8), "24:00 allowed for ends")
    expect(body["ends"] in ("24:00", "00:00"), "ends of EVE", body)
    stored = psql(ctx["ci"], "SELECT code, starts, ends FROM shifts WHERE agency_id = :'p1'"
                  " ORDER BY code", ctx["agency"])
    expect_eq(stored, [["DAY", "08:00:00", "16:00:00"], ["EVE", "16:00:00", "00:00:00"],
                       ["MID", "00:00:00", "08:00:00"]], "stored tours")
    for what, body, field in (
            ("starts off the quarter hour", {"starts": "08:10", "ends": "16:00"}, "starts"),
            ("ends off the quarter hour", {"starts": "08:00", "ends": "16:20"}, "ends"),
            ("starts 25:00", {"starts": "25:00", "ends": "16:00"}, "starts"),
            ("starts 24:15", {"starts": "24:15", "ends": "16:00"}, "starts"),
            ("starts one-digit hour", {"starts": "8:00", "ends": "16:00"}, "starts"),
            ("ends not a time", {"starts": "08:00", "ends": "late"}, "ends"),
            ("starts missing", {"ends": "16:00"}, "starts"),
            ("ends missing", {"starts": "08:00"}, "ends"),
            ("starts a number", {"starts": 8, "ends": "16:00"}, "starts")):
        st, resp = req(ctx, "PUT", "/v1/shifts/DAY", body)
        expect_eq((st, err_field(resp)), (422, field), what)
    st, resp = req(ctx, "PUT", "/v1/shifts/bad%20code", {"starts": "08:00", "ends": "16:00"})
    expect_eq((st, err_field(resp)), (422, "code"), "bad code")
    st, resp = req(ctx, "PUT", "/v1/shifts/DAY", "{")
    expect_eq(st, 400, "not JSON")
    expect_eq(psql(ctx["ci"], "SELECT code, starts, ends FROM shifts WHERE agency_id = :'p1'"
                   " ORDER BY code", ctx["agency"]), stored, "refused writes changed nothing")
    st, body = req(ctx, "GET", "/v1/shifts", None, "commander")
    expect_eq(st, 200)
    want = [r[0] for r in psql(ctx["ci"], "SELECT code FROM shifts WHERE agency_id = :'p1'"
                               " ORDER BY starts, id", ctx["agency"])]
    expect_eq([s["code"] for s in body["shifts"]], want, "by start")
    expect_eq([s["code"] for s in body["shifts"]], ["MID", "DAY", "EVE"])
    expect_eq([s["hours"] for s in body["shifts"]], [8, 8, 8], "hours")

    # Another agency: crossing midnight, 24 hours, at most 32 tours; CHI unaffected.
    oa = "other_admin"
    st, body = req(ctx, "PUT", "/v1/shifts/NIGHT", {"starts": "22:00", "ends": "06:00"}, oa)
    expect_eq((st, body["hours"]), (201, 8), "ends before starts crosses midnight")
    st, body = req(ctx, "PUT", "/v1/shifts/FULL", {"starts": "07:00", "ends": "07:00"}, oa)
    expect_eq((st, body["hours"]), (201, 24), "equal: 24 hours")
    st, body = req(ctx, "PUT", "/v1/shifts/HALF", {"starts": "06:45", "ends": "07:15"}, oa)
    expect_eq((st, body["hours"]), (201, 0.5), "half an hour")
    st, body = req(ctx, "GET", "/v1/shifts", None, oa)
    expect_eq([(s["code"], s["hours"]) for s in body["shifts"]],
              [("HALF", 0.5), ("FULL", 24), ("NIGHT", 8)], "other agency's tours by start")
    st, body = req(ctx, "GET", "/v1/shifts", None, "commander")
    expect_eq([s["code"] for s in body["shifts"]], ["MID", "DAY", "EVE"], "CHI unaffected")
    for i in range(29):
        st, body = req(ctx, "PUT", "/v1/shifts/X%02d" % i,
                       {"starts": "%02d:%02d" % (8 + i // 4, 15 * (i % 4)), "ends": "23:00"}, oa)
        expect_eq(st, 201, "tour %d" % (i + 4))
    st, body = req(ctx, "PUT", "/v1/shifts/X99", {"starts": "01:00", "ends": "02:00"}, oa)
    expect_eq((st, err_field(body)), (422, "code"), "a 33rd tour")
    st, body = req(ctx, "PUT", "/v1/shifts/X00", {"starts": "01:00", "ends": "02:00"}, oa)
    expect_eq(st, 200, "changing one of the 32 is fine")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM shifts s JOIN agencies a"
                     " ON a.id = s.agency_id WHERE a.code = 'OTH'"), "32")
    st, body = req(ctx, "GET", "/v1/shifts", None, oa)
    want = [r[0] for r in psql(ctx["ci"], "SELECT s.code FROM shifts s JOIN agencies a"
                               " ON a.id = s.agency_id WHERE a.code = 'OTH'"
                               " ORDER BY s.starts, s.id")]
    expect_eq([s["code"] for s in body["shifts"]], want, "32 tours by start")


# ------------------------------------------------------------------ rosters

def roster_sql(ctx, code, day):
    return psql(ctx["ci"], "SELECT o.badge, coalesce(u.callsign, '') FROM shift_assignments a"
                " JOIN shifts s ON s.id = a.shift_id JOIN officers o ON o.id = a.officer_id"
                " LEFT JOIN units u ON u.id = a.unit_id WHERE s.agency_id = :'p1'"
                " AND s.code = :'p2' AND a.day = :'p3' ORDER BY o.badge",
                ctx["agency"], code, day)


def assignments(body):
    return sorted([a["officer"], a["unit"] or ""] for a in body["assignments"])


def test_rosters(ctx):
    ensure_tours(ctx)
    ensure_units(ctx, [("RU1", "C-1", "patrol"), ("RU2", "C-2", "patrol")])
    ensure_officers(ctx, [("RO1", "C-1"), ("RO2", "C-1"), ("RO3", "C-2"), ("RO4", "C-2")])
    path = "/v1/shifts/DAY/roster/2026-04-01"
    first = [{"officer": "RO1", "unit": "RU1"}, {"officer": "RO2", "unit": None},
             {"officer": "RO3", "unit": "RU1"}]
    st, body = req(ctx, "PUT", path, {"assignments": first})
    expect_eq(st, 200, "roster put")
    expect_eq((body["shift"], body["day"], body["starts"], body["ends"]),
              ("DAY", "2026-04-01", "08:00", "16:00"))
    expect_eq(assignments(body), [["RO1", "RU1"], ["RO2", ""], ["RO3", "RU1"]])
    expect_eq(assignments(body), roster_sql(ctx, "DAY", "2026-04-01"), "stored as answered")
    expect_eq({a["officer"]: a["name"] for a in body["assignments"]}["RO2"], "Officer RO2",
              "names given")
    st, got = req(ctx, "GET", path)
    expect_eq((st, assignments(got)), (200, assignments(body)), "GET reads it back")
    other = "/v1/shifts/EVE/roster/2026-04-01"
    st, body = req(ctx, "PUT", other, {"assignments": [{"officer": "RO4", "unit": "RU2"}]})
    expect_eq(st, 200)
    # Replace: RO2 and RO3 leave, RO1 moves to RU2, RO4 joins with no unit.
    st, body = req(ctx, "PUT", path, {"assignments": [{"officer": "RO1", "unit": "RU2"},
                                                      {"officer": "RO4"}]})
    expect_eq(st, 200, "replace")
    expect_eq(assignments(body), [["RO1", "RU2"], ["RO4", ""]])
    expect_eq(roster_sql(ctx, "DAY", "2026-04-01"), [["RO1", "RU2"], ["RO4", ""]],
              "officers no longer listed are gone from shift_assignments")
    expect_eq(roster_sql(ctx, "EVE", "2026-04-01"), [["RO4", "RU2"]],
              "another tour the same day is untouched")
    st, got = req(ctx, "GET", path)
    expect_eq(assignments(got), [["RO1", "RU2"], ["RO4", ""]])
    st, got = req(ctx, "GET", "/v1/shifts/DAY/roster/2026-04-02")
    expect_eq((st, got["assignments"]), (200, []), "a day with no roster")

    st, _ = req(ctx, "PUT", "/v1/officers/OTH-1", {"name": "elsewhere"}, "other_admin")
    expect(st in (200, 201), "another agency's officer")
    before = roster_sql(ctx, "DAY", "2026-04-01")
    count = scalar(ctx["ci"], "SELECT count(*) FROM shift_assignments")
    for what, body, field in (
            ("unknown officer", {"assignments": [{"officer": "RO1", "unit": None},
                                                 {"officer": "NOPE", "unit": None}]},
             "assignments[1].officer"),
            ("unknown unit", {"assignments": [{"officer": "RO1", "unit": "NOPE"}]},
             "assignments[0].unit"),
            ("officer missing", {"assignments": [{"unit": "RU1"}]}, "assignments[0].officer"),
            ("officer twice", {"assignments": [{"officer": "RO1", "unit": "RU1"},
                                               {"officer": "RO1", "unit": "RU2"}]},
             "assignments[1].officer"),
            ("not a list", {"assignments": {"officer": "RO1"}}, "assignments"),
            ("assignments missing", {}, "assignments"),
            ("another agency's officer", {"assignments": [{"officer": "OTH-1"}]},
             "assignments[0].officer")):
        st, resp = req(ctx, "PUT", path, body)
        expect_eq((st, err_field(resp)), (422, field), what)
    for day in ("2026-02-30", "2026-4-1", "tomorrow"):
        st, resp = req(ctx, "PUT", "/v1/shifts/DAY/roster/" + day,
                       {"assignments": [{"officer": "RO1"}]})
        expect_eq((st, err_field(resp)), (422, "day"), "bad date " + day)
        st, resp = req(ctx, "GET", "/v1/shifts/DAY/roster/" + day)
        expect_eq((st, err_field(resp)), (422, "day"), "bad date on GET " + day)
    st, resp = req(ctx, "PUT", "/v1/shifts/NOPE/roster/2026-04-01",
                   {"assignments": [{"officer": "RO1"}]})
    expect_eq(st, 404, "unknown shift")
    st, resp = req(ctx, "PUT", path, "[]")
    expect_eq(st, 400, "not an object")
    expect_eq(roster_sql(ctx, "DAY", "2026-04-01"), before, "refused rosters changed nothing")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM shift_assignments"), count)
    st, resp = req(ctx, "GET", path)
    expect_eq(assignments(resp), before, "nor the roster in memory")
    # An empty list empties the roster.
    st, resp = req(ctx, "PUT", "/v1/shifts/EVE/roster/2026-04-01", {"assignments": []})
    expect_eq((st, resp["assignments"]), (200, []), "an emptied roster")
    expect_eq(roster_sql(ctx, "EVE", "2026-04-01"), [], "emptied in the database")
    st, resp = req(ctx, "GET", "/v1/shifts/EVE/roster/2026-04-01")
    expect_eq((st, resp["assignments"]), (200, []), "and in memory")


# ------------------------------------------------------------------ workload

WL_UNITS = [("W1", "C-1", "patrol"), ("W2", "C-1", "patrol"), ("W3", "C-2", "patrol"),
            ("W4", "C-2", "sergeant"), ("W5", "C-3", "patrol")]
WL_OFFICERS = [("WO%d" % i, "C-1" if i <= 4 else "C-2") for i in range(1, 10)]

# p1, p2: the window as two timestamptz; p3: the agency; p4: the precincts asked for (a
# comma list, '' for all): calls in them, assignments whose unit's precinct (else the
# officer's) is one of them, registered units and precincts in them.
SQL_INC = """
WITH w AS (SELECT :'p1'::timestamptz AS lo, :'p2'::timestamptz AS hi),
ag AS (SELECT id, time_zone FROM agencies WHERE id = :'p3'),
sel AS (SELECT id FROM precincts WHERE code = ANY (string_to_array(:'p4', ','))),
inc AS (
  SELECT i.*,
         extract(epoch FROM i.cleared_at - coalesce(i.dispatched_at, i.en_route_at,
                                                     i.on_scene_at)) AS committed,
         extract(epoch FROM i.cleared_at - i.on_scene_at) AS on_scene,
         (SELECT s.code FROM shifts s WHERE s.agency_id = ag.id
           ORDER BY (s.starts <= (i.received_at AT TIME ZONE ag.time_zone)::time) DESC,
                    s.starts DESC, s.id LIMIT 1) AS shift,
         (SELECT p.code FROM precincts p WHERE p.id = i.precinct_id) AS precinct
  FROM incidents i, w, ag
  WHERE i.agency_id = ag.id AND i.received_at >= w.lo AND i.received_at < w.hi
    AND (:'p4' = '' OR i.precinct_id IN (SELECT id FROM sel))),
tour AS (
  SELECT a.shift_id, a.day, s.code AS shift, u.callsign AS unit,
         (SELECT p.code FROM precincts p WHERE p.id = coalesce(u.precinct_id, o.precinct_id))
           AS precinct
  FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id
  JOIN officers o ON o.id = a.officer_id LEFT JOIN units u ON u.id = a.unit_id, w, ag
  WHERE s.agency_id = ag.id AND ((a.day + s.starts) AT TIME ZONE ag.time_zone) >= w.lo
    AND ((a.day + s.starts) AT TIME ZONE ag.time_zone) < w.hi
    AND (:'p4' = '' OR coalesce(u.precinct_id, o.precinct_id) IN (SELECT id FROM sel))),
calls AS (
  SELECT %(key)s AS k, count(*) AS incidents, coalesce(sum(committed), 0) AS committed_s,
         count(committed) AS committed_n, coalesce(sum(on_scene), 0) AS on_scene_s
  FROM %(from)s GROUP BY 1),
staff AS (
  SELECT %(tkey)s AS k, count(DISTINCT (shift_id, day)) AS tours, count(*) AS officer_tours
  FROM tour GROUP BY 1),
keys AS (%(all)s UNION SELECT k FROM calls UNION SELECT k FROM staff)
SELECT coalesce(keys.k, '\\N'), coalesce(c.incidents, 0), coalesce(c.committed_s, 0),
       coalesce(c.committed_n, 0), coalesce(c.on_scene_s, 0), coalesce(s.tours, 0),
       coalesce(s.officer_tours, 0)
FROM keys LEFT JOIN calls c ON c.k IS NOT DISTINCT FROM keys.k
LEFT JOIN staff s ON s.k IS NOT DISTINCT FROM keys.k
"""

WL_BY = {
    # A call counts once under each unit, or under null when it has none.
    "unit": {"key": "u.cs",
             "from": "inc LEFT JOIN LATERAL unnest(CASE WHEN cardinality(inc.units) = 0"
                     " THEN ARRAY[NULL::text] ELSE inc.units END) AS u(cs) ON true",
             "tkey": "unit",
             "all": "SELECT callsign AS k FROM units WHERE agency_id = :'p3'"
                    " AND (:'p4' = '' OR precinct_id IN (SELECT id FROM sel))"},
    "shift": {"key": "shift", "from": "inc", "tkey": "shift",
              "all": "SELECT code AS k FROM shifts WHERE agency_id = :'p3'"},
    "precinct": {"key": "precinct", "from": "inc", "tkey": "precinct",
                 "all": "SELECT code AS k FROM precincts WHERE agency_id = :'p3'"
                        " AND (:'p4' = '' OR id IN (SELECT id FROM sel))"},
}


def workload_from_sql(ctx, by, lo, hi, precincts=""):
    rows = psql(ctx["ci"], SQL_INC % WL_BY[by], lo, hi, ctx["agency"], precincts)
    out = {}
    for k, n, cs, cn, os_, tours, ot in rows:
        n, cn, tours, ot = int(n), int(cn), int(tours), int(ot)
        cs, os_ = round(float(cs)), round(float(os_))
        out[None if k == "\\N" else k] = {
            "incidents": n, "committed_s": cs, "on_scene_s": os_,
            "mean_committed_s": cs / cn if cn else None, "tours": tours, "officer_tours": ot,
            "officers_per_tour": ot / tours if tours else None,
            "calls_per_tour": n / tours if tours else None,
            "calls_per_officer_tour": n / ot if ot else None}
    return out


def close(a, b):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def check_workload(ctx, by, query, lo, hi, who="commander", precincts="", fail=True,
                   scoped=False):
    """Every row of the report against SQL; precincts: what the token or the filter
    limits it to. fail=False returns the differences instead of raising. scoped: a token
    limited to those precincts, which by unit sees only their units (and calls with none)."""
    path = "/v1/reports/workload?" + query + ("&" if query else "") + "by=" + by
    st, body = req(ctx, "GET", path, None, who)
    expect_eq(st, 200, path + ": %r" % (body,))
    expect_eq(body["by"], by, path)
    got = {}
    for row in body["rows"]:
        k = row[by]
        expect(k not in got, path + ": one row per " + by, k)
        got[k] = row
    want = workload_from_sql(ctx, by, lo, hi, precincts)
    if scoped and by == "unit":
        mine = {cs for cs, in psql(ctx["ci"], "SELECT u.callsign FROM units u JOIN precincts p"
                                   " ON p.id = u.precinct_id WHERE u.agency_id = :'p1'"
                                   " AND p.code = ANY (string_to_array(:'p2', ','))",
                                   ctx["agency"], precincts)}
        want = {k: v for k, v in want.items() if k is None or k in mine}
    bad = []
    if sorted(got, key=str) != sorted(want, key=str):
        bad.append(("keys", sorted(got, key=str), sorted(want, key=str)))
    for k, w in want.items():
        g = got.get(k, {})
        for f, v in w.items():
            if not close(g.get(f), v):
                bad.append((k, f, g.get(f), v))
    if not fail:
        return bad
    expect_eq(bad, [], path + ": (key, field, got, want) that differ from SQL")
    return body, want


def put_roster(ctx, code, day, assigns):
    st, body = req(ctx, "PUT", "/v1/shifts/%s/roster/%s" % (code, day),
                   {"assignments": assigns})
    expect_eq(st, 200, "roster %s %s: %r" % (code, day, body))


def test_workload(ctx):
    ensure_tours(ctx)
    ensure_units(ctx, WL_UNITS)
    ensure_officers(ctx, WL_OFFICERS)
    rng = random.Random(20260308)
    # Rosters over a week that holds the spring-forward change (Sunday 8 March 2026).
    unit_choice = ["W1", "W2", "W3", "W4", None]
    for day in range(4, 12):
        date = "2026-03-%02d" % day
        for code, _, _ in TOURS:
            if rng.random() < 0.15:
                continue  # nobody rostered: not a tour
            who = rng.sample([b for b, _ in WL_OFFICERS], rng.randint(1, 5))
            put_roster(ctx, code, date, [{"officer": b, "unit": rng.choice(unit_choice)}
                                         for b in who])
    put_roster(ctx, "EVE", "2026-03-09", [{"officer": "WO1", "unit": "W1"}])
    put_roster(ctx, "EVE", "2026-03-09", [])  # an emptied roster is no tour

    # Calls with random lifecycles; some without units, some with an unregistered one,
    # some outside every precinct, one without received_at (not counted).
    start = datetime.datetime(2026, 3, 4, 0, 0, tzinfo=datetime.timezone.utc)
    span = 9 * 86400
    batch = []
    for i in range(48):
        rec = start + datetime.timedelta(seconds=rng.randrange(span))
        inc = {"source": "wl", "external_id": "wl-%d" % i, "offense": rng.choice(["ROB", "BURG"]),
               "priority": rng.randint(0, 3), "received_at": utc(rec)}
        if i % 16 == 5:
            inc["location"] = {"lat": 40.0, "lon": -89.0}  # in no precinct
        else:
            inc["precinct"] = rng.choice(["C-1", "C-2"])
        r = rng.random()
        inc["units"] = ([] if r < 0.25 else ["WX-7"] if r < 0.32 else
                        rng.sample(["W1", "W2", "W3"], rng.randint(1, 2)))
        t = rec
        for stage, p in (("dispatched_at", 0.8), ("en_route_at", 0.7), ("on_scene_at", 0.8),
                         ("cleared_at", 0.65)):
            if rng.random() < p:
                t = t + datetime.timedelta(seconds=rng.choice([0, rng.randint(1, 2400)]))
                inc[stage] = utc(t)
        if i % 13 == 7:
            inc["status"] = "cancelled"
        batch.append(inc)
    # Calls on either side of tour changes on the day the clocks jump: the shift is
    # read in local time (08:10 CDT is 13:10Z; in CST it would be 07:10, MID).
    for ext, rec in (("dst-1", "2026-03-08T07:30:00Z"), ("dst-2", "2026-03-08T08:30:00Z"),
                     ("dst-3", "2026-03-08T13:10:00Z"), ("dst-4", "2026-03-08T21:05:00Z"),
                     ("dst-5", "2026-03-08T12:55:00Z")):
        batch.append({"source": "wl", "external_id": ext, "offense": "ROB", "precinct": "C-1",
                      "received_at": rec, "dispatched_at": rec, "cleared_at": rec.replace(
                          "00Z", "45Z"), "units": ["W2"] if ext != "dst-5" else []})
    batch.append({"source": "wl", "external_id": "no-received", "offense": "ROB",
                  "precinct": "C-2", "occurred_at": "2026-03-07T12:00:00Z", "units": ["W1"]})
    st, body = req(ctx, "POST", "/v1/incidents", batch, "dispatch")
    expect_eq((st, body["accepted"]), (200, len(batch)), "workload calls: %r" % (
        [r for r in body.get("results", []) if "error" in r],))

    windows = [
        # local dates: the start of the day in Chicago
        ("from=2026-03-06&to=2026-03-10",
         "2026-03-06 00:00 " + TZ, "2026-03-10 00:00 " + TZ),
        # instants; 2026-03-08T13:00Z is the Sunday DAY tour's start (08:00 CDT)
        ("from=2026-03-07T06:00:00Z&to=2026-03-08T13:15:00Z",
         "2026-03-07T06:00:00Z", "2026-03-08T13:15:00Z"),
        ("from=2026-03-08T05:00:00-01:00&to=2026-03-08T13:00:00Z",
         "2026-03-08T06:00:00Z", "2026-03-08T13:00:00Z"),
        ("", "-infinity", "infinity"),
    ]
    for query, lo, hi in windows:
        for by in ("unit", "shift", "precinct"):
            body, want = check_workload(ctx, by, query, lo, hi)
    # Window checks that do not depend on the SQL alone: what the data must hold.
    body, want = check_workload(ctx, "shift", windows[0][0], windows[0][1], windows[0][2])
    expect_eq(body["from"], "2026-03-06T00:00:00-06:00", "from echoed in local time")
    expect_eq(body["to"], "2026-03-10T00:00:00-05:00", "to echoed in local time (CDT)")
    expect_eq(sorted(r["shift"] for r in body["rows"]), ["DAY", "EVE", "MID"], "every tour")
    body, want = check_workload(ctx, "precinct", windows[0][0], windows[0][1], windows[0][2])
    c3 = [r for r in body["rows"] if r["precinct"] == "C-3"]
    expect_eq(len(c3), 1, "an idle precinct is listed")
    expect_eq((c3[0]["incidents"], c3[0]["tours"], c3[0]["calls_per_tour"]), (0, 0, None),
              "with zeros and null ratios")
    body, want = check_workload(ctx, "unit", windows[0][0], windows[0][1], windows[0][2])
    units = {r["unit"]: r for r in body["rows"]}
    expect("W5" in units and units["W5"]["incidents"] == 0, "an idle registered unit", units)
    expect("WX-7" in units, "an unregistered call sign that took calls", sorted(units, key=str))
    expect(None in units, "calls without units under null", sorted(units, key=str))
    expect(units["W4"]["incidents"] == 0 and units["W4"]["tours"] > 0,
           "a unit on tour that took no call", units["W4"])
    st, default = req(ctx, "GET", "/v1/reports/workload?" + windows[0][0], None, "commander")
    expect_eq(default["by"], "unit", "by=unit is the default")
    expect_eq(sorted(map(str, (r["unit"] for r in default["rows"]))),
              sorted(map(str, units)), "default rows")
    # The DST calls: by SQL (which reads local time) they are MID, MID, DAY, EVE, MID.
    got = psql(ctx["ci"], "SELECT external_id, (SELECT s.code FROM shifts s WHERE s.agency_id ="
               " i.agency_id ORDER BY (s.starts <= (i.received_at AT TIME ZONE :'p1')::time) DESC,"
               " s.starts DESC, s.id LIMIT 1) FROM incidents i WHERE external_id LIKE 'dst-%'"
               " ORDER BY external_id", TZ)
    expect_eq([r[1] for r in got], ["MID", "MID", "DAY", "EVE", "MID"], "reference shifts")
    # A precinct filter keeps that precinct's row as it was.
    body, want = check_workload(ctx, "precinct", windows[0][0] + "&precinct=C-1",
                                windows[0][1], windows[0][2], precincts="C-1")
    expect_eq([r["precinct"] for r in body["rows"]], ["C-1"], "precinct filter")
    # Tours redefined: every answer changes at once. A tour starting at 12:00 takes the
    # afternoon from DAY; one sharing DAY's start takes nothing (the lower id wins).
    for code, s, e in (("SWING", "12:00", "20:00"), ("ALT", "08:00", "12:00")):
        st, body = req(ctx, "PUT", "/v1/shifts/" + code, {"starts": s, "ends": e})
        expect_eq(st, 201, "tour " + code)
    for query, lo, hi in windows:
        body, want = check_workload(ctx, "shift", query, lo, hi)
        expect_eq(want["ALT"]["incidents"], 0, "ALT takes no call")
    expect(want["SWING"]["incidents"] > 0, "SWING takes calls", want["SWING"])
    # Bad parameters.
    for q, status, field in (("by=officer", 422, "by"), ("from=2026-03-06T10:07:00Z", 422, "from"),
                             ("from=2026-03-07&to=2026-03-06", 422, "to"),
                             ("precinct=NOPE", 422, "precinct"), ("unit=W1", 400, "unit")):
        st, resp = req(ctx, "GET", "/v1/reports/workload?" + q, None, "commander")
        expect_eq((st, err_field(resp)), (status, field), q)


# ------------------------------------------------------------------ restart

def snapshot(ctx):
    st, units = req(ctx, "GET", "/v1/units", None, "commander")
    st2, officers = req(ctx, "GET", "/v1/officers", None, "supervisor")
    st3, shifts = req(ctx, "GET", "/v1/shifts", None, "commander")
    st4, roster = req(ctx, "GET", "/v1/shifts/DAY/roster/2026-06-01")
    st5, wl = req(ctx, "GET", "/v1/reports/workload?by=shift", None, "commander")
    expect_eq((st, st2, st3, st4, st5), (200,) * 5, "snapshot reads")
    board = [normalize_unit(u) for u in units["units"]]
    for u in board:
        if u["open_incidents"] > 8:
            u["incidents"] = len(u["incidents"])  # which 8 are listed is not fixed
    return {"units": board,
            "officers": sorted(officers["officers"], key=lambda o: o["badge"]),
            "shifts": shifts["shifts"], "roster": assignments(roster),
            "workload": sorted(wl["rows"], key=lambda r: r["shift"])}


def test_restart_rebuilds_state(ctx):
    ensure_units(ctx, [("RS-1", "C-1", "patrol")])
    ensure_officers(ctx, [("RS-O1", "C-1"), ("RS-O2", "C-2")])
    ensure_tours(ctx)
    put_roster(ctx, "DAY", "2026-06-01", [{"officer": "RS-O1", "unit": "RS-1"},
                                          {"officer": "RS-O2", "unit": None}])
    post(ctx, "rs-1", received_at="2026-06-01T10:00:00Z", dispatched_at="2026-06-01T10:01:00Z",
         en_route_at="2026-06-01T10:02:00Z", on_scene_at="2026-06-01T10:05:00Z",
         units=["RS-1", "RS-UNREG"])
    put_status(ctx, "RS-1", "out_of_service")
    before = snapshot(ctx)
    check_board(ctx)
    rc = ctx["d"].stop()
    expect_eq(rc, 0, "exit code")
    ctx["d"] = Daemon(ctx["ci"])
    ctx["d"].wait_ready()
    after = snapshot(ctx)
    for k in before:
        expect_eq(after[k], before[k], k + " after a restart")
    board = check_board(ctx)
    expect_eq((board["RS-1"]["status"], board["RS-1"]["status_source"], board["RS-UNREG"]["status"],
               board["RS-UNREG"]["registered"]), ("out_of_service", "set", "on_scene", False),
              "a set status and an unregistered call sign survive the restart")
    expect_eq(after["roster"], roster_sql(ctx, "DAY", "2026-06-01"), "roster reloaded")
    expect_eq(after["roster"], [["RS-O1", "RS-1"], ["RS-O2", ""]])


# ------------------------------------------------------------------ known failures

def test_status_put_answers_200(ctx):
    """Changing a registered unit's status creates nothing: 200, as PUT /v1/units on an
    existing unit answers (API.md: 201 only "when created")."""
    ensure_units(ctx, [("ST-1", "C-1", "patrol")])
    for status, stored in (("out_of_service", "out_of_service"), ("in_service", "")):
        st, body = req(ctx, "PUT", "/v1/units/ST-1/status", {"status": status}, "dispatch")
        expect_eq(unit_row(ctx, "ST-1"), [["C-1", "patrol", stored]], "stored " + status)
        expect_eq(st, 200, "PUT /v1/units/ST-1/status %s" % status)


def test_workload_precinct_scope(ctx):
    """A token limited to C-1 (or precinct=C-1) sees C-1's calls, and, since "reads through
    it see only those precincts", only C-1's staffing: the assignments whose unit's precinct
    (else the officer's) is C-1, the registered units of C-1. By unit, the token sees only
    C-1's units (another precinct's unit that answered C-1's calls is not its to see:
    test_review_scope.py); precinct=C-1 still lists every unit that answered them."""
    if scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE source = 'wl'") == "0":
        test_workload(ctx)  # run alone: the data of test_workload
    if "commander_c1" not in ctx:
        ctx["commander_c1"] = token(ctx["ci"], "commander", "CHI", "C-1")
    lo, hi = "2026-03-06 00:00 " + TZ, "2026-03-10 00:00 " + TZ
    bad = []
    for by in ("precinct", "shift", "unit"):
        bad += [(by, "scoped token") + x for x in check_workload(
            ctx, by, "from=2026-03-06&to=2026-03-10", lo, hi, who="commander_c1",
            precincts="C-1", fail=False, scoped=True)]
        bad += [(by, "precinct=C-1") + x for x in check_workload(
            ctx, by, "from=2026-03-06&to=2026-03-10&precinct=C-1", lo, hi,
            precincts="C-1", fail=False)]
    expect_eq(bad, [], "(by, how, key, field, got, want) that differ from SQL limited to C-1")


def test_workload_without_rosters(ctx):
    """The report when no roster exists anywhere yet (a fresh installation): every unit,
    tour and precinct with zero tours. Its own database and daemon, since rosters are
    kept for the whole installation. (staffing_count once passed NULL to qsort here.)"""
    ci = fresh_db("hr_norosters")
    admin = token(ci, "admin", "CHI")
    d = Daemon(ci)
    other = {"ci": ci, "d": d, "admin": admin, "supervisor": admin, "dispatch": admin,
             "commander": admin, "agency": scalar(ci, "SELECT id FROM agencies")}
    try:
        d.wait_ready()
        expect_eq(req(other, "PUT", "/v1/agencies/CHI", {"name": "c", "time_zone": TZ},
                      "admin")[0], 200)
        expect_eq(req(other, "PUT", "/v1/precincts/N-1",
                      {"name": "n", "boundary": square(*SQUARES["C-1"])}, "admin")[0], 201)
        expect_eq(req(other, "PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                      "admin")[0], 201)
        ensure_tours(other)
        ensure_units(other, [("N1", "N-1", "patrol")])
        post(other, "n1", source="nr", precinct="N-1", received_at="2026-03-06T15:00:00Z",
             dispatched_at="2026-03-06T15:01:00Z", cleared_at="2026-03-06T15:31:00Z",
             units=["N1"])
        for by in ("unit", "shift", "precinct"):
            check_workload(other, by, "from=2026-03-06&to=2026-03-10",
                           "2026-03-06 00:00 " + TZ, "2026-03-10 00:00 " + TZ)
    finally:
        rc = d.stop()  # raises on a sanitizer report
    expect_eq(rc, 0, "exit code")


if __name__ == "__main__":
    run([test_units, test_roles, test_precinct_scope, test_unit_board, test_officers,
         test_shifts, test_rosters, test_workload, test_restart_rebuilds_state,
         test_status_put_answers_200, test_workload_precinct_scope,
         test_workload_without_rosters],
        setup, teardown)
