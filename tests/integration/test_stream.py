#!/usr/bin/env python3
"""GET /v1/stream end to end: Server-Sent Events after each commit.

What docs/API.md ("Live stream") promises, checked against a real daemon and
the database:

- an `incident` event per committed change, carrying the stored incident as
  the POST/PATCH answered it, in the stream before the write is answered;
- a `cube` event per cube cell whose count moved (-1 from the old cell, +1 to
  the new), none when a change leaves the cell alone; summing the deltas a
  stream saw gives, per precinct and offense, what SQL counts in the table;
- scope: a precinct-scoped token sees only its precincts, `?precinct=`
  narrows, other agencies and unassigned incidents stay out of scoped
  streams; roles, unknown and forbidden precincts;
- resume with Last-Event-ID (exactly the missed events), and an honest
  "resumed": false when that is impossible (unknown id, another process);
- bounds: a reader that never reads is dropped once it falls
  --stream-max-buffer behind while other streams keep flowing and memory
  stays bounded; --max-streams; quiet streams outlive --request-timeout
  (heartbeat comments); SIGTERM ends streams and the daemon exits.
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SSE, Daemon, expect, expect_eq, fresh_db, psql, run,  # noqa: E402
                     scalar, token)

TZ = "America/Chicago"
SQUARES = {"C-1": (-87.70, 41.85, -87.65, 41.90), "C-2": (-87.65, 41.85, -87.60, 41.90)}


def square(x0, y0, x1, y1):
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def setup():
    ci = fresh_db("stream")
    admin = token(ci, "admin", "CHI")
    other = token(ci, "admin", "OTH")
    ctx = {"ci": ci, "admin": admin, "other_admin": other,
           "dispatch": token(ci, "dispatch", "CHI"),
           "commander": token(ci, "commander", "CHI"),
           "other_dispatch": token(ci, "dispatch", "OTH")}
    d = start(ctx)
    for agency, tok in (("CHI", admin), ("OTH", other)):
        st, _, _ = d.request("PUT", "/v1/agencies/" + agency, {"name": agency, "time_zone": TZ},
                             tok)
        expect_eq(st, 200, "agency " + agency)
        for code in ("ROB", "BURG"):
            st, _, _ = d.request("PUT", "/v1/offenses/" + code,
                                 {"name": code, "category": code.lower()}, tok)
            expect_eq(st, 201, "offense " + code)
    for code, sq in SQUARES.items():
        st, _, _ = d.request("PUT", "/v1/precincts/" + code, {"name": code,
                                                              "boundary": square(*sq)}, admin)
        expect_eq(st, 201, "precinct " + code)
    st, _, _ = d.request("PUT", "/v1/precincts/O-1",
                         {"name": "O-1", "boundary": square(-90.1, 29.9, -90.0, 30.0)}, other)
    expect_eq(st, 201, "precinct O-1")
    # A scoped token names precincts that exist (compstat-admin checks).
    ctx["commander_c1"] = token(ci, "commander", "CHI", "C-1")
    return ctx


def start(ctx, *args):
    d = Daemon(ctx["ci"], list(args))
    d.wait_ready()
    ctx["d"] = d
    return d


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0, "daemon exit code after SIGTERM")


def stream(ctx, who="commander", query="", last_id=None, **kw):
    s = SSE(ctx["d"].port, "/v1/stream" + query, ctx[who] if who else None, last_id, **kw)
    if s.status == 200:
        kind, data, _ = s.until("ready")[-1]
        s.ready = data
    return s


SEQ = [0]


def post(ctx, precinct="C-1", offense="ROB", who="dispatch", **kw):
    SEQ[0] += 1
    x0, y0, x1, y1 = SQUARES.get(precinct, (-90.1, 29.9, -90.0, 30.0))
    inc = {"source": "sse", "external_id": "e%d" % SEQ[0], "offense": offense,
           "occurred_at": "2026-11-%02dT%02d:%02d:00-06:00" % (random.randint(1, 27),
                                                               random.randint(0, 23),
                                                               random.randint(0, 59)),
           "location": {"lat": (y0 + y1) / 2, "lon": (x0 + x1) / 2}}
    if precinct is None:
        inc["location"] = {"lat": 41.5, "lon": -88.5}  # outside every precinct
    inc.update(kw)
    st, _, body = ctx["d"].request("POST", "/v1/incidents", inc, ctx[who])
    expect(st in (200, 201), "post: %d" % st, body)
    return body


def patch(ctx, inc, change):
    st, _, body = ctx["d"].request(
        "PATCH", "/v1/incidents/%s/%s" % (inc["source"], inc["external_id"]), change,
        ctx["dispatch"])
    expect_eq(st, 200, "patch %r: %r" % (change, body))
    return body


def events_for(s, incident_id, timeout=10):
    """Events up to and including the incident event of incident_id."""
    got = []
    while True:
        ev = s.next(timeout)
        expect(ev is not None, "stream ended", got)
        got.append(ev)
        if ev[0] == "incident" and ev[1]["incident"]["id"] == incident_id:
            return got


def test_events_follow_commits(ctx):
    s = stream(ctx)
    expect_eq(s.headers.get("content-type"), "text/event-stream", "content type")
    expect_eq(s.ready["resumed"], False, "first connection does not resume")
    expect_eq(s.ready["precincts"], None, "an all-precinct token sees everything")

    inc = post(ctx, "C-1", "ROB")
    evs = events_for(s, inc["id"])
    expect_eq(len(evs), 1, "the first event after ready is the incident")
    inc_ev = evs[0][1]
    expect_eq(inc_ev["change"], "created", "change")
    expect_eq(inc_ev["incident"], inc, "the event carries the stored incident as answered")
    c = cube_after(s, 1)[0]
    expect_eq((c["precinct"], c["offense"], c["category"], c["delta"], c["incident"]),
              ("C-1", "ROB", "rob", 1, inc["id"]), "cube cell")
    # the bucket is the local hour of occurred_at, computed by PostgreSQL
    want = scalar(ctx["ci"], "SET TIME ZONE '%s'; SELECT to_char(date_trunc('hour', occurred_at),"
                  " 'YYYY-MM-DD\"T\"HH24:MI:SSOF') || ':00' FROM incidents WHERE id = %d"
                  % (TZ, inc["id"]))
    expect_eq(c["bucket"], want, "bucket")

    # reclassification: -1 from the old cell, +1 to the new
    upd = patch(ctx, inc, {"offense": "BURG"})
    evs = events_for(s, inc["id"])
    expect_eq((len(evs), evs[0][1]["change"]), (1, "updated"), "change")
    expect_eq(evs[0][1]["incident"], upd, "updated incident")
    expect_eq(sorted((e["offense"], e["delta"]) for e in cube_after(s, 2)),
              [("BURG", 1), ("ROB", -1)], "moved cells")
    # a change that leaves the cell alone: an incident event, no cube event
    patch(ctx, inc, {"address": "1 Main St"})
    expect_eq(len(events_for(s, inc["id"])), 1, "address change")
    marker = post(ctx, "C-2", "ROB")
    expect_eq(len(events_for(s, marker["id"])), 1, "no cube event for an address change")
    cube_after(s, 1)
    # unfounded: leaves the cube
    patch(ctx, inc, {"status": "unfounded"})
    events_for(s, inc["id"])
    c = cube_after(s, 1)[0]
    expect_eq((c["offense"], c["delta"]), ("BURG", -1), "unfounded")
    s.close()


def cube_after(s, n):
    """The next n events, which must be cube events: their data."""
    out = []
    for _ in range(n):
        ev = s.next()
        expect(ev is not None and ev[0] == "cube", "expected a cube event", ev)
        out.append(ev[1])
    return out


def test_deltas_sum_to_sql(ctx):
    """Random posts, reclassifications, moves and unfoundings: the deltas a
    stream saw sum, per precinct and offense, to SQL's counts of the change."""
    before = counts_sql(ctx)
    s = stream(ctx)
    rnd = random.Random(int(os.environ.get("COMPSTAT_TEST_SEED", "7")))
    random.seed(rnd.random())
    made = []
    for i in range(120):
        op = rnd.random()
        if op < 0.55 or not made:
            made.append(post(ctx, rnd.choice(["C-1", "C-2", None]), rnd.choice(["ROB", "BURG"])))
        elif op < 0.75:
            k = rnd.randrange(len(made))
            made[k] = patch(ctx, made[k], {"offense": rnd.choice(["ROB", "BURG"])})
        elif op < 0.9:
            k = rnd.randrange(len(made))
            made[k] = patch(ctx, made[k], {"status": rnd.choice(["unfounded", "open"])})
        else:
            k = rnd.randrange(len(made))
            p = rnd.choice(["C-1", "C-2"])
            x0, y0, x1, y1 = SQUARES[p]
            made[k] = patch(ctx, made[k], {"location": {"lat": (y0 + y1) / 2,
                                                        "lon": (x0 + x1) / 2 + 0.001}})
    marker = post(ctx, "C-1", "ROB")
    sums = {}
    while True:
        kind, data, _ = s.next()
        if kind == "cube":
            key = (data["precinct"], data["offense"])
            sums[key] = sums.get(key, 0) + data["delta"]
        if kind == "incident" and data["incident"]["id"] == marker["id"]:
            break
    s.next()  # the marker's own cube event
    sums[("C-1", "ROB")] = sums.get(("C-1", "ROB"), 0) + 1
    after = counts_sql(ctx)
    want = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
    want = {k: v for k, v in want.items() if v}
    sums = {k: v for k, v in sums.items() if v}
    expect_eq(sums, want, "deltas by precinct and offense vs SQL")
    s.close()


