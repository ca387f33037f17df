#!/usr/bin/env python3
"""Precinct scopes, object by object (review items 7, 8b, 8c).

A token limited to precincts (admin, supervisor or commander) must reach no
further than its precincts:

- agency-wide objects (the agency, its offenses, precinct boundaries and
  their creation, the tours) need a token for the whole agency: 403;
- units and officers belong to a precinct: a scoped token reads and writes
  only its precincts' ones; a roster read shows only the entries whose
  officer (and unit, if any) are of its precincts, and a roster PUT replaces
  only those entries, refusing (403) entries that name others' officers or
  units;
- the unit board lists for a scoped token only incident ids of its
  precincts; response times and workload by unit show only its units;
- a token row whose scope names unknown, malformed or other agencies'
  precincts matches nothing more than its valid codes;
- `compstat-admin token create --precincts` accepts only the agency's
  precinct codes (nothing written otherwise);
- officer and roster reads (and HR writes) are audited.

Every expected answer comes from SQL: what an agency-wide reader gets,
restricted to the scope. And agency-wide tokens keep doing all of it.
"""
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN, Daemon, expect, expect_eq, fresh_db, psql, run,  # noqa: E402
                     scalar, token)

TZ = "America/Chicago"
SQUARES = {
    "P-A": (-87.70, 41.85, -87.65, 41.90),
    "P-B": (-87.65, 41.85, -87.60, 41.90),
    "P-C": (-87.60, 41.85, -87.55, 41.90),
}
CITY = (-88.5, 41.0, -87.0, 42.5)  # covers every precinct above
UNITS = [("UA1", "P-A"), ("UA2", "P-A"), ("UB1", "P-B"), ("UB2", "P-B")]
OFFICERS = [("OA1", "P-A"), ("OA2", "P-A"), ("OA3", "P-A"), ("OB1", "P-B"), ("OB2", "P-B"),
            ("ON1", None)]
DAY = "2026-05-04"  # a Monday
# external id, precinct, units, lifecycle (minutes after 10:00 local: received,
# dispatched, en route, on scene, cleared; None: absent)
INCIDENTS = [
    ("a1", "P-A", ["UA1"], (0, 1, 2, 9, None)),
    ("a2", "P-A", ["UA1", "UB1"], (5, 6, None, None, None)),
    ("a3", "P-A", ["UB1"], (10, 12, 13, 20, 50)),
    ("a4", "P-A", [], (15, 16, 17, 30, 60)),
    ("b1", "P-B", ["UA1"], (20, 21, 22, None, None)),
    ("b2", "P-B", ["UB1", "UB2"], (25, 26, 27, 33, None)),
    ("b3", "P-B", ["UA2"], (30, 31, 32, 40, 70)),
    ("c1", "P-C", ["UA2"], (35, 36, None, None, None)),
]


