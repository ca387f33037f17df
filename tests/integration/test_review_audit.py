#!/usr/bin/env python3
"""The audit trail of reads against the security review's findings.

8a: a read of incident data is answered only after its audit record is
committed (audit_sync = on, the default): reads answered before a SIGKILL
are all in audit_log; an answer waits while its record cannot be written;
with the database down such a read gets 503, not an unaudited 200 (with
audit_sync = off it is answered from memory and the record waits).
8b: one record the database rejects does not take the others of its batch
with it (a quote in a token's precinct made the whole batch invalid JSON).
8c: refusals (401, 403, 404) on incident data are audited too, with the
status and, for a 401, no token; an unauthenticated flood cannot grow the
queue beyond audit_max_queue: what does not fit is dropped, counted and
logged, and 2xx reads are still never answered without their record.
"""
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (PSQL, SSE, Daemon, cluster_conninfo, expect, expect_eq, fresh_db,  # noqa
                     psql, run, scalar, token, with_db)


def setup():
    ci = fresh_db("review_audit")
    admin = token(ci, "admin", "RA")
    d = Daemon(ci)
    d.wait_ready()
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                        admin)[0], 201)
    st, _, _ = d.request("POST", "/v1/incidents",
                         {"source": "ra", "external_id": "1", "offense": "ROB",
                          "location": {"lat": 1, "lon": 1}, "received_at": "2026-11-27T10:00:00Z"},
                         admin)
    expect_eq(st, 201)
    return {"ci": ci, "d": d, "admin": admin, "commander": token(ci, "commander", "RA"),
            "dispatch": token(ci, "dispatch", "RA")}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def token_id(ci, tok):
    return scalar(ci, "SELECT id FROM api_tokens WHERE token_hash = :'p1'",
                  hashlib.sha256(tok.encode()).hexdigest())


def client(port):
    c = Daemon.__new__(Daemon)
    c.port, c.conn = port, None
    return c


def rows_like(ci, prefix):
    return int(scalar(ci, "SELECT count(*) FROM audit_log WHERE request_id LIKE :'p1'",
                      prefix + "%"))


def metric(d, name):
    st, _, text = d.request("GET", "/metrics", raw=True)
    m = re.search(r"^%s (\S+)$" % re.escape(name), text.decode(), re.M)
    return float(m.group(1)) if m else None