def counts_sql(ctx):
    rows = psql(ctx["ci"], "SELECT p.code, o.code, count(*) FROM incidents i"
                " JOIN agencies a ON a.id = i.agency_id AND a.code = 'CHI'"
                " LEFT JOIN precincts p ON p.id = i.precinct_id"
                " JOIN offenses o ON o.id = i.offense_id"
                " WHERE i.status NOT IN ('unfounded', 'cancelled') GROUP BY 1, 2")
    return {(r[0] or None, r[1]): int(r[2]) for r in rows}


def test_scope_and_roles(ctx):
    everything = stream(ctx, "commander")
    scoped = stream(ctx, "commander_c1")
    expect_eq(scoped.ready["precincts"], ["C-1"], "scoped stream's precincts")
    narrowed = stream(ctx, "commander", "?precinct=C-2")
    expect_eq(narrowed.ready["precincts"], ["C-2"], "narrowed stream's precincts")
    a = post(ctx, "C-1")
    b = post(ctx, "C-2")
    u = post(ctx, None)                       # no precinct
    o = post(ctx, "O-1", who="other_dispatch")  # another agency
    last = post(ctx, "C-1", "BURG")

    def ids(s):
        seen = []
        while True:
            kind, data, _ = s.next()
            if kind == "incident":
                seen.append(data["incident"]["id"])
                if data["incident"]["id"] == last["id"]:
                    return seen
            elif kind == "cube":
                seen.append(("cube", data["precinct"]))

    got_all = ids(everything)
    expect_eq([x for x in got_all if not isinstance(x, tuple)], [a["id"], b["id"], u["id"],
                                                                last["id"]],
              "all-precinct stream: every incident of its agency, none of another's")
    expect(("cube", None) in got_all, "unassigned cube cell seen by the all-precinct stream")
    expect(o["id"] not in got_all, "another agency's incident")
    got_c1 = ids(scoped)
    expect_eq([x for x in got_c1 if not isinstance(x, tuple)], [a["id"], last["id"]],
              "scoped stream")
    expect(all(x == ("cube", "C-1") for x in got_c1 if isinstance(x, tuple)),
           "scoped stream sees only C-1 cells", got_c1)
    for s in (everything, scoped):
        s.close()
    # narrowed: only C-2 (it never sees `last`, so read up to b and check nothing else came)
    kinds = []
    while True:
        kind, data, _ = narrowed.next()
        if kind == "incident":
            expect_eq(data["incident"]["id"], b["id"], "narrowed stream")
            break
    post(ctx, "C-2")
    kind, data, _ = narrowed.next()
    expect_eq(kind, "cube", "b's cube event")
    kind, data, _ = narrowed.next()
    expect_eq((kind, data["incident"]["precinct"]), ("incident", "C-2"), "next is C-2 again")
    narrowed.close()
    del kinds

    for who, query, status in ((None, "", 401), ("dispatch", "", 403),
                               ("commander_c1", "?precinct=C-2", 403),
                               ("commander", "?precinct=NOPE", 422),
                               ("commander", "?since=1", 400)):
        s = stream(ctx, who, query)
        expect_eq(s.status, status, "stream %s %s" % (who, query))
        s.close()
    deadline = time.time() + 10  # the audit log is written in batches
    while True:
        rows = int(scalar(ctx["ci"],
                          "SELECT count(*) FROM audit_log WHERE action = 'stream.open'"))
        if rows >= 3 or time.time() > deadline:
            break
        time.sleep(0.2)
    expect(rows >= 3, "stream opens are audited", rows)