def square(x0, y0, x1, y1):
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def local(minutes):
    """2026-05-04 10:00 Chicago (CDT, -05:00) plus minutes, as RFC 3339 UTC."""
    t = 15 * 60 + minutes
    return "%sT%02d:%02d:00Z" % (DAY, t // 60, t % 60)


def setup():
    ci = fresh_db("review_scope")
    admin = token(ci, "admin", "SCP")
    other = token(ci, "admin", "OTH")
    d = Daemon(ci)
    d.wait_ready()
    ctx = {"ci": ci, "d": d, "admin": admin, "other_admin": other}
    expect_eq(req(ctx, "PUT", "/v1/agencies/SCP", {"name": "Scope PD", "time_zone": TZ})[0],
              200, "agency")
    for code, sq in SQUARES.items():
        expect_eq(req(ctx, "PUT", "/v1/precincts/" + code,
                      {"name": code, "boundary": square(*sq)})[0], 201, "precinct " + code)
    expect_eq(req(ctx, "PUT", "/v1/precincts/O-1",
                  {"name": "O-1", "boundary": square(-90.1, 29.9, -90.0, 30.0)},
                  "other_admin")[0], 201, "another agency's precinct")
    for code, cat in (("ROB", "robbery"), ("BURG", "burglary")):
        expect_eq(req(ctx, "PUT", "/v1/offenses/" + code, {"name": code, "category": cat})[0],
                  201, "offense " + code)
    for role in ("dispatch", "commander", "supervisor"):
        ctx[role] = token(ci, role, "SCP")
    for role in ("admin", "supervisor", "commander"):
        ctx[role + "_a"] = token(ci, role, "SCP", "P-A")
    for code, s, e in (("DAY", "08:00", "16:00"), ("EVE", "16:00", "24:00")):
        expect_eq(req(ctx, "PUT", "/v1/shifts/" + code, {"starts": s, "ends": e})[0], 201)
    for cs, p in UNITS:
        expect_eq(req(ctx, "PUT", "/v1/units/" + cs, {"precinct": p, "type": "patrol"},
                      "supervisor")[0], 201, "unit " + cs)
    for badge, p in OFFICERS:
        expect_eq(req(ctx, "PUT", "/v1/officers/" + badge,
                      {"name": "Officer " + badge, "precinct": p}, "supervisor")[0], 201,
                  "officer " + badge)
    names = ("received_at", "dispatched_at", "en_route_at", "on_scene_at", "cleared_at")
    batch = []
    for ext, p, units, times in INCIDENTS:
        inc = {"source": "scope", "external_id": ext, "offense": "ROB", "priority": 1,
               "precinct": p, "units": units}
        for name, m in zip(names, times):
            if m is not None:
                inc[name] = local(m)
        batch.append(inc)
    st, body = req(ctx, "POST", "/v1/incidents", batch, "dispatch")
    expect_eq((st, body["accepted"]), (200, len(batch)), "incidents")
    ctx["pid"] = {code: int(scalar(ci, "SELECT id FROM precincts WHERE code = :'p1'", code))
                  for code in list(SQUARES) + ["O-1"]}
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0, "daemon exit code after SIGTERM")


def req(ctx, method, path, body=None, who="admin", headers=None):
    st, _, b = ctx["d"].request(method, path, body, ctx[who] if who else None, headers=headers)
    return st, b


def err(body):
    e = body.get("error", {}) if isinstance(body, dict) else {}
    return e.get("code"), e.get("field")


# ------------------------------------------------------------------ agency-wide objects

def boundary_sql(ctx, code):
    return scalar(ctx["ci"], "SELECT ST_AsText(boundary) FROM precincts WHERE code = :'p1'", code)


def test_scoped_admin_agency_wide_objects(ctx):
    """A precinct-scoped admin may not redraw its precinct (over the whole city), create a
    precinct, change the agency's offenses or its time zone, or change the tours: 403 with the
    reason, and nothing written. An agency-wide admin may."""
    ci = ctx["ci"]
    before = {
        "boundary": boundary_sql(ctx, "P-A"),
        "precincts": scalar(ci, "SELECT count(*) FROM precincts"),
        "offenses": psql(ci, "SELECT code, name, category FROM offenses ORDER BY code"),
        "agency": psql(ci, "SELECT name, time_zone FROM agencies WHERE code = 'SCP'"),
        "shifts": psql(ci, "SELECT code, starts, ends FROM shifts ORDER BY code"),
    }
    refused = []
    for method, path, body in (
            ("PUT", "/v1/precincts/P-A", {"name": "P-A", "boundary": square(*CITY)}),
            ("PUT", "/v1/precincts/P-A2", {"name": "new", "boundary": square(*CITY)}),
            ("PUT", "/v1/offenses/ROB", {"name": "ROB", "category": "other"}),
            ("PUT", "/v1/offenses/NEWOFF", {"name": "n", "category": "other"}),
            ("PUT", "/v1/agencies/SCP", {"name": "Scope PD", "time_zone": "Asia/Tokyo"}),
            ("PUT", "/v1/shifts/DAY", {"starts": "07:00", "ends": "15:00"}),
            ("PUT", "/v1/shifts/NIGHT", {"starts": "00:00", "ends": "08:00"})):
        st, resp = req(ctx, method, path, body, "admin_a")
        msg = resp.get("error", {}).get("message", "") if isinstance(resp, dict) else ""
        if st != 403 or err(resp)[0] != "forbidden" or "agency" not in msg:
            refused.append((method, path, st, resp))
    expect_eq(refused, [], "agency-wide writes by a precinct-scoped admin that were not a "
                           "403 saying why")
    after = {
        "boundary": boundary_sql(ctx, "P-A"),
        "precincts": scalar(ci, "SELECT count(*) FROM precincts"),
        "offenses": psql(ci, "SELECT code, name, category FROM offenses ORDER BY code"),
        "agency": psql(ci, "SELECT name, time_zone FROM agencies WHERE code = 'SCP'"),
        "shifts": psql(ci, "SELECT code, starts, ends FROM shifts ORDER BY code"),
    }
    expect_eq(after, before, "refused writes changed nothing")
    # New incidents are still assigned by the real boundaries (a redrawn P-A would take them).
    st, body = req(ctx, "POST", "/v1/incidents",
                   {"source": "scope", "external_id": "where-b", "offense": "ROB",
                    "location": {"lat": 41.87, "lon": -87.62},
                    "occurred_at": local(0)}, "dispatch")
    expect_eq((st, body.get("precinct")), (201, "P-B"), "a point in P-B is assigned to P-B")
    expect_eq(scalar(ci, "SELECT p.code FROM incidents i JOIN precincts p ON p.id = i.precinct_id"
                         " WHERE external_id = 'where-b'"), "P-B")
    # The agency-wide admin still can.
    for method, path, body, want in (
            ("PUT", "/v1/precincts/P-C", {"name": "P-C", "boundary": square(*SQUARES["P-C"])},
             200),
            ("PUT", "/v1/offenses/NEWOFF", {"name": "n", "category": "other"}, 201),
            ("PUT", "/v1/agencies/SCP", {"name": "Scope PD", "time_zone": TZ}, 200),
            ("PUT", "/v1/shifts/DAY", {"starts": "08:00", "ends": "16:00"}, 200)):
        st, resp = req(ctx, method, path, body, "admin")
        expect_eq(st, want, "agency-wide admin: %s %s %r" % (method, path, resp))
    # Reading agency-wide reference data stays open to scoped tokens: the same answers.
    for path in ("/v1/offenses", "/v1/agencies/SCP", "/v1/shifts"):
        for who in ("admin_a", "supervisor_a", "commander_a"):
            expect_eq(req(ctx, "GET", path, None, who), req(ctx, "GET", path, None, "admin"),
                      "%s read by %s" % (path, who))


