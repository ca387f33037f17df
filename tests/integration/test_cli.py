#!/usr/bin/env python3
"""The command line operators depend on: compstatd's options, environment
and config file; compstat-admin token create; SIGTERM draining in-flight
commits."""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN, DAEMON, Daemon, expect, expect_eq, fresh_db, psql, run,  # noqa: E402
                     scalar, token)


def setup():
    return {"ci": fresh_db("cli")}


def cmd(args, env=None, timeout=10):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=e, timeout=timeout)


def test_daemon_options(ctx):
    out = cmd([DAEMON, "--help"])
    expect_eq(out.returncode, 0)
    expect("--listen" in out.stdout and "--database" in out.stdout, out.stdout)
    expect_eq(cmd([DAEMON, "--bogus", "1"]).returncode, 2, "unknown option")
    expect_eq(cmd([DAEMON, "--listen", "nonsense", "--database", "x"]).returncode, 2, "bad listen")
    expect_eq(cmd([DAEMON], env={"COMPSTATD_DATABASE": ""}).returncode, 2, "no database")
    expect_eq(cmd([DAEMON, "--max-body-bytes", "12", "--database", "x"]).returncode, 2,
              "value out of bounds")
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("# compstatd.conf\nlisten = 127.0.0.1:7001\ndatabase = \"dbname=fromfile\"\n"
                "commit_batch_max = 77\n")
        path = f.name
    try:
        out = cmd([DAEMON, "--config", path, "--print-config"])
        expect_eq(out.returncode, 0, out.stderr)
        expect('listen = "127.0.0.1:7001"' in out.stdout, out.stdout)
        expect("commit_batch_max = 77" in out.stdout, out.stdout)
        out = cmd([DAEMON, "--config", path, "--print-config"],
                  env={"COMPSTATD_LISTEN": "127.0.0.1:7002"})
        expect('listen = "127.0.0.1:7002"' in out.stdout, "environment beats the file")
        out = cmd([DAEMON, "--config", path, "--listen", "127.0.0.1:7003", "--print-config"],
                  env={"COMPSTATD_LISTEN": "127.0.0.1:7002"})
        expect('listen = "127.0.0.1:7003"' in out.stdout, "command line beats the environment")
        with open(path, "a") as f:
            f.write("no_such_setting = 1\n")
        out = cmd([DAEMON, "--config", path, "--print-config"])
        expect_eq(out.returncode, 2, "unknown setting in the file")
        expect("no_such_setting" in out.stderr, out.stderr)
    finally:
        os.unlink(path)
    # Settings by environment reach the running daemon.
    d = Daemon(ctx["ci"], env={"COMPSTATD_RETRY_AFTER": "9"})
    try:
        d.wait_ready()
    finally:
        expect_eq(d.stop(), 0)


def test_token_create(ctx):
    ci = ctx["ci"]
    out = cmd([ADMIN, "token", "create", "--database", ci, "--role", "commander", "--agency",
               "NEWAG"])
    expect_eq(out.returncode, 0, out.stderr)
    tok = out.stdout
    expect(re.fullmatch(r"cst_[A-Za-z0-9_-]{43}\n", tok), "the token alone on stdout", tok)
    digest = hashlib.sha256(tok.strip().encode()).hexdigest()
    row = psql(ci, "SELECT t.role, coalesce(array_to_string(t.precincts, ','), '*'), a.code,"
               " a.name, a.time_zone FROM api_tokens t JOIN agencies a ON a.id = t.agency_id"
               " WHERE t.token_hash = :'p1'", digest)
    expect_eq(row, [["commander", "*", "NEWAG", "NEWAG", "UTC"]],
              "only the hash is stored; a new agency is bootstrapped")
    # A token limited to precincts names precincts of its agency (test_review_scope.py
    # checks the refusals).
    psql(ci, "INSERT INTO precincts (code, agency_id, name, boundary)"
             " SELECT c, a.id, c, ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326))"
             " FROM agencies a, unnest(ARRAY['A1', 'A2']) AS c WHERE a.code = 'NEWAG'")
    out = cmd([ADMIN, "token", "create", "--database", ci, "--role", "commander", "--agency",
               "NEWAG", "--precincts", "A1,A2"])
    expect_eq(out.returncode, 0, out.stderr)
    digest2 = hashlib.sha256(out.stdout.strip().encode()).hexdigest()
    expect_eq(scalar(ci, "SELECT array_to_string(precincts, ',') FROM api_tokens"
                         " WHERE token_hash = :'p1'", digest2), "A1,A2", "a scoped token")
    expect_eq(scalar(ci, "SELECT count(*) FROM api_tokens WHERE token_hash = :'p1'",
                     tok.strip()), "0", "the token itself is not stored")
    out = cmd([ADMIN, "token", "create", "--database", ci, "--role", "king", "--agency", "X"])
    expect_eq(out.returncode, 2, "bad role")
    out = cmd([ADMIN, "token", "create", "--database", "host=127.0.0.1 port=1 dbname=x",
               "--role", "admin", "--agency", "X"])
    expect_eq(out.returncode, 1, "unreachable database")
    expect_eq(out.stdout, "", "nothing on stdout on failure")
    # Revocation takes effect at once in a running daemon that has the token
    # cached (compstat-admin notifies it).
    d0 = Daemon(ci)
    try:
        d0.wait_ready()
        victim = token(ci, "commander", "NEWAG")
        expect_eq(d0.request("GET", "/v1/offenses", None, victim)[0], 200, "token works")
        out = cmd([ADMIN, "token", "revoke", "--database", ci, "--token", victim])
        expect_eq(out.returncode, 0, out.stderr)
        st = None
        for _ in range(50):  # the notification crosses PostgreSQL: allow it a moment
            st = d0.request("GET", "/v1/offenses", None, victim)[0]
            if st == 401:
                break
            time.sleep(0.02)
        expect_eq(st, 401, "revoked token refused by the running daemon")
    finally:
        expect_eq(d0.stop(), 0)
    admin = token(ci, "admin", "NEWAG")
    out = cmd([ADMIN, "token", "revoke", "--database", ci, "--token", admin])
    expect_eq(out.returncode, 0, out.stderr)
    out = cmd([ADMIN, "token", "list", "--database", ci, "--agency", "NEWAG"])
    expect_eq(out.returncode, 0, out.stderr)
    lines = [l.split("\t") for l in out.stdout.strip().split("\n")]
    expect_eq(lines[0][:4], ["id", "agency", "role", "precincts"], "header")
    expect_eq([(l[2], l[3], l[6] != "") for l in lines[1:]],
              [("commander", "*", False), ("commander", "A1,A2", False), ("commander", "*", True),
               ("admin", "*", True)],
              "tokens, two revoked")
    expect(tok.strip() not in out.stdout and digest not in out.stdout, "no secret listed")
    d = Daemon(ci)
    try:
        d.wait_ready()
        expect_eq(d.request("GET", "/v1/offenses", None, admin)[0], 401, "revoked token refused")
        expect_eq(d.request("GET", "/v1/offenses", None, tok.strip())[0], 200, "live token works")
    finally:
        expect_eq(d.stop(), 0)


