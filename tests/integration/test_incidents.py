#!/usr/bin/env python3
"""Incidents end to end: every endpoint, every validation rule, idempotency,
batches with bad lines, precinct assignment and scopes, against a real
PostGIS and the real daemon. Expected values are read back with SQL."""
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (PSQL, Daemon, expect, expect_eq, fresh_db, run, scalar, psql,  # noqa: E402
                     token)

# Two square precincts side by side sharing the edge lon = -90.50, and a
# third agency's precinct elsewhere.
P1 = {"type": "Polygon", "coordinates": [[[-90.52, 14.62], [-90.50, 14.62], [-90.50, 14.64],
                                          [-90.52, 14.64], [-90.52, 14.62]]]}
P2 = {"type": "Polygon", "coordinates": [[[-90.50, 14.62], [-90.48, 14.62], [-90.48, 14.64],
                                          [-90.50, 14.64], [-90.50, 14.62]]]}


def base_incident(ext, **kw):
    inc = {"source": "cad-gt-01", "external_id": ext, "offense": "ROB", "priority": 2,
           "location": {"lat": 14.63, "lon": -90.51},
           "received_at": "2026-11-27T14:01:12-06:00"}
    inc.update(kw)
    return {k: v for k, v in inc.items() if v is not ...}


def setup():
    ci = fresh_db("incidents")
    admin = token(ci, "admin", "GT")
    d = Daemon(ci)
    d.wait_ready()
    st, _, body = d.request("PUT", "/v1/agencies/GT",
                            {"name": "PNC Guatemala", "time_zone": "America/Guatemala"}, admin)
    expect_eq(st, 200, "agency put")
    for code, poly in (("GT-P1", P1), ("GT-P2", P2)):
        st, _, body = d.request("PUT", "/v1/precincts/" + code,
                                {"name": code, "population": 1000, "boundary": poly}, admin)
        expect_eq(st, 201, "precinct put " + code)
    for code, cat in (("ROB", "robbery"), ("BURG", "burglary"), ("HOM", "murder")):
        st, _, _ = d.request("PUT", "/v1/offenses/" + code, {"name": code, "category": cat}, admin)
        expect_eq(st, 201, "offense put")
    ctx = {
        "ci": ci, "d": d, "admin": admin,
        "dispatch": token(ci, "dispatch", "GT"),
        "dispatch_p1": token(ci, "dispatch", "GT", "GT-P1"),
        "commander": token(ci, "commander", "GT"),
        "commander_p1": token(ci, "commander", "GT", "GT-P1"),
        "other_admin": token(ci, "admin", "SV"),
    }
    return ctx


def teardown(ctx):
    rc = ctx["d"].stop()
    expect_eq(rc, 0, "daemon exit code after SIGTERM")


