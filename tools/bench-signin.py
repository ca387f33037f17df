#!/usr/bin/env python3
"""tools/bench-signin.py -- POST /v1/sessions at RATE sign-ins a second for
SECONDS (open loop: one every 1/RATE s, whatever the answers take), each a
real Argon2id verification in compstatd. Prints one line:

    SIGNIN ok=N other=N p50_ms=X p99_ms=X

Used by `tools/bench signin` (stdlib only).

    tools/bench-signin.py URL LOGIN PASSWORD RATE SECONDS
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def main():
    url, login, password, rate, seconds = sys.argv[1:6]
    rate, seconds = float(rate), float(seconds)
    u = urlsplit(url)
    body = json.dumps({"login": login, "password": password})
    lock = threading.Lock()
    times, other = [], [0]

    def one():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        t0 = time.monotonic()
        try:
            c.request("POST", "/v1/sessions", body, {"Content-Type": "application/json"})
            st = c.getresponse().status
        except OSError:
            st = 0
        dt = time.monotonic() - t0
        with lock:
            if st == 201:
                times.append(dt)
            else:
                other[0] += 1
        c.close()

    start = time.monotonic()
    threads, n = [], 0
    while time.monotonic() - start < seconds:
        t = threading.Thread(target=one)
        t.start()
        threads.append(t)
        n += 1
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
    for t in threads:
        t.join()
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))] * 1e3 if times else float("nan")
    print("SIGNIN ok=%d other=%d p50_ms=%.1f p99_ms=%.1f" % (len(times), other[0], q(0.5), q(0.99)))


if __name__ == "__main__":
    main()