def test_resume(ctx):
    s = stream(ctx, "commander_c1")
    post(ctx, "C-1")
    kind, _, _ = s.next()
    expect_eq(kind, "incident", "first event")
    s.next()
    resume_at = s.last_id
    s.close()
    missed = [post(ctx, "C-1"), post(ctx, "C-2"), post(ctx, "C-1", "BURG")]
    r = SSE(ctx["d"].port, "/v1/stream", ctx["commander_c1"], resume_at)
    ready = r.until("ready")
    expect_eq(len(ready), 1, "ready comes first")
    expect_eq((ready[0][1]["resumed"], ready[0][2]), (True, None),
              "resumed, and ready keeps the client's id")
    got = [r.next() for _ in range(4)]
    expect_eq([e[0] for e in got], ["incident", "cube", "incident", "cube"], "replay")
    inc_ids = [e[1]["incident"]["id"] for e in got if e[0] == "incident"]
    expect_eq(inc_ids, [missed[0]["id"], missed[2]["id"]], "exactly the missed C-1 events")
    seqs = [int(e[2].split("-")[1]) for e in got]
    expect(seqs == sorted(seqs) and len(set(seqs)) == 4, "ids unique and increasing", seqs)
    # then live events follow, and nothing else was replayed
    live = post(ctx, "C-1")
    kind, data, _ = r.next()
    expect_eq((kind, data["incident"]["id"]), ("incident", live["id"]), "live after replay")
    r.next()
    caught_up = r.last_id
    r.close()
    # resuming from the newest id replays nothing
    again = SSE(ctx["d"].port, "/v1/stream", ctx["commander_c1"], caught_up)
    expect_eq(again.until("ready")[0][1]["resumed"], True, "resumed with nothing missed")
    live = post(ctx, "C-1")
    kind, data, _ = again.next()
    expect_eq((kind, data["incident"]["id"]), ("incident", live["id"]), "nothing replayed")
    again.close()
    for bogus in ("garbage", "0-1", resume_at.split("-")[0] + "-999999999"):
        b = SSE(ctx["d"].port, "/v1/stream", ctx["commander_c1"], bogus)
        ev = b.until("ready")
        expect_eq((len(ev), ev[-1][1]["resumed"]), (1, False), "cannot resume from " + bogus)
        expect(ev[-1][2] and ev[-1][2] != bogus, "a fresh start gets the newest id", ev)
        b.close()