# ------------------------------------------------------------------ rosters

def roster_sql(ctx, code, day, scope=None):
    """(badge, callsign or '') of a roster; with scope (precinct codes) only the entries whose
    officer is in them and whose unit, if any, is too."""
    rows = psql(ctx["ci"],
                "SELECT o.badge, coalesce(u.callsign, ''), coalesce(po.code, ''),"
                " coalesce(pu.code, '') FROM shift_assignments a"
                " JOIN shifts s ON s.id = a.shift_id JOIN officers o ON o.id = a.officer_id"
                " LEFT JOIN units u ON u.id = a.unit_id"
                " LEFT JOIN precincts po ON po.id = o.precinct_id"
                " LEFT JOIN precincts pu ON pu.id = u.precinct_id"
                " WHERE s.code = :'p1' AND a.day = :'p2' ORDER BY o.badge", code, day)
    return [[b, u] for b, u, po, pu in rows
            if scope is None or (po in scope and (u == "" or pu in scope))]


def assignments(body):
    return sorted([a["officer"], a["unit"] or ""] for a in body["assignments"])


FULL = [{"officer": "OA1", "unit": "UA1"}, {"officer": "OA2", "unit": None},
        {"officer": "OA3", "unit": "UB1"},  # a P-A officer on a P-B unit
        {"officer": "OB1", "unit": "UB1"}, {"officer": "OB2", "unit": "UA2"},  # P-B on P-A
        {"officer": "ON1", "unit": None}]  # an officer of no precinct


def test_scoped_roster_read(ctx):
    """A roster read by a scoped token (supervisor or admin) shows only its precincts'
    entries: officer in scope, and unit (if any) in scope. The whole agency sees all."""
    path = "/v1/shifts/DAY/roster/" + DAY
    st, body = req(ctx, "PUT", path, {"assignments": FULL}, "supervisor")
    expect_eq(st, 200, "agency-wide roster put")
    expect_eq(assignments(body), roster_sql(ctx, "DAY", DAY), "stored as answered")
    expect_eq(len(body["assignments"]), len(FULL))
    st, body = req(ctx, "GET", path, None, "supervisor")
    expect_eq((st, assignments(body)), (200, roster_sql(ctx, "DAY", DAY)), "agency-wide read")
    want = roster_sql(ctx, "DAY", DAY, ("P-A",))
    expect_eq(want, [["OA1", "UA1"], ["OA2", ""]], "the entries of P-A (SQL)")
    for who in ("supervisor_a", "admin_a"):
        st, body = req(ctx, "GET", path, None, who)
        expect_eq((st, assignments(body)), (200, want), "roster read by " + who)
        names = {a["officer"]: a["name"] for a in body["assignments"]}
        expect("Officer OB1" not in names.values() and "Officer ON1" not in names.values(),
               "no other precinct's officers' names", body)
    expect_eq(req(ctx, "GET", path, None, "commander_a")[0], 403, "commanders read no rosters")