def count(ctx, where="true", *params):
    return int(scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE " + where, *params))


# ------------------------------------------------------------------ auth

def test_auth(ctx):
    d = ctx["d"]
    st, h, body = d.request("POST", "/v1/incidents", base_incident("auth-1"))
    expect_eq(st, 401, "no token")
    expect("WWW-Authenticate" in h, "401 carries WWW-Authenticate")
    expect_eq(body["error"]["code"], "unauthorized")
    st, _, _ = d.request("POST", "/v1/incidents", base_incident("auth-1"), "cst_not-a-token")
    expect_eq(st, 401, "unknown token")
    st, _, body = d.request("POST", "/v1/incidents", base_incident("auth-1"), ctx["commander"])
    expect_eq(st, 403, "commander may not post incidents")
    st, _, _ = d.request("GET", "/v1/incidents", None, ctx["dispatch"])
    expect_eq(st, 403, "dispatch may not read incidents")
    st, _, _ = d.request("PUT", "/v1/offenses/X", {"name": "x", "category": "other"},
                         ctx["commander"])
    expect_eq(st, 403, "commander may not write offenses")
    expect_eq(count(ctx, "external_id = 'auth-1'"), 0, "nothing written by refused requests")


def test_routing(ctx):
    d = ctx["d"]
    st, h, body = d.request("DELETE", "/v1/incidents", None, ctx["admin"])
    expect_eq(st, 405, "method not allowed")
    expect("POST" in h.get("Allow", ""), "Allow header lists POST", h)
    st, _, body = d.request("GET", "/v1/nothing-here", None, ctx["admin"])
    expect_eq(st, 404, "unknown route")
    expect_eq(body["error"]["code"], "not_found")
    st, h, _ = d.request("GET", "/healthz", headers={"X-Request-Id": "abc-123"})
    expect_eq(st, 200)
    expect_eq(h.get("X-Request-Id"), "abc-123", "request id echoed")


# ------------------------------------------------------------------ create / repost

def test_create_and_idempotent_repost(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    inc = base_incident("idem-1", dispatched_at="2026-11-27T14:02:40-06:00", units=["2A12"],
                        address="6a Avenida 12-34, Zona 1")
    st, _, body = d.request("POST", "/v1/incidents", inc, tok)
    expect_eq(st, 201, "new incident")
    expect_eq(body["precinct"], "GT-P1", "precinct assigned from location")
    expect_eq(body["status"], "dispatched", "status derived from lifecycle")
    row = psql(ctx["ci"], "SELECT id, version, units::text, address, ST_X(geom), ST_Y(geom),"
               " received_at = '2026-11-27T14:01:12-06:00' FROM incidents"
               " WHERE source='cad-gt-01' AND external_id='idem-1'")
    expect_eq(len(row), 1, "one row committed before the 201")
    expect_eq(int(row[0][0]), body["id"], "id")
    expect_eq(row[0][1], "1", "version")
    expect_eq(row[0][2], "{2A12}", "units stored")
    expect_eq(row[0][3], inc["address"], "address stored")
    expect_eq((float(row[0][4]), float(row[0][5])), (-90.51, 14.63), "location stored exactly")
    expect_eq(row[0][6], "t", "received_at stored as the instant given")

    st, _, body2 = d.request("POST", "/v1/incidents", inc, tok)
    expect_eq(st, 200, "identical repost")
    expect_eq(body2["id"], body["id"], "same incident")
    expect_eq(scalar(ctx["ci"], "SELECT version FROM incidents WHERE external_id='idem-1'"), "1",
              "identical repost changes nothing")

    inc["offense"] = "BURG"
    st, _, body3 = d.request("POST", "/v1/incidents", inc, tok)
    expect_eq(st, 200, "changed repost")
    expect_eq(body3["offense"], "BURG")
    expect_eq(body3["category"], "burglary")
    expect_eq(psql(ctx["ci"], "SELECT o.code, i.version FROM incidents i JOIN offenses o"
                   " ON o.id = i.offense_id WHERE external_id='idem-1'"), [["BURG", "2"]])
    expect_eq(count(ctx, "external_id = 'idem-1'"), 1, "still one incident")


def test_precinct_assignment_matches_postgis(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    points = [(14.63, -90.51), (14.63, -90.49), (14.63, -90.50), (14.62, -90.51),
              (14.64, -90.48), (14.70, -90.51), (14.6300001, -90.5200001)]
    for i, (lat, lon) in enumerate(points):
        st, _, body = d.request("POST", "/v1/incidents",
                                base_incident("pip-%d" % i, location={"lat": lat, "lon": lon}), tok)
        expect_eq(st, 201, "post point %d" % i)
    # PostGIS decides: the lowest-id precinct whose boundary covers the point.
    rows = psql(ctx["ci"], """
        SELECT i.external_id, coalesce(p.code, '') AS got,
               coalesce((SELECT q.code FROM precincts q WHERE q.agency_id = i.agency_id
                          AND ST_Covers(q.boundary, i.geom) ORDER BY q.id LIMIT 1), '') AS want
        FROM incidents i LEFT JOIN precincts p ON p.id = i.precinct_id
        WHERE i.external_id LIKE 'pip-%' ORDER BY i.external_id""")
    expect_eq(len(rows), len(points))
    for ext, got, want in rows:
        expect_eq(got, want, "precinct of " + ext)
    expect(any(w == "" for _, _, w in rows), "at least one point is outside every precinct")


def test_unlocated_incident(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    st, _, body = d.request("POST", "/v1/incidents",
                            base_incident("noloc-1", location=..., precinct="GT-P2"), tok)
    expect_eq(st, 201)
    expect_eq(body["location"], None)
    expect_eq(body["precinct"], "GT-P2")
    expect_eq(scalar(ctx["ci"], "SELECT geom IS NULL FROM incidents WHERE external_id='noloc-1'"),
              "t")


def test_unplaced_incident(ctx):
    """"precinct": null said explicitly and no location: accepted, unassigned
    and unlocated (migration 0013); both left out stays 422 naming location,
    in POST and in PATCH."""
    d, tok, ci = ctx["d"], ctx["dispatch"], ctx["ci"]
    inc = base_incident("unplaced-1", location=..., precinct=None)
    st, _, body = d.request("POST", "/v1/incidents", inc, tok)
    expect_eq(st, 201, body)
    expect_eq((body["precinct"], body["location"]), (None, None), "stored without a place")
    expect_eq(psql(ci, "SELECT precinct_id IS NULL, geom IS NULL, unplaced FROM incidents"
                       " WHERE external_id = 'unplaced-1'"), [["t", "t", "t"]])
    st, _, body = d.request("POST", "/v1/incidents", inc, tok)
    expect_eq(st, 200, "an identical repost changes nothing")
    st, _, body = d.request("POST", "/v1/incidents",
                            base_incident("unplaced-1b", location=None, precinct=None), tok)
    expect_eq((st, body["precinct"], body["location"]), (201, None, None), "location null too")
    # Leaving both out, or only nulling the location, is still an error.
    for what, mutation in (("both left out", {"location": ..., "precinct": ...}),
                           ("location null, precinct left out", {"location": None})):
        st, _, body = d.request("POST", "/v1/incidents", base_incident("unplaced-2", **mutation),
                                tok)
        expect_eq((st, body["error"]["code"], body["error"]["field"]),
                  (422, "missing_field", "location"), what)
    expect_eq(scalar(ci, "SELECT count(*) FROM incidents WHERE external_id = 'unplaced-2'"), "0")
    # In a batch the bad line is named and the good one stored.
    lines = [base_incident("unplaced-3", location=..., precinct=None),
             base_incident("unplaced-4", location=...)]
    st, _, body = d.request("POST", "/v1/incidents", "\n".join(json.dumps(x) for x in lines),
                            tok, ctype="application/x-ndjson")
    expect_eq((st, body["accepted"], body["rejected"]), (200, 1, 1))
    expect_eq(body["results"][1]["error"]["field"], "location")
    # A token limited to precincts may not write an incident of none.
    st, _, body = d.request("POST", "/v1/incidents",
                            base_incident("unplaced-5", location=..., precinct=None),
                            ctx["dispatch_p1"])
    expect_eq((st, body["error"]["field"]), (403, "precinct"))
    # PATCH: an unplaced incident keeps its (lack of) place when other fields
    # change; it may be given one.
    url = "/v1/incidents/cad-gt-01/unplaced-1"
    st, _, body = d.request("PATCH", url, {"status": "cleared",
                                           "cleared_at": "2026-11-27T15:00:00-06:00"}, tok)
    expect_eq((st, body["status"], body["precinct"], body["location"]),
              (200, "cleared", None, None))
    st, _, body = d.request("PATCH", url, {"precinct": "GT-P1"}, tok)
    expect_eq((st, body["precinct"]), (200, "GT-P1"))
    expect_eq(scalar(ci, "SELECT unplaced FROM incidents WHERE external_id = 'unplaced-1'"), "f")
    # Taking a located incident's place away needs "precinct": null as well.
    st, _, body = d.request("POST", "/v1/incidents", base_incident("unplaced-6"), tok)
    expect_eq((st, body["precinct"]), (201, "GT-P1"))
    url = "/v1/incidents/cad-gt-01/unplaced-6"
    st, _, body = d.request("PATCH", url, {"location": None}, tok)
    expect_eq((st, body["error"]["field"]), (422, "location"), "location alone taken away")
    st, _, body = d.request("PATCH", url, {"location": None, "precinct": None}, tok)
    expect_eq((st, body["precinct"], body["location"]), (200, None, None))
    expect_eq(scalar(ci, "SELECT unplaced FROM incidents WHERE external_id = 'unplaced-6'"), "t")
    # The cube counts them under the unassigned, as SQL does.
    st, _, cube = d.request("GET", "/v1/cube?by=precinct", tok=ctx["commander"])
    expect_eq(st, 200)
    got = {c["precinct"]: c["count"] for c in cube["cells"]}
    want = dict((None if p == "" else p, int(n)) for p, n in psql(ci, """
        SELECT coalesce(p.code, ''), count(*) FROM incidents i
        LEFT JOIN precincts p ON p.id = i.precinct_id
        WHERE i.status NOT IN ('unfounded', 'cancelled') GROUP BY 1"""))
    expect_eq(got, want, "cube by precinct against SQL")
    expect(got.get(None, 0) >= 2, "the unplaced incidents are counted unassigned", got)
    # The database holds the rule for every writer: taking the place away
    # (unplaced-1 has a precinct and no point now) needs unplaced = true.
    out = subprocess.run([PSQL, "-X", "-q", "-d", ci, "-c",
                          "UPDATE incidents SET precinct_id = NULL"
                          " WHERE external_id = 'unplaced-1'"],
                         capture_output=True, text=True)
    expect(out.returncode != 0 and "incidents_place_required" in out.stderr, out.stderr)


# ------------------------------------------------------------------ validation

INVALID = [
    # (description, mutation of a valid incident, status, field)
    ("source missing", {"source": ...}, 422, "source"),
    ("external_id missing", {"external_id": ...}, 422, "external_id"),
    ("external_id too long", {"external_id": "x" * 129}, 422, "external_id"),
    ("offense missing", {"offense": ...}, 422, "offense"),
    ("offense unknown", {"offense": "NOPE"}, 422, "offense"),
    ("offense not a string", {"offense": 7}, 422, "offense"),
    ("no time", {"received_at": ...}, 422, "occurred_at"),
    ("no place", {"location": ...}, 422, "location"),
    ("lat above 90", {"location": {"lat": 90.5, "lon": -90.5}}, 422, "location.lat"),
    ("lat below -90", {"location": {"lat": -91, "lon": -90.5}}, 422, "location.lat"),
    ("lon beyond 180", {"location": {"lat": 14, "lon": 180.1}}, 422, "location.lon"),
    ("lat missing", {"location": {"lon": -90.5}}, 422, "location.lat"),
    ("lat a string", {"location": {"lat": "14.6", "lon": -90.5}}, 422, "location.lat"),
    ("location not an object", {"location": [14.6, -90.5]}, 422, "location"),
    ("priority 10", {"priority": 10}, 422, "priority"),
    ("priority negative", {"priority": -1}, 422, "priority"),
    ("priority fractional", {"priority": 1.5}, 422, "priority"),
    ("priority a string", {"priority": "2"}, 422, "priority"),
    ("status unknown", {"status": "solved"}, 422, "status"),
    ("time without offset", {"received_at": "2026-11-27T14:01:12"}, 422, "received_at"),
    ("impossible date", {"occurred_at": "2026-02-30T10:00:00Z"}, 422, "occurred_at"),
    ("time not a string", {"received_at": 1764273672}, 422, "received_at"),
    ("cleared before received", {"cleared_at": "2026-11-27T13:00:00-06:00"}, 422, "cleared_at"),
    ("on scene before dispatched", {"dispatched_at": "2026-11-27T14:05:00-06:00",
                                    "on_scene_at": "2026-11-27T14:04:00-06:00"}, 422,
     "on_scene_at"),
    ("dispatched before received", {"dispatched_at": "2026-11-27T14:00:00-06:00"}, 422,
     "dispatched_at"),
    ("precinct unknown", {"precinct": "NOPE"}, 422, "precinct"),
    ("units not an array", {"units": "2A12"}, 422, "units"),
    ("unit not a string", {"units": [12]}, 422, "units[0]"),
    ("unit too long", {"units": ["U" * 33]}, 422, "units[0]"),
    ("address too long", {"address": "a" * 501}, 422, "address"),
]


def test_validation_rules(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    before = count(ctx)
    for i, (what, mutation, status, field) in enumerate(INVALID):
        inc = base_incident("invalid-%d" % i)
        inc.update(mutation)
        inc = {k: v for k, v in inc.items() if v is not ...}
        st, _, body = d.request("POST", "/v1/incidents", inc, tok)
        expect_eq(st, status, what)
        expect_eq(body["error"].get("field"), field, what + ": field named")
        expect(body["error"]["message"], what + ": message given")
    expect_eq(count(ctx), before, "no invalid incident was written")


def test_malformed_requests(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    st, _, body = d.request("POST", "/v1/incidents", "{not json", tok)
    expect_eq(st, 400, "malformed JSON")
    expect_eq(body["error"]["code"], "malformed_json")
    st, _, _ = d.request("POST", "/v1/incidents", "42", tok)
    expect_eq(st, 400, "JSON that is not an object or array")
    st, _, body = d.request("POST", "/v1/incidents", json.dumps(base_incident("ct-1")), tok,
                            ctype="text/plain")
    expect_eq(st, 415, "wrong content type")
    st, _, _ = d.request("POST", "/v1/incidents", json.dumps(base_incident("ct-2")), tok,
                         ctype=None)
    expect_eq(st, 415, "no content type")
    st, _, _ = d.request("POST", "/v1/incidents", b'{"source":"a\xff"}', tok)
    expect(st in (400, 422), "invalid UTF-8 refused, got %d" % st)
    st, _, body = d.request("POST", "/v1/incidents",
                            json.dumps(base_incident("nul\u0000x")), tok)
    expect_eq(st, 400, "an escaped NUL would cut the identity short")
    deep = "[" * 2000 + "]" * 2000
    st, _, _ = d.request("POST", "/v1/incidents", deep, tok)
    expect_eq(st, 400, "absurd nesting refused")
    nested = dict(base_incident("deep-1"))
    nested["extra"] = json.loads("[" * 40 + "]" * 40)  # unknown field, but 41 levels deep
    st, _, body = d.request("POST", "/v1/incidents", nested, tok)
    expect_eq(st, 400, "nesting beyond 32 levels refused")
    expect("nested" in body["error"]["message"], body)
    # A body over the limit (16 MiB by default) is refused from its
    # Content-Length, before it is read.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(("POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (tok, 17 * 1024 * 1024)).encode())
    reply = s.recv(4096).decode(errors="replace")
    s.close()
    expect(reply.startswith("HTTP/1.1 413"), "body over the limit gets 413", reply[:200])
    st, _, _ = d.request("GET", "/healthz")
    expect_eq(st, 200, "still alive")
    expect_eq(count(ctx, "external_id LIKE 'ct-%'"), 0)


# ------------------------------------------------------------------ batches

def test_batch_array_with_bad_lines(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    batch = []
    for i in range(50):
        inc = base_incident("batch-%d" % i)
        if i % 7 == 3:
            inc["location"] = {"lat": 123, "lon": 0}
        if i % 11 == 5:
            inc["offense"] = "NOPE"
        batch.append(inc)
    st, _, body = d.request("POST", "/v1/incidents", batch, tok)
    expect_eq(st, 200)
    expect_eq(len(body["results"]), 50, "one result per input, in order")
    bad = [i for i in range(50) if i % 7 == 3 or i % 11 == 5]
    for i, res in enumerate(body["results"]):
        if i in bad:
            expect("error" in res, "line %d rejected" % i, res)
            expect_eq(res["error"]["index"], i, "error index")
        else:
            expect_eq(res.get("external_id"), "batch-%d" % i, "line %d stored" % i)
    expect_eq(body["accepted"], 50 - len(bad))
    expect_eq(count(ctx, "external_id LIKE 'batch-%'"), body["accepted"],
              "exactly the good lines are in the database")


def test_batch_ndjson(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    lines = [json.dumps(base_incident("nd-%d" % i)) for i in range(20)]
    lines[4] = "{this is not json"
    lines[9] = json.dumps(base_incident("nd-0"))  # same identity twice in one request
    lines.insert(12, "")  # blank lines are skipped
    st, _, body = d.request("POST", "/v1/incidents", "\n".join(lines) + "\n", tok,
                            ctype="application/x-ndjson")
    expect_eq(st, 200)
    expect_eq(len(body["results"]), 20)
    expect_eq(body["results"][4]["error"]["status"], 400, "bad JSON line")
    expect_eq(body["results"][9]["id"], body["results"][0]["id"], "same identity, same incident")
    expect_eq(count(ctx, "external_id LIKE 'nd-%'"), 18, "18 distinct good identities")
    expect_eq(body["accepted"], 19)


def test_batch_limit(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    st, _, body = d.request("POST", "/v1/incidents", [], tok)
    expect_eq((st, body["accepted"], body["results"]), (200, 0, []), "empty batch")


# ------------------------------------------------------------------ PATCH

def test_patch(ctx):
    d, tok = ctx["d"], ctx["dispatch"]
    st, _, created = d.request("POST", "/v1/incidents", base_incident("patch-1"), tok)
    expect_eq(st, 201)
    url = "/v1/incidents/cad-gt-01/patch-1"
    st, _, body = d.request("PATCH", url, {"offense": "HOM", "dispatched_at":
                                           "2026-11-27T14:03:00-06:00", "units": ["A1", "B2"]},
                            tok)
    expect_eq(st, 200, "patch")
    expect_eq((body["offense"], body["category"], body["status"], body["units"]),
              ("HOM", "murder", "dispatched", ["A1", "B2"]))
    expect_eq(body["priority"], 2, "fields not sent are kept")
    expect_eq(psql(ctx["ci"], "SELECT o.code, i.version, i.units::text, i.status FROM incidents i"
                   " JOIN offenses o ON o.id = i.offense_id WHERE external_id = 'patch-1'"),
              [["HOM", "2", "{A1,B2}", "dispatched"]])
    st, _, body = d.request("PATCH", url, {"on_scene_at": "2026-11-27T14:00:00-06:00"}, tok)
    expect_eq((st, body["error"]["field"]), (422, "on_scene_at"), "times going backwards")
    st, _, body = d.request("PATCH", url, {"status": "unfounded", "priority": None}, tok)
    expect_eq((st, body["status"], body["priority"]), (200, "unfounded", None))
    st, _, body = d.request("PATCH", url, {"cleared_at": "2026-11-27T15:00:00-06:00"}, tok)
    expect_eq(body["status"], "unfounded", "unfounded stays until changed explicitly")
    st, _, body = d.request("PATCH", url, {"location": {"lat": 14.63, "lon": -90.49}}, tok)
    expect_eq(body["precinct"], "GT-P2", "a new location re-assigns the precinct")
    st, _, body = d.request("PATCH", url, {"external_id": "other"}, tok)
    expect_eq((st, body["error"]["field"]), (422, "external_id"), "identity is fixed")
    st, _, body = d.request("PATCH", "/v1/incidents/cad-gt-01/nope", {"priority": 1}, tok)
    expect_eq(st, 404, "unknown incident")
    st, _, body = d.request("PATCH", url, "[]", tok)
    expect_eq(st, 400, "PATCH body must be an object")
    st, _, body = d.request("PATCH", url, {"priority": 12}, tok)
    expect_eq((st, body["error"]["field"]), (422, "priority"))
    expect_eq(scalar(ctx["ci"], "SELECT version FROM incidents WHERE external_id='patch-1'"), "5",
              "every accepted PATCH is one committed version")


# ------------------------------------------------------------------ reads and scopes

def test_get_and_scopes(ctx):
    d = ctx["d"]
    st, _, a = d.request("POST", "/v1/incidents", base_incident("scope-1"), ctx["dispatch"])
    st2, _, b = d.request("POST", "/v1/incidents",
                          base_incident("scope-2", location={"lat": 14.63, "lon": -90.49}),
                          ctx["dispatch"])
    expect_eq((st, st2, a["precinct"], b["precinct"]), (201, 201, "GT-P1", "GT-P2"))
    st, _, got = d.request("GET", "/v1/incidents/%d" % a["id"], None, ctx["commander"])
    expect_eq(st, 200)
    expect_eq(got, a, "GET returns what POST returned")
    st, _, _ = d.request("GET", "/v1/incidents/%d" % b["id"], None, ctx["commander_p1"])
    expect_eq(st, 404, "a precinct-scoped token does not see other precincts")
    st, _, _ = d.request("GET", "/v1/incidents/%d" % a["id"], None, ctx["other_admin"])
    expect_eq(st, 404, "another agency does not see it")
    st, _, _ = d.request("GET", "/v1/incidents/abc", None, ctx["commander"])
    expect_eq(st, 404)
    st, _, body = d.request("POST", "/v1/incidents",
                            base_incident("scope-3", location={"lat": 14.63, "lon": -90.49}),
                            ctx["dispatch_p1"])
    expect_eq((st, body["error"]["field"]), (403, "precinct"), "write outside the token's precincts")
    st, _, body = d.request("POST", "/v1/incidents",
                            base_incident("scope-4", location={"lat": 10.0, "lon": -80.0}),
                            ctx["dispatch_p1"])
    expect_eq(st, 403, "a scoped token may not write unassigned incidents")
    st, _, body = d.request("POST", "/v1/incidents", base_incident("scope-1"), ctx["other_admin"])
    expect_eq(st, 422, "other agency has no offense ROB")
    expect_eq(count(ctx, "external_id IN ('scope-3', 'scope-4')"), 0)


def test_list_filters_against_sql(ctx):
    d, tok = ctx["d"], ctx["commander"]
    # A spread of incidents over days, offenses and precincts.
    batch = []
    for i in range(120):
        batch.append(base_incident(
            "list-%d" % i, offense=["ROB", "BURG", "HOM"][i % 3],
            location={"lat": 14.621 + (i % 10) * 0.002, "lon": -90.519 + (i % 19) * 0.002},
            received_at="2026-10-%02dT%02d:15:00-06:00" % (1 + i % 28, i % 24)))
    st, _, body = d.request("POST", "/v1/incidents", batch, ctx["dispatch"])
    expect_eq((st, body["accepted"]), (200, 120))
    cases = [
        ("", "true"),
        ("precinct=GT-P1", "i.precinct_id = (SELECT id FROM precincts WHERE code='GT-P1')"),
        ("precinct=GT-P1,GT-P2", "i.precinct_id IS NOT NULL"),
        ("offense=ROB,HOM", "o.code IN ('ROB','HOM')"),
        ("category=burglary", "o.category = 'burglary'"),
        ("from=2026-10-05&to=2026-10-12",
         "i.counted_at >= '2026-10-05 00:00 America/Guatemala'::timestamptz"
         " AND i.counted_at < '2026-10-12 00:00 America/Guatemala'::timestamptz"),
        ("from=2026-10-05T12:00:00Z", "i.counted_at >= '2026-10-05T12:00:00Z'"),
        ("bbox=-90.51,14.625,-90.49,14.635",
         "ST_Covers(ST_MakeEnvelope(-90.51,14.625,-90.49,14.635,4326), i.geom)"),
    ]
    for q, where in cases:
        want = [int(r[0]) for r in psql(
            ctx["ci"], "SELECT i.id FROM incidents i JOIN offenses o ON o.id = i.offense_id"
            " WHERE i.agency_id = (SELECT id FROM agencies WHERE code='GT') AND " + where +
            " ORDER BY i.counted_at DESC, i.id DESC")]
        got, cursor = [], None
        for _ in range(100):
            url = "/v1/incidents?limit=37&" + q + ("&cursor=" + cursor if cursor else "")
            st, _, body = d.request("GET", url, None, tok)
            expect_eq(st, 200, url)
            got += [x["id"] for x in body["incidents"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        expect_eq(got, want, "list " + q)
    # Scoped token sees only its precinct.
    st, _, body = d.request("GET", "/v1/incidents?limit=1000", None, ctx["commander_p1"])
    expect(all(x["precinct"] == "GT-P1" for x in body["incidents"]), "scoped list")
    st, _, body = d.request("GET", "/v1/incidents?precinct=GT-P2", None, ctx["commander_p1"])
    expect_eq(st, 403)
    for q, field in (("limit=0", "limit"), ("from=yesterday", "from"), ("bbox=1,2,3", "bbox"),
                     ("precinct=NOPE", "precinct"), ("format=xml", "format"),
                     ("cursor=zz", "cursor")):
        st, _, body = d.request("GET", "/v1/incidents?" + q, None, tok)
        expect_eq((st, body["error"]["field"]), (422, field), q)
    st, _, body = d.request("GET", "/v1/incidents?colour=red", None, tok)
    expect_eq((st, body["error"]["field"]), (400, "colour"))


def test_list_formats(ctx):
    d, tok = ctx["d"], ctx["commander"]
    st, h, body = d.request("GET", "/v1/incidents?format=geojson&limit=5", None, tok)
    expect_eq((st, body["type"]), (200, "FeatureCollection"))
    f = body["features"][0]
    expect(f["type"] == "Feature" and "properties" in f, "features")
    if f["geometry"]:
        expect_eq(f["geometry"]["type"], "Point")
    st, h, raw = d.request("GET", "/v1/incidents?format=csv&limit=5", None, tok, raw=True)
    expect_eq(st, 200)
    expect(h["Content-Type"].startswith("text/csv"), "csv content type")
    lines = raw.decode().split("\r\n")
    expect(lines[0].startswith("id,source,external_id"), "csv header")
    expect_eq(len([x for x in lines[1:] if x]), 5, "five rows")


# ------------------------------------------------------------------ reference data

def test_reference_data(ctx):
    d, admin = ctx["d"], ctx["admin"]
    st, _, body = d.request("PUT", "/v1/agencies/GT", {"name": "x", "time_zone": "Mars/Olympus"},
                            admin)
    expect_eq((st, body["error"]["field"]), (422, "time_zone"))
    st, _, body = d.request("PUT", "/v1/agencies/SV", {"name": "x", "time_zone": "UTC"}, admin)
    expect_eq(st, 403, "another agency")
    st, _, body = d.request("GET", "/v1/agencies/GT", None, ctx["commander"])
    expect_eq(body["time_zone"], "America/Guatemala")
    bow = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    st, _, body = d.request("PUT", "/v1/precincts/GT-BAD", {"name": "b", "boundary": bow}, admin)
    expect_eq((st, body["error"]["field"]), (422, "boundary"), "self-intersecting ring")
    st, _, body = d.request("PUT", "/v1/precincts/GT-BAD",
                            {"name": "b", "boundary": {"type": "Polygon",
                                                       "coordinates": [[[0, 0], [1, 1]]]}}, admin)
    expect_eq((st, body["error"]["field"]), (422, "boundary"), "ring too short")
    st, _, body = d.request("PUT", "/v1/precincts/GT-BAD", {"boundary": P1}, admin)
    expect_eq((st, body["error"]["field"]), (422, "name"))
    st, _, body = d.request("PUT", "/v1/precincts/GT-P1", {"name": "x", "boundary": P1},
                            ctx["other_admin"])
    expect_eq(st, 409, "precinct codes are unique in the installation")
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM precincts WHERE code = 'GT-BAD'"), "0")
    st, _, body = d.request("PUT", "/v1/offenses/X1", {"name": "x", "category": "Bad Cat"}, admin)
    expect_eq((st, body["error"]["field"]), (422, "category"))
    st, _, body = d.request("PUT", "/v1/offenses/ROB", {"name": "Robo agravado",
                                                        "category": "robbery"}, admin)
    expect_eq((st, body["name"]), (200, "Robo agravado"), "offense update")
    st, _, body = d.request("GET", "/v1/offenses", None, ctx["commander"])
    want = psql(ctx["ci"], "SELECT code, name, category FROM offenses WHERE agency_id ="
                " (SELECT id FROM agencies WHERE code='GT') ORDER BY id")
    expect_eq([[o["code"], o["name"], o["category"]] for o in body["offenses"]], want)
    st, _, body = d.request("GET", "/v1/precincts?format=geojson", None, ctx["commander"])
    expect_eq(body["type"], "FeatureCollection")
    expect_eq(sorted(f["id"] for f in body["features"]), ["GT-P1", "GT-P2"])
    st, _, body = d.request("GET", "/v1/precincts", None, ctx["commander_p1"])
    expect_eq([p["code"] for p in body["precincts"]], ["GT-P1"], "scoped precinct list")


# ------------------------------------------------------------------ operations

def test_operations(ctx):
    d = ctx["d"]
    st, _, body = d.request("GET", "/readyz")
    expect_eq((st, body["status"]), (200, "ready"))
    st, h, raw = d.request("GET", "/metrics", raw=True)
    text = raw.decode()
    expect_eq(st, 200)
    expect("compstatd_http_requests_total{route=\"incidents_post\",status=\"201\"}" in text,
           "requests by route and status")
    expect("compstatd_commit_batch_size_bucket" in text, "batch sizes")
    expect("compstatd_ingest_queue_depth 0" in text, "queue depth")
    committed = int(scalar(ctx["ci"], "SELECT sum(version) FROM incidents"))
    for line in text.splitlines():
        if line.startswith("compstatd_incidents_committed_total"):
            # Every committed write is one version of some incident, and
            # identical reposts commit nothing.
            expect_eq(int(line.split()[1]) >= 1, True)
    expect(committed > 0, "incidents committed")


if __name__ == "__main__":
    run([test_auth, test_routing, test_create_and_idempotent_repost,
         test_precinct_assignment_matches_postgis, test_unlocated_incident,
         test_unplaced_incident,
         test_validation_rules, test_malformed_requests, test_batch_array_with_bad_lines,
         test_batch_ndjson, test_batch_limit, test_patch, test_get_and_scopes,
         test_list_filters_against_sql, test_list_formats, test_reference_data,
         test_operations], setup, teardown)
