#!/usr/bin/env python3
"""tools/run from a checkout in a folder only its owner can enter.

A new user clones compstatd into /root (0700) and runs tools/run as root;
PostgreSQL refuses to run as root, and the postgres user cannot enter the
checkout. This copies the checkout (the files git knows, as a clone would
have them, plus uncommitted changes) into a fresh 0700 folder, runs
tools/run there on a free port, and checks that the daemon answers with the
demo loaded -- a token per agency (NOPD, CPD, OIJ), each agency's counts
equal to SQL on the cluster tools/run started, a line for the region -- and
that `tools/run stop` stops the daemon and the cluster. Skipped unless run
as root (as a normal user any folder of the user's is the postgres
cluster's owner's too)."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import PSQL, SRC, expect, expect_eq, run  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def copy_checkout(dest):
    files = subprocess.run(["git", "-C", SRC, "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, check=True).stdout
    for rel in files.decode().split("\0"):
        if not rel or not os.path.lexists(os.path.join(SRC, rel)):
            continue
        src, dst = os.path.join(SRC, rel), os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


def get(url, tok=None):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok} if tok else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def test_run_as_root_from_a_0700_folder():
    if os.geteuid() != 0:
        print("not root: skipped")
        sys.exit(77)
    outer = tempfile.mkdtemp(prefix="compstat-0700-")  # mode 0700, owned by root
    os.chmod(outer, 0o700)
    checkout = os.path.join(outer, "compstatd")
    copy_checkout(checkout)
    port = free_port()
    env = dict(os.environ, COMPSTATD_LISTEN="127.0.0.1:%d" % port)
    try:
        out = subprocess.run([os.path.join(checkout, "tools", "run")], cwd=outer, env=env,
                             capture_output=True, text=True, timeout=900)
        expect_eq(out.returncode, 0, "tools/run failed:\n" + out.stdout[-3000:] + out.stderr[-3000:])
        toks = dict(re.match(r"admin token \(agency (\w+)\): (\S+)$", l).groups()
                    for l in out.stdout.splitlines() if l.startswith("admin token"))
        expect_eq(sorted(toks), ["CPD", "NOPD", "OIJ"], "a token per agency")
        tok = toks["NOPD"]
        region = [re.match(r"analyst token \(region RCA\): (\S+)$", l) for l in
                  out.stdout.splitlines()]
        region = [m.group(1) for m in region if m]
        expect_eq(len(region), 1, "an analyst token for the region:\n" + out.stdout[-2000:])
        url = "http://127.0.0.1:%d" % port
        st, who = get(url + "/v1/whoami", tok)
        expect_eq((st, who["role"]), (200, "admin"), "the printed token works")
        # The cluster lives where postgres can reach it, not in the 0700 folder.
        pg = os.path.realpath(os.path.join(checkout, "var", "pg"))
        expect(not pg.startswith(outer), "the cluster is outside the 0700 folder: " + pg)
        pgport = open(os.path.join(pg, "port")).read().strip()
        ci = "host=127.0.0.1 port=%s user=compstat dbname=compstat" % pgport
        n = subprocess.run([PSQL, "-X", "-A", "-t", "-d", ci, "-c",
                            "SELECT count(*) FROM incidents WHERE status NOT IN "
                            "('unfounded', 'cancelled')"],
                           capture_output=True, text=True, check=True).stdout.strip()
        expect(int(n) > 1000, "the demo is loaded: %s counted incidents" % n)
        st, cube = get(url + "/v1/cube?from=2022-01-01&to=2023-01-01", tok)
        expect_eq(st, 200)
        got = sum(c["count"] for c in cube["cells"])
        # Crimes: not unfounded or cancelled, of an offense that is a crime
        # (the demo marks its non-crime call types).
        want = subprocess.run([PSQL, "-X", "-A", "-t", "-d", ci, "-c",
                               "SELECT count(*) FROM incidents i JOIN offenses o ON"
                               " o.id = i.offense_id WHERE o.crime AND o.agency_id ="
                               " (SELECT id FROM agencies WHERE code = 'NOPD') AND i.status NOT IN "
                               "('unfounded', 'cancelled') AND i.counted_at >= "
                               "'2022-01-01'::timestamp AT TIME ZONE 'America/Chicago' AND "
                               "i.counted_at < '2023-01-01'::timestamp AT TIME ZONE "
                               "'America/Chicago'"],
                              capture_output=True, text=True, check=True).stdout.strip()
        expect_eq(got, int(want), "the 2022 cube equals SQL")
        # The other two agencies are in too, each seeing its own.
        for agency, t in toks.items():
            st, cube = get(url + "/v1/cube", t)
            want = subprocess.run([PSQL, "-X", "-A", "-t", "-d", ci, "-c",
                                   "SELECT count(*) FROM incidents i JOIN offenses o ON"
                                   " o.id = i.offense_id JOIN agencies a ON a.id = i.agency_id"
                                   " WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled')"
                                   " AND a.code = '%s'" % agency],
                                  capture_output=True, text=True, check=True).stdout.strip()
            expect_eq((st, cube["total"]), (200, int(want)), agency + "'s cube equals SQL")
            expect(int(want) > 1000, "%s's demo is loaded: %s incidents" % (agency, want))
        # The region: every agency shares, the program spans them, and what
        # the analyst counts of each agency is what SQL counts of its shared
        # offenses.
        st, who = get(url + "/v1/whoami", region[0])
        expect_eq((st, who["role"], sorted(x["agency"] for x in who["sharing"])),
                  (200, "analyst", ["CPD", "NOPD", "OIJ"]), who)
        st, cube = get(url + "/v1/cube?by=agency", region[0])
        expect_eq(st, 200, cube)
        for c in cube["cells"]:
            t = toks[c["agency"]]
            st, own = get(url + "/v1/offenses", t)
            st2, shared = get(url + "/v1/offenses?agency=" + c["agency"], region[0])
            codes = "{%s}" % ",".join(o["code"] for o in shared["offenses"])
            want = subprocess.run([PSQL, "-X", "-A", "-t", "-d", ci, "-c",
                                   "SELECT count(*) FROM incidents i JOIN offenses o ON"
                                   " o.id = i.offense_id JOIN agencies a ON a.id = i.agency_id"
                                   " WHERE o.crime AND i.status NOT IN ('unfounded', 'cancelled')"
                                   " AND a.code = '%s' AND o.code = ANY('%s'::text[])"
                                   % (c["agency"], codes)],
                                  capture_output=True, text=True, check=True).stdout.strip()
            expect_eq(c["count"], int(want), c["agency"] + ": the region's count = SQL")
            expect(len(shared["offenses"]) <= len(own["offenses"]))
        st, prog = get(url + "/v1/cube?program=MODELO&by=agency,precinct", region[0])
        expect_eq((st, sorted({c["agency"] for c in prog["cells"]})),
                  (200, ["CPD", "NOPD", "OIJ"]), prog)
        # Again: reuses the cluster, the data and the token.
        again = subprocess.run([os.path.join(checkout, "tools", "run")], cwd=checkout, env=env,
                               capture_output=True, text=True, timeout=600)
        expect_eq(again.returncode, 0, "second tools/run:\n" + again.stderr[-2000:])
        expect(all(t in again.stdout for t in toks.values()), "the same tokens")
        st, _ = get(url + "/v1/whoami", tok)
        expect_eq(st, 200, "answers after the restart")
    finally:
        stop = subprocess.run([os.path.join(checkout, "tools", "run"), "stop"], env=env,
                              capture_output=True, text=True, timeout=300)
        pg = os.path.realpath(os.path.join(checkout, "var", "pg"))
        try:
            expect_eq(stop.returncode, 0, "tools/run stop: " + stop.stderr)
            refused = False
            for _ in range(50):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    time.sleep(0.1)
                except OSError:
                    refused = True
                    break
            expect(refused, "the daemon is stopped")
            st = subprocess.run(["runuser", "-u", "postgres", "--",
                                 "/usr/lib/postgresql/15/bin/pg_ctl", "-D",
                                 os.path.join(pg, "data"), "status"], capture_output=True)
            expect(st.returncode != 0, "the cluster is stopped")
        finally:
            # Whatever happened: leave nothing behind (the copy, the cluster).
            subprocess.run(["runuser", "-u", "postgres", "--",
                            "/usr/lib/postgresql/15/bin/pg_ctl", "-D", os.path.join(pg, "data"),
                            "-m", "immediate", "stop"], capture_output=True)
            shutil.rmtree(outer, ignore_errors=True)
            if pg.startswith("/var/tmp/compstatd-"):
                shutil.rmtree(os.path.dirname(pg), ignore_errors=True)


if __name__ == "__main__":
    run([test_run_as_root_from_a_0700_folder])