def test_scoped_roster_put(ctx):
    """A roster PUT by a scoped token replaces only its precincts' entries: the others'
    stay in the database and in memory; entries naming other precincts' officers or units,
    or an officer of its precinct that another precinct's entry holds, are refused (403,
    naming the entry) and nothing is written."""
    path = "/v1/shifts/DAY/roster/" + DAY
    st, _ = req(ctx, "PUT", path, {"assignments": FULL}, "supervisor")
    expect_eq(st, 200)
    full = roster_sql(ctx, "DAY", DAY)
    count = scalar(ctx["ci"], "SELECT count(*) FROM shift_assignments")
    for what, entries, field in (
            ("another precinct's officer", [{"officer": "OA2"}, {"officer": "OB1"}],
             "assignments[1].officer"),
            ("an officer of no precinct", [{"officer": "ON1"}], "assignments[0].officer"),
            ("another precinct's unit", [{"officer": "OA2", "unit": "UB2"}],
             "assignments[0].unit"),
            ("its officer held by another precinct's entry", [{"officer": "OA3", "unit": "UA1"}],
             "assignments[0].officer")):
        for who in ("supervisor_a", "admin_a"):
            st, resp = req(ctx, "PUT", path, {"assignments": entries}, who)
            expect_eq((st, err(resp)), (403, ("forbidden", field)), "%s by %s" % (what, who))
    expect_eq(roster_sql(ctx, "DAY", DAY), full, "refused roster puts changed nothing")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM shift_assignments"), count)
    # Replace P-A's entries: OA1 leaves, OA2 moves onto UA2.
    st, body = req(ctx, "PUT", path, {"assignments": [{"officer": "OA2", "unit": "UA2"}]},
                   "supervisor_a")
    expect_eq(st, 200, "scoped roster put")
    expect_eq(assignments(body), [["OA2", "UA2"]], "the answer shows the scope's entries")
    expect_eq(roster_sql(ctx, "DAY", DAY),
              sorted([["OA2", "UA2"], ["OA3", "UB1"], ["OB1", "UB1"], ["OB2", "UA2"],
                      ["ON1", ""]]),
              "only P-A's entries were replaced; the others' are still there")
    st, body = req(ctx, "GET", path, None, "supervisor")
    expect_eq(assignments(body), roster_sql(ctx, "DAY", DAY), "memory agrees with SQL")
    st, body = req(ctx, "GET", path, None, "admin_a")
    expect_eq(assignments(body), roster_sql(ctx, "DAY", DAY, ("P-A",)), "scoped read after")
    # An empty list by the scoped token empties only its entries.
    st, body = req(ctx, "PUT", path, {"assignments": []}, "admin_a")
    expect_eq((st, body["assignments"]), (200, []))
    expect_eq(roster_sql(ctx, "DAY", DAY),
              sorted([["OA3", "UB1"], ["OB1", "UB1"], ["OB2", "UA2"], ["ON1", ""]]),
              "emptying P-A's part keeps the rest")
    # The agency-wide supervisor still replaces everything.
    st, body = req(ctx, "PUT", path, {"assignments": [{"officer": "OB1"}]}, "supervisor")
    expect_eq((st, assignments(body)), (200, [["OB1", ""]]))
    expect_eq(roster_sql(ctx, "DAY", DAY), [["OB1", ""]], "agency-wide put replaces all")
    st, body = req(ctx, "GET", path, None, "supervisor")
    expect_eq(assignments(body), [["OB1", ""]], "and in memory")


# ------------------------------------------------------------------ the unit board