def test_sigterm_drains_in_flight_commits(ctx):
    ci = ctx["ci"]
    admin = token(ci, "admin", "DR")
    d = Daemon(ci)
    d.wait_ready()
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"}, admin)[0],
              201)
    acked, errors = [], []

    def client(n):
        c = Daemon.__new__(Daemon)
        c.port, c.conn = d.port, None
        for b in range(1000):
            batch = [{"source": "drain", "external_id": "%d-%d-%d" % (n, b, i), "offense": "ROB",
                      "precinct": None, "location": {"lat": 1, "lon": 1},
                      "received_at": "2026-11-27T10:00:00Z"} for i in range(50)]
            try:
                st, _, body = c.request("POST", "/v1/incidents", batch, admin)
            except OSError:
                return  # the listener closed: no more requests
            if st == 200:
                acked.extend(r["external_id"] for r in body["results"] if "id" in r)
            elif st == 503:
                return  # draining: refused, nothing written
            else:
                errors.append(st)
                return
    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.7)
    d.proc.send_signal(signal.SIGTERM)
    rc = d.proc.wait(30)
    for t in threads:
        t.join(30)
    expect_eq(rc, 0, "exit 0 after draining")
    expect_eq(errors, [], "no unexpected statuses")
    expect(len(acked) > 0, "some batches were acknowledged before the signal")
    stored = {r[0] for r in psql(ci, "SELECT external_id FROM incidents WHERE source = 'drain'")}
    expect_eq([a for a in acked if a not in stored], [], "every acknowledged incident committed")
    d.stop()


def test_overload_gets_429(ctx):
    """Beyond --max-queue incidents waiting for a commit, posts are refused at once."""
    ci = ctx["ci"]
    admin = token(ci, "admin", "OV")
    d = Daemon(ci, ["--max-queue", "100"])
    try:
        d.wait_ready()
        expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                            admin)[0], 201)
        batch = [{"source": "ov", "external_id": str(i), "offense": "ROB",
                  "location": {"lat": 1, "lon": 1}, "received_at": "2026-11-27T10:00:00Z"}
                 for i in range(5000)]
        big = d.connect()
        big.request("POST", "/v1/incidents", body=json.dumps(batch),
                    headers={"Authorization": "Bearer " + admin,
                             "Content-Type": "application/json"})
        seen = set()
        deadline = time.time() + 20
        while time.time() < deadline and 429 not in seen:
            st, h, body = d.request("POST", "/v1/incidents", {
                "source": "ov", "external_id": "probe", "offense": "ROB",
                "location": {"lat": 1, "lon": 1}, "received_at": "2026-11-27T10:00:00Z"}, admin)
            seen.add(st)
            if st == 429:
                expect_eq(body["error"]["code"], "overloaded")
                expect("Retry-After" in h, "429 carries Retry-After")
        expect(429 in seen, "a post while 5,000 incidents wait gets 429", seen)
        resp = big.getresponse()
        out = json.loads(resp.read())
        expect_eq((resp.status, out["accepted"]), (200, 5000), "the big batch itself commits")
        big.close()
    finally:
        expect_eq(d.stop(), 0)


if __name__ == "__main__":
    run([test_daemon_options, test_token_create, test_sigterm_drains_in_flight_commits,
         test_overload_gets_429], setup)
