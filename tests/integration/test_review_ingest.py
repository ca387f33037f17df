#!/usr/bin/env python3
"""The outside review's findings on ingest, identities, streams, parameters
and CSV (issue 15, items 1, 2, 4, 6a, 6b, 10 and 11), each reproduced as the
review did and answered correctly:

- a JSON array longer than max_batch_lines is 413 and the daemon lives;
- nothing after a JSON value is silently dropped: two objects, trailing
  garbage, CR-only NDJSON lines, U+2028 between objects, two objects on one
  NDJSON line -- every object is either stored or reported;
- a revoked token's open stream ends at once;
- an incident's identity is the agency's own: another agency's identical
  (source, external_id) neither blocks ours nor is revealed;
- stream slots are shared fairly between agencies;
- malformed cursors, year-0 dates, NaN bboxes, non-canonical ids and the
  \\u0000 escape get clear 4xx answers naming the parameter;
- CSV cells that a spreadsheet would run are written as text, and call signs
  holding the separator survive.
Counts come from SQL on the same database."""
import csv
import io
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN, SSE, Daemon, expect, expect_eq, fresh_db, run,  # noqa: E402
                     scalar, token)


def setup():
    ci = fresh_db("review_ingest")
    ctx = {"ci": ci}
    for ag in ("RA", "RB"):
        ctx[ag] = token(ci, "admin", ag)
        ctx[ag + "_cmd"] = token(ci, "commander", ag)
    d = Daemon(ci, ["--max-batch-lines", "50", "--max-streams", "8"])
    d.wait_ready()
    ctx["d"] = d
    for ag in ("RA", "RB"):
        st, _, _ = d.request("PUT", "/v1/offenses/ROB", {"name": "Robbery", "category": "robbery"},
                             ctx[ag])
        expect(st in (200, 201), "offense of %s: %d" % (ag, st))
        st, _, _ = d.request("PUT", "/v1/precincts/%s-1" % ag, {
            "name": ag + " one", "boundary": {
                "type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}},
            ctx[ag])
        expect(st in (200, 201), "precinct of %s: %d" % (ag, st))
    return ctx


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def inc(ext, source="rv", **kw):
    o = {"source": source, "external_id": ext, "offense": "ROB",
         "location": {"lat": 1.0, "lon": 1.0}, "received_at": "2026-11-27T10:00:00Z"}
    o.update(kw)
    return o


def stored(ci, source="rv", ext=None, agency=None):
    sql = "SELECT count(*) FROM incidents i JOIN agencies a ON a.id = i.agency_id WHERE source = :'p1'"
    args = [source]
    if ext is not None:
        sql += " AND external_id = :'p2'"
        args.append(ext)
    if agency is not None:
        sql += " AND a.code = :'p%d'" % (len(args) + 1)
        args.append(agency)
    return int(scalar(ci, sql, *args))


# ---------------------------------------------------------------- item 1

def test_array_longer_than_the_limit_is_413(ctx):
    """[{},{},...] beyond max_batch_lines crashed the daemon (post_free read
    items that were never allocated). Now 413, and the daemon serves on."""
    d = ctx["d"]
    for n in (51, 10001):
        st, _, body = d.request("POST", "/v1/incidents", "[" + ",".join(["{}"] * n) + "]",
                                ctx["RA"])
        expect_eq((st, body["error"]["code"]), (413, "too_many_incidents"), "%d elements" % n)
    st, _, _ = d.request("GET", "/healthz")
    expect_eq(st, 200, "alive after the 413s")
    # A long array is refused before a node is built per element: a million
    # "{}" must not cost the daemon a hundred megabytes to say 413.
    def hwm():
        with open("/proc/%d/status" % d.proc.pid) as f:
            return int([l.split()[1] for l in f if l.startswith("VmHWM")][0])
    before = hwm()
    st, _, body = d.request("POST", "/v1/incidents", "[" + ",".join(["{}"] * 1000000) + "]",
                            ctx["RA"])
    expect_eq((st, body["error"]["code"]), (413, "too_many_incidents"), "a million elements")
    expect(hwm() - before < 40 * 1024, "peak memory grew %d KiB" % (hwm() - before))
    lines = "\n".join(json.dumps(inc("nd413-%d" % i)) for i in range(51))
    st, _, body = d.request("POST", "/v1/incidents", lines, ctx["RA"], ctype="application/x-ndjson")
    expect_eq(st, 413, "51 NDJSON lines")
    expect_eq(stored(ctx["ci"], ext="nd413-0"), 0, "nothing of a refused batch is stored")


# ---------------------------------------------------------------- item 2

def test_nothing_after_a_json_value_is_dropped(ctx):
    d, ci = ctx["d"], ctx["ci"]
    a, b = json.dumps(inc("tg-a")), json.dumps(inc("tg-b"))
    for name, body in [("two objects on two lines", a + "\n" + b),
                       ("garbage after", a + " garbage"),
                       ("two objects back to back", a + b),
                       ("U+2028 between", a + "\u2028" + b),
                       ("a second array", "[" + a + "][" + b + "]")]:
        st, _, resp = d.request("POST", "/v1/incidents", body, ctx["RA"])
        expect_eq((st, resp["error"]["code"]), (400, "malformed_json"), name)
        expect("byte" in resp["error"]["message"], "the message says where", resp)
    expect_eq(stored(ci, ext="tg-a") + stored(ci, ext="tg-b"), 0, "neither stored")
    # Whitespace around one value is fine.
    st, _, _ = d.request("POST", "/v1/incidents", " \r\n\t" + a + " \r\n\t", ctx["RA"])
    expect_eq(st, 201, "whitespace around a value")


def test_ndjson_every_object_is_stored_or_reported(ctx):
    d, ci = ctx["d"], ctx["ci"]
    o = [json.dumps(inc("nj-%d" % i)) for i in range(8)]
    cases = [
        ("CR-only line ends", o[0] + "\r" + o[1] + "\r", 1),
        ("U+2028 between objects", o[2] + "\u2028" + o[3], 1),
        ("two objects on one line", o[4] + " " + o[5], 1),
    ]
    for name, body, lines in cases:
        st, _, resp = d.request("POST", "/v1/incidents", body, ctx["RA"],
                                ctype="application/x-ndjson")
        expect_eq(st, 200, name)
        expect_eq((resp["accepted"], resp["rejected"]), (0, lines), name)
        err = resp["results"][0]["error"]
        expect_eq((err["status"], err["code"], err["index"]), (400, "malformed_json", 0), name)
        expect("line 1" in err["message"], "the error names the line", err)
    for i in range(6):
        expect_eq(stored(ci, ext="nj-%d" % i), 0, "nothing of a bad line is stored")
    # CRLF line ends are ordinary NDJSON; a bad line among good ones is its own error.
    body = o[6] + "\r\n" + "{} x" + "\r\n" + o[7] + "\r\n"
    st, _, resp = d.request("POST", "/v1/incidents", body, ctx["RA"], ctype="application/x-ndjson")
    expect_eq((st, resp["accepted"], resp["rejected"]), (200, 2, 1), "CRLF, one bad line")
    expect_eq(resp["results"][1]["error"]["index"], 1, "the bad line's index")
    expect("line 2" in resp["results"][1]["error"]["message"], "line number", resp)
    expect_eq(stored(ci, ext="nj-6") + stored(ci, ext="nj-7"), 2, "the good lines are stored")


def test_put_and_patch_bodies_take_one_value(ctx):
    d = ctx["d"]
    st, _, resp = d.request("PUT", "/v1/offenses/THEFT",
                            '{"name": "Theft", "category": "theft"} {"x": 1}', ctx["RA"])
    expect_eq((st, resp["error"]["code"]), (400, "malformed_json"), "PUT with two values")
    st, _, _ = d.request("POST", "/v1/incidents", inc("pp-1"), ctx["RA"])
    expect_eq(st, 201)
    st, _, resp = d.request("PATCH", "/v1/incidents/rv/pp-1", '{"priority": 1} junk', ctx["RA"])
    expect_eq((st, resp["error"]["code"]), (400, "malformed_json"), "PATCH with junk")
    expect_eq(scalar(ctx["ci"], "SELECT coalesce(priority::text, 'null') FROM incidents"
                                " WHERE external_id = 'pp-1'"), "null",
              "the PATCH changed nothing")


# ---------------------------------------------------------------- item 10 (NUL)

def test_nul_escape_is_refused_with_a_message_that_says_so(ctx):
    d = ctx["d"]
    body = json.dumps(inc("nul-1", address="A\u0000B"))
    expect("\\u0000" in body, "json.dumps escapes NUL")
    st, _, resp = d.request("POST", "/v1/incidents", body, ctx["RA"])
    expect_eq(st, 400, "an escaped NUL")
    expect("\\u0000" in resp["error"]["message"] and "NUL" in resp["error"]["message"],
           "the message names the escape", resp)
    # An escaped backslash before "u0000" is ordinary text, stored as sent.
    text = "C:\\u0000dir"
    st, _, resp = d.request("POST", "/v1/incidents", inc("nul-2", address=text), ctx["RA"])
    expect_eq(st, 201, "backslash then u0000 is text")
    expect_eq(resp["address"], text, "stored verbatim")


# ---------------------------------------------------------------- item 10 (parameters)

def test_parameters_get_4xx_naming_them(ctx):
    d, tok = ctx["d"], ctx["RA"]
    cases = [
        ("/v1/incidents?cursor=9999999999999_1", "cursor"),
        ("/v1/incidents?cursor=1_0", "cursor"),
        ("/v1/incidents?cursor=+1_1", "cursor"),
        ("/v1/incidents?cursor=1_99999999999999999999", "cursor"),
        ("/v1/incidents?from=0000-01-01", "from"),
        ("/v1/incidents?to=0000-01-01", "to"),
        ("/v1/cube?from=0000-01-01&to=2026-01-01", "from"),
        ("/v1/hotspots?from=0000-01-01&to=2026-01-01&precinct=RA-1", "from"),
        ("/v1/compstat?week_ending=0000-01-02", "week_ending"),
        ("/v1/incidents?bbox=nan,0,1,1", "bbox"),
        ("/v1/incidents?bbox=0,0,inf,1", "bbox"),
        ("/v1/incidents?bbox=0x1p0,0,1,1", "bbox"),
        ("/v1/incidents?bbox=0,0,1,1,", "bbox"),
        ("/v1/hotspots?from=2026-11-01&to=2026-11-28&bbox=nan,nan,nan,nan", "bbox"),
        ("/v1/hotspots?from=2026-11-01&to=2026-11-28&bbox=0,0,1,nan", "bbox"),
    ]
    for path, field in cases:
        st, _, resp = d.request("GET", path, None, tok)
        expect(400 <= st < 500, "%s: %d" % (path, st), resp)
        expect_eq(resp["error"].get("field"), field, path)
    # The cursor the server gives still works.
    for i in range(3):
        d.request("POST", "/v1/incidents", inc("cur-%d" % i), tok)
    st, _, page = d.request("GET", "/v1/incidents?limit=1", None, tok)
    expect_eq(st, 200)
    st, _, page2 = d.request("GET", "/v1/incidents?limit=1&cursor=" + page["next_cursor"], None, tok)
    expect_eq(st, 200, "a server cursor")
    expect(page2["incidents"][0]["id"] != page["incidents"][0]["id"], "the next page")
    st, _, _ = d.request("GET", "/v1/incidents?bbox=-1,-1.5,2e0,2", None, tok)
    expect_eq(st, 200, "plain decimals and exponents")
    st, _, _ = d.request("GET", "/v1/compstat?week_ending=2026-11-29&precinct=RA-1", None, tok)
    expect_eq(st, 200, "a real Sunday")


def test_incident_ids_are_canonical_digits(ctx):
    d, tok = ctx["d"], ctx["RA"]
    st, _, one = d.request("POST", "/v1/incidents", inc("canon-1"), tok)
    expect_eq(st, 201)
    i = one["id"]
    st, _, got = d.request("GET", "/v1/incidents/%d" % i, None, tok)
    expect_eq((st, got["id"]), (200, i), "the id itself")
    for alias in ("+%d" % i, "0%d" % i, "%%20%d" % i, "%d%%20" % i, "%%2B%d" % i, "-%d" % i,
                  "%d.0" % i):
        st, _, resp = d.request("GET", "/v1/incidents/" + alias, None, tok)
        expect_eq(st, 404, "alias " + alias)


# ---------------------------------------------------------------- item 11

def test_csv_cells_are_not_formulas(ctx):
    d, tok = ctx["d"], ctx["RA"]
    evil = '=HYPERLINK("http://evil.example/","x")'
    st, _, _ = d.request("POST", "/v1/incidents",
                         inc("csv-1", address=evil, units=["@SUM(1+1)", "A;B", "C\\D", "-1"]), tok)
    expect_eq(st, 201)
    st, hdr, raw = d.request("GET", "/v1/incidents?format=csv&limit=1000", None, tok, raw=True)
    expect_eq(st, 200)
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    row = [r for r in rows if r["external_id"] == "csv-1"][0]
    expect_eq(row["address"], "'" + evil, "the address is text")
    for r in rows:
        for k, v in r.items():
            expect(v == "" or v[0] not in "=+@\t\r" or k in ("lat", "lon"),
                   "no cell starts a formula: %s=%r" % (k, v))
            expect(not (v.startswith("-") and k not in ("lat", "lon")),
                   "a text cell starting with '-': %s=%r" % (k, v))
    # The units cell: ';' separates call signs, '\' escapes; the formula guard first.
    cell = row["units"]
    expect_eq(cell[0], "'", "the first call sign starts with '@'")
    units, cur, esc = [], "", False
    for ch in cell[1:]:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ";":
            units.append(cur)
            cur = ""
        else:
            cur += ch
    units.append(cur)
    expect_eq(units, ["@SUM(1+1)", "A;B", "C\\D", "-1"], "call signs survive the separator")
    want = scalar(ctx["ci"], "SELECT array_to_json(units) FROM incidents WHERE external_id = 'csv-1'")
    expect_eq(units, json.loads(want), "as stored")


# ---------------------------------------------------------------- item 6a

def test_identity_is_per_agency(ctx):
    d, ci = ctx["d"], ctx["ci"]
    # Agency B posts an identity first; A's own incident of that identity is stored.
    st, _, b = d.request("POST", "/v1/incidents", inc("shared-1", source="cad"), ctx["RB"])
    expect_eq(st, 201, "B first")
    st, _, a = d.request("POST", "/v1/incidents", inc("shared-1", source="cad", priority=2),
                         ctx["RA"])
    expect_eq(st, 201, "A's own incident of the same identity is new, not 409")
    expect(a["id"] != b["id"], "two incidents")
    expect_eq(stored(ci, "cad", "shared-1"), 2, "both stored")
    expect_eq(stored(ci, "cad", "shared-1", "RA"), 1, "one of A")
    # PATCH resolves within the token's agency.
    st, _, pa = d.request("PATCH", "/v1/incidents/cad/shared-1", {"priority": 5}, ctx["RA"])
    expect_eq((st, pa["id"], pa["priority"]), (200, a["id"], 5), "A patches its own")
    expect_eq(scalar(ci, "SELECT coalesce(priority::text, 'null') FROM incidents WHERE id = %d"
                     % b["id"]), "null",
              "B's incident untouched")
    # A repost by A updates A's, in a batch too (one identity per agency per batch).
    batch = [inc("shared-2", source="cad"), inc("shared-1", source="cad", priority=6)]
    st, _, resp = d.request("POST", "/v1/incidents", batch, ctx["RA"])
    expect_eq((st, resp["accepted"]), (200, 2), "batch")
    expect_eq(resp["results"][1]["id"], a["id"], "the repost is A's incident")
    # Nothing tells A which identities B holds: B's other identity is A's to create.
    st, _, _ = d.request("POST", "/v1/incidents", inc("only-b", source="cad"), ctx["RB"])
    st, _, resp = d.request("PATCH", "/v1/incidents/cad/only-b", {"priority": 1}, ctx["RA"])
    expect_eq(st, 404, "B's identity does not exist for A")
    st, _, resp = d.request("POST", "/v1/incidents", inc("only-b", source="cad"), ctx["RA"])
    expect_eq(st, 201, "and A may create its own")
    # The cube of each agency equals SQL.
    for ag in ("RA", "RB"):
        st, _, cube = d.request("GET", "/v1/cube?from=2026-11-01&to=2026-12-01", None,
                                ctx[ag + "_cmd"])
        expect_eq(st, 200)
        got = sum(c["count"] for c in cube["cells"])
        want = int(scalar(ci, "SELECT count(*) FROM incidents i JOIN agencies a ON a.id = "
                              "i.agency_id WHERE a.code = :'p1' AND i.status NOT IN "
                              "('unfounded','cancelled')", ag))
        expect_eq(got, want, "cube of " + ag)


# ---------------------------------------------------------------- item 4

def test_revoked_tokens_stream_ends_at_once(ctx):
    d, ci = ctx["d"], ctx["ci"]
    tok = token(ci, "commander", "RA")
    keep = token(ci, "commander", "RA")
    s = SSE(d.port, "/v1/stream", tok)
    other = SSE(d.port, "/v1/stream", keep)
    expect_eq(s.status, 200)
    s.until("ready")
    other.until("ready")
    out = subprocess.run([ADMIN, "token", "revoke", "--database", ci, "--token", tok],
                         capture_output=True, text=True)
    expect_eq(out.returncode, 0, "revoke: " + out.stderr)
    # The stream ends (EOF) without any further event, within a few seconds.
    t0 = time.time()
    ev = "none"
    while time.time() - t0 < 10:
        ev = s.next(timeout=10)
        if ev is None or ev[0] == "incident":
            break
    expect_eq(ev, None, "the revoked token's stream ended")
    # Incidents posted afterwards reach the other stream only.
    st, _, _ = d.request("POST", "/v1/incidents", inc("after-revoke"), ctx["RA"])
    expect_eq(st, 201)
    evs = other.until("incident")
    expect_eq(evs[-1][1]["incident"]["external_id"], "after-revoke", "the valid stream goes on")
    s.close()
    other.close()
    st, _, _ = d.request("GET", "/v1/stream", None, tok)
    expect_eq(st, 401, "the revoked token opens nothing")


# ---------------------------------------------------------------- item 6b

def test_stream_slots_are_shared_fairly(ctx):
    """max_streams is 8 here: agency A takes all 8, then B still gets its
    streams (up to its fair share, 4), each taken from A; A gets no more."""
    d = ctx["d"]

    def open_streams(tok, n, what):
        """n streams that must open, then one more that must be refused."""
        out = []
        for i in range(n):
            s = SSE(d.port, "/v1/stream", tok)
            expect_eq(s.status, 200, "%s stream %d" % (what, i))
            s.until("ready")
            out.append(s)
        s = SSE(d.port, "/v1/stream", tok)
        expect_eq(s.status, 503, "%s beyond its share of the slots" % what)
        s.close()
        return out

    a_streams = open_streams(ctx["RA_cmd"], 8, "A's")
    b_streams = open_streams(ctx["RB_cmd"], 4, "B's (A holding every slot)")
    ended = 0
    for s in a_streams:
        try:
            while True:
                ev = s.next(timeout=0.5)
                if ev is None:
                    ended += 1
                    break
        except TimeoutError:
            pass
    expect_eq(ended, 4, "four of A's streams ended to make room")
    st, _, m = d.request("GET", "/metrics", raw=True)
    expect('compstatd_stream_ended_total{why="fair_share"} 4' in m.decode(), "counted")
    for s in a_streams + b_streams:
        s.close()


if __name__ == "__main__":
    run([test_array_longer_than_the_limit_is_413, test_nothing_after_a_json_value_is_dropped,
         test_ndjson_every_object_is_stored_or_reported, test_put_and_patch_bodies_take_one_value,
         test_nul_escape_is_refused_with_a_message_that_says_so,
         test_parameters_get_4xx_naming_them, test_incident_ids_are_canonical_digits,
         test_csv_cells_are_not_formulas, test_identity_is_per_agency,
         test_revoked_tokens_stream_ends_at_once, test_stream_slots_are_shared_fairly],
        setup, teardown)