def board_sql(ctx, scope=None):
    """{callsign: (status, sorted open incident ids, open count)}, the incidents limited to
    the scope's precincts (the status is the unit's own, from all its open incidents)."""
    ci = ctx["ci"]
    rank = {"open": 1, "dispatched": 1, "en_route": 2, "on_scene": 3}
    names = {0: "available", 1: "dispatched", 2: "en_route", 3: "on_scene"}
    open_incs = {}
    for cs, iid, status, pcode in psql(
            ci, "SELECT cs, i.id, i.status, coalesce(p.code, '') FROM incidents i"
                " LEFT JOIN precincts p ON p.id = i.precinct_id, unnest(i.units) AS cs"
                " WHERE i.status IN ('open', 'dispatched', 'en_route', 'on_scene')"):
        open_incs.setdefault(cs, []).append((int(iid), rank[status], pcode))
    out = {}
    for cs, pcode in psql(ci, "SELECT u.callsign, coalesce(p.code, '') FROM units u"
                              " LEFT JOIN precincts p ON p.id = u.precinct_id"
                              " JOIN agencies a ON a.id = u.agency_id WHERE a.code = 'SCP'"):
        if scope is not None and pcode not in scope:
            continue
        incs = open_incs.get(cs, [])
        ids = sorted(i for i, _, p in incs if scope is None or p in scope)
        out[cs] = (names[max([r for _, r, _ in incs] or [0])], ids, len(ids))
    return out


def board_of(body):
    return {u["callsign"]: (u["status"], sorted(u["incidents"]), u["open_incidents"])
            for u in body["units"] if u["registered"]}


def test_scoped_unit_board(ctx):
    """The unit board shows a scoped commander (supervisor, admin) only its precincts' units,
    and of their incidents only those of its precincts; the unit's status is its own. So do
    GET /v1/units/{callsign} and the unit PUT answers. Another precinct's unit: 404."""
    full = board_sql(ctx)
    expect(["P-B"] in psql(ctx["ci"], "SELECT p.code FROM incidents i JOIN precincts p"
                                      " ON p.id = i.precinct_id WHERE 'UA1' = ANY (i.units)"
                                      " AND i.status IN ('open', 'dispatched', 'en_route',"
                                      " 'on_scene')"),
           "UA1 is attached to an open incident of P-B (the data)")
    st, body = req(ctx, "GET", "/v1/units", None, "commander")
    expect_eq((st, board_of(body)), (200, full), "the agency-wide board")
    want = board_sql(ctx, ("P-A",))
    expect_eq(sorted(want), ["UA1", "UA2"])
    for who in ("commander_a", "supervisor_a", "admin_a"):
        st, body = req(ctx, "GET", "/v1/units", None, who)
        expect_eq((st, board_of(body)), (200, want), "board of " + who)
        for cs in ("UA1", "UA2"):
            st, body = req(ctx, "GET", "/v1/units/" + cs, None, who)
            expect_eq((st, board_of({"units": [body]})), (200, {cs: want[cs]}),
                      "GET /v1/units/%s by %s" % (cs, who))
        for cs in ("UB1", "UB2"):
            expect_eq(req(ctx, "GET", "/v1/units/" + cs, None, who)[0], 404,
                      "another precinct's unit by call sign, %s" % who)
        # UA2's only open incident lies in P-C: dispatched, yet no id shown.
        expect_eq(want["UA2"], ("dispatched", [], 0), "UA2 (SQL)")
        st, body = req(ctx, "GET", "/v1/units?status=dispatched", None, who)
        expect_eq(board_of(body), {"UA2": want["UA2"]}, "status filter of " + who)
    # The answers of unit writes are board entries too.
    st, body = req(ctx, "PUT", "/v1/units/UA1", {"precinct": "P-A", "type": "patrol"},
                   "supervisor_a")
    expect_eq((st, board_of({"units": [body]})), (200, {"UA1": want["UA1"]}), "unit PUT answer")
    st, body = req(ctx, "PUT", "/v1/units/UA1/status", {"status": "in_service"}, "supervisor_a")
    expect_eq((st, board_of({"units": [body]})), (200, {"UA1": want["UA1"]}),
              "status PUT answer")
    st, body = req(ctx, "PUT", "/v1/units/UA1", {"precinct": "P-A", "type": "patrol"},
                   "supervisor")
    expect_eq(board_of({"units": [body]}), {"UA1": full["UA1"]}, "agency-wide PUT answer")


