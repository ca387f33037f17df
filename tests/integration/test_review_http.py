#!/usr/bin/env python3
"""The HTTP layer against the security review's findings.

Slowloris (finding 5): request_timeout is a deadline for a request's headers
and body together, from the accept (or the end of the previous answer on a
keep-alive connection), not an idle timer that each trickled byte resets; a
stream is not cut by it once its request is in; no single address may hold
more than max_connections_per_address connections (by default a quarter of
the open-file limit), so one address trickling under a small `ulimit -n`
cannot starve everyone else.

Unknown tokens (finding 9): their cache is bounded, and an address sending
many of them gets 429 with a growing Retry-After, while tokens the daemon
already knows keep working and revocations still take effect at once.

Protocol (finding 10): conflicting Content-Length headers (and
Content-Length with Transfer-Encoding) get 400 and the connection is
closed, so nothing can be smuggled behind a proxy; HEAD is answered as GET
without the body: same status and headers, Content-Length included.

The clients are on loopback; "another address" is 127.0.0.2 (Linux routes
all of 127/8 to the loopback interface), so the limits are seen per address.
"""
import hashlib
import http.client
import json
import os
import re
import secrets
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN, SSE, Daemon, expect, expect_eq, fresh_db, run, scalar,  # noqa: E402
                     token)

OTHER = "127.0.0.2"


def setup():
    ci = fresh_db("review_http")
    admin = token(ci, "admin", "RH")
    d = Daemon(ci)
    d.wait_ready()
    expect_eq(d.request("PUT", "/v1/offenses/ROB", {"name": "r", "category": "robbery"},
                        admin)[0], 201)
    st, _, _ = d.request("POST", "/v1/incidents", incident("seed"), admin)
    expect_eq(st, 201)
    return {"ci": ci, "d": d, "admin": admin, "commander": token(ci, "commander", "RH")}


def teardown(ctx):
    expect_eq(ctx["d"].stop(), 0)


def incident(ext):
    return {"source": "rh", "external_id": ext, "offense": "ROB",
            "location": {"lat": 1.0, "lon": 1.0}, "received_at": "2026-11-27T10:00:00Z"}


def connect(port, src=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def client(port, src=None):
    """A harness-style client (keep-alive, d.request) bound to source address src."""
    c = Daemon.__new__(Daemon)
    c.port, c.conn = port, None
    if src:
        c.connect = lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                                       source_address=(src, 0))
    return c