def test_resume_after_restart(ctx):
    s = stream(ctx)
    old_id = s.last_id
    s.close()
    ctx["d"].stop()
    start(ctx)
    r = stream(ctx, last_id=old_id)
    expect_eq(r.ready["resumed"], False, "a new process cannot resume an old one's ids")
    r.close()


def metric(ctx, name):
    st, _, text = ctx["d"].request("GET", "/metrics", raw=True)
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric " + name)


def test_slow_readers_are_dropped(ctx):
    ctx["d"].stop()
    d = start(ctx, "--stream-max-buffer", "65536", "--stream-backlog", "1000",
              "--max-streams", "40")
    live = stream(ctx)
    # readers that never read: a tiny receive window, and we never call recv
    stuck = [SSE(d.port, "/v1/stream", ctx["commander"], rcvbuf=4096) for _ in range(20)]
    deadline = time.time() + 10  # the stuck readers never read their headers: poll
    while metric(ctx, "compstatd_streams") < 21 and time.time() < deadline:
        time.sleep(0.1)
    expect_eq(metric(ctx, "compstatd_streams"), 21, "streams open")
    peak_queued = peak_backlog = 0
    x0, y0, x1, y1 = SQUARES["C-1"]
    last = None
    for batch in range(20):  # 20 x 100 incidents of ~1 KB: ~2 MB per reader
        lines = []
        for i in range(100):
            SEQ[0] += 1
            lines.append(json.dumps({
                "source": "sse", "external_id": "slow%d" % SEQ[0], "offense": "ROB",
                "occurred_at": "2026-11-02T10:00:00-06:00", "address": "x" * 490,
                "location": {"lat": (y0 + y1) / 2, "lon": (x0 + x1) / 2}}))
        st, _, res = d.request("POST", "/v1/incidents", "\n".join(lines) + "\n",
                               ctx["dispatch"], ctype="application/x-ndjson")
        expect_eq((st, res["accepted"]), (200, 100), "batch")
        last = res["results"][-1]
        peak_queued = max(peak_queued, metric(ctx, 'compstatd_stream_bytes{held="queued"}'))
        peak_backlog = max(peak_backlog, metric(ctx, 'compstatd_stream_bytes{held="backlog"}'))
        while True:  # the live reader keeps up
            kind, data, _ = live.next()
            if kind == "incident" and data["incident"]["id"] == last["id"]:
                break
    dropped = metric(ctx, "compstatd_stream_dropped_total")
    expect_eq(dropped, 20, "every reader that never read was dropped")
    expect_eq(metric(ctx, "compstatd_streams"), 1, "only the live stream is left")
    # Unbounded, each of the 20 readers would hold ~2 MB (every event of
    # the run). Bounded: stream_max_buffer (64 KiB) plus one event each, and
    # the backlog of 1,000 events of ~1.1 KB.
    expect(0 < peak_queued <= 21 * (65536 + 2048), "queued bytes bounded (%d)" % peak_queued)
    expect(0 < peak_backlog <= 1000 * 2048, "backlog bounded (%d)" % peak_backlog)
    for s in stuck:
        s.close()
    live.close()