def test_scoped_officers(ctx):
    """Officers: a scoped token lists only its precincts' ones and may not write others'."""
    want = sorted(b for b, p in psql(ctx["ci"], "SELECT badge, coalesce(p.code, '')"
                                                " FROM officers o LEFT JOIN precincts p"
                                                " ON p.id = o.precinct_id"
                                                " JOIN agencies a ON a.id = o.agency_id"
                                                " WHERE a.code = 'SCP'") if p == "P-A")
    for who in ("supervisor_a", "admin_a"):
        st, body = req(ctx, "GET", "/v1/officers", None, who)
        expect_eq((st, sorted(o["badge"] for o in body["officers"])), (200, want),
                  "officers of " + who)
        st, body = req(ctx, "PUT", "/v1/officers/OB1", {"name": "taken", "precinct": "P-A"}, who)
        expect_eq(st, 403, "taking another precinct's officer, " + who)
    st, body = req(ctx, "GET", "/v1/officers", None, "supervisor")
    expect_eq(len(body["officers"]), len(OFFICERS), "agency-wide officer list")
    expect_eq(scalar(ctx["ci"], "SELECT name FROM officers WHERE badge = 'OB1'"), "Officer OB1")


# ------------------------------------------------------------------ response times, workload

RT_SQL = """
SELECT coalesce(u.cs, ''), count(*),
       count(i.on_scene_at - i.received_at),
       coalesce(sum(extract(epoch FROM i.on_scene_at - i.received_at)), 0)::bigint
FROM incidents i
LEFT JOIN LATERAL unnest(CASE WHEN cardinality(i.units) = 0 THEN ARRAY[NULL::text]
                         ELSE i.units END) AS u(cs) ON true
WHERE i.received_at IS NOT NULL AND i.source = 'scope'
  AND (:'p1' = '' OR i.precinct_id IN (SELECT id FROM precincts WHERE code = :'p1'))
  AND (:'p1' = '' OR u.cs IS NULL OR u.cs IN
       (SELECT callsign FROM units un JOIN precincts p ON p.id = un.precinct_id
        WHERE p.code = :'p1'))
GROUP BY 1 ORDER BY 1
"""


def rt_sql(ctx, scope=""):
    return {cs or None: (int(n), int(rn), int(rs))
            for cs, n, rn, rs in psql(ctx["ci"], RT_SQL, scope)}


def rt_rows(body):
    return {r["unit"]: (r["incidents"], r["response"]["n"], r["response"].get("sum") or 0)
            for r in body["rows"]}


def test_scoped_response_times_by_unit(ctx):
    """Response times and workload by unit: a scoped token gets rows only for its
    precincts' units (and calls with no unit), over its precincts' calls; naming another
    precinct's unit is like naming an unknown one."""
    q = "from=%s&to=2026-05-05" % DAY
    st, body = req(ctx, "GET", "/v1/response-times?by=unit&" + q, None, "commander")
    expect_eq((st, rt_rows(body)), (200, rt_sql(ctx)), "agency-wide by unit")
    expect("UB1" in rt_rows(body), "UB1 answered calls")
    want = rt_sql(ctx, "P-A")
    expect_eq(sorted(want, key=str), sorted(["UA1", None], key=str),
              "P-A's units with P-A calls, and the calls without a unit (SQL)")
    for who in ("commander_a", "supervisor_a", "admin_a"):
        st, body = req(ctx, "GET", "/v1/response-times?by=unit&" + q, None, who)
        expect_eq((st, rt_rows(body)), (200, want), "by unit, " + who)
        st, body = req(ctx, "GET", "/v1/response-times?by=unit,precinct&" + q, None, who)
        expect_eq({(r["unit"], r["precinct"]) for r in body["rows"]},
                  {(u, "P-A") for u in want}, "by unit and precinct, " + who)
        st, body = req(ctx, "GET", "/v1/response-times?unit=UB1&" + q, None, who)
        st2, body2 = req(ctx, "GET", "/v1/response-times?unit=NOSUCH&" + q, None, who)
        expect_eq((st, err(body)), (422, ("invalid_field", "unit")),
                  "another precinct's unit, " + who)
        expect_eq(body["error"]["message"].replace("UB1", "X"),
                  body2["error"]["message"].replace("NOSUCH", "X"),
                  "refused like an unknown unit")
        st, body = req(ctx, "GET", "/v1/response-times?unit=UA1&" + q, None, who)
        expect_eq((st, body["rows"][0]["incidents"]), (200, want["UA1"][0]), "unit=UA1, " + who)
        st, body = req(ctx, "GET", "/v1/reports/workload?by=unit&" + q, None, who)
        got = {r["unit"]: r["incidents"] for r in body["rows"]}
        expect_eq((st, got), (200, {"UA1": want["UA1"][0], "UA2": 0, None: want[None][0]}),
                  "workload by unit, " + who)
    st, body = req(ctx, "GET", "/v1/reports/workload?by=unit&" + q, None, "commander")
    expect("UB1" in {r["unit"] for r in body["rows"]}, "agency-wide workload has UB1")