def closed_within(s, seconds):
    """True when the peer closes s (EOF or reset) within seconds."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        try:
            if s.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def trickle_until_closed(s, data, interval, limit):
    """Send data one byte every interval seconds until the server closes the
    connection; seconds until it did, or None when it was still open after limit."""
    t0 = time.time()
    i = 0
    while time.time() - t0 < limit:
        r, _, _ = select.select([s], [], [], interval)
        if r:
            try:
                if s.recv(65536) == b"":
                    return time.time() - t0
            except (ConnectionResetError, BrokenPipeError):
                return time.time() - t0
            continue
        try:
            s.send(data[i % len(data):i % len(data) + 1])
        except (ConnectionResetError, BrokenPipeError):
            return time.time() - t0
        i += 1
    return None


def read_response(s, buf=b""):
    """One response from s (Content-Length framing; HEAD callers pass head=True
    via read_head). Returns (status, headers dict lower-case, body, rest)."""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise AssertionError("connection closed before a response: %r" % buf[:200])
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def read_full(s, buf=b""):
    status, headers, rest = read_response(s, buf)
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        data = s.recv(65536)
        if not data:
            raise AssertionError("connection closed inside a body")
        rest += data
    return status, headers, rest[:n], rest[n:]


def metric(d, name):
    st, _, text = d.request("GET", "/metrics", raw=True)
    expect_eq(st, 200, "metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text.decode(), re.M)
    return float(m.group(1)) if m else None


# ------------------------------------------------------------- finding 5


def test_trickled_headers_hit_the_deadline(ctx):
    """One header byte every half second never lets an idle timer fire; the
    deadline of request_timeout (3 s here) for the whole request does."""
    d = Daemon(ctx["ci"], ["--request-timeout", "3"])
    try:
        d.wait_ready()
        s = connect(d.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        took = trickle_until_closed(s, b"X-Slow: " + b"a" * 100, 0.5, 15)
        s.close()
        expect(took is not None, "a trickled header kept its connection open for 15 s")
        expect(took < 3 + 5, "closed %.1f s after the accept (deadline 3 s)" % took)
        expect(took > 2, "not closed before the deadline (%.1f s)" % took)
        # A body trickled after complete headers: the same deadline.
        s = connect(d.port)
        s.sendall(b"POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n")
        took = trickle_until_closed(s, b"[" + b" " * 100, 0.5, 15)
        s.close()
        expect(took is not None and took < 3 + 5, "trickled body closed at the deadline: %r"
               % took)
        # Keep-alive: after an answer, the next request has request_timeout
        # again -- idle or trickled.
        s = connect(d.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, _, rest = read_full(s)
        expect_eq((st, rest), (200, b""), "first request on the connection")
        t0 = time.time()
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        took = trickle_until_closed(s, b"X-Slow: " + b"a" * 100, 0.5, 15)
        s.close()
        expect(took is not None and took < 3 + 5,
               "trickled second request closed at the deadline: %r" % took)
        s = connect(d.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        read_full(s)
        expect(closed_within(s, 3 + 5), "an idle keep-alive connection closes after the timeout")
        s.close()
        expect(metric(d, "compstatd_http_deadline_closed_total") >= 3,
               "the deadline closes are counted")
    finally:
        expect_eq(d.stop(), 0)


def test_streams_outlive_the_deadline(ctx):
    """A stream whose request is in is not cut by the request deadline."""
    d = Daemon(ctx["ci"], ["--request-timeout", "2"])
    try:
        d.wait_ready()
        s = SSE(d.port, "/v1/stream", ctx["commander"])
        expect_eq(s.status, 200)
        s.until("ready")
        time.sleep(5)
        st, _, body = d.request("POST", "/v1/incidents", incident("stream-late"), ctx["admin"])
        expect_eq(st, 201)
        got = s.until("incident", timeout=10)
        expect_eq(got[-1][1]["incident"]["id"], body["id"], "the stream still carries events")
        s.close()
    finally:
        expect_eq(d.stop(), 0)


def test_connections_per_address(ctx):
    """Beyond max_connections_per_address from one address, new connections
    are closed at once; other addresses are served; a freed slot is usable."""
    d = Daemon(ctx["ci"], ["--max-connections-per-address", "4"])
    try:
        d.wait_ready()
        held = [connect(d.port, OTHER) for _ in range(4)]
        time.sleep(0.5)
        extra = [connect(d.port, OTHER) for _ in range(3)]
        for s in extra:
            expect(closed_within(s, 3), "a connection over the limit is closed at once")
            s.close()
        for s in held:
            expect(not closed_within(s, 0.3), "connections within the limit stay open")
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, _, _ = read_full(held[0])
        expect_eq(st, 200, "a held connection is served")
        st, _, _ = d.request("GET", "/healthz")
        expect_eq(st, 200, "another address is served")
        held[1].close()
        time.sleep(0.3)
        s = connect(d.port, OTHER)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, _, _ = read_full(s)
        expect_eq(st, 200, "a slot freed by a close is usable again")
        s.close()
        expect(metric(d, "compstatd_http_connections_refused_total") >= 3, "refusals counted")
        expect(any("127.0.0.2" in l and "connections" in l for l in d.lines),
               "the refusal is logged with the address", d.log()[-2000:])
        for s in held:
            s.close()
    finally:
        expect_eq(d.stop(), 0)


def test_one_address_cannot_take_the_file_limit(ctx):
    """The review's case: under a small open-file limit, one address opening
    many connections and trickling their headers made every /healthz time
    out. By default one address may hold a quarter of the file limit, so the
    rest stays free for others."""
    d = Daemon(ctx["ci"], prefix=["prlimit", "--nofile=64:64", "--"])
    stop = threading.Event()
    attackers = []
    try:
        d.wait_ready()
        for _ in range(60):
            try:
                s = connect(d.port, OTHER, timeout=2)
                s.sendall(b"GET /v1/cube HTTP/1.1\r\nHost: x\r\n")
                attackers.append(s)
            except OSError:
                pass

        def trickle():
            while not stop.is_set():
                for s in attackers:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
                stop.wait(1.0)
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        time.sleep(1.0)
        for i in range(5):
            t0 = time.time()
            c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
            try:
                c.request("GET", "/healthz")
                st = c.getresponse().status
            except OSError as e:
                raise AssertionError("/healthz did not answer within 5 s while one address "
                                     "trickled 60 connections: %r" % e)
            finally:
                c.close()
            expect_eq(st, 200, "/healthz %d" % i)
            expect(time.time() - t0 < 5, "answered promptly")
        open_ = sum(1 for s in attackers if not closed_within(s, 0.05))
        expect(open_ <= 16, "one address holds at most a quarter of 64 files (%d)" % open_)
    finally:
        stop.set()
        for s in attackers:
            s.close()
        expect_eq(d.stop(), 0)


def test_tls_connections_are_bounded_too(ctx):
    """With TLS the same limits hold: a client stalling in the handshake is
    closed at the deadline, and the per-address limit applies."""
    tmp = tempfile.mkdtemp(prefix="compstat-rh-tls.")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    out = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                          key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                          "-addext", "subjectAltName=IP:127.0.0.1"],
                         capture_output=True, text=True)
    expect_eq(out.returncode, 0, out.stderr)
    d = Daemon(ctx["ci"], ["--tls-cert", cert, "--tls-key", key, "--request-timeout", "3",
                           "--max-connections-per-address", "3"])
    try:
        sc = ssl.create_default_context(cafile=cert)
        for _ in range(100):
            try:
                c = http.client.HTTPSConnection("127.0.0.1", d.port, context=sc, timeout=10)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        # A TLS ClientHello trickled a byte at a time.
        s = connect(d.port)
        hello = bytes.fromhex("16030100") + b"\x00" * 200
        took = trickle_until_closed(s, hello, 0.5, 15)
        s.close()
        expect(took is not None and took < 3 + 5, "stalled TLS handshake cut at the deadline: %r"
               % took)
        held = [connect(d.port, OTHER) for _ in range(3)]
        time.sleep(0.3)
        extra = connect(d.port, OTHER)
        expect(closed_within(extra, 3), "TLS: over the per-address limit is closed at once")
        extra.close()
        c = http.client.HTTPSConnection("127.0.0.1", d.port, context=sc, timeout=10)
        c.request("GET", "/healthz")
        expect_eq(c.getresponse().status, 200, "HTTPS still served")
        c.close()
        for s in held:
            s.close()
    finally:
        expect_eq(d.stop(), 0)
        subprocess.run(["rm", "-rf", tmp])


# ------------------------------------------------------------ finding 10


def test_conflicting_content_length(ctx):
    d, admin = ctx["d"], ctx["admin"]
    body = json.dumps(incident("cl-1")).encode()
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    head = ("POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\n" % admin).encode()
    for hdrs, payload, field, what in (
            (b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(body), len(body) + len(smuggled)),
             body + smuggled, "Content-Length", "two lengths, the first shorter"),
            (b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(body) + len(smuggled), len(body)),
             body + smuggled, "Content-Length", "two lengths, the first longer"),
            # (Debian's libevent refuses this one and two Transfer-Encodings itself,
            # with its own page: checked all the same.)
            (b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body),
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body), None, "a length with chunked encoding"),
            (b"Transfer-Encoding: gzip, chunked\r\n",
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) + smuggled, "Transfer-Encoding",
             "a coding evhttp does not read"),
            (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) + smuggled, None,
             "two Transfer-Encoding headers")):
        s = connect(d.port)
        s.sendall(head + hdrs + b"\r\n" + payload)
        st, h, got, rest = read_full(s)
        expect_eq(st, 400, what)
        if field:
            expect(got.startswith(b"{"), what, got)
            err = json.loads(got)["error"]
            expect_eq((err["code"], err.get("field")), ("bad_request", field), what)
        expect_eq(h.get("connection", "").lower(), "close", what + ": Connection: close")
        expect(closed_within(s, 5), what + ": the connection is closed")
        expect(b"HTTP/1.1" not in rest, what + ": no second answer", rest)
        s.close()
    expect_eq(scalar(ctx["ci"], "SELECT count(*) FROM incidents WHERE external_id = 'cl-1'"),
              "0", "nothing written")
    # The same length twice is one length (RFC 9112 allows either answer).
    s = connect(d.port)
    s.sendall(head + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(body), len(body))
              + body)
    st, _, _, _ = read_full(s)
    expect_eq(st, 201, "an identical repeated length is accepted")
    s.close()
    # HEAD takes no body: a length on it would leave bytes to be read as the next request.
    s = connect(d.port)
    s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
              % (len(smuggled), smuggled))
    st, h, rest = read_response(s)
    expect_eq(st, 400, "HEAD with a body")
    expect(closed_within(s, 5), "HEAD with a body: closed")
    s.close()


def test_head_answers_as_get_without_body(ctx):
    d, cmd = ctx["d"], ctx["commander"]
    auth = "Authorization: Bearer %s\r\n" % cmd
    cases = [("/healthz", ""), ("/v1/cube?by=category", auth),
             ("/v1/incidents?format=csv", auth), ("/v1/incidents?limit=5", auth),
             ("/v1/offenses", auth), ("/", ""), ("/v1/incidents/987654321", auth),
             ("/v1/cube", ""), ("/v1/nothing", auth), ("/v1/cube?bogus=1", auth)]
    s = connect(d.port)
    for path, extra in cases:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, extra)).encode())
        gst, gh, gbody, rest = read_full(s)
        expect_eq(rest, b"", path)
        # HEAD, then a GET on the same connection: if HEAD sent any body,
        # the next bytes would not be the next status line.
        s.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, extra)).encode() +
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        hst, hh, rest = read_response(s)
        expect(rest == b"" or rest.startswith(b"HTTP/1.1 200"), "HEAD %s sent a body" % path, rest)
        nst, _, _, rest = read_full(s, rest)
        expect_eq((nst, rest), (200, b""), "the answer after HEAD %s" % path)
        expect_eq(hst, gst, "HEAD %s status" % path)
        expect_eq(hh.get("content-length"), str(len(gbody)), "HEAD %s Content-Length" % path)
        for k in set(gh) | set(hh):
            if k not in ("date", "x-request-id"):
                expect_eq(hh.get(k), gh.get(k), "HEAD %s header %s" % (path, k))
    # HEAD of a stream: its headers, no stream.
    s.sendall(("HEAD /v1/stream HTTP/1.1\r\nHost: x\r\n%s\r\n" % auth).encode() +
              b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    hst, hh, rest = read_response(s)
    expect_eq(hst, 200, "HEAD /v1/stream")
    expect_eq(hh.get("content-type"), "text/event-stream", "HEAD /v1/stream content type")
    nst, _, _, rest = read_full(s, rest)
    expect_eq((nst, rest), (200, b""), "the answer after HEAD /v1/stream")
    s.close()
    expect_eq(metric(d, "compstatd_streams"), 0.0, "HEAD opened no stream")


# ------------------------------------------------------------- finding 9


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_unknown_tokens_cache_is_bounded(ctx):
    """Distinct unknown tokens do not grow the daemon: their cache keeps at
    most auth_unknown_cache entries (500 here), evicting the oldest."""
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0"}
    d = Daemon(ctx["ci"], ["--auth-unknown-cache", "500", "--auth-fail-limit", "1000000"],
               env=env)
    try:
        d.wait_ready()

        def flood(n, k):
            c = client(d.port)
            for _ in range(n):
                st, _, _ = c.request("GET", "/v1/cube", tok="cst_" + secrets.token_urlsafe(32))
                expect_eq(st, 401, "unknown token")
            k.append(1)

        def burst(n):
            done = []
            ts = [threading.Thread(target=flood, args=(n // 4, done)) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            expect_eq(len(done), 4, "every flood thread finished")
        burst(2000)
        before = rss_kib(d.proc.pid)
        burst(16000)
        grown = rss_kib(d.proc.pid) - before
        entries = metric(d, 'compstatd_auth_cache_entries{kind="unknown"}')
        expect(entries is not None and entries <= 500, "unknown-token cache bounded: %r" % entries)
        # (Before the bound: about 250 bytes each, +4 MB for these 16,000.)
        expect(grown < 2048, "16,000 more unknown tokens grew the daemon by %d KiB" % grown)
        st, _, _ = client(d.port).request("GET", "/v1/cube", tok=ctx["commander"])
        expect_eq(st, 200, "a real token still works")
    finally:
        expect_eq(d.stop(), 0)


def test_unknown_tokens_are_slowed_per_address(ctx):
    """After auth_fail_limit unknown tokens (5 here) within a minute an
    address gets 429 with Retry-After, growing with each further unknown
    token; tokens the daemon knows keep working from it, other addresses are
    not affected, and a revocation still takes effect at once."""
    ci = ctx["ci"]
    cmd = token(ci, "commander", "RH")
    d = Daemon(ci, ["--auth-fail-limit", "5"])
    try:
        d.wait_ready()
        bad = client(d.port, OTHER)
        st, _, _ = bad.request("GET", "/v1/cube", tok=cmd)
        expect_eq(st, 200, "a known token, before")
        for i in range(5):
            st, _, _ = bad.request("GET", "/v1/cube", tok="cst_guess%d" % i)
            expect_eq(st, 401, "guess %d" % i)
        st, h, body = bad.request("GET", "/v1/cube", tok="cst_guess-more")
        expect_eq(st, 429, "over the limit")
        expect_eq((body["error"]["code"], body["error"].get("field")),
                  ("too_many_requests", "Authorization"), "429 body")
        first = int(h.get("Retry-After", "0"))
        expect(first >= 1, "Retry-After given", h)
        st, _, _ = bad.request("GET", "/v1/cube", tok=cmd)
        expect_eq(st, 200, "a token the daemon knows still works from that address")
        st, _, _ = client(d.port).request("GET", "/v1/cube", tok="cst_other-address")
        expect_eq(st, 401, "another address is not slowed")
        time.sleep(first + 0.3)
        st, _, _ = bad.request("GET", "/v1/cube", tok="cst_after-wait")
        expect_eq(st, 401, "after Retry-After the token is looked up again")
        st, h, _ = bad.request("GET", "/v1/cube", tok="cst_after-wait-2")
        expect_eq(st, 429, "and the next unknown one is slowed again")
        expect(int(h.get("Retry-After", "0")) > first, "Retry-After grows", h, first)
        expect(metric(d, "compstatd_auth_throttled_total") >= 2, "429s counted")
        out = subprocess.run([ADMIN, "token", "revoke", "--database", ci, "--token", cmd],
                             capture_output=True, text=True)
        expect_eq(out.returncode, 0, out.stderr)
        deadline = time.time() + 5
        while True:
            st, _, _ = bad.request("GET", "/v1/cube", tok=cmd)
            if st == 401 or time.time() > deadline:
                break
            time.sleep(0.05)
        expect_eq(st, 401, "a revoked token is refused at once")
        tid = scalar(ci, "SELECT id FROM api_tokens WHERE token_hash = :'p1'",
                     hashlib.sha256(cmd.encode()).hexdigest())
        expect(tid is not None, "token row")
    finally:
        expect_eq(d.stop(), 0)


if __name__ == "__main__":
    run([test_trickled_headers_hit_the_deadline, test_streams_outlive_the_deadline,
         test_connections_per_address, test_one_address_cannot_take_the_file_limit,
         test_tls_connections_are_bounded_too, test_conflicting_content_length,
         test_head_answers_as_get_without_body, test_unknown_tokens_cache_is_bounded,
         test_unknown_tokens_are_slowed_per_address],
        setup, teardown)
