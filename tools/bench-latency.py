#!/usr/bin/env python3
"""tools/bench-latency.py -- GET one URL over C keep-alive connections for S
seconds, each connection sending its next request when the answer to the
last one is in (closed loop, like wrk); one process, one thread, a poll
loop, so the client takes at most one core. Prints one line in the format of
tools/bench-qps.lua:

    QPS ok=N other=N duration_us=N p50_us=N p99_us=N errors=N

Used by `tools/bench audit` (stdlib only: it needs no wrk).

    tools/bench-latency.py URL TOKEN CONNECTIONS SECONDS
"""
import select
import socket
import sys
import time
from urllib.parse import urlsplit


class Conn:
    def __init__(self, addr, req):
        self.addr, self.req = addr, req
        self.open()

    def open(self):
        self.s = socket.create_connection(self.addr)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.buf = b""

    def send(self):
        self.t0 = time.monotonic()
        self.s.sendall(self.req)  # small: fits the socket buffer

    def answer(self):
        """(status, seconds) once a whole answer is in, else None."""
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return None
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        if len(rest) < n:
            return None
        self.buf = rest[n:]
        return int(head.split(b" ", 2)[1]), time.monotonic() - self.t0


def main():
    url, tok, nconn, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    u = urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
           % (path, u.netloc, tok)).encode()
    conns = [Conn((u.hostname, u.port), req) for _ in range(nconn)]
    poll = select.poll()
    by_fd = {}
    for c in conns:
        poll.register(c.s, select.POLLIN)
        by_fd[c.s.fileno()] = c
        c.send()
    lat, ok, other, errors = [], 0, 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for fd, _ in poll.poll(100):
            c = by_fd[fd]
            try:
                data = c.s.recv(65536)
                if not data:
                    raise OSError("closed")
            except BlockingIOError:
                continue
            except OSError:
                errors += 1
                poll.unregister(fd)
                del by_fd[fd]
                c.s.close()
                c.open()
                poll.register(c.s, select.POLLIN)
                by_fd[c.s.fileno()] = c
                c.send()
                continue
            c.buf += data
            a = c.answer()
            if a is None:
                continue
            status, secs = a
            lat.append(secs)
            if status == 200:
                ok += 1
            else:
                other += 1
            if time.monotonic() < end:
                c.send()
    for c in conns:
        c.s.close()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p / 100))] if lat else 0.0
    print("QPS ok=%d other=%d duration_us=%d p50_us=%d p99_us=%d errors=%d" % (
        ok, other, seconds * 1e6, pct(50) * 1e6, pct(99) * 1e6, errors))


if __name__ == "__main__":
    main()