# ------------------------------------------------------------------ token rows

def raw_token(ctx, role, precincts_sql):
    """A token row written by SQL (as an old compstat-admin or a hand edit would)."""
    tok = "cst_scope_" + hashlib.sha256(precincts_sql.encode() + role.encode()).hexdigest()[:30]
    digest = hashlib.sha256(tok.encode()).hexdigest()
    psql(ctx["ci"], "INSERT INTO api_tokens (token_hash, role, agency_id, precincts)"
                    " SELECT :'p1', :'p2', id, %s FROM agencies WHERE code = 'SCP'"
                    % precincts_sql, digest, role)
    return tok


def test_malformed_scope_rows(ctx):
    """A token row naming unknown, malformed, empty or other agencies' codes sees what its
    valid codes allow and nothing more; one naming none of the agency's precincts sees
    nothing (never everything)."""
    ci = ctx["ci"]
    mixed = raw_token(ctx, "supervisor",
                      "ARRAY['P-A', 'NO\"PE', '', 'O-1', 'P-GONE', 'p-a', 'P-A ']")
    nothing = {"unknown": raw_token(ctx, "supervisor", "ARRAY['NOPE']"),
               "other agency": raw_token(ctx, "supervisor", "ARRAY['O-1']"),
               "empty": raw_token(ctx, "supervisor", "ARRAY[]::text[]"),
               "malformed": raw_token(ctx, "supervisor", "ARRAY['x\"y', '']")}
    d = ctx["d"]

    def get(path, tok):
        st, _, body = d.request("GET", path, None, tok)
        expect_eq(st, 200, path)
        return body

    pa = scalar(ci, "SELECT count(*) FROM incidents WHERE precinct_id = :'p1'"
                    " AND status NOT IN ('unfounded', 'cancelled')", ctx["pid"]["P-A"])
    expect_eq(get("/v1/whoami", mixed)["precincts"], ["P-A"],
              "whoami lists the token's precincts that exist in its agency")
    expect_eq([p["code"] for p in get("/v1/precincts", mixed)["precincts"]], ["P-A"])
    expect_eq(str(get("/v1/cube", mixed)["total"]), pa, "cube total = SQL count of P-A")
    expect_eq({i["precinct"] for i in get("/v1/incidents", mixed)["incidents"]}, {"P-A"})
    expect_eq(sorted(board_of(get("/v1/units", mixed))), ["UA1", "UA2"])
    expect_eq({o["precinct"] for o in get("/v1/officers", mixed)["officers"]}, {"P-A"})
    expect_eq({r["precinct"] for r in get("/v1/response-times?by=precinct", mixed)["rows"]},
              {"P-A"})
    for what, tok in nothing.items():
        expect_eq(get("/v1/whoami", tok)["precincts"], [], what + ": whoami")
        expect_eq(get("/v1/precincts", tok)["precincts"], [], what + ": precincts")
        expect_eq(get("/v1/cube", tok)["total"], 0, what + ": cube")
        expect_eq(get("/v1/incidents", tok)["incidents"], [], what + ": incidents")
        expect_eq(get("/v1/units", tok)["units"], [], what + ": units")
        expect_eq(get("/v1/officers", tok)["officers"], [], what + ": officers")
        expect_eq(get("/v1/response-times?by=precinct", tok)["rows"], [], what + ": rt")
        expect_eq(get("/v1/shifts/DAY/roster/" + DAY, tok)["assignments"], [], what + ": roster")
        st, _, body = d.request("GET", "/v1/compstat?precinct=O-1", None, tok)
        expect(st in (403, 422), what + ": compstat of another agency's precinct", st, body)


