#!/usr/bin/env python3
"""The audit log: every committed write of an incident is recorded by the
same statement (who, which request, create or update); every read of
incident data answered 2xx is recorded within a moment; the log is
append-only; compstat-admin audit shows it."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN, Daemon, expect, expect_eq, fresh_db, psql, run, scalar, token  # noqa


def setup():
    ci = fresh_db("audit")
    d = Daemon(ci)
    d.wait_ready()
    admin = token(ci, "admin", "AU")
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                        admin)[0], 201)
    return {"ci": ci, "d": d, "admin": admin, "commander": token(ci, "commander", "AU")}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def token_id(ci, tok):
    import hashlib
    return scalar(ci, "SELECT id FROM api_tokens WHERE token_hash = :'p1'",
                  hashlib.sha256(tok.encode()).hexdigest())


def test_writes_are_audited_with_the_change(ctx):
    d, ci, admin = ctx["d"], ctx["ci"], ctx["admin"]
    inc = {"source": "au", "external_id": "1", "offense": "ROB", "location": {"lat": 1, "lon": 1},
           "received_at": "2026-11-27T10:00:00Z"}
    st, h, body = d.request("POST", "/v1/incidents", inc, admin, headers={"X-Request-Id": "w-1"})
    expect_eq(st, 201)
    st, _, _ = d.request("POST", "/v1/incidents", inc, admin, headers={"X-Request-Id": "w-2"})
    expect_eq(st, 200, "identical repost: nothing committed, nothing audited")
    st, _, _ = d.request("PATCH", "/v1/incidents/au/1", {"priority": 2}, admin,
                         headers={"X-Request-Id": "w-3"})
    expect_eq(st, 200)
    rows = psql(ci, "SELECT request_id, action, target, token_id, detail->>'version'"
                    " FROM audit_log WHERE action LIKE 'incident.%' AND action <> 'incident.read'"
                    " AND action <> 'incident.list' ORDER BY id")
    tid = token_id(ci, admin)
    expect_eq(rows, [["w-1", "incident.create", str(body["id"]), tid, "1"],
                     ["w-3", "incident.update", str(body["id"]), tid, "2"]])


def test_reads_are_audited(ctx):
    d, ci, cmd_tok = ctx["d"], ctx["ci"], ctx["commander"]
    for path, rid in (("/v1/incidents", "r-1"), ("/v1/cube?by=category", "r-2"),
                      ("/v1/compstat", "r-3"), ("/v1/hotspots?method=count", "r-4"),
                      ("/v1/offenses", "r-5")):
        st, _, _ = d.request("GET", path, None, cmd_tok, headers={"X-Request-Id": rid})
        expect_eq(st, 200, path)
    st, _, _ = d.request("GET", "/v1/incidents?limit=0", None, cmd_tok,
                         headers={"X-Request-Id": "r-6"})
    expect_eq(st, 422)
    rows = []
    for _ in range(50):  # written in batches every 200 ms
        rows = psql(ci, "SELECT request_id, action FROM audit_log WHERE request_id LIKE 'r-%'"
                        " ORDER BY request_id")
        if len(rows) >= 4:
            break
        time.sleep(0.1)
    expect_eq(rows, [["r-1", "incident.list"], ["r-2", "cube.read"], ["r-3", "compstat.read"],
                     ["r-4", "hotspots.read"]],
              "reads of incident data, answered 2xx (not reference data, not refusals)")
    expect_eq(scalar(ci, "SELECT token_id FROM audit_log WHERE request_id = 'r-2'"),
              token_id(ci, cmd_tok))
    out = subprocess.run([ADMIN, "audit", "--database", ci, "--action", "cube.read"],
                         capture_output=True, text=True)
    expect_eq(out.returncode, 0, out.stderr)
    lines = out.stdout.strip().split("\n")
    expect(lines[0].startswith("id\tat\ttoken_id"), "header")
    expect("/v1/cube?by=category" in lines[1] and "commander" in lines[1], lines[1])


def test_append_only(ctx):
    ci = ctx["ci"]
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        try:
            psql(ci, sql)
        except RuntimeError as e:
            expect("append-only" in str(e), str(e))
        else:
            raise AssertionError(sql + " succeeded")


if __name__ == "__main__":
    run([test_writes_are_audited_with_the_change, test_reads_are_audited, test_append_only],
        setup, teardown)