def test_input_on_a_stream_is_capped(ctx):
    """A client that keeps sending on its stream's connection: the daemon
    stops reading (a small cap) instead of buffering it all, and the stream
    goes on."""
    import socket
    s = stream(ctx)
    junk = b"x" * 65536
    sent = 0
    s.sock.settimeout(2.0)
    try:
        while sent < 64 * 1024 * 1024:
            sent += s.sock.send(junk)
    except (socket.timeout, BlockingIOError):
        pass
    # Kernel buffers on both sides hold a few MB; everything beyond would be
    # the daemon's memory.
    expect(sent < 32 * 1024 * 1024, "the daemon stopped taking input (%d bytes sent)" % sent)
    s.sock.settimeout(10)
    inc = post(ctx, "C-1")
    kind, data, _ = s.next()
    expect_eq((kind, data["incident"]["id"]), ("incident", inc["id"]), "the stream goes on")
    s.close()


def test_max_streams(ctx):
    ctx["d"].stop()
    start(ctx, "--max-streams", "2")
    a, b = stream(ctx), stream(ctx)
    c = stream(ctx)
    expect_eq(c.status, 503, "third stream")
    expect("retry-after" in c.headers, "503 says when to retry")
    a.close()
    deadline = time.time() + 10
    while metric(ctx, "compstatd_streams") > 1 and time.time() < deadline:
        time.sleep(0.1)
    d = stream(ctx)
    expect_eq(d.status, 200, "a closed stream frees its place")
    for s in (b, c, d):
        s.close()


def test_quiet_stream_outlives_request_timeout(ctx):
    ctx["d"].stop()
    start(ctx, "--request-timeout", "1", "--stream-heartbeat", "1")
    s = stream(ctx)
    time.sleep(3.5)
    inc = post(ctx, "C-2")
    kind, data, _ = s.next()
    expect_eq((kind, data["incident"]["id"]), ("incident", inc["id"]), "still streaming")
    expect(s.comments >= 2, "heartbeat comments", s.comments)
    s.close()


def test_sigterm_ends_streams(ctx):
    s = stream(ctx)
    t0 = time.time()
    expect_eq(ctx["d"].stop(), 0, "exit code")
    expect(time.time() - t0 < 10, "streams do not hold the drain")
    expect(s.next() is None, "the stream ended")
    s.close()
    start(ctx)


if __name__ == "__main__":
    run([test_events_follow_commits, test_deltas_sum_to_sql, test_scope_and_roles, test_resume,
         test_resume_after_restart, test_slow_readers_are_dropped,
         test_input_on_a_stream_is_capped, test_max_streams,
         test_quiet_stream_outlives_request_timeout, test_sigterm_ends_streams],
        setup, teardown)