# ------------------------------------------------------------------ token create

def admin_cmd(*args):
    return subprocess.run([ADMIN, *args], capture_output=True, text=True)


def test_token_create_validates_precincts(ctx):
    """token create --precincts: every code must be a precinct of that agency, in the code
    syntax; duplicates are removed; a bad code is named, the exit is non-zero, nothing is
    written (no token, no agency)."""
    ci = ctx["ci"]
    counts = lambda: (scalar(ci, "SELECT count(*) FROM api_tokens"),  # noqa: E731
                      scalar(ci, "SELECT count(*) FROM agencies"))
    before = counts()
    for codes, agency, bad in (("P-A,NOPE", "SCP", "NOPE"),
                               ("O-1", "SCP", "O-1"),
                               ('P-A,x"y', "SCP", 'x"y'),
                               ("P-A,,P-B", "SCP", None),
                               ("", "SCP", None),
                               (" P-A", "SCP", " P-A"),
                               ("-A", "SCP", "-A"),
                               ("p-a", "SCP", "p-a"),
                               ("P-A", "BRANDNEW", "P-A")):
        out = admin_cmd("token", "create", "--database", ci, "--role", "commander",
                        "--agency", agency, "--precincts", codes)
        expect(out.returncode != 0, "accepted --precincts %r for %s" % (codes, agency), out)
        expect_eq(out.stdout, "", "no token printed for %r" % codes)
        if bad is not None:
            expect(bad in out.stderr, "the message names %r" % bad, out.stderr)
        expect_eq(counts(), before, "nothing written for %r" % codes)
    out = admin_cmd("token", "create", "--database", ci, "--role", "commander", "--agency",
                    "SCP", "--precincts", "P-B,P-A,P-B")
    expect_eq(out.returncode, 0, out.stderr)
    digest = hashlib.sha256(out.stdout.strip().encode()).hexdigest()
    expect_eq(scalar(ci, "SELECT array_to_string(precincts, ',') FROM api_tokens"
                         " WHERE token_hash = :'p1'", digest), "P-B,P-A", "duplicates removed")
    st, _, me = ctx["d"].request("GET", "/v1/whoami", None, out.stdout.strip())
    expect_eq((st, me["precincts"]), (200, ["P-B", "P-A"]))


# ------------------------------------------------------------------ audit

def test_people_reads_audited(ctx):
    """Reads of officers and rosters (and the HR writes, whose answers show people and
    incident ids) are in the audit log with the token and its precincts."""
    path = "/v1/shifts/DAY/roster/" + DAY
    calls = [("GET", "/v1/officers", None, "officers.read"),
             ("GET", path, None, "roster.read"),
             ("PUT", path, {"assignments": [{"officer": "OA1"}]}, "roster.write"),
             ("PUT", "/v1/officers/OA1", {"name": "Officer OA1", "precinct": "P-A"},
              "officer.write"),
             ("PUT", "/v1/units/UA2", {"precinct": "P-A", "type": "patrol"}, "unit.write"),
             ("PUT", "/v1/units/UA2/status", {"status": "in_service"}, "unit_status.write")]
    want = []
    for i, (method, p, body, action) in enumerate(calls):
        rid = "scope-audit-%d-%d" % (os.getpid(), i)
        st, _ = req(ctx, method, p, body, "supervisor_a", headers={"X-Request-Id": rid})
        expect(200 <= st < 300, "%s %s: %d" % (method, p, st))
        want.append([rid, action, p, '["P-A"]'])
    deadline = time.time() + 10
    while True:
        got = psql(ctx["ci"], "SELECT request_id, action, target, detail->>'precincts'"
                              " FROM audit_log WHERE request_id LIKE 'scope-audit-%'"
                              " ORDER BY id")
        got = [[r, a, t, p.replace(" ", "")] for r, a, t, p in got]
        if got == want or time.time() > deadline:
            break
        time.sleep(0.1)
    expect_eq(got, want, "audit records of people reads and HR writes")


if __name__ == "__main__":
    run([test_scoped_roster_read, test_scoped_roster_put, test_scoped_unit_board,
         test_scoped_officers, test_scoped_response_times_by_unit, test_malformed_scope_rows,
         test_token_create_validates_precincts, test_people_reads_audited,
         test_scoped_admin_agency_wide_objects],
        setup=setup, teardown=teardown)
