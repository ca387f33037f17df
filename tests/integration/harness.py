"""Integration-test harness: a real compstatd against a real PostGIS.

tools/test starts a throw-away cluster and exports COMPSTAT_TEST_PG (a
superuser conninfo). Each test module gets its own fresh, migrated database
(so modules run in parallel), starts the daemon built by CMake on an
ephemeral port, and talks HTTP to it. Expected numbers come from SQL on the
same database, never typed in.

Only the Python standard library is used, plus psql for SQL.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback

SRC = os.environ.get("COMPSTAT_SOURCE_DIR",
                     os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
DAEMON = os.environ.get("COMPSTATD_BIN", os.path.join(SRC, "build", "compstatd"))
ADMIN = os.environ.get("COMPSTAT_ADMIN_BIN", os.path.join(SRC, "build", "compstat-admin"))
PSQL = "/usr/lib/postgresql/15/bin/psql"
if not os.path.exists(PSQL):
    PSQL = "psql"


def cluster_conninfo():
    ci = os.environ.get("COMPSTAT_TEST_PG")
    if not ci:
        print("COMPSTAT_TEST_PG is not set (run through tools/test): skipped")
        sys.exit(77)
    return ci


def with_db(conninfo, dbname):
    return re.sub(r"dbname=\S+", "dbname=" + dbname, conninfo)


def psql(conninfo, sql, *params):
    """Run sql (psql variables :'p1'.. bound to params) and return rows of strings."""
    args = [PSQL, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
    for i, p in enumerate(params, 1):
        args += ["-v", "p%d=%s" % (i, p)]
    out = subprocess.run(args, input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (out.stderr[:2000], sql[:2000]))
    return [line.split("\t") for line in out.stdout.splitlines() if line != ""]


def scalar(conninfo, sql, *params):
    rows = psql(conninfo, sql, *params)
    return rows[0][0] if rows else None


def fresh_db(name):
    """Create a new database in the test cluster and migrate it."""
    base = cluster_conninfo()
    dbname = "t_%s_%d" % (re.sub(r"\W", "_", name), os.getpid())
    psql(base, 'DROP DATABASE IF EXISTS "%s"' % dbname)
    psql(base, 'CREATE DATABASE "%s"' % dbname)
    ci = with_db(base, dbname)
    migrate(ci)
    return ci


def migrate(conninfo):
    out = subprocess.run([ADMIN, "migrate", "--database", conninfo],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("migrate failed: " + out.stderr)
    return out


def bench_sql(conninfo, script, **variables):
    """Run one of the benchmarks' SQL generators (tools/bench-setup.sql,
    tools/bench-data.sql with off=, cnt=) on conninfo; fail on any error."""
    args = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
    for k, v in variables.items():
        args += ["-v", "%s=%s" % (k, v)]
    out = subprocess.run(args + ["-f", os.path.join(SRC, "tools", script)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("%s failed: %s" % (script, out.stderr[:2000]))


def token(conninfo, role, agency, precincts=None, areas=None):
    args = [ADMIN, "token", "create", "--database", conninfo, "--role", role, "--agency", agency]
    if precincts:
        args += ["--precincts", precincts]
    if areas:
        args += ["--areas", areas]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("token create failed: " + out.stderr)
    return out.stdout.strip()


class Daemon:
    """compstatd on 127.0.0.1:0; stderr is collected and checked for sanitizer reports."""

    def __init__(self, conninfo, extra_args=(), env=None, prefix=()):
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([*prefix, DAEMON, "--listen", "127.0.0.1:0", "--database", conninfo,
                                      *extra_args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e,
                                     text=True, errors="replace")
        self.lines = []
        self.port = None
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.thread = threading.Thread(target=pump, daemon=True)
        self.thread.start()
        if not ready.wait(30) or self.port is None:
            self.proc.kill()
            raise RuntimeError("daemon did not start:\n" + "\n".join(self.lines))
        self.conn = None

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                st, _, _ = self.request("GET", "/readyz")
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("daemon never became ready:\n" + self.log())

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method, path, body=None, tok=None, ctype="application/json",
                headers=None, raw=False):
        """One request on a keep-alive connection; returns (status, headers, parsed body)."""
        h = dict(headers or {})
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            if isinstance(body, (bytes, str)):
                data = body.encode() if isinstance(body, str) else body
            else:
                data = json.dumps(body).encode()
            if ctype:
                h["Content-Type"] = ctype
        for attempt in range(2):
            if self.conn is None:
                self.conn = self.connect()
            try:
                self.conn.request(method, path, body=data, headers=h)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (http.client.HTTPException, ConnectionResetError, BrokenPipeError):
                # The server closed a keep-alive connection (or a previous
                # request on it failed half-way): start a new one, once.
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if raw:
            return resp.status, dict(resp.getheaders()), payload
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return resp.status, dict(resp.getheaders()), parsed

    def log(self):
        return "\n".join(self.lines)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("daemon did not exit within %d s of signal %d" % (timeout, sig))
        self.thread.join(5)
        text = self.log()
        if "AddressSanitizer" in text or "runtime error:" in text or "LeakSanitizer" in text:
            raise AssertionError("sanitizer report in daemon log:\n" + text)
        return rc


class SSE:
    """A Server-Sent Events client on a raw socket (chunked or not), for
    GET /v1/stream: status and headers first, then events one at a time."""

    def __init__(self, port, path, tok=None, last_id=None, rcvbuf=None, timeout=10, tls=None):
        import socket
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        if tls:  # an ssl.SSLContext: the stream over HTTPS
            self.sock = tls.wrap_socket(self.sock, server_hostname="127.0.0.1")
        head = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" % path
        if tok:
            head += "Authorization: Bearer %s\r\n" % tok
        if last_id is not None:
            head += "Last-Event-ID: %s\r\n" % last_id
        self.sock.sendall((head + "\r\n").encode())
        self.raw = b""      # bytes received, not yet de-chunked
        self.text = ""      # de-chunked stream text, not yet parsed
        self.chunked = False
        self.eof = False
        self.status = None
        self.headers = {}
        self.body = b""
        self.last_id = last_id
        self.comments = 0
        if rcvbuf is None:
            self._head()

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
        self.raw += data

    def _head(self):
        while b"\r\n\r\n" not in self.raw and not self.eof:
            self._recv()
        head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        if self.status != 200:
            n = int(self.headers.get("content-length", "0"))
            while len(self.raw) < n and not self.eof:
                self._recv()
            self.body = self.raw[:n]

    def _dechunk(self):
        if not self.chunked:
            self.text += self.raw.decode()
            self.raw = b""
            return
        while True:
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            n = int(line.split(b";")[0], 16)
            if n == 0:
                self.eof = True
                self.raw = b""
                return
            if len(rest) < n + 2:
                return
            self.text += rest[:n].decode()
            self.raw = rest[n + 2:]

    def next(self, timeout=10):
        """The next event as (type, data parsed as JSON, id), or None at end of stream.
        Comment lines are counted; retry lines skipped."""
        import socket
        deadline = time.time() + timeout
        while True:
            self._dechunk()
            block, sep, rest = self.text.partition("\n\n")
            if sep:
                self.text = rest
                ev = {"event": "message", "data": [], "id": None}
                for line in block.split("\n"):
                    if line.startswith(":"):
                        self.comments += 1
                        continue
                    k, _, v = line.partition(":")
                    v = v[1:] if v.startswith(" ") else v
                    if k == "data":
                        ev["data"].append(v)
                    elif k in ("event", "id"):
                        ev[k] = v
                if not ev["data"]:
                    continue
                if ev["id"] is not None:
                    self.last_id = ev["id"]
                return ev["event"], json.loads("\n".join(ev["data"])), ev["id"]
            if self.eof:
                return None
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no event within %.1f s" % timeout)
            self.sock.settimeout(left)
            try:
                self._recv()
            except socket.timeout:
                raise TimeoutError("no event within %.1f s" % timeout)

    def until(self, kind, timeout=10):
        """Events up to and including the first of type kind."""
        got = []
        while True:
            ev = self.next(timeout)
            if ev is None:
                raise AssertionError("stream ended before a %r event; saw %r" % (kind, got))
            got.append(ev)
            if ev[0] == kind:
                return got

    def close(self):
        self.sock.close()


def rscript(script, rows):
    """Run an R script (Debian's r-base-core) over rows, given on stdin one
    per line (space-separated); return the numbers it prints."""
    src = "\n".join(" ".join("%r" % v for v in r) for r in rows) + "\n"
    out = subprocess.run(["Rscript", "--vanilla", "-e", script], input=src, capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise RuntimeError("Rscript failed: " + out.stderr)
    return [float(x) for x in out.stdout.split()]


def expect(cond, msg="", *ctx):
    if not cond:
        raise AssertionError(msg + ("\n" + "\n".join(repr(c) for c in ctx) if ctx else ""))


def expect_eq(got, want, msg=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (msg, got, want))


def run(tests, setup=None, teardown=None):
    """Run the test functions in order; print 'N passed, N failed'; exit non-zero on failure."""
    ctx = setup() if setup else None
    passed = failed = 0
    try:
        for t in tests:
            only = sys.argv[1:]
            if only and t.__name__ not in only:
                continue
            t0 = time.time()
            try:
                t(ctx) if setup else t()
                passed += 1
                print("ok   %s (%.2fs)" % (t.__name__, time.time() - t0), flush=True)
            except Exception:
                failed += 1
                print("FAIL %s" % t.__name__, flush=True)
                traceback.print_exc()
    finally:
        if teardown:
            try:
                teardown(ctx)
            except Exception:
                failed += 1
                print("FAIL teardown")
                traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