class Lock:
    """audit_log locked against inserts (EXCLUSIVE: reads still work) by a
    psql session for `seconds`."""

    def __init__(self, ci, seconds):
        self.proc = subprocess.Popen(
            [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ci, "-c",
             "BEGIN; LOCK TABLE audit_log IN EXCLUSIVE MODE; SELECT pg_sleep(%s); COMMIT;"
             % seconds], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while scalar(ci, "SELECT count(*) FROM pg_locks WHERE relation = 'audit_log'::regclass"
                         " AND mode = 'ExclusiveLock' AND granted") != "1":
            expect(time.time() < deadline, "the lock was never granted")
            time.sleep(0.05)

    def wait(self):
        _, err = self.proc.communicate(timeout=60)
        expect_eq(self.proc.returncode, 0, err)


def test_reads_are_committed_before_their_answer(ctx):
    """The review's case: 50 answered reads, then SIGKILL, left 2 rows."""
    ci, d = ctx["ci"], ctx["d"]
    for i in range(50):
        st, _, _ = d.request("GET", "/v1/cube?by=category", None, ctx["commander"],
                             headers={"X-Request-Id": "dur-%d" % i})
        expect_eq(st, 200)
    streamer = token(ci, "commander", "RA")
    s = SSE(d.port, "/v1/stream", streamer)
    expect_eq(s.status, 200, "stream opened")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    s.close()
    ctx["d"] = Daemon(ci)
    ctx["d"].wait_ready()
    expect_eq(rows_like(ci, "dur-"), 50, "every answered read is in audit_log")
    expect_eq(scalar(ci, "SELECT count(*) FROM audit_log WHERE action = 'stream.open'"
                         " AND token_id = :'p1'", token_id(ci, streamer)), "1",
              "the opened stream is in audit_log")


def test_answer_waits_for_its_record(ctx):
    ci, d = ctx["ci"], ctx["d"]
    st, _, _ = d.request("GET", "/v1/cube", None, ctx["commander"])  # the token is cached
    expect_eq(st, 200)
    lock = Lock(ci, 3)
    got = {}

    def read():
        st, _, _ = client(d.port).request("GET", "/v1/cube?by=category", None, ctx["commander"],
                                          headers={"X-Request-Id": "held-1"})
        got["status"] = st
        got["rows"] = rows_like(ci, "held-1")
        got["at"] = time.time()
    t = threading.Thread(target=read)
    t0 = time.time()
    t.start()
    time.sleep(1.0)
    expect("status" not in got, "answered while its audit record could not be written", got)
    t1 = time.time()
    st, _, _ = client(d.port).request("GET", "/healthz")
    expect_eq(st, 200)
    st, _, _ = client(d.port).request("GET", "/v1/cube", None, None,
                                      headers={"X-Request-Id": "held-401"})
    expect_eq(st, 401, "a refusal is not held")
    expect(time.time() - t1 < 1.5, "the loop is not blocked meanwhile")
    lock.wait()
    t.join(30)
    expect_eq(got.get("status"), 200, "answered once the record could be written")
    expect_eq(got.get("rows"), 1, "its record was committed when the answer arrived")
    expect(got["at"] - t0 > 2, "held until the lock went (%.1f s)" % (got["at"] - t0))


def test_database_down_answers_503(ctx):
    ci, d = ctx["ci"], ctx["d"]
    lax = Daemon(ci, ["--audit-sync", "off"])
    base = cluster_conninfo()
    dbname = re.search(r"dbname=(\S+)", ci).group(1)
    try:
        lax.wait_ready()
        for c in (d, lax):
            expect_eq(c.request("GET", "/v1/cube", None, ctx["commander"])[0], 200, "warm")
        psql(base, 'ALTER DATABASE "%s" ALLOW_CONNECTIONS false' % dbname)
        psql(base, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE datname = :'p1' AND pid <> pg_backend_pid()", dbname)
        deadline = time.time() + 10
        while True:
            st, h, body = d.request("GET", "/v1/cube", None, ctx["commander"],
                                    headers={"X-Request-Id": "down-1"})
            if st != 200 or time.time() > deadline:
                break
            time.sleep(0.1)
        expect_eq(st, 503, "a read that cannot be audited is not answered 200")
        expect_eq(body["error"]["code"], "database_unavailable")
        expect("Retry-After" in h, "Retry-After", h)
        s = SSE(d.port, "/v1/stream", ctx["commander"])
        expect_eq(s.status, 503, "nor is a stream opened")
        s.close()
        st, _, _ = lax.request("GET", "/v1/cube", None, ctx["commander"],
                               headers={"X-Request-Id": "down-lax"})
        expect_eq(st, 200, "audit_sync = off answers from memory")
    finally:
        psql(base, 'ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % dbname)
    deadline = time.time() + 30
    while True:
        st, _, _ = d.request("GET", "/v1/cube", None, ctx["commander"],
                             headers={"X-Request-Id": "down-back"})
        if st == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    expect_eq(st, 200, "reads are answered again once the database is back")
    expect_eq(rows_like(ci, "down-back"), 1, "and audited")
    deadline = time.time() + 30
    while rows_like(ci, "down-lax") == 0 and time.time() < deadline:
        time.sleep(0.2)
    expect_eq(rows_like(ci, "down-lax"), 1, "audit_sync = off: the record is written later")
    expect_eq(rows_like(ci, "down-1"), 0, "the refused read left no record of a 200")
    expect_eq(lax.stop(), 0)


def test_a_quote_in_a_precinct_loses_no_record(ctx):
    ci, d = ctx["ci"], ctx["d"]
    odd = token(ci, "commander", "RA")  # its precincts set in SQL, whatever the tool accepts
    psql(ci, "UPDATE api_tokens SET precincts = ARRAY['P\"1', 'back\\slash'] WHERE token_hash = :'p1'",
         hashlib.sha256(odd.encode()).hexdigest())
    for i in range(15):
        for tok, tag in ((ctx["commander"], "qa-good"), (odd, "qa-odd")):
            st, _, _ = d.request("GET", "/v1/cube", None, tok,
                                 headers={"X-Request-Id": "%s-%d" % (tag, i)})
            expect_eq(st, 200)
    deadline = time.time() + 5
    while rows_like(ci, "qa-") < 30 and time.time() < deadline:
        time.sleep(0.1)
    expect_eq(rows_like(ci, "qa-good"), 15, "records next to the odd ones are kept")
    expect_eq(rows_like(ci, "qa-odd"), 15, "the odd ones are kept too")
    expect_eq(scalar(ci, "SELECT detail->'precincts'->>0 FROM audit_log"
                         " WHERE request_id = 'qa-odd-0'"), 'P"1', "stored verbatim")
    expect_eq(scalar(ci, "SELECT detail->'precincts'->>1 FROM audit_log"
                         " WHERE request_id = 'qa-odd-0'"), "back\\slash", "stored verbatim")


def test_a_rejected_record_is_retried_alone(ctx):
    """A record the database refuses (here a constraint added for the test)
    is dropped alone and logged; every other read answered 200 has its row."""
    ci, d = ctx["ci"], ctx["d"]
    psql(ci, "ALTER TABLE audit_log ADD CONSTRAINT test_no_poison"
             " CHECK (request_id IS DISTINCT FROM 'poison') NOT VALID")
    try:
        answers = {}
        lock = threading.Lock()

        def reader(k):
            c = client(d.port)
            for i in range(30):
                rid = "poison" if (k == 3 and i == 15) else "rr-%d-%d" % (k, i)
                st, _, _ = c.request("GET", "/v1/cube?by=category", None, ctx["commander"],
                                     headers={"X-Request-Id": rid})
                with lock:
                    answers[rid] = st
        ts = [threading.Thread(target=reader, args=(k,)) for k in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        expect_eq(len(answers), 180, "every read answered")
        ok = [r for r, st in answers.items() if st == 200]
        expect_eq(len(ok), 179, "every read but the poisoned one answered 200")
        expect(answers["poison"] >= 500, "the poisoned read is not answered 2xx", answers["poison"])
        expect_eq(rows_like(ci, "rr-"), 179, "every 200 has its record")
        expect_eq(rows_like(ci, "poison"), 0, "the bad record alone is lost")
        expect(any("poison" in l and "audit" in l for l in d.lines),
               "the lost record is logged", d.log()[-3000:])
    finally:
        psql(ci, "ALTER TABLE audit_log DROP CONSTRAINT test_no_poison")


def test_refusals_are_audited(ctx):
    ci, d = ctx["ci"], ctx["d"]
    cases = [("GET", "/v1/cube?by=category", None, "ref-401", 401, "cube.read"),
             ("GET", "/v1/incidents", ctx["dispatch"], "ref-403", 403, "incident.list"),
             ("GET", "/v1/incidents/99999999", ctx["commander"], "ref-404", 404, "incident.read"),
             ("GET", "/v1/stream", None, "ref-s401", 401, "stream.open"),
             ("GET", "/v1/incidents?limit=0", ctx["commander"], "ref-422", 422, None),
             ("GET", "/v1/offenses", None, "ref-off", 401, None)]
    for method, path, tok, rid, want, _ in cases:
        st, _, _ = d.request(method, path, None, tok, headers={"X-Request-Id": rid})
        expect_eq(st, want, path)
    deadline = time.time() + 5
    while rows_like(ci, "ref-") < 4 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # anything else would have been written by now
    rows = {r[0]: r[1:] for r in psql(
        ci, "SELECT request_id, action, coalesce(token_id::text, 'null'), detail->>'status',"
            " target FROM audit_log WHERE request_id LIKE 'ref-%'")}
    expect_eq(sorted(rows), ["ref-401", "ref-403", "ref-404", "ref-s401"],
              "refusals on incident data are audited; a 422 and reference data are not")
    expect_eq(rows["ref-401"][:3], ["cube.read", "null", "401"], "401: no token")
    expect_eq(rows["ref-401"][3], "/v1/cube?by=category", "target")
    expect_eq(rows["ref-403"][:3], ["incident.list", token_id(ci, ctx["dispatch"]), "403"])
    expect_eq(rows["ref-404"][:3], ["incident.read", token_id(ci, ctx["commander"]), "404"])
    expect_eq(rows["ref-s401"][:3], ["stream.open", "null", "401"])


def test_refusal_flood_is_bounded(ctx):
    """2,000 unauthenticated reads while audit_log cannot be written: each is
    answered at once, at most audit_max_queue (300) records wait, the rest
    are dropped, counted and logged; what was kept is written afterwards."""
    ci = ctx["ci"]
    d = Daemon(ci, ["--audit-max-queue", "300"])
    try:
        d.wait_ready()
        lock = Lock(ci, 8)
        t0 = time.time()

        def flood(k):
            c = client(d.port)
            for i in range(500):
                st, _, _ = c.request("GET", "/v1/cube", None, None,
                                     headers={"X-Request-Id": "fl-%d-%d" % (k, i)})
                expect_eq(st, 401)
        ts = [threading.Thread(target=flood, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        expect(time.time() - t0 < 7, "the refusals were answered without waiting for the lock")
        pending = metric(d, "compstatd_audit_queue")
        dropped = metric(d, "compstatd_audit_dropped_total")
        expect(pending is not None and pending <= 300, "queue bounded: %r" % pending)
        expect(dropped is not None and dropped >= 1700, "the rest dropped: %r" % dropped)
        lock.wait()
        deadline = time.time() + 10
        while rows_like(ci, "fl-") + dropped < 2000 and time.time() < deadline:
            time.sleep(0.1)
        expect_eq(rows_like(ci, "fl-") + int(dropped), 2000, "written + dropped = refused")
        expect(any("dropping" in l and "audit" in l for l in d.lines), "the drop is logged")
    finally:
        expect_eq(d.stop(), 0)


if __name__ == "__main__":
    run([test_reads_are_committed_before_their_answer, test_answer_waits_for_its_record,
         test_database_down_answers_503, test_a_quote_in_a_precinct_loses_no_record,
         test_a_rejected_record_is_retried_alone, test_refusals_are_audited,
         test_refusal_flood_is_bounded],
        setup, teardown)
