#!/usr/bin/env python3
"""TLS: with --tls-cert/--tls-key compstatd serves HTTPS only (a self-signed
certificate made here with the openssl command), the API works over it,
plain HTTP on that port gets no answer, and a bad key refuses to start."""
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import DAEMON, SSE, Daemon, expect, expect_eq, fresh_db, run, token  # noqa: E402


def setup():
    tmp = tempfile.mkdtemp(prefix="compstat-tls.")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    out = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                          key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                          "-addext", "subjectAltName=IP:127.0.0.1"],
                         capture_output=True, text=True)
    expect_eq(out.returncode, 0, out.stderr)
    ci = fresh_db("tls")
    d = Daemon(ci, ["--tls-cert", cert, "--tls-key", key])
    return {"ci": ci, "d": d, "cert": cert, "key": key, "tmp": tmp}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def https(ctx, method, path, body=None, tok=None):
    sc = ssl.create_default_context(cafile=ctx["cert"])
    c = http.client.HTTPSConnection("127.0.0.1", ctx["d"].port, context=sc, timeout=30)
    h = {"Content-Type": "application/json"}
    if tok:
        h["Authorization"] = "Bearer " + tok
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def test_https_serves_the_api(ctx):
    import time
    for _ in range(100):
        try:
            st, body = https(ctx, "GET", "/readyz")
            if st == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    expect_eq(st, 200, "ready over TLS")
    admin = token(ctx["ci"], "admin", "TL")
    st, _ = https(ctx, "PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"}, admin)
    expect_eq(st, 201)
    st, body = https(ctx, "POST", "/v1/incidents",
                     {"source": "tls", "external_id": "1", "offense": "ROB",
                      "location": {"lat": 1, "lon": 1}, "received_at": "2026-11-27T10:00:00Z"},
                     admin)
    expect_eq((st, body["external_id"]), (201, "1"))


def test_stream_over_tls(ctx):
    """The live stream works over TLS: an incident posted over HTTPS arrives as an event."""
    admin = token(ctx["ci"], "admin", "TL")
    sc = ssl.create_default_context(cafile=ctx["cert"])
    s = SSE(ctx["d"].port, "/v1/stream", admin, tls=sc)
    expect_eq(s.status, 200, "stream over TLS")
    expect_eq(s.until("ready")[-1][0], "ready", "ready event")
    st, body = https(ctx, "POST", "/v1/incidents",
                     {"source": "tls", "external_id": "s1", "offense": "ROB",
                      "location": {"lat": 1, "lon": 1}, "received_at": "2026-11-27T11:00:00Z"},
                     admin)
    expect_eq(st, 201, "post over TLS")
    kind, data, _ = s.next()
    expect_eq((kind, data["incident"]["id"]), ("incident", body["id"]), "the event over TLS")
    kind, data, _ = s.next()
    expect_eq((kind, data["delta"]), ("cube", 1), "and its cube cell")
    s.close()


def test_plain_http_is_not_served(ctx):
    c = http.client.HTTPConnection("127.0.0.1", ctx["d"].port, timeout=5)
    try:
        c.request("GET", "/healthz")
        r = c.getresponse()
        got = r.status
    except (OSError, http.client.HTTPException):
        got = None
    expect(got is None, "plain HTTP on the TLS port must not be answered, got %r" % got)


def test_bad_key_refuses_to_start(ctx):
    bad = os.path.join(ctx["tmp"], "bad.pem")
    with open(bad, "w") as f:
        f.write("not a key\n")
    out = subprocess.run([DAEMON, "--listen", "127.0.0.1:0", "--database", ctx["ci"],
                          "--tls-cert", ctx["cert"], "--tls-key", bad],
                         capture_output=True, text=True, timeout=20)
    expect_eq(out.returncode, 2)
    expect("TLS" in out.stderr, out.stderr)


if __name__ == "__main__":
    run([test_https_serves_the_api, test_stream_over_tls, test_plain_http_is_not_served,
         test_bad_key_refuses_to_start], setup, teardown)
